//! Copr build chroot records and the counters of finished chroots per (project, status).
//!
//! Records are JSON under `build id (order-preserving big-endian) ‖ chroot`, so a reverse scan lists the
//! newest builds first (Copr's build ids only grow). They are written inside the message batch's
//! transaction ([`Store::commit`]); counters live in the shared counters tree under `copr/`.

use super::counters::CounterDeltas;
use super::pipelines::{decode, encode};
use super::{Store, StoreError, purge_where};
use crate::copr::{self, CoprBuildRecord, CoprObservation, Transition};
use crate::status::unix_now;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

type Abort = ConflictableTransactionError<StoreError>;

const COUNTER_PREFIX: &str = "copr/";

/// Big-endian with the sign bit flipped: byte order is numeric order, negative ids included.
fn record_key(build_id: i64, chroot: &str) -> Vec<u8> {
    let mut key = ((build_id as u64) ^ (1 << 63)).to_be_bytes().to_vec();
    key.extend_from_slice(chroot.as_bytes());
    key
}

fn counter_name(project: &str, status: &str) -> String {
    format!("{COUNTER_PREFIX}{project}\0{status}")
}

/// Applies one observation inside the batch transaction; returns the record when its chroot finished now.
pub(super) fn record_observation(
    builds: &TransactionalTree,
    counts: &mut CounterDeltas<'_>,
    observed: &CoprObservation,
    now: u64,
) -> Result<Option<CoprBuildRecord>, Abort> {
    let key = record_key(observed.build.build, &observed.build.chroot);
    // A record that no longer decodes is display data, not work: it is replaced rather than blocking
    // the batch (and with it every later message).
    let existing = builds
        .get(&key)?
        .and_then(|raw| decode::<CoprBuildRecord>(&raw, "copr build").ok());
    let (record, finished) = match copr::apply(existing, observed, now) {
        Transition::Unchanged => return Ok(None),
        Transition::Changed(record) => (record, false),
        Transition::Finished(record) => (record, true),
    };
    builds.insert(key, encode(&record, "copr build").map_err(Abort::Abort)?)?;
    if finished {
        counts.add(&counter_name(&record.project, &record.status), 1)?;
        return Ok(Some(record));
    }
    Ok(None)
}

impl Store {
    /// Build chroot records, newest build first (chroots of a build by name): all chroots of the newest
    /// `limit` builds, of one `owner/project` or of all.
    pub fn copr_builds(
        &self,
        project: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CoprBuildRecord>, StoreError> {
        let mut records = Vec::new();
        let mut builds = BTreeSet::new();
        for entry in self.copr_builds.iter().rev() {
            let (_, raw) = entry?;
            let Ok(record) = decode::<CoprBuildRecord>(&raw, "copr build") else {
                continue;
            };
            if project.is_some_and(|p| p != record.project) {
                continue;
            }
            if !builds.contains(&record.build_id) {
                if builds.len() == limit {
                    break;
                }
                builds.insert(record.build_id);
            }
            records.push(record);
        }
        records.sort_by(|a, b| {
            b.build_id
                .cmp(&a.build_id)
                .then_with(|| a.chroot.cmp(&b.chroot))
        });
        Ok(records)
    }

    /// Finished chroot builds per (`owner/project`, status name), since the store was created (purging
    /// records does not lower them).
    pub fn copr_counts(&self) -> Result<BTreeMap<(String, String), u64>, StoreError> {
        let mut counts = BTreeMap::new();
        for (name, value) in self.counter_map()? {
            if let Some((project, status)) = name
                .strip_prefix(COUNTER_PREFIX)
                .and_then(|name| name.split_once('\0'))
            {
                counts.insert((project.to_owned(), status.to_owned()), value);
            }
        }
        Ok(counts)
    }

    /// Forgets build chroot records unchanged for `keep`; returns how many were removed.
    pub fn purge_copr_builds(&self, keep: Duration) -> Result<usize, StoreError> {
        self.purge_copr_builds_before(unix_now().saturating_sub(keep.as_secs()))
    }

    /// Forgets build chroot records last changed before `cutoff` (Unix seconds).
    pub fn purge_copr_builds_before(&self, cutoff: u64) -> Result<usize, StoreError> {
        // A record a message changed since the scan read it stays; one that no longer decodes goes.
        purge_where(&self.copr_builds, |raw| {
            decode::<CoprBuildRecord>(raw, "copr build")
                .map_or(true, |record| record.updated_at < cutoff)
        })
    }
}
