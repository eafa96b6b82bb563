//! What a client without credentials, or with slow or heavy requests, can do to the server:
//! the review's findings, each pinned. Connections that have not authenticated cannot hold
//! every slot, nothing is buffered before the head authenticates, buffered bytes are capped
//! across connections, heads are limited, CPU-heavy work never holds up other clients, and an
//! IPv4 client of a dual-stack listener is IPv4 to the policies.
use crate::common::*;
use keyward_server::Limits;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

/// The head of a signed request declaring `body_len` body bytes (the body not sent).
fn signed_head(s: &TestServer, operation: &str, body_len: usize) -> Vec<u8> {
    let body = vec![b' '; body_len];
    let signed = signed_request(s.addr, ADMIN, operation, &body, SystemTime::now(), |_| {});
    let end = signed.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    signed[..end].to_vec()
}

fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    started.elapsed() < limit
}

/// Review: "about 30 KB of half-sent request heads took all 1,024 connection slots for
/// 8.5 s". When every slot is taken, the oldest connection that has not authenticated is
/// closed, so a signed request gets in at once.
#[test]
fn unauthenticated_connections_cannot_hold_every_slot() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(
        dir.path(),
        Limits {
            max_connections: 16,
            ..Limits::default()
        },
    );
    let mut stalled: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut c = TcpStream::connect(s.addr).unwrap();
            c.write_all(b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-tar")
                .unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(s.probe.unauthenticated(), 16);
    let started = Instant::now();
    for _ in 0..5 {
        s.ok(ADMIN, "ListKeys", &json!({}));
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The oldest stalled connections were closed to make room.
    assert!(closed_within(&mut stalled[0], Duration::from_secs(2)));
}

/// A connection must authenticate a request within the auth timeout; one that has keeps its
/// connection past it.
#[test]
fn a_connection_that_does_not_authenticate_in_time_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(
        dir.path(),
        Limits {
            auth_timeout: Duration::from_millis(400),
            ..Limits::default()
        },
    );
    let mut silent = TcpStream::connect(s.addr).unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(3)));
    // An authenticated keep-alive connection outlives the timeout.
    let mut kept = TcpStream::connect(s.addr).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let keep_alive = |c: &mut TcpStream| {
        let mut request =
            signed_request(s.addr, ADMIN, "ListKeys", b"{}", SystemTime::now(), |_| {});
        let text = String::from_utf8(request.clone()).unwrap();
        request = text.replace("connection: close\r\n", "").into_bytes();
        c.write_all(&request).unwrap();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut got = Vec::new();
        while parse_reply(&got).is_none_or(|r| r.body.is_empty()) {
            let n = c.read(&mut buffer).unwrap();
            assert!(n > 0, "the connection was closed");
            got.extend_from_slice(&buffer[..n]);
        }
        parse_reply(&got).unwrap().status
    };
    assert_eq!(keep_alive(&mut kept), 200);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(keep_alive(&mut kept), 200);
}

/// Review: "512 KiB bodies were buffered before the signature check". A head that does not
/// authenticate is refused before a byte of its body is read.
#[test]
fn no_body_is_buffered_before_the_head_authenticates() {
    let (_dir, s) = {
        let dir = tempfile::tempdir().unwrap();
        let s = TestServer::start(dir.path());
        (dir, s)
    };
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let addr = s.addr;
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                c.write_all(
                    format!("POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 120000\r\n\r\n")
                        .as_bytes(),
                )
                .unwrap();
                let _ = c.write_all(&[b'a'; 60_000]);
                c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut raw = Vec::new();
                let _ = c.read_to_end(&mut raw);
                parse_reply(&raw).map(|r| r.code())
            })
        })
        .collect();
    for t in threads {
        assert_eq!(
            t.join().unwrap().as_deref(),
            Some("MissingAuthenticationTokenException")
        );
    }
    assert_eq!(s.probe.buffered_peak(), 0, "nothing was buffered");
}

/// The bytes buffered across all connections are capped: past the cap, a request is refused
/// with ThrottlingException (which SDKs retry) before its body is read.
#[test]
fn buffered_body_bytes_are_capped_across_connections() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(
        dir.path(),
        Limits {
            max_body: 64 * 1024,
            max_buffered: 128 * 1024,
            ..Limits::default()
        },
    );
    // Two signed heads that declare 64 KiB each and stall their bodies hold the budget.
    let mut holding: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut c = TcpStream::connect(s.addr).unwrap();
            c.write_all(&signed_head(&s, "ListKeys", 64 * 1024))
                .unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let refused = send(
        s.addr,
        &signed_request(s.addr, ADMIN, "ListKeys", b"{}", SystemTime::now(), |_| {}),
    );
    assert_eq!(refused.code(), "ThrottlingException", "{}", refused.text());
    assert!(s.probe.buffered_peak() <= 128 * 1024);
    drop(holding.drain(..));
    std::thread::sleep(Duration::from_millis(300));
    s.ok(ADMIN, "ListKeys", &json!({}));
}

/// The head limit (16 KiB by default) holds: a larger head is refused.
#[test]
fn heads_over_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path());
    for size in [20 * 1024, 100 * 1024] {
        let filler = "x".repeat(1000);
        let mut head = format!("POST / HTTP/1.1\r\nhost: {}\r\n", s.addr);
        for i in 0..size / 1000 {
            head.push_str(&format!("x-filler-{i}: {filler}\r\n"));
        }
        head.push_str("content-length: 2\r\nconnection: close\r\n\r\n{}");
        let mut c = TcpStream::connect(s.addr).unwrap();
        let _ = c.write_all(head.as_bytes());
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut raw = Vec::new();
        let _ = c.read_to_end(&mut raw);
        let status = parse_reply(&raw).map(|r| r.status);
        assert_eq!(
            status,
            Some(431),
            "{size}: {}",
            String::from_utf8_lossy(&raw)
        );
    }
    s.ok(ADMIN, "ListKeys", &json!({}));
}

/// Review: GenerateDataKeyPair RSA_4096 stalled other clients for up to 1.6 s. CPU-heavy work
/// runs on the blocking pool, a few at a time, so the async workers keep answering.
#[test]
fn rsa_key_pairs_do_not_hold_up_other_clients() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(TestServer::start(dir.path()));
    let key = s.ok(ADMIN, "CreateKey", &json!({}))["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let pair = json!({"KeyId": key, "KeyPairSpec": "RSA_4096"});
    let alone = Instant::now();
    s.ok(ADMIN, "GenerateDataKeyPair", &pair);
    let one = alone.elapsed();
    let heavy: Vec<_> = (0..2)
        .map(|_| {
            let s = std::sync::Arc::clone(&s);
            let pair = pair.clone();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    s.ok(ADMIN, "GenerateDataKeyPair", &pair);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let mut worst = Duration::ZERO;
    while heavy.iter().any(|t| !t.is_finished()) {
        let started = Instant::now();
        s.ok(ADMIN, "ListKeys", &json!({}));
        worst = worst.max(started.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    for t in heavy {
        t.join().unwrap();
    }
    let bound = (one / 2).max(Duration::from_millis(150));
    assert!(
        worst < bound,
        "ListKeys took {worst:?} while RSA key pairs were made (one takes {one:?})"
    );
}

/// Review: on a `[::]` listener an IPv4 client's `aws:SourceIp` was `::ffff:a.b.c.d`, so an
/// IPv4 Deny never matched. The address is normalised before it reaches the policies.
#[test]
fn an_ipv4_client_of_a_dual_stack_listener_is_ipv4_to_the_policies() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_on(dir.path(), Limits::default(), "[::]:0");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"{admin}"}},"Action":"kms:*","Resource":"*"}},
            {{"Sid":"NotFromLoopback","Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*",
              "Condition":{{"IpAddress":{{"aws:SourceIp":"127.0.0.0/8"}}}}}}]}}"#,
        admin = ADMIN.arn
    );
    let key = s.ok(ADMIN, "CreateKey", &json!({"Policy": policy}))["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let denied = s.call(
        ADMIN,
        "Encrypt",
        &json!({"KeyId": key, "Plaintext": b64(b"x")}),
    );
    assert_eq!(denied.code(), "AccessDeniedException", "{}", denied.text());
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(last["sourceIPAddress"], "127.0.0.1");
}
