//! Proves the broker harness itself: plain and TLS/EXTERNAL connections, pika-compatible header
//! types, the fixtures, restart semantics, parallel nodes, and that no node outlives the binary.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use lapin::options::{BasicGetOptions, QueueDeleteOptions};
use lapin::types::AMQPValue;
use lapin::{Channel, Connection, ConnectionProperties};
use serde_json::{Map, Value, json};

use crate::support::amqp::{self, Publisher, consume, declare_bound_queue, header, next_delivery};
use crate::support::broker::{self, Broker};
use crate::support::process;

/// Tells the ignored helper test it runs as a child of `shared_node_*` and how to end.
const CHILD_EXIT_MODE_ENV: &str = "FEDFLOW_IT_CHILD_EXIT_MODE";
const CHILD_TEST_NAME: &str = "broker_smoke::shared_node_child_process";

/// Runs blocking harness calls (node start/stop takes seconds) off the async worker.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("blocking harness call panicked")
}

async fn delete_queue(channel: &Channel, queue: &str) {
    channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await
        .expect("delete the test queue");
}

fn processes_mentioning(node_name: &str) -> String {
    let output = Command::new("pgrep")
        .args(["-a", "-f", node_name])
        .output()
        .expect("run pgrep");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_round_trip_keeps_properties_and_pika_header_types() {
    let url = blocking(|| broker::shared().plain_url()).await;
    let connection = amqp::connect_plain(&url).await;
    let channel = connection.create_channel().await.expect("open a channel");
    let prefix = amqp::unique_prefix();
    let queue = declare_bound_queue(&channel, &format!("{prefix}.#")).await;
    assert_eq!(amqp::queue_counts(&connection, &queue).await, Some((0, 0)));

    let headers = json!({
        "fedora_messaging_schema": "base.message",
        "fedora_messaging_severity": 20,
        "sent-at": "2026-01-01T00:00:00+00:00",
        "fedora_messaging_user_alice": true,
        "big": 1_u64 << 40,
        "nothing": null,
        "nested": {"depth": 2},
        "list": ["a", 1],
        "ratio": 0.5
    });
    let headers: Map<String, Value> = serde_json::from_value(headers).expect("headers are a map");
    let routing_key = format!("{prefix}.smoke.plain");
    let body = br#"{"hello": "world"}"#;
    let publisher = Publisher::new(&connection).await;
    publisher
        .publish(&routing_key, Some("id-plain-1"), &headers, body)
        .await;
    assert_eq!(amqp::queue_counts(&connection, &queue).await, Some((1, 0)));

    let mut consumer = consume(&channel, &queue).await;
    let delivery = next_delivery(&mut consumer).await;
    assert_eq!(delivery.routing_key.as_str(), routing_key);
    assert_eq!(delivery.data, body);
    let properties = &delivery.properties;
    assert_eq!(
        properties.message_id().as_ref().map(|id| id.as_str()),
        Some("id-plain-1")
    );
    assert_eq!(
        properties.content_type().as_ref().map(|t| t.as_str()),
        Some("application/json")
    );
    assert_eq!(*properties.delivery_mode(), Some(2));
    assert_eq!(
        *header(&delivery, "fedora_messaging_severity"),
        AMQPValue::LongInt(20)
    );
    assert!(
        matches!(header(&delivery, "sent-at"), AMQPValue::LongString(s) if s.as_bytes() == b"2026-01-01T00:00:00+00:00")
    );
    assert!(matches!(
        header(&delivery, "fedora_messaging_schema"),
        AMQPValue::LongString(_)
    ));
    assert_eq!(
        *header(&delivery, "fedora_messaging_user_alice"),
        AMQPValue::Boolean(true)
    );
    assert_eq!(*header(&delivery, "big"), AMQPValue::LongLongInt(1 << 40));
    assert_eq!(*header(&delivery, "nothing"), AMQPValue::Void);
    assert!(
        matches!(header(&delivery, "nested"), AMQPValue::FieldTable(t) if t.inner().get("depth") == Some(&AMQPValue::LongInt(2)))
    );
    assert!(
        matches!(header(&delivery, "list"), AMQPValue::FieldArray(a) if a.as_slice().len() == 2)
    );
    assert_eq!(*header(&delivery, "ratio"), AMQPValue::Double(0.5));

    assert_eq!(amqp::queue_counts(&connection, &queue).await, Some((0, 1)));
    delete_queue(&channel, &queue).await;
    assert_eq!(amqp::queue_counts(&connection, &queue).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_fixtures_round_trip_with_ids_priorities_and_bodies() {
    let fixtures = amqp::fixture_messages();
    assert_eq!(fixtures.len(), 26, "publish-all.jsonl holds 26 messages");
    let url = blocking(|| broker::shared().plain_url()).await;
    let connection = amqp::connect_plain(&url).await;
    let channel = connection.create_channel().await.expect("open a channel");
    let prefix = amqp::unique_prefix();
    let queue = declare_bound_queue(&channel, &format!("{prefix}.#")).await;

    let publisher = Publisher::new(&connection).await;
    for fixture in &fixtures {
        assert_eq!(
            fixture.routing_key,
            format!("{}.{}", amqp::PROD_TOPIC_PREFIX, fixture.topic)
        );
        publisher.publish_fixture(fixture, &prefix).await;
    }
    assert_eq!(amqp::queue_counts(&connection, &queue).await, Some((26, 0)));

    let mut consumer = consume(&channel, &queue).await;
    for fixture in &fixtures {
        // One publisher, one queue: the broker keeps publication order.
        let delivery = next_delivery(&mut consumer).await;
        assert_eq!(
            delivery.routing_key.as_str(),
            fixture.routing_key_with_prefix(&prefix)
        );
        assert_eq!(
            delivery
                .properties
                .message_id()
                .as_ref()
                .map(|id| id.as_str()),
            Some(fixture.id.as_str())
        );
        assert_eq!(*delivery.properties.priority(), fixture.priority);
        let body: Value = serde_json::from_slice(&delivery.data).expect("the body is JSON");
        assert_eq!(body, fixture.body, "body of {}", fixture.id);
        assert!(
            delivery.data.is_ascii(),
            "bodies are sent with \\u escapes like json.dumps"
        );
        let severity = fixture.headers["fedora_messaging_severity"]
            .as_i64()
            .expect("an int");
        assert_eq!(
            *header(&delivery, "fedora_messaging_severity"),
            AMQPValue::LongInt(i32::try_from(severity).expect("small"))
        );
    }
    delete_queue(&channel, &queue).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificate_and_sasl_external() {
    let node = blocking(|| broker::shared().tls_node()).await;
    let connection = amqp::connect_tls(node).await;
    let channel = connection
        .create_channel()
        .await
        .expect("open a channel over TLS");
    let prefix = amqp::unique_prefix();
    let queue = declare_bound_queue(&channel, &format!("{prefix}.#")).await;
    let routing_key = format!("{prefix}.smoke.tls");
    Publisher::new(&connection)
        .await
        .publish(&routing_key, None, &Map::new(), b"{}")
        .await;
    let message = channel
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get over TLS")
        .expect("the message published over TLS");
    assert_eq!(message.delivery.routing_key.as_str(), routing_key);

    // The real CA is the second certificate of the bundle: this fails unless all are loaded.
    let certs = node.certs();
    let bundle = fs::read_to_string(&certs.ca_bundle_file).expect("read the CA bundle");
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
    let bundle_connection = amqp::connect_tls_trusting(node, &certs.ca_bundle_file)
        .await
        .expect("TLS trusting the two-CA bundle");
    assert_eq!(
        amqp::queue_counts(&bundle_connection, &queue).await,
        Some((0, 0))
    );

    let refused = amqp::connect_tls_trusting(node, &certs.unrelated_ca_file).await;
    assert!(
        refused.is_err(),
        "a server cert from an untrusted CA was accepted"
    );
    delete_queue(&channel, &queue).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_and_app_restart_keep_durable_queue_and_persistent_message() {
    // A node of its own: restarting the shared node would break the tests running beside.
    let node = blocking(Broker::start).await;
    let url = node.amqp_url();
    let connection = amqp::connect_plain(&url).await;
    let channel = connection.create_channel().await.expect("open a channel");
    let prefix = amqp::unique_prefix();
    let queue = declare_bound_queue(&channel, &format!("{prefix}.#")).await;
    Publisher::new(&connection)
        .await
        .publish(
            &format!("{prefix}.kept"),
            Some("kept-1"),
            &Map::new(),
            b"{\"kept\": true}",
        )
        .await;
    assert_eq!(amqp::queue_counts(&connection, &queue).await, Some((1, 0)));

    let node = blocking(move || {
        node.restart();
        node
    })
    .await;
    let connection = amqp::connect_plain(&url).await;
    assert_eq!(amqp::queue_counts(&connection, &queue).await, Some((1, 0)));

    let node = blocking(move || {
        node.stop_app();
        node
    })
    .await;
    let refused = Connection::connect(&url, ConnectionProperties::default()).await;
    assert!(refused.is_err(), "connected while the app was stopped");
    let node = blocking(move || {
        node.start_app();
        node
    })
    .await;

    let connection = amqp::connect_plain(&url).await;
    let channel = connection.create_channel().await.expect("open a channel");
    let message = channel
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get after the restarts")
        .expect("the persistent message survived");
    assert_eq!(message.delivery.data, b"{\"kept\": true}");
    drop(connection);
    blocking(move || drop(node)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_private_node_runs_alongside_the_shared_one() {
    let shared_node = blocking(|| broker::shared().tls_node()).await;
    let second_node = blocking(Broker::start).await;
    assert_ne!(second_node.node_name(), shared_node.node_name());
    assert_ne!(second_node.amqp_url(), shared_node.amqp_url());
    assert_ne!(second_node.amqps_url(), shared_node.amqps_url());

    let second = amqp::connect_plain(&second_node.amqp_url()).await;
    let shared = amqp::connect_plain(&shared_node.amqp_url()).await;
    let second_tls = amqp::connect_tls(&second_node).await;
    let channel = second.create_channel().await.expect("open a channel");
    let queue = declare_bound_queue(&channel, "second.#").await;
    assert_eq!(amqp::queue_counts(&second_tls, &queue).await, Some((0, 0)));
    assert_eq!(amqp::queue_counts(&shared, &queue).await, None);

    let node_name = second_node.node_name().to_owned();
    let dir = second_node.dir().to_owned();
    drop((second, second_tls, channel));
    blocking(move || drop(second_node)).await;
    assert_eq!(
        processes_mentioning(&node_name),
        "",
        "processes left after drop"
    );
    assert!(!dir.exists(), "{dir:?} left after drop");
}

/// Runs the helper test in a child test binary that starts the shared node and then ends the
/// way `exit_mode` says; returns the child's node name and directory.
fn run_child_with_shared_node(exit_mode: &str) -> (String, PathBuf) {
    let output = Command::new(env::current_exe().expect("path of this test binary"))
        .args(["--exact", CHILD_TEST_NAME, "--ignored", "--nocapture"])
        .env(CHILD_EXIT_MODE_ENV, exit_mode)
        .output()
        .expect("run the child test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("CHILD-NODE "))
        .unwrap_or_else(|| {
            panic!(
                "child printed no node ({})\n{stdout}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let (node_name, dir) = line.split_once(' ').expect("`<node> <dir>`");
    let gone = process::poll_until(Duration::from_secs(15), || {
        processes_mentioning(node_name).is_empty()
    });
    assert!(
        gone,
        "{exit_mode}: node outlived the test binary:\n{}",
        processes_mentioning(node_name)
    );
    (node_name.to_owned(), PathBuf::from(dir))
}

#[test]
fn shared_node_is_stopped_and_removed_when_the_test_binary_exits() {
    let (_, dir) = run_child_with_shared_node("exit");
    assert!(!dir.exists(), "{dir:?} left after a normal exit");
}

#[test]
fn shared_node_dies_with_a_crashed_test_binary() {
    let (_, dir) = run_child_with_shared_node("abort");
    // A crash skips all cleanup in the binary; only the node directory stays behind, until the next node
    // start sweeps it (another test may start one at any moment, so it may be gone already).
    match fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("remove the crashed child's node dir {dir:?}: {e}"),
    }
}

#[test]
#[ignore = "helper: only meaningful as the child process of the shared_node_* tests"]
fn shared_node_child_process() {
    let Ok(exit_mode) = env::var(CHILD_EXIT_MODE_ENV) else {
        return;
    };
    let node = broker::shared().tls_node();
    println!("CHILD-NODE {} {}", node.node_name(), node.dir().display());
    if exit_mode == "abort" {
        std::process::abort();
    }
}
