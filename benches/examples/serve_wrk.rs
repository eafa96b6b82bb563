//! The server's target as issue 23 states it: `wrk -t2 -c4` over loopback against
//! `keyward serve`, signed Encrypt against the unsigned (refused) floor in the same run.
//!
//! ```text
//! cargo run --release -p keyward-benches --example serve_wrk -- [SECONDS] [SERVER_THREADS] [AUDIT_SYNC] [WRK_THREADS] [CONNECTIONS]
//! ```
//!
//! The server runs in this process (its own runtime, `SERVER_THREADS` workers, default 2; 0 for
//! a current-thread runtime) over
//! a temporary data directory with the SQLite store and the JSON Lines audit trail, as in
//! `serve_load`. The load comes from `wrk` (on `PATH`; Debian's package `wrk`), started twice:
//! first with the Encrypt unsigned, which the server parses and refuses (the floor), then with
//! the same Encrypt signed by AWS's own signer. Each run's request is fixed (a Lua script sets
//! method, headers and body, and wrk formats it once), so the client's cost is the same in both
//! runs. wrk counts every reply; the example checks that every signed one was a 200, every
//! unsigned one a 400, and that the audit trail holds one record per signed request.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure panics with the value shown"
)]

#[path = "support/http.rs"]
mod http;

use keyward_benches as _;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

/// What one wrk run printed that the example reads.
struct WrkRun {
    requests: u64,
    /// CPU time of this process (the server) over the run, user and system, in seconds.
    server_cpu: f64,
    /// CPU time of wrk over the run.
    wrk_cpu: f64,
    per_second: f64,
    not_2xx: u64,
    p50: String,
    p99: String,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).map_or(10, |a| a.parse().unwrap());
    let threads: usize = args.get(2).map_or(2, |a| a.parse().unwrap());
    let audit_sync = args.get(3).map_or("batched", String::as_str);
    let wrk_threads: usize = args.get(4).map_or(2, |a| a.parse().unwrap());
    let connections: usize = args.get(5).map_or(4, |a| a.parse().unwrap());
    assert!(
        seconds < 14 * 60,
        "signed requests are valid for 15 minutes"
    );

    let dir = tempfile::tempdir().unwrap();
    let (server, body) = http::encrypt_workload(dir.path(), "sqlite", audit_sync, threads, "wrk");
    let addr = server.addr;
    let body = std::str::from_utf8(&body).unwrap();

    // wrk adds a `Host` of its own unless one is given under that exact name.
    let for_wrk = |headers: Vec<(String, String)>| -> Vec<(String, String)> {
        headers
            .into_iter()
            .map(|(k, v)| {
                if k == "host" {
                    ("Host".to_owned(), v)
                } else {
                    (k, v)
                }
            })
            .collect()
    };
    let unsigned_headers = for_wrk(http::unsigned_headers(addr, "Encrypt"));
    let floor_script = dir.path().join("unsigned.lua");
    std::fs::write(&floor_script, script(&unsigned_headers, body)).unwrap();
    let floor = wrk(&floor_script, addr, seconds, wrk_threads, connections);
    assert_eq!(
        floor.not_2xx, floor.requests,
        "every unsigned request is refused"
    );
    report("baseline: unsigned Encrypt, refused", &floor);

    let signed_headers = for_wrk(http::signed_headers(addr, "Encrypt", body.as_bytes()));
    let signed_script = dir.path().join("signed.lua");
    std::fs::write(&signed_script, script(&signed_headers, body)).unwrap();
    let signed = wrk(&signed_script, addr, seconds, wrk_threads, connections);
    assert_eq!(signed.not_2xx, 0, "every signed request succeeds");
    report("signed Encrypt (SigV4, policy, AES-GCM, audit)", &signed);
    println!(
        "signed / floor: {:.0}% (wrk -t{wrk_threads} -c{connections}, {threads} server threads, audit_sync = {audit_sync})",
        100.0 * signed.per_second / floor.per_second
    );

    server.stop();
    let trail = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let audited = trail.lines().count() as u64;
    println!(
        "audit records: {audited}, {} bytes each on average; the last:\n{}",
        trail.len() as u64 / audited.max(1),
        trail.lines().last().unwrap_or_default()
    );
    // wrk stops at its deadline with requests in flight: the server may have answered (and
    // audited) up to one more request per connection than wrk counted.
    assert!(
        (signed.requests + 1..=signed.requests + 1 + connections as u64).contains(&audited),
        "one audit record per signed request (and the CreateKey): {audited} records, {} requests",
        signed.requests
    );
}

/// A wrk script that sends one fixed request: `POST /` with `headers` and `body`. Lua's long
/// brackets hold the text as it is; an index is written `[ [=[name]=] ]`, with spaces, because
/// `[[` would open a long string.
fn script(headers: &[(String, String)], body: &str) -> String {
    let long = |text: &str| {
        assert!(
            !text.contains("]=]"),
            "the text fits in a level-1 long bracket"
        );
        format!("[=[{text}]=]")
    };
    let mut out = format!("wrk.method = \"POST\"\nwrk.body = {}\n", long(body));
    for (name, value) in headers {
        writeln!(out, "wrk.headers[ {} ] = {}", long(name), long(value)).unwrap();
    }
    out
}

/// Runs `wrk` with `script` against `addr`; what it printed.
fn wrk(
    script: &Path,
    addr: SocketAddr,
    seconds: u64,
    threads: usize,
    connections: usize,
) -> WrkRun {
    let before = cpu_times();
    let output = Command::new("wrk")
        .args([
            format!("-t{threads}"),
            format!("-c{connections}"),
            format!("-d{seconds}s"),
            "--latency".to_owned(),
            "-s".to_owned(),
            script.display().to_string(),
            format!("http://{addr}/"),
        ])
        .output()
        .expect("wrk runs (Debian's package `wrk`)");
    let after = cpu_times();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "wrk failed: {text}");
    // wrk counts a connection error or a reply over its 2 s timeout here, not as a request.
    assert!(!text.contains("Socket errors"), "{text}");
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("wrk's request count: {text}"))
        .parse()
        .unwrap();
    WrkRun {
        requests,
        server_cpu: after.0 - before.0,
        wrk_cpu: after.1 - before.1,
        per_second: field("Requests/sec:").unwrap().parse().unwrap(),
        not_2xx: field("Non-2xx or 3xx responses:").map_or(0, |n| n.parse().unwrap()),
        p50: field("50%").unwrap().to_owned(),
        p99: field("99%").unwrap().to_owned(),
    }
}

fn report(what: &str, run: &WrkRun) {
    println!(
        "{what}: {} requests = {:.0} req/s; latency p50 {}, p99 {}; CPU per request: server {:.1} µs, wrk {:.1} µs",
        run.requests,
        run.per_second,
        run.p50,
        run.p99,
        1e6 * run.server_cpu / run.requests as f64,
        1e6 * run.wrk_cpu / run.requests as f64,
    );
}

/// This process's CPU time and its waited-for children's, in seconds (`/proc/self/stat`:
/// utime, stime, cutime, cstime, in clock ticks of 1/100 s).
fn cpu_times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().unwrap())
        .collect();
    (
        (fields[0] + fields[1]) / 100.0,
        (fields[2] + fields[3]) / 100.0,
    )
}
