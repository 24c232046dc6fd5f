//! Broker outages: a node stopped mid-stream and started again, and a broker that is not there at all.
//! These stop brokers, so they use their own node instead of the shared one.

use crate::support::amqp::{Publisher, connect_plain, queue_counts, unique_prefix};
use crate::support::broker::Broker;
use crate::support::daemon::{Instance, publish_stream, received, runtime};
use fedflow::journal;
use std::time::Duration;

#[test]
fn broker_stopped_and_started_mid_stream_loses_nothing() {
    const FIRST: usize = 3000;
    const SECOND: usize = 500;
    let node = Broker::start();
    let prefix = unique_prefix();
    let instance = Instance::new(
        &format!("url = \"{}\"\nprefetch = 1", node.amqp_url()),
        &prefix,
    );
    instance.prepare_queue();
    let rt = runtime();
    {
        let connection = rt.block_on(connect_plain(&node.amqp_url()));
        let publisher = rt.block_on(Publisher::new(&connection));
        rt.block_on(publish_stream(&publisher, &prefix, FIRST));
    }
    let mut daemon = instance.start();
    instance.wait_status("some progress", Duration::from_secs(60), |s| {
        received(s) >= 100
    });
    node.stop_app();
    let down = instance.wait_status("the outage to show", Duration::from_secs(30), |s| {
        s["bus"]["state"]["state"] == "disconnected"
    });
    assert!(
        received(&down) < (FIRST as u64),
        "stream finished before the outage: {down:#}"
    );
    assert!(down["bus"]["state"]["since"].as_u64().is_some());
    let text = String::from_utf8_lossy(
        &instance
            .command(&["status"])
            .output()
            .expect("status")
            .stdout,
    )
    .into_owned();
    assert!(text.contains("disconnected since"), "{text}");
    assert!(daemon.is_running());
    node.start_app();
    instance.wait_connected();
    let connection = rt.block_on(connect_plain(&node.amqp_url()));
    let publisher = rt.block_on(Publisher::new(&connection));
    rt.block_on(publish_stream(&publisher, &prefix, SECOND));
    let status = instance.wait_status("both halves", Duration::from_secs(120), |s| {
        received(s) as usize >= FIRST + SECOND
    });
    assert!(status["bus"]["reconnects"].as_u64() >= Some(1));
    let (code, _) = daemon.stop();
    assert!(code.success());
    assert_eq!(received(&instance.status()) as usize, FIRST + SECOND);
    assert_eq!(
        rt.block_on(queue_counts(&connection, &instance.queue)),
        Some((0, 0))
    );
    // One outage: one "disconnected" and one "reconnected" journal event, however many attempts failed.
    let log = instance.log();
    for id in [journal::BROKER_DISCONNECTED, journal::BROKER_RECONNECTED] {
        let count = log.lines().filter(|line| line.contains(id)).count();
        assert_eq!(count, 1, "{id} once:\n{log}");
    }
}

#[test]
fn an_absent_broker_is_retried_forever_without_exiting() {
    // A port nobody listens on: bind, read, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let instance = Instance::new(
        &format!("url = \"amqp://guest:guest@127.0.0.1:{port}/%2F\"\nreconnect_max_seconds = 2"),
        &unique_prefix(),
    );
    let mut daemon = instance.start();
    let status = instance.wait_status(
        "repeated reconnect attempts",
        Duration::from_secs(30),
        |s| s["bus"]["reconnects"].as_u64() >= Some(3),
    );
    assert_eq!(status["bus"]["state"]["state"], "disconnected");
    assert!(
        status["bus"]["state"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    assert!(daemon.is_running());
    let (code, took) = daemon.stop();
    assert!(code.success());
    assert!(took < Duration::from_secs(10));
}
