//! The oracle: hundreds of policy pairs made by mutating the corpus (an action added or
//! removed, a glob widened, a condition dropped, IfExists flipped, an operator swapped, a Deny
//! added, a grant added or narrowed, a principal widened), each decided twice: by the analysis,
//! and by brute force, with `authz` alone, over a finite universe of requests built here from
//! both policies' constants plus fresh values (not from the analysis's cells). The two must
//! agree on whether the change grants new access and on which actions it grants; every
//! witness must be allowed by the new side and refused by the old through the request format.

use crate::common::{KEY, assumed, compare, key_policies};
use keyward_analysis::{DiffReport, PolicySet, complete_witness};
use keyward_authz::{Authorizer, PolicyText, Request, Verdict, insert_key, insert_principal_kind};
use keyward_grants::{Grant, GrantConstraint};
use keyward_policy::catalog::{ActionId, ResourceScope, condition_key};
use keyward_policy::principal::Principal;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The identity policy of every IAM caller when a pair gives none (the analysis assumes it).
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

/// The most requests one pair's universe may hold; larger pairs are left out (counted).
const MAX_UNIVERSE: usize = 10_000;

/// One pair in this many is checked (chosen by a hash of its name, so every kind of
/// mutation stays represented); `KEYWARD_ORACLE_ALL=1` checks all of them (about 1,400
/// decided pairs, a few minutes in the test profile).
const SAMPLE: u64 = 3;

fn sampled(name: &str) -> bool {
    if std::env::var_os("KEYWARD_ORACLE_ALL").is_some() {
        return true;
    }
    // FNV-1a: stable across runs and platforms.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    hash % SAMPLE == 0
}

/// One pair and how it was made.
struct Pair {
    name: String,
    old: PolicySet,
    new: PolicySet,
}

#[test]
fn the_analysis_agrees_with_brute_force_on_every_mutated_pair() {
    let pairs: Vec<Pair> = pairs().into_iter().filter(|p| sampled(&p.name)).collect();
    let threads = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .min(4);
    let chunks: Vec<&[Pair]> = pairs.chunks(pairs.len().div_ceil(threads)).collect();
    let outcomes: Vec<Outcomes> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || check_all(chunk)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let decided: Vec<&str> = outcomes.iter().flat_map(|o| o.decided.clone()).collect();
    let failing: usize = outcomes.iter().map(|o| o.failing).sum();
    let problems: Vec<String> = outcomes.iter().flat_map(|o| o.problems.clone()).collect();
    eprintln!(
        "oracle: {} pairs, {} decided, {failing} with new access",
        pairs.len(),
        decided.len()
    );
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        decided.len() >= 300,
        "only {} pairs decided of {}",
        decided.len(),
        pairs.len()
    );
    // The mutations must make new access often enough for the agreement to mean something.
    assert!(
        failing >= 100,
        "only {failing} of {} pairs grant new access",
        decided.len()
    );
    // And every kind of mutation is among the decided pairs, both ways.
    let kinds =
        MUTATIONS
            .iter()
            .map(|(kind, _)| *kind)
            .chain(["add-grant", "narrow-grant", "widen-grant"]);
    for kind in kinds {
        let count = decided
            .iter()
            .filter(|name| name.contains(&format!(" {kind}")))
            .count();
        assert!(count >= 5, "only {count} decided pairs made by {kind}");
    }
}

/// What one thread found: the pairs decided (by name), how many of them grant new access,
/// and every disagreement.
struct Outcomes<'a> {
    decided: Vec<&'a str>,
    failing: usize,
    problems: Vec<String>,
}

fn check_all(pairs: &[Pair]) -> Outcomes<'_> {
    let mut out = Outcomes {
        decided: Vec::new(),
        failing: 0,
        problems: Vec::new(),
    };
    for pair in pairs {
        match check(pair) {
            Ok(Some(fail)) => {
                out.decided.push(&pair.name);
                out.failing += usize::from(fail);
            }
            Ok(None) => {}
            Err(problem) => out.problems.push(format!("{}: {problem}", pair.name)),
        }
    }
    out
}

/// `Some(new access?)` when both agree, `None` when the pair is outside what either decides.
fn check(pair: &Pair) -> Result<Option<bool>, String> {
    // A mutant that is no valid policy: authz refuses it, and so must the analysis.
    if let Err(why) = authorizer(&pair.old, true).and(authorizer(&pair.new, true)) {
        return match compare(&pair.old, &pair.new) {
            Err(keyward_analysis::AnalysisError::Policy(_)) => Ok(None),
            other => Err(format!(
                "authz refuses a policy ({why}), the analysis: {other:?}"
            )),
        };
    }
    // Brute force first: it says cheaply when a pair's universe is too large to enumerate.
    let Some(truth) = brute_force(pair)? else {
        return Ok(None);
    };
    let report = match compare(&pair.old, &pair.new) {
        Ok(report) => report,
        // Outside the fragment, said with a reason.
        Err(keyward_analysis::AnalysisError::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    confirm_witnesses(&report, pair)?;
    let found: BTreeSet<String> = report
        .findings
        .iter()
        .flat_map(|f| f.actions.iter().cloned())
        .collect();
    if found != truth.actions {
        return Err(format!(
            "the analysis finds new access to {found:?}, brute force to {:?} (for example {})",
            truth.actions,
            truth.example.unwrap_or_default()
        ));
    }
    Ok(Some(!found.is_empty()))
}

fn confirm_witnesses(report: &DiffReport, pair: &Pair) -> Result<(), String> {
    for finding in &report.findings {
        let under = |set: &PolicySet| -> Result<Verdict, String> {
            let text = complete_witness(&finding.witness, set).to_string();
            let request = Request::parse(&text).map_err(|e| e.to_string())?;
            let authorizer = Authorizer::for_request(&request).map_err(|e| e.to_string())?;
            Ok(authorizer.decide(&request).verdict)
        };
        let (yes, no) = (under(&pair.new)?, under(&pair.old)?);
        if yes != Verdict::Allow || no == Verdict::Allow {
            return Err(format!(
                "witness {} is {yes:?} under NEW, {no:?} under OLD",
                finding.witness
            ));
        }
    }
    Ok(())
}

// --- The pairs -------------------------------------------------------------------------

fn statements(policy: &mut Value) -> &mut Vec<Value> {
    let slot = policy.get_mut("Statement").expect("Statement");
    if !slot.is_array() {
        *slot = Value::Array(vec![slot.take()]);
    }
    slot.as_array_mut().unwrap()
}

fn actions(statement: &mut Value) -> Option<&mut Vec<Value>> {
    let slot = statement.get_mut("Action")?;
    if slot.is_string() {
        *slot = Value::Array(vec![slot.take()]);
    }
    slot.as_array_mut()
}

/// The mutations, each `None` where it does not apply to the policy.
type Mutation = fn(&Value) -> Option<Value>;

const MUTATIONS: &[(&str, Mutation)] = &[
    ("add-action", add_action),
    ("remove-action", remove_action),
    ("widen-glob", widen_glob),
    ("drop-condition", drop_condition),
    ("flip-if-exists", flip_if_exists),
    ("swap-operator", swap_operator),
    ("add-deny", add_deny),
    ("widen-principal", widen_principal),
];

fn first_allow(policy: &mut Value, with: impl Fn(&Value) -> bool) -> Option<&mut Value> {
    statements(policy)
        .iter_mut()
        .find(|s| s["Effect"] == "Allow" && with(s))
}

fn add_action(policy: &Value) -> Option<Value> {
    let mut out = policy.clone();
    let statement = first_allow(&mut out, |s| {
        s.get("Action").is_some() && s.get("Principal").is_some_and(|p| p != "*")
    })?;
    let list = actions(statement)?;
    let added = [
        "kms:ReEncryptFrom",
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:Sign",
    ]
    .into_iter()
    .find(|a| !list.iter().any(|v| v == a))?;
    list.push(json!(added));
    Some(out)
}

fn remove_action(policy: &Value) -> Option<Value> {
    let mut out = policy.clone();
    let statement = first_allow(&mut out, |s| {
        s.get("Action")
            .and_then(Value::as_array)
            .is_some_and(|a| a.len() >= 2)
    })?;
    actions(statement)?.pop();
    Some(out)
}

/// The first condition value of the first statement that has one, with its operator.
fn first_condition(policy: &mut Value) -> Option<(&mut serde_json::Map<String, Value>, String)> {
    let statement = statements(policy).iter_mut().find(|s| {
        s.get("Condition")
            .and_then(Value::as_object)
            .is_some_and(|c| !c.is_empty())
    })?;
    let block = statement.get_mut("Condition")?.as_object_mut()?;
    let operator = block.keys().next()?.clone();
    Some((block, operator))
}

fn widen_glob(policy: &Value) -> Option<Value> {
    let mut out = policy.clone();
    let (block, operator) = first_condition(&mut out)?;
    let widened = match operator.as_str() {
        "StringEquals" => "StringLike",
        "StringLike" => "StringLike",
        "ArnEquals" | "ArnLike" => "ArnLike",
        _ => return None,
    };
    let mut keys = block.remove(&operator)?;
    let (_, values) = keys.as_object_mut()?.iter_mut().next()?;
    let first = match values {
        Value::Array(items) => items.first_mut()?,
        one => one,
    };
    let text = first.as_str()?.to_owned();
    let cut = text.char_indices().nth(text.chars().count().div_ceil(2))?.0;
    *first = json!(format!("{}*", &text[..cut]));
    block.insert(widened.to_owned(), keys);
    Some(out)
}

fn drop_condition(policy: &Value) -> Option<Value> {
    let mut out = policy.clone();
    let (block, operator) = first_condition(&mut out)?;
    block.remove(&operator);
    Some(out)
}

fn flip_if_exists(policy: &Value) -> Option<Value> {
    let mut out = policy.clone();
    let (block, operator) = first_condition(&mut out)?;
    if operator.starts_with("Null") {
        return None;
    }
    let flipped = match operator.strip_suffix("IfExists") {
        Some(bare) => bare.to_owned(),
        None => format!("{operator}IfExists"),
    };
    let keys = block.remove(&operator)?;
    block.insert(flipped, keys);
    Some(out)
}

fn swap_operator(policy: &Value) -> Option<Value> {
    let mut out = policy.clone();
    let (block, operator) = first_condition(&mut out)?;
    let (prefix, bare) = match operator.split_once(':') {
        Some((q, b)) => (format!("{q}:"), b.to_owned()),
        None => (String::new(), operator.clone()),
    };
    let swapped = [
        ("StringEquals", "StringNotEquals"),
        ("StringLike", "StringNotLike"),
        ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"),
        ("ArnLike", "ArnNotLike"),
        ("ArnEquals", "ArnNotEquals"),
        ("NumericLessThan", "NumericGreaterThanEquals"),
        ("NumericGreaterThan", "NumericLessThanEquals"),
        ("DateLessThan", "DateGreaterThanEquals"),
        ("IpAddress", "NotIpAddress"),
        ("StringEqualsIfExists", "StringNotEqualsIfExists"),
    ]
    .iter()
    .find_map(|(a, b)| {
        if bare == *a {
            Some(*b)
        } else if bare == *b {
            Some(*a)
        } else {
            None
        }
    })?;
    let keys = block.remove(&operator)?;
    block.insert(format!("{prefix}{swapped}"), keys);
    Some(out)
}

fn add_deny(policy: &Value) -> Option<Value> {
    let mut out = policy.clone();
    let mut deny = first_allow(&mut out, |s| {
        s.get("Principal").is_some() && s.get("Action").is_some()
    })?
    .clone();
    deny["Effect"] = json!("Deny");
    deny["Sid"] = json!("OracleDeny");
    if let Some(list) = actions(&mut deny) {
        list.truncate(1);
    }
    statements(&mut out).push(deny);
    Some(out)
}

/// A role principal becomes its account (which delegates to the account's IAM policies).
fn widen_principal(policy: &Value) -> Option<Value> {
    let mut out = policy.clone();
    for statement in statements(&mut out).iter_mut() {
        let Some(aws) = statement.pointer_mut("/Principal/AWS") else {
            continue;
        };
        let mut done = false;
        let mut widen = |v: &mut Value| {
            if let Some(text) = v.as_str()
                && let Ok(Principal::Role { account, .. } | Principal::User { account, .. }) =
                    Principal::parse_caller(text)
            {
                *v = json!(format!("arn:aws:iam::{account}:root"));
                done = true;
            }
        };
        match aws {
            Value::Array(items) => items.iter_mut().for_each(&mut widen),
            one => widen(one),
        }
        if done {
            return Some(out);
        }
    }
    None
}

fn grant(
    id: &str,
    grantee: &str,
    operations: &[&str],
    constraint: Option<GrantConstraint>,
) -> Grant {
    Grant {
        id: id.to_owned(),
        name: None,
        grantee: grantee.to_owned(),
        retiring_principal: None,
        issuing_account: None,
        key: None,
        created_at: None,
        operations: keyward_grants::parse_operations(operations.iter().copied()).unwrap(),
        constraint,
    }
}

fn pairs() -> Vec<Pair> {
    let corpus: Vec<(String, Value)> = key_policies()
        .into_iter()
        .filter(|(_, p)| compare(&assumed(p), &assumed(p)).is_ok())
        .collect();
    let no_kms = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let mut out = Vec::new();
    for (index, (name, policy)) in corpus.iter().enumerate() {
        for (kind, mutate) in MUTATIONS {
            let Some(mutant) = mutate(policy) else {
                continue;
            };
            // Alternate the identity side: assumed allow-all, or given and allowing no KMS.
            let identity = (index % 3 == 2).then(|| vec![no_kms.to_owned()]);
            let side = |p: &Value| PolicySet {
                identity_policies: identity.clone(),
                ..assumed(p)
            };
            out.push(Pair {
                name: format!("{name} {kind}"),
                old: side(policy),
                new: side(&mutant),
            });
            out.push(Pair {
                name: format!("{name} {kind} (reversed)"),
                old: side(&mutant),
                new: side(policy),
            });
        }
        // Grants: one added, and one narrowed from Subset to Equals and to fewer operations.
        if index % 2 == 0 {
            let subset = grant(
                &"ab".repeat(32),
                "arn:aws:iam::444455556666:role/importer",
                &["Decrypt", "Encrypt"],
                Some(GrantConstraint::EncryptionContextSubset(vec![(
                    "tenant".into(),
                    "acme".into(),
                )])),
            );
            let narrowed = grant(
                &"ab".repeat(32),
                "arn:aws:iam::444455556666:role/importer",
                &["Decrypt"],
                Some(GrantConstraint::EncryptionContextEquals(vec![(
                    "tenant".into(),
                    "acme".into(),
                )])),
            );
            let with = |grants: Vec<Grant>| PolicySet {
                grants,
                ..assumed(policy)
            };
            out.push(Pair {
                name: format!("{name} add-grant"),
                old: with(Vec::new()),
                new: with(vec![subset.clone()]),
            });
            out.push(Pair {
                name: format!("{name} narrow-grant"),
                old: with(vec![subset.clone()]),
                new: with(vec![narrowed.clone()]),
            });
            out.push(Pair {
                name: format!("{name} widen-grant"),
                old: with(vec![narrowed]),
                new: with(vec![subset]),
            });
        }
    }
    out
}

// --- Brute force -------------------------------------------------------------------------

/// What brute force finds: the actions some request of the universe gains, and one example.
struct Truth {
    actions: BTreeSet<String>,
    example: Option<String>,
}

/// Every constant a policy or grant writes, gathered from the JSON alone.
#[derive(Default)]
struct Constants {
    principals: BTreeSet<String>,
    services: BTreeSet<String>,
    accounts: BTreeSet<String>,
    /// Condition key (as written) → operators and values.
    conditions: Vec<(String, String, Vec<String>)>,
    /// Encryption-context pair keys and values (from conditions and grants).
    context: Vec<(String, Vec<String>)>,
    /// Alias names (after `alias/`) from the resource patterns that name aliases, filled.
    aliases: BTreeSet<String>,
}

fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        Value::Bool(b) => vec![b.to_string()],
        Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

fn account_of(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then(|| account.to_owned())
}

/// An account a value stands for: 12 digits, or digits and wildcards filled with zeros to 12.
fn account_pattern(value: &str) -> Option<String> {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if value.is_empty()
        || !value
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '?')
        || digits > 12
    {
        return None;
    }
    let mut fill = 12 - digits - value.matches('?').count().min(12 - digits);
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '?' => out.push('0'),
            '*' => {
                out.extend(std::iter::repeat_n('0', fill));
                fill = 0;
            }
            d => out.push(d),
        }
    }
    (out.len() == 12).then_some(out)
}

impl Constants {
    fn add_policy(&mut self, text: &str) {
        let policy: Value = serde_json::from_str(text).unwrap();
        let statements = match &policy["Statement"] {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        for statement in statements {
            for clause in ["Resource", "NotResource"] {
                for pattern in statement.get(clause).map(texts).unwrap_or_default() {
                    let Some((_, name)) = pattern.split_once(":alias/") else {
                        continue;
                    };
                    for filled in [
                        name.replace('*', "").replace('?', "z"),
                        name.replace('*', "zz").replace('?', "z"),
                    ] {
                        if !filled.is_empty()
                            && filled
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
                        {
                            self.aliases.insert(filled);
                        }
                    }
                }
            }
            for clause in ["Principal", "NotPrincipal"] {
                if let Some(p) = statement.get(clause) {
                    for (kind, values) in p.as_object().into_iter().flatten() {
                        for v in texts(values) {
                            self.add_principal(kind, &v);
                        }
                    }
                }
            }
            for (operator, keys) in statement
                .get("Condition")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                for (key, values) in keys.as_object().into_iter().flatten() {
                    let values = texts(values);
                    for v in &values {
                        if let Some(a) = account_of(v) {
                            self.accounts.insert(a);
                        }
                        if let Some(a) = account_pattern(v) {
                            self.accounts.insert(a);
                        }
                        // The account part of an ARN pattern, filled.
                        if let Some(a) = v.split(':').nth(4).and_then(account_pattern) {
                            self.accounts.insert(a);
                        }
                    }
                    if let Some(name) = key
                        .get(..22)
                        .filter(|p| p.eq_ignore_ascii_case("kms:EncryptionContext:"))
                        .and_then(|_| key.get(22..))
                    {
                        self.context.push((name.to_owned(), values.clone()));
                    }
                    if key.eq_ignore_ascii_case("kms:EncryptionContextKeys") {
                        for v in &values {
                            self.context.push((v.clone(), Vec::new()));
                        }
                    }
                    if key.eq_ignore_ascii_case("aws:PrincipalArn") {
                        for v in &values {
                            self.add_principal("AWS", &v.replace(['*', '?'], "x"));
                        }
                    }
                    self.conditions
                        .push((key.clone(), operator.clone(), values));
                }
            }
        }
    }

    fn add_principal(&mut self, kind: &str, value: &str) {
        match kind {
            "AWS" if value == "*" => {}
            "AWS" if value.len() == 12 => {
                self.accounts.insert(value.to_owned());
            }
            "AWS" => {
                if let Some(a) = account_of(value) {
                    self.accounts.insert(a);
                }
                if Principal::parse_caller(value).is_ok() {
                    self.principals.insert(value.to_owned());
                }
            }
            "Service" => {
                self.services.insert(value.to_owned());
            }
            _ => {}
        }
    }

    fn add_grants(&mut self, grants: &[Grant]) {
        for g in grants {
            self.add_principal("AWS", &g.grantee);
            if let Some(
                GrantConstraint::EncryptionContextEquals(pairs)
                | GrantConstraint::EncryptionContextSubset(pairs),
            ) = &g.constraint
            {
                for (k, v) in pairs {
                    self.context.push((k.clone(), vec![v.clone()]));
                }
            }
        }
    }

    /// Every caller of the universe.
    fn callers(&self) -> Vec<String> {
        let mut out: BTreeSet<String> = BTreeSet::new();
        let mut accounts = self.accounts.clone();
        accounts.insert("111122223333".into());
        accounts.insert("999999999999".into());
        for a in &accounts {
            out.insert(format!("arn:aws:iam::{a}:root"));
            out.insert(format!("arn:aws:iam::{a}:user/oracle-user"));
            out.insert(format!("arn:aws:iam::{a}:role/oracle-role"));
            out.insert(format!("arn:aws:sts::{a}:assumed-role/oracle-role/s"));
            out.insert(format!("arn:aws:sts::{a}:federated-user/oracle-fed"));
        }
        for p in &self.principals {
            out.insert(p.clone());
            if let Ok(Principal::Role { account, name, .. }) = Principal::parse_caller(p) {
                out.insert(format!("arn:aws:sts::{account}:assumed-role/{name}/s"));
            }
        }
        out.extend(self.services.iter().cloned());
        out.insert("oracle.amazonaws.com".into());
        out.into_iter().collect()
    }
}

/// The values to try for a condition key: absent, each written value (wildcards filled two
/// ways, in another case), and fresh ones of the key's type.
fn values_of(key: &str, tests: &[(String, Vec<String>)]) -> Vec<Option<Vec<String>>> {
    let mut texts: BTreeSet<String> = BTreeSet::new();
    let mut numeric = false;
    let mut date = false;
    let mut address = false;
    let mut boolean = false;
    for (operator, values) in tests {
        let bare = operator.rsplit(':').next().unwrap_or(operator);
        numeric |= bare.starts_with("Numeric");
        date |= bare.starts_with("Date");
        address |= bare.contains("IpAddress");
        boolean |= bare.starts_with("Bool") || bare.starts_with("Null");
        for v in values {
            texts.insert(v.clone());
            texts.insert(v.replace(['*', '?'], ""));
            texts.insert(v.replace('*', "zz").replace('?', "q"));
            texts.insert(v.to_uppercase());
        }
    }
    if numeric {
        let mut numbers: Vec<f64> = texts.iter().filter_map(|t| t.parse().ok()).collect();
        numbers.sort_by(f64::total_cmp);
        for pair in numbers.windows(2) {
            texts.insert(f64::midpoint(pair[0], pair[1]).to_string());
        }
        for n in numbers {
            texts.insert((n - 1.0).to_string());
            texts.insert((n + 1.0).to_string());
        }
    }
    if date {
        let mut dates: Vec<chrono::DateTime<chrono::Utc>> = texts
            .iter()
            .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|d| d.with_timezone(&chrono::Utc))
            .collect();
        dates.sort();
        for pair in dates.windows(2) {
            texts.insert((pair[0] + (pair[1] - pair[0]) / 2).to_rfc3339());
        }
        for d in dates {
            texts.insert((d - chrono::Duration::days(1)).to_rfc3339());
            texts.insert((d + chrono::Duration::days(1)).to_rfc3339());
        }
        texts.insert("2001-01-01T00:00:00Z".into());
        texts.insert("2099-01-01T00:00:00Z".into());
    }
    if address {
        texts.insert("203.0.113.9".into());
        texts.insert("::1".into());
        let firsts: Vec<String> = texts
            .iter()
            .filter_map(|t| t.split_once('/').map(|(a, _)| a.to_owned()))
            .collect();
        texts.extend(firsts);
    }
    if boolean {
        texts.insert("true".into());
        texts.insert("false".into());
    }
    texts.insert("oracle-fresh".into());
    let texts: Vec<String> = texts.into_iter().filter(|t| !t.is_empty()).collect();
    let multivalued = condition_key(key).is_some_and(|k| k.is_multivalued());
    let mut out: Vec<Option<Vec<String>>> = vec![None];
    if multivalued {
        out.push(Some(Vec::new()));
        out.extend(texts.iter().map(|t| Some(vec![t.clone()])));
        if texts.len() >= 2 {
            out.push(Some(texts.iter().take(3).cloned().collect()));
        }
    } else {
        out.extend(texts.into_iter().map(|t| Some(vec![t])));
    }
    out
}

/// Keys the request derives rather than the universe enumerates.
fn derived(key: &str) -> bool {
    let folded = key.to_ascii_lowercase();
    [
        "aws:principalarn",
        "aws:principalaccount",
        "kms:calleraccount",
        "aws:principaltype",
        "aws:principalisawsservice",
        "aws:principalservicename",
        "kms:keyspec",
        "kms:customermasterkeyspec",
        "kms:keyusage",
        "kms:customermasterkeyusage",
        "kms:keyorigin",
        "kms:multiregion",
        "kms:resourcealiases",
        "kms:encryptioncontextkeys",
    ]
    .contains(&folded.as_str())
        || folded.starts_with("kms:encryptioncontext:")
        || folded.starts_with("aws:resourcetag/")
}

fn authorizer(set: &PolicySet, identity: bool) -> Result<Authorizer, String> {
    let key = PolicyText::new(set.key_policy.clone());
    let texts: Vec<PolicyText> = if identity {
        set.identity_policies
            .clone()
            .unwrap_or_else(|| vec![ALLOW_ALL.to_owned()])
            .into_iter()
            .map(PolicyText::new)
            .collect()
    } else {
        Vec::new()
    };
    Authorizer::new(Some(&key), &texts, set.grants.clone()).map_err(|e| e.to_string())
}

fn brute_force(pair: &Pair) -> Result<Option<Truth>, String> {
    let mut constants = Constants::default();
    constants.add_policy(&pair.old.key_policy);
    constants.add_policy(&pair.new.key_policy);
    for set in [&pair.old, &pair.new] {
        for text in set.identity_policies.iter().flatten() {
            constants.add_policy(text);
        }
        constants.add_grants(&set.grants);
    }
    // Condition keys and their values.
    let mut keys: Vec<(String, Vec<Option<Vec<String>>>)> = Vec::new();
    for (key, _, _) in &constants.conditions {
        if derived(key) || keys.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            continue;
        }
        let tests: Vec<(String, Vec<String>)> = constants
            .conditions
            .iter()
            .filter(|(k, _, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, o, v)| (o.clone(), v.clone()))
            .collect();
        keys.push((key.clone(), values_of(key, &tests)));
    }
    // Encryption contexts: each pair key absent or with one of its values, one fresh key.
    let mut names: Vec<(String, Vec<String>)> = Vec::new();
    for (name, values) in &constants.context {
        let entry = match names.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry,
            None => {
                names.push((name.clone(), Vec::new()));
                names.last_mut().unwrap()
            }
        };
        for v in values {
            for filled in [v.clone(), v.replace(['*', '?'], ""), v.replace('*', "zz")] {
                if !filled.is_empty() && !entry.1.contains(&filled) {
                    entry.1.push(filled);
                }
            }
        }
    }
    for (_, values) in &mut names {
        values.push("oracle-fresh".into());
    }
    names.push(("oraclekey".into(), vec!["v".into()]));
    let mut contexts: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (name, values) in &names {
        let mut next = Vec::new();
        for c in &contexts {
            next.push(c.clone());
            for v in values {
                let mut with = c.clone();
                with.push((name.clone(), v.clone()));
                next.push(with);
            }
        }
        contexts = next;
        if contexts.len() > 2_000 {
            return Ok(None);
        }
    }
    let callers = constants.callers();
    let actions: Vec<ActionId> = ActionId::involving_a_key().collect();
    // The aliases an alias operation may name: those the policies write, and a fresh one.
    let mut aliases: Vec<String> = constants
        .aliases
        .iter()
        .map(|name| format!("arn:aws:kms:us-east-1:111122223333:alias/{name}"))
        .collect();
    aliases.push("arn:aws:kms:us-east-1:111122223333:alias/oracle-fresh".into());
    let resources = |action: ActionId| -> Vec<(&str, Option<&str>)> {
        if action.info().resource == ResourceScope::AliasAndKey {
            aliases.iter().map(|a| (a.as_str(), Some(KEY))).collect()
        } else {
            vec![(KEY, None)]
        }
    };
    // The size of the universe, before any request is made.
    let mut total = 0usize;
    for &action in &actions {
        let mut n = callers.len().saturating_mul(resources(action).len());
        for (key, values) in &keys {
            if action.sets_key(key) {
                n = n.saturating_mul(values.len());
            }
        }
        if action.sets_key("kms:EncryptionContextKeys") {
            n = n.saturating_mul(contexts.len());
        }
        total = total.saturating_add(n);
    }
    if total > MAX_UNIVERSE {
        return Ok(None);
    }
    let sides = [
        (authorizer(&pair.old, true)?, authorizer(&pair.old, false)?),
        (authorizer(&pair.new, true)?, authorizer(&pair.new, false)?),
    ];
    let attributes = keyward_authz::KeyAttributes {
        spec: "SYMMETRIC_DEFAULT",
        usage: "ENCRYPT_DECRYPT",
        origin: "AWS_KMS",
        multi_region: false,
        multi_region_key_type: None,
        aliases: &[],
        tags: &Default::default(),
    };
    let mut truth = Truth {
        actions: BTreeSet::new(),
        example: None,
    };
    for &action in &actions {
        let keys_here: Vec<&(String, Vec<Option<Vec<String>>>)> =
            keys.iter().filter(|(k, _)| action.sets_key(k)).collect();
        let contexts_here: &[Vec<(String, String)>] =
            if action.sets_key("kms:EncryptionContextKeys") {
                &contexts
            } else {
                &contexts[..1]
            };
        for caller in &callers {
            let service = !caller.starts_with("arn:");
            let principal = Principal::parse_caller(caller).map_err(|e| e.to_string())?;
            let mut odometer = vec![0usize; keys_here.len()];
            'points: loop {
                // A service principal belongs to no organization and has no tags: its
                // requests never carry these keys.
                let impossible = service
                    && keys_here.iter().zip(&odometer).any(|((key, values), &i)| {
                        let folded = key.to_ascii_lowercase();
                        (folded == "aws:principalorgid"
                            || folded == "aws:principalorgpaths"
                            || folded.starts_with("aws:principaltag/"))
                            && values[i].is_some()
                    });
                let points = contexts_here
                    .iter()
                    .filter(|_| !impossible)
                    .flat_map(|c| resources(action).into_iter().map(move |r| (c, r)));
                for (context, (resource, target_key)) in points {
                    let pairs: Vec<(&str, &str)> = context
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let mut request = Request::new(caller, action, resource, &pairs)
                        .map_err(|e| e.to_string())?;
                    request.target_key = target_key.map(str::to_owned);
                    insert_key(&mut request.context, &attributes);
                    insert_principal_kind(&mut request.context, &principal);
                    for ((key, values), &i) in keys_here.iter().zip(&odometer) {
                        match &values[i] {
                            None => {}
                            Some(texts)
                                if condition_key(key).is_some_and(|k| k.is_multivalued()) =>
                            {
                                request
                                    .context
                                    .insert_multi(key, texts.iter().map(String::as_str));
                            }
                            Some(texts) => request.context.insert_single(key, &texts[0]),
                        }
                    }
                    let allowed = |(with, without): &(Authorizer, Authorizer)| {
                        let a = if service { without } else { with };
                        a.verdict(&request) == Verdict::Allow
                    };
                    if allowed(&sides[1]) && !allowed(&sides[0]) {
                        truth.actions.insert(action.qualified_name().to_owned());
                        if truth.example.is_none() {
                            truth.example = Some(format!(
                                "{caller} {} {resource} {context:?}",
                                action.qualified_name()
                            ));
                        }
                        // One request per action is enough to know it is gained.
                        break 'points;
                    }
                }
                let mut carry = true;
                for (digit, (_, values)) in odometer.iter_mut().zip(&keys_here) {
                    if !carry {
                        break;
                    }
                    *digit += 1;
                    carry = *digit == values.len();
                    if carry {
                        *digit = 0;
                    }
                }
                if carry {
                    break;
                }
            }
            if truth.actions.contains(action.qualified_name()) {
                break;
            }
        }
    }
    Ok(Some(truth))
}
