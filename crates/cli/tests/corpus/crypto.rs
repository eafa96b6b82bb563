//! `fixtures/crypto/TOPIC.json`: cases of the crypto core's operations, each a key (spec and
//! usage), an operation with its inputs, and the expected result: `"ok"` or the KMS error code
//! with, where AWS sends one, the exact message. Trials: `crypto/TOPIC/CASE`.

use crate::support::{Collected, corpus_dir, duplicate_names, list, load, settle_json, stem};
use keyward_crypto::*;
use libtest_mimic::Failed;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

const KEY_ID: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[allow(
        dead_code,
        reason = "kept for the case of a corpus file that needs it; not every file does"
    )]
    about: String,
    /// Each case's fields are described in `fixtures/crypto/README.md`.
    cases: Vec<Value>,
}

/// `"ok"`, or the KMS error: its code and, where AWS sends one, the exact message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Expectation {
    Ok(Success),
    Error {
        code: String,
        message: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Success {
    #[serde(rename = "ok")]
    Ok,
}

pub(crate) fn collect(out: &mut Collected) {
    let dir = corpus_dir("crypto");
    let files = match list(&dir, &["json"]) {
        Ok(files) => files,
        Err(problems) => return problems.into_iter().for_each(|p| out.problem(p)),
    };
    let mut count = 0;
    for path in files {
        let file: File = match load(&path) {
            Ok(file) => file,
            Err(e) => {
                out.problem(e);
                continue;
            }
        };
        let names: Vec<&str> = file
            .cases
            .iter()
            .map(|c| c["name"].as_str().unwrap_or(""))
            .collect();
        for problem in duplicate_names(&path, names.into_iter()) {
            out.problem(problem);
        }
        let topic = stem(&dir, &path);
        for case in file.cases {
            count += 1;
            let (Some(name), Some(expect)) = (
                case["name"].as_str().map(str::to_owned),
                serde_json::from_value::<Expectation>(case["expect"].clone()).ok(),
            ) else {
                out.problem(format!(
                    "{}: a case without a name or whose `expect` is neither \"ok\" nor {{code, message}}: {case}",
                    crate::support::shown(&path)
                ));
                continue;
            };
            let path = path.clone();
            out.trial(format!("crypto/{topic}/{name}"), move || {
                check(&path, &name, &case, &expect)
            });
        }
    }
    out.at_least("fixtures/crypto", count, 50);
}

fn check(file: &Path, name: &str, case: &Value, expect: &Expectation) -> Result<(), Failed> {
    let actual = match run(case) {
        Ok(()) => Expectation::Ok(Success::Ok),
        Err(error) => Expectation::Error {
            code: error.code().to_owned(),
            message: error.message(),
        },
    };
    settle_json(file, name, expect, &actual, &actual == expect, String::new)
}

/// The key of each spec and usage, generated once for every case (RSA 4096 takes a while).
fn key(spec: KeySpec, usage: KeyUsage) -> Arc<CryptoKey> {
    type Keys = HashMap<(KeySpec, KeyUsage), Arc<CryptoKey>>;
    static KEYS: LazyLock<Mutex<Keys>> = LazyLock::new(Mutex::default);
    let mut keys = KEYS.lock().unwrap_or_else(|e| e.into_inner());
    keys.entry((spec, usage))
        .or_insert_with(|| Arc::new(CryptoKey::generate(KEY_ID, spec, usage).unwrap()))
        .clone()
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
fn run(case: &Value) -> Result<(), CryptoError> {
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
    let key = &*key(spec, usage);
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
