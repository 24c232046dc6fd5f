//! The reads behind update notes against the fake hub: a build's tags, the latest build of a package
//! in a tag (tagging order, inheritance, no match), a build's changelog (several entries, one entry as
//! a list and as bare values, none for an unknown build), each call's exact parameters, and failures.

use fedflow::koji::{ChangelogEntry, FaultCode, KojiAuth, KojiClient, TagInfo};
use fedflow::message::BuildState;
use serde_json::json;

use super::{SRC, WAIT, config, fault_code};
use crate::support::daemon::runtime;
use crate::support::fake_koji::{FakeKoji, Injection};

fn anonymous(fake: &FakeKoji) -> KojiClient {
    KojiClient::new(config(fake, KojiAuth::Anonymous, WAIT)).expect("client")
}

fn params(fake: &FakeKoji, method: &str) -> Vec<serde_json::Value> {
    fake.calls_of(method)
        .into_iter()
        .map(|call| call.params)
        .collect()
}

fn tag_names(tags: &[TagInfo]) -> Vec<&str> {
    tags.iter().map(|tag| tag.name.as_str()).collect()
}

#[test]
fn tags_of_a_build_by_nvr_and_by_id() {
    let fake = FakeKoji::start();
    let build_id = fake.add_build("hello-2.12.1-4.fc43", "COMPLETE", Some(SRC), "packit");
    let other = fake.add_build("other-1-1.fc43", "COMPLETE", None, "packit");
    fake.tag_build(build_id, "f43-updates-candidate");
    fake.tag_build(build_id, "f43-updates-testing-pending");
    fake.tag_build(other, "f43-updates");
    let client = anonymous(&fake);
    let rt = runtime();

    let tags = rt
        .block_on(client.list_tags("hello-2.12.1-4.fc43"))
        .expect("listTags");
    assert_eq!(
        tag_names(&tags),
        vec!["f43-updates-candidate", "f43-updates-testing-pending"]
    );
    assert!(tags.iter().all(|tag| tag.id > 0), "{tags:?}");
    assert_ne!(tags[0].id, tags[1].id);

    fake.untag_build(build_id, "f43-updates-candidate");
    let by_id = rt
        .block_on(client.list_tags(&build_id.to_string()))
        .expect("listTags by id");
    assert_eq!(tag_names(&by_id), vec!["f43-updates-testing-pending"]);
    assert_eq!(
        params(&fake, "listTags"),
        vec![
            json!([{"__starstar": true, "build": "hello-2.12.1-4.fc43"}]),
            json!([{"__starstar": true, "build": build_id}]),
        ]
    );
}

#[test]
fn tags_of_an_unknown_build_are_koji_s_no_such_build_fault() {
    let fake = FakeKoji::start();
    let client = anonymous(&fake);
    let (code, error) = fault_code(runtime().block_on(client.list_tags("nosuch-1-1.fc43")));
    assert_eq!(code, FaultCode::GenericError);
    assert!(
        error.to_string().contains("No such build: nosuch-1-1.fc43"),
        "{error}"
    );
    assert!(!error.is_transient());
}

#[test]
fn latest_tagged_build_is_the_last_tagged_and_follows_inheritance() {
    let fake = FakeKoji::start();
    let older = fake.add_build("hello-2.12.1-3.fc43", "COMPLETE", Some(SRC), "packit");
    let newer = fake.add_build("hello-2.12.1-4.fc43", "COMPLETE", Some(SRC), "packit");
    let base = fake.add_build("world-1.0-1.fc43", "COMPLETE", None, "releng");
    fake.add_tag_inheritance("f43-updates", "f43");
    fake.tag_build(newer, "f43-updates");
    // Tagged later, so koji calls it the latest whatever its version says.
    fake.tag_build(older, "f43-updates");
    fake.tag_build(base, "f43");
    let client = anonymous(&fake);
    let rt = runtime();

    let latest = rt
        .block_on(client.latest_tagged_build("f43-updates", "hello"))
        .expect("getLatestBuilds")
        .expect("a build");
    assert_eq!(
        (latest.build_id, latest.nvr.as_str()),
        (older, "hello-2.12.1-3.fc43")
    );
    assert_eq!(latest.state, BuildState::Complete);
    assert_eq!(latest.owner_name.as_deref(), Some("packit"));
    // getLatestBuilds rows carry neither `source` nor `extra`.
    assert_eq!((latest.source, latest.original_source), (None, None));

    let inherited = rt
        .block_on(client.latest_tagged_build("f43-updates", "world"))
        .expect("getLatestBuilds")
        .expect("inherited from f43");
    assert_eq!(inherited.build_id, base);

    fake.untag_build(older, "f43-updates");
    let after_untag = rt
        .block_on(client.latest_tagged_build("f43-updates", "hello"))
        .expect("getLatestBuilds");
    assert_eq!(after_untag.map(|build| build.build_id), Some(newer));
    assert_eq!(
        params(&fake, "getLatestBuilds")[0],
        json!(["f43-updates", {"__starstar": true, "package": "hello"}])
    );
}

#[test]
fn latest_tagged_build_without_a_match_is_none_and_unknown_tag_a_fault() {
    let fake = FakeKoji::start();
    let build_id = fake.add_build("hello-2.12.1-4.fc43", "COMPLETE", Some(SRC), "packit");
    fake.tag_build(build_id, "f43-updates-candidate");
    let client = anonymous(&fake);
    let rt = runtime();

    let none = rt
        .block_on(client.latest_tagged_build("f43-updates-candidate", "other"))
        .expect("getLatestBuilds");
    assert_eq!(none, None);
    fake.untag_build(build_id, "f43-updates-candidate");
    let emptied = rt
        .block_on(client.latest_tagged_build("f43-updates-candidate", "hello"))
        .expect("getLatestBuilds");
    assert_eq!(emptied, None);

    let (code, error) = fault_code(rt.block_on(client.latest_tagged_build("f99-updates", "hello")));
    assert_eq!(code, FaultCode::GenericError);
    assert!(error.to_string().contains("f99-updates"), "{error}");
}

#[test]
fn changelog_with_several_entries_comes_newest_first() {
    let fake = FakeKoji::start();
    let build_id = fake.add_build("hello-2.12.1-4.fc43", "COMPLETE", Some(SRC), "packit");
    // Past 2038 the time no longer fits 32 bits: the hub sends it as <i8>.
    let entries = vec![
        (
            4_102_488_000,
            "Jane Doe <jane@example.org> - 2.12.1-4",
            "- Fixes rhbz#2345678 & <escapes>",
        ),
        (
            1_709_596_800,
            "Jane Doe <jane@example.org> - 2.12.1-3",
            "- Rebuilt\n- Second line",
        ),
        (
            1_706_745_600,
            "John Roe <john@example.org> - 2.12.1-2",
            "- Ünïcödé ☃",
        ),
    ];
    fake.set_changelog(build_id, entries.clone());
    let client = anonymous(&fake);

    let changelog = runtime()
        .block_on(client.changelog(build_id))
        .expect("changelog");
    let expected: Vec<ChangelogEntry> = entries
        .into_iter()
        .map(|(time, author, text)| ChangelogEntry {
            time,
            author: author.to_owned(),
            text: text.to_owned(),
        })
        .collect();
    assert_eq!(changelog, expected);

    let srpm = fake
        .rpms()
        .into_iter()
        .find(|rpm| rpm.build_id == build_id && rpm.arch == "src")
        .expect("an SRPM row");
    assert_eq!(
        params(&fake, "listRPMs"),
        vec![json!([{"__starstar": true, "buildID": build_id, "arches": "src"}])]
    );
    assert_eq!(
        params(&fake, "getRPMHeaders"),
        vec![json!([{"__starstar": true, "rpmID": srpm.id,
            "headers": ["changelogtime", "changelogname", "changelogtext"]}])]
    );
}

#[test]
fn single_entry_changelog_as_a_list_and_as_bare_values() {
    let fake = FakeKoji::start();
    let client = anonymous(&fake);
    let rt = runtime();
    let task_id = {
        let ssl = super::ssl_client(&fake);
        rt.block_on(ssl.build(SRC, "f43-candidate", false))
            .expect("build")
    };
    // A finished build has its SRPM and the default one-entry changelog.
    let build_id = fake.finish_build(task_id, "COMPLETE", "hello-2.12.1-5.fc43");

    let as_list = rt.block_on(client.changelog(build_id)).expect("changelog");
    assert_eq!(as_list.len(), 1, "{as_list:?}");
    assert_eq!(
        as_list[0].author,
        "Fedflow Tester <tester@example.org> - 2.12.1-5.fc43"
    );
    assert_eq!(as_list[0].text, "- Automatic build");
    assert_eq!(as_list[0].time % 86_400, 0, "a day stamp");

    fake.set_scalar_single_header_values(true);
    let as_scalars = rt.block_on(client.changelog(build_id)).expect("changelog");
    assert_eq!(as_scalars, as_list);
    let headers = fake.calls_of("getRPMHeaders");
    assert_eq!(headers.len(), 2);
}

#[test]
fn unknown_or_unfinished_build_has_no_changelog() {
    let fake = FakeKoji::start();
    let building = fake.add_build("hello-2.12.1-6.fc43", "BUILDING", Some(SRC), "packit");
    let client = anonymous(&fake);
    let rt = runtime();

    assert_eq!(
        rt.block_on(client.changelog(999_999)).expect("changelog"),
        vec![]
    );
    assert_eq!(
        rt.block_on(client.changelog(building)).expect("changelog"),
        vec![]
    );
    // No SRPM row, so no header read.
    assert_eq!(fake.calls_of("listRPMs").len(), 2);
    assert!(fake.calls_of("getRPMHeaders").is_empty());
}

#[test]
fn changelog_failures_are_typed() {
    let fake = FakeKoji::start();
    let build_id = fake.add_build("hello-2.12.1-4.fc43", "COMPLETE", Some(SRC), "packit");
    let client = anonymous(&fake);
    let rt = runtime();

    fake.inject("listRPMs", Injection::HttpStatus(503));
    let unavailable = rt.block_on(client.changelog(build_id)).expect_err("503");
    assert_eq!(unavailable.kind(), "http_status");
    assert!(unavailable.is_transient());

    let odd_headers = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n\
        <value><struct>\n<member>\n<name>changelogtime</name>\n<value><string>yesterday</string></value>\n</member>\n\
        <member>\n<name>changelogname</name>\n<value><string>x</string></value>\n</member>\n\
        <member>\n<name>changelogtext</name>\n<value><string>y</string></value>\n</member>\n\
        </struct></value>\n</param>\n</params>\n</methodResponse>\n";
    fake.inject("getRPMHeaders", Injection::RawBody(odd_headers.to_owned()));
    let undecodable = rt.block_on(client.changelog(build_id)).expect_err("odd");
    assert_eq!(undecodable.kind(), "decode");
    assert!(
        undecodable.to_string().contains("getRPMHeaders"),
        "{undecodable}"
    );
    assert!(!undecodable.is_transient());

    // The next call is answered normally again.
    assert_eq!(
        rt.block_on(client.changelog(build_id))
            .expect("changelog")
            .len(),
        1
    );
}
