//! The 4 KiB symmetric round trip N times (default 2000), as `crypto` measures it with
//! criterion, or the raw AES-256-GCM baseline (`raw`): repeatable instruction counts under
//! `valgrind --tool=callgrind` for the "within 2x of raw AES-GCM" comparison.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use keyward_benches as _;
use keyward_crypto::{CryptoKey, EncryptionAlgorithm, EncryptionContext, KeySpec, KeyUsage};
use std::hint::black_box;

fn main() {
    let n: usize = std::env::args().nth(1).map_or(2000, |a| a.parse().unwrap());
    let mode = std::env::args().nth(2).unwrap_or_else(|| "kms".to_owned());
    let plaintext = vec![0x5a; 4096];
    let context = EncryptionContext::new()
        .with("aws:s3:arn", "arn:aws:s3:::bucket/object")
        .with("tenant", "acme");
    let key = CryptoKey::generate(
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        KeySpec::SymmetricDefault,
        KeyUsage::EncryptDecrypt,
    )
    .unwrap();
    let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let aad = context.canonical_bytes();
    for _ in 0..n {
        if mode == "raw" {
            let mut buffer = black_box(&plaintext).clone();
            raw.seal_in_place_append_tag(
                Nonce::assume_unique_for_key([1; 12]),
                Aad::from(&aad),
                &mut buffer,
            )
            .unwrap();
            let len = raw
                .open_in_place(
                    Nonce::assume_unique_for_key([1; 12]),
                    Aad::from(&aad),
                    &mut buffer,
                )
                .unwrap()
                .len();
            black_box(len);
        } else {
            let blob = key
                .encrypt(
                    black_box(&plaintext),
                    &context,
                    EncryptionAlgorithm::SymmetricDefault,
                )
                .unwrap();
            black_box(
                key.decrypt(&blob, &context, EncryptionAlgorithm::SymmetricDefault)
                    .unwrap(),
            );
        }
    }
}
