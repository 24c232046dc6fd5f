//! The daemon's Prometheus instruments, named `fedflow_<area>_<thing>[_total]`, and the registry `/metrics`
//! encodes.
//!
//! Two kinds of values live here. Events are counted where they happen: messages per batch by the bus, calls
//! by the Koji and Bodhi clients at their one call funnel ([`RemoteCalls`]). State — pipelines by state, the
//! store's size, the connection — is read at scrape time from the same [`StatusReport`] `fedflow status`
//! shows ([`Metrics::observe_report`]), and finished Copr builds from the store's own counts
//! ([`Metrics::observe_copr_counts`]), so the consume path pays nothing for them.

mod remote;

pub use remote::{OK, RemoteCalls};

use crate::config::Shard;
use crate::status::{BusState, StatusReport};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Labels of `fedflow_amqp_messages_total`. Topics are bounded by the bindings; outcomes by the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MessageLabels {
    topic: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// Labels of `fedflow_copr_builds_total`: tracked projects (bounded by `[copr] projects`) and Copr's status
/// names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CoprLabels {
    project: String,
    status: String,
}

/// What became of one delivery (the store's disposition), as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageOutcome {
    Recorded,
    Duplicate,
    Rejected,
}

impl MessageOutcome {
    fn label(self) -> &'static str {
        match self {
            MessageOutcome::Recorded => "recorded",
            MessageOutcome::Duplicate => "duplicate",
            MessageOutcome::Rejected => "rejected",
        }
    }
}

#[derive(Debug)]
pub struct Metrics {
    messages: Family<MessageLabels, Counter>,
    /// Seconds from a message's `sent-at` to its batch being stored, for the last message that had one.
    consume_lag: Gauge<f64, AtomicU64>,
    last_message: Gauge,
    connected: Gauge,
    reconnects: Counter,
    pipelines: Family<StateLabels, Gauge>,
    pipelines_retrying: Gauge,
    pipelines_stored: Gauge,
    inbox: Gauge,
    store_size: Gauge,
    copr_builds: Family<CoprLabels, Counter>,
    /// `bus.shard`, fixed for the process: shown as `fedflow_shard_info{index,count} 1`.
    shard: Shard,
    pub koji: RemoteCalls,
    pub bodhi: RemoteCalls,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Metrics {
            messages: Family::default(),
            consume_lag: Gauge::default(),
            last_message: Gauge::default(),
            connected: Gauge::default(),
            reconnects: Counter::default(),
            pipelines: Family::default(),
            pipelines_retrying: Gauge::default(),
            pipelines_stored: Gauge::default(),
            inbox: Gauge::default(),
            store_size: Gauge::default(),
            copr_builds: Family::default(),
            shard: Shard::default(),
            koji: RemoteCalls::default(),
            bodhi: RemoteCalls::default(),
        }
    }

    /// The instruments of an instance started with `bus.shard = shard`.
    pub fn for_shard(shard: Shard) -> Self {
        Metrics {
            shard,
            ..Self::new()
        }
    }

    /// A registry holding every instrument (clones share their values), for the `/metrics` route.
    pub fn registry(&self) -> Registry {
        let mut registry = Registry::with_prefix("fedflow");
        registry.register(
            "build",
            "fedflow's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register(
            "shard",
            "The packages this instance acts on: those whose name hashes to index modulo count (bus.shard)",
            Info::new(vec![
                ("index", self.shard.index().to_string()),
                ("count", self.shard.count().to_string()),
            ]),
        );
        registry.register(
            "amqp_messages",
            "Deliveries by topic and outcome (recorded, duplicate, rejected) since the start",
            self.messages.clone(),
        );
        registry.register_with_unit(
            "amqp_consume_lag",
            "Now minus the sent-at header of the last stored message",
            Unit::Seconds,
            self.consume_lag.clone(),
        );
        registry.register_with_unit(
            "amqp_last_message_timestamp",
            "When the last batch of messages was stored (Unix time)",
            Unit::Seconds,
            self.last_message.clone(),
        );
        registry.register(
            "amqp_connected",
            "1 while connected to the broker",
            self.connected.clone(),
        );
        registry.register(
            "amqp_reconnects",
            "Reconnections to the broker since the start",
            self.reconnects.clone(),
        );
        registry.register(
            "pipelines",
            "Stored pipelines by state, finished ones included (needs_attention always present)",
            self.pipelines.clone(),
        );
        registry.register(
            "pipelines_retrying",
            "Active pipelines whose last remote step failed and will be retried",
            self.pipelines_retrying.clone(),
        );
        registry.register(
            "pipelines_stored",
            "Pipelines in the store, in any state",
            self.pipelines_stored.clone(),
        );
        registry.register(
            "pipeline_inbox_items",
            "Work items stored by the consume path and not yet applied",
            self.inbox.clone(),
        );
        registry.register_with_unit(
            "store_size",
            "Size of the store on disk",
            Unit::Bytes,
            self.store_size.clone(),
        );
        registry.register(
            "copr_builds",
            "Finished Copr chroot builds of tracked projects by project and status, as the store counts them",
            self.copr_builds.clone(),
        );
        self.koji.register(&mut registry, "koji", "the Koji hub");
        self.bodhi.register(&mut registry, "bodhi", "Bodhi");
        registry
    }

    /// Counts one stored batch: `(topic, outcome)` per delivery. Called once per batch, so the label lookups
    /// happen per distinct topic of a batch, not per message.
    pub fn count_batch<'a>(
        &self,
        deliveries: impl IntoIterator<Item = (&'a str, MessageOutcome)>,
        now: u64,
    ) {
        let mut counts: Vec<(&str, MessageOutcome, u64)> = Vec::new();
        for (topic, outcome) in deliveries {
            match counts
                .iter_mut()
                .find(|(t, o, _)| *t == topic && *o == outcome)
            {
                Some((_, _, n)) => *n += 1,
                None => counts.push((topic, outcome, 1)),
            }
        }
        for (topic, outcome, n) in counts {
            self.messages
                .get_or_create(&MessageLabels {
                    topic: topic.to_owned(),
                    outcome: outcome.label(),
                })
                .inc_by(n);
        }
        self.last_message
            .set(i64::try_from(now).unwrap_or(i64::MAX));
    }

    /// Records the lag of a message from its `sent-at` header (ISO 8601); a header that does not parse is
    /// ignored (the message itself was judged elsewhere).
    pub fn observe_sent_at(&self, sent_at: &str, now: std::time::SystemTime) {
        let Some(sent) = crate::message::parse_sent_at(sent_at) else {
            return;
        };
        let now = time::OffsetDateTime::from(now);
        self.consume_lag.set((now - sent).as_seconds_f64());
    }

    /// Mirrors the state `fedflow status` reports; called at each scrape.
    pub fn observe_report(&self, report: &StatusReport) {
        if let Some(bus) = &report.bus {
            self.connected
                .set(i64::from(matches!(bus.state, BusState::Connected { .. })));
            // The live status counts reconnections; the counter shows its value.
            self.reconnects
                .inner()
                .store(bus.reconnects, Ordering::Relaxed);
        }
        let p = &report.pipelines;
        // States that emptied since the last scrape must disappear, not keep their old value.
        self.pipelines.clear();
        for (state, count) in &p.by_state {
            self.set_pipelines(state, *count);
        }
        // Always present, so an alert on it has a series to read even when nothing needs attention.
        self.set_pipelines("needs_attention", p.needs_attention);
        self.pipelines_retrying.set(as_gauge(p.retrying));
        self.pipelines_stored.set(as_gauge(p.total));
        self.inbox.set(as_gauge(p.inbox));
        self.store_size.set(as_gauge(report.store.size_bytes));
    }

    /// Mirrors the store's counts of finished Copr chroot builds; called at each scrape. The counts live in
    /// the store, so they survive restarts and only grow.
    pub fn observe_copr_counts(&self, counts: &BTreeMap<(String, String), u64>) {
        for ((project, status), count) in counts {
            self.copr_builds
                .get_or_create(&CoprLabels {
                    project: project.clone(),
                    status: status.clone(),
                })
                .inner()
                .store(*count, Ordering::Relaxed);
        }
    }

    fn set_pipelines(&self, state: &str, count: u64) {
        self.pipelines
            .get_or_create(&StateLabels {
                state: state.to_owned(),
            })
            .set(as_gauge(count));
    }
}

fn as_gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
