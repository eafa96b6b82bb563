//! Runs the corpus `fixtures/crypto/operations.json`: each case a key, an operation and the
//! expected KMS result (see `fixtures/crypto/README.md`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use keyward_crypto::*;
use serde_json::Value;
use std::collections::HashMap;

const KEY_ID: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[derive(Default)]
struct Keys(HashMap<(KeySpec, KeyUsage), CryptoKey>);

impl Keys {
    fn get(&mut self, spec: KeySpec, usage: KeyUsage) -> &CryptoKey {
        self.0
            .entry((spec, usage))
            .or_insert_with(|| CryptoKey::generate(KEY_ID, spec, usage).unwrap())
    }
}

fn text<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field]
        .as_str()
        .unwrap_or_else(|| panic!("case {:?} lacks {field}", case["name"]))
}

fn input(case: &Value) -> Vec<u8> {
    vec![0x61; case["input_len"].as_u64().unwrap_or(0) as usize]
}

/// Runs one case; Ok(()) or the error the operation returned.
fn run(case: &Value, keys: &mut Keys) -> Result<(), CryptoError> {
    let operation = text(case, "operation");
    if operation == "GenerateRandom" {
        return generate_random(case["number_of_bytes"].as_u64().unwrap()).map(drop);
    }
    let spec = KeySpec::parse(text(&case["key"], "spec"))?;
    let usage = match case["key"]["usage"].as_str() {
        Some(usage) => KeyUsage::parse(usage)?,
        None => spec.default_usage()?,
    };
    if operation == "CreateKey" {
        return CryptoKey::generate(KEY_ID, spec, usage).map(drop);
    }
    let context = EncryptionContext::new().with("case", "fixture");
    let none = EncryptionContext::new();
    let key = keys.get(spec, usage);
    match operation {
        "Encrypt" => {
            let algorithm = EncryptionAlgorithm::parse(text(case, "algorithm"))?;
            let context = if spec == KeySpec::SymmetricDefault {
                &context
            } else {
                &none
            };
            key.encrypt(&input(case), context, algorithm).map(drop)
        }
        "Decrypt" => {
            let algorithm = EncryptionAlgorithm::parse(text(case, "algorithm"))?;
            let symmetric = CryptoKey::generate(
                "another-key",
                KeySpec::SymmetricDefault,
                KeyUsage::EncryptDecrypt,
            )
            .unwrap();
            let own_context = if spec == KeySpec::SymmetricDefault {
                &context
            } else {
                &none
            };
            let (blob, decrypt_context) = match text(case, "ciphertext") {
                "same-key" => (key.encrypt(b"plain", own_context, algorithm)?, own_context),
                "other-key" => (
                    symmetric.encrypt(b"plain", &none, EncryptionAlgorithm::SymmetricDefault)?,
                    &none,
                ),
                "truncated" => {
                    let blob = key.encrypt(b"plain", &context, algorithm)?;
                    (blob[4..].to_vec(), &context)
                }
                "appended" => {
                    let mut blob = key.encrypt(b"plain", &context, algorithm)?;
                    blob.extend_from_slice(b"bad_data");
                    (blob, &context)
                }
                "other-context" => (key.encrypt(b"plain", &context, algorithm)?, &none),
                other => panic!("unknown ciphertext kind {other}"),
            };
            let plain = key.decrypt(&blob, decrypt_context, algorithm)?;
            assert_eq!(plain.expose(), b"plain");
            Ok(())
        }
        "Sign" | "Verify" => {
            let algorithm = SigningAlgorithm::parse(text(case, "algorithm"))?;
            let message_type = MessageType::parse(text(case, "message_type"))?;
            let message = input(case);
            if operation == "Sign" {
                return key.sign(&message, message_type, algorithm).map(drop);
            }
            // Verify a changed signature when the key can sign; otherwise any signature.
            let mut signature = key
                .sign(&message, message_type, algorithm)
                .unwrap_or_else(|_| vec![1; 64]);
            signature[10] ^= 1;
            key.verify(&message, message_type, algorithm, &signature)
        }
        "GenerateMac" => {
            let algorithm = MacAlgorithm::parse(text(case, "algorithm"))?;
            key.generate_mac(&input(case), algorithm).map(drop)
        }
        "VerifyMac" => {
            let algorithm = MacAlgorithm::parse(text(case, "algorithm"))?;
            // The MAC of another message, when the key can make one.
            let mac = key
                .generate_mac(b"another message", algorithm)
                .unwrap_or_else(|_| vec![1; 32]);
            key.verify_mac(&input(case), algorithm, &mac)
        }
        "DeriveSharedSecret" => {
            let algorithm = KeyAgreementAlgorithm::parse(text(case, "algorithm"))?;
            let peer_spec = match text(case, "peer") {
                "other-curve" if spec == KeySpec::EccNistP384 => KeySpec::EccNistP256,
                "other-curve" => KeySpec::EccNistP384,
                _ if spec.row().key_agreement.is_empty() => KeySpec::EccNistP256,
                _ => spec,
            };
            let peer = CryptoKey::generate("peer", peer_spec, KeyUsage::KeyAgreement).unwrap();
            let spki = peer.public_key().unwrap().to_vec();
            let bytes = match text(case, "peer") {
                "same-curve" | "other-curve" => spki,
                "garbage" => b"InvalidPublicKey".to_vec(),
                "raw-point" => spki[spki.len() - 65..].to_vec(),
                other => panic!("unknown peer kind {other}"),
            };
            key.derive_shared_secret(algorithm, &bytes).map(drop)
        }
        "GetPublicKey" => key.public_key().map(drop),
        "GenerateDataKey" => {
            let length = match case["key_spec"].as_str() {
                Some(name) => DataKeyLength::Spec(DataKeySpec::parse(name)?),
                None => DataKeyLength::Bytes(case["number_of_bytes"].as_u64().unwrap()),
            };
            key.generate_data_key(length, &context).map(drop)
        }
        "GenerateDataKeyPair" => {
            let pair = DataKeyPairSpec::parse(text(case, "key_spec"))?;
            key.generate_data_key_pair(pair, &context).map(drop)
        }
        other => panic!("unknown operation {other}"),
    }
}

#[test]
fn crypto_corpus() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/crypto/operations.json"
    );
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let mut keys = Keys::default();
    let mut failures = Vec::new();
    for case in &cases {
        let name = text(case, "name");
        let result = run(case, &mut keys);
        let ok = match (&case["expect"], &result) {
            (Value::String(expected), Ok(())) => expected == "ok",
            (Value::Object(expected), Err(error)) => {
                expected["code"].as_str() == Some(error.code())
                    && expected["message"].as_str().map(str::to_owned) == error.message()
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{name}: expected {}, got {:?}",
                case["expect"],
                result.map_err(|e| (e.code(), e.message()))
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
