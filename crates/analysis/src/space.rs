//! The request space of a comparison, cut into regions: the actions grouped by which
//! statements and grants can apply to them, the callers one per principal cell, and the
//! request's condition keys one value per cell. Every region is decided by `authz` on its
//! representative request, under each side; since no policy tells two requests of a region
//! apart, that decision is the region's.

use crate::AnalysisError;
use crate::aliases::AliasCell;
use crate::boundary::Boundary;
use crate::classes::{self, Bits, Classes, Conditions, of_the_context};
use crate::domain::{Domain, Value, context_domain, domain, predicate};
use crate::glob::{self, Glob, Predicate};
use crate::mentions::{KeyTests, Mentions, StatementKeys};
use crate::principals::{self, Candidate, PRINCIPAL_KEYS, PrincipalKind};
use crate::scp::{Guardrails, NamedPolicy, ServiceControlPolicies};
use keyward_authz::{Authorizer, Covering, KeyAttributes, Request, Verdict};
use keyward_conditions::condition::equal_ignoring_case;
use keyward_conditions::{CompiledPolicy, KeyTest};
use keyward_grants::Grant;
use keyward_grants::resolver::GrantSet;
use keyward_policy::catalog::{
    self, ActionId, ActionSet, AllowPlacement, CrossAccount, ResourceScope,
};
use keyward_policy::{PolicyDocument, PolicyKind, parse_and_validate};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

/// The actions whose requests carry an encryption context ([`ActionId::sets_key`]), found
/// once.
fn carries_encryption_context() -> ActionSet {
    static SET: OnceLock<ActionSet> = OnceLock::new();
    *SET.get_or_init(|| {
        ActionId::all()
            .filter(|a| a.sets_key("kms:EncryptionContextKeys"))
            .fold(ActionSet::EMPTY, ActionSet::with)
    })
}

/// A key and its properties, as requests on it see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// The key's ARN.
    pub arn: String,
    /// `kms:KeySpec`.
    pub spec: String,
    /// `kms:KeyUsage`.
    pub usage: String,
    /// `kms:KeyOrigin`.
    pub origin: String,
    /// `kms:MultiRegion`.
    pub multi_region: bool,
    /// `kms:ResourceAliases`.
    pub aliases: Vec<String>,
    /// `aws:ResourceTag/*`.
    pub tags: BTreeMap<String, String>,
}

impl KeyFacts {
    /// A symmetric encryption key of origin `AWS_KMS` with no aliases or tags.
    pub fn symmetric(arn: &str) -> Self {
        Self {
            arn: arn.to_owned(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            origin: "AWS_KMS".into(),
            multi_region: false,
            aliases: Vec::new(),
            tags: BTreeMap::new(),
        }
    }

    pub(crate) fn attributes(&self) -> KeyAttributes<'_> {
        KeyAttributes {
            spec: &self.spec,
            usage: &self.usage,
            origin: &self.origin,
            multi_region: self.multi_region,
            multi_region_key_type: None,
            aliases: &self.aliases,
            tags: &self.tags,
        }
    }
}

/// One side of a comparison: a key policy and what stands beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySet {
    /// The key policy's text.
    pub key_policy: String,
    /// The callers' identity policies, the same for every IAM principal. `None`: every IAM
    /// principal is assumed to be allowed by its own identity policies (as IAM Access Analyzer
    /// assumes), and a witness that relies on it carries the policy assumed.
    pub identity_policies: Option<Vec<String>>,
    /// The key's grants.
    pub grants: Vec<Grant>,
}

/// The identity policy assumed for a caller when none is given.
pub(crate) const ASSUMED_IDENTITY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AssumedByTheAnalysis","Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

/// The identity policy `text`, the `i`th of its set, parsed, validated and compiled. The
/// [`ASSUMED_IDENTITY_POLICY`] is compiled once for the process.
fn identity_policy(
    text: &str,
    i: usize,
) -> Result<(Cow<'static, PolicyDocument>, CompiledPolicy), AnalysisError> {
    static ASSUMED: OnceLock<Result<(PolicyDocument, CompiledPolicy), AnalysisError>> =
        OnceLock::new();
    let compile = |text: &str| {
        let document = parse_and_validate(text, PolicyKind::IdentityPolicy)
            .map_err(|d| AnalysisError::Policy(format!("identity policy {i}: {d}")))?;
        let policy = CompiledPolicy::from_document(&document, PolicyKind::IdentityPolicy)
            .map_err(|d| AnalysisError::Policy(format!("identity policy {i}: {d}")))?;
        Ok((document, policy))
    };
    if i == 0 && text == ASSUMED_IDENTITY_POLICY {
        let (document, policy) = ASSUMED
            .get_or_init(|| compile(ASSUMED_IDENTITY_POLICY))
            .as_ref()
            .map_err(Clone::clone)?;
        return Ok((Cow::Borrowed(document), policy.clone()));
    }
    let (document, policy) = compile(text)?;
    Ok((Cow::Owned(document), policy))
}

/// Principals with identity policies of their own, which stand, for them, for the side's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallerPolicies {
    /// The principals' ARNs (a role's: with its path; its sessions follow it).
    pub(crate) callers: Vec<String>,
    /// Their identity policies.
    pub(crate) texts: Vec<String>,
    /// Their permissions boundary.
    pub(crate) boundary: Option<NamedPolicy>,
}

/// One set of identity policies compiled: its policies' places among the side's, and the
/// authorizer with them.
#[derive(Debug)]
struct IdentitySet {
    /// Per policy of the side (by place), whether it is in this set.
    member: Vec<bool>,
    iam: Authorizer,
    /// The set's permissions boundary, by place among the side's.
    boundary: Option<usize>,
}

/// A side compiled: its documents, its authorizers, and the keys each statement reads.
#[derive(Debug)]
pub(crate) struct Side {
    pub(crate) set: PolicySet,
    pub(crate) key_document: PolicyDocument,
    key_policy: Arc<CompiledPolicy>,
    /// Every identity policy of every set, by place: the side's own (given or assumed) first,
    /// then each caller set's.
    identity: Vec<CompiledPolicy>,
    /// The sets: 0 the side's own, for every IAM principal not in another; then one per
    /// [`CallerPolicies`].
    sets: Vec<IdentitySet>,
    /// The set of each principal that has its own.
    set_of: HashMap<String, usize>,
    /// Without identity policies, for services.
    without_identity: Authorizer,
    key_keys: StatementKeys,
    identity_keys: Vec<StatementKeys>,
    /// The organization's SCPs over the callers they govern (none: nothing beyond `authz`).
    guardrails: Guardrails,
    /// The permissions boundaries of the caller sets, each once.
    boundaries: Vec<Boundary>,
}

impl Side {
    /// A side whose callers are also governed by `scps`, and whose `callers` have identity
    /// policies of their own.
    pub(crate) fn governed(
        set: &PolicySet,
        scps: Option<&ServiceControlPolicies>,
        callers: &[CallerPolicies],
        mentions: &mut Mentions,
    ) -> Result<Self, AnalysisError> {
        let key_document = parse_and_validate(&set.key_policy, PolicyKind::KeyPolicy)
            .map_err(|d| AnalysisError::Policy(format!("key policy: {d}")))?;
        Self::with_key_document(set, key_document, scps, callers, mentions)
    }

    /// As [`governed`](Self::governed), with `set`'s key policy already parsed and validated
    /// as a key policy ([`parse_and_validate`]), which its caller has done once for its own
    /// checks.
    pub(crate) fn with_key_document(
        set: &PolicySet,
        key_document: PolicyDocument,
        scps: Option<&ServiceControlPolicies>,
        callers: &[CallerPolicies],
        mentions: &mut Mentions,
    ) -> Result<Self, AnalysisError> {
        let key_policy = Arc::new(
            CompiledPolicy::from_document(&key_document, PolicyKind::KeyPolicy)
                .map_err(|d| AnalysisError::Policy(format!("key policy: {d}")))?,
        );
        let key_keys = mentions.add_policy(&key_document)?;
        let own: Vec<&str> = match &set.identity_policies {
            Some(texts) => texts.iter().map(String::as_str).collect(),
            None => vec![ASSUMED_IDENTITY_POLICY],
        };
        let mut identity = Vec::new();
        let mut identity_keys = Vec::new();
        let mut places: Vec<Vec<usize>> = Vec::new();
        // A text at a position is compiled once, however many sets hold it there.
        let mut compiled: HashMap<(&str, usize), usize> = HashMap::new();
        for texts in std::iter::once(own).chain(
            callers
                .iter()
                .map(|c| c.texts.iter().map(String::as_str).collect()),
        ) {
            let mut set_places = Vec::new();
            for (i, text) in texts.iter().enumerate() {
                if let Some(&place) = compiled.get(&(*text, i)) {
                    set_places.push(place);
                    continue;
                }
                let (document, policy) = identity_policy(text, i)?;
                identity_keys.push(mentions.add_policy(&document)?);
                compiled.insert((*text, i), identity.len());
                set_places.push(identity.len());
                identity.push(policy);
            }
            places.push(set_places);
        }
        mentions.add_grants(&set.grants);
        let grants = Arc::new(GrantSet::new(set.grants.clone()));
        let mut boundaries: Vec<Boundary> = Vec::new();
        let mut boundary_place: HashMap<&str, usize> = HashMap::new();
        let mut boundary_of_set: Vec<Option<usize>> = vec![None];
        for c in callers {
            boundary_of_set.push(match &c.boundary {
                Some(b) => Some(match boundary_place.get(b.text.as_str()) {
                    Some(&place) => place,
                    None => {
                        boundaries.push(Boundary::new(&b.name, &b.text, mentions)?);
                        boundary_place.insert(&b.text, boundaries.len() - 1);
                        boundaries.len() - 1
                    }
                }),
                None => None,
            });
        }
        let sets = places
            .iter()
            .zip(&boundary_of_set)
            .map(|(set_places, &boundary)| {
                let mut member = vec![false; identity.len()];
                let mut policies = Vec::new();
                for &p in set_places {
                    if let (Some(slot), Some(policy)) = (member.get_mut(p), identity.get(p)) {
                        *slot = true;
                        policies.push(policy.clone());
                    }
                }
                IdentitySet {
                    member,
                    iam: Authorizer::from_parts(
                        Some(Arc::clone(&key_policy)),
                        policies.into(),
                        Arc::clone(&grants),
                    ),
                    boundary,
                }
            })
            .collect();
        let set_of = callers
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c.callers.iter().map(move |arn| (arn.clone(), i + 1)))
            .collect();
        let without_identity =
            Authorizer::from_parts(Some(Arc::clone(&key_policy)), Arc::default(), grants);
        Ok(Self {
            set: set.clone(),
            key_document,
            key_policy,
            identity,
            sets,
            set_of,
            without_identity,
            key_keys,
            identity_keys,
            guardrails: match scps {
                Some(scps) => Guardrails::new(scps, mentions)?,
                None => Guardrails::default(),
            },
            boundaries,
        })
    }

    /// The identity set of a caller: its own, or its role's, or the side's.
    fn set(&self, arn: &str, role_arn: Option<&str>) -> Option<&IdentitySet> {
        let index = self
            .set_of
            .get(arn)
            .or_else(|| role_arn.and_then(|r| self.set_of.get(r)))
            .copied()
            .unwrap_or(0);
        self.sets.get(index)
    }

    /// Whether a caller has identity policies of its own.
    pub(crate) fn has_own_policies(&self, arn: &str, role_arn: Option<&str>) -> bool {
        self.set_of.contains_key(arn) || role_arn.is_some_and(|r| self.set_of.contains_key(r))
    }

    /// The authorizer for `caller`: services have no identity policies; a principal with
    /// policies of its own has them.
    pub(crate) fn authorizer(&self, caller: &Candidate) -> &Authorizer {
        if caller.kind == PrincipalKind::Service {
            return &self.without_identity;
        }
        self.set(&caller.arn, caller.role_arn.as_deref())
            .map_or(&self.without_identity, |s| &s.iam)
    }

    /// Which identity policies (by place) apply to `caller`.
    pub(crate) fn identity_of(&self, caller: &Candidate) -> &[bool] {
        if caller.kind == PrincipalKind::Service {
            return &[];
        }
        self.set(&caller.arn, caller.role_arn.as_deref())
            .map_or(&[], |s| s.member.as_slice())
    }

    /// The permissions boundary of the caller of `request`, when it has one.
    fn boundary(&self, request: &Request) -> Option<(&IdentitySet, &Boundary)> {
        if matches!(
            request.caller(),
            Some(keyward_policy::principal::Principal::Service { .. })
        ) {
            return None;
        }
        let set = self.set(&request.principal, request.principal_role_arn.as_deref())?;
        let boundary = self.boundaries.get(set.boundary?)?;
        Some((set, boundary))
    }

    /// Whether `request` by `caller` is allowed.
    pub(crate) fn allows(&self, caller: &Candidate, request: &Request) -> bool {
        let Some((set, boundary)) = self.boundary(request) else {
            return self.authorizer(caller).verdict(request) == Verdict::Allow
                && self.guardrails.refusal(request).is_none();
        };
        let judgement = set.iam.judge(request);
        judgement.verdict == Verdict::Allow
            && self.guardrails.refusal(request).is_none()
            && boundary
                .refusal(request, &judgement.reasons, &self.key_policy)
                .is_none()
    }

    /// The decision on `request`, with its explanation, under the key policy and grants, and
    /// the identity policies (given or assumed) when `with_identity`; a caller with policies
    /// of its own is decided with them.
    /// An allow that the SCPs refuse becomes a denial that says why.
    pub(crate) fn decide(&self, with_identity: bool, request: &Request) -> keyward_authz::Decision {
        let own = self.has_own_policies(&request.principal, request.principal_role_arn.as_deref());
        let mut decision = match self.set(&request.principal, request.principal_role_arn.as_deref())
        {
            Some(set) if with_identity || own => set.iam.decide(request),
            _ => self.without_identity.decide(request),
        };
        if decision.verdict == Verdict::Allow
            && let Some(refusal) = self.guardrails.refusal(request)
        {
            decision.verdict = if refusal.starts_with("denied") {
                Verdict::ExplicitDeny
            } else {
                Verdict::ImplicitDeny
            };
            decision.explanation = scp_words(&refusal, &decision.explanation);
            decision.reasons.clear();
        }
        if decision.verdict == Verdict::Allow
            && let Some((_, boundary)) = self.boundary(request)
            && let Some(refusal) = boundary.refusal(request, &decision.reasons, &self.key_policy)
        {
            decision.verdict = if refusal.starts_with("denied") {
                Verdict::ExplicitDeny
            } else {
                Verdict::ImplicitDeny
            };
            decision.explanation = scp_words(&refusal, &decision.explanation);
            decision.reasons.clear();
        }
        decision
    }

    /// Why the organization's SCPs or RCPs, or the caller's permissions boundary, refuse
    /// `request`, when they do.
    pub(crate) fn scp_refusal(&self, request: &Request) -> Option<String> {
        if let Some(refusal) = self.guardrails.refusal(request) {
            return Some(refusal);
        }
        let (set, boundary) = self.boundary(request)?;
        let judgement = set.iam.judge(request);
        if judgement.verdict != Verdict::Allow {
            return None;
        }
        boundary.refusal(request, &judgement.reasons, &self.key_policy)
    }

    /// Every statement of the key policy and the identity policies that has a condition, at
    /// its place in signatures, with its tests as `authz` compiled them.
    pub(crate) fn conditions(&self) -> impl Iterator<Item = ((u8, usize, usize), &[KeyTest])> {
        let key = self.key_policy.statements().iter().filter_map(|s| {
            self.key_policy
                .condition(s)
                .map(|c| ((0u8, 0usize, s.index), c.tests()))
        });
        let identity = self.identity.iter().enumerate().flat_map(|(i, policy)| {
            policy
                .statements()
                .iter()
                .filter_map(move |s| policy.condition(s).map(|c| ((1u8, i, s.index), c.tests())))
        });
        let boundaries = self
            .boundaries
            .iter()
            .enumerate()
            .flat_map(|(place, b)| b.conditions(place));
        key.chain(identity)
            .chain(self.guardrails.conditions())
            .chain(boundaries)
    }

    /// Whether anything in `signature` could allow a caller that `covering` describes: an
    /// `Allow` statement of the key policy that names it, or a grant that does. Without one,
    /// `authz` allows none of its requests for the signature's actions, except RetireGrant
    /// (allowed to the key's account through IAM alone).
    pub(crate) fn could_allow(&self, signature: &Signature, covering: &Covering) -> bool {
        signature
            .iter()
            .any(|&(source, i, statement)| match source {
                0 => {
                    covering.key_policy.get(statement).copied().unwrap_or(true)
                        && self
                            .key_policy
                            .statements()
                            .get(statement)
                            .is_none_or(|s| s.effect == keyward_policy::Effect::Allow)
                }
                2 => covering.grants.get(i).copied().unwrap_or(true),
                _ => false,
            })
    }

    /// Which statements and grants can apply to `action`: its signature for grouping actions.
    fn signature(&self, action: ActionId) -> Signature {
        let mut out: Vec<(u8, usize, usize)> = self
            .key_policy
            .statements_for(action)
            .map(|s| (0, 0, s.index))
            .collect();
        for (i, policy) in self.identity.iter().enumerate() {
            out.extend(policy.statements_for(action).map(|s| (1, i, s.index)));
        }
        out.extend(
            self.set
                .grants
                .iter()
                .enumerate()
                .filter(|(_, g)| g.operations.contains(action))
                .map(|(i, _)| (2, i, 0)),
        );
        self.guardrails.signature(action, &mut out);
        for (place, b) in self.boundaries.iter().enumerate() {
            b.signature(place, action, &mut out);
        }
        out
    }

    /// The keys the statements of `signature` read.
    fn keys_of(&self, signature: &[(u8, usize, usize)], into: &mut BTreeSet<String>) {
        for &(source, policy, statement) in signature {
            let keys = match source {
                0 => self.key_keys.get(statement),
                1 => self
                    .identity_keys
                    .get(policy)
                    .and_then(|k| k.get(statement)),
                3 => self.guardrails.keys(policy, statement),
                4 => self.boundaries.get(policy).and_then(|b| b.keys(statement)),
                _ => None,
            };
            into.extend(keys.into_iter().flatten().cloned());
        }
    }
}

/// A decision that the organization's SCPs or RCPs, or the caller's permissions boundary,
/// overturn, in words: their refusal, then what the key's and the caller's policies said.
pub(crate) fn scp_words(refusal: &str, explanation: &str) -> String {
    let by = if refusal.contains("permissions boundary") {
        "the caller's permissions boundary"
    } else {
        "the organization's policies"
    };
    format!(
        "Refused by {by}: {refusal}. Without {}: {}",
        if by.ends_with("boundary") {
            "it"
        } else {
            "them"
        },
        explanation.trim_end()
    )
}

/// The statements and grants that can apply to an action, on one side: (source, policy,
/// statement) with source 0 the key policy, 1 an identity policy, 2 a grant, 3 an SCP or RCP,
/// 4 a permissions boundary.
pub(crate) type Signature = Vec<(u8, usize, usize)>;

/// Actions that the same statements and grants can apply to, decided alike.
#[derive(Debug, Clone)]
pub(crate) struct ActionGroup {
    pub(crate) actions: Vec<ActionId>,
    /// The free condition keys the group's statements read (folded names), in order.
    pub(crate) keys: Vec<String>,
    /// Whether the encryption context matters.
    pub(crate) context: bool,
    /// The action's other traits `authz` reads.
    traits: (AllowPlacement, CrossAccount, bool),
    /// The statements and grants that can apply, on each side.
    signatures: Vec<Signature>,
    /// For alias operations: the cell of aliases its requests name ([`Space::aliases`]).
    pub(crate) alias: Option<usize>,
}

/// The request space of a comparison.
#[derive(Debug)]
pub(crate) struct Space {
    pub(crate) key: KeyFacts,
    /// The key's condition keys, shared by every request.
    key_layer: Arc<keyward_conditions::RequestContext>,
    pub(crate) candidates: Vec<Candidate>,
    pub(crate) domains: BTreeMap<String, Domain>,
    /// The encryption context: one domain per cell of pair keys, each absent or a value of
    /// each of its cells.
    pub(crate) context: Vec<Domain>,
    pub(crate) groups: Vec<ActionGroup>,
    /// The cells of the aliases an alias operation may name.
    pub(crate) aliases: Vec<AliasCell>,
    pub(crate) mentions: Mentions,
    /// When set, the only callers decided: these principals, and the sessions of these roles.
    pub(crate) only: Option<BTreeSet<String>>,
    /// Actions only ever called directly, never through an AWS service: the keys a service
    /// sets ([`VIA_SERVICE_KEYS`]) are absent from their requests. Groups are split so that
    /// none mixes them with other actions ([`Space::set_direct_actions`]).
    pub(crate) direct: Vec<ActionId>,
    /// Whether callers of accounts no policy names belong to no organization: the public
    /// access question (`aws:PrincipalOrgID` and `aws:PrincipalOrgPaths` absent).
    pub(crate) strangers_outside_organizations: bool,
}

/// The keys (folded) only a call through an AWS service carries.
pub(crate) const VIA_SERVICE_KEYS: &[&str] = &[
    "kms:viaservice",
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
];

/// The keys (folded) only a member of an organization carries.
const ORGANIZATION_KEYS: &[&str] = &["aws:principalorgid", "aws:principalorgpaths"];

/// Keys whose value comes from the key's properties.
pub(crate) fn is_key_property(folded: &str) -> bool {
    matches!(
        folded,
        "kms:keyspec"
            | "kms:customermasterkeyspec"
            | "kms:keyusage"
            | "kms:customermasterkeyusage"
            | "kms:keyorigin"
            | "kms:multiregion"
            | "kms:resourcealiases"
    ) || folded.starts_with("aws:resourcetag/")
}

/// The hasher of the tables of bit vectors.
type Hasher = foldhash::fast::RandomState;

/// The most combinations of the encryption context's cells the analysis enumerates.
const MAX_CONTEXTS: usize = 100_000;

/// The most distinct vectors of conditions one group of actions may have.
const MAX_VECTORS: usize = 20_000;

/// The points a walk picked, by (caller, group), and how many requests it decided.
#[derive(Debug, Default)]
pub(crate) struct Points {
    /// Sorted, without repeats.
    pub(crate) points: BTreeMap<(usize, usize), Vec<Vec<usize>>>,
    /// For [`Space::first_points`]: the first picked point of each (caller, group).
    pub(crate) first: BTreeMap<(usize, usize), Region>,
    pub(crate) decided: usize,
}

impl Space {
    /// The space of every action involving the key, or of the `asked` ones alone.
    pub(crate) fn new(
        key: &KeyFacts,
        sides: &[&Side],
        mentions: Mentions,
        asked: Option<&[ActionId]>,
    ) -> Result<Self, AnalysisError> {
        let mut mentions = mentions;
        if let Some(account) = crate::mentions::account_of(&key.arn) {
            mentions.accounts.insert(account.to_owned());
        }
        let partition = keyward_policy::arn::Arn::parse(&key.arn)
            .map(|a| a.partition.to_owned())
            .ok_or_else(|| AnalysisError::Input(format!("{} is not a key ARN", key.arn)))?;
        let candidates = principals::candidates(&mentions, &partition)?;
        let asked: ActionSet = match asked {
            Some(asked) => asked
                .iter()
                .copied()
                .fold(ActionSet::EMPTY, ActionSet::with),
            None => ActionSet::all(),
        };
        // The aliases are cut only when an alias operation is asked about.
        let aliases = if asked.iter().any(crate::aliases::is_alias_operation) {
            crate::aliases::cells(&mentions, key)?
        } else {
            Vec::new()
        };
        let alias_cells: Vec<Option<usize>> = (0..aliases.len()).map(Some).collect();
        let mut groups: Vec<ActionGroup> = Vec::new();
        for action in asked.iter() {
            // An action on a key is one group; an alias operation one per cell of aliases.
            let cells: &[Option<usize>] = match action.info().resource {
                ResourceScope::Key => &[None],
                ResourceScope::AliasAndKey => &alias_cells,
                ResourceScope::NoResource => continue,
            };
            let signature: Vec<Signature> = sides.iter().map(|s| s.signature(action)).collect();
            // The keys the applicable statements read that a request for the action can carry
            // (any other is absent from every such request).
            let mut read = BTreeSet::new();
            for (side, sig) in sides.iter().zip(&signature) {
                side.keys_of(sig, &mut read);
            }
            let grants = signature.iter().flatten().any(|(source, ..)| *source == 2);
            let context = carries_encryption_context().contains(action)
                && (grants || read.iter().any(|k| of_the_context(k)));
            let keys: Vec<String> = read
                .into_iter()
                .filter(|k| {
                    !PRINCIPAL_KEYS.contains(&k.as_str())
                        && !is_key_property(k)
                        && !of_the_context(k)
                        && action.sets_key(k)
                })
                .collect();
            // Everything else `authz` reads of the action: where its allow may live, whether
            // it works across accounts, whether grant constraints apply to it.
            let info = action.info();
            let traits = (
                info.allow_in,
                info.cross_account,
                Grant::constraint_applies_to(action),
            );
            for &alias in cells {
                match groups.iter_mut().find(|g| {
                    g.alias == alias
                        && g.signatures == signature
                        && g.keys == keys
                        && g.context == context
                        && g.traits == traits
                }) {
                    Some(group) => group.actions.push(action),
                    None => groups.push(ActionGroup {
                        actions: vec![action],
                        keys: keys.clone(),
                        context,
                        traits,
                        signatures: signature.clone(),
                        alias,
                    }),
                }
            }
        }
        let mut domains = BTreeMap::new();
        for key in groups.iter().flat_map(|g| g.keys.iter()) {
            if domains.contains_key(key) {
                continue;
            }
            if matches!(key.as_str(), "aws:userid" | "aws:username") {
                return Err(AnalysisError::Unsupported(format!(
                    "{key}: the analysis does not derive it from the principal yet"
                )));
            }
            let Some(tests) = mentions.keys.get(key) else {
                continue;
            };
            let multivalued = catalog::condition_key(key).is_some_and(|k| k.is_multivalued());
            domains.insert(key.clone(), domain(tests, multivalued)?);
        }
        let context = if groups.iter().any(|g| g.context) {
            context_domains(&mentions)?
        } else {
            Vec::new()
        };
        let mut key_layer = keyward_conditions::RequestContext::new();
        keyward_authz::insert_key(&mut key_layer, &key.attributes());
        Ok(Self {
            key: key.clone(),
            key_layer: Arc::new(key_layer),
            candidates,
            domains,
            context,
            groups,
            aliases,
            mentions,
            only: None,
            direct: Vec::new(),
            strangers_outside_organizations: false,
        })
    }

    /// Makes `direct` the actions only ever called directly, splitting every group that
    /// mixes them with others (each part is decided on its own, as a group of one would be).
    pub(crate) fn set_direct_actions(&mut self, direct: &[ActionId]) {
        let mut groups = Vec::with_capacity(self.groups.len());
        for group in std::mem::take(&mut self.groups) {
            let (inside, outside): (Vec<ActionId>, Vec<ActionId>) =
                group.actions.iter().partition(|a| direct.contains(a));
            for actions in [inside, outside] {
                if !actions.is_empty() {
                    groups.push(ActionGroup {
                        actions,
                        ..group.clone()
                    });
                }
            }
        }
        self.groups = groups;
        self.direct = direct.to_vec();
    }

    /// Every point of every group that `wanted` picks, by caller and group, each point a value
    /// of each of the group's domains (by position in [`Space::domains_of`]); and how many
    /// requests were decided. `wanted` is asked only where the side `must_allow` can allow,
    /// and must pick no point that side denies. `wanted` gets the caller and the request of the group's
    /// first action at one point of each distinct vector of conditions
    /// ([`crate::classes`]): every action of a group is decided alike at a point (the same
    /// statements and grants apply, and `authz` reads nothing else of the action), and every
    /// point of a vector alike, so one decision stands for all of them.
    pub(crate) fn points(
        &self,
        sides: &[&Side],
        must_allow: usize,
        wanted: impl FnMut(&Candidate, &Request) -> bool,
    ) -> Result<Points, AnalysisError> {
        self.walk(sides, must_allow, (false, None), wanted)
    }

    /// As [`Space::points`], but only whether each (caller, group) has a point `wanted` picks,
    /// and the first one ([`Points::first`]): the walk of a caller and group stops there, and
    /// no point is enumerated.
    pub(crate) fn first_points(
        &self,
        sides: &[&Side],
        must_allow: usize,
        wanted: impl FnMut(&Candidate, &Request) -> bool,
    ) -> Result<Points, AnalysisError> {
        self.walk(sides, must_allow, (true, None), wanted)
    }

    /// As [`Space::points`], for the one caller `caller` (by index) and the groups with one of
    /// `actions` alone.
    pub(crate) fn points_of(
        &self,
        sides: &[&Side],
        must_allow: usize,
        (caller, actions): (usize, &[ActionId]),
        wanted: impl FnMut(&Candidate, &Request) -> bool,
    ) -> Result<Points, AnalysisError> {
        self.walk(sides, must_allow, (false, Some((caller, actions))), wanted)
    }

    /// The walk of [`Space::points`]: with `first_only`, each caller and group's first point
    /// alone; with `focus`, one caller (by index) and the groups with one of its actions.
    fn walk(
        &self,
        sides: &[&Side],
        must_allow: usize,
        (first_only, focus): (bool, Option<(usize, &[ActionId])>),
        mut wanted: impl FnMut(&Candidate, &Request) -> bool,
    ) -> Result<Points, AnalysisError> {
        let mut out = Points::default();
        let Some(any) = self.groups.first().and_then(|g| g.actions.first()) else {
            return Ok(out);
        };
        let conditions = Conditions::new(sides);
        let key_vectors: BTreeMap<&str, Vec<Bits>> = self
            .domains
            .iter()
            .map(|(k, d)| (k.as_str(), classes::key_vectors(&conditions, d)))
            .collect();
        let context_vectors = if self.groups.iter().any(|g| g.context) {
            classes::context_vectors(&conditions, &self.context, MAX_CONTEXTS).ok_or_else(|| {
                AnalysisError::Unsupported(format!(
                    "the encryption context's keys {} take more than {MAX_CONTEXTS} combinations of cells",
                    self.context
                        .iter()
                        .map(|d| d.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?
        } else {
            Vec::new()
        };
        let bases = self
            .candidates
            .iter()
            .map(|c| self.base(c, *any))
            .collect::<Result<Vec<Base>, AnalysisError>>()?;
        // Per caller: the statements and grants that name it, on either side; the others
        // cannot tell its requests apart.
        let by_side: Vec<Vec<keyward_authz::Covering>> = bases
            .iter()
            .zip(&self.candidates)
            .map(|(base, candidate)| {
                sides
                    .iter()
                    .map(|s| s.authorizer(candidate).covering(&base.request))
                    .collect()
            })
            .collect();
        let covering: Vec<Bits> = by_side
            .iter()
            .zip(&self.candidates)
            .map(|(c, candidate)| {
                let identity: Vec<&[bool]> =
                    sides.iter().map(|s| s.identity_of(candidate)).collect();
                conditions.covering(c, &identity)
            })
            .collect();
        // The callers of accounts no policy names, when they are taken to be in no
        // organization.
        let strangers: Vec<bool> = self
            .candidates
            .iter()
            .map(|c| {
                self.strangers_outside_organizations
                    && c.kind != PrincipalKind::Service
                    && c.account
                        .as_ref()
                        .is_some_and(|a| !self.mentions.names_account(a))
            })
            .collect();
        // One request per caller, made on its first point and rewritten point by point after.
        let mut requests: Vec<Option<Request>> = vec![None; self.candidates.len()];
        for (g, group) in self.groups.iter().enumerate() {
            let Some(&action) = group.actions.first() else {
                continue;
            };
            if let Some((_, actions)) = focus
                && !group.actions.iter().any(|a| actions.contains(a))
            {
                continue;
            }
            let group_mask = conditions.mask(&group.signatures);
            let mut classes: Vec<Classes> = group
                .keys
                .iter()
                .filter_map(|k| key_vectors.get(k.as_str()))
                .map(|v| classes::key_classes(v, &group_mask))
                .collect();
            if group.context {
                classes.push(classes::context_classes(
                    &context_vectors,
                    self.context.len(),
                    &group_mask,
                ));
            }
            let read: Vec<&String> = group
                .keys
                .iter()
                .filter(|k| key_vectors.contains_key(k.as_str()))
                .collect();
            // Calls made directly carry none of the keys a service sets.
            if group.actions.iter().all(|a| self.direct.contains(a)) {
                for (key, classes) in read.iter().zip(&mut classes) {
                    if VIA_SERVICE_KEYS.contains(&key.as_str()) {
                        classes.only_absent(self.domains.get(*key));
                    }
                }
            }
            // A service principal's requests, without the keys it never carries; a caller of
            // an account no policy names, in no organization, when the question says so. Copied
            // only when the group reads such a key.
            let restricted = |keeps: &dyn Fn(&str) -> bool| -> Option<Vec<Classes>> {
                if !read.iter().any(|k| !keeps(k)) {
                    return None;
                }
                let mut copy = classes.clone();
                for (key, classes) in read.iter().zip(&mut copy) {
                    if !keeps(key) {
                        classes.only_absent(self.domains.get(*key));
                    }
                }
                Some(copy)
            };
            let service_classes = restricted(&|k| !principals::absent_for_services(k));
            let stranger_classes = if self.strangers_outside_organizations {
                restricted(&|k| !ORGANIZATION_KEYS.contains(&k))
            } else {
                None
            };
            let too_many = || {
                AnalysisError::Unsupported(format!(
                    "the conditions on {} combine in more than {MAX_VECTORS} ways",
                    group.keys.join(", ")
                ))
            };
            // The distinct vectors, by the caller's mask (callers named by the same
            // statements share them) and whether it is a service.
            let mut reachable: HashMap<(Bits, u8), classes::Vectors, Hasher> = HashMap::default();
            let domains = self.domains_of(group);
            for (p, ((base, candidate), covers)) in bases
                .iter()
                .zip(&self.candidates)
                .zip(&covering)
                .enumerate()
            {
                if focus.is_some_and(|(caller, _)| caller != p) {
                    continue;
                }
                if let Some(only) = &self.only
                    && !only.contains(&candidate.arn)
                    && !candidate
                        .role_arn
                        .as_ref()
                        .is_some_and(|r| only.contains(r))
                {
                    continue;
                }
                // A caller that no Allow of the side that must allow names is never allowed
                // by it: nothing to decide (RetireGrant aside, which the key's account allows
                // through IAM alone).
                if group.traits.0 != AllowPlacement::GrantOnly
                    && let (Some(side), Some(signature), Some(covering)) = (
                        sides.get(must_allow),
                        group.signatures.get(must_allow),
                        by_side.get(p).and_then(|c| c.get(must_allow)),
                    )
                    && !side.could_allow(signature, covering)
                {
                    continue;
                }
                let service = candidate.kind == PrincipalKind::Service;
                let stranger = strangers.get(p).copied().unwrap_or(false);
                let (classes, variant) = match (service, stranger) {
                    (true, _) if let Some(restricted) = &service_classes => (restricted, 1),
                    (false, true) if let Some(restricted) = &stranger_classes => (restricted, 2),
                    _ => (&classes, 0),
                };
                let mask = group_mask.and(covers);
                let vectors = match reachable.entry((mask.clone(), variant)) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => e.insert(
                        classes::reachable(classes, &mask, MAX_VECTORS).ok_or_else(too_many)?,
                    ),
                };
                let mut kept: Vec<Bits> = Vec::new();
                let Some(request) = requests.get_mut(p) else {
                    continue;
                };
                let request = request.get_or_insert_with(|| base.request.clone());
                self.aim(request, g);
                for (bits, choice) in vectors.iter() {
                    let region = Region {
                        group: g,
                        action,
                        caller: p,
                        values: classes::representative(classes, choice),
                    };
                    out.decided += 1;
                    self.fill(request, base, &region, &domains);
                    if wanted(candidate, request) {
                        if first_only {
                            out.first.insert((p, g), region);
                            break;
                        }
                        kept.push(bits.clone());
                    }
                }
                if !kept.is_empty() {
                    let points = out.points.entry((p, g)).or_default();
                    classes::points_with(classes, &mask, &kept, |point| points.push(point));
                }
            }
        }
        // Each caller and group's points in order, once: sorted at the end rather than kept
        // in an ordered set point by point.
        for points in out.points.values_mut() {
            points.sort_unstable();
            points.dedup();
        }
        Ok(out)
    }

    /// The domains of a group: its free keys, then the encryption context's pairs when the
    /// context matters to it.
    pub(crate) fn domains_of(&self, group: &ActionGroup) -> Vec<&Domain> {
        let mut out: Vec<&Domain> = group
            .keys
            .iter()
            .filter_map(|k| self.domains.get(k))
            .collect();
        if group.context {
            out.extend(self.context.iter());
        }
        out
    }

    /// What every request of `caller` carries: the caller's keys and the key's, read once and
    /// shared by the requests of each point as their lowest layers.
    pub(crate) fn base(&self, caller: &Candidate, action: ActionId) -> Result<Base, AnalysisError> {
        let mut request = Request::new(&caller.arn, action, &self.key.arn, &[])
            .map_err(|e| AnalysisError::Bug(format!("the request of {}: {e}", caller.arn)))?;
        if let Some(role) = &caller.role_arn {
            // The role's ARN with its path, which the session's ARN leaves out.
            request.principal_role_arn = Some(role.clone());
            request.context.insert_single("aws:PrincipalArn", role);
        }
        request.context.with_layer(Arc::clone(&self.key_layer));
        if let Ok(principal) = keyward_policy::principal::Principal::parse_caller(&caller.arn) {
            keyward_authz::insert_principal_kind(&mut request.context, &principal);
        }
        let layer = Arc::new(std::mem::take(&mut request.context));
        Ok(Base { request, layer })
    }

    /// The request of a point: the base with the point's key values and encryption context.
    pub(crate) fn at(&self, base: &Base, region: &Region, domains: &[&Domain]) -> Request {
        let mut request = base.request.clone();
        self.at_into(&mut request, base, region, domains);
        request
    }

    /// [`Space::at`] into `request`, a request of the same caller made by it before: only the
    /// action, the context and the encryption context change from point to point, and their
    /// buffers are reused.
    pub(crate) fn at_into(
        &self,
        request: &mut Request,
        base: &Base,
        region: &Region,
        domains: &[&Domain],
    ) {
        self.aim(request, region.group);
        self.fill(request, base, region, domains);
    }

    /// Points `request` at what the requests of group `group` act on: the key, or for an
    /// alias operation an alias of its group's cell, with the key as its target.
    fn aim(&self, request: &mut Request, group: usize) {
        match self
            .groups
            .get(group)
            .and_then(|g| g.alias)
            .and_then(|a| self.aliases.get(a))
        {
            Some(alias) => {
                if request.resource != alias.arn {
                    request.resource.clone_from(&alias.arn);
                }
                if request.target_key.is_none() {
                    request.target_key = Some(self.key.arn.clone());
                }
            }
            None => {
                if request.target_key.take().is_some() {
                    request.resource.clone_from(&self.key.arn);
                }
            }
        }
    }

    /// [`Space::at_into`] for a request already aimed at the region's group
    /// ([`Space::aim`]): the action, the context and the encryption context.
    fn fill(&self, request: &mut Request, base: &Base, region: &Region, domains: &[&Domain]) {
        request.action = region.action;
        request.context.clear();
        request.context.with_layer(Arc::clone(&base.layer));
        let mut pairs = 0;
        for (domain, &value) in domains.iter().zip(&region.values) {
            match (&domain.context_name, domain.values.get(value)) {
                (Some(name), Some(Value::One(text))) => {
                    match request.encryption_context.get_mut(pairs) {
                        Some((k, v)) => {
                            k.clone_from(name);
                            v.clone_from(text);
                        }
                        None => request
                            .encryption_context
                            .push((name.clone(), text.clone())),
                    }
                    pairs += 1;
                }
                (None, _) => {
                    if let Some(Some(layer)) = domain.layers.get(value) {
                        request.context.with_layer(Arc::clone(layer));
                    }
                }
                _ => {}
            }
        }
        request.encryption_context.truncate(pairs);
        if pairs > 0 {
            request.context.insert_encryption_context(
                request
                    .encryption_context
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
    }

    /// The representative request of a region.
    pub(crate) fn request(
        &self,
        region: &Region,
        caller: &Candidate,
        domains: &[&Domain],
    ) -> Result<Request, AnalysisError> {
        Ok(self.at(&self.base(caller, region.action)?, region, domains))
    }
}

/// The part of a caller's requests that does not change from point to point.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    /// The request without its context.
    request: Request,
    /// Its context.
    layer: Arc<keyward_conditions::RequestContext>,
}

/// One region: an action, a caller, a value of each of its group's domains.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Region {
    pub(crate) group: usize,
    pub(crate) action: ActionId,
    pub(crate) caller: usize,
    /// A value of each of the group's domains ([`Space::domains_of`]), by position.
    pub(crate) values: Vec<usize>,
}

/// The encryption context's domains. Pair keys are cut by every test that can tell them
/// apart (`kms:EncryptionContext:K` names K without case; `kms:EncryptionContextKeys` tests
/// key names; grant constraints name keys without case); each cell is one pair key, absent or
/// with a value of each cell its tests and the grants' values cut.
fn context_domains(mentions: &Mentions) -> Result<Vec<Domain>, AnalysisError> {
    let mut named: Vec<(String, &KeyTests)> = Vec::new();
    for (key, tests) in &mentions.keys {
        if key.starts_with("kms:encryptioncontext:") {
            let written = tests
                .written
                .get("kms:EncryptionContext:".len()..)
                .unwrap_or_default()
                .to_owned();
            named.push((written, tests));
        }
    }
    let mut predicates: Vec<Predicate> = named
        .iter()
        .map(|(name, _)| Predicate {
            any_of: vec![Glob::literal(name, true)],
        })
        .collect();
    if let Some(tests) = mentions.keys.get("kms:encryptioncontextkeys") {
        predicates.extend(tests.tests.iter().filter_map(predicate));
    }
    predicates.extend(mentions.grant_context.iter().map(|(k, _)| Predicate {
        any_of: vec![Glob::literal(k, true)],
    }));
    let mut cells = glob::cells(&predicates, None, "encryption-context keys")?;
    let mut preferred: Vec<String> = named.iter().map(|(n, _)| n.clone()).collect();
    preferred.extend(mentions.grant_context.iter().map(|(k, _)| k.clone()));
    preferred.push("other".into());
    glob::prefer(&mut cells, &predicates, None, &preferred);
    let mut out = Vec::new();
    for cell in cells.into_iter().filter(|c| !c.member.is_empty()) {
        let name = cell.member;
        // Every test on a `kms:EncryptionContext:` key that names this pair key.
        let mut tests = KeyTests {
            written: format!("kms:EncryptionContext:{name}"),
            ..KeyTests::default()
        };
        for (n, t) in &named {
            if equal_ignoring_case(n, &name) {
                tests.tests.extend(t.tests.iter().cloned());
                tests.compiled.extend(t.compiled.iter().cloned());
            }
        }
        let literals: Vec<String> = mentions
            .grant_context
            .iter()
            .filter(|(k, _)| equal_ignoring_case(k, &name))
            .map(|(_, v)| v.clone())
            .collect();
        out.push(context_domain(
            &name,
            &tests,
            &literals,
            cell.truth.iter().any(|t| *t),
        )?);
    }
    Ok(out)
}
