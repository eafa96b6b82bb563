//! Sealed keys: a [`CryptoKey`] with all its versions of material, encrypted under a root key
//! for storage. The root key lives in a file only its owner can read (`0600`), created with
//! fresh random bytes on first use.
//!
//! Sealed format v2: `"KWSEAL2\0"`, 12-byte nonce, AES-256-GCM ciphertext and tag of the
//! serialized key, with the key ID and the format tag as authenticated data (a sealed key
//! cannot be swapped for another's). The serialized key: spec, usage and origin names, then
//! per version its number, origin, expiry, fingerprint, flags (1: pending rotation) and
//! material (raw AES/HMAC bytes or PKCS#8), all length-prefixed. Format v1 (`"KWSEAL1\0"`,
//! no flags) is still read.
//!
//! Sealed in parts (what a store keeps, a row each): the head, `"KWHEAD1\0"`, seals the spec,
//! usage and origin, each version's number, fingerprint and a digest of its state (origin,
//! expiry, flags, whether its material is there), and a digest of what the caller attaches,
//! bound to the key ID; each version, `"KWVERS1\0"`, seals that version alone, bound to the
//! key ID and its number. The head names every version as it is, so one missing, added, taken
//! from another key or number, or put back as it was before a change, does not open.

use crate::asymmetric::AsymmetricMaterial;
use crate::key::{CryptoKey, Origin};
use crate::limits::MAX_VERSIONS;
use crate::material::{AesMaterial, HmacMaterial, Material, MaterialOrigin, Version};
use crate::{CryptoError, KeySpec, KeyUsage, Secret};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// Format 2 adds per-version flags (material pending rotation); format 1 is still read.
const MAGIC: &[u8; 8] = b"KWSEAL2\0";
const MAGIC_V1: &[u8; 8] = b"KWSEAL1\0";
const ROOT_KEY_LEN: usize = 32;

/// Why a root key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RootKeyError {
    /// Reading, creating, writing or syncing the root key file failed (or, when creating it,
    /// the system random generator).
    #[error("root key file {path}: {source}")]
    Io {
        /// The root key file's path, as displayed.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The root key file grants its group or others some access: only its owner may have any.
    #[error("root key file {path} is readable by others (mode {mode:o}); run `chmod 600 {path}`")]
    Permissions {
        /// The root key file's path, as displayed.
        path: String,
        /// The file's permission bits (`mode & 0o777`), shown in octal.
        mode: u32,
    },
    /// The root key file does not hold exactly 32 bytes.
    #[error("root key file {path} holds {len} bytes; a root key is exactly 32")]
    Length {
        /// The root key file's path, as displayed.
        path: String,
        /// The file's length, in bytes.
        len: usize,
    },
}

/// The key that seals every stored key's material. Zeroized on drop; `Debug` shows nothing.
pub struct RootKey {
    key: LessSafeKey,
    _bytes: Secret,
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootKey(..)")
    }
}

impl RootKey {
    /// A root key from 32 bytes.
    pub fn from_bytes(bytes: Secret) -> Result<Self, CryptoError> {
        if bytes.len() != ROOT_KEY_LEN {
            return Err(CryptoError::InvalidKeyMaterial(
                "a root key is 256 bits (32 bytes)".into(),
            ));
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes.expose())
            .map_err(|_| CryptoError::Internal("root key setup"))?;
        Ok(Self {
            key: LessSafeKey::new(key),
            _bytes: bytes,
        })
    }

    /// A fresh random root key (tests and in-memory stores).
    pub fn generate() -> Result<Self, CryptoError> {
        Self::from_bytes(Secret::random(ROOT_KEY_LEN)?)
    }

    /// Reads the root key at `path`, or creates it (32 random bytes, mode `0600`, synced to
    /// disk) when there is none. A file others can read or write is refused.
    pub fn load_or_create(path: &Path) -> Result<Self, RootKeyError> {
        let shown = path.display().to_string();
        let io = |source| RootKeyError::Io {
            path: shown.clone(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                check_permissions(path, &shown)?;
                let len = bytes.len();
                let secret = Secret::new(bytes);
                Self::from_bytes(secret).map_err(|_| RootKeyError::Length { path: shown, len })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = Secret::random(ROOT_KEY_LEN)
                    .map_err(|_| io(std::io::Error::other("the system random generator failed")))?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let mut file = options.open(path).map_err(io)?;
                file.write_all(secret.expose()).map_err(io)?;
                file.sync_all().map_err(io)?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::File::open(dir)
                        .and_then(|d| d.sync_all())
                        .map_err(io)?;
                }
                Self::from_bytes(secret).map_err(|_| RootKeyError::Length {
                    path: shown,
                    len: ROOT_KEY_LEN,
                })
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A 32-byte key for `purpose`, derived from the root key (HMAC-SHA-256 of the purpose):
    /// other secrets of the service (grant-token keys) need no storage of their own.
    pub fn derive(&self, purpose: &[u8]) -> [u8; 32] {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, self._bytes.expose());
        let tag = aws_lc_rs::hmac::sign(&key, purpose);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// The key that authenticates stored records (a store's rows of metadata, policies,
    /// grants and aliases), derived from this root key for that purpose alone.
    pub fn record_key(&self) -> RecordKey {
        let derived = Secret::new(self.derive(b"keyward stored records v1").to_vec());
        RecordKey(aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            derived.expose(),
        ))
    }

    fn aad(magic: &[u8; 8], key_id: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(magic.len() + key_id.len());
        aad.extend_from_slice(magic);
        aad.extend_from_slice(key_id.as_bytes());
        aad
    }
}

/// HMAC-SHA-256 over a stored record's fields, each length-prefixed (so field boundaries
/// cannot move): what makes a row edited outside the service detectable. `Debug` shows nothing.
pub struct RecordKey(aws_lc_rs::hmac::Key);

impl std::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordKey(..)")
    }
}

impl RecordKey {
    fn context(&self, fields: &[&[u8]]) -> aws_lc_rs::hmac::Context {
        let mut context = aws_lc_rs::hmac::Context::with_key(&self.0);
        for field in fields {
            context.update(&(field.len() as u64).to_be_bytes());
            context.update(field);
        }
        context
    }

    /// The tag of a record made of `fields`.
    pub fn tag(&self, fields: &[&[u8]]) -> Vec<u8> {
        self.context(fields).sign().as_ref().to_vec()
    }

    /// Whether `tag` is the tag of `fields` (compared in constant time).
    pub fn verify(&self, fields: &[&[u8]], tag: &[u8]) -> bool {
        let expected = self.context(fields).sign();
        tag.len() == expected.as_ref().len()
            && aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_ref(), tag).is_ok()
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path, shown: &str) -> Result<(), RootKeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| RootKeyError::Io {
            path: shown.to_owned(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(RootKeyError::Permissions {
            path: shown.to_owned(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path, _: &str) -> Result<(), RootKeyError> {
    Ok(())
}

/// Length-prefixed writer over a zeroizing buffer. It grows by moving into a larger
/// [`Secret`], so no reallocation leaves a copy of the material behind unzeroized.
struct Writer(Secret);

impl Writer {
    fn push(&mut self, bytes: &[u8]) {
        let buffer = self.0.expose_mut();
        if buffer.capacity() - buffer.len() < bytes.len() {
            let wanted = (buffer.len() + bytes.len()).max(buffer.capacity() * 2);
            let mut bigger = Vec::with_capacity(wanted);
            bigger.extend_from_slice(buffer);
            // The old buffer is zeroized when its `Secret` drops.
            drop(std::mem::replace(&mut self.0, Secret::new(bigger)));
        }
        self.0.expose_mut().extend_from_slice(bytes);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.push(&len.to_be_bytes());
        self.push(bytes);
    }

    fn u32(&mut self, value: u32) {
        self.push(&value.to_be_bytes());
    }

    fn u64(&mut self, value: u64) {
        self.push(&value.to_be_bytes());
    }

    /// A key's spec, usage and origin, as every sealed form begins.
    fn identity(&mut self, key: &CryptoKey) {
        self.bytes(key.spec().as_str().as_bytes());
        self.bytes(key.usage().as_str().as_bytes());
        self.bytes(key.origin().as_str().as_bytes());
    }
}

/// Reader of the serialized form; every read is bounds-checked.
struct Reader<'a> {
    rest: &'a [u8],
}

fn corrupt() -> CryptoError {
    CryptoError::SealedKeyCorrupt
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CryptoError> {
        if self.rest.len() < n {
            return Err(corrupt());
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, CryptoError> {
        let bytes: [u8; 4] = self.take(4)?.try_into().map_err(|_| corrupt())?;
        Ok(u32::from_be_bytes(bytes))
    }

    fn u64(&mut self) -> Result<u64, CryptoError> {
        let bytes: [u8; 8] = self.take(8)?.try_into().map_err(|_| corrupt())?;
        Ok(u64::from_be_bytes(bytes))
    }

    fn bytes(&mut self) -> Result<&'a [u8], CryptoError> {
        let len = usize::try_from(self.u32()?).map_err(|_| corrupt())?;
        self.take(len)
    }

    fn text(&mut self) -> Result<&'a str, CryptoError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| corrupt())
    }

    /// What [`Writer::identity`] wrote: the key's spec, usage and origin.
    fn identity(&mut self) -> Result<(KeySpec, KeyUsage, Origin), CryptoError> {
        let spec = KeySpec::parse(self.text()?).map_err(|_| corrupt())?;
        let usage = KeyUsage::parse(self.text()?).map_err(|_| corrupt())?;
        let origin = match self.text()? {
            "AWS_KMS" => Origin::AwsKms,
            "EXTERNAL" => Origin::External,
            "AWS_CLOUDHSM" => Origin::AwsCloudHsm,
            _ => return Err(corrupt()),
        };
        Ok((spec, usage, origin))
    }
}

fn write_version<M>(w: &mut Writer, version: &Version<M>, raw: impl Fn(&M) -> &[u8]) {
    write_version_state(w, version);
    if let Some(material) = &version.material {
        w.bytes(raw(material));
    }
}

/// A version as [`write_version`] writes it, up to its material: its number, origin, expiry,
/// fingerprint, flags and whether its material is there.
fn write_version_state<M>(w: &mut Writer, version: &Version<M>) {
    w.u32(version.number);
    w.u32(match version.origin {
        MaterialOrigin::Generated => 0,
        MaterialOrigin::Imported => 1,
    });
    match version
        .expires_at
        .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
    {
        Some(at) => {
            w.u32(1);
            w.u64(at.as_secs());
            w.u32(at.subsec_nanos());
        }
        None => w.u32(0),
    }
    w.bytes(&version.fingerprint);
    w.u32(u32::from(version.pending));
    w.u32(u32::from(version.material.is_some()));
}

/// A digest of a version's state ([`write_version_state`]; the material is there only as its
/// fingerprint), which a key's head names, so that a version's row put back as it was before
/// a change (its material deleted, expired or rotated in) does not open.
fn version_state_digest<M>(version: &Version<M>) -> [u8; 32] {
    let mut w = Writer(Secret::new(Vec::with_capacity(96)));
    write_version_state(&mut w, version);
    digest_of(b"keyward version state v1\0", w.0.expose())
}

/// A domain-separated SHA-256 of `bytes`.
fn digest_of(domain: &[u8], bytes: &[u8]) -> [u8; 32] {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(domain);
    context.update(bytes);
    let mut out = [0; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

fn read_version<M>(
    r: &mut Reader<'_>,
    format: u32,
    build: impl Fn(Secret) -> Result<M, CryptoError>,
) -> Result<Version<M>, CryptoError> {
    let number = r.u32()?;
    let origin = match r.u32()? {
        0 => MaterialOrigin::Generated,
        1 => MaterialOrigin::Imported,
        _ => return Err(corrupt()),
    };
    let expires_at = match r.u32()? {
        0 => None,
        1 => {
            let secs = r.u64()?;
            let nanos = r.u32()?;
            if nanos >= 1_000_000_000 {
                return Err(corrupt());
            }
            Some(
                UNIX_EPOCH
                    .checked_add(Duration::new(secs, nanos))
                    .ok_or_else(corrupt)?,
            )
        }
        _ => return Err(corrupt()),
    };
    let fingerprint: [u8; 32] = r.bytes()?.try_into().map_err(|_| corrupt())?;
    let pending = match (format, if format >= 2 { r.u32()? } else { 0 }) {
        (_, 0) => false,
        (2, 1) => true,
        _ => return Err(corrupt()),
    };
    let material = match r.u32()? {
        0 => None,
        1 => Some(build(Secret::from_slice(r.bytes()?))?),
        _ => return Err(corrupt()),
    };
    Ok(Version {
        number,
        origin,
        expires_at,
        fingerprint,
        material,
        pending,
        id: std::sync::OnceLock::new(),
    })
}

/// The head of a key sealed in parts ([`CryptoKey::seal_head`]).
const MAGIC_HEAD: &[u8; 8] = b"KWHEAD1\0";
/// The domain of the digest of what a head binds beside the versions.
const ATTACHED_DOMAIN: &[u8] = b"keyward head attachment v1\0";

/// A version as a key's head names it.
struct Named {
    number: u32,
    fingerprint: [u8; 32],
    state: [u8; 32],
}
/// One version of a key sealed on its own ([`CryptoKey::seal_version`]).
const MAGIC_VERSION: &[u8; 8] = b"KWVERS1\0";

/// Seals `plain` under `root`: `magic`, a fresh nonce, and AES-256-GCM of it with `magic` and
/// `bound` (a key ID, and a version number) as authenticated data.
fn seal_bytes(
    root: &RootKey,
    magic: &[u8; 8],
    bound: &str,
    plain: &Secret,
) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| CryptoError::Internal("random nonce"))?;
    let tag_len = AES_256_GCM.tag_len();
    // Room for the tag up front: sealing in place must not reallocate a buffer holding the
    // plaintext (a zeroizing one, in case sealing fails half-way).
    let mut body = Secret::new(Vec::with_capacity(plain.len() + tag_len));
    body.expose_mut().extend_from_slice(plain.expose());
    root.key
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(RootKey::aad(magic, bound)),
            body.expose_mut(),
        )
        .map_err(|_| CryptoError::Internal("sealing key material"))?;
    let mut out = Vec::with_capacity(magic.len() + NONCE_LEN + body.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(body.expose());
    Ok(out)
}

/// Opens what [`seal_bytes`] sealed with `magic` and `bound`; any change, or another binding,
/// is [`CryptoError::SealedKeyCorrupt`].
fn open_bytes(
    root: &RootKey,
    magic: &[u8; 8],
    bound: &str,
    sealed: &[u8],
) -> Result<Secret, CryptoError> {
    let body = sealed.strip_prefix(magic.as_slice()).ok_or_else(corrupt)?;
    if body.len() < NONCE_LEN {
        return Err(corrupt());
    }
    let (nonce, ciphertext) = body.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
    let mut buffer = Secret::from_slice(ciphertext);
    let plain_len = root
        .key
        .open_in_place(
            nonce,
            Aad::from(RootKey::aad(magic, bound)),
            buffer.expose_mut(),
        )
        .map_err(|_| corrupt())?
        .len();
    Ok(Secret::from_slice(
        buffer.expose().get(..plain_len).ok_or_else(corrupt)?,
    ))
}

/// What a version's sealing is bound to: its key and its number.
fn version_binding(id: &str, number: u32) -> String {
    format!("{id}\u{0}{number}")
}

impl CryptoKey {
    /// Whether `sealed` is a key's head ([`CryptoKey::seal_head`]), not a key sealed whole
    /// ([`CryptoKey::seal`]).
    pub fn is_sealed_head(sealed: &[u8]) -> bool {
        sealed.starts_with(MAGIC_HEAD)
    }

    /// The numbers of the key's versions of material, in order.
    pub fn version_numbers(&self) -> Vec<u32> {
        self.materials().iter().map(|m| m.version).collect()
    }

    /// The key's head, sealed under `root`: its spec, usage and origin, for each version of its
    /// material (which is sealed apart, a version each, [`CryptoKey::seal_version`]) its
    /// number, fingerprint and a digest of its state, and a digest of `attached` (what the
    /// caller keeps beside the key and binds to it, the same bytes given back to
    /// [`CryptoKey::unseal_parts`]). The head is what ties the versions to the key: a version
    /// dropped, added, put back from another key or number, or put back as it was before its
    /// state changed, is found, and so is `attached` changed.
    pub fn seal_head(&self, root: &RootKey, attached: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut w = Writer(Secret::new(Vec::with_capacity(192)));
        w.identity(self);
        fn heads<M>(w: &mut Writer, versions: &[Version<M>]) -> Result<(), CryptoError> {
            w.u32(u32::try_from(versions.len()).map_err(|_| corrupt())?);
            for v in versions {
                w.u32(v.number);
                w.bytes(&v.fingerprint);
                w.bytes(&version_state_digest(v));
            }
            Ok(())
        }
        match &self.material {
            Material::Symmetric(versions) => heads(&mut w, versions)?,
            Material::Hmac(versions) => heads(&mut w, versions)?,
            Material::Asymmetric(versions) => heads(&mut w, versions)?,
            // Its material is in its token: the head names no version.
            Material::Token(_) => w.u32(0),
        }
        w.bytes(&digest_of(ATTACHED_DOMAIN, attached));
        seal_bytes(root, MAGIC_HEAD, self.id(), &w.0)
    }

    /// Version `number` of the key's material (the material and its state: origin, expiry,
    /// pending), sealed on its own under `root`, bound to the key's ID and the number; `None`
    /// when the key has no such version.
    pub fn seal_version(
        &self,
        number: u32,
        root: &RootKey,
    ) -> Result<Option<Vec<u8>>, CryptoError> {
        let mut w = Writer(Secret::new(Vec::with_capacity(256)));
        fn one<M>(
            w: &mut Writer,
            versions: &[Version<M>],
            number: u32,
            raw: impl Fn(&M) -> &[u8],
        ) -> bool {
            match versions.iter().find(|v| v.number == number) {
                Some(v) => {
                    write_version(w, v, raw);
                    true
                }
                None => false,
            }
        }
        let found = match &self.material {
            Material::Symmetric(versions) => one(&mut w, versions, number, AesMaterial::raw),
            Material::Hmac(versions) => one(&mut w, versions, number, HmacMaterial::raw),
            Material::Asymmetric(versions) => one(&mut w, versions, number, |m| m.pkcs8().expose()),
            Material::Token(_) => false,
        };
        if !found {
            return Ok(None);
        }
        seal_bytes(
            root,
            MAGIC_VERSION,
            &version_binding(self.id(), number),
            &w.0,
        )
        .map(Some)
    }

    /// Opens the head [`CryptoKey::seal_head`] sealed for a key whose material is in a token
    /// (origin `AWS_CLOUDHSM`, [`CryptoKey::in_token`]): it must name such a key, with no
    /// version and with `attached` as given. The key is `token`'s key labelled `id`, not
    /// looked for (its token may be disconnected: its operations say so when it is).
    pub fn unseal_token_head(
        id: &str,
        head: &[u8],
        attached: &[u8],
        root: &RootKey,
        token: std::sync::Arc<dyn crate::KeyToken>,
    ) -> Result<Self, CryptoError> {
        let plain = open_bytes(root, MAGIC_HEAD, id, head)?;
        let mut r = Reader {
            rest: plain.expose(),
        };
        let (spec, usage, origin) = r.identity()?;
        let count = r.u32()?;
        let bound: [u8; 32] = r.bytes()?.try_into().map_err(|_| corrupt())?;
        if origin != Origin::AwsCloudHsm
            || spec != KeySpec::SymmetricDefault
            || usage != KeyUsage::EncryptDecrypt
            || count != 0
            || !r.rest.is_empty()
            || bound != digest_of(ATTACHED_DOMAIN, attached)
        {
            return Err(corrupt());
        }
        Ok(Self::attached_to_token(id.to_owned(), token))
    }

    /// Opens a key sealed in parts for key `id` under `root`: its head and every version the
    /// head names, each found among `versions` by its number, with `attached` as it was given
    /// to [`CryptoKey::seal_head`]. A version missing, one the head does not name, one sealed
    /// for another key or number, one whose material or state is not the one the head names,
    /// or `attached` changed, is [`CryptoError::SealedKeyCorrupt`].
    pub fn unseal_parts(
        id: &str,
        head: &[u8],
        versions: &[(u32, &[u8])],
        attached: &[u8],
        root: &RootKey,
    ) -> Result<Self, CryptoError> {
        let plain = open_bytes(root, MAGIC_HEAD, id, head)?;
        let mut r = Reader {
            rest: plain.expose(),
        };
        let (spec, usage, origin) = r.identity()?;
        // A key in a token is opened with its token ([`CryptoKey::unseal_token_head`]).
        if origin == Origin::AwsCloudHsm {
            return Err(corrupt());
        }
        let count = r.u32()?;
        if usize::try_from(count).unwrap_or(usize::MAX) > MAX_VERSIONS
            || versions.len() != usize::try_from(count).unwrap_or(usize::MAX)
        {
            return Err(corrupt());
        }
        let mut named: Vec<Named> = Vec::new();
        for _ in 0..count {
            let number = r.u32()?;
            let fingerprint: [u8; 32] = r.bytes()?.try_into().map_err(|_| corrupt())?;
            let state: [u8; 32] = r.bytes()?.try_into().map_err(|_| corrupt())?;
            named.push(Named {
                number,
                fingerprint,
                state,
            });
        }
        let bound: [u8; 32] = r.bytes()?.try_into().map_err(|_| corrupt())?;
        if !r.rest.is_empty() || bound != digest_of(ATTACHED_DOMAIN, attached) {
            return Err(corrupt());
        }
        // Each version found by its number, in the head's order; the count is checked above,
        // so every row given is one the head names.
        let mut by_number: std::collections::HashMap<u32, &[u8]> =
            std::collections::HashMap::with_capacity(versions.len());
        for (number, sealed) in versions {
            if by_number.insert(*number, sealed).is_some() {
                return Err(corrupt());
            }
        }
        fn open_all<M>(
            id: &str,
            named: &[Named],
            by_number: &std::collections::HashMap<u32, &[u8]>,
            root: &RootKey,
            build: impl Fn(Secret) -> Result<M, CryptoError>,
        ) -> Result<Vec<Version<M>>, CryptoError> {
            named
                .iter()
                .map(|n| {
                    let sealed = by_number.get(&n.number).ok_or_else(corrupt)?;
                    let plain =
                        open_bytes(root, MAGIC_VERSION, &version_binding(id, n.number), sealed)?;
                    let mut r = Reader {
                        rest: plain.expose(),
                    };
                    let version = read_version(&mut r, 2, &build)?;
                    if !r.rest.is_empty()
                        || version.number != n.number
                        || version.fingerprint != n.fingerprint
                        || version_state_digest(&version) != n.state
                    {
                        return Err(corrupt());
                    }
                    Ok(version)
                })
                .collect()
        }
        let mut key = if origin == Origin::External {
            CryptoKey::external(id, spec, usage)?
        } else {
            CryptoKey::external(id, spec, usage)?.with_origin(Origin::AwsKms)
        };
        key.material = match key.material {
            Material::Symmetric(_) => {
                Material::Symmetric(open_all(id, &named, &by_number, root, AesMaterial::new)?)
            }
            Material::Hmac(_) => Material::Hmac(open_all(id, &named, &by_number, root, |s| {
                HmacMaterial::new(spec, s)
            })?),
            Material::Asymmetric(_) => {
                Material::Asymmetric(open_all(id, &named, &by_number, root, |s| {
                    AsymmetricMaterial::from_pkcs8(spec, usage, s)
                })?)
            }
            Material::Token(_) => return Err(corrupt()),
        };
        Ok(key)
    }

    /// The key, every version of its material included, sealed under `root`.
    pub fn seal(&self, root: &RootKey) -> Result<Vec<u8>, CryptoError> {
        let mut w = Writer(Secret::new(Vec::with_capacity(256)));
        w.identity(self);
        match &self.material {
            Material::Symmetric(versions) => {
                w.u32(u32::try_from(versions.len()).map_err(|_| corrupt())?);
                for v in versions {
                    write_version(&mut w, v, AesMaterial::raw);
                }
            }
            Material::Hmac(versions) => {
                w.u32(u32::try_from(versions.len()).map_err(|_| corrupt())?);
                for v in versions {
                    write_version(&mut w, v, HmacMaterial::raw);
                }
            }
            Material::Asymmetric(versions) => {
                w.u32(u32::try_from(versions.len()).map_err(|_| corrupt())?);
                for v in versions {
                    write_version(&mut w, v, |m| m.pkcs8().expose());
                }
            }
            Material::Token(_) => {
                return Err(CryptoError::Internal(
                    "sealing a key whose material is in a token",
                ));
            }
        }
        seal_bytes(root, MAGIC, self.id(), &w.0)
    }

    /// Opens a key sealed by [`CryptoKey::seal`] for key `id` under `root`. A wrong root key,
    /// another key's sealed bytes or any change is [`CryptoError::SealedKeyCorrupt`].
    pub fn unseal(id: &str, sealed: &[u8], root: &RootKey) -> Result<Self, CryptoError> {
        let (format, magic) = if sealed.starts_with(MAGIC) {
            (2, MAGIC)
        } else {
            (1, MAGIC_V1)
        };
        let plain = open_bytes(root, magic, id, sealed)?;
        let mut r = Reader {
            rest: plain.expose(),
        };
        let (spec, usage, origin) = r.identity()?;
        if origin == Origin::AwsCloudHsm {
            return Err(corrupt());
        }
        let count = r.u32()?;
        if usize::try_from(count).unwrap_or(usize::MAX) > MAX_VERSIONS {
            return Err(corrupt());
        }
        let mut key = if origin == Origin::External {
            CryptoKey::external(id, spec, usage)?
        } else {
            // Material is replaced below; an empty shell of the right kind first.
            CryptoKey::external(id, spec, usage)?.with_origin(Origin::AwsKms)
        };
        key.material = match key.material {
            Material::Symmetric(_) => Material::Symmetric(
                (0..count)
                    .map(|_| read_version(&mut r, format, AesMaterial::new))
                    .collect::<Result<_, _>>()?,
            ),
            Material::Hmac(_) => Material::Hmac(
                (0..count)
                    .map(|_| read_version(&mut r, format, |s| HmacMaterial::new(spec, s)))
                    .collect::<Result<_, _>>()?,
            ),
            Material::Asymmetric(_) => Material::Asymmetric(
                (0..count)
                    .map(|_| {
                        read_version(&mut r, format, |s| {
                            AsymmetricMaterial::from_pkcs8(spec, usage, s)
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Material::Token(_) => return Err(corrupt()),
        };
        if !r.rest.is_empty() {
            return Err(corrupt());
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EncryptionAlgorithm, EncryptionContext, SigningAlgorithm};

    /// A key sealed in parts (its head, a version each) opens as the key it was; a version
    /// dropped, swapped between numbers or taken from another key does not.
    #[test]
    fn a_key_sealed_in_parts_opens_whole_and_only_whole() {
        let root = RootKey::generate().unwrap();
        let mut key =
            CryptoKey::generate("k", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
        let before = key
            .encrypt(
                b"old",
                &EncryptionContext::new(),
                EncryptionAlgorithm::SymmetricDefault,
            )
            .unwrap();
        key.rotate().unwrap();
        let head = key.seal_head(&root, b"").unwrap();
        assert!(CryptoKey::is_sealed_head(&head));
        assert!(!CryptoKey::is_sealed_head(&key.seal(&root).unwrap()));
        assert_eq!(key.version_numbers(), [1, 2]);
        let one = key.seal_version(1, &root).unwrap().unwrap();
        let two = key.seal_version(2, &root).unwrap().unwrap();
        assert!(key.seal_version(3, &root).unwrap().is_none());
        let opened =
            CryptoKey::unseal_parts("k", &head, &[(2, &two), (1, &one)], b"", &root).unwrap();
        assert_eq!(opened.materials(), key.materials());
        let plain = opened
            .decrypt(
                &before,
                &EncryptionContext::new(),
                EncryptionAlgorithm::SymmetricDefault,
            )
            .unwrap();
        assert_eq!(plain.expose(), b"old");
        // A version missing, or one more than the head names.
        assert!(CryptoKey::unseal_parts("k", &head, &[(1, &one)], b"", &root).is_err());
        assert!(
            CryptoKey::unseal_parts("k", &head, &[(1, &one), (2, &two), (3, &two)], b"", &root)
                .is_err()
        );
        // Two versions' rows swapped.
        assert!(CryptoKey::unseal_parts("k", &head, &[(1, &two), (2, &one)], b"", &root).is_err());
        // Another key's version, or head, under this key's ID.
        let other =
            CryptoKey::generate("o", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
        let foreign = other.seal_version(1, &root).unwrap().unwrap();
        assert!(
            CryptoKey::unseal_parts("k", &head, &[(1, &foreign), (2, &two)], b"", &root).is_err()
        );
        let foreign_head = other.seal_head(&root, b"").unwrap();
        assert!(CryptoKey::unseal_parts("k", &foreign_head, &[(1, &one)], b"", &root).is_err());
        // Another root key.
        let stranger = RootKey::generate().unwrap();
        assert!(
            CryptoKey::unseal_parts("k", &head, &[(1, &one), (2, &two)], b"", &stranger).is_err()
        );
    }

    /// A version's row put back as it was before its state changed (its material deleted,
    /// its pending flag cleared) does not open under the head written after; nor does the
    /// head open with what it binds beside the versions changed.
    #[test]
    fn a_version_row_put_back_as_it_was_before_does_not_open() {
        let root = RootKey::generate().unwrap();
        let mut key =
            CryptoKey::generate("k", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
        let with_material = key.seal_version(1, &root).unwrap().unwrap();
        let Material::Symmetric(versions) = &mut key.material else {
            panic!("symmetric");
        };
        versions[0].material = None;
        let head = key.seal_head(&root, b"import state").unwrap();
        let without = key.seal_version(1, &root).unwrap().unwrap();
        let opened =
            CryptoKey::unseal_parts("k", &head, &[(1, &without)], b"import state", &root).unwrap();
        assert_eq!(opened.materials(), key.materials());
        assert!(
            CryptoKey::unseal_parts("k", &head, &[(1, &with_material)], b"import state", &root)
                .is_err()
        );
        assert!(CryptoKey::unseal_parts("k", &head, &[(1, &without)], b"", &root).is_err());
        assert!(
            CryptoKey::unseal_parts("k", &head, &[(1, &without)], b"import stat", &root).is_err()
        );

        let mut key =
            CryptoKey::generate("p", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
        key.rotate().unwrap();
        let Material::Symmetric(versions) = &mut key.material else {
            panic!("symmetric");
        };
        versions[1].pending = true;
        let pending = key.seal_version(2, &root).unwrap().unwrap();
        let one = key.seal_version(1, &root).unwrap().unwrap();
        let Material::Symmetric(versions) = &mut key.material else {
            panic!("symmetric");
        };
        versions[1].pending = false;
        let head = key.seal_head(&root, b"").unwrap();
        let current = key.seal_version(2, &root).unwrap().unwrap();
        assert!(
            CryptoKey::unseal_parts("p", &head, &[(1, &one), (2, &current)], b"", &root).is_ok()
        );
        assert!(
            CryptoKey::unseal_parts("p", &head, &[(1, &one), (2, &pending)], b"", &root).is_err()
        );
    }

    /// HMAC and asymmetric keys sealed in parts open as the keys they were, and still work.
    #[test]
    fn hmac_and_asymmetric_keys_sealed_in_parts_open() {
        let root = RootKey::generate().unwrap();
        for (spec, usage) in [
            (KeySpec::Hmac256, KeyUsage::GenerateVerifyMac),
            (KeySpec::EccNistP256, KeyUsage::SignVerify),
            (KeySpec::Rsa2048, KeyUsage::EncryptDecrypt),
            (KeySpec::MlDsa44, KeyUsage::SignVerify),
        ] {
            let key = CryptoKey::generate("k", spec, usage).unwrap();
            let head = key.seal_head(&root, b"").unwrap();
            let one = key.seal_version(1, &root).unwrap().unwrap();
            let opened = CryptoKey::unseal_parts("k", &head, &[(1, &one)], b"", &root).unwrap();
            assert_eq!(opened.materials(), key.materials(), "{spec:?}");
            assert_eq!(opened.spec(), spec);
            assert_eq!(opened.usage(), usage);
            if usage == KeyUsage::GenerateVerifyMac {
                let algorithm = crate::MacAlgorithm::HmacSha256;
                assert_eq!(
                    opened.generate_mac(b"m", algorithm).unwrap(),
                    key.generate_mac(b"m", algorithm).unwrap()
                );
            }
            if usage == KeyUsage::SignVerify {
                assert_eq!(
                    opened.public_key().unwrap(),
                    key.public_key().unwrap(),
                    "{spec:?}"
                );
            }
        }
    }

    /// Keys sealed before per-version flags existed (format v1) still open, as current
    /// material with nothing pending.
    #[test]
    fn format_v1_sealed_keys_still_open() {
        let root = RootKey::generate().unwrap();
        let key = CryptoKey::generate("old", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt)
            .unwrap();
        let Material::Symmetric(versions) = &key.material else {
            panic!("symmetric");
        };
        let version = &versions[0];
        let mut w = Writer(Secret::new(Vec::new()));
        w.bytes(b"SYMMETRIC_DEFAULT");
        w.bytes(b"ENCRYPT_DECRYPT");
        w.bytes(b"AWS_KMS");
        w.u32(1);
        w.u32(version.number);
        w.u32(0);
        w.u32(0);
        w.bytes(&version.fingerprint);
        w.u32(1);
        w.bytes(version.material.as_ref().unwrap().raw());
        let nonce = [3u8; NONCE_LEN];
        let mut body = w.0.expose().to_vec();
        root.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(RootKey::aad(MAGIC_V1, "old")),
                &mut body,
            )
            .unwrap();
        let sealed = [MAGIC_V1.as_slice(), &nonce, &body].concat();
        let opened = CryptoKey::unseal("old", &sealed, &root).unwrap();
        assert_eq!(opened.materials(), key.materials());
        assert!(opened.has_material());
        // The v1 form is bound to its own format tag: relabelled as v2 it does not open.
        let relabelled = [MAGIC.as_slice(), &nonce, &body].concat();
        assert!(CryptoKey::unseal("old", &relabelled, &root).is_err());
    }

    #[test]
    fn record_tags_detect_any_change_to_a_field_or_its_boundaries() {
        let root = RootKey::generate().unwrap();
        let key = root.record_key();
        let tag = key.tag(&[b"key", b"k1", b"{\"policy\":1}"]);
        assert!(key.verify(&[b"key", b"k1", b"{\"policy\":1}"], &tag));
        assert!(!key.verify(&[b"key", b"k1", b"{\"policy\":2}"], &tag));
        assert!(!key.verify(&[b"key", b"k2", b"{\"policy\":1}"], &tag));
        assert!(!key.verify(&[b"keyk1", b"", b"{\"policy\":1}"], &tag));
        assert!(!key.verify(&[b"key", b"k1", b"{\"policy\":1}"], &tag[..31]));
        let other = RootKey::generate().unwrap().record_key();
        assert!(!other.verify(&[b"key", b"k1", b"{\"policy\":1}"], &tag));
        assert_eq!(format!("{key:?}"), "RecordKey(..)");
    }

    #[test]
    fn sealed_key_round_trips_every_version() {
        let root = RootKey::generate().unwrap();
        let mut key =
            CryptoKey::generate("k1", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
        let ctx = EncryptionContext::new().with("a", "b");
        let old = key
            .encrypt(b"v1", &ctx, EncryptionAlgorithm::SymmetricDefault)
            .unwrap();
        key.rotate().unwrap();
        let new = key
            .encrypt(b"v2", &ctx, EncryptionAlgorithm::SymmetricDefault)
            .unwrap();
        let sealed = key.seal(&root).unwrap();
        let opened = CryptoKey::unseal("k1", &sealed, &root).unwrap();
        assert_eq!(opened.materials(), key.materials());
        for (blob, plain) in [(&old, b"v1"), (&new, b"v2")] {
            let out = opened
                .decrypt(blob, &ctx, EncryptionAlgorithm::SymmetricDefault)
                .unwrap();
            assert_eq!(out.expose(), plain);
        }
    }

    #[test]
    fn sealed_asymmetric_and_hmac_keys_keep_their_material() {
        let root = RootKey::generate().unwrap();
        let signer = CryptoKey::generate("s", KeySpec::EccNistP256, KeyUsage::SignVerify).unwrap();
        let opened = CryptoKey::unseal("s", &signer.seal(&root).unwrap(), &root).unwrap();
        assert_eq!(opened.public_key().unwrap(), signer.public_key().unwrap());
        let sig = opened
            .sign(b"m", crate::MessageType::Raw, SigningAlgorithm::EcdsaSha256)
            .unwrap();
        assert!(
            signer
                .verify(
                    b"m",
                    crate::MessageType::Raw,
                    SigningAlgorithm::EcdsaSha256,
                    &sig
                )
                .is_ok()
        );
        let mac = CryptoKey::generate("h", KeySpec::Hmac256, KeyUsage::GenerateVerifyMac).unwrap();
        let opened = CryptoKey::unseal("h", &mac.seal(&root).unwrap(), &root).unwrap();
        let tag = mac
            .generate_mac(b"m", crate::MacAlgorithm::HmacSha256)
            .unwrap();
        assert!(
            opened
                .verify_mac(b"m", crate::MacAlgorithm::HmacSha256, &tag)
                .is_ok()
        );
    }

    #[test]
    fn sealed_key_refuses_another_root_another_id_and_any_change() {
        let root = RootKey::generate().unwrap();
        let key =
            CryptoKey::generate("k1", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
        let sealed = key.seal(&root).unwrap();
        let other = RootKey::generate().unwrap();
        let code = |r: Result<CryptoKey, CryptoError>| r.unwrap_err().code();
        assert_eq!(
            code(CryptoKey::unseal("k1", &sealed, &other)),
            "KMSInternalException"
        );
        assert!(matches!(
            CryptoKey::unseal("k2", &sealed, &root),
            Err(CryptoError::SealedKeyCorrupt)
        ));
        for i in 0..sealed.len() {
            let mut changed = sealed.clone();
            changed[i] ^= 1;
            assert!(
                CryptoKey::unseal("k1", &changed, &root).is_err(),
                "byte {i}"
            );
        }
        assert!(CryptoKey::unseal("k1", &sealed[..sealed.len() - 1], &root).is_err());
        assert!(CryptoKey::unseal("k1", b"", &root).is_err());
    }

    #[test]
    fn sealed_external_key_keeps_its_pending_state() {
        let root = RootKey::generate().unwrap();
        let key =
            CryptoKey::external("e", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
        let opened = CryptoKey::unseal("e", &key.seal(&root).unwrap(), &root).unwrap();
        assert_eq!(opened.origin(), Origin::External);
        assert!(!opened.has_material());
    }

    #[test]
    fn derived_keys_depend_on_root_and_purpose() {
        let root = RootKey::from_bytes(Secret::from_slice(&[1; 32])).unwrap();
        let other = RootKey::from_bytes(Secret::from_slice(&[2; 32])).unwrap();
        assert_eq!(root.derive(b"a"), root.derive(b"a"));
        assert_ne!(root.derive(b"a"), root.derive(b"b"));
        assert_ne!(root.derive(b"a"), other.derive(b"a"));
    }

    #[cfg(unix)]
    #[test]
    fn root_key_file_is_created_0600_and_refused_when_others_can_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let first = RootKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read(&path).unwrap().len(), 32);
        // The same key comes back: what one sealed, the other opens.
        let key =
            CryptoKey::generate("k", KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt).unwrap();
        let sealed = key.seal(&first).unwrap();
        let again = RootKey::load_or_create(&path).unwrap();
        assert!(CryptoKey::unseal("k", &sealed, &again).is_ok());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = RootKey::load_or_create(&path).unwrap_err().to_string();
        assert!(error.contains("readable by others (mode 644)"), "{error}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            RootKey::load_or_create(&path),
            Err(RootKeyError::Length { len: 5, .. })
        ));
    }
}
