//! The audit trail: one record per call, allowed or not, shaped like a CloudTrail KMS event
//! plus the decision and its reasons. Plaintext and key material never enter a record: the
//! operations build `requestParameters` from the non-secret fields only.
//!
//! A record is a typed [`AuditRecord`], moved into the sink: the memory sink keeps it as is,
//! the JSON Lines sink serializes it (the CloudTrail field names are the serde names).

use crate::clock::rfc3339;
use keyward_authz::{JsonOut, Reason, Verdict};
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

    /// Appends the record's JSON to `out`: the bytes `serde_json` writes for it (its
    /// `Serialize`, which [`to_json`](Self::to_json) uses), written by the schema, keys as
    /// they are and clean strings copied (`keyward_authz::JsonOut`). The audit trail writes
    /// one per call.
    ///
    /// # Errors
    /// `serde_json`'s, for a request parameter it cannot write; never for the record's own
    /// fields.
    pub fn write_json(&self, out: &mut Vec<u8>) -> std::io::Result<()> {
        let mut json = JsonOut::new(out);
        json.raw("{\"eventVersion\":\"1.08\",\"eventTime\":");
        json.string(&rfc3339(self.event_time))?;
        json.raw(",\"eventSource\":\"kms.amazonaws.com\",\"eventName\":");
        json.string(self.event_name)?;
        json.raw(",\"awsRegion\":");
        json.string(&self.region)?;
        json.raw(",\"userIdentity\":{\"type\":");
        json.string(self.identity.kind)?;
        json.raw(",\"arn\":");
        json.string(&self.identity.arn)?;
        json.raw(",\"accountId\":");
        json.string(&self.identity.account_id)?;
        json.raw("},\"sourceIPAddress\":");
        json.optional_string(self.source_ip.as_deref())?;
        json.raw(",\"requestParameters\":");
        json.value(&self.request_parameters)?;
        json.raw(",\"responseElements\":");
        json.value(&self.response_elements)?;
        json.raw(",\"resources\":[");
        for (i, arn) in self.resources.iter().enumerate() {
            json.raw(if i == 0 { "{\"ARN\":" } else { ",{\"ARN\":" });
            json.string(arn)?;
            json.raw(",\"accountId\":");
            json.string(keyward_policy::arn::Arn::parse(arn).map_or("", |a| a.account))?;
            json.raw(",\"type\":\"AWS::KMS::Key\"}");
        }
        json.raw("]");
        if let Some(data) = &self.additional_event_data {
            json.raw(",\"additionalEventData\":");
            json.value(data)?;
        }
        json.raw(",\"errorCode\":");
        json.optional_string(self.error_code)?;
        json.raw(",\"errorMessage\":");
        json.optional_string(self.error_message.as_deref())?;
        json.raw(",\"eventID\":");
        json.string(
            self.event_id
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        )?;
        json.raw(",\"readOnly\":");
        json.boolean(self.read_only());
        json.raw(",\"eventType\":\"AwsApiCall\",\"keyward\":{\"decisions\":[");
        for (i, decision) in self.decisions.iter().enumerate() {
            if i > 0 {
                json.raw(",");
            }
            decision.write_json(&mut json)?;
        }
        json.raw("],\"instance\":");
        json.string(&self.instance)?;
        json.raw("}}");
        Ok(())
    }
}

impl AuditDecision {
    /// The decision's object in [`AuditRecord::write_json`].
    fn write_json(&self, json: &mut JsonOut<'_>) -> std::io::Result<()> {
        json.raw("{\"action\":");
        json.string(self.action.qualified_name())?;
        json.raw(",\"resource\":");
        json.string(&self.resource)?;
        json.raw(",\"verdict\":");
        json.string(self.verdict.as_str())?;
        json.raw(",\"reasons\":[");
        for (i, r) in self.reasons.iter().enumerate() {
            json.raw(if i == 0 {
                "{\"effect\":"
            } else {
                ",{\"effect\":"
            });
            json.string(r.effect.as_str())?;
            json.raw(",\"source\":");
            json.source(&r.source)?;
            json.raw(",\"statement\":");
            json.optional_number(r.statement);
            json.raw(",\"sid\":");
            json.optional_string(r.sid.as_deref())?;
            json.raw("}");
        }
        json.raw("],\"enforced\":");
        json.boolean(self.denial.as_ref().is_none_or(|d| d.enforced));
        if let Some(denial) = &self.denial {
            json.raw(",\"message\":");
            json.string(&denial.message)?;
            json.raw(",\"explanation\":");
            json.string(&denial.explanation)?;
        }
        json.raw("}");
        Ok(())
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
    /// Whether `record` waits for a disk: each record made durable before it returns
    /// ([`AuditSync::PerRequest`]). A server calls such a sink where blocking is allowed, not
    /// on its async workers.
    fn waits_for_disk(&self) -> bool {
        false
    }
}

/// When audit records reach the disk: the durability contract of `audit_sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditSync {
    /// Each record is written and synced to the disk (`fdatasync`) before the call it records
    /// answers: nothing answered is ever lost. The writer syncs the records of the calls
    /// waiting at once together (group commit): a sync per call when calls come one at a
    /// time, fewer when they overlap.
    PerRequest,
    /// Records are written and synced by a dedicated writer, together, at most `interval` after
    /// they were taken: a crash (of the process or the machine) loses at most the records of
    /// the last `interval`. The default, with 10 ms.
    Batched {
        /// The longest a record waits to be written and synced.
        interval: std::time::Duration,
    },
    /// Records are written by the writer every `interval`, and never synced before the
    /// service stops: the operating system decides when they reach the disk, and a crash of
    /// the machine may lose any number of them.
    None {
        /// The longest a record waits to be written.
        interval: std::time::Duration,
    },
}

impl Default for AuditSync {
    fn default() -> Self {
        Self::Batched {
            interval: std::time::Duration::from_millis(10),
        }
    }
}

/// The most bytes of records the writer holds before writing them without waiting for its
/// interval: a burst never grows the buffer without bound.
const WRITE_AT_BYTES: usize = 1 << 20;

/// Whole pages of the trail made durable but still cached: once this many bytes of them have
/// gathered, their page cache is given back (see [`AuditFile`]).
const RELEASE_AT_BYTES: u64 = 256 * 1024;

/// The audit file and where its end is. A trail is written once and read by other tools, not
/// by this process: after a sync, the whole pages made durable are given back to the
/// operating system (`posix_fadvise(POSIX_FADV_DONTNEED)`, Linux only, advisory), so a long
/// trail neither fills the page cache nor makes every write land in memory never used before;
/// the page still being appended to stays. Nothing unsynced is ever dropped: the kernel keeps
/// dirty pages whatever the advice says. A reader tailing the file (a log shipper) reads what
/// it had not read by then from the disk. Keeping the trail's last MiB cached for such a reader
/// was measured and lost the gain: a 300 MB loop of `fdatasync`'d appends took 0.61–0.75 s of
/// system time with any tail kept (256 KiB to 4 MiB), 0.11–0.13 s giving back up to the end,
/// 0.85–1.08 s giving back nothing.
#[derive(Debug)]
struct AuditFile {
    file: std::fs::File,
    /// The file's length as this process has written it.
    end: u64,
    /// The cache of the file below this offset (a page boundary) has been given back.
    released: u64,
    /// How many times the file was synced (what the tests of group commit count).
    #[cfg(test)]
    syncs: u64,
}

impl AuditFile {
    fn new(file: std::fs::File) -> std::io::Result<Self> {
        let end = file.metadata()?.len();
        Ok(Self {
            file,
            end,
            released: whole_pages(end),
            #[cfg(test)]
            syncs: 0,
        })
    }

    /// Appends `bytes`.
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.end = self.end.saturating_add(bytes.len() as u64);
        Ok(())
    }

    /// Makes what was appended durable (`fdatasync`), then gives back the cache of what is
    /// synced.
    fn sync_data(&mut self) -> std::io::Result<()> {
        self.file.sync_data()?;
        #[cfg(test)]
        {
            self.syncs += 1;
        }
        self.release_synced();
        Ok(())
    }

    /// The same with the file's metadata (`fsync`).
    fn sync_all(&mut self) -> std::io::Result<()> {
        self.file.sync_all()?;
        self.release_synced();
        Ok(())
    }

    /// Gives back the cache of the synced whole pages, once there is [`RELEASE_AT_BYTES`] of
    /// them.
    fn release_synced(&mut self) {
        if let Some((offset, len)) = release_range(self.released, self.end) {
            release_cache(&self.file, offset, len);
            self.released = offset.saturating_add(len);
        }
    }
}

/// `offset` rounded down to a page boundary of this machine.
fn whole_pages(offset: u64) -> u64 {
    let page = page_size();
    offset / page * page
}

#[cfg(target_os = "linux")]
fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

#[cfg(not(target_os = "linux"))]
fn page_size() -> u64 {
    4096
}

/// The range whose cache to give back after a sync, when the cache was given back below
/// `released` and the file is `end` long: the whole pages between, once they are
/// [`RELEASE_AT_BYTES`] or more (never the page still being appended to).
fn release_range(released: u64, end: u64) -> Option<(u64, u64)> {
    let upto = whole_pages(end);
    let len = upto.checked_sub(released)?;
    (len >= RELEASE_AT_BYTES).then_some((released, len))
}

/// Advises the kernel that the synced bytes `offset..offset + len` of `file` will not be read
/// again. Advisory: an error is ignored, and the trail is the same either way.
#[cfg(target_os = "linux")]
fn release_cache(file: &std::fs::File, offset: u64, len: u64) {
    if let Some(len) = std::num::NonZeroU64::new(len) {
        let _ = rustix::fs::fadvise(file, offset, Some(len), rustix::fs::Advice::DontNeed);
    }
}

#[cfg(not(target_os = "linux"))]
fn release_cache(_: &std::fs::File, _: u64, _: u64) {}

/// JSON Lines appended to a file, one line per record, by a dedicated writer thread, as its
/// [`AuditSync`] says: synced before `record` returns, or in batches.
#[derive(Debug)]
pub struct JsonLinesFile {
    file: Arc<Mutex<AuditFile>>,
    failures: Arc<AtomicU64>,
    writer: Writer,
    /// [`AuditSync::PerRequest`]: `record` waits until the writer has synced its record. The
    /// calls waiting together share a sync (group commit): the records taken while the
    /// writer syncs are written and synced at once by its next round.
    waits_for_sync: bool,
}

/// The batching writer: records waiting, and the thread that writes them.
#[derive(Debug)]
struct Writer {
    shared: Arc<WriterShared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

#[derive(Debug, Default)]
struct WriterShared {
    state: Mutex<Pending>,
    /// Wakes the writer (a flush, a full buffer, the stop) and the flushes it completes.
    wake: std::sync::Condvar,
    done: std::sync::Condvar,
}

#[derive(Debug, Default)]
struct Pending {
    buffer: Vec<u8>,
    records: u64,
    /// Flushes asked for and flushes done: a flush waits until its ticket is done.
    flushes_asked: u64,
    flushes_done: u64,
    stop: bool,
}

impl JsonLinesFile {
    /// Opens (or creates) `path` for appending, with the default [`AuditSync`]: see
    /// [`open_with`](Self::open_with).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Self::open_with(path, AuditSync::default())
    }

    /// Opens (or creates) `path` for appending: readable by its owner only (`0600`, also for
    /// a file an earlier run left with a wider mode), and never through a symbolic link.
    /// Records are written as `sync` says.
    pub fn open_with(path: &Path, sync: AuditSync) -> std::io::Result<Self> {
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
        let file = Arc::new(Mutex::new(AuditFile::new(file)?));
        let failures = Arc::new(AtomicU64::new(0));
        // Per request, each record asks for its sync at once: the interval is never waited.
        let (interval, synced) = match sync {
            AuditSync::PerRequest => (std::time::Duration::ZERO, true),
            AuditSync::Batched { interval } => (interval, true),
            AuditSync::None { interval } => (interval, false),
        };
        let writer = Writer::start(Arc::clone(&file), Arc::clone(&failures), interval, synced)?;
        Ok(Self {
            file,
            failures,
            writer,
            waits_for_sync: sync == AuditSync::PerRequest,
        })
    }
}

impl Writer {
    fn start(
        file: Arc<Mutex<AuditFile>>,
        failures: Arc<AtomicU64>,
        interval: std::time::Duration,
        sync_each_batch: bool,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(WriterShared::default());
        let thread = std::thread::Builder::new()
            .name("keyward-audit".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || write_batches(&shared, &file, &failures, interval, sync_each_batch)
            })?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Hands `line` to the writer, and with `synced` waits until the writer has written and
    /// synced it; `false` when it cannot be (the writer's lock poisoned).
    fn take(&self, line: &[u8], synced: bool) -> bool {
        let Ok(mut pending) = self.shared.state.lock() else {
            return false;
        };
        let idle = pending.buffer.is_empty();
        pending.buffer.extend_from_slice(line);
        pending.records += 1;
        if synced {
            // The line and its flush ticket are taken under one lock: the round that writes
            // the line completes the ticket.
            return Self::wait_flushed(&self.shared, pending).is_ok();
        }
        // The first record wakes the idle writer, which then gathers for its interval; a full
        // buffer wakes it to write at once.
        if idle || pending.buffer.len() >= WRITE_AT_BYTES {
            self.shared.wake.notify_one();
        }
        true
    }

    /// Waits until everything taken so far is written and synced.
    fn flush(&self) -> std::io::Result<()> {
        let pending = self.shared.state.lock().map_err(|_| writer_poisoned())?;
        Self::wait_flushed(&self.shared, pending)
    }

    /// Asks the writer for a flush under `pending`'s lock, and waits until it is done: until
    /// everything taken before it is written and synced.
    fn wait_flushed(
        shared: &WriterShared,
        mut pending: std::sync::MutexGuard<'_, Pending>,
    ) -> std::io::Result<()> {
        pending.flushes_asked += 1;
        let ticket = pending.flushes_asked;
        shared.wake.notify_one();
        while pending.flushes_done < ticket && !pending.stop {
            pending = shared.done.wait(pending).map_err(|_| writer_poisoned())?;
        }
        Ok(())
    }
}

/// The error of a flush whose writer's lock is poisoned (a thread panicked holding it).
fn writer_poisoned() -> std::io::Error {
    std::io::Error::other("audit writer lock poisoned")
}

/// Whether `pending` asks the writer to act now rather than at its interval.
fn urgent(pending: &Pending) -> bool {
    pending.stop
        || pending.flushes_asked > pending.flushes_done
        || pending.buffer.len() >= WRITE_AT_BYTES
}

/// The writer thread. Idle, it sleeps until a record comes; then it waits `interval` for the
/// records that follow (or less, for a flush, a full buffer or the stop), writes them at once,
/// and syncs them when `sync_each_batch` (or a flush, or the stop) asks.
fn write_batches(
    shared: &WriterShared,
    file: &Mutex<AuditFile>,
    failures: &AtomicU64,
    interval: std::time::Duration,
    sync_each_batch: bool,
) {
    let mut spare: Vec<u8> = Vec::new();
    loop {
        let Ok(mut pending) = shared.state.lock() else {
            return;
        };
        while pending.buffer.is_empty() && !urgent(&pending) {
            pending = match shared.wake.wait(pending) {
                Ok(pending) => pending,
                Err(_) => return,
            };
        }
        if !urgent(&pending) {
            pending = match shared.wake.wait_timeout(pending, interval) {
                Ok((pending, _)) => pending,
                Err(_) => return,
            };
        }
        std::mem::swap(&mut pending.buffer, &mut spare);
        let records = std::mem::take(&mut pending.records);
        let ticket = pending.flushes_asked;
        let flush = ticket > pending.flushes_done;
        let stop = pending.stop;
        drop(pending);
        if !spare.is_empty() || flush || stop {
            let sync = sync_each_batch || flush || stop;
            let written = file.lock().map_err(|_| ()).and_then(|mut f| {
                f.append(&spare).map_err(|_| ())?;
                if sync {
                    f.sync_data().map_err(|_| ())?;
                }
                Ok(())
            });
            if written.is_err() {
                failures.fetch_add(records, Ordering::Relaxed);
            }
            spare.clear();
        }
        let Ok(mut pending) = shared.state.lock() else {
            return;
        };
        pending.flushes_done = pending.flushes_done.max(ticket);
        shared.done.notify_all();
        if stop && pending.buffer.is_empty() {
            return;
        }
    }
}

impl Drop for JsonLinesFile {
    /// Stops the writer once everything taken is written and synced.
    fn drop(&mut self) {
        let writer = &self.writer;
        if let Ok(mut pending) = writer.shared.state.lock() {
            pending.stop = true;
            writer.shared.wake.notify_one();
        }
        if let Some(thread) = writer.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

impl AuditSink for JsonLinesFile {
    fn record(&self, record: AuditRecord) {
        // A record of a call on a key is about 1.1 KB: room for it without growing.
        let mut line = Vec::with_capacity(2048);
        let line = record.write_json(&mut line).map(|()| {
            line.push(b'\n');
            line
        });
        let Ok(line) = line else {
            self.failures.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if !self.writer.take(&line, self.waits_for_sync) {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn flush(&self) -> std::io::Result<()> {
        self.writer.flush()?;
        self.file
            .lock()
            .map_err(|_| std::io::Error::other("audit file lock poisoned"))?
            .sync_all()
    }

    fn waits_for_disk(&self) -> bool {
        self.waits_for_sync
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

    fn waits_for_disk(&self) -> bool {
        (**self).waits_for_disk()
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

    fn record(name: &'static str) -> AuditRecord {
        AuditRecord {
            event_time: SystemTime::UNIX_EPOCH,
            event_name: name,
            region: "us-east-1".into(),
            identity: UserIdentity {
                kind: "Root",
                arn: "arn:aws:iam::111122223333:root".into(),
                account_id: "111122223333".into(),
            },
            source_ip: None,
            request_parameters: Value::Null,
            response_elements: Value::Null,
            resources: Vec::new(),
            additional_event_data: None,
            error_code: None,
            error_message: None,
            event_id: uuid::Uuid::nil(),
            decisions: Vec::new(),
            instance: "test".into(),
        }
    }

    proptest::proptest! {
        /// The record written by its schema is, byte for byte, what `serde_json` writes for
        /// it, whatever its strings hold (quotes, backslashes, control characters, text beyond
        /// ASCII) and whichever of its optional parts it has.
        #[test]
        fn a_record_written_by_its_schema_is_what_serde_json_writes(
            texts in proptest::collection::vec("[\"\\\\\u{0}-\u{1f}a-z:/ é✓-]{0,16}", 8),
            flags in proptest::collection::vec(proptest::bool::ANY, 8),
            statement in proptest::option::of(0usize..40),
            seconds in 0u64..4_000_000_000,
        ) {
            use keyward_authz::{PolicySource, Source};
            use keyward_policy::Effect;
            let text = |i: usize| texts[i].clone();
            let mut r = record(if flags[0] { "Encrypt" } else { "ListKeys" });
            r.event_time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
            r.region = text(0).into();
            r.identity.arn = text(1).into();
            r.source_ip = flags[1].then(|| text(2));
            r.request_parameters = serde_json::json!({"keyId": text(3), "encryptionContext": {text(4): text(5)}});
            r.response_elements = if flags[2] { serde_json::json!({"keyId": text(6)}) } else { Value::Null };
            r.resources = vec![
                "arn:aws:kms:us-east-1:111122223333:key/k".to_owned(),
                text(7),
            ];
            r.additional_event_data = flags[3].then(|| serde_json::json!({"customKeyStoreId": text(0)}));
            r.error_code = flags[4].then_some("AccessDeniedException");
            r.error_message = flags[4].then(|| text(1));
            r.event_id = uuid::Uuid::from_u128(u128::from(seconds) * 0x0123_4567_89ab_cdef);
            r.decisions = vec![AuditDecision {
                action: keyward_policy::catalog::kms_action("kms:Encrypt").unwrap(),
                resource: text(3),
                verdict: if flags[5] { Verdict::Allow } else { Verdict::ImplicitDeny },
                reasons: vec![
                    Reason {
                        effect: Effect::Allow,
                        source: Source::Policy(PolicySource::IdentityPolicy(2)),
                        statement,
                        sid: flags[6].then(|| text(4)),
                    },
                    Reason {
                        effect: Effect::Deny,
                        source: Source::Grant(text(5)),
                        statement: None,
                        sid: None,
                    },
                ],
                denial: flags[7].then(|| DenialRecord {
                    message: text(6),
                    explanation: text(7),
                    enforced: flags[0],
                }),
            }];
            let mut written = Vec::new();
            r.write_json(&mut written).unwrap();
            proptest::prop_assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(serde_json::to_vec(&r).unwrap()).unwrap()
            );
        }
    }

    fn names_in(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["eventName"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    /// `per-request`: the record is in the file when `record` returns (before the call
    /// answers).
    #[test]
    fn audit_sync_per_request_writes_before_the_call_answers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let sink = JsonLinesFile::open_with(&path, AuditSync::PerRequest).unwrap();
        for name in ["Encrypt", "Decrypt", "Sign"] {
            sink.record(record(name));
            assert_eq!(names_in(&path).last().map(String::as_str), Some(name));
        }
        assert_eq!(sink.failures(), 0);
    }

    /// `per-request`: the calls waiting together share a sync (group commit). While the writer
    /// is busy with one call's record (here held at the file's lock), three other calls' records
    /// wait in its buffer, none of them answered; its next round writes and syncs the three at
    /// once, and each call returns once its record is synced: two syncs for four records.
    #[test]
    fn audit_sync_per_request_calls_waiting_together_share_a_sync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let sink = Arc::new(JsonLinesFile::open_with(&path, AuditSync::PerRequest).unwrap());
        let state = |check: &dyn Fn(&Pending) -> bool| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !check(&sink.writer.shared.state.lock().unwrap()) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the writer never got there"
                );
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        };
        let held = sink.file.lock().unwrap();
        let call = |name: &'static str| {
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || sink.record(record(name)))
        };
        let first = call("CreateKey");
        // The writer has taken the first record and waits for the file.
        state(&|p| p.flushes_asked == 1 && p.buffer.is_empty());
        let others: Vec<_> = ["Encrypt", "Decrypt", "Sign"].map(call).into();
        state(&|p| p.flushes_asked == 4 && p.records == 3);
        assert!(!first.is_finished() && others.iter().all(|t| !t.is_finished()));
        assert!(
            names_in(&path).is_empty(),
            "written before the writer could"
        );
        drop(held);
        first.join().unwrap();
        for other in others {
            other.join().unwrap();
        }
        let names = names_in(&path);
        assert_eq!(names.len(), 4, "{names:?}");
        assert_eq!(names[0], "CreateKey");
        assert_eq!(sink.file.lock().unwrap().syncs, 2);
        assert_eq!(sink.failures(), 0);
    }

    /// `batched`: records wait for the writer (not written by `record`), reach the file within
    /// the interval without anyone asking, in order; a flush writes at once.
    #[test]
    fn audit_sync_batched_writes_within_the_interval_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let interval = std::time::Duration::from_millis(300);
        let sink = JsonLinesFile::open_with(&path, AuditSync::Batched { interval }).unwrap();
        let names: Vec<&'static str> = vec!["CreateKey", "Encrypt", "Decrypt", "Encrypt"];
        let start = std::time::Instant::now();
        for name in &names {
            sink.record(record(name));
        }
        if start.elapsed() < interval / 2 {
            assert!(names_in(&path).is_empty(), "written per record");
        }
        let deadline = std::time::Instant::now() + interval * 20;
        while names_in(&path).len() < names.len() {
            assert!(
                std::time::Instant::now() < deadline,
                "not written within the interval"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(names_in(&path), names);
        // A flush does not wait for the interval.
        let long = JsonLinesFile::open_with(
            &path,
            AuditSync::Batched {
                interval: std::time::Duration::from_secs(600),
            },
        )
        .unwrap();
        long.record(record("Sign"));
        long.flush().unwrap();
        assert_eq!(names_in(&path).last().map(String::as_str), Some("Sign"));
    }

    /// `none`: written by the writer too; whatever is taken is in the file once the sink is
    /// dropped (the service stopping), and many threads' records are all there.
    #[test]
    fn audit_sync_none_loses_nothing_at_a_clean_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let sink = Arc::new(
            JsonLinesFile::open_with(
                &path,
                AuditSync::None {
                    interval: std::time::Duration::from_secs(600),
                },
            )
            .unwrap(),
        );
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let sink = Arc::clone(&sink);
                scope.spawn(move || {
                    for _ in 0..500 {
                        sink.record(record("Encrypt"));
                    }
                });
            }
        });
        drop(sink);
        assert_eq!(names_in(&path).len(), 2000);
    }

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

    /// What a sync gives back: the whole pages synced since the last time, once they reach
    /// the threshold; never the page still being appended to, never anything twice.
    #[test]
    fn the_cache_given_back_is_whole_synced_pages_past_the_threshold() {
        let page = page_size();
        let at = RELEASE_AT_BYTES;
        assert_eq!(release_range(0, 0), None);
        assert_eq!(release_range(0, at - 1), None, "below the threshold");
        assert_eq!(release_range(0, at), Some((0, at)));
        assert_eq!(
            release_range(0, at + page / 2),
            Some((0, at)),
            "the partial page being appended to stays"
        );
        assert_eq!(release_range(at, at + page), None, "given back already");
        assert_eq!(release_range(at, 2 * at + 3), Some((at, at)));
        assert_eq!(release_range(2 * at, at), None, "an end behind the release");
    }

    /// A trail written in batches and synced leaves almost none of itself in the page cache
    /// (measured with util-linux's `fincore`), and every record is in the file. Written where
    /// the test binary is (the target directory, on a disk file system: tmpfs keeps its pages
    /// whatever the advice).
    #[cfg(target_os = "linux")]
    #[test]
    fn audit_sync_batched_gives_back_the_cache_of_what_it_synced() {
        let here = std::env::current_exe().unwrap();
        let dir = tempfile::tempdir_in(here.parent().unwrap()).unwrap();
        let path = dir.path().join("audit.jsonl");
        let sink = JsonLinesFile::open_with(
            &path,
            AuditSync::Batched {
                interval: std::time::Duration::from_millis(1),
            },
        )
        .unwrap();
        let mut big = record("Encrypt");
        big.request_parameters = serde_json::json!({"keyId": "k".repeat(4000)});
        for _ in 0..1000 {
            sink.record(big.clone());
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
        sink.flush().unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size > 4_000_000, "{size} bytes written");
        let output = std::process::Command::new("fincore")
            .args(["--bytes", "--noheadings", "--output", "RES"])
            .arg(&path)
            .output()
            .expect("util-linux's fincore runs");
        assert!(output.status.success(), "{output:?}");
        let resident: u64 = String::from_utf8(output.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Less than a threshold not yet given back, the page being appended to, and a few
        // pages the kernel may hold a moment longer (its per-CPU page batches).
        let slack = 64 * page_size();
        assert!(
            resident <= RELEASE_AT_BYTES + slack,
            "{resident} of {size} bytes still cached"
        );
        drop(sink);
        assert_eq!(names_in(&path).len(), 1000);
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
