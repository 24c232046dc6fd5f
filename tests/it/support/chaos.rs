//! Probabilistic misbehaviour for the fake servers (the soak's "chaos" mode): with a seeded RNG, a share of
//! the calls is answered with an HTTP 5xx, times out (the server waits past the client's timeout and then
//! answers 504 without doing anything) or hangs after doing the work (the effect happened, the answer is
//! lost). The sequence of draws is reproducible from the seed; which call gets which draw depends on timing.
//! [`crate::support::fake_koji::FakeKoji::set_chaos`] and [`crate::support::fake_bodhi::FakeBodhi::set_chaos`]
//! switch it on.

use std::collections::BTreeMap;
use std::time::Duration;

/// How often and how long the server misbehaves.
#[derive(Debug, Clone)]
pub struct ChaosSettings {
    /// Share of calls that get a fault, 0.0..=1.0.
    pub rate: f64,
    pub seed: u64,
    /// How long a timeout or a hang lasts: longer than the client's timeout.
    pub stall: Duration,
}

/// What one call gets instead of a plain answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this 5xx status without doing the work.
    Status(u16),
    /// Wait [`ChaosSettings::stall`], then answer 504 without doing the work.
    Timeout(Duration),
    /// Do the work, then wait [`ChaosSettings::stall`] before answering.
    HangAfterWork(Duration),
}

impl Fault {
    /// A stable label: `http_500`, `timeout`, `hang_after_work`.
    pub fn label(&self) -> String {
        match self {
            Fault::Status(status) => format!("http_{status}"),
            Fault::Timeout(_) => "timeout".to_owned(),
            Fault::HangAfterWork(_) => "hang_after_work".to_owned(),
        }
    }

    /// Whether the call's effect happened (only its answer was lost).
    pub fn did_work(&self) -> bool {
        matches!(self, Fault::HangAfterWork(_))
    }
}

/// The RNG and what it injected so far.
#[derive(Debug)]
pub struct Chaos {
    settings: ChaosSettings,
    rng: fastrand::Rng,
    /// `(call, fault label)` → count; `call` is the Koji method or the HTTP method and path.
    injected: BTreeMap<(String, String), u64>,
}

impl Chaos {
    pub fn new(settings: ChaosSettings) -> Chaos {
        Chaos {
            rng: fastrand::Rng::with_seed(settings.seed),
            settings,
            injected: BTreeMap::new(),
        }
    }

    /// Draws for one call named `call`: `None` (answer normally) or the fault to inject.
    pub fn roll(&mut self, call: &str) -> Option<Fault> {
        if self.rng.f64() >= self.settings.rate {
            return None;
        }
        let stall = self.settings.stall;
        let fault = match self.rng.u8(0..6) {
            0 => Fault::Status(500),
            1 => Fault::Status(502),
            2 => Fault::Status(503),
            3 | 4 => Fault::Timeout(stall),
            _ => Fault::HangAfterWork(stall),
        };
        *self
            .injected
            .entry((call.to_owned(), fault.label()))
            .or_default() += 1;
        Some(fault)
    }

    /// `(call, fault label)` → how many were injected.
    pub fn injected(&self) -> BTreeMap<(String, String), u64> {
        self.injected.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_faults_at_about_the_rate() {
        let settings = ChaosSettings {
            rate: 0.2,
            seed: 7,
            stall: Duration::from_secs(3),
        };
        let draw = || {
            let mut chaos = Chaos::new(settings.clone());
            (0..10_000).map(|_| chaos.roll("x")).collect::<Vec<_>>()
        };
        let (first, second) = (draw(), draw());
        assert_eq!(first, second);
        let faults = first.iter().filter(|f| f.is_some()).count();
        assert!((1_700..2_300).contains(&faults), "{faults}");
    }
}
