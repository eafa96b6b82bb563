//! Service control policies: the organization's guardrails over the IAM principals of its
//! member accounts. At each level from the organization's root down to the account, some SCP
//! attached there must allow the request, and a `Deny` in any SCP denies it. SCPs never allow
//! on their own: a request they let through still needs the key policy, IAM or a grant.
//!
//! They govern the callers of the accounts they are given for (root users included), never a
//! service principal, and never callers of other accounts (whose organization is not known).
//!
//! Resource control policies (RCPs) are the guardrails on the key itself: a `Deny` statement of
//! an RCP refuses every caller it applies to, of any account, services included, except for
//! `kms:RetireGrant`, which RCPs do not govern (KMS Developer Guide, "Resource control policies
//! in AWS KMS"). Every level of an organization carries `RCPFullAWSAccess`, which cannot be
//! detached, so an RCP's denials are all that decide.
//!
//! `authz` decides without them; the analysis applies them on top, to every request it
//! decides, and checks every witness against them the same way.

use crate::AnalysisError;
use crate::inputs::{ReadError, read};
use crate::mentions::{Mentions, StatementKeys};
use keyward_authz::Request;
use keyward_conditions::{CompiledPolicy, KeyTest};
use keyward_policy::catalog::ActionId;
use keyward_policy::{Effect, PolicyKind, parse_and_validate};
use serde::Deserialize;

/// One SCP: its name and its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPolicy {
    /// How findings name it (the SCP's name, or the file it came from).
    pub name: String,
    /// The policy document.
    pub text: String,
}

/// The SCPs over the IAM principals of `accounts`, by level of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceControlPolicies {
    /// The member accounts they govern.
    pub accounts: Vec<String>,
    /// From the organization's root down to the account, the SCPs attached at each level.
    pub levels: Vec<Vec<NamedPolicy>>,
    /// The RCPs over the key (those attached at every level above the key's account and at
    /// it), in any order.
    pub rcps: Vec<NamedPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Described {
    policy: DescribedPolicy,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribedPolicy {
    #[serde(default)]
    policy_summary: Option<Summary>,
    content: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    #[serde(default)]
    name: Option<String>,
}

/// The SCPs of one level of the organization, read from `text`: a policy document, the output
/// of `aws organizations describe-policy` (`{"Policy": {"PolicySummary": ..., "Content":
/// "..."}}`), or a JSON array of either (several SCPs attached at the level). `name` names an
/// SCP that does not name itself (a document), with its position when there are several.
pub fn read_scp_level(text: &str, name: &str) -> Result<Vec<NamedPolicy>, ReadError> {
    let value: serde_json::Value = read(
        text,
        "an organization policy, `describe-policy` output or an array",
    )?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    let many = items.len() > 1;
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let fallback = if many {
            format!("{name}[{i}]")
        } else {
            name.to_owned()
        };
        let is_described = item
            .as_object()
            .is_some_and(|o| o.contains_key("Policy") && !o.contains_key("Statement"));
        if is_described {
            let described: Described = serde_json::from_value(item).map_err(|e| ReadError {
                line: 0,
                column: 0,
                message: format!("{fallback}: not `aws organizations describe-policy` output: {e}"),
            })?;
            out.push(NamedPolicy {
                name: described
                    .policy
                    .policy_summary
                    .and_then(|s| s.name)
                    .unwrap_or(fallback),
                text: described.policy.content,
            });
        } else {
            out.push(NamedPolicy {
                name: fallback,
                text: item.to_string(),
            });
        }
    }
    if out.is_empty() {
        return Err(ReadError {
            line: 1,
            column: 1,
            message: format!(
                "{name}: no SCP (every level of an organization has at least one attached)"
            ),
        });
    }
    Ok(out)
}

/// What a policy that only limits (an SCP, an RCP, a permissions boundary) says of a request.
pub(crate) enum Says {
    /// A `Deny` statement applies: the first, in words (`statement 0 (Sid)`).
    Denies(String),
    /// An `Allow` statement applies, and no `Deny`.
    Allows,
    /// No statement applies.
    Nothing,
}

/// What `policy` says of `request`: its statements for the action whose resource covers the
/// key and whose condition holds. An alias operation acts on two resources, the alias and its
/// key: a `Deny` of either refuses it, and it is allowed only where both are.
pub(crate) fn says(policy: &CompiledPolicy, request: &Request) -> Says {
    let Some(key) = request.target_key.as_deref() else {
        return says_on(policy, request, &request.resource);
    };
    match (
        says_on(policy, request, &request.resource),
        says_on(policy, request, key),
    ) {
        (Says::Denies(statement), _) | (_, Says::Denies(statement)) => Says::Denies(statement),
        (Says::Allows, Says::Allows) => Says::Allows,
        _ => Says::Nothing,
    }
}

/// What `policy` says of `request` on `resource`.
pub(crate) fn says_on(policy: &CompiledPolicy, request: &Request, resource: &str) -> Says {
    let mut allowed = false;
    for s in policy.statements_for(request.action) {
        if !policy.covers_resource(s, resource, &request.context)
            || !policy
                .condition(s)
                .is_none_or(|c| c.evaluate(&request.context))
        {
            continue;
        }
        if s.effect == Effect::Deny {
            let sid = s
                .sid
                .as_ref()
                .map(|sid| format!(" ({sid})"))
                .unwrap_or_default();
            return Says::Denies(format!("statement {}{sid}", s.index));
        }
        allowed = true;
    }
    if allowed { Says::Allows } else { Says::Nothing }
}

/// One SCP compiled, with the keys each of its statements reads.
#[derive(Debug)]
struct CompiledScp {
    name: String,
    policy: CompiledPolicy,
    keys: StatementKeys,
}

/// The SCPs compiled for deciding.
#[derive(Debug, Default)]
pub(crate) struct Guardrails {
    accounts: Vec<String>,
    levels: Vec<Vec<CompiledScp>>,
    rcps: Vec<CompiledScp>,
}

impl Guardrails {
    pub(crate) fn new(
        scps: &ServiceControlPolicies,
        mentions: &mut Mentions,
    ) -> Result<Self, AnalysisError> {
        let mut levels = Vec::new();
        for level in &scps.levels {
            let mut compiled = Vec::new();
            for scp in level {
                let document = parse_and_validate(&scp.text, PolicyKind::IdentityPolicy)
                    .map_err(|d| AnalysisError::Policy(format!("SCP {}: {d}", scp.name)))?;
                let keys = mentions.add_policy(&document)?;
                let policy =
                    CompiledPolicy::from_document(&document, PolicyKind::IdentityPolicy)
                        .map_err(|d| AnalysisError::Policy(format!("SCP {}: {d}", scp.name)))?;
                compiled.push(CompiledScp {
                    name: scp.name.clone(),
                    policy,
                    keys,
                });
            }
            levels.push(compiled);
        }
        let mut rcps = Vec::new();
        for rcp in &scps.rcps {
            let what =
                |d: &dyn std::fmt::Display| AnalysisError::Policy(format!("RCP {}: {d}", rcp.name));
            let document =
                parse_and_validate(&rcp.text, PolicyKind::KeyPolicy).map_err(|d| what(&d))?;
            let keys = mentions.add_policy(&document)?;
            let policy = CompiledPolicy::from_document(&document, PolicyKind::KeyPolicy)
                .map_err(|d| what(&d))?;
            // An RCP names no principal but `*` (the syntax requires it): one that does is
            // not what the analysis decides.
            if let Some(s) = policy.statements().iter().find(|s| {
                !s.principals
                    .as_ref()
                    .is_some_and(|p| p.names_everyone() && !p.is_negated())
            }) {
                return Err(AnalysisError::Unsupported(format!(
                    "RCP {}: statement {} names a principal other than \"*\"",
                    rcp.name, s.index
                )));
            }
            rcps.push(CompiledScp {
                name: rcp.name.clone(),
                policy,
                keys,
            });
        }
        for account in &scps.accounts {
            mentions.accounts.insert(account.clone());
        }
        Ok(Self {
            accounts: scps.accounts.clone(),
            levels,
            rcps,
        })
    }

    /// Every SCP, then every RCP, numbered in that order.
    fn scps(&self) -> impl Iterator<Item = (usize, &CompiledScp)> {
        self.levels.iter().flatten().chain(&self.rcps).enumerate()
    }

    /// Why an RCP refuses `request`: the first `Deny` statement that applies to it.
    fn rcp_refusal(&self, request: &Request) -> Option<String> {
        if request.action.qualified_name() == "kms:RetireGrant" {
            return None;
        }
        self.rcps
            .iter()
            .find_map(|rcp| match says(&rcp.policy, request) {
                Says::Denies(statement) => Some(format!(
                    "denied by {statement} of the resource control policy {}",
                    rcp.name
                )),
                Says::Allows | Says::Nothing => None,
            })
    }

    /// Whether the SCPs govern the caller of `request`: an IAM principal (not a service) of
    /// one of their accounts.
    fn govern(&self, request: &Request) -> bool {
        !self.levels.is_empty()
            && request
                .member_account()
                .is_some_and(|a| self.accounts.iter().any(|g| g == a))
    }

    /// Why the RCPs or the SCPs refuse `request`: an RCP statement that denies it, or (when the
    /// SCPs govern its caller) the first level at which none allows it or the SCP statement
    /// that denies it. `None`: they let it through.
    pub(crate) fn refusal(&self, request: &Request) -> Option<String> {
        if let Some(refusal) = self.rcp_refusal(request) {
            return Some(refusal);
        }
        if !self.govern(request) {
            return None;
        }
        // Each resource of the request on its own: an alias operation's alias, then its key.
        std::iter::once(request.resource.as_str())
            .chain(request.target_key.as_deref())
            .find_map(|resource| self.scp_refusal_on(request, resource))
    }

    /// Why the SCPs refuse `request` on `resource`, which they govern.
    fn scp_refusal_on(&self, request: &Request, resource: &str) -> Option<String> {
        let mut missing = None;
        for (depth, level) in self.levels.iter().enumerate() {
            let mut allowed = false;
            for scp in level {
                match says_on(&scp.policy, request, resource) {
                    Says::Denies(statement) => {
                        return Some(format!(
                            "denied by {statement} of the service control policy {}",
                            scp.name
                        ));
                    }
                    Says::Allows => allowed = true,
                    Says::Nothing => {}
                }
            }
            if !allowed && missing.is_none() {
                missing = Some(format!(
                    "not allowed by any service control policy at level {} of the organization ({})",
                    depth + 1,
                    level
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        missing
    }

    /// Every SCP statement with a condition, at its place in signatures (source 3).
    pub(crate) fn conditions(&self) -> impl Iterator<Item = ((u8, usize, usize), &[KeyTest])> {
        self.scps().flat_map(|(i, scp)| {
            scp.policy.statements().iter().filter_map(move |s| {
                scp.policy
                    .condition(s)
                    .map(|c| ((3u8, i, s.index), c.tests()))
            })
        })
    }

    /// The SCP statements that can apply to `action`.
    pub(crate) fn signature(&self, action: ActionId, out: &mut Vec<(u8, usize, usize)>) {
        for (i, scp) in self.scps() {
            out.extend(scp.policy.statements_for(action).map(|s| (3, i, s.index)));
        }
    }

    /// The keys statement `statement` of SCP `i` reads.
    pub(crate) fn keys(
        &self,
        i: usize,
        statement: usize,
    ) -> Option<&std::collections::BTreeSet<String>> {
        self.scps()
            .find(|(j, _)| *j == i)
            .and_then(|(_, scp)| scp.keys.get(statement))
    }

    /// The levels (1-based) at which no SCP has an `Allow` statement: they deny every action.
    pub(crate) fn levels_without_allow(&self) -> Vec<usize> {
        self.levels
            .iter()
            .enumerate()
            .filter(|(_, level)| {
                !level.iter().any(|scp| {
                    scp.policy
                        .statements()
                        .iter()
                        .any(|s| s.effect == Effect::Allow)
                })
            })
            .map(|(i, _)| i + 1)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]

    use super::*;
    use keyward_policy::catalog::kms_action;

    const FULL: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    const NO_DECRYPT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoDecrypt","Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#;
    const ONLY_ENCRYPT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}"#;
    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn named(text: &str) -> NamedPolicy {
        NamedPolicy {
            name: "scp".into(),
            text: text.into(),
        }
    }

    fn guardrails(levels: Vec<Vec<NamedPolicy>>) -> Guardrails {
        let scps = ServiceControlPolicies {
            accounts: vec!["111122223333".into()],
            levels,
            rcps: Vec::new(),
        };
        Guardrails::new(&scps, &mut Mentions::default()).unwrap()
    }

    fn request(principal: &str, action: &str) -> Request {
        Request::new(principal, kms_action(action).unwrap(), KEY, &[]).unwrap()
    }

    #[test]
    fn a_level_reads_as_a_document_as_describe_policy_output_and_as_an_array() {
        let described = serde_json::json!({"Policy": {"PolicySummary": {"Name": "Protect"}, "Content": NO_DECRYPT}});
        let level = read_scp_level(&described.to_string(), "f.json").unwrap();
        assert_eq!((level.len(), level[0].name.as_str()), (1, "Protect"));
        assert_eq!(level[0].text, NO_DECRYPT);
        let level = read_scp_level(FULL, "f.json").unwrap();
        assert_eq!(level[0].name, "f.json");
        let array = format!("[{FULL}, {described}]");
        let level = read_scp_level(&array, "f.json").unwrap();
        assert_eq!(
            level.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["f.json[0]", "Protect"]
        );
        assert!(read_scp_level("[]", "f.json").is_err());
        let e = read_scp_level("{\n  \"Policy\": 3\n}", "f.json").unwrap_err();
        assert!(e.message.contains("describe-policy"), "{e}");
        let e = read_scp_level("{\n  \"Policy\": ", "f.json").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn scp_every_level_must_allow_and_a_deny_anywhere_refuses() {
        let user = "arn:aws:iam::111122223333:user/alice";
        let g = guardrails(vec![
            vec![named(FULL)],
            vec![named(FULL), named(NO_DECRYPT)],
        ]);
        assert_eq!(g.refusal(&request(user, "kms:Encrypt")), None);
        let why = g.refusal(&request(user, "kms:Decrypt")).unwrap();
        assert!(why.contains("statement 0 (NoDecrypt)"), "{why}");
        // A level whose SCPs allow only Encrypt refuses everything else, though a level above
        // allows everything.
        let g = guardrails(vec![vec![named(FULL)], vec![named(ONLY_ENCRYPT)]]);
        assert_eq!(g.refusal(&request(user, "kms:Encrypt")), None);
        let why = g.refusal(&request(user, "kms:Sign")).unwrap();
        assert!(why.contains("level 2"), "{why}");
        assert_eq!(g.levels_without_allow(), Vec::<usize>::new());
        // A deny-list alone at a level denies everything: no SCP there allows.
        let g = guardrails(vec![vec![named(NO_DECRYPT)]]);
        assert!(g.refusal(&request(user, "kms:Encrypt")).is_some());
        assert_eq!(g.levels_without_allow(), vec![1]);
    }

    #[test]
    fn scp_on_an_alias_operation_reads_the_alias_and_the_key_each_on_its_own() {
        let user = "arn:aws:iam::111122223333:user/alice";
        let alias_op = |alias: &str| {
            let mut r = request(user, "kms:CreateAlias");
            r.resource = format!("arn:aws:kms:us-east-1:111122223333:alias/{alias}");
            r.target_key = Some(KEY.to_owned());
            r
        };
        let no_prod = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:CreateAlias","Resource":"arn:aws:kms:*:*:alias/prod-*"}]}"#;
        let g = guardrails(vec![vec![named(FULL), named(no_prod)]]);
        assert!(g.refusal(&alias_op("prod-x")).is_some());
        assert!(g.refusal(&alias_op("dev-x")).is_none());
        // One SCP allows the aliases, another the keys: each resource is allowed by the level.
        let aliases_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:*:alias/*"}]}"#;
        let keys_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/*"}]}"#;
        let g = guardrails(vec![vec![named(aliases_only), named(keys_only)]]);
        assert!(g.refusal(&alias_op("dev-x")).is_none());
        // With the keys alone allowed, the alias is not: refused.
        let g = guardrails(vec![vec![named(keys_only)]]);
        let why = g.refusal(&alias_op("dev-x")).unwrap();
        assert!(why.contains("not allowed"), "{why}");
    }

    #[test]
    fn scp_governs_the_accounts_principals_only_not_services_or_other_accounts() {
        let g = guardrails(vec![vec![named(NO_DECRYPT)]]);
        assert!(
            g.refusal(&request("arn:aws:iam::111122223333:root", "kms:Decrypt"))
                .is_some()
        );
        assert_eq!(
            g.refusal(&request("arn:aws:iam::444455556666:root", "kms:Decrypt")),
            None
        );
        assert_eq!(g.refusal(&request("s3.amazonaws.com", "kms:Decrypt")), None);
    }

    const PERIMETER: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Perimeter","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"Bool":{"aws:PrincipalIsAWSService":"false"}}}]}"#;

    fn with_rcp(text: &str) -> Result<Guardrails, AnalysisError> {
        let scps = ServiceControlPolicies {
            accounts: vec!["111122223333".into()],
            levels: Vec::new(),
            rcps: vec![named(text)],
        };
        Guardrails::new(&scps, &mut Mentions::default())
    }

    #[test]
    fn rcp_denials_apply_to_every_account_and_services_but_not_to_retire_grant() {
        let g = with_rcp(PERIMETER).unwrap();
        let mut outside = request("arn:aws:iam::444455556666:root", "kms:Decrypt");
        outside
            .context
            .insert_single("aws:PrincipalIsAWSService", "false");
        let why = g.refusal(&outside).unwrap();
        assert!(why.contains("resource control policy"), "{why}");
        let mut retire = request("arn:aws:iam::444455556666:root", "kms:RetireGrant");
        retire
            .context
            .insert_single("aws:PrincipalIsAWSService", "false");
        assert_eq!(g.refusal(&retire), None);
        // A service principal, when the RCP's condition does not exempt it, is held back too.
        let always = PERIMETER.replace(
            r#","Condition":{"Bool":{"aws:PrincipalIsAWSService":"false"}}"#,
            "",
        );
        let g = with_rcp(&always).unwrap();
        assert!(
            g.refusal(&request("s3.amazonaws.com", "kms:Decrypt"))
                .is_some()
        );
    }

    #[test]
    fn rcp_that_names_a_principal_other_than_everyone_is_not_analysed() {
        let named_principal = PERIMETER.replace(
            r#""Principal":"*""#,
            r#""Principal":{"AWS":"arn:aws:iam::444455556666:root"}"#,
        );
        assert!(matches!(
            with_rcp(&named_principal),
            Err(AnalysisError::Unsupported(_))
        ));
    }
}
