//! Load on `keyward serve`: signed Encrypt requests over loopback for a bounded time, from
//! several keep-alive connections; requests per second and latency percentiles.
//!
//! ```text
//! cargo run --release -p keyward-benches --example serve_load -- [SECONDS] [CONNECTIONS] [SERVER_THREADS] [STORE] [AUDIT_SYNC]
//! ```
//!
//! `STORE` is the config's `store`: `sqlite` (the default) or a `postgres://` URL of an empty
//! database. `AUDIT_SYNC` is the config's `audit_sync`: `batched` (the default),
//! `per-request` or `none`.
//!
//! The server runs in this process (its own runtime, `SERVER_THREADS` workers, default 2) over
//! a temporary data directory with the real SQLite store and JSON Lines audit trail. Each
//! connection sends one request signed with AWS's own SigV4 signer (`aws-sigv4`), again and
//! again: the server verifies the signature, evaluates the key policy and identity policies,
//! encrypts and writes an audit record for every one. The audit trail is counted at the end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure panics with the value shown"
)]

#[path = "support/http.rs"]
mod http;

use http::{load, report, signed};
use keyward_benches as _;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).map_or(10, |a| a.parse().unwrap());
    let connections: usize = args.get(2).map_or(4, |a| a.parse().unwrap());
    let threads: usize = args.get(3).map_or(2, |a| a.parse().unwrap());
    let store = args.get(4).map_or("sqlite", String::as_str);
    let audit_sync = args.get(5).map_or("batched", String::as_str);
    assert!(
        seconds < 14 * 60,
        "signed requests are valid for 15 minutes"
    );

    let dir = tempfile::tempdir().unwrap();
    let (server, body) = http::encrypt_workload(dir.path(), store, audit_sync, threads, "load");
    let addr = server.addr;
    // The baseline, in the same run: the same Encrypt without its signature, which the server
    // parses, refuses (MissingAuthenticationTokenException) and answers, so the difference is
    // SigV4, the policy decision, the encryption and the audit record.
    let unsigned = http::unsigned(addr, "Encrypt", &body);
    let baseline = load(addr, &unsigned, seconds, connections, 400);
    report(
        "baseline: unsigned Encrypt, refused",
        &baseline,
        connections,
        threads,
    );
    let signed_run = load(
        addr,
        &signed(addr, "Encrypt", &body),
        seconds,
        connections,
        200,
    );
    report(
        "signed Encrypt (SigV4, policy, AES-GCM, audit)",
        &signed_run,
        connections,
        threads,
    );
    server.stop();
    let audited = std::fs::read_to_string(dir.path().join("audit.jsonl"))
        .unwrap()
        .lines()
        .count();
    println!("audit records: {audited}");
    assert_eq!(
        audited,
        signed_run.latencies.len() + 1,
        "one audit record per signed request (and the CreateKey); none for the refused ones"
    );
}
