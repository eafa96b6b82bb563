//! Two `keyward serve` instances on one PostgreSQL database against one, on the same machine
//! and in the same run: signed Encrypt throughput, CreateGrant throughput (each connection on
//! a key of its own, then every connection on one key), and how long a PutKeyPolicy through
//! one instance takes to show through the other.
//!
//! ```text
//! cargo run --release -p keyward-benches --example instances_load -- SECONDS CONNECTIONS POSTGRES_URL
//! ```
//!
//! `POSTGRES_URL` names an existing database (its tables are made at the first start). Both
//! configurations get the same two server worker threads in all: one instance with two, or two
//! instances with one each; the connections are split evenly between the two instances.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure panics with the value shown"
)]

#[path = "support/http.rs"]
mod http;

use http::{Run, Running, call, config_text, load, report, signed};
use keyward_benches as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Runs `connections` connections for `seconds`, split over `servers` in turn, each sending
/// the request `make` signs for its server and its index; all the replies must be 200.
fn spread(
    servers: &[SocketAddr],
    connections: usize,
    seconds: u64,
    make: &dyn Fn(SocketAddr, usize) -> Vec<u8>,
) -> Run {
    let runs: Vec<_> = (0..connections)
        .map(|i| {
            let addr = servers[i % servers.len()];
            let request = make(addr, i);
            std::thread::spawn(move || load(addr, &request, seconds, 1, 200))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut elapsed = Duration::ZERO;
    for run in runs {
        let run = run.join().unwrap();
        latencies.extend(run.latencies);
        elapsed = elapsed.max(run.elapsed);
    }
    latencies.sort();
    Run { latencies, elapsed }
}

fn create_key(addr: SocketAddr) -> String {
    call(addr, "CreateKey", b"{}")["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn encrypt_body(key: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "KeyId": key,
        "Plaintext": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiYw==",
        "EncryptionContext": {"app": "load"},
    }))
    .unwrap()
}

fn grant_body(key: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "KeyId": key,
        "GranteePrincipal": "arn:aws:iam::111122223333:role/App",
        "Operations": ["Decrypt"],
    }))
    .unwrap()
}

/// The measured phases over `servers`.
fn phases(what: &str, servers: &[SocketAddr], seconds: u64, connections: usize) {
    let key = create_key(servers[0]);
    let body = encrypt_body(&key);
    let run = spread(servers, connections, seconds, &|addr, _| {
        signed(addr, "Encrypt", &body)
    });
    report(&format!("{what}: signed Encrypt"), &run, connections, 2);
    let keys: Vec<String> = (0..connections)
        .map(|i| create_key(servers[i % servers.len()]))
        .collect();
    let run = spread(servers, connections, seconds, &|addr, i| {
        signed(addr, "CreateGrant", &grant_body(&keys[i]))
    });
    report(
        &format!("{what}: CreateGrant, a key per connection"),
        &run,
        connections,
        2,
    );
    let shared = create_key(servers[0]);
    let run = spread(servers, connections, seconds, &|addr, _| {
        signed(addr, "CreateGrant", &grant_body(&shared))
    });
    report(
        &format!("{what}: CreateGrant, every connection on one key"),
        &run,
        connections,
        2,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).map_or(5, |a| a.parse().unwrap());
    let connections: usize = args.get(2).map_or(4, |a| a.parse().unwrap());
    let url = args
        .get(3)
        .expect("usage: instances_load SECONDS CONNECTIONS POSTGRES_URL");
    assert!(seconds < 4 * 60, "signed requests are valid for 15 minutes");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    // One instance, two worker threads.
    let one = Running::start(&config_text(dir_a.path(), url, "one"), 2);
    phases("one instance", &[one.addr], seconds, connections);
    one.stop();

    // Two instances, one worker thread each, sharing the root key.
    std::fs::copy(dir_a.path().join("root.key"), dir_b.path().join("root.key")).unwrap();
    let a = Running::start(&config_text(dir_a.path(), url, "a"), 1);
    let b = Running::start(&config_text(dir_b.path(), url, "b"), 1);
    phases("two instances", &[a.addr, b.addr], seconds, connections);

    // A PutKeyPolicy through A, until B answers with it.
    let key = create_key(a.addr);
    call(
        b.addr,
        "DescribeKey",
        format!(r#"{{"KeyId":"{key}"}}"#).as_bytes(),
    );
    let mut seen = Vec::new();
    for round in 0..200 {
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"R{round}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
        );
        let body = serde_json::to_vec(
            &serde_json::json!({"KeyId": key, "PolicyName": "default", "Policy": policy}),
        )
        .unwrap();
        call(a.addr, "PutKeyPolicy", &body);
        let acknowledged = Instant::now();
        let get = format!(r#"{{"KeyId":"{key}","PolicyName":"default"}}"#);
        loop {
            let now = call(b.addr, "GetKeyPolicy", get.as_bytes());
            if now["Policy"]
                .as_str()
                .unwrap()
                .contains(&format!("\"R{round}\""))
            {
                break;
            }
        }
        seen.push(acknowledged.elapsed());
    }
    seen.sort();
    let at = |q: f64| seen[((seen.len() as f64 * q) as usize).min(seen.len() - 1)];
    println!(
        "PutKeyPolicy acknowledged by A, then answered by B: p50 {:?}, p99 {:?}, max {:?} ({} rounds)",
        at(0.5),
        at(0.99),
        seen.last().unwrap(),
        seen.len()
    );
}
