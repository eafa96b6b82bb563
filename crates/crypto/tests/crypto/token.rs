//! Keys in a token (issue 22): AES-256 keys made inside SoftHSMv2 through PKCS#11, never out of
//! it, sealing and opening Keyward's ciphertext format inside the token. Each test runs in a
//! child process with tokens of its own ([`crate::softhsm`]).

use crate::softhsm::{Token, in_child};
use keyward_crypto::{
    CryptoError, CryptoKey, DataKeyLength, EncryptionAlgorithm, EncryptionContext, KeySpec,
    KeyToken, KeyUsage, Origin, Pkcs11Token, Secret, TokenError, ciphertext_key_id,
};
use std::path::Path;
use std::sync::Arc;

const KEY_ID: &str = "0b6e7f2a-6a44-4c8e-9a1b-5d3c2e1f0a99";
const PIN: &str = "keyward-user-pin";
const TOKENS: &[Token<'static>] = &[
    Token {
        label: "keyward",
        pin: PIN,
    },
    Token {
        label: "other",
        pin: "another-pin",
    },
];

fn connect(module: &Path, label: &str, pin: &str) -> Result<Pkcs11Token, TokenError> {
    Pkcs11Token::connect(module, label, &Secret::from_slice(pin.as_bytes()))
}

fn context() -> EncryptionContext {
    EncryptionContext::new().with("tenant", "acme")
}

const SYMMETRIC: EncryptionAlgorithm = EncryptionAlgorithm::SymmetricDefault;

#[test]
fn a_key_made_in_a_token_encrypts_and_decrypts_in_keywards_blob_format() {
    let Some(module) = in_child(
        "token::a_key_made_in_a_token_encrypts_and_decrypts_in_keywards_blob_format",
        TOKENS,
    ) else {
        return;
    };
    let token: Arc<dyn KeyToken> = Arc::new(connect(&module, "keyward", PIN).unwrap());
    let key = CryptoKey::in_token(KEY_ID, Arc::clone(&token)).unwrap();
    assert_eq!(key.origin(), Origin::AwsCloudHsm);
    assert_eq!(key.spec(), KeySpec::SymmetricDefault);
    assert_eq!(key.usage(), KeyUsage::EncryptDecrypt);
    let blob = key.encrypt(b"payroll", &context(), SYMMETRIC).unwrap();
    // The same format as every symmetric key's: Decrypt needs no KeyId.
    assert_eq!(ciphertext_key_id(&blob).unwrap(), KEY_ID);
    let plain = key.decrypt(&blob, &context(), SYMMETRIC).unwrap();
    assert_eq!(plain.expose(), b"payroll");
    // Two encryptions differ (a fresh nonce each).
    assert_ne!(
        key.encrypt(b"payroll", &context(), SYMMETRIC).unwrap(),
        blob
    );
    // Another context, or any changed byte after the header, is InvalidCiphertext.
    let other = EncryptionContext::new().with("tenant", "globex");
    let e = key.decrypt(&blob, &other, SYMMETRIC).unwrap_err();
    assert_eq!(e.code(), "InvalidCiphertextException", "{e}");
    for at in [blob.len() - 1, blob.len() - 20, 50] {
        let mut changed = blob.clone();
        changed[at] ^= 1;
        let e = key.decrypt(&changed, &context(), SYMMETRIC).unwrap_err();
        assert_eq!(e.code(), "InvalidCiphertextException", "byte {at}");
    }
    // Data keys, with and without plaintext.
    let data = key
        .generate_data_key(
            DataKeyLength::Spec(keyward_crypto::DataKeySpec::Aes256),
            &context(),
        )
        .unwrap();
    assert_eq!(data.plaintext.len(), 32);
    let back = key
        .decrypt(&data.ciphertext_blob, &context(), SYMMETRIC)
        .unwrap();
    assert_eq!(back.expose(), data.plaintext.expose());
    let blind = key
        .generate_data_key_without_plaintext(DataKeyLength::Bytes(64), &context())
        .unwrap();
    assert_eq!(
        key.decrypt(&blind, &context(), SYMMETRIC).unwrap().len(),
        64
    );
    // ReEncrypt to a key in memory and back into the token.
    let soft = CryptoKey::generate(
        "soft-key",
        KeySpec::SymmetricDefault,
        KeyUsage::EncryptDecrypt,
    )
    .unwrap();
    let moved = key
        .re_encrypt(&blob, &context(), SYMMETRIC, &soft, &other, SYMMETRIC)
        .unwrap();
    assert_eq!(ciphertext_key_id(&moved).unwrap(), "soft-key");
    let home = soft
        .re_encrypt(&moved, &other, SYMMETRIC, &key, &context(), SYMMETRIC)
        .unwrap();
    assert_eq!(
        key.decrypt(&home, &context(), SYMMETRIC).unwrap().expose(),
        b"payroll"
    );
    // A ciphertext of the key in memory is another key's.
    let e = key.decrypt(&moved, &other, SYMMETRIC).unwrap_err();
    assert_eq!(e.code(), "IncorrectKeyException");
}

#[test]
fn the_key_never_leaves_the_token() {
    let Some(module) = in_child("token::the_key_never_leaves_the_token", TOKENS) else {
        return;
    };
    let token = Arc::new(connect(&module, "keyward", PIN).unwrap());
    CryptoKey::in_token(KEY_ID, Arc::clone(&token) as Arc<dyn KeyToken>).unwrap();
    let protection = token.key_protection(KEY_ID).unwrap();
    assert!(!protection.extractable, "{protection:?}");
    assert!(protection.sensitive, "{protection:?}");
    assert!(protection.never_extractable, "{protection:?}");
    // Asked for its value, the token refuses.
    assert!(token.key_value(KEY_ID).unwrap().is_none());
    // Nor does Keyward hold it: the key has no material to seal, and no version to rotate.
    let key = CryptoKey::from_token(KEY_ID, Arc::clone(&token) as Arc<dyn KeyToken>).unwrap();
    assert!(key.materials().is_empty());
    let root = keyward_crypto::RootKey::generate().unwrap();
    assert!(key.seal(&root).is_err());
    // Its head (what the key service stores to bind the key's other rows) names no version,
    // and opens only as a key of a token, with what was attached.
    let head = key.seal_head(&root, b"attached").unwrap();
    let dyn_token = || Arc::clone(&token) as Arc<dyn KeyToken>;
    let back =
        CryptoKey::unseal_token_head(KEY_ID, &head, b"attached", &root, dyn_token()).unwrap();
    assert_eq!(back.origin(), Origin::AwsCloudHsm);
    assert!(CryptoKey::unseal_token_head(KEY_ID, &head, b"changed", &root, dyn_token()).is_err());
    assert!(
        CryptoKey::unseal_token_head("another-key", &head, b"attached", &root, dyn_token())
            .is_err()
    );
    assert!(CryptoKey::unseal_parts(KEY_ID, &head, &[], b"attached", &root).is_err());
    let soft =
        CryptoKey::generate("soft", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
    let soft_head = soft.seal_head(&root, b"attached").unwrap();
    assert!(
        CryptoKey::unseal_token_head("soft", &soft_head, b"attached", &root, dyn_token()).is_err()
    );
    let mut key = key;
    assert!(key.rotate().is_err());
    // A second key of the same label is refused.
    let again = CryptoKey::in_token(
        KEY_ID,
        Arc::new(connect(&module, "keyward", PIN).unwrap()) as Arc<dyn KeyToken>,
    )
    .unwrap_err();
    assert!(
        matches!(again, CryptoError::Token(TokenError::KeyExists(_))),
        "{again:?}"
    );
}

#[test]
fn a_key_is_found_again_by_its_label_after_reconnecting() {
    let Some(module) = in_child(
        "token::a_key_is_found_again_by_its_label_after_reconnecting",
        TOKENS,
    ) else {
        return;
    };
    let blob = {
        let token: Arc<dyn KeyToken> = Arc::new(connect(&module, "keyward", PIN).unwrap());
        let key = CryptoKey::in_token(KEY_ID, Arc::clone(&token)).unwrap();
        let blob = key.encrypt(b"kept", &context(), SYMMETRIC).unwrap();
        token.disconnect();
        blob
    };
    let token: Arc<dyn KeyToken> = Arc::new(connect(&module, "keyward", PIN).unwrap());
    let key = CryptoKey::from_token(KEY_ID, Arc::clone(&token)).unwrap();
    assert_eq!(
        key.decrypt(&blob, &context(), SYMMETRIC).unwrap().expose(),
        b"kept"
    );
    // A key the token does not hold is a state of the key store.
    let e = CryptoKey::from_token("not-in-the-token", Arc::clone(&token)).unwrap_err();
    assert_eq!(e.code(), "KMSInvalidStateException", "{e}");
    // Destroyed, it is gone.
    token.destroy_key(KEY_ID).unwrap();
    assert!(!token.has_key(KEY_ID).unwrap());
    let e = key.decrypt(&blob, &context(), SYMMETRIC).unwrap_err();
    assert_eq!(e.code(), "KMSInvalidStateException", "{e}");
}

#[test]
fn a_wrong_pin_an_unknown_token_and_a_bad_module_are_refused() {
    let Some(module) = in_child(
        "token::a_wrong_pin_an_unknown_token_and_a_bad_module_are_refused",
        TOKENS,
    ) else {
        return;
    };
    // Before any login to the token in this process (a login holds for the whole process).
    let e = connect(&module, "keyward", "not-the-pin").unwrap_err();
    assert_eq!(e, TokenError::WrongPin("keyward".into()));
    // The second token has a PIN of its own: the first's does not open it.
    let e = connect(&module, "other", PIN).unwrap_err();
    assert_eq!(e, TokenError::WrongPin("other".into()));
    connect(&module, "other", "another-pin").unwrap();
    connect(&module, "keyward", PIN).unwrap();
    let e = connect(&module, "absent", PIN).unwrap_err();
    assert_eq!(e, TokenError::NoToken("absent".into()));
    let e = connect(Path::new("/nonexistent/libpkcs11.so"), "keyward", PIN).unwrap_err();
    assert!(matches!(e, TokenError::Module { .. }), "{e:?}");
    assert!(e.to_string().contains("/nonexistent/libpkcs11.so"), "{e}");
}

#[test]
fn a_disconnected_token_refuses_every_operation_with_kmsinvalidstate() {
    let Some(module) = in_child(
        "token::a_disconnected_token_refuses_every_operation_with_kmsinvalidstate",
        TOKENS,
    ) else {
        return;
    };
    let token: Arc<dyn KeyToken> = Arc::new(connect(&module, "keyward", PIN).unwrap());
    let key = CryptoKey::in_token(KEY_ID, Arc::clone(&token)).unwrap();
    let blob = key.encrypt(b"before", &context(), SYMMETRIC).unwrap();
    token.disconnect();
    let e = key.encrypt(b"after", &context(), SYMMETRIC).unwrap_err();
    assert_eq!(e.code(), "KMSInvalidStateException", "{e}");
    let e = key.decrypt(&blob, &context(), SYMMETRIC).unwrap_err();
    assert_eq!(e.code(), "KMSInvalidStateException", "{e}");
    assert!(matches!(
        token.has_key(KEY_ID),
        Err(TokenError::Disconnected(_))
    ));
}

#[test]
fn the_token_draws_random_bytes() {
    let Some(module) = in_child("token::the_token_draws_random_bytes", TOKENS) else {
        return;
    };
    let token = connect(&module, "keyward", PIN).unwrap();
    let (a, b) = (token.random(1024).unwrap(), token.random(1024).unwrap());
    assert_eq!((a.len(), b.len()), (1024, 1024));
    assert_ne!(a, b);
    token.disconnect();
    assert!(matches!(token.random(8), Err(TokenError::Disconnected(_))));
}

#[test]
fn many_threads_share_one_token() {
    let Some(module) = in_child("token::many_threads_share_one_token", TOKENS) else {
        return;
    };
    let token: Arc<dyn KeyToken> = Arc::new(connect(&module, "keyward", PIN).unwrap());
    let key = Arc::new(CryptoKey::in_token(KEY_ID, token).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let key = Arc::clone(&key);
            std::thread::spawn(move || {
                for j in 0..50 {
                    let message = format!("{i}-{j}");
                    let blob = key
                        .encrypt(message.as_bytes(), &context(), SYMMETRIC)
                        .unwrap();
                    let back = key.decrypt(&blob, &context(), SYMMETRIC).unwrap();
                    assert_eq!(back.expose(), message.as_bytes());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
