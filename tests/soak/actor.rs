//! The harness as Koji and Bodhi. It watches the fake hub for the build tasks fedflow's `build` calls create,
//! starts each (a BUILDING row and its message), ends it after the build's duration as the workload says —
//! COMPLETE with the tag into the target's candidate tag and both messages, except that 5 % of the COMPLETE
//! messages are dropped (the reconciler must find those builds), or FAILED — and, as Bodhi, makes the
//! automatic update of rawhide builds and announces the updates fedflow created on the bus.

use crate::bodies::{self, Message, OwnBuild};
use crate::publisher::PublishHandle;
use crate::support::fake_bodhi::{FakeBodhi, realistic_releases};
use crate::support::fake_koji::{FakeKoji, FakeTask};
use crate::workload::{Outcome, Workload, target_of, uuid};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

const POLL: Duration = Duration::from_millis(50);

/// What the main loop may read while the actor runs.
#[derive(Default)]
pub struct Live {
    /// Messages the actor handed to the publisher (each a new id).
    pub sent: AtomicU64,
    /// Builds started and not ended yet.
    pub running: AtomicU64,
}

/// What the actor did, for the checks and the figures.
#[derive(Default)]
pub struct Record {
    /// Build index → (task id, build id) of the task that built it.
    pub started: HashMap<usize, (i64, i64)>,
    /// Build index → when Koji completed it.
    pub completed_at: HashMap<usize, SystemTime>,
    /// Build tasks that are no relevant push's first task: (task id, source).
    pub unexpected_tasks: Vec<(i64, String)>,
    /// Builds whose COMPLETE message was not published.
    pub dropped_messages: u64,
}

struct Running {
    build: usize,
    task: FakeTask,
    build_id: i64,
    due: Instant,
}

pub struct Actor<'a> {
    workload: &'a Workload,
    koji: &'a FakeKoji,
    bodhi: &'a FakeBodhi,
    publish: PublishHandle,
    live: &'a Live,
    rng: fastrand::Rng,
    last_task: i64,
    updates_seen: usize,
    running: Vec<Running>,
    record: Record,
}

impl<'a> Actor<'a> {
    pub fn new(
        workload: &'a Workload,
        koji: &'a FakeKoji,
        bodhi: &'a FakeBodhi,
        publish: PublishHandle,
        live: &'a Live,
        seed: u64,
    ) -> Actor<'a> {
        Actor {
            workload,
            koji,
            bodhi,
            publish,
            live,
            rng: fastrand::Rng::with_seed(seed ^ 0x6b6f_6a69),
            last_task: 0,
            updates_seen: 0,
            running: Vec::new(),
            record: Record::default(),
        }
    }

    /// Plays Koji and Bodhi until `stop` is set (the main loop sets it once nothing runs any more).
    pub fn run(mut self, stop: &AtomicBool) -> Record {
        while !stop.load(Ordering::SeqCst) {
            for task in self.koji.tasks_after(self.last_task) {
                self.last_task = task.id;
                if task.method == "build" {
                    self.start(task);
                }
            }
            let now = Instant::now();
            let (due, waiting): (Vec<Running>, Vec<Running>) =
                self.running.drain(..).partition(|r| r.due <= now);
            self.running = waiting;
            for running in due {
                self.finish(running);
            }
            self.live
                .running
                .store(self.running.len() as u64, Ordering::SeqCst);
            self.announce_new_updates();
            std::thread::sleep(POLL);
        }
        self.record
    }

    fn send(&mut self, message: Message) {
        let id = uuid(&mut self.rng);
        self.publish.send(&message.topic, id, message.body, false);
        self.live.sent.fetch_add(1, Ordering::SeqCst);
    }

    fn start(&mut self, task: FakeTask) {
        let source = task
            .request
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let commit = source.rsplit_once('#').map_or("", |(_, commit)| commit);
        let build = self
            .workload
            .build_of_commit(commit)
            .filter(|build| !self.record.started.contains_key(build));
        let Some(build) = build else {
            // A second task of one source, or one nobody pushed: Koji would refuse the NVR.
            self.record.unexpected_tasks.push((task.id, source));
            self.koji.fail_task(
                task.id,
                1000,
                "Build already exists (soak: unexpected task)",
            );
            return;
        };
        let nvr = &self.workload.builds[build].nvr;
        let build_id = self.koji.start_build(task.id, nvr);
        self.record.started.insert(build, (task.id, build_id));
        let due = Instant::now() + Duration::from_millis(self.workload.builds[build].duration_ms);
        let running = Running {
            build,
            task,
            build_id,
            due,
        };
        let building = self.own(&running, |own| own.state_change(None, 0));
        self.send(building);
        self.running.push(running);
    }

    /// A message about one of fedflow's builds, from its task row.
    fn own(&self, running: &Running, make: impl Fn(&OwnBuild<'_>) -> Message) -> Message {
        let text = |index: usize| {
            running
                .task
                .request
                .get(index)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let build = &self.workload.builds[running.build];
        make(&OwnBuild {
            build,
            package: &self.workload.packages[build.package],
            task_id: running.task.id,
            build_id: running.build_id,
            source: text(0),
            target: text(1),
            owner: &running.task.owner_name,
        })
    }

    fn finish(&mut self, running: Running) {
        let workload = self.workload;
        let build = &workload.builds[running.build];
        if !build.outcome.completes() {
            self.koji.end_build(running.build_id, "FAILED");
            let failed = self.own(&running, |own| own.state_change(Some(0), 3));
            self.send(failed);
            return;
        }
        if build.wants_automatic_update() {
            self.bodhi
                .add_update(automatic_update(&build.nvr, running.build));
        }
        let (_, tag) = target_of(build.branch);
        self.koji.end_build(running.build_id, "COMPLETE");
        self.koji.tag_build(running.build_id, &tag);
        self.bodhi.tag_build(&build.nvr, &tag);
        self.record
            .completed_at
            .insert(running.build, SystemTime::now());
        if build.outcome == Outcome::Complete {
            let complete = self.own(&running, |own| own.state_change(Some(0), 1));
            self.send(complete);
        } else {
            self.record.dropped_messages += 1;
        }
        let tagged = self.own(&running, |own| own.tagged(&tag));
        self.send(tagged);
    }

    /// Bodhi announces every update fedflow created (`request.testing`), and a third of them reach testing.
    fn announce_new_updates(&mut self) {
        let new = self.bodhi.updates_since(self.updates_seen);
        self.updates_seen += new.len();
        for update in new {
            if update["user"]["name"] == "bodhi" {
                continue;
            }
            let (Some(alias), Some(nvr), Some(release)) = (
                update["alias"].as_str(),
                update["builds"][0]["nvr"].as_str(),
                update["release"]["name"].as_str(),
            ) else {
                continue;
            };
            let pending = bodies::bodhi("request.testing", alias, nvr, release);
            self.send(pending);
            if self.rng.u8(..3) == 0 {
                let testing = bodies::bodhi("complete.testing", alias, nvr, release);
                self.send(testing);
            }
        }
    }
}

/// The update Bodhi makes by itself for a rawhide build (user `bodhi`, already in testing).
fn automatic_update(nvr: &str, build: usize) -> Value {
    static RAWHIDE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let release = RAWHIDE.get_or_init(|| {
        realistic_releases()
            .into_iter()
            .find(|release| release["branch"] == "rawhide")
            .unwrap_or_default()
    });
    let alias = format!("FEDORA-2026-a{build:09x}");
    json!({
        "alias": alias, "title": nvr, "status": "testing", "request": null, "type": "unspecified",
        "builds": [{"nvr": nvr, "type": "rpm", "signed": true}], "release": release,
        "user": {"name": "bodhi"}, "url": format!("https://bodhi.example/updates/{alias}"),
    })
}
