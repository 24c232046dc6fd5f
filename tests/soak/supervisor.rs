//! fedflow and its broker under chaos: runs the real binary (same state directory and queue across
//! restarts), SIGKILLs it at random intervals and starts it again at once, stops the RabbitMQ application
//! for a few seconds and starts it again (the first of each early, while the stream is being consumed), notices a daemon that exits on its own, and keeps the peak RSS
//! (`VmHWM`) over all the daemon's processes. The intervals come from the seed.

use crate::options::{Options, draw};
use crate::support::broker::Broker;
use crate::support::daemon::{Daemon, Instance};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

/// Settings every daemon start gets on top of the test configuration (the environment layer wins):
/// info-level logs (debug logs of 200,000 messages would be the bottleneck); enough attempts that a step of
/// several remote calls, each failing 20 % of the time, does not run out of them (a step of 6 calls fails
/// 74 % of the time: 8 attempts, the default, would fail about 9 % of the update creations); 16 submissions
/// at once instead of 4 (under these faults one submission takes seconds, and the quick preset has
/// minutes); and a short reconnect backoff so that a broker restart costs seconds, not minutes.
const DAEMON_ENV: [(&str, &str); 4] = [
    ("FEDFLOW_LOG__LEVEL", "info"),
    ("FEDFLOW_KOJI__MAX_ATTEMPTS", "60"),
    ("FEDFLOW_KOJI__MAX_IN_FLIGHT", "16"),
    ("FEDFLOW_BUS__RECONNECT_MAX_SECONDS", "4"),
];

pub struct Supervisor<'a> {
    instance: &'a Instance,
    broker: Option<&'a Broker>,
    options: Options,
    daemon: Daemon,
    rng: fastrand::Rng,
    started: Instant,
    next_kill: Instant,
    next_broker: Instant,
    pub kills: u32,
    pub broker_restarts: u32,
    pub peak_rss_kib: u64,
    /// Exits nobody asked for: (when, status).
    pub unexpected_exits: Vec<(Duration, ExitStatus)>,
}

fn start_daemon(instance: &Instance) -> Daemon {
    instance.start_with(|command| {
        for (key, value) in DAEMON_ENV {
            command.env(key, value);
        }
    })
}

/// `VmHWM` of `pid` in KiB (0 once it is gone).
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

impl<'a> Supervisor<'a> {
    /// Starts the daemon. `broker` is the node to restart (`None`: no broker restarts).
    pub fn start(instance: &'a Instance, broker: Option<&'a Broker>, options: &Options) -> Self {
        let mut rng = fastrand::Rng::with_seed(options.seed ^ 0x6b69_6c6c);
        let now = Instant::now();
        // The first ones come early, while fedflow is still consuming the stream.
        let next_kill = now + draw(&mut rng, options.kill_every) / 4;
        let next_broker = now + draw(&mut rng, options.broker_every) / 5;
        Supervisor {
            instance,
            broker,
            options: options.clone(),
            daemon: start_daemon(instance),
            rng,
            started: now,
            next_kill,
            next_broker,
            kills: 0,
            broker_restarts: 0,
            peak_rss_kib: 0,
            unexpected_exits: Vec::new(),
        }
    }

    fn note(&self, what: &str) {
        eprintln!(
            "[soak {:>6.1}s] {what}",
            self.started.elapsed().as_secs_f64()
        );
    }

    fn sample_rss(&mut self) {
        self.peak_rss_kib = self.peak_rss_kib.max(peak_rss_kib(self.daemon.pid()));
    }

    /// One look: the RSS, an exit nobody asked for, and — while `chaos` — a kill or a broker restart that is due.
    pub fn tick(&mut self, chaos: bool) {
        self.sample_rss();
        if !self.daemon.is_running() {
            let status = self
                .daemon
                .wait_exit(Duration::ZERO)
                .expect("an exited daemon has a status");
            self.unexpected_exits.push((self.started.elapsed(), status));
            self.note(&format!(
                "fedflow exited by itself ({status}); starting it again"
            ));
            self.daemon = start_daemon(self.instance);
        }
        let now = Instant::now();
        if chaos && self.options.kill && now >= self.next_kill {
            self.kills += 1;
            self.note(&format!(
                "SIGKILL #{} to fedflow (pid {})",
                self.kills,
                self.daemon.pid()
            ));
            self.daemon.kill9();
            self.daemon = start_daemon(self.instance);
            self.next_kill = Instant::now() + draw(&mut self.rng, self.options.kill_every);
        }
        if let Some(broker) = self.broker.filter(|_| chaos && self.options.broker_restart)
            && now >= self.next_broker
        {
            let down = draw(&mut self.rng, self.options.broker_down);
            self.broker_restarts += 1;
            self.note(&format!(
                "broker restart #{}: stop_app, {down:.1?} down",
                self.broker_restarts
            ));
            broker.stop_app();
            std::thread::sleep(down);
            broker.start_app();
            self.note("broker started again");
            self.next_broker = Instant::now() + draw(&mut self.rng, self.options.broker_every);
        }
    }

    /// SIGTERM (the daemon must exit 0 within 10 s); the peak RSS is read just before.
    pub fn stop(&mut self) -> ExitStatus {
        self.sample_rss();
        self.daemon.stop().0
    }
}
