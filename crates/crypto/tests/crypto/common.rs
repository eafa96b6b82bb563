//! Set-up the crypto tests share.

use keyward_crypto::{CryptoKey, KeySpec, KeyUsage};
use std::sync::{Mutex, OnceLock};

/// Asymmetric keys are slow to generate in debug builds: one per (spec, usage), shared.
pub(crate) fn shared(spec: KeySpec, usage: KeyUsage) -> &'static CryptoKey {
    static KEYS: OnceLock<Mutex<Vec<&'static CryptoKey>>> = OnceLock::new();
    let keys = KEYS.get_or_init(Default::default);
    let mut keys = keys.lock().unwrap();
    if let Some(key) = keys.iter().find(|k| k.spec() == spec && k.usage() == usage) {
        return key;
    }
    let key: &'static CryptoKey = Box::leak(Box::new(
        CryptoKey::generate(format!("{spec}-{usage}"), spec, usage).unwrap(),
    ));
    keys.push(key);
    key
}
