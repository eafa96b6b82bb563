//! The audit trail: one record per call, allowed or not, shaped like a CloudTrail KMS event
//! plus the decision and its reasons. Plaintext and key material never enter a record: the
//! operations build `requestParameters` from the non-secret fields only.
//!
//! A record is a typed [`AuditRecord`], moved into the sink: the memory sink keeps it as is,
//! the JSON Lines sink serializes it (the CloudTrail field names are the serde names).

use crate::clock::rfc3339;
use keyward_authz::{Reason, Verdict};
use keyward_policy::catalog::ActionId;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// One call: a CloudTrail-shaped KMS event plus `keyward.decisions`.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// `eventTime`.
    pub event_time: SystemTime,
    /// `eventName`: the operation (`Encrypt`, `CreateKey`, ...).
    pub event_name: &'static str,
    /// `awsRegion`.
    pub region: Arc<str>,
    /// `userIdentity`.
    pub identity: UserIdentity,
    /// `sourceIPAddress`, when the caller has `aws:SourceIp`.
    pub source_ip: Option<String>,
    /// `requestParameters`: the non-secret request fields.
    pub request_parameters: Value,
    /// `responseElements`: the non-secret response fields (`null` for most calls, as in
    /// CloudTrail).
    pub response_elements: Value,
    /// `resources`: the ARNs of the keys the call used (each key's account is its ARN's).
    pub resources: Vec<String>,
    /// `additionalEventData`, when the call has some: for a key of a custom key store, the
    /// store's ID (`customKeyStoreId`) and its cluster, the token's label (`clusterId`).
    pub additional_event_data: Option<Value>,
    /// `errorCode`, for a call that failed.
    pub error_code: Option<&'static str>,
    /// `errorMessage`, for a call that failed.
    pub error_message: Option<String>,
    /// `eventID`.
    pub event_id: uuid::Uuid,
    /// `keyward.decisions`: each authorization the call asked for.
    pub decisions: Vec<AuditDecision>,
    /// `keyward.instance`: the instance that served the call ([`crate::KmsConfig::instance`]).
    pub instance: Arc<str>,
}

/// `userIdentity`.
#[derive(Debug, Clone)]
pub struct UserIdentity {
    /// `type`: `Root`, `IAMUser`, `AssumedRole`.
    pub kind: &'static str,
    /// `arn`.
    pub arn: Arc<str>,
    /// `accountId`.
    pub account_id: Arc<str>,
}

/// One authorization: the action on the resource, the verdict, and the statements and grants
/// that decided it.
#[derive(Debug, Clone)]
pub struct AuditDecision {
    /// The action.
    pub action: ActionId,
    /// The resource ARN (`*` without one).
    pub resource: String,
    /// The verdict.
    pub verdict: Verdict,
    /// What decided (empty for an implicit deny).
    pub reasons: Vec<Reason>,
    /// For a denial: what AWS would answer, why, and whether the call was stopped.
    pub denial: Option<DenialRecord>,
}

/// A denial as the audit trail keeps it.
#[derive(Debug, Clone)]
pub struct DenialRecord {
    /// The `AccessDeniedException` message AWS would send.
    pub message: String,
    /// The engine's explanation: every statement and grant considered, and why it did or did
    /// not apply.
    pub explanation: String,
    /// False when report mode let the call proceed ([`crate::Enforcement::Report`]).
    pub enforced: bool,
}

impl AuditRecord {
    /// `readOnly`, as CloudTrail derives it from the operation.
    pub fn read_only(&self) -> bool {
        ["Describe", "Get", "List"]
            .iter()
            .any(|p| self.event_name.starts_with(p))
    }

    /// The record as a JSON value.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

struct Display<T>(T);

impl<T: std::fmt::Display> Serialize for Display<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl Serialize for UserIdentity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("UserIdentity", 3)?;
        o.serialize_field("type", self.kind)?;
        o.serialize_field("arn", &*self.arn)?;
        o.serialize_field("accountId", &*self.account_id)?;
        o.end()
    }
}

struct Resource<'a> {
    arn: &'a str,
    account: &'a str,
}

impl Serialize for Resource<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Resource", 3)?;
        o.serialize_field("ARN", self.arn)?;
        o.serialize_field("accountId", self.account)?;
        o.serialize_field("type", "AWS::KMS::Key")?;
        o.end()
    }
}

struct AuditReason<'a>(&'a Reason);

impl Serialize for AuditReason<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut o = s.serialize_struct("Reason", 4)?;
        o.serialize_field("effect", &Display(format_args!("{:?}", r.effect)))?;
        o.serialize_field("source", &Display(&r.source))?;
        o.serialize_field("statement", &r.statement)?;
        o.serialize_field("sid", &r.sid)?;
        o.end()
    }
}

impl Serialize for AuditDecision {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Decision", 7)?;
        o.serialize_field("action", &Display(self.action))?;
        o.serialize_field("resource", &self.resource)?;
        o.serialize_field("verdict", self.verdict.as_str())?;
        let reasons: Vec<AuditReason<'_>> = self.reasons.iter().map(AuditReason).collect();
        o.serialize_field("reasons", &reasons)?;
        o.serialize_field("enforced", &self.denial.as_ref().is_none_or(|d| d.enforced))?;
        match &self.denial {
            Some(denial) => {
                o.serialize_field("message", &denial.message)?;
                o.serialize_field("explanation", &denial.explanation)?;
            }
            None => {
                o.skip_field("message")?;
                o.skip_field("explanation")?;
            }
        }
        o.end()
    }
}

struct Extension<'a>(&'a [AuditDecision], &'a str);

impl Serialize for Extension<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Keyward", 2)?;
        o.serialize_field("decisions", self.0)?;
        o.serialize_field("instance", self.1)?;
        o.end()
    }
}

impl Serialize for AuditRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("AuditRecord", 16)?;
        o.serialize_field("eventVersion", "1.08")?;
        o.serialize_field("eventTime", &rfc3339(self.event_time))?;
        o.serialize_field("eventSource", "kms.amazonaws.com")?;
        o.serialize_field("eventName", self.event_name)?;
        o.serialize_field("awsRegion", &*self.region)?;
        o.serialize_field("userIdentity", &self.identity)?;
        o.serialize_field("sourceIPAddress", &self.source_ip)?;
        o.serialize_field("requestParameters", &self.request_parameters)?;
        o.serialize_field("responseElements", &self.response_elements)?;
        let resources: Vec<Resource<'_>> = self
            .resources
            .iter()
            .map(|arn| Resource {
                arn,
                account: keyward_policy::arn::Arn::parse(arn).map_or("", |a| a.account),
            })
            .collect();
        o.serialize_field("resources", &resources)?;
        if let Some(data) = &self.additional_event_data {
            o.serialize_field("additionalEventData", data)?;
        }
        o.serialize_field("errorCode", &self.error_code)?;
        o.serialize_field("errorMessage", &self.error_message)?;
        o.serialize_field("eventID", &Display(self.event_id))?;
        o.serialize_field("readOnly", &self.read_only())?;
        o.serialize_field("eventType", "AwsApiCall")?;
        o.serialize_field("keyward", &Extension(&self.decisions, &self.instance))?;
        o.end()
    }
}

/// Event IDs (and a server's request IDs): UUIDs (version 4 layout) from a random
/// per-process prefix and a counter, so that each costs an atomic increment rather than a call
/// to the system's random source. They are unique, not secret.
#[derive(Debug)]
pub struct EventIds {
    prefix: [u8; 16],
    next: AtomicU64,
}

impl Default for EventIds {
    fn default() -> Self {
        Self::new()
    }
}

impl EventIds {
    /// A new source, with a prefix of its own.
    pub fn new() -> Self {
        Self {
            prefix: *uuid::Uuid::new_v4().as_bytes(),
            next: AtomicU64::new(0),
        }
    }

    /// The next ID: never one this source gave before.
    pub fn next(&self) -> uuid::Uuid {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut bytes = self.prefix;
        let (_, low) = bytes.split_at_mut(8);
        let base = u64::from_be_bytes(low.try_into().unwrap_or([0; 8]));
        // The counter moves the low 62 bits (the top two hold the variant).
        let mixed = (base & !(u64::MAX >> 2)) | (base.wrapping_add(n) & (u64::MAX >> 2));
        low.copy_from_slice(&mixed.to_be_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// Where audit records go. `record` must not fail the call it records: a sink that cannot
/// write reports it through `failures`.
pub trait AuditSink: Send + Sync + std::fmt::Debug {
    /// Takes one record.
    fn record(&self, record: AuditRecord);
    /// How many records could not be written.
    fn failures(&self) -> u64 {
        0
    }
    /// Makes every record taken so far durable.
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

/// JSON Lines appended to a file, one line per record, written per record.
#[derive(Debug)]
pub struct JsonLinesFile {
    file: Mutex<std::fs::File>,
    failures: AtomicU64,
}

impl JsonLinesFile {
    /// Opens (or creates) `path` for appending: readable by its owner only (`0600`, also for
    /// a file an earlier run left with a wider mode), and never through a symbolic link.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let file = options.open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let metadata = file.metadata()?;
            if !metadata.is_file() {
                return Err(std::io::Error::other("the audit log is not a regular file"));
            }
            if metadata.permissions().mode() & 0o777 != 0o600 {
                file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
        }
        Ok(Self {
            file: Mutex::new(file),
            failures: AtomicU64::new(0),
        })
    }
}

impl AuditSink for JsonLinesFile {
    fn record(&self, record: AuditRecord) {
        let line = serde_json::to_vec(&record).map(|mut line| {
            line.push(b'\n');
            line
        });
        let written = line.map_err(|_| ()).and_then(|line| {
            self.file
                .lock()
                .map_err(|_| ())
                .and_then(|mut f| f.write_all(&line).map_err(|_| ()))
        });
        if written.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn flush(&self) -> std::io::Result<()> {
        self.file
            .lock()
            .map_err(|_| std::io::Error::other("audit file lock poisoned"))?
            .sync_all()
    }
}

/// Records kept in memory (tests, embedders that ship records themselves).
#[derive(Debug, Default)]
pub struct MemoryAudit(Mutex<Vec<AuditRecord>>);

impl MemoryAudit {
    /// An empty trail.
    pub fn new() -> Self {
        Self::default()
    }

    /// The records so far, as JSON.
    pub fn records(&self) -> Vec<Value> {
        self.0
            .lock()
            .map(|r| r.iter().map(AuditRecord::to_json).collect())
            .unwrap_or_default()
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |r| r.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every record.
    pub fn clear(&self) {
        if let Ok(mut r) = self.0.lock() {
            r.clear();
        }
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, record: AuditRecord) {
        if let Ok(mut r) = self.0.lock() {
            r.push(record);
        }
    }
}

/// Records dropped (benchmarks of everything else).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _: AuditRecord) {}
}

impl<T: AuditSink + ?Sized> AuditSink for Arc<T> {
    fn record(&self, record: AuditRecord) {
        (**self).record(record);
    }

    fn failures(&self) -> u64 {
        (**self).failures()
    }

    fn flush(&self) -> std::io::Result<()> {
        (**self).flush()
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    /// A sink shared behind an `Arc` (as the service holds it) must pass `flush` through:
    /// the default `flush` did nothing, so the audit log was never synced at stop.
    #[test]
    fn flush_reaches_a_sink_behind_an_arc() {
        #[derive(Debug, Default)]
        struct Counting(AtomicU64);
        impl AuditSink for Counting {
            fn record(&self, _: AuditRecord) {}
            fn flush(&self) -> std::io::Result<()> {
                self.0.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        }
        let sink = Arc::new(Counting::default());
        let shared: Arc<dyn AuditSink> = Arc::new(Arc::clone(&sink));
        shared.flush().unwrap();
        AuditSink::flush(&Arc::clone(&sink)).unwrap();
        assert_eq!(sink.0.load(Ordering::Relaxed), 2);
    }

    #[cfg(unix)]
    #[test]
    fn the_audit_log_is_owner_only_and_never_opened_through_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        drop(JsonLinesFile::open(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(JsonLinesFile::open(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "an earlier run's wider mode is closed down"
        );
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
        assert!(JsonLinesFile::open(&link).is_err());
        assert!(!dir.path().join("elsewhere").exists());
    }

    #[test]
    fn event_ids_are_distinct_version_4_uuids() {
        let ids = EventIds::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let id = ids.next();
            assert_eq!(id.get_version_num(), 4);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            assert!(seen.insert(id), "{id} repeated");
        }
    }
}
