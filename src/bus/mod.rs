//! The bus: connection to the fedora-messaging broker, the durable queue and its bindings, the consume loop
//! with acknowledgement after commit, and reconnection with backoff for as long as the daemon runs.

mod backoff;
mod batch;
mod consume;
pub mod replay;
mod session;

pub use backoff::{Backoff, jittered};
pub use batch::BatchOutcome;

use crate::config::Settings;
use crate::journal;
use crate::status::{BusState, LiveStatus, unix_now};
use crate::store::{Store, StoreError};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("AMQP: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("cannot read {key} {path}: {source}")]
    Credentials {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no answer from the broker within {0:?}")]
    Timeout(Duration),
    #[error("the broker closed the consumer")]
    ConsumerClosed,
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl BusError {
    /// A stable label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            BusError::Amqp(_) => "amqp",
            BusError::Credentials { .. } => "credentials",
            BusError::Timeout(_) => "timeout",
            BusError::ConsumerClosed => "consumer_closed",
            BusError::Store(_) => "store",
        }
    }

    /// Store failures stop the daemon (systemd restarts it); everything on the broker side is retried.
    fn is_fatal(&self) -> bool {
        matches!(self, BusError::Store(_))
    }
}

/// Why a consume session ended without an error.
#[derive(Debug, PartialEq, Eq)]
enum SessionEnd {
    Shutdown,
}

/// Everything the bus task needs, handed over by the daemon.
pub struct Bus {
    pub store: Arc<Store>,
    pub live: Arc<LiveStatus>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub settings: watch::Receiver<Arc<Settings>>,
    pub shutdown: watch::Receiver<bool>,
    /// Woken after a batch that queued pipeline work is durable.
    pub work_ready: Arc<tokio::sync::Notify>,
}

impl Bus {
    /// Consumes until shutdown, reconnecting forever; returns an error only when the store fails.
    pub async fn run(mut self) -> Result<(), BusError> {
        let cap = self.settings.borrow().bus.reconnect_max;
        let mut backoff = Backoff::new(cap);
        loop {
            if *self.shutdown.borrow() {
                return Ok(());
            }
            let settings = self.settings.borrow_and_update().clone();
            let attempt = self.connect_and_consume(&settings, &mut backoff).await;
            let error = match attempt {
                Ok(SessionEnd::Shutdown) => return Ok(()),
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => e,
            };
            // "Disconnected since" is the first failure of a run of failures; only that one is the journal's
            // "broker disconnected" event.
            let (since, first_failure) = match &*self.live.bus.borrow() {
                BusState::Disconnected { since, .. } => (*since, false),
                _ => (unix_now(), true),
            };
            let delay = backoff.next_delay();
            warn!(
                message_id = first_failure.then_some(journal::BROKER_DISCONNECTED),
                error = %error,
                error_kind = error.kind(),
                retry_in_ms = delay.as_millis() as u64,
                "broker connection lost or refused; reconnecting"
            );
            self.live.set_bus_state(BusState::Disconnected {
                since,
                error: error.to_string(),
            });
            LiveStatus::count(&self.live.session.reconnects, 1);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.shutdown.changed() => return Ok(()),
            }
            // A reload may have changed the cap.
            backoff.set_cap(self.settings.borrow().bus.reconnect_max);
        }
    }

    async fn connect_and_consume(
        &mut self,
        settings: &Settings,
        backoff: &mut Backoff,
    ) -> Result<SessionEnd, BusError> {
        let keys: BTreeSet<String> = settings.bus.routing_keys().into_iter().collect();
        let session = session::open(&settings.bus, &self.live.queue, &keys).await?;
        // Bindings from an earlier configuration stay on a durable queue until removed.
        for stale in self.store.bindings()?.difference(&keys) {
            session::unbind(&session.channel, &self.live.queue, stale).await?;
            info!(routing_key = %stale, "removed binding no longer configured");
        }
        self.store.set_bindings(&keys)?;
        backoff.reset();
        if let BusState::Disconnected { since, .. } = &*self.live.bus.borrow() {
            info!(
                message_id = journal::BROKER_RECONNECTED,
                queue = %self.live.queue,
                outage_seconds = unix_now().saturating_sub(*since),
                "connected to the broker again"
            );
        }
        info!(
            queue = %self.live.queue,
            url = %settings.bus.url,
            bindings = keys.len(),
            "connected to the broker and consuming"
        );
        self.live
            .set_bus_state(BusState::Connected { since: unix_now() });
        consume::run(self, session, keys).await
    }
}
