//! Wycheproof signature and key-agreement vectors through the public API: [`PublicKey`]
//! verification as KMS's Verify does it, and DeriveSharedSecret's refusal of invalid peers.
//! Valid vectors must verify, invalid ones must fail; "acceptable" ones may go either way.
//! Empty messages are skipped: KMS refuses them before verifying (Message: 1–4,096 bytes).

use keyward_crypto::*;
use wycheproof::TestResult;

/// Checks one verification against its expected result; returns 1 when it counted.
fn check(result: TestResult, verified: Result<(), CryptoError>, id: usize, what: &str) -> usize {
    match result {
        TestResult::Valid => assert_eq!(verified, Ok(()), "{what} tc {id}"),
        TestResult::Invalid => assert!(verified.is_err(), "{what} tc {id}"),
        TestResult::Acceptable => {}
    }
    1
}

#[test]
fn ecdsa_der_signatures() {
    use wycheproof::ecdsa::{TestName, TestSet};
    for (name, spec, algorithm) in [
        (
            TestName::EcdsaSecp256r1Sha256,
            KeySpec::EccNistP256,
            SigningAlgorithm::EcdsaSha256,
        ),
        (
            TestName::EcdsaSecp384r1Sha384,
            KeySpec::EccNistP384,
            SigningAlgorithm::EcdsaSha384,
        ),
        (
            TestName::EcdsaSecp521r1Sha512,
            KeySpec::EccNistP521,
            SigningAlgorithm::EcdsaSha512,
        ),
        (
            TestName::EcdsaSecp256k1Sha256,
            KeySpec::EccSecgP256k1,
            SigningAlgorithm::EcdsaSha256,
        ),
    ] {
        let set = TestSet::load(name).unwrap();
        let mut run = 0;
        for group in &set.test_groups {
            let key = PublicKey::from_der(spec, KeyUsage::SignVerify, &group.der).unwrap();
            for test in group.tests.iter().filter(|t| !t.msg.is_empty()) {
                let verified = key.verify(&test.msg, MessageType::Raw, algorithm, &test.sig);
                run += check(test.result, verified, test.tc_id, spec.as_str());
            }
        }
        assert!(run > 200, "{spec}: {run} vectors");
    }
}

#[test]
fn ed25519_signatures() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut run = 0;
    for group in &set.test_groups {
        let key = PublicKey::from_der(
            KeySpec::EccNistEdwards25519,
            KeyUsage::SignVerify,
            &group.der,
        )
        .unwrap();
        for test in group.tests.iter().filter(|t| !t.msg.is_empty()) {
            let verified = key.verify(
                &test.msg,
                MessageType::Raw,
                SigningAlgorithm::Ed25519Sha512,
                &test.sig,
            );
            run += check(test.result, verified, test.tc_id, "Ed25519");
        }
    }
    assert!(run > 100, "{run} vectors");
}

#[test]
fn rsa_pss_signatures_with_salt_of_the_digest_length() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    for (name, spec, algorithm) in [
        (
            TestName::RsaPss2048Sha256Mgf1SaltLen32,
            KeySpec::Rsa2048,
            SigningAlgorithm::RsassaPssSha256,
        ),
        (
            TestName::RsaPss3072Sha256Mgf1SaltLen32,
            KeySpec::Rsa3072,
            SigningAlgorithm::RsassaPssSha256,
        ),
        (
            TestName::RsaPss4096Sha384Mgf1SaltLen48,
            KeySpec::Rsa4096,
            SigningAlgorithm::RsassaPssSha384,
        ),
        (
            TestName::RsaPss4096Sha512Mgf1SaltLen64,
            KeySpec::Rsa4096,
            SigningAlgorithm::RsassaPssSha512,
        ),
    ] {
        let set = TestSet::load(name).unwrap();
        let mut run = 0;
        for group in &set.test_groups {
            let key = PublicKey::from_der(spec, KeyUsage::SignVerify, &group.der).unwrap();
            for test in group.tests.iter().filter(|t| !t.msg.is_empty()) {
                let verified = key.verify(&test.msg, MessageType::Raw, algorithm, &test.sig);
                run += check(test.result, verified, test.tc_id, algorithm.as_str());
            }
        }
        assert!(run > 10, "{algorithm} {spec}: {run} vectors");
    }
}

#[test]
fn rsa_pkcs1_v1_5_signatures() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    for (name, spec, algorithm) in [
        (
            TestName::Rsa2048Sha256,
            KeySpec::Rsa2048,
            SigningAlgorithm::RsassaPkcs1V15Sha256,
        ),
        (
            TestName::Rsa2048Sha384,
            KeySpec::Rsa2048,
            SigningAlgorithm::RsassaPkcs1V15Sha384,
        ),
        (
            TestName::Rsa2048Sha512,
            KeySpec::Rsa2048,
            SigningAlgorithm::RsassaPkcs1V15Sha512,
        ),
        (
            TestName::Rsa3072Sha384,
            KeySpec::Rsa3072,
            SigningAlgorithm::RsassaPkcs1V15Sha384,
        ),
        (
            TestName::Rsa4096Sha512,
            KeySpec::Rsa4096,
            SigningAlgorithm::RsassaPkcs1V15Sha512,
        ),
    ] {
        let set = TestSet::load(name).unwrap();
        let mut run = 0;
        for group in &set.test_groups {
            let key = PublicKey::from_der(spec, KeyUsage::SignVerify, &group.der).unwrap();
            for test in group.tests.iter().filter(|t| !t.msg.is_empty()) {
                let verified = key.verify(&test.msg, MessageType::Raw, algorithm, &test.sig);
                run += check(test.result, verified, test.tc_id, algorithm.as_str());
            }
        }
        assert!(run > 50, "{algorithm} {spec}: {run} vectors");
    }
}

#[test]
fn derive_shared_secret_refuses_invalid_peer_keys() {
    use wycheproof::ecdh::{EcdhEncoding, TestName, TestSet};
    for (name, spec) in [
        (TestName::EcdhSecp256r1, KeySpec::EccNistP256),
        (TestName::EcdhSecp384r1, KeySpec::EccNistP384),
        (TestName::EcdhSecp521r1, KeySpec::EccNistP521),
    ] {
        let key = CryptoKey::generate("ecdh", spec, KeyUsage::KeyAgreement).unwrap();
        let set = TestSet::load(name).unwrap();
        let (mut valid, mut invalid) = (0, 0);
        for group in set
            .test_groups
            .iter()
            .filter(|g| matches!(g.encoding, EcdhEncoding::Asn1))
        {
            for test in &group.tests {
                let derived =
                    key.derive_shared_secret(KeyAgreementAlgorithm::Ecdh, &test.public_key);
                match test.result {
                    TestResult::Valid => {
                        assert!(derived.is_ok(), "{spec} tc {}", test.tc_id);
                        valid += 1;
                    }
                    TestResult::Invalid => {
                        let Err(error) = derived else {
                            panic!(
                                "{spec} tc {} accepted: {} {:?} {}",
                                test.tc_id,
                                test.comment,
                                test.flags,
                                hex::encode(&test.public_key)
                            );
                        };
                        assert_eq!(
                            error.code(),
                            "ValidationException",
                            "{spec} tc {}",
                            test.tc_id
                        );
                        invalid += 1;
                    }
                    TestResult::Acceptable => {}
                }
            }
        }
        assert!(
            valid > 50 && invalid > 20,
            "{spec}: {valid} valid, {invalid} invalid"
        );
    }
}
