//! `fixtures/grants/`: `creation.json`, CreateGrant cases (`created`, `retry`, or the KMS error
//! code), and `resolution.json`, which grants apply to a request and why the others do not.
//! Trials: `grants/creation/CASE`, `grants/resolution/CASE`.

use crate::support::{
    Collected, corpus_dir, duplicate_names, list, load, settle_json, shown, stem,
};
use keyward_grants::key_grants::{CreateGrant, Created, KeyGrants, KeyKind, TokenKey};
use keyward_grants::resolver::{Caller, GrantSet};
use keyward_grants::{Grant, GrantConstraint, parse_operations};
use keyward_policy::catalog::kms_action;
use libtest_mimic::Failed;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File<C> {
    #[allow(
        dead_code,
        reason = "kept for the case of a corpus file that needs it; not every file does"
    )]
    about: String,
    cases: Vec<C>,
}

/// A CreateGrant request, and the grant a case gives beside it (`parent`, `grants`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantFields {
    grant_id: Option<String>,
    grantee_principal: Option<String>,
    retiring_principal: Option<String>,
    #[serde(default)]
    operations: Vec<String>,
    encryption_context_equals: Option<BTreeMap<String, String>>,
    encryption_context_subset: Option<BTreeMap<String, String>>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Key {
    spec: String,
    usage: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Creation {
    name: String,
    key: Key,
    /// Grants created first, in this order.
    #[serde(default)]
    existing: Vec<GrantFields>,
    request: GrantFields,
    /// When present, the request is made under this grant of `role/App` (CreateGrant allowed
    /// only by a grant).
    parent: Option<GrantFields>,
    /// `created`, `retry`, or the KMS error code.
    expect: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Resolution {
    name: String,
    grants: Vec<GrantFields>,
    caller: ResolutionCaller,
    operation: String,
    #[serde(default)]
    encryption_context: BTreeMap<String, String>,
    expect: Applying,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolutionCaller {
    arn: String,
    role: Option<String>,
    account: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Applying {
    /// The IDs of the grants that apply, in order.
    applying: Vec<String>,
    /// For some grants that do not apply: text their explanation contains.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    why: BTreeMap<String, String>,
}

pub(crate) fn collect(out: &mut Collected) {
    let dir = corpus_dir("grants");
    let files = match list(&dir, &["json"]) {
        Ok(files) => files,
        Err(problems) => return problems.into_iter().for_each(|p| out.problem(p)),
    };
    let mut count = 0;
    for path in files {
        let family = stem(&dir, &path);
        match family.as_str() {
            "creation" => count += add(out, &path, &family, |c: &Creation| &c.name, run_creation),
            "resolution" => {
                count += add(
                    out,
                    &path,
                    &family,
                    |c: &Resolution| &c.name,
                    run_resolution,
                )
            }
            _ => out.problem(format!(
                "{}: neither creation.json nor resolution.json",
                shown(&path)
            )),
        }
    }
    out.at_least("fixtures/grants", count, 40);
}

fn add<C: DeserializeOwned + Send + 'static>(
    out: &mut Collected,
    path: &Path,
    family: &str,
    name: fn(&C) -> &String,
    run: fn(&Path, &C) -> Result<(), Failed>,
) -> usize {
    let file: File<C> = match load(path) {
        Ok(file) => file,
        Err(e) => {
            out.problem(e);
            return 0;
        }
    };
    for problem in duplicate_names(path, file.cases.iter().map(|c| name(c).as_str())) {
        out.problem(problem);
    }
    let count = file.cases.len();
    for case in file.cases {
        let path = path.to_owned();
        out.trial(format!("grants/{family}/{}", name(&case)), move || {
            run(&path, &case)
        });
    }
    count
}

fn pairs(map: &Option<BTreeMap<String, String>>) -> Option<Vec<(String, String)>> {
    map.as_ref().map(|m| m.clone().into_iter().collect())
}

fn create_request(v: &GrantFields) -> Result<CreateGrant, String> {
    Ok(CreateGrant {
        grantee_principal: v
            .grantee_principal
            .clone()
            .ok_or("a request needs grantee_principal")?,
        retiring_principal: v.retiring_principal.clone(),
        operations: v.operations.clone(),
        encryption_context_equals: pairs(&v.encryption_context_equals),
        encryption_context_subset: pairs(&v.encryption_context_subset),
        name: v.name.clone(),
    })
}

fn grant(v: &GrantFields, id: &str, grantee: &str) -> Result<Grant, String> {
    Ok(Grant {
        id: id.to_owned(),
        name: None,
        grantee: grantee.to_owned(),
        retiring_principal: None,
        issuing_account: None,
        key: None,
        created_at: None,
        operations: parse_operations(v.operations.iter().map(String::as_str))
            .map_err(|e| format!("grant {id}: {e}"))?,
        constraint: pairs(&v.encryption_context_equals)
            .map(GrantConstraint::EncryptionContextEquals)
            .or_else(|| {
                pairs(&v.encryption_context_subset).map(GrantConstraint::EncryptionContextSubset)
            }),
    })
}

fn run_creation(file: &Path, case: &Creation) -> Result<(), Failed> {
    let kind = KeyKind::of(&case.key.spec, &case.key.usage)
        .ok_or_else(|| format!("no key kind {}/{}", case.key.spec, case.key.usage))?;
    let mut store = KeyGrants::new(kind, "111122223333", TokenKey::new([3; 32]));
    for existing in &case.existing {
        store
            .create(&create_request(existing)?)
            .map_err(|e| format!("an existing grant is refused: {}", e.code()))?;
    }
    let request = create_request(&case.request)?;
    let outcome = match &case.parent {
        Some(parent) => store.create_under(
            &grant(parent, "parent", "arn:aws:iam::111122223333:role/App")?,
            &request,
        ),
        None => store.create(&request),
    };
    let actual = match outcome.map(|c| c.created) {
        Ok(Created::New(_)) => "created".to_owned(),
        Ok(Created::Retry(_)) => "retry".to_owned(),
        Err(e) => e.code().to_owned(),
    };
    settle_json(
        file,
        &case.name,
        &case.expect,
        &actual,
        actual == case.expect,
        String::new,
    )
}

fn run_resolution(file: &Path, case: &Resolution) -> Result<(), Failed> {
    let grants = case
        .grants
        .iter()
        .map(|g| {
            let id = g.grant_id.as_deref().ok_or("a grant needs grant_id")?;
            let grantee = g
                .grantee_principal
                .as_deref()
                .ok_or("a grant needs grantee_principal")?;
            grant(g, id, grantee)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let set = GrantSet::new(grants);
    let caller = Caller::of(
        &case.caller.arn,
        case.caller.role.as_deref(),
        &case.caller.account,
    );
    let action = kms_action(&format!("kms:{}", case.operation))
        .ok_or_else(|| format!("kms:{} is not a KMS action", case.operation))?;
    let context: Vec<(String, String)> = case.encryption_context.clone().into_iter().collect();
    let applying: Vec<String> = set
        .applying(caller, action, &context)
        .iter()
        .map(|a| set.grants()[a.index].id.clone())
        .collect();
    let explained = set.explain(caller, action, &context);
    let mut accepted = applying == case.expect.applying;
    let mut why = BTreeMap::new();
    for (id, wanted) in &case.expect.why {
        let index = set
            .grants()
            .iter()
            .position(|g| &g.id == id)
            .ok_or_else(|| format!("`why` names {id}, which is not among the grants"))?;
        let said = explained[index].1.clone().unwrap_or_default();
        if said.contains(wanted.as_str()) {
            why.insert(id.clone(), wanted.clone());
        } else {
            accepted = false;
            why.insert(id.clone(), said);
        }
    }
    let actual = Applying { applying, why };
    settle_json(
        file,
        &case.name,
        &case.expect,
        &actual,
        accepted,
        String::new,
    )
}
