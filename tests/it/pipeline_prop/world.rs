//! The world around fedflow in the property test: the Koji builders working on the tasks fedflow's
//! `build` calls made (a build starts, then completes or fails, and Koji tags a completed build into its
//! target's destination tag), and the messages all that publishes, waiting to be delivered — in any order,
//! more than once, or (build states only: the reconciler must find those) never.

use super::rig::{Message, Rig};
use crate::support::pipeline_env::{BuildMessage, build_state_body, tag_body};
use serde_json::Value;
use std::collections::BTreeMap;

/// How a build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Complete,
    Failed,
}

/// A task fedflow's `build` call created, and its build so far.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: i64,
    pub source: String,
    pub target: String,
    pub nvr: String,
    /// The Koji account that owns the task (fedflow's).
    pub owner: String,
    pub build_id: Option<i64>,
    pub ending: Option<Ending>,
}

#[derive(Default)]
pub struct World {
    /// Every task of the hub, by id.
    pub tasks: BTreeMap<i64, Task>,
    /// Published, not yet delivered (or delivered and to be delivered again).
    pub outstanding: Vec<Message>,
    /// The NVR each (source, target) builds.
    pub nvrs: BTreeMap<(String, String), String>,
    next_message: u64,
}

impl World {
    /// A fresh message id.
    pub fn message_id(&mut self, what: &str) -> String {
        self.next_message += 1;
        format!("{what}-{}", self.next_message)
    }

    /// Takes in the tasks the hub created since the last look.
    pub fn sync_tasks(&mut self, rig: &Rig) {
        for task in rig.koji.tasks() {
            let (Some(source), Some(target)) = (
                task.request.first().and_then(Value::as_str),
                task.request.get(1).and_then(Value::as_str),
            ) else {
                continue;
            };
            let key = (source.to_owned(), target.to_owned());
            let nvr = self.nvrs.get(&key).cloned().unwrap_or_else(|| {
                panic!("fedflow built {source} in {target}, which nobody pushed")
            });
            self.tasks.entry(task.id).or_insert(Task {
                id: task.id,
                source: key.0,
                target: key.1,
                nvr,
                owner: task.owner_name.clone(),
                build_id: None,
                ending: None,
            });
        }
    }

    /// The tasks whose build has not ended, oldest first.
    pub fn unfinished(&self) -> Vec<i64> {
        let open = self.tasks.values().filter(|t| t.ending.is_none());
        open.map(|t| t.id).collect()
    }

    /// The builders start task `id`'s build: a BUILDING row, and its message.
    pub fn start(&mut self, rig: &Rig, id: i64) {
        let Some(task) = self.tasks.get(&id).filter(|t| t.build_id.is_none()) else {
            return;
        };
        let build_id = rig.koji.start_build(id, &task.nvr);
        let body = build_state_body(&build_message(task, build_id), None, 0);
        self.publish("buildsys.build.state.change", body);
        if let Some(task) = self.tasks.get_mut(&id) {
            task.build_id = Some(build_id);
        }
    }

    /// Task `id`'s build ends (started first if it was not); a completed build is tagged into the
    /// target's destination tag, in Bodhi's view first so Bodhi never lags behind Koji.
    pub fn end(&mut self, rig: &Rig, id: i64, ending: Ending) {
        self.start(rig, id);
        let Some(task) = self.tasks.get_mut(&id).filter(|t| t.ending.is_none()) else {
            return;
        };
        let Some(build_id) = task.build_id else {
            return;
        };
        task.ending = Some(ending);
        let task = task.clone();
        let message = build_message(&task, build_id);
        match ending {
            Ending::Failed => {
                rig.koji.end_build(build_id, "FAILED");
                let body = build_state_body(&message, Some(0), 3);
                self.publish("buildsys.build.state.change", body);
            }
            Ending::Complete => {
                rig.koji.end_build(build_id, "COMPLETE");
                let tag = destination_tag(&task.target);
                rig.bodhi.tag_build(&task.nvr, tag);
                rig.koji.tag_build(build_id, tag);
                let body = build_state_body(&message, Some(0), 1);
                self.publish("buildsys.build.state.change", body);
                self.publish("buildsys.tag", tag_body(&message, tag, 7001));
            }
        }
    }

    fn publish(&mut self, topic: &'static str, body: Value) {
        let id = self.message_id(topic);
        self.outstanding.push(Message { id, topic, body });
    }
}

/// The fake hub's targets: `f43-candidate` lands in `f43-updates-candidate`, `rawhide` in `f44`.
fn destination_tag(target: &str) -> &'static str {
    if target == "f43-candidate" {
        "f43-updates-candidate"
    } else {
        "f44"
    }
}

fn build_message(task: &Task, build_id: i64) -> BuildMessage<'_> {
    let mut parts = task.nvr.rsplitn(3, '-');
    let release = parts.next().unwrap_or_default();
    let version = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    BuildMessage {
        nvr: (name, version, release),
        build_id,
        task_id: task.id,
        source: &task.source,
        target: &task.target,
        owner: &task.owner,
    }
}
