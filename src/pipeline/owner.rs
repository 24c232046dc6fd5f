//! Whose task a pipeline follows: fedflow's own `build` call's, or someone else's (adopted). Only builds
//! of fedflow's own tasks get a Bodhi update without an `allowed_builders` entry, so a task must be known
//! as fedflow's even when Koji's answer to the call was lost or came after the build's messages.

use super::state::{Pipeline, Stage};

impl Pipeline {
    /// fedflow is about to call `build`: recorded first, so a task of this source found after a timeout or
    /// a crash is known as that call's.
    pub fn calling_build(&mut self) {
        if matches!(self.stage, Stage::Submitting { .. }) {
            self.build_call_pending = true;
        }
    }

    /// Koji answered fedflow's `build` call with `task_id`: the task (and its build) is fedflow's own, also
    /// when a message moved the pipeline on before the answer was recorded.
    pub fn own_task(&mut self, task_id: i64) {
        self.build_call_pending = false;
        self.submitted_task = Some(task_id);
        if let Some(build) = self.build.as_mut().filter(|b| b.task_id == task_id) {
            build.ours = true;
        }
    }

    /// A task of this source turned up while fedflow's `build` call was pending: it is that call's.
    pub(super) fn claim_if_pending(&mut self, task_id: i64) {
        if self.build_call_pending {
            self.own_task(task_id);
        }
    }
}
