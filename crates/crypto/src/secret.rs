//! Secret bytes: zeroized when dropped, never shown by `Debug`.

use zeroize::Zeroizing;

/// Secret bytes (plaintexts, data keys, private keys, shared secrets). The memory is zeroized
/// on drop; `Debug` prints the length only. Read the bytes with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Copies `bytes` into a new secret.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// A secret of `len` random bytes from the library's CSPRNG.
    pub fn random(len: usize) -> Result<Self, crate::CryptoError> {
        let mut secret = Self::new(vec![0; len]);
        aws_lc_rs::rand::fill(secret.0.as_mut_slice())
            .map_err(|_| crate::CryptoError::Internal("random generation"))?;
        Ok(secret)
    }

    /// The secret bytes. Do not log or print them.
    pub fn expose(&self) -> &[u8] {
        self.0.as_slice()
    }

    pub(crate) fn expose_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_the_length_only() {
        let secret = Secret::from_slice(b"hunter2-hunter2");
        let shown = format!("{secret:?} {secret:#?}");
        assert_eq!(shown, "Secret(15 bytes) Secret(15 bytes)");
    }

    #[test]
    fn random_secrets_differ() {
        let a = Secret::random(32).unwrap();
        let b = Secret::random(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
