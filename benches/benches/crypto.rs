//! Group `crypto`: the operations behind the decisions. Symmetric Encrypt+Decrypt of 4 KiB with
//! an encryption context, against a raw AES-256-GCM seal+open of the same 4 KiB with the same
//! library in the same run (target: within 2x); GenerateDataKey; Sign/Verify for RSA-2048
//! (PSS SHA-256) and P-256 (ECDSA SHA-256); GenerateMac of 4 KiB (HMAC_256).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use criterion::{Criterion, criterion_group, criterion_main};
use keyward_benches as _;
use keyward_crypto::{
    CryptoKey, DataKeyLength, DataKeySpec, EncryptionAlgorithm, EncryptionContext, KeySpec,
    KeyUsage, MacAlgorithm, MessageType, SigningAlgorithm,
};
use std::hint::black_box;

fn context() -> EncryptionContext {
    EncryptionContext::new()
        .with("aws:s3:arn", "arn:aws:s3:::bucket/object")
        .with("tenant", "acme")
}

fn symmetric(c: &mut Criterion) {
    let mut group = c.benchmark_group("crypto");
    let key = CryptoKey::generate(
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        KeySpec::SymmetricDefault,
        KeyUsage::EncryptDecrypt,
    )
    .unwrap();
    let plaintext = vec![0x5a; 4096];
    let context = context();
    group.bench_function("symmetric/encrypt+decrypt/4KiB", |b| {
        b.iter(|| {
            let blob = key
                .encrypt(
                    black_box(&plaintext),
                    &context,
                    EncryptionAlgorithm::SymmetricDefault,
                )
                .unwrap();
            key.decrypt(&blob, &context, EncryptionAlgorithm::SymmetricDefault)
                .unwrap()
        })
    });
    // Baseline: the same library's AES-256-GCM, seal and open in place, nothing else.
    let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let aad = context.canonical_bytes();
    group.bench_function("symmetric/raw-aes-256-gcm-seal+open/4KiB", |b| {
        b.iter(|| {
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
            black_box(len)
        })
    });
    group.bench_function("generate-data-key/AES_256", |b| {
        b.iter(|| {
            key.generate_data_key(DataKeyLength::Spec(DataKeySpec::Aes256), &context)
                .unwrap()
        })
    });
    group.finish();
}

fn signatures(c: &mut Criterion) {
    let mut group = c.benchmark_group("crypto");
    let message = b"a message of modest length to sign, as a JWT or a manifest digest would be";
    for (spec, algorithm, name) in [
        (
            KeySpec::Rsa2048,
            SigningAlgorithm::RsassaPssSha256,
            "rsa-2048-pss-sha256",
        ),
        (
            KeySpec::EccNistP256,
            SigningAlgorithm::EcdsaSha256,
            "p256-ecdsa-sha256",
        ),
    ] {
        let key = CryptoKey::generate("signer", spec, KeyUsage::SignVerify).unwrap();
        let signature = key.sign(message, MessageType::Raw, algorithm).unwrap();
        group.bench_function(format!("sign/{name}"), |b| {
            b.iter(|| {
                key.sign(black_box(message), MessageType::Raw, algorithm)
                    .unwrap()
            })
        });
        group.bench_function(format!("verify/{name}"), |b| {
            b.iter(|| {
                key.verify(black_box(message), MessageType::Raw, algorithm, &signature)
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn mac(c: &mut Criterion) {
    let mut group = c.benchmark_group("crypto");
    let key = CryptoKey::generate("mac", KeySpec::Hmac256, KeyUsage::GenerateVerifyMac).unwrap();
    let message = vec![0x33; 4096];
    group.bench_function("generate-mac/hmac-sha256/4KiB", |b| {
        b.iter(|| {
            key.generate_mac(black_box(&message), MacAlgorithm::HmacSha256)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, symmetric, signatures, mac);
criterion_main!(benches);
