//! Shared by the server's integration tests: a server on a free port over a temporary data
//! directory, principals with known credentials, and a small HTTP/1.1 client whose requests
//! are signed by AWS's own SigV4 signer (`aws-sigv4`), not by the code under test.

use keyward_server::{Limits, Overrides, Server, ServerConfig};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, SystemTime};

pub(crate) const ACCOUNT: &str = "111122223333";
pub(crate) const REGION: &str = "us-east-1";

/// A principal of the test config.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Creds {
    pub arn: &'static str,
    pub key: &'static str,
    pub secret: &'static str,
}

/// `kms:*` through its identity policy.
pub(crate) const ADMIN: Creds = Creds {
    arn: "arn:aws:iam::111122223333:user/admin",
    key: "AKIAADMIN00000000000",
    secret: "adminsecretadminsecretadminsecret0000000",
};
/// No identity policies at all.
pub(crate) const ALICE: Creds = Creds {
    arn: "arn:aws:iam::111122223333:user/alice",
    key: "AKIAALICE00000000000",
    secret: "alicesecretalicesecretalicesecret000000",
};
/// Allowed to use keys (not administer them) through its identity policy.
pub(crate) const BOB: Creds = Creds {
    arn: "arn:aws:iam::111122223333:user/bob",
    key: "AKIABOB0000000000000",
    secret: "bobsecretbobsecretbobsecretbobsecret0000",
};
/// Another account, `kms:*` through its identity policy.
pub(crate) const CAROL: Creds = Creds {
    arn: "arn:aws:iam::444455556666:user/carol",
    key: "AKIACAROL00000000000",
    secret: "carolsecretcarolsecretcarolsecret000000",
};

/// Calls through S3 (`via_service`), `kms:*` through its identity policy.
pub(crate) const DAVE: Creds = Creds {
    arn: "arn:aws:iam::111122223333:user/dave",
    key: "AKIADAVE000000000000",
    secret: "davesecretdavesecretdavesecretdave000000",
};

/// The config file of the tests, with its data directory and more top-level `settings` (TOML
/// lines such as `enforcement = "report"`; none for the usual server). The tests read the audit
/// trail as soon as a call answers, so its records are synced per request unless `settings`
/// says otherwise (the default, batched, writes them within 10 ms: see
/// `audit_sync_batched_writes_within_the_interval_in_order`).
pub(crate) fn config_text_with(data_dir: &Path, settings: &str) -> String {
    let sync = if settings.contains("audit_sync") {
        ""
    } else {
        "audit_sync = \"per-request\""
    };
    format!(
        r#"
region = "{REGION}"
account = "{ACCOUNT}"
listen = "127.0.0.1:0"
data_dir = "{dir}"
{sync}
{settings}

[[principals]]
arn = "{admin_arn}"
access_key_id = "{admin_key}"
secret_access_key = "{admin_secret}"
identity_policies = ['{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}]}}']
tags = {{ team = "platform" }}

[[principals]]
arn = "{alice_arn}"
access_key_id = "{alice_key}"
secret_access_key = "{alice_secret}"

[[principals]]
arn = "{bob_arn}"
access_key_id = "{bob_key}"
secret_access_key = "{bob_secret}"
identity_policies = ['{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey","kms:DescribeKey","kms:RetireGrant"],"Resource":"*"}}]}}']

[[principals]]
arn = "{dave_arn}"
access_key_id = "{dave_key}"
secret_access_key = "{dave_secret}"
identity_policies = ['{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}]}}']
via_service = "s3.us-east-1.amazonaws.com"

[[principals]]
arn = "{carol_arn}"
access_key_id = "{carol_key}"
secret_access_key = "{carol_secret}"
identity_policies = ['{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}]}}']
"#,
        dir = data_dir.display(),
        admin_arn = ADMIN.arn,
        admin_key = ADMIN.key,
        admin_secret = ADMIN.secret,
        alice_arn = ALICE.arn,
        alice_key = ALICE.key,
        alice_secret = ALICE.secret,
        bob_arn = BOB.arn,
        bob_key = BOB.key,
        bob_secret = BOB.secret,
        carol_arn = CAROL.arn,
        dave_arn = DAVE.arn,
        dave_key = DAVE.key,
        dave_secret = DAVE.secret,
        carol_key = CAROL.key,
        carol_secret = CAROL.secret,
    )
}

/// A server running on its own thread and runtime.
pub(crate) struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: std::path::PathBuf,
    /// The running server's state (buffered bytes, connections not yet authenticated).
    pub probe: keyward_server::Probe,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), keyward_server::ServeError>>>,
}

impl TestServer {
    pub(crate) fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, Limits::default())
    }

    pub(crate) fn start_with(data_dir: &Path, limits: Limits) -> Self {
        Self::start_on(data_dir, limits, "127.0.0.1:0")
    }

    /// On another address (`[::]:0` for a dual-stack listener).
    pub(crate) fn start_on(data_dir: &Path, limits: Limits, listen: &str) -> Self {
        Self::start_full(data_dir, limits, listen, "")
    }

    /// With more top-level `settings` in the config file ([`config_text_with`]).
    pub(crate) fn start_configured(data_dir: &Path, settings: &str) -> Self {
        Self::start_full(data_dir, Limits::default(), "127.0.0.1:0", settings)
    }

    fn start_full(data_dir: &Path, limits: Limits, listen: &str, settings: &str) -> Self {
        let overrides = Overrides {
            listen: Some(listen.to_owned()),
            ..Overrides::default()
        };
        let config = ServerConfig::parse(
            &config_text_with(data_dir, settings),
            "test.toml",
            Path::new("/"),
            &overrides,
        )
        .unwrap();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let server = Server::bind(&config, limits).await?;
                addr_tx
                    .send((server.local_addr().unwrap(), server.probe()))
                    .unwrap();
                server
                    .run(async {
                        let _ = stop_rx.await;
                    })
                    .await
            })
        });
        let (mut addr, probe): (SocketAddr, _) = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server started");
        // A dual-stack listener (`[::]`) is reached over IPv4 loopback, as an IPv4 client.
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        Self {
            addr,
            probe,
            data_dir: data_dir.to_owned(),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Stops gracefully; the result of `run`.
    pub(crate) fn stop(mut self) -> Result<(), keyward_server::ServeError> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), keyward_server::ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().unwrap(),
            None => Ok(()),
        }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Lines in the audit trail.
    pub(crate) fn audit_lines(&self) -> usize {
        std::fs::read_to_string(self.data_dir.join("audit.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    /// A signed call; the reply.
    pub(crate) fn call(&self, creds: Creds, operation: &str, input: &Value) -> Reply {
        let body = serde_json::to_vec(input).unwrap();
        let request = signed_request(
            self.addr,
            creds,
            operation,
            &body,
            SystemTime::now(),
            |_| {},
        );
        send(self.addr, &request)
    }

    /// A signed call in `region` (its SigV4 credential scope); the reply.
    pub(crate) fn call_in(
        &self,
        region: &str,
        creds: Creds,
        operation: &str,
        input: &Value,
    ) -> Reply {
        let body = serde_json::to_vec(input).unwrap();
        let request = signed_request_for(
            self.addr,
            creds,
            region,
            "kms",
            operation,
            &body,
            SystemTime::now(),
            |_| {},
        );
        send(self.addr, &request)
    }

    /// A signed call in `region` that must succeed; its JSON.
    pub(crate) fn ok_in(
        &self,
        region: &str,
        creds: Creds,
        operation: &str,
        input: &Value,
    ) -> Value {
        let reply = self.call_in(region, creds, operation, input);
        assert_eq!(
            reply.status,
            200,
            "{operation} in {region}: {}",
            reply.text()
        );
        reply.json()
    }

    /// A signed call that must succeed; its JSON.
    pub(crate) fn ok(&self, creds: Creds, operation: &str, input: &Value) -> Value {
        let reply = self.call(creds, operation, input);
        assert_eq!(reply.status, 200, "{operation}: {}", reply.text());
        reply.json()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

/// The headers of a request, in order, as sent.
pub(crate) type Headers = Vec<(String, String)>;

/// Builds the bytes of a signed `POST /` (with `Connection: close`). `adjust` may change the
/// headers before signing (to leave one unsigned, add one, …).
pub(crate) fn signed_request(
    addr: SocketAddr,
    creds: Creds,
    operation: &str,
    body: &[u8],
    time: SystemTime,
    adjust: impl FnOnce(&mut Headers),
) -> Vec<u8> {
    signed_request_for(addr, creds, REGION, "kms", operation, body, time, adjust)
}

/// As [`signed_request`], signed for any region and service.
#[allow(
    clippy::too_many_arguments,
    reason = "every part of a SigV4 request, as the signer takes them"
)]
pub(crate) fn signed_request_for(
    addr: SocketAddr,
    creds: Creds,
    region: &str,
    service: &str,
    operation: &str,
    body: &[u8],
    time: SystemTime,
    adjust: impl FnOnce(&mut Headers),
) -> Vec<u8> {
    let mut headers: Headers = vec![
        ("host".into(), addr.to_string()),
        ("content-type".into(), "application/x-amz-json-1.1".into()),
        ("x-amz-target".into(), format!("TrentService.{operation}")),
    ];
    adjust(&mut headers);
    let signed = sign(creds, region, service, "POST", "/", &headers, body, time);
    headers.extend(signed);
    let mut out = format!(
        "POST / HTTP/1.1\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in &headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The headers AWS's signer adds (`x-amz-date`, `authorization`).
#[allow(
    clippy::too_many_arguments,
    reason = "every part of a SigV4 request, as the signer takes them"
)]
pub(crate) fn sign(
    creds: Creds,
    region: &str,
    service: &str,
    method: &str,
    uri: &str,
    headers: &Headers,
    body: &[u8],
    time: SystemTime,
) -> Headers {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let identity =
        aws_credential_types::Credentials::new(creds.key, creds.secret, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        method,
        uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A reply: status, headers (names lower-case), body.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// `__type`.
    pub(crate) fn code(&self) -> String {
        self.json()["__type"].as_str().unwrap_or("").to_owned()
    }
    pub(crate) fn message(&self) -> Option<String> {
        self.json()["message"].as_str().map(str::to_owned)
    }
}

/// Sends raw bytes on a new connection and reads the reply until the server closes.
pub(crate) fn send(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_reply(&raw)
        .unwrap_or_else(|| panic!("no HTTP reply: {:?}", String::from_utf8_lossy(&raw)))
}

/// Parses one HTTP/1.1 response (body by Content-Length).
pub(crate) fn parse_reply(raw: &[u8]) -> Option<Reply> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(raw.len() - end - 4);
    let body = raw.get(end + 4..end + 4 + length)?.to_vec();
    Some(Reply {
        status,
        headers,
        body,
    })
}

/// Base64 of bytes (request blobs).
pub(crate) fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Bytes of a base64 reply member.
pub(crate) fn unb64(value: &Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(value.as_str().unwrap())
        .unwrap()
}
