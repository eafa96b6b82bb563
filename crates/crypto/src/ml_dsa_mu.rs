//! ML-DSA signing and verification of an externally computed μ (KMS's `EXTERNAL_MU` message
//! type, FIPS 204 section 6.2), which aws-lc-rs does not expose: RustCrypto's `ml-dsa`, on the
//! same key. Every other ML-DSA operation is aws-lc-rs's.
//!
//! The key is the one aws-lc-rs generated and stored as PKCS#8 in its seed form (FIPS 204's
//! 32-byte ξ, from which every implementation expands the same key): `ml-dsa` reads the seed
//! from it and expands it again. The tests check that both give the same public key, and that
//! each verifies what the other signs.

use crate::CryptoError;
use crate::spec::KeySpec;
use ml_dsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ml_dsa::{ExpandedSigningKey, MlDsa44, MlDsa65, MlDsa87, MlDsaParams, Signature};
use ml_dsa::{SigningKey, VerifyingKey};

/// The length of μ.
pub(crate) const MU_LEN: usize = 64;

/// The system's random source as `ml-dsa` takes one: aws-lc-rs's.
struct SystemRandom;

impl rand_core::TryRng for SystemRandom {
    type Error = aws_lc_rs::error::Unspecified;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0u8; 4];
        aws_lc_rs::rand::fill(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0u8; 8];
        aws_lc_rs::rand::fill(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        aws_lc_rs::rand::fill(dst)
    }
}

impl rand_core::TryCryptoRng for SystemRandom {}

/// The private key, expanded, per parameter set (zeroized on drop by `ml-dsa`).
pub(crate) enum MuSigner {
    MlDsa44(Box<ExpandedSigningKey<MlDsa44>>),
    MlDsa65(Box<ExpandedSigningKey<MlDsa65>>),
    MlDsa87(Box<ExpandedSigningKey<MlDsa87>>),
}

/// The public key, per parameter set.
pub(crate) enum MuVerifier {
    MlDsa44(Box<VerifyingKey<MlDsa44>>),
    MlDsa65(Box<VerifyingKey<MlDsa65>>),
    MlDsa87(Box<VerifyingKey<MlDsa87>>),
}

fn expand<P: MlDsaParams>(pkcs8: &[u8]) -> Option<Box<ExpandedSigningKey<P>>>
where
    SigningKey<P>: DecodePrivateKey,
{
    let key = SigningKey::<P>::from_pkcs8_der(pkcs8).ok()?;
    Some(Box::new(ExpandedSigningKey::from_seed(&key.to_seed())))
}

fn sign<P: MlDsaParams>(key: &ExpandedSigningKey<P>, mu: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mu: &[u8; MU_LEN] = mu.try_into().map_err(|_| length_error())?;
    key.sign_mu_randomized(&(*mu).into(), &mut SystemRandom)
        .map(|signature| signature.encode().to_vec())
        .map_err(|_| CryptoError::Internal("ML-DSA signing of an external mu"))
}

fn verify<P: MlDsaParams>(key: &VerifyingKey<P>, mu: &[u8], signature: &[u8]) -> bool {
    let (Ok(mu), Ok(signature)) = (
        <&[u8; MU_LEN]>::try_from(mu),
        Signature::<P>::try_from(signature),
    ) else {
        return false;
    };
    key.verify_mu(&(*mu).into(), &signature)
}

fn length_error() -> CryptoError {
    CryptoError::DigestLength {
        algorithm: "ML_DSA_SHAKE_256",
    }
}

impl MuSigner {
    /// The signer of the key whose PKCS#8 (seed form) is `pkcs8`; `None` for another spec or
    /// material `ml-dsa` does not read.
    pub(crate) fn from_pkcs8(spec: KeySpec, pkcs8: &[u8]) -> Option<Self> {
        Some(match spec {
            KeySpec::MlDsa44 => Self::MlDsa44(expand(pkcs8)?),
            KeySpec::MlDsa65 => Self::MlDsa65(expand(pkcs8)?),
            KeySpec::MlDsa87 => Self::MlDsa87(expand(pkcs8)?),
            _ => return None,
        })
    }

    /// A hedged signature of μ (64 bytes).
    pub(crate) fn sign(&self, mu: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self {
            Self::MlDsa44(key) => sign(key, mu),
            Self::MlDsa65(key) => sign(key, mu),
            Self::MlDsa87(key) => sign(key, mu),
        }
    }
}

impl MuVerifier {
    /// The verifier of a DER SubjectPublicKeyInfo of `spec`; `None` for another spec or a key
    /// that does not parse.
    pub(crate) fn from_der(spec: KeySpec, der: &[u8]) -> Option<Self> {
        Some(match spec {
            KeySpec::MlDsa44 => {
                Self::MlDsa44(Box::new(VerifyingKey::from_public_key_der(der).ok()?))
            }
            KeySpec::MlDsa65 => {
                Self::MlDsa65(Box::new(VerifyingKey::from_public_key_der(der).ok()?))
            }
            KeySpec::MlDsa87 => {
                Self::MlDsa87(Box::new(VerifyingKey::from_public_key_der(der).ok()?))
            }
            _ => return None,
        })
    }

    /// Whether `signature` is one of μ (64 bytes).
    pub(crate) fn verify(&self, mu: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::MlDsa44(key) => verify(key, mu, signature),
            Self::MlDsa65(key) => verify(key, mu, signature),
            Self::MlDsa87(key) => verify(key, mu, signature),
        }
    }
}
