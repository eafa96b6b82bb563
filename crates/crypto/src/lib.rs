//! The crypto core of Keyward: every KMS key spec and operation, performed for real with
//! [aws-lc-rs](https://docs.rs/aws-lc-rs). It knows nothing of policies: the key service
//! authorizes each operation, then calls this crate.
//!
//! - [`spec`]: key specs, usages, algorithms, and the one table of which spec allows what.
//! - [`CryptoKey`]: a key's material (versions, rotation, import, deletion) and its operations:
//!   Encrypt/Decrypt/ReEncrypt, data keys and data key pairs, Sign/Verify, GetPublicKey,
//!   GenerateMac/VerifyMac, DeriveSharedSecret. [`generate_random`] is GenerateRandom.
//! - [`blob`]: the symmetric ciphertext format (key ID and material version inside, the
//!   encryption context bound as authenticated data by [`EncryptionContext`]'s canonical
//!   encoding).
//! - [`import`]: wrapping keys, import tokens, unwrapping imported material.
//! - [`CryptoError`]: each error with its KMS code and AWS's message.
//! - [`limits`]: the limits KMS sets on inputs (message, signature, blob lengths) and on a
//!   key's versions.
//! - [`KeyToken`]: keys whose material never leaves a token (a custom key store's HSM), and
//!   [`Pkcs11Token`], such a token over any PKCS#11 module.
//!
//! A key in a token (a custom key store's HSM), over any PKCS#11 module:
//!
//! ```no_run
//! use keyward_crypto::*;
//! use std::sync::Arc;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pin = Secret::from_slice(b"user-pin");
//! let token = Pkcs11Token::connect("/usr/lib/softhsm/libsofthsm2.so".as_ref(), "keyward", &pin)?;
//! // Sensitive and never extractable: the token says so, and refuses its value.
//! let token = Arc::new(token);
//! let key = CryptoKey::in_token("0b6e7f2a-6a44-4c8e-9a1b-5d3c2e1f0a99", token.clone())?;
//! assert!(!token.key_protection(key.id())?.extractable);
//! assert!(token.key_value(key.id())?.is_none());
//! let blob = key.encrypt(b"secret", &EncryptionContext::new(), EncryptionAlgorithm::SymmetricDefault)?;
//! // After a restart, the same key by its label:
//! let again = CryptoKey::from_token(key.id(), token)?;
//! assert_eq!(again.decrypt(&blob, &EncryptionContext::new(), EncryptionAlgorithm::SymmetricDefault)?.expose(), b"secret");
//! # Ok(())
//! # }
//! ```
//!
//! Secrets ([`Secret`], key material) are zeroized when dropped and never shown by `Debug`.
//!
//! ```
//! use keyward_crypto::*;
//! # fn main() -> Result<(), CryptoError> {
//! let key = CryptoKey::generate("1234abcd-12ab-34cd-56ef-1234567890ab",
//!                               KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt)?;
//! let context = EncryptionContext::new().with("tenant", "acme");
//! let blob = key.encrypt(b"secret", &context, EncryptionAlgorithm::SymmetricDefault)?;
//! assert_eq!(ciphertext_key_id(&blob)?, key.id());        // Decrypt needs no KeyId
//! let plain = key.decrypt(&blob, &context, EncryptionAlgorithm::SymmetricDefault)?;
//! assert_eq!(plain.expose(), b"secret");                    // `Secret`: zeroized on drop
//!
//! let signer = CryptoKey::generate("signer", KeySpec::EccNistP256, KeyUsage::SignVerify)?;
//! let error = signer.encrypt(b"x", &context, EncryptionAlgorithm::SymmetricDefault).unwrap_err();
//! assert_eq!(error.code(), "InvalidKeyUsageException");
//! assert_eq!(error.to_string(), "signer key usage is SIGN_VERIFY which is not valid for Encrypt.");
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod asymmetric;
pub mod blob;
mod context;
mod error;
pub mod import;
mod key;
#[cfg(test)]
mod known_answers;
pub mod limits;
mod material;
mod ml_dsa_mu;
mod pkcs11;
mod seal;
mod secret;
#[cfg(feature = "softhsm-fixture")]
pub mod softhsm;
pub mod spec;
mod token;

pub use asymmetric::PublicKey;
pub use blob::ciphertext_key_id;
pub use context::EncryptionContext;
pub use error::{CryptoError, ErrorKind};
pub use import::{ImportParameters, MaterialExpiry};
pub use key::{
    CryptoKey, DataKey, DataKeyLength, DataKeyPair, DataKeyPairWithoutPlaintext, Origin,
    generate_random,
};
pub use limits::MAX_MESSAGE_LEN;
pub use material::{MaterialInfo, MaterialOrigin};
pub use pkcs11::{KeyProtection, Pkcs11Token};
pub use seal::{RecordKey, RootKey, RootKeyError};
pub use secret::Secret;
pub use spec::{
    DataKeyPairSpec, DataKeySpec, EncryptionAlgorithm, KeyAgreementAlgorithm, KeySpec, KeyUsage,
    MacAlgorithm, MessageType, Operation, SigningAlgorithm, WrappingAlgorithm, WrappingKeySpec,
};
pub use token::{KeyToken, TokenError};
