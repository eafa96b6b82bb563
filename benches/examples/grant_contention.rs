//! Encrypt latency on one key while grants are created on another (issue 21's measurement):
//! a service over the SQLite store in a temporary folder (write-ahead log, `synchronous =
//! FULL`), key A given GRANTS grants first, then for SECONDS a thread creating grants on A in a
//! loop while this thread times Encrypt on key B; and the same Encrypt timed alone before it.
//!
//! ```sh
//! cargo run --release -p keyward-benches --example grant_contention -- 4000 10 [STORE]
//! ```
//!
//! `STORE` is `sqlite` (the default) or the `postgres://` URL of an empty database.
//!
//! Prints the setup time, the Encrypt latency (median, p99, max) alone and beside the loop,
//! and how many grants the loop created.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "a measurement program: a failure panics with the value shown"
)]

use keyward_benches as _;
use keyward_kms::api::{CreateGrantRequest, CreateKeyRequest, EncryptRequest};
use keyward_kms::{Caller, Kms, KmsConfig};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

fn grant(key: &str, n: usize) -> CreateGrantRequest {
    CreateGrantRequest {
        key_id: key.to_owned(),
        grantee_principal: format!("arn:aws:iam::111122223333:role/App{n}"),
        operations: vec!["Encrypt".into(), "Decrypt".into()],
        ..CreateGrantRequest::default()
    }
}

/// Median, p99 and max of `samples`, in microseconds.
fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1e6
    };
    format!(
        "median {:.0} µs, p99 {:.0} µs, max {:.0} µs ({} calls)",
        at(0.5),
        at(0.99),
        at(1.0),
        samples.len()
    )
}

fn time_encrypts(kms: &Kms, admin: &Caller, key: &str, until: Instant) -> Vec<Duration> {
    let request = EncryptRequest {
        key_id: key.to_owned(),
        plaintext: b"a secret of the application".to_vec().into(),
        encryption_context: BTreeMap::new(),
        ..EncryptRequest::default()
    };
    let mut samples = Vec::new();
    while Instant::now() < until {
        let start = Instant::now();
        kms.encrypt(admin, &request).unwrap();
        samples.push(start.elapsed());
        std::thread::sleep(Duration::from_millis(1));
    }
    samples
}

fn main() {
    let grants: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4000);
    let seconds: u64 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let store = std::env::args().nth(3).unwrap_or_else(|| "sqlite".into());
    let dir = tempfile::tempdir().unwrap();
    let config = KmsConfig::new("us-east-1", "111122223333");
    let kms = Arc::new(if store == "sqlite" {
        Kms::open_in(config, dir.path()).unwrap()
    } else {
        Kms::open(
            config,
            Box::new(keyward_kms::store::PostgresStore::connect(&store, "us-east-1").unwrap()),
            keyward_crypto::RootKey::load_or_create(&dir.path().join("root.key")).unwrap(),
            Arc::new(
                keyward_kms::audit::JsonLinesFile::open(&dir.path().join("audit.jsonl")).unwrap(),
            ),
            Arc::new(keyward_kms::clock::SystemClock),
        )
        .unwrap()
    });
    // A service over a shared store serves nothing until it follows the store's notices.
    kms.follow().unwrap();
    let admin = Arc::new(Caller::new(ADMIN, &[ALLOW_ALL]).unwrap());
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{ADMIN}"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    let key = |kms: &Kms| {
        kms.create_key(
            &admin,
            &CreateKeyRequest {
                policy: Some(policy.clone()),
                ..CreateKeyRequest::default()
            },
        )
        .unwrap()
        .key_metadata
        .key_id
    };
    let (busy, other) = (key(&kms), key(&kms));
    let setup = Instant::now();
    for n in 0..grants {
        kms.create_grant(&admin, &grant(&busy, n)).unwrap();
    }
    println!(
        "{grants} grants on key A in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let window = Duration::from_secs(seconds);
    let alone = time_encrypts(&kms, &admin, &other, Instant::now() + window);
    println!("Encrypt on key B alone: {}", summary(alone));
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicUsize::new(0));
    let looping = {
        let (kms, admin, busy) = (Arc::clone(&kms), Arc::clone(&admin), busy.clone());
        let (stop, created) = (Arc::clone(&stop), Arc::clone(&created));
        std::thread::spawn(move || {
            let mut n = grants;
            while !stop.load(Ordering::Relaxed) {
                kms.create_grant(&admin, &grant(&busy, n)).unwrap();
                n += 1;
                created.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let beside = time_encrypts(&kms, &admin, &other, Instant::now() + window);
    stop.store(true, Ordering::Relaxed);
    looping.join().unwrap();
    println!(
        "Encrypt on key B while CreateGrant loops on key A: {}",
        summary(beside)
    );
    println!(
        "CreateGrant on key A: {} in {seconds} s ({:.0}/s)",
        created.load(Ordering::Relaxed),
        created.load(Ordering::Relaxed) as f64 / seconds as f64
    );
}
