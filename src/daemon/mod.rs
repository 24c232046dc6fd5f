//! The daemon: wires the store, the bus task, the control socket, signals and systemd notifications, and
//! owns the orderly stop (drain within the deadline) and the reload on SIGHUP.

pub mod control;
mod notify;
mod signals;

use crate::bus::Bus;
use crate::config::{self, Inputs, Settings};
use crate::http::{self, HttpState};
use crate::logging::LogHandle;
use crate::metrics::Metrics;
use crate::pipeline::{Engine, Remotes};
use crate::status::{BusState, LiveStatus, StatusReport};
use crate::store::Store;
use anyhow::Context;
use signals::Signal;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{error, info, warn};

/// SIGTERM must end the process within 10 s; leave room for closing the store.
const DRAIN_DEADLINE: Duration = Duration::from_secs(8);
/// How long to wait for a store lock held by a short-lived `fedflow status`.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);
const STATUS_INTERVAL: Duration = Duration::from_secs(2);
const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

pub async fn run(inputs: Inputs, settings: Settings, log: LogHandle) -> anyhow::Result<()> {
    let state_dir = settings.state.dir.clone();
    let store = Arc::new(
        Store::open_waiting(&state_dir, LOCK_PATIENCE)
            .with_context(|| format!("opening the store in {}", state_dir.display()))?,
    );
    let queue = store
        .queue_name(settings.bus.queue.as_deref())
        .context("choosing the queue name")?;
    let live = Arc::new(LiveStatus::new(queue, settings.bus.shard));
    warn_of_a_shard_change(&store, settings.bus.shard).context("recording the shard")?;
    let socket = control::socket_path(&state_dir);
    let listener = control::bind(&socket)
        .with_context(|| format!("binding the control socket {}", socket.display()))?;

    let mut signals = signals::listen().context("installing signal handlers")?;

    info!(
        version = env!("CARGO_PKG_VERSION"),
        state_dir = %state_dir.display(),
        queue = %live.queue,
        shard = %live.shard,
        url = %settings.bus.url,
        "fedflow starting"
    );

    let metrics = Arc::new(Metrics::for_shard(settings.bus.shard));
    let remotes = Remotes::from_settings(&settings, &metrics)?;
    let (settings_tx, settings_rx) = watch::channel(Arc::new(settings));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let work_ready = Arc::new(tokio::sync::Notify::new());
    let control_task = tokio::spawn(control::serve(
        listener,
        control::Control {
            store: store.clone(),
            live: live.clone(),
            settings: settings_rx.clone(),
            work_ready: work_ready.clone(),
        },
    ));
    let http_state = HttpState::new(
        store.clone(),
        live.clone(),
        settings_tx.subscribe(),
        metrics.clone(),
    );
    let http_settings = settings_tx.borrow().http.clone();
    let http_server = http::start(&http_settings, http_state, &shutdown_tx).await?;
    let bus = Bus {
        store: store.clone(),
        live: live.clone(),
        metrics: metrics.clone(),
        settings: settings_rx,
        shutdown: shutdown_rx,
        work_ready: work_ready.clone(),
    };
    let engine = Engine {
        store: store.clone(),
        remotes,
        settings: settings_tx.subscribe(),
        shutdown: shutdown_tx.subscribe(),
        work_ready: work_ready.clone(),
    };
    let mut engine_task = tokio::spawn(engine.run());
    let mut bus_task = tokio::spawn(bus.run());
    let mut bus_state = live.bus.subscribe();
    let mut ready_sent = false;
    let mut status_tick = tokio::time::interval(STATUS_INTERVAL);
    let watchdog = notify::watchdog_interval(&inputs.env);
    let mut watchdog_tick = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    let mut purge_tick = tokio::time::interval(PURGE_INTERVAL);

    let outcome: anyhow::Result<()> = loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                Some(Signal::Reload) => reload(&inputs, &settings_tx, &log),
                Some(Signal::Stop) | None => {
                    info!("stop requested; draining");
                    break Ok(());
                }
            },
            changed = bus_state.changed() => {
                if changed.is_ok() && !ready_sent && bus_state.borrow_and_update().is_connected() {
                    notify::ready();
                    ready_sent = true;
                }
                if let BusState::Disconnected { error, .. } = &*bus_state.borrow() {
                    notify::status(&format!("disconnected: {error}"));
                }
            }
            _ = status_tick.tick() => match StatusReport::live(&store, &live) {
                Ok(report) => notify::status(&report.status_line()),
                Err(e) => warn!(error = %e, "cannot read counters for the status line"),
            },
            _ = watchdog_tick.tick(), if watchdog.is_some() => notify::watchdog(),
            _ = purge_tick.tick() => {
                let retention = settings_tx.borrow().state.retention;
                let copr_keep = settings_tx.borrow().copr.keep;
                let store = store.clone();
                let purged = tokio::task::spawn_blocking(move || {
                    (store.purge_expired(retention), store.purge_copr_builds(copr_keep))
                });
                match purged.await {
                    Ok((ids, copr_builds)) => {
                        match ids {
                            Ok(0) => {}
                            Ok(removed) => info!(removed, "forgot message ids past retention"),
                            Err(e) => warn!(error = %e, "purging expired message ids failed"),
                        }
                        match copr_builds {
                            Ok(0) => {}
                            Ok(removed) => info!(removed, "forgot copr build records past copr.keep_days"),
                            Err(e) => warn!(error = %e, "purging old copr build records failed"),
                        }
                    }
                    Err(e) => warn!(error = %e, "purge task failed"),
                }
            }
            result = &mut engine_task => {
                break match result {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(anyhow::Error::new(e).context("the pipeline engine stopped")),
                    Err(e) => Err(anyhow::Error::new(e).context("the pipeline engine failed")),
                };
            }
            result = &mut bus_task => {
                break match result {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(anyhow::Error::new(e).context("the consumer stopped")),
                    Err(e) => Err(anyhow::Error::new(e).context("the consumer task failed")),
                };
            }
        }
    };

    notify::stopping();
    let _ = shutdown_tx.send(true);
    if !bus_task.is_finished() {
        match tokio::time::timeout(DRAIN_DEADLINE, &mut bus_task).await {
            Ok(Ok(Err(e))) => error!(error = %e, "consumer failed while draining"),
            Ok(_) => {}
            Err(_) => {
                warn!("drain did not finish in time; unacknowledged messages return to the queue");
                bus_task.abort();
            }
        }
    }
    // Pipeline steps in flight are abandoned: each left its pipeline in a stored state the next start resumes
    // from (a submission is searched for before it is repeated).
    if !engine_task.is_finished() {
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut engine_task).await;
        engine_task.abort();
    }
    control_task.abort();
    if let Some(server) = http_server {
        server.stopped().await;
    }
    let _ = std::fs::remove_file(&socket);
    store.flush().await.context("flushing the store")?;
    if outcome.is_ok() {
        info!("fedflow stopped");
    }
    outcome
}

/// A store that holds pipelines and ran under another `bus.shard` before: its pipelines finish here, new
/// work follows the new shard; said once in the journal so a resharding leaves a trace.
fn warn_of_a_shard_change(store: &Store, shard: config::Shard) -> anyhow::Result<()> {
    let previous = store.replace_shard(&shard.to_string())?;
    let previous = previous.unwrap_or_else(|| config::Shard::default().to_string());
    if previous != shard.to_string() && store.pipeline_count() > 0 {
        warn!(
            previous = %previous,
            shard = %shard,
            pipelines = store.pipeline_count(),
            "bus.shard changed since the last start: pipelines already in this store finish here; \
             new pushes go to the instance whose shard holds their package"
        );
    }
    Ok(())
}

/// Applies a reload: the new settings, except those only a restart applies, which keep their running
/// values; returns them with the keys of the restart-only settings that changed.
fn keep_restart_only(running: &Settings, mut new: Settings) -> (Settings, Vec<&'static str>) {
    let mut changed = Vec::new();
    // One line per restart-only setting: its key, and where it lives in `Settings`.
    macro_rules! keep {
        ($key:literal, $($field:ident).+) => {
            if new.$($field).+ != running.$($field).+ {
                changed.push($key);
                new.$($field).+ = running.$($field).+.clone();
            }
        };
    }
    keep!("bus.url", bus.url);
    keep!("bus.ca_file", bus.ca_file);
    keep!("bus.cert_file", bus.cert_file);
    keep!("bus.key_file", bus.key_file);
    keep!("bus.queue", bus.queue);
    keep!("bus.contact_email", bus.contact_email);
    // Which packages start work here: changed together with the other instances, at a restart.
    keep!("bus.shard", bus.shard);
    keep!("state.dir", state.dir);
    keep!("http.listen", http.listen);
    // The network clients are built once at start.
    keep!("koji.hub", koji.hub);
    keep!("koji.auth", koji.auth);
    keep!("koji.ca_file", koji.ca_file);
    keep!("koji.timeout_seconds", koji.timeout);
    keep!("koji.max_in_flight", koji.max_in_flight);
    keep!("distgit.url", distgit.url);
    keep!("distgit.timeout_seconds", distgit.timeout);
    keep!("bodhi.url", bodhi.url);
    keep!("bodhi.timeout_seconds", bodhi.timeout);
    keep!("bodhi.auth", bodhi.auth);
    keep!("bodhi.oidc_issuer", bodhi.oidc_issuer);
    keep!("bodhi.client_id", bodhi.client_id);
    (new, changed)
}

fn reload(inputs: &Inputs, settings_tx: &watch::Sender<Arc<Settings>>, log: &LogHandle) {
    notify::reloading();
    info!("reloading configuration");
    match config::load(inputs) {
        Err(e) => error!(error = %e, "reload failed; keeping the running configuration"),
        Ok(new) => {
            let running = settings_tx.borrow().clone();
            let (new, needs_restart) = keep_restart_only(&running, new);
            for key in needs_restart {
                warn!(
                    key,
                    "changed in the configuration; takes effect after a restart"
                );
            }
            match log.set_level(&new.log.level) {
                Ok(true) => info!(level = %new.log.level, "log level applied"),
                Ok(false) => info!("RUST_LOG is set; log level left as it is"),
                Err(e) => warn!(error = %e, "cannot apply the log level"),
            }
            settings_tx.send_replace(Arc::new(new));
            info!("configuration reloaded");
        }
    }
    notify::ready();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        config::load(&Inputs {
            env: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Inputs::default()
        })
        .expect("valid settings")
    }

    #[test]
    fn reload_keeps_restart_only_values_and_applies_the_rest() {
        let running = settings(&[("FEDFLOW_BUS__URL", "amqp://a/%2F")]);
        let new = settings(&[
            ("FEDFLOW_BUS__URL", "amqp://b/%2F"),
            ("FEDFLOW_STATE__DIR", "/elsewhere"),
            ("FEDFLOW_BUS__TOPICS", "buildsys.tag"),
            ("FEDFLOW_BUS__PREFETCH", "5"),
        ]);
        let (applied, needs_restart) = keep_restart_only(&running, new);
        assert_eq!(needs_restart, vec!["bus.url", "state.dir"]);
        assert_eq!(applied.bus.url, running.bus.url);
        assert_eq!(applied.state.dir, running.state.dir);
        assert_eq!(applied.bus.topics, vec!["buildsys.tag"]);
        assert_eq!(applied.bus.prefetch, 5);
        assert!(keep_restart_only(&running, running.clone()).1.is_empty());
    }

    #[test]
    fn the_shard_changes_only_at_a_restart() {
        let running = settings(&[("FEDFLOW_BUS__SHARD", "0/2")]);
        let new = settings(&[("FEDFLOW_BUS__SHARD", "1/2")]);
        let (applied, needs_restart) = keep_restart_only(&running, new);
        assert_eq!(needs_restart, vec!["bus.shard"]);
        assert_eq!(applied.bus.shard, running.bus.shard);
    }
}
