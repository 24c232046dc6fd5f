//! Reconnect delays: exponential from one second, capped, with jitter so that a fleet of consumers does not
//! reconnect in lockstep after a broker restart.

use std::time::Duration;

const FIRST_DELAY: Duration = Duration::from_secs(1);
/// Each delay is moved by up to this fraction either way.
const JITTER: f64 = 0.2;

/// `base` moved by up to 20 % either way, so that retries of many clients do not line up.
pub fn jittered(base: Duration) -> Duration {
    let factor = 1.0 + JITTER * (fastrand::f64() * 2.0 - 1.0);
    base.mul_f64(factor)
}

#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    cap: Duration,
}

impl Backoff {
    pub fn new(cap: Duration) -> Self {
        Self {
            next: FIRST_DELAY.min(cap),
            cap,
        }
    }

    /// The delay before the next attempt; doubles for the one after.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.cap);
        jittered(base).min(self.cap)
    }

    pub fn set_cap(&mut self, cap: Duration) {
        self.cap = cap;
        self.next = self.next.min(cap);
    }

    /// After a successful connection the next failure starts from one second again.
    pub fn reset(&mut self) {
        self.next = FIRST_DELAY.min(self.cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_secs(10));
        let expected = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0];
        for base in expected {
            let delay = backoff.next_delay().as_secs_f64();
            assert!(
                delay >= base * (1.0 - JITTER) - 1e-9 && delay <= (base * (1.0 + JITTER)).min(10.0),
                "delay {delay} not within jitter of {base}"
            );
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_secs_f64(1.0 + JITTER));
    }

    #[test]
    fn jitter_spreads_delays() {
        let delays: std::collections::BTreeSet<u128> = (0..20)
            .map(|_| {
                Backoff::new(Duration::from_secs(300))
                    .next_delay()
                    .as_millis()
            })
            .collect();
        assert!(delays.len() > 1, "all first delays identical: {delays:?}");
    }
}
