//! `keyward`: the command-line front end. Each subcommand lives in `commands/`.

mod commands;
mod input;
mod out;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// mimalloc rather than the C library's malloc: the access analysis (`diff`, `who-can`,
/// `check`, the lint's security rules) allocates many small, short-lived values, and spends
/// about a third of its time in glibc's allocator (benches/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keyward: AWS KMS key policies, validated, explained and enforced.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check policies: prints OK per valid file, or `FILE:LINE:COL: error[CODE]: message` per
    /// problem. Exit 0 when all are valid, 1 when some is not, 2 on usage or I/O errors.
    Validate {
        /// The kind of policy: a KMS key policy or an IAM identity policy.
        #[arg(long, value_enum, default_value_t = Kind::Key)]
        kind: Kind,
        /// Policy files; `-` reads standard input.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Decide whether a request is allowed, and why (the request format of
    /// crates/authz/REQUEST.md). Exit 0 allowed, 1 denied, 2 the request could not be
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
        /// A JSON object of named policy documents: a request's `"key_policy": {"ref": NAME}`
        /// (and each such entry of `identity_policies`) stands for the document NAME.
        #[arg(long, value_name = "FILE")]
        policies: Option<String>,
    },
    /// Lint policies: validation errors, KMS catalog checks, security checks decided by the
    /// engine, hygiene. Exit 0 when no finding is at or above --min-severity, 1 when some is, 2
    /// on usage or I/O errors.
    Lint {
        /// Policy files or directories (walked for *.json); `-` reads standard input.
        #[arg(default_value = "-")]
        targets: Vec<String>,
        /// The kind of policy.
        #[arg(long, value_enum, default_value_t = Kind::Key)]
        kind: Kind,
        /// Output format.
        #[arg(long, value_enum, default_value_t = LintOutput::Text)]
        format: LintOutput,
        /// Report findings at or above this severity.
        #[arg(long, value_enum, default_value_t = MinSeverity::Warning)]
        min_severity: MinSeverity,
        /// The key's account; by default the one account the policy delegates to.
        #[arg(long)]
        account: Option<String>,
        /// An account whose access is expected (repeatable).
        #[arg(long = "trusted-account")]
        trusted_accounts: Vec<String>,
        /// What the files are; by default told by their content: a key policy, a
        /// CloudFormation template (JSON or YAML, CDK output included) whose KMS keys'
        /// policies are linted at the template's own lines, or a Terraform plan
        /// (`terraform show -json`).
        #[arg(long, value_enum, default_value_t = LintInput::Auto)]
        input: LintInput,
        /// The key's ARN: a Resource that names it applies to this key. By default, the one
        /// key ARN the policy's Resource elements name, if they name exactly one.
        #[arg(long)]
        key_arn: Option<String>,
        /// Suppressions file; by default `keyward-lint.toml` in the current directory or the
        /// nearest parent that has one.
        #[arg(long)]
        config: Option<String>,
        /// Ignore any `keyward-lint.toml`.
        #[arg(long, conflicts_with = "config")]
        no_config: bool,
    },
    /// Serve a KMS-compatible endpoint (AWS JSON 1.1, SigV4) that enforces key policies,
    /// identity policies and grants. The first line on stdout is `listening on http://HOST:PORT`.
    /// With no config file, a generated admin identity is printed once.
    Serve {
        /// The config file (TOML, crates/server/CONFIG.md).
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// ADDR:PORT to listen on (port 0 picks a free one); overrides the file.
        #[arg(long)]
        listen: Option<String>,
        /// Data directory (key store, root key); overrides the file.
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
        /// Seed file (TOML): keys, aliases, tags and material created at start, idempotently;
        /// overrides the file's `seed`.
        #[arg(long)]
        seed: Option<std::path::PathBuf>,
        /// Where the keys live: `sqlite` (files under the data directory, the default) or a
        /// `postgres://user@host:port/database` URL; overrides the file's `store`.
        #[arg(long)]
        store: Option<String>,
    },
    /// Does a key-policy change grant new access? Lists every kind of request NEW allows and
    /// OLD does not: the principal or class of principals, the actions, the residual condition
    /// and a witness request that `keyward authorize` allows under NEW and not under OLD. Exit 0
    /// no new access, 1 new access, 2 error.
    Diff {
        /// The key policy before the change.
        old: String,
        /// The key policy after the change.
        new: String,
        /// An identity policy of the callers, for both sides (repeatable). Without any, every
        /// IAM principal is assumed to be allowed by its own identity policies, as IAM Access
        /// Analyzer assumes; a witness that relies on it carries the policy assumed.
        #[arg(long = "identity-policy")]
        identity_policies: Vec<String>,
        /// The key's grants, for both sides: `aws kms list-grants` output.
        #[arg(long)]
        grants: Option<String>,
        /// NEW's grants when they differ from --grants: `aws kms list-grants` output.
        #[arg(long)]
        new_grants: Option<String>,
        #[command(flatten)]
        key: KeyOptions,
        /// Also list what OLD allows and NEW does not (access removed; it does not fail).
        #[arg(long)]
        both_ways: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiffOutput::Text)]
        format: DiffOutput,
    },
    /// IAM Access Analyzer's custom policy checks for a key policy, offline and exact:
    /// no-new-access, access-not-granted, no-public-access. The same parameters as `aws
    /// accessanalyzer check-...` (documents as paths, `file://` paths or inline JSON), and
    /// its JSON answer (`result`, `message`, `reasons` with `statementIndex`), every FAIL with
    /// a witness request. Exit 0 PASS, 1 FAIL, 2 error.
    Check {
        #[command(subcommand)]
        check: CheckKind,
    },
    /// May PRINCIPAL call ACTION on the key, and when? Every way it is allowed, with the
    /// residual condition, the statements and grants, and a witness request `keyward
    /// authorize` allows. Exit 0 allowed, 1 denied, 2 error.
    Can {
        /// A user, role or role-session ARN, or an account's root.
        principal: String,
        /// A KMS action on a key (`kms:Decrypt`) or an alias operation (`kms:CreateAlias`).
        action: String,
        #[command(flatten)]
        account: AccountOptions,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Who can use the key? Every principal of the account (from its IAM data, each with its
    /// own identity policies and the organization's SCPs) and every other caller as a class,
    /// with the actions, the path (key-policy statement, identity policy, grant), the residual
    /// condition, what shadows it, and a witness request `keyward authorize` allows.
    WhoCan {
        #[command(flatten)]
        account: AccountOptions,
        /// A KMS action to ask about (repeatable; by default every action on a key and every
        /// alias operation).
        #[arg(long = "action")]
        actions: Vec<String>,
        /// Output format: text, json (a contract), or dot (a Graphviz graph).
        #[arg(long, value_enum, default_value_t = WhoCanOutput::Text)]
        format: WhoCanOutput,
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

/// The key of a comparison (`diff`, `check`).
#[derive(Debug, clap::Args)]
struct KeyOptions {
    /// The key: `aws kms describe-key` output.
    #[arg(long)]
    describe_key: Option<String>,
    /// The key's aliases: `aws kms list-aliases --key-id KEY` output.
    #[arg(long)]
    aliases: Option<String>,
    /// The key's tags: `aws kms list-resource-tags` output.
    #[arg(long)]
    tags: Option<String>,
    /// The key's ARN. By default that of --describe-key, else a key in us-east-1 of the one
    /// account the policy delegates to.
    #[arg(long)]
    resource: Option<String>,
}

impl From<KeyOptions> for commands::diff::KeyArgs {
    fn from(o: KeyOptions) -> Self {
        Self {
            describe_key: o.describe_key,
            aliases: o.aliases,
            tags: o.tags,
            resource: o.resource,
        }
    }
}

/// The account's data as the aws CLI prints it (`can`, `who-can`).
#[derive(Debug, clap::Args)]
struct AccountOptions {
    /// The key's policy: a file, or `aws kms get-key-policy` output.
    #[arg(long)]
    key_policy: String,
    /// The account's IAM data: `aws iam get-account-authorization-details` output. Each
    /// principal's inline and managed policies (default versions), its groups' and its
    /// permissions boundary are gathered from it. Without it, IAM principals' identity
    /// policies are assumed to allow every KMS action.
    #[arg(long)]
    authorization_details: Option<String>,
    /// The key's grants: `aws kms list-grants` output.
    #[arg(long)]
    grants: Option<String>,
    #[command(flatten)]
    key: KeyOptions,
    /// The SCPs of one level of the organization over the account, from the root down
    /// (repeatable, one per level): a policy, `aws organizations describe-policy` output, or a
    /// JSON array of them (the SCPs attached at that level).
    #[arg(long = "scp")]
    scps: Vec<String>,
    /// A resource control policy over the key (repeatable), read as `--scp` reads a level. Its
    /// denials apply to every caller, services included, kms:RetireGrant aside.
    #[arg(long = "rcp")]
    rcps: Vec<String>,
}

impl From<AccountOptions> for commands::AccountArgs {
    fn from(o: AccountOptions) -> Self {
        Self {
            key_policy: o.key_policy,
            authorization_details: o.authorization_details,
            grants: o.grants,
            key: o.key.into(),
            scps: o.scps,
            rcps: o.rcps,
        }
    }
}

/// What stands beside the key policy in a check.
#[derive(Debug, clap::Args)]
struct CheckOptions {
    /// An identity policy of the callers (repeatable). Without any, every IAM principal is
    /// assumed to be allowed by its own identity policies, as Access Analyzer assumes.
    #[arg(long = "identity-policy")]
    identity_policies: Vec<String>,
    /// The key's grants: `aws kms list-grants` output.
    #[arg(long)]
    grants: Option<String>,
    #[command(flatten)]
    key: KeyOptions,
}

/// The checks of `keyward check`.
#[derive(Debug, Subcommand)]
enum CheckKind {
    /// CheckNoNewAccess: does the new key policy allow any request the existing one does not?
    NoNewAccess {
        /// The key policy before the change.
        #[arg(long)]
        existing_policy_document: String,
        /// The key policy after the change.
        #[arg(long)]
        new_policy_document: String,
        /// RESOURCE_POLICY (a key policy), the only type checked.
        #[arg(long, default_value = "RESOURCE_POLICY")]
        policy_type: String,
        #[command(flatten)]
        options: CheckOptions,
    },
    /// CheckAccessNotGranted: does the key policy allow anyone any of the actions?
    AccessNotGranted {
        /// The key policy.
        #[arg(long)]
        policy_document: String,
        /// The access, as Access Analyzer takes it: `[{"actions": [...], "resources":
        /// [...]}]` (inline JSON or `file://PATH`).
        #[arg(long)]
        access: String,
        /// RESOURCE_POLICY (a key policy), the only type checked.
        #[arg(long, default_value = "RESOURCE_POLICY")]
        policy_type: String,
        #[command(flatten)]
        options: CheckOptions,
    },
    /// CheckNoPublicAccess: does the key policy allow principals of accounts it does not name?
    NoPublicAccess {
        /// The key policy.
        #[arg(long)]
        policy_document: String,
        /// AWS::KMS::Key, the only type checked.
        #[arg(long, default_value = "AWS::KMS::Key")]
        resource_type: String,
        #[command(flatten)]
        options: CheckOptions,
    },
}

impl From<CheckOptions> for commands::check::CheckContext {
    fn from(o: CheckOptions) -> Self {
        Self {
            identity_policies: o.identity_policies,
            grants: o.grants,
            key: o.key.into(),
        }
    }
}

/// Output formats of `authorize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The decision on the first line, the explanation under it.
    Text,
    /// The contract's JSON object.
    Json,
}

/// What `lint` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LintInput {
    /// Told by the content: a CloudFormation template has `Resources`.
    Auto,
    /// A key or identity policy.
    Policy,
    /// A CloudFormation template, JSON or YAML.
    Cloudformation,
    /// A Terraform plan (`terraform show -json`).
    TerraformPlan,
}

/// Output formats of `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LintOutput {
    /// `file:line:col: severity[rule]: message`, with the source line and a caret.
    Text,
    /// One object per finding.
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

/// Output formats of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiffOutput {
    /// A summary line, then each finding with its witness and both explanations.
    Text,
    /// `{"result": "PASS"|"FAIL", "findings": [...]}` (and `removed` with --both-ways).
    Json,
    /// SARIF 2.1.0, each finding at the statements of NEW that allow it.
    Sarif,
}

/// Output formats of `who-can`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WhoCanOutput {
    /// Each row with its actions, condition, path and witness; shadowed rows after.
    Text,
    /// `{"key": ARN, "rows": [...]}`.
    Json,
    /// A Graphviz graph: principals → paths → key.
    Dot,
}

/// Severities, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MinSeverity {
    Suggestion,
    Warning,
    Security,
    Error,
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
        Command::Lint {
            targets,
            kind,
            format,
            min_severity,
            account,
            trusted_accounts,
            key_arn,
            input,
            config,
            no_config,
        } => {
            if let Some(arn) = &key_arn
                && !keyward_analysis::is_key_arn(arn)
            {
                eprintln!(
                    "error: --key-arn {arn} is not a key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)"
                );
                return ExitCode::from(2);
            }
            let options = keyward_lint::LintOptions {
                kind: kind.into(),
                account,
                trusted_accounts,
                key_arn,
            };
            let format = match format {
                LintOutput::Text => commands::lint::LintFormat::Text,
                LintOutput::Json => commands::lint::LintFormat::Json,
                LintOutput::Sarif => commands::lint::LintFormat::Sarif,
            };
            let min = match min_severity {
                MinSeverity::Suggestion => keyward_lint::Severity::Suggestion,
                MinSeverity::Warning => keyward_lint::Severity::Warning,
                MinSeverity::Security => keyward_lint::Severity::Security,
                MinSeverity::Error => keyward_lint::Severity::Error,
            };
            let config = if no_config {
                commands::lint::ConfigChoice::None
            } else {
                config.map_or(
                    commands::lint::ConfigChoice::Discover,
                    commands::lint::ConfigChoice::File,
                )
            };
            let input = match input {
                LintInput::Auto => keyward_templates::Format::Auto,
                LintInput::Policy => keyward_templates::Format::Policy,
                LintInput::Cloudformation => keyward_templates::Format::CloudFormation,
                LintInput::TerraformPlan => keyward_templates::Format::TerraformPlan,
            };
            commands::lint::run(&targets, &options, input, format, min, &config)
        }
        Command::Serve {
            config,
            listen,
            data_dir,
            seed,
            store,
        } => commands::serve::run(config, listen, data_dir, seed, store),
        Command::Diff {
            old,
            new,
            identity_policies,
            grants,
            new_grants,
            key,
            both_ways,
            format,
        } => commands::diff::run(&commands::diff::DiffArgs {
            old,
            new,
            identity_policies,
            grants,
            new_grants,
            key: key.into(),
            both_ways,
            format: match format {
                DiffOutput::Text => commands::diff::DiffFormat::Text,
                DiffOutput::Json => commands::diff::DiffFormat::Json,
                DiffOutput::Sarif => commands::diff::DiffFormat::Sarif,
            },
        }),
        Command::Can {
            principal,
            action,
            account,
            format,
        } => commands::can::run(&commands::can::CanArgs {
            principal,
            action,
            account: account.into(),
            json: format == Format::Json,
        }),
        Command::WhoCan {
            account,
            actions,
            format,
        } => commands::who_can::run(&commands::who_can::WhoCanArgs {
            account: account.into(),
            actions,
            format: match format {
                WhoCanOutput::Text => commands::who_can::WhoCanFormat::Text,
                WhoCanOutput::Json => commands::who_can::WhoCanFormat::Json,
                WhoCanOutput::Dot => commands::who_can::WhoCanFormat::Dot,
            },
        }),
        Command::Check { check } => match check {
            CheckKind::NoNewAccess {
                existing_policy_document,
                new_policy_document,
                policy_type,
                options,
            } => commands::check::run(
                &commands::check::Check::NoNewAccess {
                    existing: existing_policy_document,
                    new: new_policy_document,
                    policy_type,
                },
                &options.into(),
            ),
            CheckKind::AccessNotGranted {
                policy_document,
                access,
                policy_type,
                options,
            } => commands::check::run(
                &commands::check::Check::AccessNotGranted {
                    policy: policy_document,
                    access,
                    policy_type,
                },
                &options.into(),
            ),
            CheckKind::NoPublicAccess {
                policy_document,
                resource_type,
                options,
            } => commands::check::run(
                &commands::check::Check::NoPublicAccess {
                    policy: policy_document,
                    resource_type,
                },
                &options.into(),
            ),
        },
        Command::Authorize {
            file,
            format,
            batch,
            policies,
        } => commands::authorize::run(&file, format == Format::Json, batch, policies.as_deref()),
    };
    ExitCode::from(outcome as u8)
}
