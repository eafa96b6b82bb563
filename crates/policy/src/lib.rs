//! The AWS KMS key-policy and IAM policy language.
//!
//! * [`parse_policy`] turns JSON text into a typed [`PolicyDocument`] whose every element and
//!   value keeps its [`Span`]; [`LineIndex`] turns spans into lines and columns.
//! * [`validate()`] checks a document against the rules of its [`PolicyKind`], and
//!   [`parse_and_validate`] does both.
//! * [`StatementMatchers`] are the statements' matchers built for evaluation: actions indexed
//!   through the [`catalog`], resource ARN patterns compiled, principals parsed. With the
//!   compiled conditions they make the compiled policy (`keyward_conditions::CompiledPolicy`).
//! * [`print_policy`] prints the canonical form.
//!
//! ```
//! use keyward_policy::{parse_and_validate, PolicyKind, StatementMatchers, catalog};
//!
//! let text = r#"{
//!   "Version": "2012-10-17",
//!   "Statement": [{
//!     "Sid": "Enable IAM User Permissions",
//!     "Effect": "Allow",
//!     "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
//!     "Action": "kms:*",
//!     "Resource": "*"
//!   }]
//! }"#;
//! let document = parse_and_validate(text, PolicyKind::KeyPolicy)?;
//! let matchers = StatementMatchers::new(&document, PolicyKind::KeyPolicy)?;
//! let decrypt = catalog::kms_action("kms:Decrypt").ok_or("kms:Decrypt is in the catalog")?;
//! let statement = matchers.statements_for(decrypt).next().ok_or("one statement matches")?;
//! assert_eq!(statement.sid.as_deref(), Some("Enable IAM User Permissions"));
//! assert!(statement.principals.as_ref().is_some_and(|p| p.names_account("111122223333")));
//!
//! let broken = r#"{"Statement": [{"Effect": "Allow", "Effect": "Deny"}]}"#;
//! let errors = parse_and_validate(broken, PolicyKind::KeyPolicy).unwrap_err();
//! assert!(errors.errors().iter().any(|e| e.code() == "duplicate-key"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod arn;
pub mod catalog;
pub mod compile;
pub mod error;
pub mod model;
pub mod operator;
pub mod parser;
pub mod principal;
pub mod print;
pub mod source;
pub mod suggest;
pub mod validate;
pub mod wildcard;

pub use compile::{StatementMatchers, delegated_account};
pub use error::{Diagnostics, PolicyError, PolicyErrorKind};
pub use model::{Effect, PolicyDocument, PolicyKind, Spanned, Statement, Version};
pub use parser::{parse_condition_block, parse_policy};
pub use print::print_policy;
pub use source::{LineIndex, Position, Span};
pub use validate::validate;

/// Parse `text` and validate it as a policy of `kind`: the document, or every problem found.
pub fn parse_and_validate(text: &str, kind: PolicyKind) -> Result<PolicyDocument, Diagnostics> {
    let document = parse_policy(text)?;
    let mut diags = validate(&document, text, kind);
    if diags.is_empty() {
        Ok(document)
    } else {
        diags.sort();
        Err(diags)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn statement_matchers_are_shareable_across_threads() {
        fn is<T: Send + Sync>() {}
        is::<super::StatementMatchers>();
        is::<super::PolicyDocument>();
        is::<super::Diagnostics>();
    }
}
