//! Which conditions each value satisfies, and the values that satisfy the same ones as one
//! class.
//!
//! Every test of a `Condition` reads one key (the analysis refuses policy variables in
//! condition values), and a statement's condition is the conjunction of its tests. So the
//! truth of every statement's condition at a point is the AND, over the point's keys, of
//! which statements each key's value satisfies: a bit vector per value. A grant's constraint
//! reads the encryption context alone, so it is one more bit of the context's vector. The
//! caller's and the key's own condition keys are the same at every point of a caller, and
//! `authz` reads nothing else of a request that varies between points: two points of a
//! caller and a group of actions whose vectors are equal get the same decision, under each
//! side. The analysis decides one point per distinct vector instead of every point.

use crate::domain::{Domain, Value};
use crate::space::{Side, Signature};
use keyward_authz::Covering;
use keyward_conditions::{KeyTest, RequestContext};
use keyward_grants::GrantConstraint;
use std::collections::HashMap;

/// The hasher of the tables of bit vectors: fast, and seeded per process.
type Hasher = foldhash::fast::RandomState;

/// A set of statements and grants, by bit position (see [`Conditions`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Bits(Vec<u64>);

/// Written out so that `clone_from` reuses the buffer (a derived `Clone` allocates anew): the
/// walk copies vectors into scratch buffers point by point.
impl Clone for Bits {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }

    fn clone_from(&mut self, source: &Self) {
        self.0.clone_from(&source.0);
    }
}

impl Bits {
    fn ones(len: usize) -> Self {
        let mut words = vec![u64::MAX; len.div_ceil(64)];
        if let Some(last) = words.last_mut()
            && !len.is_multiple_of(64)
        {
            *last = (1u64 << (len % 64)) - 1;
        }
        Self(words)
    }

    fn zeros(len: usize) -> Self {
        Self(vec![0; len.div_ceil(64)])
    }

    fn clear(&mut self, bit: usize) {
        if let Some(word) = self.0.get_mut(bit / 64) {
            *word &= !(1u64 << (bit % 64));
        }
    }

    fn set(&mut self, bit: usize) {
        if let Some(word) = self.0.get_mut(bit / 64) {
            *word |= 1u64 << (bit % 64);
        }
    }

    /// `self ∧ other`.
    pub(crate) fn and(&self, other: &Self) -> Self {
        Self(self.0.iter().zip(&other.0).map(|(a, b)| a & b).collect())
    }

    /// `self ← self ∧ other`.
    fn and_assign(&mut self, other: &Self) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= b;
        }
    }
}

/// What one bit stands for.
#[derive(Debug)]
enum Bit<'s> {
    /// A statement's condition: its tests (as `authz` compiled them, with the statement's
    /// effect), of side `side`, in `place` of the side's signature terms.
    Statement {
        side: usize,
        place: (u8, usize, usize),
        tests: &'s [KeyTest],
        /// Those of its tests that read the encryption context.
        context_tests: Vec<&'s KeyTest>,
    },
    /// A grant's constraint.
    Grant {
        side: usize,
        grant: usize,
        constraint: &'s GrantConstraint,
    },
}

/// Every condition and grant constraint of the sides, one bit each.
#[derive(Debug)]
pub(crate) struct Conditions<'s> {
    bits: Vec<Bit<'s>>,
}

/// Whether a condition key (in any case) belongs to the encryption context.
pub(crate) fn of_the_context(key: &str) -> bool {
    const PAIR: &str = "kms:EncryptionContext:";
    key.get(..PAIR.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PAIR))
        || key.eq_ignore_ascii_case("kms:EncryptionContextKeys")
}

impl<'s> Conditions<'s> {
    /// The conditions of every statement of `sides` that has one, and every constrained grant.
    pub(crate) fn new(sides: &[&'s Side]) -> Self {
        let mut bits = Vec::new();
        for (side_index, side) in sides.iter().enumerate() {
            for (place, tests) in side.conditions() {
                bits.push(Bit::Statement {
                    side: side_index,
                    place,
                    tests,
                    context_tests: tests.iter().filter(|t| of_the_context(t.key())).collect(),
                });
            }
            for (grant, g) in side.set.grants.iter().enumerate() {
                if let Some(constraint) = &g.constraint {
                    bits.push(Bit::Grant {
                        side: side_index,
                        grant,
                        constraint,
                    });
                }
            }
        }
        Self { bits }
    }

    /// The bits of the statements and grants in `signatures` (one per side): the only ones a
    /// group's decision reads.
    pub(crate) fn mask(&self, signatures: &[Signature]) -> Bits {
        let mut out = Bits::zeros(self.bits.len());
        for (i, bit) in self.bits.iter().enumerate() {
            let (side, place) = match bit {
                Bit::Statement { side, place, .. } => (*side, *place),
                Bit::Grant { side, grant, .. } => (*side, (2, *grant, 0)),
            };
            if signatures.get(side).is_some_and(|s| s.contains(&place)) {
                out.set(i);
            }
        }
        out
    }

    /// The bits of the statements and grants that can decide a caller's requests: the
    /// caller's identity-policy statements (`identity`, by side: per policy, whether it is
    /// the caller's), and the key-policy statements and grants that name the
    /// caller on each side (`covering`, by side).
    pub(crate) fn covering(&self, covering: &[Covering], identity: &[&[bool]]) -> Bits {
        let mut out = Bits::zeros(self.bits.len());
        for (i, bit) in self.bits.iter().enumerate() {
            let covered = match bit {
                Bit::Statement {
                    side,
                    place: (0, _, statement),
                    ..
                } => covering
                    .get(*side)
                    .and_then(|c| c.key_policy.get(*statement))
                    .copied()
                    .unwrap_or(true),
                Bit::Statement {
                    side,
                    place: (1, policy, _),
                    ..
                } => identity
                    .get(*side)
                    .and_then(|m| m.get(*policy))
                    .copied()
                    .unwrap_or(false),
                Bit::Statement { .. } => true,
                Bit::Grant { side, grant, .. } => covering
                    .get(*side)
                    .and_then(|c| c.grants.get(*grant))
                    .copied()
                    .unwrap_or(true),
            };
            if covered {
                out.set(i);
            }
        }
        out
    }

    /// Which conditions a request whose only condition key is `key` (folded), with `context`
    /// holding its value, satisfies as far as `key` goes: a condition's tests on other keys
    /// are left to the other keys' vectors.
    fn of_key(&self, key: &str, context: &RequestContext) -> Bits {
        let mut out = Bits::ones(self.bits.len());
        for (i, bit) in self.bits.iter().enumerate() {
            if let Bit::Statement { tests, .. } = bit
                && !tests
                    .iter()
                    .filter(|t| t.key().eq_ignore_ascii_case(key))
                    .all(|t| t.holds(context))
            {
                out.clear(i);
            }
        }
        out
    }

    /// Which conditions and grant constraints an encryption context satisfies, as far as the
    /// context goes (`context` holds its condition keys).
    fn of_context(&self, pairs: &[(String, String)], context: &RequestContext) -> Bits {
        let mut out = Bits::ones(self.bits.len());
        for (i, bit) in self.bits.iter().enumerate() {
            let holds = match bit {
                Bit::Statement { context_tests, .. } => {
                    context_tests.iter().all(|t| t.holds(context))
                }
                Bit::Grant { constraint, .. } => constraint.unmet(pairs).is_none(),
            };
            if !holds {
                out.clear(i);
            }
        }
        out
    }
}

/// Values of one or more domains that satisfy the same conditions.
#[derive(Debug, Clone)]
pub(crate) struct Class {
    pub(crate) bits: Bits,
    /// Its members: each a value (by position) of every domain the class is over.
    pub(crate) members: Vec<Vec<usize>>,
}

/// A key's values, or the encryption context's combinations of values, as classes.
#[derive(Debug, Clone)]
pub(crate) struct Classes {
    /// How many domains each member gives a value of.
    pub(crate) width: usize,
    /// Shared: a copy of a group's class sets (for service principals, for strangers) costs a
    /// count, and only the sets it restricts are copied, when restricted.
    pub(crate) classes: std::sync::Arc<Vec<Class>>,
}

impl Classes {
    /// Keeps only the key's absence (of a one-key class set over `domain`): for callers whose
    /// requests never carry the key.
    pub(crate) fn only_absent(&mut self, domain: Option<&Domain>) {
        let absent = domain.and_then(|d| d.values.iter().position(|v| *v == Value::Absent));
        let classes = std::sync::Arc::make_mut(&mut self.classes);
        for class in classes.iter_mut() {
            class
                .members
                .retain(|m| absent.is_some_and(|a| m.as_slice() == [a]));
        }
        classes.retain(|c| !c.members.is_empty());
    }
}

/// Groups `members` by their bits under `mask`.
fn grouped<'v>(
    members: impl IntoIterator<Item = (&'v Bits, Vec<usize>)>,
    mask: &Bits,
) -> Vec<Class> {
    let mut out: Vec<Class> = Vec::new();
    let mut index: HashMap<Bits, usize, Hasher> = HashMap::default();
    // Each member's vector under the mask, in one buffer: copied only for a new class.
    let mut bits = mask.clone();
    for (vector, member) in members {
        bits.clone_from(vector);
        bits.and_assign(mask);
        match index.get(&bits) {
            Some(&i) => {
                if let Some(class) = out.get_mut(i) {
                    class.members.push(member);
                }
            }
            None => {
                index.insert(bits.clone(), out.len());
                out.push(Class {
                    bits: bits.clone(),
                    members: vec![member],
                });
            }
        }
    }
    out
}

/// The vectors of every value of a key's domain, before any mask.
pub(crate) fn key_vectors(conditions: &Conditions<'_>, domain: &Domain) -> Vec<Bits> {
    let folded = domain.key.to_ascii_lowercase();
    let absent = RequestContext::new();
    domain
        .layers
        .iter()
        .map(|layer| conditions.of_key(&folded, layer.as_deref().unwrap_or(&absent)))
        .collect()
}

/// The vectors of every combination of the encryption context's domains (by position in
/// each), before any mask, or `None` when there are more than `limit` combinations.
pub(crate) fn context_vectors(
    conditions: &Conditions<'_>,
    domains: &[Domain],
    limit: usize,
) -> Option<Vec<(Bits, Vec<usize>)>> {
    let total = domains
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(d.values.len()))?;
    if total > limit {
        return None;
    }
    match PerPair::new(conditions, domains) {
        Some(per_pair) => Some(per_pair.combined(domains, total, conditions.bits.len())),
        None => Some(whole_context_vectors(conditions, domains, total)),
    }
}

/// The encryption context's vectors, piece by piece. When no grant constrains the context,
/// every test on it reads either the pairs whose key is its name in any case
/// (`kms:EncryptionContext:K`: the domains of those keys, one component) or only which pair
/// keys are present (`kms:EncryptionContextKeys`). Then a combination's vector is the AND of
/// each component's vector (which conditions its pairs alone satisfy) and the vector of the
/// combination's set of present keys.
struct PerPair<'s> {
    /// Domains whose keys are equal ignoring case, by component.
    components: Vec<Vec<usize>>,
    /// By component, by combination of its domains' values (mixed radix, first domain
    /// fastest): the pair tests' vector.
    vectors: Vec<Vec<Bits>>,
    /// By bit: its `kms:EncryptionContextKeys` tests.
    key_tests: Vec<Vec<&'s KeyTest>>,
}

impl<'s> PerPair<'s> {
    /// `None` when a grant constrains the context or a test names a pair key no domain stands
    /// for.
    fn new(conditions: &Conditions<'s>, domains: &[Domain]) -> Option<Self> {
        const PAIR: &str = "kms:EncryptionContext:";
        let mut components: Vec<Vec<usize>> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (d, domain) in domains.iter().enumerate() {
            let folded = domain.context_name.as_deref()?.to_ascii_lowercase();
            match names.iter().position(|n| *n == folded) {
                Some(c) => components.get_mut(c)?.push(d),
                None => {
                    names.push(folded);
                    components.push(vec![d]);
                }
            }
        }
        let mut pair_tests: Vec<Vec<(usize, &KeyTest)>> = Vec::with_capacity(conditions.bits.len());
        let mut key_tests: Vec<Vec<&KeyTest>> = Vec::with_capacity(conditions.bits.len());
        for bit in &conditions.bits {
            let (mut pairs, mut keys) = (Vec::new(), Vec::new());
            match bit {
                Bit::Grant { .. } => return None,
                Bit::Statement { context_tests, .. } => {
                    for test in context_tests {
                        let key = test.key();
                        if key.eq_ignore_ascii_case("kms:EncryptionContextKeys") {
                            keys.push(*test);
                            continue;
                        }
                        let name = key
                            .get(..PAIR.len())
                            .filter(|p| p.eq_ignore_ascii_case(PAIR))
                            .and_then(|_| key.get(PAIR.len()..))?
                            .to_ascii_lowercase();
                        let component = names.iter().position(|n| *n == name)?;
                        pairs.push((component, *test));
                    }
                }
            }
            pair_tests.push(pairs);
            key_tests.push(keys);
        }
        let mut vectors = Vec::with_capacity(components.len());
        for (c, members) in components.iter().enumerate() {
            let sizes: Vec<usize> = members
                .iter()
                .map(|&d| domains.get(d).map_or(1, |d| d.values.len()))
                .collect();
            let mut out = Vec::new();
            let mut odometer = vec![0usize; members.len()];
            loop {
                let pairs: Vec<(&str, &str)> = members
                    .iter()
                    .zip(&odometer)
                    .filter_map(|(&d, &v)| {
                        let domain = domains.get(d)?;
                        match (&domain.context_name, domain.values.get(v)) {
                            (Some(name), Some(Value::One(text))) => {
                                Some((name.as_str(), text.as_str()))
                            }
                            _ => None,
                        }
                    })
                    .collect();
                let mut context = RequestContext::new();
                context.insert_encryption_context(pairs.iter().copied());
                let mut bits = Bits::ones(conditions.bits.len());
                for (i, tests) in pair_tests.iter().enumerate() {
                    if !tests
                        .iter()
                        .filter(|(of, _)| *of == c)
                        .all(|(_, t)| t.holds(&context))
                    {
                        bits.clear(i);
                    }
                }
                out.push(bits);
                if !advance(&mut odometer, sizes.iter().copied()) {
                    break;
                }
            }
            vectors.push(out);
        }
        Some(Self {
            components,
            vectors,
            key_tests,
        })
    }

    /// Which conditions hold as far as the set of present pair keys goes.
    fn keys_vector(&self, domains: &[Domain], present: &[bool], len: usize) -> Bits {
        let mut bits = Bits::ones(len);
        if self.key_tests.iter().all(Vec::is_empty) {
            return bits;
        }
        // The keys' names are all `kms:EncryptionContextKeys` reads; any value will do.
        let pairs: Vec<(&str, &str)> = domains
            .iter()
            .zip(present)
            .filter(|(_, p)| **p)
            .filter_map(|(d, _)| d.context_name.as_deref().map(|n| (n, "v")))
            .collect();
        let mut context = RequestContext::new();
        context.insert_encryption_context(pairs.iter().copied());
        for (i, tests) in self.key_tests.iter().enumerate() {
            if !tests.iter().all(|t| t.holds(&context)) {
                bits.clear(i);
            }
        }
        bits
    }

    /// Every combination's vector, in odometer order.
    fn combined(&self, domains: &[Domain], total: usize, len: usize) -> Vec<(Bits, Vec<usize>)> {
        let mut out = Vec::with_capacity(total);
        let mut by_presence: HashMap<Vec<bool>, Bits, Hasher> = HashMap::default();
        let mut odometer = vec![0usize; domains.len()];
        loop {
            let present: Vec<bool> = domains
                .iter()
                .zip(&odometer)
                .map(|(d, &v)| matches!(d.values.get(v), Some(Value::One(_))))
                .collect();
            let mut bits = match by_presence.get(&present) {
                Some(keys) => keys.clone(),
                None => {
                    let keys = self.keys_vector(domains, &present, len);
                    by_presence.insert(present, keys.clone());
                    keys
                }
            };
            for (members, vectors) in self.components.iter().zip(&self.vectors) {
                // The component's combination: its domains' values, first domain fastest.
                let mut index = 0usize;
                let mut stride = 1usize;
                for &d in members {
                    let value = odometer.get(d).copied().unwrap_or(0);
                    index += value * stride;
                    stride *= domains.get(d).map_or(1, |d| d.values.len());
                }
                if let Some(vector) = vectors.get(index) {
                    bits.and_assign(vector);
                }
            }
            out.push((bits, odometer.clone()));
            if !advance(&mut odometer, domains.iter().map(|d| d.values.len())) {
                return out;
            }
        }
    }
}

/// Every combination's vector, each context built whole and every test and grant evaluated on
/// it.
fn whole_context_vectors(
    conditions: &Conditions<'_>,
    domains: &[Domain],
    total: usize,
) -> Vec<(Bits, Vec<usize>)> {
    let mut out = Vec::with_capacity(total);
    let mut odometer = vec![0usize; domains.len()];
    loop {
        let pairs: Vec<(String, String)> = domains
            .iter()
            .zip(&odometer)
            .filter_map(|(d, &v)| match (&d.context_name, d.values.get(v)) {
                (Some(name), Some(Value::One(text))) => Some((name.clone(), text.clone())),
                _ => None,
            })
            .collect();
        let mut context = RequestContext::new();
        context.insert_encryption_context(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        out.push((conditions.of_context(&pairs, &context), odometer.clone()));
        if !advance(&mut odometer, domains.iter().map(|d| d.values.len())) {
            return out;
        }
    }
}

/// The classes of one key's values under `mask`.
pub(crate) fn key_classes(vectors: &[Bits], mask: &Bits) -> Classes {
    Classes {
        width: 1,
        classes: std::sync::Arc::new(grouped(
            vectors.iter().enumerate().map(|(v, b)| (b, vec![v])),
            mask,
        )),
    }
}

/// The classes of the encryption context's combinations under `mask`.
pub(crate) fn context_classes(
    vectors: &[(Bits, Vec<usize>)],
    width: usize,
    mask: &Bits,
) -> Classes {
    Classes {
        width,
        classes: std::sync::Arc::new(grouped(vectors.iter().map(|(b, m)| (b, m.clone())), mask)),
    }
}

/// The next combination of digits, each below its size; false after the last.
pub(crate) fn advance(odometer: &mut [usize], sizes: impl IntoIterator<Item = usize>) -> bool {
    for (digit, size) in odometer.iter_mut().zip(sizes) {
        *digit += 1;
        if *digit < size {
            return true;
        }
        *digit = 0;
    }
    false
}

/// Every distinct vector a point of the classes can have, each with one choice of class per
/// domain that gives it, or `None` past `limit` vectors. The ANDs are folded domain by domain
/// and equal vectors merged as they go, so the work follows the number of distinct vectors,
/// not the number of points.
pub(crate) fn reachable(domains: &[Classes], mask: &Bits, limit: usize) -> Option<Vectors> {
    let mut current: Vectors = vec![(mask.clone(), Vec::new())];
    for domain in domains {
        let mut next: Vectors = Vec::new();
        let mut seen: HashMap<Bits, (), Hasher> = HashMap::default();
        for (bits, choice) in &current {
            for (c, class) in domain.classes.iter().enumerate() {
                let anded = bits.and(&class.bits);
                // Copied for the set only when it is new.
                if !seen.contains_key(&anded) {
                    seen.insert(anded.clone(), ());
                    let mut choice = choice.clone();
                    choice.push(c);
                    next.push((anded, choice));
                    if next.len() > limit {
                        return None;
                    }
                }
            }
        }
        current = next;
    }
    Some(current)
}

/// Distinct vectors, each with one choice of class per domain that gives it.
pub(crate) type Vectors = Vec<(Bits, Vec<usize>)>;

/// The point (a value of every domain) of a choice of classes: each class's first member.
pub(crate) fn representative(domains: &[Classes], choice: &[usize]) -> Vec<usize> {
    domains
        .iter()
        .zip(choice)
        .flat_map(|(d, &c)| {
            d.classes
                .get(c)
                .and_then(|class| class.members.first())
                .cloned()
                .unwrap_or_else(|| vec![0; d.width])
        })
        .collect()
}

/// Every point whose vector is in `wanted`: the choices of classes whose AND is wanted,
/// each expanded to its members' combinations.
pub(crate) fn points_with(
    domains: &[Classes],
    mask: &Bits,
    wanted: &[Bits],
    mut visit: impl FnMut(Vec<usize>),
) {
    let mut choice = vec![0usize; domains.len()];
    // A point gives a value of every domain each class set is over.
    let width: usize = domains.iter().map(|d| d.width).sum();
    // One buffer for every choice's vector.
    let mut bits = mask.clone();
    loop {
        bits.clone_from(mask);
        for (d, &c) in domains.iter().zip(&choice) {
            if let Some(class) = d.classes.get(c) {
                bits.and_assign(&class.bits);
            }
        }
        if wanted.contains(&bits) {
            let mut members = vec![0usize; domains.len()];
            loop {
                let mut point = Vec::with_capacity(width);
                for ((d, &c), &m) in domains.iter().zip(&choice).zip(&members) {
                    if let Some(member) = d.classes.get(c).and_then(|class| class.members.get(m)) {
                        point.extend_from_slice(member);
                    }
                }
                visit(point);
                let sizes = domains
                    .iter()
                    .zip(&choice)
                    .map(|(d, &c)| d.classes.get(c).map_or(1, |class| class.members.len()));
                if !advance(&mut members, sizes) {
                    break;
                }
            }
        }
        if !advance(&mut choice, domains.iter().map(|d| d.classes.len())) {
            return;
        }
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
    use proptest::collection::vec;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// Every point of the domains (a value of each), with the AND of its values' vectors.
    fn brute_force(domains: &[Vec<u64>], mask: u64) -> Vec<(Vec<usize>, u64)> {
        let mut out = Vec::new();
        let mut point = vec![0usize; domains.len()];
        loop {
            let bits = domains.iter().zip(&point).fold(mask, |b, (d, &v)| b & d[v]);
            out.push((point.clone(), bits));
            if !advance(&mut point, domains.iter().map(Vec::len)) {
                return out;
            }
        }
    }

    proptest! {
        /// The classes give exactly the vectors the points have, and `points_with` exactly
        /// the points whose vector is wanted.
        #[test]
        fn classes_stand_for_every_point(
            domains in vec(vec(0u64..64, 1..5), 1..4),
            mask in 0u64..64,
            wanted_mask in 0u64..64,
        ) {
            let classes: Vec<Classes> = domains
                .iter()
                .map(|d| {
                    let vectors: Vec<Bits> = d.iter().map(|&b| Bits(vec![b])).collect();
                    key_classes(&vectors, &Bits(vec![mask]))
                })
                .collect();
            let truth = brute_force(&domains, mask);
            let vectors: BTreeSet<u64> = truth.iter().map(|(_, b)| *b).collect();
            let reached = reachable(&classes, &Bits(vec![mask]), 1000).unwrap();
            let got: BTreeSet<u64> = reached.iter().map(|(b, _)| b.0[0]).collect();
            prop_assert_eq!(&got, &vectors);
            // Each vector's representative point has that vector.
            for (bits, choice) in &reached {
                let point = representative(&classes, choice);
                let anded = domains.iter().zip(&point).fold(mask, |b, (d, &v)| b & d[v]);
                prop_assert_eq!(anded, bits.0[0]);
            }
            // The points of the wanted vectors: those a subset picks.
            let wanted: Vec<Bits> = vectors
                .iter()
                .filter(|b| *b & wanted_mask == **b)
                .map(|&b| Bits(vec![b]))
                .collect();
            let mut found = BTreeSet::new();
            points_with(&classes, &Bits(vec![mask]), &wanted, |p| {
                found.insert(p);
            });
            let expected: BTreeSet<Vec<usize>> = truth
                .into_iter()
                .filter(|(_, b)| wanted.contains(&Bits(vec![*b])))
                .map(|(p, _)| p)
                .collect();
            prop_assert_eq!(found, expected);
        }
    }

    /// The encryption context's vectors piece by piece (`PerPair`) equal the vectors of every
    /// context built whole, on every key-policy pair of the diff corpus and on policies made
    /// to be hard for it: pair keys differing in case only, `kms:EncryptionContextKeys`,
    /// `ForAllValues`, `IfExists` and `Null`.
    #[test]
    fn the_context_vectors_piece_by_piece_equal_the_whole_context_ones() {
        use crate::mentions::Mentions;
        use crate::space::{KeyFacts, PolicySet, Side, Space};
        let policy = |condition: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["kms:Decrypt","kms:Encrypt"],"Resource":"*","Condition":{condition}}}]}}"#
            )
        };
        let mut pairs: Vec<(String, String)> = vec![
            (
                policy(r#"{"StringEquals":{"kms:EncryptionContext:Tenant":"a"}}"#),
                policy(
                    r#"{"StringLike":{"kms:EncryptionContext:tenant":"a*","kms:EncryptionContext:TENANT":"*b"},"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["tenant","app"]}}"#,
                ),
            ),
            (
                policy(
                    r#"{"Null":{"kms:EncryptionContext:app":"true"},"ForAnyValue:StringLike":{"kms:EncryptionContextKeys":"ap*"}}"#,
                ),
                policy(
                    r#"{"StringEqualsIfExists":{"kms:EncryptionContext:app":"x"},"StringNotEquals":{"kms:EncryptionContext:App":"y"}}"#,
                ),
            ),
        ];
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/diff");
        for case in std::fs::read_dir(&folder).unwrap() {
            let case = case.unwrap().path();
            let (old, new) = (case.join("old.json"), case.join("new.json"));
            if old.exists() && new.exists() {
                pairs.push((
                    std::fs::read_to_string(old).unwrap(),
                    std::fs::read_to_string(new).unwrap(),
                ));
            }
        }
        let key = KeyFacts::symmetric(
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        );
        let mut compared = 0;
        for (old, new) in &pairs {
            let set = |p: &str| PolicySet {
                key_policy: p.to_owned(),
                identity_policies: None,
                grants: vec![],
            };
            let mut mentions = Mentions::default();
            let Ok(old) = Side::governed(&set(old), None, &[], &mut mentions) else {
                continue;
            };
            let Ok(new) = Side::governed(&set(new), None, &[], &mut mentions) else {
                continue;
            };
            let Ok(space) = Space::new(&key, &[&old, &new], mentions, None) else {
                continue;
            };
            let conditions = Conditions::new(&[&old, &new]);
            let domains = &space.context;
            let total = domains.iter().map(|d| d.values.len()).product::<usize>();
            if let Some(per_pair) = PerPair::new(&conditions, domains) {
                let pieces = per_pair.combined(domains, total, conditions.bits.len());
                let whole = whole_context_vectors(&conditions, domains, total);
                assert_eq!(pieces, whole, "{old:?}");
                compared += 1;
            }
        }
        assert!(compared >= 5, "only {compared} cases compared");
    }

    #[test]
    fn ones_sets_exactly_the_bits_in_range() {
        assert_eq!(Bits::ones(3).0, vec![0b111]);
        assert_eq!(Bits::ones(64).0, vec![u64::MAX]);
        assert_eq!(Bits::ones(65).0, vec![u64::MAX, 1]);
        let mut b = Bits::zeros(70);
        b.set(69);
        b.set(0);
        assert_eq!(b.0, vec![1, 1 << 5]);
        b.clear(69);
        assert_eq!(b.0, vec![1, 0]);
    }
}
