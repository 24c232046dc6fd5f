//! The packit-service recordings in `fixtures/packit/`, in their three shapes: full serialized
//! envelopes (`{topic, headers, id, body}`), trimmed bodies with an added `topic` key, and one
//! fedmsg-era datagrepper record with the body under `msg`.

use serde_json::Value;

use super::{FIXTURES, PROD_PREFIX, TEST_MESSAGE_ID, decode_value, fixture_json, headers_of};
use crate::message::{BuildState, CoprStatus, Event, Headers, Message, Severity, TaskState};

/// Decodes a packit fixture the way it would have arrived on the bus.
fn decode_packit(name: &str) -> Message {
    let record = fixture_json(&format!("packit/{name}"));
    let routing_key = record["topic"]
        .as_str()
        .expect("every packit fixture names its topic");
    let result = if record.get("body").is_some_and(Value::is_object) {
        let id = record["id"].as_str().unwrap();
        decode_value(
            routing_key,
            id,
            headers_of(&record["headers"]),
            &record["body"],
            PROD_PREFIX,
        )
    } else if let Some(id) = record.get("msg_id").and_then(Value::as_str) {
        // fedmsg era: the whole record is what datagrepper serves as the body.
        decode_value(
            routing_key,
            id,
            headers_of(&record["headers"]),
            &record,
            PROD_PREFIX,
        )
    } else {
        decode_value(
            routing_key,
            TEST_MESSAGE_ID,
            Headers::new(),
            &record,
            PROD_PREFIX,
        )
    };
    result.unwrap_or_else(|error| panic!("packit/{name}: {error}"))
}

#[test]
fn every_packit_fixture_decodes_to_the_expected_kind() {
    let expected = [
        ("copr_build_end.json", "copr_build_end"),
        ("copr_build_start.json", "copr_build_start"),
        ("distgit_commit.json", "distgit_push"),
        ("distgit_push_packit.json", "distgit_push"),
        ("git_receive.json", "distgit_push"),
        ("koji_build_completed_f36.json", "koji_build_state"),
        ("koji_build_completed_old_format.json", "koji_build_state"),
        ("koji_build_scratch_end.json", "koji_task_state"),
        ("koji_build_scratch_start.json", "koji_task_state"),
        ("koji_build_start_rawhide.json", "koji_build_state"),
        ("koji_build_state_change.json", "koji_build_state"),
        ("koji_build_tagged.json", "koji_tag"),
    ];
    let mut on_disk: Vec<String> = std::fs::read_dir(format!("{FIXTURES}/packit"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = expected.iter().map(|(name, _)| *name).collect();
    assert_eq!(on_disk, listed, "fixture set changed: update the tests");
    for (name, kind) in expected {
        assert_eq!(decode_packit(name).event.kind(), kind, "{name}");
    }
}

#[test]
fn trimmed_distgit_pushes_decode_without_optional_schema_fields() {
    let message = decode_packit("distgit_commit.json");
    assert_eq!(message.envelope.topic, "pagure.git.receive");
    assert_eq!(
        message.envelope.severity,
        Severity::Info,
        "no headers means INFO"
    );
    let Event::DistGitPush(push) = message.event else {
        panic!()
    };
    assert_eq!(
        (push.agent.as_str(), push.branch.as_str()),
        ("rhcontainerbot", "main")
    );
    assert_eq!((push.end_commit.as_str(), push.total_commits), ("abcd", 1));
    assert_eq!((&push.old_commit, &push.start_commit), (&None, &None));
    assert!(!push.forced && push.authors.is_empty());
    assert_eq!(push.repo.full_name(), "rpms/buildah");
    assert_eq!(push.package(), Some("buildah"));

    let event = decode_packit("distgit_push_packit.json").event;
    assert_eq!(
        event.summary(),
        "rpms/packit f36 ad0c308 pushed by pagure (1 commit, PR #5)"
    );
    let Event::DistGitPush(push) = event else {
        panic!()
    };
    assert_eq!(push.pull_request_id, Some(5));
}

#[test]
fn fork_push_is_recognised_as_a_fork() {
    let message = decode_packit("git_receive.json");
    assert_eq!(message.envelope.id, "d98e4f3f-2e6a-4634-b86b-8abbae9c54d3");
    assert_eq!(
        message.envelope.sent_at.as_deref(),
        Some("2024-02-08T07:29:14+00:00")
    );
    assert_eq!(
        message.envelope.schema.as_deref(),
        Some("pagure.git.receive")
    );
    let Event::DistGitPush(push) = message.event else {
        panic!()
    };
    assert!(push.repo.is_fork());
    assert!(push.forced);
    assert_eq!(push.branch, "1.2.17-rawhide-update-pull_from_upstream");
    assert_eq!(push.repo.full_name(), "forks/packit/rpms/nispor");
    let parent = push.repo.parent.as_deref().unwrap();
    assert_eq!(
        (parent.full_name(), parent.parent.is_none()),
        ("rpms/nispor".to_owned(), true)
    );
    assert_eq!(push.authors[0].name, None);
    assert_eq!(push.authors[1].name.as_deref(), Some("yselkowitz"));
}

#[test]
fn koji_builds_from_packit_recordings() {
    let message = decode_packit("koji_build_start_rawhide.json");
    assert_eq!(
        message.envelope.id,
        "2022-08e2102d-9514-4f85-a6ae-43761657adfd"
    );
    let Event::KojiBuildState(build) = message.event else {
        panic!()
    };
    assert_eq!(
        (build.build_id, build.old, build.new),
        (1874074, None, BuildState::Building)
    );
    assert_eq!(build.task, None, "trimmed: no task object");
    assert_eq!(build.task_id, Some(80860894));
    assert_eq!(build.target(), Some("rawhide"));

    let Event::KojiBuildState(build) = decode_packit("koji_build_completed_f36.json").event else {
        panic!()
    };
    assert_eq!(build.new, BuildState::Complete);
    assert_eq!(build.target(), Some("f36-candidate"));
    let commit = build.scm_source().unwrap().commit;
    assert_eq!(commit, "51b57ec04f5e6e9066ac859a1408cfbf1ead307e");
}

#[test]
fn image_build_has_integer_epoch_and_no_package_target() {
    let message = decode_packit("koji_build_state_change.json");
    assert_eq!(message.envelope.severity, Severity::Info);
    let Event::KojiBuildState(build) = message.event else {
        panic!()
    };
    assert_eq!(build.epoch, Some(crate::message::Epoch::Number(0)));
    assert_eq!(build.name, "Fedora-Python-Classroom-Vagrant");
    assert_eq!(
        build.target(),
        None,
        "image request layout has no build target"
    );
    assert_eq!(build.scm_source(), None);
    let task = build.task.unwrap();
    assert_eq!(
        (task.method.as_str(), task.state),
        ("image", Some(TaskState::Open))
    );
}

#[test]
fn fedmsg_era_record_is_unwrapped_from_msg() {
    let message = decode_packit("koji_build_completed_old_format.json");
    assert_eq!(
        message.envelope.id,
        "2021-d0aaa777-3dc2-4000-b065-f57a870f14f2"
    );
    assert!(
        message.envelope.body.contains_key("msg"),
        "envelope keeps the body as sent"
    );
    let Event::KojiBuildState(build) = message.event else {
        panic!()
    };
    assert_eq!(build.build_id, 1864700);
    assert_eq!(build.nvr(), "packit-0.43.0-1.fc36");
    assert_eq!(
        (build.old, build.new),
        (Some(BuildState::Building), BuildState::Complete)
    );
    assert_eq!((build.creation_time, build.task), (None, None));
}

#[test]
fn scratch_tasks_from_packit_recordings() {
    let event = decode_packit("koji_build_scratch_start.json").event;
    assert_eq!(event.package(), Some("hello"));
    let Event::KojiTaskState(task) = event else {
        panic!()
    };
    assert_eq!(
        (task.old, task.new),
        (Some(TaskState::Free), TaskState::Open)
    );
    assert_eq!(task.base_url, None, "trimmed recording");

    let Event::KojiTaskState(task) = decode_packit("koji_build_scratch_end.json").event else {
        panic!()
    };
    assert_eq!(task.id, 45270170);
    assert_eq!(task.new, TaskState::Closed);
    assert_eq!(task.info.state, Some(TaskState::Closed));
    assert!(task.info.is_scratch());
    assert_eq!(task.info.children.len(), 2);
    assert_eq!(task.info.children[1].parent, Some(45270170));
}

#[test]
fn tag_and_copr_from_packit_recordings() {
    let message = decode_packit("koji_build_tagged.json");
    assert_eq!(message.envelope.headers["priority"], 2);
    assert_eq!(message.envelope.severity, Severity::Debug);
    let Event::KojiTag(tag) = message.event else {
        panic!()
    };
    assert_eq!(tag.tag.as_deref(), Some("f40-build-side-12345"));
    assert_eq!(
        (tag.build_id, tag.nvr()),
        (1234567, "python-specfile-0.31.0-1.fc40".to_owned())
    );

    let Event::CoprBuildStart(start) = decode_packit("copr_build_start.json").event else {
        panic!()
    };
    let Event::CoprBuildEnd(end) = decode_packit("copr_build_end.json").event else {
        panic!()
    };
    assert_eq!((start.build, start.status), (1044215, CoprStatus::Running));
    assert_eq!((end.build, end.status), (1044215, CoprStatus::Succeeded));
    assert_eq!(end.project(), "packit/packit-service-hello-world-24");
    assert_eq!(end.pid, Some(21266));
}
