//! Authorization decisions for AWS KMS: "may principal X perform action A on key K, and why?"
//!
//! An [`Authorizer`] compiles a key policy, identity policies and grants once and answers any
//! number of requests, from any number of threads. [`Authorizer::verdict`] is the fast path;
//! [`Authorizer::decide`] adds the deciding statements, a trace of every statement and grant,
//! an explanation and the AccessDeniedException message AWS would send.
//!
//! ```
//! use keyward_authz::{Authorizer, Request, Verdict};
//!
//! let request = Request::parse(r#"{
//!   "principal": "arn:aws:iam::111122223333:role/App",
//!   "action": "kms:Decrypt",
//!   "resource": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
//!   "key_policy": {"Version": "2012-10-17", "Statement": [
//!     {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
//!      "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}
//!   ]},
//!   "identity_policies": [{"Version": "2012-10-17", "Statement": [
//!     {"Sid": "UseKeys", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:111122223333:key/*"}
//!   ]}]
//! }"#)?;
//! let authorizer = Authorizer::for_request(&request)?;
//! let decision = authorizer.decide(&request);
//! assert_eq!(decision.verdict, Verdict::Allow);
//! assert_eq!(decision.reasons.len(), 2, "the delegating statement and the IAM statement");
//! assert_eq!(authorizer.verdict(&request), Verdict::Allow);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod decision;
pub mod engine;
mod explain;
mod json_out;
mod library;
mod overwrite;
pub mod request;

pub use decision::{AllowBasis, Decision, Failure, Judgement, Reason, Source, TraceEntry, Verdict};
pub use engine::{Authorizer, Covering};
pub use json_out::JsonOut;
pub use keyward_conditions::CompiledPolicy;
pub use library::PolicyLibrary;
pub use request::{
    KeyAttributes, PolicySource, PolicyText, Request, RequestError, compile_policy, insert_caller,
    insert_caller_and_key, insert_key, insert_principal_kind,
};

#[cfg(test)]
mod tests {
    #[test]
    fn the_engine_is_shareable_across_threads() {
        fn is<T: Send + Sync>() {}
        is::<super::Authorizer>();
        is::<super::Request>();
    }
}
