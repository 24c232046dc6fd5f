//! `/healthz` follows the broker connection (on a private node this test stops), and a taken port stops the
//! start with a clear error.

use super::Client;
use crate::support::amqp::unique_prefix;
use crate::support::broker::Broker;
use crate::support::daemon::Instance;
use crate::support::process::poll_until;
use std::time::Duration;

fn wait_health(client: &Client, status: u16, timeout: Duration) -> String {
    let mut last = (0, String::new());
    let reached = poll_until(timeout, || {
        let reply = client.get("/healthz");
        last = (reply.status, reply.body);
        last.0 == status
    });
    assert!(reached, "healthz never answered {status}; last: {last:?}");
    last.1
}

#[test]
fn healthz_is_ok_while_connected_and_503_with_the_reason_while_the_broker_is_down() {
    let node = Broker::start();
    let instance = Instance::new(&format!("url = \"{}\"", node.amqp_url()), &unique_prefix());
    let mut daemon = instance.start();
    instance.wait_connected();
    let client = Client::of(&instance);
    assert_eq!(wait_health(&client, 200, Duration::from_secs(5)), "ok\n");

    node.stop_app();
    let reason = wait_health(&client, 503, Duration::from_secs(60));
    assert!(reason.starts_with("broker disconnected since "), "{reason}");
    assert!(
        reason.trim_end().len() > "broker disconnected since 2026-01-01T00:00:00Z: ".len(),
        "{reason}"
    );
    // The status page still answers during the outage, and says so.
    let page = client.get("/").body;
    assert!(page.contains("broker: disconnected since"), "{page}");

    node.start_app();
    assert_eq!(wait_health(&client, 200, Duration::from_secs(60)), "ok\n");
    let (code, _) = daemon.stop();
    assert!(code.success(), "{code:?}");
}

#[test]
fn a_taken_http_port_stops_the_start_and_names_the_address_and_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let instance = Instance::new("url = \"amqp://127.0.0.1:1/%2F\"", &unique_prefix());
    let mut daemon = instance.start_with(|command| {
        command.env("FEDFLOW_HTTP__LISTEN", &address);
    });
    let code = daemon
        .wait_exit(Duration::from_secs(30))
        .expect("fedflow run exits when it cannot listen");
    assert!(!code.success());
    let log = instance.log();
    assert!(
        log.contains(&format!("cannot listen on {address} (http.listen)")),
        "{log}"
    );
    drop(taken);
}

#[test]
fn an_empty_listen_address_turns_the_status_page_off() {
    let instance = Instance::new("url = \"amqp://127.0.0.1:1/%2F\"", &unique_prefix());
    let mut daemon = instance.start_with(|command| {
        command.env("FEDFLOW_HTTP__LISTEN", "");
    });
    let status = instance.wait_status("the daemon to answer", Duration::from_secs(30), |s| {
        s["daemon"]["running"] == true
    });
    assert!(status.get("http").is_none(), "{status:#}");
    assert!(!instance.log().contains("status page listening"));
    let (code, _) = daemon.stop();
    assert!(code.success(), "{code:?}");
}

#[test]
fn check_config_prints_the_listen_address_and_names_a_bad_one() {
    let instance = Instance::new("url = \"amqp://127.0.0.1/%2F\"", "p");
    let output = instance
        .command(&["check-config"])
        .output()
        .expect("check-config");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("[http]\nlisten = \"127.0.0.1:0\""),
        "{stdout}"
    );

    let output = instance
        .command(&["check-config"])
        .env("FEDFLOW_HTTP__LISTEN", "localhost:9465")
        .output()
        .expect("check-config");
    assert_eq!(output.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("key `http.listen` (from environment variable FEDFLOW_HTTP__LISTEN)")
            && stderr.contains("\"localhost:9465\""),
        "{stderr}"
    );
}
