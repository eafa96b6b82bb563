//! [`KeyToken`] over any PKCS#11 module (SoftHSMv2, CloudHSM's client, YubiHSM, Luna), through
//! the `cryptoki` binding: AES-256 keys made on the token (`CKA_TOKEN`, `CKA_SENSITIVE`, not
//! `CKA_EXTRACTABLE`), found again by their label, and AES-GCM (`CKM_AES_GCM`) run inside it.

use crate::Secret;
use crate::blob::NONCE_LEN;
use crate::token::{KeyToken, TokenError};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// The most sessions kept open for reuse; a call beyond them opens one of its own.
const MAX_IDLE_SESSIONS: usize = 8;

/// A token of a PKCS#11 module, logged in as its user.
pub struct Pkcs11Token {
    label: String,
    context: Pkcs11,
    slot: Slot,
    /// Sessions not in use. `None` once disconnected.
    idle: Mutex<Option<Vec<Session>>>,
    /// The handles of keys found, by label.
    handles: Mutex<HashMap<String, ObjectHandle>>,
}

impl std::fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Token")
            .field("label", &self.label)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

/// What a failed PKCS#11 call says, in a [`TokenError`].
fn call(error: Error) -> TokenError {
    match error {
        Error::Pkcs11(rv, function) => TokenError::Call {
            function: format!("{function:?}"),
            reason: format!("{rv:?}: {rv}"),
        },
        other => TokenError::Call {
            function: "PKCS#11".to_owned(),
            reason: other.to_string(),
        },
    }
}

/// Whether `error` is the PKCS#11 return value `rv`.
fn is(error: &Error, rv: RvError) -> bool {
    matches!(error, Error::Pkcs11(found, _) if *found == rv)
}

impl Pkcs11Token {
    /// Loads `module` and initialises it (once per process: a second initialisation is the
    /// first's).
    fn module(module: &Path) -> Result<Pkcs11, TokenError> {
        let shown = || module.display().to_string();
        let context = Pkcs11::new(module).map_err(|e| TokenError::Module {
            module: shown(),
            reason: e.to_string(),
        })?;
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) => Ok(context),
            Err(e) if is(&e, RvError::CryptokiAlreadyInitialized) => Ok(context),
            Err(e) => Err(TokenError::Module {
                module: shown(),
                reason: e.to_string(),
            }),
        }
    }

    /// The slot of the token labelled `label`, if `context` has one.
    fn slot_of(context: &Pkcs11, label: &str) -> Result<Option<Slot>, TokenError> {
        for slot in context.get_slots_with_token().map_err(call)? {
            let info = context.get_token_info(slot).map_err(call)?;
            if info.label().trim_end() == label {
                return Ok(Some(slot));
            }
        }
        Ok(None)
    }

    /// Whether `module` has a token labelled `label` (nothing is logged in).
    pub fn has_token(module: &Path, label: &str) -> Result<bool, TokenError> {
        let context = Self::module(module)?;
        Ok(Self::slot_of(&context, label)?.is_some())
    }

    /// Loads `module`, finds the token labelled `label` and logs in as its user with `pin`.
    pub fn connect(module: &Path, label: &str, pin: &Secret) -> Result<Self, TokenError> {
        let context = Self::module(module)?;
        let slot =
            Self::slot_of(&context, label)?.ok_or_else(|| TokenError::NoToken(label.to_owned()))?;
        let session = context.open_rw_session(slot).map_err(call)?;
        let pin = auth_pin(pin)?;
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) => {}
            // Another connection of this process to the token is logged in: so is this one.
            Err(e) if is(&e, RvError::UserAlreadyLoggedIn) => {}
            Err(e) if is(&e, RvError::PinIncorrect) || is(&e, RvError::PinInvalid) => {
                return Err(TokenError::WrongPin(label.to_owned()));
            }
            Err(e) if is(&e, RvError::PinLocked) => {
                return Err(TokenError::Locked(label.to_owned()));
            }
            Err(e) => return Err(call(e)),
        }
        Ok(Self {
            label: label.to_owned(),
            context,
            slot,
            idle: Mutex::new(Some(vec![session])),
            handles: Mutex::new(HashMap::new()),
        })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Runs `work` on a session of the token: an idle one, or a new one (logged in already:
    /// PKCS#11 logs in every session of an application at once).
    fn with_session<T>(
        &self,
        work: impl FnOnce(&Session) -> Result<T, TokenError>,
    ) -> Result<T, TokenError> {
        let taken = {
            let mut idle = self
                .idle
                .lock()
                .map_err(|_| TokenError::Disconnected(self.label.clone()))?;
            match idle.as_mut() {
                None => return Err(TokenError::Disconnected(self.label.clone())),
                Some(sessions) => sessions.pop(),
            }
        };
        let session = match taken {
            Some(session) => session,
            None => self.context.open_rw_session(self.slot).map_err(call)?,
        };
        let out = work(&session);
        let Ok(mut idle) = self.idle.lock() else {
            return out;
        };
        match idle.as_mut() {
            // Disconnected while the call ran (its session logged out under it): a failure
            // is the disconnection's, whatever the token answered.
            None => out.map_err(|_| TokenError::Disconnected(self.label.clone())),
            Some(sessions) => {
                if sessions.len() < MAX_IDLE_SESSIONS {
                    sessions.push(session);
                }
                out
            }
        }
    }

    /// The handle of the key labelled `label`, found once and remembered.
    fn handle(&self, session: &Session, label: &str) -> Result<ObjectHandle, TokenError> {
        if let Some(handle) = self.handles.lock().ok().and_then(|h| h.get(label).copied()) {
            return Ok(handle);
        }
        let handle = find(session, label)?.ok_or_else(|| TokenError::NoKey(label.to_owned()))?;
        if let Ok(mut handles) = self.handles.lock() {
            handles.insert(label.to_owned(), handle);
        }
        Ok(handle)
    }

    /// Runs `work` with the handle of the key labelled `label`; once more with the key found
    /// again if the remembered handle went stale.
    fn with_key<T>(
        &self,
        label: &str,
        work: impl Fn(&Session, ObjectHandle) -> Result<T, Error>,
    ) -> Result<T, TokenError> {
        self.with_session(|session| {
            let handle = self.handle(session, label)?;
            match work(session, handle) {
                Err(e)
                    if is(&e, RvError::KeyHandleInvalid)
                        || is(&e, RvError::ObjectHandleInvalid) =>
                {
                    if let Ok(mut handles) = self.handles.lock() {
                        handles.remove(label);
                    }
                    let handle = self.handle(session, label)?;
                    work(session, handle).map_err(call)
                }
                other => other.map_err(call),
            }
        })
    }

    /// Whether the key labelled `label` may leave the token: its `CKA_EXTRACTABLE`, and
    /// whether it is `CKA_SENSITIVE` (its value never shown in plaintext).
    pub fn key_protection(&self, label: &str) -> Result<KeyProtection, TokenError> {
        self.with_key(label, |session, handle| {
            let attributes = session.get_attributes(
                handle,
                &[
                    AttributeType::Extractable,
                    AttributeType::Sensitive,
                    AttributeType::NeverExtractable,
                ],
            )?;
            let mut out = KeyProtection::default();
            for attribute in attributes {
                match attribute {
                    Attribute::Extractable(v) => out.extractable = v,
                    Attribute::Sensitive(v) => out.sensitive = v,
                    Attribute::NeverExtractable(v) => out.never_extractable = v,
                    _ => {}
                }
            }
            Ok(out)
        })
    }

    /// What the token says when asked for the key's value (`CKA_VALUE`): `None` when it
    /// refuses, as it must for a sensitive key.
    pub fn key_value(&self, label: &str) -> Result<Option<Secret>, TokenError> {
        self.with_key(label, |session, handle| {
            match session.get_attributes(handle, &[AttributeType::Value]) {
                Ok(attributes) => Ok(attributes.into_iter().find_map(|a| match a {
                    Attribute::Value(v) => Some(Secret::new(v)),
                    _ => None,
                })),
                Err(e) if is(&e, RvError::AttributeSensitive) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }
}

/// How a key is kept on its token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyProtection {
    /// `CKA_EXTRACTABLE`: it may be wrapped out of the token.
    pub extractable: bool,
    /// `CKA_SENSITIVE`: its value is never shown in plaintext.
    pub sensitive: bool,
    /// `CKA_NEVER_EXTRACTABLE`: it has never been extractable.
    pub never_extractable: bool,
}

/// The PIN as the binding takes it. Built at its final length, so that no copy of it is left
/// behind unzeroized.
fn auth_pin(pin: &Secret) -> Result<AuthPin, TokenError> {
    let text = std::str::from_utf8(pin.expose()).map_err(|_| TokenError::Call {
        function: "C_Login".to_owned(),
        reason: "the PIN is not UTF-8".to_owned(),
    })?;
    let mut owned = String::with_capacity(text.len());
    owned.push_str(text);
    Ok(AuthPin::new(owned.into_boxed_str()))
}

/// The AES key labelled `label`, if the token holds one (more than one is an error).
fn find(session: &Session, label: &str) -> Result<Option<ObjectHandle>, TokenError> {
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(call)?;
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(TokenError::Call {
            function: "C_FindObjects".to_owned(),
            reason: format!("{} keys are labelled `{label}`", found.len()),
        }),
    }
}

/// AES-GCM's mechanism for `nonce` and `aad`, with a 128-bit tag.
fn gcm<'a>(nonce: &'a mut [u8; NONCE_LEN], aad: &'a [u8]) -> Result<Mechanism<'a>, Error> {
    Ok(Mechanism::AesGcm(GcmParams::new(nonce, aad, 128.into())?))
}

impl KeyToken for Pkcs11Token {
    fn create_key(&self, label: &str) -> Result<(), TokenError> {
        self.with_session(|session| {
            if find(session, label)?.is_some() {
                return Err(TokenError::KeyExists(label.to_owned()));
            }
            let handle = session
                .generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Class(ObjectClass::SECRET_KEY),
                        Attribute::KeyType(KeyType::AES),
                        Attribute::ValueLen(32.into()),
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Encrypt(true),
                        Attribute::Decrypt(true),
                        Attribute::Wrap(false),
                        Attribute::Unwrap(false),
                        Attribute::Label(label.as_bytes().to_vec()),
                    ],
                )
                .map_err(call)?;
            if let Ok(mut handles) = self.handles.lock() {
                handles.insert(label.to_owned(), handle);
            }
            Ok(())
        })
    }

    fn has_key(&self, label: &str) -> Result<bool, TokenError> {
        self.with_session(|session| Ok(find(session, label)?.is_some()))
    }

    fn seal(
        &self,
        label: &str,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, TokenError> {
        self.with_key(label, |session, handle| {
            let mut iv = *nonce;
            session.encrypt(&gcm(&mut iv, aad)?, handle, plaintext)
        })
    }

    fn open(
        &self,
        label: &str,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Option<Secret>, TokenError> {
        self.with_key(label, |session, handle| {
            let mut iv = *nonce;
            match session.decrypt(&gcm(&mut iv, aad)?, handle, sealed) {
                Ok(plaintext) => Ok(Some(Secret::new(plaintext))),
                Err(e)
                    if is(&e, RvError::EncryptedDataInvalid)
                        || is(&e, RvError::EncryptedDataLenRange) =>
                {
                    Ok(None)
                }
                // SoftHSMv2 answers a tag that does not verify with CKR_GENERAL_ERROR (and
                // other modules with CKR_FUNCTION_FAILED): the ciphertext is refused when the
                // session is still sound, and the failure is the token's when it is not.
                Err(e)
                    if (is(&e, RvError::GeneralError) || is(&e, RvError::FunctionFailed))
                        && session.get_session_info().is_ok() =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
    }

    fn destroy_key(&self, label: &str) -> Result<(), TokenError> {
        self.with_session(|session| {
            let handle =
                find(session, label)?.ok_or_else(|| TokenError::NoKey(label.to_owned()))?;
            session.destroy_object(handle).map_err(call)?;
            if let Ok(mut handles) = self.handles.lock() {
                handles.remove(label);
            }
            Ok(())
        })
    }

    fn random(&self, len: usize) -> Result<Secret, TokenError> {
        self.with_session(|session| {
            let mut out = Secret::new(vec![0; len]);
            session
                .generate_random_slice(out.expose_mut())
                .map_err(call)?;
            Ok(out)
        })
    }

    fn disconnect(&self) {
        let sessions = match self.idle.lock() {
            Ok(mut idle) => idle.take(),
            Err(_) => None,
        };
        if let Some(sessions) = sessions {
            // Logging out ends the login of every session of this process on the token.
            if let Some(first) = sessions.first() {
                let _ = first.logout();
            }
            drop(sessions);
        }
        if let Ok(mut handles) = self.handles.lock() {
            handles.clear();
        }
    }
}
