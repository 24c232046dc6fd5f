//! Literal field values, packages and summaries for representative schema examples, one or more
//! per event type, so a mapping mistake cannot hide behind "same as the body".

use super::schema_example;
use crate::message::{BuildState, CoprStatus, Event, Message, Severity, TaskState};

fn event(message: Message) -> Event {
    message.event
}

#[test]
fn koji_build_complete_has_build_task_source_and_target() {
    let message = schema_example(
        "koji-fedoramessaging-messages/buildsys.build.state.change.json",
        0,
    );
    assert_eq!(message.envelope.id, "8659ff39-c933-415c-a13f-10dfd0eb62ba");
    assert_eq!(message.envelope.severity, Severity::Info);
    let event = event(message);
    assert_eq!(event.package(), Some("chromium"));
    assert_eq!(
        event.summary(),
        "koji build 1478312 chromium-80.0.3987.132-1.fc33 BUILDING→COMPLETE"
    );
    let Event::KojiBuildState(build) = event else {
        panic!("{event:?}")
    };
    assert_eq!(build.build_id, 1478312);
    assert_eq!(
        (build.old, build.new),
        (Some(BuildState::Building), BuildState::Complete)
    );
    assert!(build.new.is_final());
    assert_eq!(build.task_id, Some(42561864));
    assert_eq!(build.nvr(), "chromium-80.0.3987.132-1.fc33");
    assert_eq!(build.epoch, None);
    assert_eq!(build.owner, "spot");
    assert_eq!(build.target(), Some("rawhide"));
    let source = build.scm_source().unwrap();
    assert_eq!(
        source.repository,
        "git+https://src.fedoraproject.org/rpms/chromium.git"
    );
    assert_eq!(source.commit, "5f8f367e482fe8e30711aea49bf2ecfd163d278f");
    let task = build.task.unwrap();
    assert_eq!((task.id, task.method.as_str()), (42561864, "build"));
    assert_eq!(task.state, Some(TaskState::Closed));
    assert!(!task.is_scratch());
}

#[test]
fn koji_build_creation_has_null_old_task_and_completion() {
    let message = schema_example(
        "koji-fedoramessaging-messages/buildsys.build.state.change.json",
        1,
    );
    let Event::KojiBuildState(build) = message.event else {
        panic!()
    };
    assert_eq!((build.old, build.new), (None, BuildState::Building));
    assert_eq!(
        (build.task_id, &build.task, &build.completion_time),
        (None, &None, &None)
    );
    assert!(
        build.summary().ends_with(" new→BUILDING"),
        "{}",
        build.summary()
    );

    let message = schema_example(
        "koji-fedoramessaging-messages/buildsys.build.state.change.json",
        2,
    );
    let Event::KojiBuildState(build) = message.event else {
        panic!()
    };
    assert_eq!(build.new, BuildState::Failed);
}

#[test]
fn koji_scratch_task_states_names_and_package() {
    let file = "koji-fedoramessaging-messages/buildsys.task.state.change.json";
    let event = event(schema_example(file, 0));
    assert_eq!(event.package(), Some("python-atpublic"));
    let Event::KojiTaskState(task) = &event else {
        panic!()
    };
    assert_eq!(task.id, 110011364);
    assert_eq!(
        (task.old.clone(), task.new.clone()),
        (Some(TaskState::Free), TaskState::Open)
    );
    assert_eq!(task.info.target(), Some("rawhide"));
    assert!(task.info.is_scratch());
    assert_eq!(
        event.summary(),
        "koji scratch task 110011364 build \
         python-atpublic.git#ae8818da76ae0d4ea00bac7c3c8e7d11608ea3b0 FREE→OPEN"
    );

    let Event::KojiTaskState(task) = event_of(file, 1) else {
        panic!()
    };
    assert_eq!(task.new, TaskState::Closed);
    assert!(task.new.is_final());
    let methods: Vec<&str> = task
        .info
        .children
        .iter()
        .map(|c| c.method.as_str())
        .collect();
    assert!(methods.contains(&"rebuildSRPM"), "{methods:?}");
    assert_eq!(task.package(), Some("golang-modernc-file"));

    let Event::KojiTaskState(task) = event_of(file, 2) else {
        panic!()
    };
    assert_eq!(
        (&task.new, task.package()),
        (&TaskState::Failed, Some("khal"))
    );
}

fn event_of(file: &str, index: usize) -> Event {
    schema_example(file, index).event
}

#[test]
fn koji_tag_and_untag() {
    let file = "koji-fedoramessaging-messages/buildsys.tag.json";
    let message = schema_example(file, 0);
    assert_eq!(message.envelope.severity, Severity::Debug);
    let event = message.event;
    assert_eq!(event.kind(), "koji_tag");
    assert_eq!(event.package(), Some("perl-GooCanvas2"));
    assert_eq!(
        event.summary(),
        "koji tag perl-GooCanvas2-0.06-17.el9 into epel9-build-side-68659 by ppisar"
    );
    let Event::KojiTag(tag) = event else { panic!() };
    assert_eq!((tag.build_id, tag.tag_id), (2209268, Some(68659)));
    assert!(tag.is_side_tag());

    let Event::KojiTag(tag) = event_of(file, 1) else {
        panic!()
    };
    assert_eq!(tag.tag.as_deref(), Some("f31-updates-pending"));
    assert_eq!(
        (tag.user.as_deref(), tag.base_url.as_deref()),
        (Some("bodhi"), None)
    );
    assert!(!tag.is_side_tag());

    let event = event_of("koji-fedoramessaging-messages/buildsys.untag.json", 0);
    assert_eq!(
        event.summary(),
        "koji untag dummy-test-package-gloster-0-10383.fc39 from f39-updates-testing-pending by bodhi"
    );
    let Event::KojiUntag(tag) = event else {
        panic!()
    };
    assert_eq!(tag.build_id, 2211093);
}

#[test]
fn copr_start_and_end() {
    let event = event_of("copr-messaging/copr.build.start.json", 0);
    assert_eq!(event.kind(), "copr_build_start");
    assert_eq!(event.package(), Some("python-hypothesis"));
    let Event::CoprBuildStart(build) = &event else {
        panic!()
    };
    assert_eq!((build.build, build.status), (945012, CoprStatus::Running));
    assert_eq!(build.project(), "@python/python3.8");
    assert_eq!(
        event.summary(),
        "copr build 945012 @python/python3.8 python-hypothesis-4.23.8-1.fc31 \
         fedora-rawhide-x86_64 started"
    );

    let Event::CoprBuildEnd(build) = event_of("copr-messaging/copr.build.end.json", 0) else {
        panic!()
    };
    assert_eq!(
        (build.status, build.chroot.as_str()),
        (CoprStatus::Failed, "fedora-29-x86_64")
    );

    let event = event_of("copr-messaging/copr.build.end.json", 2);
    assert_eq!(event.package(), None);
    let Event::CoprBuildEnd(build) = &event else {
        panic!()
    };
    assert!(build.is_srpm_build());
    assert_eq!(
        (build.pkg.as_deref(), build.version.as_deref()),
        (None, None)
    );
    assert_eq!(build.ip.as_deref(), Some("2620:52:3:1:dead:beef:cafe:c195"));
    assert_eq!(build.status, CoprStatus::Succeeded);
    assert!(
        event
            .summary()
            .ends_with("(package unknown) srpm-builds succeeded")
    );
}

#[test]
fn pagure_push_to_dist_git_and_to_pagure_io() {
    let event = event_of("pagure-messages/pagure.git.receive.json", 0);
    assert_eq!(event.package(), Some("packit"));
    assert_eq!(
        event.summary(),
        "rpms/packit f39 fe01a99 pushed by mmassari (2 commits, PR #1286)"
    );
    let Event::DistGitPush(push) = event else {
        panic!()
    };
    assert_eq!(push.branch, "f39");
    assert_eq!(push.pull_request_id, Some(1286));
    assert!(!push.repo.is_fork());
    assert_eq!(push.authors[1].name, None);
    assert_eq!(push.authors[1].url_path, None);
    let changed = push.changed_files.unwrap();
    assert_eq!(changed.get(".packit.yaml").map(String::as_str), Some("M"));

    let event = event_of("pagure-messages/pagure.git.receive.json", 1);
    assert_eq!(
        event.package(),
        None,
        "fedora-infra namespace is not an RPM"
    );
    let Event::DistGitPush(push) = event else {
        panic!()
    };
    assert_eq!(push.branch, "develop", "refs/heads/ stripped");
    assert_eq!(push.total_commits, 42);
    assert_eq!(push.pull_request_id, None);
}

#[test]
fn git_hook_commit() {
    let event = event_of("fedora-messaging-git-hook-messages/git.receive.json", 0);
    assert_eq!(event.package(), None, "dummyns is not the rpms namespace");
    assert_eq!(
        event.summary(),
        "dummyns/dummyrepo main 3aa6642 by dummyuser: second commit"
    );
    let Event::GitCommit(commit) = event else {
        panic!()
    };
    assert_eq!(
        commit.commit.rev,
        "3aa6642b0990d1f6a0e0ce7373c8ad37d2f980ce"
    );
    assert!(!commit.commit.seen);

    let Event::GitCommit(commit) =
        event_of("fedora-messaging-git-hook-messages/git.receive.json", 1)
    else {
        panic!()
    };
    assert_eq!(commit.commit.url, None);
    assert_eq!(commit.commit.summary, "initial commit");
}

#[test]
fn bodhi_requests_and_completions_keep_sub_topic() {
    let event = event_of("bodhi-messages/bodhi.update.request.testing.json", 0);
    assert_eq!(event.package(), Some("golang-github-Masterminds-semver"));
    assert_eq!(
        event.summary(),
        "bodhi FEDORA-2019-f1ca3c00e5 F29 request.testing \
         (golang-github-Masterminds-semver-2.0.0-0.1.20190319git3c92f33.fc29) by eclipseo"
    );
    let Event::BodhiUpdate(message) = event else {
        panic!()
    };
    assert_eq!(message.sub_topic, "request.testing");
    assert_eq!(message.update.request.as_deref(), Some("testing"));
    assert_eq!(message.update.status.as_deref(), Some("pending"));
    assert_eq!(message.update.user.name, "eclipseo");

    let event = event_of("bodhi-messages/bodhi.update.request.testing.json", 1);
    assert_eq!(event.package(), None, "two builds, no single package");
    let Event::BodhiUpdate(message) = event else {
        panic!()
    };
    let names: Vec<&str> = message.update.package_names().collect();
    assert_eq!(names, ["gnome-settings-daemon", "control-center"]);
    assert_eq!(message.update.update_type.as_deref(), Some("bugfix"));
    assert_eq!(message.update.release.dist_tag.as_deref(), Some("f18"));

    let Event::BodhiUpdate(message) =
        event_of("bodhi-messages/bodhi.update.complete.stable.json", 0)
    else {
        panic!()
    };
    assert_eq!(message.sub_topic, "complete.stable");
    assert_eq!(
        (message.update.request, message.update.status.as_deref()),
        (None, Some("stable"))
    );
    assert_eq!(message.update.alias, "FEDORA-2019-d64d0caab3");
    assert_eq!(message.update.release.name, "F29");
}

#[test]
fn messages_round_trip_through_serde() {
    for (file, index) in [
        (
            "koji-fedoramessaging-messages/buildsys.build.state.change.json",
            0,
        ),
        (
            "koji-fedoramessaging-messages/buildsys.task.state.change.json",
            1,
        ),
        ("koji-fedoramessaging-messages/buildsys.untag.json", 0),
        ("copr-messaging/copr.build.end.json", 2),
        ("pagure-messages/pagure.git.receive.json", 0),
        ("fedora-messaging-git-hook-messages/git.receive.json", 0),
        ("bodhi-messages/bodhi.update.request.testing.json", 1),
    ] {
        let message = schema_example(file, index);
        let json = serde_json::to_string(&message).unwrap();
        let back: Message = serde_json::from_str(&json).unwrap();
        assert_eq!(back, message, "{file}");
    }
}
