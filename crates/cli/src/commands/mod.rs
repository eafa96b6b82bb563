//! One module per subcommand. Each returns an [`Outcome`], the process exit status.

pub mod authorize;
pub mod fmt;
pub mod lint;
pub mod serve;
pub mod validate;

/// How a command ended; the discriminant is the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked is fine.
    Success = 0,
    /// Something checked is not (an invalid policy, a file not in canonical form).
    Failure = 1,
    /// The command could not do its job (usage, I/O).
    Error = 2,
}
