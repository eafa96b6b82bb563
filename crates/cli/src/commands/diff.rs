//! `keyward diff OLD NEW`: does a key-policy change grant new access? Every kind of request
//! NEW allows and OLD does not (and the reverse with `--both-ways`), each with a witness
//! request that `authz` confirms.

use super::Outcome;
use super::validate::check;
use crate::input::{self, Input};
use keyward_analysis::{DiffReport, Finding, KeyFacts, PolicySet, diff};
use keyward_policy::PolicyKind;
use serde_json::json;

/// The most bytes of a saved `aws kms ...` output read (a key's grants can be many).
const MAX_LISTING_BYTES: usize = 16 << 20;

/// What `keyward diff` is asked.
#[derive(Debug)]
pub(crate) struct DiffArgs {
    pub(crate) old: String,
    pub(crate) new: String,
    pub(crate) identity_policies: Vec<String>,
    pub(crate) grants: Option<String>,
    pub(crate) new_grants: Option<String>,
    pub(crate) key: KeyArgs,
    pub(crate) both_ways: bool,
    pub(crate) format: DiffFormat,
}

/// The key a comparison is about: `aws kms describe-key` output (with its aliases and tags),
/// or its ARN.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyArgs {
    pub(crate) describe_key: Option<String>,
    pub(crate) aliases: Option<String>,
    pub(crate) tags: Option<String>,
    pub(crate) resource: Option<String>,
}

/// Output formats of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DiffFormat {
    Text,
    Json,
    Sarif,
}

/// Compare, print, and say whether NEW grants new access.
pub(crate) fn run(args: &DiffArgs) -> Outcome {
    match compare(args) {
        Ok((added, removed)) => {
            print(args, &added, removed.as_ref());
            if added.findings.is_empty() {
                Outcome::Success
            } else {
                Outcome::Failure
            }
        }
        Err(messages) => {
            for message in messages {
                crate::out::eprintln(&message);
            }
            Outcome::Error
        }
    }
}

type Reports = (DiffReport, Option<DiffReport>);

fn compare(args: &DiffArgs) -> Result<Reports, Vec<String>> {
    let old = policy(&args.old, PolicyKind::KeyPolicy)?;
    let new = policy(&args.new, PolicyKind::KeyPolicy)?;
    let identity = if args.identity_policies.is_empty() {
        None
    } else {
        Some(
            args.identity_policies
                .iter()
                .map(|p| policy(p, PolicyKind::IdentityPolicy).map(|i| i.text))
                .collect::<Result<Vec<String>, Vec<String>>>()?,
        )
    };
    let grants = match &args.grants {
        Some(path) => read_grants(path)?,
        None => Vec::new(),
    };
    let new_grants = match &args.new_grants {
        Some(path) => read_grants(path)?,
        None => grants.clone(),
    };
    let key = key(&args.key, &[&new.text, &old.text])?;
    let old_set = PolicySet {
        key_policy: old.text,
        identity_policies: identity.clone(),
        grants,
    };
    let new_set = PolicySet {
        key_policy: new.text,
        identity_policies: identity,
        grants: new_grants,
    };
    let failed = |e: keyward_analysis::AnalysisError| vec![format!("keyward: error: {e}")];
    let added = diff(&old_set, &new_set, &key).map_err(failed)?;
    let removed = if args.both_ways {
        Some(diff(&new_set, &old_set, &key).map_err(failed)?)
    } else {
        None
    };
    Ok((added, removed))
}

/// A policy file, checked as `keyward validate` checks it.
pub(crate) fn policy(path: &str, kind: PolicyKind) -> Result<Input, Vec<String>> {
    let input = input::read(path).map_err(|m| vec![m])?;
    check(&input, kind)?;
    Ok(input)
}

/// A saved `aws kms ...` output.
fn listing(path: &str) -> Result<Input, Vec<String>> {
    input::read_limited(path, Some(MAX_LISTING_BYTES)).map_err(|m| vec![m])
}

pub(crate) fn read_grants(path: &str) -> Result<Vec<keyward_grants::Grant>, Vec<String>> {
    let input = listing(path)?;
    keyward_analysis::read_grants(&input.text).map_err(|e| vec![read_error(&input.name, &e)])
}

fn read_error(name: &str, e: &keyward_analysis::ReadError) -> String {
    if e.line == 0 {
        format!("keyward: error: {name}: {}", e.message)
    } else {
        format!(
            "keyward: error: {name}:{}:{}: {}",
            e.line, e.column, e.message
        )
    }
}

/// The key: `--describe-key` (with `--aliases` and `--tags`), `--resource`, or a key of the
/// account the first of `policies` that delegates to one account delegates to.
pub(crate) fn key(args: &KeyArgs, policies: &[&str]) -> Result<KeyFacts, Vec<String>> {
    let mut key = match &args.describe_key {
        Some(path) => {
            let described = listing(path)?;
            let aliases = args.aliases.as_deref().map(listing).transpose()?;
            let tags = args.tags.as_deref().map(listing).transpose()?;
            keyward_analysis::read_key(
                &described.text,
                aliases.as_ref().map(|a| a.text.as_str()),
                tags.as_ref().map(|t| t.text.as_str()),
            )
            .map_err(|e| {
                let name = match &e {
                    keyward_analysis::KeyReadError::DescribeKey(_) => described.name.clone(),
                    keyward_analysis::KeyReadError::Aliases(_) => {
                        aliases.as_ref().map(|a| a.name.clone()).unwrap_or_default()
                    }
                    keyward_analysis::KeyReadError::Tags(_) => {
                        tags.as_ref().map(|t| t.name.clone()).unwrap_or_default()
                    }
                };
                let (keyward_analysis::KeyReadError::DescribeKey(inner)
                | keyward_analysis::KeyReadError::Aliases(inner)
                | keyward_analysis::KeyReadError::Tags(inner)) = &e;
                vec![read_error(&name, inner)]
            })?
        }
        None => {
            if args.aliases.is_some() || args.tags.is_some() {
                return Err(vec![
                    "keyward: error: --aliases and --tags describe the key of --describe-key; give it too".into(),
                ]);
            }
            KeyFacts::symmetric("")
        }
    };
    if let Some(arn) = &args.resource {
        key.arn.clone_from(arn);
    } else if key.arn.is_empty() {
        let account = policies
            .iter()
            .find_map(|text| keyward_analysis::delegated_account(text))
            .ok_or_else(|| {
                vec![
                    "keyward: error: name the key with --resource ARN or --describe-key FILE: no policy delegates to one account whose key it could be".to_owned(),
                ]
            })?;
        key.arn = format!("arn:aws:kms:us-east-1:{account}:key/{DEFAULT_KEY_ID}");
    }
    if !keyward_analysis::is_key_arn(&key.arn) {
        return Err(vec![format!(
            "keyward: error: --resource: {} is not a key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)",
            key.arn
        )]);
    }
    Ok(key)
}

/// The key ID of the key a comparison assumes when none is named.
const DEFAULT_KEY_ID: &str = "00000000-0000-4000-8000-000000000000";

fn print(args: &DiffArgs, added: &DiffReport, removed: Option<&DiffReport>) {
    match args.format {
        DiffFormat::Json => {
            let mut value = json!({ "result": added.result, "findings": added.findings });
            if let (Some(map), Some(removed)) = (value.as_object_mut(), removed) {
                map.insert("removed".into(), json!(removed.findings));
            }
            crate::out::println(&format!("{value:#}"));
        }
        DiffFormat::Sarif => {
            crate::out::println(&format!("{:#}", added.to_sarif(&args.new)));
        }
        DiffFormat::Text => {
            let mut out = String::new();
            text(&mut out, added, &args.new, &args.old, "new access");
            if let Some(removed) = removed {
                out.push('\n');
                text(&mut out, removed, &args.old, &args.new, "access removed");
            }
            crate::out::print(&out);
        }
    }
}

/// A report as text: a summary line, then each finding with its witness and both
/// explanations.
fn text(out: &mut String, report: &DiffReport, allowing: &str, denying: &str, what: &str) {
    let n = report.findings.len();
    if n == 0 {
        out.push_str(&format!(
            "PASS: {allowing} allows nothing that {denying} does not ({} requests compared)\n",
            report.regions
        ));
        return;
    }
    let label = if what == "new access" { "FAIL" } else { "NOTE" };
    out.push_str(&format!(
        "{label}: {what}: {allowing} allows {n} kind{} of request that {denying} does not\n",
        if n == 1 { "" } else { "s" }
    ));
    for (i, finding) in report.findings.iter().enumerate() {
        finding_text(out, i + 1, finding, allowing, denying);
    }
}

fn finding_text(out: &mut String, number: usize, f: &Finding, allowing: &str, denying: &str) {
    let indent = |text: &str| text.replace('\n', "\n               ");
    out.push_str(&format!("\n{number}. {}\n", f.description));
    out.push_str(&format!("   principal:  {}\n", f.principal));
    out.push_str(&format!("   actions:    {}\n", f.actions.join(", ")));
    out.push_str(&format!("   condition:  {}\n", f.condition));
    for s in &f.statements {
        let sid = s
            .sid
            .as_ref()
            .map(|sid| format!(" ({sid:?})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "   allowed by: {allowing}:{}:{}: statement {}{sid}\n",
            s.line, s.column, s.index
        ));
    }
    if !f.via.is_empty() {
        out.push_str(&format!("   via:        {}\n", f.via.join(", ")));
    }
    out.push_str(&format!("   witness:    {}\n", f.witness));
    out.push_str(&format!(
        "   {allowing}: {}\n",
        indent(&f.explanations.allowed)
    ));
    out.push_str(&format!(
        "   {denying}: {}\n",
        indent(&f.explanations.denied)
    ));
}
