//! The lifecycle of one pipeline — a dist-git push carried to a Koji build, and the build to a Bodhi update —
//! as one enum with one method per allowed transition. Every transition is appended to the pipeline's
//! history. The transitions of the build half are here; those after the build are in `update_state`.

pub use super::push::{PushFacts, PushKey};
pub use super::stage::{Stage, UpdateOrigin};
pub use super::update_state::{BuiltBuild, UpdatePlan};
use serde::{Deserialize, Serialize};

/// One entry of a pipeline's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// Unix seconds.
    pub at: u64,
    pub state: String,
    pub note: String,
}

/// A remote step that failed transiently and will be tried again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryState {
    pub attempts: u32,
    /// Unix milliseconds of the next attempt.
    pub next_at_ms: u64,
    pub last_error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub id: u64,
    pub key: PushKey,
    /// `git+https://src.fedoraproject.org/rpms/<package>.git#<commit>`.
    pub source_url: String,
    /// Who pushed (`pagure` for a merged pull request).
    pub agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request_id: Option<i64>,
    /// The message that created the pipeline.
    pub message_id: String,
    #[serde(default)]
    pub facts: PushFacts,
    /// Where the rule that decided came from (`central config`, `.packit.yaml at rawhide`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_source: Option<String>,
    /// Decided as a scratch build (no build row, no NVR in Koji).
    #[serde(default)]
    pub scratch: bool,
    /// The Koji task fedflow's own `build` call created (not an adopted one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_task: Option<i64>,
    /// fedflow's `build` call went out and its answer is not recorded (a timeout, a crash, or a message
    /// was faster): the task of this source that turns up next is that call's, fedflow's own.
    #[serde(default)]
    pub build_call_pending: bool,
    pub created_at: u64,
    pub updated_at: u64,
    pub stage: Stage,
    /// The build, once Koji completed it (kept through the update stages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuiltBuild>,
    /// How the Bodhi update is to be made, once decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_plan: Option<UpdatePlan>,
    /// Unix seconds before which the stage has nothing to do (the next poll of a waiting stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryState>,
    pub history: Vec<Transition>,
}

/// A transition the current stage does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pipeline {id}: cannot {action} when {state}")]
pub struct TransitionError {
    pub id: u64,
    pub action: &'static str,
    pub state: &'static str,
}

type Step = Result<(), TransitionError>;

impl Pipeline {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u64,
        key: PushKey,
        source_url: String,
        agent: String,
        pull_request_id: Option<i64>,
        message_id: String,
        facts: PushFacts,
        now: u64,
    ) -> Pipeline {
        let mut pipeline = Pipeline {
            id,
            key,
            source_url,
            agent,
            pull_request_id,
            message_id,
            facts,
            rule_source: None,
            scratch: false,
            submitted_task: None,
            build_call_pending: false,
            created_at: now,
            updated_at: now,
            stage: Stage::Received,
            build: None,
            update_plan: None,
            wake_at: None,
            retry: None,
            history: Vec::new(),
        };
        let note = match pipeline.pull_request_id {
            Some(pr) => format!("push by {} (PR #{pr})", pipeline.agent),
            None => format!("push by {}", pipeline.agent),
        };
        pipeline.record(now, note);
        pipeline
    }

    pub(super) fn record(&mut self, now: u64, note: String) {
        self.updated_at = now;
        self.history.push(Transition {
            at: now,
            state: self.stage.name().to_owned(),
            note,
        });
    }

    pub(super) fn refuse(&self, action: &'static str) -> TransitionError {
        TransitionError {
            id: self.id,
            action,
            state: self.stage.name(),
        }
    }

    pub(super) fn enter(&mut self, stage: Stage, now: u64, note: String) {
        self.stage = stage;
        self.retry = None;
        self.wake_at = None;
        self.record(now, note);
    }

    /// Not built: the policy said no, or Koji found the NVR already built.
    pub fn skip(&mut self, reason: String, now: u64) -> Step {
        match self.stage {
            Stage::Received | Stage::Submitting { .. } | Stage::Submitted { .. } => {
                let note = reason.clone();
                self.enter(Stage::Skipped { reason }, now, note);
                Ok(())
            }
            _ => Err(self.refuse("skip")),
        }
    }

    /// The policy decided to build in `target`.
    pub fn decide_build(&mut self, target: String, scratch: bool, rule: String, now: u64) -> Step {
        match self.stage {
            Stage::Received => {
                let note = format!("build in {target}{} ({rule})", scratch_note(scratch));
                self.rule_source = Some(rule);
                self.scratch = scratch;
                self.enter(Stage::Submitting { target, scratch }, now, note);
                Ok(())
            }
            _ => Err(self.refuse("decide to build")),
        }
    }

    /// fedflow never saw the push of a build it follows: the pipeline starts as skipped, for the build to
    /// be adopted.
    pub fn skip_unseen_push(&mut self, now: u64) {
        if self.stage == Stage::Received {
            let reason = "push not seen by fedflow".to_owned();
            self.enter(
                Stage::Skipped {
                    reason: reason.clone(),
                },
                now,
                reason,
            );
        }
    }

    /// The build record of a Koji build of this pipeline's source.
    pub fn build_of(
        &self,
        task_id: i64,
        build_id: i64,
        nvr: String,
        owner: Option<String>,
    ) -> BuiltBuild {
        BuiltBuild {
            target: self.target().unwrap_or_default().to_owned(),
            task_id,
            build_id,
            nvr,
            owner,
            ours: self.submitted_task == Some(task_id),
        }
    }

    /// Observe-only mode stops here.
    pub fn would_submit(&mut self, now: u64) -> Step {
        match &self.stage {
            Stage::Submitting { target, scratch } => {
                let note = format!(
                    "would submit build of {} in {target}{} (no Koji credentials: observe-only)",
                    self.source_url,
                    scratch_note(*scratch)
                );
                let stage = Stage::WouldSubmit {
                    target: target.clone(),
                    scratch: *scratch,
                };
                self.enter(stage, now, note);
                Ok(())
            }
            _ => Err(self.refuse("record a would-be submission")),
        }
    }

    /// Koji accepted fedflow's `build` call (`ours`), or an existing task of the source was adopted.
    pub fn submitted(&mut self, task_id: i64, ours: bool, now: u64) -> Step {
        match &self.stage {
            Stage::Submitting { target, .. } => {
                let how = if ours {
                    "submitted"
                } else if self.build_call_pending {
                    "found the task of its own build call, whose answer was lost"
                } else {
                    "adopted an existing task of this commit"
                };
                if ours || self.build_call_pending {
                    self.build_call_pending = false;
                    self.submitted_task = Some(task_id);
                }
                let stage = Stage::Submitted {
                    target: target.clone(),
                    task_id,
                };
                self.enter(stage, now, format!("{how}: task {task_id}"));
                Ok(())
            }
            _ => Err(self.refuse("record the build task")),
        }
    }

    /// The build row exists and is building.
    pub fn building(&mut self, task_id: i64, build_id: i64, now: u64) -> Step {
        match &self.stage {
            Stage::Submitting { target, .. } | Stage::Submitted { target, .. } => {
                let target = target.clone();
                self.claim_if_pending(task_id);
                let stage = Stage::Building {
                    target,
                    task_id,
                    build_id,
                };
                self.enter(stage, now, format!("building: build {build_id}"));
                Ok(())
            }
            _ => Err(self.refuse("mark building")),
        }
    }

    /// Koji completed the build fedflow submitted (or adopted while submitting). `update_pending`: whether
    /// a Bodhi update may follow, so the update step still has to decide.
    pub fn built(&mut self, mut build: BuiltBuild, update_pending: bool, now: u64) -> Step {
        match &self.stage {
            Stage::Submitting { target, .. }
            | Stage::Submitted { target, .. }
            | Stage::Building { target, .. } => {
                let target = target.clone();
                self.claim_if_pending(build.task_id);
                build.ours |= self.submitted_task == Some(build.task_id);
                let note = format!("built {} (build {})", build.nvr, build.build_id);
                let stage = Stage::Built {
                    target,
                    task_id: build.task_id,
                    build_id: build.build_id,
                    nvr: build.nvr.clone(),
                    update_pending,
                };
                self.build = Some(build);
                self.enter(stage, now, note);
                Ok(())
            }
            _ => Err(self.refuse("mark built")),
        }
    }

    /// A permanent failure: of the build itself, or of a step before it.
    pub fn fail(&mut self, reason: String, task_id: Option<i64>, now: u64) -> Step {
        if self.stage.is_terminal() {
            return Err(self.refuse("fail"));
        }
        let target = self.stage.target().map(str::to_owned);
        let task_id = task_id.or(self.stage.task_id());
        let note = reason.clone();
        self.enter(
            Stage::Failed {
                reason,
                target,
                task_id,
            },
            now,
            note,
        );
        Ok(())
    }

    pub fn cancel(&mut self, task_id: i64, now: u64) -> Step {
        match &self.stage {
            Stage::Submitting { target, .. }
            | Stage::Submitted { target, .. }
            | Stage::Building { target, .. } => {
                let stage = Stage::Canceled {
                    target: target.clone(),
                    task_id,
                };
                self.enter(stage, now, format!("task {task_id} canceled"));
                Ok(())
            }
            _ => Err(self.refuse("mark canceled")),
        }
    }

    /// An operator asked for another go: failed and canceled pipelines start over from the policy, or,
    /// when the build exists, from the update decision; a pipeline needing attention looks for its update
    /// again.
    pub fn requeue(&mut self, by: &str, now: u64) -> Step {
        let note = format!("retry requested by {by}");
        match (&self.stage, &self.build) {
            (Stage::Failed { .. }, Some(build)) => {
                let stage = build.stage(true);
                self.enter(stage, now, note);
                Ok(())
            }
            (Stage::Failed { .. } | Stage::Canceled { .. }, _) => {
                self.enter(Stage::Received, now, note);
                Ok(())
            }
            (Stage::NeedsAttention { .. }, Some(_)) => {
                let release = self.planned_release();
                self.enter(
                    Stage::AwaitingAutomaticUpdate {
                        release,
                        check_at: now,
                    },
                    now,
                    note,
                );
                Ok(())
            }
            _ => Err(self.refuse("retry")),
        }
    }

    /// A remote step failed transiently: stay in this stage and try again at `next_at_ms`.
    pub fn defer(&mut self, error: String, next_at_ms: u64, now: u64) {
        let attempts = self.retry.as_ref().map_or(0, |r| r.attempts) + 1;
        self.updated_at = now;
        self.retry = Some(RetryState {
            attempts,
            next_at_ms,
            last_error: error,
        });
    }

    pub fn attempts(&self) -> u32 {
        self.retry.as_ref().map_or(0, |r| r.attempts)
    }

    /// The Koji task: of the stage, or of the build once past it.
    pub fn task_id(&self) -> Option<i64> {
        self.stage
            .task_id()
            .or(self.build.as_ref().map(|b| b.task_id))
    }

    pub fn target(&self) -> Option<&str> {
        self.stage
            .target()
            .or(self.build.as_ref().map(|b| b.target.as_str()))
    }

    pub fn nvr(&self) -> Option<&str> {
        self.build
            .as_ref()
            .map(|b| b.nvr.as_str())
            .or(match &self.stage {
                Stage::Built { nvr, .. } => Some(nvr.as_str()),
                _ => None,
            })
    }

    pub fn update_alias(&self) -> Option<&str> {
        match &self.stage {
            Stage::Update { alias, .. } => Some(alias),
            _ => None,
        }
    }

    /// The journal `MESSAGE_ID` of the last transition, if it entered a lifecycle event's stage. A change
    /// within a stage (Bodhi's update status, a settled update decision) is no new event.
    pub fn journal_id(&self) -> Option<&'static str> {
        fn family(state: &str) -> &str {
            if state.starts_with("update") {
                "update"
            } else {
                state
            }
        }
        let mut states = self.history.iter().rev().map(|t| family(&t.state));
        if let (Some(current), Some(previous)) = (states.next(), states.next())
            && current == previous
        {
            return None;
        }
        self.stage.journal_id(self.build.is_some())
    }

    /// Whether the next step is due: no retry pending and no wait set for later.
    pub fn is_due(&self, now_ms: u64) -> bool {
        self.retry.as_ref().is_none_or(|r| r.next_at_ms <= now_ms)
            && self
                .wake_at
                .is_none_or(|at| at.saturating_mul(1000) <= now_ms)
    }
}

fn scratch_note(scratch: bool) -> &'static str {
    if scratch { " (scratch)" } else { "" }
}
