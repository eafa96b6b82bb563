//! `who_can` on the fixture account (`fixtures/who-can/`: three accounts, 201 roles, 12 users
//! in 3 groups, 61 managed policies, 18 principals with a permissions boundary, 20 grants, two
//! levels of SCPs) against brute force: every principal of the account and representatives of
//! every other kind of caller, times every action on a key, times every combination of a finite
//! universe of context values (the fixture's constants and fresh ones), decided by `authz`
//! alone with the caller's own identity policies, and by an SCP and a permissions-boundary
//! evaluation written here. The (principal, action) pairs the rows
//! allow must be exactly those that brute force allows, and every row's witness must be
//! decided as the row says.

use crate::common::fixtures;
use keyward_analysis::{
    AuthorizationDetails, NamedPolicy, PrincipalKind, WhoCanInputs, WhoCanReport, WhoCanRow,
    complete_witness, read_grants, read_key, read_scp_level, who_can,
};
use keyward_authz::{
    Authorizer, KeyAttributes, PolicyText, Request, Verdict, insert_caller, insert_key,
    insert_principal_kind,
};
use keyward_conditions::CompiledPolicy;
use keyward_policy::catalog::{ActionId, ResourceScope};
use keyward_policy::principal::Principal;
use keyward_policy::{Effect, PolicyKind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const ACCOUNT: &str = "111122223333";

/// The identity policy of every IAM caller outside the account (the analysis assumes it).
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

struct Fixture {
    inputs: WhoCanInputs,
    details: AuthorizationDetails,
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("who-can").join(name)).unwrap()
}

fn fixture() -> Fixture {
    let key_policy: Value = serde_json::from_str(&read("key-policy.json")).unwrap();
    let key_policy = key_policy["Policy"].as_str().unwrap().to_owned();
    let details = AuthorizationDetails::read(&read("authorization-details.json")).unwrap();
    let scp_levels = vec![
        read_scp_level(&read("scp-root.json"), "scp-root.json").unwrap(),
        read_scp_level(&read("scp-account.json"), "scp-account.json").unwrap(),
    ];
    Fixture {
        inputs: WhoCanInputs {
            key: read_key(&read("describe-key.json"), None, None).unwrap(),
            key_policy,
            grants: read_grants(&read("grants.json")).unwrap(),
            details: Some(details.clone()),
            scp_levels,
            rcps: Vec::new(),
            actions: Vec::new(),
        },
        details,
    }
}

/// A caller of the brute force: the ARN it calls with, its role's ARN (with its path) for a
/// session, what rows stand for it, and its identity policies.
struct Caller {
    arn: String,
    role: Option<String>,
    /// The row principal that names it exactly (a user, a role for its session, the root).
    named: String,
    account: Option<String>,
    policies: Vec<String>,
    /// Its permissions boundary's text.
    boundary: Option<String>,
    /// Whether the account's SCPs govern it.
    governed: bool,
}

fn callers(details: &AuthorizationDetails) -> Vec<Caller> {
    let mut out = vec![Caller {
        arn: format!("arn:aws:iam::{ACCOUNT}:root"),
        role: None,
        named: format!("arn:aws:iam::{ACCOUNT}:root"),
        account: Some(ACCOUNT.into()),
        policies: Vec::new(),
        boundary: None,
        governed: true,
    }];
    for arn in details.principals() {
        let policies: Vec<String> = details
            .policies_of(arn)
            .unwrap()
            .into_iter()
            .map(|p| p.text)
            .collect();
        let boundary = details.boundary_of(arn).unwrap().map(|b| b.text);
        if arn.contains(":role/") {
            let name = arn.rsplit('/').next().unwrap();
            out.push(Caller {
                arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/{name}/brute-force"),
                role: Some(arn.to_owned()),
                named: arn.to_owned(),
                account: Some(ACCOUNT.into()),
                policies,
                boundary,
                governed: true,
            });
        } else {
            out.push(Caller {
                arn: arn.to_owned(),
                role: None,
                named: arn.to_owned(),
                account: Some(ACCOUNT.into()),
                policies,
                boundary,
                governed: true,
            });
        }
    }
    // Outside the account: the partner's root, a role the key names nothing about, the
    // role a grant names; the auditor role the key policy names and another role of its
    // account; a role of an account nothing names; two services.
    for (arn, role) in [
        ("arn:aws:iam::444455556666:root", None),
        (
            "arn:aws:sts::444455556666:assumed-role/anyone/s",
            Some("arn:aws:iam::444455556666:role/anyone"),
        ),
        (
            "arn:aws:sts::444455556666:assumed-role/ingest/s",
            Some("arn:aws:iam::444455556666:role/ingest"),
        ),
        (
            "arn:aws:sts::777788889999:assumed-role/auditor/s",
            Some("arn:aws:iam::777788889999:role/auditor"),
        ),
        (
            "arn:aws:sts::777788889999:assumed-role/other/s",
            Some("arn:aws:iam::777788889999:role/other"),
        ),
        (
            "arn:aws:sts::999999999999:assumed-role/stranger/s",
            Some("arn:aws:iam::999999999999:role/stranger"),
        ),
    ] {
        out.push(Caller {
            arn: arn.into(),
            role: role.map(str::to_owned),
            named: role.unwrap_or(arn).to_owned(),
            account: Some(arn.split(':').nth(4).unwrap().to_owned()),
            policies: vec![ALLOW_ALL.to_owned()],
            boundary: None,
            governed: false,
        });
    }
    for service in ["cloudtrail.amazonaws.com", "s3.amazonaws.com"] {
        out.push(Caller {
            arn: service.into(),
            role: None,
            named: service.into(),
            account: None,
            policies: Vec::new(),
            boundary: None,
            governed: false,
        });
    }
    out
}

/// The SCPs compiled, by level.
fn compile_scps(levels: &[Vec<NamedPolicy>]) -> Vec<Vec<CompiledPolicy>> {
    levels
        .iter()
        .map(|level| {
            level
                .iter()
                .map(|scp| CompiledPolicy::new(&scp.text, PolicyKind::IdentityPolicy).unwrap())
                .collect()
        })
        .collect()
}

/// The SCPs, evaluated here: on each resource of the request (an alias operation's alias and
/// its key), at every level some SCP allows, and none denies.
fn scps_allow(levels: &[Vec<CompiledPolicy>], request: &Request) -> bool {
    std::iter::once(request.resource.as_str())
        .chain(request.target_key.as_deref())
        .all(|resource| scps_allow_on(levels, request, resource))
}

fn scps_allow_on(levels: &[Vec<CompiledPolicy>], request: &Request, resource: &str) -> bool {
    let mut every_level = true;
    for level in levels {
        let mut allowed = false;
        for policy in level {
            for s in policy.statements() {
                let applies = s.actions.matches_kms(request.action)
                    && policy.covers_resource(s, resource, &request.context)
                    && policy
                        .condition(s)
                        .is_none_or(|c| c.evaluate(&request.context));
                if applies && s.effect == Effect::Deny {
                    return false;
                }
                allowed |= applies;
            }
        }
        every_level &= allowed;
    }
    every_level
}

/// Whether a permissions boundary lets a request through, evaluated here (IAM User Guide,
/// "Permissions boundaries for IAM entities"): no `Deny` of the boundary applies, and either
/// an `Allow` of the boundary applies or a key-policy `Allow` that names the caller's own ARN (a
/// user's or a session's, not a role's) applies in the key's account. Grants are limited (the
/// analysis' fail-closed reading).
fn boundary_allows(
    boundary: &CompiledPolicy,
    key_policy: &CompiledPolicy,
    request: &Request,
) -> bool {
    let applies =
        |policy: &CompiledPolicy, s: &keyward_policy::compile::CompiledStatement, on: &str| {
            s.actions.matches_kms(request.action)
                && policy.covers_resource(s, on, &request.context)
                && policy
                    .condition(s)
                    .is_none_or(|c| c.evaluate(&request.context))
        };
    // Each resource on its own: an alias operation's alias (no resource-based policy there),
    // then the key.
    let key = request.target_key.as_deref().unwrap_or(&request.resource);
    let alias = request
        .target_key
        .as_ref()
        .map(|_| request.resource.as_str());
    for on in alias.into_iter().chain([key]) {
        let mut allowed = false;
        for s in boundary.statements() {
            if applies(boundary, s, on) {
                if s.effect == Effect::Deny {
                    return false;
                }
                allowed = true;
            }
        }
        let own_arn = on == key
            && request.principal_account.as_deref() == Some(ACCOUNT)
            && key_policy.statements().iter().any(|s| {
                s.effect == Effect::Allow
                    && s.principals
                        .as_ref()
                        .is_some_and(|p| !p.is_negated() && p.names_identity(&request.principal))
                    && applies(key_policy, s, on)
            });
        if !(allowed || own_arn) {
            return false;
        }
    }
    true
}

/// Every request of the universe for `caller` and `action`: each context key the action
/// carries, absent or one of the values the fixture's policies, grants and SCPs test, or a
/// fresh one.
fn universe(caller: &Caller, action: ActionId, key: &KeyAttributes<'_>, arn: &str) -> Vec<Request> {
    let mut contexts: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
    let mut vary = |name: &'static str, values: &[&'static str]| {
        let mut next = Vec::new();
        for c in &contexts {
            next.push(c.clone());
            for v in values {
                let mut c = c.clone();
                c.push((name, *v));
                next.push(c);
            }
        }
        contexts = next;
    };
    if action.sets_key("kms:ViaService") {
        vary(
            "kms:ViaService",
            &["s3.us-east-1.amazonaws.com", "ec2.us-east-1.amazonaws.com"],
        );
    }
    vary("aws:SourceIp", &["10.1.2.3", "192.0.2.1"]);
    if action.sets_key("kms:GrantIsForAWSResource") {
        vary("kms:GrantIsForAWSResource", &["true", "false"]);
    }
    let contexts_of_pairs: Vec<Vec<(&str, &str)>> = if action.sets_key("kms:EncryptionContextKeys")
    {
        let mut pairs: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
        for tenant in ["tenant-0", "tenant-1", "tenant-9"] {
            pairs.push(vec![("tenant", tenant)]);
        }
        pairs.push(vec![(
            "aws:cloudtrail:arn",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/main",
        )]);
        pairs.push(vec![(
            "aws:cloudtrail:arn",
            "arn:aws:cloudtrail:us-east-1:444455556666:trail/x",
        )]);
        pairs.push(vec![
            ("tenant", "tenant-0"),
            (
                "aws:cloudtrail:arn",
                "arn:aws:cloudtrail:us-east-1:111122223333:trail/main",
            ),
        ]);
        pairs
    } else {
        vec![Vec::new()]
    };
    // An alias operation names an alias and its key: aliases each pattern of the fixture
    // tells apart (`alias/signing-*`, the SCP's `alias/prod-*`), and one neither names.
    let resources: Vec<(String, Option<&str>)> =
        if action.info().resource == ResourceScope::AliasAndKey {
            ["signing-1", "prod-1", "team-1"]
                .iter()
                .map(|name| {
                    (
                        format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/{name}"),
                        Some(arn),
                    )
                })
                .collect()
        } else {
            vec![(arn.to_owned(), None)]
        };
    let mut out = Vec::new();
    for ((pairs, context), (resource, target_key)) in contexts_of_pairs
        .iter()
        .flat_map(|p| contexts.iter().map(move |c| (p, c)))
        .flat_map(|pc| resources.iter().map(move |r| (pc, r)))
    {
        {
            let mut request = Request::new(&caller.arn, action, resource, pairs).unwrap();
            request.target_key = target_key.map(str::to_owned);
            if let (Some(role), Some(account)) = (&caller.role, &caller.account) {
                request.principal_role_arn = Some(role.clone());
                insert_caller(&mut request.context, role, account);
            }
            insert_principal_kind(
                &mut request.context,
                &Principal::parse_caller(&caller.arn).unwrap(),
            );
            insert_key(&mut request.context, key);
            for (name, value) in context {
                request.context.insert_single(name, value);
            }
            out.push(request);
        }
    }
    out
}

/// Whether `row` stands for `caller`: names it (or its role), or is its account's class, a
/// pattern it matches, or everyone.
fn stands_for(row: &WhoCanRow, caller: &Caller) -> bool {
    if row.principal == caller.named || row.principal == caller.arn {
        return true;
    }
    if caller.account.is_none() {
        return false;
    }
    match row.kind {
        PrincipalKind::Account if row.principal == "*" => true,
        PrincipalKind::Account => row.principal.split(':').nth(4) == caller.account.as_deref(),
        _ => row.principal.strip_suffix('*').is_some_and(|prefix| {
            caller.named.starts_with(prefix) || caller.arn.starts_with(prefix)
        }),
    }
}

fn brute_force(f: &Fixture) -> BTreeMap<String, BTreeSet<String>> {
    let key = &f.inputs.key;
    let attributes = KeyAttributes {
        spec: &key.spec,
        usage: &key.usage,
        origin: &key.origin,
        multi_region: key.multi_region,
        multi_region_key_type: None,
        aliases: &key.aliases,
        tags: &key.tags,
    };
    let key_policy = PolicyText::new(f.inputs.key_policy.clone());
    let actions: Vec<ActionId> = ActionId::involving_a_key().collect();
    let scps = compile_scps(&f.inputs.scp_levels);
    let compiled_key = CompiledPolicy::new(&f.inputs.key_policy, PolicyKind::KeyPolicy).unwrap();
    let all = callers(&f.details);
    let decide = |caller: &Caller| -> (String, BTreeSet<String>) {
        let identity: Vec<PolicyText> = caller
            .policies
            .iter()
            .map(|t| PolicyText::new(t.clone()))
            .collect();
        let authorizer =
            Authorizer::new(Some(&key_policy), &identity, f.inputs.grants.clone()).unwrap();
        let boundary = caller
            .boundary
            .as_ref()
            .map(|b| CompiledPolicy::new(b, PolicyKind::IdentityPolicy).unwrap());
        let mut allowed = BTreeSet::new();
        for &action in &actions {
            let any = universe(caller, action, &attributes, &key.arn)
                .iter()
                .any(|r| {
                    authorizer.verdict(r) == Verdict::Allow
                        && (!caller.governed || scps_allow(&scps, r))
                        && boundary
                            .as_ref()
                            .is_none_or(|b| boundary_allows(b, &compiled_key, r))
                });
            if any {
                allowed.insert(action.qualified_name().to_owned());
            }
        }
        (caller.arn.clone(), allowed)
    };
    let threads = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .min(4);
    std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .chunks(all.len().div_ceil(threads))
            .map(|chunk| scope.spawn(|| chunk.iter().map(decide).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

fn from_rows(report: &WhoCanReport, f: &Fixture) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for caller in callers(&f.details) {
        let entry = out.entry(caller.arn.clone()).or_default();
        for row in report
            .rows
            .iter()
            .filter(|r| r.shadowed_by.is_empty() && stands_for(r, &caller))
        {
            entry.extend(row.actions.iter().cloned());
        }
    }
    out
}

#[test]
fn the_fixture_account_is_as_large_as_promised() {
    let f = fixture();
    let details: Value = serde_json::from_str(&read("authorization-details.json")).unwrap();
    assert!(details["RoleDetailList"].as_array().unwrap().len() >= 200);
    assert!(details["Policies"].as_array().unwrap().len() >= 60);
    assert!(f.inputs.grants.len() >= 20);
    let accounts: BTreeSet<&str> = ["111122223333", "444455556666", "777788889999"]
        .into_iter()
        .filter(|a| f.inputs.key_policy.contains(a))
        .collect();
    assert_eq!(accounts.len(), 3);
    assert_eq!(f.inputs.scp_levels.len(), 2);
}

#[test]
fn who_can_agrees_with_brute_force_on_the_fixture_account() {
    let f = fixture();
    let report = who_can(&f.inputs).unwrap();
    let truth = brute_force(&f);
    let rows = from_rows(&report, &f);
    let mut wrong = Vec::new();
    for (caller, actions) in &truth {
        let claimed = rows.get(caller).cloned().unwrap_or_default();
        if &claimed != actions {
            wrong.push(format!(
                "{caller}: brute force {:?}, rows {:?}",
                actions.difference(&claimed).collect::<Vec<_>>(),
                claimed.difference(actions).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} callers disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // The fixture is not trivial: the account's principals differ, SCPs and denials shadow.
    let distinct: BTreeSet<&BTreeSet<String>> = truth.values().collect();
    assert!(distinct.len() > 20, "{}", distinct.len());
    assert!(
        report
            .rows
            .iter()
            .any(|r| r.shadowed_by.iter().any(|s| s.starts_with("scp:")))
    );
    assert!(
        report
            .rows
            .iter()
            .any(|r| r.via.iter().any(|v| v.starts_with("grant:")))
    );
    assert!(report.rows.iter().any(|r| r.scope == "other-account"));
    assert!(report.rows.iter().any(|r| r.scope == "service"));
    // Boundaries: the bounded user named by its own ARN signs; the bounded role named by its
    // ARN does not verify (its boundary limits the key policy's allow to it).
    let row = |principal: &str, action: &str| {
        report
            .rows
            .iter()
            .find(|r| r.principal == principal && r.actions.iter().any(|a| a == action))
            .map(|r| r.shadowed_by.clone())
    };
    assert_eq!(
        row("arn:aws:iam::111122223333:user/user-03", "kms:Sign"),
        Some(vec![])
    );
    assert!(
        row(
            "arn:aws:iam::111122223333:role/service-role/app-091",
            "kms:Verify"
        )
        .unwrap()
        .iter()
        .any(|s| s.starts_with("boundary: "))
    );
    every_row_witness_is_decided_as_the_row_says(&f, &report);
}

/// Each witness, completed with the key policy and grants, through the request format: allowed
/// (the SCPs and boundaries evaluated here letting it through) when the row is access, denied
/// when shadowed.
fn every_row_witness_is_decided_as_the_row_says(f: &Fixture, report: &WhoCanReport) {
    let scps = compile_scps(&f.inputs.scp_levels);
    let compiled_key = CompiledPolicy::new(&f.inputs.key_policy, PolicyKind::KeyPolicy).unwrap();
    for row in &report.rows {
        let completed = complete_witness(
            &row.witness,
            &keyward_analysis::PolicySet {
                key_policy: f.inputs.key_policy.clone(),
                identity_policies: None,
                grants: f.inputs.grants.clone(),
            },
        );
        let request = Request::parse(&completed.to_string()).unwrap();
        let authorizer = Authorizer::for_request(&request).unwrap();
        let governed = request.member_account() == Some(ACCOUNT);
        let boundary = f
            .details
            .boundary_of(&request.principal)
            .ok()
            .flatten()
            .map(|b| CompiledPolicy::new(&b.text, PolicyKind::IdentityPolicy).unwrap());
        let allowed = authorizer.verdict(&request) == Verdict::Allow
            && (!governed || scps_allow(&scps, &request))
            && boundary
                .as_ref()
                .is_none_or(|b| boundary_allows(b, &compiled_key, &request));
        assert_eq!(
            allowed,
            row.shadowed_by.is_empty(),
            "{} {:?} {:?}: {}",
            row.principal,
            row.actions,
            row.shadowed_by,
            row.witness
        );
    }
}

#[test]
fn who_can_says_what_it_is_doing_as_it_goes() {
    let f = fixture();
    let lines = std::sync::Mutex::new(Vec::new());
    let report = keyward_analysis::who_can_reporting(&f.inputs, &|line| {
        lines.lock().unwrap().push(line.to_owned());
    })
    .unwrap();
    let lines = lines.into_inner().unwrap();
    assert_eq!(
        lines.first().map(String::as_str),
        Some(
            format!(
                "deciding {} principals of account 111122223333 in {} sets",
                report.principals, report.groups
            )
            .as_str()
        )
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("confirming witnesses: ") && l.contains(" of ")),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("deciding every other caller")
    );
}
