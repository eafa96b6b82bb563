//! What the tests share: the account and its principals, a service over a memory store with a
//! manual clock and an in-memory audit trail, key policies, keys of each kind, imported key
//! material, and the requests most tests make.

use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PublicEncryptingKey};
use keyward_crypto::RootKey;
use keyward_kms::api::{
    AliasListEntry, CreateAliasRequest, CreateGrantRequest, CreateKeyRequest, DecryptRequest,
    DecryptResponse, DescribeKeyRequest, EncryptRequest, EncryptResponse, EncryptionContext,
    GetParametersForImportRequest, ImportKeyMaterialRequest, KeyListEntry, KeyMetadata,
    ListAliasesRequest, ListGrantsRequest, ListKeysRequest, Tag, TagResourceRequest,
};
use keyward_kms::audit::MemoryAudit;
use keyward_kms::clock::ManualClock;
use keyward_kms::store::{MemoryStore, Store};
use keyward_kms::{Caller, Enforcement, Kms, KmsConfig, KmsError};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The service's account, where the principals below live.
pub(crate) const ACCOUNT: &str = "111122223333";
/// Named in every key policy [`admin_policy`] writes.
pub(crate) const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
/// Roles of the account, allowed nothing unless a test says so.
pub(crate) const APP: &str = "arn:aws:iam::111122223333:role/App";
pub(crate) const USER: &str = "arn:aws:iam::111122223333:role/User";
pub(crate) const OTHER: &str = "arn:aws:iam::111122223333:role/Other";
/// An identity policy allowing every KMS action on every resource.
pub(crate) const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
/// The code of a denial.
pub(crate) const DENIED: &str = "AccessDeniedException";
/// A day, for moving a manual clock.
pub(crate) const DAY: Duration = Duration::from_secs(86_400);

/// When every manual clock starts: 2027-01-15T08:00:00Z.
pub(crate) fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// The service in `us-east-1`, its default account [`ACCOUNT`].
pub(crate) fn config() -> KmsConfig {
    KmsConfig::new("us-east-1", ACCOUNT)
}

/// A caller with its identity policies.
pub(crate) fn caller(arn: &str, identity_policies: &[&str]) -> Caller {
    Caller::new(arn, identity_policies).unwrap()
}

/// A service, what it audits, its clock, and the admin ([`ADMIN`] with [`ALLOW_ALL`]).
pub(crate) struct Fixture {
    pub kms: Kms,
    pub audit: Arc<MemoryAudit>,
    pub clock: Arc<ManualClock>,
    pub admin: Caller,
}

/// A service over a memory store with a new root key, its clock at [`start`].
pub(crate) fn fixture() -> Fixture {
    Fixture::over(
        Box::new(MemoryStore::new()),
        RootKey::generate().unwrap(),
        Arc::new(ManualClock::new(start())),
    )
}

/// As [`fixture`], in report mode: denials are recorded and the calls proceed.
pub(crate) fn reporting_fixture() -> Fixture {
    Fixture::with_config(
        KmsConfig {
            enforcement: Enforcement::Report,
            ..config()
        },
        Box::new(MemoryStore::new()),
        RootKey::generate().unwrap(),
        Arc::new(ManualClock::new(start())),
    )
}

impl Fixture {
    /// A service over `store`, sealed under `root`, reading the time from `clock`.
    pub(crate) fn over(store: Box<dyn Store>, root: RootKey, clock: Arc<ManualClock>) -> Self {
        Self::with_config(config(), store, root, clock)
    }

    /// As [`Fixture::over`], configured by `config`.
    pub(crate) fn with_config(
        config: KmsConfig,
        store: Box<dyn Store>,
        root: RootKey,
        clock: Arc<ManualClock>,
    ) -> Self {
        let audit = Arc::new(MemoryAudit::new());
        let kms = Kms::open(config, store, root, audit.clone(), clock.clone()).unwrap();
        Self {
            kms,
            audit,
            clock,
            admin: caller(ADMIN, &[ALLOW_ALL]),
        }
    }

    /// A key of `kind` created by the admin under [`admin_policy`]`(statements)`.
    pub(crate) fn key(&self, kind: Kind, statements: &str) -> String {
        let (spec, usage, origin) = kind.spec_usage_origin();
        self.key_of(spec, usage, origin, statements)
    }

    /// A symmetric encryption key ([`Kind::Symmetric`]) created by the admin under
    /// [`admin_policy`]`(statements)`.
    pub(crate) fn symmetric(&self, statements: &str) -> String {
        self.key(Kind::Symmetric, statements)
    }

    /// A key of any spec, usage and origin created by the admin under
    /// [`admin_policy`]`(statements)`.
    pub(crate) fn key_of(&self, spec: &str, usage: &str, origin: &str, statements: &str) -> String {
        create_key_of(&self.kms, &self.admin, (spec, usage, origin), statements)
    }

    /// The key's metadata, as the admin sees it.
    pub(crate) fn describe(&self, key: &str) -> KeyMetadata {
        self.kms
            .describe_key(&self.admin, &DescribeKeyRequest::new(key))
            .unwrap()
            .key_metadata
    }
}

/// The kinds of key the tests use most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// SYMMETRIC_DEFAULT for encryption, material made by KMS.
    Symmetric,
    /// SYMMETRIC_DEFAULT for encryption, material imported.
    External,
    /// ECC_NIST_P256 for signing.
    Sign,
    /// HMAC_256.
    Hmac,
    /// ECC_NIST_P256 for key agreement.
    Agreement,
}

impl Kind {
    /// `KeySpec`, `KeyUsage` and `Origin` of a key of this kind.
    pub(crate) const fn spec_usage_origin(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Symmetric => ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "AWS_KMS"),
            Self::External => ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "EXTERNAL"),
            Self::Sign => ("ECC_NIST_P256", "SIGN_VERIFY", "AWS_KMS"),
            Self::Hmac => ("HMAC_256", "GENERATE_VERIFY_MAC", "AWS_KMS"),
            Self::Agreement => ("ECC_NIST_P256", "KEY_AGREEMENT", "AWS_KMS"),
        }
    }
}

/// A key policy: the admin ([`ADMIN`], statement `Admin`) may do everything, plus
/// `statements` (JSON statements separated by commas; empty for none).
pub(crate) fn admin_policy(statements: &str) -> String {
    let extra = if statements.is_empty() {
        String::new()
    } else {
        format!(",{statements}")
    };
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"{ADMIN}"}},"Action":"kms:*","Resource":"*"}}{extra}]}}"#
    )
}

/// A key of (spec, usage, origin) created through `kms` by `caller` under
/// [`admin_policy`]`(statements)`.
pub(crate) fn create_key_of(
    kms: &Kms,
    caller: &Caller,
    (spec, usage, origin): (&str, &str, &str),
    statements: &str,
) -> String {
    let request = CreateKeyRequest {
        key_spec: Some(spec.into()),
        key_usage: Some(usage.into()),
        origin: Some(origin.into()),
        policy: Some(admin_policy(statements)),
        ..CreateKeyRequest::default()
    };
    kms.create_key(caller, &request)
        .unwrap()
        .key_metadata
        .key_id
}

pub(crate) fn default_key(kms: &Kms, caller: &Caller) -> KeyMetadata {
    kms.create_key(caller, &CreateKeyRequest::default())
        .unwrap()
        .key_metadata
}

/// An encryption context of `pairs`.
pub(crate) fn ec(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Encrypt of `plaintext` under `key` with the encryption context `context`.
pub(crate) fn encrypt(
    kms: &Kms,
    caller: &Caller,
    key: &str,
    plaintext: &[u8],
    context: &[(&str, &str)],
) -> Result<EncryptResponse, KmsError> {
    kms.encrypt(
        caller,
        &EncryptRequest {
            key_id: key.into(),
            plaintext: plaintext.into(),
            encryption_context: ec(context),
            ..EncryptRequest::default()
        },
    )
}

/// Decrypt of `blob` with the encryption context `context`.
pub(crate) fn decrypt(
    kms: &Kms,
    caller: &Caller,
    blob: &[u8],
    context: &[(&str, &str)],
) -> Result<DecryptResponse, KmsError> {
    kms.decrypt(
        caller,
        &DecryptRequest {
            ciphertext_blob: blob.to_vec(),
            encryption_context: ec(context),
            ..DecryptRequest::default()
        },
    )
}

/// CreateAlias of `name` for `key`.
pub(crate) fn alias(name: &str, key: &str) -> CreateAliasRequest {
    CreateAliasRequest {
        alias_name: name.into(),
        target_key_id: key.into(),
    }
}

/// CreateGrant on `key` for `grantee`, of `operations`, nothing else set.
pub(crate) fn grant(key: &str, grantee: &str, operations: &[&str]) -> CreateGrantRequest {
    CreateGrantRequest {
        key_id: key.into(),
        grantee_principal: grantee.into(),
        operations: operations.iter().map(|o| (*o).to_owned()).collect(),
        ..CreateGrantRequest::default()
    }
}

/// ListGrants of `key`, the first page.
pub(crate) fn grants_of(key: &str) -> ListGrantsRequest {
    ListGrantsRequest {
        key_id: key.into(),
        ..ListGrantsRequest::default()
    }
}

/// Every item of a list, page after page: `page` is called with each page's marker (none for
/// the first) and answers the page's items, its `NextMarker` and its `Truncated`.
fn every_page<T>(mut page: impl FnMut(Option<String>) -> (Vec<T>, Option<String>, bool)) -> Vec<T> {
    let mut all = Vec::new();
    let mut marker = None;
    loop {
        let (items, next_marker, truncated) = page(marker);
        assert_eq!(
            truncated,
            next_marker.is_some(),
            "Truncated and NextMarker disagree"
        );
        all.extend(items);
        match next_marker {
            Some(next) => marker = Some(next),
            None => return all,
        }
    }
}

/// Every key of the caller's account.
pub(crate) fn all_keys(kms: &Kms, caller: &Caller) -> Vec<KeyListEntry> {
    every_page(|marker| {
        let page = kms
            .list_keys(
                caller,
                &ListKeysRequest {
                    limit: None,
                    marker,
                },
            )
            .unwrap();
        (page.keys, page.next_marker, page.truncated)
    })
}

/// Every alias of the caller's account (of `key` only, when given).
pub(crate) fn all_aliases(kms: &Kms, caller: &Caller, key: Option<&str>) -> Vec<AliasListEntry> {
    every_page(|marker| {
        let request = ListAliasesRequest {
            key_id: key.map(str::to_owned),
            limit: None,
            marker,
        };
        let page = kms.list_aliases(caller, &request).unwrap();
        (page.aliases, page.next_marker, page.truncated)
    })
}

/// `ok`, or the error code.
pub(crate) fn code<T>(r: Result<T, KmsError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code().as_str(),
    }
}

/// The message of an error (empty when it has none).
pub(crate) fn message<T: std::fmt::Debug>(r: Result<T, KmsError>) -> String {
    r.unwrap_err().message().unwrap_or_default()
}

/// GetParametersForImport of `key` with an RSA_2048 wrapping key and RSAES_OAEP_SHA_256.
pub(crate) fn parameters_for_import(key: &str) -> GetParametersForImportRequest {
    GetParametersForImportRequest {
        key_id: key.into(),
        wrapping_algorithm: "RSAES_OAEP_SHA_256".into(),
        wrapping_key_spec: "RSA_2048".into(),
    }
}

/// ImportKeyMaterial of `material` into `key`, wrapped as a key owner would under fresh
/// import parameters (got by `caller`); expiration and import type left absent.
pub(crate) fn import_request(
    kms: &Kms,
    caller: &Caller,
    key: &str,
    material: &[u8],
) -> ImportKeyMaterialRequest {
    let parameters = kms
        .get_parameters_for_import(caller, &parameters_for_import(key))
        .unwrap();
    ImportKeyMaterialRequest {
        key_id: key.into(),
        import_token: parameters.import_token,
        encrypted_key_material: wrap(&parameters.public_key, material),
        ..ImportKeyMaterialRequest::default()
    }
}

/// Wraps `material` with RSAES_OAEP_SHA_256 under the wrapping key, as a key owner would.
fn wrap(public_key_der: &[u8], material: &[u8]) -> Vec<u8> {
    let public =
        OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(public_key_der).unwrap())
            .unwrap();
    let mut out = vec![0; public.ciphertext_size()];
    let n = public
        .encrypt(&OAEP_SHA256_MGF1SHA256, material, &mut out, None)
        .unwrap()
        .len();
    out.truncate(n);
    out
}

/// TagResource of `key` with the one tag `tag_key` = `tag_value`.
pub(crate) fn tag(key: &str, tag_key: &str, tag_value: &str) -> TagResourceRequest {
    TagResourceRequest {
        key_id: key.into(),
        tags: vec![Tag::new(tag_key, tag_value)],
    }
}
