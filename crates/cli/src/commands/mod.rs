//! One module per subcommand. Each returns an [`Outcome`], the process exit status.

pub(crate) mod authorize;
pub(crate) mod can;
pub(crate) mod check;
pub(crate) mod diff;
pub(crate) mod fmt;
pub(crate) mod lint;
pub(crate) mod serve;
pub(crate) mod validate;
pub(crate) mod who_can;

/// The account's data as the aws CLI prints it, which `can` and `who-can` read alike.
#[derive(Debug)]
pub(crate) struct AccountArgs {
    pub(crate) key_policy: String,
    pub(crate) authorization_details: Option<String>,
    pub(crate) grants: Option<String>,
    pub(crate) key: diff::KeyArgs,
    pub(crate) scps: Vec<String>,
    pub(crate) rcps: Vec<String>,
}

/// How a command ended; the discriminant is the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything checked is fine.
    Success = 0,
    /// Something checked is not (an invalid policy, a file not in canonical form).
    Failure = 1,
    /// The command could not do its job (usage, I/O).
    Error = 2,
}
