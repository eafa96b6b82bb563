//! Load on `keyward serve`: signed Encrypt requests over loopback for a bounded time, from
//! several keep-alive connections; requests per second and latency percentiles.
//!
//! ```text
//! cargo run --release -p keyward-benches --example serve_load -- [SECONDS] [CONNECTIONS] [SERVER_THREADS] [STORE]
//! ```
//!
//! `STORE` is the config's `store`: `sqlite` (the default) or a `postgres://` URL of an empty
//! database.
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

use keyward_benches as _;
use keyward_server::{Limits, Overrides, Server, ServerConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

const KEY: &str = "AKIAADMIN00000000000";
const SECRET: &str = "adminsecretadminsecretadminsecret0000000";

fn signed(addr: SocketAddr, operation: &str, body: &[u8]) -> Vec<u8> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let headers = [
        ("host".to_owned(), addr.to_string()),
        (
            "content-type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        ),
        (
            "x-amz-target".to_owned(),
            format!("TrentService.{operation}"),
        ),
    ];
    let identity = aws_credential_types::Credentials::new(KEY, SECRET, None, None, "load").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("kms")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "POST",
        "/",
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut out = format!("POST / HTTP/1.1\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(instructions.headers())
    {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads one response from a keep-alive connection; its status and body.
fn read_reply(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> (u16, Vec<u8>) {
    buffer.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buffer[..end])
                .unwrap()
                .to_ascii_lowercase();
            let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            while buffer.len() < end + 4 + length {
                let n = stream.read(&mut chunk).unwrap();
                assert!(n > 0, "connection closed");
                buffer.extend_from_slice(&chunk[..n]);
            }
            return (status, buffer[end + 4..end + 4 + length].to_vec());
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn call(addr: SocketAddr, operation: &str, body: &[u8]) -> serde_json::Value {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(&signed(addr, operation, body)).unwrap();
    let (status, body) = read_reply(&mut stream, &mut Vec::new());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).map_or(10, |a| a.parse().unwrap());
    let connections: usize = args.get(2).map_or(4, |a| a.parse().unwrap());
    let threads: usize = args.get(3).map_or(2, |a| a.parse().unwrap());
    let store = args.get(4).map_or("sqlite", String::as_str);
    assert!(
        seconds < 14 * 60,
        "signed requests are valid for 15 minutes"
    );

    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nstore = \"{store}\"\n[[principals]]\narn = \"arn:aws:iam::111122223333:user/admin\"\naccess_key_id = \"{KEY}\"\nsecret_access_key = \"{SECRET}\"\nidentity_policies = ['{}']\n",
        dir.path().display(),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#
    );
    let config =
        ServerConfig::parse(&config, "load.toml", Path::new("/"), &Overrides::default()).unwrap();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let server = Server::bind(&config, Limits::default()).await.unwrap();
            addr_tx.send(server.local_addr().unwrap()).unwrap();
            server
                .run(async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
        });
    });
    let addr = addr_rx.recv().unwrap();

    let key = call(addr, "CreateKey", b"{}")["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::to_vec(&serde_json::json!({
        "KeyId": key,
        "Plaintext": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiYw==",
        "EncryptionContext": {"app": "load"},
    }))
    .unwrap();
    // The baseline, in the same run: the same Encrypt without its signature, which the server
    // parses, refuses (MissingAuthenticationTokenException) and answers, so the difference is
    // SigV4, the policy decision, the encryption and the audit record.
    let unsigned = request_bytes(addr, &body);
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
    let _ = stop_tx.send(());
    server.join().unwrap();
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

struct Run {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

/// An unsigned request: what `signed` sends, without `x-amz-date` and `authorization`.
fn request_bytes(addr: SocketAddr, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST / HTTP/1.1\r\ncontent-length: {}\r\nhost: {addr}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: TrentService.Encrypt\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// `connections` keep-alive connections sending `request` for `seconds`; every reply must have
/// `expected` status.
fn load(addr: SocketAddr, request: &[u8], seconds: u64, connections: usize, expected: u16) -> Run {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let request = request.to_vec();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut latencies = Vec::with_capacity(1 << 20);
                let mut buffer = Vec::with_capacity(8192);
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    stream.write_all(&request).unwrap();
                    let (status, body) = read_reply(&mut stream, &mut buffer);
                    latencies.push(sent.elapsed());
                    assert_eq!(status, expected, "{}", String::from_utf8_lossy(&body));
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    latencies.sort();
    Run { latencies, elapsed }
}

fn report(what: &str, run: &Run, connections: usize, threads: usize) {
    let l = &run.latencies;
    let at = |q: f64| l[((l.len() as f64 * q) as usize).min(l.len() - 1)];
    println!(
        "{what}: {} requests in {:.1} s = {:.0} req/s ({connections} connections, {threads} server threads); latency p50 {:?}, p99 {:?}, max {:?}",
        l.len(),
        run.elapsed.as_secs_f64(),
        l.len() as f64 / run.elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
        l.last().unwrap(),
    );
}
