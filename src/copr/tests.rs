//! Record transitions, links and the choice of tracked messages, on the real fixture bodies.

use super::*;
use crate::config::{Inputs, load};
use crate::message::{CoprBuild, CoprStatus};

fn settings(projects: &str) -> CoprSettings {
    load(&Inputs {
        env: [("FEDFLOW_COPR__PROJECTS".to_owned(), projects.to_owned())].into(),
        ..Inputs::default()
    })
    .expect("valid settings")
    .copr
}

/// The start and end of fedora-rawhide-x86_64 of build 1044215 (packit-service's recordings).
fn fixture_build(ended: bool) -> CoprBuild {
    let name = if ended {
        "copr_build_end.json"
    } else {
        "copr_build_start.json"
    };
    let path = format!(
        "{}/tests/fixtures/packit/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("a copr build body")
}

fn observed(ended: bool, id: &str) -> CoprObservation {
    let build = fixture_build(ended);
    let event = if ended {
        Event::CoprBuildEnd(build)
    } else {
        Event::CoprBuildStart(build)
    };
    let sent_at = if ended {
        "2026-01-01T00:10:00+00:00"
    } else {
        "2026-01-01T00:00:00+00:00"
    };
    observe(
        &settings("packit/packit-service-*"),
        id,
        Some(sent_at),
        &event,
    )
    .expect("a tracked project")
}

fn failed(mut observation: CoprObservation) -> CoprObservation {
    observation.build.status = CoprStatus::Failed;
    observation
}

const JAN_1: u64 = 1_767_225_600;

#[test]
fn start_then_end_runs_then_finishes_once() {
    let Transition::Changed(running) = apply(None, &observed(false, "s1"), 5) else {
        panic!("a start makes a record");
    };
    assert_eq!(running.status, "running");
    assert_eq!(running.project, "packit/packit-service-hello-world-24");
    assert_eq!(
        (running.build_id, running.chroot.as_str()),
        (1044215, "fedora-rawhide-x86_64")
    );
    assert_eq!(running.started_at, Some(JAN_1));
    assert_eq!(running.package_version(), "hello-0.7.0.3.ga593893-1.fc30");
    assert!(!running.is_finished());

    let Transition::Finished(done) = apply(Some(running.clone()), &observed(true, "e1"), 9) else {
        panic!("the end finishes the chroot");
    };
    assert_eq!(done.status, "succeeded");
    assert_eq!(
        (done.started_at, done.ended_at),
        (Some(JAN_1), Some(JAN_1 + 600))
    );
    assert_eq!(done.start_message_id.as_deref(), Some("s1"));
    assert_eq!(done.end_message_id.as_deref(), Some("e1"));
    assert_eq!(done.updated_at, 9);

    // A second end (a republish under a new id) and a late second start change nothing.
    assert_eq!(
        apply(Some(done.clone()), &observed(true, "e2"), 10),
        Transition::Unchanged
    );
    assert_eq!(
        apply(Some(done), &observed(false, "s2"), 10),
        Transition::Unchanged
    );
    assert_eq!(
        apply(Some(running), &observed(false, "s3"), 10),
        Transition::Unchanged
    );
}

#[test]
fn an_end_without_its_start_makes_a_record_and_a_late_start_keeps_its_status() {
    let Transition::Finished(ended) = apply(None, &failed(observed(true, "e1")), 7) else {
        panic!("an end alone finishes");
    };
    assert_eq!((ended.status.as_str(), ended.started_at), ("failed", None));
    assert!(ended.is_failed());
    let Transition::Changed(late) = apply(Some(ended), &observed(false, "s1"), 8) else {
        panic!("a late start fills in the start");
    };
    assert_eq!(late.status, "failed");
    assert_eq!(
        (late.started_at, late.ended_at),
        (Some(JAN_1), Some(JAN_1 + 600))
    );
}

#[test]
fn a_message_without_sent_at_is_timed_by_its_arrival_and_unknown_packages_stay_known() {
    let mut srpm = observed(true, "e1");
    srpm.sent_at = None;
    srpm.build.pkg = None;
    srpm.build.version = None;
    let mut start = observed(false, "s1");
    start.sent_at = Some(100);
    let Transition::Changed(running) = apply(None, &start, 1) else {
        panic!("start");
    };
    let Transition::Finished(done) = apply(Some(running), &srpm, 4242) else {
        panic!("end");
    };
    assert_eq!(done.ended_at, Some(4242));
    assert_eq!(
        done.package.as_deref(),
        Some("hello"),
        "an end without pkg clears nothing"
    );
    let unix_seconds = |text| crate::message::parse_sent_at(text).map(|t| t.unix_timestamp());
    assert_eq!(
        unix_seconds("2019-07-30T19:12:22+00:00"),
        Some(1_564_513_942)
    );
    assert_eq!(unix_seconds("yesterday"), None);
}

#[test]
fn build_pages_of_users_and_groups() {
    assert_eq!(
        build_url(
            "https://copr.fedorainfracloud.org/",
            "packit",
            "hello",
            1044215
        ),
        "https://copr.fedorainfracloud.org/coprs/packit/hello/build/1044215/"
    );
    assert_eq!(
        build_url("https://copr.example", "@python", "python3.8", 945012),
        "https://copr.example/coprs/g/python/python3.8/build/945012/"
    );
    assert_eq!(
        observed(false, "s").build_url,
        "https://copr.fedorainfracloud.org/coprs/packit/packit-service-hello-world-24/build/1044215/"
    );
}

#[test]
fn result_directories_of_chroots_the_srpm_step_and_groups() {
    assert_eq!(
        observed(true, "e").results_url.as_deref(),
        Some(
            "https://download.copr.fedorainfracloud.org/results/packit/\
             packit-service-hello-world-24/fedora-rawhide-x86_64/01044215-hello/"
        )
    );
    assert_eq!(
        results_url(
            "https://be.example/results/",
            "@python",
            "python3.8",
            SRPM_CHROOT,
            945012,
            None
        )
        .as_deref(),
        Some("https://be.example/results/@python/python3.8/srpm-builds/00945012/")
    );
    // A chroot's directory is named after the package; without it there is nothing to link.
    assert_eq!(
        results_url(
            "https://be.example/results",
            "o",
            "p",
            "fedora-41-x86_64",
            7,
            None
        ),
        None
    );

    // An end that does not name the package keeps the link its start made.
    let Transition::Changed(running) = apply(None, &observed(false, "s1"), 1) else {
        panic!("start");
    };
    let mut end = observed(true, "e1");
    end.build.pkg = None;
    end.results_url = None;
    let Transition::Finished(done) = apply(Some(running.clone()), &end, 2) else {
        panic!("end");
    };
    assert_eq!(done.results_url, running.results_url);
    assert!(done.results_url.is_some());
}

#[test]
fn only_copr_build_messages_of_tracked_projects_are_observed() {
    let start = Event::CoprBuildStart(fixture_build(false));
    assert!(observe(&settings("packit/*"), "id", None, &start).is_some());
    assert!(observe(&settings("packit/other"), "id", None, &start).is_none());
    assert!(observe(&settings(""), "id", None, &start).is_none());
    let mut group = fixture_build(true);
    group.owner = "@python".to_owned();
    let end = Event::CoprBuildEnd(group);
    let observed = observe(&settings("@python/*"), "id", None, &end).expect("group project");
    assert_eq!(
        observed.build.project(),
        "@python/packit-service-hello-world-24"
    );
    assert!(observed.ended);
    assert!(observe(&settings("python/*"), "id", None, &end).is_none());
}
