//! Several Regions in one service: one [`Kms`] per Region, each with its own keys, aliases and
//! ARNs, as in AWS, sharing one root key and one audit trail (each record names its Region).
//!
//! On disk, under the data directory: the default Region's store is `keys.db`, as it has
//! always been, and every other Region's is `regions/<region>/keys.db`; the root key
//! `root.key` and the audit trail are shared.

use crate::audit::{AuditSink, JsonLinesFile};
use crate::clock::{Clock, SystemClock};
use crate::error::OpenError;
use crate::operations::multi_region::RegionLinks;
use crate::service::{Kms, KmsConfig};
use crate::store::{PostgresStore, SqliteStore, Store, StoreLocation};
use keyward_crypto::RootKey;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The Regions a service serves, each its own [`Kms`].
#[derive(Debug)]
pub struct Regions {
    default: Arc<Kms>,
    by_name: BTreeMap<String, Arc<Kms>>,
}

/// Where a Region's store lives under the data directory `dir`.
pub fn store_path(dir: &Path, region: &str, default: &str) -> PathBuf {
    if region == default {
        dir.join("keys.db")
    } else {
        dir.join("regions").join(region).join("keys.db")
    }
}

impl Regions {
    /// Opens every Region of `regions` (the default, `config.region`, always among them) under
    /// `dir`: each Region's SQLite store, the shared root key `root.key` (created at first use,
    /// mode 0600) and the shared audit trail at `audit_log`; the system clock.
    pub fn open_at(
        config: &KmsConfig,
        regions: &[String],
        dir: &Path,
        audit_log: &Path,
    ) -> Result<Self, OpenError> {
        Self::open_with(config, regions, dir, audit_log, &StoreLocation::Sqlite)
    }

    /// As [`Regions::open_at`], with each Region's rows where `store` says: SQLite files under
    /// `dir`, or a PostgreSQL database (the root key is still `dir/root.key`, which every
    /// instance on the database must share).
    pub fn open_with(
        config: &KmsConfig,
        regions: &[String],
        dir: &Path,
        audit_log: &Path,
        store: &StoreLocation,
    ) -> Result<Self, OpenError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| OpenError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let root_path = dir.join("root.key");
        let mut names: Vec<String> = vec![config.region.clone()];
        for region in regions {
            if !names.contains(region) {
                names.push(region.clone());
            }
        }
        // A store without its root key cannot be unsealed: refuse, rather than make a new root
        // key that opens nothing (and would then seal new keys beside unreadable ones).
        if *store == StoreLocation::Sqlite {
            for region in &names {
                let database = store_path(dir, region, &config.region);
                if database.exists() && !root_path.exists() {
                    return Err(OpenError::MissingRootKey {
                        database: database.display().to_string(),
                        root: root_path.display().to_string(),
                    });
                }
            }
        }
        if let Some(parent) = audit_log.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let audit: Arc<dyn AuditSink> = Arc::new(
            JsonLinesFile::open_with(audit_log, config.audit_sync).map_err(io(audit_log))?,
        );
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let links = Arc::new(RegionLinks::default());
        let mut by_name = BTreeMap::new();
        let mut default = None;
        // Every Region's store first; then, when the root key is missing, every one must be
        // empty (a database's rows cannot be unsealed without the key that sealed them).
        let mut stores: Vec<(String, Box<dyn Store>)> = Vec::with_capacity(names.len());
        let mut holds_keys = false;
        for region in names {
            let opened: Box<dyn Store> = match store {
                StoreLocation::Sqlite => {
                    let database = store_path(dir, &region, &config.region);
                    if let Some(parent) = database.parent() {
                        std::fs::create_dir_all(parent).map_err(io(parent))?;
                    }
                    Box::new(SqliteStore::open(&database)?)
                }
                StoreLocation::Postgres(url) => {
                    let database = PostgresStore::connect(url, &region)?;
                    // Keys of any Region, served here or not.
                    holds_keys = holds_keys || database.holds_keys()?;
                    Box::new(database)
                }
            };
            stores.push((region, opened));
        }
        if holds_keys && !root_path.exists() {
            return Err(OpenError::MissingRootKey {
                database: store.shown(),
                root: root_path.display().to_string(),
            });
        }
        for (region, store) in stores {
            let root =
                RootKey::load_or_create(&root_path).map_err(|source| OpenError::RootKey {
                    path: root_path.display().to_string(),
                    source,
                })?;
            let mut kms = Kms::open(
                KmsConfig {
                    region: region.clone(),
                    ..config.clone()
                },
                store,
                root,
                Arc::clone(&audit),
                Arc::clone(&clock),
            )?;
            kms.links = Arc::clone(&links);
            let kms = Arc::new(kms);
            // Other instances sharing the store: follow what they change.
            kms.follow().map_err(io(dir))?;
            links.link(&region, &kms);
            if region == config.region {
                default = Some(Arc::clone(&kms));
            }
            by_name.insert(region, kms);
        }
        let default = default.ok_or_else(|| OpenError::Io {
            path: dir.display().to_string(),
            source: std::io::Error::other("the default Region was not opened"),
        })?;
        Ok(Self { default, by_name })
    }

    /// Regions made of services already open (tests, embedders with their own stores).
    /// `None` when `services` is empty or two serve the same Region; the first is the default.
    pub fn from_services(services: Vec<Kms>) -> Option<Self> {
        let links = Arc::new(RegionLinks::default());
        let mut by_name = BTreeMap::new();
        let mut default = None;
        for mut kms in services {
            kms.links = Arc::clone(&links);
            let kms = Arc::new(kms);
            // A service over a shared store serves once it follows the store's changes; a
            // thread that cannot be started leaves it refusing calls, as it says.
            let _ = kms.follow();
            links.link(kms.region(), &kms);
            default.get_or_insert_with(|| Arc::clone(&kms));
            if by_name.insert(kms.region().to_owned(), kms).is_some() {
                return None;
            }
        }
        Some(Self {
            default: default?,
            by_name,
        })
    }

    /// The service of `region`, if it is served.
    pub fn get(&self, region: &str) -> Option<&Arc<Kms>> {
        self.by_name.get(region)
    }

    /// The default Region's service.
    pub fn default_region(&self) -> &Arc<Kms> {
        &self.default
    }

    /// The Regions served, in name order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Every Region's service.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Kms>> {
        self.by_name.values()
    }

    /// Makes everything written so far durable (the shared audit trail, synced).
    pub fn flush(&self) -> std::io::Result<()> {
        for kms in self.by_name.values() {
            kms.flush()?;
        }
        Ok(())
    }
}
