//! `keyward`: the command-line front end. Each subcommand lives in `commands/`.

mod commands;
mod input;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// Keyward: AWS KMS key policies, validated, explained and enforced.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check policies: prints OK per valid file, or FILE:LINE:COL: error[CODE]: message per problem.
    /// Exit 0 when all are valid, 1 when some is not, 2 on usage or I/O errors.
    Validate {
        /// The kind of policy: a KMS key policy or an IAM identity policy.
        #[arg(long, value_enum, default_value_t = Kind::Key)]
        kind: Kind,
        /// Policy files; `-` reads standard input.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Decide whether a request is allowed, and why (the request format of
    /// shared/spec/request-format.md). Exit 0 allowed, 1 denied, 2 the request could not be
    /// evaluated.
    Authorize {
        /// The request file; `-` (the default) reads standard input.
        #[arg(default_value = "-")]
        file: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// JSON Lines: one request per line in, one JSON result per line out (with the input's
        /// line number). Exit 0 when every line was evaluated, 2 when some could not be.
        #[arg(long)]
        batch: bool,
    },
    /// Print a policy in canonical form (stable element order and layout).
    Fmt {
        /// Do not print; exit 1 if the file is not already in canonical form.
        #[arg(long)]
        check: bool,
        /// The policy file; `-` reads standard input.
        file: String,
    },
}

/// Output formats of `authorize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The decision on the first line, the explanation under it.
    Text,
    /// The contract's JSON object.
    Json,
}

/// Policy kinds, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// A KMS key policy.
    Key,
    /// An IAM identity-based policy.
    Identity,
}

impl From<Kind> for keyward_policy::PolicyKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Key => Self::KeyPolicy,
            Kind::Identity => Self::IdentityPolicy,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let outcome = match cli.command {
        Command::Validate { kind, files } => commands::validate::run(kind.into(), &files),
        Command::Fmt { check, file } => commands::fmt::run(&file, check),
        Command::Authorize {
            file,
            format,
            batch,
        } => commands::authorize::run(&file, format == Format::Json, batch),
    };
    ExitCode::from(outcome as u8)
}
