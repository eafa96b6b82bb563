//! Custom key stores backed by SoftHSMv2 through `keyward serve`, driven by boto3
//! (`crates/server/tests/clients/test_key_stores.py`): the lifecycle and every cryptographic
//! operation on a key made in the token; a second token whose PIN the config gets wrong,
//! refused; a store disconnected in the middle of a stream of calls; an audit record that names
//! the store; stores registered, updated and deleted at run time; and, after the server is
//! stopped and started again, the keys (and the registered store, its PIN sealed in the store)
//! found again.
//!
//! SoftHSM reads its configuration from the environment, which the server process gets
//! (`SOFTHSM2_CONF`), with the PIN (`pin_env`). Needs SoftHSMv2 and the clients' venv; without
//! either the test says so and passes, unless `.ci/run` requires them
//! (`KEYWARD_REQUIRE_SOFTHSM=1`, `KEYWARD_REQUIRE_CLIENTS=1`), when it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

const ADMIN: (&str, &str, &str) = (
    "arn:aws:iam::111122223333:user/admin",
    "AKIAADMIN00000000000",
    "adminsecretadminsecretadminsecret0000000",
);
const PIN: &str = "keyward-hsm-pin";

/// A SoftHSM configuration in `dir` with the tokens `keyward` (PIN [`PIN`]), `other` (a PIN
/// of its own), and `third` and `fourth` for the stores the suite registers; `None` when
/// SoftHSM is missing and not required.
fn softhsm(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let Some(module) = keyward_crypto::softhsm::available() else {
        assert!(
            std::env::var("KEYWARD_REQUIRE_SOFTHSM").as_deref() != Ok("1"),
            "KEYWARD_REQUIRE_SOFTHSM=1 and no SoftHSMv2 (.ci/run installs the package softhsm2)"
        );
        eprintln!("SKIPPED: no SoftHSMv2 (the package softhsm2)");
        return None;
    };
    let conf = keyward_crypto::softhsm::configure(
        dir,
        &[
            ("keyward", PIN),
            ("other", "the-other-pin"),
            ("third", "third-pin-1234"),
            ("fourth", "fourth-pin-123"),
        ],
    )
    .unwrap();
    Some((module, conf))
}

/// `keyward serve` with the two stores: `hsm-1` on the token `keyward` (its PIN from the
/// environment), `hsm-2` on the token `other` with a PIN file that holds the wrong PIN.
fn serve(dir: &Path, module: &Path, conf: &Path) -> crate::serve::Running {
    std::fs::write(dir.join("wrong.pin"), "not-the-other-pin\n").unwrap();
    let config = format!(
        r#"region = "us-east-1"
account = "111122223333"
listen = "127.0.0.1:0"
data_dir = "{data}"

[[principals]]
arn = "{arn}"
access_key_id = "{key}"
secret_access_key = "{secret}"
identity_policies = ['{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":"*"}}]}}']

[[key_stores]]
id = "cks-1234567890abcdef0"
name = "hsm-1"
module = "{module}"
token_label = "keyward"
pin_env = "KEYWARD_TEST_HSM_PIN"

[[key_stores]]
id = "cks-0fedcba9876543210"
name = "hsm-2"
module = "{module}"
token_label = "other"
pin_file = "wrong.pin"
"#,
        data = dir.join("data").display(),
        arn = ADMIN.0,
        key = ADMIN.1,
        secret = ADMIN.2,
        module = module.display(),
    );
    let path = dir.join("keyward.toml");
    std::fs::write(&path, config).unwrap();
    crate::serve::start_with_env(
        dir,
        &["--config", path.to_str().unwrap()],
        &[
            ("SOFTHSM2_CONF", conf.as_os_str()),
            ("KEYWARD_TEST_HSM_PIN", std::ffi::OsStr::new(PIN)),
        ],
    )
}

/// Runs the suite's tests of `phase` against `endpoint`.
fn suite(python: &Path, endpoint: &str, dir: &Path, phase: &str) {
    let principals = serde_json::json!({
        "admin": {"arn": ADMIN.0, "key": ADMIN.1, "secret": ADMIN.2},
    });
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/clients");
    let output = Command::new(python)
        .args(["-m", "unittest", "-v", "test_key_stores"])
        .current_dir(&folder)
        .env("KEYWARD_TEST_ENDPOINT", endpoint)
        .env("KEYWARD_TEST_REGION", "us-east-1")
        .env("KEYWARD_TEST_ACCOUNT", "111122223333")
        .env("KEYWARD_TEST_PRINCIPALS", principals.to_string())
        .env(
            "KEYWARD_TEST_AUDIT_LOG",
            dir.join("data").join("audit.jsonl"),
        )
        .env("KEYWARD_TEST_STATE", dir.join("state.json"))
        .env("KEYWARD_TEST_PHASE", phase)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stderr);
    eprintln!("{report}");
    assert!(
        output.status.success(),
        "test_key_stores ({phase}) failed:\n{report}"
    );
    assert!(
        report.contains("\nOK") && !report.contains("Ran 0 tests"),
        "{report}"
    );
}

#[test]
fn keys_in_softhsm_through_serve_with_boto3_and_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let Some((module, conf)) = softhsm(dir.path()) else {
        return;
    };
    let Some(python) = crate::instances::python() else {
        return;
    };
    let server = serve(dir.path(), &module, &conf);
    suite(
        &python,
        &format!("http://{}", server.addr()),
        dir.path(),
        "first",
    );
    // Stopped as an operator stops it, then started again on the same data and tokens.
    assert_eq!(server.stop("TERM"), 0);
    let server = serve(dir.path(), &module, &conf);
    suite(
        &python,
        &format!("http://{}", server.addr()),
        dir.path(),
        "after_restart",
    );
    assert_eq!(server.stop("TERM"), 0);
}
