//! Signed requests to a `keyward serve` over loopback, and timed load from keep-alive
//! connections: shared by the load examples (`#[path]`-included, not an example itself).

#![allow(dead_code, reason = "each example uses what it needs")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime};

/// The admin of the examples' configs.
pub(crate) const KEY: &str = "AKIAADMIN00000000000";
/// Its secret.
pub(crate) const SECRET: &str = "adminsecretadminsecretadminsecret0000000";

/// A config for a server on a free port over `data_dir` and `store`, its one principal the
/// admin (every `kms:` action), named `instance`.
pub(crate) fn config_text(data_dir: &std::path::Path, store: &str, instance: &str) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nstore = \"{store}\"\ninstance = \"{instance}\"\n[[principals]]\narn = \"arn:aws:iam::111122223333:user/admin\"\naccess_key_id = \"{KEY}\"\nsecret_access_key = \"{SECRET}\"\nidentity_policies = ['{}']\n",
        data_dir.display(),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#
    )
}

/// A server in this process, on its own runtime of `threads` workers (0: a current-thread
/// runtime, the whole server on one thread).
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts a server with the config `text`.
    pub(crate) fn start(text: &str, threads: usize) -> Self {
        use keyward_server::{Limits, Overrides, Server, ServerConfig};
        let config = ServerConfig::parse(
            text,
            "load.toml",
            std::path::Path::new("/"),
            &Overrides::default(),
        )
        .unwrap();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = if threads == 0 {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
            } else {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads)
                    .enable_all()
                    .build()
                    .unwrap()
            };
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
        Self {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Stops it gracefully.
    pub(crate) fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// A server of `threads` workers over `dir` with `store` and `audit_sync`, and the body of
/// the load examples' Encrypt (100 bytes, a one-pair encryption context) on a key it created.
pub(crate) fn encrypt_workload(
    dir: &std::path::Path,
    store: &str,
    audit_sync: &str,
    threads: usize,
    instance: &str,
) -> (Running, Vec<u8>) {
    let config = format!(
        "audit_sync = \"{audit_sync}\"\n{}",
        config_text(dir, store, instance)
    );
    let server = Running::start(&config, threads);
    let key = call(server.addr, "CreateKey", b"{}")["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::to_vec(&serde_json::json!({
        "KeyId": key,
        "Plaintext": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiYw==",
        "EncryptionContext": {"app": "load"},
    }))
    .unwrap();
    (server, body)
}

/// A request of `operation` with `body`, signed by the admin with AWS's own signer.
pub(crate) fn signed(addr: SocketAddr, operation: &str, body: &[u8]) -> Vec<u8> {
    raw_request(&signed_headers(addr, operation, body), body)
}

/// The headers of [`signed`]'s request but its `content-length`: `host`, `content-type`,
/// `x-amz-target` and the signer's (`x-amz-date`, `authorization`).
pub(crate) fn signed_headers(
    addr: SocketAddr,
    operation: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let headers = unsigned_headers(addr, operation);
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
    headers
        .iter()
        .cloned()
        .chain(
            instructions
                .headers()
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .collect()
}

/// An unsigned request: what [`signed`] sends, without `x-amz-date` and `authorization`.
pub(crate) fn unsigned(addr: SocketAddr, operation: &str, body: &[u8]) -> Vec<u8> {
    raw_request(&unsigned_headers(addr, operation), body)
}

/// `POST /` with its `content-length`, `headers` and `body`, as bytes on the wire.
fn raw_request(headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("POST / HTTP/1.1\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The headers of [`unsigned`]'s request but its `content-length`: `host`, `content-type` and
/// `x-amz-target`, which [`signed_headers`] signs.
pub(crate) fn unsigned_headers(addr: SocketAddr, operation: &str) -> Vec<(String, String)> {
    vec![
        ("host".to_owned(), addr.to_string()),
        (
            "content-type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        ),
        (
            "x-amz-target".to_owned(),
            format!("TrentService.{operation}"),
        ),
    ]
}

/// Reads one response from a keep-alive connection; its status and body.
pub(crate) fn read_reply(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> (u16, Vec<u8>) {
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

pub(crate) fn call(addr: SocketAddr, operation: &str, body: &[u8]) -> serde_json::Value {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(&signed(addr, operation, body)).unwrap();
    let (status, body) = read_reply(&mut stream, &mut Vec::new());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// The replies of a load run: every latency, and the time it took.
pub(crate) struct Run {
    pub(crate) latencies: Vec<Duration>,
    pub(crate) elapsed: Duration,
}

/// `connections` keep-alive connections sending `request` for `seconds`; every reply must have
/// `expected` status.
pub(crate) fn load(
    addr: SocketAddr,
    request: &[u8],
    seconds: u64,
    connections: usize,
    expected: u16,
) -> Run {
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

pub(crate) fn report(what: &str, run: &Run, connections: usize, threads: usize) {
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
