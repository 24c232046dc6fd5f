//! Calls to a remote service (Koji, Bodhi): how many, by method and outcome, and how long they took.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::time::Duration;

/// The outcome label of a call that succeeded; failures carry their error's `kind()`.
pub const OK: &str = "ok";

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    method: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

type Latencies = Family<MethodLabels, Histogram, fn() -> Histogram>;

/// The instruments of one remote service. Clones share their values; a client built without the daemon's
/// instance records into one nobody reads.
#[derive(Debug, Clone)]
pub struct RemoteCalls {
    calls: Family<CallLabels, Counter>,
    latency: Latencies,
}

impl Default for RemoteCalls {
    fn default() -> Self {
        Self {
            calls: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

/// 50 ms to about 100 s: Koji's and Bodhi's answers range from quick reads to slow list calls and timeouts.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 12))
}

impl RemoteCalls {
    /// Counts one finished call. `method` is a fixed name (an XML-RPC method, `GET /updates/`), never an id.
    pub fn record(&self, method: &str, outcome: &'static str, elapsed: Duration) {
        self.calls
            .get_or_create(&CallLabels {
                method: method.to_owned(),
                outcome,
            })
            .inc();
        self.latency
            .get_or_create(&MethodLabels {
                method: method.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Registers as `fedflow_<area>_calls_total{method,outcome}` and `fedflow_<area>_call_duration_seconds`.
    pub(super) fn register(&self, registry: &mut Registry, area: &str, service: &str) {
        registry.register(
            format!("{area}_calls"),
            format!("Calls to {service} by method and outcome (ok, or the error kind)"),
            self.calls.clone(),
        );
        registry.register_with_unit(
            format!("{area}_call_duration"),
            format!("Duration of calls to {service} by method"),
            Unit::Seconds,
            self.latency.clone(),
        );
    }
}
