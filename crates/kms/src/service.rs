//! The service: its configuration, opening it over a store (every row checked, every key
//! unsealed), its locks, and persisting changes.

use crate::audit::{AuditSink, EventIds};
use crate::caller::Caller;
use crate::clock::Clock;
use crate::entry::{KeyEntry, State};
use crate::error::{KmsError, OpenError};
use crate::grant_binding::{GrantBinding, GrantDelta};
use crate::key_stores::{KeyStoreConfig, KeyStoreRecord, KeyStores};
use crate::operations::multi_region::{Followups, RegionLinks};
use crate::quotas::{Admission, QuotaConfig, RequestQuotas};
use crate::record::{GrantRecord, KeyMetadataRecord};
use crate::store::{
    AliasRecord, Change, GrantRow, KeyRecord, KeyRows, PartKind, PartRow, Store, StoreEvent,
    head_binding,
};
use keyward_api::{ErrorCode, Request};
use keyward_authz::{CompiledPolicy, PolicySource, PolicyText, compile_policy};
use keyward_crypto::{CryptoKey, RecordKey, RootKey};
use keyward_grants::Grant;
use keyward_grants::key_grants::{KeyGrants, KeyKind, TokenKey};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Where the service runs: its Region, and its default account. Keys are created in the
/// caller's account, as in KMS: the service holds the keys of every account that calls it,
/// and each account sees its own (and, where cross-account rules allow, others').
#[derive(Debug, Clone, PartialEq)]
pub struct KmsConfig {
    /// The Region of every key (`us-east-1`); its partition is every ARN's.
    pub region: String,
    /// The default account ([`Kms::account`]): the account a server's generated identity
    /// belongs to. It owns no keys by itself.
    pub account: String,
    /// Whether a denial stops the call ([`Enforcement::Enforce`], the default) or is only
    /// recorded ([`Enforcement::Report`]).
    pub enforcement: Enforcement,
    /// Request quotas and fault injection ([`Kms::admit_request`]); none when absent.
    pub quotas: Option<QuotaConfig>,
    /// The name of this instance in every audit record (`keyward.instance`), so that the
    /// trails of several instances sharing a store can be told apart and merged:
    /// [`default_instance`] unless set.
    pub instance: String,
    /// Whether every call's audit record also goes to the store's audit table, a committed
    /// change's in the change's own transaction (`audit = "postgres"`; a store without an
    /// audit table ignores it). Off unless set.
    pub audit_in_store: bool,
    /// The custom key stores (PKCS#11 tokens): connected when the service opens.
    pub key_stores: Vec<KeyStoreConfig>,
    /// The PKCS#11 module of the stores CreateCustomKeyStore registers; none: it refuses.
    pub pkcs11_module: Option<std::path::PathBuf>,
    /// When the audit log's records reach the disk (`audit_sync`): batched every 10 ms unless
    /// set.
    pub audit_sync: crate::audit::AuditSync,
}

/// An instance's name when none is given: the host's name and the process ID
/// (`host:1234`).
pub fn default_instance() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

impl KmsConfig {
    /// A service in `region` whose default account is `account`, enforcing its decisions.
    pub fn new(region: impl Into<String>, account: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            account: account.into(),
            enforcement: Enforcement::Enforce,
            quotas: None,
            instance: default_instance(),
            audit_in_store: false,
            key_stores: Vec::new(),
            pkcs11_module: None,
            audit_sync: crate::audit::AuditSync::default(),
        }
    }
}

/// What a denial does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Enforcement {
    /// The call is refused with AWS's `AccessDeniedException`.
    #[default]
    Enforce,
    /// The call is decided and the denial recorded in the audit trail, with its full
    /// explanation and `"enforced": false`, and the call proceeds as if allowed: to see what
    /// applications would be denied before enforcement is turned on. Only permission
    /// decisions are let through; a key that does not exist, a key state, a parameter or a
    /// grant token that is not valid fail as always.
    Report,
}

impl Enforcement {
    /// The config file's word for it: `enforce` or `report`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Report => "report",
        }
    }

    /// Reads the config file's word.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "enforce" => Some(Self::Enforce),
            "report" => Some(Self::Report),
            _ => None,
        }
    }
}

/// The gated key service. `Send + Sync`: share it (in an `Arc`) across threads.
#[derive(Debug)]
pub struct Kms {
    pub(crate) config: KmsConfig,
    pub(crate) clock: Arc<dyn Clock>,
    store: Box<dyn Store>,
    pub(crate) root: RootKey,
    pub(crate) audit: Arc<dyn AuditSink>,
    pub(crate) event_ids: EventIds,
    pub(crate) region: Arc<str>,
    /// This instance's name, in every audit record.
    pub(crate) instance: Arc<str>,
    account: Arc<str>,
    /// The partition of the Region (`aws`, `aws-cn`, ...): of every ARN the service makes.
    pub(crate) partition: &'static str,
    /// Authenticates stored rows (derived from the root key).
    records: RecordKey,
    /// The earliest time anything is due for any key (epoch seconds; `u64::MAX` for none):
    /// a call checks one number, not every key, before [`housekeeping`](Self::housekeeping).
    pub(crate) next_event: AtomicU64,
    pub(crate) token_key: [u8; 32],
    /// The map of keys and aliases, locked only to find, add or remove them; each key has a
    /// lock of its own ([`crate::entry::KeySlot`]), so calls on different keys never wait
    /// for each other.
    pub(crate) state: RwLock<State>,
    /// The custom key stores ([`crate::key_stores`]).
    pub(crate) key_stores: KeyStores,
    quotas: Option<RequestQuotas>,
    /// The other Regions' services, for multi-Region keys ([`crate::Regions`] links them).
    pub(crate) links: Arc<RegionLinks>,
    /// What calls leave to do once their lock is released (multi-Region keys).
    pub(crate) followups: Followups,
    /// The store's notices of changes made by every instance sharing it, until
    /// [`Kms::follow`] takes them (a store of one instance has none).
    pub(crate) notices: Mutex<Option<Receiver<StoreEvent>>>,
    /// Set while this instance may hold rows older than its shared store's (it is not
    /// following the store's notices yet, lost them, or failed to read a change): every call
    /// is refused until it has read everything again ([`crate::follow`]).
    pub(crate) stale: AtomicBool,
    /// Counts the notices of key changes followed, so that a key read on a miss can tell
    /// whether a notice came while it was being read ([`Kms::load_missing_key`]).
    pub(crate) key_notices: AtomicU64,
    /// The same for aliases ([`Kms::load_missing_alias`]).
    pub(crate) alias_notices: AtomicU64,
    /// Audit records the store's audit table did not take ([`KmsConfig::audit_in_store`]).
    pub(crate) audit_failures: AtomicU64,
}

thread_local! {
    /// The provisional audit record of the call this thread serves ([`PendingAudit`]).
    static PENDING_AUDIT: std::cell::RefCell<Option<Change>> = const { std::cell::RefCell::new(None) };
}

/// The provisional audit record of the call this thread serves, with the store's audit table
/// (`audit = "postgres"`): every write the call makes carries it, so a committed change always
/// has its record. Set for the length of the call (cleared when dropped).
#[derive(Debug)]
pub(crate) struct PendingAudit(());

impl PendingAudit {
    /// Sets `record` as the pending record of this thread's call.
    pub(crate) fn set(record: Change) -> Self {
        PENDING_AUDIT.with(|pending| *pending.borrow_mut() = Some(record));
        Self(())
    }

    /// `changes`, with the pending record when there is one.
    fn with(changes: &[Change]) -> std::borrow::Cow<'_, [Change]> {
        PENDING_AUDIT.with(|pending| match &*pending.borrow() {
            Some(record) if !changes.is_empty() => {
                let mut all = changes.to_vec();
                all.push(record.clone());
                std::borrow::Cow::Owned(all)
            }
            _ => std::borrow::Cow::Borrowed(changes),
        })
    }
}

impl Drop for PendingAudit {
    fn drop(&mut self) {
        PENDING_AUDIT.with(|pending| *pending.borrow_mut() = None);
    }
}

/// The key-policy document KMS gives a key created without one, in `account`.
pub(crate) fn default_policy(partition: &str, account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:{partition}:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    )
}

/// Compiles a key policy, or the `MalformedPolicyDocumentException` KMS sends.
pub(crate) fn compile_key_policy(text: &str) -> Result<CompiledPolicy, KmsError> {
    compile_policy(PolicySource::KeyPolicy, &PolicyText::new(text.to_owned()))
        .map_err(|e| KmsError::refused(ErrorCode::MalformedPolicyDocument, e.to_string()))
}

/// The kind of key `meta` describes, for its grant rules; `None` for a spec and usage that
/// make no KMS key.
pub(crate) fn key_kind(meta: &KeyMetadataRecord) -> Option<KeyKind> {
    KeyKind::of(meta.spec.as_str(), meta.usage.as_str())
}

impl Kms {
    /// Opens the service over `store`, loading every key: each row's integrity tag checked,
    /// its record read typed, its material unsealed with `root`.
    pub fn open(
        config: KmsConfig,
        store: Box<dyn Store>,
        root: RootKey,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, OpenError> {
        let token_key = root.derive(b"keyward grant tokens v1");
        let records = root.record_key();
        // The custom key stores first: their keys hold their tokens. A store that does not
        // connect is FAILED, and says why in DescribeCustomKeyStores.
        let key_stores =
            KeyStores::new(&config.key_stores, crate::clock::epoch_seconds(clock.now()));
        let (snapshot, versions) = store.load_versioned()?;
        // Then those registered at run time, each row checked and its PIN opened. The
        // configuration's stores connect, and the registered ones their rows say were.
        let mut to_connect = key_stores.all();
        for row in &snapshot.key_stores {
            let what = || format!("custom key store {}", row.id);
            if !records.verify(&row.fields(&config.region), &row.tag) {
                return Err(OpenError::Tampered { what: what() });
            }
            let (registered, connected) = registered_store(row, &config, &root, &key_stores)
                .map_err(|why| OpenError::Record { what: what(), why })?;
            let registered = Arc::new(registered);
            key_stores.put(Arc::clone(&registered));
            if connected {
                to_connect.push(registered);
            }
        }
        for store in to_connect {
            let _ = store.connect();
        }
        let mut state = State::default();
        let mut grants_of: HashMap<String, Vec<(GrantRecord, [u8; 32])>> = HashMap::new();
        for row in snapshot.grants {
            let what = || format!("grant {} of key {}", row.grant_id, row.key_id);
            if !records.verify(&row.fields(&config.region), &row.tag) {
                return Err(OpenError::Tampered { what: what() });
            }
            let grant: GrantRecord =
                serde_json::from_str(&row.record).map_err(|e| OpenError::Record {
                    what: what(),
                    why: e.to_string(),
                })?;
            if grant.id != row.grant_id {
                return Err(OpenError::Record {
                    what: what(),
                    why: format!("the row holds grant {}", grant.id),
                });
            }
            let term = GrantBinding::term(&records, &row, &config.region);
            grants_of.entry(row.key_id).or_default().push((grant, term));
        }
        let mut parts_of: HashMap<String, Vec<PartRow>> = HashMap::new();
        for row in snapshot.parts {
            if !records.verify(&row.fields(&config.region), &row.tag) {
                return Err(OpenError::Tampered {
                    what: format!("{} {} of key {}", row.kind.as_str(), row.name, row.key_id),
                });
            }
            parts_of.entry(row.key_id.clone()).or_default().push(row);
        }
        let mut entries: HashMap<String, KeyEntry> = HashMap::new();
        // Keys whose row still holds their grants (store format 2), or their tags and
        // schedules (format 3): moved out below.
        let mut legacy: Vec<String> = Vec::new();
        for record in snapshot.keys {
            let rows = grants_of.remove(&record.id).unwrap_or_default();
            let parts = parts_of.remove(&record.id).unwrap_or_default();
            let (mut entry, in_row) = load_key(
                &record,
                rows,
                &parts,
                (&records, &root, token_key),
                &key_stores,
            )?;
            entry.version = Some(versions.get(&record.id).copied().unwrap_or(0));
            // A row of another Region's store (a multi-Region key's copy has the same ID).
            if entry.meta.region != config.region {
                return Err(OpenError::Record {
                    what: format!("key {}", record.id),
                    why: format!(
                        "its record is of Region {}, and this service serves {}",
                        entry.meta.region, config.region
                    ),
                });
            }
            if in_row {
                legacy.push(record.id.clone());
            }
            entries.insert(record.id, entry);
        }
        if let Some(key_id) = grants_of.keys().chain(parts_of.keys()).next() {
            return Err(OpenError::Record {
                what: format!(
                    "rows (grants, tags, schedules, versions of material, import state) of key \
                     {key_id}"
                ),
                why: "no such key is stored".into(),
            });
        }
        for alias in snapshot.aliases {
            let fields = alias.fields();
            let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
            if !records.verify(&fields, &alias.tag) {
                return Err(OpenError::Tampered {
                    what: format!("alias {} of account {}", alias.name, alias.account),
                });
            }
            if let Some(entry) = entries.get_mut(&alias.key_id)
                && entry.meta.account == alias.account
            {
                entry.aliases.push(alias.name.clone());
            }
            state.aliases.insert(alias);
        }
        for (_, mut entry) in entries {
            entry.refresh_context();
            state.insert(entry);
        }
        let next_event = AtomicU64::new(state.earliest_event());
        let quotas = config
            .quotas
            .clone()
            .map(|q| RequestQuotas::new(q, &config.region));
        let notices = store.changes();
        let kms = Self {
            // A shared store's instance serves nothing until it follows the store's notices.
            stale: AtomicBool::new(store.shared()),
            notices: Mutex::new(notices),
            key_notices: AtomicU64::new(0),
            alias_notices: AtomicU64::new(0),
            audit_failures: AtomicU64::new(0),
            quotas,
            links: Arc::default(),
            followups: Followups::default(),
            region: config.region.as_str().into(),
            instance: config.instance.as_str().into(),
            account: config.account.as_str().into(),
            partition: keyward_policy::arn::partition_of(&config.region),
            records,
            config,
            clock,
            store,
            root,
            audit,
            event_ids: EventIds::new(),
            next_event,
            token_key,
            state: RwLock::new(state),
            key_stores,
        };
        kms.move_to_rows(&legacy)?;
        Ok(kms)
    }

    /// Moves the grants (store format 2), tags, schedules, versions of material and imported
    /// material's state (format 3) of the keys in `ids` out of their key's row into rows of
    /// their own: per key, its row rewritten without them (its head in place of its whole
    /// material) and their rows, in one write.
    fn move_to_rows(&self, ids: &[String]) -> Result<(), OpenError> {
        let state = self.read().map_err(|e| OpenError::Record {
            what: "the keys".into(),
            why: e.to_string(),
        })?;
        for id in ids {
            let Some(slot) = state.slot(id) else { continue };
            let moved = slot.write().and_then(|mut entry| {
                // In a shared store, only if no other instance wrote the key since this one
                // read it (another may have moved it, then changed it, already).
                let mut changes = self.key_guards([Some(&*entry)]);
                // Every grant's row written again (those the row held, and the others), the
                // key's head binding them as written.
                let mut grant_rows = Vec::new();
                let mut binding = GrantBinding::default();
                for grant in entry.grants.grants() {
                    let (change, delta) = self.grant_put(id, grant)?;
                    grant_rows.push(change);
                    binding.apply(&delta);
                }
                let before = std::mem::replace(&mut entry.grant_binding, binding);
                let written = self.key_rows(&entry).and_then(|rows| {
                    changes.extend(rows);
                    changes.extend(grant_rows);
                    self.persist(&changes)
                });
                if let Err(e) = written {
                    entry.grant_binding = before;
                    return Err(e);
                }
                if self.store.shared() {
                    entry.version = entry.version.map(|v| v + 1);
                }
                Ok(())
            });
            match moved {
                Ok(()) => {}
                // The other instance's write is among the notices this one follows: the key
                // is read again from them, as that instance left it.
                Err(KmsError::Store(crate::store::StoreError::Conflict { .. })) => {}
                Err(e) => {
                    return Err(OpenError::Record {
                        what: format!("key {id}"),
                        why: format!(
                            "moving its grants, tags, schedules and material to rows of \
                             their own: {e}"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// A service that keeps everything in memory (a [`crate::store::MemoryStore`] and a fresh
    /// root key), for tests and programs whose keys need not outlive them; the system clock.
    pub fn in_memory(config: KmsConfig, audit: Arc<dyn AuditSink>) -> Result<Self, OpenError> {
        let root = RootKey::generate().map_err(OpenError::GenerateRootKey)?;
        Self::open(
            config,
            Box::new(crate::store::MemoryStore::new()),
            root,
            audit,
            Arc::new(crate::clock::SystemClock),
        )
    }

    /// Opens the service the usual way, everything under `dir` (created if missing): the
    /// SQLite store `keys.db`, the root key `root.key` (created at first use, mode 0600), and
    /// the audit trail `audit.jsonl` (JSON Lines, appended); the system clock.
    pub fn open_in(config: KmsConfig, dir: &Path) -> Result<Self, OpenError> {
        Self::open_at(config, dir, &dir.join("audit.jsonl"))
    }

    /// As [`Kms::open_in`], with the audit trail at `audit_log` (its folder created if missing).
    pub fn open_at(config: KmsConfig, dir: &Path, audit_log: &Path) -> Result<Self, OpenError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| OpenError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let database = dir.join("keys.db");
        let root_path = dir.join("root.key");
        // A store without its root key cannot be unsealed: refuse, rather than make a new root
        // key that opens nothing (and would then seal new keys beside unreadable ones).
        if database.exists() && !root_path.exists() {
            return Err(OpenError::MissingRootKey {
                database: database.display().to_string(),
                root: root_path.display().to_string(),
            });
        }
        let store = crate::store::SqliteStore::open(&database)?;
        let root = RootKey::load_or_create(&root_path).map_err(|source| OpenError::RootKey {
            path: root_path.display().to_string(),
            source,
        })?;
        if let Some(parent) = audit_log.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let audit = crate::audit::JsonLinesFile::open_with(audit_log, config.audit_sync)
            .map_err(io(audit_log))?;
        Self::open(
            config,
            Box::new(store),
            root,
            Arc::new(audit),
            Arc::new(crate::clock::SystemClock),
        )
    }

    /// Admits a call before it is served ([`crate::quotas`]): counted against the request
    /// quota of the caller's account (`ThrottlingException` beyond its rate), then perhaps
    /// answered with an injected fault or held for a delay the caller must wait out. Always
    /// admitted when the service has no quotas configured. A server calls this before
    /// [`Kms::handle`].
    pub fn admit_request(&self, caller: &Caller, request: &Request) -> Result<Admission, KmsError> {
        match &self.quotas {
            Some(quotas) => quotas.admit(caller.account(), request),
            None => Ok(Admission::default()),
        }
    }

    /// How many audit records the store's audit table did not take
    /// ([`KmsConfig::audit_in_store`]; each is still in the audit sink).
    pub fn audit_table_failures(&self) -> u64 {
        self.audit_failures.load(Ordering::Relaxed)
    }

    /// The region this service's keys live in.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The default account (a server's generated identity belongs to it).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Makes everything written so far durable: the audit trail is synced to disk (the store
    /// commits durably on every change already). For a graceful stop.
    pub fn flush(&self) -> std::io::Result<()> {
        self.audit.flush()
    }

    /// The map of keys and aliases, to find in. Never taken while a key's lock is held.
    pub(crate) fn read(&self) -> Result<RwLockReadGuard<'_, State>, KmsError> {
        self.state
            .read()
            .map_err(|_| KmsError::Internal("the state lock was poisoned by a panic".into()))
    }

    /// The map of keys and aliases, to add or remove keys and aliases. Never taken while a
    /// key's lock is held.
    pub(crate) fn write(&self) -> Result<RwLockWriteGuard<'_, State>, KmsError> {
        self.state
            .write()
            .map_err(|_| KmsError::Internal("the state lock was poisoned by a panic".into()))
    }

    /// The ARN of key `id` of `account`, in this service's Region.
    pub(crate) fn key_arn(&self, account: &str, id: &str) -> String {
        format!(
            "arn:{}:kms:{}:{account}:key/{id}",
            self.partition, self.config.region
        )
    }

    /// The ARN of alias `name` (`alias/...`) of `account`, in this service's Region.
    pub(crate) fn alias_arn(&self, account: &str, name: &str) -> String {
        format!(
            "arn:{}:kms:{}:{account}:{name}",
            self.partition, self.config.region
        )
    }

    /// The stored form of a key, tagged, its head binding its grant rows as they are.
    pub(crate) fn key_change(&self, entry: &KeyEntry) -> Result<Change, KmsError> {
        self.key_change_binding(entry, &entry.grant_binding.digest())
    }

    /// The stored form of a key, tagged, its head binding grant rows of digest `grants`.
    fn key_change_binding(&self, entry: &KeyEntry, grants: &[u8; 32]) -> Result<Change, KmsError> {
        let metadata = serde_json::to_string(&entry.meta)
            .map_err(|e| KmsError::Internal(format!("writing key {}: {e}", entry.meta.id)))?;
        let parts = self.parts_of(entry)?;
        let bound = head_binding(
            parts
                .iter()
                .map(|(kind, name, record)| (*kind, name.as_str(), record.as_str())),
            grants,
        );
        let sealed = entry.crypto.seal_head(&self.root, &bound)?;
        let mut record = KeyRecord {
            id: entry.meta.id.clone(),
            metadata,
            sealed,
            tag: Vec::new(),
        };
        record.tag = self.records.tag(&record.fields());
        Ok(Change::PutKey(record))
    }

    /// The rows of a key as a whole: its own row and its parts' (tags, schedules).
    pub(crate) fn key_rows(&self, entry: &KeyEntry) -> Result<Vec<Change>, KmsError> {
        let mut changes = vec![self.key_change(entry)?];
        for (kind, name, record) in self.parts_of(entry)? {
            changes.push(Change::PutPart(self.part_row(
                &entry.meta.id,
                kind,
                name,
                record,
            )));
        }
        for number in entry.crypto.version_numbers() {
            changes.extend(self.version_row(entry, number)?);
        }
        Ok(changes)
    }

    /// The row of version `number` of a key's material, sealed now; `None` when the key has no
    /// such version.
    fn version_row(&self, entry: &KeyEntry, number: u32) -> Result<Option<Change>, KmsError> {
        use base64::Engine as _;
        let Some(sealed) = entry.crypto.seal_version(number, &self.root)? else {
            return Ok(None);
        };
        Ok(Some(Change::PutPart(self.part_row(
            &entry.meta.id,
            PartKind::Version,
            number.to_string(),
            base64::engine::general_purpose::STANDARD.encode(sealed),
        ))))
    }

    /// A key's parts, as (kind, name, record).
    fn parts_of(&self, entry: &KeyEntry) -> Result<Vec<(PartKind, String, String)>, KmsError> {
        entry
            .meta
            .parts()
            .map_err(|e| KmsError::Internal(format!("writing key {}: {e}", entry.meta.id)))
    }

    /// A part's row, tagged.
    fn part_row(&self, key_id: &str, kind: PartKind, name: String, record: String) -> PartRow {
        let mut row = PartRow {
            kind,
            key_id: key_id.to_owned(),
            name,
            record,
            tag: Vec::new(),
        };
        row.tag = self.records.tag(&row.fields(&self.config.region));
        row
    }

    /// An alias as stored, tagged.
    pub(crate) fn alias_record(
        &self,
        account: &str,
        name: &str,
        key_id: &str,
        created: u64,
        updated: u64,
    ) -> AliasRecord {
        let mut record = AliasRecord {
            account: account.to_owned(),
            name: name.to_owned(),
            key_id: key_id.to_owned(),
            created,
            updated,
            tag: Vec::new(),
        };
        let fields = record.fields();
        let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
        record.tag = self.records.tag(&fields);
        record
    }

    /// A grant's row, tagged, and what it does to the key's grant binding.
    fn grant_put(&self, key_id: &str, grant: &Grant) -> Result<(Change, GrantDelta), KmsError> {
        let change = self.grant_row(key_id, grant)?;
        let Change::PutGrant(row) = &change else {
            return Err(KmsError::Internal("a grant's row is a grant row".into()));
        };
        let delta = GrantDelta::Put(
            row.grant_id.clone(),
            GrantBinding::term(&self.records, row, &self.config.region),
        );
        Ok((change, delta))
    }

    /// A grant's row, tagged.
    pub(crate) fn grant_row(&self, key_id: &str, grant: &Grant) -> Result<Change, KmsError> {
        let record = serde_json::to_string(&GrantRecord::of(grant))
            .map_err(|e| KmsError::Internal(format!("writing grant {}: {e}", grant.id)))?;
        let mut row = GrantRow {
            key_id: key_id.to_owned(),
            grant_id: grant.id.clone(),
            record,
            tag: Vec::new(),
        };
        row.tag = self.records.tag(&row.fields(&self.config.region));
        Ok(Change::PutGrant(row))
    }

    /// The rows a change of `entry` wrote, from what it was: a row per version of its
    /// material, tag, schedule, import state or grant added, changed or removed; its key's row
    /// when its metadata changed or any of those did (the head in it names each version's
    /// state and binds the other parts and the grants). With them, what the grants' rows
    /// written do to the key's grant binding, to apply once they are stored.
    fn changed_rows(
        &self,
        entry: &KeyEntry,
        meta_before: &KeyMetadataRecord,
        materials_before: &[keyward_crypto::MaterialInfo],
        grants_before: &[Grant],
    ) -> Result<(Vec<Change>, Vec<GrantDelta>), KmsError> {
        let mut parts = Vec::new();
        let materials_after = entry.crypto.materials();
        // A version's row when it is new or its state changed (which of them is current is
        // not stored: it follows from the versions).
        let state = |m: &keyward_crypto::MaterialInfo| {
            (
                m.version,
                m.material_id.clone(),
                m.origin,
                m.expires_at,
                m.present,
                m.pending,
            )
        };
        for after in &materials_after {
            if !materials_before.iter().any(|b| state(b) == state(after)) {
                parts.extend(self.version_row(entry, after.version)?);
            }
        }
        for before in materials_before {
            if !materials_after.iter().any(|a| a.version == before.version) {
                parts.push(Change::DeletePart {
                    kind: PartKind::Version,
                    key_id: entry.meta.id.clone(),
                    name: before.version.to_string(),
                });
            }
        }
        let parts_before = meta_before
            .parts()
            .map_err(|e| KmsError::Internal(format!("writing key {}: {e}", entry.meta.id)))?;
        let parts_after = self.parts_of(entry)?;
        for (kind, name, record) in &parts_after {
            if !parts_before
                .iter()
                .any(|p| (&p.0, &p.1, &p.2) == (kind, name, record))
            {
                parts.push(Change::PutPart(self.part_row(
                    &entry.meta.id,
                    *kind,
                    name.clone(),
                    record.clone(),
                )));
            }
        }
        for (kind, name, _) in parts_before {
            if !parts_after.iter().any(|p| (p.0, &p.1) == (kind, &name)) {
                parts.push(Change::DeletePart {
                    kind,
                    key_id: entry.meta.id.clone(),
                    name,
                });
            }
        }
        let mut deltas = Vec::new();
        let before: HashMap<&str, &Grant> =
            grants_before.iter().map(|g| (g.id.as_str(), g)).collect();
        let after = entry.grants.grants();
        for grant in after {
            if before.get(grant.id.as_str()) != Some(&grant) {
                let (change, delta) = self.grant_put(&entry.meta.id, grant)?;
                parts.push(change);
                deltas.push(delta);
            }
        }
        let kept: std::collections::HashSet<&str> = after.iter().map(|g| g.id.as_str()).collect();
        for grant in grants_before {
            if !kept.contains(grant.id.as_str()) {
                parts.push(Change::DeleteGrant {
                    key_id: entry.meta.id.clone(),
                    grant_id: grant.id.clone(),
                });
                deltas.push(GrantDelta::Delete(grant.id.clone()));
            }
        }
        let mut changes = Vec::new();
        // The key's own row when what it holds changed, or any row its head binds.
        let row_of = |meta: &KeyMetadataRecord| serde_json::to_string(meta).ok();
        if row_of(&entry.meta) != row_of(meta_before) || !parts.is_empty() {
            let grants = entry.grant_binding.digest_after(&deltas);
            changes.push(self.key_change_binding(entry, &grants)?);
        }
        changes.append(&mut parts);
        Ok((changes, deltas))
    }

    /// The store this service keeps its rows in.
    pub(crate) fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// A key's entry from its rows as stored now (every row's tag checked, its material
    /// unsealed), at the rows' version, with no aliases and no import in progress.
    pub(crate) fn entry_from_rows(&self, rows: &KeyRows) -> Result<KeyEntry, KmsError> {
        let id = &rows.key.id;
        let mut grants = Vec::with_capacity(rows.grants.len());
        for row in &rows.grants {
            if !self
                .records
                .verify(&row.fields(&self.config.region), &row.tag)
            {
                return Err(KmsError::Internal(format!(
                    "the stored row of grant {} of key {id} does not match its integrity tag",
                    row.grant_id
                )));
            }
            let grant: GrantRecord = serde_json::from_str(&row.record).map_err(|e| {
                KmsError::Internal(format!("grant {} of key {id}: {e}", row.grant_id))
            })?;
            if grant.id != row.grant_id {
                return Err(KmsError::Internal(format!(
                    "the stored row of grant {} of key {id} holds grant {}",
                    row.grant_id, grant.id
                )));
            }
            grants.push((
                grant,
                GrantBinding::term(&self.records, row, &self.config.region),
            ));
        }
        for part in &rows.parts {
            if !self
                .records
                .verify(&part.fields(&self.config.region), &part.tag)
            {
                return Err(KmsError::Internal(format!(
                    "the stored row of {} {} of key {id} does not match its integrity tag",
                    part.kind.as_str(),
                    part.name
                )));
            }
        }
        // A key of a custom key store another instance registered: that store read first.
        if let Ok(meta) = serde_json::from_str::<KeyMetadataRecord>(&rows.key.metadata)
            && meta
                .custom_key_store_id
                .as_deref()
                .is_some_and(|id| self.key_stores.get(id).is_none())
        {
            self.refresh_key_stores()?;
        }
        let (mut entry, in_row) = load_key(
            &rows.key,
            grants,
            &rows.parts,
            (&self.records, &self.root, self.token_key),
            &self.key_stores,
        )
        .map_err(|e| KmsError::Internal(e.to_string()))?;
        // Rows of the earlier format are moved out when a service opens; read after that, they
        // were written by an instance of an earlier version still running on the shared
        // store, and a change written in this format from them would lose what they hold.
        if in_row {
            return Err(KmsError::Internal(format!(
                "the stored row of key {id} is of an earlier format (written by an instance of \
                 an earlier version?); stop every instance, then start them all at this version"
            )));
        }
        if entry.meta.region != self.config.region {
            return Err(KmsError::Internal(format!(
                "the stored row of key {id} is of Region {}, and this service serves {}",
                entry.meta.region, self.config.region
            )));
        }
        entry.version = Some(rows.version);
        Ok(entry)
    }

    /// Checks an alias row's integrity tag.
    pub(crate) fn verify_alias(&self, alias: &AliasRecord) -> Result<(), KmsError> {
        let fields = alias.fields();
        let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
        if self.records.verify(&fields, &alias.tag) {
            Ok(())
        } else {
            Err(KmsError::Internal(format!(
                "the stored row of alias {} of account {} does not match its integrity tag",
                alias.name, alias.account
            )))
        }
    }

    /// The checks that `entries`' keys are still as this instance holds them, for a write
    /// decided on them that does not change them (an alias's): none in a store of one
    /// instance.
    pub(crate) fn key_guards<'a>(
        &self,
        entries: impl IntoIterator<Item = Option<&'a KeyEntry>>,
    ) -> Vec<Change> {
        if !self.store.shared() {
            return Vec::new();
        }
        // In the order of their IDs, as every write takes the keys' locks in the store.
        let mut guards: Vec<Change> = entries
            .into_iter()
            .flatten()
            .filter_map(|e| {
                e.version.map(|version| Change::Guard {
                    key_id: e.meta.id.clone(),
                    version,
                })
            })
            .collect();
        guards.sort_by(|a, b| match (a, b) {
            (Change::Guard { key_id: a, .. }, Change::Guard { key_id: b, .. }) => a.cmp(b),
            _ => std::cmp::Ordering::Equal,
        });
        guards
    }

    /// Stores the new key `entry`, which must not be stored yet (a key of a given ID, a
    /// seed's or a multi-Region replica's, made by another instance at the same moment is
    /// refused here with a conflict, never overwritten), and records its version.
    pub(crate) fn store_new_key(&self, entry: &mut KeyEntry) -> Result<(), KmsError> {
        let mut changes = self.key_guards([Some(&*entry)]);
        changes.extend(self.key_rows(entry)?);
        self.persist(&changes)?;
        // The store moved the new key's version once (0 to 1).
        if self.store.shared() {
            entry.version = Some(1);
        }
        Ok(())
    }

    /// Writes changes through to the store, with the provisional audit record of the call
    /// this thread serves, if any ([`PendingAudit`]).
    pub(crate) fn persist(&self, changes: &[Change]) -> Result<(), KmsError> {
        Ok(self.store.apply(&PendingAudit::with(changes))?)
    }

    /// Writes a call's final audit record to the store's audit table.
    pub(crate) fn persist_record(&self, record: Change) -> Result<(), KmsError> {
        Ok(self.store.apply(&[record])?)
    }

    /// Changes a key with `change` and persists it before returning. If `change` fails or
    /// the store refuses the write, the key is put back as it was: metadata, grants and
    /// material (restored from its sealed form taken before the change).
    pub(crate) fn commit_key<R>(
        &self,
        entry: &mut KeyEntry,
        change: impl FnOnce(&mut KeyEntry) -> Result<R, KmsError>,
    ) -> Result<R, KmsError> {
        let meta_before = entry.meta.clone();
        let grants_before = entry.grants.clone();
        let materials_before = entry.crypto.materials();
        // A key in a custom key store has no material here, and no change alters it: nothing
        // to keep, and nothing to put back.
        let sealed_before = if entry.meta.origin == keyward_crypto::Origin::AwsCloudHsm {
            None
        } else {
            Some(entry.crypto.seal(&self.root)?)
        };
        let result = change(entry).and_then(|r| {
            // When imported material expires, from the material as the change left it.
            entry.refresh_expiry();
            let (mut changes, deltas) = self.changed_rows(
                entry,
                &meta_before,
                &materials_before,
                grants_before.grants(),
            )?;
            if !changes.is_empty() {
                // In a shared store, the write holds only if no other instance wrote the key
                // since this one read it.
                if let (true, Some(version)) = (self.store.shared(), entry.version) {
                    changes.insert(
                        0,
                        Change::Guard {
                            key_id: entry.meta.id.clone(),
                            version,
                        },
                    );
                }
                match entry.held.take() {
                    Some(lock) => lock.apply(&PendingAudit::with(&changes))?,
                    None => self.persist(&changes)?,
                }
                for delta in &deltas {
                    entry.grant_binding.apply(delta);
                }
                // The store moved the key's version once, past the one guarded.
                if self.store.shared() {
                    entry.version = entry.version.map(|v| v + 1);
                }
            }
            Ok(r)
        });
        if result.is_err() {
            entry.meta = meta_before;
            entry.grants = grants_before;
            if let Some(sealed) = &sealed_before {
                entry.crypto =
                    CryptoKey::unseal(&entry.meta.id, sealed, &self.root)?.named(&entry.meta.arn);
            }
            entry.refresh_grants();
        }
        entry.refresh_context();
        if let Some(at) = entry.next_event() {
            self.next_event.fetch_min(at, Ordering::Relaxed);
        }
        result
    }
}

/// A custom key store registered at run time, from its row (its tag checked by the caller),
/// and whether it is to be connected.
fn registered_store(
    row: &crate::store::KeyStoreRow,
    config: &KmsConfig,
    root: &RootKey,
    known: &KeyStores,
) -> Result<(crate::key_stores::KeyStore, bool), String> {
    use base64::Engine as _;
    let record: KeyStoreRecord = serde_json::from_str(&row.record).map_err(|e| e.to_string())?;
    if known.get(&row.id).is_some() {
        return Err("the configuration's [[key_stores]] has a store of this ID too".into());
    }
    let module = config.pkcs11_module.clone().ok_or(
        "it was registered with CreateCustomKeyStore, and the configuration names no pkcs11_module",
    )?;
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&record.pin)
        .map_err(|e| format!("its PIN: {e}"))?;
    let pin = crate::key_stores::pin_key(root)
        .and_then(|key| {
            key.decrypt(
                &sealed,
                &crate::key_stores::pin_context(&row.id),
                keyward_crypto::EncryptionAlgorithm::SymmetricDefault,
            )
        })
        .map_err(|e| format!("its PIN does not open with this root key: {e}"))?;
    let store = crate::key_stores::KeyStore::new(
        KeyStoreConfig {
            id: row.id.clone(),
            name: record.name,
            module,
            token_label: record.token_label,
            pin,
        },
        crate::key_stores::Origin::Registered {
            trust_anchor: record.trust_anchor,
        },
        record.created,
    );
    Ok((store, record.connected))
}

impl Kms {
    /// In a store shared by several instances: reads the registered custom key stores again,
    /// so that one another instance registered, changed or deleted is as it is there (each
    /// row's tag checked; a new store connected if its row says so). A store of one instance
    /// has nothing to read.
    pub(crate) fn refresh_key_stores(&self) -> Result<(), KmsError> {
        if !self.store.shared() {
            return Ok(());
        }
        let rows = self.store.load_key_stores()?;
        for row in &rows {
            if !self
                .records
                .verify(&row.fields(&self.config.region), &row.tag)
            {
                return Err(KmsError::Internal(format!(
                    "the stored row of custom key store {} does not match its integrity tag",
                    row.id
                )));
            }
            let known = self.key_stores.get(&row.id);
            if known
                .as_ref()
                .is_some_and(|k| k.origin == crate::key_stores::Origin::Configuration)
            {
                continue;
            }
            let (read, connected) =
                registered_store(row, &self.config, &self.root, &KeyStores::default()).map_err(
                    |why| KmsError::Internal(format!("custom key store {}: {why}", row.id)),
                )?;
            match known {
                Some(store) => {
                    if store.config != read.config {
                        self.key_stores
                            .put(Arc::new(store.with_config(read.config)));
                    }
                }
                None => {
                    let store = Arc::new(read);
                    self.key_stores.put(Arc::clone(&store));
                    if connected {
                        let _ = store.connect();
                    }
                }
            }
        }
        // Registered stores another instance deleted.
        for store in self.key_stores.all() {
            if matches!(store.origin, crate::key_stores::Origin::Registered { .. })
                && !rows.iter().any(|r| r.id == store.config.id)
            {
                store.disconnect();
                self.key_stores.remove(&store.config.id);
            }
        }
        Ok(())
    }

    /// The row of a store registered at run time, `connected` or not, its PIN sealed and the
    /// row tagged.
    pub(crate) fn key_store_row(
        &self,
        store: &crate::key_stores::KeyStore,
        connected: bool,
    ) -> Result<crate::store::KeyStoreRow, KmsError> {
        use base64::Engine as _;
        let crate::key_stores::Origin::Registered { trust_anchor } = &store.origin else {
            return Err(KmsError::Internal(
                "a store of the configuration has no row".into(),
            ));
        };
        let sealed = crate::key_stores::pin_key(&self.root)?.encrypt(
            store.config.pin.expose(),
            &crate::key_stores::pin_context(&store.config.id),
            keyward_crypto::EncryptionAlgorithm::SymmetricDefault,
        )?;
        let record = KeyStoreRecord {
            name: store.config.name.clone(),
            token_label: store.config.token_label.clone(),
            trust_anchor: trust_anchor.clone(),
            created: store.created,
            connected,
            pin: base64::engine::general_purpose::STANDARD.encode(sealed),
        };
        let mut row = crate::store::KeyStoreRow {
            id: store.config.id.clone(),
            record: serde_json::to_string(&record)
                .map_err(|e| KmsError::Internal(e.to_string()))?,
            tag: Vec::new(),
        };
        row.tag = self.records.tag(&row.fields(&self.config.region));
        Ok(row)
    }
}

/// A stored key, checked and opened, with its grants (`rows`, and those its row still holds)
/// and its parts (tags, schedules and versions of material, their rows' tags checked by the
/// caller): the flag says whether its row still held grants, tags and schedules, or its
/// material whole (rows to write).
fn load_key(
    record: &KeyRecord,
    rows: Vec<(GrantRecord, [u8; 32])>,
    parts: &[PartRow],
    (records, root, token_key): (&RecordKey, &RootKey, [u8; 32]),
    key_stores: &KeyStores,
) -> Result<(KeyEntry, bool), OpenError> {
    let what = || format!("key {}", record.id);
    if !records.verify(&record.fields(), &record.tag) {
        return Err(OpenError::Tampered { what: what() });
    }
    let unreadable = |why: String| OpenError::Record { what: what(), why };
    let mut meta: KeyMetadataRecord =
        serde_json::from_str(&record.metadata).map_err(|e| unreadable(e.to_string()))?;
    let in_row = std::mem::take(&mut meta.grants);
    let grants_in_row = !in_row.is_empty();
    let scheduled = meta
        .take_parts(
            parts
                .iter()
                .map(|p| (p.kind, p.name.as_str(), p.record.as_str())),
        )
        .map_err(&unreadable)?;
    // A row written before schedules had rows of their own holds them (and the tags); a row
    // written since never does, so its schedules' rows missing were deleted.
    let schedules_in_row = serde_json::from_str::<serde_json::Value>(&record.metadata)
        .ok()
        .and_then(|v| v.get("rotation_period_days").map(|_| ()))
        .is_some();
    if !scheduled && !schedules_in_row {
        return Err(OpenError::Tampered {
            what: format!("key {} (the rows of its schedules are missing)", record.id),
        });
    }

    // The grants' rows as the head binds them (those a row written before holds have none).
    let binding = GrantBinding::of(rows.iter().map(|(g, term)| (g.id.clone(), *term)));
    if binding.len() != rows.len() {
        return Err(OpenError::Tampered {
            what: format!("key {} (two rows of one grant)", record.id),
        });
    }
    let mut stored: Vec<GrantRecord> = rows.into_iter().map(|(g, _)| g).collect();
    for grant in in_row {
        if !stored.iter().any(|g| g.id == grant.id) {
            stored.push(grant);
        }
    }
    let mut material_in_row = false;
    let unsealed = if CryptoKey::is_sealed_head(&record.sealed) {
        use base64::Engine as _;
        let versions = parts
            .iter()
            .filter(|p| p.kind == PartKind::Version)
            .map(|p| {
                let number: u32 = p.name.parse().map_err(|_| {
                    unreadable(format!("a version of its material named {}", p.name))
                })?;
                let sealed = base64::engine::general_purpose::STANDARD
                    .decode(&p.record)
                    .map_err(|e| unreadable(format!("version {number} of its material: {e}")))?;
                Ok((number, sealed))
            })
            .collect::<Result<Vec<(u32, Vec<u8>)>, OpenError>>()?;
        let versions: Vec<(u32, &[u8])> =
            versions.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        // The parts as this version writes them (the rows, tagged, hold the same values),
        // so that a row written by an earlier version in another form still matches.
        let written = meta.parts().map_err(&unreadable)?;
        let bound = head_binding(
            written
                .iter()
                .map(|(kind, name, record)| (*kind, name.as_str(), record.as_str())),
            &binding.digest(),
        );
        if meta.origin == keyward_crypto::Origin::AwsCloudHsm {
            // Its material is in its custom key store's token, which it holds.
            let store_id = meta.custom_key_store_id.as_deref().ok_or_else(|| {
                unreadable("a key of origin AWS_CLOUDHSM that names no custom key store".into())
            })?;
            let store = key_stores.get(store_id).ok_or_else(|| {
                unreadable(format!(
                    "its custom key store {store_id} is not in the configuration's [[key_stores]]"
                ))
            })?;
            if !versions.is_empty() {
                return Err(OpenError::Tampered {
                    what: format!(
                        "key {} (a key in a custom key store with rows of material)",
                        record.id
                    ),
                });
            }
            CryptoKey::unseal_token_head(
                &record.id,
                &record.sealed,
                &bound,
                root,
                Arc::clone(&store.token) as Arc<dyn keyward_crypto::KeyToken>,
            )
        } else {
            CryptoKey::unseal_parts(&record.id, &record.sealed, &versions, &bound, root)
        }
    } else {
        // A row written before each version had a row of its own: the whole key in it, and
        // so no row of a version or of the imported material's state (which came with them).
        if let Some(part) = parts
            .iter()
            .find(|p| matches!(p.kind, PartKind::Version | PartKind::Import))
        {
            return Err(OpenError::Tampered {
                what: format!(
                    "key {} (its row holds its whole material, and a row of its {} {} \
                     exists too: written by an instance of an earlier version while one of \
                     this version ran?)",
                    record.id,
                    part.kind.as_str(),
                    part.name
                ),
            });
        }
        material_in_row = true;
        CryptoKey::unseal(&record.id, &record.sealed, root)
    };
    let crypto = unsealed
        .map_err(|source| OpenError::Unseal {
            key: record.id.clone(),
            source,
        })?
        .named(&meta.arn);
    let policy = compile_key_policy(&meta.policy).map_err(|e| {
        unreadable(format!(
            "its key policy: {}",
            e.message().unwrap_or_default()
        ))
    })?;
    let grants = stored
        .iter()
        .map(|g| g.grant(&meta.arn))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    let kind = key_kind(&meta).ok_or_else(|| {
        unreadable(format!(
            "key spec {} with usage {} makes no KMS key",
            meta.spec.as_str(),
            meta.usage.as_str()
        ))
    })?;
    let grants = KeyGrants::restore(kind, &meta.account, TokenKey::new(token_key), grants)
        .with_key_arn(&meta.arn);
    let mut entry = KeyEntry {
        meta,
        crypto,
        policy: Arc::new(policy),
        grant_set: Arc::default(),
        grant_binding: binding,
        grants,
        aliases: Vec::new(),
        context: Arc::default(),
        import: None,
        version: Some(0),
        held: None,
    };
    entry.refresh_grants();
    // When the material expires, from its sealed versions (never from a row's word for it).
    entry.refresh_expiry();
    let held_in_row = grants_in_row || !scheduled || material_in_row;
    Ok((entry, held_in_row))
}
