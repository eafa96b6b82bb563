//! Does a change grant new access? Every region NEW allows and OLD does not, grouped by caller
//! and condition, each with a witness that `authz` confirms through the request format.

use crate::AnalysisError;
use crate::domain::Domain;
use crate::mentions::Mentions;
use crate::principals::{self, Candidate, PrincipalKind};
use crate::scp::ServiceControlPolicies;
use crate::space::{CallerPolicies, KeyFacts, PolicySet, Region, Side, Space};
use crate::witness;
use keyward_authz::{Decision, PolicySource, Source};
use keyward_policy::LineIndex;
use keyward_policy::catalog::ActionId;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A statement of a key policy: where it is and what it is called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRef {
    /// 0-based position in the policy's `Statement` list.
    pub index: usize,
    /// Its `Sid`, when it has one.
    pub sid: Option<String>,
    /// 1-based line of the statement in the policy's text.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// `authz`'s explanation of a witness under each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanations {
    /// Under the side that allows it.
    pub allowed: String,
    /// Under the side that does not.
    pub denied: String,
}

/// One kind of request one side allows and the other does not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The caller: its ARN when a policy names it, otherwise its class as an ARN pattern
    /// (`arn:aws:iam::444455556666:role/*`: a role of that account that no policy names;
    /// `arn:aws:iam::444455556666:root` with kind `account`: every principal of the account;
    /// `*` for an account no policy names), or a service principal.
    pub principal: String,
    /// What kind of principal.
    pub kind: PrincipalKind,
    /// The caller in words.
    pub description: String,
    /// The actions (`kms:Decrypt`), in catalog order.
    pub actions: Vec<String>,
    /// The residual condition in words: what else the request must be, or `always`.
    pub condition: String,
    /// The statements of the allowing side's key policy that allow it; grants and identity
    /// policies that take part are named in `via`.
    pub statements: Vec<StatementRef>,
    /// Where the allow comes from besides the key policy: `grant:ID`, `identity_policy:N` (the
    /// Nth identity policy given), `identity_policy:assumed` (the one the analysis assumed).
    pub via: Vec<String>,
    /// A request in the `keyward authorize` format without the policies: completed with the
    /// allowing side's, allowed; with the other side's, not.
    pub witness: serde_json::Value,
    /// `authz`'s explanation of the witness under each side.
    pub explanations: Explanations,
    /// Whether the caller is of an account that no policy names (nor is the key's): anyone in
    /// AWS, public access.
    pub public: bool,
}

/// The answer of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    /// `PASS`: NEW allows nothing OLD does not; `FAIL` otherwise.
    pub result: &'static str,
    /// Each kind of new access.
    pub findings: Vec<Finding>,
    /// How many points (caller, group of actions, condition-key cells, encryption context)
    /// were decided under each side.
    #[serde(skip)]
    pub regions: usize,
}

/// Every kind of request `new` allows and `old` does not, on the key `key`: the actions on the
/// key, and the alias operations (`kms:CreateAlias`, `kms:UpdateAlias`, `kms:DeleteAlias`) on
/// the aliases of the key's account and Region that name it.
pub fn diff(old: &PolicySet, new: &PolicySet, key: &KeyFacts) -> Result<DiffReport, AnalysisError> {
    diff_naming(old, new, key, &[])
}

/// [`diff`], with `named` principals (ARNs) told apart from the others as if a policy named
/// them: each gets findings of its own.
pub(crate) fn diff_naming(
    old: &PolicySet,
    new: &PolicySet,
    key: &KeyFacts,
    named: &[&str],
) -> Result<DiffReport, AnalysisError> {
    compare((old, None, &[]), (new, None, &[]), key, named, false)
}

/// One side of a comparison: its policies, its SCPs, and the callers with identity policies
/// of their own.
pub(crate) type SideInputs<'a> = (
    &'a PolicySet,
    Option<&'a ServiceControlPolicies>,
    &'a [CallerPolicies],
);

/// [`diff_naming`] with each side's SCPs; with `only_named`, about the named principals (and
/// their roles' sessions) alone: no other caller is decided or reported. A side's callers
/// with identity policies of their own are decided with them instead of the side's.
pub(crate) fn compare(
    (old, old_scps, old_callers): SideInputs<'_>,
    (new, new_scps, new_callers): SideInputs<'_>,
    key: &KeyFacts,
    named: &[&str],
    only_named: bool,
) -> Result<DiffReport, AnalysisError> {
    let mut mentions = Mentions::default();
    for arn in named {
        mentions.add_principal(keyward_policy::model::PrincipalType::Aws, arn);
    }
    let old_side = Side::governed(old, old_scps, old_callers, &mut mentions)?;
    let new_side = Side::governed(new, new_scps, new_callers, &mut mentions)?;
    let mut space = Space::new(key, &[&old_side, &new_side], mentions, None)?;
    if only_named {
        space.only = Some(named.iter().map(|&a| a.to_owned()).collect());
    }
    // The points NEW allows and OLD does not, by caller and group of actions.
    let found = space.points(&[&old_side, &new_side], 1, |caller, request| {
        new_side.allows(caller, request) && !old_side.allows(caller, request)
    })?;
    let added: BTreeMap<(usize, usize), BTreeSet<Cell>> = found
        .points
        .into_iter()
        .map(|(at, points)| {
            let cells = points.into_iter().map(|values| Cell { values }).collect();
            (at, cells)
        })
        .collect();
    let regions = found.decided;
    let drafts = merge_accounts(merge_sessions(drafts(&space, added), &space), &space);
    let mut findings = Vec::new();
    for draft in drafts {
        findings.push(finding(&draft, &space, (&new_side, new), (&old_side, old))?);
    }
    findings.sort_by(|a, b| (&a.principal, &a.actions).cmp(&(&b.principal, &b.actions)));
    Ok(DiffReport {
        result: if findings.is_empty() { "PASS" } else { "FAIL" },
        findings,
        regions,
    })
}

/// A point's values, for a caller and a group of actions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Cell {
    values: Vec<usize>,
}

/// A set of cells as a product: per domain, the values it may take (`None`: any).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    values: Vec<Option<BTreeSet<usize>>>,
}

impl Shape {
    fn covers(&self, cell: &Cell) -> bool {
        self.values
            .iter()
            .zip(&cell.values)
            .all(|(s, v)| s.as_ref().is_none_or(|s| s.contains(v)))
    }

    /// The one domain in which `self` and `other` differ, when they differ in exactly one.
    fn differs_in_one(&self, other: &Self) -> Option<usize> {
        let mut differing = self
            .values
            .iter()
            .zip(&other.values)
            .enumerate()
            .filter(|(_, (a, b))| a != b);
        let (d, (a, b)) = differing.next()?;
        (differing.next().is_none() && a.is_some() && b.is_some()).then_some(d)
    }
}

/// The cells as few shapes: a domain whose every value is in the set alongside each cell is
/// dropped (the condition does not depend on it); the remaining combinations are shapes, and
/// shapes that differ in one domain only become one (`absent, or outside 10.0.0.0/8`). Exact:
/// the shapes cover the cells and nothing else.
fn compress(cells: &BTreeSet<Cell>, domains: &[&Domain]) -> Vec<Shape> {
    // Domain k is free when the cells are a product in it: every value of k beside each
    // combination of the others. The cells being distinct, that is exactly when there are
    // (combinations of the others) x (values of k) of them.
    let free: Vec<bool> = (0..domains.len())
        .map(|k| {
            let size = domains.get(k).map_or(1, |d| d.values.len());
            let mut others: HashSet<(&[usize], &[usize]), foldhash::fast::RandomState> =
                HashSet::with_capacity_and_hasher(cells.len(), Default::default());
            for cell in cells {
                match (cell.values.get(..k), cell.values.get(k + 1..)) {
                    (Some(before), Some(after)) if cell.values.len() == domains.len() => {
                        others.insert((before, after));
                    }
                    _ => return false,
                }
            }
            others.len().checked_mul(size) == Some(cells.len())
        })
        .collect();
    // Each cell without its free domains, once, in the cells' order.
    let mut seen: HashSet<Vec<Option<usize>>, foldhash::fast::RandomState> = HashSet::default();
    let mut shapes: Vec<Shape> = Vec::new();
    for cell in cells {
        let kept: Vec<Option<usize>> = cell
            .values
            .iter()
            .zip(&free)
            .map(|(v, f)| (!f).then_some(*v))
            .collect();
        if seen.contains(&kept) {
            continue;
        }
        shapes.push(Shape {
            values: kept
                .iter()
                .map(|v| v.map(|v| BTreeSet::from([v])))
                .collect(),
        });
        seen.insert(kept);
    }
    loop {
        let mut merged = false;
        'search: for i in 0..shapes.len() {
            for j in i + 1..shapes.len() {
                let (Some(a), Some(b)) = (shapes.get(i), shapes.get(j)) else {
                    continue;
                };
                let Some(d) = a.differs_in_one(b) else {
                    continue;
                };
                let extra: BTreeSet<usize> = b.values.get(d).cloned().flatten().unwrap_or_default();
                if let Some(Some(slot)) = shapes.get_mut(i).and_then(|a| a.values.get_mut(d)) {
                    slot.extend(extra);
                }
                shapes.remove(j);
                merged = true;
                break 'search;
            }
        }
        if !merged {
            return shapes;
        }
    }
}

/// A finding before its witness is confirmed.
#[derive(Debug, Clone)]
struct Draft {
    /// The candidates it stands for (several when an account's kinds are merged); the first
    /// one's region is the witness.
    callers: Vec<usize>,
    kind: PrincipalKind,
    principal: String,
    description: String,
    actions: BTreeSet<ActionId>,
    condition: String,
    region: Region,
    /// For an account's class of callers: the account.
    class_of: Option<String>,
    /// The caller's account is one no policy names.
    public: bool,
}

/// A shape of cells in words, with the values of one of its cells.
type WordedShape = (String, Vec<usize>);

/// One draft per caller and residual condition, with the actions of every group that has it.
fn drafts(space: &Space, added: BTreeMap<(usize, usize), BTreeSet<Cell>>) -> Vec<Draft> {
    let mut out: Vec<Draft> = Vec::new();
    // Each caller's drafts, by condition.
    // foldhash, not SipHash: the keys are whole sets of cells, hashed once per group.
    let mut index: HashMap<(usize, String), usize, foldhash::fast::RandomState> =
        HashMap::default();
    let mut shapes_of: HashMap<
        usize,
        HashMap<BTreeSet<Cell>, Vec<WordedShape>, foldhash::fast::RandomState>,
        foldhash::fast::RandomState,
    > = HashMap::default();
    for ((caller_index, group_index), cells) in added {
        let (Some(caller), Some(group)) = (
            space.candidates.get(caller_index),
            space.groups.get(group_index),
        ) else {
            continue;
        };
        let Some(&first) = group.actions.first() else {
            continue;
        };
        // Callers alike have the same cells: their shapes are compressed and put into words
        // once.
        let known = shapes_of.entry(group_index).or_default();
        let shapes = match known.get(&cells) {
            Some(shapes) => shapes.clone(),
            None => {
                let domains = space.domains_of(group);
                let shapes: Vec<WordedShape> = compress(&cells, &domains)
                    .iter()
                    .filter_map(|shape| {
                        let example = cells.iter().find(|c| shape.covers(c))?;
                        Some((describe_condition(shape, &domains), example.values.clone()))
                    })
                    .collect();
                known.insert(cells.clone(), shapes.clone());
                shapes
            }
        };
        for (condition, example) in shapes {
            // An alias operation's condition says which aliases: its drafts never join an
            // action on the key's.
            let condition = match group.alias.and_then(|a| space.aliases.get(a)) {
                Some(alias) if condition == "always" => alias.words.clone(),
                Some(alias) => format!("{} and {condition}", alias.words),
                None => condition,
            };
            if let Some(draft) = index
                .get(&(caller_index, condition.clone()))
                .and_then(|&i| out.get_mut(i))
            {
                draft.actions.extend(group.actions.iter().copied());
                continue;
            }
            index.insert((caller_index, condition.clone()), out.len());
            let view = principals::describe(caller, &space.mentions);
            out.push(Draft {
                callers: vec![caller_index],
                kind: caller.kind,
                principal: view.principal,
                description: view.description,
                actions: group.actions.iter().copied().collect(),
                condition,
                region: Region {
                    group: group_index,
                    action: first,
                    caller: caller_index,
                    values: example,
                },
                class_of: view.class_of,
                public: caller.kind != PrincipalKind::Service
                    && caller
                        .account
                        .as_ref()
                        .is_some_and(|a| !space.mentions.names_account(a)),
            });
        }
    }
    out
}

/// A role's draft and its sessions' that agree on actions and condition become one draft for
/// the role and its sessions (the way a role calls), with a session's request as the witness.
fn merge_sessions(drafts: Vec<Draft>, space: &Space) -> Vec<Draft> {
    let caller = |d: &Draft| d.callers.first().and_then(|&c| space.candidates.get(c));
    let mut used = vec![false; drafts.len()];
    let mut out = Vec::new();
    // The session drafts, by their role's ARN.
    let mut by_role: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, d) in drafts.iter().enumerate() {
        if d.kind == PrincipalKind::Session
            && let Some(role) = caller(d).and_then(|c| c.role_arn.as_deref())
        {
            by_role.entry(role).or_default().push(j);
        }
    }
    for (i, role) in drafts.iter().enumerate() {
        if role.kind != PrincipalKind::Role || used.get(i).copied().unwrap_or(true) {
            continue;
        }
        let Some(role_caller) = caller(role) else {
            continue;
        };
        let sessions: Vec<usize> = by_role
            .get(role_caller.arn.as_str())
            .into_iter()
            .flatten()
            .filter_map(|&j| drafts.get(j).map(|d| (j, d)))
            .filter(|(j, d)| {
                d.kind == PrincipalKind::Session
                    && !used.get(*j).copied().unwrap_or(true)
                    && d.actions == role.actions
                    && d.condition == role.condition
                    && caller(d).and_then(|c| c.role_arn.as_ref()) == Some(&role_caller.arn)
            })
            .map(|(j, _)| j)
            .collect();
        let Some(witness) = sessions.first().and_then(|&j| drafts.get(j)) else {
            continue;
        };
        let description = if role.principal.ends_with('*') {
            format!("{}, and their sessions", role.description)
        } else {
            format!("{} and its sessions", role.description)
        };
        out.push(Draft {
            callers: witness.callers.clone(),
            region: witness.region.clone(),
            description,
            ..role.clone()
        });
        for j in sessions.into_iter().chain([i]) {
            if let Some(slot) = used.get_mut(j) {
                *slot = true;
            }
        }
    }
    out.extend(
        drafts
            .into_iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(d, _)| d),
    );
    out
}

/// The kinds that make up "every principal of an account".
const ACCOUNT_KINDS: [PrincipalKind; 5] = [
    PrincipalKind::Root,
    PrincipalKind::User,
    PrincipalKind::Role,
    PrincipalKind::Session,
    PrincipalKind::FederatedUser,
];

/// Drafts of one account's root user and unnamed classes of principals that agree on actions
/// and condition become one draft for every principal of the account.
fn merge_accounts(drafts: Vec<Draft>, space: &Space) -> Vec<Draft> {
    let mut merged: Vec<Draft> = Vec::new();
    let mut used = vec![false; drafts.len()];
    for (i, draft) in drafts.iter().enumerate() {
        let Some(account) = &draft.class_of else {
            continue;
        };
        if draft.kind != PrincipalKind::Root || used.get(i).copied().unwrap_or(true) {
            continue;
        }
        let members: Vec<usize> = drafts
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                d.class_of.as_ref() == Some(account)
                    && d.actions == draft.actions
                    && d.condition == draft.condition
            })
            .map(|(j, _)| j)
            .collect();
        let mut kinds: BTreeSet<PrincipalKind> = members
            .iter()
            .filter_map(|&j| drafts.get(j).map(|d| d.kind))
            .collect();
        // A role's draft whose witness is a session stands for the role and its sessions.
        if members.iter().filter_map(|&j| drafts.get(j)).any(|d| {
            d.kind == PrincipalKind::Role
                && d.callers
                    .first()
                    .and_then(|&c| space.candidates.get(c))
                    .is_some_and(|c| c.kind == PrincipalKind::Session)
        }) {
            kinds.insert(PrincipalKind::Session);
        }
        if !ACCOUNT_KINDS.iter().all(|k| kinds.contains(k)) {
            continue;
        }
        // The witness: a role session, the commonest caller, when there is one.
        let witness = members
            .iter()
            .filter_map(|&j| drafts.get(j))
            .find(|d| {
                d.callers
                    .first()
                    .and_then(|&c| space.candidates.get(c))
                    .is_some_and(|c| c.kind == PrincipalKind::Session)
            })
            .unwrap_or(draft);
        let named = space.mentions.names_account(account);
        let root = space
            .candidates
            .iter()
            .find(|c| c.kind == PrincipalKind::Root && c.account.as_ref() == Some(account))
            .map_or_else(|| draft.principal.clone(), |c| c.arn.clone());
        merged.push(Draft {
            callers: witness.callers.clone(),
            kind: PrincipalKind::Account,
            principal: if named { root } else { "*".to_owned() },
            description: if named {
                format!(
                    "every principal of account {account}: its root user, and its users, roles, role sessions and federated users that no policy names"
                )
            } else {
                "every principal of every account that no policy names (public)".to_owned()
            },
            actions: draft.actions.clone(),
            condition: draft.condition.clone(),
            region: witness.region.clone(),
            class_of: Some(account.clone()),
            public: !named,
        });
        for j in members {
            if let Some(slot) = used.get_mut(j) {
                *slot = true;
            }
        }
    }
    merged.extend(
        drafts
            .into_iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(d, _)| d),
    );
    merged
}

/// A draft with its witness confirmed by `authz` under both sides.
fn finding(
    draft: &Draft,
    space: &Space,
    (allowing, allowing_set): (&Side, &PolicySet),
    (denying, denying_set): (&Side, &PolicySet),
) -> Result<Finding, AnalysisError> {
    let caller: &Candidate = draft
        .callers
        .first()
        .and_then(|&c| space.candidates.get(c))
        .ok_or_else(|| AnalysisError::Bug("a finding without a caller".into()))?;
    let group = space
        .groups
        .get(draft.region.group)
        .ok_or_else(|| AnalysisError::Bug("a finding without its actions".into()))?;
    let request = space.request(&draft.region, caller, &space.domains_of(group))?;
    let mut witness = witness::witness(
        &request,
        caller,
        &space.key,
        allowing_set.identity_policies.is_none(),
        &space.mentions,
    );
    let (mut yes, mut no) =
        witness::confirm(&witness, (allowing, allowing_set), (denying, denying_set))?;
    // The assumed identity policy stays in the witness only when the allow relies on it.
    let relies_on_identity = yes
        .reasons
        .iter()
        .any(|r| matches!(r.source, Source::Policy(PolicySource::IdentityPolicy(_))));
    if !relies_on_identity
        && let Value::Object(members) = &mut witness
        && members.remove("identity_policies").is_some()
    {
        (yes, no) = witness::confirm(&witness, (allowing, allowing_set), (denying, denying_set))?;
    }
    let (statements, via) = paths(&yes, allowing);
    Ok(Finding {
        principal: draft.principal.clone(),
        kind: draft.kind,
        description: draft.description.clone(),
        actions: draft
            .actions
            .iter()
            .map(|a| a.qualified_name().to_owned())
            .collect(),
        condition: draft.condition.clone(),
        statements,
        via,
        witness,
        explanations: Explanations {
            allowed: yes.explanation,
            denied: no.explanation,
        },
        public: draft.public,
    })
}

/// The key-policy statements and the other sources that allowed, from the decision's reasons.
pub(crate) fn paths(decision: &Decision, side: &Side) -> (Vec<StatementRef>, Vec<String>) {
    let mut indices = Vec::new();
    let mut via = Vec::new();
    for reason in &decision.reasons {
        match &reason.source {
            Source::Policy(PolicySource::KeyPolicy) => indices.extend(reason.statement),
            Source::Policy(PolicySource::IdentityPolicy(i)) => {
                via.push(if side.set.identity_policies.is_none() {
                    "identity_policy:assumed".to_owned()
                } else {
                    format!("identity_policy:{i}")
                });
            }
            Source::Grant(id) => via.push(format!("grant:{id}")),
        }
    }
    indices.sort_unstable();
    indices.dedup();
    via.sort();
    via.dedup();
    let index = LineIndex::new(&side.set.key_policy);
    let statements = indices
        .into_iter()
        .filter_map(|i| {
            let statement = side.key_document.statements.get(i)?;
            let at = index.start(statement.span);
            Some(StatementRef {
                index: i,
                sid: statement.value.sid.as_ref().map(|s| s.value.clone()),
                line: at.line,
                column: at.column,
            })
        })
        .collect();
    (statements, via)
}

/// The residual condition of a shape, in words.
fn describe_condition(shape: &Shape, domains: &[&Domain]) -> String {
    let parts: Vec<String> = domains
        .iter()
        .zip(&shape.values)
        // A domain whose every value the shape takes constrains nothing.
        .filter_map(|(domain, values)| {
            values
                .as_ref()
                .filter(|v| v.len() < domain.values.len())
                .map(|v| domain.describe_any(v))
        })
        .collect();
    if parts.is_empty() {
        "always".to_owned()
    } else {
        parts.join(" and ")
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
    use crate::domain::Value as DomainValue;
    use proptest::prelude::*;

    fn domain(size: usize) -> Domain {
        Domain {
            key: "k".into(),
            label: "k".into(),
            context_name: None,
            values: (0..size).map(|i| DomainValue::One(i.to_string())).collect(),
            cells: (0..size).map(|i| format!("= {i}")).collect(),
            layers: vec![None; size],
        }
    }

    /// The domains free in `cells` as first written: every cell's every sibling along the
    /// domain looked up.
    fn free_by_lookup(cells: &BTreeSet<Cell>, sizes: &[usize]) -> Vec<bool> {
        let lookup: HashSet<&[usize]> = cells.iter().map(|c| c.values.as_slice()).collect();
        (0..sizes.len())
            .map(|k| {
                cells.iter().all(|c| {
                    (0..sizes[k]).all(|v| {
                        let mut other = c.values.clone();
                        other[k] = v;
                        lookup.contains(other.as_slice())
                    })
                })
            })
            .collect()
    }

    proptest! {
        /// The shapes cover the cells and nothing else, and a domain is dropped exactly when
        /// the cells are a product in it.
        #[test]
        fn compressed_shapes_are_exactly_the_cells(
            sizes in proptest::collection::vec(1usize..4, 1..4),
            picks in proptest::collection::vec(any::<bool>(), 64),
        ) {
            let domains: Vec<Domain> = sizes.iter().map(|&s| domain(s)).collect();
            let refs: Vec<&Domain> = domains.iter().collect();
            let mut all: Vec<Vec<usize>> = vec![Vec::new()];
            for &size in &sizes {
                all = all
                    .into_iter()
                    .flat_map(|p| (0..size).map(move |v| [p.clone(), vec![v]].concat()))
                    .collect();
            }
            let cells: BTreeSet<Cell> = all
                .iter()
                .zip(picks.iter().cycle())
                .filter(|(_, keep)| **keep)
                .map(|(values, _)| Cell { values: values.clone() })
                .collect();
            prop_assume!(!cells.is_empty());
            let shapes = compress(&cells, &refs);
            for point in &all {
                let cell = Cell { values: point.clone() };
                prop_assert_eq!(shapes.iter().any(|s| s.covers(&cell)), cells.contains(&cell));
            }
            let free = free_by_lookup(&cells, &sizes);
            for (k, free) in free.iter().enumerate() {
                prop_assert_eq!(shapes.iter().all(|s| s.values[k].is_none()), *free);
            }
        }
    }
}
