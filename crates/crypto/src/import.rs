//! Importing key material: GetParametersForImport and ImportKeyMaterial.
//!
//! [`ImportParameters::generate`] makes an RSA wrapping key pair and an import token for one
//! EXTERNAL key; both are valid for 24 hours. The owner wraps the material with the public key:
//!
//! - `RSAES_OAEP_SHA_1` / `RSAES_OAEP_SHA_256`: the material encrypted directly with
//!   RSAES-OAEP (MGF1 with the same hash). Not for RSA private keys, which are too large.
//! - `RSA_AES_KEY_WRAP_SHA_1` / `RSA_AES_KEY_WRAP_SHA_256` (PKCS #11 `CKM_RSA_AES_KEY_WRAP`): a
//!   fresh 256-bit AES key encrypted with RSAES-OAEP, followed by the material wrapped with that
//!   AES key by AES Key Wrap with Padding (RFC 5649), as `openssl enc -id-aes256-wrap-pad`.
//! - `RSAES_PKCS1_V1_5` is refused, as KMS has since October 2023.
//!
//! [`CryptoKey::import_material`] checks the token, unwraps and installs the material: raw
//! 32 bytes for SYMMETRIC_DEFAULT, raw bytes of the spec's length range for HMAC, a PKCS#8
//! private key for asymmetric specs.

use crate::key::{CryptoKey, Origin};
use crate::spec::{KeySpec, WrappingAlgorithm, WrappingKeySpec};
use crate::{CryptoError, Secret};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::key_wrap::{AES_256, KeyEncryptionKey, KeyWrapPadded};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    PrivateDecryptingKey,
};
use std::time::{Duration, SystemTime};

/// How long a wrapping key and import token are valid.
pub const IMPORT_TOKEN_VALIDITY: Duration = Duration::from_secs(24 * 60 * 60);
pub use crate::limits::MAX_MATERIAL_VALIDITY;

const TOKEN_PREFIX: &[u8] = b"kwit1";
const TOKEN_RANDOM_LEN: usize = 32;

/// What GetParametersForImport returns, and the private half kept to unwrap the import.
/// `Debug` shows no key material.
pub struct ImportParameters {
    key_id: String,
    algorithm: WrappingAlgorithm,
    spec: WrappingKeySpec,
    private: OaepPrivateDecryptingKey,
    public_key: Vec<u8>,
    token: Vec<u8>,
    valid_to: SystemTime,
}

impl std::fmt::Debug for ImportParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportParameters")
            .field("key_id", &self.key_id)
            .field("algorithm", &self.algorithm)
            .field("spec", &self.spec)
            .field("valid_to", &self.valid_to)
            .finish_non_exhaustive()
    }
}

fn oaep(algorithm: WrappingAlgorithm) -> Option<&'static OaepAlgorithm> {
    match algorithm {
        WrappingAlgorithm::RsaesOaepSha1 | WrappingAlgorithm::RsaAesKeyWrapSha1 => {
            Some(&OAEP_SHA1_MGF1SHA1)
        }
        WrappingAlgorithm::RsaesOaepSha256 | WrappingAlgorithm::RsaAesKeyWrapSha256 => {
            Some(&OAEP_SHA256_MGF1SHA256)
        }
        WrappingAlgorithm::RsaesPkcs1V15 => None,
    }
}

const fn is_key_wrap(algorithm: WrappingAlgorithm) -> bool {
    matches!(
        algorithm,
        WrappingAlgorithm::RsaAesKeyWrapSha1 | WrappingAlgorithm::RsaAesKeyWrapSha256
    )
}

impl ImportParameters {
    /// GetParametersForImport for `key`: a new RSA wrapping key pair of `spec` and an import
    /// token, valid for 24 hours from `now`.
    pub fn generate(
        key: &CryptoKey,
        algorithm: WrappingAlgorithm,
        spec: WrappingKeySpec,
        now: SystemTime,
    ) -> Result<Self, CryptoError> {
        if key.origin() != Origin::External {
            return Err(CryptoError::UnsupportedOperation(format!(
                "{} origin is {} which is not valid for this operation.",
                key.name(),
                key.origin().as_str()
            )));
        }
        if algorithm == WrappingAlgorithm::RsaesPkcs1V15 {
            return Err(CryptoError::WrappingNotValid(
                "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported.".into(),
            ));
        }
        let rsa_material = matches!(
            key.spec(),
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096
        );
        if rsa_material && !is_key_wrap(algorithm) {
            return Err(CryptoError::WrappingNotValid(format!(
                "The wrapping algorithm {algorithm} cannot wrap RSA key material; use RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256."
            )));
        }
        if key.spec() == KeySpec::EccNistP521
            && spec == WrappingKeySpec::Rsa2048
            && !is_key_wrap(algorithm)
        {
            return Err(CryptoError::WrappingNotValid(format!(
                "The wrapping algorithm {algorithm} with wrapping key spec RSA_2048 cannot wrap ECC_NIST_P521 key material."
            )));
        }
        let size = match spec {
            WrappingKeySpec::Rsa2048 => KeySize::Rsa2048,
            WrappingKeySpec::Rsa3072 => KeySize::Rsa3072,
            WrappingKeySpec::Rsa4096 => KeySize::Rsa4096,
        };
        const GENERATE: CryptoError = CryptoError::Internal("wrapping key generation");
        let private = PrivateDecryptingKey::generate(size).map_err(|_| GENERATE)?;
        let public_key = private
            .public_key()
            .as_der()
            .map_err(|_| GENERATE)?
            .as_ref()
            .to_vec();
        let private = OaepPrivateDecryptingKey::new(private).map_err(|_| GENERATE)?;
        let random = Secret::random(TOKEN_RANDOM_LEN)?;
        let mut token = Vec::with_capacity(TOKEN_PREFIX.len() + TOKEN_RANDOM_LEN);
        token.extend_from_slice(TOKEN_PREFIX);
        token.extend_from_slice(random.expose());
        Ok(Self {
            key_id: key.id().to_owned(),
            algorithm,
            spec,
            private,
            public_key,
            token,
            valid_to: now
                .checked_add(IMPORT_TOKEN_VALIDITY)
                .ok_or(CryptoError::Internal("import token expiry"))?,
        })
    }

    /// The wrapping public key, DER SubjectPublicKeyInfo.
    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// The import token to send back with the wrapped material.
    pub fn import_token(&self) -> &[u8] {
        &self.token
    }

    /// When the wrapping key and token expire (`ParametersValidTo`).
    pub fn valid_to(&self) -> SystemTime {
        self.valid_to
    }

    /// The `WrappingAlgorithm` the owner must wrap the material with.
    pub fn algorithm(&self) -> WrappingAlgorithm {
        self.algorithm
    }

    /// The `WrappingKeySpec`: the size of the RSA wrapping key.
    pub fn spec(&self) -> WrappingKeySpec {
        self.spec
    }

    /// The ID of the KMS key these parameters import into.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Unwraps `encrypted` as this algorithm describes; any failure is
    /// `InvalidCiphertextException`.
    fn unwrap(&self, encrypted: &[u8]) -> Result<Secret, CryptoError> {
        let oaep = oaep(self.algorithm).ok_or(CryptoError::InvalidCiphertext)?;
        let modulus = self.private.key_size_bytes();
        let (rsa_part, wrapped) = if is_key_wrap(self.algorithm) {
            encrypted
                .split_at_checked(modulus)
                .ok_or(CryptoError::InvalidCiphertext)?
        } else {
            (encrypted, &[][..])
        };
        if rsa_part.len() != modulus {
            return Err(CryptoError::InvalidCiphertext);
        }
        let mut first = Secret::new(vec![0; self.private.min_output_size()]);
        let len = self
            .private
            .decrypt(oaep, rsa_part, first.expose_mut(), None)
            .map_err(|_| CryptoError::InvalidCiphertext)?
            .len();
        first.expose_mut().truncate(len);
        if !is_key_wrap(self.algorithm) {
            return Ok(first);
        }
        aes_kwp_unwrap(&first, wrapped)
    }
}

/// AES Key Wrap with Padding (RFC 5649) under a 256-bit key; `InvalidCiphertextException` on
/// any failure.
pub(crate) fn aes_kwp_unwrap(kek: &Secret, wrapped: &[u8]) -> Result<Secret, CryptoError> {
    if kek.len() != 32 || wrapped.len() < 16 {
        return Err(CryptoError::InvalidCiphertext);
    }
    let kek = KeyEncryptionKey::new(&AES_256, kek.expose())
        .map_err(|_| CryptoError::InvalidCiphertext)?;
    let mut material = Secret::new(vec![0; wrapped.len()]);
    let len = kek
        .unwrap_with_padding(wrapped, material.expose_mut())
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    material.expose_mut().truncate(len);
    Ok(material)
}

/// The expiry of imported material (`ExpirationModel` and `ValidTo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaterialExpiry {
    /// `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    DoesNotExpire,
    /// `KEY_MATERIAL_EXPIRES` with `ValidTo`: after the import, at most 365 days later.
    ExpiresAt(SystemTime),
}

impl CryptoKey {
    /// ImportKeyMaterial: checks the token against `parameters` (same key, not expired),
    /// unwraps the material and installs it. The first import creates version 1; a later
    /// import must bring the same material back (`IncorrectKeyMaterialException` otherwise).
    /// Returns the material version.
    pub fn import_material(
        &mut self,
        parameters: &ImportParameters,
        import_token: &[u8],
        encrypted_key_material: &[u8],
        expiry: MaterialExpiry,
        now: SystemTime,
    ) -> Result<u32, CryptoError> {
        let (material, expires_at) = self.unwrap_import(
            parameters,
            import_token,
            encrypted_key_material,
            expiry,
            now,
        )?;
        self.add_imported(material, expires_at)
    }

    /// ImportKeyMaterial with `ImportType = NEW_KEY_MATERIAL`: as
    /// [`import_material`](Self::import_material), but the material is new: the first becomes
    /// current, a later one waits for RotateKeyOnDemand ([`CryptoKey::rotate_to_pending`]).
    /// Symmetric encryption keys only. Returns the material version.
    pub fn import_new_material(
        &mut self,
        parameters: &ImportParameters,
        import_token: &[u8],
        encrypted_key_material: &[u8],
        expiry: MaterialExpiry,
        now: SystemTime,
    ) -> Result<u32, CryptoError> {
        let (material, expires_at) = self.unwrap_import(
            parameters,
            import_token,
            encrypted_key_material,
            expiry,
            now,
        )?;
        self.add_new_imported(material, expires_at)
    }

    /// Checks the token and the expiry, and unwraps the material.
    fn unwrap_import(
        &self,
        parameters: &ImportParameters,
        import_token: &[u8],
        encrypted_key_material: &[u8],
        expiry: MaterialExpiry,
        now: SystemTime,
    ) -> Result<(Secret, Option<SystemTime>), CryptoError> {
        let token_matches =
            aws_lc_rs::constant_time::verify_slices_are_equal(import_token, &parameters.token)
                .is_ok();
        if !token_matches || parameters.key_id != self.id() {
            return Err(CryptoError::InvalidImportToken);
        }
        if now > parameters.valid_to {
            return Err(CryptoError::ExpiredImportToken);
        }
        let expires_at = match expiry {
            MaterialExpiry::DoesNotExpire => None,
            MaterialExpiry::ExpiresAt(at) => {
                let latest = now.checked_add(MAX_MATERIAL_VALIDITY);
                if at <= now || latest.is_none_or(|latest| at > latest) {
                    return Err(CryptoError::WrappingNotValid(
                        "ValidTo must be in the future and at most 365 days from now.".into(),
                    ));
                }
                Some(at)
            }
        };
        let material = parameters.unwrap(encrypted_key_material)?;
        Ok((material, expires_at))
    }
}
