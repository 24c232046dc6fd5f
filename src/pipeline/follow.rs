//! Following a build to its end: `buildsys.build.state.change` messages move pipelines, and the reconciler
//! polls Koji for pipelines no message moved for too long (packit-service#2616).

use super::engine::Shared;
use super::steps::transition;
use super::work::{is_watched, may_update};
use super::{Pipeline, PushFacts, PushKey, Stage, TransitionError, pipeline_event, unix_now};
use crate::config::Settings;
use crate::message::TaskState;
use crate::message::{BuildState, KojiBuildStateChange};
use crate::store::{Created, Store, StoreError};
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

/// A Koji build of a watched package, whoever submitted it (the Bodhi step reads these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildRecord {
    pub build_id: i64,
    pub nvr: String,
    pub package: String,
    pub owner: String,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The pipeline that submitted it, when fedflow did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<u64>,
    pub message_id: String,
    pub updated_at: u64,
}

/// Applies a build state change to its pipeline (by task id, else by source and target) and records
/// builds of watched packages.
pub(super) fn take_build_state(
    store: &Store,
    settings: &Settings,
    inbox_key: u64,
    message_id: &str,
    change: &KojiBuildStateChange,
) -> Result<(), StoreError> {
    let by_task = match change.task_id {
        Some(task_id) => store.pipeline_by_task(task_id)?,
        None => None,
    };
    let pipeline = match by_task {
        Some(pipeline) => Some(pipeline),
        None => match (
            change.request.first().and_then(|v| v.as_str()),
            change.target(),
        ) {
            (Some(source), Some(target)) => store.pipeline_by_source(source, target)?,
            _ => None,
        },
    };
    if is_watched(settings, &change.name) || pipeline.is_some() {
        let record = BuildRecord {
            build_id: change.build_id,
            nvr: change.nvr(),
            package: change.name.clone(),
            owner: change.owner.clone(),
            state: change.new.to_string(),
            task_id: change.task_id,
            target: change.target().map(str::to_owned),
            source: change
                .request
                .first()
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            pipeline: pipeline.as_ref().map(|p| p.id),
            message_id: message_id.to_owned(),
            updated_at: unix_now(),
        };
        store.record_build(change.build_id, &record)?;
    }
    let update_pending = may_update(settings, &change.name);
    let pipeline = match pipeline {
        Some(pipeline) => pipeline,
        None if change.new == BuildState::Complete && update_pending => {
            match foreign_pipeline(store, settings, inbox_key, message_id, change)? {
                Some(pipeline) => pipeline,
                None => return Ok(()),
            }
        }
        None => {
            store.remove_inbox(inbox_key)?;
            return Ok(());
        }
    };
    let task_id = change.task_id.or(pipeline.task_id()).unwrap_or(0);
    let nvr = change.nvr();
    let now = unix_now();
    let moved = store.update_pipeline(pipeline.id, Some(inbox_key), |p| match change.new {
        BuildState::Building => p.building(task_id, change.build_id, now),
        BuildState::Complete => {
            let mut build = p.build_of(
                task_id,
                change.build_id,
                nvr.clone(),
                Some(change.owner.clone()),
            );
            if build.target.is_empty() {
                build.target = change.target().unwrap_or_default().to_owned();
            }
            if p.stage.is_terminal() {
                p.adopt_build(build, update_pending, now)
            } else {
                p.built(build, update_pending, now)
            }
        }
        BuildState::Failed => p.fail(format!("Koji build {nvr} failed"), Some(task_id), now),
        BuildState::Canceled => p.cancel(task_id, now),
        BuildState::Deleted | BuildState::Other(_) => Ok(()),
    })?;
    report_message_move(moved, message_id, "build");
    Ok(())
}

/// Logs what a message did to its pipeline: moved it (with the new state), or nothing because the stage no
/// longer allows it. Returns the pipeline when it moved.
pub(super) fn report_message_move(
    moved: Option<(Pipeline, Result<(), TransitionError>)>,
    message_id: &str,
    kind: &str,
) -> Option<u64> {
    match moved? {
        (pipeline, Ok(())) => {
            pipeline_event!(
                info,
                pipeline,
                message_id = pipeline.journal_id(),
                amqp_message_id = message_id,
                state = pipeline.stage.name(),
                "pipeline moved by a {kind} message"
            );
            Some(pipeline.id)
        }
        (pipeline, Err(refused)) => {
            pipeline_event!(debug, pipeline, amqp_message_id = message_id, error = %refused, "{kind} message does not apply");
            None
        }
    }
}

/// A completed build fedflow did not submit, of a package whose builds may get updates: the pipeline of
/// its push (source commit, branch of its target), created from the build when fedflow never saw the push.
fn foreign_pipeline(
    store: &Store,
    settings: &Settings,
    inbox_key: u64,
    message_id: &str,
    change: &KojiBuildStateChange,
) -> Result<Option<Pipeline>, StoreError> {
    let source = change.request.first().and_then(|v| v.as_str());
    let (Some(source), Some(target)) = (source, change.target()) else {
        store.remove_inbox(inbox_key)?;
        return Ok(None);
    };
    let commit = source.rsplit_once('#').map_or_else(
        || format!("build-{}", change.build_id),
        |(_, c)| c.to_owned(),
    );
    let branch = settings.koji.branch_of_target(target);
    let key = PushKey {
        package: change.name.clone(),
        branch,
        commit,
    };
    let now = unix_now();
    // The inbox item stays until the build is applied to the pipeline.
    let created = store.create_pipeline(&key, None, |id| {
        let mut pipeline = Pipeline::new(
            id,
            key.clone(),
            source.to_owned(),
            change.owner.clone(),
            None,
            message_id.to_owned(),
            PushFacts::default(),
            now,
        );
        pipeline.skip_unseen_push(now);
        pipeline
    })?;
    let id = match created {
        Created::New(pipeline) => {
            pipeline_event!(
                info,
                pipeline,
                message_id = crate::journal::PIPELINE_CREATED,
                amqp_message_id = message_id,
                "pipeline created for a build fedflow did not submit"
            );
            pipeline.id
        }
        Created::Existing(id) => id,
    };
    store.pipeline(id)
}

/// The reconciler's question to Koji for a pipeline waiting on a task.
pub(super) async fn poll(shared: &Shared, settings: &Settings, id: u64) -> Result<(), StoreError> {
    let Some(pipeline) = shared.store.pipeline(id)? else {
        return Ok(());
    };
    let Some(task_id) = pipeline
        .stage
        .task_id()
        .filter(|_| pipeline.stage.waits_on_koji())
    else {
        return Ok(());
    };
    let koji = &shared.remotes.koji;
    let task = match koji.get_task_info(task_id).await {
        Ok(task) => task,
        Err(e) => {
            pipeline_event!(warn, pipeline, error = %e, "reconciler cannot read the Koji task; trying again later");
            return Ok(());
        }
    };
    let Some(task) = task else {
        let reason = format!("Koji has no task {task_id}");
        transition(shared, id, |p| {
            p.fail(reason.clone(), Some(task_id), unix_now())
        })?;
        return Ok(());
    };
    pipeline_event!(info, pipeline, task_state = ?task.state, "reconciler polled Koji");
    match task.state {
        TaskState::Failed => match koji.get_task_result(task_id).await {
            // Koji accepts the build call and fails the task when the NVR exists: not our failure.
            Err(e) if e.is_already_built() => {
                let reason = format!("already built in Koji: {e}");
                transition(shared, id, |p| p.skip(reason.clone(), unix_now()))?;
            }
            Err(e) if e.is_transient() => {
                pipeline_event!(warn, pipeline, error = %e, "reconciler cannot read the task result; trying again later");
            }
            result => {
                let why = match result {
                    Err(e) => e.to_string(),
                    Ok(_) => "no error recorded".to_owned(),
                };
                let reason = format!("Koji task {task_id} failed: {why}");
                transition(shared, id, |p| {
                    p.fail(reason.clone(), Some(task_id), unix_now())
                })?;
            }
        },
        TaskState::Canceled => {
            transition(shared, id, |p| p.cancel(task_id, unix_now()))?;
        }
        state => {
            let builds = match koji.list_builds_by_task(task_id).await {
                Ok(builds) => builds,
                Err(e) => {
                    pipeline_event!(warn, pipeline, error = %e, "reconciler cannot list the task's builds");
                    return Ok(());
                }
            };
            let update_pending = may_update(settings, &pipeline.key.package);
            apply_polled(shared, &pipeline, task_id, &state, &builds, update_pending)?;
        }
    }
    Ok(())
}

fn apply_polled(
    shared: &Shared,
    pipeline: &Pipeline,
    task_id: i64,
    task_state: &TaskState,
    builds: &[crate::koji::BuildInfo],
    update_pending: bool,
) -> Result<(), StoreError> {
    let now = unix_now();
    let id = pipeline.id;
    match builds.first() {
        Some(build) => match build.state {
            BuildState::Complete => {
                transition(shared, id, |p| {
                    let built = p.build_of(
                        task_id,
                        build.build_id,
                        build.nvr.clone(),
                        build.owner_name.clone(),
                    );
                    p.built(built, update_pending, now)
                })?;
            }
            BuildState::Failed => {
                let reason = format!("Koji build {} failed (found by the reconciler)", build.nvr);
                transition(shared, id, |p| p.fail(reason.clone(), Some(task_id), now))?;
            }
            BuildState::Canceled => {
                transition(shared, id, |p| p.cancel(task_id, now))?;
            }
            BuildState::Building if matches!(pipeline.stage, Stage::Submitted { .. }) => {
                transition(shared, id, |p| p.building(task_id, build.build_id, now))?;
            }
            _ => debug!(pipeline = id, task_id, "still building"),
        },
        None if *task_state == TaskState::Closed => {
            // A closed build task without a build row: a scratch build, which has no NVR in Koji.
            if pipeline.scratch {
                transition(shared, id, |p| {
                    let built = p.build_of(task_id, 0, "(scratch build)".to_owned(), None);
                    p.built(built, false, now)
                })?;
            } else {
                warn!(
                    pipeline = id,
                    task_id, "Koji task closed but lists no build"
                );
            }
        }
        None => debug!(pipeline = id, task_id, "task still open"),
    }
    Ok(())
}
