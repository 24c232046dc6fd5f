//! The lifecycle after the build: the update decision, the tag wait, the update and its status, and the
//! store's build and NVR indexes.

use super::*;
use crate::config::BodhiUpdateRule;
use crate::store::Store;
use tempfile::TempDir;

const NVR: &str = "foo-1.0-1.fc43";

fn built(id: u64) -> Pipeline {
    let mut p = super::tests::pipeline(id);
    p.decide_build(
        "f43-candidate".to_owned(),
        false,
        "central config".to_owned(),
        101,
    )
    .expect("decide");
    p.submitted(42, true, 102).expect("submitted");
    let build = p.build_of(42, 7, NVR.to_owned(), Some("alice".to_owned()));
    p.built(build, true, 103).expect("built");
    p
}

pub(super) fn plan() -> UpdatePlan {
    UpdatePlan {
        release: "F43".to_owned(),
        stable_tag: Some("f43-updates".to_owned()),
        rule: BodhiUpdateRule::packit_defaults(),
        source: "central config".to_owned(),
    }
}

#[test]
fn a_built_pipeline_with_an_update_pending_stays_active_until_decided() {
    let mut p = built(1);
    assert!(!p.stage.is_terminal(), "the update decision is pending");
    assert_eq!(p.stage.name(), "built");
    p.no_update(
        "branch rawhide is not among the bodhi_update branches".to_owned(),
        104,
    )
    .expect("no update");
    assert!(p.stage.is_terminal());
    assert_eq!(p.stage.name(), "built");
    assert!(
        p.history
            .last()
            .expect("history")
            .note
            .starts_with("no Bodhi update: branch rawhide")
    );
    assert!(
        p.no_update("again".to_owned(), 105).is_err(),
        "decided once"
    );
    assert_eq!(p.nvr(), Some(NVR), "the build stays on the pipeline");
}

#[test]
fn the_update_road_goes_tag_then_create_then_follows_the_status() {
    let mut p = built(1);
    p.await_tag(plan(), "f43-updates-candidate".to_owned(), 1000, 104)
        .expect("await tag");
    assert_eq!(p.stage.name(), "awaiting_tag");
    assert_eq!(p.nvr(), Some(NVR));
    assert_eq!(
        p.task_id(),
        Some(42),
        "the task stays known past the build stages"
    );
    p.sleep_until(500);
    assert!(!p.is_due(499_000) && p.is_due(500_000));
    p.tagged("buildsys.tag message", 105).expect("tagged");
    assert_eq!(
        p.stage,
        Stage::CreatingUpdate {
            release: "F43".to_owned()
        }
    );
    assert!(p.is_due(105_000), "entering a stage clears the wait");
    p.update_found(
        "FEDORA-2026-0123456789".to_owned(),
        "pending".to_owned(),
        UpdateOrigin::Created,
        106,
    )
    .expect("created");
    assert_eq!(p.stage.name(), "update_pending");
    assert!(p.stage.is_terminal());
    assert_eq!(p.update_alias(), Some("FEDORA-2026-0123456789"));
    p.update_status(
        "testing".to_owned(),
        "Bodhi: complete testing".to_owned(),
        107,
    )
    .expect("testing");
    p.update_status(
        "testing".to_owned(),
        "Bodhi: complete testing".to_owned(),
        108,
    )
    .expect("redelivered");
    assert_eq!(p.stage.name(), "update_testing");
    let testing_entries = p
        .history
        .iter()
        .filter(|t| t.state == "update_testing")
        .count();
    assert_eq!(testing_entries, 1, "a redelivered message adds no history");
    assert!(p.tagged("late", 109).is_err());
}

#[test]
fn a_missing_automatic_update_needs_attention_and_a_late_message_resolves_it() {
    let mut p = built(1);
    assert!(
        p.tagged("early", 104).is_err(),
        "no tag wait before the decision"
    );
    p.await_automatic_update(plan(), 2000, 104)
        .expect("automatic");
    assert_eq!(p.stage.name(), "awaiting_automatic_update");
    p.needs_attention("Bodhi has no automatic update".to_owned(), 2001)
        .expect("attention");
    assert_eq!(p.stage.name(), "needs_attention");
    assert!(p.stage.is_terminal());
    p.update_found(
        "FEDORA-2026-aaaaaaaaaa".to_owned(),
        "testing".to_owned(),
        UpdateOrigin::Automatic,
        2002,
    )
    .expect("found late");
    assert_eq!(p.stage.name(), "update_testing");
}

#[test]
fn a_failed_update_is_retried_from_the_decision_and_attention_from_the_check() {
    let mut p = built(1);
    p.await_tag(plan(), "f43-updates-candidate".to_owned(), 1000, 104)
        .expect("await tag");
    p.fail("not tagged in time".to_owned(), None, 1001)
        .expect("fail");
    p.requeue("ops", 1002).expect("requeue");
    assert!(
        matches!(
            p.stage,
            Stage::Built {
                update_pending: true,
                ..
            }
        ),
        "a retry must not build again: {:?}",
        p.stage
    );
    let mut p = built(2);
    p.await_automatic_update(plan(), 2000, 104)
        .expect("automatic");
    p.needs_attention("missing".to_owned(), 2001)
        .expect("attention");
    p.requeue("ops", 2002).expect("requeue");
    assert!(matches!(
        p.stage,
        Stage::AwaitingAutomaticUpdate { check_at: 2002, .. }
    ));
}

#[test]
fn a_skipped_push_adopts_a_build_someone_else_made() {
    let mut p = super::tests::pipeline(3);
    p.agent = "bob".to_owned();
    p.skip(
        "pushed by bob, who is not in allowed_committers".to_owned(),
        101,
    )
    .expect("skip");
    let build = BuiltBuild {
        target: "f43-candidate".to_owned(),
        task_id: 9,
        build_id: 8,
        nvr: NVR.to_owned(),
        owner: Some("packit".to_owned()),
        ours: false,
    };
    p.adopt_build(build.clone(), true, 102).expect("adopt");
    assert!(matches!(
        p.stage,
        Stage::Built {
            update_pending: true,
            ..
        }
    ));
    assert!(
        p.history
            .last()
            .expect("history")
            .note
            .contains("by packit; not submitted by fedflow")
    );
    assert!(p.adopt_build(build, true, 103).is_err(), "adopted once");
}

#[test]
fn the_store_finds_a_pipeline_by_its_build_id_and_nvr() {
    let dir = TempDir::new().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let p = built(1);
    let key = p.key.clone();
    store
        .create_pipeline(&key, None, |_| p.clone())
        .expect("create");
    assert!(store.has_pipeline_for_build(7).expect("has"));
    assert!(!store.has_pipeline_for_build(8).expect("has not"));
    assert_eq!(
        store.pipeline_by_build(7).expect("by build").map(|p| p.id),
        Some(1)
    );
    assert_eq!(
        store.pipeline_by_nvr(NVR).expect("by nvr").map(|p| p.id),
        Some(1)
    );
    assert!(
        store
            .pipeline_by_nvr("foo-1.0-2.fc43")
            .expect("other")
            .is_none()
    );
    assert_eq!(
        store.active_pipelines().expect("active").len(),
        1,
        "update pending: active"
    );
}
