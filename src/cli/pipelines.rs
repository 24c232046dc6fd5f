//! `fedflow pipelines` and `fedflow retry`: read from the running daemon over the control socket, or from
//! the store when no daemon runs.

use crate::config::Settings;
use crate::daemon::control;
use crate::pipeline::view::{self, Filter};
use crate::pipeline::{self, Pipeline};
use crate::status::format_time;
use crate::store::{Store, StoreError};
use anyhow::Context;
use std::fmt::Write;
use std::time::Duration;

/// How long to wait for a starting daemon's socket, or for a short-lived reader's store lock.
const PATIENCE: Duration = Duration::from_secs(3);

pub async fn list(settings: &Settings, filter: &Filter) -> anyhow::Result<Vec<Pipeline>> {
    let all: Vec<Pipeline> = match ask(settings, "pipelines").await? {
        Some(value) => serde_json::from_value(value).context("reading the daemon's answer")?,
        None => with_store(settings, |store| Ok(store.pipelines(usize::MAX)?))?,
    };
    Ok(filter.apply(all))
}

pub async fn retry(settings: &Settings, id: u64) -> anyhow::Result<Pipeline> {
    match ask(settings, &format!("retry {id}")).await? {
        Some(value) => Ok(serde_json::from_value(value).context("reading the daemon's answer")?),
        // No daemon: the requeued pipeline is picked up when it starts.
        None => with_store(settings, |store| {
            pipeline::requeue(store, id, "fedflow retry")
        }),
    }
}

pub(super) async fn ask(
    settings: &Settings,
    request: &str,
) -> anyhow::Result<Option<serde_json::Value>> {
    control::query(&control::socket_path(&settings.state.dir), request).await
}

pub(super) fn with_store<T>(
    settings: &Settings,
    read: impl FnOnce(&Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    read(&open_store(settings)?)
}

/// The store, for a command that found no daemon to ask.
pub(super) fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let dir = &settings.state.dir;
    match Store::open_waiting(dir, PATIENCE) {
        Ok(store) => Ok(store),
        Err(e @ StoreError::Locked { .. }) => Err(anyhow::Error::new(e).context(format!(
            "a daemon holds the store but does not answer on {}",
            control::socket_path(dir).display()
        ))),
        Err(e) => Err(anyhow::Error::new(e).context("opening the store")),
    }
}

/// One line per pipeline, then its history indented.
pub fn render(pipelines: &[Pipeline], settings: &Settings) -> String {
    let mut out = String::new();
    if pipelines.is_empty() {
        out.push_str("no pipelines\n");
        return out;
    }
    for p in pipelines {
        let commit = p.key.commit.get(..10).unwrap_or(&p.key.commit);
        let _ = writeln!(
            out,
            "{:>5}  {} {} {commit}  {}  {}",
            p.id,
            p.key.package,
            p.key.branch,
            p.stage.name(),
            view::describe(p, settings)
        );
        if let Some(retry) = &p.retry {
            let _ = writeln!(out, "       {}", view::retry_note(retry));
        }
        for step in &p.history {
            let _ = writeln!(
                out,
                "       {}  {:<12} {}",
                format_time(step.at),
                step.state,
                step.note
            );
        }
    }
    out
}
