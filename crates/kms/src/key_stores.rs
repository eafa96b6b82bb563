//! Custom key stores: keys whose material never leaves a PKCS#11 token (a CloudHSM key store,
//! for KMS). Each store is defined in the configuration ([`KeyStoreConfig`]): its ID and name,
//! the PKCS#11 module, the token's label (what AWS calls the cluster) and the token's user
//! PIN (AWS's `kmsuser` password). The service connects every store when it opens;
//! ConnectCustomKeyStore and DisconnectCustomKeyStore move it between the connection states
//! AWS names, and a key of a store that is not connected answers as AWS does.
//!
//! Every key of a store holds the store's `StoreToken`, which stands for the token whether
//! or not it is connected: connecting swaps the token in, disconnecting takes it out, and the
//! keys need not change.

pub use keyward_crypto::Secret;
use keyward_crypto::blob::NONCE_LEN;
use keyward_crypto::{KeyToken, Pkcs11Token, TokenError};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// A custom key store as the configuration defines it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyStoreConfig {
    /// `cks-` and 17 hexadecimal digits.
    pub id: String,
    /// Its name, unique among the stores.
    pub name: String,
    /// The PKCS#11 module: a path, or a file name the loader finds.
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The token's user PIN.
    pub pin: Secret,
}

impl std::fmt::Debug for KeyStoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStoreConfig")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .finish_non_exhaustive()
    }
}

/// Whether `id` has the shape of a custom key store ID: `cks-` and 17 hexadecimal digits.
pub fn is_key_store_id(id: &str) -> bool {
    id.strip_prefix("cks-")
        .is_some_and(|hex| hex.len() == 17 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A custom key store's `ConnectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Connected: its keys are usable.
    Connected,
    /// Logging in to its token.
    Connecting,
    /// Not connected.
    Disconnected,
    /// The last connection attempt failed (DescribeCustomKeyStores's `ConnectionErrorCode`
    /// says why).
    Failed,
}

impl ConnectionState {
    /// The API's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "CONNECTED",
            Self::Connecting => "CONNECTING",
            Self::Disconnected => "DISCONNECTED",
            Self::Failed => "FAILED",
        }
    }
}

/// The `ConnectionErrorCode` AWS gives a failed connection, for what the token said.
fn error_code(error: &TokenError) -> &'static str {
    match error {
        TokenError::WrongPin(_) => "INVALID_CREDENTIALS",
        TokenError::Locked(_) => "USER_LOCKED_OUT",
        TokenError::NoToken(_) => "CLUSTER_NOT_FOUND",
        _ => "INTERNAL_ERROR",
    }
}

/// A store's connection, as DescribeCustomKeyStores reports it.
#[derive(Debug, Clone, Copy)]
struct Connection {
    state: ConnectionState,
    error: Option<&'static str>,
}

/// Where a custom key store comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The configuration's `[[key_stores]]`: calls do not change it.
    Configuration,
    /// CreateCustomKeyStore: stored, with its trust anchor certificate.
    Registered {
        /// `TrustAnchorCertificate`, as given.
        trust_anchor: String,
    },
}

/// One custom key store of the service.
#[derive(Debug)]
pub(crate) struct KeyStore {
    pub(crate) config: KeyStoreConfig,
    pub(crate) origin: Origin,
    /// When it was created, or when the service first knew it (epoch seconds).
    pub(crate) created: u64,
    /// Shared with the store's updated selves ([`KeyStore::with_config`]): one state.
    connection: Arc<Mutex<Connection>>,
    pub(crate) token: Arc<StoreToken>,
}

impl KeyStore {
    pub(crate) fn new(config: KeyStoreConfig, origin: Origin, created: u64) -> Self {
        let token = Arc::new(StoreToken {
            label: config.token_label.clone(),
            inner: RwLock::new(None),
        });
        Self {
            config,
            origin,
            created,
            connection: Arc::new(Mutex::new(Connection {
                state: ConnectionState::Disconnected,
                error: None,
            })),
            token,
        }
    }

    /// The same store with `config` (UpdateCustomKeyStore): its connection state and its
    /// token, which its keys hold, shared.
    pub(crate) fn with_config(&self, config: KeyStoreConfig) -> Self {
        Self {
            config,
            origin: self.origin.clone(),
            created: self.created,
            connection: Arc::clone(&self.connection),
            token: Arc::clone(&self.token),
        }
    }

    /// Its connection state.
    pub(crate) fn state(&self) -> ConnectionState {
        self.connection
            .lock()
            .map_or(ConnectionState::Failed, |c| c.state)
    }

    /// Why the last connection failed, while it is [`ConnectionState::Failed`].
    pub(crate) fn error_code(&self) -> Option<&'static str> {
        self.connection.lock().ok().and_then(|c| c.error)
    }

    /// Connects to the token: [`ConnectionState::Connected`], or [`ConnectionState::Failed`]
    /// with the reason (the error is returned too, for the operator's log).
    pub(crate) fn connect(&self) -> Result<(), TokenError> {
        // CONNECTING while the token is logged in to (a slow HSM takes its time).
        if let Ok(mut connection) = self.connection.lock() {
            *connection = Connection {
                state: ConnectionState::Connecting,
                error: None,
            };
        }
        let outcome = Pkcs11Token::connect(
            &self.config.module,
            &self.config.token_label,
            &self.config.pin,
        );
        let mut connection = self.connection.lock().map_err(|_| TokenError::Call {
            function: "connect".into(),
            reason: "a panic while the store's state was held".into(),
        })?;
        match outcome {
            Ok(token) => {
                if let Ok(mut inner) = self.token.inner.write() {
                    *inner = Some(Arc::new(token));
                }
                *connection = Connection {
                    state: ConnectionState::Connected,
                    error: None,
                };
                Ok(())
            }
            Err(e) => {
                *connection = Connection {
                    state: ConnectionState::Failed,
                    error: Some(error_code(&e)),
                };
                Err(e)
            }
        }
    }

    /// Disconnects from the token: its keys refuse every operation until it connects again.
    pub(crate) fn disconnect(&self) {
        let taken = self.token.inner.write().ok().and_then(|mut t| t.take());
        if let Some(token) = taken {
            token.disconnect();
        }
        if let Ok(mut connection) = self.connection.lock() {
            *connection = Connection {
                state: ConnectionState::Disconnected,
                error: None,
            };
        }
    }
}

/// A store registered at run time, as its row keeps it (the PIN sealed under the root key,
/// bound to the store's ID).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct KeyStoreRecord {
    pub(crate) name: String,
    pub(crate) token_label: String,
    pub(crate) trust_anchor: String,
    pub(crate) created: u64,
    /// Whether it is to be connected when the service opens (it was when last changed).
    pub(crate) connected: bool,
    /// The PIN, sealed: base64 of a ciphertext of the PIN key ([`pin_key`]).
    pub(crate) pin: String,
}

/// The key that seals registered stores' PINs: derived from the root key, never stored.
pub(crate) fn pin_key(
    root: &keyward_crypto::RootKey,
) -> Result<keyward_crypto::CryptoKey, keyward_crypto::CryptoError> {
    keyward_crypto::CryptoKey::from_material(
        "keyward-key-store-pins",
        keyward_crypto::KeySpec::SymmetricDefault,
        keyward_crypto::KeyUsage::EncryptDecrypt,
        Secret::from_slice(&root.derive(b"keyward key store PINs v1")),
    )
}

/// The encryption context a store's PIN is sealed with: its ID.
pub(crate) fn pin_context(id: &str) -> keyward_crypto::EncryptionContext {
    keyward_crypto::EncryptionContext::new().with("customKeyStoreId", id)
}

/// The most custom key stores of an account and Region (AWS's quota, not adjustable).
pub(crate) const MAX_KEY_STORES: usize = 10;

/// The custom key stores of a service: the configuration's, then those registered at run time.
#[derive(Debug, Default)]
pub(crate) struct KeyStores {
    stores: RwLock<Vec<Arc<KeyStore>>>,
}

impl KeyStores {
    /// The stores of `configs`, not connected yet.
    pub(crate) fn new(configs: &[KeyStoreConfig], now: u64) -> Self {
        Self {
            stores: RwLock::new(
                configs
                    .iter()
                    .map(|c| Arc::new(KeyStore::new(c.clone(), Origin::Configuration, now)))
                    .collect(),
            ),
        }
    }

    /// Every store.
    pub(crate) fn all(&self) -> Vec<Arc<KeyStore>> {
        self.stores.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// The store with ID `id`.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<KeyStore>> {
        self.stores
            .read()
            .ok()?
            .iter()
            .find(|s| s.config.id == id)
            .cloned()
    }

    /// Adds `store`, or puts it in the place of the store of its ID.
    pub(crate) fn put(&self, store: Arc<KeyStore>) {
        if let Ok(mut stores) = self.stores.write() {
            match stores.iter_mut().find(|s| s.config.id == store.config.id) {
                Some(slot) => *slot = store,
                None => stores.push(store),
            }
        }
    }

    /// What the audit record of a call on a key of store `id` adds (CloudTrail's
    /// `additionalEventData` of a CloudHSM key store's key).
    pub(crate) fn event_data(&self, id: &str) -> serde_json::Value {
        serde_json::json!({
            "customKeyStoreId": id,
            "clusterId": self.get(id).map(|s| s.config.token_label.clone()),
        })
    }

    /// Removes the store with ID `id`.
    pub(crate) fn remove(&self, id: &str) {
        if let Ok(mut stores) = self.stores.write() {
            stores.retain(|s| s.config.id != id);
        }
    }
}

/// A store's token, connected or not: what its keys hold.
#[derive(Debug)]
pub(crate) struct StoreToken {
    label: String,
    inner: RwLock<Option<Arc<Pkcs11Token>>>,
}

impl StoreToken {
    /// The connected token, or why there is none.
    fn connected(&self) -> Result<Arc<Pkcs11Token>, TokenError> {
        self.inner
            .read()
            .ok()
            .and_then(|t| t.clone())
            .ok_or_else(|| TokenError::Disconnected(self.label.clone()))
    }
}

impl KeyToken for StoreToken {
    fn create_key(&self, label: &str) -> Result<(), TokenError> {
        self.connected()?.create_key(label)
    }

    fn has_key(&self, label: &str) -> Result<bool, TokenError> {
        self.connected()?.has_key(label)
    }

    fn seal(
        &self,
        label: &str,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, TokenError> {
        self.connected()?.seal(label, nonce, aad, plaintext)
    }

    fn open(
        &self,
        label: &str,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Option<Secret>, TokenError> {
        self.connected()?.open(label, nonce, aad, sealed)
    }

    fn destroy_key(&self, label: &str) -> Result<(), TokenError> {
        self.connected()?.destroy_key(label)
    }

    fn random(&self, len: usize) -> Result<Secret, TokenError> {
        self.connected()?.random(len)
    }

    fn disconnect(&self) {
        if let Some(token) = self.inner.write().ok().and_then(|mut t| t.take()) {
            token.disconnect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_store_id_is_cks_and_17_hexadecimal_digits() {
        assert!(is_key_store_id("cks-1234567890abcdef0"));
        for not in [
            "cks-1234567890abcdef",
            "cks-1234567890abcdef01",
            "cks-1234567890abcdefg",
            "xks-1234567890abcdef0",
            "1234567890abcdef0",
        ] {
            assert!(!is_key_store_id(not), "{not}");
        }
    }

    #[test]
    fn a_store_that_never_connected_refuses_with_disconnected() {
        let store = KeyStore::new(
            KeyStoreConfig {
                id: "cks-1234567890abcdef0".into(),
                name: "hsm".into(),
                module: "/nonexistent/module.so".into(),
                token_label: "keyward".into(),
                pin: Secret::from_slice(b"1234"),
            },
            Origin::Configuration,
            0,
        );
        assert_eq!(store.state(), ConnectionState::Disconnected);
        assert_eq!(
            store.token.has_key("k"),
            Err(TokenError::Disconnected("keyward".into()))
        );
        // A module that does not load: FAILED, with the code AWS gives an internal error.
        assert!(store.connect().is_err());
        assert_eq!(store.state(), ConnectionState::Failed);
        assert_eq!(store.error_code(), Some("INTERNAL_ERROR"));
        store.disconnect();
        assert_eq!(store.state(), ConnectionState::Disconnected);
        assert_eq!(store.error_code(), None);
    }

    #[test]
    fn the_pin_is_never_shown() {
        let config = KeyStoreConfig {
            id: "cks-1234567890abcdef0".into(),
            name: "hsm".into(),
            module: "m.so".into(),
            token_label: "t".into(),
            pin: Secret::from_slice(b"very-secret-pin"),
        };
        assert!(!format!("{config:?}").contains("very-secret-pin"));
    }
}
