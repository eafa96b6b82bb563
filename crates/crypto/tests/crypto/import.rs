//! Imported key material: wrapping, tokens, expiry, reimport and cryptographic erasure.
//! (The same flows with OpenSSL doing the wrapping are in `interop_openssl.rs`.)

use aws_lc_rs::key_wrap::{AES_256, KeyEncryptionKey, KeyWrapPadded};
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PublicEncryptingKey,
};
use keyward_crypto::*;
use std::time::{Duration, SystemTime};

const DAY: Duration = Duration::from_secs(86_400);

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Wraps `material` for `parameters` as a key owner would.
fn wrap(parameters: &ImportParameters, material: &[u8]) -> Vec<u8> {
    let public = OaepPublicEncryptingKey::new(
        PublicEncryptingKey::from_der(parameters.public_key()).unwrap(),
    )
    .unwrap();
    let oaep = match parameters.algorithm() {
        WrappingAlgorithm::RsaesOaepSha1 | WrappingAlgorithm::RsaAesKeyWrapSha1 => {
            &OAEP_SHA1_MGF1SHA1
        }
        _ => &OAEP_SHA256_MGF1SHA256,
    };
    let rsa = |plaintext: &[u8]| {
        let mut out = vec![0; public.ciphertext_size()];
        public.encrypt(oaep, plaintext, &mut out, None).unwrap();
        out
    };
    match parameters.algorithm() {
        WrappingAlgorithm::RsaesOaepSha1 | WrappingAlgorithm::RsaesOaepSha256 => rsa(material),
        _ => {
            let aes = [0x42u8; 32];
            let mut out = rsa(&aes);
            let mut wrapped = vec![0; material.len() + 16];
            let len = KeyEncryptionKey::new(&AES_256, &aes)
                .unwrap()
                .wrap_with_padding(material, &mut wrapped)
                .unwrap()
                .len();
            out.extend_from_slice(&wrapped[..len]);
            out
        }
    }
}

fn external_symmetric(id: &str) -> CryptoKey {
    CryptoKey::external(id, KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap()
}

fn import(key: &mut CryptoKey, algorithm: WrappingAlgorithm, material: &[u8]) -> u32 {
    let parameters =
        ImportParameters::generate(key, algorithm, WrappingKeySpec::Rsa2048, now()).unwrap();
    let wrapped = wrap(&parameters, material);
    key.import_material(
        &parameters,
        parameters.import_token(),
        &wrapped,
        MaterialExpiry::DoesNotExpire,
        now(),
    )
    .unwrap()
}

#[test]
fn every_wrapping_algorithm_imports_symmetric_material() {
    for algorithm in [
        WrappingAlgorithm::RsaesOaepSha1,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingAlgorithm::RsaAesKeyWrapSha1,
        WrappingAlgorithm::RsaAesKeyWrapSha256,
    ] {
        let mut key = external_symmetric("ext");
        assert!(!key.has_material());
        assert_eq!(import(&mut key, algorithm, &[7; 32]), 1);
        assert!(key.has_material());
        let blob = key
            .encrypt(
                b"imported",
                &EncryptionContext::new(),
                EncryptionAlgorithm::SymmetricDefault,
            )
            .unwrap();
        assert_eq!(
            key.decrypt(
                &blob,
                &EncryptionContext::new(),
                EncryptionAlgorithm::SymmetricDefault
            )
            .unwrap()
            .expose(),
            b"imported"
        );
        assert_eq!(key.materials()[0].origin, MaterialOrigin::Imported);
    }
}

#[test]
fn a_key_without_material_is_pending_import() {
    let key = external_symmetric("arn:aws:kms:us-east-1:111122223333:key/ext");
    let error = key
        .encrypt(
            b"x",
            &EncryptionContext::new(),
            EncryptionAlgorithm::SymmetricDefault,
        )
        .unwrap_err();
    assert_eq!(error.code(), "KMSInvalidStateException");
    assert_eq!(
        error.to_string(),
        "arn:aws:kms:us-east-1:111122223333:key/ext is pending import."
    );
}

#[test]
fn deleting_imported_material_erases_every_ciphertext_until_the_same_material_returns() {
    let material = [9u8; 32];
    let mut key = external_symmetric("erase");
    import(&mut key, WrappingAlgorithm::RsaesOaepSha256, &material);
    let blob = key
        .encrypt(
            b"erase me",
            &EncryptionContext::new(),
            EncryptionAlgorithm::SymmetricDefault,
        )
        .unwrap();
    let current = key.current_material_id().unwrap();
    assert_eq!(key.delete_imported_material(None).unwrap(), current);
    let error = key
        .decrypt(
            &blob,
            &EncryptionContext::new(),
            EncryptionAlgorithm::SymmetricDefault,
        )
        .unwrap_err();
    assert_eq!(error.code(), "KMSInvalidStateException");
    assert!(!key.has_material());
    assert!(!key.materials()[0].present);
    // Other material is refused; the same material brings the ciphertexts back.
    let parameters = ImportParameters::generate(
        &key,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingKeySpec::Rsa3072,
        now(),
    )
    .unwrap();
    let error = key
        .import_material(
            &parameters,
            parameters.import_token(),
            &wrap(&parameters, &[8; 32]),
            MaterialExpiry::DoesNotExpire,
            now(),
        )
        .unwrap_err();
    assert_eq!(error.code(), "IncorrectKeyMaterialException");
    assert_eq!(
        import(&mut key, WrappingAlgorithm::RsaAesKeyWrapSha256, &material),
        1
    );
    assert_eq!(
        key.decrypt(
            &blob,
            &EncryptionContext::new(),
            EncryptionAlgorithm::SymmetricDefault
        )
        .unwrap()
        .expose(),
        b"erase me"
    );
    // Keys of origin AWS_KMS have no imported material to delete.
    let mut generated =
        CryptoKey::generate("gen", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
    assert_eq!(
        generated
            .delete_imported_material(None)
            .unwrap_err()
            .to_string(),
        "gen origin is AWS_KMS which is not valid for this operation."
    );
}

#[test]
fn expiring_material_is_deleted_when_it_expires() {
    let mut key = external_symmetric("expiring");
    let parameters = ImportParameters::generate(
        &key,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingKeySpec::Rsa2048,
        now(),
    )
    .unwrap();
    let wrapped = wrap(&parameters, &[3; 32]);
    let valid_to = now() + 10 * DAY;
    key.import_material(
        &parameters,
        parameters.import_token(),
        &wrapped,
        MaterialExpiry::ExpiresAt(valid_to),
        now(),
    )
    .unwrap();
    assert_eq!(key.materials()[0].expires_at, Some(valid_to));
    assert_eq!(key.delete_expired_material(valid_to - DAY), 0);
    assert!(key.has_material());
    assert_eq!(key.delete_expired_material(valid_to), 1);
    assert!(!key.has_material());
}

#[test]
fn valid_to_must_be_in_the_next_365_days() {
    let mut key = external_symmetric("k");
    let parameters = ImportParameters::generate(
        &key,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingKeySpec::Rsa2048,
        now(),
    )
    .unwrap();
    let wrapped = wrap(&parameters, &[3; 32]);
    for at in [now(), now() - DAY, now() + 366 * DAY] {
        let error = key
            .import_material(
                &parameters,
                parameters.import_token(),
                &wrapped,
                MaterialExpiry::ExpiresAt(at),
                now(),
            )
            .unwrap_err();
        assert_eq!(error.code(), "ValidationException");
    }
    assert!(
        key.import_material(
            &parameters,
            parameters.import_token(),
            &wrapped,
            MaterialExpiry::ExpiresAt(now() + 365 * DAY),
            now(),
        )
        .is_ok()
    );
}

#[test]
fn tokens_are_checked_and_expire_after_24_hours() {
    let mut key = external_symmetric("k");
    let parameters = ImportParameters::generate(
        &key,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingKeySpec::Rsa2048,
        now(),
    )
    .unwrap();
    assert_eq!(parameters.valid_to(), now() + DAY);
    let wrapped = wrap(&parameters, &[1; 32]);
    let mut token = parameters.import_token().to_vec();
    let last = token.len() - 1;
    token[last] ^= 1;
    for bad in [&token[..], &token[..token.len() - 1], b""] {
        let error = key
            .import_material(
                &parameters,
                bad,
                &wrapped,
                MaterialExpiry::DoesNotExpire,
                now(),
            )
            .unwrap_err();
        assert_eq!(error.code(), "InvalidImportTokenException");
    }
    // Parameters issued for another key do not import into this one.
    let mut other = external_symmetric("other");
    assert_eq!(
        other
            .import_material(
                &parameters,
                parameters.import_token(),
                &wrapped,
                MaterialExpiry::DoesNotExpire,
                now(),
            )
            .unwrap_err()
            .code(),
        "InvalidImportTokenException"
    );
    let later = now() + DAY + Duration::from_secs(1);
    assert_eq!(
        key.import_material(
            &parameters,
            parameters.import_token(),
            &wrapped,
            MaterialExpiry::DoesNotExpire,
            later,
        )
        .unwrap_err()
        .code(),
        "ExpiredImportTokenException"
    );
    assert!(
        key.import_material(
            &parameters,
            parameters.import_token(),
            &wrapped,
            MaterialExpiry::DoesNotExpire,
            now() + DAY,
        )
        .is_ok()
    );
}

#[test]
fn unwrap_failures_are_invalid_ciphertext() {
    let mut key = external_symmetric("k");
    for algorithm in [
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingAlgorithm::RsaAesKeyWrapSha256,
    ] {
        let parameters =
            ImportParameters::generate(&key, algorithm, WrappingKeySpec::Rsa2048, now()).unwrap();
        let wrapped = wrap(&parameters, &[1; 32]);
        for index in [0, 100, wrapped.len() - 1] {
            let mut changed = wrapped.clone();
            changed[index] ^= 1;
            let error = key
                .import_material(
                    &parameters,
                    parameters.import_token(),
                    &changed,
                    MaterialExpiry::DoesNotExpire,
                    now(),
                )
                .unwrap_err();
            assert_eq!(error.code(), "InvalidCiphertextException", "{algorithm}");
        }
        for len in [0, 1, 255, 256, 257, wrapped.len() - 1] {
            if len >= wrapped.len() {
                continue;
            }
            let cut = &wrapped[..len];
            assert!(
                key.import_material(
                    &parameters,
                    parameters.import_token(),
                    cut,
                    MaterialExpiry::DoesNotExpire,
                    now(),
                )
                .is_err()
            );
        }
    }
    // Symmetric material must be 32 bytes.
    let parameters = ImportParameters::generate(
        &key,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingKeySpec::Rsa2048,
        now(),
    )
    .unwrap();
    let error = key
        .import_material(
            &parameters,
            parameters.import_token(),
            &wrap(&parameters, &[1; 16]),
            MaterialExpiry::DoesNotExpire,
            now(),
        )
        .unwrap_err();
    assert_eq!(error.code(), "ValidationException");
}

#[test]
fn wrapping_rules_by_key_type() {
    let generated =
        CryptoKey::generate("gen", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
    let error = ImportParameters::generate(
        &generated,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingKeySpec::Rsa4096,
        now(),
    )
    .unwrap_err();
    assert_eq!(error.code(), "UnsupportedOperationException");
    assert_eq!(
        error.to_string(),
        "gen origin is AWS_KMS which is not valid for this operation."
    );
    let key = external_symmetric("k");
    assert_eq!(
        ImportParameters::generate(
            &key,
            WrappingAlgorithm::RsaesPkcs1V15,
            WrappingKeySpec::Rsa2048,
            now()
        )
        .unwrap_err()
        .code(),
        "ValidationException"
    );
    let rsa = CryptoKey::external("rsa", KeySpec::Rsa2048, KeyUsage::SignVerify).unwrap();
    assert!(
        ImportParameters::generate(
            &rsa,
            WrappingAlgorithm::RsaesOaepSha256,
            WrappingKeySpec::Rsa4096,
            now()
        )
        .is_err()
    );
    assert!(
        ImportParameters::generate(
            &rsa,
            WrappingAlgorithm::RsaAesKeyWrapSha256,
            WrappingKeySpec::Rsa2048,
            now()
        )
        .is_ok()
    );
    let p521 = CryptoKey::external("p521", KeySpec::EccNistP521, KeyUsage::SignVerify).unwrap();
    assert!(
        ImportParameters::generate(
            &p521,
            WrappingAlgorithm::RsaesOaepSha1,
            WrappingKeySpec::Rsa2048,
            now()
        )
        .is_err()
    );
    assert!(
        ImportParameters::generate(
            &p521,
            WrappingAlgorithm::RsaesOaepSha1,
            WrappingKeySpec::Rsa3072,
            now()
        )
        .is_ok()
    );
}

#[test]
fn hmac_and_asymmetric_material_import() {
    // HMAC_256 takes 32 to 64 bytes.
    let mut hmac = CryptoKey::external("h", KeySpec::Hmac256, KeyUsage::GenerateVerifyMac).unwrap();
    let parameters = ImportParameters::generate(
        &hmac,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingKeySpec::Rsa2048,
        now(),
    )
    .unwrap();
    for bad in [31usize, 65] {
        let error = hmac
            .import_material(
                &parameters,
                parameters.import_token(),
                &wrap(&parameters, &vec![1; bad]),
                MaterialExpiry::DoesNotExpire,
                now(),
            )
            .unwrap_err();
        assert_eq!(error.code(), "ValidationException", "{bad} bytes");
    }
    import(&mut hmac, WrappingAlgorithm::RsaesOaepSha256, &[1; 64]);
    assert_eq!(
        hmac.generate_mac(b"m", MacAlgorithm::HmacSha256)
            .unwrap()
            .len(),
        32
    );

    // An ECDSA key from PKCS#8; material of another curve is refused.
    let pair = CryptoKey::generate("s", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt)
        .unwrap()
        .generate_data_key_pair(DataKeyPairSpec::EccNistP384, &EncryptionContext::new())
        .unwrap();
    let mut wrong = CryptoKey::external("w", KeySpec::EccNistP256, KeyUsage::SignVerify).unwrap();
    let parameters = ImportParameters::generate(
        &wrong,
        WrappingAlgorithm::RsaAesKeyWrapSha256,
        WrappingKeySpec::Rsa2048,
        now(),
    )
    .unwrap();
    assert_eq!(
        wrong
            .import_material(
                &parameters,
                parameters.import_token(),
                &wrap(&parameters, pair.private_key_plaintext.expose()),
                MaterialExpiry::DoesNotExpire,
                now(),
            )
            .unwrap_err()
            .code(),
        "ValidationException"
    );
    let mut right = CryptoKey::external("r", KeySpec::EccNistP384, KeyUsage::SignVerify).unwrap();
    import(
        &mut right,
        WrappingAlgorithm::RsaAesKeyWrapSha256,
        pair.private_key_plaintext.expose(),
    );
    assert_eq!(right.public_key().unwrap(), &pair.public_key[..]);
    let signature = right
        .sign(b"m", MessageType::Raw, SigningAlgorithm::EcdsaSha384)
        .unwrap();
    PublicKey::from_der(KeySpec::EccNistP384, KeyUsage::SignVerify, &pair.public_key)
        .unwrap()
        .verify(
            b"m",
            MessageType::Raw,
            SigningAlgorithm::EcdsaSha384,
            &signature,
        )
        .unwrap();
}

#[test]
fn clocks_at_the_end_of_time_do_not_panic() {
    let mut key = external_symmetric("k");
    // The last second a SystemTime holds here (i64 seconds), less 100 days: the token's 24
    // hours still fit, the 365-day ValidTo bound does not.
    let end = SystemTime::UNIX_EPOCH + Duration::from_secs(i64::MAX as u64);
    let late = end - 100 * DAY;
    let parameters = ImportParameters::generate(
        &key,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingKeySpec::Rsa2048,
        late,
    )
    .unwrap();
    let wrapped = wrap(&parameters, &[1; 32]);
    assert!(
        key.import_material(
            &parameters,
            parameters.import_token(),
            &wrapped,
            MaterialExpiry::ExpiresAt(late + 2 * DAY),
            late,
        )
        .is_err()
    );
    assert_eq!(
        ImportParameters::generate(
            &key,
            WrappingAlgorithm::RsaesOaepSha256,
            WrappingKeySpec::Rsa2048,
            end,
        )
        .unwrap_err()
        .code(),
        "KMSInternalException"
    );
    assert_eq!(key.delete_expired_material(end), 0);
}

fn import_new(key: &mut CryptoKey, material: &[u8]) -> Result<u32, CryptoError> {
    let parameters = ImportParameters::generate(
        key,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingKeySpec::Rsa2048,
        now(),
    )
    .unwrap();
    let wrapped = wrap(&parameters, material);
    key.import_new_material(
        &parameters,
        parameters.import_token(),
        &wrapped,
        MaterialExpiry::DoesNotExpire,
        now(),
    )
}

fn seal_and_open(key: &CryptoKey, root: &RootKey) -> CryptoKey {
    CryptoKey::unseal(key.id(), &key.seal(root).unwrap(), root).unwrap()
}

fn roundtrip(key: &CryptoKey, blob: &[u8]) -> Vec<u8> {
    key.decrypt(
        blob,
        &EncryptionContext::new(),
        EncryptionAlgorithm::SymmetricDefault,
    )
    .unwrap()
    .expose()
    .to_vec()
}

fn encrypt(key: &CryptoKey) -> Vec<u8> {
    key.encrypt(
        b"data",
        &EncryptionContext::new(),
        EncryptionAlgorithm::SymmetricDefault,
    )
    .unwrap()
}

/// Rotating imported key material (KMS, 2025): new material waits, pending rotation, until
/// RotateKeyOnDemand makes it current; earlier ciphertexts still decrypt, and the state
/// survives sealing.
#[test]
fn new_imported_material_waits_for_rotation_then_becomes_current() {
    let root = RootKey::generate().unwrap();
    let mut key = external_symmetric("rotating");
    assert_eq!(
        import_new(&mut key, &[1; 32]).unwrap(),
        1,
        "the first is current"
    );
    let first = key.current_material_id().unwrap();
    let old = encrypt(&key);
    assert_eq!(import_new(&mut key, &[2; 32]).unwrap(), 2);
    let mut key = seal_and_open(&key, &root);
    assert_eq!(
        key.current_material_id().unwrap(),
        first,
        "pending is not current"
    );
    let infos = key.materials();
    assert!(infos[1].pending && !infos[1].current && infos[0].current);
    assert_eq!(key.material_id(1).unwrap(), first);
    // Another new material while one is pending: AWS's words.
    let refused = import_new(&mut key, &[3; 32]).unwrap_err();
    assert_eq!(refused.code(), "KMSInvalidStateException");
    let new = refused_new_id(&refused);
    assert_eq!(new.len(), 64);
    assert_eq!(
        refused.to_string(),
        format!(
            "New key material (id: {new}) cannot be imported into KMS key rotating, because another key material (id: {}) is pending rotation.",
            infos[1].material_id
        )
    );
    // Material the key already has is not new.
    assert_eq!(
        import_new(&mut key, &[1; 32]).unwrap_err().code(),
        "KMSInvalidStateException"
    );
    assert_eq!(key.rotate_to_pending(), Some(2));
    assert_eq!(key.rotate_to_pending(), None, "nothing pending any more");
    let key = seal_and_open(&key, &root);
    assert_ne!(key.current_material_id().unwrap(), first);
    assert_eq!(roundtrip(&key, &old), b"data");
    let new = encrypt(&key);
    assert_eq!(
        keyward_crypto::blob::BlobHeader::parse(&new)
            .unwrap()
            .material_version,
        2
    );
}

fn refused_new_id(error: &CryptoError) -> String {
    match error {
        CryptoError::MaterialPendingRotation { new, .. } => new.clone(),
        other => panic!("{other:?}"),
    }
}

/// "If you delete any of them or let one expire, the key state changes to PendingImport";
/// material pending rotation "is not permanently associated with the KMS key" and can be
/// deleted and replaced.
#[test]
fn deleting_material_is_per_material_and_pending_material_can_be_replaced() {
    let mut key = external_symmetric("per-material");
    import_new(&mut key, &[1; 32]).unwrap();
    import_new(&mut key, &[2; 32]).unwrap();
    let pending = key.materials()[1].material_id.clone();
    assert_eq!(
        key.delete_imported_material(Some(&pending)).unwrap(),
        pending
    );
    assert_eq!(
        key.materials().len(),
        1,
        "pending material is removed altogether"
    );
    assert!(key.has_material());
    import_new(&mut key, &[3; 32]).unwrap();
    assert_eq!(key.rotate_to_pending(), Some(2));
    let first = key.material_id(1).unwrap();
    assert_eq!(key.delete_imported_material(Some(&first)).unwrap(), first);
    assert!(
        !key.has_material(),
        "a permanent material is missing: pending import"
    );
    assert_eq!(
        key.encrypt(
            b"x",
            &EncryptionContext::new(),
            EncryptionAlgorithm::SymmetricDefault
        )
        .unwrap_err()
        .code(),
        "KMSInvalidStateException"
    );
    assert_eq!(
        key.delete_imported_material(Some(&"0".repeat(64)))
            .unwrap_err()
            .code(),
        "NotFoundException"
    );
}

#[test]
fn material_ids_are_bound_to_the_key() {
    let mut a = external_symmetric("key-a");
    let mut b = external_symmetric("key-b");
    import(&mut a, WrappingAlgorithm::RsaesOaepSha256, &[5; 32]);
    import(&mut b, WrappingAlgorithm::RsaesOaepSha256, &[5; 32]);
    let (a, b) = (
        a.current_material_id().unwrap(),
        b.current_material_id().unwrap(),
    );
    assert_ne!(a, b);
    assert_eq!(a.len(), 64);
    assert!(
        a.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn asymmetric_and_hmac_keys_take_no_new_material() {
    let mut hmac = CryptoKey::external("h", KeySpec::Hmac256, KeyUsage::GenerateVerifyMac).unwrap();
    assert_eq!(
        import_new(&mut hmac, &[1; 32]).unwrap_err().code(),
        "UnsupportedOperationException"
    );
}

/// Given material (seeded keys): the same bytes make the same key in every run, and what is
/// not material of the key's spec is refused.
#[test]
fn given_material_makes_the_same_key_every_time() {
    let bytes = [7u8; 32];
    let make = || {
        CryptoKey::from_material(
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
            Secret::from_slice(&bytes),
        )
        .unwrap()
    };
    let (a, b) = (make(), make());
    assert_eq!(a.origin(), Origin::AwsKms);
    let context = EncryptionContext::new();
    let blob = a
        .encrypt(b"seeded", &context, EncryptionAlgorithm::SymmetricDefault)
        .unwrap();
    let plain = b
        .decrypt(&blob, &context, EncryptionAlgorithm::SymmetricDefault)
        .unwrap();
    assert_eq!(plain.expose(), b"seeded");
    assert_eq!(a.materials()[0].material_id, b.materials()[0].material_id);
    assert!(
        CryptoKey::from_material(
            "k",
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
            Secret::from_slice(&[1; 16]),
        )
        .is_err(),
        "an AES-128 key is not a symmetric KMS key"
    );
    // An asymmetric key from its PKCS#8: the public key is the pair's.
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &rng,
    )
    .unwrap();
    let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        pkcs8.as_ref(),
    )
    .unwrap();
    let key = CryptoKey::from_material(
        "k",
        KeySpec::EccNistP256,
        KeyUsage::SignVerify,
        Secret::from_slice(pkcs8.as_ref()),
    )
    .unwrap();
    let spki = PublicKey::from_der(
        KeySpec::EccNistP256,
        KeyUsage::SignVerify,
        key.public_key().unwrap(),
    );
    assert!(spki.is_ok());
    use aws_lc_rs::signature::KeyPair;
    assert!(
        key.public_key()
            .unwrap()
            .ends_with(pair.public_key().as_ref()),
        "the SubjectPublicKeyInfo holds the pair's point"
    );
    // A P-256 PKCS#8 is not an RSA key's material.
    assert!(
        CryptoKey::from_material(
            "k",
            KeySpec::Rsa2048,
            KeyUsage::SignVerify,
            Secret::from_slice(pkcs8.as_ref()),
        )
        .is_err()
    );
}
