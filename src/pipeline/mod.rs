//! Pipelines: a dist-git push carried to a Koji build, and the build to a Bodhi update. This module owns the
//! lifecycle ([`state`]), what the consume path hands over ([`work`]), the policy that decides whether a push
//! is built and a build gets an update, and the engine that drives pipelines through Koji and Bodhi, with the
//! reconciler that catches what messages missed.

mod engine;
mod follow;
mod owner;
pub mod policy;
mod push;
mod stage;
mod state;
mod steps;
mod update_follow;
mod update_policy;
mod update_state;
mod update_steps;
pub mod view;
pub mod work;

pub use engine::{Engine, Remotes};
pub use follow::BuildRecord;

pub use state::{
    BuiltBuild, Pipeline, PushFacts, PushKey, RetryState, Stage, Transition, TransitionError,
    UpdateOrigin, UpdatePlan,
};

pub use crate::status::unix_now;
use crate::store::Store;

/// Puts a failed or canceled pipeline back to the policy (`fedflow retry`); the engine picks it up.
pub fn requeue(store: &Store, id: u64, by: &str) -> anyhow::Result<Pipeline> {
    let now = unix_now();
    match store.update_pipeline(id, None, |pipeline| pipeline.requeue(by, now))? {
        None => anyhow::bail!("there is no pipeline {id}"),
        Some((_, Err(refused))) => Err(refused.into()),
        Some((pipeline, Ok(()))) => Ok(pipeline),
    }
}

/// Logs an event with the pipeline's journal fields (`PACKAGE`, `BRANCH`, `COMMIT`, `KOJI_TASK_ID`, `NVR`)
/// on the event itself: journald keeps span fields only under `S<n>_` prefixes.
macro_rules! pipeline_event {
    ($level:ident, $pipeline:expr, $($rest:tt)+) => {{
        let p: &$crate::pipeline::Pipeline = &$pipeline;
        tracing::$level!(
            pipeline = p.id,
            package = %p.key.package,
            branch = %p.key.branch,
            commit = %p.key.commit,
            koji_task_id = p.task_id(),
            nvr = p.nvr(),
            update_alias = p.update_alias(),
            $($rest)+
        )
    }};
}
pub(crate) use pipeline_event;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod update_tests;

#[cfg(test)]
mod prop_tests;
