//! Where a pipeline is: the stages of its lifecycle, from the push to the Bodhi update, with the data each
//! stage needs. The transitions that move between them are methods of `Pipeline`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Stage {
    /// The push is recorded; the policy has not decided yet.
    Received,
    /// Not built, and why.
    Skipped {
        reason: String,
    },
    /// Decided to build. A `build` call may have reached Koji already (crash, timeout): before calling it
    /// (again), look for a task or build of `source_url` and adopt it.
    Submitting {
        target: String,
        scratch: bool,
    },
    /// Observe-only mode: the call that would have been made.
    WouldSubmit {
        target: String,
        scratch: bool,
    },
    /// Koji accepted the build task.
    Submitted {
        target: String,
        task_id: i64,
    },
    Building {
        target: String,
        task_id: i64,
        build_id: i64,
    },
    /// Koji built it. With `update_pending`, whether a Bodhi update is due is not decided yet.
    Built {
        target: String,
        task_id: i64,
        build_id: i64,
        nvr: String,
        #[serde(default, skip_serializing_if = "is_false")]
        update_pending: bool,
    },
    /// Waiting for Koji to tag the build into the release's candidate tag before the update is created.
    AwaitingTag {
        release: String,
        candidate_tag: String,
        /// Unix seconds: give up after this.
        deadline: u64,
    },
    /// The update is to be created. Bodhi may already have it (a crash after the POST): look it up first.
    CreatingUpdate {
        release: String,
    },
    /// Observe-only mode for Bodhi: the update that would have been created.
    WouldCreateUpdate {
        release: String,
    },
    /// Bodhi creates updates for this release itself; at `check_at` (Unix seconds) fedflow checks it did.
    AwaitingAutomaticUpdate {
        release: String,
        check_at: u64,
    },
    /// The build is in a Bodhi update: created by fedflow, adopted, or Bodhi's automatic one.
    Update {
        alias: String,
        /// Bodhi's status: `pending`, `testing`, `stable`, `obsolete`, …
        status: String,
        release: String,
        origin: UpdateOrigin,
    },
    /// Bodhi's automatic update did not appear: an operator should look.
    NeedsAttention {
        reason: String,
    },
    Failed {
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        task_id: Option<i64>,
    },
    Canceled {
        target: String,
        task_id: i64,
    },
}

impl Stage {
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Received => "received",
            Stage::Skipped { .. } => "skipped",
            Stage::Submitting { .. } => "submitting",
            Stage::WouldSubmit { .. } => "would_submit",
            Stage::Submitted { .. } => "submitted",
            Stage::Building { .. } => "building",
            Stage::Built { .. } => "built",
            Stage::AwaitingTag { .. } => "awaiting_tag",
            Stage::CreatingUpdate { .. } => "creating_update",
            Stage::WouldCreateUpdate { .. } => "would_create_update",
            Stage::AwaitingAutomaticUpdate { .. } => "awaiting_automatic_update",
            Stage::Update { status, .. } => match status.as_str() {
                "pending" => "update_pending",
                "testing" => "update_testing",
                "stable" => "update_stable",
                "obsolete" => "update_obsolete",
                "unpushed" => "update_unpushed",
                _ => "update",
            },
            Stage::NeedsAttention { .. } => "needs_attention",
            Stage::Failed { .. } => "failed",
            Stage::Canceled { .. } => "canceled",
        }
    }

    /// The journal `MESSAGE_ID` of entering this stage, if that is a lifecycle event. `built` tells a
    /// failure after the Koji build (of the update step) from a failure of the build itself.
    pub fn journal_id(&self, built: bool) -> Option<&'static str> {
        use crate::journal;
        Some(match self {
            Stage::Submitted { .. } => journal::BUILD_SUBMITTED,
            Stage::Built { .. } => journal::BUILD_FINISHED,
            Stage::Failed {
                task_id: Some(_), ..
            } if !built => journal::BUILD_FAILED,
            Stage::Failed { .. } => journal::PIPELINE_FAILED,
            Stage::Update {
                origin: UpdateOrigin::Created,
                ..
            } => journal::UPDATE_CREATED,
            Stage::Update { .. } => journal::UPDATE_FOUND,
            Stage::NeedsAttention { .. } => journal::NEEDS_ATTENTION,
            _ => return None,
        })
    }

    /// No further transition happens without an operator (`fedflow retry`).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Stage::Skipped { .. }
                | Stage::WouldSubmit { .. }
                | Stage::Built {
                    update_pending: false,
                    ..
                }
                | Stage::WouldCreateUpdate { .. }
                | Stage::Update { .. }
                | Stage::NeedsAttention { .. }
                | Stage::Failed { .. }
                | Stage::Canceled { .. }
        )
    }

    /// Waiting on Koji: the reconciler polls these when no message came.
    pub fn waits_on_koji(&self) -> bool {
        matches!(self, Stage::Submitted { .. } | Stage::Building { .. })
    }

    pub fn task_id(&self) -> Option<i64> {
        match self {
            Stage::Submitted { task_id, .. }
            | Stage::Building { task_id, .. }
            | Stage::Built { task_id, .. }
            | Stage::Canceled { task_id, .. } => Some(*task_id),
            Stage::Failed { task_id, .. } => *task_id,
            _ => None,
        }
    }

    pub fn target(&self) -> Option<&str> {
        match self {
            Stage::Submitting { target, .. }
            | Stage::WouldSubmit { target, .. }
            | Stage::Submitted { target, .. }
            | Stage::Building { target, .. }
            | Stage::Built { target, .. }
            | Stage::Canceled { target, .. } => Some(target),
            Stage::Failed { target, .. } => target.as_deref(),
            _ => None,
        }
    }
}

/// How the build's update came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateOrigin {
    /// fedflow's POST created it.
    Created,
    /// Bodhi had an update for the build already (someone else's, or fedflow's own before a crash).
    Adopted,
    /// Bodhi's automatic update of a release it does not compose.
    Automatic,
}

fn is_false(value: &bool) -> bool {
    !value
}
