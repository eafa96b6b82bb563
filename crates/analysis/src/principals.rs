//! The callers to try: one per cell of every kind of principal, cut by every pattern that can
//! tell principals apart (the ARNs of `Principal` elements and grants, `aws:PrincipalArn`
//! tests, the accounts named and `aws:PrincipalAccount` / `kms:CallerAccount` tests), so that
//! two principals of one cell are decided alike by every policy.

use crate::AnalysisError;
use crate::domain::predicate;
use crate::glob::{self, Class, Glob, Item, Predicate};
use crate::mentions::{Mentions, Test};

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
    let account = (0..12).map(|_| Item::One(Class::Digit));
    let shape = |service: &str, middle: &str, name: Option<Item>| {
        let mut items: Vec<Item> = format!("arn:{partition}:{service}::")
            .chars()
            .map(Item::Char)
            .collect();
        items.extend(account.clone());
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
    };
    let mut out = Vec::new();
    let roles = shape("iam", ":role/", Some(Item::Path));
    let role_cells = glob::cells(&predicates, Some(&roles), "role ARNs")?;
    for (kind, glob) in [
        (PrincipalKind::Root, shape("iam", ":root", None)),
        (
            PrincipalKind::User,
            shape("iam", ":user/", Some(Item::Path)),
        ),
        (PrincipalKind::Role, roles.clone()),
        (
            PrincipalKind::FederatedUser,
            shape(
                "sts",
                ":federated-user/",
                Some(Item::One(Class::NameNotSlash)),
            ),
        ),
    ] {
        let cells = if kind == PrincipalKind::Role {
            role_cells.clone()
        } else {
            glob::cells(&predicates, Some(&glob), "principal ARNs")?
        };
        for cell in cells {
            let arn = readable(&cell, &predicates, &glob, kind);
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
        cell.member = readable(&cell, &predicates, &roles, PrincipalKind::Role);
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
    let parsed = keyward_policy::arn::Arn::parse(arn)?;
    let rest = parsed.resource.strip_prefix("assumed-role/")?;
    let (role, _) = rest.split_once('/')?;
    Some(format!(
        "arn:{}:iam::{}:role/{role}",
        parsed.partition, parsed.account
    ))
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
    let account_named = mentions.accounts.contains(&account);
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
