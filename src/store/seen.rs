//! The dedupe set: every message id recorded or rejected within the retention window, and when.
//!
//! Ids are grouped into 65,536 buckets by the top 16 bits of their FNV-1a hash, one sled value per bucket.
//! sled holds a few hundred bytes of memory per key for as long as the process runs, whatever its cache
//! size, so one key per id (schema 2 and before) made the daemon grow with the retention window (81 MiB
//! after a 200,000-message backlog); buckets bound the number of keys. An entry is
//! `u16 id length, id, u64 received_at, u8 outcome`, big-endian. Ids are compared in full: a hash
//! collision makes a bucket longer, never a false duplicate.

use super::{Store, StoreError, unwrap_tx};
use crate::config::fnv1a_64;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

type Abort = ConflictableTransactionError<StoreError>;

pub(super) const OUTCOME_RECORDED: u8 = 1;
pub(super) const OUTCOME_REJECTED: u8 = 2;

/// Legacy entries moved per transaction when an older store is opened.
const FOLD_CHUNK: usize = 1000;

fn bucket_key(message_id: &[u8]) -> [u8; 2] {
    // The top 16 bits: a u16 by construction.
    ((fnv1a_64(message_id) >> 48) as u16).to_be_bytes()
}

struct Entry<'a> {
    id: &'a [u8],
    received_at: u64,
}

/// The entries of a bucket value; a damaged tail is ignored (the ids in it are forgotten early).
fn entries(mut raw: &[u8]) -> impl Iterator<Item = (Entry<'_>, &[u8])> {
    std::iter::from_fn(move || {
        let start = raw;
        let (len, rest) = raw.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        let id = rest.get(..len)?;
        let (received_at, rest) = rest.get(len..)?.split_first_chunk::<8>()?;
        let rest = rest.get(1..)?;
        raw = rest;
        let whole = &start[..start.len() - rest.len()];
        Some((
            Entry {
                id,
                received_at: u64::from_be_bytes(*received_at),
            },
            whole,
        ))
    })
}

fn contains(bucket: &[u8], message_id: &[u8]) -> bool {
    entries(bucket).any(|(entry, _)| entry.id == message_id)
}

fn append(bucket: &mut Vec<u8>, message_id: &[u8], received_at: u64, outcome: u8) {
    // Ids come from the bus (AMQP short strings: at most 255 bytes) or a replayed file; cut at 64 KiB.
    let id = &message_id[..message_id.len().min(usize::from(u16::MAX))];
    bucket.extend_from_slice(&(id.len() as u16).to_be_bytes());
    bucket.extend_from_slice(id);
    bucket.extend_from_slice(&received_at.to_be_bytes());
    bucket.push(outcome);
}

/// The dedupe set inside a transaction; a bucket written earlier in the same transaction is seen.
pub(super) struct SeenTx<'t>(pub(super) &'t TransactionalTree);

impl SeenTx<'_> {
    pub(super) fn contains(&self, message_id: &str) -> Result<bool, Abort> {
        let id = message_id.as_bytes();
        Ok(self
            .0
            .get(bucket_key(id))?
            .is_some_and(|bucket| contains(&bucket, id)))
    }

    pub(super) fn insert(
        &self,
        message_id: &str,
        received_at: u64,
        outcome: u8,
    ) -> Result<(), Abort> {
        let id = message_id.as_bytes();
        let key = bucket_key(id);
        let mut bucket = self.0.get(key)?.map(|b| b.to_vec()).unwrap_or_default();
        append(&mut bucket, id, received_at, outcome);
        self.0.insert(&key, bucket)?;
        Ok(())
    }
}

impl Store {
    /// Whether a message id is remembered (recorded or rejected) within the retention window.
    pub fn has_seen(&self, message_id: &str) -> Result<bool, StoreError> {
        let id = message_id.as_bytes();
        Ok(self
            .seen
            .get(bucket_key(id))?
            .is_some_and(|bucket| contains(&bucket, id)))
    }

    /// Forgets message ids received before `cutoff` (Unix seconds); returns how many.
    ///
    /// A scan of every bucket: an hourly walk over a week of ids is cheaper overall than keeping a time
    /// index, which would cost an extra update on the consume path for every message.
    pub fn purge_received_before(&self, cutoff: u64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.seen.iter() {
            let (key, _) = entry?;
            // Retried when the consume path changed the bucket between the read and the write.
            loop {
                let Some(current) = self.seen.get(&key)? else {
                    break;
                };
                let mut kept = Vec::with_capacity(current.len());
                let mut dropped = 0;
                for (entry, whole) in entries(&current) {
                    if entry.received_at < cutoff {
                        dropped += 1;
                    } else {
                        kept.extend_from_slice(whole);
                    }
                }
                if dropped == 0 {
                    break;
                }
                let new = (!kept.is_empty()).then_some(kept);
                if self
                    .seen
                    .compare_and_swap(&key, Some(&current), new)?
                    .is_ok()
                {
                    removed += dropped;
                    break;
                }
            }
        }
        Ok(removed)
    }

    /// Moves the one-key-per-id entries of schema 2 and before (`seen` tree: id → `u64 received_at,
    /// u8 outcome`) into buckets, a chunk per transaction, so an interrupted move resumes on the next open.
    pub(super) fn fold_legacy_seen(&self) -> Result<(), StoreError> {
        loop {
            let chunk: Vec<(sled::IVec, sled::IVec)> = self
                .legacy_seen
                .iter()
                .take(FOLD_CHUNK)
                .collect::<Result<_, _>>()?;
            if chunk.is_empty() {
                return Ok(());
            }
            let result = (&self.seen, &self.legacy_seen).transaction(|(seen, legacy)| {
                let seen = SeenTx(seen);
                for (id, value) in &chunk {
                    let received_at = value
                        .get(..8)
                        .and_then(|raw| <[u8; 8]>::try_from(raw).ok())
                        .map_or(0, u64::from_be_bytes);
                    let outcome = value.get(8).copied().unwrap_or(OUTCOME_RECORDED);
                    let text = String::from_utf8_lossy(id);
                    if !seen.contains(&text)? {
                        seen.insert(&text, received_at, outcome)?;
                    }
                    legacy.remove(id)?;
                }
                Ok(())
            });
            unwrap_tx(result)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_its_ids_in_full_and_stops_at_a_damaged_tail() {
        let mut bucket = Vec::new();
        append(&mut bucket, b"first", 10, OUTCOME_RECORDED);
        append(&mut bucket, b"", 11, OUTCOME_REJECTED);
        append(&mut bucket, b"third", 12, OUTCOME_RECORDED);
        assert!(
            contains(&bucket, b"first") && contains(&bucket, b"") && contains(&bucket, b"third")
        );
        assert!(!contains(&bucket, b"firs"), "a prefix is not the id");
        let whole: Vec<u8> = entries(&bucket).flat_map(|(_, w)| w.to_vec()).collect();
        assert_eq!(whole, bucket, "the entries cover the value exactly");
        let cut = &bucket[..bucket.len() - 1];
        assert_eq!(entries(cut).count(), 2);
        assert!(!contains(cut, b"third"));
    }
}
