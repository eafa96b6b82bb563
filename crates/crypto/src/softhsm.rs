//! SoftHSMv2 for tests and examples (feature `softhsm-fixture`): where its module is, and a
//! configuration of one's own with tokens initialised by its tool, `softhsm2-util`.
//!
//! SoftHSM reads its configuration from `SOFTHSM2_CONF` when its module is initialised, so a
//! program that uses [`configure`]'s file sets that variable in the environment of the process
//! that loads the module (a child process, or a server it starts).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where distributions put SoftHSMv2's PKCS#11 module.
const MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
];

/// SoftHSMv2's module: the path in `KEYWARD_PKCS11_MODULE`, else the first of the places
/// distributions install it that exists.
pub fn module() -> Option<PathBuf> {
    if let Some(given) = std::env::var_os("KEYWARD_PKCS11_MODULE") {
        return Some(given.into());
    }
    MODULES.iter().map(PathBuf::from).find(|p| p.exists())
}

/// The module, when SoftHSMv2 is installed: the module and its tool both found.
pub fn available() -> Option<PathBuf> {
    module().filter(|_| {
        Command::new("softhsm2-util")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// A SoftHSM configuration in `dir` (its tokens in `dir/tokens`) with `tokens` (label, user
/// PIN) initialised; the configuration file's path.
pub fn configure(dir: &Path, tokens: &[(&str, &str)]) -> Result<PathBuf, String> {
    let folder = dir.join("tokens");
    std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            folder.display()
        ),
    )
    .map_err(|e| format!("{}: {e}", conf.display()))?;
    for (label, pin) in tokens {
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", label, "--pin", pin])
            .args(["--so-pin", "so-pin-not-used"])
            .output()
            .map_err(|e| format!("softhsm2-util: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "softhsm2-util --init-token --label {label}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(conf)
}
