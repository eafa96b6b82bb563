//! Group `kms`: gated operations of the key service — authorize (key policy, identity
//! policies, grants), perform, audit to memory — against the bare crypto call in the same run.
//! Target (issue 7): gated Encrypt of 100 bytes and gated Decrypt under 5 us median.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_benches as _;
use keyward_crypto::{
    CryptoKey, EncryptionAlgorithm, EncryptionContext, KeySpec, KeyUsage, RootKey,
};
use keyward_kms::api::{CreateKeyRequest, DecryptRequest, EncryptRequest};
use keyward_kms::audit::{MemoryAudit, NoAudit};
use keyward_kms::clock::SystemClock;
use keyward_kms::store::{MemoryStore, SqliteStore};
use keyward_kms::{Caller, Kms, KmsConfig};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

fn config() -> KmsConfig {
    KmsConfig::new("us-east-1", "111122223333")
}

fn gated(c: &mut Criterion) {
    let audit = Arc::new(MemoryAudit::new());
    let kms = Kms::open(
        config(),
        Box::new(MemoryStore::new()),
        RootKey::generate().unwrap(),
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
        key_id: key.clone(),
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
    let raw = CryptoKey::generate(
        key.clone(),
        KeySpec::SymmetricDefault,
        KeyUsage::EncryptDecrypt,
    )
    .unwrap();
    let raw_context = EncryptionContext::new().with("tenant", "acme");
    let raw_blob = raw
        .encrypt(
            &[7; 100],
            &raw_context,
            EncryptionAlgorithm::SymmetricDefault,
        )
        .unwrap();
    let mut group = c.benchmark_group("kms");
    group.bench_function("gated_encrypt_100b", |b| {
        b.iter(|| {
            let r = kms.encrypt(&app, black_box(&encrypt)).unwrap();
            if audit.len() > 100_000 {
                audit.clear();
            }
            r
        });
    });
    group.bench_function("gated_decrypt_100b", |b| {
        b.iter(|| {
            let r = kms.decrypt(&app, black_box(&decrypt)).unwrap();
            if audit.len() > 100_000 {
                audit.clear();
            }
            r
        });
    });
    group.bench_function("baseline_crypto_encrypt_100b", |b| {
        b.iter(|| {
            raw.encrypt(
                black_box(&[7; 100]),
                &raw_context,
                EncryptionAlgorithm::SymmetricDefault,
            )
            .unwrap()
        });
    });
    group.bench_function("baseline_crypto_decrypt_100b", |b| {
        b.iter(|| {
            raw.decrypt(
                black_box(&raw_blob),
                &raw_context,
                EncryptionAlgorithm::SymmetricDefault,
            )
            .unwrap()
        });
    });
    let dir = std::env::temp_dir().join(format!("keyward-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let durable = Kms::open(
        config(),
        Box::new(SqliteStore::open(&dir.join("keys.db")).unwrap()),
        RootKey::generate().unwrap(),
        Arc::new(NoAudit),
        Arc::new(SystemClock),
    )
    .unwrap();
    group.sample_size(20);
    group.bench_function("create_key_durable_sqlite", |b| {
        b.iter(|| {
            durable
                .create_key(&admin, &CreateKeyRequest::default())
                .unwrap()
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, gated);
criterion_main!(benches);
