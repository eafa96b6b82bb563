//! The encryption context and its canonical encoding as authenticated data.
//!
//! KMS binds the encryption context to a symmetric ciphertext: Decrypt needs the same pairs, in
//! any order, keys and values compared exactly (case-sensitive). The encoding must be
//! unambiguous: no two different contexts may encode to the same bytes (`{"ab":"c"}` and
//! `{"a":"bc"}` must not collide), so every key and value is length-prefixed:
//!
//! ```text
//! u32 BE number of pairs, then for each pair sorted by key bytes:
//!     u32 BE key length, key bytes (UTF-8), u32 BE value length, value bytes (UTF-8)
//! ```
//!
//! An empty context encodes as four zero bytes, so "no context" and "empty context" are one.

use std::collections::BTreeMap;

/// An encryption context: string pairs with unique keys, kept sorted by key bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptionContext {
    pairs: BTreeMap<String, String>,
}

impl EncryptionContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pair; a later pair with the same key replaces the earlier one.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.pairs.insert(key.into(), value.into());
    }

    /// Builder form of [`EncryptionContext::insert`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// Whether the context has no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// The pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The canonical encoding (see the module documentation).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let size = 4 + self
            .pairs
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum::<usize>();
        let mut out = Vec::with_capacity(size);
        self.write_canonical(&mut out);
        out
    }

    /// Appends the canonical encoding to `out`.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        push_len(out, self.pairs.len());
        for (key, value) in &self.pairs {
            push_len(out, key.len());
            out.extend_from_slice(key.as_bytes());
            push_len(out, value.len());
            out.extend_from_slice(value.as_bytes());
        }
    }
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    // Lengths are bounded by the request size; saturate rather than wrap if ever not.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for EncryptionContext {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        Self {
            pairs: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shifted_boundaries_do_not_collide() {
        let a = EncryptionContext::new().with("ab", "c");
        let b = EncryptionContext::new().with("a", "bc");
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
        let c = EncryptionContext::new().with("a", "b").with("c", "d");
        let d = EncryptionContext::new().with("a", "b\0\0\0\u{1}c\0\0\0\u{1}d");
        assert_ne!(c.canonical_bytes(), d.canonical_bytes());
    }

    #[test]
    fn order_of_insertion_does_not_matter_and_case_does() {
        let a: EncryptionContext = [("x", "1"), ("y", "2")].into_iter().collect();
        let b: EncryptionContext = [("y", "2"), ("x", "1")].into_iter().collect();
        assert_eq!(a.canonical_bytes(), b.canonical_bytes());
        let c: EncryptionContext = [("X", "1"), ("y", "2")].into_iter().collect();
        assert_ne!(a.canonical_bytes(), c.canonical_bytes());
    }

    #[test]
    fn empty_context_encoding() {
        assert_eq!(EncryptionContext::new().canonical_bytes(), [0, 0, 0, 0]);
    }

    fn context() -> impl Strategy<Value = EncryptionContext> {
        // A two-letter alphabet makes boundary shifts (`ab`+`c` vs `a`+`bc`) frequent.
        proptest::collection::btree_map("[ab]{0,3}", "[ab]{0,3}", 0..4)
            .prop_map(|pairs| pairs.into_iter().collect())
    }

    proptest! {
        /// The encoding is injective: different contexts never share bytes.
        #[test]
        fn encoding_is_injective(a in context(), b in context()) {
            prop_assert_eq!(a == b, a.canonical_bytes() == b.canonical_bytes());
        }
    }
}
