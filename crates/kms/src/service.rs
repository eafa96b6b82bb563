//! The service: state, the order every call follows (resolve the key hiding what the caller
//! may not see, build the request context, authorize, check the key state, validate, perform),
//! and the audit record each call leaves.

use crate::audit::{AuditDecision, AuditRecord, AuditSink, EventIds, UserIdentity};
use crate::caller::Caller;
use crate::clock::{Clock, epoch_seconds};
use crate::error::{ErrorCode, KmsError};
use crate::key_id::{self, KeyRef};
use crate::model::KeyState;
use crate::record::{AdminState, GrantRecord, KeyMetadataRecord, RotationRecord};
use crate::store::{AliasRecord, Change, KeyRecord, Store};
use keyward_authz::{
    Authorizer, CompiledPolicy, Judgement, KeyAttributes, PolicySource, PolicyText, Request,
    Verdict, compile_policy, insert_key,
};
use keyward_conditions::RequestContext;
use keyward_crypto::{CryptoKey, RecordKey, RootKey};
use keyward_grants::key_grants::{KeyGrants, KeyKind, TokenKey};
use keyward_grants::resolver::GrantSet;
use keyward_policy::catalog::{ActionId, kms_action};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Where the service runs: its Region, and its default account. Keys are created in the
/// caller's account, as in KMS: the service holds the keys of every account that calls it,
/// and each account sees its own (and, where cross-account rules allow, others').
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsConfig {
    pub region: String,
    /// The default account ([`Kms::account`]): the account a server's generated identity
    /// belongs to. It owns no keys by itself.
    pub account: String,
}

/// A key in memory: metadata, material, the compiled policy and the grants.
#[derive(Debug)]
pub(crate) struct KeyEntry {
    pub(crate) meta: KeyMetadataRecord,
    pub(crate) crypto: CryptoKey,
    pub(crate) policy: Arc<CompiledPolicy>,
    pub(crate) grants: KeyGrants,
    pub(crate) grant_set: Arc<GrantSet>,
    /// Alias names pointing at the key (`kms:ResourceAliases`).
    pub(crate) aliases: Vec<String>,
    /// The keys the key contributes to a request's context, typed once
    /// ([`refresh_context`](Self::refresh_context) after any change to the key).
    pub(crate) context: Arc<RequestContext>,
    /// The wrapping key and token of the last GetParametersForImport (kept in memory only: a
    /// restart invalidates them, and the caller asks again).
    pub(crate) import: Option<Arc<keyward_crypto::ImportParameters>>,
}

impl KeyEntry {
    /// The state callers see.
    pub(crate) fn state(&self) -> KeyState {
        match self.meta.state {
            AdminState::PendingDeletion => KeyState::PendingDeletion,
            AdminState::Disabled => KeyState::Disabled,
            AdminState::Enabled if !self.crypto.has_material() => KeyState::PendingImport,
            AdminState::Enabled => KeyState::Enabled,
        }
    }

    /// When time next changes something about the key (epoch seconds): its deletion, its
    /// next automatic rotation (only while enabled), or the expiry of imported material.
    pub(crate) fn next_event(&self) -> Option<u64> {
        let rotation = (self.meta.rotation_enabled && self.meta.state == AdminState::Enabled)
            .then_some(self.meta.next_rotation)
            .flatten();
        [self.meta.deletion_date, rotation, self.meta.valid_to]
            .into_iter()
            .flatten()
            .min()
    }

    /// Rebuilds the key's context layer (`kms:KeySpec`, `kms:ResourceAliases`,
    /// `aws:ResourceTag/*`, ...) from its metadata and aliases.
    pub(crate) fn refresh_context(&mut self) {
        let mut ctx = RequestContext::new();
        insert_key(
            &mut ctx,
            &KeyAttributes {
                spec: &self.meta.spec,
                usage: &self.meta.usage,
                origin: &self.meta.origin,
                multi_region: false,
                aliases: &self.aliases,
                tags: &self.meta.tags,
            },
        );
        self.context = Arc::new(ctx);
    }

    /// The `KeyMaterialId` of the current material of a symmetric encryption key (the keys
    /// whose material rotates); `None` for other keys and for one never imported into.
    pub(crate) fn current_material_id(&self) -> Option<String> {
        (self.meta.spec == "SYMMETRIC_DEFAULT")
            .then(|| self.crypto.current_material_id())
            .flatten()
    }

    /// The `KeyMaterialId` of the material a symmetric ciphertext names.
    pub(crate) fn blob_material_id(&self, blob: &[u8]) -> Option<String> {
        if self.meta.spec != "SYMMETRIC_DEFAULT" {
            return None;
        }
        let version = keyward_crypto::blob::BlobHeader::parse(blob)
            .ok()?
            .material_version;
        self.crypto.material_id(version)
    }

    /// Sets `valid_to` to the earliest expiry of the imported material present (what the
    /// clock next has to delete), after an import, a deletion or an expiry.
    pub(crate) fn refresh_expiry(&mut self) {
        self.meta.valid_to = self
            .crypto
            .materials()
            .iter()
            .filter(|m| m.present)
            .filter_map(|m| m.expires_at)
            .min()
            .map(epoch_seconds);
    }

    pub(crate) fn refresh_grants(&mut self) {
        self.grant_set = Arc::new(GrantSet::new(self.grants.grants().to_vec()));
        self.meta.grants = self.grants.grants().iter().map(GrantRecord::of).collect();
    }
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Keys by ID (key IDs are unique across accounts; each entry knows its account).
    pub(crate) keys: HashMap<String, KeyEntry>,
    /// Aliases, per account.
    pub(crate) aliases: Aliases,
}

/// Aliases by account, then by name (alias names are per account): found by `&str` without
/// allocating, listed per account in name order.
#[derive(Debug, Default)]
pub(crate) struct Aliases(HashMap<String, BTreeMap<String, AliasRecord>>);

impl Aliases {
    pub(crate) fn get(&self, account: &str, name: &str) -> Option<&AliasRecord> {
        self.0.get(account)?.get(name)
    }

    pub(crate) fn contains(&self, account: &str, name: &str) -> bool {
        self.get(account, name).is_some()
    }

    pub(crate) fn insert(&mut self, record: AliasRecord) {
        self.0
            .entry(record.account.clone())
            .or_default()
            .insert(record.name.clone(), record);
    }

    pub(crate) fn remove(&mut self, account: &str, name: &str) {
        if let Some(names) = self.0.get_mut(account) {
            names.remove(name);
        }
    }

    /// The aliases of `account`, by name.
    pub(crate) fn of(&self, account: &str) -> impl Iterator<Item = &AliasRecord> {
        self.0.get(account).into_iter().flat_map(BTreeMap::values)
    }
}

/// The gated key service. `Send + Sync`: share it (in an `Arc`) across threads.
#[derive(Debug)]
pub struct Kms {
    pub(crate) config: KmsConfig,
    pub(crate) clock: Arc<dyn Clock>,
    store: Box<dyn Store>,
    pub(crate) root: RootKey,
    audit: Arc<dyn AuditSink>,
    event_ids: EventIds,
    region: Arc<str>,
    account: Arc<str>,
    /// The partition of the Region (`aws`, `aws-cn`, ...): of every ARN the service makes.
    pub(crate) partition: &'static str,
    /// Authenticates stored rows (derived from the root key).
    records: RecordKey,
    /// The earliest time anything is due for any key (epoch seconds; `u64::MAX` for none):
    /// a call checks one number, not every key, before [`housekeeping`](Self::housekeeping).
    pub(crate) next_event: AtomicU64,
    pub(crate) token_key: [u8; 32],
    pub(crate) state: RwLock<State>,
}

/// The key-policy document KMS gives a key created without one, in `account`.
pub(crate) fn default_policy(partition: &str, account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:{partition}:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    )
}

/// Compiles a key policy, or the `MalformedPolicyDocumentException` KMS sends.
pub(crate) fn prepare_policy(text: &str) -> Result<CompiledPolicy, KmsError> {
    compile_policy(
        PolicySource::KeyPolicy,
        &PolicyText {
            text: text.to_owned(),
            offset: None,
        },
    )
    .map_err(|e| KmsError::new(ErrorCode::MalformedPolicyDocument, e.to_string()))
}

pub(crate) fn key_kind(spec: &str, usage: &str) -> KeyKind {
    KeyKind::of(spec, usage).unwrap_or(KeyKind::SymmetricEncryption)
}

pub(crate) fn action(name: &str) -> Result<ActionId, KmsError> {
    kms_action(name).ok_or_else(|| KmsError::internal(format!("{name} is not in the catalog")))
}

/// What one call gathers for its audit record.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) event: &'static str,
    pub(crate) parameters: Value,
    pub(crate) response: Value,
    pub(crate) resources: Vec<String>,
    pub(crate) decisions: Vec<AuditDecision>,
}

impl Call {
    pub(crate) fn new(event: &'static str, parameters: Value) -> Self {
        Self {
            event,
            parameters,
            response: Value::Null,
            resources: Vec::new(),
            decisions: Vec::new(),
        }
    }
}

/// How the request named its key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Named {
    /// The alias name when the key was named through an alias (`kms:RequestAlias`).
    pub(crate) alias: Option<String>,
}

impl Kms {
    /// Opens the service over `store`, loading every key and unsealing it with `root`.
    pub fn open(
        config: KmsConfig,
        store: Box<dyn Store>,
        root: RootKey,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KmsError> {
        let token_key = root.derive(b"keyward grant tokens v1");
        let records = root.record_key();
        let snapshot = store
            .load()
            .map_err(|e| KmsError::internal(e.to_string()))?;
        let mut state = State::default();
        for record in snapshot.keys {
            if !records.verify(&record.fields(), &record.tag) {
                return Err(tampered(&format!("key {}", record.id)));
            }
            let meta: KeyMetadataRecord = serde_json::from_str(&record.metadata)
                .map_err(|e| KmsError::internal(format!("key {}: {e}", record.id)))?;
            let crypto = CryptoKey::unseal(&record.id, &record.sealed, &root)
                .map_err(|e| KmsError::internal(format!("key {}: {e}", record.id)))?;
            let policy = Arc::new(prepare_policy(&meta.policy)?);
            let grants: Vec<_> = meta
                .grants
                .iter()
                .filter_map(|g| g.grant(&meta.arn))
                .collect();
            let grants = KeyGrants::restore(
                key_kind(&meta.spec, &meta.usage),
                &meta.account,
                TokenKey::new(token_key),
                grants,
            )
            .with_key_arn(&meta.arn);
            let mut entry = KeyEntry {
                meta,
                crypto,
                policy,
                grant_set: Arc::default(),
                grants,
                aliases: Vec::new(),
                context: Arc::default(),
                import: None,
            };
            entry.refresh_grants();
            state.keys.insert(record.id, entry);
        }
        for alias in snapshot.aliases {
            let fields = alias.fields();
            let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
            if !records.verify(&fields, &alias.tag) {
                return Err(tampered(&format!(
                    "alias {} of account {}",
                    alias.name, alias.account
                )));
            }
            if let Some(entry) = state.keys.get_mut(&alias.key_id)
                && entry.meta.account == alias.account
            {
                entry.aliases.push(alias.name.clone());
            }
            state.aliases.insert(alias);
        }
        for entry in state.keys.values_mut() {
            entry.refresh_context();
        }
        let next_event = AtomicU64::new(earliest_event(&state));
        Ok(Self {
            region: config.region.as_str().into(),
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
        })
    }

    /// Opens the service the usual way, everything under `dir` (created if missing): the
    /// SQLite store `keys.db`, the root key `root.key` (created at first use, mode 0600), and
    /// the audit trail `audit.jsonl` (JSON Lines, appended); the system clock.
    pub fn open_in(config: KmsConfig, dir: &std::path::Path) -> Result<Self, KmsError> {
        Self::open_at(config, dir, &dir.join("audit.jsonl"))
    }

    /// As [`Kms::open_in`], with the audit trail at `audit_log` (its folder created if missing).
    pub fn open_at(
        config: KmsConfig,
        dir: &std::path::Path,
        audit_log: &std::path::Path,
    ) -> Result<Self, KmsError> {
        let shown = dir.display();
        std::fs::create_dir_all(dir)
            .map_err(|e| KmsError::internal(format!("creating {shown}: {e}")))?;
        let database = dir.join("keys.db");
        let root_path = dir.join("root.key");
        // A store without its root key cannot be unsealed: refuse, rather than make a new root
        // key that opens nothing (and would then seal new keys beside unreadable ones).
        if database.exists() && !root_path.exists() {
            return Err(KmsError::internal(format!(
                "{} exists but {} does not: the stored keys are sealed under that root key; restore it, or move keys.db (with its -wal and -shm files) aside to start with an empty store",
                database.display(),
                root_path.display()
            )));
        }
        let store = crate::store::SqliteStore::open(&database)
            .map_err(|e| KmsError::internal(e.to_string()))?;
        let root =
            RootKey::load_or_create(&root_path).map_err(|e| KmsError::internal(e.to_string()))?;
        if let Some(parent) = audit_log.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| KmsError::internal(format!("creating {}: {e}", parent.display())))?;
        }
        let audit = crate::audit::JsonLinesFile::open(audit_log)
            .map_err(|e| KmsError::internal(format!("opening {}: {e}", audit_log.display())))?;
        Self::open(
            config,
            Box::new(store),
            root,
            Arc::new(audit),
            Arc::new(crate::clock::SystemClock),
        )
    }

    /// The region this service's keys live in.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account that owns this service's keys.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Makes everything written so far durable: the audit trail is synced to disk (the store
    /// commits durably on every change already). For a graceful stop.
    pub fn flush(&self) -> Result<(), KmsError> {
        self.audit
            .flush()
            .map_err(|e| KmsError::internal(format!("flushing the audit trail: {e}")))
    }

    pub(crate) fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, State>, KmsError> {
        self.state
            .read()
            .map_err(|_| KmsError::internal("state lock poisoned"))
    }

    pub(crate) fn write(&self) -> Result<std::sync::RwLockWriteGuard<'_, State>, KmsError> {
        self.state
            .write()
            .map_err(|_| KmsError::internal("state lock poisoned"))
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

    /// The stored form of a key, tagged.
    pub(crate) fn key_change(&self, entry: &KeyEntry) -> Result<Change, KmsError> {
        let metadata =
            serde_json::to_string(&entry.meta).map_err(|e| KmsError::internal(e.to_string()))?;
        let sealed = entry.crypto.seal(&self.root)?;
        let mut record = KeyRecord {
            id: entry.meta.id.clone(),
            metadata,
            sealed,
            tag: Vec::new(),
        };
        record.tag = self.records.tag(&record.fields());
        Ok(Change::PutKey(record))
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

    /// Writes changes through to the store.
    pub(crate) fn persist(&self, changes: &[Change]) -> Result<(), KmsError> {
        self.store
            .apply(changes)
            .map_err(|e| KmsError::internal(e.to_string()))
    }

    /// Runs one call: the operation, then its audit record, allowed or not. The record of a
    /// call that failed keeps its parameters only up to [`REFUSED_PARAMETER_BYTES`] each: a
    /// caller with no permission cannot make the service write much.
    pub(crate) fn call<R>(
        &self,
        caller: &Caller,
        mut call: Call,
        operation: impl FnOnce(&mut Call) -> Result<R, KmsError>,
    ) -> Result<R, KmsError> {
        let result = operation(&mut call);
        let (error_code, error_message) = match &result {
            Ok(_) => (None, None),
            Err(e) => {
                bound_parameters(&mut call.parameters);
                (Some(e.code()), e.message.clone())
            }
        };
        self.audit.record(AuditRecord {
            event_time: self.clock.now(),
            event_name: call.event,
            region: Arc::clone(&self.region),
            identity: UserIdentity {
                kind: caller.identity_kind,
                arn: Arc::clone(&caller.audit_arn),
                account_id: Arc::clone(&caller.audit_account),
            },
            source_ip: caller.source_ip.clone(),
            request_parameters: call.parameters,
            response_elements: call.response,
            resources: call.resources,
            error_code,
            error_message,
            event_id: self.event_ids.next(),
            decisions: call.decisions,
        });
        result
    }

    /// Finds the key a request names (key ID, key ARN, alias name, alias ARN, as `action`'s
    /// `KeyId` accepts: [`crate::key_id`]). A bare key ID or alias name is in the caller's
    /// account; an ARN names its account. A caller of another account never learns whether a
    /// key exists: it gets `AccessDeniedException`.
    pub(crate) fn resolve<'s>(
        &self,
        state: &'s State,
        caller: &Caller,
        key_id: &str,
        action: ActionId,
    ) -> Result<(&'s KeyEntry, Named), KmsError> {
        let reference = key_id::parse(key_id, action)?;
        let (KeyRef::Key { arn, .. } | KeyRef::Alias { arn, .. }) = &reference;
        let account = match arn {
            Some(arn) => {
                if arn.region != self.config.region {
                    return Err(KmsError::not_found(format!("Invalid arn {}", arn.region)));
                }
                if arn.partition != self.partition {
                    return Err(KmsError::new(
                        ErrorCode::InvalidArn,
                        format!("Invalid arn {key_id}"),
                    ));
                }
                arn.account
            }
            None => caller.account(),
        };
        let foreign = account != caller.account();
        let hidden = |arn: &str| {
            KmsError::new(
                ErrorCode::AccessDenied,
                format!(
                    "User: {} is not authorized to perform: {action} on resource: {arn} because no resource-based policy allows the {action} action",
                    caller.arn(),
                ),
            )
        };
        match reference {
            KeyRef::Alias { name, .. } => {
                let target = state
                    .aliases
                    .get(account, name)
                    .and_then(|a| state.keys.get(&a.key_id));
                match target {
                    Some(entry) => Ok((
                        entry,
                        Named {
                            alias: Some(name.to_owned()),
                        },
                    )),
                    None if foreign => Err(hidden(&self.alias_arn(account, name))),
                    None => Err(KmsError::not_found(format!(
                        "Alias {} is not found.",
                        self.alias_arn(account, name)
                    ))),
                }
            }
            KeyRef::Key { id, .. } => {
                match state.keys.get(id).filter(|e| e.meta.account == account) {
                    Some(entry) => Ok((entry, Named::default())),
                    None if foreign => Err(hidden(&self.key_arn(account, id))),
                    None => Err(KmsError::not_found(format!(
                        "Key '{}' does not exist",
                        self.key_arn(account, id)
                    ))),
                }
            }
        }
    }

    /// The request context of a call: the caller's layer (its principal keys, session tags,
    /// source IP, `kms:ViaService`), the key's layer above it (what the key is, its aliases and
    /// tags), then the request's own keys: `kms:RequestAlias` when the key was named through an
    /// alias, the encryption context, and `extra` (the operation's keys).
    pub(crate) fn context(
        &self,
        caller: &Caller,
        entry: Option<&KeyEntry>,
        named: &Named,
        encryption_context: &[(String, String)],
        extra: &[(&str, &str)],
    ) -> RequestContext {
        let mut ctx = RequestContext::new();
        ctx.with_layer(Arc::clone(caller.layer()));
        if let Some(entry) = entry {
            ctx.with_layer(Arc::clone(&entry.context));
        }
        if let Some(alias) = &named.alias {
            ctx.insert_single("kms:RequestAlias", alias);
        }
        ctx.insert_encryption_context(
            encryption_context
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        for (key, value) in extra {
            ctx.insert_single(key, value);
        }
        ctx
    }

    /// The `authz` request for `caller` doing `action` on `resource` (`*` for actions without
    /// a key; an alias ARN with `target_key` for alias operations).
    pub(crate) fn request(
        &self,
        caller: &Caller,
        action: ActionId,
        resource: String,
        target_key: Option<String>,
        encryption_context: &[(String, String)],
        context: RequestContext,
    ) -> Request {
        let resource_account =
            keyward_policy::arn::Arn::parse(&resource).map(|a| a.account.to_owned());
        Request {
            principal: caller.arn().to_owned(),
            principal_account: Some(caller.account().to_owned()),
            principal_role_arn: caller.role_arn().map(str::to_owned),
            action,
            resource,
            resource_account,
            target_key,
            key_policy: None,
            identity_policies: Vec::new(),
            grants: Vec::new(),
            grant_tokens: Vec::new(),
            encryption_context: encryption_context.to_vec(),
            context,
        }
    }

    /// Asks `authz` whether `caller` may perform `action` on `entry` (or, without a key, on
    /// `*` by identity policies alone); records the decision in the call. On an allow, what
    /// allowed (the basis and the deciding statements or grants).
    pub(crate) fn authorize(
        &self,
        call: &mut Call,
        caller: &Caller,
        entry: Option<&KeyEntry>,
        action: ActionId,
        encryption_context: &[(String, String)],
        context: RequestContext,
    ) -> Result<Judgement, KmsError> {
        let resource = entry.map_or_else(|| "*".to_owned(), |e| e.meta.arn.clone());
        let request = self.request(caller, action, resource, None, encryption_context, context);
        self.decide(call, caller, entry, &request)
    }

    /// Authorizes a key-scoped `action` that the caller's IAM policies alone decide, for a key
    /// that does not exist yet: `kms:TagResource` when CreateKey has `Tags` ("you must have
    /// kms:TagResource permission in an IAM policy"). The key side is the default key policy of
    /// the service's account, which delegates to IAM.
    pub(crate) fn authorize_by_iam(
        &self,
        call: &mut Call,
        caller: &Caller,
        action: ActionId,
        context: RequestContext,
    ) -> Result<(), KmsError> {
        let delegation = Arc::new(prepare_policy(&default_policy(
            self.partition,
            caller.account(),
        ))?);
        let request = self.request(caller, action, "*".to_owned(), None, &[], context);
        let verdict = Authorizer::from_parts(
            Some(Arc::clone(&delegation)),
            Arc::clone(caller.identity()),
            Arc::default(),
        )
        .judge(&request);
        call.decisions.push(AuditDecision {
            action,
            resource: request.resource.clone(),
            verdict: verdict.verdict,
            reasons: verdict.reasons,
        });
        if verdict.verdict == Verdict::Allow {
            return Ok(());
        }
        let message = Authorizer::from_parts(
            Some(delegation),
            Arc::clone(caller.identity()),
            Arc::default(),
        )
        .decide(&request)
        .message;
        Err(KmsError::new(
            ErrorCode::AccessDenied,
            message.unwrap_or_else(|| {
                format!(
                    "User: {} is not authorized to perform: {action}",
                    caller.arn()
                )
            }),
        ))
    }

    /// Puts `request` to `authz` with the key's policy and grants and the caller's identity
    /// policies; records the decision in the call. On an allow, the judgement.
    pub(crate) fn decide(
        &self,
        call: &mut Call,
        caller: &Caller,
        entry: Option<&KeyEntry>,
        request: &Request,
    ) -> Result<Judgement, KmsError> {
        let action = request.action;
        let authorizer = Authorizer::from_parts(
            entry.map(|e| Arc::clone(&e.policy)),
            Arc::clone(caller.identity()),
            entry.map_or_else(Arc::default, |e| Arc::clone(&e.grant_set)),
        );
        let judgement = authorizer.judge(request);
        let verdict = judgement.verdict;
        call.decisions.push(AuditDecision {
            action,
            resource: request.resource.clone(),
            verdict,
            reasons: judgement.reasons.clone(),
        });
        if verdict == Verdict::Allow {
            Ok(judgement)
        } else {
            // A denial is rare: it pays for the full decision and AWS's message.
            let message = authorizer.decide(request).message;
            Err(KmsError::new(
                ErrorCode::AccessDenied,
                message.unwrap_or_else(|| {
                    format!(
                        "User: {} is not authorized to perform: {action}",
                        caller.arn()
                    )
                }),
            ))
        }
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
        let sealed_before = entry.crypto.seal(&self.root)?;
        let result = change(entry).and_then(|r| {
            let record = self.key_change(entry)?;
            self.persist(&[record])?;
            Ok(r)
        });
        let result = result.map_err(|e| e.naming_key(&entry.meta.id, &entry.meta.arn));
        if result.is_err() {
            entry.meta = meta_before;
            entry.grants = grants_before;
            entry.crypto = CryptoKey::unseal(&entry.meta.id, &sealed_before, &self.root)?;
            entry.refresh_grants();
        }
        entry.refresh_context();
        if let Some(at) = entry.next_event() {
            self.next_event.fetch_min(at, Ordering::Relaxed);
        }
        result
    }

    /// What the passing of time does, run at the start of every key-scoped call (a single
    /// comparison when nothing is due): keys whose deletion window has passed are destroyed
    /// (material dropped and zeroized, record and aliases deleted); enabled keys due for
    /// automatic rotation are rotated; imported material past its `ValidTo` is deleted (the
    /// key becomes `PendingImport`).
    pub(crate) fn housekeeping(&self) -> Result<(), KmsError> {
        let now = epoch_seconds(self.clock.now());
        if self.next_event.load(Ordering::Relaxed) > now {
            return Ok(());
        }
        let mut state = self.write()?;
        let due: Vec<String> = state
            .keys
            .values()
            .filter(|e| e.next_event().is_some_and(|at| at <= now))
            .map(|e| e.meta.id.clone())
            .collect();
        for id in due {
            let Some(entry) = state.keys.get_mut(&id) else {
                continue;
            };
            if entry.meta.deletion_date.is_some_and(|d| d <= now) {
                let aliases = std::mem::take(&mut entry.aliases);
                let account = entry.meta.account.clone();
                let mut changes: Vec<Change> = aliases
                    .iter()
                    .map(|name| Change::DeleteAlias {
                        account: account.clone(),
                        name: name.clone(),
                    })
                    .collect();
                changes.push(Change::DeleteKey(id.clone()));
                if let Err(e) = self.persist(&changes) {
                    entry.aliases = aliases;
                    return Err(e);
                }
                for name in aliases {
                    state.aliases.remove(&account, &name);
                }
                state.keys.remove(&id);
                continue;
            }
            self.commit_key(entry, |e| {
                let rotate = e.meta.state == AdminState::Enabled
                    && e.meta.rotation_enabled
                    && e.meta.next_rotation.is_some_and(|at| at <= now);
                if rotate {
                    let version = e.crypto.rotate()?;
                    e.meta.rotations.push(RotationRecord {
                        version,
                        date: now,
                        on_demand: false,
                    });
                    e.meta.next_rotation =
                        Some(now + u64::from(e.meta.rotation_period_days) * 86_400);
                }
                if e.meta.valid_to.is_some_and(|at| at <= now) {
                    e.crypto
                        .delete_expired_material(crate::clock::from_epoch_seconds(now));
                    e.refresh_expiry();
                }
                Ok(())
            })?;
        }
        self.next_event
            .store(earliest_event(&state), Ordering::Relaxed);
        Ok(())
    }
}

/// The most bytes (as JSON) one request parameter keeps in the audit record of a failed call;
/// a larger one is replaced by a note of its size.
pub(crate) const REFUSED_PARAMETER_BYTES: usize = 1024;

/// Shrinks the parameters of a failed call's record: each member larger than
/// [`REFUSED_PARAMETER_BYTES`] becomes `"<omitted: N bytes>"`.
fn bound_parameters(parameters: &mut Value) {
    let Value::Object(members) = parameters else {
        return;
    };
    for value in members.values_mut() {
        let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
        if size > REFUSED_PARAMETER_BYTES {
            *value = Value::String(format!("<omitted: {size} bytes>"));
        }
    }
}

/// Refuses an encryption context larger than Keyward reads
/// ([`keyward_conditions::encryption_context::MAX_ENCRYPTION_CONTEXT_BYTES`]), before anything
/// reads it: AWS documents no bound, so Keyward fails closed at one no real context nears.
pub(crate) fn check_encryption_context(
    field: &str,
    context: &BTreeMap<String, String>,
) -> Result<(), KmsError> {
    use keyward_conditions::encryption_context::{MAX_ENCRYPTION_CONTEXT_BYTES, size};
    let bytes = size(context.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if bytes > MAX_ENCRYPTION_CONTEXT_BYTES {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value at '{field}' failed to satisfy constraint: Keyward reads an encryption context of at most {MAX_ENCRYPTION_CONTEXT_BYTES} bytes of keys and values; this one has {bytes}"
        )));
    }
    Ok(())
}

/// The refusal to start over a stored row whose tag does not match.
fn tampered(what: &str) -> KmsError {
    KmsError::internal(format!(
        "the stored row of {what} does not match its integrity tag: it was changed outside Keyward (or the root key is not the one it was written with); refusing to start"
    ))
}

/// The earliest time anything is due for any key in `state` (`u64::MAX` for none).
fn earliest_event(state: &State) -> u64 {
    state
        .keys
        .values()
        .filter_map(KeyEntry::next_event)
        .min()
        .unwrap_or(u64::MAX)
}

/// The error for an operation the key's state does not allow (`kms-authorization.md` §5.2).
pub(crate) fn state_error(entry: &KeyEntry, class: StateClass) -> Option<KmsError> {
    let arn = &entry.meta.arn;
    let state = entry.state();
    match (class, state) {
        (StateClass::Any, _) => None,
        (StateClass::Cryptographic, KeyState::Enabled) => None,
        (StateClass::Cryptographic, KeyState::Disabled) => Some(KmsError::new(
            ErrorCode::Disabled,
            format!("{arn} is disabled."),
        )),
        (StateClass::Cryptographic, KeyState::PendingDeletion) => Some(KmsError::invalid_state(
            format!("{arn} is pending deletion."),
        )),
        (StateClass::Cryptographic | StateClass::EnableDisable, KeyState::PendingImport) => {
            Some(KmsError::invalid_state(format!("{arn} is pending import.")))
        }
        (StateClass::NotPendingDeletion | StateClass::EnableDisable, KeyState::PendingDeletion) => {
            Some(KmsError::invalid_state(format!(
                "{arn} is pending deletion."
            )))
        }
        (StateClass::NotPendingDeletion | StateClass::EnableDisable, _) => None,
        (StateClass::PendingDeletionOnly, KeyState::PendingDeletion) => None,
        (StateClass::Rotation, KeyState::Enabled) => None,
        (StateClass::Rotation, KeyState::Disabled) => Some(KmsError::new(
            ErrorCode::Disabled,
            format!("{arn} is disabled."),
        )),
        (StateClass::Rotation, KeyState::PendingDeletion) => Some(KmsError::invalid_state(
            format!("{arn} is pending deletion."),
        )),
        (StateClass::Rotation, KeyState::PendingImport) => Some(KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!("{arn} origin is EXTERNAL which is not valid for this operation."),
        )),
        (StateClass::OnDemandRotation, KeyState::Enabled) => None,
        (StateClass::OnDemandRotation, KeyState::Disabled) => Some(KmsError::new(
            ErrorCode::Disabled,
            format!("{arn} is disabled."),
        )),
        (StateClass::OnDemandRotation, KeyState::PendingDeletion) => Some(KmsError::invalid_state(
            format!("{arn} is pending deletion."),
        )),
        (StateClass::OnDemandRotation, KeyState::PendingImport) => {
            Some(KmsError::invalid_state(format!("{arn} is pending import.")))
        }
        (StateClass::PendingDeletionOnly, _) => Some(KmsError::invalid_state(format!(
            "{arn} is not pending deletion."
        ))),
    }
}

/// Rows of the key-state table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateClass {
    /// Encrypt, Decrypt, data keys, Sign, MAC, CreateGrant: Enabled only.
    Cryptographic,
    /// Enable/DisableKey: not pending deletion or import.
    EnableDisable,
    /// Tagging, description, aliases, ScheduleKeyDeletion: not pending deletion.
    NotPendingDeletion,
    /// CancelKeyDeletion.
    PendingDeletionOnly,
    /// Enable/DisableKeyRotation: Enabled only (Disabled is `DisabledException`; a key with
    /// imported material rotates no automatic way: `UnsupportedOperationException`).
    Rotation,
    /// RotateKeyOnDemand: Enabled only; a key pending import is `KMSInvalidStateException`
    /// ("<arn> is pending import."), checked before the key's origin (AWS's recordings).
    OnDemandRotation,
    /// DescribeKey, policies, grants listing/retiring/revoking.
    Any,
}
