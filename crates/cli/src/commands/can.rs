//! `keyward can PRINCIPAL ACTION`: may this principal call this action on the key, and when?
//! From the key's policy and grants as the aws CLI prints them, and the principal's own
//! identity policies gathered from `aws iam get-account-authorization-details` (inline,
//! managed default versions, groups).

use super::Outcome;
use super::diff::{key, read_grants};
use crate::input;
use keyward_analysis::{
    AuthorizationDetails, CanReport, NamedPolicy, PolicySet, ServiceControlPolicies,
};
use keyward_policy::PolicyKind;
use keyward_policy::catalog::kms_action;

/// What `keyward can` is asked.
#[derive(Debug)]
pub(crate) struct CanArgs {
    pub(crate) principal: String,
    pub(crate) action: String,
    pub(crate) account: super::AccountArgs,
    pub(crate) json: bool,
}

/// The most bytes of a saved `aws iam get-account-authorization-details` output read.
const MAX_DETAILS_BYTES: usize = 64 << 20;

/// Answer, print, and say ALLOWED (0) or DENIED (1).
pub(crate) fn run(args: &CanArgs) -> Outcome {
    match answer(args) {
        Ok((report, sources, shown)) => {
            print(args, &report, &sources, &shown);
            if report.answer == "DENIED" {
                Outcome::Failure
            } else {
                Outcome::Success
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

/// The report, where each identity policy came from (by position), and how the key policy is
/// named in places.
fn answer(args: &CanArgs) -> Result<(CanReport, Vec<String>, String), Vec<String>> {
    let action = kms_action(&args.action)
        .filter(|a| a.involves_a_key())
        .ok_or_else(|| {
            vec![format!(
                "keyward: error: {} is not a KMS action on a key or an alias",
                args.action
            )]
        })?;
    let key_policy = key_policy(&args.account.key_policy)?;
    let mut role = None;
    let mut boundary = None;
    let (identity, sources) = match &args.account.authorization_details {
        Some(path) => {
            let input = input::read_limited(path, Some(MAX_DETAILS_BYTES)).map_err(|m| vec![m])?;
            let details = AuthorizationDetails::read(&input.text).map_err(|e| {
                vec![format!(
                    "keyward: error: {}:{}:{}: {}",
                    input.name, e.line, e.column, e.message
                )]
            })?;
            let policies = details
                .policies_of(&args.principal)
                .map_err(|e| vec![format!("keyward: error: {}: {e}", input.name)])?;
            for p in &policies {
                keyward_policy::parse_and_validate(&p.text, PolicyKind::IdentityPolicy).map_err(
                    |d| vec![format!("keyward: error: {}: {}: {d}", input.name, p.source)],
                )?;
            }
            role = details.role_of(&args.principal).map(str::to_owned);
            boundary = details
                .boundary_of(&args.principal)
                .map_err(|e| vec![format!("keyward: error: {}: {e}", input.name)])?
                .map(|b| NamedPolicy {
                    name: b.source,
                    text: b.text,
                });
            let sources = policies.iter().map(|p| p.source.clone()).collect();
            (
                Some(policies.into_iter().map(|p| p.text).collect()),
                sources,
            )
        }
        None => (None, Vec::new()),
    };
    let grants = match &args.account.grants {
        Some(path) => read_grants(path)?,
        None => Vec::new(),
    };
    let key = key(&args.account.key, &[&key_policy.text])?;
    let shown = key_policy.name.clone();
    let set = PolicySet {
        key_policy: key_policy.text,
        identity_policies: identity,
        grants,
    };
    let levels = super::who_can::read_scp_levels(&args.account.scps)?;
    let rcps: Vec<_> = super::who_can::read_scp_levels(&args.account.rcps)?
        .into_iter()
        .flatten()
        .collect();
    // The SCPs govern the principal's account; the RCPs, the key.
    let scps = (!levels.is_empty() || !rcps.is_empty()).then(|| ServiceControlPolicies {
        accounts: keyward_policy::arn::Arn::parse(&args.principal)
            .map(|a| a.account.to_owned())
            .into_iter()
            .collect(),
        levels,
        rcps,
    });
    let report = keyward_analysis::can_governed(
        &args.principal,
        role.as_deref(),
        action,
        &set,
        &key,
        scps.as_ref(),
        boundary.as_ref(),
    )
    .map_err(|e| vec![format!("keyward: error: {e}")])?;
    Ok((report, sources, shown))
}

/// The key policy: a policy file, or `aws kms get-key-policy` output (`{"Policy": "<the
/// policy as JSON text>", "PolicyName": "default"}`), whose `Policy` is checked as
/// `keyward validate` checks a policy, its problems placed in that text.
pub(crate) fn key_policy(path: &str) -> Result<input::Input, Vec<String>> {
    let mut read = input::read(path).map_err(|m| vec![m])?;
    if let Ok(serde_json::Value::Object(members)) = serde_json::from_str(&read.text)
        && !members.contains_key("Statement")
        && let Some(serde_json::Value::String(inner)) = members.get("Policy")
    {
        read.name = format!("{} (its Policy)", read.name);
        read.text.clone_from(inner);
    }
    super::validate::check(&read, PolicyKind::KeyPolicy)?;
    Ok(read)
}

/// `identity_policy:N` with the policy's source, when the authorization details gave it.
fn named_via(via: &str, sources: &[String]) -> String {
    via.strip_prefix("identity_policy:")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| sources.get(n))
        .map_or_else(|| via.to_owned(), |source| format!("{via} ({source})"))
}

fn print(args: &CanArgs, report: &CanReport, sources: &[String], shown: &str) {
    if args.json {
        let mut value = serde_json::json!(report);
        if let Some(paths) = value.get_mut("paths").and_then(|p| p.as_array_mut()) {
            for path in paths {
                if let Some(via) = path.get_mut("via").and_then(|v| v.as_array_mut()) {
                    for v in via.iter_mut() {
                        if let Some(text) = v.as_str() {
                            *v = named_via(text, sources).into();
                        }
                    }
                }
            }
        }
        crate::out::println(&format!("{value:#}"));
        return;
    }
    let mut out = format!(
        "{}: {} {} {} on {}\n",
        report.answer,
        report.principal,
        if report.answer == "DENIED" {
            "may not call"
        } else {
            "may call"
        },
        report.action,
        report.key
    );
    if let Some(denial) = &report.denial {
        out.push_str(&format!("{denial}\n"));
    }
    if args.account.authorization_details.is_none() {
        out.push_str("(no --authorization-details: the principal's identity policies are assumed to allow every KMS action)\n");
    }
    for (i, path) in report.paths.iter().enumerate() {
        out.push_str(&format!("\n{}. when {}\n", i + 1, path.condition));
        for s in &path.statements {
            let sid = s
                .sid
                .as_ref()
                .map(|sid| format!(" ({sid:?})"))
                .unwrap_or_default();
            out.push_str(&format!(
                "   allowed by: {shown}:{}:{}: statement {}{sid}\n",
                s.line, s.column, s.index
            ));
        }
        for via in &path.via {
            out.push_str(&format!("   via:        {}\n", named_via(via, sources)));
        }
        out.push_str(&format!("   witness:    {}\n", path.witness));
        out.push_str(&format!("   {}\n", path.explanation));
    }
    crate::out::print(&out);
}
