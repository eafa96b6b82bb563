//! The symmetric ciphertext format.
//!
//! ```text
//! offset  size  field
//! 0       1     format version (1)
//! 1       1     key ID length L (1..=255)
//! 2       L     key ID (UTF-8)
//! 2+L     4     key-material version, u32 big-endian (1 = the first material)
//! 6+L     4     CRC-32 of bytes 0..6+L
//! 10+L    12    AES-GCM nonce (random)
//! 22+L    n     AES-256-GCM ciphertext of the plaintext
//! 22+L+n  16    AES-GCM tag
//! ```
//!
//! The authenticated data is bytes `0..10+L` followed by the canonical encoding of the
//! encryption context ([`crate::EncryptionContext`]), so the key ID, the version and the context
//! are all bound to the ciphertext. The CRC makes any change to the header an
//! `InvalidCiphertextException` before a key is looked up: without it, a flipped byte in the key
//! ID would name another key and read as `IncorrectKeyException`. (CRC-32 detects every error
//! burst of up to 32 bits, so every single changed byte.) Decrypt needs no KeyId: the header
//! names the key and the material version, so ciphertexts decrypt after rotation.

use crate::CryptoError;

/// Format version written by this library.
pub const FORMAT_VERSION: u8 = 1;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
pub use crate::limits::{MAX_BLOB_LEN, MAX_KEY_ID_LEN};

/// The parsed, checked header of a symmetric ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobHeader<'a> {
    /// The ID of the key that made the ciphertext.
    pub key_id: &'a str,
    /// The key-material version that made it.
    pub material_version: u32,
    /// The header bytes (authenticated data, first part).
    pub(crate) header: &'a [u8],
    pub(crate) nonce: &'a [u8; NONCE_LEN],
    /// Ciphertext followed by the tag.
    pub(crate) sealed: &'a [u8],
}

impl<'a> BlobHeader<'a> {
    /// Parses and checks a blob's header. Any malformation is `InvalidCiphertextException`.
    pub fn parse(blob: &'a [u8]) -> Result<Self, CryptoError> {
        if blob.len() > MAX_BLOB_LEN {
            return Err(CryptoError::InvalidCiphertext);
        }
        let (&version, rest) = blob.split_first().ok_or(CryptoError::InvalidCiphertext)?;
        if version != FORMAT_VERSION {
            return Err(CryptoError::InvalidCiphertext);
        }
        let (&id_len, rest) = rest.split_first().ok_or(CryptoError::InvalidCiphertext)?;
        let id_len = usize::from(id_len);
        if id_len == 0 {
            return Err(CryptoError::InvalidCiphertext);
        }
        let (id, rest) = rest
            .split_at_checked(id_len)
            .ok_or(CryptoError::InvalidCiphertext)?;
        let (material_version, rest) = rest
            .split_first_chunk::<4>()
            .ok_or(CryptoError::InvalidCiphertext)?;
        let (crc, rest) = rest
            .split_first_chunk::<4>()
            .ok_or(CryptoError::InvalidCiphertext)?;
        let checked_len = 2 + id_len + 4;
        let checked = blob
            .get(..checked_len)
            .ok_or(CryptoError::InvalidCiphertext)?;
        if crc32fast::hash(checked).to_be_bytes() != *crc {
            return Err(CryptoError::InvalidCiphertext);
        }
        let (nonce, sealed) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(CryptoError::InvalidCiphertext)?;
        if sealed.len() < TAG_LEN {
            return Err(CryptoError::InvalidCiphertext);
        }
        let key_id = std::str::from_utf8(id).map_err(|_| CryptoError::InvalidCiphertext)?;
        let header = blob
            .get(..checked_len + 4)
            .ok_or(CryptoError::InvalidCiphertext)?;
        Ok(Self {
            key_id,
            material_version: u32::from_be_bytes(*material_version),
            header,
            nonce,
            sealed,
        })
    }
}

/// Writes a blob header for `key_id` and `material_version` into a new buffer with room for
/// `plaintext_len` more bytes of nonce, ciphertext and tag. Returns the buffer and the header
/// length.
pub(crate) fn start_blob(
    key_id: &str,
    material_version: u32,
    plaintext_len: usize,
) -> Result<Vec<u8>, CryptoError> {
    let id = key_id.as_bytes();
    let id_len = u8::try_from(id.len())
        .ok()
        .filter(|len| *len > 0)
        .ok_or(CryptoError::Internal("key ID length"))?;
    let mut blob = Vec::with_capacity(10 + id.len() + NONCE_LEN + plaintext_len + TAG_LEN);
    blob.push(FORMAT_VERSION);
    blob.push(id_len);
    blob.extend_from_slice(id);
    blob.extend_from_slice(&material_version.to_be_bytes());
    let crc = crc32fast::hash(&blob);
    blob.extend_from_slice(&crc.to_be_bytes());
    Ok(blob)
}

/// The authenticated data of a blob whose header is `header`: the header, then the canonical
/// encoding of `context`.
pub(crate) fn authenticated_data(header: &[u8], context: &crate::EncryptionContext) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 4 + 64);
    aad.extend_from_slice(header);
    context.write_canonical(&mut aad);
    aad
}

/// A fresh random AES-GCM nonce for a new blob.
pub(crate) fn fresh_nonce() -> Result<[u8; NONCE_LEN], CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| CryptoError::Internal("nonce"))?;
    Ok(nonce)
}

/// Reads the key ID a ciphertext names, checking its header; how Decrypt without a KeyId finds
/// the key.
pub fn ciphertext_key_id(blob: &[u8]) -> Result<&str, CryptoError> {
    BlobHeader::parse(blob).map(|header| header.key_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut blob = start_blob("1234abcd-12ab-34cd-56ef-1234567890ab", 3, 5).unwrap();
        blob.extend_from_slice(&[7; NONCE_LEN]);
        blob.extend_from_slice(&[9; 5 + TAG_LEN]);
        blob
    }

    #[test]
    fn header_round_trip() {
        let blob = sample();
        let header = BlobHeader::parse(&blob).unwrap();
        assert_eq!(header.key_id, "1234abcd-12ab-34cd-56ef-1234567890ab");
        assert_eq!(header.material_version, 3);
        assert_eq!(header.nonce, &[7; NONCE_LEN]);
        assert_eq!(header.sealed.len(), 5 + TAG_LEN);
        assert_eq!(header.header.len(), 2 + 36 + 8);
    }

    #[test]
    fn every_header_byte_is_checked() {
        let blob = sample();
        let header_len = BlobHeader::parse(&blob).unwrap().header.len();
        for index in 0..header_len {
            for flip in [0x01, 0x80, 0xff] {
                let mut changed = blob.clone();
                changed[index] ^= flip;
                assert_eq!(
                    BlobHeader::parse(&changed),
                    Err(CryptoError::InvalidCiphertext),
                    "byte {index} ^ {flip:#x}"
                );
            }
        }
    }

    #[test]
    fn truncations_are_invalid_where_the_header_or_tag_is_cut() {
        let blob = sample();
        let minimum = 10 + 36 + NONCE_LEN + TAG_LEN;
        for len in 0..minimum {
            assert_eq!(
                BlobHeader::parse(&blob[..len]),
                Err(CryptoError::InvalidCiphertext)
            );
        }
        assert!(BlobHeader::parse(&blob[..minimum]).is_ok());
    }

    #[test]
    fn oversized_blobs_and_bad_ids_are_refused() {
        let mut blob = sample();
        blob.resize(MAX_BLOB_LEN + 1, 0);
        assert_eq!(
            BlobHeader::parse(&blob),
            Err(CryptoError::InvalidCiphertext)
        );
        assert!(start_blob("", 1, 0).is_err());
        assert!(start_blob(&"k".repeat(256), 1, 0).is_err());
        assert!(start_blob(&"k".repeat(255), 1, 0).is_ok());
    }
}
