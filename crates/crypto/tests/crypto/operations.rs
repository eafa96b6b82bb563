//! Every operation of the crypto core, its errors and their KMS codes and messages.

use crate::common::shared;
use keyward_crypto::blob::BlobHeader;
use keyward_crypto::*;

fn context() -> EncryptionContext {
    EncryptionContext::new()
        .with("purpose", "test")
        .with("tenant", "a")
}

fn none() -> EncryptionContext {
    EncryptionContext::new()
}

fn symmetric(id: &str) -> CryptoKey {
    CryptoKey::generate(id, KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap()
}

#[test]
fn symmetric_round_trip_binds_the_context() {
    let key = symmetric("k1");
    let blob = key
        .encrypt(b"secret", &context(), EncryptionAlgorithm::SymmetricDefault)
        .unwrap();
    let plain = key
        .decrypt(&blob, &context(), EncryptionAlgorithm::SymmetricDefault)
        .unwrap();
    assert_eq!(plain.expose(), b"secret");
    // The same pairs in another order decrypt; any other context does not, and says nothing.
    let reordered = EncryptionContext::new()
        .with("tenant", "a")
        .with("purpose", "test");
    assert!(
        key.decrypt(&blob, &reordered, EncryptionAlgorithm::SymmetricDefault)
            .is_ok()
    );
    for other in [
        none(),
        context().with("extra", "x"),
        EncryptionContext::new()
            .with("purpose", "test")
            .with("tenant", "A"),
        EncryptionContext::new()
            .with("Purpose", "test")
            .with("tenant", "a"),
    ] {
        let error = key
            .decrypt(&blob, &other, EncryptionAlgorithm::SymmetricDefault)
            .unwrap_err();
        assert_eq!(error, CryptoError::InvalidCiphertext, "{other:?}");
        assert_eq!(error.code(), "InvalidCiphertextException");
        assert_eq!(error.message(), None);
    }
    // Two encryptions of one plaintext differ (random nonce).
    let again = key
        .encrypt(b"secret", &context(), EncryptionAlgorithm::SymmetricDefault)
        .unwrap();
    assert_ne!(blob, again);
}

#[test]
fn shifted_context_boundaries_do_not_decrypt() {
    let key = symmetric("k1");
    let ab_c = EncryptionContext::new().with("ab", "c");
    let a_bc = EncryptionContext::new().with("a", "bc");
    let blob = key
        .encrypt(b"x", &ab_c, EncryptionAlgorithm::SymmetricDefault)
        .unwrap();
    assert_eq!(
        key.decrypt(&blob, &a_bc, EncryptionAlgorithm::SymmetricDefault),
        Err(CryptoError::InvalidCiphertext)
    );
}

#[test]
fn every_flipped_truncated_or_appended_byte_is_invalid_ciphertext() {
    let key = symmetric("1234abcd-12ab-34cd-56ef-1234567890ab");
    let blob = key
        .encrypt(
            b"a sample plaintext",
            &context(),
            EncryptionAlgorithm::SymmetricDefault,
        )
        .unwrap();
    for index in 0..blob.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut changed = blob.clone();
            changed[index] ^= flip;
            assert_eq!(
                key.decrypt(&changed, &context(), EncryptionAlgorithm::SymmetricDefault),
                Err(CryptoError::InvalidCiphertext),
                "byte {index} ^ {flip:#x}"
            );
        }
    }
    for len in 0..blob.len() {
        let error = key
            .decrypt(
                &blob[..len],
                &context(),
                EncryptionAlgorithm::SymmetricDefault,
            )
            .unwrap_err();
        // An empty blob fails the API's length constraint first, as in KMS.
        let expected = if len == 0 {
            "ValidationException"
        } else {
            "InvalidCiphertextException"
        };
        assert_eq!(error.code(), expected, "truncated to {len}");
    }
    for extra in [&b"\0"[..], b"bad_data", &[0xff; 64]] {
        let mut longer = blob.clone();
        longer.extend_from_slice(extra);
        assert_eq!(
            key.decrypt(&longer, &context(), EncryptionAlgorithm::SymmetricDefault),
            Err(CryptoError::InvalidCiphertext)
        );
    }
    assert!(
        key.decrypt(&blob, &context(), EncryptionAlgorithm::SymmetricDefault)
            .is_ok()
    );
}

#[test]
fn a_ciphertext_of_another_key_is_incorrect_key() {
    let one = symmetric("key-one");
    let two = symmetric("key-two");
    let blob = one
        .encrypt(b"x", &none(), EncryptionAlgorithm::SymmetricDefault)
        .unwrap();
    let error = two
        .decrypt(&blob, &none(), EncryptionAlgorithm::SymmetricDefault)
        .unwrap_err();
    assert_eq!(error.code(), "IncorrectKeyException");
    assert_eq!(
        error.message().unwrap(),
        "The key ID in the request does not identify a CMK that can perform this operation."
    );
    // KMS answers IncorrectKeyException, not a usage error, when an HMAC key is named
    // (AWS, as LocalStack's `test_error_messaging_for_invalid_keys` recorded it).
    let hmac = CryptoKey::generate("hmac", KeySpec::Hmac224, KeyUsage::GenerateVerifyMac).unwrap();
    assert_eq!(
        hmac.decrypt(&blob, &none(), EncryptionAlgorithm::SymmetricDefault),
        Err(CryptoError::IncorrectKey)
    );
    // Decrypt without a KeyId reads the key from the blob.
    assert_eq!(ciphertext_key_id(&blob).unwrap(), "key-one");
}

#[test]
fn rotation_adds_versions_encrypt_uses_the_newest_and_all_decrypt() {
    let mut key = symmetric("rotating");
    let mut blobs = vec![
        key.encrypt(b"v1", &none(), EncryptionAlgorithm::SymmetricDefault)
            .unwrap(),
    ];
    for expected in 2..=4 {
        assert_eq!(key.rotate().unwrap(), expected);
        let blob = key
            .encrypt(b"vN", &none(), EncryptionAlgorithm::SymmetricDefault)
            .unwrap();
        assert_eq!(BlobHeader::parse(&blob).unwrap().material_version, expected);
        blobs.push(blob);
    }
    assert_eq!(BlobHeader::parse(&blobs[0]).unwrap().material_version, 1);
    for blob in &blobs {
        assert!(
            key.decrypt(blob, &none(), EncryptionAlgorithm::SymmetricDefault)
                .is_ok()
        );
    }
    let infos = key.materials();
    assert_eq!(
        infos.iter().map(|i| i.version).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let mut ids: Vec<_> = infos.iter().map(|i| i.material_id.clone()).collect();
    assert!(ids.iter().all(|id| id.len() == 64));
    ids.dedup();
    assert_eq!(ids.len(), 4);
    // Asymmetric and HMAC keys do not rotate.
    let mut hmac =
        CryptoKey::generate("hmac", KeySpec::Hmac256, KeyUsage::GenerateVerifyMac).unwrap();
    assert_eq!(
        hmac.rotate().unwrap_err().code(),
        "UnsupportedOperationException"
    );
}

#[test]
fn plaintext_length_limits() {
    let key = symmetric("k");
    assert!(
        key.encrypt(
            &[1; MAX_MESSAGE_LEN],
            &none(),
            EncryptionAlgorithm::SymmetricDefault
        )
        .is_ok()
    );
    let error = key
        .encrypt(
            &[1; MAX_MESSAGE_LEN + 1],
            &none(),
            EncryptionAlgorithm::SymmetricDefault,
        )
        .unwrap_err();
    assert_eq!(error.code(), "ValidationException");
    assert_eq!(
        error.to_string(),
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
    );
    assert_eq!(
        key.encrypt(b"", &none(), EncryptionAlgorithm::SymmetricDefault)
            .unwrap_err()
            .to_string(),
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1"
    );
}

#[test]
fn operations_refuse_keys_of_another_usage_with_kms_messages() {
    let sign = shared(KeySpec::EccNistP256, KeyUsage::SignVerify);
    let error = sign
        .encrypt(b"x", &none(), EncryptionAlgorithm::SymmetricDefault)
        .unwrap_err();
    assert_eq!(error.code(), "InvalidKeyUsageException");
    assert_eq!(
        error.to_string(),
        "ECC_NIST_P256-SIGN_VERIFY key usage is SIGN_VERIFY which is not valid for Encrypt."
    );
    let hmac = CryptoKey::generate("h", KeySpec::Hmac224, KeyUsage::GenerateVerifyMac).unwrap();
    assert_eq!(
        hmac.sign(b"x", MessageType::Raw, SigningAlgorithm::RsassaPssSha256)
            .unwrap_err()
            .to_string(),
        "h key usage is GENERATE_VERIFY_MAC which is not valid for Sign."
    );
    let sym = symmetric("s");
    assert_eq!(
        sym.verify(
            b"x",
            MessageType::Raw,
            SigningAlgorithm::EcdsaSha256,
            b"sig"
        )
        .unwrap_err()
        .to_string(),
        "s key usage is ENCRYPT_DECRYPT which is not valid for Verify."
    );
    assert_eq!(
        sym.generate_mac(b"x", MacAlgorithm::HmacSha256)
            .unwrap_err()
            .to_string(),
        "s key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."
    );
    assert_eq!(
        sym.derive_shared_secret(KeyAgreementAlgorithm::Ecdh, b"peer")
            .unwrap_err()
            .to_string(),
        "s key usage is ENCRYPT_DECRYPT which is not valid for DeriveSharedSecret."
    );
    assert_eq!(
        sign.derive_shared_secret(KeyAgreementAlgorithm::Ecdh, b"peer")
            .unwrap_err()
            .to_string(),
        "ECC_NIST_P256-SIGN_VERIFY key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret."
    );
    let rsa_encrypt = shared(KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
    assert_eq!(
        rsa_encrypt
            .sign(b"x", MessageType::Raw, SigningAlgorithm::RsassaPssSha256)
            .unwrap_err()
            .code(),
        "InvalidKeyUsageException"
    );
    let error = sym.public_key().unwrap_err();
    assert_eq!(error.code(), "UnsupportedOperationException");
}

#[test]
fn algorithms_must_belong_to_the_key_spec() {
    let rsa = shared(KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
    let error = rsa
        .encrypt(b"x", &none(), EncryptionAlgorithm::SymmetricDefault)
        .unwrap_err();
    assert_eq!(error.code(), "InvalidKeyUsageException");
    assert_eq!(
        error.to_string(),
        "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."
    );
    let sym = symmetric("s");
    assert_eq!(
        sym.encrypt(b"x", &none(), EncryptionAlgorithm::RsaesOaepSha1)
            .unwrap_err()
            .to_string(),
        "Algorithm RSAES_OAEP_SHA_1 is incompatible with key spec SYMMETRIC_DEFAULT."
    );
    let p256 = shared(KeySpec::EccNistP256, KeyUsage::SignVerify);
    assert_eq!(
        p256.sign(b"x", MessageType::Raw, SigningAlgorithm::EcdsaSha384)
            .unwrap_err()
            .to_string(),
        "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256."
    );
    let h224 = CryptoKey::generate("h", KeySpec::Hmac224, KeyUsage::GenerateVerifyMac).unwrap();
    let error = h224
        .generate_mac(b"x", MacAlgorithm::HmacSha256)
        .unwrap_err();
    assert_eq!(error.code(), "InvalidKeyUsageException");
    assert_eq!(
        error.to_string(),
        "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224."
    );
}

#[test]
fn creation_checks_spec_and_usage() {
    assert_eq!(
        CryptoKey::generate("k", KeySpec::Rsa2048, KeyUsage::KeyAgreement)
            .unwrap_err()
            .to_string(),
        "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"
    );
    assert_eq!(
        CryptoKey::generate("k", KeySpec::Sm2, KeyUsage::SignVerify)
            .unwrap_err()
            .code(),
        "UnsupportedOperationException"
    );
    assert!(CryptoKey::generate("", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).is_err());
    assert!(
        CryptoKey::generate(
            "k".repeat(256),
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt
        )
        .is_err()
    );
}

#[test]
fn rsa_encryption_limits_and_round_trips() {
    for spec in [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096] {
        let key = shared(spec, KeyUsage::EncryptDecrypt);
        for algorithm in [
            EncryptionAlgorithm::RsaesOaepSha1,
            EncryptionAlgorithm::RsaesOaepSha256,
        ] {
            let max = algorithm.max_rsa_plaintext(spec).unwrap();
            let plaintext = vec![0x5a; max];
            let ciphertext = key.encrypt(&plaintext, &none(), algorithm).unwrap();
            assert_eq!(ciphertext.len(), spec.rsa_modulus_bytes().unwrap());
            assert_eq!(
                key.decrypt(&ciphertext, &none(), algorithm)
                    .unwrap()
                    .expose(),
                &plaintext[..]
            );
            // The other OAEP hash does not decrypt it.
            let other = if algorithm == EncryptionAlgorithm::RsaesOaepSha1 {
                EncryptionAlgorithm::RsaesOaepSha256
            } else {
                EncryptionAlgorithm::RsaesOaepSha1
            };
            assert_eq!(
                key.decrypt(&ciphertext, &none(), other),
                Err(CryptoError::InvalidCiphertext)
            );
            let error = key
                .encrypt(&vec![0; max + 1], &none(), algorithm)
                .unwrap_err();
            assert_eq!(error.code(), "ValidationException");
            assert_eq!(
                error.to_string(),
                format!(
                    "Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than {max} bytes."
                )
            );
        }
    }
    let key = shared(KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
    // An asymmetric key binds no context: refused rather than silently ignored.
    assert_eq!(
        key.encrypt(b"x", &context(), EncryptionAlgorithm::RsaesOaepSha256),
        Err(CryptoError::ContextNotSupported)
    );
    let mut ciphertext = key
        .encrypt(b"x", &none(), EncryptionAlgorithm::RsaesOaepSha256)
        .unwrap();
    ciphertext[10] ^= 1;
    assert_eq!(
        key.decrypt(&ciphertext, &none(), EncryptionAlgorithm::RsaesOaepSha256),
        Err(CryptoError::InvalidCiphertext)
    );
    assert_eq!(
        key.decrypt(
            &ciphertext[1..],
            &none(),
            EncryptionAlgorithm::RsaesOaepSha256
        ),
        Err(CryptoError::InvalidCiphertext)
    );
    // Offline encryption with the public key decrypts in the key.
    let public = key.public().unwrap();
    let offline = public
        .encrypt(b"offline", EncryptionAlgorithm::RsaesOaepSha1)
        .unwrap();
    assert_eq!(
        key.decrypt(&offline, &none(), EncryptionAlgorithm::RsaesOaepSha1)
            .unwrap()
            .expose(),
        b"offline"
    );
}

#[test]
fn data_keys() {
    let key = symmetric("dk");
    for (length, bytes) in [
        (DataKeyLength::Spec(DataKeySpec::Aes128), 16),
        (DataKeyLength::Spec(DataKeySpec::Aes256), 32),
        (DataKeyLength::Bytes(1), 1),
        (DataKeyLength::Bytes(1024), 1024),
    ] {
        let data_key = key.generate_data_key(length, &context()).unwrap();
        assert_eq!(data_key.plaintext.len(), bytes);
        let decrypted = key
            .decrypt(
                &data_key.ciphertext_blob,
                &context(),
                EncryptionAlgorithm::SymmetricDefault,
            )
            .unwrap();
        assert_eq!(decrypted, data_key.plaintext);
        // Without the context it does not decrypt (AWS, as LocalStack's
        // `test_encryption_context_generate_data_key` recorded it).
        assert_eq!(
            key.decrypt(
                &data_key.ciphertext_blob,
                &none(),
                EncryptionAlgorithm::SymmetricDefault
            ),
            Err(CryptoError::InvalidCiphertext)
        );
        let blob = key
            .generate_data_key_without_plaintext(length, &context())
            .unwrap();
        assert_eq!(
            key.decrypt(&blob, &context(), EncryptionAlgorithm::SymmetricDefault)
                .unwrap()
                .len(),
            bytes
        );
    }
    let a = key
        .generate_data_key(DataKeyLength::Spec(DataKeySpec::Aes256), &none())
        .unwrap();
    let b = key
        .generate_data_key(DataKeyLength::Spec(DataKeySpec::Aes256), &none())
        .unwrap();
    assert_ne!(a.plaintext, b.plaintext);
    assert_eq!(
        key.generate_data_key(DataKeyLength::Bytes(0), &none())
            .unwrap_err()
            .to_string(),
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    assert_eq!(
        key.generate_data_key(DataKeyLength::Bytes(1025), &none())
            .unwrap_err()
            .to_string(),
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
    );
    let rsa = shared(KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
    assert_eq!(
        rsa.generate_data_key(DataKeyLength::Bytes(16), &none())
            .unwrap_err()
            .to_string(),
        "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."
    );
    let sign = shared(KeySpec::EccNistP256, KeyUsage::SignVerify);
    assert_eq!(
        sign.generate_data_key(DataKeyLength::Bytes(16), &none())
            .unwrap_err()
            .code(),
        "InvalidKeyUsageException"
    );
}

#[test]
fn data_key_pairs_for_every_supported_spec() {
    let key = symmetric("dkp");
    for spec in DataKeyPairSpec::ALL {
        if *spec == DataKeyPairSpec::Sm2 {
            assert_eq!(
                key.generate_data_key_pair(*spec, &none())
                    .unwrap_err()
                    .code(),
                "UnsupportedOperationException"
            );
            continue;
        }
        let pair = key.generate_data_key_pair(*spec, &context()).unwrap();
        let decrypted = key
            .decrypt(
                &pair.private_key_ciphertext_blob,
                &context(),
                EncryptionAlgorithm::SymmetricDefault,
            )
            .unwrap();
        assert_eq!(decrypted, pair.private_key_plaintext, "{spec}");
        // The public key parses as the spec's SubjectPublicKeyInfo.
        PublicKey::from_der(spec.key_spec(), KeyUsage::SignVerify, &pair.public_key).unwrap();
        // PKCS#8: a SEQUENCE whose first member is INTEGER 0 (version 1).
        let der = pair.private_key_plaintext.expose();
        assert_eq!(der[0], 0x30, "{spec}");
        let without = key
            .generate_data_key_pair_without_plaintext(*spec, &context())
            .unwrap();
        assert!(
            key.decrypt(
                &without.private_key_ciphertext_blob,
                &context(),
                EncryptionAlgorithm::SymmetricDefault
            )
            .is_ok()
        );
        assert_eq!(without.spec, *spec);
    }
}

#[test]
fn re_encrypt_moves_ciphertexts_between_keys_and_contexts() {
    let source = symmetric("source");
    let destination = symmetric("destination");
    let blob = source
        .encrypt(b"moving", &context(), EncryptionAlgorithm::SymmetricDefault)
        .unwrap();
    let new_context = EncryptionContext::new().with("stage", "2");
    let moved = source
        .re_encrypt(
            &blob,
            &context(),
            EncryptionAlgorithm::SymmetricDefault,
            &destination,
            &new_context,
            EncryptionAlgorithm::SymmetricDefault,
        )
        .unwrap();
    assert_eq!(ciphertext_key_id(&moved).unwrap(), "destination");
    assert_eq!(
        destination
            .decrypt(&moved, &new_context, EncryptionAlgorithm::SymmetricDefault)
            .unwrap()
            .expose(),
        b"moving"
    );
    // Wrong source context: invalid ciphertext. Wrong source key: incorrect key.
    assert_eq!(
        source.re_encrypt(
            &blob,
            &none(),
            EncryptionAlgorithm::SymmetricDefault,
            &destination,
            &none(),
            EncryptionAlgorithm::SymmetricDefault
        ),
        Err(CryptoError::InvalidCiphertext)
    );
    assert_eq!(
        destination
            .re_encrypt(
                &blob,
                &context(),
                EncryptionAlgorithm::SymmetricDefault,
                &source,
                &none(),
                EncryptionAlgorithm::SymmetricDefault
            )
            .unwrap_err()
            .code(),
        "IncorrectKeyException"
    );
    // To an RSA key (with its algorithm), and a signing key as destination is refused.
    let rsa = shared(KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
    let to_rsa = source
        .re_encrypt(
            &blob,
            &context(),
            EncryptionAlgorithm::SymmetricDefault,
            rsa,
            &none(),
            EncryptionAlgorithm::RsaesOaepSha256,
        )
        .unwrap();
    assert_eq!(
        rsa.decrypt(&to_rsa, &none(), EncryptionAlgorithm::RsaesOaepSha256)
            .unwrap()
            .expose(),
        b"moving"
    );
    // From an RSA key (its algorithm named) back to a symmetric key.
    let back = rsa
        .re_encrypt(
            &to_rsa,
            &none(),
            EncryptionAlgorithm::RsaesOaepSha256,
            &source,
            &context(),
            EncryptionAlgorithm::SymmetricDefault,
        )
        .unwrap();
    assert_eq!(
        source
            .decrypt(&back, &context(), EncryptionAlgorithm::SymmetricDefault)
            .unwrap()
            .expose(),
        b"moving"
    );
    let sign = shared(KeySpec::EccNistP256, KeyUsage::SignVerify);
    let error = source
        .re_encrypt(
            &blob,
            &context(),
            EncryptionAlgorithm::SymmetricDefault,
            sign,
            &none(),
            EncryptionAlgorithm::SymmetricDefault,
        )
        .unwrap_err();
    assert_eq!(error.code(), "InvalidKeyUsageException");
    assert!(
        error
            .to_string()
            .ends_with("key usage is SIGN_VERIFY which is not valid for ReEncrypt.")
    );
}

fn digest(algorithm: SigningAlgorithm, message: &[u8]) -> Vec<u8> {
    use aws_lc_rs::digest::{SHA256, SHA384, SHA512, digest};
    let alg = match algorithm.digest_len() {
        32 => &SHA256,
        48 => &SHA384,
        _ => &SHA512,
    };
    digest(alg, message).as_ref().to_vec()
}

/// ML-DSA's μ of `message` for the key whose SubjectPublicKeyInfo is `spki` (pure ML-DSA, empty
/// context): the last bytes of the SPKI are the raw public key.
fn external_mu(spki: &[u8], message: &[u8]) -> [u8; 64] {
    use shake::digest::{ExtendableOutput, Update, XofReader};
    let raw = &spki[22..];
    let mut tr = [0u8; 64];
    let mut h = shake::Shake256::default();
    h.update(raw);
    h.finalize_xof().read(&mut tr);
    let mut mu = [0u8; 64];
    let mut h = shake::Shake256::default();
    h.update(&tr);
    h.update(&[0, 0]);
    h.update(message);
    h.finalize_xof().read(&mut mu);
    mu
}

#[test]
fn sign_and_verify_every_spec_algorithm_and_message_type() {
    let message = b"the message to sign";
    for spec in KeySpec::ALL {
        if !spec.row().usages.contains(&KeyUsage::SignVerify) || !spec.row().supported {
            continue;
        }
        let key = shared(*spec, KeyUsage::SignVerify);
        for algorithm in spec.row().signing {
            if *algorithm == SigningAlgorithm::Ed25519PhSha512 {
                assert_eq!(
                    key.sign(message, MessageType::Digest, *algorithm),
                    Err(CryptoError::UnsupportedAlgorithm("ED25519_PH_SHA_512"))
                );
                continue;
            }
            let signature = key.sign(message, MessageType::Raw, *algorithm).unwrap();
            key.verify(message, MessageType::Raw, *algorithm, &signature)
                .unwrap();
            let public = key.public().unwrap();
            public
                .verify(message, MessageType::Raw, *algorithm, &signature)
                .unwrap();
            // A tampered signature or message fails with no message.
            let mut bad = signature.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            let error = key
                .verify(message, MessageType::Raw, *algorithm, &bad)
                .unwrap_err();
            assert_eq!(error.code(), "KMSInvalidSignatureException");
            assert_eq!(error.message(), None);
            assert_eq!(
                key.verify(b"another message", MessageType::Raw, *algorithm, &signature),
                Err(CryptoError::InvalidSignature)
            );
            if *algorithm == SigningAlgorithm::Ed25519Sha512 {
                assert_eq!(
                    key.sign(&[0; 64], MessageType::Digest, *algorithm)
                        .unwrap_err()
                        .code(),
                    "ValidationException"
                );
                continue;
            }
            if *algorithm == SigningAlgorithm::MlDsaShake256 {
                // FIPS 204 signature sizes: 2,420, 3,309 and 4,627 bytes.
                let expected = match spec {
                    KeySpec::MlDsa44 => 2420,
                    KeySpec::MlDsa65 => 3309,
                    _ => 4627,
                };
                assert_eq!(signature.len(), expected, "{spec}");
                // A DIGEST is refused as AWS refuses it.
                let digest = key
                    .sign(&[0; 64], MessageType::Digest, *algorithm)
                    .unwrap_err();
                assert_eq!(digest.code(), "ValidationException");
                assert_eq!(
                    digest.to_string(),
                    format!("Message type DIGEST is incompatible with key spec {spec}.")
                );
                // EXTERNAL_MU: μ = SHAKE256(SHAKE256(pk, 64) || 0 || 0 || M, 64) (FIPS 204,
                // pure ML-DSA with an empty context), computed here as a client would. A
                // signature of μ is one of the message, and the other way round.
                let mu = external_mu(key.public_key().unwrap(), message);
                let of_mu = key.sign(&mu, MessageType::ExternalMu, *algorithm).unwrap();
                assert_eq!(of_mu.len(), expected);
                key.verify(message, MessageType::Raw, *algorithm, &of_mu)
                    .unwrap();
                key.verify(&mu, MessageType::ExternalMu, *algorithm, &signature)
                    .unwrap();
                key.public()
                    .unwrap()
                    .verify(&mu, MessageType::ExternalMu, *algorithm, &of_mu)
                    .unwrap();
                let mut other = mu;
                other[0] ^= 1;
                assert_eq!(
                    key.verify(&other, MessageType::ExternalMu, *algorithm, &of_mu),
                    Err(CryptoError::InvalidSignature)
                );
                let short = key
                    .sign(&mu[1..], MessageType::ExternalMu, *algorithm)
                    .unwrap_err();
                assert_eq!(short.code(), "ValidationException");
                continue;
            }
            // EXTERNAL_MU is ML-DSA's alone.
            assert_eq!(
                key.sign(&[0; 64], MessageType::ExternalMu, *algorithm)
                    .unwrap_err()
                    .to_string(),
                format!("Message type EXTERNAL_MU is incompatible with key spec {spec}.")
            );
            // DIGEST signing equals RAW signing of the message: each verifies the other way.
            let hashed = digest(*algorithm, message);
            let from_digest = key.sign(&hashed, MessageType::Digest, *algorithm).unwrap();
            key.verify(message, MessageType::Raw, *algorithm, &from_digest)
                .unwrap();
            key.verify(&hashed, MessageType::Digest, *algorithm, &signature)
                .unwrap();
            let error = key
                .sign(&hashed[1..], MessageType::Digest, *algorithm)
                .unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("Digest is invalid length for algorithm {algorithm}.")
            );
            if algorithm.as_str().starts_with("ECDSA") {
                // DER: SEQUENCE of two INTEGERs.
                assert_eq!(signature[0], 0x30, "{spec} {algorithm}");
            } else {
                assert_eq!(signature.len(), spec.rsa_modulus_bytes().unwrap());
            }
        }
    }
}

#[test]
fn message_limits_for_sign_and_mac() {
    let key = shared(KeySpec::EccNistP256, KeyUsage::SignVerify);
    assert!(
        key.sign(
            &[1; MAX_MESSAGE_LEN],
            MessageType::Raw,
            SigningAlgorithm::EcdsaSha256
        )
        .is_ok()
    );
    assert_eq!(
        key.sign(
            &[1; MAX_MESSAGE_LEN + 1],
            MessageType::Raw,
            SigningAlgorithm::EcdsaSha256
        )
        .unwrap_err()
        .to_string(),
        "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096"
    );
    assert_eq!(
        key.verify(b"m", MessageType::Raw, SigningAlgorithm::EcdsaSha256, &[])
            .unwrap_err()
            .code(),
        "ValidationException"
    );
    let hmac = CryptoKey::generate("h", KeySpec::Hmac256, KeyUsage::GenerateVerifyMac).unwrap();
    assert!(
        hmac.generate_mac(&[0; MAX_MESSAGE_LEN + 1], MacAlgorithm::HmacSha256)
            .is_err()
    );
    assert!(hmac.generate_mac(&[], MacAlgorithm::HmacSha256).is_err());
}

#[test]
fn macs_for_every_hmac_spec() {
    for (spec, algorithm) in [
        (KeySpec::Hmac224, MacAlgorithm::HmacSha224),
        (KeySpec::Hmac256, MacAlgorithm::HmacSha256),
        (KeySpec::Hmac384, MacAlgorithm::HmacSha384),
        (KeySpec::Hmac512, MacAlgorithm::HmacSha512),
    ] {
        let key = CryptoKey::generate("mac", spec, KeyUsage::GenerateVerifyMac).unwrap();
        let mac = key.generate_mac(b"message", algorithm).unwrap();
        assert_eq!(mac.len(), algorithm.tag_len());
        assert_eq!(mac, key.generate_mac(b"message", algorithm).unwrap());
        key.verify_mac(b"message", algorithm, &mac).unwrap();
        let error = key.verify_mac(b"massage", algorithm, &mac).unwrap_err();
        assert_eq!(error.code(), "KMSInvalidMacException");
        assert_eq!(error.message(), None);
        assert_eq!(
            key.verify_mac(b"message", algorithm, &mac[..mac.len() - 1]),
            Err(CryptoError::InvalidMac)
        );
        let other = CryptoKey::generate("mac2", spec, KeyUsage::GenerateVerifyMac).unwrap();
        assert_eq!(
            other.verify_mac(b"message", algorithm, &mac),
            Err(CryptoError::InvalidMac)
        );
    }
    let h256 = CryptoKey::generate("h", KeySpec::Hmac256, KeyUsage::GenerateVerifyMac).unwrap();
    assert_eq!(
        h256.verify_mac(b"m", MacAlgorithm::HmacSha512, &[0; 64])
            .unwrap_err()
            .to_string(),
        "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256."
    );
    assert_eq!(
        MacAlgorithm::parse("INVALID").unwrap_err().to_string(),
        "1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]"
    );
}

#[test]
fn ecdh_agrees_between_two_keys_and_refuses_bad_peers() {
    for spec in [
        KeySpec::EccNistP256,
        KeySpec::EccNistP384,
        KeySpec::EccNistP521,
    ] {
        let alice = CryptoKey::generate("alice", spec, KeyUsage::KeyAgreement).unwrap();
        let bob = CryptoKey::generate("bob", spec, KeyUsage::KeyAgreement).unwrap();
        let one = alice
            .derive_shared_secret(KeyAgreementAlgorithm::Ecdh, bob.public_key().unwrap())
            .unwrap();
        let two = bob
            .derive_shared_secret(KeyAgreementAlgorithm::Ecdh, alice.public_key().unwrap())
            .unwrap();
        assert_eq!(one, two);
        let expected_len = match spec {
            KeySpec::EccNistP256 => 32,
            KeySpec::EccNistP384 => 48,
            _ => 66,
        };
        assert_eq!(one.len(), expected_len);
    }
    let p256 = CryptoKey::generate("a", KeySpec::EccNistP256, KeyUsage::KeyAgreement).unwrap();
    let p384 = CryptoKey::generate("b", KeySpec::EccNistP384, KeyUsage::KeyAgreement).unwrap();
    let error = p256
        .derive_shared_secret(KeyAgreementAlgorithm::Ecdh, p384.public_key().unwrap())
        .unwrap_err();
    assert_eq!(error, CryptoError::InvalidPublicKey);
    // AWS, as LocalStack's `test_derive_shared_secret` recorded it: garbage is a
    // ValidationException with no message.
    let error = p256
        .derive_shared_secret(KeyAgreementAlgorithm::Ecdh, b"InvalidPublicKey")
        .unwrap_err();
    assert_eq!(error.code(), "ValidationException");
    assert_eq!(error.message(), None);
    // A raw uncompressed point is not a SubjectPublicKeyInfo.
    let spki = p256.public_key().unwrap();
    let point = &spki[spki.len() - 65..];
    assert_eq!(point[0], 0x04);
    assert_eq!(
        p256.derive_shared_secret(KeyAgreementAlgorithm::Ecdh, point),
        Err(CryptoError::InvalidPublicKey)
    );
    // Fail closed on non-canonical SubjectPublicKeyInfo forms (rule: a named curve, an
    // uncompressed point): a changed byte before the point is refused even where a lenient
    // parser might accept it; Wycheproof's explicit-parameter keys are in wycheproof.rs.
    let mut renamed = spki.to_vec();
    renamed[20] ^= 0x01;
    assert_eq!(
        p256.derive_shared_secret(KeyAgreementAlgorithm::Ecdh, &renamed),
        Err(CryptoError::InvalidPublicKey)
    );
    let mut longer = spki.to_vec();
    longer.push(0);
    assert_eq!(
        p256.derive_shared_secret(KeyAgreementAlgorithm::Ecdh, &longer),
        Err(CryptoError::InvalidPublicKey)
    );
    assert_eq!(
        KeyAgreementAlgorithm::parse("INVALID")
            .unwrap_err()
            .to_string(),
        "1 validation error detected: Value 'INVALID' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]"
    );
}

#[test]
fn generate_random_limits() {
    assert_eq!(generate_random(1).unwrap().len(), 1);
    assert_eq!(generate_random(1024).unwrap().len(), 1024);
    assert_ne!(generate_random(32).unwrap(), generate_random(32).unwrap());
    assert_eq!(
        generate_random(0).unwrap_err().to_string(),
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    assert_eq!(
        generate_random(1025).unwrap_err().to_string(),
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
    );
}

#[test]
fn debug_output_never_contains_secret_material() {
    let key = symmetric("dbg");
    let data_key = key
        .generate_data_key(DataKeyLength::Spec(DataKeySpec::Aes256), &none())
        .unwrap();
    let secret_as_debug = format!("{:?}", data_key.plaintext.expose());
    let secret_as_list = secret_as_debug
        .trim_start_matches('[')
        .trim_end_matches(']');
    for shown in [
        format!("{data_key:?}"),
        format!("{data_key:#?}"),
        format!("{key:?}"),
        format!("{key:#?}"),
    ] {
        assert!(!shown.contains(secret_as_list), "{shown}");
    }
    assert!(format!("{data_key:?}").contains("Secret(32 bytes)"));
    let pair = key
        .generate_data_key_pair(DataKeyPairSpec::EccNistP256, &none())
        .unwrap();
    let private = format!("{:?}", pair.private_key_plaintext.expose());
    assert!(!format!("{pair:?}").contains(private.trim_start_matches('[').trim_end_matches(']')));
    let signer = shared(KeySpec::EccNistP256, KeyUsage::SignVerify);
    let shown = format!("{signer:#?}");
    assert!(!shown.to_lowercase().contains("private_key"), "{shown}");
}
