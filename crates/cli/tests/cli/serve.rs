//! `keyward serve` as scripts start it (crates/server/CONFIG.md): the first line on stdout,
//! the generated admin of a first run, config errors (exit 2) and a graceful stop on SIGTERM
//! and SIGINT (exit 0).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

fn example_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/server/keyward.toml")
}

pub(crate) struct Running {
    pub(crate) child: Child,
    stdout: BufReader<std::process::ChildStdout>,
    first_line: String,
}

pub(crate) fn start(dir: &Path, args: &[&str]) -> Running {
    start_with_env(dir, args, &[])
}

/// [`start`], with `env` set in the server's environment.
pub(crate) fn start_with_env(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first_line = String::new();
    stdout.read_line(&mut first_line).unwrap();
    Running {
        child,
        stdout,
        first_line,
    }
}

/// The bundled example config on a port the system picks, with its data in `data`.
fn start_example(dir: &Path, data: &Path) -> Running {
    let config = example_config();
    start(
        dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
    )
}

impl Running {
    pub(crate) fn addr(&self) -> SocketAddr {
        self.first_line
            .trim_end()
            .strip_prefix("listening on http://")
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Sends `signal` and waits for the exit status.
    pub(crate) fn stop(mut self, signal: &str) -> i32 {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(started.elapsed() < Duration::from_secs(20), "did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A signed `ListKeys`, by AWS's own signer; the HTTP status and body.
pub(crate) fn list_keys(addr: SocketAddr, key: &str, secret: &str) -> (u16, String) {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let headers = [
        ("host".to_owned(), addr.to_string()),
        (
            "x-amz-target".to_owned(),
            "TrentService.ListKeys".to_owned(),
        ),
        (
            "content-type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        ),
    ];
    let identity = aws_credential_types::Credentials::new(key, secret, None, None, "test").into();
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
        SignableBody::Bytes(b"{}"),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut request = String::from("POST / HTTP/1.1\r\ncontent-length: 2\r\nconnection: close\r\n");
    for (k, v) in headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(instructions.headers())
    {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n{}");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply.split(' ').nth(1).unwrap().parse().unwrap();
    let body = reply.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

#[test]
fn the_first_line_is_the_address_and_sigterm_stops_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start_example(dir.path(), &data);
    assert!(
        server
            .first_line
            .starts_with("listening on http://127.0.0.1:"),
        "{:?}",
        server.first_line
    );
    let addr = server.addr();
    assert_ne!(addr.port(), 0, "the port the system picked");
    let (status, body) = list_keys(
        addr,
        "AKIAADMIN00000000000",
        "adminsecretadminsecretadminsecret0000000",
    );
    assert_eq!(status, 200, "{body}");
    // An idle keep-alive connection does not hold up the stop.
    let _idle = TcpStream::connect(addr).unwrap();
    assert_eq!(server.stop("TERM"), 0);
    assert!(data.join("keys.db").exists() && data.join("root.key").exists());
    let audit = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 1, "the call was audited and flushed");
}

#[test]
fn a_sigterm_sent_as_soon_as_the_first_line_is_read_still_stops_with_exit_0() {
    // The handlers must be registered before the address is announced; otherwise a script that
    // stops the server right after reading the first line kills it with the default action.
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let server = start_example(dir.path(), &dir.path().join("data"));
        assert!(server.first_line.starts_with("listening on "));
        assert_eq!(server.stop("TERM"), 0, "killed instead of stopped");
    }
}

#[test]
fn a_first_run_without_config_prints_a_working_admin_identity_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &["--listen", "127.0.0.1:0"]);
    let addr = server.addr();
    let mut printed = String::new();
    for _ in 0..6 {
        server.stdout.read_line(&mut printed).unwrap();
    }
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap()
            .trim()
            .to_owned()
    };
    let key = field("access key id:");
    let secret = field("secret access key:");
    assert!(key.starts_with("AKIA") && secret.len() == 40, "{printed}");
    assert!(printed.contains("export AWS_ACCESS_KEY_ID="), "{printed}");
    let (status, body) = list_keys(addr, &key, &secret);
    assert_eq!(status, 200, "{body}");
    let (status, body) = list_keys(addr, &key, "wrongwrongwrongwrongwrongwrongwrongwrong");
    assert_eq!(status, 400);
    assert!(body.contains("InvalidSignatureException"), "{body}");
    // The default data directory, in the working directory.
    assert!(dir.path().join("keyward-data").join("keys.db").exists());
    assert_eq!(server.stop("INT"), 0);
    // Not stored anywhere.
    for entry in std::fs::read_dir(dir.path().join("keyward-data")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(&secret));
    }
}

#[test]
fn a_config_error_names_the_file_line_column_and_field_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "region = \"us-east-1\"\naccount = \"12345\"\n[[principals]]\narn = \"arn:aws:iam::111122223333:user/a\"\naccess_key_id = \"AKIAAAAAAAAAAAAAAAAA\"\nsecret_access_key = \"0123456789abcdef0123\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: {}:2:11: account: '12345' is not a 12-digit account ID",
            config.display()
        )
    );
    assert!(output.stdout.is_empty(), "nothing listened");
    let output = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["serve", "--config", "/nonexistent/keyward.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// Report mode (`enforcement = "report"`) says so on the first line of stderr, and a call
/// that enforce mode refuses goes through, its denial audited.
#[test]
fn report_mode_says_so_on_the_first_line_of_stderr_and_lets_denials_through() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("report.toml");
    std::fs::write(
        &config,
        "enforcement = \"report\"\nlisten = \"127.0.0.1:0\"\ndata_dir = \"data\"\n[[principals]]\narn = \"arn:aws:iam::111122223333:user/nobody\"\naccess_key_id = \"AKIANOBODY0000000000\"\nsecret_access_key = \"nobodysecretnobodysecretnobodysecret0000\"\n",
    )
    .unwrap();
    let mut server = start(dir.path(), &["--config", config.to_str().unwrap()]);
    let mut stderr = BufReader::new(server.child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(
        first.starts_with("keyward serve: REPORT MODE:") && first.contains("NOT enforced"),
        "{first:?}"
    );
    // No identity policy allows ListKeys: enforce mode would refuse it.
    let (status, body) = list_keys(
        server.addr(),
        "AKIANOBODY0000000000",
        "nobodysecretnobodysecretnobodysecret0000",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.stop("TERM"), 0);
    let audit = std::fs::read_to_string(dir.path().join("data").join("audit.jsonl")).unwrap();
    let record: serde_json::Value = serde_json::from_str(audit.lines().next().unwrap()).unwrap();
    assert_eq!(
        record["keyward"]["decisions"][0]["enforced"], false,
        "{record}"
    );
    assert_eq!(record["errorCode"], serde_json::Value::Null);
}

/// `--seed FILE`: the keys are created at start and stderr says how many; a seed that
/// contradicts the stored key stops start-up with exit 2, naming the file, the line and the key.
#[test]
fn a_seed_flag_creates_keys_at_start_and_a_contradicting_seed_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.toml");
    std::fs::write(
        &seed,
        "[[keys]]\nid = \"5eed0000-0000-4000-8000-000000000002\"\naliases = [\"alias/from-seed\"]\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--seed",
        seed.to_str().unwrap(),
    ];
    let mut server = start(dir.path(), &args);
    let mut stderr = BufReader::new(server.child.stderr.take().unwrap());
    let mut lines = String::new();
    for _ in 0..2 {
        stderr.read_line(&mut lines).unwrap();
    }
    assert!(
        lines.contains("seeded 1 key(s) from") && lines.contains("1 created, 0 already there"),
        "{lines}"
    );
    assert_eq!(server.stop("TERM"), 0);
    // The same ID as an HMAC key now contradicts the stored one.
    std::fs::write(
        &seed,
        "[[keys]]\nid = \"5eed0000-0000-4000-8000-000000000002\"\nkey_spec = \"HMAC_256\"\nkey_usage = \"GENERATE_VERIFY_MAC\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("serve")
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{}:2:6: seeded key 5eed0000-0000-4000-8000-000000000002: it exists as SYMMETRIC_DEFAULT", seed.display())),
        "{stderr}"
    );
}
