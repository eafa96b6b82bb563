//! Runs N gated Encrypt and N gated Decrypt calls (the `kms` bench's setup) so that
//! `valgrind --tool=callgrind` can count the instructions of one call:
//!
//! ```sh
//! cargo build --release -p keyward-benches --example gated_calls
//! valgrind --tool=callgrind target/release/examples/gated_calls 1
//! valgrind --tool=callgrind target/release/examples/gated_calls 10001
//! ```
//!
//! (difference of the totals) / 10,000 = instructions per Encrypt + Decrypt pair.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use keyward_benches as _;
use keyward_crypto::RootKey;
use keyward_kms::api::{CreateKeyRequest, DecryptRequest, EncryptRequest};
use keyward_kms::audit::MemoryAudit;
use keyward_kms::clock::SystemClock;
use keyward_kms::store::MemoryStore;
use keyward_kms::{Caller, Kms, KmsConfig};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let only = std::env::args().nth(2);
    let audit = Arc::new(MemoryAudit::new());
    let kms = Kms::open(
        KmsConfig::new("us-east-1", "111122223333"),
        Box::new(MemoryStore::new()),
        RootKey::from_bytes(keyward_crypto::Secret::new(vec![9; 32])).unwrap(),
        audit.clone(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let admin = Caller::new(ADMIN, &[ALLOW_ALL]).unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"{ADMIN}"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"Users","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:role/App"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*","Condition":{{"StringEquals":{{"kms:EncryptionContext:tenant":"acme"}}}}}}]}}"#
    );
    let key = kms
        .create_key(
            &admin,
            &CreateKeyRequest {
                policy: Some(policy),
                ..CreateKeyRequest::default()
            },
        )
        .unwrap()
        .key_metadata
        .key_id;
    let app = Caller::new("arn:aws:iam::111122223333:role/App", &[]).unwrap();
    let context: BTreeMap<String, String> = [("tenant".to_owned(), "acme".to_owned())].into();
    let encrypt = EncryptRequest {
        key_id: key,
        plaintext: vec![7; 100].into(),
        encryption_context: context.clone(),
        ..EncryptRequest::default()
    };
    let blob = kms.encrypt(&app, &encrypt).unwrap().ciphertext_blob;
    let decrypt = DecryptRequest {
        ciphertext_blob: blob,
        encryption_context: context,
        ..DecryptRequest::default()
    };
    for _ in 0..n {
        if only.as_deref() != Some("decrypt") {
            black_box(kms.encrypt(&app, black_box(&encrypt)).unwrap());
        }
        if only.as_deref() != Some("encrypt") {
            black_box(kms.decrypt(&app, black_box(&decrypt)).unwrap());
        }
        if audit.len() > 100_000 {
            audit.clear();
        }
    }
}
