//! The configuration of `keyward serve`, exactly as `crates/server/CONFIG.md` gives it:
//! a TOML file (region, account, listen address, data directory, audit log, principals), flags
//! that override it, and the defaults with one generated admin identity when there is no file.

use crate::seed::Seed;
pub use keyward_kms::Enforcement;
use keyward_kms::api::{Operation, Quota};
pub use keyward_kms::audit::AuditSync;
use keyward_kms::default_instance;
pub use keyward_kms::key_stores::KeyStoreConfig;
use keyward_kms::key_stores::Secret;
pub use keyward_kms::quotas::{Fault, QuotaConfig};
use keyward_kms::store::StoreLocation;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Where the server listens when nothing says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4599";
/// The region when nothing says otherwise.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The account that owns the keys when nothing says otherwise.
pub const DEFAULT_ACCOUNT: &str = "111122223333";
/// The data directory when nothing says otherwise (relative to the config file's folder, or to
/// the working directory when there is no file).
pub const DEFAULT_DATA_DIR: &str = "keyward-data";

/// The identity policy of the generated admin: every KMS action on every resource.
pub const ADMIN_IDENTITY_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

/// A configuration that cannot be used: the file, where in it, the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {field}: {problem}", position.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct ConfigError {
    /// The config file (or the flag that was wrong, as `--listen`).
    pub file: String,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// The field, as `principals[1].access_key_id`.
    pub field: String,
    /// What is wrong with the field's value, as a sentence fragment.
    pub problem: String,
}

/// One principal that may call the server: who it is and how it signs.
#[derive(Clone)]
pub struct PrincipalConfig {
    /// The principal's ARN; its account is the ARN's.
    pub arn: String,
    /// The SigV4 access key ID it signs with: 16 to 128 ASCII letters and digits, unique
    /// among the principals.
    pub access_key_id: String,
    /// The SigV4 secret access key (at least 16 characters); zeroized on drop, never shown.
    pub secret_access_key: Zeroizing<String>,
    /// Identity policy documents (JSON texts, read from their files).
    pub identity_policies: Vec<String>,
    /// Principal tags (`aws:PrincipalTag/<key>`).
    pub tags: BTreeMap<String, String>,
    /// `kms:ViaService` of every request the principal signs: it stands for an AWS service
    /// calling on someone's behalf (`s3.us-east-1.amazonaws.com`).
    pub via_service: Option<String>,
}

impl std::fmt::Debug for PrincipalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrincipalConfig")
            .field("arn", &self.arn)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("identity_policies", &self.identity_policies.len())
            .field("tags", &self.tags)
            .field("via_service", &self.via_service)
            .finish()
    }
}

/// The server's whole configuration, paths resolved.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The default Region (e.g. `us-east-1`): the generated admin's, and the one a seed's
    /// keys are created in.
    pub region: String,
    /// Every Region served, the default first; a request is served in the Region of its
    /// SigV4 credential scope, which must be one of these.
    pub regions: Vec<String>,
    /// The 12-digit account ID the key service reports as its own.
    pub account: String,
    /// The address and port to listen on (port 0: one the system picks).
    pub listen: SocketAddr,
    /// The folder of the key store (`keys.db`) and the root key (`root.key`).
    pub data_dir: PathBuf,
    /// `store`: where the keys' rows live, SQLite files under `data_dir` (the default) or a
    /// PostgreSQL database.
    pub store: StoreLocation,
    /// `instance`: this instance's name in every audit record; the host's name and the
    /// process ID unless set.
    pub instance: String,
    /// The audit log file, one JSON line per call.
    pub audit_log: PathBuf,
    /// `audit = "postgres"`: every call's record also goes to the database's `audit` table,
    /// a change's in the change's own transaction (needs a PostgreSQL `store`). `"file"`, the
    /// default: the audit log file only.
    pub audit_in_store: bool,
    /// `audit_sync` (with the added `audit_sync_interval_ms`): when the audit log's records
    /// reach the disk. `"batched"` every 10 ms unless set.
    pub audit_sync: AuditSync,
    /// Who may call the server; never empty.
    pub principals: Vec<PrincipalConfig>,
    /// True when the admin identity was generated (no config file): it is printed once.
    pub generated_admin: bool,
    /// `enforcement`: whether denials stop calls (`enforce`, the default) or are only
    /// recorded in the audit log (`report`).
    pub enforcement: Enforcement,
    /// `[quotas]`: request quotas and fault injection; off when absent.
    pub quotas: Option<QuotaConfig>,
    /// `seed` (or `--seed`): keys created at start, idempotently.
    pub seed: Option<Seed>,
    /// `[[key_stores]]`: custom key stores, each a PKCS#11 token.
    pub key_stores: Vec<KeyStoreConfig>,
    /// `pkcs11_module`: the PKCS#11 module of the stores CreateCustomKeyStore registers; by
    /// default the one every `[[key_stores]]` entry names, when they name one.
    pub pkcs11_module: Option<PathBuf>,
}

/// Flags of `keyward serve`, which override the file.
#[derive(Clone, Default)]
pub struct Overrides {
    /// `--listen ADDR:PORT`, unparsed: replaces `listen`.
    pub listen: Option<String>,
    /// `--data-dir DIR`, relative to the working directory: replaces `data_dir` (and moves
    /// the audit log with it when the file sets no `audit_log`).
    pub data_dir: Option<PathBuf>,
    /// `--seed FILE`, relative to the working directory: replaces `seed`.
    pub seed: Option<PathBuf>,
    /// `--store sqlite|postgres://...`, unparsed: replaces `store`.
    pub store: Option<String>,
}

/// The `--store` URL shown without a password it may hold.
impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("seed", &self.seed)
            .field(
                "store",
                &self
                    .store
                    .as_deref()
                    .map(|s| StoreLocation::parse(s).map_or_else(|e| e, |l| l.shown())),
            )
            .finish()
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    region: Option<toml::Spanned<String>>,
    regions: Option<Vec<toml::Spanned<String>>>,
    account: Option<toml::Spanned<String>>,
    listen: Option<toml::Spanned<String>>,
    data_dir: Option<toml::Spanned<String>>,
    audit_log: Option<toml::Spanned<String>>,
    audit: Option<toml::Spanned<String>>,
    audit_sync: Option<toml::Spanned<String>>,
    audit_sync_interval_ms: Option<toml::Spanned<u64>>,
    store: Option<toml::Spanned<String>>,
    instance: Option<toml::Spanned<String>>,
    enforcement: Option<toml::Spanned<String>>,
    quotas: Option<FileQuotas>,
    seed: Option<toml::Spanned<String>>,
    #[serde(default)]
    principals: Vec<FilePrincipal>,
    #[serde(default)]
    key_stores: Vec<FileKeyStore>,
    pkcs11_module: Option<toml::Spanned<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKeyStore {
    id: toml::Spanned<String>,
    name: toml::Spanned<String>,
    module: toml::Spanned<String>,
    token_label: toml::Spanned<String>,
    pin_env: Option<toml::Spanned<String>>,
    pin_file: Option<toml::Spanned<String>>,
    /// Refused with its own message: a PIN is never written in the file.
    pin: Option<toml::Spanned<String>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQuotas {
    cryptographic_per_second: Option<toml::Spanned<f64>>,
    rsa_per_second: Option<toml::Spanned<f64>>,
    ecc_per_second: Option<toml::Spanned<f64>>,
    ml_dsa_per_second: Option<toml::Spanned<f64>>,
    #[serde(default)]
    operations: BTreeMap<String, toml::Spanned<f64>>,
    fault_rate: Option<toml::Spanned<f64>>,
    faults: Option<Vec<toml::Spanned<String>>>,
    fault_delay_ms: Option<toml::Spanned<u64>>,
    fault_seed: Option<u64>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePrincipal {
    arn: toml::Spanned<String>,
    access_key_id: toml::Spanned<String>,
    secret_access_key: toml::Spanned<String>,
    #[serde(default)]
    identity_policies: Vec<toml::Spanned<String>>,
    #[serde(default)]
    tags: BTreeMap<String, toml::Spanned<String>>,
    via_service: Option<toml::Spanned<String>>,
}

/// The 1-based line and column of byte `offset` in `text`.
pub(crate) fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(1, |l| l.chars().count() + 1);
    (line, column)
}

/// Turns byte offsets of one text into 1-based line and column.
struct Locator<'a> {
    file: String,
    text: &'a str,
}

impl Locator<'_> {
    fn position(&self, offset: usize) -> (usize, usize) {
        position(self.text, offset)
    }

    fn error<T>(
        &self,
        at: &toml::Spanned<T>,
        field: &str,
        problem: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            position: Some(self.position(at.span().start)),
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

impl ServerConfig {
    /// The configuration with no file: defaults and one generated admin identity
    /// (`arn:aws:iam::<account>:user/admin`, allowed `kms:*`), then the flags.
    pub fn generated(overrides: &Overrides) -> Result<Self, ConfigError> {
        let data_dir = overrides
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let admin = PrincipalConfig {
            arn: format!("arn:aws:iam::{DEFAULT_ACCOUNT}:user/admin"),
            access_key_id: generated_access_key_id(),
            secret_access_key: generated_secret(),
            identity_policies: vec![ADMIN_IDENTITY_POLICY.to_owned()],
            tags: BTreeMap::new(),
            via_service: None,
        };
        Ok(Self {
            region: DEFAULT_REGION.to_owned(),
            regions: vec![DEFAULT_REGION.to_owned()],
            account: DEFAULT_ACCOUNT.to_owned(),
            listen: listen_flag(overrides)?.unwrap_or(default_listen()),
            audit_log: data_dir.join("audit.jsonl"),
            audit_in_store: false,
            audit_sync: AuditSync::default(),
            data_dir,
            store: store_flag(overrides)?.unwrap_or_default(),
            instance: default_instance(),
            principals: vec![admin],
            generated_admin: true,
            enforcement: Enforcement::Enforce,
            quotas: None,
            seed: overrides
                .seed
                .as_deref()
                .map(|path| Seed::load(path, DEFAULT_ACCOUNT))
                .transpose()?,
            key_stores: Vec::new(),
            pkcs11_module: None,
        })
    }

    /// Reads the config file at `path`, then applies the flags.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: shown.clone(),
            position: None,
            field: "(file)".into(),
            problem: format!("cannot read it: {e}"),
        })?;
        let folder = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &shown, folder, overrides)
    }

    /// Parses a config text; `file` names it in errors, `folder` resolves relative paths.
    pub fn parse(
        text: &str,
        file: &str,
        folder: &Path,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let at = Locator {
            file: file.to_owned(),
            text,
        };
        let raw: FileConfig = toml::from_str(text).map_err(|e| ConfigError {
            file: file.to_owned(),
            position: e.span().map(|s| at.position(s.start)),
            field: e
                .message()
                .split('`')
                .nth(1)
                .map_or_else(|| "(syntax)".to_owned(), str::to_owned),
            problem: e.message().trim().to_owned(),
        })?;
        let region = match &raw.region {
            Some(r) if !valid_region(r.get_ref()) => {
                return Err(at.error(
                    r,
                    "region",
                    format!("'{}' is not a region name such as us-east-1", r.get_ref()),
                ));
            }
            Some(r) => r.get_ref().clone(),
            None => DEFAULT_REGION.to_owned(),
        };
        let mut regions = vec![region.clone()];
        for (i, r) in raw.regions.iter().flatten().enumerate() {
            if !valid_region(r.get_ref()) {
                return Err(at.error(
                    r,
                    &format!("regions[{i}]"),
                    format!("'{}' is not a region name such as eu-west-1", r.get_ref()),
                ));
            }
            if !regions.contains(r.get_ref()) {
                regions.push(r.get_ref().clone());
            }
        }
        let account = match &raw.account {
            Some(a) if !valid_account(a.get_ref()) => {
                return Err(at.error(
                    a,
                    "account",
                    format!("'{}' is not a 12-digit account ID", a.get_ref()),
                ));
            }
            Some(a) => a.get_ref().clone(),
            None => DEFAULT_ACCOUNT.to_owned(),
        };
        let listen = match (listen_flag(overrides)?, &raw.listen) {
            (Some(flag), _) => flag,
            (None, Some(l)) => l.get_ref().parse().map_err(|_| {
                at.error(
                    l,
                    "listen",
                    format!("'{}' is not an address such as 127.0.0.1:4599", l.get_ref()),
                )
            })?,
            (None, None) => default_listen(),
        };
        let data_dir = match (&overrides.data_dir, &raw.data_dir) {
            (Some(flag), _) => flag.clone(),
            (None, Some(d)) if d.get_ref().is_empty() => {
                return Err(at.error(d, "data_dir", "must not be empty"));
            }
            (None, Some(d)) => folder.join(d.get_ref()),
            (None, None) => folder.join(DEFAULT_DATA_DIR),
        };
        let audit_log = match &raw.audit_log {
            Some(a) if a.get_ref().is_empty() => {
                return Err(at.error(a, "audit_log", "must not be empty"));
            }
            Some(a) => folder.join(a.get_ref()),
            None => data_dir.join("audit.jsonl"),
        };
        let store = match (store_flag(overrides)?, &raw.store) {
            (Some(flag), _) => flag,
            (None, Some(s)) => StoreLocation::parse(s.get_ref())
                .map_err(|problem| at.error(s, "store", problem))?,
            (None, None) => StoreLocation::Sqlite,
        };
        let instance = match &raw.instance {
            None => default_instance(),
            Some(i) => {
                let name = i.get_ref();
                if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
                    return Err(at.error(
                        i,
                        "instance",
                        "must be 1 to 128 characters, none of them a control character",
                    ));
                }
                name.clone()
            }
        };
        let audit_in_store = match &raw.audit {
            None => false,
            Some(a) => match a.get_ref().as_str() {
                "file" => false,
                "postgres" if matches!(store, StoreLocation::Postgres(_)) => true,
                "postgres" => {
                    return Err(at.error(
                        a,
                        "audit",
                        "\"postgres\" writes the records to the store's database: it needs store = \"postgres://...\"",
                    ));
                }
                other => {
                    return Err(at.error(
                        a,
                        "audit",
                        format!("'{other}' is neither \"file\" nor \"postgres\""),
                    ));
                }
            },
        };
        let audit_sync = audit_sync(&raw, &at)?;
        let enforcement = match &raw.enforcement {
            None => Enforcement::Enforce,
            Some(e) => Enforcement::parse(e.get_ref()).ok_or_else(|| {
                at.error(
                    e,
                    "enforcement",
                    format!("'{}' is neither \"enforce\" nor \"report\"", e.get_ref()),
                )
            })?,
        };
        let quotas = raw
            .quotas
            .as_ref()
            .map(|q| quota_config(q, &at))
            .transpose()?;
        let seed = match (&overrides.seed, &raw.seed) {
            (Some(flag), _) => Some(Seed::load(flag, &account)?),
            (None, Some(s)) if s.get_ref().is_empty() => {
                return Err(at.error(s, "seed", "must not be empty"));
            }
            (None, Some(s)) => Some(Seed::load(&folder.join(s.get_ref()), &account)?),
            (None, None) => None,
        };
        if raw.principals.is_empty() {
            return Err(ConfigError {
                file: file.to_owned(),
                position: None,
                field: "principals".into(),
                problem: "no [[principals]]: nobody could sign a request".into(),
            });
        }
        let mut principals: Vec<PrincipalConfig> = Vec::with_capacity(raw.principals.len());
        for (i, p) in raw.principals.iter().enumerate() {
            let field = |name: &str| format!("principals[{i}].{name}");
            let arn = p.arn.get_ref();
            if let Err(e) = keyward_kms::Caller::new(arn, &[]) {
                return Err(at.error(
                    &p.arn,
                    &field("arn"),
                    format!("'{arn}' is not a principal ARN: {e}"),
                ));
            }
            let key = p.access_key_id.get_ref();
            if !valid_access_key_id(key) {
                return Err(at.error(
                    &p.access_key_id,
                    &field("access_key_id"),
                    format!("'{key}' is not an access key ID (16 to 128 letters and digits)"),
                ));
            }
            if principals.iter().any(|q| q.access_key_id == *key) {
                return Err(at.error(
                    &p.access_key_id,
                    &field("access_key_id"),
                    format!("'{key}' is already given to another principal"),
                ));
            }
            if p.secret_access_key.get_ref().len() < 16 {
                return Err(at.error(
                    &p.secret_access_key,
                    &field("secret_access_key"),
                    "must be at least 16 characters",
                ));
            }
            let mut policies = Vec::with_capacity(p.identity_policies.len());
            for (j, entry) in p.identity_policies.iter().enumerate() {
                let name = field(&format!("identity_policies[{j}]"));
                let value = entry.get_ref();
                let text = if value.trim_start().starts_with('{') {
                    value.clone()
                } else {
                    let path = folder.join(value);
                    std::fs::read_to_string(&path).map_err(|e| {
                        at.error(entry, &name, format!("cannot read {}: {e}", path.display()))
                    })?
                };
                if let Err(e) = keyward_kms::Caller::new(arn, &[text.as_str()]) {
                    return Err(at.error(entry, &name, e.to_string()));
                }
                policies.push(text);
            }
            let via_service = match &p.via_service {
                Some(v) if !valid_service_endpoint(v.get_ref()) => {
                    return Err(at.error(
                        v,
                        &field("via_service"),
                        format!(
                            "'{}' is not a service endpoint such as s3.us-east-1.amazonaws.com",
                            v.get_ref()
                        ),
                    ));
                }
                Some(v) => Some(v.get_ref().clone()),
                None => None,
            };
            principals.push(PrincipalConfig {
                arn: arn.clone(),
                access_key_id: key.clone(),
                secret_access_key: Zeroizing::new(p.secret_access_key.get_ref().clone()),
                identity_policies: policies,
                tags: p
                    .tags
                    .iter()
                    .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                    .collect(),
                via_service,
            });
        }
        let key_stores = key_stores(&raw.key_stores, &at, folder)?;
        let pkcs11_module = match &raw.pkcs11_module {
            Some(m) if m.get_ref().is_empty() => {
                return Err(at.error(m, "pkcs11_module", "must not be empty"));
            }
            Some(m) => Some(module_path(m.get_ref(), folder)),
            // The one module every store names, when they name one.
            None => match key_stores.split_first() {
                Some((first, rest)) if rest.iter().all(|k| k.module == first.module) => {
                    Some(first.module.clone())
                }
                _ => None,
            },
        };
        Ok(Self {
            region,
            regions,
            account,
            listen,
            data_dir,
            audit_log,
            audit_in_store,
            audit_sync,
            store,
            instance,
            principals,
            generated_admin: false,
            enforcement,
            quotas,
            seed,
            key_stores,
            pkcs11_module,
        })
    }
}

/// `audit_sync` and `audit_sync_interval_ms` (1 to 1000; 10 unless set), checked.
fn audit_sync(raw: &FileConfig, at: &Locator<'_>) -> Result<AuditSync, ConfigError> {
    let interval = match &raw.audit_sync_interval_ms {
        None => std::time::Duration::from_millis(10),
        Some(ms) if (1..=1000).contains(ms.get_ref()) => {
            std::time::Duration::from_millis(*ms.get_ref())
        }
        Some(ms) => {
            return Err(at.error(
                ms,
                "audit_sync_interval_ms",
                "must be between 1 and 1000 (milliseconds)",
            ));
        }
    };
    let sync = match raw.audit_sync.as_ref().map(|s| (s, s.get_ref().as_str())) {
        None | Some((_, "batched")) => AuditSync::Batched { interval },
        Some((_, "per-request")) => AuditSync::PerRequest,
        Some((_, "none")) => AuditSync::None { interval },
        Some((s, other)) => {
            return Err(at.error(
                s,
                "audit_sync",
                format!("'{other}' is none of \"per-request\", \"batched\" and \"none\""),
            ));
        }
    };
    if let (AuditSync::PerRequest, Some(ms)) = (sync, &raw.audit_sync_interval_ms) {
        return Err(at.error(
            ms,
            "audit_sync_interval_ms",
            "applies to \"batched\" and \"none\": \"per-request\" syncs every record",
        ));
    }
    Ok(sync)
}

/// A PKCS#11 module as the config names it: a bare file name is the loader's to find; a path
/// is relative to the config file's folder.
fn module_path(module: &str, folder: &Path) -> PathBuf {
    if module.contains('/') {
        folder.join(module)
    } else {
        PathBuf::from(module)
    }
}

/// `[[key_stores]]`, checked: an ID of AWS's shape and a name, each unique; the module and the
/// token's label; the PIN from the environment or a file, never from the file itself.
fn key_stores(
    raw: &[FileKeyStore],
    at: &Locator<'_>,
    folder: &Path,
) -> Result<Vec<KeyStoreConfig>, ConfigError> {
    let mut out: Vec<KeyStoreConfig> = Vec::with_capacity(raw.len());
    for (i, k) in raw.iter().enumerate() {
        let field = |name: &str| format!("key_stores[{i}].{name}");
        let id = k.id.get_ref();
        if !keyward_kms::key_stores::is_key_store_id(id) {
            return Err(at.error(
                &k.id,
                &field("id"),
                format!("'{id}' is not a custom key store ID (cks- and 17 hexadecimal digits)"),
            ));
        }
        if out.iter().any(|o| o.id == *id) {
            return Err(at.error(&k.id, &field("id"), format!("'{id}' is given twice")));
        }
        let name = k.name.get_ref();
        if name.is_empty() || name.len() > 256 {
            return Err(at.error(&k.name, &field("name"), "must have 1 to 256 characters"));
        }
        if out.iter().any(|o| o.name == *name) {
            return Err(at.error(
                &k.name,
                &field("name"),
                format!("'{name}' is another store's name"),
            ));
        }
        let module = k.module.get_ref();
        if module.is_empty() {
            return Err(at.error(&k.module, &field("module"), "must not be empty"));
        }
        let module = module_path(module, folder);
        let label = k.token_label.get_ref();
        if label.is_empty() || label.len() > 32 {
            return Err(at.error(
                &k.token_label,
                &field("token_label"),
                "must have 1 to 32 bytes (a PKCS#11 token label)",
            ));
        }
        if let Some(pin) = &k.pin {
            return Err(at.error(
                pin,
                &field("pin"),
                "a PIN is never written in the config file: give pin_env (an environment variable) or pin_file",
            ));
        }
        let pin = match (&k.pin_env, &k.pin_file) {
            (Some(env), None) => {
                let variable = env.get_ref();
                match std::env::var(variable) {
                    Ok(pin) if !pin.is_empty() => Secret::new(pin.into_bytes()),
                    _ => {
                        return Err(at.error(
                            env,
                            &field("pin_env"),
                            format!("the environment variable {variable} is not set"),
                        ));
                    }
                }
            }
            (None, Some(file)) => {
                let path = folder.join(file.get_ref());
                let text = std::fs::read(&path).map_err(|e| {
                    at.error(
                        file,
                        &field("pin_file"),
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                let text = Secret::new(text);
                // The file's last line break is not the PIN's.
                let bytes = text.expose();
                let end = bytes
                    .iter()
                    .rposition(|b| !matches!(b, b'\n' | b'\r'))
                    .map_or(0, |i| i + 1);
                if end == 0 {
                    return Err(at.error(
                        file,
                        &field("pin_file"),
                        format!("{} is empty", path.display()),
                    ));
                }
                Secret::from_slice(bytes.get(..end).unwrap_or_default())
            }
            (Some(env), Some(_)) => {
                return Err(at.error(env, &field("pin_env"), "give pin_env or pin_file, not both"));
            }
            (None, None) => {
                return Err(at.error(
                    &k.id,
                    &field("pin_env"),
                    "the token's PIN is needed: give pin_env (an environment variable) or pin_file",
                ));
            }
        };
        out.push(KeyStoreConfig {
            id: id.clone(),
            name: name.clone(),
            module,
            token_label: label.clone(),
            pin,
        });
    }
    Ok(out)
}

/// `[quotas]`, checked: every rate positive, `fault_rate` between 0 and 1, known faults, and
/// `operations` naming operations that have their own quota.
fn quota_config(raw: &FileQuotas, at: &Locator<'_>) -> Result<QuotaConfig, ConfigError> {
    let mut config = QuotaConfig::default();
    let rate = |value: &toml::Spanned<f64>, field: &str| {
        let v = *value.get_ref();
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(at.error(
                value,
                field,
                format!("{v} is not a positive number of requests per second"),
            ))
        }
    };
    for (field, quota, value) in [
        (
            "cryptographic_per_second",
            Quota::Symmetric,
            &raw.cryptographic_per_second,
        ),
        ("rsa_per_second", Quota::Rsa, &raw.rsa_per_second),
        ("ecc_per_second", Quota::Ecc, &raw.ecc_per_second),
        ("ml_dsa_per_second", Quota::MlDsa, &raw.ml_dsa_per_second),
    ] {
        if let Some(value) = value {
            config
                .rates
                .insert(quota, rate(value, &format!("quotas.{field}"))?);
        }
    }
    for (name, value) in &raw.operations {
        let field = format!("quotas.operations.{name}");
        let operation = Operation::from_target(&format!("TrentService.{name}")).map_err(|_| {
            at.error(
                value,
                &field,
                format!("'{name}' is not a KMS operation Keyward serves"),
            )
        })?;
        match keyward_kms::api::quota::own_quota(operation) {
            Some(quota) => {
                config.rates.insert(quota, rate(value, &field)?);
            }
            None => {
                return Err(at.error(
                    value,
                    &field,
                    format!("{name} counts against a shared quota: set cryptographic_per_second, rsa_per_second, ecc_per_second or ml_dsa_per_second instead"),
                ));
            }
        }
    }
    if let Some(value) = &raw.fault_rate {
        let v = *value.get_ref();
        if !(0.0..=1.0).contains(&v) {
            return Err(at.error(
                value,
                "quotas.fault_rate",
                format!("{v} is not a share between 0 and 1"),
            ));
        }
        config.fault_rate = v;
    }
    if let Some(faults) = &raw.faults {
        let mut kinds = Vec::with_capacity(faults.len());
        for (i, word) in faults.iter().enumerate() {
            let kind = Fault::parse(word.get_ref()).ok_or_else(|| {
                at.error(
                    word,
                    &format!("quotas.faults[{i}]"),
                    format!(
                        "'{}' is not a fault: throttling, internal or delay",
                        word.get_ref()
                    ),
                )
            })?;
            kinds.push(kind);
        }
        if kinds.is_empty() {
            return Err(ConfigError {
                file: at.file.clone(),
                position: None,
                field: "quotas.faults".into(),
                problem: "is empty: name at least one of throttling, internal, delay".into(),
            });
        }
        config.faults = kinds;
    }
    if let Some(ms) = &raw.fault_delay_ms {
        if *ms.get_ref() > 60_000 {
            return Err(at.error(
                ms,
                "quotas.fault_delay_ms",
                "must be at most 60000 (a minute)",
            ));
        }
        config.fault_delay = std::time::Duration::from_millis(*ms.get_ref());
    }
    config.fault_seed = raw.fault_seed;
    Ok(config)
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 4599))
}

fn store_flag(overrides: &Overrides) -> Result<Option<StoreLocation>, ConfigError> {
    overrides
        .store
        .as_deref()
        .map(|s| {
            StoreLocation::parse(s).map_err(|problem| ConfigError {
                file: "--store".into(),
                position: None,
                field: "store".into(),
                problem,
            })
        })
        .transpose()
}

fn listen_flag(overrides: &Overrides) -> Result<Option<SocketAddr>, ConfigError> {
    overrides
        .listen
        .as_deref()
        .map(|l| {
            l.parse().map_err(|_| ConfigError {
                file: "--listen".into(),
                position: None,
                field: "listen".into(),
                problem: format!("'{l}' is not an address such as 127.0.0.1:4599"),
            })
        })
        .transpose()
}

fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `<service>.<region>.amazonaws.com` (or another partition's suffix): lower-case labels.
fn valid_service_endpoint(endpoint: &str) -> bool {
    endpoint.len() <= 128
        && endpoint.split('.').count() >= 3
        && endpoint.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn valid_account(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

fn valid_access_key_id(key: &str) -> bool {
    (16..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_text(len: usize, alphabet: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(len));
    // 16 random bytes per UUID v4 (122 random bits); taking each byte modulo a power-of-two
    // alphabet keeps the characters uniform.
    while out.len() < len {
        for byte in uuid::Uuid::new_v4().into_bytes() {
            if out.len() < len {
                let c = alphabet
                    .get(usize::from(byte) % alphabet.len())
                    .copied()
                    .unwrap_or(b'A');
                out.push(char::from(c));
            }
        }
    }
    out
}

/// `AKIA` and 16 random base32 characters, as AWS access key IDs look.
fn generated_access_key_id() -> String {
    format!("AKIA{}", random_text(16, KEY_ALPHABET).as_str())
}

/// 40 random base64 characters, as AWS secret access keys look.
fn generated_secret() -> Zeroizing<String> {
    random_text(40, SECRET_ALPHABET)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    const GOOD: &str = r#"
region = "eu-west-1"
account = "111122223333"
listen = "127.0.0.1:0"
data_dir = "data"
audit_log = "logs/audit.jsonl"

[[principals]]
arn = "arn:aws:iam::111122223333:user/admin"
access_key_id = "AKIAADMIN00000000000"
secret_access_key = "adminsecretadminsecretadminsecret0000000"
identity_policies = ['{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}']
tags = { team = "platform" }

[[principals]]
arn = "arn:aws:iam::444455556666:user/alice"
access_key_id = "AKIAALICE00000000000"
secret_access_key = "alicesecretalicesecretalicesecret000000"
"#;

    fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::parse(
            text,
            "keyward.toml",
            Path::new("/etc/kw"),
            &Overrides::default(),
        )
    }

    /// A `[[key_stores]]` entry with `extra` lines.
    fn with_store(extra: &str) -> String {
        format!(
            "{GOOD}\n[[key_stores]]\nid = \"cks-1234567890abcdef0\"\nname = \"hsm-1\"\nmodule = \"libsofthsm2.so\"\ntoken_label = \"keyward\"\n{extra}\n"
        )
    }

    #[test]
    fn a_key_store_takes_its_pin_from_a_file_or_the_environment_never_the_file_itself() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hsm.pin"), "1234-secret\n").unwrap();
        let c = ServerConfig::parse(
            &with_store("pin_file = \"hsm.pin\""),
            "k.toml",
            dir.path(),
            &Overrides::default(),
        )
        .unwrap();
        let store = &c.key_stores[0];
        assert_eq!(store.pin.expose(), b"1234-secret");
        assert_eq!(
            store.module,
            Path::new("libsofthsm2.so"),
            "a bare name stays the loader's"
        );
        assert!(
            !format!("{c:?}").contains("1234-secret"),
            "the PIN is never shown"
        );
        // A variable every environment has stands for one that holds the PIN.
        let c = parse(&with_store("pin_env = \"PATH\"")).unwrap();
        assert!(!c.key_stores[0].pin.is_empty());
        let problem = |extra: &str| {
            let e = parse(&with_store(extra)).unwrap_err();
            (e.field, e.problem, e.position.is_some())
        };
        let (field, why, located) = problem("pin = \"1234\"");
        assert_eq!(field, "key_stores[0].pin");
        assert!(why.contains("never written"), "{why}");
        assert!(located);
        let (field, why, _) = problem("pin_env = \"KEYWARD_TEST_NO_SUCH_VARIABLE\"");
        assert_eq!(field, "key_stores[0].pin_env");
        assert!(why.contains("KEYWARD_TEST_NO_SUCH_VARIABLE"), "{why}");
        let (field, _, _) = problem("pin_env = \"PATH\"\npin_file = \"hsm.pin\"");
        assert_eq!(field, "key_stores[0].pin_env");
        let (field, why, _) = problem("");
        assert_eq!(field, "key_stores[0].pin_env");
        assert!(why.contains("pin_file"), "{why}");
        let (field, why, _) = problem("pin_file = \"missing.pin\"");
        assert_eq!(field, "key_stores[0].pin_file");
        assert!(why.contains("missing.pin"), "{why}");
    }

    #[test]
    fn the_module_of_registered_stores_is_named_or_the_one_every_store_names() {
        assert_eq!(parse(GOOD).unwrap().pkcs11_module, None);
        let one = parse(&with_store("pin_env = \"PATH\"")).unwrap();
        assert_eq!(
            one.pkcs11_module.as_deref(),
            Some(Path::new("libsofthsm2.so"))
        );
        let named = format!(
            "pkcs11_module = \"lib/other.so\"\n{}",
            with_store("pin_env = \"PATH\"")
        );
        assert_eq!(
            parse(&named).unwrap().pkcs11_module.as_deref(),
            Some(Path::new("/etc/kw/lib/other.so"))
        );
        let two = format!(
            "{}\n[[key_stores]]\nid = \"cks-0fedcba9876543210\"\nname = \"hsm-2\"\nmodule = \"other.so\"\ntoken_label = \"t\"\npin_env = \"PATH\"\n",
            with_store("pin_env = \"PATH\"")
        );
        assert_eq!(
            parse(&two).unwrap().pkcs11_module,
            None,
            "two modules: none chosen"
        );
    }

    #[test]
    fn a_key_store_needs_an_aws_shaped_id_and_a_name_each_unique() {
        let bad_id = with_store("pin_env = \"PATH\"").replace("cks-1234567890abcdef0", "cks-12");
        let e = parse(&bad_id).unwrap_err();
        assert_eq!(e.field, "key_stores[0].id");
        let entry = "\n[[key_stores]]\nid = \"cks-1234567890abcdef0\"\nname = \"hsm-2\"\nmodule = \"m.so\"\ntoken_label = \"t\"\npin_env = \"PATH\"\n";
        let twice = format!("{}{entry}", with_store("pin_env = \"PATH\""));
        let e = parse(&twice).unwrap_err();
        assert_eq!(e.field, "key_stores[1].id");
        let same_name = twice
            .replacen("cks-1234567890abcdef0", "cks-0fedcba9876543210", 2)
            .replacen("cks-0fedcba9876543210", "cks-1234567890abcdef0", 1)
            .replace("hsm-2", "hsm-1");
        let e = parse(&same_name).unwrap_err();
        assert_eq!(e.field, "key_stores[1].name");
        let long_label = with_store("pin_env = \"PATH\"")
            .replace("\"keyward\"", &format!("\"{}\"", "x".repeat(33)));
        assert_eq!(
            parse(&long_label).unwrap_err().field,
            "key_stores[0].token_label"
        );
    }

    #[test]
    fn the_spec_example_parses_with_paths_relative_to_the_file() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.data_dir, Path::new("/etc/kw/data"));
        assert_eq!(c.audit_log, Path::new("/etc/kw/logs/audit.jsonl"));
        assert_eq!(c.principals.len(), 2);
        assert_eq!(c.principals[0].tags["team"], "platform");
        assert_eq!(c.principals[0].identity_policies.len(), 1);
        assert!(!c.generated_admin);
        assert_eq!(
            c.enforcement,
            Enforcement::Enforce,
            "enforce is the default"
        );
        assert!(
            !format!("{c:?}").contains("adminsecret"),
            "secrets are not printed"
        );
    }

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        let text = GOOD
            .lines()
            .filter(|l| {
                !l.starts_with("region")
                    && !l.starts_with("listen")
                    && !l.starts_with("data_dir")
                    && !l.starts_with("audit_log")
                    && !l.starts_with("account")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let c = parse(&text).unwrap();
        assert_eq!(c.region, DEFAULT_REGION);
        assert_eq!(c.account, DEFAULT_ACCOUNT);
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.data_dir, Path::new("/etc/kw/keyward-data"));
        assert_eq!(c.audit_log, Path::new("/etc/kw/keyward-data/audit.jsonl"));
    }

    #[test]
    fn flags_override_the_file() {
        let o = Overrides {
            listen: Some("127.0.0.1:7000".into()),
            data_dir: Some(PathBuf::from("/tmp/elsewhere")),
            seed: None,
            store: None,
        };
        let c = ServerConfig::parse(GOOD, "k.toml", Path::new("/etc/kw"), &o).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.data_dir, Path::new("/tmp/elsewhere"));
        let bad = Overrides {
            listen: Some("nowhere".into()),
            ..Overrides::default()
        };
        let e = ServerConfig::parse(GOOD, "k.toml", Path::new("/"), &bad).unwrap_err();
        assert_eq!(e.file, "--listen");
    }

    #[test]
    fn the_instance_is_named_by_the_file_or_after_the_host_and_process() {
        let c = ServerConfig::parse(GOOD, "k.toml", Path::new("/"), &Overrides::default()).unwrap();
        assert!(
            c.instance.ends_with(&format!(":{}", std::process::id())),
            "{}",
            c.instance
        );
        let file = format!("instance = \"kw-a\"\n{GOOD}");
        let c =
            ServerConfig::parse(&file, "k.toml", Path::new("/"), &Overrides::default()).unwrap();
        assert_eq!(c.instance, "kw-a");
        for bad in ["", "a\\u0007b"] {
            let file = format!("instance = \"{bad}\"\n{GOOD}");
            let e = ServerConfig::parse(&file, "k.toml", Path::new("/"), &Overrides::default())
                .unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.position.map(|p| p.0)),
                ("instance", Some(1))
            );
        }
    }

    #[test]
    fn the_audit_table_is_off_by_default_and_needs_a_postgres_store() {
        let c = ServerConfig::parse(GOOD, "k.toml", Path::new("/"), &Overrides::default()).unwrap();
        assert!(!c.audit_in_store);
        let on =
            format!("audit = \"postgres\"\nstore = \"postgres://kw@127.0.0.1:5432/kw\"\n{GOOD}");
        let c = ServerConfig::parse(&on, "k.toml", Path::new("/"), &Overrides::default()).unwrap();
        assert!(c.audit_in_store);
        let file = format!("audit = \"file\"\n{GOOD}");
        let c =
            ServerConfig::parse(&file, "k.toml", Path::new("/"), &Overrides::default()).unwrap();
        assert!(!c.audit_in_store);
        // `--store` makes the store PostgreSQL: then the table may be used.
        let wanting = format!("audit = \"postgres\"\n{GOOD}");
        let flagged = Overrides {
            store: Some("postgres://kw@127.0.0.1:5432/kw".into()),
            ..Overrides::default()
        };
        assert!(
            ServerConfig::parse(&wanting, "k.toml", Path::new("/"), &flagged)
                .unwrap()
                .audit_in_store
        );
        for (bad, why) in [
            (wanting.as_str(), "needs store"),
            ("audit = \"syslog\"\n", "neither"),
        ] {
            let file = if bad.contains("[[principals]]") {
                bad.to_owned()
            } else {
                format!("{bad}{GOOD}")
            };
            let e = ServerConfig::parse(&file, "k.toml", Path::new("/"), &Overrides::default())
                .unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.position.map(|p| p.0)),
                ("audit", Some(1))
            );
            assert!(e.to_string().contains(why), "{e}");
        }
    }

    #[test]
    fn the_store_is_sqlite_by_default_or_a_postgres_url_and_its_password_is_never_shown() {
        let c = ServerConfig::parse(GOOD, "k.toml", Path::new("/"), &Overrides::default()).unwrap();
        assert_eq!(c.store, StoreLocation::Sqlite);
        let url = "postgres://keyward:s3cret@127.0.0.1:5432/keys";
        let file = format!("store = \"{url}\"\n{GOOD}");
        let c =
            ServerConfig::parse(&file, "k.toml", Path::new("/"), &Overrides::default()).unwrap();
        assert_eq!(c.store, StoreLocation::Postgres(url.into()));
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://keyward@127.0.0.1:5432/keys"),
            "{shown}"
        );
        // The flag wins over the file.
        let flag = Overrides {
            store: Some("sqlite".into()),
            ..Overrides::default()
        };
        let c = ServerConfig::parse(&file, "k.toml", Path::new("/"), &flag).unwrap();
        assert_eq!(c.store, StoreLocation::Sqlite);
        let secret = Overrides {
            store: Some(url.into()),
            ..Overrides::default()
        };
        assert!(!format!("{secret:?}").contains("s3cret"));
        let bad = Overrides {
            store: Some("mysql://db".into()),
            ..Overrides::default()
        };
        let e = ServerConfig::parse(GOOD, "k.toml", Path::new("/"), &bad).unwrap_err();
        assert_eq!((e.file.as_str(), e.field.as_str()), ("--store", "store"));
        // In the file: named with its line and column.
        for (value, problem) in [
            ("mysql://db", "neither"),
            ("postgres://keyward@127.0.0.1:5432", "names no database"),
            ("postgres://keyward@127.0.0.1:port/db", "does not parse"),
        ] {
            let file = format!("store = \"{value}\"\n{GOOD}");
            let e = ServerConfig::parse(&file, "k.toml", Path::new("/"), &Overrides::default())
                .unwrap_err();
            assert_eq!(e.field, "store");
            assert!(e.position.is_some());
            assert!(e.problem.contains(problem), "{value}: {}", e.problem);
        }
    }

    /// Each wrong field is named, with the file, line and column.
    #[test]
    fn errors_name_the_file_the_field_and_the_position() {
        let cases = [
            (
                "region = \"eu-west-1\"",
                "region = \"EU WEST\"",
                "region",
                2,
            ),
            (
                "account = \"111122223333\"",
                "account = \"12\"",
                "account",
                3,
            ),
            (
                "listen = \"127.0.0.1:0\"",
                "listen = \"localhost\"",
                "listen",
                4,
            ),
            (
                "AKIAALICE00000000000",
                "AKIAADMIN00000000000",
                "principals[1].access_key_id",
                17,
            ),
            ("user/alice", "usr/alice", "principals[1].arn", 16),
            (
                "\"alicesecretalicesecretalicesecret000000\"",
                "\"short\"",
                "principals[1].secret_access_key",
                18,
            ),
            (
                "\"Allow\"",
                "\"Perhaps\"",
                "principals[0].identity_policies[0]",
                12,
            ),
        ];
        for (from, to, field, line) in cases {
            let e = parse(&GOOD.replacen(from, to, 1)).unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert_eq!(e.position.map(|p| p.0), Some(line), "{e}");
            assert!(
                e.to_string().starts_with(&format!("keyward.toml:{line}:")),
                "{e}"
            );
        }
    }

    #[test]
    fn unknown_fields_syntax_errors_missing_files_and_no_principals_are_refused() {
        let e = parse(&GOOD.replacen("region", "regoin", 1)).unwrap_err();
        assert!(e.problem.contains("regoin"), "{e}");
        assert_eq!(e.position.map(|p| p.0), Some(2));
        let e = parse("region = ").unwrap_err();
        assert!(e.position.is_some(), "{e}");
        let e = parse(&GOOD.replacen("'{\"Version", "'missing.json', '{\"Version", 1)).unwrap_err();
        assert_eq!(e.field, "principals[0].identity_policies[0]");
        assert!(e.problem.contains("/etc/kw/missing.json"), "{e}");
        let e = parse("region = \"us-east-1\"\n").unwrap_err();
        assert_eq!(e.field, "principals");
        let e = ServerConfig::load(Path::new("/nonexistent/k.toml"), &Overrides::default())
            .unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/k.toml: "), "{e}");
    }

    #[test]
    fn regions_are_served_beside_the_default_which_comes_first() {
        assert_eq!(parse(GOOD).unwrap().regions, ["eu-west-1"]);
        let c = parse(&format!("regions = [\"us-east-1\", \"eu-west-1\"]\n{GOOD}")).unwrap();
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.regions, ["eu-west-1", "us-east-1"]);
        let e = parse(&format!("regions = [\"us-east-1\", \"Mars\"]\n{GOOD}")).unwrap_err();
        assert_eq!(e.field, "regions[1]");
        assert_eq!(e.position, Some((1, 25)));
    }

    #[test]
    fn audit_sync_is_per_request_batched_or_none_with_an_interval() {
        let ms = std::time::Duration::from_millis;
        assert_eq!(
            parse(GOOD).unwrap().audit_sync,
            AuditSync::Batched { interval: ms(10) },
            "batched every 10 ms by default"
        );
        let with = |lines: &str| parse(&format!("{lines}\n{GOOD}"));
        assert_eq!(
            with("audit_sync = \"per-request\"").unwrap().audit_sync,
            AuditSync::PerRequest
        );
        assert_eq!(
            with("audit_sync = \"none\"\naudit_sync_interval_ms = 250")
                .unwrap()
                .audit_sync,
            AuditSync::None { interval: ms(250) }
        );
        assert_eq!(
            with("audit_sync_interval_ms = 1").unwrap().audit_sync,
            AuditSync::Batched { interval: ms(1) }
        );
        let e = with("audit_sync = \"always\"").unwrap_err();
        assert_eq!(e.field, "audit_sync");
        assert!(e.to_string().contains(":1:"), "{e}");
        for bad in ["0", "1001"] {
            let e = with(&format!("audit_sync_interval_ms = {bad}")).unwrap_err();
            assert_eq!(e.field, "audit_sync_interval_ms", "{bad}");
        }
        let e = with("audit_sync = \"per-request\"\naudit_sync_interval_ms = 5").unwrap_err();
        assert_eq!(e.field, "audit_sync_interval_ms");
    }

    #[test]
    fn enforcement_is_enforce_or_report_and_nothing_else() {
        let c = parse(&format!("enforcement = \"report\"\n{GOOD}")).unwrap();
        assert_eq!(c.enforcement, Enforcement::Report);
        let c = parse(&format!("enforcement = \"enforce\"\n{GOOD}")).unwrap();
        assert_eq!(c.enforcement, Enforcement::Enforce);
        let e = parse(&format!("enforcement = \"audit\"\n{GOOD}")).unwrap_err();
        assert_eq!(e.field, "enforcement");
        assert_eq!(e.position, Some((1, 15)));
        assert!(e.problem.contains("'audit'"), "{e}");
    }

    #[test]
    fn quotas_are_off_unless_configured_and_each_rate_is_checked() {
        assert!(parse(GOOD).unwrap().quotas.is_none(), "off by default");
        let with = |table: &str| parse(&format!("{GOOD}\n[quotas]\n{table}"));
        let q = with("").unwrap().quotas.unwrap();
        assert!(q.rates.is_empty(), "AWS's defaults");
        assert_eq!(q.fault_rate, 0.0);
        let q = with(
            "cryptographic_per_second = 50\nrsa_per_second = 2.5\nfault_rate = 0.1\nfaults = [\"delay\", \"internal\"]\nfault_delay_ms = 20\nfault_seed = 9\n[quotas.operations]\nCreateKey = 1\n",
        )
        .unwrap()
        .quotas
        .unwrap();
        assert_eq!(q.rates[&Quota::Symmetric], 50.0);
        assert_eq!(q.rates[&Quota::Rsa], 2.5);
        assert_eq!(q.rates[&Quota::Operation(Operation::CreateKey)], 1.0);
        assert_eq!(q.faults, [Fault::Delay, Fault::Internal]);
        assert_eq!(q.fault_delay, std::time::Duration::from_millis(20));
        assert_eq!(q.fault_seed, Some(9));
        let line = GOOD.lines().count() + 2;
        for (table, field, problem) in [
            (
                "cryptographic_per_second = 0",
                "quotas.cryptographic_per_second",
                "positive",
            ),
            ("fault_rate = 1.5", "quotas.fault_rate", "between 0 and 1"),
            ("faults = [\"crash\"]", "quotas.faults[0]", "'crash'"),
            (
                "[quotas.operations]\nEncrypt = 5",
                "quotas.operations.Encrypt",
                "shared quota",
            ),
            (
                "[quotas.operations]\nExplode = 5",
                "quotas.operations.Explode",
                "not a KMS operation",
            ),
        ] {
            let e = with(table).unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert!(e.problem.contains(problem), "{e}");
            assert!(e.position.is_some_and(|(l, _)| l >= line), "{e}");
        }
        let e = with("faults = []").unwrap_err();
        assert_eq!(e.field, "quotas.faults");
        let e = with("cryptographic_per_secnd = 5").unwrap_err();
        assert!(e.problem.contains("cryptographic_per_secnd"), "{e}");
    }

    #[test]
    fn identity_policy_files_are_read_relative_to_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("admin.json"), ADMIN_IDENTITY_POLICY).unwrap();
        let text = GOOD.replacen(&format!("'{ADMIN_IDENTITY_POLICY}'"), "\"admin.json\"", 1);
        assert!(text.contains("\"admin.json\""));
        let path = dir.path().join("keyward.toml");
        std::fs::write(&path, text).unwrap();
        let c = ServerConfig::load(&path, &Overrides::default()).unwrap();
        assert_eq!(c.principals[0].identity_policies[0], ADMIN_IDENTITY_POLICY);
    }

    #[test]
    fn the_generated_admin_is_fresh_each_time_and_looks_like_aws_credentials() {
        let a = ServerConfig::generated(&Overrides::default()).unwrap();
        let b = ServerConfig::generated(&Overrides::default()).unwrap();
        assert!(a.generated_admin);
        let (pa, pb) = (&a.principals[0], &b.principals[0]);
        assert_ne!(pa.access_key_id, pb.access_key_id);
        assert_ne!(*pa.secret_access_key, *pb.secret_access_key);
        assert!(pa.access_key_id.starts_with("AKIA") && pa.access_key_id.len() == 20);
        assert_eq!(pa.secret_access_key.len(), 40);
        assert_eq!(a.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(a.data_dir, Path::new(DEFAULT_DATA_DIR));
    }
}
