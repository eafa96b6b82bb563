//! What a key's head binds of its grants, so that a grant's row put back after it was revoked
//! or retired (each row's own tag still valid), or deleted, is found when the key is read.
//!
//! Each stored grant row has a *term*: an HMAC under the record key of a domain and the row's
//! fields, which, unlike the row's tag, is never stored. The binding is the sum of the terms
//! modulo 2^256, kept with the terms by grant ID so that a grant added or removed moves it in
//! constant time, whatever the number of grants. A set of rows other than the one the binding
//! was made of sums to the same value only if someone can predict terms, which needs the
//! record key (the terms being unknown, the sum cannot be steered: an additive set hash over
//! a keyed function).

use crate::store::GrantRow;
use keyward_crypto::RecordKey;
use std::collections::HashMap;

/// The domain of a grant row's term, apart from every tag's.
const TERM_DOMAIN: &[u8] = b"keyward grant set term v1";

/// A grant row's term.
pub(crate) type Term = [u8; 32];

/// A key's grant rows as its head binds them: each row's term by grant ID, and their sum.
/// The terms are as secret as the record key (whoever knows them could look for another set
/// of rows of the same sum): never printed, and zeroized when dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct GrantBinding {
    terms: HashMap<String, Term>,
    /// The sum of the terms modulo 2^256, as four 64-bit limbs, least significant first.
    sum: [u64; 4],
}

/// A change to a key's grant rows, as the binding sees it: a row written (its term), or a
/// row deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GrantDelta {
    /// The row of this grant written with this term (new, or in place of its earlier row).
    Put(String, Term),
    /// The row of this grant deleted.
    Delete(String),
}

impl std::fmt::Debug for GrantBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantBinding")
            .field("grants", &self.terms.len())
            .finish_non_exhaustive()
    }
}

impl Drop for GrantBinding {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        for term in self.terms.values_mut() {
            term.zeroize();
        }
        self.sum.zeroize();
    }
}

impl GrantBinding {
    /// The term of a grant's row of `region`.
    pub(crate) fn term(records: &RecordKey, row: &GrantRow, region: &str) -> Term {
        let [kind, region, key_id, grant_id, record] = row.fields(region);
        let mut tag = records.tag(&[TERM_DOMAIN, kind, region, key_id, grant_id, record]);
        let mut term = [0u8; 32];
        for (out, byte) in term.iter_mut().zip(&tag) {
            *out = *byte;
        }
        zeroize::Zeroize::zeroize(&mut tag);
        term
    }

    /// The binding of the rows whose terms are given, by grant ID.
    pub(crate) fn of(terms: impl IntoIterator<Item = (String, Term)>) -> Self {
        let mut binding = Self::default();
        for (grant_id, term) in terms {
            binding.apply(&GrantDelta::Put(grant_id, term));
        }
        binding
    }

    /// How many grant rows it binds.
    pub(crate) fn len(&self) -> usize {
        self.terms.len()
    }

    /// What the head binds: the sum, 32 bytes.
    pub(crate) fn digest(&self) -> [u8; 32] {
        to_bytes(&self.sum)
    }

    /// The digest after `deltas`, without applying them.
    pub(crate) fn digest_after(&self, deltas: &[GrantDelta]) -> [u8; 32] {
        let mut sum = self.sum;
        // Each grant's term as it would be: its own at first, then each delta's in turn.
        let mut current: HashMap<&str, Option<&Term>> = HashMap::new();
        for delta in deltas {
            let (grant_id, next) = match delta {
                GrantDelta::Put(id, term) => (id.as_str(), Some(term)),
                GrantDelta::Delete(id) => (id.as_str(), None),
            };
            let was = current
                .get(grant_id)
                .copied()
                .unwrap_or_else(|| self.terms.get(grant_id));
            if let Some(old) = was {
                sum = sub(&sum, &to_limbs(old));
            }
            if let Some(new) = next {
                sum = add(&sum, &to_limbs(new));
            }
            current.insert(grant_id, next);
        }
        to_bytes(&sum)
    }

    /// Applies a change to the rows.
    pub(crate) fn apply(&mut self, delta: &GrantDelta) {
        match delta {
            GrantDelta::Put(grant_id, term) => {
                if let Some(old) = self.terms.insert(grant_id.clone(), *term) {
                    self.sum = sub(&self.sum, &to_limbs(&old));
                }
                self.sum = add(&self.sum, &to_limbs(term));
            }
            GrantDelta::Delete(grant_id) => {
                if let Some(old) = self.terms.remove(grant_id) {
                    self.sum = sub(&self.sum, &to_limbs(&old));
                }
            }
        }
    }
}

fn to_limbs(bytes: &[u8; 32]) -> [u64; 4] {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(word);
    }
    limbs
}

fn to_bytes(limbs: &[u64; 4]) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (chunk, limb) in bytes.chunks_exact_mut(8).zip(limbs) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    bytes
}

/// `a + b` modulo 2^256.
fn add(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut carry = false;
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        let (s, c1) = x.overflowing_add(*y);
        let (s, c2) = s.overflowing_add(u64::from(carry));
        *o = s;
        carry = c1 || c2;
    }
    out
}

/// `a - b` modulo 2^256.
fn sub(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        let (d, b1) = x.overflowing_sub(*y);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        *o = d;
        borrow = b1 || b2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(n: u8) -> Term {
        let mut t = [n; 32];
        t[31] = 0xff;
        t
    }

    /// The binding depends on the set of rows alone: the order they come in, a row put and
    /// deleted, a row replaced, all leave the sum of the terms of the rows there; a row more
    /// or less changes it; carries and borrows cross every limb.
    #[test]
    fn the_binding_is_the_sum_of_the_terms_of_the_rows_there() {
        let ab = GrantBinding::of([("a".into(), term(1)), ("b".into(), term(2))]);
        let ba = GrantBinding::of([("b".into(), term(2)), ("a".into(), term(1))]);
        assert_eq!(ab.digest(), ba.digest());
        let a = GrantBinding::of([("a".into(), term(1))]);
        assert_ne!(a.digest(), ab.digest());
        assert_eq!(GrantBinding::default().digest(), [0; 32]);

        let mut changed = ab.clone();
        let deltas = [
            GrantDelta::Put("c".into(), term(3)),
            GrantDelta::Delete("b".into()),
            GrantDelta::Put("a".into(), term(9)),
            GrantDelta::Put("a".into(), term(1)),
            GrantDelta::Delete("c".into()),
        ];
        let predicted = changed.digest_after(&deltas);
        for delta in &deltas {
            changed.apply(delta);
        }
        assert_eq!(changed.digest(), predicted);
        assert_eq!(changed, a);
        // A deleted row that was never there changes nothing.
        changed.apply(&GrantDelta::Delete("zz".into()));
        assert_eq!(changed, a);

        let max = [0xffu8; 32];
        let one = {
            let mut t = [0u8; 32];
            t[0] = 1;
            t
        };
        let wrapped = GrantBinding::of([("x".into(), max), ("y".into(), one)]);
        assert_eq!(wrapped.digest(), [0; 32]);
        let mut back = wrapped.clone();
        back.apply(&GrantDelta::Delete("y".into()));
        assert_eq!(back.digest(), max);
    }

    /// Printing a binding shows how many rows it binds, never a term or the sum.
    #[test]
    fn a_binding_prints_no_term() {
        let binding = GrantBinding::of([("g".into(), [0xab; 32])]);
        let printed = format!("{binding:?}");
        assert!(!printed.to_lowercase().contains("ab"), "{printed}");
        assert!(!printed.contains("171"), "{printed}");
        assert!(printed.contains("grants: 1"), "{printed}");
    }
}
