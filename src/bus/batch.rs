//! One batch of deliveries: decoded and committed to the store in one transaction ([`stage`]), then, once a
//! flush has made it durable, settled with the broker ([`settle`]) — rejects one by one, acknowledgements
//! with one multiple-ack for everything the flush covered.

use super::BusError;
use crate::config::Settings;
use crate::copr::{self, CoprBuildRecord};
use crate::message::{self, Incoming, incoming_from_delivery};
use crate::metrics::{MessageOutcome, Metrics};
use crate::pipeline;
use crate::status::LiveStatus;
use crate::store::{Disposition, Record, Store};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicRejectOptions};
use std::time::Duration;
use tracing::{debug, warn};

/// Counts of what was settled, for the caller's bookkeeping.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub recorded: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub acked: u64,
    /// Items queued for the pipeline engine.
    pub work_queued: u64,
}

/// What to tell the broker about one delivery once the batch is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settle {
    Ack,
    Reject,
}

/// What the store records for one message as it arrived (from a delivery, or a replayed file), and what
/// to tell the broker about it.
pub(super) fn record_of(
    incoming: Incoming<'_>,
    store: &Store,
    settings: &Settings,
) -> Result<(Record, Settle), BusError> {
    let topic_prefix = settings.bus.topic_prefix.as_str();
    let message_id = incoming.message_id;
    let routing_key = incoming.routing_key;
    let limit = usize::try_from(settings.bus.max_body_bytes).unwrap_or(usize::MAX);
    let record = match message::decode_received(incoming, topic_prefix, limit) {
        Ok(received) => {
            let work = pipeline::work::select(settings, store, &received.id, &received.event)?;
            let copr = copr::observe(
                &settings.copr,
                &received.id,
                received.sent_at.as_deref(),
                &received.event,
            );
            let record = Record::Event {
                kind: received.event.kind().to_owned(),
                summary: received.event.summary(),
                work: work.map(|w| w.encode()),
                copr: copr.map(Box::new),
                message_id: received.id,
                topic: received.topic,
                sent_at: received.sent_at,
            };
            (record, Settle::Ack)
        }
        Err(error) => {
            let topic = message::strip_topic_prefix(routing_key, topic_prefix).to_owned();
            warn!(
                message_id = crate::journal::MESSAGE_REJECTED,
                amqp_message_id = message_id.unwrap_or("-"),
                topic = %topic,
                reason = error.kind(),
                error = %error,
                "rejected message"
            );
            let settle = if error.is_ignorable() {
                Settle::Ack
            } else {
                Settle::Reject
            };
            let record = Record::Rejected {
                message_id: message_id.filter(|id| !id.is_empty()).map(str::to_owned),
                topic,
                reason: error.kind(),
            };
            (record, settle)
        }
    };
    Ok(record)
}

/// A batch committed to the store but not yet known to be durable: nothing in it is settled yet.
pub(super) struct Staged {
    deliveries: Vec<Delivery>,
    settles: Vec<Settle>,
    records: Vec<Record>,
    dispositions: Vec<Disposition>,
    copr_finished: Vec<CoprBuildRecord>,
    work_queued: u64,
}

/// Decodes a batch and commits it in one transaction, without flushing.
pub(super) fn stage(
    store: &Store,
    batch: Vec<Delivery>,
    settings: &Settings,
) -> Result<Staged, BusError> {
    let mut records = Vec::with_capacity(batch.len());
    let mut settles = Vec::with_capacity(batch.len());
    let mut work_queued = 0;
    for delivery in &batch {
        let (record, settle) = record_of(incoming_from_delivery(delivery), store, settings)?;
        if matches!(record, Record::Event { work: Some(_), .. }) {
            work_queued += 1;
        }
        records.push(record);
        settles.push(settle);
    }
    let committed = store.commit(&records)?;
    Ok(Staged {
        deliveries: batch,
        settles,
        records,
        dispositions: committed.dispositions,
        copr_finished: committed.copr_finished,
        work_queued,
    })
}

/// Settles batches that a flush made durable, in delivery order: the rejects one by one, then one
/// multiple-ack for the rest. Must not be called before that flush returned.
pub(super) async fn settle(
    durable: Vec<Staged>,
    live: &LiveStatus,
    metrics: &Metrics,
) -> Result<BatchOutcome, BusError> {
    let mut outcome = BatchOutcome::default();
    let mut last_ack = None;
    for staged in &durable {
        for record in &staged.copr_finished {
            copr::report_finished(record);
        }
        outcome.work_queued += staged.work_queued;
        let settles = staged.deliveries.iter().zip(&staged.settles);
        for ((delivery, settle), disposition) in settles.zip(&staged.dispositions) {
            match disposition {
                Disposition::Recorded => outcome.recorded += 1,
                Disposition::Duplicate => {
                    debug!(redelivered = delivery.redelivered, "duplicate message id");
                    outcome.duplicates += 1;
                }
                Disposition::Rejected => {}
            }
            match settle {
                Settle::Reject => {
                    settled(delivery.acker.reject(BasicRejectOptions { requeue: false })).await?;
                    outcome.rejected += 1;
                }
                Settle::Ack => {
                    last_ack = Some(delivery);
                    outcome.acked += 1;
                }
            }
        }
    }
    // Rejected tags are already settled and later batches are not durable yet (their tags are all higher),
    // so one multiple-ack covers exactly the rest of these batches.
    if let Some(delivery) = last_ack {
        settled(delivery.acker.ack(BasicAckOptions { multiple: true })).await?;
    }
    LiveStatus::count(&live.session.acked, outcome.acked);
    LiveStatus::count(&live.session.rejected, outcome.rejected);
    for staged in &durable {
        count_batch(metrics, &staged.records, &staged.dispositions);
    }
    Ok(outcome)
}

/// The batch in the metrics: each delivery by topic and disposition, and the lag of its newest message.
fn count_batch(metrics: &Metrics, records: &[Record], dispositions: &[Disposition]) {
    let now = std::time::SystemTime::now();
    metrics.count_batch(
        records
            .iter()
            .zip(dispositions)
            .map(|(record, disposition)| {
                let outcome = match disposition {
                    Disposition::Recorded => MessageOutcome::Recorded,
                    Disposition::Duplicate => MessageOutcome::Duplicate,
                    Disposition::Rejected => MessageOutcome::Rejected,
                };
                let (Record::Event { topic, .. } | Record::Rejected { topic, .. }) = record;
                (topic.as_str(), outcome)
            }),
        crate::status::unix_now(),
    );
    let newest_sent_at = records.iter().rev().find_map(|record| match record {
        Record::Event {
            sent_at: Some(sent_at),
            ..
        } => Some(sent_at),
        _ => None,
    });
    if let Some(sent_at) = newest_sent_at {
        metrics.observe_sent_at(sent_at, now);
    }
}

/// How long an ack or reject may take to be written. Settling is a local socket write; it only takes
/// long when the connection died under it.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Awaits an ack or reject with a deadline. A broker that stops while a settle is in flight can leave
/// lapin's promise unresolved; without the deadline the session would wait forever, still "connected".
/// The message is durable by now, so its redelivery after the reconnect is counted as a duplicate.
async fn settled(
    settle: impl std::future::Future<Output = Result<bool, lapin::Error>>,
) -> Result<(), BusError> {
    tokio::time::timeout(SETTLE_TIMEOUT, settle)
        .await
        .map_err(|_| BusError::Timeout(SETTLE_TIMEOUT))??;
    Ok(())
}
