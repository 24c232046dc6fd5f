//! The session protocol: lazy login, session headers and call numbers, renewal on `AuthExpired`,
//! one fresh login on `AuthError`, no resending on `RetryError`/`SequenceError`, serialized writes.

use std::time::Duration;

use fedflow::koji::FaultCode;
use serde_json::json;

use super::{SRC, WAIT, fault_code, ssl_client};
use crate::support::certs::CLIENT_COMMON_NAME;
use crate::support::daemon::runtime;
use crate::support::fake_koji::{FakeKoji, Injection};

#[test]
fn login_is_lazy_and_session_calls_carry_headers_in_order() {
    let fake = FakeKoji::start();
    let client = ssl_client(&fake);
    let rt = runtime();
    assert!(client.can_submit());

    rt.block_on(client.get_build_target("rawhide"))
        .expect("read");
    assert!(fake.calls_of("sslLogin").is_empty(), "a read logged in");
    let mut task_ids = Vec::new();
    for _ in 0..3 {
        task_ids.push(
            rt.block_on(client.build(SRC, "rawhide", false))
                .expect("build"),
        );
        rt.block_on(client.get_task_info(task_ids[0]))
            .expect("read between writes");
    }

    let logins = fake.calls_of("sslLogin");
    assert_eq!(logins.len(), 1, "one login for three builds");
    assert_eq!(logins[0].path, "/kojihub/ssllogin");
    assert_eq!(logins[0].session_id, None);
    let builds = fake.calls_of("build");
    let session_id = builds[0].session_id.expect("session id header");
    let key = builds[0].session_key.clone().expect("session key header");
    assert!(key.len() > 10, "session key looks like Koji's: {key}");
    for (number, call) in builds.iter().enumerate() {
        assert_eq!(call.path, "/kojihub");
        assert_eq!(call.session_id, Some(session_id));
        assert_eq!(call.session_key.as_deref(), Some(key.as_str()));
        assert_eq!(call.callnum, Some(number as i64), "call numbers 0, 1, 2");
    }
    for call in fake.calls() {
        let expected_agent = format!("fedflow/{}", env!("CARGO_PKG_VERSION"));
        assert_eq!(call.user_agent.as_deref(), Some(expected_agent.as_str()));
        assert_eq!(call.content_type.as_deref(), Some("text/xml"));
        if call.method != "build" {
            assert_eq!(
                call.session_id, None,
                "{} sent session headers",
                call.method
            );
            assert_eq!(call.session_key, None);
        }
    }
    for task_id in task_ids {
        let task = fake.task(task_id).expect("task recorded");
        assert_eq!(
            task.owner_name, CLIENT_COMMON_NAME,
            "owner is the certificate's CN"
        );
        assert_eq!(task.state, 0, "FREE");
    }
}

#[test]
fn retry_and_sequence_errors_are_returned_without_resending() {
    let fake = FakeKoji::start();
    let client = ssl_client(&fake);
    let rt = runtime();
    rt.block_on(client.build(SRC, "rawhide", false))
        .expect("first build");

    fake.inject(
        "build",
        Injection::Fault {
            code: 1009,
            string: "unable to retry call 1 (method build) for session 1".into(),
        },
    );
    let (code, error) = fault_code(rt.block_on(client.build(SRC, "rawhide", false)));
    assert_eq!(code, FaultCode::RetryError);
    assert!(!error.is_transient());
    assert_eq!(fake.calls_of("build").len(), 2, "RetryError was not resent");

    fake.inject(
        "build",
        Injection::Fault {
            code: 1008,
            string: "5 > 2 (session 1)".into(),
        },
    );
    let (code, _) = fault_code(rt.block_on(client.build(SRC, "rawhide", false)));
    assert_eq!(code, FaultCode::SequenceError);
    assert_eq!(
        fake.calls_of("build").len(),
        3,
        "SequenceError was not resent"
    );
    assert_eq!(fake.calls_of("sslLogin").len(), 1);

    // After a SequenceError the next write starts a new session at call number 0.
    rt.block_on(client.build(SRC, "rawhide", false))
        .expect("build in a new session");
    let logins = fake.calls_of("sslLogin");
    assert_eq!(logins.len(), 2);
    let builds = fake.calls_of("build");
    let last = builds.last().expect("a build call");
    assert_ne!(last.session_id, builds[0].session_id);
    assert_eq!(last.callnum, Some(0));
}

#[test]
fn auth_expired_renews_the_session_and_retries_once() {
    let fake = FakeKoji::start();
    let client = ssl_client(&fake);
    let rt = runtime();
    rt.block_on(client.build(SRC, "rawhide", false))
        .expect("first build");
    fake.inject("build", Injection::ExpireSession);
    let task = rt
        .block_on(client.build(SRC, "rawhide", false))
        .expect("build after renewal");

    let logins = fake.calls_of("sslLogin");
    assert_eq!(logins.len(), 2);
    assert_eq!(
        logins[1].params,
        json!([null, {"__starstar": true, "renew": true}])
    );
    let builds = fake.calls_of("build");
    assert_eq!(
        builds.len(),
        3,
        "first build, the expired attempt, one retry"
    );
    let session = builds[0].session_id;
    assert_eq!(
        logins[1].session_id, session,
        "renewal names the expired session"
    );
    assert_eq!(
        builds[2].session_id, session,
        "Koji keeps the id on renewal"
    );
    assert_ne!(
        builds[2].session_key, builds[1].session_key,
        "with a new key"
    );
    let numbers: Vec<_> = builds
        .iter()
        .map(|call| call.callnum.expect("callnum"))
        .collect();
    assert!(
        numbers.windows(2).all(|pair| pair[0] < pair[1]),
        "call numbers only grow: {numbers:?}"
    );
    assert_eq!(fake.tasks().len(), 2);
    assert!(fake.task(task).is_some());

    // A second expiry during the same call is not retried again.
    fake.inject("build", Injection::ExpireSession);
    fake.inject("build", Injection::ExpireSession);
    let (code, _) = fault_code(rt.block_on(client.build(SRC, "rawhide", false)));
    assert_eq!(code, FaultCode::AuthExpired);
    assert_eq!(fake.calls_of("build").len(), 5);
}

#[test]
fn auth_error_logs_in_once_more_then_reports_credentials() {
    let fake = FakeKoji::start();
    let client = ssl_client(&fake);
    let rt = runtime();
    rt.block_on(client.build(SRC, "rawhide", false))
        .expect("first build");

    fake.inject(
        "build",
        Injection::Fault {
            code: 1002,
            string: "Invalid session or bad credentials".into(),
        },
    );
    rt.block_on(client.build(SRC, "rawhide", false))
        .expect("build after a fresh login");
    let builds = fake.calls_of("build");
    assert_eq!(builds.len(), 3);
    assert_eq!(fake.calls_of("sslLogin").len(), 2);
    assert_ne!(builds[2].session_id, builds[0].session_id, "a new session");
    assert_eq!(builds[2].callnum, Some(0));

    // AuthError right after a fresh login: a credential problem, reported, not retried.
    let fresh = ssl_client(&fake);
    fake.inject(
        "build",
        Injection::Fault {
            code: 1002,
            string: "logins by fedflow-test are not allowed".into(),
        },
    );
    let error = rt
        .block_on(fresh.build(SRC, "rawhide", false))
        .expect_err("refused");
    assert_eq!(error.kind(), "auth", "{error:?}");
    assert!(!error.is_transient());
    assert_eq!(fake.calls_of("build").len(), 4);
    assert_eq!(fake.calls_of("sslLogin").len(), 3);
}

#[test]
fn reads_run_concurrently_and_session_calls_are_serialized() {
    let fake = FakeKoji::start();
    let client = ssl_client(&fake);
    let rt = runtime();

    fake.inject("getBuild", Injection::Delay(Duration::from_secs(3)));
    let slow = rt.spawn({
        let client = client.clone();
        async move { client.get_build("hello-1-1").await }
    });
    fake.wait_for_calls("getBuild", 1, WAIT);
    rt.block_on(client.get_build_target("rawhide"))
        .expect("read while another is pending");
    assert!(!slow.is_finished(), "the second read waited for the first");
    rt.block_on(slow).expect("join").expect("slow read");

    // Two concurrent builds: without serialization the delayed one would reach the hub after its
    // successor's call number and fail with SequenceError.
    rt.block_on(client.build(SRC, "rawhide", false))
        .expect("log in");
    fake.inject("build", Injection::Delay(Duration::from_millis(500)));
    let first = rt.spawn({
        let client = client.clone();
        async move { client.build(SRC, "rawhide", false).await }
    });
    fake.wait_for_calls("build", 2, WAIT);
    let second = rt.block_on(client.build(SRC, "f43-candidate", false));
    let first = rt.block_on(first).expect("join");
    assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
    let builds = fake.calls_of("build");
    let numbers: Vec<_> = builds.iter().map(|call| call.callnum).collect();
    assert_eq!(numbers, vec![Some(0), Some(1), Some(2)]);
    let waited = builds[2].at.duration_since(builds[1].at).expect("in order");
    assert!(
        waited >= Duration::from_millis(500),
        "the second build went out {waited:?} after the first, before the first was answered"
    );
}
