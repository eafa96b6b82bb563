//! `keyward serve`: the KMS-compatible endpoint (crates/server/CONFIG.md). The first line
//! on stdout is `listening on http://HOST:PORT` once connections are accepted; SIGTERM or
//! SIGINT stops it gracefully with exit 0. A config error exits 2, naming the file, the field
//! and what is wrong.

use super::Outcome;
use keyward_server::{Limits, Overrides, Server, ServerConfig, stop_signal};
use std::io::Write;
use std::path::PathBuf;

/// Serve until stopped.
pub(crate) fn run(
    config: Option<PathBuf>,
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    seed: Option<PathBuf>,
    store: Option<String>,
) -> Outcome {
    let overrides = Overrides {
        listen,
        data_dir,
        seed,
        store,
    };
    let loaded = match &config {
        Some(path) => ServerConfig::load(path, &overrides),
        None => ServerConfig::generated(&overrides),
    };
    let config = match loaded {
        Ok(config) => config,
        Err(e) => {
            crate::out::eprintln(&format!("error: {e}"));
            return Outcome::Error;
        }
    };
    if config.enforcement == keyward_server::Enforcement::Report {
        // The first line on stderr: nobody should run report mode without knowing it.
        crate::out::eprintln(
            "keyward serve: REPORT MODE: denials are recorded in the audit log (\"enforced\": false) and NOT enforced; every call proceeds",
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            crate::out::eprintln(&format!("error: starting the runtime: {e}"));
            return Outcome::Error;
        }
    };
    runtime.block_on(serve(config))
}

async fn serve(config: ServerConfig) -> Outcome {
    let server = match Server::bind(&config, Limits::default()).await {
        Ok(server) => server,
        Err(e) => {
            crate::out::eprintln(&format!("error: {e}"));
            return Outcome::Error;
        }
    };
    let addr = match server.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            crate::out::eprintln(&format!("error: {e}"));
            return Outcome::Error;
        }
    };
    // The handlers are in place before the address is announced: a signal sent as soon as the
    // first line is read stops the server gracefully.
    let stop = match stop_signal() {
        Ok(stop) => stop,
        Err(e) => {
            crate::out::eprintln(&format!("error: registering the stop signals: {e}"));
            return Outcome::Error;
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}");
    if let Some(admin) = config.principals.first().filter(|_| config.generated_admin) {
        // Shown once, never stored: CONFIG.md's first-run identity.
        let _ = writeln!(
            out,
            "no config file: generated admin identity (shown once, not stored)\n  principal:         {}\n  access key id:     {}\n  secret access key: {}\n  region:            {}\nexport AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_DEFAULT_REGION={}",
            admin.arn,
            admin.access_key_id,
            admin.secret_access_key.as_str(),
            config.region,
            admin.access_key_id,
            admin.secret_access_key.as_str(),
            config.region,
        );
    }
    let _ = out.flush();
    drop(out);
    crate::out::eprintln(&format!(
        "keyward serve: region {}, account {}, data in {}, audit log {}, {} principal(s)",
        config.regions.join(", "),
        config.account,
        config.data_dir.display(),
        config.audit_log.display(),
        config.principals.len()
    ));
    if let Some(seed) = &config.seed {
        let created = server
            .seeded()
            .iter()
            .filter(|s| **s == keyward_server::seed::Seeded::Created)
            .count();
        crate::out::eprintln(&format!(
            "keyward serve: seeded {} key(s) from {}: {created} created, {} already there",
            seed.keys.len(),
            seed.file,
            seed.keys.len() - created
        ));
    }
    match server.run(stop).await {
        Ok(()) => {
            crate::out::eprintln("keyward serve: stopped");
            Outcome::Success
        }
        Err(e) => {
            crate::out::eprintln(&format!("error: {e}"));
            Outcome::Error
        }
    }
}
