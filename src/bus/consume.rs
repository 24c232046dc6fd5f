//! The consume loop: deliveries are decoded, committed to the store in batches, flushed, and only then
//! settled with the broker — rejects one by one, acknowledgements with one multiple-ack per batch.

use super::session::{self, Session};
use super::{Bus, BusError, SessionEnd};
use crate::config::Settings;
use crate::copr;
use crate::message::{self, Incoming, incoming_from_delivery};
use crate::metrics::{MessageOutcome, Metrics};
use crate::pipeline;
use crate::status::LiveStatus;
use crate::store::{Disposition, Record, Store};
use futures_lite::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicQosOptions, BasicRejectOptions};
use std::collections::BTreeSet;
use std::time::Duration;
use tracing::{debug, info, warn};

/// Counts of one batch, for the caller's bookkeeping.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub recorded: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub acked: u64,
    /// Items queued for the pipeline engine.
    pub work_queued: u64,
}

pub(super) async fn run(
    bus: &mut Bus,
    session: Session,
    mut bound: BTreeSet<String>,
) -> Result<SessionEnd, BusError> {
    let Session {
        connection,
        channel,
        mut consumer,
    } = session;
    let mut prefetch = bus.settings.borrow().bus.prefetch;
    loop {
        let first = tokio::select! {
            biased;
            _ = bus.shutdown.changed() => break,
            changed = bus.settings.changed() => {
                if changed.is_ok() {
                    let settings = bus.settings.borrow_and_update().clone();
                    apply_runtime_settings(&bus.store, &channel, &bus.live.queue, &mut bound, &mut prefetch, &settings).await?;
                }
                continue;
            }
            next = consumer.next() => match next {
                None => return Err(BusError::ConsumerClosed),
                Some(delivery) => delivery?,
            },
        };
        // Take whatever else has already arrived, without waiting: batching comes from load, not from delay.
        let mut batch = vec![first];
        let mut pending_error = None;
        // Half the prefetch at most: the broker keeps delivering the other half while this batch is stored.
        let max_batch = usize::from(prefetch / 2).max(1);
        while batch.len() < max_batch {
            match futures_lite::future::poll_once(consumer.next()).await {
                Some(Some(Ok(delivery))) => batch.push(delivery),
                Some(Some(Err(e))) => {
                    pending_error = Some(e);
                    break;
                }
                Some(None) | None => break,
            }
        }
        let settings = bus.settings.borrow().clone();
        let outcome = process_batch(&bus.store, &bus.live, &bus.metrics, &batch, &settings).await?;
        if outcome.work_queued > 0 {
            bus.work_ready.notify_one();
        }
        if let Some(e) = pending_error {
            return Err(e.into());
        }
    }
    // Shutdown: nothing is in flight here. Deliveries prefetched but not processed return to the queue
    // when the channel closes.
    info!("stopping consumer");
    let tag = consumer.tag();
    let _ = channel
        .basic_cancel(tag, BasicCancelOptions::default())
        .await;
    let _ = channel.close(200, "fedflow stopping".into()).await;
    let _ = connection.close(200, "fedflow stopping".into()).await;
    Ok(SessionEnd::Shutdown)
}

/// Settings that change on reload without a reconnect: bindings and prefetch.
async fn apply_runtime_settings(
    store: &Store,
    channel: &lapin::Channel,
    queue: &str,
    bound: &mut BTreeSet<String>,
    prefetch: &mut u16,
    settings: &crate::config::Settings,
) -> Result<(), BusError> {
    let wanted: BTreeSet<String> = settings.bus.routing_keys().into_iter().collect();
    for key in wanted.difference(bound) {
        session::bind(channel, queue, key).await?;
        info!(routing_key = %key, "bound new topic");
    }
    for key in bound.difference(&wanted) {
        session::unbind(channel, queue, key).await?;
        info!(routing_key = %key, "unbound topic");
    }
    store.set_bindings(&wanted)?;
    *bound = wanted;
    if settings.bus.prefetch != *prefetch {
        channel
            .basic_qos(settings.bus.prefetch, BasicQosOptions { global: false })
            .await?;
        info!(prefetch = settings.bus.prefetch, "prefetch changed");
        *prefetch = settings.bus.prefetch;
    }
    Ok(())
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
    let record = match message::decode(incoming, topic_prefix, limit) {
        Ok(decoded) => {
            let work =
                pipeline::work::select(settings, store, &decoded.envelope.id, &decoded.event)?;
            let copr = copr::observe(
                &settings.copr,
                &decoded.envelope.id,
                decoded.envelope.sent_at.as_deref(),
                &decoded.event,
            );
            let record = Record::Event {
                kind: decoded.event.kind().to_owned(),
                summary: decoded.event.summary(),
                work: work.map(|w| w.encode()),
                copr: copr.map(Box::new),
                message_id: decoded.envelope.id,
                topic: decoded.envelope.topic,
                sent_at: decoded.envelope.sent_at,
            };
            (record, Settle::Ack)
        }
        Err(error) => {
            let topic = routing_key
                .strip_prefix(topic_prefix)
                .and_then(|t| t.strip_prefix('.'))
                .unwrap_or(routing_key)
                .to_owned();
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

/// Decodes a batch, commits it in one transaction, flushes, then rejects the bad deliveries and acks the
/// rest with a single multiple-ack. Nothing is settled before the flush returns.
pub async fn process_batch(
    store: &Store,
    live: &LiveStatus,
    metrics: &Metrics,
    batch: &[Delivery],
    settings: &Settings,
) -> Result<BatchOutcome, BusError> {
    let mut records = Vec::with_capacity(batch.len());
    let mut settles = Vec::with_capacity(batch.len());
    let mut work_queued = 0;
    for delivery in batch {
        let (record, settle) = record_of(incoming_from_delivery(delivery), store, settings)?;
        if matches!(record, Record::Event { work: Some(_), .. }) {
            work_queued += 1;
        }
        records.push(record);
        settles.push(settle);
    }
    let committed = store.commit(&records)?;
    store.flush().await?;
    for record in &committed.copr_finished {
        copr::report_finished(record);
    }
    let dispositions = committed.dispositions;

    let mut outcome = BatchOutcome {
        work_queued,
        ..BatchOutcome::default()
    };
    let mut last_ack = None;
    for ((delivery, settle), disposition) in batch.iter().zip(&settles).zip(&dispositions) {
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
    // Rejected tags are already settled, so one multiple-ack covers exactly the rest of the batch.
    if let Some(delivery) = last_ack {
        settled(delivery.acker.ack(BasicAckOptions { multiple: true })).await?;
    }
    LiveStatus::count(&live.session.acked, outcome.acked);
    LiveStatus::count(&live.session.rejected, outcome.rejected);
    count_batch(metrics, &records, &dispositions);
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
