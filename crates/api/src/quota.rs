//! KMS request quotas, as AWS publishes them (KMS Developer Guide, "Request quotas"): which
//! quota each request counts against, and each quota's default rate in requests per second.
//!
//! The cryptographic operations share one rate per kind of key: symmetric (HMAC included),
//! RSA, elliptic curve (and SM2), ML-DSA. Which one a request counts against follows from the
//! request alone: its encryption or signing algorithm says what kind of key it uses.
//! GenerateDataKeyPair has a rate per key-pair spec; every other operation has its own.
//! Quotas are per account and Region, and a request counts against the account that makes
//! it, not the key's owner.

use crate::operation::{Operation, Request};

/// What a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quota {
    /// Cryptographic operations (symmetric): Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
    /// GenerateDataKeyWithoutPlaintext, GenerateRandom, GenerateMac, VerifyMac.
    Symmetric,
    /// Cryptographic operations (RSA): Encrypt, Decrypt, ReEncrypt, Sign and Verify with RSA
    /// keys.
    Rsa,
    /// Cryptographic operations (ECC and SM2): Sign, Verify, DeriveSharedSecret, and SM2
    /// encryption.
    Ecc,
    /// Cryptographic operations (ML-DSA): Sign and Verify.
    MlDsa,
    /// GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext, per key-pair spec.
    DataKeyPair(DataKeyPairClass),
    /// Every other operation, each with its own rate.
    Operation(Operation),
}

/// The key-pair specs GenerateDataKeyPair is rated by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataKeyPairClass {
    /// `RSA_2048`.
    Rsa2048,
    /// `RSA_3072`.
    Rsa3072,
    /// `RSA_4096`.
    Rsa4096,
    /// The elliptic-curve specs (`ECC_NIST_P256`, ..., `ECC_NIST_EDWARDS25519`).
    Ecc,
    /// `SM2` (China Regions).
    Sm2,
}

/// The message of `ThrottlingException` when a quota is exceeded, as KMS sends it.
pub const THROTTLED: &str =
    "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.";

impl Quota {
    /// The quota `request` counts against.
    pub fn of(request: &Request) -> Self {
        let by_encryption = |algorithm: Option<&str>| match algorithm {
            Some(a) if a.starts_with("RSAES_") => Self::Rsa,
            Some("SM2PKE") => Self::Ecc,
            _ => Self::Symmetric,
        };
        let by_signing = |algorithm: &str| {
            if algorithm.starts_with("RSASSA_") {
                Self::Rsa
            } else if algorithm.starts_with("ML_DSA_") {
                Self::MlDsa
            } else {
                Self::Ecc
            }
        };
        match request {
            Request::Encrypt(r) => by_encryption(r.encryption_algorithm.as_deref()),
            Request::Decrypt(r) => by_encryption(r.encryption_algorithm.as_deref()),
            Request::ReEncrypt(r) => {
                match (
                    by_encryption(r.source_encryption_algorithm.as_deref()),
                    by_encryption(r.destination_encryption_algorithm.as_deref()),
                ) {
                    (Self::Symmetric, other) | (other, _) => other,
                }
            }
            Request::GenerateDataKey(_)
            | Request::GenerateDataKeyWithoutPlaintext(_)
            | Request::GenerateRandom(_)
            | Request::GenerateMac(_)
            | Request::VerifyMac(_) => Self::Symmetric,
            Request::Sign(r) => by_signing(&r.signing_algorithm),
            Request::Verify(r) => by_signing(&r.signing_algorithm),
            Request::DeriveSharedSecret(_) => Self::Ecc,
            Request::GenerateDataKeyPair(r) => Self::DataKeyPair(pair_class(&r.key_pair_spec)),
            Request::GenerateDataKeyPairWithoutPlaintext(r) => {
                Self::DataKeyPair(pair_class(&r.key_pair_spec))
            }
            other => own_quota(other.operation()).unwrap_or(Self::Symmetric),
        }
    }

    /// AWS's default rate (requests per second) in `region`.
    pub fn default_rate(self, region: &str) -> f64 {
        let china = region.starts_with("cn-");
        match self {
            Self::Symmetric => symmetric_rate(region),
            Self::Rsa | Self::Ecc | Self::MlDsa => 1_000.0,
            Self::DataKeyPair(class) => match (class, china) {
                (DataKeyPairClass::Rsa2048, false) => 20.0,
                (DataKeyPairClass::Rsa3072, false) => 4.0,
                (DataKeyPairClass::Rsa4096, false) => 1.0,
                (DataKeyPairClass::Rsa2048, true) => 1.0,
                (DataKeyPairClass::Rsa3072, true) => 0.5,
                (DataKeyPairClass::Rsa4096, true) => 0.1,
                (DataKeyPairClass::Ecc, _) => 100.0,
                (DataKeyPairClass::Sm2, _) => 25.0,
            },
            Self::Operation(operation) => operation_rate(operation),
        }
    }

    /// How the quota is named in messages and the config: `cryptographic (symmetric)`,
    /// `GenerateDataKeyPair (RSA_2048)`, `CreateKey`.
    pub fn name(self) -> String {
        match self {
            Self::Symmetric => "cryptographic operations (symmetric)".into(),
            Self::Rsa => "cryptographic operations (RSA)".into(),
            Self::Ecc => "cryptographic operations (ECC and SM2)".into(),
            Self::MlDsa => "cryptographic operations (ML-DSA)".into(),
            Self::DataKeyPair(class) => format!(
                "GenerateDataKeyPair ({})",
                match class {
                    DataKeyPairClass::Rsa2048 => "RSA_2048",
                    DataKeyPairClass::Rsa3072 => "RSA_3072",
                    DataKeyPairClass::Rsa4096 => "RSA_4096",
                    DataKeyPairClass::Ecc => "ECC",
                    DataKeyPairClass::Sm2 => "SM2",
                }
            ),
            Self::Operation(operation) => operation.name().into(),
        }
    }
}

/// The quota `operation` has to itself, or `None` when it counts against a shared one: the
/// cryptographic operations, rated by kind of key, and GenerateDataKeyPair, rated by key-pair
/// spec.
pub fn own_quota(operation: Operation) -> Option<Quota> {
    use Operation as O;
    match operation {
        O::Encrypt
        | O::Decrypt
        | O::ReEncrypt
        | O::GenerateDataKey
        | O::GenerateDataKeyWithoutPlaintext
        | O::GenerateRandom
        | O::GenerateMac
        | O::VerifyMac
        | O::Sign
        | O::Verify
        | O::DeriveSharedSecret
        | O::GenerateDataKeyPair
        | O::GenerateDataKeyPairWithoutPlaintext => None,
        other => Some(Quota::Operation(other)),
    }
}

fn pair_class(spec: &str) -> DataKeyPairClass {
    match spec {
        "RSA_2048" => DataKeyPairClass::Rsa2048,
        "RSA_3072" => DataKeyPairClass::Rsa3072,
        "RSA_4096" => DataKeyPairClass::Rsa4096,
        "SM2" => DataKeyPairClass::Sm2,
        _ => DataKeyPairClass::Ecc,
    }
}

/// The shared symmetric rate: 100,000 in the three largest Regions, 20,000 in six more, 10,000
/// elsewhere.
fn symmetric_rate(region: &str) -> f64 {
    match region {
        "us-east-1" | "us-west-2" | "eu-west-1" => 100_000.0,
        "us-east-2" | "ap-southeast-1" | "ap-southeast-2" | "ap-northeast-1" | "eu-central-1"
        | "eu-west-2" => 20_000.0,
        _ => 10_000.0,
    }
}

/// The rate of an operation that has its own.
fn operation_rate(operation: Operation) -> f64 {
    use Operation as O;
    match operation {
        O::DescribeKey | O::GetPublicKey | O::ListResourceTags => 2_000.0,
        O::GetKeyPolicy | O::GetKeyRotationStatus => 1_000.0,
        O::ListAliases | O::ListKeys => 500.0,
        O::ListGrants | O::ListKeyPolicies | O::ListKeyRotations | O::ListRetirableGrants => 100.0,
        O::CreateGrant | O::RetireGrant | O::RevokeGrant => 50.0,
        O::DeleteAlias
        | O::DeleteImportedKeyMaterial
        | O::EnableKeyRotation
        | O::ImportKeyMaterial
        | O::PutKeyPolicy
        | O::ScheduleKeyDeletion => 15.0,
        O::TagResource => 10.0,
        O::GetParametersForImport => 1.0,
        // CancelKeyDeletion, CreateAlias, CreateKey, DisableKey, DisableKeyRotation, EnableKey,
        // RotateKeyOnDemand, UntagResource, UpdateAlias, UpdateKeyDescription; and, were they
        // counted here, the cryptographic operations, which count against their shared quota.
        _ => 5.0,
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    fn quota(target: &str, body: &str) -> Quota {
        let operation = Operation::from_target(&format!("TrentService.{target}")).unwrap();
        Quota::of(&operation.parse(body.as_bytes()).unwrap())
    }

    #[test]
    fn the_algorithm_says_which_shared_quota_a_cryptographic_request_counts_against() {
        let key = r#""KeyId":"k""#;
        assert_eq!(
            quota("Encrypt", &format!(r#"{{{key},"Plaintext":"aGk="}}"#)),
            Quota::Symmetric
        );
        assert_eq!(
            quota(
                "Encrypt",
                &format!(
                    r#"{{{key},"Plaintext":"aGk=","EncryptionAlgorithm":"RSAES_OAEP_SHA_256"}}"#
                )
            ),
            Quota::Rsa
        );
        assert_eq!(
            quota(
                "Decrypt",
                r#"{"CiphertextBlob":"aGk=","EncryptionAlgorithm":"SM2PKE"}"#
            ),
            Quota::Ecc
        );
        for (algorithm, expected) in [
            ("RSASSA_PSS_SHA_256", Quota::Rsa),
            ("ECDSA_SHA_256", Quota::Ecc),
            ("ED25519_SHA_512", Quota::Ecc),
            ("ML_DSA_SHAKE_256", Quota::MlDsa),
        ] {
            assert_eq!(
                quota(
                    "Sign",
                    &format!(r#"{{{key},"Message":"aGk=","SigningAlgorithm":"{algorithm}"}}"#)
                ),
                expected,
                "{algorithm}"
            );
        }
        assert_eq!(
            quota(
                "GenerateMac",
                &format!(r#"{{{key},"Message":"aGk=","MacAlgorithm":"HMAC_SHA_256"}}"#)
            ),
            Quota::Symmetric,
            "HMAC counts as symmetric"
        );
        assert_eq!(
            quota(
                "ReEncrypt",
                r#"{"CiphertextBlob":"aGk=","DestinationKeyId":"k","DestinationEncryptionAlgorithm":"RSAES_OAEP_SHA_1"}"#
            ),
            Quota::Rsa
        );
        assert_eq!(
            quota(
                "GenerateDataKeyPair",
                &format!(r#"{{{key},"KeyPairSpec":"RSA_3072"}}"#)
            ),
            Quota::DataKeyPair(DataKeyPairClass::Rsa3072)
        );
        assert_eq!(
            quota("CreateKey", "{}"),
            Quota::Operation(Operation::CreateKey)
        );
    }

    /// Every operation counts against exactly one quota: its own, or a shared one.
    #[test]
    fn operations_with_their_own_quota_are_the_ones_quota_of_rates_alone() {
        assert_eq!(own_quota(Operation::Encrypt), None);
        assert_eq!(own_quota(Operation::GenerateDataKeyPair), None);
        assert_eq!(
            own_quota(Operation::CreateKey),
            Some(Quota::Operation(Operation::CreateKey))
        );
        let own = Operation::ALL
            .iter()
            .filter(|o| own_quota(**o).is_some())
            .count();
        assert_eq!(own, Operation::ALL.len() - 13);
    }

    #[test]
    fn default_rates_are_aws_published_ones() {
        assert_eq!(Quota::Symmetric.default_rate("us-east-1"), 100_000.0);
        assert_eq!(Quota::Symmetric.default_rate("eu-west-2"), 20_000.0);
        assert_eq!(Quota::Symmetric.default_rate("sa-east-1"), 10_000.0);
        assert_eq!(Quota::Rsa.default_rate("us-east-1"), 1_000.0);
        assert_eq!(Quota::MlDsa.default_rate("us-east-1"), 1_000.0);
        assert_eq!(
            Quota::Operation(Operation::DescribeKey).default_rate("x"),
            2_000.0
        );
        assert_eq!(
            Quota::Operation(Operation::CreateKey).default_rate("x"),
            5.0
        );
        assert_eq!(
            Quota::Operation(Operation::TagResource).default_rate("x"),
            10.0
        );
        assert_eq!(
            Quota::Operation(Operation::GetParametersForImport).default_rate("x"),
            1.0
        );
        assert_eq!(
            Quota::DataKeyPair(DataKeyPairClass::Rsa4096).default_rate("cn-north-1"),
            0.1
        );
    }
}
