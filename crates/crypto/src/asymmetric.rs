//! Asymmetric key material: RSA, NIST and SECG elliptic curves, Ed25519, ML-DSA.
//!
//! Material is held as its PKCS#8 DER (zeroized on drop) and parsed once into the library's key
//! object for the key's usage; the public key is kept as DER SubjectPublicKeyInfo and parsed
//! once for verification.

use crate::limits::{MAX_MESSAGE_LEN, MAX_SIGNATURE_LEN};
use crate::ml_dsa_mu::{MuSigner, MuVerifier};
use crate::spec::{EncryptionAlgorithm, KeySpec, KeyUsage, MessageType, SigningAlgorithm};
use crate::{CryptoError, Secret};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{
    self, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, ParsedPublicKey,
    PqdsaKeyPair, PqdsaSigningAlgorithm, RsaEncoding, VerificationAlgorithm,
};
use aws_lc_rs::{agreement, digest};

/// Parsed private key for one usage.
enum PrivateKey {
    RsaDecrypt(OaepPrivateDecryptingKey),
    RsaSign(rsa::KeyPair),
    Ecdsa(EcdsaKeyPair),
    Ecdh(agreement::PrivateKey),
    Ed25519(Ed25519KeyPair),
    /// aws-lc-rs's key, and `ml-dsa`'s for an external μ.
    MlDsa(PqdsaKeyPair, MuSigner),
}

/// The material of an asymmetric KMS key or data key pair.
pub(crate) struct AsymmetricMaterial {
    pkcs8: Secret,
    private: PrivateKey,
    public: PublicKey,
}

impl std::fmt::Debug for AsymmetricMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsymmetricMaterial")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The public half of an asymmetric KMS key (what GetPublicKey returns), parsed once, for
/// verifying signatures and encrypting outside KMS as its users do.
pub struct PublicKey {
    spec: KeySpec,
    usage: KeyUsage,
    der: Vec<u8>,
    /// For `ENCRYPT_DECRYPT` RSA keys.
    encrypting: Option<OaepPublicEncryptingKey>,
    /// For `SIGN_VERIFY` keys, per signing algorithm the spec allows.
    verifying: Vec<(SigningAlgorithm, ParsedPublicKey)>,
    /// For ML-DSA keys: the verifier of an external μ.
    mu_verifier: Option<MuVerifier>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("spec", &self.spec)
            .field("usage", &self.usage)
            .field("der_len", &self.der.len())
            .finish()
    }
}

fn ecdsa_signing(spec: KeySpec) -> Option<&'static EcdsaSigningAlgorithm> {
    match spec {
        KeySpec::EccNistP256 => Some(&signature::ECDSA_P256_SHA256_ASN1_SIGNING),
        KeySpec::EccNistP384 => Some(&signature::ECDSA_P384_SHA384_ASN1_SIGNING),
        KeySpec::EccNistP521 => Some(&signature::ECDSA_P521_SHA512_ASN1_SIGNING),
        KeySpec::EccSecgP256k1 => Some(&signature::ECDSA_P256K1_SHA256_ASN1_SIGNING),
        _ => None,
    }
}

fn ml_dsa_signing(spec: KeySpec) -> Option<&'static PqdsaSigningAlgorithm> {
    match spec {
        KeySpec::MlDsa44 => Some(&signature::ML_DSA_44_SIGNING),
        KeySpec::MlDsa65 => Some(&signature::ML_DSA_65_SIGNING),
        KeySpec::MlDsa87 => Some(&signature::ML_DSA_87_SIGNING),
        _ => None,
    }
}

pub(crate) fn ecdh_algorithm(spec: KeySpec) -> Option<&'static agreement::Algorithm> {
    match spec {
        KeySpec::EccNistP256 => Some(&agreement::ECDH_P256),
        KeySpec::EccNistP384 => Some(&agreement::ECDH_P384),
        KeySpec::EccNistP521 => Some(&agreement::ECDH_P521),
        _ => None,
    }
}

fn rsa_encoding(algorithm: SigningAlgorithm) -> Option<&'static dyn RsaEncoding> {
    Some(match algorithm {
        SigningAlgorithm::RsassaPssSha256 => &signature::RSA_PSS_SHA256,
        SigningAlgorithm::RsassaPssSha384 => &signature::RSA_PSS_SHA384,
        SigningAlgorithm::RsassaPssSha512 => &signature::RSA_PSS_SHA512,
        SigningAlgorithm::RsassaPkcs1V15Sha256 => &signature::RSA_PKCS1_SHA256,
        SigningAlgorithm::RsassaPkcs1V15Sha384 => &signature::RSA_PKCS1_SHA384,
        SigningAlgorithm::RsassaPkcs1V15Sha512 => &signature::RSA_PKCS1_SHA512,
        _ => return None,
    })
}

/// The verification algorithm for a signing algorithm (and, for ECDSA, the key's curve).
fn verification(
    spec: KeySpec,
    algorithm: SigningAlgorithm,
) -> Option<&'static dyn VerificationAlgorithm> {
    use SigningAlgorithm as S;
    Some(match (spec, algorithm) {
        (_, S::RsassaPssSha256) => &signature::RSA_PSS_2048_8192_SHA256,
        (_, S::RsassaPssSha384) => &signature::RSA_PSS_2048_8192_SHA384,
        (_, S::RsassaPssSha512) => &signature::RSA_PSS_2048_8192_SHA512,
        (_, S::RsassaPkcs1V15Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (_, S::RsassaPkcs1V15Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (_, S::RsassaPkcs1V15Sha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (KeySpec::EccNistP256, S::EcdsaSha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (KeySpec::EccNistP384, S::EcdsaSha384) => &signature::ECDSA_P384_SHA384_ASN1,
        (KeySpec::EccNistP521, S::EcdsaSha512) => &signature::ECDSA_P521_SHA512_ASN1,
        (KeySpec::EccSecgP256k1, S::EcdsaSha256) => &signature::ECDSA_P256K1_SHA256_ASN1,
        (KeySpec::EccNistEdwards25519, S::Ed25519Sha512) => &signature::ED25519,
        (KeySpec::MlDsa44, S::MlDsaShake256) => &signature::ML_DSA_44,
        (KeySpec::MlDsa65, S::MlDsaShake256) => &signature::ML_DSA_65,
        (KeySpec::MlDsa87, S::MlDsaShake256) => &signature::ML_DSA_87,
        _ => return None,
    })
}

fn digest_algorithm(algorithm: SigningAlgorithm) -> &'static digest::Algorithm {
    match algorithm.digest_len() {
        32 => &digest::SHA256,
        48 => &digest::SHA384,
        _ => &digest::SHA512,
    }
}

fn oaep(algorithm: EncryptionAlgorithm) -> Option<&'static OaepAlgorithm> {
    match algorithm {
        EncryptionAlgorithm::RsaesOaepSha1 => Some(&OAEP_SHA1_MGF1SHA1),
        EncryptionAlgorithm::RsaesOaepSha256 => Some(&OAEP_SHA256_MGF1SHA256),
        _ => None,
    }
}

fn rsa_size(spec: KeySpec) -> Option<rsa::KeySize> {
    match spec {
        KeySpec::Rsa2048 => Some(rsa::KeySize::Rsa2048),
        KeySpec::Rsa3072 => Some(rsa::KeySize::Rsa3072),
        KeySpec::Rsa4096 => Some(rsa::KeySize::Rsa4096),
        _ => None,
    }
}

const GENERATE: CryptoError = CryptoError::Internal("key pair generation");

/// Generates a new private key of `spec` as PKCS#8 DER.
pub(crate) fn generate_pkcs8(spec: KeySpec) -> Result<Secret, CryptoError> {
    spec.check_supported()?;
    if let Some(size) = rsa_size(spec) {
        let pair = rsa::KeyPair::generate(size).map_err(|_| GENERATE)?;
        let der: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| GENERATE)?;
        return Ok(Secret::from_slice(der.as_ref()));
    }
    if let Some(algorithm) = ecdsa_signing(spec) {
        let pair = EcdsaKeyPair::generate(algorithm).map_err(|_| GENERATE)?;
        let der = pair.to_pkcs8v1().map_err(|_| GENERATE)?;
        return Ok(Secret::from_slice(der.as_ref()));
    }
    if spec == KeySpec::EccNistEdwards25519 {
        let pair = Ed25519KeyPair::generate().map_err(|_| GENERATE)?;
        let der = pair.to_pkcs8v1().map_err(|_| GENERATE)?;
        return Ok(Secret::from_slice(der.as_ref()));
    }
    if let Some(algorithm) = ml_dsa_signing(spec) {
        // The seed form (FIPS 204's 32-byte ξ), which every ML-DSA implementation expands
        // to the same key.
        let pair = PqdsaKeyPair::generate(algorithm).map_err(|_| GENERATE)?;
        let der = pair.to_pkcs8v1().map_err(|_| GENERATE)?;
        return Ok(Secret::from_slice(der.as_ref()));
    }
    Err(CryptoError::UnsupportedKeySpec(spec.as_str()))
}

fn rejected(spec: KeySpec) -> CryptoError {
    CryptoError::InvalidKeyMaterial(format!(
        "the key material is not a PKCS#8 private key of key spec {spec}"
    ))
}

/// Checks a Sign or Verify request against the key spec: the algorithm belongs to the spec,
/// the message is 1–4,096 bytes, a `DIGEST` has the algorithm's digest length, Ed25519 signs
/// `RAW` messages only, ML-DSA never a `DIGEST`, `EXTERNAL_MU` is ML-DSA's only and 64 bytes,
/// and ED25519_PH_SHA_512 (which aws-lc-rs does not offer) is refused by name.
pub(crate) fn check_signing_input(
    spec: KeySpec,
    message: &[u8],
    message_type: MessageType,
    algorithm: SigningAlgorithm,
) -> Result<(), CryptoError> {
    CryptoError::check_length("message", message, MAX_MESSAGE_LEN)?;
    if !spec.row().signing.contains(&algorithm) {
        return Err(CryptoError::AlgorithmIncompatible {
            algorithm: algorithm.as_str(),
            spec: spec.as_str(),
        });
    }
    if algorithm == SigningAlgorithm::Ed25519PhSha512 {
        return Err(CryptoError::UnsupportedAlgorithm(algorithm.as_str()));
    }
    let ml_dsa = algorithm == SigningAlgorithm::MlDsaShake256;
    match message_type {
        MessageType::Digest if ml_dsa => {
            return Err(CryptoError::MessageTypeIncompatible {
                message_type: message_type.as_str(),
                spec: spec.as_str(),
            });
        }
        MessageType::ExternalMu if !ml_dsa => {
            return Err(CryptoError::MessageTypeIncompatible {
                message_type: message_type.as_str(),
                spec: spec.as_str(),
            });
        }
        MessageType::ExternalMu if message.len() != algorithm.digest_len() => {
            return Err(CryptoError::DigestLength {
                algorithm: algorithm.as_str(),
            });
        }
        _ => {}
    }
    if message_type == MessageType::Digest {
        if algorithm == SigningAlgorithm::Ed25519Sha512 {
            return Err(CryptoError::MessageTypeNotValid {
                message_type: message_type.as_str(),
                algorithm: algorithm.as_str(),
            });
        }
        if message.len() != algorithm.digest_len() {
            return Err(CryptoError::DigestLength {
                algorithm: algorithm.as_str(),
            });
        }
    }
    Ok(())
}

fn import_digest(
    message: &[u8],
    algorithm: SigningAlgorithm,
) -> Result<digest::Digest, CryptoError> {
    digest::Digest::import_less_safe(message, digest_algorithm(algorithm)).map_err(|_| {
        CryptoError::DigestLength {
            algorithm: algorithm.as_str(),
        }
    })
}

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo as the public key of a key of `spec` and `usage`.
    /// A key of another type, curve or size is `InvalidPublicKey`.
    pub fn from_der(spec: KeySpec, usage: KeyUsage, der: &[u8]) -> Result<Self, CryptoError> {
        spec.check_supported()?;
        spec.check_usage(usage)?;
        let mut encrypting = None;
        let mut verifying = Vec::new();
        let mut mu_verifier = None;
        match usage {
            KeyUsage::EncryptDecrypt => {
                let key = PublicEncryptingKey::from_der(der)
                    .map_err(|_| CryptoError::InvalidPublicKey)?;
                if Some(key.key_size_bytes()) != spec.rsa_modulus_bytes() {
                    return Err(CryptoError::InvalidPublicKey);
                }
                encrypting = Some(
                    OaepPublicEncryptingKey::new(key).map_err(|_| CryptoError::InvalidPublicKey)?,
                );
            }
            KeyUsage::SignVerify => {
                for algorithm in spec.row().signing {
                    if let Some(verify) = verification(spec, *algorithm) {
                        let parsed = ParsedPublicKey::new(verify, der)
                            .map_err(|_| CryptoError::InvalidPublicKey)?;
                        verifying.push((*algorithm, parsed));
                    }
                }
                if let Some(modulus) = spec.rsa_modulus_bytes() {
                    let rsa = rsa::PublicEncryptingKey::from_der(der)
                        .map_err(|_| CryptoError::InvalidPublicKey)?;
                    if rsa.key_size_bytes() != modulus {
                        return Err(CryptoError::InvalidPublicKey);
                    }
                }
                if ml_dsa_signing(spec).is_some() {
                    let verifier =
                        MuVerifier::from_der(spec, der).ok_or(CryptoError::InvalidPublicKey)?;
                    mu_verifier = Some(verifier);
                }
            }
            KeyUsage::KeyAgreement => {
                let algorithm = ecdh_algorithm(spec).ok_or(CryptoError::InvalidPublicKey)?;
                let parsed = agreement::ParsedPublicKey::try_from(
                    &agreement::UnparsedPublicKey::new(algorithm, der),
                )
                .map_err(|_| CryptoError::InvalidPublicKey)?;
                if !matches!(parsed.format(), agreement::ParsedPublicKeyFormat::X509) {
                    return Err(CryptoError::InvalidPublicKey);
                }
            }
            KeyUsage::GenerateVerifyMac => return Err(CryptoError::InvalidPublicKey),
        }
        Ok(Self {
            spec,
            usage,
            der: der.to_vec(),
            encrypting,
            verifying,
            mu_verifier,
        })
    }

    /// The `KeySpec` of the key pair this public key belongs to.
    pub fn spec(&self) -> KeySpec {
        self.spec
    }

    /// The `KeyUsage` of the key pair this public key belongs to.
    pub fn usage(&self) -> KeyUsage {
        self.usage
    }

    /// DER SubjectPublicKeyInfo.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// RSAES-OAEP encryption with KMS's per-spec plaintext limits; the result decrypts with
    /// the KMS key's Decrypt.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        algorithm: EncryptionAlgorithm,
    ) -> Result<Vec<u8>, CryptoError> {
        CryptoError::check_length("plaintext", plaintext, MAX_MESSAGE_LEN)?;
        self.encrypt_unchecked(plaintext, algorithm)
    }

    pub(crate) fn encrypt_unchecked(
        &self,
        plaintext: &[u8],
        algorithm: EncryptionAlgorithm,
    ) -> Result<Vec<u8>, CryptoError> {
        let (Some(key), Some(oaep_alg), Some(max)) = (
            self.encrypting.as_ref(),
            oaep(algorithm),
            algorithm.max_rsa_plaintext(self.spec),
        ) else {
            return Err(CryptoError::AlgorithmIncompatible {
                algorithm: algorithm.as_str(),
                spec: self.spec.as_str(),
            });
        };
        if plaintext.len() > max {
            return Err(CryptoError::RsaPlaintextTooLarge {
                algorithm: algorithm.as_str(),
                spec: self.spec.as_str(),
                max,
            });
        }
        let mut out = vec![0; key.ciphertext_size()];
        let len = key
            .encrypt(oaep_alg, plaintext, &mut out, None)
            .map_err(|_| CryptoError::Internal("RSA encryption"))?
            .len();
        out.truncate(len);
        Ok(out)
    }

    /// Verifies a signature as KMS's Verify does (same checks, same errors):
    /// `KMSInvalidSignatureException` when it does not match.
    pub fn verify(
        &self,
        message: &[u8],
        message_type: MessageType,
        algorithm: SigningAlgorithm,
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        CryptoError::check_length("signature", signature, MAX_SIGNATURE_LEN)?;
        check_signing_input(self.spec, message, message_type, algorithm)?;
        let Some((_, key)) = self.verifying.iter().find(|(alg, _)| *alg == algorithm) else {
            return Err(CryptoError::AlgorithmIncompatible {
                algorithm: algorithm.as_str(),
                spec: self.spec.as_str(),
            });
        };
        let result = match message_type {
            MessageType::Raw => key.verify_sig(message, signature),
            MessageType::Digest => {
                key.verify_digest_sig(&import_digest(message, algorithm)?, signature)
            }
            // ML-DSA's alone (`check_signing_input`).
            MessageType::ExternalMu => match &self.mu_verifier {
                Some(verifier) if verifier.verify(message, signature) => Ok(()),
                _ => Err(aws_lc_rs::error::Unspecified),
            },
        };
        result.map_err(|_| CryptoError::InvalidSignature)
    }
}

impl AsymmetricMaterial {
    /// Parses PKCS#8 DER material for a key of `spec` and `usage`. Material of another key
    /// type, curve or size is refused.
    pub(crate) fn from_pkcs8(
        spec: KeySpec,
        usage: KeyUsage,
        pkcs8: Secret,
    ) -> Result<Self, CryptoError> {
        spec.check_supported()?;
        spec.check_usage(usage)?;
        let der = pkcs8.expose();
        let (private, public_der): (PrivateKey, Vec<u8>) = match (spec, usage) {
            (KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096, _) => {
                let expected = spec.rsa_modulus_bytes().unwrap_or(0);
                if usage == KeyUsage::EncryptDecrypt {
                    let key = PrivateDecryptingKey::from_pkcs8(der).map_err(|_| rejected(spec))?;
                    if key.key_size_bytes() != expected {
                        return Err(rejected(spec));
                    }
                    let public: PublicKeyX509Der<'static> =
                        key.public_key().as_der().map_err(|_| rejected(spec))?;
                    let public = public.as_ref().to_vec();
                    let key = OaepPrivateDecryptingKey::new(key).map_err(|_| rejected(spec))?;
                    (PrivateKey::RsaDecrypt(key), public)
                } else {
                    let key = rsa::KeyPair::from_pkcs8(der).map_err(|_| rejected(spec))?;
                    if key.public_modulus_len() != expected {
                        return Err(rejected(spec));
                    }
                    let public = key.public_key().as_der().map_err(|_| rejected(spec))?;
                    (PrivateKey::RsaSign(key), public.as_ref().to_vec())
                }
            }
            (_, KeyUsage::KeyAgreement) => {
                let algorithm = ecdh_algorithm(spec).ok_or(rejected(spec))?;
                let key = agreement::PrivateKey::from_private_key_der(algorithm, der)
                    .map_err(|_| rejected(spec))?;
                let public = key
                    .compute_public_key()
                    .and_then(|public| public.as_der())
                    .map_err(|_| rejected(spec))?;
                (PrivateKey::Ecdh(key), public.as_ref().to_vec())
            }
            (KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87, _) => {
                let algorithm = ml_dsa_signing(spec).ok_or(rejected(spec))?;
                let key = PqdsaKeyPair::from_pkcs8(algorithm, der).map_err(|_| rejected(spec))?;
                let public = key.public_key().as_der().map_err(|_| rejected(spec))?;
                let mu = MuSigner::from_pkcs8(spec, der).ok_or(rejected(spec))?;
                (PrivateKey::MlDsa(key, mu), public.as_ref().to_vec())
            }
            (KeySpec::EccNistEdwards25519, _) => {
                let key =
                    Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| rejected(spec))?;
                let public = key.public_key().as_der().map_err(|_| rejected(spec))?;
                (PrivateKey::Ed25519(key), public.as_ref().to_vec())
            }
            _ => {
                let algorithm = ecdsa_signing(spec).ok_or(rejected(spec))?;
                let key = EcdsaKeyPair::from_pkcs8(algorithm, der).map_err(|_| rejected(spec))?;
                let public = key.public_key().as_der().map_err(|_| rejected(spec))?;
                (PrivateKey::Ecdsa(key), public.as_ref().to_vec())
            }
        };
        let public = PublicKey::from_der(spec, usage, &public_der).map_err(|_| rejected(spec))?;
        Ok(Self {
            pkcs8,
            private,
            public,
        })
    }

    /// Generates new material.
    pub(crate) fn generate(spec: KeySpec, usage: KeyUsage) -> Result<Self, CryptoError> {
        spec.check_usage(usage)?;
        Self::from_pkcs8(spec, usage, generate_pkcs8(spec)?)
    }

    pub(crate) fn pkcs8(&self) -> &Secret {
        &self.pkcs8
    }

    pub(crate) fn public(&self) -> &PublicKey {
        &self.public
    }

    /// DER SubjectPublicKeyInfo.
    pub(crate) fn public_der(&self) -> &[u8] {
        self.public.der()
    }

    /// RSAES-OAEP decryption; any failure is `InvalidCiphertextException`.
    pub(crate) fn decrypt(
        &self,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Secret, CryptoError> {
        let (PrivateKey::RsaDecrypt(key), Some(oaep_alg)) = (&self.private, oaep(algorithm)) else {
            return Err(CryptoError::AlgorithmIncompatible {
                algorithm: algorithm.as_str(),
                spec: self.public.spec.as_str(),
            });
        };
        if ciphertext.len() != key.key_size_bytes() {
            return Err(CryptoError::InvalidCiphertext);
        }
        let mut out = Secret::new(vec![0; key.min_output_size()]);
        let len = key
            .decrypt(oaep_alg, ciphertext, out.expose_mut(), None)
            .map_err(|_| CryptoError::InvalidCiphertext)?
            .len();
        out.expose_mut().truncate(len);
        Ok(out)
    }

    /// Signs a RAW message or a DIGEST; the caller has run [`check_signing_input`].
    pub(crate) fn sign(
        &self,
        algorithm: SigningAlgorithm,
        message: &[u8],
        message_type: MessageType,
    ) -> Result<Vec<u8>, CryptoError> {
        const SIGN: CryptoError = CryptoError::Internal("signing");
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match (&self.private, message_type) {
            (PrivateKey::RsaSign(key), _) => {
                let encoding = rsa_encoding(algorithm).ok_or(SIGN)?;
                let mut signature = vec![0; key.public_modulus_len()];
                match message_type {
                    MessageType::Raw => key.sign(encoding, &rng, message, &mut signature),
                    MessageType::Digest => key.sign_digest(
                        encoding,
                        &import_digest(message, algorithm)?,
                        &mut signature,
                    ),
                    MessageType::ExternalMu => return Err(SIGN),
                }
                .map_err(|_| SIGN)?;
                Ok(signature)
            }
            (PrivateKey::Ecdsa(key), MessageType::Raw) => {
                Ok(key.sign(&rng, message).map_err(|_| SIGN)?.as_ref().to_vec())
            }
            (PrivateKey::Ecdsa(key), MessageType::Digest) => Ok(key
                .sign_digest(&import_digest(message, algorithm)?)
                .map_err(|_| SIGN)?
                .as_ref()
                .to_vec()),
            (PrivateKey::Ed25519(key), MessageType::Raw) => {
                Ok(key.try_sign(message).map_err(|_| SIGN)?.as_ref().to_vec())
            }
            (PrivateKey::MlDsa(_, mu), MessageType::ExternalMu) => mu.sign(message),
            (PrivateKey::MlDsa(key, _), MessageType::Raw) => {
                let mut signature = vec![0; key.algorithm().signature_len()];
                let len = key.sign(message, &mut signature).map_err(|_| SIGN)?;
                signature.truncate(len);
                Ok(signature)
            }
            _ => Err(SIGN),
        }
    }

    /// ECDH with a peer's DER SubjectPublicKeyInfo; returns the raw shared secret (the
    /// x-coordinate, as KMS's DeriveSharedSecret).
    pub(crate) fn derive_shared_secret(&self, peer_spki: &[u8]) -> Result<Secret, CryptoError> {
        let PrivateKey::Ecdh(key) = &self.private else {
            return Err(CryptoError::Internal("key agreement"));
        };
        // Only the canonical RFC 5480 form: a named curve (this key's) and an uncompressed
        // point. Every such SubjectPublicKeyInfo of a curve has the same bytes before the
        // point, so compare them with our own; explicit curve parameters, compressed points
        // and other encodings are refused (fail closed; KMS documents DER SPKI only).
        let ours = self.public.der();
        let field_len = match self.public.spec {
            KeySpec::EccNistP256 => 32,
            KeySpec::EccNistP384 => 48,
            _ => 66,
        };
        let point_len = 1 + 2 * field_len;
        let prefix = ours.len().saturating_sub(point_len);
        if peer_spki.len() != ours.len() || peer_spki.get(..prefix) != ours.get(..prefix) {
            return Err(CryptoError::InvalidPublicKey);
        }
        let peer = agreement::ParsedPublicKey::try_from(&agreement::UnparsedPublicKey::new(
            key.algorithm(),
            peer_spki,
        ))
        .map_err(|_| CryptoError::InvalidPublicKey)?;
        // KMS takes the peer key as DER SubjectPublicKeyInfo only, not as a raw point.
        if !matches!(peer.format(), agreement::ParsedPublicKeyFormat::X509) {
            return Err(CryptoError::InvalidPublicKey);
        }
        agreement::agree(key, peer, CryptoError::InvalidPublicKey, |secret| {
            Ok(Secret::from_slice(secret))
        })
    }
}
