//! Every parser of the crypto core on arbitrary bytes: symmetric ciphertext blobs (header,
//! Decrypt, Decrypt without KeyId), RSA ciphertexts, peer public keys for DeriveSharedSecret,
//! public keys for offline verification, signatures, wrapped key material for import, and
//! sealed keys as stored (whole, or a head and its versions).
//! Nothing may panic; every failure must carry the KMS code the operation documents; a blob
//! that did not come from the key never decrypts.
#![no_main]

use keyward_crypto::*;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

struct Keys {
    symmetric: CryptoKey,
    rsa: CryptoKey,
    ecdh: CryptoKey,
    ecdsa: CryptoKey,
    import_target: CryptoKey,
    import: ImportParameters,
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let import_target =
            CryptoKey::external("ext", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt)
                .unwrap();
        let import = ImportParameters::generate(
            &import_target,
            WrappingAlgorithm::RsaAesKeyWrapSha256,
            WrappingKeySpec::Rsa2048,
            now(),
        )
        .unwrap();
        Keys {
            symmetric: CryptoKey::generate(
                "fuzz",
                KeySpec::SymmetricDefault,
                KeyUsage::EncryptDecrypt,
            )
            .unwrap(),
            rsa: CryptoKey::generate("rsa", KeySpec::Rsa2048, KeyUsage::EncryptDecrypt).unwrap(),
            ecdh: CryptoKey::generate("ecdh", KeySpec::EccNistP256, KeyUsage::KeyAgreement)
                .unwrap(),
            ecdsa: CryptoKey::generate("ecdsa", KeySpec::EccNistP256, KeyUsage::SignVerify)
                .unwrap(),
            import_target,
            import,
        }
    })
}

fn root() -> &'static RootKey {
    static ROOT: OnceLock<RootKey> = OnceLock::new();
    ROOT.get_or_init(|| RootKey::generate().unwrap())
}

fn expect_code(result: Result<impl Sized, CryptoError>, codes: &[&str]) {
    if let Err(error) = result {
        assert!(codes.contains(&error.code()), "{error:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let keys = keys();
    let none = EncryptionContext::new();
    match selector % 8 {
        0 => {
            let _ = blob::BlobHeader::parse(rest);
            let _ = ciphertext_key_id(rest);
            let result = keys
                .symmetric
                .decrypt(rest, &none, EncryptionAlgorithm::SymmetricDefault);
            // Arbitrary bytes are never a ciphertext of this key.
            let error = result.err().unwrap();
            assert!(
                ["InvalidCiphertextException", "IncorrectKeyException", "ValidationException"]
                    .contains(&error.code())
            );
        }
        1 => {
            // A real blob with the input appended or spliced in never decrypts.
            let blob = keys
                .symmetric
                .encrypt(b"fuzz", &none, EncryptionAlgorithm::SymmetricDefault)
                .unwrap();
            let mut changed = blob.clone();
            if let Some((&at, extra)) = rest.split_first().filter(|(_, extra)| !extra.is_empty()) {
                let at = usize::from(at) % changed.len();
                changed.splice(at..at, extra.iter().copied());
                assert!(keys
                    .symmetric
                    .decrypt(&changed, &none, EncryptionAlgorithm::SymmetricDefault)
                    .is_err());
            }
        }
        2 => expect_code(
            keys.rsa
                .decrypt(rest, &none, EncryptionAlgorithm::RsaesOaepSha256),
            &["InvalidCiphertextException", "ValidationException", "IncorrectKeyException"],
        ),
        3 => expect_code(
            keys.ecdh
                .derive_shared_secret(KeyAgreementAlgorithm::Ecdh, rest),
            &["ValidationException"],
        ),
        4 => {
            let spec = KeySpec::ALL[usize::from(rest.first().copied().unwrap_or(0)) % KeySpec::ALL.len()];
            if let Ok(key) = PublicKey::from_der(spec, KeyUsage::SignVerify, rest) {
                for algorithm in spec.row().signing {
                    expect_code(
                        key.verify(b"message", MessageType::Raw, *algorithm, rest),
                        &["KMSInvalidSignatureException", "ValidationException", "UnsupportedOperationException"],
                    );
                }
            }
        }
        5 => {
            let result = keys.ecdsa.verify(
                rest.get(..rest.len() / 2).unwrap_or_default(),
                MessageType::Raw,
                SigningAlgorithm::EcdsaSha256,
                rest.get(rest.len() / 2..).unwrap_or_default(),
            );
            expect_code(result, &["KMSInvalidSignatureException", "ValidationException"]);
        }
        6 => {
            // Stored key rows: a sealed key, a head and a version, from arbitrary bytes, never
            // open (they are authenticated before anything in them is read).
            let root = root();
            let half = rest.len() / 2;
            let (head, version) = rest.split_at(half);
            assert!(CryptoKey::unseal("fuzz", rest, root).is_err());
            assert!(CryptoKey::unseal_parts("fuzz", head, &[(1, version)], b"", root).is_err());
            let real_head = keys.symmetric.seal_head(root, b"").unwrap();
            assert!(CryptoKey::unseal_parts("fuzz", &real_head, &[(1, rest)], b"", root).is_err());
            // The real head and version, with arbitrary bytes as what the head binds.
            let real_version = keys.symmetric.seal_version(1, root).unwrap().unwrap();
            let opened = CryptoKey::unseal_parts(
                keys.symmetric.id(),
                &real_head,
                &[(1, &real_version)],
                rest,
                root,
            );
            assert_eq!(opened.is_ok(), rest.is_empty());
        }
        _ => {
            let mut target =
                CryptoKey::external("ext", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt)
                    .unwrap();
            let _ = &keys.import_target;
            let result = target.import_material(
                &keys.import,
                keys.import.import_token(),
                rest,
                MaterialExpiry::DoesNotExpire,
                now(),
            );
            expect_code(result, &["InvalidCiphertextException", "ValidationException"]);
        }
    }
});
