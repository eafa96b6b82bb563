//! The limits KMS sets on the inputs and state of a key, in one place: every module that checks
//! one reads it from here (AWS KMS API Reference, the length constraints of each request
//! parameter; AWS KMS Developer Guide, "Importing key material").

use std::time::Duration;

/// The most bytes Encrypt, Sign, Verify, GenerateMac and VerifyMac take (`Plaintext`,
/// `Message`: 1–4,096 bytes).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// `Signature` and `Mac`: 1–6,144 bytes.
pub const MAX_SIGNATURE_LEN: usize = 6144;
/// `DeriveSharedSecret.PublicKey`: 1–8,192 bytes.
pub const MAX_PEER_KEY_LEN: usize = 8192;
/// `NumberOfBytes` of GenerateDataKey and GenerateRandom: 1–1,024.
pub const MAX_RANDOM_BYTES: u64 = 1024;
/// The largest ciphertext blob KMS accepts (`CiphertextBlob`: 1–6,144 bytes).
pub const MAX_BLOB_LEN: usize = 6144;
/// The longest key ID a blob can carry.
pub const MAX_KEY_ID_LEN: usize = 255;
/// The most versions one key's material may have (each rotation adds one); a sealed key
/// carrying more is corrupt.
pub const MAX_VERSIONS: usize = 10_000;
/// The latest `ValidTo` KMS accepts: 365 days after the import.
pub const MAX_MATERIAL_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);
