//! Properties of the symmetric format over arbitrary plaintexts and contexts.

use keyward_crypto::*;
use proptest::prelude::*;

fn key() -> &'static CryptoKey {
    crate::common::shared(KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt)
}

fn context() -> impl Strategy<Value = EncryptionContext> {
    proptest::collection::btree_map("[ab]{0,3}", "[ab]{0,3}", 0..4)
        .prop_map(|pairs| pairs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every plaintext comes back under its context, and under no other context.
    #[test]
    fn round_trip_only_under_the_same_context(
        plaintext in proptest::collection::vec(any::<u8>(), 1..600),
        context in context(),
        other in context(),
    ) {
        let blob = key().encrypt(&plaintext, &context, EncryptionAlgorithm::SymmetricDefault).unwrap();
        let back = key().decrypt(&blob, &context, EncryptionAlgorithm::SymmetricDefault).unwrap();
        prop_assert_eq!(back.expose(), &plaintext[..]);
        let result = key().decrypt(&blob, &other, EncryptionAlgorithm::SymmetricDefault);
        if other == context {
            prop_assert!(result.is_ok());
        } else {
            prop_assert_eq!(result.unwrap_err(), CryptoError::InvalidCiphertext);
        }
    }

    /// Any single change to a blob (a byte replaced, removed or inserted) is refused with
    /// InvalidCiphertextException.
    #[test]
    fn any_edit_is_invalid_ciphertext(
        plaintext in proptest::collection::vec(any::<u8>(), 1..64),
        at in any::<usize>(),
        byte in any::<u8>(),
        edit in 0..3u8,
    ) {
        let context = EncryptionContext::new();
        let blob = key().encrypt(&plaintext, &context, EncryptionAlgorithm::SymmetricDefault).unwrap();
        let mut changed = blob.clone();
        let at = at % blob.len();
        match edit {
            0 => changed[at] = if changed[at] == byte { byte ^ 0x01 } else { byte },
            1 => { changed.remove(at); }
            _ => changed.insert(at, byte),
        }
        prop_assert_eq!(
            key().decrypt(&changed, &context, EncryptionAlgorithm::SymmetricDefault).unwrap_err(),
            CryptoError::InvalidCiphertext
        );
    }
}
