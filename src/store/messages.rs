//! Received messages: id dedupe with retention, counters per topic and reason, and a short per-topic log.
//!
//! A batch of deliveries is written in one sled transaction, so a crash leaves either all of a batch's
//! effects or none of them; the caller flushes before acknowledging.

use super::counters::CounterDeltas;
use super::recent::{RecentBatch, RecentEvent};
use super::seen::{OUTCOME_RECORDED, OUTCOME_REJECTED, SeenTx};
use super::{Store, StoreError, unwrap_tx};
use crate::copr::{CoprBuildRecord, CoprObservation};
use crate::status::unix_now;
use serde::{Deserialize, Serialize};
use sled::Transactional;
use std::collections::BTreeMap;
use std::time::Duration;

const RECEIVED: &str = "received";
const DUPLICATES: &str = "duplicates";
const REJECTED: &str = "rejected";
const TOPIC_PREFIX: &str = "topic/";
const REASON_PREFIX: &str = "reason/";

/// One delivery's effect, as decided by the caller before it reaches the store.
#[derive(Debug, Clone)]
pub enum Record {
    /// A decoded event of a known topic.
    Event {
        message_id: String,
        topic: String,
        sent_at: Option<String>,
        kind: String,
        summary: String,
        /// Work for the pipeline engine, queued in the inbox with the message (JSON).
        work: Option<Vec<u8>>,
        /// A tracked Copr build chroot's start or end, applied to its record with the message.
        copr: Option<Box<CoprObservation>>,
    },
    /// Input that was refused; `message_id` is absent when the message had none.
    Rejected {
        message_id: Option<String>,
        topic: String,
        reason: &'static str,
    },
}

impl Record {
    fn message_id(&self) -> Option<&str> {
        match self {
            Record::Event { message_id, .. } => Some(message_id),
            Record::Rejected { message_id, .. } => message_id.as_deref(),
        }
    }
}

/// What a committed batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Committed {
    /// One per record, in order.
    pub dispositions: Vec<Disposition>,
    /// Copr build chroots that finished in this batch (each exactly once, ever).
    pub copr_finished: Vec<CoprBuildRecord>,
}

/// What the store made of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Recorded,
    Duplicate,
    Rejected,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Distinct message ids recorded as events.
    pub received: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub by_topic: BTreeMap<String, u64>,
    pub rejected_by_reason: BTreeMap<String, u64>,
}

impl Store {
    /// Records a batch in one transaction (not yet flushed) and says what became of each record.
    pub fn commit_batch(&self, records: &[Record]) -> Result<Vec<Disposition>, StoreError> {
        Ok(self.commit(records)?.dispositions)
    }

    /// [`Store::commit_batch`], also saying which Copr build chroots finished.
    pub fn commit(&self, records: &[Record]) -> Result<Committed, StoreError> {
        let received_at = unix_now();
        // Inbox keys are taken up front, one per record that carries work (sled's id generator is not part
        // of the transaction), and stay paired with their record.
        let inbox_keys = records
            .iter()
            .map(|record| match record {
                Record::Event { work: Some(_), .. } => self.db.generate_id().map(Some),
                _ => Ok(None),
            })
            .collect::<Result<Vec<Option<u64>>, sled::Error>>()?;
        let copr = &self.copr_builds;
        let result = (&self.seen, &self.counters, &self.recent, &self.inbox, copr).transaction(
            |(seen, counters, recent, inbox, copr_builds)| {
                let seen = SeenTx(seen);
                let mut counts = CounterDeltas::new(counters);
                let mut recent_events = RecentBatch::default();
                let mut dispositions = Vec::with_capacity(records.len());
                let mut copr_finished = Vec::new();
                for (record, inbox_key) in records.iter().zip(&inbox_keys) {
                    if let Some(id) = record.message_id() {
                        // A redelivery after a crash, or a republished message: already counted.
                        if seen.contains(id)? {
                            counts.add(DUPLICATES, 1)?;
                            dispositions.push(Disposition::Duplicate);
                            continue;
                        }
                    }
                    match record {
                        Record::Event {
                            message_id,
                            topic,
                            sent_at,
                            kind,
                            summary,
                            work,
                            copr,
                        } => {
                            if let (Some(work), Some(key)) = (work, inbox_key) {
                                inbox.insert(&key.to_be_bytes(), work.as_slice())?;
                            }
                            if let Some(observed) = copr {
                                copr_finished.extend(super::copr::record_observation(
                                    copr_builds,
                                    &mut counts,
                                    observed,
                                    received_at,
                                )?);
                            }
                            seen.insert(message_id, received_at, OUTCOME_RECORDED)?;
                            counts.add(RECEIVED, 1)?;
                            let seq = counts.add(&format!("{TOPIC_PREFIX}{topic}"), 1)?;
                            recent_events.push(RecentEvent {
                                seq,
                                message_id: message_id.clone(),
                                topic: topic.clone(),
                                kind: kind.clone(),
                                sent_at: sent_at.clone(),
                                received_at,
                                summary: summary.clone(),
                            });
                            dispositions.push(Disposition::Recorded);
                        }
                        Record::Rejected {
                            message_id, reason, ..
                        } => {
                            if let Some(id) = message_id {
                                seen.insert(id, received_at, OUTCOME_REJECTED)?;
                            }
                            counts.add(REJECTED, 1)?;
                            counts.add(&format!("{REASON_PREFIX}{reason}"), 1)?;
                            dispositions.push(Disposition::Rejected);
                        }
                    }
                }
                recent_events.write(recent, &mut counts)?;
                counts.write()?;
                Ok(Committed {
                    dispositions,
                    copr_finished,
                })
            },
        );
        unwrap_tx(result)
    }

    pub fn counters(&self) -> Result<Counters, StoreError> {
        let mut counters = Counters::default();
        for (name, value) in self.counter_map()? {
            if let Some(topic) = name.strip_prefix(TOPIC_PREFIX) {
                counters.by_topic.insert(topic.to_owned(), value);
            } else if let Some(reason) = name.strip_prefix(REASON_PREFIX) {
                counters.rejected_by_reason.insert(reason.to_owned(), value);
            } else {
                match name.as_str() {
                    RECEIVED => counters.received = value,
                    DUPLICATES => counters.duplicates = value,
                    REJECTED => counters.rejected = value,
                    _ => {}
                }
            }
        }
        Ok(counters)
    }

    /// Forgets message ids older than `retention`; returns how many were removed.
    pub fn purge_expired(&self, retention: Duration) -> Result<usize, StoreError> {
        self.purge_received_before(unix_now().saturating_sub(retention.as_secs()))
    }
}
