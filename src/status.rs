//! What `fedflow status` shows: the live state shared by the daemon's tasks and the report built from it.

use crate::config::Shard;
use crate::store::{Counters, RecentEvent, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// The bus connection as the rest of the daemon sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BusState {
    Connecting { since: u64 },
    Connected { since: u64 },
    Disconnected { since: u64, error: String },
}

impl BusState {
    pub fn is_connected(&self) -> bool {
        matches!(self, BusState::Connected { .. })
    }

    /// `connected since …`, `connecting since …` or `disconnected since …: error`, as status displays say it.
    pub fn describe(&self) -> String {
        match self {
            BusState::Connected { since } => format!("connected since {}", format_time(*since)),
            BusState::Connecting { since } => format!("connecting since {}", format_time(*since)),
            BusState::Disconnected { since, error } => {
                format!("disconnected since {}: {error}", format_time(*since))
            }
        }
    }
}

/// Counters of this process's life; the durable ones live in the store.
#[derive(Debug, Default)]
pub struct SessionCounters {
    pub acked: AtomicU64,
    pub rejected: AtomicU64,
    pub reconnects: AtomicU64,
}

/// Shared between the bus task, the control socket and the notifier.
pub struct LiveStatus {
    pub queue: String,
    /// `bus.shard` as the daemon started with it (a restart-only setting).
    pub shard: Shard,
    pub started_at: u64,
    pub bus: watch::Sender<BusState>,
    pub session: SessionCounters,
    last_error: Mutex<Option<String>>,
    /// The status page's address once its server is bound.
    http_address: std::sync::OnceLock<std::net::SocketAddr>,
}

impl LiveStatus {
    pub fn new(queue: String, shard: Shard) -> Self {
        let now = unix_now();
        Self {
            queue,
            shard,
            started_at: now,
            bus: watch::Sender::new(BusState::Connecting { since: now }),
            session: SessionCounters::default(),
            last_error: Mutex::new(None),
            http_address: std::sync::OnceLock::new(),
        }
    }

    /// Records where the HTTP server listens (the real port when `:0` was configured).
    pub fn set_http_address(&self, address: std::net::SocketAddr) {
        let _ = self.http_address.set(address);
    }

    pub fn http_url(&self) -> Option<String> {
        self.http_address
            .get()
            .map(|address| format!("http://{address}/"))
    }

    pub fn set_bus_state(&self, state: BusState) {
        if let BusState::Disconnected { error, .. } = &state
            && let Ok(mut last) = self.last_error.lock()
        {
            *last = Some(error.clone());
        }
        self.bus.send_replace(state);
    }

    pub fn count(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    fn bus_report(&self) -> BusReport {
        BusReport {
            state: self.bus.borrow().clone(),
            queue: self.queue.clone(),
            shard: self.shard,
            acked: self.session.acked.load(Ordering::Relaxed),
            rejected: self.session.rejected.load(Ordering::Relaxed),
            reconnects: self.session.reconnects.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    pub daemon: DaemonReport,
    /// Absent when no daemon is running.
    pub bus: Option<BusReport>,
    pub messages: Counters,
    pub store: StoreReport,
    #[serde(default)]
    pub pipelines: PipelineReport,
    pub recent: Vec<RecentEvent>,
    /// The status page of a running daemon (absent when it is disabled or no daemon runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
}

/// Pipelines at a glance: how many there are, and the active ones by state (with those waiting to retry).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PipelineReport {
    pub total: u64,
    pub active_by_state: std::collections::BTreeMap<String, u64>,
    /// Active pipelines whose last remote step failed and will be retried.
    pub retrying: u64,
    /// Work items queued by the consume path and not yet applied.
    pub inbox: u64,
    /// Pipelines an operator should look at (Bodhi's automatic update missing).
    #[serde(default)]
    pub needs_attention: u64,
    /// Every stored pipeline by state, the finished ones included.
    #[serde(default)]
    pub by_state: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DaemonReport {
    pub running: bool,
    pub pid: Option<u32>,
    pub started_at: Option<u64>,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BusReport {
    pub state: BusState,
    pub queue: String,
    /// Which packages this instance acts on (`"i/N"`); absent from older daemons' reports, which act on all.
    #[serde(default)]
    pub shard: Shard,
    /// Deliveries acknowledged by this process since it started.
    pub acked: u64,
    pub rejected: u64,
    pub reconnects: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreReport {
    pub dir: String,
    pub size_bytes: u64,
}

const RECENT_IN_REPORT: usize = 20;

impl StatusReport {
    /// The report of a running daemon.
    pub fn live(store: &Store, live: &LiveStatus) -> Result<Self, StoreError> {
        let mut report = Self::offline(store)?;
        report.daemon = DaemonReport {
            running: true,
            pid: Some(std::process::id()),
            started_at: Some(live.started_at),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        report.bus = Some(live.bus_report());
        report.http = live.http_url();
        Ok(report)
    }

    /// The report read straight from a store no daemon holds.
    pub fn offline(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            daemon: DaemonReport {
                running: false,
                pid: None,
                started_at: None,
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            bus: None,
            messages: store.counters()?,
            store: StoreReport {
                dir: store.dir().display().to_string(),
                size_bytes: store.size_on_disk()?,
            },
            pipelines: pipeline_report(store)?,
            recent: store.recent_events(RECENT_IN_REPORT)?,
            http: None,
        })
    }

    /// The one-line summary used for systemd's `STATUS=`.
    pub fn status_line(&self) -> String {
        let m = &self.messages;
        let connection = match self.bus.as_ref().map(|b| &b.state) {
            Some(BusState::Connected { .. }) => "connected".to_owned(),
            Some(BusState::Connecting { .. }) => "connecting".to_owned(),
            Some(BusState::Disconnected { since, .. }) => {
                format!("disconnected since {}", format_time(*since))
            }
            None => "not running".to_owned(),
        };
        let (queue, acked) = self.bus.as_ref().map_or((String::new(), 0), |b| {
            // Only a split deployment names the shard: one instance is the usual case.
            let queue = if b.shard.is_split() {
                format!("{} (shard {})", b.queue, b.shard)
            } else {
                b.queue.clone()
            };
            (queue, b.acked)
        });
        let active: u64 = self.pipelines.active_by_state.values().sum();
        let attention = match self.pipelines.needs_attention {
            0 => String::new(),
            n => format!(", {n} NEED ATTENTION"),
        };
        format!(
            "{connection}; queue {queue}; received {}, acked {acked}, rejected {}, duplicates {}; pipelines {} ({active} active, {} retrying{attention})",
            m.received, m.rejected, m.duplicates, self.pipelines.total, self.pipelines.retrying
        )
    }
}

fn pipeline_report(store: &Store) -> Result<PipelineReport, StoreError> {
    let mut report = PipelineReport {
        total: store.pipeline_count() as u64,
        inbox: store.inbox_len() as u64,
        needs_attention: store.needs_attention_count() as u64,
        by_state: store.pipeline_counts_by_state()?,
        ..PipelineReport::default()
    };
    for pipeline in store.active_pipelines()? {
        *report
            .active_by_state
            .entry(pipeline.stage.name().to_owned())
            .or_default() += 1;
        if pipeline.retry.is_some() {
            report.retrying += 1;
        }
    }
    Ok(report)
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// RFC 3339 in UTC, or the raw number if it is out of range.
pub fn format_time(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A running daemon's report, connected, with nothing stored (the metrics tests build on it).
    pub(crate) fn connected_report(shard: &str) -> StatusReport {
        StatusReport {
            daemon: DaemonReport {
                running: true,
                pid: Some(1),
                started_at: Some(0),
                version: "0".to_owned(),
            },
            bus: Some(BusReport {
                state: BusState::Connected { since: 0 },
                queue: "q".to_owned(),
                shard: shard.parse().expect("valid shard"),
                acked: 0,
                rejected: 0,
                reconnects: 0,
                last_error: None,
            }),
            messages: Counters::default(),
            store: StoreReport {
                dir: "/x".to_owned(),
                size_bytes: 0,
            },
            pipelines: PipelineReport::default(),
            recent: Vec::new(),
            http: None,
        }
    }

    #[test]
    fn the_systemd_status_line_names_the_shard_only_when_the_work_is_split() {
        assert!(
            connected_report("1/2")
                .status_line()
                .contains("; queue q (shard 1/2);"),
            "{}",
            connected_report("1/2").status_line()
        );
        assert!(!connected_report("0/1").status_line().contains("shard"));
    }

    #[test]
    fn a_report_without_a_shard_reads_as_one_instance() {
        let mut json = serde_json::to_value(connected_report("1/2")).expect("json");
        assert_eq!(json["bus"]["shard"], "1/2");
        if let Some(bus) = json["bus"].as_object_mut() {
            bus.remove("shard");
        }
        let back: StatusReport = serde_json::from_value(json).expect("older daemon's report");
        assert_eq!(back.bus.map(|b| b.shard), Some(Shard::default()));
    }
}
