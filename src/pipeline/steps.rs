//! A pipeline's forward steps: the policy's decision, then the Koji submission — with a search for an
//! earlier submission of the same source first, so a crash or a timeout after Koji accepted a build never
//! leads to a second one. The steps after the build are in `update_steps`.

use super::engine::{Shared, unix_now_ms};
use super::policy::Verdict;
use super::update_steps;
use super::work::may_update;
use super::{Pipeline, Stage, pipeline_event, unix_now};
use crate::config::Settings;
use crate::koji::{FaultCode, KojiError};
use crate::message::BuildState;
use crate::message::TaskState;
use crate::store::StoreError;
use std::time::Duration;

/// First retry delay of a failing remote step; doubles up to `koji.retry_max_seconds`.
const FIRST_RETRY: Duration = Duration::from_secs(2);

/// Runs the pipeline's forward steps until it waits on something (Koji, a retry, nothing).
pub(super) async fn advance(
    shared: &Shared,
    settings: &Settings,
    id: u64,
) -> Result<(), StoreError> {
    loop {
        let Some(pipeline) = shared.store.pipeline(id)? else {
            return Ok(());
        };
        if !pipeline.is_due(unix_now_ms()) {
            return Ok(());
        }
        let progressed = match &pipeline.stage {
            Stage::Received => decide(shared, settings, &pipeline).await?,
            Stage::Submitting { target, scratch } => {
                let (target, scratch) = (target.clone(), *scratch);
                let _slot = shared.submit_slots.acquire().await;
                submit(shared, settings, &pipeline, &target, scratch).await?
            }
            Stage::Built {
                update_pending: true,
                ..
            } => update_steps::decide(shared, settings, &pipeline).await?,
            Stage::AwaitingTag { .. } => {
                update_steps::wait_for_tag(shared, settings, &pipeline).await?
            }
            Stage::CreatingUpdate { .. } => {
                update_steps::create(shared, settings, &pipeline).await?
            }
            Stage::AwaitingAutomaticUpdate { .. } => {
                update_steps::check_automatic(shared, settings, &pipeline).await?
            }
            _ => false,
        };
        if !progressed {
            return Ok(());
        }
    }
}

/// Applies `change` to the stored pipeline; a transition the stage no longer allows (a message moved the
/// pipeline meanwhile) is logged and ignored. Returns whether the pipeline moved.
pub(super) fn transition(
    shared: &Shared,
    id: u64,
    change: impl Fn(&mut Pipeline) -> Result<(), super::TransitionError>,
) -> Result<bool, StoreError> {
    match shared.store.update_pipeline(id, None, change)? {
        Some((pipeline, Ok(()))) => {
            pipeline_event!(info, pipeline, message_id = pipeline.journal_id(), state = pipeline.stage.name(), note = %last_note(&pipeline), "pipeline moved");
            Ok(true)
        }
        Some((pipeline, Err(refused))) => {
            pipeline_event!(debug, pipeline, error = %refused, "transition no longer applies");
            Ok(false)
        }
        None => Ok(false),
    }
}

fn last_note(pipeline: &Pipeline) -> &str {
    pipeline.history.last().map_or("", |t| t.note.as_str())
}

/// A remote step failed: try again later, or give up after `koji.max_attempts`.
pub(super) fn defer_or_fail(
    shared: &Shared,
    settings: &Settings,
    pipeline: &Pipeline,
    what: &str,
    error: String,
) -> Result<bool, StoreError> {
    let attempts = pipeline.attempts() + 1;
    if attempts >= settings.koji.max_attempts {
        let reason = format!("{what} failed {attempts} times; last error: {error}");
        return transition(shared, pipeline.id, |p| {
            p.fail(reason.clone(), None, unix_now())
        });
    }
    let delay = retry_delay(attempts, settings.koji.retry_max);
    let next_at_ms = unix_now_ms() + u64::try_from(delay.as_millis()).unwrap_or(u64::MAX / 2);
    pipeline_event!(warn, pipeline, attempt = attempts, retry_in_seconds = delay.as_secs(), error = %error, "{what} failed; will retry");
    let message = format!("{what}: {error}");
    shared.store.update_pipeline(pipeline.id, None, |p| {
        p.defer(message.clone(), next_at_ms, unix_now())
    })?;
    Ok(false)
}

/// 2 s, 4 s, 8 s, … capped, moved by up to 20 % either way.
pub fn retry_delay(attempts: u32, cap: Duration) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    let base = FIRST_RETRY.saturating_mul(1 << exponent).min(cap);
    crate::bus::jittered(base).min(cap)
}

async fn decide(
    shared: &Shared,
    settings: &Settings,
    pipeline: &Pipeline,
) -> Result<bool, StoreError> {
    let policy = shared.policy(settings);
    match policy.decide(pipeline).await {
        Ok(Verdict::Skip(reason)) => {
            transition(shared, pipeline.id, |p| p.skip(reason.clone(), unix_now()))?;
            Ok(false)
        }
        Ok(Verdict::Build {
            target,
            scratch,
            rule,
        }) => transition(shared, pipeline.id, |p| {
            p.decide_build(target.clone(), scratch, rule.clone(), unix_now())
        }),
        Err(e) if e.is_transient() => {
            defer_or_fail(shared, settings, pipeline, "deciding", e.to_string())
        }
        Err(e) => {
            let reason = format!("cannot decide: {e}");
            transition(shared, pipeline.id, |p| {
                p.fail(reason.clone(), None, unix_now())
            })?;
            Ok(false)
        }
    }
}

/// What a search for an earlier submission found.
enum Earlier {
    Task(i64),
    Build {
        task_id: i64,
        build_id: i64,
        nvr: String,
        owner: Option<String>,
        state: BuildState,
    },
}

#[derive(Debug, thiserror::Error)]
enum SubmitError {
    #[error(transparent)]
    Koji(#[from] KojiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn submit(
    shared: &Shared,
    settings: &Settings,
    pipeline: &Pipeline,
    target: &str,
    scratch: bool,
) -> Result<bool, StoreError> {
    let error = match try_submit(shared, settings, pipeline, target, scratch).await {
        Ok(moved) => return Ok(moved),
        Err(SubmitError::Store(e)) => return Err(e),
        Err(SubmitError::Koji(e)) => e,
    };
    if error.is_already_built() {
        let reason = format!("already built in Koji: {error}");
        transition(shared, pipeline.id, |p| p.skip(reason.clone(), unix_now()))?;
        return Ok(false);
    }
    // RetryError and SequenceError mean a call may have been processed: the next attempt starts with the
    // search for an earlier submission, never with a blind resend.
    if error.is_transient() || may_have_been_processed(&error) {
        return defer_or_fail(
            shared,
            settings,
            pipeline,
            "submitting to Koji",
            error.to_string(),
        );
    }
    let reason = format!("Koji refused the build: {error}");
    transition(shared, pipeline.id, |p| {
        p.fail(reason.clone(), None, unix_now())
    })?;
    Ok(false)
}

async fn try_submit(
    shared: &Shared,
    settings: &Settings,
    pipeline: &Pipeline,
    target: &str,
    scratch: bool,
) -> Result<bool, SubmitError> {
    let koji = &shared.remotes.koji;
    if !check_target(shared, target).await? {
        let reason = format!("Koji has no build target {target}");
        return Ok(transition(shared, pipeline.id, |p| {
            p.fail(reason.clone(), None, unix_now())
        })?);
    }
    if let Some(earlier) = find_earlier(shared, &pipeline.source_url, target).await? {
        let now = unix_now();
        let moved = match earlier {
            Earlier::Task(task_id) => {
                transition(shared, pipeline.id, |p| p.submitted(task_id, false, now))?
            }
            Earlier::Build {
                task_id,
                build_id,
                nvr,
                owner,
                state: BuildState::Complete,
            } => transition(shared, pipeline.id, |p| {
                let build = p.build_of(task_id, build_id, nvr.clone(), owner.clone());
                p.built(build, may_update(settings, &p.key.package), now)
            })?,
            Earlier::Build {
                task_id, build_id, ..
            } => transition(shared, pipeline.id, |p| p.building(task_id, build_id, now))?,
        };
        return Ok(moved);
    }
    if !koji.can_submit() {
        return Ok(transition(shared, pipeline.id, |p| {
            p.would_submit(unix_now())
        })?);
    }
    pipeline_event!(info, pipeline, target, source = %pipeline.source_url, "submitting Koji build");
    // On disk before the call: after a crash, the task this call makes must be known as fedflow's own.
    shared
        .store
        .update_pipeline(pipeline.id, None, Pipeline::calling_build)?;
    shared.store.flush().await?;
    let task_id = koji.build(&pipeline.source_url, target, scratch).await?;
    // A build message may have moved the pipeline already: the task is ours all the same.
    Ok(transition(shared, pipeline.id, |p| {
        p.own_task(task_id);
        p.submitted(task_id, true, unix_now())
    })?)
}

/// Whether Koji knows `target`. A known target is remembered for the run; an unknown one is asked again
/// next time (an admin may create it, then `fedflow retry`).
async fn check_target(shared: &Shared, target: &str) -> Result<bool, KojiError> {
    let known = shared
        .targets
        .lock()
        .is_ok_and(|targets| targets.contains(target));
    if known {
        return Ok(true);
    }
    let exists = shared
        .remotes
        .koji
        .get_build_target(target)
        .await?
        .is_some();
    if exists && let Ok(mut targets) = shared.targets.lock() {
        targets.insert(target.to_owned());
    }
    Ok(exists)
}

/// An open task, or a building or completed build, of exactly this source in this target (any owner).
async fn find_earlier(
    shared: &Shared,
    source_url: &str,
    target: &str,
) -> Result<Option<Earlier>, KojiError> {
    let koji = &shared.remotes.koji;
    let tasks = koji.find_open_build_tasks(source_url, None).await?;
    if let Some(task) = tasks
        .iter()
        .find(|t| request_target(&t.request) == Some(target))
    {
        return Ok(Some(Earlier::Task(task.id)));
    }
    for build in koji.list_builds_by_source(source_url).await? {
        if !matches!(build.state, BuildState::Building | BuildState::Complete) {
            continue;
        }
        let Some(task_id) = build.task_id else {
            continue;
        };
        // The same commit may be built for several branches: only a build for this target counts.
        let task = koji.get_task_info(task_id).await?;
        if task.as_ref().is_some_and(|t| {
            request_target(&t.request) == Some(target) && t.state != TaskState::Failed
        }) {
            return Ok(Some(Earlier::Build {
                task_id,
                build_id: build.build_id,
                nvr: build.nvr,
                owner: build.owner_name,
                state: build.state,
            }));
        }
    }
    Ok(None)
}

/// The target of a `build` task's `[source, target, opts]` request.
pub(super) fn request_target(request: &[serde_json::Value]) -> Option<&str> {
    request.get(1).and_then(|v| v.as_str())
}

/// RetryError and SequenceError: the hub may have processed a call whose answer was lost.
fn may_have_been_processed(error: &KojiError) -> bool {
    matches!(
        error.fault_code(),
        Some(FaultCode::RetryError | FaultCode::SequenceError)
    )
}
