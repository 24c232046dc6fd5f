//! The figures of a run and the table they are printed as (Markdown, ready for the README).

use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Default)]
pub struct Figures {
    pub packages: usize,
    pub stream_messages: u64,
    /// Messages the harness published as Koji and Bodhi.
    pub harness_messages: u64,
    pub malformed: u64,
    pub deliberate_duplicates: u64,
    /// Messages the publisher sent again after a connection loss.
    pub resent: u64,
    /// Distinct messages fedflow recorded or rejected until it caught up with the stream, and how long
    /// that took from the first publish.
    pub caught_up: Option<(u64, Duration)>,
    pub push_to_build: Vec<Duration>,
    pub complete_to_update: Vec<Duration>,
    pub peak_rss_kib: u64,
    pub store_bytes: u64,
    pub store_bound_bytes: u64,
    pub kills: u32,
    pub broker_restarts: u32,
    /// `koji <kind>` / `bodhi <kind>` → faults injected.
    pub faults: BTreeMap<String, u64>,
    pub absorbed: bool,
    pub duplicates_counted: u64,
    pub builds: usize,
    pub created_updates: usize,
    pub pipelines_by_state: BTreeMap<String, u64>,
    pub wall: Duration,
}

/// The `p`-th percentile (0 < p ≤ 1), nearest rank.
pub fn percentile(samples: &[Duration], p: f64) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p * sorted.len() as f64).ceil() as usize).max(1);
    sorted.get(rank - 1).copied()
}

fn seconds(value: Option<Duration>) -> String {
    value.map_or_else(|| "–".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()))
}

/// `1.59 s / 2.81 s (174 builds)`.
fn p50_p99(samples: &[Duration], of_what: &str) -> String {
    format!(
        "{} / {} ({} {of_what})",
        seconds(percentile(samples, 0.5)),
        seconds(percentile(samples, 0.99)),
        samples.len()
    )
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `12345` → `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Figures {
    pub fn rows(&self) -> Vec<(String, String)> {
        let rate = self.caught_up.map_or("–".to_owned(), |(n, took)| {
            format!(
                "{:.0} msg/s ({} in {:.1} s)",
                n as f64 / took.as_secs_f64().max(1e-3),
                thousands(n),
                took.as_secs_f64()
            )
        });
        let faults: u64 = self.faults.values().sum();
        let fault_kinds = self
            .faults
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let states = self
            .pipelines_by_state
            .iter()
            .map(|(state, n)| format!("{state} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        vec![
            ("watched packages".into(), thousands(self.packages as u64)),
            (
                "messages published".into(),
                format!(
                    "{} stream ({} malformed, {} duplicates) + {} as Koji/Bodhi; {} resent after broker loss",
                    thousands(self.stream_messages),
                    thousands(self.malformed),
                    thousands(self.deliberate_duplicates),
                    thousands(self.harness_messages),
                    thousands(self.resent)
                ),
            ),
            ("messages/s sustained (consume, under chaos)".into(), rate),
            (
                "push → build call p50 / p99".into(),
                p50_p99(&self.push_to_build, "builds"),
            ),
            (
                "build complete → update created p50 / p99".into(),
                p50_p99(&self.complete_to_update, "updates"),
            ),
            (
                "peak RSS of fedflow (max VmHWM)".into(),
                mib(self.peak_rss_kib * 1024),
            ),
            (
                "store size on disk".into(),
                format!(
                    "{} (bound {})",
                    mib(self.store_bytes),
                    mib(self.store_bound_bytes)
                ),
            ),
            ("SIGKILLs survived".into(), self.kills.to_string()),
            (
                "broker restarts survived".into(),
                self.broker_restarts.to_string(),
            ),
            (
                "Koji/Bodhi faults injected".into(),
                format!(
                    "{} ({}); {}",
                    thousands(faults),
                    if fault_kinds.is_empty() {
                        "none"
                    } else {
                        &fault_kinds
                    },
                    if self.absorbed {
                        "all absorbed"
                    } else {
                        "NOT all absorbed (see the failed checks)"
                    }
                ),
            ),
            (
                "duplicates prevented (fedflow's counter)".into(),
                thousands(self.duplicates_counted),
            ),
            (
                "Koji builds / Bodhi updates created".into(),
                format!("{} / {}", self.builds, self.created_updates),
            ),
            ("pipelines by final state".into(), states),
            (
                "wall time".into(),
                format!("{:.1} s", self.wall.as_secs_f64()),
            ),
        ]
    }

    pub fn table(&self) -> String {
        let mut text = String::from("| figure | value |\n|---|---|\n");
        for (figure, value) in self.rows() {
            text.push_str(&format!("| {figure} | {value} |\n"));
        }
        text
    }
}
