//! KMS key specs, key usages and algorithms, and the one table that says which spec allows which
//! usage and which algorithm (AWS KMS Developer Guide, "Key spec reference").
//!
//! Every name is spelled as in the KMS API and parses case-sensitively, as KMS does.

use std::fmt;

macro_rules! kms_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $field:literal { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        kms_enum! {
            $(#[$meta])*
            $name, $field { $( $(#[$vmeta])* $variant => $text ),+ }
            order [ $( $text ),+ ]
        }
    };
    (
        $(#[$meta:meta])*
        $name:ident, $field:literal { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
        order [ $( $ordered:literal ),+ $(,)? ]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                #[doc = concat!("`", $text, "`.")]
                $(#[$vmeta])*
                $variant
            ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];
            /// The API field this enum fills, as KMS names it in validation messages.
            pub const FIELD: &'static str = $field;
            /// The values in the order AWS lists them in its validation message (where AWS
            /// was recorded listing them in another order than the API's).
            pub const MESSAGE_ORDER: &'static [&'static str] = &[ $( $ordered ),+ ];

            /// The name as in the KMS API.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            /// Parses an API name (case-sensitive, as KMS).
            pub fn parse(text: &str) -> Result<Self, crate::CryptoError> {
                match text {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(crate::CryptoError::not_in_enum(
                        text,
                        $field,
                        Self::MESSAGE_ORDER.iter().copied(),
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::CryptoError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }
    };
}

kms_enum! {
    /// A KMS key spec (`KeySpec`). `SM2` exists only in China Regions and is refused by
    /// [`KeySpec::check_supported`].
    KeySpec, "keySpec" {
        SymmetricDefault => "SYMMETRIC_DEFAULT",
        Hmac224 => "HMAC_224",
        Hmac256 => "HMAC_256",
        Hmac384 => "HMAC_384",
        Hmac512 => "HMAC_512",
        Rsa2048 => "RSA_2048",
        Rsa3072 => "RSA_3072",
        Rsa4096 => "RSA_4096",
        EccNistP256 => "ECC_NIST_P256",
        EccNistP384 => "ECC_NIST_P384",
        EccNistP521 => "ECC_NIST_P521",
        EccSecgP256k1 => "ECC_SECG_P256K1",
        EccNistEdwards25519 => "ECC_NIST_EDWARDS25519",
        Sm2 => "SM2",
        MlDsa44 => "ML_DSA_44",
        MlDsa65 => "ML_DSA_65",
        MlDsa87 => "ML_DSA_87",
    }
    // AWS's recorded order (LocalStack's snapshot of 2023-04), then the specs added since.
    order [
        "RSA_2048", "ECC_NIST_P384", "ECC_NIST_P256", "ECC_NIST_P521", "HMAC_384", "RSA_3072",
        "ECC_SECG_P256K1", "RSA_4096", "SYMMETRIC_DEFAULT", "HMAC_256", "HMAC_224", "HMAC_512",
        "ECC_NIST_EDWARDS25519", "SM2", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87",
    ]
}

kms_enum! {
    /// What a KMS key is for (`KeyUsage`).
    KeyUsage, "keyUsage" {
        EncryptDecrypt => "ENCRYPT_DECRYPT",
        SignVerify => "SIGN_VERIFY",
        GenerateVerifyMac => "GENERATE_VERIFY_MAC",
        KeyAgreement => "KEY_AGREEMENT",
    }
    // AWS's recorded order, then KEY_AGREEMENT (added since).
    order ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"]
}

kms_enum! {
    /// `EncryptionAlgorithm` of Encrypt, Decrypt and ReEncrypt.
    EncryptionAlgorithm, "encryptionAlgorithm" {
        SymmetricDefault => "SYMMETRIC_DEFAULT",
        RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
        RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
        Sm2Pke => "SM2PKE",
    }
}

kms_enum! {
    /// `SigningAlgorithm` of Sign and Verify.
    SigningAlgorithm, "signingAlgorithm" {
        RsassaPssSha256 => "RSASSA_PSS_SHA_256",
        RsassaPssSha384 => "RSASSA_PSS_SHA_384",
        RsassaPssSha512 => "RSASSA_PSS_SHA_512",
        RsassaPkcs1V15Sha256 => "RSASSA_PKCS1_V1_5_SHA_256",
        RsassaPkcs1V15Sha384 => "RSASSA_PKCS1_V1_5_SHA_384",
        RsassaPkcs1V15Sha512 => "RSASSA_PKCS1_V1_5_SHA_512",
        EcdsaSha256 => "ECDSA_SHA_256",
        EcdsaSha384 => "ECDSA_SHA_384",
        EcdsaSha512 => "ECDSA_SHA_512",
        Ed25519Sha512 => "ED25519_SHA_512",
        Ed25519PhSha512 => "ED25519_PH_SHA_512",
        Sm2Dsa => "SM2DSA",
        MlDsaShake256 => "ML_DSA_SHAKE_256",
    }
}

kms_enum! {
    /// `MacAlgorithm` of GenerateMac and VerifyMac.
    MacAlgorithm, "macAlgorithm" {
        HmacSha224 => "HMAC_SHA_224",
        HmacSha256 => "HMAC_SHA_256",
        HmacSha384 => "HMAC_SHA_384",
        HmacSha512 => "HMAC_SHA_512",
    }
    // AWS's recorded order.
    order ["HMAC_SHA_384", "HMAC_SHA_256", "HMAC_SHA_224", "HMAC_SHA_512"]
}

kms_enum! {
    /// `KeyAgreementAlgorithm` of DeriveSharedSecret.
    KeyAgreementAlgorithm, "keyAgreementAlgorithm" {
        Ecdh => "ECDH",
    }
}

kms_enum! {
    /// `MessageType` of Sign and Verify: `RAW` is hashed by the algorithm, `DIGEST` already is,
    /// and `EXTERNAL_MU` is ML-DSA's 64-byte message representative μ (FIPS 204, 6.2).
    MessageType, "messageType" {
        Raw => "RAW",
        Digest => "DIGEST",
        ExternalMu => "EXTERNAL_MU",
    }
}

kms_enum! {
    /// `KeySpec` of GenerateDataKey.
    DataKeySpec, "keySpec" {
        Aes128 => "AES_128",
        Aes256 => "AES_256",
    }
}

kms_enum! {
    /// `KeyPairSpec` of GenerateDataKeyPair.
    DataKeyPairSpec, "keyPairSpec" {
        Rsa2048 => "RSA_2048",
        Rsa3072 => "RSA_3072",
        Rsa4096 => "RSA_4096",
        EccNistP256 => "ECC_NIST_P256",
        EccNistP384 => "ECC_NIST_P384",
        EccNistP521 => "ECC_NIST_P521",
        EccSecgP256k1 => "ECC_SECG_P256K1",
        EccNistEdwards25519 => "ECC_NIST_EDWARDS25519",
        Sm2 => "SM2",
    }
}

kms_enum! {
    /// `WrappingKeySpec` of GetParametersForImport.
    WrappingKeySpec, "wrappingKeySpec" {
        Rsa2048 => "RSA_2048",
        Rsa3072 => "RSA_3072",
        Rsa4096 => "RSA_4096",
    }
}

kms_enum! {
    /// `WrappingAlgorithm` of GetParametersForImport: how imported key material is wrapped.
    WrappingAlgorithm, "wrappingAlgorithm" {
        RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
        RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
        RsaAesKeyWrapSha1 => "RSA_AES_KEY_WRAP_SHA_1",
        RsaAesKeyWrapSha256 => "RSA_AES_KEY_WRAP_SHA_256",
        RsaesPkcs1V15 => "RSAES_PKCS1_V1_5",
    }
}

/// The operation a key is asked to perform, named as in KMS's key-usage messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `Encrypt`.
    Encrypt,
    /// `Decrypt`.
    Decrypt,
    /// `ReEncrypt`.
    ReEncrypt,
    /// `GenerateDataKey`.
    GenerateDataKey,
    /// `GenerateDataKeyWithoutPlaintext`.
    GenerateDataKeyWithoutPlaintext,
    /// `GenerateDataKeyPair`.
    GenerateDataKeyPair,
    /// `GenerateDataKeyPairWithoutPlaintext`.
    GenerateDataKeyPairWithoutPlaintext,
    /// `Sign`.
    Sign,
    /// `Verify`.
    Verify,
    /// `GenerateMac`.
    GenerateMac,
    /// `VerifyMac`.
    VerifyMac,
    /// `DeriveSharedSecret`.
    DeriveSharedSecret,
    /// `GetPublicKey`.
    GetPublicKey,
}

impl Operation {
    /// The API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Encrypt => "Encrypt",
            Self::Decrypt => "Decrypt",
            Self::ReEncrypt => "ReEncrypt",
            Self::GenerateDataKey => "GenerateDataKey",
            Self::GenerateDataKeyWithoutPlaintext => "GenerateDataKeyWithoutPlaintext",
            Self::GenerateDataKeyPair => "GenerateDataKeyPair",
            Self::GenerateDataKeyPairWithoutPlaintext => "GenerateDataKeyPairWithoutPlaintext",
            Self::Sign => "Sign",
            Self::Verify => "Verify",
            Self::GenerateMac => "GenerateMac",
            Self::VerifyMac => "VerifyMac",
            Self::DeriveSharedSecret => "DeriveSharedSecret",
            Self::GetPublicKey => "GetPublicKey",
        }
    }

    /// The key usage the operation needs. `GetPublicKey` works for every asymmetric usage and
    /// returns `None`.
    pub const fn required_usage(self) -> Option<KeyUsage> {
        match self {
            Self::Encrypt
            | Self::Decrypt
            | Self::ReEncrypt
            | Self::GenerateDataKey
            | Self::GenerateDataKeyWithoutPlaintext
            | Self::GenerateDataKeyPair
            | Self::GenerateDataKeyPairWithoutPlaintext => Some(KeyUsage::EncryptDecrypt),
            Self::Sign | Self::Verify => Some(KeyUsage::SignVerify),
            Self::GenerateMac | Self::VerifyMac => Some(KeyUsage::GenerateVerifyMac),
            Self::DeriveSharedSecret => Some(KeyUsage::KeyAgreement),
            Self::GetPublicKey => None,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the key-spec table: what a key spec may be used for, and with which algorithms.
#[derive(Debug, Clone, Copy)]
pub struct SpecRow {
    /// The key spec the row describes.
    pub spec: KeySpec,
    /// Usages this spec may be created with.
    pub usages: &'static [KeyUsage],
    /// Encryption algorithms (usage `ENCRYPT_DECRYPT`).
    pub encryption: &'static [EncryptionAlgorithm],
    /// Signing algorithms (usage `SIGN_VERIFY`).
    pub signing: &'static [SigningAlgorithm],
    /// MAC algorithms (usage `GENERATE_VERIFY_MAC`).
    pub mac: &'static [MacAlgorithm],
    /// Key agreement algorithms (usage `KEY_AGREEMENT`).
    pub key_agreement: &'static [KeyAgreementAlgorithm],
    /// Whether this library can create and use keys of the spec.
    pub supported: bool,
}

use EncryptionAlgorithm as E;
use KeyUsage as U;
use SigningAlgorithm as S;

const RSA_ENCRYPTION: &[EncryptionAlgorithm] = &[E::RsaesOaepSha1, E::RsaesOaepSha256];
const RSA_SIGNING: &[SigningAlgorithm] = &[
    S::RsassaPssSha256,
    S::RsassaPssSha384,
    S::RsassaPssSha512,
    S::RsassaPkcs1V15Sha256,
    S::RsassaPkcs1V15Sha384,
    S::RsassaPkcs1V15Sha512,
];

const fn row(spec: KeySpec, usages: &'static [KeyUsage]) -> SpecRow {
    SpecRow {
        spec,
        usages,
        encryption: &[],
        signing: &[],
        mac: &[],
        key_agreement: &[],
        supported: true,
    }
}

/// The key-spec table. Sources: KMS Developer Guide "Key spec reference" (symmetric, RSA,
/// ECC, HMAC, SM2 and ML-DSA key specs) and the API's `KeySpec`/`KeyUsage` enums.
pub const SPEC_TABLE: &[SpecRow] = &[
    SpecRow {
        encryption: &[E::SymmetricDefault],
        ..row(KeySpec::SymmetricDefault, &[U::EncryptDecrypt])
    },
    SpecRow {
        mac: &[MacAlgorithm::HmacSha224],
        ..row(KeySpec::Hmac224, &[U::GenerateVerifyMac])
    },
    SpecRow {
        mac: &[MacAlgorithm::HmacSha256],
        ..row(KeySpec::Hmac256, &[U::GenerateVerifyMac])
    },
    SpecRow {
        mac: &[MacAlgorithm::HmacSha384],
        ..row(KeySpec::Hmac384, &[U::GenerateVerifyMac])
    },
    SpecRow {
        mac: &[MacAlgorithm::HmacSha512],
        ..row(KeySpec::Hmac512, &[U::GenerateVerifyMac])
    },
    SpecRow {
        encryption: RSA_ENCRYPTION,
        signing: RSA_SIGNING,
        ..row(KeySpec::Rsa2048, &[U::EncryptDecrypt, U::SignVerify])
    },
    SpecRow {
        encryption: RSA_ENCRYPTION,
        signing: RSA_SIGNING,
        ..row(KeySpec::Rsa3072, &[U::EncryptDecrypt, U::SignVerify])
    },
    SpecRow {
        encryption: RSA_ENCRYPTION,
        signing: RSA_SIGNING,
        ..row(KeySpec::Rsa4096, &[U::EncryptDecrypt, U::SignVerify])
    },
    SpecRow {
        signing: &[S::EcdsaSha256],
        key_agreement: &[KeyAgreementAlgorithm::Ecdh],
        ..row(KeySpec::EccNistP256, &[U::SignVerify, U::KeyAgreement])
    },
    SpecRow {
        signing: &[S::EcdsaSha384],
        key_agreement: &[KeyAgreementAlgorithm::Ecdh],
        ..row(KeySpec::EccNistP384, &[U::SignVerify, U::KeyAgreement])
    },
    SpecRow {
        signing: &[S::EcdsaSha512],
        key_agreement: &[KeyAgreementAlgorithm::Ecdh],
        ..row(KeySpec::EccNistP521, &[U::SignVerify, U::KeyAgreement])
    },
    SpecRow {
        signing: &[S::EcdsaSha256],
        ..row(KeySpec::EccSecgP256k1, &[U::SignVerify])
    },
    SpecRow {
        // ED25519_PH_SHA_512 (pre-hashed, DIGEST messages) is a valid KMS algorithm for this
        // spec, but aws-lc-rs exposes only pure Ed25519; `sign` refuses it by name.
        signing: &[S::Ed25519Sha512, S::Ed25519PhSha512],
        ..row(KeySpec::EccNistEdwards25519, &[U::SignVerify])
    },
    SpecRow {
        encryption: &[E::Sm2Pke],
        signing: &[S::Sm2Dsa],
        key_agreement: &[KeyAgreementAlgorithm::Ecdh],
        supported: false,
        ..row(
            KeySpec::Sm2,
            &[U::EncryptDecrypt, U::SignVerify, U::KeyAgreement],
        )
    },
    // ML-DSA (FIPS 204), pure, with an empty context, as KMS signs: whole messages with
    // aws-lc-rs, `EXTERNAL_MU` messages with RustCrypto's `ml-dsa` on the same key
    // (`crate::ml_dsa_mu`).
    SpecRow {
        signing: &[S::MlDsaShake256],
        ..row(KeySpec::MlDsa44, &[U::SignVerify])
    },
    SpecRow {
        signing: &[S::MlDsaShake256],
        ..row(KeySpec::MlDsa65, &[U::SignVerify])
    },
    SpecRow {
        signing: &[S::MlDsaShake256],
        ..row(KeySpec::MlDsa87, &[U::SignVerify])
    },
];

impl KeySpec {
    /// This spec's row of [`SPEC_TABLE`].
    pub fn row(self) -> &'static SpecRow {
        // The table has one row per spec in declaration order (pinned by a test).
        match SPEC_TABLE.get(self as usize) {
            Some(row) if row.spec == self => row,
            _ => SPEC_TABLE
                .iter()
                .find(|row| row.spec == self)
                .unwrap_or(&SPEC_TABLE_FALLBACK),
        }
    }

    /// Whether keys of this spec are asymmetric (have a public key).
    pub const fn is_asymmetric(self) -> bool {
        !matches!(
            self,
            Self::SymmetricDefault | Self::Hmac224 | Self::Hmac256 | Self::Hmac384 | Self::Hmac512
        )
    }

    /// Refuses specs this library cannot create or use.
    pub fn check_supported(self) -> Result<(), crate::CryptoError> {
        if self.row().supported {
            Ok(())
        } else {
            Err(crate::CryptoError::UnsupportedKeySpec(self.as_str()))
        }
    }

    /// Checks that a key of this spec may be created with `usage`; KMS's message otherwise.
    pub fn check_usage(self, usage: KeyUsage) -> Result<(), crate::CryptoError> {
        if self.row().usages.contains(&usage) {
            Ok(())
        } else {
            Err(crate::CryptoError::UsageNotCompatible {
                usage: usage.as_str(),
                spec: self.as_str(),
            })
        }
    }

    /// The usage a key of this spec gets when CreateKey names none: only symmetric encryption
    /// keys have one (`You must specify a KeyUsage value for all KMS keys except for symmetric
    /// encryption keys.`).
    pub fn default_usage(self) -> Result<KeyUsage, crate::CryptoError> {
        match self {
            Self::SymmetricDefault => Ok(KeyUsage::EncryptDecrypt),
            _ => Err(crate::CryptoError::UsageRequired),
        }
    }

    /// The HMAC key length in bytes KMS generates for an HMAC spec, and the range it accepts
    /// for imported material (Developer Guide, "Requirements for imported key material").
    pub const fn hmac_lengths(self) -> Option<(usize, std::ops::RangeInclusive<usize>)> {
        match self {
            Self::Hmac224 => Some((28, 28..=64)),
            Self::Hmac256 => Some((32, 32..=64)),
            Self::Hmac384 => Some((48, 48..=128)),
            Self::Hmac512 => Some((64, 64..=128)),
            _ => None,
        }
    }

    /// RSA modulus length in bytes.
    pub const fn rsa_modulus_bytes(self) -> Option<usize> {
        match self {
            Self::Rsa2048 => Some(256),
            Self::Rsa3072 => Some(384),
            Self::Rsa4096 => Some(512),
            _ => None,
        }
    }
}

const SPEC_TABLE_FALLBACK: SpecRow = SpecRow {
    supported: false,
    ..row(KeySpec::Sm2, &[])
};

impl EncryptionAlgorithm {
    /// Hash output length of an RSAES-OAEP algorithm.
    const fn oaep_hash_len(self) -> Option<usize> {
        match self {
            Self::RsaesOaepSha1 => Some(20),
            Self::RsaesOaepSha256 => Some(32),
            Self::SymmetricDefault | Self::Sm2Pke => None,
        }
    }

    /// The largest plaintext KMS encrypts with this algorithm and RSA key spec:
    /// k − 2·hLen − 2 (RFC 8017 §7.1.1), 214/342/470 for SHA-1 and 190/318/446 for SHA-256.
    pub const fn max_rsa_plaintext(self, spec: KeySpec) -> Option<usize> {
        match (spec.rsa_modulus_bytes(), self.oaep_hash_len()) {
            (Some(modulus), Some(hash)) => Some(modulus - 2 * hash - 2),
            _ => None,
        }
    }
}

impl SigningAlgorithm {
    /// The digest length a `DIGEST` message must have (for ML-DSA, the length of an
    /// `EXTERNAL_MU` message, μ).
    pub const fn digest_len(self) -> usize {
        match self {
            Self::RsassaPssSha256
            | Self::RsassaPkcs1V15Sha256
            | Self::EcdsaSha256
            | Self::Sm2Dsa => 32,
            Self::RsassaPssSha384 | Self::RsassaPkcs1V15Sha384 | Self::EcdsaSha384 => 48,
            Self::RsassaPssSha512
            | Self::RsassaPkcs1V15Sha512
            | Self::EcdsaSha512
            | Self::Ed25519Sha512
            | Self::Ed25519PhSha512
            | Self::MlDsaShake256 => 64,
        }
    }
}

impl MacAlgorithm {
    /// MAC length in bytes.
    pub const fn tag_len(self) -> usize {
        match self {
            Self::HmacSha224 => 28,
            Self::HmacSha256 => 32,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }
}

impl DataKeyPairSpec {
    /// The key spec of the same key type.
    pub const fn key_spec(self) -> KeySpec {
        match self {
            Self::Rsa2048 => KeySpec::Rsa2048,
            Self::Rsa3072 => KeySpec::Rsa3072,
            Self::Rsa4096 => KeySpec::Rsa4096,
            Self::EccNistP256 => KeySpec::EccNistP256,
            Self::EccNistP384 => KeySpec::EccNistP384,
            Self::EccNistP521 => KeySpec::EccNistP521,
            Self::EccSecgP256k1 => KeySpec::EccSecgP256k1,
            Self::EccNistEdwards25519 => KeySpec::EccNistEdwards25519,
            Self::Sm2 => KeySpec::Sm2,
        }
    }
}

impl WrappingKeySpec {
    /// The RSA key spec of the same size.
    pub const fn key_spec(self) -> KeySpec {
        match self {
            Self::Rsa2048 => KeySpec::Rsa2048,
            Self::Rsa3072 => KeySpec::Rsa3072,
            Self::Rsa4096 => KeySpec::Rsa4096,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_row_per_spec_in_order() {
        assert_eq!(SPEC_TABLE.len(), KeySpec::ALL.len());
        for (index, spec) in KeySpec::ALL.iter().enumerate() {
            assert_eq!(SPEC_TABLE[index].spec, *spec);
            assert_eq!(spec.row().spec, *spec);
        }
    }

    #[test]
    fn every_algorithm_list_matches_a_usage_the_spec_allows() {
        for row in SPEC_TABLE {
            assert_eq!(
                !row.encryption.is_empty(),
                row.usages.contains(&KeyUsage::EncryptDecrypt),
                "{}",
                row.spec
            );
            assert_eq!(
                !row.signing.is_empty(),
                row.usages.contains(&KeyUsage::SignVerify)
            );
            assert_eq!(
                !row.mac.is_empty(),
                row.usages.contains(&KeyUsage::GenerateVerifyMac)
            );
            assert_eq!(
                !row.key_agreement.is_empty(),
                row.usages.contains(&KeyUsage::KeyAgreement)
            );
        }
    }

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for spec in KeySpec::ALL {
            assert_eq!(KeySpec::parse(spec.as_str()).unwrap(), *spec);
        }
        for alg in SigningAlgorithm::ALL {
            assert_eq!(SigningAlgorithm::parse(alg.as_str()).unwrap(), *alg);
        }
        assert!(KeySpec::parse("symmetric_default").is_err());
        let error = KeySpec::parse("HMAC_random").unwrap_err();
        assert_eq!(error.code(), "ValidationException");
        assert!(
            error
                .to_string()
                .starts_with("1 validation error detected: Value 'HMAC_random' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [RSA_2048, ECC_NIST_P384, ECC_NIST_P256, ECC_NIST_P521, HMAC_384, RSA_3072, ECC_SECG_P256K1, RSA_4096, SYMMETRIC_DEFAULT, HMAC_256, HMAC_224, HMAC_512"),
            "{error}"
        );
    }

    /// LocalStack's recordings of AWS (its KMS tests `test_hmac_create_key_invalid_operations`
    /// and `test_invalid_generate_mac`): AWS lists an enumeration's values in its own order, not
    /// the API model's.
    #[test]
    fn enumerations_are_listed_in_the_order_aws_sends() {
        let message = |e: crate::CryptoError| e.to_string();
        assert!(
            message(KeyUsage::parse("RANDOM").unwrap_err()).ends_with(
                "at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT]"
            )
        );
        assert!(
            message(MacAlgorithm::parse("INVALID").unwrap_err()).ends_with(
                "at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]"
            )
        );
        assert!(
            message(KeyAgreementAlgorithm::parse("INVALID").unwrap_err())
                .ends_with("Member must satisfy enum value set: [ECDH]")
        );
        // Every enumeration lists each of its values once.
        for (order, all) in [
            (
                KeySpec::MESSAGE_ORDER,
                KeySpec::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
            ),
            (
                KeyUsage::MESSAGE_ORDER,
                KeyUsage::ALL.iter().map(|v| v.as_str()).collect(),
            ),
            (
                MacAlgorithm::MESSAGE_ORDER,
                MacAlgorithm::ALL.iter().map(|v| v.as_str()).collect(),
            ),
        ] {
            let mut sorted = order.to_vec();
            sorted.sort_unstable();
            let mut expected = all;
            expected.sort_unstable();
            assert_eq!(sorted, expected);
        }
    }

    #[test]
    fn rsa_plaintext_limits_are_kms_figures() {
        let limits: Vec<_> = [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096]
            .iter()
            .flat_map(|spec| {
                [
                    EncryptionAlgorithm::RsaesOaepSha1,
                    EncryptionAlgorithm::RsaesOaepSha256,
                ]
                .map(|alg| alg.max_rsa_plaintext(*spec).unwrap())
            })
            .collect();
        assert_eq!(limits, [214, 190, 342, 318, 470, 446]);
        assert_eq!(
            EncryptionAlgorithm::SymmetricDefault.max_rsa_plaintext(KeySpec::Rsa2048),
            None
        );
    }

    #[test]
    fn usage_rules() {
        assert!(KeySpec::Rsa2048.check_usage(KeyUsage::SignVerify).is_ok());
        assert_eq!(
            KeySpec::Rsa2048
                .check_usage(KeyUsage::KeyAgreement)
                .unwrap_err()
                .to_string(),
            "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"
        );
        assert!(
            KeySpec::EccSecgP256k1
                .check_usage(KeyUsage::KeyAgreement)
                .is_err()
        );
        assert_eq!(
            KeySpec::Hmac256.default_usage().unwrap_err().to_string(),
            "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
        );
        assert_eq!(
            KeySpec::SymmetricDefault.default_usage().unwrap(),
            KeyUsage::EncryptDecrypt
        );
        assert!(KeySpec::Sm2.check_supported().is_err());
        assert!(KeySpec::Hmac224.check_supported().is_ok());
    }
}
