//! Codec tests on literal bodies shaped like what the Koji hub sends (Python's xmlrpc marshaller with
//! koji's `<i8>`/`<nil/>` extensions, one element per line), and on the requests we encode.

use serde_json::json;

use super::error::{FaultCode, KojiError};
use super::types::{self, BuildInfo, BuildTarget, TaskInfo};
use super::wire::{self, Reply};
use crate::message::{BuildState, TaskState};

fn value(body: &str) -> serde_json::Value {
    match wire::decode_response(body) {
        Ok(Reply::Value(value)) => value,
        other => panic!("expected a value, got {other:?}"),
    }
}

fn response(inner: &str) -> String {
    format!(
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n{inner}\n</param>\n</params>\n</methodResponse>\n"
    )
}

const BUILD_TARGET: &str = "<value><struct>
<member>
<name>build_tag</name>
<value><int>83915</int></value>
</member>
<member>
<name>build_tag_name</name>
<value><string>f44-build</string></value>
</member>
<member>
<name>dest_tag</name>
<value><int>83913</int></value>
</member>
<member>
<name>dest_tag_name</name>
<value><string>f44-updates-candidate</string></value>
</member>
<member>
<name>id</name>
<value><int>4321</int></value>
</member>
<member>
<name>name</name>
<value><string>rawhide</string></value>
</member>
</struct></value>";

#[test]
fn build_target_struct_decodes() {
    let target = BuildTarget::from_wire(value(&response(BUILD_TARGET))).expect("target");
    assert_eq!(
        target,
        BuildTarget {
            id: 4321,
            name: "rawhide".into(),
            build_tag_name: "f44-build".into(),
            dest_tag_name: "f44-updates-candidate".into(),
        }
    );
}

#[test]
fn nil_result_is_none() {
    let reply = value(&response("<value><nil/></value>"));
    assert_eq!(reply, serde_json::Value::Null);
    let target = types::optional(reply, BuildTarget::from_wire).expect("nil decodes");
    assert_eq!(target, None);
}

/// A `listBuilds` answer: an array of structs, an `<i8>` build id above 2^31, `<nil/>` members,
/// `<double>` timestamps and a nested `extra` struct.
const BUILD_LIST: &str = "<value><array><data>
<value><struct>
<member>
<name>build_id</name>
<value><i8>3000000001</i8></value>
</member>
<member>
<name>completion_ts</name>
<value><double>1735689600.123456</double></value>
</member>
<member>
<name>epoch</name>
<value><nil/></value>
</member>
<member>
<name>extra</name>
<value><struct>
<member>
<name>source</name>
<value><struct>
<member>
<name>original_url</name>
<value><string>git+https://src.fedoraproject.org/rpms/hello.git#0123456789abcdef0123456789abcdef01234567</string></value>
</member>
</struct></value>
</member>
</struct></value>
</member>
<member>
<name>name</name>
<value><string>hello</string></value>
</member>
<member>
<name>nvr</name>
<value><string>hello-2.12.1-5.fc44</string></value>
</member>
<member>
<name>owner_name</name>
<value><string>packager</string></value>
</member>
<member>
<name>release</name>
<value><string>5.fc44</string></value>
</member>
<member>
<name>source</name>
<value><string>git+https://src.fedoraproject.org/rpms/hello.git#0123456789abcdef0123456789abcdef01234567</string></value>
</member>
<member>
<name>state</name>
<value><int>1</int></value>
</member>
<member>
<name>task_id</name>
<value><i8>2147483648</i8></value>
</member>
<member>
<name>version</name>
<value><string>2.12.1</string></value>
</member>
</struct></value>
<value><struct>
<member>
<name>build_id</name>
<value><int>2600000</int></value>
</member>
<member>
<name>extra</name>
<value><nil/></value>
</member>
<member>
<name>name</name>
<value><string>imported</string></value>
</member>
<member>
<name>nvr</name>
<value><string>imported-1-1.fc44</string></value>
</member>
<member>
<name>owner_name</name>
<value><string>releng</string></value>
</member>
<member>
<name>release</name>
<value><string>1.fc44</string></value>
</member>
<member>
<name>source</name>
<value><nil/></value>
</member>
<member>
<name>state</name>
<value><int>3</int></value>
</member>
<member>
<name>task_id</name>
<value><nil/></value>
</member>
<member>
<name>version</name>
<value><string>1</string></value>
</member>
</struct></value>
</data></array></value>";

#[test]
fn build_list_with_i8_nil_and_nested_extra_decodes() {
    let builds = types::list(value(&response(BUILD_LIST)), BuildInfo::from_wire).expect("builds");
    let source =
        "git+https://src.fedoraproject.org/rpms/hello.git#0123456789abcdef0123456789abcdef01234567";
    assert_eq!(
        builds,
        vec![
            BuildInfo {
                build_id: 3_000_000_001,
                nvr: "hello-2.12.1-5.fc44".into(),
                name: "hello".into(),
                version: "2.12.1".into(),
                release: "5.fc44".into(),
                state: BuildState::Complete,
                task_id: Some(2_147_483_648),
                owner_name: Some("packager".into()),
                source: Some(source.into()),
                original_source: Some(source.into()),
            },
            BuildInfo {
                build_id: 2_600_000,
                nvr: "imported-1-1.fc44".into(),
                name: "imported".into(),
                version: "1".into(),
                release: "1.fc44".into(),
                state: BuildState::Failed,
                task_id: None,
                owner_name: Some("releng".into()),
                source: None,
                original_source: None,
            },
        ]
    );
}

const TASK_INFO: &str = "<value><struct>
<member>
<name>arch</name>
<value><string>noarch</string></value>
</member>
<member>
<name>completion_ts</name>
<value><nil/></value>
</member>
<member>
<name>create_time</name>
<value><string>2025-01-01 00:00:00.5+00:00</string></value>
</member>
<member>
<name>create_ts</name>
<value><double>1735689600.5</double></value>
</member>
<member>
<name>id</name>
<value><i8>4294967296</i8></value>
</member>
<member>
<name>method</name>
<value><string>build</string></value>
</member>
<member>
<name>owner</name>
<value><int>3199</int></value>
</member>
<member>
<name>parent</name>
<value><nil/></value>
</member>
<member>
<name>request</name>
<value><array><data>
<value><string>git+https://src.fedoraproject.org/rpms/hello.git#abc</string></value>
<value><string>rawhide</string></value>
<value><struct>
<member>
<name>scratch</name>
<value><boolean>1</boolean></value>
</member>
</struct></value>
</data></array></value>
</member>
<member>
<name>state</name>
<value><int>4</int></value>
</member>
<member>
<name>weight</name>
<value><double>0.2</double></value>
</member>
</struct></value>";

#[test]
fn task_info_with_request_decodes() {
    let task = TaskInfo::from_wire(value(&response(TASK_INFO))).expect("task");
    assert_eq!(
        task,
        TaskInfo {
            id: 4_294_967_296,
            state: TaskState::Assigned,
            method: "build".into(),
            owner: Some(3199),
            request: vec![
                json!("git+https://src.fedoraproject.org/rpms/hello.git#abc"),
                json!("rawhide"),
                json!({"scratch": true}),
            ],
            create_ts: Some(1_735_689_600.5),
            completion_ts: None,
        }
    );
}

#[test]
fn undecoded_request_text_counts_as_not_sent() {
    let task = TaskInfo::from_wire(json!({
        "id": 7, "state": 0, "method": "build", "owner": null,
        "request": "<?xml version='1.0'?><params></params>",
    }))
    .expect("task");
    assert!(task.request.is_empty());
    assert_eq!(task.owner, None);
}

const FAULT: &str = "<?xml version='1.0'?>
<methodResponse>
<fault>
<value><struct>
<member>
<name>faultCode</name>
<value><int>1000</int></value>
</member>
<member>
<name>faultString</name>
<value><string>Build already exists (id=425, state=COMPLETE): {'name': 'fake', 'task_id': 1208, 'version': '1.1', 'release': '22'}</string></value>
</member>
</struct></value>
</fault>
</methodResponse>
";

#[test]
fn fault_body_decodes_to_code_and_string() {
    let reply = wire::decode_response(FAULT).expect("fault decodes");
    let Reply::Fault { code, string } = reply else {
        panic!("expected a fault, got {reply:?}");
    };
    assert_eq!(code, 1000);
    assert!(string.starts_with("Build already exists (id=425"));
    let error = KojiError::Fault {
        method: "getTaskResult".into(),
        code: FaultCode::from_code(code),
        string,
    };
    assert!(error.is_already_built());
    assert!(!error.is_transient());
    assert_eq!(error.kind(), "fault");
}

#[test]
fn garbage_is_an_error_quoting_only_the_start() {
    let html = format!(
        "<html><body>{}</body></html>",
        "Service Unavailable ".repeat(500)
    );
    let error = wire::decode_response(&html).expect_err("html is not XML-RPC");
    assert!(error.contains("<html><body>Service"), "{error}");
    assert!(
        error.len() < 300,
        "error repeats the body: {} chars",
        error.len()
    );
    assert!(wire::decode_response("").is_err());
    assert!(wire::decode_response("<methodResponse><params></params></methodResponse>").is_err());
}

#[test]
fn call_encodes_positional_args_and_kwargs_struct() {
    use dxr::Value;
    let body = wire::encode_call(
        "getTaskInfo",
        vec![wire::int(3_000_000_000)],
        vec![("request", Value::Boolean(true))],
    )
    .expect("encodes");
    let call = dxr::MethodCall::from_xml(body.trim_start_matches("<?xml version=\"1.0\"?>\n"))
        .expect("our own call parses");
    assert_eq!(call.name, "getTaskInfo");
    let params: Vec<_> = call.params.iter().map(wire::to_json).collect();
    assert_eq!(
        params,
        vec![
            json!(3_000_000_000_i64),
            json!({"__starstar": true, "request": true})
        ]
    );
    assert!(body.contains("<i8>3000000000</i8>"), "{body}");
    let positional_only =
        wire::encode_call("getBuild", vec![wire::string("a-1-1")], Vec::new()).expect("encodes");
    assert!(!positional_only.contains("__starstar"), "{positional_only}");
}

#[test]
fn fault_codes_round_trip_and_classify() {
    for code in 1000..=1024 {
        assert_eq!(FaultCode::from_code(code).code(), code);
        assert_ne!(FaultCode::from_code(code).name(), "Other", "code {code}");
    }
    assert_eq!(FaultCode::from_code(1), FaultCode::Other(1));
    let offline = KojiError::Fault {
        method: "build".into(),
        code: FaultCode::ServerOffline,
        string: "server is offline".into(),
    };
    assert!(offline.is_transient());
    let status = |status| KojiError::HttpStatus {
        method: "getBuild".into(),
        url: "https://hub/kojihub".into(),
        status,
    };
    assert!(status(503).is_transient());
    assert!(!status(404).is_transient());
    let other_generic = KojiError::Fault {
        method: "build".into(),
        code: FaultCode::GenericError,
        string: "Unable to parse SCM URL".into(),
    };
    assert!(!other_generic.is_already_built());
}

#[test]
fn client_and_its_futures_can_cross_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let client = super::KojiClient::new(super::KojiClientConfig {
        hub_url: "https://127.0.0.1:9/kojihub".into(),
        ca_file: None,
        auth: super::KojiAuth::Anonymous,
        timeout: std::time::Duration::from_secs(1),
    })
    .expect("client");
    send_sync(&client);
    send(&client.build("git+https://example/x.git#0", "rawhide", false));
    send(&client.find_open_build_tasks("git+https://example/x.git#0", None));
    send(&client.get_task_info(1));
    assert!(!client.can_submit());
    assert_eq!(client.hub_url(), "https://127.0.0.1:9/kojihub");
}
