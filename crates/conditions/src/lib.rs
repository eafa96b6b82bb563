//! IAM condition evaluation, exactly as AWS does it, with explanations.
//!
//! * [`RequestContext`] holds a request's condition keys, each value typed once.
//! * [`CompiledCondition`] is a `Condition` block compiled once: patterns, CIDRs, dates,
//!   numbers and ARNs parsed, policy variables split into templates. A value its operator
//!   cannot read is reported with its position.
//! * [`CompiledCondition::evaluate`] answers without allocating;
//!   [`CompiledCondition::explain`] says, per operator and key, what was expected and what the
//!   request had.
//! * [`CompiledPolicy`] is a whole policy compiled for evaluation, built once from its text:
//!   the statement matchers of `keyward_policy`, each statement's condition, and the resource
//!   patterns with policy variables. Validation (`keyward validate`) and every authorization
//!   decision use it.
//!
//! ```
//! use keyward_conditions::{CompiledCondition, RequestContext};
//! use keyward_policy::{PolicyKind, parse_and_validate};
//!
//! let policy = parse_and_validate(r#"{
//!   "Version": "2012-10-17",
//!   "Statement": {
//!     "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
//!     "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
//!   }
//! }"#, PolicyKind::KeyPolicy)?;
//! let block = policy.statements[0].condition.as_ref().ok_or("a condition")?;
//! let condition = CompiledCondition::new(&block.value, policy.variables_enabled())?;
//!
//! let mut request = RequestContext::new();
//! request.insert_single("kms:ViaService", "ec2.us-east-1.amazonaws.com");
//! assert!(!condition.evaluate(&request));
//! let why = condition.first_failure(&request).ok_or("a failing test")?;
//! assert_eq!(
//!     why.to_string(),
//!     "StringEquals kms:ViaService: expected `s3.us-east-1.amazonaws.com`, request has `ec2.us-east-1.amazonaws.com` (fails)"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod condition;
pub mod context;
pub mod encryption_context;
pub mod explain;
pub mod policy;
pub mod value;
pub mod variables;

pub use condition::{CompiledCondition, KeyTest, compile_conditions};
pub use context::{ContextKey, ContextValue, RequestContext, Scalar};
pub use explain::{Actual, KeyOutcome};
pub use policy::CompiledPolicy;

#[cfg(test)]
mod tests {
    #[test]
    fn compiled_policies_are_shareable_across_threads() {
        fn is<T: Send + Sync>() {}
        is::<super::CompiledPolicy>();
    }
}
