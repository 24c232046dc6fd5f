//! Failures as the caller sees them: faults as typed errors (incl. "already built"), HTTP errors and
//! timeouts as transient, and credentials that are missing, unreadable or refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use std::time::Duration;

use fedflow::koji::{
    FaultCode, KojiAuth, KojiClient, KojiClientConfig, KojiError, MAX_RESPONSE_BYTES,
};
use fedflow::message::TaskState;
use serde_json::json;

use super::{SRC, WAIT, config, fault_code, ssl_auth, ssl_client};
use crate::support::certs::CLIENT_COMMON_NAME;
use crate::support::daemon::runtime;
use crate::support::fake_koji::{FakeKoji, Injection};

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
fn unparseable_and_oversized_answers_are_decode_errors() {
    let fake = FakeKoji::start();
    let client = ssl_client(&fake);
    let rt = runtime();
    let html = "<html><head><title>502 Proxy Error</title></head><body>Proxy Error</body></html>";
    fake.inject("getBuild", Injection::RawBody(html.to_owned()));
    let error = rt
        .block_on(client.get_build("hello-1-1"))
        .expect_err("html");
    assert_eq!(error.kind(), "decode", "{error:?}");
    assert!(!error.is_transient());
    assert!(
        error.to_string().contains("502 Proxy Error"),
        "quotes the start: {error}"
    );

    let oversized = format!(
        "<?xml version='1.0'?><methodResponse><params><param><value><string>{}</string></value></param></params></methodResponse>",
        "x".repeat(MAX_RESPONSE_BYTES)
    );
    fake.inject("getBuild", Injection::RawBody(oversized));
    let error = rt
        .block_on(client.get_build("hello-1-1"))
        .expect_err("too large");
    assert_eq!(error.kind(), "decode", "{error:?}");
    assert!(error.to_string().contains("exceeds"), "{error}");
    assert!(error.to_string().len() < 300, "does not quote the body");

    // A struct missing a field Koji always sends is a decode error naming the field.
    let no_nvr = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n<member>\n<name>build_id</name>\n<value><int>1</int></value>\n</member>\n</struct></value>\n</param>\n</params>\n</methodResponse>\n";
    fake.inject("getBuild", Injection::RawBody(no_nvr.to_owned()));
    let error = rt
        .block_on(client.get_build("hello-1-1"))
        .expect_err("partial build");
    assert_eq!(error.kind(), "decode");
    assert!(error.to_string().contains("nvr"), "{error}");
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

#[test]
fn unreachable_hub_is_a_transient_transport_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let client = KojiClient::new(KojiClientConfig {
        hub_url: format!("https://127.0.0.1:{port}/kojihub"),
        ca_file: None,
        auth: KojiAuth::Anonymous,
        timeout: WAIT,
    })
    .expect("client");
    let error = runtime()
        .block_on(client.get_build_target("rawhide"))
        .expect_err("nothing listens");
    assert_eq!(error.kind(), "transport", "{error:?}");
    assert!(error.is_transient());
    assert!(error.to_string().contains("getBuildTarget"), "{error}");
}
