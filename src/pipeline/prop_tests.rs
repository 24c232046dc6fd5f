//! Property tests of the lifecycle itself: random sequences of transition attempts on a few stored
//! pipelines, with task and build ids that sometimes match a pipeline's and sometimes not, and crashes
//! (the store dropped and reopened). After every step: a refused transition changed nothing, an accepted
//! one added exactly one history entry, terminal stages accept only what the lifecycle allows from them,
//! the Koji task and the build are replaced only by a transition that names them, a build of fedflow's
//! own task is fedflow's, and the store — the pipelines, the state counts, the active set and the task
//! index — agrees with the pipelines as applied in memory.
//!
//! `FEDFLOW_PROPTEST_CASES` sets the number of cases (256 by default); a failing run prints its minimal
//! steps, which fail the same way every time.

use super::update_tests::plan;
use super::*;
use crate::store::{Created, Store};
use proptest::prelude::*;
use proptest::test_runner::Config;
use tempfile::TempDir;

mod checks;
use checks::{check_ownership, check_step, check_store};

/// Pipelines per case: enough for the indexes to hold several, few enough for steps to meet each one.
const PIPELINES: usize = 3;

/// One attempt on one pipeline, as the engine, the follow-up of messages or an operator makes them.
/// Tasks and builds are indexes into the pipeline's own small id sets (see [`task_id`], [`build_id`]).
#[derive(Debug, Clone)]
enum Attempt {
    DecideBuild {
        scratch: bool,
    },
    Skip,
    SkipUnseenPush,
    WouldSubmit,
    Submitted {
        task: u8,
        ours: bool,
    },
    Building {
        task: u8,
        build: u8,
    },
    Built {
        task: u8,
        build: u8,
        update_pending: bool,
    },
    AdoptBuild {
        task: u8,
        build: u8,
        update_pending: bool,
    },
    Fail {
        task: Option<u8>,
    },
    Cancel {
        task: u8,
    },
    Requeue,
    Defer,
    SleepUntil,
    /// fedflow is about to call `build`.
    CallingBuild,
    /// Koji answered fedflow's `build` call with this task.
    OwnTask {
        task: u8,
    },
    NoUpdate,
    AwaitTag,
    AwaitAutomaticUpdate,
    Tagged,
    WouldCreateUpdate,
    UpdateFound {
        origin: UpdateOrigin,
    },
    UpdateStatus {
        status: &'static str,
    },
    NeedsAttention,
}

#[derive(Debug, Clone)]
enum Step {
    Try {
        pipeline: usize,
        attempt: Attempt,
    },
    /// The attempt that takes the pipeline one stage further on the road to an update (see [`forward`]),
    /// with these ids: most random attempts are refused, and the update stages lie deep.
    Forward {
        pipeline: usize,
        task: u8,
        build: u8,
    },
    /// The process stops; the store is reopened from disk.
    Crash,
}

/// What an attempt did to the pipeline.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// A transition: refused, or accepted (and recorded).
    Transition(Result<(), TransitionError>),
    /// Not a transition: a retry or a wait noted on the stage (never recorded in the history).
    Bookkeeping,
}

/// Task ids are distinct per pipeline, so the store's task index has one answer per task.
fn task_id(pipeline: u64, task: u8) -> i64 {
    (pipeline * 100 + u64::from(task)) as i64
}

fn build_id(pipeline: u64, build: u8) -> i64 {
    (pipeline * 100 + 50 + u64::from(build)) as i64
}

fn apply(p: &mut Pipeline, attempt: &Attempt, now: u64) -> Outcome {
    let id = p.id;
    let build_of = |p: &Pipeline, task: u8, build: u8| {
        let build_id = build_id(id, build);
        p.build_of(
            task_id(id, task),
            build_id,
            format!("foo-1.{build_id}-1.fc43"),
            None,
        )
    };
    let result = match attempt {
        Attempt::DecideBuild { scratch } => {
            p.decide_build("f43-candidate".to_owned(), *scratch, "prop".to_owned(), now)
        }
        Attempt::Skip => p.skip("not wanted".to_owned(), now),
        Attempt::SkipUnseenPush => {
            let received = p.stage == Stage::Received;
            p.skip_unseen_push(now);
            if received {
                Ok(())
            } else {
                Err(p.refuse("skip an unseen push"))
            }
        }
        Attempt::WouldSubmit => p.would_submit(now),
        Attempt::Submitted { task, ours } => p.submitted(task_id(id, *task), *ours, now),
        Attempt::Building { task, build } => {
            p.building(task_id(id, *task), build_id(id, *build), now)
        }
        Attempt::Built {
            task,
            build,
            update_pending,
        } => {
            let build = build_of(p, *task, *build);
            p.built(build, *update_pending, now)
        }
        Attempt::AdoptBuild {
            task,
            build,
            update_pending,
        } => {
            let build = build_of(p, *task, *build);
            p.adopt_build(build, *update_pending, now)
        }
        Attempt::Fail { task } => {
            p.fail("Koji said no".to_owned(), task.map(|t| task_id(id, t)), now)
        }
        Attempt::Cancel { task } => p.cancel(task_id(id, *task), now),
        Attempt::Requeue => p.requeue("ops", now),
        Attempt::Defer => {
            p.defer("503".to_owned(), now * 1000 + 500, now);
            return Outcome::Bookkeeping;
        }
        Attempt::SleepUntil => {
            p.sleep_until(now + 10);
            return Outcome::Bookkeeping;
        }
        Attempt::CallingBuild => {
            p.calling_build();
            return Outcome::Bookkeeping;
        }
        Attempt::OwnTask { task } => {
            p.own_task(task_id(id, *task));
            return Outcome::Bookkeeping;
        }
        Attempt::NoUpdate => p.no_update("no rule".to_owned(), now),
        Attempt::AwaitTag => p.await_tag(plan(), "f43-updates-candidate".to_owned(), now + 60, now),
        Attempt::AwaitAutomaticUpdate => p.await_automatic_update(plan(), now + 60, now),
        Attempt::Tagged => p.tagged("tag message", now),
        Attempt::WouldCreateUpdate => p.would_create_update("an update".to_owned(), now),
        Attempt::UpdateFound { origin } => p.update_found(
            "FEDORA-2026-0123456789".to_owned(),
            "pending".to_owned(),
            *origin,
            now,
        ),
        Attempt::UpdateStatus { status } => {
            p.update_status((*status).to_owned(), format!("Bodhi: {status}"), now)
        }
        Attempt::NeedsAttention => p.needs_attention("no automatic update".to_owned(), now),
    };
    Outcome::Transition(result)
}

/// The next stage's transition on the road to an update, for the pipeline's current stage.
fn forward(stage: &Stage, task: u8, build: u8) -> Attempt {
    match stage {
        Stage::Received => Attempt::DecideBuild { scratch: false },
        Stage::Submitting { .. } => Attempt::Submitted { task, ours: true },
        Stage::Submitted { .. } => Attempt::Building { task, build },
        Stage::Building { .. } => Attempt::Built {
            task,
            build,
            update_pending: true,
        },
        Stage::Built {
            update_pending: true,
            ..
        } if build == 0 => Attempt::AwaitTag,
        Stage::Built {
            update_pending: true,
            ..
        } => Attempt::AwaitAutomaticUpdate,
        Stage::AwaitingTag { .. } => Attempt::Tagged,
        Stage::CreatingUpdate { .. } | Stage::AwaitingAutomaticUpdate { .. } => {
            Attempt::UpdateFound {
                origin: UpdateOrigin::Created,
            }
        }
        Stage::Update { .. } => Attempt::UpdateStatus { status: "testing" },
        _ => Attempt::Requeue,
    }
}

fn attempt() -> impl Strategy<Value = Attempt> {
    let task = 0u8..3;
    let build = 0u8..2;
    // Weighted towards the forward road, so that cases reach the update stages before a skip, a
    // failure or a cancel ends a pipeline.
    prop_oneof![
        3 => any::<bool>().prop_map(|scratch| Attempt::DecideBuild { scratch }),
        1 => Just(Attempt::Skip),
        1 => Just(Attempt::SkipUnseenPush),
        1 => Just(Attempt::WouldSubmit),
        3 => (task.clone(), any::<bool>()).prop_map(|(task, ours)| Attempt::Submitted { task, ours }),
        2 => (task.clone(), build.clone()).prop_map(|(task, build)| Attempt::Building { task, build }),
        3 => (task.clone(), build.clone(), any::<bool>()).prop_map(|(task, build, update_pending)| {
            Attempt::Built { task, build, update_pending }
        }),
        1 => (task.clone(), build, any::<bool>()).prop_map(|(task, build, update_pending)| {
            Attempt::AdoptBuild { task, build, update_pending }
        }),
        1 => proptest::option::of(task.clone()).prop_map(|task| Attempt::Fail { task }),
        1 => task.prop_map(|task| Attempt::Cancel { task }),
        2 => Just(Attempt::Requeue),
        2 => Just(Attempt::CallingBuild),
        1 => (0u8..3).prop_map(|task| Attempt::OwnTask { task }),
        1 => Just(Attempt::Defer),
        1 => Just(Attempt::SleepUntil),
        1 => Just(Attempt::NoUpdate),
        3 => Just(Attempt::AwaitTag),
        2 => Just(Attempt::AwaitAutomaticUpdate),
        3 => Just(Attempt::Tagged),
        1 => Just(Attempt::WouldCreateUpdate),
        3 => prop_oneof![
            Just(UpdateOrigin::Created),
            Just(UpdateOrigin::Adopted),
            Just(UpdateOrigin::Automatic)
        ]
        .prop_map(|origin| Attempt::UpdateFound { origin }),
        2 => prop_oneof![Just("testing"), Just("stable"), Just("obsolete")]
            .prop_map(|status| Attempt::UpdateStatus { status }),
        2 => Just(Attempt::NeedsAttention),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        8 => (0..PIPELINES, attempt()).prop_map(|(pipeline, attempt)| Step::Try { pipeline, attempt }),
        4 => (0..PIPELINES, 0u8..3, 0u8..2)
            .prop_map(|(pipeline, task, build)| Step::Forward { pipeline, task, build }),
        1 => Just(Step::Crash),
    ];
    proptest::collection::vec(step, 1..80)
}

/// `FEDFLOW_PROPTEST_CASES` cases (else `default`), and no failure files: a run is deterministic for its
/// seed, so the minimal failing steps proptest prints are the regression test to add.
fn config(default: u32) -> Config {
    let cases = std::env::var("FEDFLOW_PROPTEST_CASES").ok();
    Config {
        cases: cases.and_then(|n| n.parse().ok()).unwrap_or(default),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `steps` on [`PIPELINES`] fresh pipelines in a fresh store, checking after every step.
fn run(steps: &[Step]) {
    let dir = TempDir::new().expect("tempdir");
    let mut store = Store::open(dir.path()).expect("open");
    let mut model = Vec::new();
    for n in 0..PIPELINES {
        let key = PushKey {
            package: "foo".to_owned(),
            branch: "f43".to_owned(),
            commit: format!("{n:040x}"),
        };
        let source = format!(
            "git+https://src.fedoraproject.org/rpms/foo.git#{}",
            key.commit
        );
        let created = store
            .create_pipeline(&key, None, |id| {
                let facts = PushFacts::default();
                let (agent, message) = ("alice".to_owned(), format!("msg-{n}"));
                Pipeline::new(
                    id,
                    key.clone(),
                    source.clone(),
                    agent,
                    None,
                    message,
                    facts,
                    100,
                )
            })
            .expect("create");
        let Created::New(pipeline) = created else {
            panic!("a fresh key made {created:?}");
        };
        model.push(*pipeline);
    }
    let mut now = 200;
    for step in steps {
        now += 1;
        match step {
            Step::Crash => {
                drop(store);
                store = Store::open(dir.path()).expect("reopen after the crash");
                check_store(&store, &model);
            }
            Step::Try { pipeline, attempt } => {
                try_attempt(&store, &mut model[*pipeline], attempt, now);
            }
            Step::Forward {
                pipeline,
                task,
                build,
            } => {
                let attempt = forward(&model[*pipeline].stage, *task, *build);
                try_attempt(&store, &mut model[*pipeline], &attempt, now);
            }
        }
    }
    check_store(&store, &model);
}

/// Applies `attempt` to the stored pipeline and to its copy in memory, and checks the step.
fn try_attempt(store: &Store, model: &mut Pipeline, attempt: &Attempt, now: u64) {
    let before = model.clone();
    let (stored, outcome) = store
        .update_pipeline(before.id, None, |p| apply(p, attempt, now))
        .expect("update")
        .expect("the pipeline exists");
    let mut after = before.clone();
    assert_eq!(
        apply(&mut after, attempt, now),
        outcome,
        "applying is deterministic"
    );
    assert_eq!(stored, after, "the store wrote what was applied");
    check_step(&before, &after, attempt, &outcome, now);
    check_ownership(&after);
    *model = after;
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_transition_attempts_keep_the_lifecycle_and_the_store_consistent(steps in steps()) {
        run(&steps);
    }
}
