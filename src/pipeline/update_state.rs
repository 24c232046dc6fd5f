//! The transitions after the build: deciding whether a Bodhi update is due, waiting for the candidate tag,
//! creating or adopting the update, checking Bodhi's automatic update, and following the update's status.

use super::state::{Pipeline, Stage, TransitionError, UpdateOrigin};
use crate::config::BodhiUpdateRule;
use serde::{Deserialize, Serialize};

type Step = Result<(), TransitionError>;

/// The Koji build a pipeline produced or adopted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltBuild {
    pub target: String,
    pub task_id: i64,
    pub build_id: i64,
    pub nvr: String,
    /// The Koji account that owns the build, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// fedflow submitted the task itself (so the build is under its own identity).
    #[serde(default)]
    pub ours: bool,
}

impl BuiltBuild {
    pub(super) fn stage(&self, update_pending: bool) -> Stage {
        Stage::Built {
            target: self.target.clone(),
            task_id: self.task_id,
            build_id: self.build_id,
            nvr: self.nvr.clone(),
            update_pending,
        }
    }
}

/// How the update is made: decided once, kept for the creation step (a reload does not change a decided
/// pipeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdatePlan {
    /// Bodhi's release name (`F43`).
    pub release: String,
    /// The release's stable Koji tag: its latest build there is the baseline of the update's changelog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_tag: Option<String>,
    pub rule: BodhiUpdateRule,
    /// Where the rule came from (`central config`, `.packit.yaml at rawhide`).
    pub source: String,
}

impl Pipeline {
    fn update_pending(&self) -> bool {
        matches!(
            self.stage,
            Stage::Built {
                update_pending: true,
                ..
            }
        )
    }

    /// The release the update decision chose (empty before it).
    pub(super) fn planned_release(&self) -> String {
        self.update_plan
            .as_ref()
            .map_or_else(String::new, |plan| plan.release.clone())
    }

    /// A build of this push's source that fedflow did not submit completed (fedflow skipped the push, only
    /// observed it, or its own attempt failed).
    pub fn adopt_build(&mut self, build: BuiltBuild, update_pending: bool, now: u64) -> Step {
        match self.stage {
            Stage::Skipped { .. }
            | Stage::WouldSubmit { .. }
            | Stage::Failed { .. }
            | Stage::Canceled { .. } => {
                let note = format!(
                    "built {} (build {}, by {}; not submitted by fedflow)",
                    build.nvr,
                    build.build_id,
                    build.owner.as_deref().unwrap_or("an unknown owner")
                );
                let stage = build.stage(update_pending);
                self.build = Some(build);
                self.enter(stage, now, note);
                Ok(())
            }
            _ => Err(self.refuse("adopt a build")),
        }
    }

    /// No Bodhi update from fedflow for this build, and why.
    pub fn no_update(&mut self, reason: String, now: u64) -> Step {
        match (self.update_pending(), &self.build) {
            (true, Some(build)) => {
                let stage = build.stage(false);
                self.enter(stage, now, format!("no Bodhi update: {reason}"));
                Ok(())
            }
            _ => Err(self.refuse("decide on no update")),
        }
    }

    /// The update is due once Koji tags the build into `candidate_tag`.
    pub fn await_tag(
        &mut self,
        plan: UpdatePlan,
        candidate_tag: String,
        deadline: u64,
        now: u64,
    ) -> Step {
        if !self.update_pending() {
            return Err(self.refuse("wait for the candidate tag"));
        }
        let note = format!(
            "update due in {} ({}); waiting for the tag {candidate_tag}",
            plan.release, plan.source
        );
        let stage = Stage::AwaitingTag {
            release: plan.release.clone(),
            candidate_tag,
            deadline,
        };
        self.update_plan = Some(plan);
        self.enter(stage, now, note);
        Ok(())
    }

    /// Bodhi makes the update itself; fedflow checks at `check_at` that it did.
    pub fn await_automatic_update(&mut self, plan: UpdatePlan, check_at: u64, now: u64) -> Step {
        if !self.update_pending() {
            return Err(self.refuse("wait for the automatic update"));
        }
        let note = format!(
            "{} is not composed by Bodhi: Bodhi creates the update itself ({})",
            plan.release, plan.source
        );
        let stage = Stage::AwaitingAutomaticUpdate {
            release: plan.release.clone(),
            check_at,
        };
        self.update_plan = Some(plan);
        self.enter(stage, now, note);
        Ok(())
    }

    /// The build carries the candidate tag (`how`: a tag message, or Koji's answer to a poll).
    pub fn tagged(&mut self, how: &str, now: u64) -> Step {
        match &self.stage {
            Stage::AwaitingTag {
                release,
                candidate_tag,
                ..
            } => {
                let note = format!("tagged into {candidate_tag} ({how})");
                let stage = Stage::CreatingUpdate {
                    release: release.clone(),
                };
                self.enter(stage, now, note);
                Ok(())
            }
            _ => Err(self.refuse("record the candidate tag")),
        }
    }

    /// Nothing to do before `at` (Unix seconds): the next poll of a waiting stage.
    pub fn sleep_until(&mut self, at: u64) {
        self.wake_at = Some(at);
    }

    /// Observe-only mode for Bodhi stops here.
    pub fn would_create_update(&mut self, summary: String, now: u64) -> Step {
        match &self.stage {
            Stage::CreatingUpdate { release } => {
                let stage = Stage::WouldCreateUpdate {
                    release: release.clone(),
                };
                let note =
                    format!("would create update: {summary} (no Bodhi credentials: observe-only)");
                self.enter(stage, now, note);
                Ok(())
            }
            _ => Err(self.refuse("record a would-be update")),
        }
    }

    /// The build is in update `alias`.
    pub fn update_found(
        &mut self,
        alias: String,
        status: String,
        origin: UpdateOrigin,
        now: u64,
    ) -> Step {
        let release = match &self.stage {
            Stage::AwaitingTag { release, .. }
            | Stage::CreatingUpdate { release }
            | Stage::AwaitingAutomaticUpdate { release, .. } => release.clone(),
            Stage::NeedsAttention { .. } => self.planned_release(),
            _ => return Err(self.refuse("record the update")),
        };
        let verb = match origin {
            UpdateOrigin::Created => "created",
            UpdateOrigin::Adopted => "adopted existing",
            UpdateOrigin::Automatic => "found Bodhi's automatic",
        };
        let note = format!("{verb} update {alias} ({status})");
        let stage = Stage::Update {
            alias,
            status,
            release,
            origin,
        };
        self.enter(stage, now, note);
        Ok(())
    }

    /// Bodhi moved the update (`bodhi.update.request.*`, `bodhi.update.complete.*`).
    pub fn update_status(&mut self, new_status: String, note: String, now: u64) -> Step {
        match &mut self.stage {
            Stage::Update { status, .. } => {
                *status = new_status;
                self.retry = None;
                // The same message applied again (redelivery after a crash) adds nothing.
                if self.history.last().is_none_or(|t| t.note != note) {
                    self.record(now, note);
                }
                Ok(())
            }
            _ => Err(self.refuse("follow the update")),
        }
    }

    /// Bodhi's automatic update did not appear in time.
    pub fn needs_attention(&mut self, reason: String, now: u64) -> Step {
        match self.stage {
            Stage::AwaitingAutomaticUpdate { .. } => {
                let note = reason.clone();
                self.enter(Stage::NeedsAttention { reason }, now, note);
                Ok(())
            }
            _ => Err(self.refuse("ask for attention")),
        }
    }
}
