//! Encrypt (a 4 KiB plaintext with a two-pair encryption context) on a key whose material is
//! in SoftHSMv2 (`CryptoKey::in_token`, AES-256-GCM run in the token through PKCS#11) against a
//! key in memory (aws-lc-rs), in the same run: rounds alternate between the two, N calls each
//! (default 2000, 5 rounds), and the medians of the per-call times and their ratio are printed.
//!
//! SoftHSM reads its configuration from the environment when its module is initialised, so
//! the example makes a token in a temporary folder and runs itself again with
//! `SOFTHSM2_CONF` set: `cargo run --release -p keyward-benches --example token_encrypt [N]`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "a measurement: a failure panics with the value shown"
)]

use keyward_benches as _;
use keyward_crypto::{
    CryptoKey, EncryptionAlgorithm, EncryptionContext, KeySpec, KeyToken, KeyUsage, Pkcs11Token,
    Secret,
};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

const PIN: &str = "bench-pin";

fn main() {
    let n: usize = std::env::args().nth(1).map_or(2000, |a| a.parse().unwrap());
    let module = keyward_crypto::softhsm::available()
        .expect("SoftHSMv2 (the package softhsm2)")
        .display()
        .to_string();
    if std::env::var_os("SOFTHSM2_CONF").is_none() {
        let dir = tempfile::tempdir().unwrap();
        let conf = keyward_crypto::softhsm::configure(dir.path(), &[("bench", PIN)]).unwrap();
        let status = Command::new(std::env::current_exe().unwrap())
            .arg(n.to_string())
            .env("SOFTHSM2_CONF", &conf)
            .env("KEYWARD_PKCS11_MODULE", &module)
            .status()
            .unwrap();
        std::process::exit(status.code().unwrap_or(1));
    }
    let token: Arc<dyn KeyToken> = Arc::new(
        Pkcs11Token::connect(
            std::path::Path::new(&module),
            "bench",
            &Secret::from_slice(PIN.as_bytes()),
        )
        .unwrap(),
    );
    let in_token = CryptoKey::in_token("0b6e7f2a-6a44-4c8e-9a1b-5d3c2e1f0a99", token).unwrap();
    let in_memory = CryptoKey::generate(
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        KeySpec::SymmetricDefault,
        KeyUsage::EncryptDecrypt,
    )
    .unwrap();
    let plaintext = vec![0x5a; 4096];
    let context = EncryptionContext::new()
        .with("aws:s3:arn", "arn:aws:s3:::bucket/object")
        .with("tenant", "acme");
    let time = |key: &CryptoKey| -> Vec<f64> {
        (0..n)
            .map(|_| {
                let start = Instant::now();
                let blob = key
                    .encrypt(&plaintext, &context, EncryptionAlgorithm::SymmetricDefault)
                    .unwrap();
                let took = start.elapsed().as_secs_f64() * 1e6;
                std::hint::black_box(blob);
                took
            })
            .collect()
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Warm both up once.
    time(&in_memory);
    time(&in_token);
    let (mut memory, mut token) = (Vec::new(), Vec::new());
    for round in 0..5 {
        let m = median(time(&in_memory));
        let t = median(time(&in_token));
        println!("round {round}: in memory {m:.2} µs, in SoftHSMv2 {t:.2} µs");
        memory.push(m);
        token.push(t);
    }
    let (m, t) = (median(memory), median(token));
    println!(
        "Encrypt, 4 KiB, median of {n}-call rounds: in memory {m:.2} µs, in SoftHSMv2 {t:.2} µs, ratio {:.1}",
        t / m
    );
}
