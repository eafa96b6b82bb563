//! The server over real HTTP: the AWS JSON 1.1 protocol, SigV4 authentication (requests signed
//! by AWS's own signer), limits, robustness and persistence across a restart.

use crate::common::*;
use keyward_server::Limits;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

fn server() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    (dir, server)
}

#[test]
fn answers_are_aws_json_with_a_request_id_and_errors_carry_type_and_message() {
    let (_dir, s) = server();
    let reply = s.call(ADMIN, "CreateKey", &json!({"Description": "d"}));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/x-amz-json-1.1")
    );
    let id = reply.header("x-amzn-requestid").unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let meta = &reply.json()["KeyMetadata"];
    assert_eq!(meta["Description"], "d");
    assert_eq!(meta["AWSAccountId"], ACCOUNT);
    assert!(
        meta["CreationDate"].as_f64().unwrap() > 1.7e9,
        "epoch seconds"
    );
    let key = meta["KeyId"].as_str().unwrap().to_owned();

    let encrypted = s.ok(
        ADMIN,
        "Encrypt",
        &json!({"KeyId": key, "Plaintext": b64(b"secret")}),
    );
    let blob = unb64(&encrypted["CiphertextBlob"]);
    let decrypted = s.ok(ADMIN, "Decrypt", &json!({"CiphertextBlob": b64(&blob)}));
    assert_eq!(unb64(&decrypted["Plaintext"]), b"secret");

    // Not in the key policy and no identity policy: AWS's message, HTTP 400.
    let denied = s.call(ALICE, "Decrypt", &json!({"CiphertextBlob": b64(&blob)}));
    assert_eq!(denied.status, 400);
    assert_eq!(denied.code(), "AccessDeniedException");
    assert!(denied.header("x-amzn-requestid").is_some());
    // A tampered ciphertext: the code and no message at all.
    let mut tampered = blob.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let bad = s.call(ADMIN, "Decrypt", &json!({"CiphertextBlob": b64(&tampered)}));
    assert_eq!(bad.code(), "InvalidCiphertextException");
    assert_eq!(bad.text(), r#"{"__type":"InvalidCiphertextException"}"#);
}

#[test]
fn request_ids_differ_per_request() {
    let (_dir, s) = server();
    let a = s.call(ADMIN, "ListKeys", &json!({}));
    let b = s.call(ADMIN, "ListKeys", &json!({}));
    assert_ne!(a.header("x-amzn-requestid"), b.header("x-amzn-requestid"));
    assert_eq!(a.json()["Truncated"], false);
}

/// Every way a signature can be wrong, refused with AWS's code, and none reaching the engine.
#[test]
fn signatures_are_verified_and_unauthenticated_requests_never_reach_the_engine() {
    let (_dir, s) = server();
    s.ok(ADMIN, "ListKeys", &json!({}));
    let audited = s.audit_lines();
    assert_eq!(audited, 1);
    let body = br#"{}"#;
    let now = SystemTime::now();
    let wrong_secret = Creds {
        secret: "not-the-secret-not-the-secret-0000000000",
        ..ADMIN
    };
    let unknown = Creds {
        key: "AKIAUNKNOWN000000000",
        ..ADMIN
    };
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "no Authorization header",
            b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.ListKeys\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".to_vec(),
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ),
        (
            "unknown access key",
            signed_request(s.addr, unknown, "ListKeys", body, now, |_| {}),
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        (
            "a session token this server never issued",
            signed_request(s.addr, ADMIN, "ListKeys", body, now, |h| {
                h.push(("x-amz-security-token".into(), "FwoGZXIvYXdzEJr".into()));
            }),
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        (
            "wrong secret",
            signed_request(s.addr, wrong_secret, "ListKeys", body, now, |_| {}),
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        ),
        (
            "signed for another region",
            signed_request_for(s.addr, ADMIN, "eu-west-1", "kms", "ListKeys", body, now, |_| {}),
            "InvalidSignatureException",
            "Credential should be scoped to a valid region, not 'eu-west-1'.",
        ),
        (
            "signed for another service",
            signed_request_for(s.addr, ADMIN, REGION, "sts", "ListKeys", body, now, |_| {}),
            "InvalidSignatureException",
            "Credential should be scoped to correct service: 'kms'.",
        ),
        (
            "signed 6 minutes ago",
            signed_request(s.addr, ADMIN, "ListKeys", body, now - Duration::from_secs(6 * 60), |_| {}),
            "InvalidSignatureException",
            "Signature expired: ",
        ),
        (
            "signed 6 minutes ahead",
            signed_request(s.addr, ADMIN, "ListKeys", body, now + Duration::from_secs(6 * 60), |_| {}),
            "InvalidSignatureException",
            "Signature not yet current: ",
        ),
        (
            "operation not signed",
            {
                // Sign without the target, then add it: a replay as another operation.
                let mut r = signed_request(s.addr, ADMIN, "ListKeys", body, now, |h| {
                    h.retain(|(k, _)| k != "x-amz-target");
                });
                let at = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
                r.splice(at + 2..at + 2, b"x-amz-target: TrentService.ListKeys\r\n".iter().copied());
                r
            },
            "InvalidSignatureException",
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.",
        ),
        (
            "malformed Authorization header",
            b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-date: 20260101T000000Z\r\nauthorization: AWS4-HMAC-SHA256 Credential=AKIAADMIN00000000000/20260101/us-east-1/kms/aws4_request\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".to_vec(),
            "IncompleteSignatureException",
            "Authorization header requires 'Signature' parameter.",
        ),
    ];
    for (what, request, code, message) in cases {
        let reply = send(s.addr, &request);
        assert_eq!(reply.status, 400, "{what}: {}", reply.text());
        assert_eq!(reply.code(), code, "{what}: {}", reply.text());
        let got = reply.message().unwrap_or_default();
        assert!(got.starts_with(message), "{what}: {got}");
    }
    assert_eq!(
        s.audit_lines(),
        audited,
        "no refused request reached the engine"
    );
}

/// The payload and the signed headers are covered: changing any after signing is refused.
#[test]
fn tampering_with_a_signed_request_is_a_signature_mismatch() {
    let (_dir, s) = server();
    let key = s.ok(ADMIN, "CreateKey", &json!({}))["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::to_vec(&json!({"KeyId": key, "Plaintext": b64(b"aaaa")})).unwrap();
    let request = signed_request(s.addr, ADMIN, "Encrypt", &body, SystemTime::now(), |_| {});
    assert_eq!(send(s.addr, &request).status, 200);
    let text = String::from_utf8(request.clone()).unwrap();
    let tampered = [
        text.replace("YWFhYQ==", "YmJiYg=="),
        text.replace("TrentService.Encrypt", "TrentService.Decrypt"),
        text.replace(&format!("host: {}", s.addr), "host: elsewhere:1"),
        {
            let at = text.find("Signature=").unwrap() + "Signature=".len();
            let flipped = if &text[at..at + 1] == "0" { "1" } else { "0" };
            format!("{}{flipped}{}", &text[..at], &text[at + 1..])
        },
        {
            let at = text.find("Signature=").unwrap() + "Signature=".len();
            format!("{}zz{}", &text[..at], &text[at + 2..])
        },
    ];
    for request in tampered {
        let reply = send(s.addr, request.as_bytes());
        assert_eq!(
            reply.code(),
            "InvalidSignatureException",
            "{request}\n{}",
            reply.text()
        );
        assert_eq!(
            reply.message().unwrap(),
            keyward_server::sigv4::SIGNATURE_MISMATCH
        );
    }
}

/// IAM User Guide, "AWS Signature Version 4 for API requests": "In most cases, a request must
/// reach AWS within five minutes of the time stamp in the request. Otherwise, AWS denies the
/// request." KMS answers `InvalidSignatureException: Signature expired: ... (... - 5 min.)`
/// (aws/aws-sdk-js#2340). Four minutes either way is accepted; six is not (above).
#[test]
fn a_request_signed_four_minutes_off_is_still_accepted() {
    let (_dir, s) = server();
    for offset in [-4i64 * 60, 4 * 60] {
        let time = if offset < 0 {
            SystemTime::now() - Duration::from_secs(offset.unsigned_abs())
        } else {
            SystemTime::now() + Duration::from_secs(offset.unsigned_abs())
        };
        let r = send(
            s.addr,
            &signed_request(s.addr, ADMIN, "ListKeys", b"{}", time, |_| {}),
        );
        assert_eq!(r.status, 200, "{offset}: {}", r.text());
    }
}

#[test]
fn bad_input_gets_a_clear_error() {
    let (_dir, s) = server();
    let sent = |operation: &str, body: &[u8]| {
        send(
            s.addr,
            &signed_request(s.addr, ADMIN, operation, body, SystemTime::now(), |_| {}),
        )
    };
    let cases: [(&str, &[u8], &str, &str); 10] = [
        (
            "ListKeys",
            b"{not json",
            "SerializationException",
            "not valid JSON",
        ),
        (
            "ListKeys",
            b"[1,2]",
            "SerializationException",
            "must be a JSON object",
        ),
        (
            "Encrypt",
            br#"{"KeyId": 7, "Plaintext": "aGk="}"#,
            "SerializationException",
            "'keyId' must be a string",
        ),
        (
            "Encrypt",
            br#"{"KeyId": "k", "Plaintext": "%%%"}"#,
            "SerializationException",
            "'plaintext' is not valid base64",
        ),
        (
            "Encrypt",
            br#"{"Plaintext": "aGk="}"#,
            "ValidationException",
            "Value null at 'keyId' failed to satisfy constraint: Member must not be null",
        ),
        (
            "GenerateRandom",
            br#"{"NumberOfBytes": 1.5}"#,
            "SerializationException",
            "'numberOfBytes' must be a whole number",
        ),
        (
            "GenerateRandom",
            br#"{}"#,
            "ValidationException",
            "NumberOfBytes is required.",
        ),
        (
            "GetKeyLastUsage",
            br#"{}"#,
            "UnsupportedOperationException",
            "GetKeyLastUsage is not supported",
        ),
        (
            "CreateCustomKeyStore",
            br#"{"CustomKeyStoreName": "hsm"}"#,
            "ValidationException",
            "A CloudHSM key store needs CloudHsmClusterId, KeyStorePassword and TrustAnchorCertificate.",
        ),
        (
            "ConnectCustomKeyStore",
            br#"{"CustomKeyStoreId": "cks-1234567890abcdef0"}"#,
            "CustomKeyStoreNotFoundException",
            "Custom key store cks-1234567890abcdef0 does not exist.",
        ),
    ];
    for (operation, body, code, message) in cases {
        let reply = sent(operation, body);
        assert_eq!(reply.status, 400, "{operation}: {}", reply.text());
        assert_eq!(reply.code(), code, "{operation}: {}", reply.text());
        assert!(
            reply.message().unwrap().contains(message),
            "{operation}: {}",
            reply.text()
        );
    }
    let unknown = sent("MakeCoffee", b"{}");
    assert_eq!(
        (unknown.status, unknown.code()),
        (400, "UnknownOperationException".to_owned())
    );
    let get = send(
        s.addr,
        format!(
            "GET / HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
            s.addr
        )
        .as_bytes(),
    );
    assert_eq!(get.status, 405);
}

#[test]
fn oversized_bodies_are_refused_whether_declared_or_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_body: 4096,
        ..Limits::default()
    };
    let s = TestServer::start_with(dir.path(), limits);
    let declared = format!(
        "POST / HTTP/1.1\r\nhost: {}\r\ncontent-length: 100000000\r\n\r\n",
        s.addr
    );
    let reply = send(s.addr, declared.as_bytes());
    assert_eq!(reply.status, 413);
    assert_eq!(reply.code(), "RequestEntityTooLargeException");
    // Chunked, so no length is declared: the limit still holds while reading (the head is
    // signed, or it would be refused before any body is read).
    let body = vec![b'a'; 8 * 1024];
    let signed = signed_request(s.addr, ADMIN, "ListKeys", &body, SystemTime::now(), |_| {});
    let head_end = signed.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(signed[..head_end].to_vec()).unwrap();
    let head: String = head
        .split("\r\n")
        .filter(|line| !line.starts_with("content-length"))
        .map(|line| format!("{line}\r\n"))
        .collect();
    let mut streamed = format!("{head}transfer-encoding: chunked\r\n\r\n").into_bytes();
    for _ in 0..8 {
        streamed.extend_from_slice(b"400\r\n");
        streamed.extend_from_slice(&[b'a'; 1024]);
        streamed.extend_from_slice(b"\r\n");
    }
    streamed.extend_from_slice(b"0\r\n\r\n");
    let reply = send(s.addr, &streamed);
    assert_eq!(reply.status, 413, "{}", reply.text());
    // A signed request under the limit still works.
    s.ok(ADMIN, "ListKeys", &json!({}));
}

/// Clients that send slowly are cut off at the limits, and never hold up other clients.
#[test]
fn slow_clients_are_timed_out_without_blocking_others() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        head_timeout: Duration::from_millis(800),
        body_timeout: Duration::from_millis(800),
        ..Limits::default()
    };
    let s = TestServer::start_with(dir.path(), limits);
    // Ten connections that send half a head and stall, one that sends nothing, and one that
    // stalls mid-body.
    let mut stalled: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut c = TcpStream::connect(s.addr).unwrap();
            c.write_all(b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-tar")
                .unwrap();
            c
        })
        .collect();
    // One that connects and sends nothing at all.
    stalled.push(TcpStream::connect(s.addr).unwrap());
    // A signed head (an unsigned one is refused before its body is read), then a stall.
    let mut slow_body = TcpStream::connect(s.addr).unwrap();
    let signed = signed_request(
        s.addr,
        ADMIN,
        "ListKeys",
        &[b' '; 100],
        SystemTime::now(),
        |_| {},
    );
    let head_end = signed.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    slow_body.write_all(&signed[..head_end + 10]).unwrap();
    // Meanwhile others are served at once.
    let started = Instant::now();
    for _ in 0..20 {
        s.ok(ADMIN, "ListKeys", &json!({}));
    }
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    // The stalled ones are cut off.
    let mut reply = Vec::new();
    slow_body
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = slow_body.read_to_end(&mut reply);
    let reply = parse_reply(&reply).expect("a reply to the slow body");
    assert_eq!(reply.status, 408);
    assert_eq!(reply.code(), "RequestTimeoutException");
    for c in &mut stalled {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut rest = Vec::new();
        let started = Instant::now();
        let _ = c.read_to_end(&mut rest);
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "closed by the server, not by our timeout"
        );
    }
}

/// A few thousand malformed requests of every kind, from several threads at once; the server
/// answers each (or closes the connection) and still serves good requests after.
#[test]
fn thousands_of_malformed_requests_leave_the_server_serving() {
    let (_dir, s) = server();
    let key = s.ok(ADMIN, "CreateKey", &json!({}))["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let addr = s.addr;
    let garbage: Vec<Vec<u8>> = vec![
        b"\x00\x01\x02\x03 not http at all\r\n\r\n".to_vec(),
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n".to_vec(),
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd".to_vec(),
        b"POST / HTTP/9.9\r\n\r\n".to_vec(),
        b"POST / HTTP/1.1\r\nhost: x\r\nauthorization: AWS4-HMAC-SHA256 \xff\xfe\r\ncontent-length: 0\r\n\r\n".to_vec(),
        b"POST / HTTP/1.1\r\nhost: x\r\nauthorization: AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00\r\nx-amz-date: 2026\r\ncontent-length: 0\r\n\r\n".to_vec(),
        format!("POST / HTTP/1.1\r\nhost: x\r\nx-long: {}\r\n\r\n", "a".repeat(100_000)).into_bytes(),
        b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n".to_vec(),
    ];
    let signed_bad: Vec<Vec<u8>> = [
        ("Encrypt", &br#"{"KeyId": ["x"], "Plaintext": "aGk="}"#[..]),
        (
            "Encrypt",
            br#"{"KeyId": "alias/none", "Plaintext": "aGk="}"#,
        ),
        ("Decrypt", br#"{"CiphertextBlob": "AAAA"}"#),
        ("Decrypt", br#"{"CiphertextBlob": {"a": 1}}"#),
        ("CreateKey", br#"{"KeySpec": "RSA_1", "KeyUsage": 4}"#),
        ("PutKeyPolicy", br#"{"KeyId": "x", "Policy": "{{{{"}"#),
        ("ListGrants", br#"{"KeyId": "x", "Limit": -1}"#),
        ("Nonsense", br#"{}"#),
        ("ListKeys", b"\xff\xff"),
        (
            "CreateGrant",
            br#"{"KeyId": "x", "GranteePrincipal": 5, "Operations": "Decrypt"}"#,
        ),
    ]
    .iter()
    .map(|(op, body)| {
        let body = body.to_vec();
        signed_request(addr, ADMIN, op, &body, SystemTime::now(), |_| {})
    })
    .collect();
    let all: std::sync::Arc<Vec<Vec<u8>>> =
        std::sync::Arc::new(garbage.into_iter().chain(signed_bad).collect());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let all = std::sync::Arc::clone(&all);
            std::thread::spawn(move || {
                let mut answered = 0;
                for i in 0..750 {
                    let request = &all[(i + t) % all.len()];
                    let mut c = TcpStream::connect(addr).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                    let _ = c.write_all(request);
                    let _ = c.shutdown(std::net::Shutdown::Write);
                    let mut out = Vec::new();
                    let _ = c.read_to_end(&mut out);
                    if let Some(reply) = parse_reply(&out) {
                        assert!(
                            matches!(reply.status, 400 | 405 | 413 | 431 | 505),
                            "{}",
                            reply.status
                        );
                        answered += 1;
                    } else if i < all.len() {
                        eprintln!(
                            "no reply to request {}: {:?}",
                            (i + t) % all.len(),
                            String::from_utf8_lossy(&out)
                        );
                    }
                }
                answered
            })
        })
        .collect();
    let answered: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(
        answered, 3000,
        "every malformed request got an HTTP error reply"
    );
    let blob = s.ok(
        ADMIN,
        "Encrypt",
        &json!({"KeyId": key, "Plaintext": b64(b"still here")}),
    )["CiphertextBlob"]
        .clone();
    let plain = s.ok(ADMIN, "Decrypt", &json!({"CiphertextBlob": blob}));
    assert_eq!(unb64(&plain["Plaintext"]), b"still here");
}

#[test]
fn keys_aliases_grants_and_ciphertexts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path());
    let key = s.ok(
        ADMIN,
        "CreateKey",
        &json!({"Tags": [{"TagKey": "env", "TagValue": "test"}]}),
    )["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    s.ok(
        ADMIN,
        "CreateAlias",
        &json!({"AliasName": "alias/app", "TargetKeyId": key}),
    );
    let grant = s.ok(
        ADMIN,
        "CreateGrant",
        &json!({"KeyId": key, "GranteePrincipal": ALICE.arn, "Operations": ["Decrypt"]}),
    );
    let blob = s.ok(
        ADMIN,
        "Encrypt",
        &json!({"KeyId": "alias/app", "Plaintext": b64(b"kept")}),
    )["CiphertextBlob"]
        .clone();
    let lines = s.audit_lines();
    s.stop().unwrap();

    let s = TestServer::start(dir.path());
    let plain = s.ok(ALICE, "Decrypt", &json!({"CiphertextBlob": blob}));
    assert_eq!(
        unb64(&plain["Plaintext"]),
        b"kept",
        "the grant survived too"
    );
    let aliases = s.ok(ADMIN, "ListAliases", &json!({"KeyId": key}));
    assert_eq!(aliases["Aliases"][0]["AliasName"], "alias/app");
    let tags = s.ok(ADMIN, "ListResourceTags", &json!({"KeyId": key}));
    assert_eq!(tags["Tags"], json!([{"TagKey": "env", "TagValue": "test"}]));
    let grants = s.ok(ADMIN, "ListGrants", &json!({"KeyId": key}));
    assert_eq!(grants["Grants"][0]["GrantId"], grant["GrantId"]);
    assert_eq!(
        s.audit_lines(),
        lines + 4,
        "the audit trail is appended to, not replaced"
    );
}

#[test]
fn list_operations_page_with_limit_and_marker() {
    let (_dir, s) = server();
    for _ in 0..3 {
        s.ok(ADMIN, "CreateKey", &json!({}));
    }
    let first = s.ok(ADMIN, "ListKeys", &json!({"Limit": 2}));
    assert_eq!(first["Keys"].as_array().unwrap().len(), 2);
    assert_eq!(first["Truncated"], true);
    let second = s.ok(
        ADMIN,
        "ListKeys",
        &json!({"Limit": 2, "Marker": first["NextMarker"]}),
    );
    assert_eq!(second["Keys"].as_array().unwrap().len(), 1);
    assert_eq!(second["Truncated"], false);
    let forged = s.call(ADMIN, "ListKeys", &json!({"Marker": "forged"}));
    assert_eq!(forged.code(), "InvalidMarkerException");
}

/// The principal's tags from the config reach conditions (`aws:PrincipalTag`), and the source
/// address reaches `aws:SourceIp`.
#[test]
fn principal_tags_and_source_ip_reach_the_conditions() {
    let (_dir, s) = server();
    let policy = |team: &str| {
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": ADMIN.arn}, "NotAction": "kms:Encrypt", "Resource": "*"},
            {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": ADMIN.arn}, "Action": "kms:Encrypt", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalTag/team": team}}},
            {"Sid": "NotThere", "Effect": "Deny", "Principal": "*", "Action": "kms:GenerateDataKey", "Resource": "*",
             "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
        ]})
        .to_string()
    };
    let create = |team: &str| {
        s.ok(ADMIN, "CreateKey", &json!({"Policy": policy(team)}))["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let key = create("platform");
    s.ok(
        ADMIN,
        "Encrypt",
        &json!({"KeyId": key, "Plaintext": b64(b"x")}),
    );
    let other = create("payments");
    let denied = s.call(
        ADMIN,
        "Encrypt",
        &json!({"KeyId": other, "Plaintext": b64(b"x")}),
    );
    assert_eq!(
        denied.code(),
        "AccessDeniedException",
        "admin's tag is team=platform"
    );
    let denied = s.call(
        ADMIN,
        "GenerateDataKey",
        &json!({"KeyId": key, "KeySpec": "AES_256"}),
    );
    assert_eq!(
        denied.code(),
        "AccessDeniedException",
        "127.0.0.1 is not in 10.0.0.0/8"
    );
    assert!(
        denied
            .message()
            .unwrap()
            .contains("explicit deny in a resource-based policy"),
        "{}",
        denied.text()
    );
}

/// `enforcement = "report"`: a call the key policy and alice's (absent) identity policies
/// refuse goes through; its audit record keeps the denial, not enforced, with AWS's message
/// and the explanation. In enforce mode the same call is AccessDeniedException.
#[test]
fn report_mode_lets_a_denied_call_through_and_audits_the_denial() {
    for (settings, expected) in [("enforcement = \"report\"", 200), ("", 400)] {
        let dir = tempfile::tempdir().unwrap();
        let s = TestServer::start_configured(dir.path(), settings);
        let key = s.ok(ADMIN, "CreateKey", &json!({}))["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        let reply = s.call(
            ALICE,
            "Encrypt",
            &json!({"KeyId": key, "Plaintext": "aGVsbG8="}),
        );
        assert_eq!(reply.status, expected, "{settings:?}: {}", reply.text());
        drop(s);
        let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
        let record: serde_json::Value =
            serde_json::from_str(audit.lines().last().unwrap()).unwrap();
        let decision = &record["keyward"]["decisions"][0];
        assert_eq!(decision["verdict"], "ImplicitDeny");
        assert_eq!(decision["enforced"], expected == 400, "{settings:?}");
        assert!(
            decision["message"]
                .as_str()
                .is_some_and(|m| m.contains("kms:Encrypt")),
            "{decision}"
        );
        assert!(
            decision["explanation"]
                .as_str()
                .is_some_and(|e| !e.is_empty())
        );
    }
}

/// `[quotas]`: beyond its rate, an account's requests get `ThrottlingException` with AWS's
/// message; another account and another quota are counted apart; the bucket refills.
#[test]
fn a_quota_throttles_an_account_beyond_its_rate() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_configured(
        dir.path(),
        "[quotas]\ncryptographic_per_second = 2\n[quotas.operations]\nListKeys = 1\n",
    );
    let random = json!({"NumberOfBytes": 8});
    assert_eq!(s.call(ADMIN, "GenerateRandom", &random).status, 200);
    assert_eq!(s.call(ADMIN, "GenerateRandom", &random).status, 200);
    let throttled = s.call(ADMIN, "GenerateRandom", &random);
    assert_eq!(throttled.status, 400);
    assert_eq!(
        throttled.json(),
        json!({"__type": "ThrottlingException", "message": "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."})
    );
    // Another account has its own; another quota is counted apart.
    assert_eq!(s.call(CAROL, "GenerateRandom", &random).status, 200);
    assert_eq!(s.call(ADMIN, "ListKeys", &json!({})).status, 200);
    assert_eq!(s.call(ADMIN, "ListKeys", &json!({})).status, 400);
    // Half a second later one request's worth is back.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(s.call(ADMIN, "GenerateRandom", &random).status, 200);
    let audited = s.audit_lines();
    assert_eq!(
        audited, 5,
        "throttled calls reach nothing, the audit log included"
    );
}

/// `fault_rate`: the share of calls answered with an injected fault, of the kinds named.
#[test]
fn injected_faults_answer_as_aws_does_and_are_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_configured(
        dir.path(),
        "[quotas]\nfault_rate = 1.0\nfaults = [\"internal\"]\n",
    );
    let reply = s.call(ADMIN, "GenerateRandom", &json!({"NumberOfBytes": 8}));
    assert_eq!(reply.status, 500);
    assert_eq!(reply.json()["__type"], "KMSInternalException");
    drop(s);
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_configured(
        dir.path(),
        "[quotas]\nfault_rate = 1.0\nfaults = [\"delay\"]\nfault_delay_ms = 300\n",
    );
    let started = Instant::now();
    assert_eq!(
        s.call(ADMIN, "GenerateRandom", &json!({"NumberOfBytes": 8}))
            .status,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    drop(s);
    // Without [quotas], nothing is counted or injected.
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path());
    for _ in 0..20 {
        assert_eq!(s.call(ADMIN, "ListKeys", &json!({})).status, 200);
    }
}

/// `seed`: the keys are there at start, under their IDs and aliases; starting again over the
/// same data keeps them (one key, not two); and two servers seeded with the same material,
/// each with its own root key, decrypt each other's ciphertexts.
#[test]
fn a_seeded_server_starts_with_its_keys_idempotently_and_the_same_material() {
    let inputs = tempfile::tempdir().unwrap();
    std::fs::write(inputs.path().join("seed.toml"), crate::clients::SEED).unwrap();
    std::fs::write(inputs.path().join("seeded.bin"), [0x5e; 32]).unwrap();
    let settings = format!("seed = \"{}/seed.toml\"", inputs.path().display());
    let first = tempfile::tempdir().unwrap();
    let s = TestServer::start_configured(first.path(), &settings);
    let key = "5eed0000-0000-4000-8000-000000000001";
    let described = s.ok(ADMIN, "DescribeKey", &json!({"KeyId": "alias/seeded"}));
    assert_eq!(described["KeyMetadata"]["KeyId"], key);
    let blob = s.ok(
        ADMIN,
        "Encrypt",
        &json!({"KeyId": "alias/seeded", "Plaintext": "c2VlZGVk"}),
    )["CiphertextBlob"]
        .clone();
    drop(s);
    let s = TestServer::start_configured(first.path(), &settings);
    let keys = s.ok(ADMIN, "ListKeys", &json!({}));
    assert_eq!(keys["Keys"].as_array().unwrap().len(), 1, "{keys}");
    drop(s);
    let second = tempfile::tempdir().unwrap();
    let s = TestServer::start_configured(second.path(), &settings);
    let plain = s.ok(ADMIN, "Decrypt", &json!({"CiphertextBlob": blob}));
    assert_eq!(plain["Plaintext"], "c2VlZGVk");
}

/// ML-DSA keys over the wire: CreateKey, Sign and Verify with RAW messages, GetPublicKey as DER
/// SubjectPublicKeyInfo; DIGEST refused as AWS refuses it.
#[test]
fn ml_dsa_keys_sign_and_verify_raw_messages() {
    let (_dir, s) = server();
    let meta = s.ok(
        ADMIN,
        "CreateKey",
        &json!({"KeySpec": "ML_DSA_44", "KeyUsage": "SIGN_VERIFY"}),
    );
    let key = meta["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let signed = s.ok(
        ADMIN,
        "Sign",
        &json!({"KeyId": key, "Message": "cXVhbnR1bQ==", "MessageType": "RAW", "SigningAlgorithm": "ML_DSA_SHAKE_256"}),
    );
    let verified = s.ok(
        ADMIN,
        "Verify",
        &json!({"KeyId": key, "Message": "cXVhbnR1bQ==", "MessageType": "RAW", "SigningAlgorithm": "ML_DSA_SHAKE_256", "Signature": signed["Signature"]}),
    );
    assert_eq!(verified["SignatureValid"], true);
    let public = s.ok(ADMIN, "GetPublicKey", &json!({"KeyId": key}));
    // 1,312 bytes of key in a 22-byte SubjectPublicKeyInfo, base64.
    let der = base64_len(public["PublicKey"].as_str().unwrap());
    assert_eq!(der, 1334);
    let refused = s.call(
        ADMIN,
        "Sign",
        &json!({"KeyId": key, "Message": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "MessageType": "DIGEST", "SigningAlgorithm": "ML_DSA_SHAKE_256"}),
    );
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json(),
        json!({"__type": "ValidationException", "message": "Message type DIGEST is incompatible with key spec ML_DSA_44."})
    );
}

/// The decoded length of a base64 text.
fn base64_len(text: &str) -> usize {
    text.len() / 4 * 3 - text.bytes().rev().take_while(|b| *b == b'=').count()
}

/// `regions`: a request is served in the Region of its credential scope; keys, aliases and
/// ARNs are per Region; a Region not served is refused as AWS refuses a wrong scope; each
/// Region's keys outlive a restart.
#[test]
fn each_region_served_has_its_own_keys_aliases_and_arns() {
    let dir = tempfile::tempdir().unwrap();
    let settings = "regions = [\"us-east-1\", \"eu-west-1\"]";
    let s = TestServer::start_configured(dir.path(), settings);
    let eu = s.ok_in("eu-west-1", ADMIN, "CreateKey", &json!({}))["KeyMetadata"].clone();
    let us = s.ok_in("us-east-1", ADMIN, "CreateKey", &json!({}))["KeyMetadata"].clone();
    assert!(
        eu["Arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:kms:eu-west-1:111122223333:key/"),
        "{eu}"
    );
    assert!(
        us["Arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:kms:us-east-1:")
    );
    let listed = |region: &str| -> Vec<String> {
        s.ok_in(region, ADMIN, "ListKeys", &json!({}))["Keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["KeyId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(listed("eu-west-1"), [eu["KeyId"].as_str().unwrap()]);
    assert_eq!(listed("us-east-1"), [us["KeyId"].as_str().unwrap()]);
    // The same alias name in each Region, each its own.
    for (region, key) in [("eu-west-1", &eu), ("us-east-1", &us)] {
        s.ok_in(
            region,
            ADMIN,
            "CreateAlias",
            &json!({"AliasName": "alias/app", "TargetKeyId": key["KeyId"]}),
        );
        let described = s.ok_in(region, ADMIN, "DescribeKey", &json!({"KeyId": "alias/app"}));
        assert_eq!(described["KeyMetadata"]["KeyId"], key["KeyId"]);
    }
    // A key of one Region is not found from another.
    let missing = s.call_in(
        "us-east-1",
        ADMIN,
        "DescribeKey",
        &json!({"KeyId": eu["KeyId"]}),
    );
    assert_eq!(missing.json()["__type"], "NotFoundException");
    // A ciphertext of one Region does not decrypt in the other.
    let blob = s.ok_in(
        "eu-west-1",
        ADMIN,
        "Encrypt",
        &json!({"KeyId": eu["KeyId"], "Plaintext": "ZXU="}),
    )["CiphertextBlob"]
        .clone();
    let elsewhere = s.call_in(
        "us-east-1",
        ADMIN,
        "Decrypt",
        &json!({"CiphertextBlob": blob}),
    );
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.text());
    // A Region not served.
    let refused = s.call_in("ap-south-1", ADMIN, "ListKeys", &json!({}));
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["__type"], "InvalidSignatureException");
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Credential should be scoped to a valid region, not 'ap-south-1'."),
        "{}",
        refused.text()
    );
    drop(s);
    assert!(dir.path().join("regions/eu-west-1/keys.db").exists());
    let s = TestServer::start_configured(dir.path(), settings);
    assert_eq!(
        s.ok_in("eu-west-1", ADMIN, "ListKeys", &json!({}))["Keys"][0]["KeyId"],
        eu["KeyId"]
    );
    // The audit trail names each call's Region.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"awsRegion\":\"eu-west-1\""))
    );
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"awsRegion\":\"us-east-1\""))
    );
}

/// AWS managed keys over the wire: a principal configured to call through S3 makes
/// alias/aws/s3's key at first use; KeyManager AWS; a direct call is refused by its policy.
#[test]
fn a_managed_key_is_made_at_first_use_through_its_service() {
    let (_dir, s) = server();
    // Used directly before S3 has used it: not found (DescribeKey would make it, as AWS's
    // API reference says).
    let before = s.call(
        ADMIN,
        "Encrypt",
        &json!({"KeyId": "alias/aws/s3", "Plaintext": "b2JqZWN0"}),
    );
    assert_eq!(before.json()["__type"], "NotFoundException");
    s.ok(
        DAVE,
        "Encrypt",
        &json!({"KeyId": "alias/aws/s3", "Plaintext": "b2JqZWN0"}),
    );
    let meta = s.ok(ADMIN, "DescribeKey", &json!({"KeyId": "alias/aws/s3"}));
    assert_eq!(meta["KeyMetadata"]["KeyManager"], "AWS");
    let direct = s.call(
        ADMIN,
        "Encrypt",
        &json!({"KeyId": "alias/aws/s3", "Plaintext": "b2JqZWN0"}),
    );
    assert_eq!(direct.json()["__type"], "AccessDeniedException");
}

/// `instance` names the server in every audit record.
#[test]
fn every_audit_record_names_the_configured_instance() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_configured(dir.path(), "instance = \"kms-a\"");
    server.ok(ADMIN, "ListKeys", &json!({}));
    let denied = server.call(ALICE, "CreateKey", &json!({}));
    assert_eq!(denied.status, 400, "{}", denied.text());
    drop(server);
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    for record in &records {
        assert_eq!(record["keyward"]["instance"], "kms-a");
    }
}
