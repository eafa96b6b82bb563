//! The callers to try: one per cell of every kind of principal, cut by every pattern that can
//! tell principals apart (the ARNs of `Principal` elements and grants, `aws:PrincipalArn`
//! tests, the accounts named and `aws:PrincipalAccount` / `kms:CallerAccount` tests), so that
//! two principals of one cell are decided alike by every policy.

use crate::AnalysisError;
use crate::domain::predicate;
use crate::glob::{self, Class, Glob, Item, Predicate};
use crate::mentions::{Mentions, Test};
use keyward_policy::operator::OperatorKind;
use std::collections::BTreeSet;

/// What kind of principal a caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrincipalKind {
    /// An account's root user.
    Root,
    /// An IAM user.
    User,
    /// An IAM role.
    Role,
    /// A session of an IAM role.
    Session,
    /// A federated user.
    FederatedUser,
    /// An AWS service.
    Service,
    /// Every principal of an account: a finding that holds alike for its root user and for
    /// each kind of its IAM principals that no policy names.
    Account,
}

impl PrincipalKind {
    /// How a reader names the kind.
    pub const fn noun(self) -> &'static str {
        match self {
            Self::Root => "root user",
            Self::User => "user",
            Self::Role => "role",
            Self::Session => "role session",
            Self::FederatedUser => "federated user",
            Self::Service => "AWS service",
            Self::Account => "principal",
        }
    }
}

/// One caller standing for its cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) kind: PrincipalKind,
    /// The caller's ARN, or the service principal's name.
    pub(crate) arn: String,
    /// The account (none for a service).
    pub(crate) account: Option<String>,
    /// For a session, its role's ARN.
    pub(crate) role_arn: Option<String>,
}

/// The folded names of the keys the principal decides (they are never enumerated as free
/// context keys).
pub(crate) const PRINCIPAL_KEYS: &[&str] = &[
    "aws:principalarn",
    "aws:principalaccount",
    "kms:calleraccount",
    "aws:principaltype",
    "aws:principalisawsservice",
    "aws:principalservicename",
];

/// Whether an AWS service principal's requests never carry the key (folded): a service
/// principal belongs to no organization and has no tags, and IAM includes
/// `aws:PrincipalOrgID` and `aws:PrincipalOrgPaths` only for a member of an organization and
/// `aws:PrincipalTag/*` only for a principal with tags.
pub(crate) fn absent_for_services(folded: &str) -> bool {
    matches!(folded, "aws:principalorgid" | "aws:principalorgpaths")
        || folded.starts_with("aws:principaltag/")
}

/// The callers to try, for keys in the partition `partition`.
pub(crate) fn candidates(
    mentions: &Mentions,
    partition: &str,
) -> Result<Vec<Candidate>, AnalysisError> {
    let predicates = arn_predicates(mentions);
    let shape = |kind: PrincipalKind| shape_of(kind, partition);
    let mut out = Vec::new();
    // When every test on the caller's ARN or account names exact values, every predicate is
    // an exact ARN or an account: the cells are known without exploring automata (see
    // `named_cells`).
    let names = exact_names(mentions);
    let cells_of = |glob: &Glob, kind: PrincipalKind, what: &str| match &names {
        Some(names) => Ok(named_cells(names, &predicates, glob, kind, partition)),
        None => glob::cells(&predicates, Some(glob), what),
    };
    let roles = shape(PrincipalKind::Role);
    let role_cells = cells_of(&roles, PrincipalKind::Role, "role ARNs")?;
    for (kind, glob) in [
        (PrincipalKind::Root, shape(PrincipalKind::Root)),
        (PrincipalKind::User, shape(PrincipalKind::User)),
        (PrincipalKind::Role, roles.clone()),
        (
            PrincipalKind::FederatedUser,
            shape(PrincipalKind::FederatedUser),
        ),
    ] {
        let cells = if kind == PrincipalKind::Role {
            role_cells.clone()
        } else {
            cells_of(&glob, kind, "principal ARNs")?
        };
        for cell in cells {
            // Cells found from the names have readable members already.
            let arn = if names.is_some() {
                cell.member.clone()
            } else {
                readable(&cell, &predicates, &glob, kind)
            };
            out.push(Candidate {
                kind,
                account: crate::mentions::account_of(&arn).map(str::to_owned),
                arn,
                role_arn: None,
            });
        }
    }
    // Sessions: one role of each role cell (a session's ARN names the role without its
    // path; the request carries the role's ARN), then each session name named for that role
    // and one more.
    for mut cell in role_cells {
        if names.is_none() {
            cell.member = readable(&cell, &predicates, &roles, PrincipalKind::Role);
        }
        let Some(account) = crate::mentions::account_of(&cell.member).map(str::to_owned) else {
            continue;
        };
        let role = cell
            .member
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let prefix = format!("arn:{partition}:sts::{account}:assumed-role/{role}/");
        let mut names: Vec<&str> = mentions
            .principal_arns
            .iter()
            .filter_map(|arn| arn.strip_prefix(&prefix))
            .collect();
        let fresh = (0..)
            .map(|i| {
                if i == 0 {
                    "session".to_owned()
                } else {
                    format!("session-{i}")
                }
            })
            .find(|n| !names.contains(&n.as_str()))
            .unwrap_or_default();
        names.push(&fresh);
        for name in names {
            out.push(Candidate {
                kind: PrincipalKind::Session,
                arn: format!("{prefix}{name}"),
                account: Some(account.clone()),
                role_arn: Some(cell.member.clone()),
            });
        }
    }
    let services = service_predicates(mentions);
    for cell in glob::cells(&services, None, "service principals")? {
        if cell.member.is_empty() {
            continue;
        }
        let name = if services.iter().zip(&cell.truth).any(|(_, t)| *t) {
            cell.member
        } else {
            // A service no policy names, spelled as a service principal.
            "service.amazonaws.com".to_owned()
        };
        out.push(Candidate {
            kind: PrincipalKind::Service,
            arn: name,
            account: None,
            role_arn: None,
        });
    }
    Ok(out)
}

/// The exact ARNs and the accounts every predicate on a caller's ARN is about.
#[derive(Debug, Default)]
struct Names {
    /// The principals named, the roles of named sessions, and the values of
    /// `aws:PrincipalArn` tests.
    arns: BTreeSet<String>,
    /// The accounts named, and the values of `aws:PrincipalAccount` and `kms:CallerAccount`
    /// tests.
    accounts: BTreeSet<String>,
}

/// The names the predicates are about, when every one is exact: an `aws:PrincipalArn` test
/// with no wildcard that keeps case, an account test with no wildcard. `None` when some test
/// is a pattern, whose cells only the automata find.
fn exact_names(mentions: &Mentions) -> Option<Names> {
    let exact = |v: &String| !v.contains(['*', '?', '$']);
    let mut names = Names::default();
    names.arns.extend(mentions.principal_arns.iter().cloned());
    names.arns.extend(
        mentions
            .principal_arns
            .iter()
            .filter_map(|a| session_role(a)),
    );
    names.accounts.extend(mentions.accounts.iter().cloned());
    for (key, tests) in &mentions.keys {
        match key.as_str() {
            "aws:principalarn" => {
                for test in &tests.tests {
                    let folds = matches!(
                        test.kind(),
                        OperatorKind::StringEqualsIgnoreCase
                            | OperatorKind::StringNotEqualsIgnoreCase
                    );
                    if folds || !test.values.iter().all(exact) {
                        return None;
                    }
                    names.arns.extend(test.values.iter().cloned());
                }
            }
            "aws:principalaccount" | "kms:calleraccount" => {
                for test in &tests.tests {
                    if !test.values.iter().all(exact) {
                        return None;
                    }
                    names.accounts.extend(test.values.iter().cloned());
                }
            }
            _ => {}
        }
    }
    Some(names)
}

/// The ARNs of principals of `kind` in `partition`, as a pattern: `arn:P:iam::ACCOUNT:root`,
/// `...:user/PATH`, `...:role/PATH`, `arn:P:sts::ACCOUNT:federated-user/NAME` (a session is
/// read through its role's).
fn shape_of(kind: PrincipalKind, partition: &str) -> Glob {
    let (service, middle, name) = match kind {
        PrincipalKind::Root => ("iam", ":root", None),
        PrincipalKind::User => ("iam", ":user/", Some(Item::Path)),
        PrincipalKind::FederatedUser => (
            "sts",
            ":federated-user/",
            Some(Item::One(Class::NameNotSlash)),
        ),
        _ => ("iam", ":role/", Some(Item::Path)),
    };
    let mut items: Vec<Item> = format!("arn:{partition}:{service}::")
        .chars()
        .map(Item::Char)
        .collect();
    items.extend((0..12).map(|_| Item::One(Class::Digit)));
    items.extend(middle.chars().map(Item::Char));
    match name {
        Some(Item::Path) => items.push(Item::Path),
        Some(Item::One(class)) => {
            items.push(Item::One(class));
            items.push(Item::Star(class));
        }
        _ => {}
    }
    Glob::of(items)
}

/// The cells of `shape` when every predicate is an exact ARN (case kept) or an account (the
/// caller's ARN and account are tested nowhere else): each named ARN of the shape is a cell of
/// its own; each named account, a cell of its other principals; and an account no policy names,
/// one more. Any other member of the shape is in one of these (it equals no named ARN, so
/// only its account tells it apart), so the partition is the one [`glob::cells`] explores,
/// with readable members; cells with the same truths are one.
fn named_cells(
    names: &Names,
    predicates: &[Predicate],
    shape: &Glob,
    kind: PrincipalKind,
    partition: &str,
) -> Vec<glob::Cell> {
    let (service, resource) = match kind {
        PrincipalKind::Root => ("iam", "root".to_owned()),
        PrincipalKind::User => ("iam", "user/ExampleUser".to_owned()),
        PrincipalKind::Role | PrincipalKind::Session => ("iam", "role/ExampleRole".to_owned()),
        PrincipalKind::FederatedUser => ("sts", "federated-user/ExampleFederatedUser".to_owned()),
        PrincipalKind::Service | PrincipalKind::Account => return Vec::new(),
    };
    let literals = &names.arns;
    let of_account = |account: &str| {
        let mut arn = format!("arn:{partition}:{service}::{account}:{resource}");
        // A named ARN is its own cell: the account's other principals need another name.
        let mut n = 2;
        while literals.contains(&arn) && kind != PrincipalKind::Root {
            arn = format!("arn:{partition}:{service}::{account}:{resource}{n}");
            n += 1;
        }
        arn
    };
    let unnamed = (0..)
        .map(|i: u64| format!("{:012}", 999_999_999_999 - i))
        .find(|a| {
            // An account nothing names, not even as part of a named ARN (whose root, say, is
            // a cell of its own).
            !names.accounts.contains(a)
                && !literals
                    .iter()
                    .any(|l| crate::mentions::account_of(l) == Some(a.as_str()))
        })
        .unwrap_or_default();
    let members = literals
        .iter()
        .cloned()
        .chain(names.accounts.iter().map(|a| of_account(a)))
        .chain(std::iter::once(of_account(&unnamed)));
    let mut out: Vec<glob::Cell> = Vec::new();
    for member in members {
        if !shape.is_match(&member) {
            continue;
        }
        let truth: Vec<bool> = predicates
            .iter()
            .map(|p| p.any_of.iter().any(|g| g.is_match(&member)))
            .collect();
        if !out.iter().any(|c| c.truth == truth) {
            out.push(glob::Cell { truth, member });
        }
    }
    out
}

/// A member of `cell` a reader takes for a principal: the shortest member with its name
/// replaced by `ExampleRole` (and so on) and its account by `999999999999`, when that stays
/// in the cell; otherwise the shortest member itself.
fn readable(
    cell: &glob::Cell,
    predicates: &[Predicate],
    shape: &Glob,
    kind: PrincipalKind,
) -> String {
    let name = match kind {
        PrincipalKind::User => Some("ExampleUser"),
        PrincipalKind::Role | PrincipalKind::Session => Some("ExampleRole"),
        PrincipalKind::FederatedUser => Some("ExampleFederatedUser"),
        PrincipalKind::Root => None,
        PrincipalKind::Service | PrincipalKind::Account => return cell.member.clone(),
    };
    // A principal named exactly is its cell's one member.
    if predicates
        .iter()
        .zip(&cell.truth)
        .any(|(p, &t)| t && p.any_of.iter().any(|g| g.is_literal_of(&cell.member)))
    {
        return cell.member.clone();
    }
    let same_cell = |text: &str| {
        shape.is_match(text)
            && predicates
                .iter()
                .map(|p| p.any_of.iter().any(|g| g.is_match(text)))
                .eq(cell.truth.iter().copied())
    };
    let mut best = cell.member.clone();
    if let (Some(name), Some((prefix, _))) = (name, best.rsplit_once('/')) {
        let named = format!("{prefix}/{name}");
        if same_cell(&named) {
            best = named;
        }
    }
    if let Some(account) = crate::mentions::account_of(&best) {
        let other = best.replacen(&format!("::{account}:"), "::999999999999:", 1);
        if same_cell(&other) {
            best = other;
        }
    }
    best
}

/// Every predicate on a principal's ARN (for a session: its role's ARN).
fn arn_predicates(mentions: &Mentions) -> Vec<Predicate> {
    let mut out = Vec::new();
    for arn in &mentions.principal_arns {
        out.push(Predicate {
            any_of: vec![Glob::literal(arn, false)],
        });
        // A session named in a policy: its role, as sessions of other roles are told apart.
        if let Some(role) = session_role(arn) {
            out.push(Predicate {
                any_of: vec![Glob::literal(&role, false)],
            });
        }
    }
    for account in &mentions.accounts {
        out.push(account_predicate(&Glob::literal(account, false)));
    }
    for (key, tests) in &mentions.keys {
        match key.as_str() {
            "aws:principalarn" => out.extend(tests.tests.iter().filter_map(predicate)),
            "aws:principalaccount" | "kms:calleraccount" => {
                out.extend(tests.tests.iter().filter_map(predicate).map(|p| {
                    Predicate {
                        any_of: p
                            .any_of
                            .iter()
                            .flat_map(|g| account_predicate(g).any_of)
                            .collect(),
                    }
                }));
            }
            _ => {}
        }
    }
    out
}

/// "The ARN's account part matches `account`", as a predicate on the whole ARN.
fn account_predicate(account: &Glob) -> Predicate {
    let mut items: Vec<Item> = "arn:".chars().map(Item::Char).collect();
    for _ in 0..3 {
        items.push(Item::Star(Class::NotColon));
        items.push(Item::Char(':'));
    }
    items.extend(account.items_in(Class::NotColon));
    items.push(Item::Char(':'));
    items.push(Item::Star(Class::Any));
    Predicate {
        any_of: vec![Glob::of(items)],
    }
}

/// The role ARN of a session ARN (`arn:aws:sts::A:assumed-role/R/S` → `arn:aws:iam::A:role/R`).
pub(crate) fn session_role(arn: &str) -> Option<String> {
    keyward_policy::arn::Arn::parse(arn)?.session_role_arn()
}

/// Every predicate on a service principal's name.
fn service_predicates(mentions: &Mentions) -> Vec<Predicate> {
    let mut out: Vec<Predicate> = mentions
        .services
        .iter()
        .map(|s| Predicate {
            any_of: vec![Glob::literal(s, false)],
        })
        .collect();
    if let Some(tests) = mentions.keys.get("aws:principalservicename") {
        out.extend(tests.tests.iter().filter_map(|t: &Test| predicate(t)));
    }
    out
}

/// A caller as a finding names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallerView {
    /// Its ARN when a policy names it, otherwise its class as an ARN pattern.
    pub(crate) principal: String,
    /// In words.
    pub(crate) description: String,
    /// When it stands for "any principal of this kind in this account that no policy names"
    /// (or is the account's root user): the account.
    pub(crate) class_of: Option<String>,
}

/// How findings name `caller`.
pub(crate) fn describe(caller: &Candidate, mentions: &Mentions) -> CallerView {
    if caller.kind == PrincipalKind::Service {
        return if mentions.services.contains(&caller.arn) {
            CallerView {
                principal: caller.arn.clone(),
                description: format!("the AWS service {}", caller.arn),
                class_of: None,
            }
        } else {
            CallerView {
                principal: "*.amazonaws.com".into(),
                description: "an AWS service no policy names".into(),
                class_of: None,
            }
        };
    }
    let account = caller.account.clone().unwrap_or_default();
    let account_named = mentions.names_account(&account);
    if caller.kind == PrincipalKind::Root {
        let where_ = if account_named {
            format!("of account {account}")
        } else {
            "of an account no policy names".to_owned()
        };
        return CallerView {
            principal: if account_named {
                caller.arn.clone()
            } else {
                caller.arn.replace(&account, "*")
            },
            description: format!("the root user {where_}"),
            class_of: Some(account),
        };
    }
    if mentions.principal_arns.contains(&caller.arn) {
        return CallerView {
            principal: caller.arn.clone(),
            description: format!("the {} {}", caller.kind.noun(), caller.arn),
            class_of: None,
        };
    }
    // The ARN up to the account, and the resource type.
    let partition = caller.arn.split(':').nth(1).unwrap_or("aws");
    let pattern_account = if account_named { account.as_str() } else { "*" };
    let where_ = if account_named {
        format!("in {account}")
    } else {
        "in an account no policy names".to_owned()
    };
    let pattern = match caller.kind {
        PrincipalKind::User => format!("arn:{partition}:iam::{pattern_account}:user/*"),
        PrincipalKind::Role => format!("arn:{partition}:iam::{pattern_account}:role/*"),
        PrincipalKind::FederatedUser => {
            format!("arn:{partition}:sts::{pattern_account}:federated-user/*")
        }
        _ => {
            let role = caller.role_arn.as_deref().unwrap_or_default();
            if mentions.principal_arns.contains(role) {
                return CallerView {
                    principal: format!("{}/*", caller.arn.rsplit_once('/').map_or("", |(r, _)| r)),
                    description: format!("a session of {role} that no policy names"),
                    class_of: None,
                };
            }
            format!("arn:{partition}:sts::{pattern_account}:assumed-role/*")
        }
    };
    // The patterns of `aws:PrincipalArn` tests it matches: they set this class apart.
    let tested = caller.role_arn.as_deref().unwrap_or(&caller.arn);
    let patterns: Vec<String> = mentions
        .keys
        .get("aws:principalarn")
        .map(|k| {
            k.tests
                .iter()
                .filter_map(|t| predicate(t).map(|p| (t, p)))
                .flat_map(|(t, p)| t.values.iter().zip(p.any_of))
                .filter(|(_, glob)| glob.is_match(tested))
                .map(|(v, _)| v.clone())
                .collect()
        })
        .unwrap_or_default();
    let (matching, class_of) = if patterns.is_empty() {
        (String::new(), Some(account))
    } else {
        (format!(" whose ARN matches {}", patterns.join(", ")), None)
    };
    CallerView {
        principal: pattern,
        description: format!(
            "any {} {where_} that no policy names{matching}",
            caller.kind.noun()
        ),
        class_of,
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;
    use keyward_policy::model::PrincipalType;
    use proptest::prelude::*;

    /// Principals a policy may name: accounts, roots, users, roles (with paths), sessions and
    /// federated users of three accounts, with names that collide with the readable ones.
    fn principal() -> impl Strategy<Value = String> {
        let account = prop::sample::select(vec!["111122223333", "444455556666", "999999999999"]);
        let name =
            prop::sample::select(vec!["a", "B", "ExampleRole", "ExampleUser", "ExampleRole2"]);
        (account, name, 0..7u8).prop_map(|(account, name, kind)| match kind {
            0 => account.to_owned(),
            1 => format!("arn:aws:iam::{account}:root"),
            2 => format!("arn:aws:iam::{account}:user/{name}"),
            3 => format!("arn:aws:iam::{account}:role/{name}"),
            4 => format!("arn:aws:iam::{account}:role/team/{name}"),
            5 => format!("arn:aws:sts::{account}:assumed-role/{name}/session"),
            _ => format!("arn:aws:sts::{account}:federated-user/{name}"),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// With only names (no ARN or account tests), the cells found without automata are
        /// exactly those the automata find: the same truths, and members in their cells.
        #[test]
        fn named_cells_are_the_cells_the_automata_find(
            named in prop::collection::vec(principal(), 0..6),
            tested in prop::collection::vec(principal(), 0..3),
            accounts in prop::collection::vec(prop::sample::select(vec!["111122223333", "777788889999"]), 0..2),
        ) {
            let mut mentions = Mentions::default();
            for arn in &named {
                mentions.add_principal(PrincipalType::Aws, arn);
            }
            mentions.accounts.insert("111122223333".into());
            // Exact tests on the caller's ARN and account, as a policy writes them.
            let arns: Vec<&String> = tested.iter().filter(|a| a.starts_with("arn:")).collect();
            let mut condition = serde_json::Map::new();
            if !accounts.is_empty() {
                condition.insert("StringEquals".into(), serde_json::json!({"kms:CallerAccount": accounts}));
            }
            if !arns.is_empty() {
                condition.insert("ArnEquals".into(), serde_json::json!({"aws:PrincipalArn": arns}));
            }
            if !condition.is_empty() {
                let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                    "Condition": condition}]});
                let document = keyward_policy::parse_and_validate(
                    &policy.to_string(),
                    keyward_policy::PolicyKind::KeyPolicy,
                )
                .unwrap();
                mentions.add_policy(&document).unwrap();
            }
            let predicates = arn_predicates(&mentions);
            for kind in [
                PrincipalKind::Root,
                PrincipalKind::User,
                PrincipalKind::Role,
                PrincipalKind::FederatedUser,
            ] {
                let shape = shape_of(kind, "aws");
                let names = exact_names(&mentions).unwrap();
                let fast = named_cells(&names, &predicates, &shape, kind, "aws");
                let explored = glob::cells(&predicates, Some(&shape), "test").unwrap();
                let truths = |cells: &[glob::Cell]| {
                    let mut t: Vec<Vec<bool>> = cells.iter().map(|c| c.truth.clone()).collect();
                    t.sort();
                    t
                };
                prop_assert_eq!(truths(&fast), truths(&explored), "{:?}", kind);
                for cell in &fast {
                    prop_assert!(shape.is_match(&cell.member));
                    let truth: Vec<bool> = predicates
                        .iter()
                        .map(|p| p.any_of.iter().any(|g| g.is_match(&cell.member)))
                        .collect();
                    prop_assert_eq!(&truth, &cell.truth);
                }
            }
        }
    }
}
