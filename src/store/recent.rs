//! The last events of each topic, for status displays.
//!
//! A batch writes one value per topic it touched (a chunk: that topic's events of the batch, oldest
//! first) into a ring of [`RECENT_PER_TOPIC`] chunk slots per topic, rather than one value per event: the
//! consume path pays a tree update per topic and batch, not per message. Readers keep the newest
//! [`RECENT_PER_TOPIC`] events of each topic, as many as a ring of single events held. Stores from before
//! chunks hold single events in the same slots; both decode.

use super::counters::CounterDeltas;
use super::{RECENT_PER_TOPIC, Store, StoreError};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use std::collections::BTreeMap;

type Abort = ConflictableTransactionError<StoreError>;

/// Counter `recent_chunk/<topic>`: chunks written for the topic, which picks the next slot.
const CHUNK_COUNTER_PREFIX: &str = "recent_chunk/";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentEvent {
    /// Position in its topic's stream (1 = first ever); orders the ring buffer.
    pub seq: u64,
    pub message_id: String,
    pub topic: String,
    pub kind: String,
    pub sent_at: Option<String>,
    pub received_at: u64,
    pub summary: String,
}

/// A slot's value: a chunk, or one event (stores from before chunks).
#[derive(Deserialize)]
#[serde(untagged)]
enum Slot {
    Chunk(Vec<RecentEvent>),
    Single(RecentEvent),
}

fn slot_key(topic: &str, slot: u64) -> Vec<u8> {
    let mut key = topic.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&slot.to_be_bytes());
    key
}

/// The events of one transaction, by topic, written as one chunk per topic at the end.
#[derive(Default)]
pub(super) struct RecentBatch {
    /// Few topics per batch: a list beats a map.
    by_topic: Vec<(String, Vec<RecentEvent>)>,
}

impl RecentBatch {
    pub(super) fn push(&mut self, event: RecentEvent) {
        match self.by_topic.iter_mut().find(|(t, _)| *t == event.topic) {
            Some((_, events)) => events.push(event),
            None => self.by_topic.push((event.topic.clone(), vec![event])),
        }
    }

    pub(super) fn write(
        self,
        tree: &TransactionalTree,
        counts: &mut CounterDeltas<'_>,
    ) -> Result<(), Abort> {
        let keep = usize::try_from(RECENT_PER_TOPIC).unwrap_or(usize::MAX);
        for (topic, mut events) in self.by_topic {
            events.drain(..events.len().saturating_sub(keep));
            let chunk = counts.add(&format!("{CHUNK_COUNTER_PREFIX}{topic}"), 1)?;
            let encoded = serde_json::to_vec(&events).map_err(|e| {
                Abort::Abort(StoreError::Corrupt {
                    dir: Default::default(),
                    what: format!("cannot encode recent events: {e}"),
                })
            })?;
            tree.insert(slot_key(&topic, chunk % RECENT_PER_TOPIC), encoded)?;
        }
        Ok(())
    }
}

impl Store {
    /// The most recent events of every topic (at most [`RECENT_PER_TOPIC`] each), newest first.
    pub fn recent_events(&self, limit: usize) -> Result<Vec<RecentEvent>, StoreError> {
        let mut by_topic: BTreeMap<String, Vec<RecentEvent>> = BTreeMap::new();
        for entry in self.recent.iter() {
            let (_, value) = entry?;
            // A value that does not decode is skipped: it is display data, not work.
            let events = match serde_json::from_slice::<Slot>(&value) {
                Ok(Slot::Chunk(events)) => events,
                Ok(Slot::Single(event)) => vec![event],
                Err(_) => continue,
            };
            for event in events {
                by_topic.entry(event.topic.clone()).or_default().push(event);
            }
        }
        let keep = usize::try_from(RECENT_PER_TOPIC).unwrap_or(usize::MAX);
        let mut events = Vec::new();
        for (_, mut topic_events) in by_topic {
            topic_events.sort_by_key(|e| std::cmp::Reverse(e.seq));
            topic_events.truncate(keep);
            events.extend(topic_events);
        }
        events.sort_by_key(|e| std::cmp::Reverse((e.received_at, e.seq)));
        events.truncate(limit);
        Ok(events)
    }
}
