//! Who reaches the key at all, and with which actions: the engine's walk, stopped at the first
//! point allowed for each caller and group of actions. It gives no residual condition in
//! words, and so enumerates no point: a question answered fast enough for the linter, which
//! asks it of every policy it reads. Each answer's witness is made and confirmed by `authz` on
//! demand ([`Reach::witness`]).

use crate::AnalysisError;
use crate::diff::{StatementRef, paths};
use crate::mentions::Mentions;
use crate::principals::{self, PrincipalKind};
use crate::space::{KeyFacts, PolicySet, Region, Side, Space};
use crate::witness;
use keyward_authz::Verdict;
use keyward_policy::catalog::ActionId;
use keyward_policy::{PolicyDocument, PolicyKind, parse_and_validate};
use serde_json::Value;

/// What a reach asks.
#[derive(Debug, Clone, Default)]
pub struct ReachQuestion {
    /// The actions asked about; every action on a key when empty.
    pub actions: Vec<ActionId>,
    /// Callers of accounts no policy names (the [`Reached::public`] ones) belong to no
    /// organization: `aws:PrincipalOrgID` and `aws:PrincipalOrgPaths` are absent from their
    /// requests (the public-access question). The other callers may belong to any.
    pub strangers_outside_organizations: bool,
    /// Actions only ever called directly, never through an AWS service: `kms:ViaService` and
    /// the `aws:CalledVia*` keys are absent from their requests (no service calls, say,
    /// `kms:PutKeyPolicy` for its user, though the catalog lets the request carry the key).
    pub direct_actions: Vec<ActionId>,
}

/// One caller (a principal, or a class of them) that reaches the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    /// Its ARN when a policy names it, otherwise its class (as in a diff's findings).
    pub principal: String,
    /// What kind of principal.
    pub kind: PrincipalKind,
    /// The caller in words.
    pub description: String,
    /// Its account (none for a service).
    pub account: Option<String>,
    /// Whether it is of an account that no policy names (nor is the key's): anyone in AWS.
    pub public: bool,
    /// The actions allowed to it at some point, in catalog order.
    pub actions: Vec<ActionId>,
    /// The first point of each group of actions allowed, for its witness.
    regions: Vec<Region>,
    /// The engine's index of the caller.
    caller: usize,
}

/// A confirmed witness of a [`Reached`] caller's access.
#[derive(Debug, Clone, PartialEq)]
pub struct ReachWitness {
    /// A request in the `keyward authorize` format without the policies: completed with the
    /// set's, allowed.
    pub request: Value,
    /// The key-policy statements that allow it.
    pub statements: Vec<StatementRef>,
    /// The other sources that allow it (`grant:ID`, `identity_policy:assumed`, ...).
    pub via: Vec<String>,
    /// `authz`'s explanation.
    pub explanation: String,
}

/// Every caller a policy set lets reach the key, for a [`ReachQuestion`].
pub struct Reach {
    /// The callers allowed something, in the engine's order.
    pub reached: Vec<Reached>,
    /// How many callers (principals and classes) were decided.
    pub callers: usize,
    /// How many requests were decided.
    pub decided: usize,
    space: Space,
    side: Side,
}

impl std::fmt::Debug for Reach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reach")
            .field("reached", &self.reached)
            .field("callers", &self.callers)
            .field("decided", &self.decided)
            .finish_non_exhaustive()
    }
}

/// Who `set` lets reach `key`, and with which of the actions asked about. Exact over the
/// engine's fragment: whatever it cannot decide is an error that names it.
pub fn reach(
    set: &PolicySet,
    key: &KeyFacts,
    question: &ReachQuestion,
) -> Result<Reach, AnalysisError> {
    let key_document = parse_and_validate(&set.key_policy, PolicyKind::KeyPolicy)
        .map_err(|d| AnalysisError::Policy(format!("key policy: {d}")))?;
    reach_parsed(set, key_document, key, question)
}

/// As [`reach`], with `set`'s key policy already parsed and validated as a key policy
/// ([`parse_and_validate`]): a caller that has done so for its own checks (the linter) does
/// not do it again here. `key_document` must be `set.key_policy` parsed: the answers are
/// about it, and the witnesses carry `set.key_policy`'s text.
pub fn reach_parsed(
    set: &PolicySet,
    key_document: PolicyDocument,
    key: &KeyFacts,
    question: &ReachQuestion,
) -> Result<Reach, AnalysisError> {
    let mut mentions = Mentions::default();
    let side = Side::with_key_document(set, key_document, None, &[], &mut mentions)?;
    let asked: Vec<ActionId> = if question.actions.is_empty() {
        ActionId::on_a_key().collect()
    } else {
        question.actions.clone()
    };
    let mut space = Space::new(key, &[&side], mentions, Some(&asked))?;
    space.set_direct_actions(&question.direct_actions);
    space.strangers_outside_organizations = question.strangers_outside_organizations;
    let found = space.first_points(&[&side], 0, |caller, request| side.allows(caller, request))?;
    let mut reached: Vec<Reached> = Vec::new();
    for ((caller_index, group_index), region) in found.first {
        let (Some(caller), Some(group)) = (
            space.candidates.get(caller_index),
            space.groups.get(group_index),
        ) else {
            continue;
        };
        let actions = group.actions.iter().copied().filter(|a| asked.contains(a));
        match reached.iter_mut().find(|r| r.caller == caller_index) {
            Some(entry) => {
                entry.actions.extend(actions);
                entry.regions.push(region);
            }
            None => {
                let view = principals::describe(caller, &space.mentions);
                reached.push(Reached {
                    principal: view.principal,
                    kind: caller.kind,
                    description: view.description,
                    account: caller.account.clone(),
                    public: caller.kind != PrincipalKind::Service
                        && caller
                            .account
                            .as_ref()
                            .is_some_and(|a| !space.mentions.names_account(a)),
                    actions: actions.collect(),
                    regions: vec![region],
                    caller: caller_index,
                });
            }
        }
    }
    for entry in &mut reached {
        entry.actions.sort_unstable();
        entry.actions.dedup();
    }
    Ok(Reach {
        reached,
        callers: space.candidates.len(),
        decided: found.decided,
        space,
        side,
    })
}

impl Reach {
    /// A witness of each group of `reached`'s actions (actions the policies treat alike), with
    /// the group's actions asked about.
    pub fn witnesses(
        &self,
        reached: &Reached,
    ) -> Result<Vec<(Vec<ActionId>, ReachWitness)>, AnalysisError> {
        let mut out = Vec::new();
        for region in &reached.regions {
            let Some(group) = self.space.groups.get(region.group) else {
                continue;
            };
            let actions: Vec<ActionId> = group
                .actions
                .iter()
                .copied()
                .filter(|a| reached.actions.contains(a))
                .collect();
            if let Some(&first) = actions.first() {
                out.push((actions, self.witness(reached, first)?));
            }
        }
        Ok(out)
    }

    /// `authz`'s answer to `request` (a witness, in the request format without the policies)
    /// under the policy set: the witness when it is allowed.
    pub fn confirm(&self, request: &Value) -> Result<Option<ReachWitness>, AnalysisError> {
        let decision = witness::decide(request, &self.side, &self.side.set)?;
        if decision.verdict != Verdict::Allow {
            return Ok(None);
        }
        let (statements, via) = paths(&decision, &self.side);
        Ok(Some(ReachWitness {
            request: request.clone(),
            statements,
            via,
            explanation: decision.explanation,
        }))
    }

    /// A witness of `reached` calling `action` (one of its actions), confirmed by `authz`
    /// through the request format: the first point found for the action's group, with the
    /// action set to `action`.
    pub fn witness(
        &self,
        reached: &Reached,
        action: ActionId,
    ) -> Result<ReachWitness, AnalysisError> {
        let (region, group) = reached
            .regions
            .iter()
            .find_map(|r| {
                let group = self.space.groups.get(r.group)?;
                group.actions.contains(&action).then_some((r, group))
            })
            .ok_or_else(|| {
                AnalysisError::Input(format!(
                    "{} is not allowed {}",
                    reached.principal,
                    action.qualified_name()
                ))
            })?;
        let region = Region {
            action,
            ..region.clone()
        };
        self.witness_at(reached, &region, group)
    }

    /// Two witnesses of one principal of `reached`: calling one of `first`, and one of
    /// `second`, with the same principal facts (the `aws:Principal*` keys a policy reads of
    /// it: its tags, its organization). The second carries the first's facts. `None` when no
    /// principal of `reached` is allowed both: every point of each is decided, so this is
    /// exact, not a search of the first points alone.
    pub fn witnesses_together(
        &self,
        reached: &Reached,
        first: &[ActionId],
        second: &[ActionId],
    ) -> Result<Option<(ReachWitness, ReachWitness)>, AnalysisError> {
        let wanted: Vec<ActionId> = first.iter().chain(second).copied().collect();
        let found = self.space.points_of(
            &[&self.side],
            0,
            (reached.caller, &wanted),
            |caller, request| self.side.allows(caller, request),
        )?;
        // Each side's points as the facts they fix, once per distinct facts.
        let mut sides: [Vec<FactsAt>; 2] = [Vec::new(), Vec::new()];
        for ((_, g), points) in &found.points {
            let Some(group) = self.space.groups.get(*g) else {
                continue;
            };
            let domains = self.space.domains_of(group);
            let facts_at: Vec<(usize, String)> = domains
                .iter()
                .enumerate()
                .map(|(i, d)| (i, d.key.to_ascii_lowercase()))
                .filter(|(_, k)| k.starts_with("aws:principal"))
                .collect();
            for (side, actions) in sides.iter_mut().zip([first, second]) {
                let Some(&action) = group.actions.iter().find(|a| actions.contains(a)) else {
                    continue;
                };
                for point in points {
                    let facts: Vec<(String, usize)> = facts_at
                        .iter()
                        .filter_map(|(i, k)| point.get(*i).map(|v| (k.clone(), *v)))
                        .collect();
                    if !side.iter().any(|f| f.facts == facts) {
                        side.push(FactsAt {
                            facts,
                            region: Region {
                                group: *g,
                                action,
                                caller: reached.caller,
                                values: point.clone(),
                            },
                        });
                    }
                }
            }
        }
        let [firsts, seconds] = &sides;
        let Some((a, b)) = firsts
            .iter()
            .find_map(|a| seconds.iter().find(|b| a.agrees_with(b)).map(|b| (a, b)))
        else {
            return Ok(None);
        };
        let group = |r: &Region| {
            self.space
                .groups
                .get(r.group)
                .ok_or_else(|| AnalysisError::Bug("a group the engine lost".into()))
        };
        let first = self.witness_at(reached, &a.region, group(&a.region)?)?;
        let mut second = self.witness_at(reached, &b.region, group(&b.region)?)?;
        // The first's facts that the second's policies do not read, so that both are one
        // principal's.
        let facts = principal_facts(&first.request);
        if let Value::Object(members) = &mut second.request
            && !facts.is_empty()
        {
            let context = members
                .entry("context")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(context) = context {
                for (k, v) in facts {
                    context.entry(k).or_insert(v);
                }
            }
        }
        let second = self.confirm(&second.request)?.ok_or_else(|| {
            AnalysisError::Bug(format!(
                "a witness with the facts of another is not allowed: {}",
                second.request
            ))
        })?;
        Ok(Some((first, second)))
    }

    /// The witness of `reached` at `region` of `group`, confirmed by `authz`.
    fn witness_at(
        &self,
        reached: &Reached,
        region: &Region,
        group: &crate::space::ActionGroup,
    ) -> Result<ReachWitness, AnalysisError> {
        let caller = self
            .space
            .candidates
            .get(reached.caller)
            .ok_or_else(|| AnalysisError::Bug("a reached caller the engine lost".into()))?;
        let request = self
            .space
            .request(region, caller, &self.space.domains_of(group))?;
        let assumed = self.side.set.identity_policies.is_none();
        let mut request_json = witness::witness(
            &request,
            caller,
            &self.space.key,
            assumed,
            &self.space.mentions,
        );
        let mut decision = witness::decide(&request_json, &self.side, &self.side.set)?;
        // The assumed identity policy stays only when the allow relies on it.
        if assumed
            && decision.verdict == Verdict::Allow
            && !decision.reasons.iter().any(|r| {
                matches!(
                    r.source,
                    keyward_authz::Source::Policy(keyward_authz::PolicySource::IdentityPolicy(_))
                )
            })
            && let Value::Object(members) = &mut request_json
            && members.remove("identity_policies").is_some()
        {
            decision = witness::decide(&request_json, &self.side, &self.side.set)?;
        }
        if decision.verdict != Verdict::Allow {
            return Err(AnalysisError::Bug(format!(
                "a reach witness is not allowed ({}): {request_json}",
                decision.explanation
            )));
        }
        let (statements, via) = paths(&decision, &self.side);
        Ok(ReachWitness {
            request: request_json,
            statements,
            via,
            explanation: decision.explanation,
        })
    }
}

/// A point of one side of [`Reach::witnesses_together`], with the principal facts it fixes.
struct FactsAt {
    /// Folded key and value index, for each principal fact its group reads.
    facts: Vec<(String, usize)>,
    region: Region,
}

impl FactsAt {
    /// Whether one principal can have both: they agree on every fact both read.
    fn agrees_with(&self, other: &Self) -> bool {
        self.facts
            .iter()
            .all(|(k, v)| other.facts.iter().all(|(ok, ov)| ok != k || ov == v))
    }
}

/// The facts about the principal in a witness (a request in the `keyward authorize` format):
/// its `context` keys that start with `aws:Principal` (its tags, its organization). Two
/// witnesses of one principal agree on them.
pub fn principal_facts(request: &Value) -> std::collections::BTreeMap<String, Value> {
    match request.get("context") {
        Some(Value::Object(keys)) => keys
            .iter()
            .filter(|(k, _)| k.to_ascii_lowercase().starts_with("aws:principal"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        _ => std::collections::BTreeMap::new(),
    }
}
