//! The daemon's life: kill -9 mid-stream, SIGTERM drain, SIGHUP reload, systemd notifications, a second
//! instance on the same state, and `fedflow status` with and without a running daemon.

use crate::support::amqp::{Publisher, connect_plain, queue_counts, unique_prefix};
use crate::support::broker::shared;
use crate::support::daemon::{Instance, deliverable_fixtures, publish_stream, received, runtime};
use crate::support::process::poll_until;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

fn plain_bus(extra: &str) -> String {
    format!("url = \"{}\"\n{extra}", shared().plain_url())
}

#[test]
fn kill_9_mid_stream_and_restart_records_every_message_exactly_once() {
    const TOTAL: usize = 3000;
    let prefix = unique_prefix();
    // A small prefetch keeps the stream going long enough to kill it in the middle.
    let instance = Instance::new(&plain_bus("prefetch = 10"), &prefix);
    instance.prepare_queue();
    let rt = runtime();
    let connection = rt.block_on(connect_plain(&shared().plain_url()));
    let publisher = rt.block_on(Publisher::new(&connection));
    rt.block_on(publish_stream(&publisher, &prefix, TOTAL));
    let mut daemon = instance.start();

    instance.wait_status("some progress", Duration::from_secs(60), |s| {
        received(s) >= 200
    });
    daemon.kill9();
    // The store is readable offline right after the crash, and the crash happened mid-stream.
    let at_crash = received(&instance.status());
    assert!(
        at_crash > 0 && (at_crash as usize) < TOTAL,
        "not mid-stream: {at_crash}"
    );

    let mut daemon = instance.start();
    let status = instance.wait_status("the whole stream", Duration::from_secs(120), |s| {
        received(s) as usize >= TOTAL
    });
    let (code, _) = daemon.stop();
    assert!(code.success());
    let status_after = instance.status();
    assert_eq!(received(&status_after) as usize, TOTAL, "{status:#}");
    let by_topic_sum: u64 = status_after["messages"]["by_topic"]
        .as_object()
        .expect("by_topic")
        .values()
        .filter_map(|v| v.as_u64())
        .sum();
    assert_eq!(by_topic_sum as usize, TOTAL);
    assert_eq!(status_after["messages"]["rejected"], 0);
    assert_eq!(
        rt.block_on(queue_counts(&connection, &instance.queue)),
        Some((0, 0))
    );
}

#[test]
fn sigterm_drains_in_flight_work_and_exits_zero_within_ten_seconds() {
    const TOTAL: usize = 3000;
    let prefix = unique_prefix();
    let instance = Instance::new(&plain_bus("prefetch = 20"), &prefix);
    let rt = runtime();
    let connection = rt.block_on(connect_plain(&shared().plain_url()));
    instance.prepare_queue();
    let publisher = rt.block_on(Publisher::new(&connection));
    rt.block_on(publish_stream(&publisher, &prefix, TOTAL));
    let mut daemon = instance.start();
    instance.wait_status("some progress", Duration::from_secs(60), |s| {
        received(s) >= 100
    });

    let (code, took) = daemon.stop();
    assert!(code.success(), "exit status {code:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // Everything recorded was acknowledged and everything acknowledged was recorded: the counts add up.
    let recorded = received(&instance.status()) as usize;
    let (ready, consumers) = rt
        .block_on(queue_counts(&connection, &instance.queue))
        .expect("queue exists");
    assert_eq!(consumers, 0);
    assert_eq!(
        recorded + ready as usize,
        TOTAL,
        "recorded {recorded}, still queued {ready}"
    );
    assert!(instance.log().contains("fedflow stopped"));
}

#[test]
fn sighup_rebinds_topics_and_applies_the_log_level() {
    let prefix = unique_prefix();
    let tag_only = plain_bus("topics = [\"buildsys.tag\"]");
    let instance = Instance::new(&tag_only, &prefix);
    instance.write_config(&tag_only, "info");
    let mut daemon = instance.start();
    instance.wait_connected();

    let fixtures = deliverable_fixtures();
    let untag = fixtures
        .iter()
        .find(|f| f.topic == "buildsys.untag")
        .expect("untag fixture");
    let tag = fixtures
        .iter()
        .find(|f| f.topic == "buildsys.tag")
        .expect("tag fixture");
    let rt = runtime();
    let connection = rt.block_on(connect_plain(&shared().plain_url()));
    let publisher = rt.block_on(Publisher::new(&connection));

    instance.write_config(
        &plain_bus("topics = [\"buildsys.tag\", \"buildsys.untag\"]"),
        "debug",
    );
    daemon.signal(libc::SIGHUP);
    assert!(
        poll_until(Duration::from_secs(10), || instance
            .log()
            .contains("bound new topic")),
        "no rebind after SIGHUP:\n{}",
        instance.log()
    );
    rt.block_on(publisher.publish_fixture(untag, &prefix));
    rt.block_on(publisher.publish_fixture(tag, &prefix));
    rt.block_on(publisher.publish_fixture(tag, &prefix));
    let status = instance.wait_status("untag and tag after reload", Duration::from_secs(30), |s| {
        received(s) == 2 && s["messages"]["duplicates"] == 1
    });
    assert_eq!(status["messages"]["by_topic"]["buildsys.untag"], 1);
    // The duplicate is logged at debug level, which only the reloaded configuration enables.
    assert!(
        poll_until(Duration::from_secs(5), || instance
            .log()
            .contains("duplicate message id")),
        "debug level not applied"
    );
    let log = instance.log();
    assert!(log.contains("log level applied"), "{log}");
    let (code, _) = daemon.stop();
    assert!(code.success());
}

#[test]
fn systemd_hears_ready_status_watchdog_and_reload() {
    let prefix = unique_prefix();
    let instance = Instance::new(&plain_bus(""), &prefix);
    let socket_path = instance.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut daemon = instance.start_with(|c| {
        c.env("NOTIFY_SOCKET", &socket_path)
            .env("WATCHDOG_USEC", "1000000");
    });
    let mut heard = String::new();
    let read_until = |needle: &str, heard: &mut String| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = socket.recv(&mut buf) {
                heard.push_str(&String::from_utf8_lossy(&buf[..n]));
                heard.push('\n');
                if heard.contains(needle) {
                    return true;
                }
            }
        }
        false
    };
    assert!(read_until("READY=1", &mut heard), "no READY=1: {heard}");
    assert!(
        read_until("STATUS=connected; queue", &mut heard),
        "no STATUS line: {heard}"
    );
    assert!(
        read_until("WATCHDOG=1", &mut heard),
        "no watchdog ping: {heard}"
    );
    heard.clear();
    daemon.signal(libc::SIGHUP);
    assert!(
        read_until("RELOADING=1", &mut heard),
        "no RELOADING=1: {heard}"
    );
    assert!(
        read_until("READY=1", &mut heard),
        "no READY=1 after reload: {heard}"
    );
    daemon.signal(libc::SIGTERM);
    assert!(
        read_until("STOPPING=1", &mut heard),
        "no STOPPING=1: {heard}"
    );
    assert!(
        daemon
            .wait_exit(Duration::from_secs(10))
            .is_some_and(|s| s.success())
    );
}

#[test]
fn a_second_daemon_on_the_same_state_fails_fast_and_status_works_either_way() {
    let prefix = unique_prefix();
    let instance = Instance::new(&plain_bus(""), &prefix);
    let mut first = instance.start();
    instance.wait_connected();
    let live = instance.status();
    assert_eq!(live["daemon"]["running"], true);
    assert_eq!(live["daemon"]["pid"], first.pid());
    assert_eq!(live["bus"]["queue"], instance.queue.as_str());
    let socket =
        std::fs::metadata(instance.state_dir().join("control.sock")).expect("control socket");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&socket.permissions()) & 0o777,
        0o600
    );

    let started = Instant::now();
    let output = instance.command(&["run"]).output().expect("second fedflow");
    assert!(!output.status.success());
    assert!(started.elapsed() < Duration::from_secs(5));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("in use by another fedflow"), "{stderr}");

    let (code, _) = first.stop();
    assert!(code.success());
    let offline = instance.status();
    assert_eq!(offline["daemon"]["running"], false);
    assert!(offline["bus"].is_null());
    assert_eq!(offline["messages"]["received"], 0);
    let text = instance.command(&["status"]).output().expect("status");
    assert!(String::from_utf8_lossy(&text.stdout).contains("not running"));
}
