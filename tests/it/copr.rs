//! Copr build tracking end to end: a real daemon on the shared broker consumes the real copr-messaging
//! fixture bodies, `fedflow copr` shows the tracked builds, a failed chroot is logged once, duplicates
//! count once, and turning tracking on by reload binds the Copr topics.

use crate::support::amqp::{Publisher, connect_plain, unique_prefix};
use crate::support::broker::shared;
use crate::support::daemon::{Instance, received, runtime};
use crate::support::fixtures::{FixtureMessage, fixture_messages};
use crate::support::process::poll_until;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The failed chroot among the fixtures: build 942697 of kbaig/test in fedora-29-x86_64.
const FAILED_END_ID: &str = "b8396137-ca03-40fd-a394-152c1cb9abfa";
/// `copr.results_url`'s default: the tests set only `copr.url`.
const RESULTS: &str = "https://download.copr.fedorainfracloud.org/results";
/// 2026-01-01T00:00:00+00:00, the fixtures' `sent-at`.
const SENT_AT: u64 = 1_767_225_600;

/// The `[bus]` body plus a `[copr]` table (the support writes `[state]` after it).
fn config(projects: &[&str]) -> String {
    let projects = projects
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "url = \"{}\"\n\n[copr]\nprojects = [{projects}]\nurl = \"https://copr.example\"",
        shared().plain_url()
    )
}

fn copr_fixtures() -> Vec<FixtureMessage> {
    let fixtures: Vec<FixtureMessage> = fixture_messages()
        .into_iter()
        .filter(|f| f.topic.starts_with("copr.build."))
        .collect();
    assert_eq!(fixtures.len(), 5, "the copr fixture set changed");
    fixtures
}

fn fixture(topic: &str) -> FixtureMessage {
    fixture_messages()
        .into_iter()
        .find(|f| f.topic == topic)
        .unwrap_or_else(|| panic!("a {topic} fixture"))
}

/// `fedflow copr [args] --json`, as an admin runs it.
fn copr_json(instance: &Instance, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["copr", "--json"];
    all.extend_from_slice(args);
    let output = instance.command(&all).output().expect("run fedflow copr");
    assert!(
        output.status.success(),
        "fedflow copr failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON list")
}

fn copr_text(instance: &Instance, args: &[&str]) -> String {
    let mut all = vec!["copr"];
    all.extend_from_slice(args);
    let output = instance.command(&all).output().expect("run fedflow copr");
    assert!(output.status.success());
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// The daemon's log without terminal colours, so fields read as `name=value`.
fn plain_log(instance: &Instance) -> String {
    let log = instance.log();
    let mut plain = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

fn failure_lines(instance: &Instance) -> Vec<String> {
    plain_log(instance)
        .lines()
        .filter(|l| l.contains("copr build 942697 of kbaig/test failed"))
        .map(str::to_owned)
        .collect()
}

fn by_chroot(records: &[Value]) -> BTreeMap<(i64, String), Value> {
    records
        .iter()
        .map(|r| {
            let key = (
                r["build_id"].as_i64().expect("build_id"),
                r["chroot"].as_str().expect("chroot").to_owned(),
            );
            (key, r.clone())
        })
        .collect()
}

#[test]
fn tracked_builds_are_listed_a_failure_is_logged_once_and_duplicates_count_once() {
    let prefix = unique_prefix();
    // @python/python3.8 (build 945012) is left untracked.
    let instance = Instance::new(
        &config(&[
            "packit/packit-service-*",
            "packit/foo-bar-???",
            "kbaig/test",
        ]),
        &prefix,
    );
    let mut daemon = instance.start();
    instance.wait_connected();
    let rt = runtime();
    let connection = rt.block_on(connect_plain(&shared().plain_url()));
    let publisher = rt.block_on(Publisher::new(&connection));

    let fixtures = copr_fixtures();
    for fixture in &fixtures {
        rt.block_on(publisher.publish_fixture(fixture, &prefix));
    }
    instance.wait_status("the copr messages", Duration::from_secs(30), |s| {
        received(s) == 5
    });

    let records = copr_json(&instance, &[]);
    let chroots = by_chroot(&records);
    let keys: Vec<_> = chroots.keys().cloned().collect();
    assert_eq!(
        keys,
        vec![
            (942697, "fedora-29-x86_64".to_owned()),
            (1044215, "fedora-rawhide-x86_64".to_owned()),
            (3122876, "srpm-builds".to_owned()),
        ],
        "the untracked @python build is not recorded: {records:#?}"
    );
    // Newest build first.
    assert_eq!(records[0]["build_id"], 3122876);

    let hello = &chroots[&(1044215, "fedora-rawhide-x86_64".to_owned())];
    assert_eq!(hello["status"], "succeeded");
    assert_eq!(hello["project"], "packit/packit-service-hello-world-24");
    assert_eq!(hello["package"], "hello");
    assert_eq!(hello["version"], "0.7.0.3.ga593893-1.fc30");
    assert_eq!(hello["started_at"], SENT_AT);
    assert_eq!(hello["ended_at"], SENT_AT);
    assert_eq!(
        hello["start_message_id"],
        "94aea94a-65b3-4e77-b19f-3ff046638903"
    );
    assert_eq!(
        hello["end_message_id"],
        "bd0b85ad-a2ca-405d-9b2e-964d490e3129"
    );
    assert_eq!(
        hello["build_url"],
        "https://copr.example/coprs/packit/packit-service-hello-world-24/build/1044215/"
    );
    assert_eq!(
        hello["results_url"],
        format!(
            "{RESULTS}/packit/packit-service-hello-world-24/fedora-rawhide-x86_64/01044215-hello/"
        )
    );

    // An end without its start, and the SRPM step, which does not know its package.
    let failed = &chroots[&(942697, "fedora-29-x86_64".to_owned())];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["started_at"], Value::Null);
    assert_eq!(failed["end_message_id"], FAILED_END_ID);
    let srpm = &chroots[&(3122876, "srpm-builds".to_owned())];
    assert_eq!(
        (&srpm["status"], &srpm["package"]),
        (&Value::from("succeeded"), &Value::Null)
    );

    // One project, as text.
    let text = copr_text(&instance, &["kbaig/test"]);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("942697  kbaig/test  tkn-0.1.2-1.fc30  ")
            && text.contains(
                "fedora-29-x86_64:failed  https://copr.example/coprs/kbaig/test/build/942697/"
            ),
        "{text}"
    );

    // The failure is in the log once, with its journal fields.
    assert!(
        poll_until(Duration::from_secs(10), || failure_lines(&instance).len()
            == 1),
        "{}",
        plain_log(&instance)
    );
    let line = &failure_lines(&instance)[0];
    for field in [
        "WARN",
        "copr_build_id=942697",
        "copr_project=kbaig/test",
        "chroot=fedora-29-x86_64",
        "package=tkn",
        &format!("amqp_message_id={FAILED_END_ID}"),
        "message_id=59dc7ae14c58458c86a03a8925820be7",
    ] {
        assert!(line.contains(field), "{field} missing in {line}");
    }

    // The failed end again under its id (a redelivery) and under a new id (a republish), then a marker
    // message: once the marker is in, both were processed.
    let failed_end = fixtures
        .iter()
        .find(|f| f.id == FAILED_END_ID)
        .expect("the failed end");
    rt.block_on(publisher.publish_fixture(failed_end, &prefix));
    let republished = FixtureMessage {
        id: uuid::Uuid::new_v4().to_string(),
        ..failed_end.clone()
    };
    rt.block_on(publisher.publish_fixture(&republished, &prefix));
    let status = instance.wait_status("the duplicates", Duration::from_secs(30), |s| {
        s["messages"]["duplicates"] == 1 && received(s) == 6
    });
    assert_eq!(
        status["messages"]["by_topic"]["copr.build.end"], 4,
        "{status:#}"
    );
    assert_eq!(
        failure_lines(&instance).len(),
        1,
        "{}",
        plain_log(&instance)
    );
    let again = by_chroot(&copr_json(&instance, &[]));
    assert_eq!(
        again[&(942697, "fedora-29-x86_64".to_owned())]["end_message_id"],
        FAILED_END_ID
    );

    status_page_shows_the_builds(&instance);

    let (code, _) = daemon.stop();
    assert!(code.success(), "{code:?}");
    // With the daemon stopped, `fedflow copr` reads the store itself; the counts are in the store.
    assert_eq!(copr_json(&instance, &[]).len(), 3);
    let store = fedflow::store::Store::open(&instance.state_dir()).expect("open the store");
    let counts = store.copr_counts().expect("counts");
    let expected: BTreeMap<(String, String), u64> = [
        (("kbaig/test", "failed"), 1),
        (("packit/foo-bar-123", "succeeded"), 1),
        (("packit/packit-service-hello-world-24", "succeeded"), 1),
    ]
    .into_iter()
    .map(|((p, s), n)| ((p.to_owned(), s.to_owned()), n))
    .collect();
    assert_eq!(counts, expected);
}

/// The status page's Copr view, its JSON API (the same records `fedflow copr --json` prints) and the
/// counts on `/metrics`, after the fixtures above.
fn status_page_shows_the_builds(instance: &Instance) {
    let client = crate::http::Client::of(instance);
    let api = client.get("/api/v1/copr/builds");
    assert_eq!(api.status, 200, "{}", api.body);
    assert_eq!(api.json(), Value::Array(copr_json(instance, &[])));
    let one = client
        .get("/api/v1/copr/builds?project=kbaig%2Ftest")
        .json();
    assert_eq!(one.as_array().map(Vec::len), Some(1), "{one:#}");
    assert_eq!(one[0]["build_id"], 942697);
    assert_eq!(
        client
            .get("/api/v1/copr/builds?limit=1")
            .json()
            .as_array()
            .map(Vec::len),
        Some(1),
        "the newest build, the SRPM step of 3122876"
    );
    for bad in ["limit=0", "limit=many", "project=nope", "colour=red"] {
        let reply = client.get(&format!("/api/v1/copr/builds?{bad}"));
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        assert_eq!(reply.json()["kind"], "bad_request", "{bad}");
    }

    let page = client.get("/copr");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    let html = &page.body;
    for expected in [
        "<section class=\"copr-project\" data-project=\"kbaig/test\">",
        "<a href=\"/copr?project=kbaig%2Ftest\">kbaig/test</a>",
        "finished chroots: failed 1",
        "<a class=\"build\" href=\"https://copr.example/coprs/kbaig/test/build/942697/\">942697</a>",
        "tkn-0.1.2-1.fc30",
        "fedora-29-x86_64 <span class=\"state state-failed\">failed</span>",
        &format!("href=\"{RESULTS}/kbaig/test/fedora-29-x86_64/00942697-tkn/\">logs</a>"),
        &format!("href=\"{RESULTS}/packit/foo-bar-123/srpm-builds/03122876/\">logs</a>"),
        "data-project=\"packit/packit-service-hello-world-24\"",
    ] {
        assert!(
            html.contains(expected),
            "{expected:?} missing from:\n{html}"
        );
    }
    assert!(!html.contains("python3.8"), "an untracked project: {html}");

    let only = client.get("/copr?project=kbaig/test").body;
    assert!(only.contains("data-project=\"kbaig/test\""), "{only}");
    assert!(!only.contains("hello-world"), "{only}");
    assert!(
        only.contains("href=\"/api/v1/copr/builds?project=kbaig%2Ftest\""),
        "{only}"
    );

    // On a phone: three builds, stacked, nothing sticking out (chroot names and links are long words).
    let phone = crate::http::phone::Phone::start();
    crate::http::phone::assert_fits_a_phone(&phone, &client.url("/copr"), 3);
    drop(phone);

    let metrics = client.get("/metrics").body;
    for line in [
        "fedflow_copr_builds_total{project=\"kbaig/test\",status=\"failed\"} 1",
        "fedflow_copr_builds_total{project=\"packit/packit-service-hello-world-24\",status=\"succeeded\"} 1",
    ] {
        assert!(metrics.contains(line), "{line:?} missing from:\n{metrics}");
    }
}

#[test]
fn copr_topics_are_bound_only_while_tracking_and_a_reload_turns_tracking_on() {
    let prefix = unique_prefix();
    let instance = Instance::new(&config(&[]), &prefix);
    let mut daemon = instance.start();
    instance.wait_connected();
    let rt = runtime();
    let connection = rt.block_on(connect_plain(&shared().plain_url()));
    let publisher = rt.block_on(Publisher::new(&connection));
    let hello_end = copr_fixtures()
        .into_iter()
        .find(|f| f.id == "bd0b85ad-a2ca-405d-9b2e-964d490e3129")
        .expect("the hello end");

    // Untracked: the Copr message is not routed to the queue. The tag published after it arrives, so the
    // Copr message would have too (one queue keeps the publisher's order).
    rt.block_on(publisher.publish_fixture(&hello_end, &prefix));
    rt.block_on(publisher.publish_fixture(&fixture("buildsys.tag"), &prefix));
    let status = instance.wait_status("the tag", Duration::from_secs(30), |s| received(s) == 1);
    assert_eq!(
        status["messages"]["by_topic"]["buildsys.tag"], 1,
        "{status:#}"
    );
    assert!(copr_text(&instance, &[]).contains("copr tracking is off"));

    instance.write_config(&config(&["packit/*"]), "info");
    daemon.signal(libc::SIGHUP);
    assert!(
        poll_until(Duration::from_secs(10), || {
            let log = plain_log(&instance);
            log.contains(&format!("routing_key={prefix}.copr.build.start"))
                && log.contains(&format!("routing_key={prefix}.copr.build.end"))
        }),
        "copr topics not bound after SIGHUP:\n{}",
        plain_log(&instance)
    );
    rt.block_on(publisher.publish_fixture(&hello_end, &prefix));
    instance.wait_status("the copr end", Duration::from_secs(30), |s| {
        received(s) == 2
    });
    let records = copr_json(&instance, &["packit/packit-service-hello-world-24"]);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["status"], "succeeded");
    let (code, _) = daemon.stop();
    assert!(code.success(), "{code:?}");
}
