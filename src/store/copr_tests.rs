//! Copr records and counters written with their messages, on a real sled database.

use super::*;
use crate::copr::CoprObservation;
use crate::message::CoprStatus;
use tempfile::TempDir;

fn observation(id: &str, build_id: i64, chroot: &str, status: CoprStatus) -> CoprObservation {
    let owner = if build_id % 2 == 0 { "packit" } else { "@g" };
    let build = serde_json::json!({
        "status": status.code(), "chroot": chroot, "build": build_id, "owner": owner,
        "copr": if build_id % 2 == 0 { "even" } else { "odd" },
        "pkg": "hello", "version": "1-1", "user": null, "what": null, "ip": null, "who": null,
    });
    CoprObservation {
        message_id: id.to_owned(),
        ended: status != CoprStatus::Running,
        build: serde_json::from_value(build).expect("a copr build body"),
        sent_at: Some(1_000 + build_id as u64),
        build_url: format!("https://copr.example/build/{build_id}/"),
        results_url: None,
    }
}

fn copr_event(observed: CoprObservation) -> Record {
    Record::Event {
        message_id: observed.message_id.clone(),
        topic: if observed.ended {
            "copr.build.end"
        } else {
            "copr.build.start"
        }
        .to_owned(),
        sent_at: None,
        kind: "copr_build".to_owned(),
        summary: String::new(),
        work: None,
        copr: Some(Box::new(observed)),
    }
}

fn count(store: &Store, project: &str, status: &str) -> u64 {
    let counts = store.copr_counts().expect("counts");
    counts
        .get(&(project.to_owned(), status.to_owned()))
        .copied()
        .unwrap_or(0)
}

#[test]
fn start_and_end_in_one_batch_finish_the_chroot_once_and_count_it() {
    let dir = TempDir::new().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let committed = store
        .commit(&[
            copr_event(observation(
                "s",
                2,
                "fedora-rawhide-x86_64",
                CoprStatus::Running,
            )),
            copr_event(observation(
                "e",
                2,
                "fedora-rawhide-x86_64",
                CoprStatus::Failed,
            )),
        ])
        .expect("commit");
    assert_eq!(committed.copr_finished.len(), 1);
    assert!(committed.copr_finished[0].is_failed());
    let builds = store.copr_builds(None, 10).expect("builds");
    assert_eq!(builds.len(), 1);
    assert_eq!(builds[0].start_message_id.as_deref(), Some("s"));
    assert_eq!(builds[0].status, "failed");
    assert_eq!(count(&store, "packit/even", "failed"), 1);

    // The same end again (a redelivery) and under a new id (a republish): counted once, reported once.
    let again = store
        .commit(&[
            copr_event(observation(
                "e",
                2,
                "fedora-rawhide-x86_64",
                CoprStatus::Failed,
            )),
            copr_event(observation(
                "e-republished",
                2,
                "fedora-rawhide-x86_64",
                CoprStatus::Failed,
            )),
        ])
        .expect("commit");
    assert_eq!(
        again.dispositions,
        vec![Disposition::Duplicate, Disposition::Recorded]
    );
    assert!(again.copr_finished.is_empty());
    assert_eq!(count(&store, "packit/even", "failed"), 1);
    assert_eq!(
        store.copr_builds(None, 10).expect("builds")[0]
            .end_message_id
            .as_deref(),
        Some("e")
    );
}

#[test]
fn builds_list_newest_first_per_project_and_limit_counts_whole_builds() {
    let dir = TempDir::new().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let mut records = Vec::new();
    for build_id in [3, 10, 4, 9] {
        for chroot in ["srpm-builds", "fedora-41-x86_64"] {
            records.push(copr_event(observation(
                &format!("{build_id}-{chroot}"),
                build_id,
                chroot,
                CoprStatus::Succeeded,
            )));
        }
    }
    store.commit(&records).expect("commit");
    let ids = |list: Vec<crate::copr::CoprBuildRecord>| {
        list.iter()
            .map(|r| format!("{}/{}", r.build_id, r.chroot))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.copr_builds(None, 2).expect("builds")),
        [
            "10/fedora-41-x86_64",
            "10/srpm-builds",
            "9/fedora-41-x86_64",
            "9/srpm-builds"
        ]
    );
    assert_eq!(
        ids(store.copr_builds(Some("@g/odd"), 5).expect("builds")),
        [
            "9/fedora-41-x86_64",
            "9/srpm-builds",
            "3/fedora-41-x86_64",
            "3/srpm-builds"
        ]
    );
    assert!(
        store
            .copr_builds(Some("nobody/x"), 5)
            .expect("builds")
            .is_empty()
    );
    assert_eq!(count(&store, "packit/even", "succeeded"), 4);
    assert_eq!(count(&store, "@g/odd", "succeeded"), 4);
    // Copr counters do not disturb the message counters that share their tree.
    assert_eq!(store.counters().expect("counters").received, 8);
}

#[test]
fn purge_forgets_old_records_but_keeps_the_counts() {
    let dir = TempDir::new().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    store
        .commit(&[copr_event(observation(
            "e",
            4,
            "srpm-builds",
            CoprStatus::Canceled,
        ))])
        .expect("commit");
    let updated_at = store.copr_builds(None, 1).expect("builds")[0].updated_at;
    assert_eq!(
        store.purge_copr_builds_before(updated_at).expect("purge"),
        0
    );
    assert_eq!(
        store
            .purge_copr_builds_before(updated_at + 1)
            .expect("purge"),
        1
    );
    assert!(store.copr_builds(None, 10).expect("builds").is_empty());
    assert_eq!(count(&store, "packit/even", "canceled"), 1);
}
