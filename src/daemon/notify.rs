//! systemd notifications: readiness, reload, stop, the `STATUS=` line and watchdog pings. Without
//! `NOTIFY_SOCKET` every call is a no-op, so the daemon behaves the same outside systemd.

use sd_notify::NotifyState;
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::debug;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        debug!(error = %e, "sd_notify failed");
    }
}

pub fn ready() {
    send(&[NotifyState::Ready]);
}

pub fn reloading() {
    // systemd ≥ 253 wants the monotonic timestamp with RELOADING=1 (for Type=notify-reload).
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

pub fn status(line: &str) {
    send(&[NotifyState::Status(line)]);
}

pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// How often to ping the watchdog: half of `WATCHDOG_USEC`, or never when it is unset, zero, or meant for
/// another process (`WATCHDOG_PID`, when present, names the process systemd watches; absent means us, as in
/// libsystemd's `sd_watchdog_enabled`).
pub fn watchdog_interval(env: &BTreeMap<String, String>) -> Option<Duration> {
    let usec: u64 = env.get("WATCHDOG_USEC")?.parse().ok().filter(|u| *u > 0)?;
    if let Some(pid) = env.get("WATCHDOG_PID")
        && pid.parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    Some(Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn watchdog_follows_libsystemd_rules() {
        let me = std::process::id().to_string();
        assert_eq!(watchdog_interval(&env(&[])), None);
        assert_eq!(
            watchdog_interval(&env(&[("WATCHDOG_USEC", "4000000".into())])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            watchdog_interval(&env(&[
                ("WATCHDOG_USEC", "4000000".into()),
                ("WATCHDOG_PID", me)
            ])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            watchdog_interval(&env(&[
                ("WATCHDOG_USEC", "4000000".into()),
                ("WATCHDOG_PID", "1".into())
            ])),
            None
        );
        assert_eq!(
            watchdog_interval(&env(&[("WATCHDOG_USEC", "0".into())])),
            None
        );
    }
}
