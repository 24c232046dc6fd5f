//! `/metrics` parses as Prometheus text and its series follow what the daemon does.

use super::Scene;
use crate::support::pipeline_env::{PUSHER, commit, push_body};
use crate::support::process::poll_until;
use std::collections::BTreeMap;
use std::time::Duration;

/// Every sample of an exposition, `name{labels}` → value; panics on a line Prometheus would refuse.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.last(),
        Some(&"# EOF"),
        "the exposition ends with # EOF"
    );
    for line in &lines[..lines.len() - 1] {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let kind = words.next().unwrap_or_default();
            let name = words.next().unwrap_or_default();
            assert!(
                matches!(kind, "HELP" | "TYPE" | "UNIT") && valid_name(name),
                "bad comment line {line:?}"
            );
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value in {line:?}"));
        let name = series.split('{').next().unwrap_or_default();
        assert!(valid_name(name), "bad metric name in {line:?}");
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "bad labels in {line:?}"
            );
        }
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        samples.insert(series.to_owned(), value);
    }
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[test]
fn metrics_parse_and_their_series_follow_messages_pipelines_and_koji_calls() {
    let scene = Scene::start();
    let client = &scene.client;
    let reply = client.get("/metrics");
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .content_type
            .starts_with("application/openmetrics-text"),
        "{}",
        reply.content_type
    );
    let before = parse(&reply.body);
    let value = |samples: &BTreeMap<String, f64>, series: &str| {
        samples
            .get(series)
            .copied()
            .unwrap_or_else(|| panic!("{series} missing from:\n{}", client.get("/metrics").body))
    };
    let recorded = "fedflow_amqp_messages_total{topic=\"pagure.git.receive\",outcome=\"recorded\"}";
    let duplicates =
        "fedflow_amqp_messages_total{topic=\"pagure.git.receive\",outcome=\"duplicate\"}";
    assert_eq!(value(&before, recorded), 1.0);
    assert_eq!(
        value(&before, "fedflow_pipelines{state=\"submitted\"}"),
        1.0
    );
    assert_eq!(
        value(&before, "fedflow_pipelines{state=\"needs_attention\"}"),
        0.0
    );
    // The seeded ones: finished states are counted too.
    assert_eq!(value(&before, "fedflow_pipelines{state=\"failed\"}"), 1.0);
    assert_eq!(
        value(&before, "fedflow_pipelines{state=\"update_testing\"}"),
        1.0
    );
    assert_eq!(value(&before, "fedflow_pipelines_stored"), 3.0);
    assert_eq!(value(&before, "fedflow_amqp_connected"), 1.0);
    assert_eq!(value(&before, "fedflow_amqp_reconnects_total"), 0.0);
    assert!(value(&before, "fedflow_store_size_bytes") > 0.0);
    assert!(value(&before, "fedflow_amqp_last_message_timestamp_seconds") > 1.7e9);
    assert!(before.contains_key("fedflow_amqp_consume_lag_seconds"));
    let builds_ok = "fedflow_koji_calls_total{method=\"build\",outcome=\"ok\"}";
    assert_eq!(value(&before, builds_ok), 1.0);
    assert!(
        value(
            &before,
            "fedflow_koji_call_duration_seconds_count{method=\"build\"}"
        ) >= 1.0
    );
    assert!(
        before
            .keys()
            .any(|k| k.starts_with("fedflow_koji_calls_total{method=\"listTasks\"")),
        "the search before the build is counted too: {before:#?}"
    );

    assert_eq!(
        value(
            &before,
            "fedflow_bodhi_calls_total{method=\"GET /releases/\",outcome=\"ok\"}"
        ),
        1.0,
        "the policy read Bodhi's releases once (then from the cache)"
    );
    assert!(
        value(
            &before,
            "fedflow_bodhi_call_duration_seconds_count{method=\"GET /releases/\"}"
        ) >= 1.0
    );

    // A second push builds; the first one again is a duplicate.
    let push = push_body("foo", "f43", &commit("foo-http-2"), PUSHER);
    let id = scene.env.publish("pagure.git.receive", &push);
    scene.env.publish_with_id("pagure.git.receive", &push, &id);
    let mut after = before.clone();
    let moved = poll_until(Duration::from_secs(60), || {
        after = parse(&client.get("/metrics").body);
        // The build call is counted when Koji answers, the pipeline's move to submitted is stored just after.
        after.get(builds_ok) == Some(&2.0)
            && after.contains_key(duplicates)
            && after.get("fedflow_pipelines{state=\"submitted\"}") == Some(&2.0)
    });
    assert!(moved, "metrics did not follow: {after:#?}");
    assert_eq!(value(&after, recorded), 2.0);
    assert_eq!(value(&after, duplicates), 1.0);
    assert_eq!(value(&after, "fedflow_pipelines{state=\"submitted\"}"), 2.0);
    assert_eq!(value(&after, "fedflow_pipelines_stored"), 4.0);
    scene.stop();
}
