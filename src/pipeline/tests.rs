//! The lifecycle's allowed and refused transitions, and the pipeline store's indexes and inbox.

use super::*;
use crate::store::{Created, Store};
use tempfile::TempDir;

pub(super) const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn key() -> PushKey {
    PushKey {
        package: "foo".to_owned(),
        branch: "f43".to_owned(),
        commit: COMMIT.to_owned(),
    }
}

/// A pipeline just received from a push of foo to f43; the update tests build on it too.
pub(super) fn pipeline(id: u64) -> Pipeline {
    Pipeline::new(
        id,
        key(),
        format!("git+https://src.fedoraproject.org/rpms/foo.git#{COMMIT}"),
        "alice".to_owned(),
        None,
        "msg-1".to_owned(),
        PushFacts::default(),
        100,
    )
}

#[test]
fn a_push_goes_from_received_to_built_and_every_step_is_in_the_history() {
    let mut p = pipeline(1);
    p.decide_build(
        "f43-candidate".to_owned(),
        false,
        "central config".to_owned(),
        101,
    )
    .expect("decide");
    p.submitted(42, true, 102).expect("submitted");
    p.building(42, 7, 103).expect("building");
    let build = p.build_of(42, 7, "foo-1.0-1.fc43".to_owned(), Some("alice".to_owned()));
    assert!(build.ours, "fedflow submitted task 42 itself");
    p.built(build, false, 104).expect("built");
    assert_eq!(
        p.stage,
        Stage::Built {
            target: "f43-candidate".to_owned(),
            task_id: 42,
            build_id: 7,
            nvr: "foo-1.0-1.fc43".to_owned(),
            update_pending: false,
        }
    );
    let states: Vec<&str> = p.history.iter().map(|t| t.state.as_str()).collect();
    assert_eq!(
        states,
        ["received", "submitting", "submitted", "building", "built"]
    );
    assert!(p.stage.is_terminal());
    assert_eq!(p.updated_at, 104);
}

#[test]
fn terminal_stages_refuse_further_transitions_until_an_operator_requeues() {
    let mut p = pipeline(1);
    p.skip("not watched".to_owned(), 101).expect("skip");
    assert!(
        p.decide_build("rawhide".to_owned(), false, "x".to_owned(), 102)
            .is_err()
    );
    assert!(p.fail("late".to_owned(), None, 102).is_err());
    assert!(
        p.requeue("ops", 103).is_err(),
        "skipped pipelines are not retried"
    );

    let mut p = pipeline(2);
    p.decide_build("rawhide".to_owned(), false, "x".to_owned(), 101)
        .expect("decide");
    p.submitted(9, true, 102).expect("submitted");
    p.fail("Koji build foo failed".to_owned(), None, 103)
        .expect("fail");
    assert_eq!(p.stage.task_id(), Some(9), "the failed task stays linked");
    let late = p.build_of(9, 1, "foo-1-1".to_owned(), None);
    assert!(p.built(late, false, 104).is_err());
    p.requeue("ops", 105).expect("requeue");
    assert_eq!(p.stage, Stage::Received);
}

#[test]
fn a_build_message_can_move_a_pipeline_whose_task_id_was_lost() {
    let mut p = pipeline(1);
    p.decide_build("rawhide".to_owned(), false, "x".to_owned(), 101)
        .expect("decide");
    // The hub accepted the build but the answer never arrived: the BUILDING message still applies.
    p.building(55, 3, 102).expect("building from submitting");
    assert_eq!(p.stage.task_id(), Some(55));
    assert!(p.submitted(55, false, 103).is_err());
}

#[test]
fn deferring_counts_attempts_and_entering_a_stage_clears_them() {
    let mut p = pipeline(1);
    p.defer("503".to_owned(), 5_000, 101);
    p.defer("timeout".to_owned(), 9_000, 102);
    assert_eq!(p.attempts(), 2);
    assert_eq!(
        p.retry.as_ref().map(|r| r.last_error.as_str()),
        Some("timeout")
    );
    p.skip("no rule".to_owned(), 103).expect("skip");
    assert_eq!(p.attempts(), 0);
}

#[test]
fn retry_delays_double_from_two_seconds_and_respect_the_cap() {
    let cap = std::time::Duration::from_secs(60);
    for (attempt, base) in [(1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0)] {
        let delay = steps::retry_delay(attempt, cap).as_secs_f64();
        assert!(
            (base * 0.8..=base * 1.2).contains(&delay),
            "attempt {attempt}: {delay}"
        );
    }
    assert!(steps::retry_delay(30, cap) <= cap);
}

#[test]
fn push_facts_read_forks_deletions_and_spec_changes() {
    let push: crate::message::DistGitPush = serde_json::from_value(serde_json::json!({
        "agent": "alice", "branch": "f43", "end_commit": "0000000000000000000000000000000000000000",
        "total_commits": 1, "changed_files": {"README.md": "M"},
        "repo": {"name": "foo", "namespace": "rpms", "fullname": "forks/alice/rpms/foo",
                 "parent": {"name": "foo", "namespace": "rpms", "fullname": "rpms/foo"}}
    }))
    .expect("push");
    let facts = PushFacts::of(&push);
    assert!(facts.fork);
    assert!(facts.deleted);
    assert_eq!(facts.spec_changed, Some(false));
}

#[test]
fn the_store_creates_one_pipeline_per_push_and_indexes_its_task_and_source() {
    let dir = TempDir::new().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let inbox = store.push_inbox(b"{}").expect("inbox");
    let first = store
        .create_pipeline(&key(), Some(inbox), pipeline)
        .expect("create");
    let Created::New(created) = first else {
        panic!("expected a new pipeline, got {first:?}");
    };
    assert_eq!(created.id, 1);
    assert_eq!(
        store.inbox_len(),
        0,
        "the inbox item is taken with the creation"
    );
    assert_eq!(
        store
            .create_pipeline(&key(), None, pipeline)
            .expect("again"),
        Created::Existing(1)
    );
    let (moved, outcome) = store
        .update_pipeline(1, None, |p| {
            p.decide_build("f43-candidate".to_owned(), false, "x".to_owned(), 200)?;
            p.submitted(77, true, 201)
        })
        .expect("update")
        .expect("exists");
    assert!(outcome.is_ok());
    assert_eq!(moved.stage.task_id(), Some(77));
    let counts = |store: &Store| {
        store
            .pipeline_counts_by_state()
            .expect("counts")
            .into_iter()
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&store), [("submitted".to_owned(), 1)]);
    assert_eq!(
        store.pipeline_by_task(77).expect("by task").map(|p| p.id),
        Some(1)
    );
    assert_eq!(
        store
            .pipeline_by_source(&created.source_url, "f43-candidate")
            .expect("by source")
            .map(|p| p.id),
        Some(1)
    );
    assert!(
        store
            .pipeline_by_source(&created.source_url, "rawhide")
            .expect("other")
            .is_none()
    );
    assert_eq!(store.active_pipelines().expect("active").len(), 1);
    store
        .update_pipeline(1, None, |p| {
            let build = p.build_of(77, 5, "foo-1-1.fc43".to_owned(), None);
            p.built(build, false, 202)
        })
        .expect("built");
    assert!(store.active_pipelines().expect("active").is_empty());
    assert_eq!(store.pipeline_count(), 1);
    assert_eq!(
        counts(&store),
        [("built".to_owned(), 1)],
        "the old state's entry goes"
    );
}

#[test]
fn a_task_that_turns_up_while_fedflow_s_build_call_is_pending_is_fedflow_s_own() {
    // The answer to `build` was lost (a hub timeout, a crash): the search on the next attempt finds it.
    let mut p = pipeline(1);
    p.decide_build("rawhide".to_owned(), false, "x".to_owned(), 101)
        .expect("decide");
    p.calling_build();
    p.submitted(55, false, 102).expect("found by the search");
    assert_eq!(p.submitted_task, Some(55));
    let note = p
        .history
        .last()
        .map(|t| t.note.as_str())
        .unwrap_or_default();
    assert!(note.contains("its own build call"), "{note}");
    assert!(!p.build_call_pending);
    let build = p.build_of(55, 3, "foo-1-1".to_owned(), None);
    assert!(build.ours, "the build of its own task may get an update");

    // The BUILDING and COMPLETE messages were faster than Koji's answer.
    let mut p = pipeline(2);
    p.decide_build("rawhide".to_owned(), false, "x".to_owned(), 101)
        .expect("decide");
    p.calling_build();
    p.building(56, 4, 102).expect("building from submitting");
    let build = p.build_of(56, 4, "foo-1-1".to_owned(), None);
    p.built(build, true, 103).expect("built");
    assert!(p.build.as_ref().is_some_and(|b| b.ours));

    // Without a pending call, a task found is someone else's; Koji's late answer makes it ours.
    let mut p = pipeline(3);
    p.decide_build("rawhide".to_owned(), false, "x".to_owned(), 101)
        .expect("decide");
    let build = p.build_of(57, 5, "foo-1-1".to_owned(), None);
    p.built(build, true, 102).expect("built");
    assert!(p.build.as_ref().is_some_and(|b| !b.ours));
    p.own_task(57);
    assert!(p.build.as_ref().is_some_and(|b| b.ours));
}
