//! End to end with the real broker, the real binary and fake Koji/dist-git/Bodhi servers: a dist-git push
//! becomes exactly one Koji build, is followed to its end, and never twice — across duplicates, crashes,
//! hub timeouts and lost messages.

use crate::support::fake_koji::Injection;
use crate::support::pipeline_env::{
    BuildMessage, PUSHER, PipelineEnv, build_state_body, commit, fork_push_body, history_notes,
    push_body,
};
use serde_json::Value;
use std::time::Duration;

/// Generous: the whole suite shares two cores in CI.
const WAIT: Duration = Duration::from_secs(60);

fn central_rule(package: &str, branches: &str) -> String {
    format!(
        "[[package]]\nname = \"{package}\"\n[package.koji_build]\nbranches = {branches}\nallowed_committers = [\"{PUSHER}\"]\n\n"
    )
}

fn source_url(env: &PipelineEnv, package: &str, commit: &str) -> String {
    let base = env.distgit.base_url();
    format!(
        "git+{}/rpms/{package}.git#{commit}",
        base.trim_end_matches('/')
    )
}

fn build_sources(env: &PipelineEnv) -> Vec<String> {
    env.koji
        .calls_of("build")
        .iter()
        .map(|call| call.params[0].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_watched_push_is_built_once_and_followed_to_the_end() {
    let env = PipelineEnv::new(&format!(
        "{}{}",
        central_rule("foo", "[\"f43\"]"),
        central_rule("marker", "[\"f43\"]")
    ));
    let mut daemon = env.start();
    let c1 = commit("foo-1");
    let push = push_body("foo", "f43", &c1, PUSHER);
    let first_id = env.publish("pagure.git.receive", &push);

    let calls = env.koji.wait_for_calls("build", 1, WAIT);
    let source = source_url(&env, "foo", &c1);
    assert_eq!(
        calls[0].params[0],
        source.as_str(),
        "the exact pushed commit"
    );
    assert_eq!(calls[0].params[1], "f43-candidate");
    assert!(calls[0].session_id.is_some(), "built under our own session");

    // The same push again: redelivered with its id, and republished with a new one.
    env.publish_with_id("pagure.git.receive", &push, &first_id);
    env.publish("pagure.git.receive", &push);
    // Messages are applied in order: once the marker's build arrives, the duplicates were handled.
    let marker = commit("marker-1");
    env.publish(
        "pagure.git.receive",
        &push_body("marker", "f43", &marker, PUSHER),
    );
    env.koji.wait_for_calls("build", 2, WAIT);
    assert_eq!(
        build_sources(&env),
        vec![source.clone(), source_url(&env, "marker", &marker)],
        "one build per push"
    );
    assert_eq!(
        env.bodhi.request_count(),
        1,
        "Bodhi's releases are fetched once and cached for the next decisions"
    );

    let task_id = env
        .koji
        .tasks()
        .into_iter()
        .find(|t| t.request.first().and_then(Value::as_str) == Some(source.as_str()))
        .expect("the fake hub's task")
        .id;
    env.wait_pipeline("foo", "f43", "submitted", WAIT);
    let nvr = ("foo", "1.0", "1.fc43");
    let build_id = 9_000_001;
    let build = BuildMessage {
        nvr,
        build_id,
        task_id,
        source: &source,
        target: "f43-candidate",
        owner: "fedflow-test",
    };
    env.publish(
        "buildsys.build.state.change",
        &build_state_body(&build, None, 0),
    );
    let building = env.wait_pipeline("foo", "f43", "building", WAIT);
    assert_eq!(building["stage"]["build_id"], build_id);
    env.publish(
        "buildsys.build.state.change",
        &build_state_body(&build, Some(0), 1),
    );
    let built = env.wait_pipeline("foo", "f43", "built", WAIT);
    assert_eq!(built["stage"]["nvr"], "foo-1.0-1.fc43");
    assert_eq!(built["stage"]["task_id"], task_id);

    let text = env
        .instance
        .command(&["pipelines", "--package", "foo"])
        .output()
        .expect("fedflow pipelines");
    let text = String::from_utf8_lossy(&text.stdout);
    for expected in [
        "built",
        "foo-1.0-1.fc43",
        "submitted: task",
        "building: build",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    daemon.stop();
    env.close();
}

#[test]
fn pushes_that_must_not_build_are_recorded_with_their_reason() {
    let env = PipelineEnv::new(&format!(
        "{}{}",
        central_rule("foo", "[\"f43\"]"),
        central_rule("marker", "[\"f43\"]")
    ));
    let mut daemon = env.start();
    env.publish(
        "pagure.git.receive",
        &fork_push_body("foo", "f43", &commit("fork"), PUSHER),
    );
    env.publish(
        "pagure.git.receive",
        &push_body("foo", "f43", &commit("mallory"), "mallory"),
    );
    env.publish(
        "pagure.git.receive",
        &push_body("foo", "f42", &commit("other-branch"), PUSHER),
    );
    let mut no_spec = push_body("foo", "f43", &commit("readme"), PUSHER);
    no_spec["changed_files"] = serde_json::json!({"README.md": "M"});
    env.publish("pagure.git.receive", &no_spec);
    env.publish(
        "pagure.git.receive",
        &push_body("unwatched", "f43", &commit("unwatched"), PUSHER),
    );
    let marker = commit("marker-2");
    env.publish(
        "pagure.git.receive",
        &push_body("marker", "f43", &marker, PUSHER),
    );
    // Every push before the marker has been decided once the marker is.
    env.wait_pipeline("marker", "f43", "submitted", WAIT);
    let reasons: Vec<String> = env
        .pipelines()
        .iter()
        .filter(|p| p["key"]["package"] == "foo")
        .map(|p| {
            assert_eq!(p["stage"]["state"], "skipped", "{p:#}");
            p["stage"]["reason"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:#?}");
    for expected in [
        "push to a fork (forks/alice/rpms/foo)",
        "pushed by mallory, who is not in allowed_committers",
        "branch f42 is not among the koji_build branches",
        "no .spec file changed",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "no reason contains {expected:?}: {reasons:#?}"
        );
    }
    assert!(
        !env.pipelines()
            .iter()
            .any(|p| p["key"]["package"] == "unwatched"),
        "unwatched packages get no pipeline"
    );
    assert_eq!(
        build_sources(&env),
        vec![source_url(&env, "marker", &marker)]
    );
    daemon.stop();
    env.close();
}

#[test]
fn a_crash_while_koji_accepts_the_build_still_builds_once() {
    let env = PipelineEnv::new(&central_rule("foo", "[\"f43\"]"));
    env.koji
        .inject("build", Injection::AcceptThenHang(Duration::from_secs(60)));
    let mut daemon = env.start();
    let c = commit("crash");
    env.publish("pagure.git.receive", &push_body("foo", "f43", &c, PUSHER));
    // The hub has the task; fedflow is still waiting for the answer when it dies.
    env.koji.wait_for_calls("build", 1, WAIT);
    daemon.kill9();

    let mut daemon = env.start();
    let pipeline = env.wait_pipeline("foo", "f43", "submitted", WAIT);
    assert_eq!(env.koji.calls_of("build").len(), 1, "no second build call");
    assert!(
        history_notes(&pipeline).contains("found the task of its own build call"),
        "{pipeline:#}"
    );
    let task = env.koji.tasks().into_iter().next().expect("one task");
    assert_eq!(pipeline["stage"]["task_id"], task.id);
    assert_eq!(
        pipeline["submitted_task"], task.id,
        "the task is fedflow's own (its build may get an update): {pipeline:#}"
    );
    daemon.stop();
    env.close();
}

#[test]
fn a_hub_that_times_out_after_accepting_still_builds_once() {
    let env = PipelineEnv::new(&central_rule("foo", "[\"f43\"]"));
    // Longer than koji.timeout_seconds = 2: the client gives up, the task exists.
    env.koji
        .inject("build", Injection::AcceptThenHang(Duration::from_secs(8)));
    let mut daemon = env.start();
    env.publish(
        "pagure.git.receive",
        &push_body("foo", "f43", &commit("timeout"), PUSHER),
    );
    let pipeline = env.wait_pipeline("foo", "f43", "submitted", WAIT);
    assert_eq!(env.koji.calls_of("build").len(), 1, "no second build call");
    assert!(
        history_notes(&pipeline).contains("found the task of its own build call"),
        "{pipeline:#}"
    );
    assert_eq!(
        pipeline["submitted_task"], pipeline["stage"]["task_id"],
        "the task is fedflow's own (its build may get an update): {pipeline:#}"
    );
    daemon.stop();
    env.close();
}

#[test]
fn a_lost_complete_message_is_recovered_by_the_reconciler() {
    let env = PipelineEnv::new(&central_rule("foo", "[\"f43\"]"));
    let mut daemon = env.start();
    env.publish(
        "pagure.git.receive",
        &push_body("foo", "f43", &commit("lost"), PUSHER),
    );
    env.koji.wait_for_calls("build", 1, WAIT);
    let submitted = env.wait_pipeline("foo", "f43", "submitted", WAIT);
    let task_id = submitted["stage"]["task_id"].as_i64().expect("task id");
    // Koji finishes the build; its messages never arrive.
    let build_id = env.koji.finish_build(task_id, "COMPLETE", "foo-2.0-1.fc43");
    let built = env.wait_pipeline("foo", "f43", "built", WAIT);
    assert_eq!(built["stage"]["build_id"], build_id);
    assert_eq!(built["stage"]["nvr"], "foo-2.0-1.fc43");
    assert!(!env.koji.calls_of("getTaskInfo").is_empty());
    daemon.stop();
    env.close();
}

#[test]
fn observe_only_mode_goes_up_to_the_call_and_records_it() {
    let env = PipelineEnv::observe_only(&central_rule("foo", "[\"f43\"]"));
    let mut daemon = env.start();
    env.publish(
        "pagure.git.receive",
        &push_body("foo", "f43", &commit("observe"), PUSHER),
    );
    let pipeline = env.wait_pipeline("foo", "f43", "would_submit", WAIT);
    assert!(history_notes(&pipeline).contains("would submit build of git+"));
    assert!(env.koji.calls_of("build").is_empty());
    assert!(env.koji.calls_of("sslLogin").is_empty());
    assert!(
        !env.koji.calls_of("getBuildTarget").is_empty(),
        "the target was still checked"
    );
    daemon.stop();
    env.close();
}

#[test]
fn an_unknown_target_fails_the_pipeline_and_retry_sends_it_again() {
    let env = PipelineEnv::new(&central_rule("foo", "[\"epel9\"]"));
    let mut daemon = env.start();
    env.publish(
        "pagure.git.receive",
        &push_body("foo", "epel9", &commit("epel"), PUSHER),
    );
    let failed = env.wait_pipeline("foo", "epel9", "failed", WAIT);
    assert_eq!(
        failed["stage"]["reason"],
        "Koji has no build target epel9-candidate"
    );
    env.koji
        .add_target("epel9-candidate", "epel9-build", "epel9-testing-candidate");
    let id = failed["id"].to_string();
    let output = env
        .instance
        .command(&["retry", &id, "--json"])
        .output()
        .expect("fedflow retry");
    assert!(output.status.success(), "{output:?}");
    let retried: Value = serde_json::from_slice(&output.stdout).expect("the pipeline as JSON");
    assert_eq!(retried["id"], failed["id"], "{retried:#}");
    assert_ne!(retried["stage"], failed["stage"], "{retried:#}");
    env.wait_pipeline("foo", "epel9", "submitted", WAIT);
    assert_eq!(env.koji.calls_of("build").len(), 1);
    daemon.stop();
    env.close();
}

#[test]
fn packit_yaml_from_dist_git_decides_and_merged_prs_are_checked_against_their_author() {
    let env = PipelineEnv::with_distgit("honour_packit_yaml = [\"pk-*\"]", "");
    env.distgit.set_packit_yaml(
        "pk-one",
        "rawhide",
        ".packit.yaml",
        "upstream_package_name: one\njobs:\n  - job: copr_build\n    trigger: pull_request\n  \
         - job: koji_build\n    trigger: commit\n    dist_git_branches: [fedora-stable]\n    \
         allowed_pr_authors: [\"@pk-team\"]\n",
    );
    env.distgit.set_group("pk-team", &["frank"]);
    env.distgit.set_project(
        "pk-one",
        serde_json::json!({
            "access_users": {"owner": ["olivia"], "admin": [], "commit": ["frank"], "collaborator": [], "ticket": []},
            "access_groups": {"admin": [], "commit": [], "collaborator": [], "ticket": []}
        }),
    );
    let pr = |id: i64, author: &str| {
        serde_json::json!({"id": id, "status": "Merged", "branch": "f43", "branch_from": "update",
            "user": {"name": author}, "commit_stop": commit("pr"), "tags": []})
    };
    env.distgit.set_pull_request("pk-one", 7, pr(7, "frank"));
    env.distgit.set_pull_request("pk-one", 8, pr(8, "eve"));
    let mut daemon = env.start();

    let mut merged = push_body("pk-one", "f43", &commit("pr-7"), "pagure");
    merged["pull_request_id"] = serde_json::json!(7);
    env.publish("pagure.git.receive", &merged);
    let built = env.wait_pipeline("pk-one", "f43", "submitted", WAIT);
    let calls = env.koji.calls_of("build");
    assert_eq!(calls[0].params[1], "f43-candidate");
    assert!(
        history_notes(&built).contains(".packit.yaml at rawhide"),
        "{built:#}"
    );

    let mut by_eve = push_body("pk-one", "f43", &commit("pr-8"), "pagure");
    by_eve["pull_request_id"] = serde_json::json!(8);
    env.publish("pagure.git.receive", &by_eve);
    // rawhide is not a stable release: fedora-stable excludes it.
    env.publish(
        "pagure.git.receive",
        &push_body("pk-one", "rawhide", &commit("pk-rawhide"), "pagure"),
    );
    let skipped = env.wait_pipeline("pk-one", "rawhide", "skipped", WAIT);
    assert!(
        skipped["stage"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("branch rawhide is not among")),
        "{skipped:#}"
    );
    let eve = env
        .pipelines()
        .into_iter()
        .find(|p| p["key"]["commit"] == commit("pr-8"))
        .expect("eve's pipeline");
    assert_eq!(eve["stage"]["state"], "skipped", "{eve:#}");
    assert!(
        eve["stage"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("authored by eve, who is not in allowed_pr_authors")),
        "{eve:#}"
    );
    assert_eq!(env.koji.calls_of("build").len(), 1);
    // One fetch of the config for the three decisions: the cache serves the others.
    assert_eq!(
        env.distgit
            .request_count("/rpms/pk-one/raw/rawhide/f/.packit.yaml"),
        1
    );
    daemon.stop();
    env.close();
}
