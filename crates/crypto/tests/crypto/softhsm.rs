//! SoftHSMv2, a real software HSM from the distribution's packages, for the tests of keys in a
//! token. Each test runs in a child process of this test binary with a token directory of its
//! own: SoftHSM reads its configuration (`SOFTHSM2_CONF`) from the environment once, when the
//! module is initialised, and a process's environment is set before it starts.
//!
//! Without SoftHSM (`softhsm2-util` and its module), a test says so and passes, unless
//! `KEYWARD_REQUIRE_SOFTHSM=1` (CI, which installs it), where it fails.

use std::path::PathBuf;
use std::process::Command;

/// The variable that marks the child process.
const CHILD: &str = "KEYWARD_SOFTHSM_CHILD";

/// A token to initialise: its label, user PIN and security officer's PIN.
pub(crate) struct Token<'a> {
    pub(crate) label: &'a str,
    pub(crate) pin: &'a str,
}

/// In the parent: makes a SoftHSM configuration with `tokens` initialised, runs the test
/// `name` alone in a child process with it, checks that it passed, and returns `None`. In the
/// child: returns the module's path, for the test's body to run. `None` too, after saying so,
/// when SoftHSM is missing and not required.
pub(crate) fn in_child(name: &str, tokens: &[Token<'_>]) -> Option<PathBuf> {
    if std::env::var_os(CHILD).is_some() {
        return Some(keyward_crypto::softhsm::module().expect("the parent found the module"));
    }
    let Some(module) = keyward_crypto::softhsm::available() else {
        assert!(
            std::env::var("KEYWARD_REQUIRE_SOFTHSM").as_deref() != Ok("1"),
            "KEYWARD_REQUIRE_SOFTHSM=1 and no SoftHSMv2 (softhsm2-util and its module; .ci/run installs the package softhsm2)"
        );
        eprintln!("{name}: SoftHSMv2 is not installed; not run");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let tokens: Vec<(&str, &str)> = tokens.iter().map(|t| (t.label, t.pin)).collect();
    let conf = keyward_crypto::softhsm::configure(dir.path(), &tokens).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads", "1"])
        .env("SOFTHSM2_CONF", &conf)
        .env("KEYWARD_PKCS11_MODULE", &module)
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} in SoftHSM:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    None
}
