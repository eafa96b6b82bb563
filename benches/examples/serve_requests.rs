//! N Encrypt requests, one after another on one keep-alive connection, to a `keyward serve`
//! in this process: a steady workload for counting one whole server request's instructions
//! with `valgrind --tool=callgrind --separate-threads=yes` (runs of N and 1; the third thread
//! and every later one summed: the runtime's worker, the audit writer, the blocking pool; the
//! first is this client, the second the accept loop and the start-up, whose random-source
//! seeding varies from run to run). The difference over N - 1 is one request: HTTP, SigV4,
//! the decision, AES-GCM, the audit record. `benches/instructions.sh` does this.
//!
//! ```text
//! serve_requests [N] [signed|unsigned] [AUDIT_SYNC]
//! ```
//!
//! `unsigned` sends the same Encrypt without its signature, which the server parses, refuses
//! (MissingAuthenticationTokenException) and answers: the floor `serve_load` compares with.
//! The server runs on one worker thread over a temporary data directory (SQLite store, JSON
//! Lines audit trail; `AUDIT_SYNC` as the config's `audit_sync`, default `batched`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure panics with the value shown"
)]

#[path = "support/http.rs"]
mod http;

use http::{read_reply, signed};
use keyward_benches as _;
use std::io::Write;
use std::net::TcpStream;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(1000, |a| a.parse().unwrap());
    let kind = args.get(2).map_or("signed", String::as_str);
    let audit_sync = args.get(3).map_or("batched", String::as_str);
    let dir = tempfile::tempdir().unwrap();
    let (server, body) = http::encrypt_workload(dir.path(), "sqlite", audit_sync, 1, "requests");
    let addr = server.addr;
    let (request, expected) = match kind {
        "signed" => (signed(addr, "Encrypt", &body), 200),
        "unsigned" => (http::unsigned(addr, "Encrypt", &body), 400),
        other => panic!("signed or unsigned, not {other}"),
    };
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buffer = Vec::with_capacity(8192);
    let started = std::time::Instant::now();
    for _ in 0..n {
        stream.write_all(&request).unwrap();
        let (status, reply) = read_reply(&mut stream, &mut buffer);
        assert_eq!(status, expected, "{}", String::from_utf8_lossy(&reply));
    }
    let elapsed = started.elapsed();
    drop(stream);
    server.stop();
    println!(
        "{n} {kind} Encrypt requests in {elapsed:.3?}: {:.1} us each, one at a time",
        elapsed.as_secs_f64() * 1e6 / n.max(1) as f64
    );
}
