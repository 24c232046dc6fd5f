//! The consume loop: deliveries are taken in batches as they arrive and each batch is committed to the
//! store at once, while one flush at a time makes everything committed before it durable (group commit).
//! A batch is settled with the broker only when a flush that started after its commit has returned, so
//! nothing is acknowledged before it is durable, and the next batches are decoded during the flush.

use super::batch::{self, Staged};
use super::session::{self, Session};
use super::{Bus, BusError, SessionEnd};
use crate::store::{Store, StoreError};
use futures_lite::StreamExt;
use lapin::options::{BasicCancelOptions, BasicQosOptions};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tracing::info;

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
    let mut commits = GroupCommit::new(bus.store.clone());
    loop {
        let first = tokio::select! {
            biased;
            _ = bus.shutdown.changed() => break,
            flushed = commits.flushed() => {
                settle_durable(bus, flushed?).await?;
                continue;
            }
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
        commits.push(batch::stage(&bus.store, batch, &settings)?);
        if let Some(e) = pending_error {
            // What was committed but not settled is redelivered after the reconnect and counted as duplicate.
            return Err(e.into());
        }
    }
    // Shutdown: what is committed is flushed and settled first, so that a restart does not receive it again.
    // Deliveries prefetched but not taken return to the queue when the channel closes.
    let durable = commits.finish().await?;
    settle_durable(bus, durable).await?;
    info!("stopping consumer");
    let tag = consumer.tag();
    let _ = channel
        .basic_cancel(tag, BasicCancelOptions::default())
        .await;
    let _ = channel.close(200, "fedflow stopping".into()).await;
    let _ = connection.close(200, "fedflow stopping".into()).await;
    Ok(SessionEnd::Shutdown)
}

/// Acknowledges durable batches and wakes the pipeline engine when they queued work: only now may it act
/// on that work, since a crash before the flush would have undone it.
async fn settle_durable(bus: &Bus, durable: Vec<Staged>) -> Result<(), BusError> {
    if durable.is_empty() {
        return Ok(());
    }
    let outcome = batch::settle(durable, &bus.live, &bus.metrics).await?;
    if outcome.work_queued > 0 {
        bus.work_ready.notify_one();
    }
    Ok(())
}

type Flush = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;

/// Group commit: at most one flush runs. Batches committed while it runs wait for the next flush, which
/// starts as soon as the running one returns and covers all of them, so the number of flushes adapts to
/// the load instead of being one per batch.
struct GroupCommit {
    store: Arc<Store>,
    /// The running flush, and the batches committed before it started.
    running: Option<(Flush, Vec<Staged>)>,
    /// Batches committed since the running flush started.
    waiting: Vec<Staged>,
}

impl GroupCommit {
    fn new(store: Arc<Store>) -> Self {
        GroupCommit {
            store,
            running: None,
            waiting: Vec::new(),
        }
    }

    /// Takes a committed batch; it is settled after the next flush that starts from now on.
    fn push(&mut self, staged: Staged) {
        self.waiting.push(staged);
        if self.running.is_none() {
            self.start();
        }
    }

    fn start(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        let store = self.store.clone();
        let flush: Flush = Box::pin(async move { store.flush().await });
        self.running = Some((flush, std::mem::take(&mut self.waiting)));
    }

    /// Waits for the running flush (forever when none runs) and returns the batches it made durable; the
    /// next flush starts at once for the batches that waited. Cancel-safe: nothing happens after the await.
    async fn flushed(&mut self) -> Result<Vec<Staged>, StoreError> {
        let Some((flush, _)) = self.running.as_mut() else {
            return std::future::pending().await;
        };
        flush.await?;
        let durable = self
            .running
            .take()
            .map(|(_, durable)| durable)
            .unwrap_or_default();
        self.start();
        Ok(durable)
    }

    /// Flushes until every committed batch is durable, and returns them all.
    async fn finish(mut self) -> Result<Vec<Staged>, StoreError> {
        let mut durable = Vec::new();
        while self.running.is_some() {
            durable.extend(self.flushed().await?);
        }
        Ok(durable)
    }
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
