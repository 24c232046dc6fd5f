//! The durable state: the only module that touches sled.
//!
//! A state directory holds one sled database and a lock file. The lock makes a second fedflow on the same
//! directory fail at once with a clear error instead of sled's generic one. The database carries a schema
//! version; a store written by a newer fedflow is refused rather than misread.

mod copr;
mod counters;
mod messages;
mod pipelines;
mod recent;
mod seen;

pub use messages::{Committed, Counters, Disposition, Record};
pub use pipelines::Created;
pub use recent::RecentEvent;

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Version of the on-disk layout written by this build.
/// 2: counters in one value (see `counters.rs`); 3: message ids in buckets (see `seen.rs`).
pub const SCHEMA_VERSION: u32 = 3;
/// Events kept per topic for status displays.
pub const RECENT_PER_TOPIC: u64 = 20;

const SCHEMA_KEY: &[u8] = b"schema_version";
const QUEUE_KEY: &[u8] = b"queue_name";
const BINDINGS_KEY: &[u8] = b"bindings";
const HEALTH_PROBE_KEY: &[u8] = b"health_probe";
const SHARD_KEY: &[u8] = b"shard";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "state directory {dir} is in use by another fedflow process (lock {lock} is held); stop it first or use another state directory"
    )]
    Locked { dir: PathBuf, lock: PathBuf },
    #[error(
        "store in {dir} has schema version {found}, newer than this fedflow understands ({supported}); upgrade fedflow or use another state directory"
    )]
    NewerSchema {
        dir: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("store in {dir} is damaged: {what}")]
    Corrupt { dir: PathBuf, what: String },
    #[error("cannot prepare state directory {dir}: {source}")]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
}

impl StoreError {
    /// A stable label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Locked { .. } => "locked",
            StoreError::NewerSchema { .. } => "newer_schema",
            StoreError::Corrupt { .. } => "corrupt",
            StoreError::Io { .. } => "io",
            StoreError::Sled(_) => "sled",
        }
    }
}

pub struct Store {
    dir: PathBuf,
    db: sled::Db,
    meta: sled::Tree,
    /// Message id buckets (see `seen.rs`).
    seen: sled::Tree,
    /// One key per message id, as schema 2 and before kept them; emptied into `seen` on open.
    legacy_seen: sled::Tree,
    counters: sled::Tree,
    recent: sled::Tree,
    inbox: sled::Tree,
    pipelines: sled::Tree,
    /// `push\0<key>`, `task\0<id>`, `source\0<url>\0<target>` → pipeline id.
    pipeline_index: sled::Tree,
    pipeline_active: sled::Tree,
    builds: sled::Tree,
    cache: sled::Tree,
    /// Copr build chroot records (see `copr.rs`).
    copr_builds: sled::Tree,
    // Held for the life of the store: dropping it releases the directory for the next process.
    _lock: File,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, taking the directory's lock first.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let io = |source| StoreError::Io {
            dir: dir.to_owned(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
        let lock_path = dir.join("fedflow.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    dir: dir.to_owned(),
                    lock: lock_path,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }

        let db = open_db(&dir.join("db"))?;
        let store = Store {
            dir: dir.to_owned(),
            meta: db.open_tree("meta")?,
            seen: db.open_tree("seen_buckets")?,
            legacy_seen: db.open_tree("seen")?,
            counters: db.open_tree("counters")?,
            recent: db.open_tree("recent")?,
            inbox: db.open_tree("inbox")?,
            pipelines: db.open_tree("pipelines")?,
            pipeline_index: db.open_tree("pipeline_index")?,
            pipeline_active: db.open_tree("pipeline_active")?,
            builds: db.open_tree("builds")?,
            cache: db.open_tree("cache")?,
            copr_builds: db.open_tree("copr_builds")?,
            db,
            _lock: lock,
        };
        let version = store.check_schema()?;
        if version < 2 {
            store.fold_legacy_counters()?;
        }
        if version < 3 {
            store.fold_legacy_seen()?;
        }
        if version < SCHEMA_VERSION {
            store.set_schema_version()?;
        }
        store.index_pipeline_states()?;
        Ok(store)
    }

    /// Like [`Store::open`], but waits up to `patience` while another process holds the lock: a
    /// `fedflow status` reading the store offline holds it for milliseconds, a running daemon for good.
    pub fn open_waiting(dir: &Path, patience: std::time::Duration) -> Result<Store, StoreError> {
        let deadline = std::time::Instant::now() + patience;
        loop {
            match Store::open(dir) {
                Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    /// The store's schema version (a new store gets this build's); refuses a newer one.
    fn check_schema(&self) -> Result<u32, StoreError> {
        match self.meta.get(SCHEMA_KEY)? {
            None => {
                self.set_schema_version()?;
                Ok(SCHEMA_VERSION)
            }
            Some(raw) => {
                let found = <[u8; 4]>::try_from(raw.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| self.corrupt("schema version is not a 4-byte integer"))?;
                if found > SCHEMA_VERSION {
                    Err(StoreError::NewerSchema {
                        dir: self.dir.clone(),
                        found,
                        supported: SCHEMA_VERSION,
                    })
                } else {
                    Ok(found)
                }
            }
        }
    }

    /// Marks the store as written by this build, once its migrations are done.
    fn set_schema_version(&self) -> Result<(), StoreError> {
        self.meta
            .insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    fn corrupt(&self, what: &str) -> StoreError {
        StoreError::Corrupt {
            dir: self.dir.clone(),
            what: what.to_owned(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The queue to consume from: the configured name, else a UUID generated once and kept, so a restart
    /// re-attaches to the messages that waited for us.
    pub fn queue_name(&self, configured: Option<&str>) -> Result<String, StoreError> {
        if let Some(name) = configured {
            return Ok(name.to_owned());
        }
        if let Some(raw) = self.meta.get(QUEUE_KEY)? {
            return String::from_utf8(raw.to_vec())
                .map_err(|_| self.corrupt("queue name is not UTF-8"));
        }
        let name = uuid::Uuid::new_v4().to_string();
        self.meta.insert(QUEUE_KEY, name.as_bytes())?;
        self.db.flush()?;
        Ok(name)
    }

    /// Keeps `shard` (`bus.shard` as `"i/N"`) as the one this store runs under now; returns the one the
    /// previous start ran under (`None` for a store that never recorded one: before sharding, `0/1`).
    pub fn replace_shard(&self, shard: &str) -> Result<Option<String>, StoreError> {
        let previous = self.meta.insert(SHARD_KEY, shard.as_bytes())?;
        previous
            .map(|raw| {
                String::from_utf8(raw.to_vec()).map_err(|_| self.corrupt("shard is not UTF-8"))
            })
            .transpose()
    }

    /// Routing keys bound by the last session, so that keys dropped from the configuration can be unbound
    /// even when the change happened while fedflow was stopped.
    pub fn bindings(&self) -> Result<BTreeSet<String>, StoreError> {
        match self.meta.get(BINDINGS_KEY)? {
            None => Ok(BTreeSet::new()),
            Some(raw) => serde_json::from_slice(&raw)
                .map_err(|_| self.corrupt("bindings are not a JSON list")),
        }
    }

    pub fn set_bindings(&self, keys: &BTreeSet<String>) -> Result<(), StoreError> {
        let raw = serde_json::to_vec(keys).map_err(|_| self.corrupt("cannot encode bindings"))?;
        self.meta.insert(BINDINGS_KEY, raw)?;
        Ok(())
    }

    /// Makes everything written so far durable.
    ///
    /// sled's own `flush_async` is not used: in sled 0.34 two of them polled at about the same time can
    /// both wait forever (spacejam/sled#1308, fixed only after the last release), and the consume loop,
    /// the pipeline steps and the health probe all flush. The blocking flush is safe to call concurrently.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let db = self.db.clone();
        match tokio::task::spawn_blocking(move || db.flush()).await {
            Ok(flushed) => {
                flushed?;
                Ok(())
            }
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            // Only a runtime that is shutting down cancels a blocking task.
            Err(_) => Err(StoreError::Sled(sled::Error::Io(std::io::Error::other(
                "flush cancelled: the runtime is shutting down",
            )))),
        }
    }

    /// Writes a marker and flushes it: the store still accepts durable writes (a full disk, a file system
    /// remounted read-only or a dying sled fail here).
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        let now = crate::status::unix_now();
        self.meta.insert(HEALTH_PROBE_KEY, &now.to_be_bytes())?;
        self.flush().await
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}

/// A transaction's result, with sled's storage errors and our aborts as one error type.
fn unwrap_tx<T>(
    result: Result<T, sled::transaction::TransactionError<StoreError>>,
) -> Result<T, StoreError> {
    result.map_err(|e| match e {
        sled::transaction::TransactionError::Abort(e) => e,
        sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
    })
}

/// Removes the entries of `tree` whose value `stale` picks; returns how many. Each removal is a
/// compare-and-swap against the value the scan read, so an entry rewritten meanwhile stays.
fn purge_where(tree: &sled::Tree, stale: impl Fn(&[u8]) -> bool) -> Result<usize, StoreError> {
    let mut removed = 0;
    for entry in tree.iter() {
        let (key, value) = entry?;
        if stale(&value)
            && tree
                .compare_and_swap(&key, Some(&value), None as Option<&[u8]>)?
                .is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Opens the sled database. Holding `fedflow.lock` means no other process uses it, but a `Store` of this
/// process that was just dropped may still have sled's flusher thread holding the database's own file
/// lock for a moment: wait for it rather than fail.
fn open_db(path: &Path) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match sled::Config::new().path(path).open() {
            Err(sled::Error::Io(e))
                // sled reports its lock conflict as ErrorKind::Other with this text.
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod copr_tests;

#[cfg(test)]
mod stress_tests;

#[cfg(test)]
mod migration_tests;
