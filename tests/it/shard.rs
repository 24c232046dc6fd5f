//! Scale-out: two instances with `bus.shard = "0/2"` and `"1/2"` on one broker and one Koji hub, each with
//! its own queue and store, split the packages between them — every push built exactly once, by the
//! instance whose shard holds the package — while both record every message.

use crate::http::Client;
use crate::support::daemon::{Instance, received};
use crate::support::pipeline_env::{PUSHER, PipelineEnv, commit, pipelines_of, push_body};
use fedflow::config::Shard;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Generous: the whole suite shares two cores in CI, and this test runs two daemons.
const WAIT: Duration = Duration::from_secs(120);
const PACKAGES: usize = 12;

fn central_rule(package: &str) -> String {
    format!(
        "[[package]]\nname = \"{package}\"\n[package.koji_build]\nbranches = [\"f43\"]\nallowed_committers = [\"{PUSHER}\"]\n\n"
    )
}

/// The package of a `build` call: its source is `git+<dist-git>/rpms/<package>.git#<commit>`.
fn built_package(source: &str) -> String {
    source
        .rsplit_once("/rpms/")
        .and_then(|(_, rest)| rest.split_once(".git#"))
        .map(|(package, _)| package.to_owned())
        .unwrap_or_else(|| panic!("not a dist-git source: {source}"))
}

/// Package → Koji task id of the instance's pipelines, once every package in `expected` has a submitted task.
fn wait_for_tasks(instance: &Instance, expected: &[String]) -> BTreeMap<String, i64> {
    let mut tasks = BTreeMap::new();
    let mut last = Vec::new();
    let done = crate::support::process::poll_until(WAIT, || {
        last = pipelines_of(instance);
        tasks = last
            .iter()
            .filter_map(|p| {
                let package = p["key"]["package"].as_str()?.to_owned();
                Some((package, p["stage"]["task_id"].as_i64()?))
            })
            .collect();
        expected.iter().all(|package| tasks.contains_key(package))
    });
    assert!(
        done,
        "not every package of {expected:?} got a Koji task within {WAIT:?}: {:#}\n--- status ---\n{:#}\n--- log ---\n{}",
        Value::Array(last),
        instance.status(),
        instance
            .log()
            .lines()
            .filter(|line| !line.contains("reconciler polled") && !line.contains("heartbeat"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    tasks
}

#[test]
fn two_shards_on_one_broker_build_every_package_exactly_once_between_them() {
    let packages: Vec<String> = (0..PACKAGES).map(|n| format!("shardpkg-{n}")).collect();
    let shard_of = |package: &String| Shard::index_of(package, 2);
    let held: [Vec<String>; 2] = [0, 1].map(|index| {
        packages
            .iter()
            .filter(|p| shard_of(p) == index)
            .cloned()
            .collect()
    });
    assert!(
        !held[0].is_empty() && !held[1].is_empty(),
        "both shards need packages: {held:?}"
    );

    let rules: String = packages.iter().map(|p| central_rule(p)).collect();
    let env = PipelineEnv::with_bus("shard = \"0/2\"", &rules);
    let second = env.sibling("shard = \"1/2\"");
    let instances = [&env.instance, &second];
    let _daemon_0 = env.start();
    let _daemon_1 = second.start();
    second.wait_connected();
    let mut queues = BTreeSet::new();
    for (index, instance) in instances.iter().enumerate() {
        let status = instance.status();
        assert_eq!(status["bus"]["shard"], format!("{index}/2"), "{status:#}");
        queues.insert(status["bus"]["queue"].to_string());
    }
    assert_eq!(
        queues.len(),
        2,
        "each instance has its own queue: {queues:?}"
    );

    for package in &packages {
        env.publish(
            "pagure.git.receive",
            &push_body(package, "f43", &commit(package), PUSHER),
        );
    }

    // Each instance carries its own packages to a Koji task; then nothing is left to do anywhere.
    let tasks: [BTreeMap<String, i64>; 2] = [0, 1].map(|i| wait_for_tasks(instances[i], &held[i]));
    let statuses: Vec<Value> = instances
        .iter()
        .map(|instance| {
            instance.wait_status("every push recorded, no work queued", WAIT, |s| {
                received(s) >= PACKAGES as u64 && s["pipelines"]["inbox"] == 0
            })
        })
        .collect();

    // Every message seen by both; received counters equal.
    assert_eq!(received(&statuses[0]), PACKAGES as u64, "{:#}", statuses[0]);
    assert_eq!(
        received(&statuses[1]),
        received(&statuses[0]),
        "{:#}",
        statuses[1]
    );

    // Exactly one build per package across both instances.
    let builds = env.koji.calls_of("build");
    let built: Vec<String> = builds
        .iter()
        .map(|call| built_package(call.params[0].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(built.len(), PACKAGES, "one build per push: {built:?}");
    assert_eq!(
        built.iter().collect::<BTreeSet<_>>(),
        packages.iter().collect::<BTreeSet<_>>(),
        "every package built"
    );

    // By the instance whose shard holds it: its store has the pipeline, with the task the hub created for
    // that package's source, and the other store has none.
    let hub_tasks: BTreeMap<String, i64> = env
        .koji
        .tasks()
        .into_iter()
        .filter_map(|t| Some((built_package(t.request.first()?.as_str()?), t.id)))
        .collect();
    for index in 0..2 {
        let stored: Vec<String> = pipelines_of(instances[index])
            .iter()
            .filter_map(|p| p["key"]["package"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(
            stored.iter().collect::<BTreeSet<_>>(),
            held[index].iter().collect::<BTreeSet<_>>(),
            "instance {index} holds pipelines of its shard only"
        );
        assert_eq!(
            stored.len(),
            held[index].len(),
            "one pipeline per push: {stored:?}"
        );
        for package in &held[index] {
            assert_eq!(
                tasks[index].get(package),
                hub_tasks.get(package),
                "{package}: instance {index}'s pipeline follows the task the hub made for it"
            );
        }
    }

    // Two Koji sessions, one per instance, never submitting for the other's packages.
    let sessions: [BTreeSet<Option<i64>>; 2] = [0, 1].map(|index| {
        builds
            .iter()
            .filter(|call| {
                held[index].contains(&built_package(call.params[0].as_str().unwrap_or_default()))
            })
            .map(|call| call.session_id)
            .collect()
    });
    assert!(
        sessions[0].is_disjoint(&sessions[1]) && !sessions[0].contains(&None),
        "each instance submits under its own session: {sessions:?}"
    );

    // The admin's view says which instance is which.
    let metrics = Client::of(&second).get("/metrics").body;
    assert!(
        metrics.contains("fedflow_shard_info{index=\"1\",count=\"2\"} 1"),
        "{metrics}"
    );
    let page = Client::of(&second).get("/").body;
    assert!(page.contains("; shard 1/2"), "{page}");
    env.close();
}
