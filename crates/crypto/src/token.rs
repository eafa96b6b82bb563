//! Keys whose material never leaves a token: a hardware security module (or a software one)
//! that makes, keeps and uses AES-256 keys itself, as the HSM of a KMS custom key store does.
//!
//! [`KeyToken`] is what this library needs of such a token: make a key under a label, say
//! whether it holds one, and seal and open with AES-256-GCM inside itself. [`crate::Pkcs11Token`]
//! is the one this library ships, over any PKCS#11 module. A [`crate::CryptoKey`] made with
//! [`crate::CryptoKey::in_token`] keeps only the token and the label: its ciphertexts have the
//! same format as every other symmetric key's ([`crate::blob`]), the nonce drawn here, the
//! header and the encryption context bound as authenticated data inside the token.

use crate::blob::{self, BlobHeader, NONCE_LEN, TAG_LEN};
use crate::{CryptoError, EncryptionContext, Secret};
use std::sync::Arc;

/// Why a token refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The PKCS#11 module did not load or initialise.
    #[error("the PKCS#11 module {module} does not load: {reason}")]
    Module {
        /// The module's path.
        module: String,
        /// What the loader or `C_Initialize` said.
        reason: String,
    },
    /// No slot holds a token with the label.
    #[error("no token labelled `{0}` in the PKCS#11 module")]
    NoToken(String),
    /// The token refused the PIN.
    #[error("the token `{0}` refused the PIN")]
    WrongPin(String),
    /// The token is locked after too many wrong PINs.
    #[error("the token `{0}` is locked")]
    Locked(String),
    /// The connection was closed ([`KeyToken::disconnect`]).
    #[error("the key's custom key store is not connected (its token `{0}`)")]
    Disconnected(String),
    /// The token holds no key with the label.
    #[error("the key's custom key store holds no key labelled `{0}` in its token")]
    NoKey(String),
    /// The token already holds a key with the label.
    #[error("the token already holds a key labelled `{0}`")]
    KeyExists(String),
    /// A PKCS#11 call failed.
    #[error("{function} failed: {reason}")]
    Call {
        /// The PKCS#11 function.
        function: String,
        /// Its return value, in words.
        reason: String,
    },
}

/// A token that keeps AES-256 keys and uses them inside itself. Implementations must never
/// let the key material out: the library asks only for sealing and opening.
pub trait KeyToken: Send + Sync + std::fmt::Debug {
    /// Makes a new AES-256 key labelled `label` inside the token: kept on the token,
    /// sensitive, never extractable.
    fn create_key(&self, label: &str) -> Result<(), TokenError>;

    /// Whether the token holds a key labelled `label`.
    fn has_key(&self, label: &str) -> Result<bool, TokenError>;

    /// AES-256-GCM with the key labelled `label`: the ciphertext of `plaintext` followed by
    /// its 16-byte tag, `aad` authenticated.
    fn seal(
        &self,
        label: &str,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, TokenError>;

    /// Opens what [`KeyToken::seal`] made. `Ok(None)` when the tag does not verify (a changed
    /// ciphertext, or another key's, or other authenticated data).
    fn open(
        &self,
        label: &str,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Option<Secret>, TokenError>;

    /// Destroys the key labelled `label` (its KMS key was deleted).
    fn destroy_key(&self, label: &str) -> Result<(), TokenError>;

    /// `len` random bytes from the token's generator (GenerateRandom in a key store).
    fn random(&self, len: usize) -> Result<Secret, TokenError>;

    /// Closes the connection: every later call is [`TokenError::Disconnected`].
    fn disconnect(&self);
}

/// A key's material in a token: the token and the key's label in it.
#[derive(Debug, Clone)]
pub(crate) struct TokenKey {
    pub(crate) token: Arc<dyn KeyToken>,
    pub(crate) label: String,
}

/// The one material version of a key in a token: it cannot be rotated or imported.
pub(crate) const TOKEN_VERSION: u32 = 1;

impl TokenKey {
    /// A ciphertext of `plaintext` for the key `key_id`, in the blob format.
    pub(crate) fn seal(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, CryptoError> {
        let mut out = blob::start_blob(key_id, TOKEN_VERSION, plaintext.len())?;
        let nonce = blob::fresh_nonce()?;
        let aad = blob::authenticated_data(&out, context);
        let sealed = self
            .token
            .seal(&self.label, &nonce, &aad, plaintext)
            .map_err(CryptoError::Token)?;
        if sealed.len() != plaintext.len() + TAG_LEN {
            return Err(CryptoError::Internal("a token's AES-GCM output length"));
        }
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plaintext of a ciphertext [`TokenKey::seal`] made.
    pub(crate) fn open(
        &self,
        header: &BlobHeader<'_>,
        context: &EncryptionContext,
    ) -> Result<Secret, CryptoError> {
        if header.material_version != TOKEN_VERSION {
            return Err(CryptoError::InvalidCiphertext);
        }
        let aad = blob::authenticated_data(header.header, context);
        self.token
            .open(&self.label, header.nonce, &aad, header.sealed)
            .map_err(CryptoError::Token)?
            .ok_or(CryptoError::InvalidCiphertext)
    }
}
