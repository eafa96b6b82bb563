//! The audit trail: one record per call, allowed or not, shaped like a CloudTrail KMS event
//! plus the decision and its reasons. Plaintext and key material never enter a record: the
//! operations build `requestParameters` from the non-secret fields only.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// Where audit records go. `record` must not fail the call it records: a sink that cannot
/// write reports it through `failures`.
pub trait AuditSink: Send + Sync + std::fmt::Debug {
    fn record(&self, record: &Value);
    /// How many records could not be written.
    fn failures(&self) -> u64 {
        0
    }
}

/// JSON Lines appended to a file, one line per record, flushed per record.
#[derive(Debug)]
pub struct JsonLinesFile {
    file: Mutex<std::fs::File>,
    failures: std::sync::atomic::AtomicU64,
}

impl JsonLinesFile {
    /// Opens (or creates) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            file: Mutex::new(file),
            failures: std::sync::atomic::AtomicU64::new(0),
        })
    }
}

impl AuditSink for JsonLinesFile {
    fn record(&self, record: &Value) {
        let mut line = record.to_string();
        line.push('\n');
        let written = self
            .file
            .lock()
            .map_err(|_| ())
            .and_then(|mut f| f.write_all(line.as_bytes()).map_err(|_| ()));
        if written.is_err() {
            self.failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn failures(&self) -> u64 {
        self.failures.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Records kept in memory (tests, benchmarks, embedders that ship records themselves).
#[derive(Debug, Default)]
pub struct MemoryAudit(Mutex<Vec<Value>>);

impl MemoryAudit {
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every record so far.
    pub fn records(&self) -> Vec<Value> {
        self.0.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |r| r.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the records kept so far.
    pub fn clear(&self) {
        if let Ok(mut r) = self.0.lock() {
            r.clear();
        }
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, record: &Value) {
        if let Ok(mut r) = self.0.lock() {
            r.push(record.clone());
        }
    }
}

/// Discards records (for measuring the service without its audit).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _: &Value) {}
}

impl<T: AuditSink + ?Sized> AuditSink for std::sync::Arc<T> {
    fn record(&self, record: &Value) {
        (**self).record(record);
    }

    fn failures(&self) -> u64 {
        (**self).failures()
    }
}
