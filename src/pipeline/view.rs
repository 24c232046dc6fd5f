//! How pipelines are looked at from outside: the filter `fedflow pipelines` and the status page share, and
//! the links of a pipeline (its commit on dist-git, its Koji task, its Bodhi update).

use super::{Pipeline, RetryState, Stage};
use crate::config::Settings;
use serde::Serialize;

/// The newest pipelines a listing looks at; older ones stay in the store until purged.
pub const LISTED: usize = 5000;

/// Which pipelines to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub package: Option<String>,
    pub branch: Option<String>,
    pub state: Option<String>,
    pub limit: usize,
}

impl Filter {
    pub fn admits(&self, pipeline: &Pipeline) -> bool {
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

    /// The admitted pipelines of `all` (newest first, as the store lists them), at most `limit`.
    pub fn apply(&self, all: impl IntoIterator<Item = Pipeline>) -> Vec<Pipeline> {
        all.into_iter()
            .filter(|p| self.admits(p))
            .take(self.limit)
            .collect()
    }
}

/// Where to look at a pipeline's parts in the services' own web pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Links {
    pub commit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub koji_task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bodhi_update: Option<String>,
}

impl Links {
    pub fn of(pipeline: &Pipeline, settings: &Settings) -> Links {
        Links {
            commit: settings
                .distgit
                .commit_url(&pipeline.key.package, &pipeline.key.commit),
            koji_task: pipeline.task_id().map(|id| settings.koji.task_url(id)),
            bodhi_update: pipeline
                .update_alias()
                .map(|alias| settings.bodhi.update_url(alias)),
        }
    }
}

/// Why a pipeline stopped or waits on someone, when it did: the reason an operator reads first.
pub fn problem(pipeline: &Pipeline) -> Option<String> {
    match &pipeline.stage {
        Stage::Failed { reason, .. } | Stage::NeedsAttention { reason } => Some(reason.clone()),
        _ => pipeline.retry.as_ref().map(retry_note),
    }
}

pub fn retry_note(retry: &RetryState) -> String {
    format!(
        "retrying (attempt {}): {}",
        retry.attempts + 1,
        retry.last_error
    )
}

/// One line on where a pipeline stands, with the link that matters at that stage.
pub fn describe(p: &Pipeline, settings: &Settings) -> String {
    let koji = &settings.koji;
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
            "{} in {alias} ({status}) {}",
            p.nvr().unwrap_or_default(),
            settings.bodhi.update_url(alias)
        ),
        Stage::NeedsAttention { reason } => reason.clone(),
    }
}
