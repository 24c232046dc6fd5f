//! `fedflow pipelines` and `fedflow retry`: read from the running daemon over the control socket, or from
//! the store when no daemon runs.

use crate::config::Settings;
use crate::daemon::control;
use crate::pipeline::{self, Pipeline};
use crate::status::format_time;
use crate::store::{Store, StoreError};
use anyhow::Context;
use std::fmt::Write;
use std::time::Duration;

/// How long to wait for a starting daemon's socket, or for a short-lived reader's store lock.
const PATIENCE: Duration = Duration::from_secs(3);

/// Which pipelines to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub package: Option<String>,
    pub branch: Option<String>,
    pub state: Option<String>,
    pub limit: usize,
}

impl Filter {
    fn admits(&self, pipeline: &Pipeline) -> bool {
        self.package
            .as_ref()
            .is_none_or(|p| *p == pipeline.key.package)
            && self
                .branch
                .as_ref()
                .is_none_or(|b| *b == pipeline.key.branch)
            && self
                .state
                .as_ref()
                .is_none_or(|s| s == pipeline.stage.name())
    }
}

pub async fn list(settings: &Settings, filter: &Filter) -> anyhow::Result<Vec<Pipeline>> {
    let all: Vec<Pipeline> = match ask(settings, "pipelines").await? {
        Some(value) => serde_json::from_value(value).context("reading the daemon's answer")?,
        None => with_store(settings, |store| Ok(store.pipelines(usize::MAX)?))?,
    };
    Ok(all
        .into_iter()
        .filter(|p| filter.admits(p))
        .take(filter.limit)
        .collect())
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
    let dir = &settings.state.dir;
    match Store::open_waiting(dir, PATIENCE) {
        Ok(store) => read(&store),
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
            detail(p, settings)
        );
        if let Some(retry) = &p.retry {
            let _ = writeln!(
                out,
                "       retrying (attempt {}): {}",
                retry.attempts + 1,
                retry.last_error
            );
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

fn detail(p: &Pipeline, settings: &Settings) -> String {
    let koji = &settings.koji;
    use crate::pipeline::Stage;
    let task_link = |task_id: i64| koji.task_url(task_id);
    match &p.stage {
        Stage::Received => "waiting for the policy".to_owned(),
        Stage::Skipped { reason } => reason.clone(),
        Stage::Submitting { target, .. } => format!("submitting to {target}"),
        Stage::WouldSubmit { target, .. } => format!("would build in {target} (observe-only)"),
        Stage::Submitted { target, task_id }
        | Stage::Building {
            target, task_id, ..
        } => format!("{target} {}", task_link(*task_id)),
        Stage::Built { nvr, task_id, .. } => format!("{nvr} {}", task_link(*task_id)),
        Stage::Failed {
            reason, task_id, ..
        } => match task_id {
            Some(task_id) => format!("{reason} {}", task_link(*task_id)),
            None => reason.clone(),
        },
        Stage::Canceled { task_id, .. } => format!("canceled {}", task_link(*task_id)),
        Stage::AwaitingTag {
            candidate_tag,
            release,
            ..
        } => format!(
            "{} waiting for the tag {candidate_tag} ({release})",
            p.nvr().unwrap_or_default()
        ),
        Stage::CreatingUpdate { release } => {
            format!(
                "creating the {release} update of {}",
                p.nvr().unwrap_or_default()
            )
        }
        Stage::WouldCreateUpdate { release } => format!(
            "would create the {release} update of {} (observe-only)",
            p.nvr().unwrap_or_default()
        ),
        Stage::AwaitingAutomaticUpdate { release, .. } => format!(
            "{} waiting for Bodhi's automatic {release} update",
            p.nvr().unwrap_or_default()
        ),
        Stage::Update { alias, status, .. } => format!(
            "{} in {alias} ({status}) {}/updates/{alias}",
            p.nvr().unwrap_or_default(),
            settings.bodhi.url
        ),
        Stage::NeedsAttention { reason } => reason.clone(),
    }
}
