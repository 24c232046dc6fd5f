//! The daemon against the shared broker: every fixture recorded, duplicates counted, bad input rejected,
//! and the TLS + SASL EXTERNAL login Fedora's public broker requires.

use crate::support::amqp::{
    Publisher, connect_plain, fixture_messages, python_json_dumps, queue_counts, unique_prefix,
};
use crate::support::broker::shared;
use crate::support::daemon::{Instance, bound_by_default, deliverable_fixtures, received, runtime};
use fedflow::config::COPR_TOPICS;
use fedflow::journal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

fn plain_bus(extra: &str) -> String {
    format!("url = \"{}\"\nprefetch = 50\n{extra}", shared().plain_url())
}

#[test]
fn every_fixture_is_recorded_under_its_topic_and_duplicates_are_counted() {
    let prefix = unique_prefix();
    // Tracking every Copr project binds the Copr topics too.
    let instance = Instance::new(&plain_bus("\n[copr]\nprojects = [\"*/*\"]"), &prefix);
    let mut daemon = instance.start();
    instance.wait_connected();
    let bound = |topic: &str| bound_by_default(topic) || COPR_TOPICS.contains(&topic);

    let fixtures = fixture_messages();
    let rt = runtime();
    let connection = rt.block_on(connect_plain(&shared().plain_url()));
    let publisher = rt.block_on(Publisher::new(&connection));
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for fixture in &fixtures {
        rt.block_on(publisher.publish_fixture(fixture, &prefix));
        if bound(&fixture.topic) {
            *expected.entry(fixture.topic.clone()).or_default() += 1;
        }
    }
    let total: u64 = expected.values().sum();
    assert!(total >= 20, "the fixture set shrank: {total}");
    let status = instance.wait_status("all fixtures", Duration::from_secs(30), |s| {
        received(s) == total
    });
    let by_topic: BTreeMap<String, u64> =
        serde_json::from_value(status["messages"]["by_topic"].clone()).expect("by_topic");
    assert_eq!(by_topic, expected);
    assert_eq!(status["messages"]["rejected"], 0, "{status:#}");

    // The same ids again (a republish, or a redelivery after a crash): acked, ignored, counted.
    for fixture in fixtures
        .iter()
        .filter(|f| bound_by_default(&f.topic))
        .take(3)
    {
        rt.block_on(publisher.publish_fixture(fixture, &prefix));
    }
    let status = instance.wait_status("three duplicates", Duration::from_secs(30), |s| {
        s["messages"]["duplicates"] == 3
    });
    assert_eq!(received(&status), total);
    assert_eq!(status["recent"].as_array().map(Vec::len), Some(20));

    let (code, _) = daemon.stop();
    assert!(code.success(), "{code:?}");
    let counts = rt.block_on(queue_counts(&connection, &instance.queue));
    assert_eq!(
        counts,
        Some((0, 0)),
        "messages left in the queue or a consumer still attached"
    );
}

#[test]
fn bad_input_is_rejected_counted_and_the_daemon_keeps_running() {
    let prefix = unique_prefix();
    let instance = Instance::new(
        &plain_bus(
            "max_body_bytes = 4096\ntopics = [\"buildsys.build.state.change\", \"fedflow.test.unknown\"]",
        ),
        &prefix,
    );
    let mut daemon = instance.start();
    instance.wait_connected();

    let build = deliverable_fixtures()
        .into_iter()
        .find(|f| f.topic == "buildsys.build.state.change")
        .expect("a build fixture");
    let build_key = build.routing_key_with_prefix(&prefix);
    let headers = build.headers.clone();
    let mut without_build_id = build.body.clone();
    without_build_id
        .as_object_mut()
        .expect("object body")
        .remove("build_id");
    let mut huge = build.body.clone();
    huge["padding"] = Value::String("x".repeat(5000));

    let cases: Vec<(&str, String, Option<String>, Vec<u8>)> = vec![
        (
            "invalid_utf8",
            build_key.clone(),
            Some("bad-utf8".into()),
            b"{\"a\": \"\xff\xfe\"}".to_vec(),
        ),
        (
            "invalid_json",
            build_key.clone(),
            Some("bad-json".into()),
            b"{\"name\": ".to_vec(),
        ),
        (
            "not_an_object",
            build_key.clone(),
            Some("bad-array".into()),
            b"[1, 2, 3]".to_vec(),
        ),
        (
            "missing_field",
            build_key.clone(),
            Some("bad-field".into()),
            python_json_dumps(&without_build_id),
        ),
        (
            "too_large",
            build_key.clone(),
            Some("bad-size".into()),
            python_json_dumps(&huge),
        ),
        (
            "missing_message_id",
            build_key.clone(),
            None,
            python_json_dumps(&build.body),
        ),
        (
            "unknown_topic",
            format!("{prefix}.fedflow.test.unknown"),
            Some("bad-topic".into()),
            b"{}".to_vec(),
        ),
    ];
    let rt = runtime();
    let connection = rt.block_on(connect_plain(&shared().plain_url()));
    let publisher = rt.block_on(Publisher::new(&connection));
    for (_, key, id, body) in &cases {
        rt.block_on(publisher.publish(key, id.as_deref(), &headers, body));
    }
    // A good message after the bad ones proves the consumer is still working.
    rt.block_on(publisher.publish(
        &build_key,
        Some("good-one"),
        &headers,
        &python_json_dumps(&build.body),
    ));

    let status = instance.wait_status("all rejections", Duration::from_secs(30), |s| {
        s["messages"]["rejected"] == cases.len() && received(s) == 1
    });
    for (reason, ..) in &cases {
        assert_eq!(
            status["messages"]["rejected_by_reason"][reason], 1,
            "{reason}: {status:#}"
        );
    }
    assert!(daemon.is_running(), "the daemon died on bad input");
    // Rejected without requeue: nothing comes back to the queue.
    let counts = rt.block_on(queue_counts(&connection, &instance.queue));
    assert_eq!(counts.map(|c| c.0), Some(0));
    let log = instance.log();
    assert!(log.contains("rejected message"), "{log}");
    assert!(
        log.contains("bad-json") && log.contains("buildsys.build.state.change"),
        "warning lacks id/topic: {log}"
    );
    assert!(log.contains("WARN"), "{log}");
    let rejections = log
        .lines()
        .filter(|line| line.contains(journal::MESSAGE_REJECTED))
        .count();
    assert_eq!(
        rejections,
        cases.len(),
        "one MESSAGE_ID per rejection: {log}"
    );
    assert!(
        log.contains("amqp_message_id=\"bad-json\""),
        "the AMQP id is not the journal's MESSAGE_ID: {log}"
    );
    let (code, _) = daemon.stop();
    assert!(code.success());
}

#[test]
fn tls_client_certificate_logs_in_with_sasl_external() {
    let node = shared().tls_node();
    let certs = node.certs();
    let prefix = unique_prefix();
    let bus = format!(
        "url = \"{}\"\nca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"",
        node.amqps_url(),
        certs.ca_bundle_file.display(),
        certs.client_cert_file.display(),
        certs.client_key_file.display()
    );
    let instance = Instance::new(&bus, &prefix);
    let mut daemon = instance.start();
    instance.wait_connected();

    let rt = runtime();
    let connection = rt.block_on(connect_plain(&node.amqp_url()));
    let publisher = rt.block_on(Publisher::new(&connection));
    let fixture = &deliverable_fixtures()[0];
    rt.block_on(publisher.publish_fixture(fixture, &prefix));
    instance.wait_status("the message over TLS", Duration::from_secs(30), |s| {
        received(s) == 1
    });
    // The broker saw the certificate's CN as the user: EXTERNAL, not PLAIN as guest.
    let output = std::process::Command::new("/usr/lib/rabbitmq/bin/rabbitmqctl")
        .args([
            "-n",
            node.node_name(),
            "list_connections",
            "user",
            "auth_mechanism",
            "ssl",
            "client_properties",
        ])
        .env("HOME", node.dir().join("home"))
        .output()
        .expect("rabbitmqctl");
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(
        listing
            .lines()
            .any(|l| l.contains("fedflow-test") && l.contains("EXTERNAL") && l.contains("true")),
        "no EXTERNAL TLS connection for fedflow-test in:\n{listing}"
    );
    // Broker admins find the consumer's owner through these client properties. Other tests may hold
    // connections with the same certificate at the same time: look for the daemon's among them.
    let ours = listing
        .lines()
        .find(|l| l.contains("fedflow-test") && l.contains("{\"app\",\"fedflow\"}"))
        .unwrap_or_else(|| panic!("no connection with app=fedflow in:\n{listing}"));
    assert!(ours.contains("EXTERNAL"), "{ours}");
    assert!(ours.contains("app_url"), "{ours}");
    let (code, _) = daemon.stop();
    assert!(code.success());
}
