//! Interoperability with an independent implementation: the `openssl` command (OpenSSL 3).
//!
//! - public keys (GetPublicKey) load in OpenSSL and verify our signatures, RAW and DIGEST;
//! - OpenSSL's signatures verify with our keys (material imported from OpenSSL);
//! - data-key-pair private keys load in OpenSSL and give our public key;
//! - OpenSSL encrypts with our RSA public keys and we decrypt;
//! - OpenSSL wraps key material for import exactly as the AWS documentation instructs
//!   (`pkeyutl` RSA-OAEP, `enc -id-aes256-wrap-pad`);
//! - ECDH secrets agree with OpenSSL's; HMACs of imported material equal OpenSSL's.
//!
//! The tests need `openssl` on the PATH and fail (they do not skip) without it.

use keyward_crypto::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }
}

/// Runs openssl; returns whether it succeeded and its output.
fn openssl(args: &[&dyn AsRef<std::ffi::OsStr>]) -> (bool, String) {
    let output = Command::new("openssl")
        .args(args.iter().map(|arg| arg.as_ref()))
        .output()
        .expect("the interoperability tests need the `openssl` command (OpenSSL 3)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn openssl_ok(args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let (ok, text) = openssl(args);
    assert!(
        ok,
        "openssl {:?} failed:\n{text}",
        args.iter().map(|a| a.as_ref()).collect::<Vec<_>>()
    );
    text
}

fn digest_name(algorithm: SigningAlgorithm) -> &'static str {
    match algorithm.digest_len() {
        32 => "sha256",
        48 => "sha384",
        _ => "sha512",
    }
}

/// Verifies with openssl; returns whether openssl accepted the signature.
fn openssl_verifies(
    dir: &Dir,
    public_der: &Path,
    algorithm: SigningAlgorithm,
    message: &Path,
    signature: &[u8],
) -> bool {
    let signature = dir.write("signature.bin", signature);
    let digest = digest_name(algorithm);
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"pkeyutl",
        &"-verify",
        &"-pubin",
        &"-keyform",
        &"DER",
        &"-inkey",
        &public_der,
        &"-rawin",
        &"-in",
        &message,
        &"-sigfile",
        &signature,
    ];
    if algorithm != SigningAlgorithm::Ed25519Sha512 {
        args.extend_from_slice(&[&"-digest", &digest]);
    }
    if algorithm.as_str().starts_with("RSASSA_PSS") {
        args.extend_from_slice(&[
            &"-pkeyopt",
            &"rsa_padding_mode:pss",
            &"-pkeyopt",
            &"rsa_pss_saltlen:digest",
        ]);
    }
    let (ok, text) = openssl(&args);
    assert_eq!(
        ok,
        text.contains("Signature Verified Successfully"),
        "{text}"
    );
    ok
}

/// The signing specs OpenSSL 3.0 reads: every one but ML-DSA, which OpenSSL has only since
/// 3.5 (the distribution's OpenSSL here is 3.0; ML-DSA is checked against aws-lc-rs alone).
fn signing_specs() -> impl Iterator<Item = KeySpec> {
    KeySpec::ALL.iter().copied().filter(|spec| {
        spec.row().supported
            && spec.row().usages.contains(&KeyUsage::SignVerify)
            && !matches!(spec, KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87)
    })
}

#[test]
fn openssl_verifies_our_signatures_with_our_public_keys() {
    let dir = Dir::new();
    let message = dir.write("message.txt", b"interoperability, RAW and DIGEST");
    for spec in signing_specs() {
        let key = CryptoKey::generate(format!("k-{spec}"), spec, KeyUsage::SignVerify).unwrap();
        let public = dir.write("public.der", key.public_key().unwrap());
        // The public key loads as DER SubjectPublicKeyInfo.
        let text = openssl_ok(&[
            &"pkey", &"-pubin", &"-inform", &"DER", &"-in", &public, &"-text", &"-noout",
        ]);
        let expected = match spec {
            KeySpec::EccNistP256 => "prime256v1",
            KeySpec::EccNistP384 => "secp384r1",
            KeySpec::EccNistP521 => "secp521r1",
            KeySpec::EccSecgP256k1 => "secp256k1",
            KeySpec::EccNistEdwards25519 => "ED25519",
            KeySpec::Rsa2048 => "(2048 bit)",
            KeySpec::Rsa3072 => "(3072 bit)",
            _ => "(4096 bit)",
        };
        assert!(text.contains(expected), "{spec}: {text}");
        for algorithm in spec.row().signing {
            if *algorithm == SigningAlgorithm::Ed25519PhSha512 {
                continue;
            }
            let raw = key
                .sign(
                    &std::fs::read(&message).unwrap(),
                    MessageType::Raw,
                    *algorithm,
                )
                .unwrap();
            assert!(
                openssl_verifies(&dir, &public, *algorithm, &message, &raw),
                "{spec} {algorithm} RAW"
            );
            if *algorithm != SigningAlgorithm::Ed25519Sha512 {
                let hashed = aws_lc_rs::digest::digest(
                    match algorithm.digest_len() {
                        32 => &aws_lc_rs::digest::SHA256,
                        48 => &aws_lc_rs::digest::SHA384,
                        _ => &aws_lc_rs::digest::SHA512,
                    },
                    &std::fs::read(&message).unwrap(),
                );
                let from_digest = key
                    .sign(hashed.as_ref(), MessageType::Digest, *algorithm)
                    .unwrap();
                assert!(
                    openssl_verifies(&dir, &public, *algorithm, &message, &from_digest),
                    "{spec} {algorithm} DIGEST"
                );
            }
            // The check can fail: a changed signature is refused by openssl too.
            let mut bad = raw.clone();
            let last = bad.len() - 1;
            bad[last] ^= 0x01;
            assert!(!openssl_verifies(&dir, &public, *algorithm, &message, &bad));
        }
    }
}

#[test]
fn data_key_pair_private_keys_load_in_openssl() {
    let dir = Dir::new();
    let key =
        CryptoKey::generate("dkp", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
    for spec in DataKeyPairSpec::ALL
        .iter()
        .filter(|s| **s != DataKeyPairSpec::Sm2)
    {
        let pair = key
            .generate_data_key_pair(*spec, &EncryptionContext::new())
            .unwrap();
        let private = dir.write("private.der", pair.private_key_plaintext.expose());
        let public = dir.path("derived.der");
        openssl_ok(&[
            &"pkey",
            &"-inform",
            &"DER",
            &"-in",
            &private,
            &"-pubout",
            &"-outform",
            &"DER",
            &"-out",
            &public,
        ]);
        assert_eq!(dir.read("derived.der"), pair.public_key, "{spec}");
        // It is an unencrypted PKCS#8 PrivateKeyInfo: `openssl pkcs8` reads only that form
        // (a PKCS#1 or SEC 1 key would be refused).
        let text = openssl_ok(&[&"pkcs8", &"-nocrypt", &"-inform", &"DER", &"-in", &private]);
        assert!(
            text.contains("-----BEGIN PRIVATE KEY-----"),
            "{spec}: {text}"
        );
    }
}

#[test]
fn openssl_encrypts_with_our_rsa_public_keys() {
    let dir = Dir::new();
    let plaintext = dir.write("plain.bin", b"encrypted by openssl");
    for spec in [KeySpec::Rsa2048, KeySpec::Rsa3072] {
        let key = CryptoKey::generate("rsa", spec, KeyUsage::EncryptDecrypt).unwrap();
        let public = dir.write("public.der", key.public_key().unwrap());
        for (algorithm, md) in [
            (EncryptionAlgorithm::RsaesOaepSha1, "sha1"),
            (EncryptionAlgorithm::RsaesOaepSha256, "sha256"),
        ] {
            let out = dir.path("cipher.bin");
            let oaep_md = format!("rsa_oaep_md:{md}");
            let mgf1_md = format!("rsa_mgf1_md:{md}");
            openssl_ok(&[
                &"pkeyutl",
                &"-encrypt",
                &"-pubin",
                &"-keyform",
                &"DER",
                &"-inkey",
                &public,
                &"-pkeyopt",
                &"rsa_padding_mode:oaep",
                &"-pkeyopt",
                &oaep_md,
                &"-pkeyopt",
                &mgf1_md,
                &"-in",
                &plaintext,
                &"-out",
                &out,
            ]);
            let decrypted = key
                .decrypt(
                    &dir.read("cipher.bin"),
                    &EncryptionContext::new(),
                    algorithm,
                )
                .unwrap();
            assert_eq!(
                decrypted.expose(),
                b"encrypted by openssl",
                "{spec} {algorithm}"
            );
        }
    }
}

#[test]
fn ecdh_secrets_agree_with_openssl() {
    let dir = Dir::new();
    for (spec, curve) in [
        (KeySpec::EccNistP256, "P-256"),
        (KeySpec::EccNistP384, "P-384"),
        (KeySpec::EccNistP521, "P-521"),
    ] {
        let key = CryptoKey::generate("ecdh", spec, KeyUsage::KeyAgreement).unwrap();
        let peer = dir.path("peer.pem");
        let curve_opt = format!("ec_paramgen_curve:{curve}");
        openssl_ok(&[
            &"genpkey",
            &"-algorithm",
            &"EC",
            &"-pkeyopt",
            &curve_opt,
            &"-out",
            &peer,
        ]);
        let peer_public = dir.path("peer.der");
        openssl_ok(&[
            &"pkey",
            &"-in",
            &peer,
            &"-pubout",
            &"-outform",
            &"DER",
            &"-out",
            &peer_public,
        ]);
        let ours = key
            .derive_shared_secret(KeyAgreementAlgorithm::Ecdh, &dir.read("peer.der"))
            .unwrap();
        let our_public = dir.write("ours.der", key.public_key().unwrap());
        let secret = dir.path("secret.bin");
        openssl_ok(&[
            &"pkeyutl",
            &"-derive",
            &"-inkey",
            &peer,
            &"-peerkey",
            &our_public,
            &"-peerform",
            &"DER",
            &"-out",
            &secret,
        ]);
        assert_eq!(ours.expose(), &dir.read("secret.bin")[..], "{spec}");
    }
}

/// Wraps `material` for import the way the AWS documentation shows with OpenSSL.
fn openssl_wrap(dir: &Dir, parameters: &ImportParameters, material: &Path) -> Vec<u8> {
    let public = dir.write("wrapping.der", parameters.public_key());
    let md = match parameters.algorithm() {
        WrappingAlgorithm::RsaesOaepSha1 | WrappingAlgorithm::RsaAesKeyWrapSha1 => "sha1",
        _ => "sha256",
    };
    let oaep_md = format!("rsa_oaep_md:{md}");
    let mgf1_md = format!("rsa_mgf1_md:{md}");
    let rsa = |input: &Path, output: &Path| {
        openssl_ok(&[
            &"pkeyutl",
            &"-encrypt",
            &"-pubin",
            &"-keyform",
            &"DER",
            &"-inkey",
            &public,
            &"-pkeyopt",
            &"rsa_padding_mode:oaep",
            &"-pkeyopt",
            &oaep_md,
            &"-pkeyopt",
            &mgf1_md,
            &"-in",
            &input,
            &"-out",
            &output,
        ]);
    };
    let out = dir.path("wrapped.bin");
    match parameters.algorithm() {
        WrappingAlgorithm::RsaesOaepSha1 | WrappingAlgorithm::RsaesOaepSha256 => {
            rsa(material, &out);
            dir.read("wrapped.bin")
        }
        _ => {
            let aes = dir.path("aes.key");
            openssl_ok(&[&"rand", &"-out", &aes, &"32"]);
            let hex: String = dir
                .read("aes.key")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            rsa(&aes, &out);
            let wrapped_key = dir.path("wrapped-material.bin");
            openssl_ok(&[
                &"enc",
                &"-id-aes256-wrap-pad",
                &"-K",
                &hex,
                &"-iv",
                &"A65959A6",
                &"-in",
                &material,
                &"-out",
                &wrapped_key,
            ]);
            let mut blob = dir.read("wrapped.bin");
            blob.extend_from_slice(&dir.read("wrapped-material.bin"));
            blob
        }
    }
}

fn import_with_openssl(
    dir: &Dir,
    key: &mut CryptoKey,
    algorithm: WrappingAlgorithm,
    material: &Path,
) {
    let now = SystemTime::now();
    let parameters =
        ImportParameters::generate(key, algorithm, WrappingKeySpec::Rsa3072, now).unwrap();
    let wrapped = openssl_wrap(dir, &parameters, material);
    key.import_material(
        &parameters,
        parameters.import_token(),
        &wrapped,
        MaterialExpiry::DoesNotExpire,
        now,
    )
    .unwrap();
}

#[test]
fn openssl_wraps_symmetric_and_hmac_material_for_import() {
    let dir = Dir::new();
    let material = dir.path("material.bin");
    openssl_ok(&[&"rand", &"-out", &material, &"32"]);
    for algorithm in [
        WrappingAlgorithm::RsaesOaepSha1,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingAlgorithm::RsaAesKeyWrapSha1,
        WrappingAlgorithm::RsaAesKeyWrapSha256,
    ] {
        let mut key =
            CryptoKey::external("ext", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt)
                .unwrap();
        import_with_openssl(&dir, &mut key, algorithm, &material);
        let blob = key
            .encrypt(
                b"x",
                &EncryptionContext::new(),
                EncryptionAlgorithm::SymmetricDefault,
            )
            .unwrap();
        assert!(
            key.decrypt(
                &blob,
                &EncryptionContext::new(),
                EncryptionAlgorithm::SymmetricDefault
            )
            .is_ok(),
            "{algorithm}"
        );
    }
    // HMAC: the MAC of imported material equals OpenSSL's HMAC with the same key.
    let hmac_material = dir.path("hmac.bin");
    openssl_ok(&[&"rand", &"-out", &hmac_material, &"48"]);
    let hex: String = dir
        .read("hmac.bin")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let message = dir.write("message.txt", b"what the HMAC covers");
    for (spec, algorithm, md) in [
        (KeySpec::Hmac224, MacAlgorithm::HmacSha224, "sha224"),
        (KeySpec::Hmac256, MacAlgorithm::HmacSha256, "sha256"),
        (KeySpec::Hmac384, MacAlgorithm::HmacSha384, "sha384"),
    ] {
        let mut key = CryptoKey::external("hmac", spec, KeyUsage::GenerateVerifyMac).unwrap();
        import_with_openssl(
            &dir,
            &mut key,
            WrappingAlgorithm::RsaesOaepSha256,
            &hmac_material,
        );
        let ours = key
            .generate_mac(b"what the HMAC covers", algorithm)
            .unwrap();
        let macopt = format!("hexkey:{hex}");
        let digest_arg = format!("-{md}");
        let text = openssl_ok(&[
            &"dgst",
            &digest_arg,
            &"-mac",
            &"HMAC",
            &"-macopt",
            &macopt,
            &"-hex",
            &message,
        ]);
        let theirs = text.trim().rsplit(' ').next().unwrap().to_owned();
        let ours_hex: String = ours.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(ours_hex, theirs, "{spec}");
    }
}

#[test]
fn keys_imported_from_openssl_sign_and_verify_both_ways() {
    let dir = Dir::new();
    let message = dir.write("message.txt", b"signed on both sides");
    let cases: [(KeySpec, &[&str], SigningAlgorithm); 4] = [
        (
            KeySpec::EccNistP256,
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            SigningAlgorithm::EcdsaSha256,
        ),
        (
            KeySpec::EccSecgP256k1,
            &[
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:secp256k1",
            ],
            SigningAlgorithm::EcdsaSha256,
        ),
        (
            KeySpec::EccNistEdwards25519,
            &["-algorithm", "ED25519"],
            SigningAlgorithm::Ed25519Sha512,
        ),
        (
            KeySpec::Rsa2048,
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            SigningAlgorithm::RsassaPssSha256,
        ),
    ];
    for (spec, genpkey, algorithm) in cases {
        let pem = dir.path("key.pem");
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"genpkey"];
        for arg in genpkey {
            args.push(arg);
        }
        args.extend_from_slice(&[&"-out", &pem]);
        openssl_ok(&args);
        let pkcs8 = dir.path("key.der");
        openssl_ok(&[
            &"pkcs8",
            &"-topk8",
            &"-nocrypt",
            &"-in",
            &pem,
            &"-outform",
            &"DER",
            &"-out",
            &pkcs8,
        ]);
        let public = dir.path("public.der");
        openssl_ok(&[
            &"pkey",
            &"-in",
            &pem,
            &"-pubout",
            &"-outform",
            &"DER",
            &"-out",
            &public,
        ]);

        let mut key = CryptoKey::external("imported", spec, KeyUsage::SignVerify).unwrap();
        import_with_openssl(
            &dir,
            &mut key,
            WrappingAlgorithm::RsaAesKeyWrapSha256,
            &pkcs8,
        );
        assert_eq!(
            key.public_key().unwrap(),
            &dir.read("public.der")[..],
            "{spec}"
        );

        // Ours verified by openssl.
        let ours = key
            .sign(b"signed on both sides", MessageType::Raw, algorithm)
            .unwrap();
        assert!(
            openssl_verifies(&dir, &public, algorithm, &message, &ours),
            "{spec}"
        );

        // Openssl's verified by ours.
        let signature = dir.path("theirs.bin");
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
            &"pkeyutl", &"-sign", &"-inkey", &pem, &"-rawin", &"-in", &message, &"-out", &signature,
        ];
        if algorithm != SigningAlgorithm::Ed25519Sha512 {
            args.extend_from_slice(&[&"-digest", &"sha256"]);
        }
        if spec == KeySpec::Rsa2048 {
            args.extend_from_slice(&[
                &"-pkeyopt",
                &"rsa_padding_mode:pss",
                &"-pkeyopt",
                &"rsa_pss_saltlen:digest",
            ]);
        }
        openssl_ok(&args);
        let theirs = dir.read("theirs.bin");
        key.verify(
            b"signed on both sides",
            MessageType::Raw,
            algorithm,
            &theirs,
        )
        .unwrap();
        assert_eq!(
            key.verify(
                b"signed on both sides!",
                MessageType::Raw,
                algorithm,
                &theirs
            ),
            Err(CryptoError::InvalidSignature)
        );
    }
}
