//! The builders' side of the fake hub: a build task starts its build (a BUILDING row, the task open) and
//! ends it later, as `kojid` does — so one build id goes through BUILDING to COMPLETE or FAILED, and the
//! hub's answers to polls in between show the build as it is.

use super::{FakeBuild, FakeKoji, hub, records};

impl FakeKoji {
    /// Starts the build of task `task_id` as `nvr`: a BUILDING row owned by the task's owner, with the
    /// task's source; the task is open. Returns the build id.
    pub fn start_build(&self, task_id: i64, nvr: &str) -> i64 {
        let mut hub = self.hub();
        let now = hub::now_ts();
        let task = hub
            .tasks
            .get_mut(&task_id)
            .unwrap_or_else(|| panic!("start_build: no task {task_id}"));
        task.state = 1;
        let source = task
            .request
            .first()
            .and_then(|s| s.as_str())
            .map(str::to_owned);
        let (owner_id, owner_name) = (task.owner_id, task.owner_name.clone());
        let (name, version, release) = records::split_nvr(nvr);
        let build_id = hub.next_build_id;
        hub.next_build_id += 1;
        let build = FakeBuild {
            build_id,
            name,
            version,
            release,
            state: 0,
            task_id: Some(task_id),
            owner_id,
            owner_name,
            source: source.clone(),
            original_url: source,
            creation_ts: now,
            completion_ts: None,
        };
        hub.insert_build(build);
        build_id
    }

    /// Ends a started build: `COMPLETE` (the build gets its SRPM row and changelog, the task closes),
    /// `FAILED` (the task fails) or `CANCELED` (the task is canceled).
    pub fn end_build(&self, build_id: i64, state: &str) {
        let (build_state, task_state) = match state {
            "COMPLETE" => (1, 2),
            "FAILED" => (3, 5),
            "CANCELED" => (4, 3),
            other => panic!("end_build: unknown state {other:?}"),
        };
        let mut hub = self.hub();
        let now = hub::now_ts();
        let Some(mut build) = hub.builds.remove(&build_id) else {
            panic!("end_build: no build {build_id}");
        };
        build.state = build_state;
        build.completion_ts = Some(now);
        if let Some(task) = build.task_id.and_then(|id| hub.tasks.get_mut(&id)) {
            task.state = task_state;
            task.completion_ts = Some(now);
        }
        hub.insert_build(build);
    }
}
