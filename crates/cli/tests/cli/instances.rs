//! Two `keyward serve` processes on one PostgreSQL database, as behind a load balancer, driven
//! by boto3 (`crates/server/tests/clients/test_instances.py`): a key made through A serves
//! through B at once; a change through A reaches B's decisions within the README's bound;
//! grant tokens work at once; conflicting writes lose nothing; and A killed with SIGKILL in a
//! stream of writes leaves everything it acknowledged, while B goes on serving
//! (`test_instance_crash.py`).
//!
//! Needs a PostgreSQL server (`KEYWARD_TEST_POSTGRES`, an admin URL: `bash .ci/postgres start`
//! prints it) and the clients' venv (`KEYWARD_CLIENTS_VENV`); without either the test says so
//! and passes, unless `.ci/run` requires them (`KEYWARD_REQUIRE_POSTGRES=1`,
//! `KEYWARD_REQUIRE_CLIENTS=1`), when it fails.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: (&str, &str, &str) = (
    "arn:aws:iam::111122223333:user/admin",
    "AKIAADMIN00000000000",
    "adminsecretadminsecretadminsecret0000000",
);
const ALICE: (&str, &str, &str) = (
    "arn:aws:iam::111122223333:user/alice",
    "AKIAALICE00000000000",
    "alicesecretalicesecretalicesecret000000",
);
const BOB: (&str, &str, &str) = (
    "arn:aws:iam::111122223333:user/bob",
    "AKIABOB0000000000000",
    "bobsecretbobsecretbobsecretbobsecret0000",
);

/// A database of the test's own, dropped after.
struct Database {
    admin: String,
    name: String,
}

fn admin_sql(admin: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
    });
}

impl Database {
    fn create() -> Option<Self> {
        let Ok(admin) = std::env::var("KEYWARD_TEST_POSTGRES") else {
            assert!(
                std::env::var("KEYWARD_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "KEYWARD_REQUIRE_POSTGRES=1 and no KEYWARD_TEST_POSTGRES (see .ci/postgres)"
            );
            eprintln!("SKIPPED: no PostgreSQL (KEYWARD_TEST_POSTGRES unset; see .ci/postgres)");
            return None;
        };
        // One database per test, whatever tests run at once in this process.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("keyward_instances_{}_{n}", std::process::id());
        admin_sql(&admin, &format!("CREATE DATABASE {name}"));
        Some(Self { admin, name })
    }

    fn url(&self) -> String {
        let (server, _) = self.admin.rsplit_once('/').unwrap();
        format!("{server}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        admin_sql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// The clients' venv's python (`KEYWARD_CLIENTS_VENV`), or `None` after saying so when it
/// is not required.
pub(crate) fn python() -> Option<PathBuf> {
    let found = std::env::var_os("KEYWARD_CLIENTS_VENV")
        .map(|v| PathBuf::from(v).join("bin").join("python"))
        .filter(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("KEYWARD_REQUIRE_CLIENTS").as_deref() != Ok("1"),
            "KEYWARD_REQUIRE_CLIENTS=1 but no python in KEYWARD_CLIENTS_VENV (.ci/run installs it)"
        );
        eprintln!("SKIPPED: set KEYWARD_CLIENTS_VENV to a venv with boto3 (see .ci/run)");
    }
    found
}

/// A `keyward serve` process.
struct Instance {
    child: Child,
    endpoint: String,
}

impl Instance {
    /// Starts `keyward serve` with its config in `dir`, on `database`, named `name`.
    fn start(dir: &Path, database: &str, name: &str) -> Self {
        Self::start_with(dir, database, name, "", &[])
    }

    /// [`Instance::start`], with `extra` top-level settings in its config and `env` in its
    /// environment.
    fn start_with(
        dir: &Path,
        database: &str,
        name: &str,
        extra: &str,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Self {
        let principal = |(arn, key, secret): (&str, &str, &str), policies: &str| {
            format!(
                "[[principals]]\narn = \"{arn}\"\naccess_key_id = \"{key}\"\nsecret_access_key = \"{secret}\"\n{policies}\n"
            )
        };
        let config = format!(
            "region = \"us-east-1\"\naccount = \"111122223333\"\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nstore = \"{database}\"\ninstance = \"{name}\"\n{extra}\n\n{}{}{}",
            dir.display(),
            principal(
                ADMIN,
                r#"identity_policies = ['{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}']"#
            ),
            principal(ALICE, ""),
            principal(
                BOB,
                r#"identity_policies = ['{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}']"#
            ),
        );
        let path = dir.join("keyward.toml");
        std::fs::write(&path, config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["serve", "--config", path.to_str().unwrap()])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let endpoint = first
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("instance {name} did not start: {first:?}"))
            .to_owned();
        Self { child, endpoint }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the boto3 suite `suite` against instances `a` and `b`.
fn run_suite(python: &Path, suite: &str, a: &Instance, b: &Instance) {
    let principals = serde_json::json!({
        "admin": {"arn": ADMIN.0, "key": ADMIN.1, "secret": ADMIN.2},
        "alice": {"arn": ALICE.0, "key": ALICE.1, "secret": ALICE.2},
        "bob": {"arn": BOB.0, "key": BOB.1, "secret": BOB.2},
    });
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/clients");
    let output = Command::new(python)
        .args(["-m", "unittest", "-v", suite])
        .current_dir(&folder)
        .env("KEYWARD_TEST_ENDPOINT", &a.endpoint)
        .env("KEYWARD_TEST_ENDPOINT_B", &b.endpoint)
        .env("KEYWARD_TEST_PID_A", a.child.id().to_string())
        .env("KEYWARD_TEST_REGION", "us-east-1")
        .env("KEYWARD_TEST_ACCOUNT", "111122223333")
        .env("KEYWARD_TEST_PRINCIPALS", principals.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stderr);
    eprintln!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{report}");
    assert!(output.status.success(), "{suite} failed:\n{report}");
    assert!(
        report.contains("\nOK") && !report.contains("Ran 0 tests"),
        "{report}"
    );
}

#[test]
fn two_serve_processes_on_one_database_agree_and_survive_one_killed() {
    let Some(database) = Database::create() else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = Instance::start(dir_a.path(), &database.url(), "a");
    // Every instance shares the root key.
    std::fs::copy(dir_a.path().join("root.key"), dir_b.path().join("root.key")).unwrap();
    let b = Instance::start(dir_b.path(), &database.url(), "b");
    run_suite(&python, "test_instances", &a, &b);
    run_suite(&python, "test_instance_crash", &a, &b);
    // The suite killed A with SIGKILL.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = a.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "A is still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    // Each instance's audit trail names it.
    let trail = std::fs::read_to_string(dir_b.path().join("audit.jsonl")).unwrap();
    assert!(
        trail.contains(r#""instance":"b""#),
        "{}",
        &trail[..trail.len().min(400)]
    );
}

/// `audit = "postgres"`: a call whose record the database's audit table refuses still
/// answers, its record is in the audit log file, and stderr says so (once for the first, not
/// for every call after).
#[test]
fn an_audit_record_the_table_refuses_is_said_on_stderr_and_kept_in_the_file() {
    let Some(database) = Database::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "region = \"us-east-1\"\naccount = \"111122223333\"\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nstore = \"{}\"\naudit = \"postgres\"\naudit_sync = \"per-request\"\n\n[[principals]]\narn = \"{}\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\nidentity_policies = ['{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"kms:*\",\"Resource\":\"*\"}}]}}']\n",
        dir.path().display(),
        database.url(),
        ADMIN.0,
        ADMIN.1,
        ADMIN.2,
    );
    let path = dir.path().join("keyward.toml");
    std::fs::write(&path, config).unwrap();
    let mut server = crate::serve::start(dir.path(), &["--config", path.to_str().unwrap()]);
    let addr = server.addr();
    assert_eq!(crate::serve::list_keys(addr, ADMIN.1, ADMIN.2).0, 200);
    admin_sql(&database.url(), "ALTER TABLE audit RENAME TO audit_moved");
    for _ in 0..3 {
        assert_eq!(crate::serve::list_keys(addr, ADMIN.1, ADMIN.2).0, 200);
    }
    // Killed, not stopped: with `audit_sync = "per-request"` every answered call's record is
    // in the file all the same.
    let _ = server.child.kill();
    let _ = server.child.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut server.child.stderr.take().unwrap(), &mut stderr).unwrap();
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("audit table"))
        .collect();
    // The first failure, then the second (a doubling); not the third.
    assert_eq!(said.len(), 2, "{stderr}");
    assert!(
        said[0].contains("1 audit record(s) of Region us-east-1"),
        "{stderr}"
    );
    let trail = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert_eq!(trail.matches("\"ListKeys\"").count(), 4, "{trail}");
}

/// A custom key store registered through instance A is seen through B (its row read again on
/// a miss), and a key made in it through A serves through B
/// (`crates/server/tests/clients/test_key_store_instances.py`). Needs PostgreSQL, the clients
/// and SoftHSMv2.
#[test]
fn a_key_store_registered_through_one_instance_serves_through_the_other() {
    let Some(database) = Database::create() else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    let Some(module) = keyward_crypto::softhsm::available() else {
        assert!(
            std::env::var("KEYWARD_REQUIRE_SOFTHSM").as_deref() != Ok("1"),
            "KEYWARD_REQUIRE_SOFTHSM=1 and no SoftHSMv2 (.ci/run installs the package softhsm2)"
        );
        eprintln!("SKIPPED: no SoftHSMv2 (the package softhsm2)");
        return;
    };
    let hsm = tempfile::tempdir().unwrap();
    let conf =
        keyward_crypto::softhsm::configure(hsm.path(), &[("shared", "shared-pin-123")]).unwrap();
    let extra = format!("pkcs11_module = \"{}\"", module.display());
    let env = [("SOFTHSM2_CONF", conf.as_os_str())];
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Instance::start_with(dir_a.path(), &database.url(), "a", &extra, &env);
    std::fs::copy(dir_a.path().join("root.key"), dir_b.path().join("root.key")).unwrap();
    let b = Instance::start_with(dir_b.path(), &database.url(), "b", &extra, &env);
    run_suite(&python, "test_key_store_instances", &a, &b);
}
