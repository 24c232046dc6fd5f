//! Each call's parameters exactly as Koji expects them, and the decoding of what the hub answers:
//! `<nil/>` as `None`, ids beyond 32 bits, timestamps, nested `extra`.

use fedflow::koji::{KojiAuth, KojiClient};
use fedflow::message::{BuildState, TaskState};
use serde_json::json;

use super::{SRC, WAIT, config, ssl_client};
use crate::support::certs::CLIENT_COMMON_NAME;
use crate::support::daemon::runtime;
use crate::support::fake_koji::FakeKoji;

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
