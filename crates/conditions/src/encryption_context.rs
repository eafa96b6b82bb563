//! How an encryption context is read by key name: the one place that decides it.
//!
//! In policy conditions the name in `kms:EncryptionContext:<key>` is not case sensitive (KMS
//! Developer Guide, "kms:EncryptionContext:context-key"), and in a grant constraint "the key in
//! each key-value pair is not case sensitive, but the value is case sensitive" (KMS API
//! Reference, `GrantConstraints`). The ciphertext, though, binds the context exactly, so a
//! request may carry keys that differ only in case (`{"TENANT": "a", "tenant": "b"}`), each
//! with its own value. Every check reads *every* such variant: an Allow condition or a grant
//! constraint must hold for each of them, and a Deny applies if it holds for any (fail closed;
//! AWS documents no rule for this case).
//!
//! Keys compare without ASCII case, as condition key names do ([`crate::ContextKey`]).

use std::borrow::Borrow;

/// Whether two encryption-context keys name the same condition key.
pub fn same_key(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Every value `pairs` gives for `key`, in any case: one per variant of the key.
pub fn values_of<'a, K, V>(pairs: &'a [(K, V)], key: &'a str) -> impl Iterator<Item = &'a str>
where
    K: Borrow<str>,
    V: Borrow<str>,
{
    pairs
        .iter()
        .filter(move |(k, _)| same_key(k.borrow(), key))
        .map(|(_, v)| v.borrow())
}

/// The largest encryption context Keyward reads, in bytes of its keys and values (UTF-8).
/// AWS documents no limit (the API model leaves `EncryptionContextType` unbounded; the
/// "8,192 characters" found in searches is another cloud's), so Keyward fails closed at a
/// bound no real context approaches: a larger one is refused with a `ValidationException`
/// before any policy reads it, which keeps evaluation and audit records small.
pub const MAX_ENCRYPTION_CONTEXT_BYTES: usize = 8192;

/// The size [`MAX_ENCRYPTION_CONTEXT_BYTES`] bounds.
pub fn size<K: Borrow<str>, V: Borrow<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> usize {
    pairs
        .into_iter()
        .map(|(k, v)| k.borrow().len() + v.borrow().len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_of_a_key_is_read() {
        let pairs = [("TENANT", "a"), ("tenant", "b"), ("other", "c")];
        assert_eq!(values_of(&pairs, "Tenant").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(values_of(&pairs, "missing").count(), 0);
        assert!(same_key("AppName", "appname"));
        assert!(!same_key("app", "apps"));
        assert_eq!(size(pairs), 6 + 1 + 6 + 1 + 5 + 1);
    }
}
