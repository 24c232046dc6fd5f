//! The Koji client against the fake hub: login and session headers, the exact wire shape of each
//! call, nil and 64-bit ids, faults as typed errors, the session recovery rules, transient failures,
//! and credentials (anonymous, wrong CA).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fedflow::koji::{FaultCode, KojiAuth, KojiClient, KojiClientConfig, KojiError};
use fedflow::message::{BuildState, TaskState};
use serde_json::json;

use crate::support::certs::CLIENT_COMMON_NAME;
use crate::support::daemon::runtime;
use crate::support::fake_koji::{FakeKoji, Injection};

const SRC: &str =
    "git+https://src.fedoraproject.org/rpms/hello.git#0123456789abcdef0123456789abcdef01234567";
const WAIT: Duration = Duration::from_secs(10);

fn config(fake: &FakeKoji, auth: KojiAuth, timeout: Duration) -> KojiClientConfig {
    KojiClientConfig {
        hub_url: fake.hub_url(),
        ca_file: Some(fake.ca_file()),
        auth,
        timeout,
    }
}

fn ssl_auth(fake: &FakeKoji) -> KojiAuth {
    KojiAuth::Ssl {
        cert_file: fake.client_cert_file(),
        key_file: fake.client_key_file(),
    }
}

fn ssl_client(fake: &FakeKoji) -> KojiClient {
    KojiClient::new(config(fake, ssl_auth(fake), WAIT)).expect("client")
}

fn fault_code(result: Result<impl std::fmt::Debug, KojiError>) -> (FaultCode, KojiError) {
    let error = result.expect_err("expected a fault");
    match error.fault_code() {
        Some(code) => (code, error),
        None => panic!("expected a fault, got {error:?}"),
    }
}

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
fn calls_are_encoded_as_koji_expects() {
    let fake = FakeKoji::start();
    let client = ssl_client(&fake);
    let rt = runtime();
    let task = rt
        .block_on(client.build(SRC, "rawhide", false))
        .expect("build");
    rt.block_on(client.build(SRC, "f43-candidate", true))
        .expect("scratch build");
    rt.block_on(client.get_task_info(task))
        .expect("getTaskInfo");
    rt.block_on(client.list_builds_by_task(task))
        .expect("listBuilds by task");
    rt.block_on(client.list_builds_by_source("git+https://src.fedoraproject.org/rpms/hello.git#*"))
        .expect("listBuilds by source");
    rt.block_on(client.find_open_build_tasks(SRC, Some(1_700_000_000.5)))
        .expect("listTasks");
    rt.block_on(client.get_build("hello-1-1.fc44"))
        .expect("getBuild");
    rt.block_on(client.get_build_target("rawhide"))
        .expect("getBuildTarget");

    let params = |method: &str| -> Vec<serde_json::Value> {
        fake.calls_of(method)
            .into_iter()
            .map(|call| call.params)
            .collect()
    };
    assert_eq!(params("sslLogin"), vec![json!([null])]);
    assert_eq!(
        params("build"),
        vec![
            json!([SRC, "rawhide", {}]),
            json!([SRC, "f43-candidate", {"scratch": true}])
        ]
    );
    assert_eq!(
        params("getTaskInfo"),
        vec![json!([task, {"__starstar": true, "request": true}])]
    );
    assert_eq!(
        params("listBuilds"),
        vec![
            json!([{"__starstar": true, "taskID": task}]),
            json!([{"__starstar": true, "source": "git+https://src.fedoraproject.org/rpms/hello.git#*"}]),
        ]
    );
    assert_eq!(
        params("listTasks"),
        vec![json!([{"__starstar": true, "opts": {
            "method": "build", "state": [0, 1, 4], "decode": true, "createdAfter": 1_700_000_000.5
        }}])]
    );
    assert_eq!(params("getBuild"), vec![json!(["hello-1-1.fc44"])]);
    assert_eq!(params("getBuildTarget"), vec![json!(["rawhide"])]);
}

#[test]
fn unknown_target_is_none_and_known_target_decodes() {
    let fake = FakeKoji::start();
    fake.add_target(
        "epel10-candidate",
        "epel10-build",
        "epel10-testing-candidate",
    );
    let client = KojiClient::new(config(&fake, KojiAuth::Anonymous, WAIT)).expect("client");
    let rt = runtime();
    assert_eq!(
        rt.block_on(client.get_build_target("f99-candidate"))
            .expect("nil"),
        None
    );
    let rawhide = rt
        .block_on(client.get_build_target("rawhide"))
        .expect("read")
        .expect("exists");
    assert_eq!(
        (rawhide.name.as_str(), rawhide.dest_tag_name.as_str()),
        ("rawhide", "f44")
    );
    assert_eq!(rawhide.build_tag_name, "f44-build");
    let epel = rt
        .block_on(client.get_build_target("epel10-candidate"))
        .expect("read");
    assert_eq!(
        epel.map(|t| t.dest_tag_name),
        Some("epel10-testing-candidate".to_owned())
    );
    assert_eq!(
        rt.block_on(client.get_build("nosuch-1-1")).expect("nil"),
        None
    );
    assert_eq!(rt.block_on(client.get_task_info(1)).expect("nil"), None);
}

#[test]
fn ids_above_2_31_round_trip() {
    let fake = FakeKoji::start();
    let (first_task, first_build) = ((1_i64 << 31) + 5, (1_i64 << 32) + 7);
    fake.set_next_ids(first_task, first_build);
    let client = ssl_client(&fake);
    let rt = runtime();

    let task_id = rt
        .block_on(client.build(SRC, "rawhide", false))
        .expect("build");
    assert_eq!(task_id, first_task);
    let task = rt
        .block_on(client.get_task_info(task_id))
        .expect("read")
        .expect("exists");
    assert_eq!(
        (task.id, task.state.clone(), task.method.as_str()),
        (task_id, TaskState::Free, "build")
    );
    assert_eq!(task.request, vec![json!(SRC), json!("rawhide"), json!({})]);
    assert!(
        task.create_ts.is_some_and(|ts| ts > 1.7e9),
        "create_ts is a double: {task:?}"
    );
    assert_eq!(task.completion_ts, None);

    let build_id = fake.finish_build(task_id, "COMPLETE", "hello-2.12.1-5.fc44");
    assert_eq!(build_id, first_build);
    let task = rt
        .block_on(client.get_task_info(task_id))
        .expect("read")
        .expect("exists");
    assert_eq!(task.state, TaskState::Closed);
    assert!(task.completion_ts.is_some());
    let by_task = rt
        .block_on(client.list_builds_by_task(task_id))
        .expect("listBuilds");
    assert_eq!(by_task.len(), 1);
    let build = &by_task[0];
    assert_eq!((build.build_id, build.task_id), (build_id, Some(task_id)));
    assert_eq!(build.state, BuildState::Complete);
    assert_eq!(build.nvr, "hello-2.12.1-5.fc44");
    assert_eq!(
        (
            build.name.as_str(),
            build.version.as_str(),
            build.release.as_str()
        ),
        ("hello", "2.12.1", "5.fc44")
    );
    assert_eq!(build.owner_name.as_deref(), Some(CLIENT_COMMON_NAME));
    assert_eq!(build.original_source.as_deref(), Some(SRC));
    let by_nvr = rt
        .block_on(client.get_build("hello-2.12.1-5.fc44"))
        .expect("getBuild");
    assert_eq!(by_nvr.as_ref(), Some(build));
    let glob = "git+https://src.fedoraproject.org/rpms/hello.git#0123*";
    let by_source = rt
        .block_on(client.list_builds_by_source(glob))
        .expect("by source");
    assert_eq!(by_source, by_task);
    let other = rt.block_on(
        client.list_builds_by_source("git+https://src.fedoraproject.org/rpms/other.git#*"),
    );
    assert_eq!(other.expect("by source"), vec![]);
    assert_eq!(fake.builds().len(), 1);
}

#[test]
fn existing_build_is_found_by_nvr() {
    let fake = FakeKoji::start();
    let build_id = fake.add_build("hello-2.12.1-4.fc44", "COMPLETE", Some(SRC), "releng");
    let client = KojiClient::new(config(&fake, KojiAuth::Anonymous, WAIT)).expect("client");
    let rt = runtime();
    let build = rt
        .block_on(client.get_build("hello-2.12.1-4.fc44"))
        .expect("read")
        .expect("exists");
    assert_eq!(
        (build.build_id, build.state, build.task_id),
        (build_id, BuildState::Complete, None)
    );
    assert_eq!(build.owner_name.as_deref(), Some("releng"));
    assert_eq!(build.source.as_deref(), Some(SRC));
}

#[test]
fn faults_map_to_typed_errors() {
    let fake = FakeKoji::start();
    let client = ssl_client(&fake);
    let rt = runtime();

    let already =
        "Build already exists (id=425, state=COMPLETE): {'name': 'hello', 'version': '2.12.1'}";
    fake.inject(
        "build",
        Injection::Fault {
            code: 1000,
            string: already.to_owned(),
        },
    );
    let (code, error) = fault_code(rt.block_on(client.build(SRC, "rawhide", false)));
    assert_eq!(code, FaultCode::GenericError);
    assert!(error.is_already_built(), "{error}");
    assert!(!error.is_transient());
    assert_eq!(error.kind(), "fault");
    assert!(
        error.to_string().contains("build"),
        "names the method: {error}"
    );

    fake.inject(
        "build",
        Injection::Fault {
            code: 1005,
            string: "arch_override is only allowed for scratch builds".into(),
        },
    );
    let (code, error) = fault_code(rt.block_on(client.build(SRC, "rawhide", false)));
    assert_eq!(code, FaultCode::BuildError);
    assert!(!error.is_already_built());

    // The usual path: the task fails later and getTaskResult raises the hub's fault.
    let task = rt
        .block_on(client.build(SRC, "rawhide", false))
        .expect("build");
    fake.fail_task(task, 1000, already);
    let (code, error) = fault_code(rt.block_on(client.get_task_result(task)));
    assert_eq!(code, FaultCode::GenericError);
    assert!(error.is_already_built(), "{error}");

    let (code, _) = fault_code(rt.block_on(client.build(SRC, "no-such-target", false)));
    assert_eq!(code, FaultCode::GenericError);
    fake.inject(
        "getBuild",
        Injection::Fault {
            code: 1014,
            string: "server is offline".into(),
        },
    );
    let (code, error) = fault_code(rt.block_on(client.get_build("hello-1-1")));
    assert_eq!(code, FaultCode::ServerOffline);
    assert!(error.is_transient());
    fake.inject(
        "getBuild",
        Injection::Fault {
            code: 1,
            string: "KeyError: 'x'".into(),
        },
    );
    let (code, error) = fault_code(rt.block_on(client.get_build("hello-1-1")));
    assert_eq!(code, FaultCode::Other(1));
    assert!(!error.is_transient());
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
fn http_503_and_a_hang_past_the_timeout_are_transient() {
    let fake = FakeKoji::start();
    let timeout = Duration::from_millis(700);
    let client = KojiClient::new(config(&fake, ssl_auth(&fake), timeout)).expect("client");
    let rt = runtime();

    fake.inject("getBuild", Injection::HttpStatus(503));
    let error = rt.block_on(client.get_build("hello-1-1")).expect_err("503");
    assert!(
        matches!(error, KojiError::HttpStatus { status: 503, .. }),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(error.kind(), "http_status");
    fake.inject("getBuild", Injection::HttpStatus(404));
    let error = rt.block_on(client.get_build("hello-1-1")).expect_err("404");
    assert!(!error.is_transient());

    rt.block_on(client.get_build_target("rawhide"))
        .expect("warm up the connection");
    fake.inject("build", Injection::AcceptThenHang(Duration::from_secs(30)));
    let started = Instant::now();
    let error = rt
        .block_on(client.build(SRC, "rawhide", false))
        .expect_err("hangs");
    let elapsed = started.elapsed();
    assert!(matches!(error, KojiError::Timeout { .. }), "{error:?}");
    assert!(error.is_transient());
    assert_eq!(error.kind(), "timeout");
    assert!(
        elapsed >= timeout && elapsed < Duration::from_secs(10),
        "gave up after {elapsed:?}"
    );

    // The hub did create the task: reconciliation finds it among open build tasks.
    let open = rt
        .block_on(client.find_open_build_tasks(SRC, None))
        .expect("listTasks");
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].request.first(), Some(&json!(SRC)));
    assert_eq!(open[0].state, TaskState::Free);
    let after_creation =
        rt.block_on(client.find_open_build_tasks(SRC, Some(open[0].create_ts.expect("ts") + 1.0)));
    assert_eq!(after_creation.expect("listTasks"), vec![]);
    let other = rt.block_on(
        client.find_open_build_tasks("git+https://src.fedoraproject.org/rpms/other.git#1", None),
    );
    assert_eq!(other.expect("listTasks"), vec![]);

    // The session survives: the next write continues the call numbers.
    rt.block_on(client.build(SRC, "rawhide", false))
        .expect("next build");
    let numbers: Vec<_> = fake
        .calls_of("build")
        .iter()
        .map(|call| call.callnum)
        .collect();
    assert_eq!(numbers, vec![Some(0), Some(1)]);
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

#[test]
fn anonymous_client_refuses_build_without_a_network_call() {
    let fake = FakeKoji::start();
    let client = KojiClient::new(config(&fake, KojiAuth::Anonymous, WAIT)).expect("client");
    let rt = runtime();
    assert!(!client.can_submit());
    let error = rt
        .block_on(client.build(SRC, "rawhide", false))
        .expect_err("anonymous");
    assert!(
        matches!(error, KojiError::NotAuthenticated { .. }),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert!(
        fake.calls().is_empty(),
        "no request went out: {:?}",
        fake.calls()
    );
    assert!(
        rt.block_on(client.get_build_target("rawhide"))
            .expect("reads work")
            .is_some()
    );
}

/// A key and certificate with the right CN, signed by the unrelated CA the hub does not trust.
fn certificate_from_unrelated_ca(fake: &FakeKoji, dir: &Path) -> (PathBuf, PathBuf) {
    let ca_dir = fake
        .certs()
        .unrelated_ca_file
        .parent()
        .expect("certs dir")
        .to_owned();
    let (key, csr, cert) = (
        dir.join("rogue.key"),
        dir.join("rogue.csr"),
        dir.join("rogue.pem"),
    );
    let subject = format!("/CN={CLIENT_COMMON_NAME}");
    // Extensions make it an X.509 v3 certificate, as the real client certificate is.
    let extensions = dir.join("rogue.ext");
    std::fs::write(&extensions, "extendedKeyUsage=clientAuth\n").expect("write extensions");
    let run = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .output()
            .expect("run openssl");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let path = |path: &Path| path.to_str().expect("utf-8 path").to_owned();
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        &subject,
        "-keyout",
        &path(&key),
        "-out",
        &path(&csr),
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        &path(&csr),
        "-CA",
        &path(&fake.certs().unrelated_ca_file),
        "-CAkey",
        &path(&ca_dir.join("unrelated-ca.key")),
        "-set_serial",
        "4242",
        "-days",
        "2",
        "-extfile",
        &path(&extensions),
        "-out",
        &path(&cert),
    ]);
    (cert, key)
}

#[test]
fn certificate_from_an_unrelated_ca_is_an_auth_error() {
    let fake = FakeKoji::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert_file, key_file) = certificate_from_unrelated_ca(&fake, dir.path());
    let auth = KojiAuth::Ssl {
        cert_file,
        key_file,
    };
    let client = KojiClient::new(config(&fake, auth, WAIT)).expect("client");
    let rt = runtime();
    let error = rt
        .block_on(client.build(SRC, "rawhide", false))
        .expect_err("refused");
    assert_eq!(error.kind(), "auth", "{error:?}");
    assert!(!error.is_transient());
    assert!(
        error.to_string().contains("could not verify client"),
        "{error}"
    );
    assert_eq!(fake.calls_of("sslLogin").len(), 1);
    assert!(fake.calls_of("build").is_empty());
    assert!(fake.tasks().is_empty());
}

#[test]
fn certificate_rejected_in_the_handshake_is_an_auth_error() {
    let fake = FakeKoji::start_requiring_client_cert();
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert_file, key_file) = certificate_from_unrelated_ca(&fake, dir.path());
    let auth = KojiAuth::Ssl {
        cert_file,
        key_file,
    };
    let client = KojiClient::new(config(&fake, auth, WAIT)).expect("client");
    let rt = runtime();
    let error = rt
        .block_on(client.build(SRC, "rawhide", false))
        .expect_err("refused");
    assert_eq!(error.kind(), "auth", "{error:?}");
    assert!(!error.is_transient());
    assert!(
        fake.calls().is_empty(),
        "no request got through the handshake"
    );

    // The trusted certificate passes the same hub.
    let good = ssl_client(&fake);
    rt.block_on(good.build(SRC, "rawhide", false))
        .expect("build with the trusted certificate");
}

#[test]
fn unreadable_credentials_are_named_at_construction() {
    let fake = FakeKoji::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.pem");
    let auth = KojiAuth::Ssl {
        cert_file: missing.clone(),
        key_file: fake.client_key_file(),
    };
    let error = KojiClient::new(config(&fake, auth, WAIT)).expect_err("missing cert");
    assert_eq!(error.kind(), "config");
    assert!(
        error.to_string().contains(missing.to_str().expect("utf-8")),
        "{error}"
    );

    let not_a_key = dir.path().join("not-a-key.pem");
    std::fs::write(&not_a_key, "hello").expect("write");
    let auth = KojiAuth::Ssl {
        cert_file: fake.client_cert_file(),
        key_file: not_a_key.clone(),
    };
    let error = KojiClient::new(config(&fake, auth, WAIT)).expect_err("bad key");
    assert!(
        error
            .to_string()
            .contains(not_a_key.to_str().expect("utf-8")),
        "{error}"
    );

    let mut bad_ca = config(&fake, KojiAuth::Anonymous, WAIT);
    bad_ca.ca_file = Some(not_a_key.clone());
    let error = KojiClient::new(bad_ca).expect_err("bad CA");
    assert!(
        error
            .to_string()
            .contains(not_a_key.to_str().expect("utf-8")),
        "{error}"
    );
}
