//! The lifecycle of one pipeline — a dist-git push carried to a Koji build — as one enum with one method
//! per allowed transition. Every transition is appended to the pipeline's history.

use crate::message::DistGitPush;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What identifies a push: building it twice is what fedflow must never do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PushKey {
    pub package: String,
    pub branch: String,
    /// The pushed `end_commit` (40 hex).
    pub commit: String,
}

impl PushKey {
    /// The store key: `package\0branch\0commit`.
    pub fn encode(&self) -> Vec<u8> {
        format!("{}\0{}\0{}", self.package, self.branch, self.commit).into_bytes()
    }
}

impl fmt::Display for PushKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.commit.get(..10).unwrap_or(&self.commit);
        write!(f, "{} {} {short}", self.package, self.branch)
    }
}

/// What the push message said about the push, kept for the policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PushFacts {
    /// `rpms` for packages.
    pub namespace: Option<String>,
    /// `rpms/foo`, or `forks/user/rpms/foo`.
    pub repository: Option<String>,
    pub fork: bool,
    /// The branch was deleted (`end_commit` is all zeros).
    pub deleted: bool,
    /// Whether a `.spec` file changed; `None` when the message did not list the changed files.
    pub spec_changed: Option<bool>,
}

impl PushFacts {
    pub fn of(push: &DistGitPush) -> PushFacts {
        PushFacts {
            namespace: push.repo.namespace.clone(),
            repository: Some(push.repo.full_name()),
            fork: push.repo.is_fork(),
            deleted: !push.end_commit.is_empty() && push.end_commit.bytes().all(|b| b == b'0'),
            spec_changed: push
                .changed_files
                .as_ref()
                .map(|files| files.keys().any(|path| path.ends_with(".spec"))),
        }
    }
}

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
    Built {
        target: String,
        task_id: i64,
        build_id: i64,
        nvr: String,
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
            Stage::Failed { .. } => "failed",
            Stage::Canceled { .. } => "canceled",
        }
    }

    /// No further transition happens without an operator (`fedflow retry`).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Stage::Skipped { .. }
                | Stage::WouldSubmit { .. }
                | Stage::Built { .. }
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

    pub fn nvr(&self) -> Option<&str> {
        match self {
            Stage::Built { nvr, .. } => Some(nvr),
            _ => None,
        }
    }
}

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
    pub created_at: u64,
    pub updated_at: u64,
    pub stage: Stage,
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
            created_at: now,
            updated_at: now,
            stage: Stage::Received,
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

    fn record(&mut self, now: u64, note: String) {
        self.updated_at = now;
        self.history.push(Transition {
            at: now,
            state: self.stage.name().to_owned(),
            note,
        });
    }

    fn refuse(&self, action: &'static str) -> TransitionError {
        TransitionError {
            id: self.id,
            action,
            state: self.stage.name(),
        }
    }

    fn enter(&mut self, stage: Stage, now: u64, note: String) {
        self.stage = stage;
        self.retry = None;
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

    /// Koji accepted (or an existing task was adopted: `how` says which).
    pub fn submitted(&mut self, task_id: i64, how: &str, now: u64) -> Step {
        match &self.stage {
            Stage::Submitting { target, .. } => {
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
                let stage = Stage::Building {
                    target: target.clone(),
                    task_id,
                    build_id,
                };
                self.enter(stage, now, format!("building: build {build_id}"));
                Ok(())
            }
            _ => Err(self.refuse("mark building")),
        }
    }

    pub fn built(&mut self, task_id: i64, build_id: i64, nvr: String, now: u64) -> Step {
        match &self.stage {
            Stage::Submitting { target, .. }
            | Stage::Submitted { target, .. }
            | Stage::Building { target, .. } => {
                let note = format!("built {nvr} (build {build_id})");
                let stage = Stage::Built {
                    target: target.clone(),
                    task_id,
                    build_id,
                    nvr,
                };
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

    /// An operator asked for another go: failed and canceled pipelines start over from the policy.
    pub fn requeue(&mut self, by: &str, now: u64) -> Step {
        match self.stage {
            Stage::Failed { .. } | Stage::Canceled { .. } => {
                self.enter(Stage::Received, now, format!("retry requested by {by}"));
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
}

fn scratch_note(scratch: bool) -> &'static str {
    if scratch { " (scratch)" } else { "" }
}
