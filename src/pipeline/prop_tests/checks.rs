//! The invariants the lifecycle property test checks after every step: of the step itself, of who owns
//! a build, and of the store against the pipelines as applied in memory.

use super::{Attempt, Outcome, task_id};
use crate::pipeline::{Pipeline, Stage};
use crate::store::Store;
use std::collections::BTreeMap;

/// The only transitions a terminal stage accepts: an operator's retry, a completed build adopted by a
/// pipeline that did not build it, and Bodhi news of the update (or of the automatic update that was
/// missing).
fn allowed_from_terminal(stage: &Stage, attempt: &Attempt) -> bool {
    match attempt {
        Attempt::Requeue => matches!(
            stage,
            Stage::Failed { .. } | Stage::Canceled { .. } | Stage::NeedsAttention { .. }
        ),
        Attempt::AdoptBuild { .. } => matches!(
            stage,
            Stage::Skipped { .. }
                | Stage::WouldSubmit { .. }
                | Stage::Failed { .. }
                | Stage::Canceled { .. }
        ),
        Attempt::UpdateFound { .. } => matches!(stage, Stage::NeedsAttention { .. }),
        Attempt::UpdateStatus { .. } => matches!(stage, Stage::Update { .. }),
        _ => false,
    }
}

/// The task an attempt names, if it names one.
fn named_task(id: u64, attempt: &Attempt) -> Option<i64> {
    match attempt {
        Attempt::Submitted { task, .. }
        | Attempt::Building { task, .. }
        | Attempt::Built { task, .. }
        | Attempt::AdoptBuild { task, .. }
        | Attempt::Cancel { task } => Some(task_id(id, *task)),
        Attempt::Fail { task } => task.map(|t| task_id(id, t)),
        _ => None,
    }
}

/// Checks one step's effect on a pipeline: `before` → `after`, with what the attempt returned.
pub(super) fn check_step(
    before: &Pipeline,
    after: &Pipeline,
    attempt: &Attempt,
    outcome: &Outcome,
    now: u64,
) {
    let refused_or_kept =
        |what: &str| format!("{what}: {attempt:?} on {before:#?} gave {after:#?}");
    match outcome {
        Outcome::Transition(Err(refused)) => {
            assert_eq!(
                before,
                after,
                "{}",
                refused_or_kept("a refused transition changed the pipeline")
            );
            assert_eq!(refused.id, before.id);
            assert_eq!(refused.state, before.stage.name());
            return;
        }
        Outcome::Bookkeeping => {
            assert_eq!(
                before.stage,
                after.stage,
                "{}",
                refused_or_kept("bookkeeping moved the stage")
            );
            assert_eq!(
                before.history,
                after.history,
                "{}",
                refused_or_kept("bookkeeping wrote history")
            );
            let built = |p: &Pipeline| {
                p.build
                    .as_ref()
                    .map(|b| (b.task_id, b.build_id, b.nvr.clone()))
            };
            assert_eq!(
                built(before),
                built(after),
                "{}",
                refused_or_kept("bookkeeping changed the build")
            );
            return;
        }
        Outcome::Transition(Ok(())) => {}
    }
    let repeated_status = matches!(attempt, Attempt::UpdateStatus { status }
        if before.history.last().is_some_and(|t| t.note == format!("Bodhi: {status}")));
    let grown = before.history.len() + usize::from(!repeated_status);
    assert_eq!(
        after.history.len(),
        grown,
        "{}",
        refused_or_kept("history did not grow by one")
    );
    let last = after
        .history
        .last()
        .expect("an accepted pipeline has history");
    assert_eq!(
        last.state,
        after.stage.name(),
        "the last entry is the stage entered"
    );
    // A redelivered Bodhi message is no news: no entry, and no new time.
    let at = if repeated_status {
        before.updated_at
    } else {
        now
    };
    assert_eq!(after.updated_at, at);
    assert_eq!(
        after.history[..before.history.len()],
        before.history[..],
        "history is only appended"
    );
    if before.stage.is_terminal() {
        assert!(
            allowed_from_terminal(&before.stage, attempt),
            "{}",
            refused_or_kept("a terminal stage accepted a transition it does not allow")
        );
    }
    let named = named_task(before.id, attempt);
    match (before.task_id(), after.task_id()) {
        (Some(was), Some(now_task)) if was != now_task => assert!(
            named == Some(now_task) || matches!(attempt, Attempt::Requeue),
            "{}",
            refused_or_kept("the task changed without a transition naming it")
        ),
        (Some(_), None) => assert!(
            matches!(attempt, Attempt::Requeue | Attempt::Skip),
            "{}",
            refused_or_kept("the task was forgotten")
        ),
        (None, Some(new)) => assert_eq!(
            named,
            Some(new),
            "{}",
            refused_or_kept("a task appeared from nowhere")
        ),
        _ => {}
    }
    if before.build != after.build {
        assert!(
            matches!(attempt, Attempt::Built { .. } | Attempt::AdoptBuild { .. }),
            "{}",
            refused_or_kept("the build changed without a build transition")
        );
        assert!(
            before.build.is_none() || !matches!(attempt, Attempt::Built { .. }),
            "{}",
            refused_or_kept("a built pipeline was built again")
        );
    }
}

/// A build of the task fedflow's own `build` call made is fedflow's (it may get an update), and only a
/// pipeline that called `build` has builds of its own.
pub(super) fn check_ownership(p: &Pipeline) {
    if let Some(build) = &p.build {
        if p.submitted_task == Some(build.task_id) {
            assert!(
                build.ours,
                "the build of fedflow's own task is not ours: {p:#?}"
            );
        }
        if build.ours {
            assert!(
                p.submitted_task.is_some(),
                "a build is ours without a build call: {p:#?}"
            );
        }
    }
}

/// The store agrees with the pipelines as applied in memory: records, state counts, the active set,
/// pipelines needing attention, and the task and build indexes.
pub(super) fn check_store(store: &Store, model: &[Pipeline]) {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for pipeline in model {
        let stored = store.pipeline(pipeline.id).expect("read").expect("stored");
        assert_eq!(&stored, pipeline, "the stored pipeline is the one applied");
        *counts.entry(pipeline.stage.name().to_owned()).or_default() += 1;
        if let Some(task) = pipeline.task_id() {
            let by_task = store.pipeline_by_task(task).expect("by task").map(|p| p.id);
            assert_eq!(
                by_task,
                Some(pipeline.id),
                "task {task} leads to its pipeline"
            );
        }
        if let Some(build) = &pipeline.build {
            let by_build = store
                .pipeline_by_build(build.build_id)
                .expect("by build")
                .map(|p| p.id);
            assert_eq!(by_build, Some(pipeline.id));
            let by_nvr = store
                .pipeline_by_nvr(&build.nvr)
                .expect("by nvr")
                .map(|p| p.id);
            assert_eq!(by_nvr, Some(pipeline.id));
        }
    }
    assert_eq!(store.pipeline_counts_by_state().expect("counts"), counts);
    let mut active: Vec<u64> = store
        .active_pipelines()
        .expect("active")
        .iter()
        .map(|p| p.id)
        .collect();
    active.sort_unstable();
    let expected: Vec<u64> = model
        .iter()
        .filter(|p| !p.stage.is_terminal())
        .map(|p| p.id)
        .collect();
    assert_eq!(
        active, expected,
        "the active set is the non-terminal pipelines"
    );
    let attention = model
        .iter()
        .filter(|p| matches!(p.stage, Stage::NeedsAttention { .. }))
        .count();
    assert_eq!(store.needs_attention_count(), attention);
}
