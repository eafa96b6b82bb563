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
//!
//! Secrets ([`Secret`], key material) are zeroized when dropped and never shown by `Debug`.

mod asymmetric;
pub mod blob;
mod context;
mod error;
pub mod import;
mod key;
#[cfg(test)]
mod known_answers;
mod material;
mod secret;
pub mod spec;

pub use asymmetric::PublicKey;
pub use blob::ciphertext_key_id;
pub use context::EncryptionContext;
pub use error::CryptoError;
pub use import::{ImportParameters, MaterialExpiry};
pub use key::{
    CryptoKey, DataKey, DataKeyLength, DataKeyPair, DataKeyPairWithoutPlaintext, MAX_MESSAGE_LEN,
    Origin, generate_random,
};
pub use material::{MaterialInfo, MaterialOrigin};
pub use secret::Secret;
pub use spec::{
    DataKeyPairSpec, DataKeySpec, EncryptionAlgorithm, KeyAgreementAlgorithm, KeySpec, KeyUsage,
    MacAlgorithm, MessageType, Operation, SigningAlgorithm, WrappingAlgorithm, WrappingKeySpec,
};
