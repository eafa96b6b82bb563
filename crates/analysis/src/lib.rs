//! Access analysis: every kind of request a set of KMS policies allows, exactly, offline, with
//! a request that proves each answer.
//!
//! The fragment is small enough to decide exactly: a finite set of actions, one resource (the
//! key), condition values compared as text (globs, ARN patterns, with or without case), as
//! numbers, dates, addresses or booleans, or for presence. Each condition key's values are cut
//! into cells that no test tells apart: strings by automata (a product of the tests' glob
//! automata explored breadth first, so every non-empty cell is found with a shortest member),
//! numbers and dates at the constants, addresses at the edges of the blocks; members on which
//! every compiled test of the evaluator agrees are then one cell. Callers are cut the same way,
//! per kind of principal (root user, user, role, role session, federated user, service), by
//! every ARN, account and `aws:PrincipalArn`/`aws:PrincipalAccount` test. The encryption
//! context is one dimension per cell of pair keys (the keys the tests and grants name, and one
//! more), each absent or with a value of each of its cells. Actions fall into groups that the
//! same statements and grants can apply to and that `authz` treats alike.
//!
//! A point (a group, a caller, a cell of each key and pair the group reads) is decided alike
//! for every request in it, so `keyward-authz` decides it on one representative request, under
//! each side. What the analysis cannot decide exactly is an error that says so, never a
//! guess: a policy variable in a condition value, `aws:userid` and `aws:username`, a key read
//! both as text and as a number, a multivalued key of more than 10 cells, more than 20,000
//! points per caller and group, a pattern over 126 characters.
//!
//! Every answer carries a witness: the representative request, written in the format of
//! `keyward authorize`, which is read back and decided by `authz` before it is shown.
//!
//! Above `authz`, the analysis applies what the request format does not carry: the
//! organization's SCPs and RCPs (`scp.rs`) and the callers' permissions boundaries
//! (`boundary.rs`). [`who_can`] decides every principal of an account at once, each with its own
//! identity policies and boundary.
//!
//! ```
//! use keyward_analysis::{KeyFacts, PolicySet, diff};
//!
//! let key = KeyFacts::symmetric("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
//! let admins = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
//!   "Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
//! let shared = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
//!   "Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
//!   {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},
//!    "Action":"kms:Decrypt","Resource":"*"}]}"#;
//! let set = |policy: &str| PolicySet { key_policy: policy.into(), identity_policies: None, grants: vec![] };
//! let report = diff(&set(admins), &set(shared), &key)?;
//! assert_eq!(report.result, "FAIL");
//! assert!(report.findings.iter().all(|f| f.actions == ["kms:Decrypt"]));
//! assert!(report.findings.iter().any(|f| f.principal.contains("444455556666")));
//! assert_eq!(diff(&set(shared), &set(shared), &key)?.result, "PASS");
//! # Ok::<(), keyward_analysis::AnalysisError>(())
//! ```

#![warn(missing_docs)]

mod aliases;
mod authorization;
mod boundary;
mod can;
mod checks;
mod classes;
mod diff;
mod domain;
pub(crate) mod glob;
mod inputs;
mod mentions;
mod principals;
mod reach;
mod sarif;
mod scp;
mod space;
mod who_can;
mod witness;

pub use witness::complete_witness;

pub use authorization::{AuthorizationDetails, IdentityPolicy};
pub use can::{CanPath, CanReport, can, can_governed};
pub use checks::{
    Access, CheckReason, CheckReport, check_access_not_granted, check_no_new_access,
    check_no_public_access,
};
pub use diff::{DiffReport, Explanations, Finding, StatementRef, diff};
pub use inputs::{KeyReadError, ReadError, read_aliases, read_grants, read_key, read_tags};
pub use principals::PrincipalKind;
pub use reach::{
    Reach, ReachQuestion, ReachWitness, Reached, principal_facts, reach, reach_parsed,
};
pub use sarif::sarif_log;
pub use scp::{NamedPolicy, ServiceControlPolicies, read_scp_level};
pub use space::{KeyFacts, PolicySet};
pub use who_can::{WhoCanInputs, WhoCanReport, WhoCanRow, who_can, who_can_reporting};

/// The one account a key policy delegates to (an `Allow` of every KMS action to accounts
/// only, as the default key policy has): the account whose key it most likely is. `None` when
/// the text is no valid key policy, or no one account is.
pub fn delegated_account(key_policy: &str) -> Option<String> {
    let document =
        keyward_policy::parse_and_validate(key_policy, keyward_policy::PolicyKind::KeyPolicy)
            .ok()?;
    let matchers =
        keyward_policy::StatementMatchers::new(&document, keyward_policy::PolicyKind::KeyPolicy)
            .ok()?;
    keyward_policy::delegated_account(matchers.statements()).map(str::to_owned)
}

/// Whether `arn` names a KMS key: `arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID`.
pub fn is_key_arn(arn: &str) -> bool {
    keyward_policy::arn::Arn::parse(arn).is_some_and(|a| {
        a.service == "kms"
            && !a.region.is_empty()
            && a.account.len() == 12
            && a.account.bytes().all(|b| b.is_ascii_digit())
            && a.resource
                .strip_prefix("key/")
                .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    })
}

/// Why an analysis has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// A policy does not parse, validate or compile.
    #[error("{0}")]
    Policy(String),
    /// An input that is not what it must be (a key ARN, ...).
    #[error("{0}")]
    Input(String),
    /// Something outside the fragment the analysis decides exactly.
    #[error("not analysed: {0}")]
    Unsupported(String),
    /// The analysis contradicts `authz`: a bug, reported rather than answered.
    #[error("internal error: {0}")]
    Bug(String),
}
