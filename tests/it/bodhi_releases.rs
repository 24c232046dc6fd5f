//! The Bodhi releases client against the fake Bodhi: paging, field mapping, alias resolution end to end,
//! and errors.

use crate::support::daemon::runtime;
use crate::support::fake_bodhi::{FakeBodhi, realistic_releases};
use fedflow::bodhi::{BodhiClient, BodhiError, resolve_branches};
use std::collections::BTreeSet;
use std::time::Duration;

fn client(fake: &FakeBodhi) -> BodhiClient {
    BodhiClient::new(fake.base_url(), Duration::from_secs(10)).expect("client")
}

fn names(releases: &[fedflow::bodhi::Release]) -> Vec<&str> {
    releases
        .iter()
        .map(|release| release.name.as_str())
        .collect()
}

const ACTIVE: [&str; 12] = [
    "ELN",
    "EPEL-10.1",
    "EPEL-10.2",
    "EPEL-8",
    "EPEL-9",
    "EPEL-9N",
    "F42",
    "F43",
    "F43C",
    "F43F",
    "F44",
    "F45",
];

#[test]
fn active_releases_follow_every_page() {
    let fake = FakeBodhi::start();
    fake.set_releases(realistic_releases());
    let releases = runtime()
        .block_on(client(&fake).with_page_size(5).active_releases())
        .expect("releases");
    assert_eq!(
        names(&releases),
        ACTIVE,
        "archived releases filtered by state, pages concatenated"
    );
    let query = "state=current&state=pending&state=frozen&rows_per_page=5";
    assert_eq!(
        fake.requests(),
        [1, 2, 3].map(|page| format!("/releases/?{query}&page={page}"))
    );
}

#[test]
fn default_page_size_reads_the_list_in_one_request_with_fields_mapped() {
    let fake = FakeBodhi::start();
    fake.set_releases(realistic_releases());
    let releases = runtime()
        .block_on(client(&fake).active_releases())
        .expect("releases");
    assert_eq!(names(&releases), ACTIVE);
    assert_eq!(fake.request_count(), 1);
    let rawhide = releases
        .iter()
        .find(|release| release.name == "F45")
        .expect("F45");
    assert_eq!(
        (
            rawhide.branch.as_str(),
            rawhide.composed_by_bodhi,
            rawhide.create_automatic_updates
        ),
        ("rawhide", false, true)
    );
    assert_eq!(
        rawhide.candidate_tag.as_deref(),
        Some("f45-updates-candidate")
    );
    let epel = releases
        .iter()
        .find(|release| release.name == "EPEL-10.1")
        .expect("EPEL-10.1");
    assert_eq!(
        (
            epel.long_name.as_str(),
            epel.version.as_str(),
            epel.id_prefix.as_str(),
            epel.state.as_str()
        ),
        ("Fedora EPEL 10.1", "10.1", "FEDORA-EPEL", "current")
    );
    assert_eq!(
        epel.candidate_tag.as_deref(),
        Some("epel10.1-testing-candidate")
    );
    assert!(epel.composed_by_bodhi && !epel.create_automatic_updates);
}

#[test]
fn aliases_resolve_against_the_served_releases() {
    let fake = FakeBodhi::start();
    fake.set_releases(realistic_releases());
    let releases = runtime()
        .block_on(client(&fake).with_page_size(4).active_releases())
        .expect("releases");
    let resolve = |entries: &[&str]| -> BTreeSet<String> {
        let entries: Vec<String> = entries.iter().map(|entry| (*entry).to_owned()).collect();
        resolve_branches(&entries, &releases)
    };
    let set = |branches: &[&str]| {
        branches
            .iter()
            .map(|branch| (*branch).to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        resolve(&["fedora-all"]),
        set(&["f42", "f43", "f44", "rawhide"])
    );
    assert_eq!(resolve(&["fedora-stable"]), set(&["f42", "f43"]));
    assert_eq!(
        resolve(&["fedora-branched", "epel-10"]),
        set(&["f42", "f43", "f44", "epel10"])
    );
    assert_eq!(
        resolve(&["epel-all"]),
        set(&["epel8", "epel9", "epel10", "epel10.1"])
    );
    assert_eq!(
        resolve(&["epel-10-branched", "main"]),
        set(&["epel10.1", "rawhide"])
    );
    assert_eq!(
        resolve(&["fedora-latest", "fedora-latest-stable"]),
        set(&["f44", "f43"])
    );
}

#[test]
fn an_empty_release_list_is_one_page_of_nothing() {
    let fake = FakeBodhi::start();
    let releases = runtime()
        .block_on(client(&fake).active_releases())
        .expect("releases");
    assert!(releases.is_empty());
    assert_eq!(fake.request_count(), 1);
}

#[test]
fn server_errors_and_garbled_answers_are_transient() {
    let fake = FakeBodhi::start();
    fake.set_releases(realistic_releases());
    let client = client(&fake).with_page_size(5);
    let rt = runtime();

    fake.fail_next(500);
    let err = rt.block_on(client.active_releases()).expect_err("500");
    assert_eq!(
        (err.kind(), err.is_transient()),
        ("server_error", true),
        "{err}"
    );
    assert_eq!(err.descriptions(), ["fake failure with HTTP 500"]);
    assert!(err.to_string().contains("/releases/"), "{err}");

    // A failure on a later page fails the whole call (a partial list would resolve aliases wrongly).
    let page_two = "/releases/?state=current&state=pending&state=frozen&rows_per_page=5&page=2";
    fake.reply_next(
        page_two,
        503,
        "text/html",
        b"<html>Service Unavailable</html>",
    );
    let err = rt
        .block_on(client.active_releases())
        .expect_err("503 on page 2");
    assert!(
        matches!(err, BodhiError::ServerError { status: 503, .. }),
        "{err}"
    );

    fake.reply_next("/releases/", 200, "text/html", b"<html>maintenance</html>");
    let err = rt.block_on(client.active_releases()).expect_err("html 200");
    assert_eq!(
        (err.kind(), err.is_transient()),
        ("invalid_json", true),
        "{err}"
    );

    assert_eq!(
        rt.block_on(client.active_releases())
            .expect("recovered")
            .len(),
        ACTIVE.len()
    );
}

#[test]
fn rejections_are_permanent_and_keep_bodhi_descriptions() {
    let fake = FakeBodhi::start();
    let body = br#"{"status": "error", "errors": [
        {"location": "querystring", "name": "state", "description": "\"bogus\" is not one of pending, frozen, current"},
        {"location": "querystring", "name": "page", "description": "0 is less than minimum value 1"}]}"#;
    fake.reply_next("/releases/", 400, "application/json", body);
    let err = runtime()
        .block_on(client(&fake).active_releases())
        .expect_err("400");
    assert_eq!(
        (err.kind(), err.is_transient()),
        ("rejected", false),
        "{err}"
    );
    assert_eq!(
        err.descriptions(),
        [
            "\"bogus\" is not one of pending, frozen, current",
            "0 is less than minimum value 1"
        ]
    );
    assert!(
        err.to_string().contains("0 is less than minimum value 1"),
        "{err}"
    );
}
