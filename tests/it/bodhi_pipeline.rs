//! End to end with the real broker, the real binary and fake Koji/dist-git/Bodhi/identity servers: a
//! completed Koji build becomes exactly one Bodhi update, with the right builds, fields and notes — and
//! never a second one, across duplicates, Bodhi failures and a crash in the middle of the POST.

use crate::support::pipeline_env::{
    BuildMessage, PUSHER, PipelineEnv, bodhi_update_body, build_state_body, commit, history_notes,
    push_body, tag_body,
};
use crate::support::process::poll_until;
use fedflow::journal;
use serde_json::{Value, json};
use std::time::Duration;

/// Generous: the whole suite shares two cores in CI.
pub(crate) const WAIT: Duration = Duration::from_secs(60);
pub(crate) const CANDIDATE: &str = "f43-updates-candidate";
const AUTHOR: &str = "Alice Example <alice@example.org> - 1.0-1";

pub(crate) fn rules(package: &str, koji_branches: &str, update_keys: &str) -> String {
    format!(
        "[[package]]\nname = \"{package}\"\n[package.koji_build]\nbranches = {koji_branches}\n\
         allowed_committers = [\"{PUSHER}\"]\n[package.bodhi_update]\n{update_keys}\n\n"
    )
}

/// A build fedflow submitted and the fake hub completed.
pub(crate) struct Built {
    nvr: String,
    build_id: i64,
    task_id: i64,
    source: String,
    target: String,
}

impl Built {
    pub(crate) fn message(&self) -> BuildMessage<'_> {
        let mut parts = self.nvr.rsplitn(3, '-');
        let release = parts.next().unwrap_or_default();
        let version = parts.next().unwrap_or_default();
        let name = parts.next().unwrap_or_default();
        BuildMessage {
            nvr: (name, version, release),
            build_id: self.build_id,
            task_id: self.task_id,
            source: &self.source,
            target: &self.target,
            owner: "fedflow-test",
        }
    }
}

/// Pushes `package` to `branch`, waits for fedflow's `build` call, completes the task in the fake hub with
/// `changelog` (newest first) and publishes the COMPLETE message.
pub(crate) fn push_and_build(
    env: &PipelineEnv,
    package: &str,
    branch: &str,
    nvr: &str,
    changelog: &[(i64, &str)],
) -> Built {
    let c = commit(nvr);
    let builds_before = env.koji.calls_of("build").len();
    env.publish(
        "pagure.git.receive",
        &push_body(package, branch, &c, PUSHER),
    );
    let calls = env.koji.wait_for_calls("build", builds_before + 1, WAIT);
    let source = calls[builds_before].params[0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let target = calls[builds_before].params[1]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The hub records the call before it makes the task: once fedflow has the answer, the task exists.
    env.wait_pipeline(package, branch, "submitted", WAIT);
    let task_id = env
        .koji
        .tasks()
        .into_iter()
        .find(|t| t.request.first().and_then(Value::as_str) == Some(source.as_str()))
        .expect("the fake hub's task")
        .id;
    let build_id = env.koji.finish_build(task_id, "COMPLETE", nvr);
    env.koji.set_changelog(
        build_id,
        changelog
            .iter()
            .map(|(time, text)| (*time, AUTHOR, *text))
            .collect(),
    );
    let built = Built {
        nvr: nvr.to_owned(),
        build_id,
        task_id,
        source,
        target,
    };
    env.publish(
        "buildsys.build.state.change",
        &build_state_body(&built.message(), Some(0), 1),
    );
    built
}

/// foo 1.0-1 on f43 with a one-entry changelog: the build most tests need.
fn build_foo(env: &PipelineEnv) -> Built {
    push_and_build(
        env,
        "foo",
        "f43",
        "foo-1.0-1.fc43",
        &[(1_760_000_000, "- Update")],
    )
}

/// The first pipeline matching `wanted`, polled for with a deadline.
fn wait_for(env: &PipelineEnv, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let mut last = Vec::new();
    let found = poll_until(WAIT, || {
        last = env.pipelines();
        last.iter().any(&wanted)
    });
    assert!(
        found,
        "no pipeline {what} within {WAIT:?}: {:#}\n--- log ---\n{}",
        Value::Array(last.clone()),
        env.instance.log()
    );
    last.into_iter().find(|p| wanted(p)).unwrap_or(Value::Null)
}

/// The pipeline of `package` whose history has a note containing `needle`, once there is one.
fn wait_note(env: &PipelineEnv, package: &str, needle: &str) -> Value {
    wait_for(env, &format!("of {package} noted {needle:?}"), |p| {
        p["key"]["package"] == package && history_notes(p).contains(needle)
    })
}

/// The pipeline of `package` on `branch` once its update has Bodhi status `status`.
pub(crate) fn wait_update(env: &PipelineEnv, package: &str, branch: &str, status: &str) -> Value {
    wait_for(
        env,
        &format!("of {package} {branch} with an update in {status}"),
        |p| {
            p["key"]["package"] == package
                && p["key"]["branch"] == branch
                && p["stage"]["state"] == "update"
                && p["stage"]["status"] == status
        },
    )
}

pub(crate) fn tag(env: &PipelineEnv, built: &Built, tag: &str) {
    env.koji.tag_build(built.build_id, tag);
    env.bodhi.tag_build(&built.nvr, tag);
}

#[test]
fn a_completed_build_becomes_exactly_one_update_with_its_changelog_and_bugs() {
    let env = PipelineEnv::with_bodhi_login(
        "tag_wait_minutes = 5",
        &rules(
            "foo",
            "[\"f43\"]",
            "branches = [\"fedora-stable\"]\ntype = \"bugfix\"\nstable_karma = 2\n[package.bodhi_update.extra]\nsuggest = \"reboot\"\ntype = \"security\"",
        ),
    );
    // The release's latest stable build is the changelog's baseline.
    let stable = env
        .koji
        .add_build("foo-0.9-1.fc43", "COMPLETE", None, "fedflow-test");
    env.koji
        .set_changelog(stable, vec![(1_700_000_000, AUTHOR, "- Update to 0.9")]);
    env.koji.tag_build(stable, "f43-updates");
    let mut daemon = env.start();

    let built = push_and_build(
        &env,
        "foo",
        "f43",
        "foo-1.0-1.fc43",
        &[
            (1_760_000_000, "- Update to 1.0\n- Fixes: rhbz#2301234"),
            (1_700_000_000, "- Update to 0.9"),
        ],
    );
    env.wait_pipeline("foo", "f43", "awaiting_tag", WAIT);
    assert!(
        env.bodhi.posts().is_empty(),
        "no POST before the candidate tag"
    );

    tag(&env, &built, CANDIDATE);
    env.publish("buildsys.tag", &tag_body(&built.message(), CANDIDATE, 7001));
    let pipeline = wait_update(&env, "foo", "f43", "pending");
    let posts = env.bodhi.posts();
    assert_eq!(posts.len(), 1, "exactly one POST: {posts:#?}");
    let post = &posts[0];
    assert_eq!(post["builds"], json!(["foo-1.0-1.fc43"]));
    assert_eq!(
        post["type"], "bugfix",
        "the rule's type wins over extra: {post:#}"
    );
    assert_eq!(post["suggest"], "reboot", "extra parameters are passed on");
    assert_eq!(post["stable_karma"], json!(2));
    let notes_sent = post["notes"].as_str().unwrap_or_default();
    assert!(
        notes_sent.starts_with("Automatic update for foo-1.0-1.fc43."),
        "{notes_sent}"
    );
    assert!(notes_sent.contains("Update to 1.0"), "{notes_sent}");
    assert!(
        !notes_sent.contains("Update to 0.9"),
        "only what is new since the stable build: {notes_sent}"
    );
    assert!(post["bugs"].to_string().contains("2301234"), "{post:#}");
    let alias = pipeline["stage"]["alias"]
        .as_str()
        .expect("alias")
        .to_owned();
    assert_eq!(env.bodhi.updates().len(), 1);
    assert!(
        history_notes(&pipeline).contains(&format!("created update {alias}")),
        "{pipeline:#}"
    );

    // The tag message again (redelivered) and Bodhi moving the update along.
    env.publish("buildsys.tag", &tag_body(&built.message(), CANDIDATE, 7001));
    env.publish(
        "bodhi.update.complete.testing",
        &bodhi_update_body("complete.testing", &alias, &built.nvr, "F43", "testing"),
    );
    wait_update(&env, "foo", "f43", "testing");
    assert_eq!(env.bodhi.posts().len(), 1, "still one POST");
    let log = env.instance.log();
    assert!(
        log.lines()
            .any(|line| line.contains("update_alias") && line.contains(&alias)),
        "log lines carry the alias: {log}"
    );
    // Each lifecycle event is in the journal once, under its catalogued MESSAGE_ID; the update's status
    // change is no second "update created", and the AMQP id is never logged as `message_id`.
    for (event, id) in [
        ("pipeline created", journal::PIPELINE_CREATED),
        ("build submitted", journal::BUILD_SUBMITTED),
        ("build finished", journal::BUILD_FINISHED),
        ("update created", journal::UPDATE_CREATED),
    ] {
        let lines: Vec<&str> = log
            .lines()
            .filter(|line| line.contains(&format!("message_id=\"{id}\"")))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "{event} logged once with {id}: {lines:#?}\n{log}"
        );
    }
    assert!(
        log.lines().any(|line| line.contains("amqp_message_id=")),
        "{log}"
    );
    daemon.stop();
    env.close();
}

#[test]
fn rawhide_builds_are_never_posted_and_bodhi_s_automatic_update_is_checked() {
    let keys = "branches = [\"rawhide\"]";
    let env = PipelineEnv::with_bodhi_login(
        "automatic_update_check_minutes = 0",
        &format!(
            "{}{}",
            rules("foo", "[\"rawhide\"]", keys),
            rules("bar", "[\"rawhide\"]", keys)
        ),
    );
    let mut daemon = env.start();
    // Bodhi's consumer made foo's update when Koji tagged the build; nobody made bar's.
    env.bodhi.add_update(json!({
        "alias": "FEDORA-2026-aaaa000001", "status": "pending", "request": "testing",
        "builds": [{"nvr": "foo-1.0-1.fc45"}], "release": {"name": "F45"}, "user": {"name": "bodhi"},
    }));
    push_and_build(
        &env,
        "foo",
        "rawhide",
        "foo-1.0-1.fc45",
        &[(1_760_000_000, "- Update")],
    );
    let foo = wait_update(&env, "foo", "rawhide", "pending");
    assert_eq!(foo["stage"]["origin"], "automatic", "{foo:#}");
    assert_eq!(foo["stage"]["alias"], "FEDORA-2026-aaaa000001");

    push_and_build(
        &env,
        "bar",
        "rawhide",
        "bar-2.0-1.fc45",
        &[(1_760_000_000, "- Update")],
    );
    let bar = env.wait_pipeline("bar", "rawhide", "needs_attention", WAIT);
    assert!(
        bar["stage"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("no automatic update for bar-2.0-1.fc45"),
        "{bar:#}"
    );
    assert!(
        env.bodhi.posts().is_empty(),
        "rawhide is not composed by Bodhi: never a POST"
    );
    let status = env.instance.status();
    assert_eq!(status["pipelines"]["needs_attention"], 1, "{status:#}");
    let log = env.instance.log();
    for id in [
        journal::UPDATE_FOUND,
        journal::AUTOMATIC_UPDATE_MISSING,
        journal::NEEDS_ATTENTION,
    ] {
        let count = log.lines().filter(|line| line.contains(id)).count();
        assert_eq!(count, 1, "{id} once:\n{log}");
    }
    daemon.stop();
    env.close();
}

#[test]
fn an_existing_update_is_adopted_and_a_build_by_someone_else_gets_nothing() {
    let env = PipelineEnv::with_bodhi_login("tag_wait_minutes = 5", &rules("foo", "[\"f43\"]", ""));
    let mut daemon = env.start();
    env.bodhi.add_update(json!({
        "alias": "FEDORA-2026-bbbb000002", "status": "testing", "request": null,
        "builds": [{"nvr": "foo-1.0-1.fc43"}], "release": {"name": "F43"}, "user": {"name": "alice"},
    }));
    let built = build_foo(&env);
    // No tag message: Koji's listTags answers the poll.
    env.koji.tag_build(built.build_id, CANDIDATE);
    let adopted = wait_update(&env, "foo", "f43", "testing");
    assert!(
        history_notes(&adopted).contains("adopted existing update FEDORA-2026-bbbb000002"),
        "{adopted:#}"
    );

    // A build of another commit by bob, who is not fedflow and not in allowed_builders.
    let source = format!(
        "git+{}/rpms/foo.git#{}",
        env.distgit.base_url().trim_end_matches('/'),
        commit("bob")
    );
    let bob = BuildMessage {
        nvr: ("foo", "2.0", "1.fc43"),
        build_id: 8_100_001,
        task_id: 8_100_000,
        source: &source,
        target: "f43-candidate",
        owner: "bob",
    };
    env.publish(
        "buildsys.build.state.change",
        &build_state_body(&bob, Some(0), 1),
    );
    let pipeline = wait_note(&env, "foo", "no Bodhi update: built by bob, not by fedflow");
    assert_eq!(pipeline["stage"]["state"], "built", "{pipeline:#}");
    assert!(
        env.bodhi.posts().is_empty(),
        "nothing posted: {:#?}",
        env.bodhi.posts()
    );
    daemon.stop();
    env.close();
}

#[test]
fn bodhi_failures_are_retried_and_make_one_update() {
    let env = PipelineEnv::with_bodhi_login("tag_wait_minutes = 5", &rules("foo", "[\"f43\"]", ""));
    let mut daemon = env.start();
    let built = build_foo(&env);
    env.wait_pipeline("foo", "f43", "awaiting_tag", WAIT);
    let error = json!({"status": "error", "errors": [{"location": "body", "name": "", "description": "Service Unavailable"}]});
    env.bodhi.reply_next(
        "/updates/",
        503,
        "application/json",
        error.to_string().as_bytes(),
    );
    env.bodhi.reply_next(
        "/updates/",
        500,
        "application/json",
        error.to_string().as_bytes(),
    );
    tag(&env, &built, CANDIDATE);
    env.publish("buildsys.tag", &tag_body(&built.message(), CANDIDATE, 7001));
    let pipeline = wait_update(&env, "foo", "f43", "pending");
    assert_eq!(env.bodhi.updates().len(), 1, "one update");
    assert_eq!(env.bodhi.posts().len(), 1, "one POST that reached Bodhi");
    let log = env.instance.log();
    assert!(
        log.contains("HTTP 503") && log.contains("HTTP 500"),
        "both failures were retried: {pipeline:#}"
    );
    daemon.stop();
    env.close();
}

#[test]
fn a_crash_while_bodhi_creates_the_update_still_makes_one_update() {
    let env = PipelineEnv::with_bodhi_login(
        "tag_wait_minutes = 5\ntimeout_seconds = 60",
        &rules("foo", "[\"f43\"]", ""),
    );
    env.bodhi.hang_after_next_create();
    let mut daemon = env.start();
    let built = build_foo(&env);
    tag(&env, &built, CANDIDATE);
    env.publish("buildsys.tag", &tag_body(&built.message(), CANDIDATE, 7001));
    // Bodhi has the update; fedflow is still waiting for the answer when it dies.
    assert!(
        poll_until(WAIT, || env.bodhi.updates().len() == 1),
        "the POST reached Bodhi"
    );
    daemon.kill9();

    let mut daemon = env.start();
    let pipeline = wait_update(&env, "foo", "f43", "pending");
    assert_eq!(env.bodhi.posts().len(), 1, "no second POST");
    assert_eq!(env.bodhi.updates().len(), 1, "one update");
    assert!(
        history_notes(&pipeline).contains("adopted existing update"),
        "{pipeline:#}"
    );
    daemon.stop();
    env.close();
}

#[test]
fn without_bodhi_credentials_the_update_is_recorded_not_made() {
    let env = PipelineEnv::new(&rules("foo", "[\"f43\"]", "type = \"bugfix\""));
    let mut daemon = env.start();
    let built = build_foo(&env);
    tag(&env, &built, CANDIDATE);
    env.publish("buildsys.tag", &tag_body(&built.message(), CANDIDATE, 7001));
    let pipeline = env.wait_pipeline("foo", "f43", "would_create_update", WAIT);
    assert!(
        history_notes(&pipeline)
            .contains("would create update: bugfix update for foo-1.0-1.fc43 in F43"),
        "{pipeline:#}"
    );
    assert!(env.bodhi.posts().is_empty(), "observe-only: no POST");
    assert!(
        env.bodhi
            .requests()
            .iter()
            .all(|r| !r.starts_with("/oidc") && !r.starts_with("/csrf")),
        "no login attempted: {:?}",
        env.bodhi.requests()
    );
    daemon.stop();
    env.close();
}

#[test]
fn a_packit_yaml_job_gives_an_allowed_builder_s_build_its_update() {
    let env = PipelineEnv::with_distgit_and_bodhi_login(
        "honour_packit_yaml = [\"baz\"]",
        "tag_wait_minutes = 5",
        "",
    );
    env.distgit.set_packit_yaml(
        "baz",
        "rawhide",
        ".packit.yaml",
        "jobs:\n- job: bodhi_update\n  trigger: commit\n  dist_git_branches: [fedora-stable]\n  allowed_builders: [packit]\n  bodhi_extra_params:\n    severity: low\n",
    );
    let mut daemon = env.start();
    // Packit built it: fedflow never saw the push and did not submit the task.
    let nvr = "baz-3.1-1.fc43";
    let source = format!(
        "git+{}/rpms/baz.git#{}",
        env.distgit.base_url().trim_end_matches('/'),
        commit(nvr)
    );
    let build_id = env.koji.add_build(nvr, "COMPLETE", Some(&source), "packit");
    let built = Built {
        nvr: nvr.to_owned(),
        build_id,
        task_id: 8_200_000,
        source,
        target: "f43-candidate".to_owned(),
    };
    let mut message = build_state_body(&built.message(), Some(0), 1);
    message["owner"] = json!("packit");
    env.publish("buildsys.build.state.change", &message);
    env.wait_pipeline("baz", "f43", "awaiting_tag", WAIT);
    tag(&env, &built, CANDIDATE);
    env.publish("buildsys.tag", &tag_body(&built.message(), CANDIDATE, 7001));
    let pipeline = wait_update(&env, "baz", "f43", "pending");
    assert!(
        history_notes(&pipeline).contains("by packit; not submitted by fedflow"),
        "{pipeline:#}"
    );
    assert!(
        history_notes(&pipeline).contains(".packit.yaml at rawhide"),
        "{pipeline:#}"
    );
    let posts = env.bodhi.posts();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert_eq!(posts[0]["type"], "enhancement", "Packit's default type");
    assert_eq!(
        posts[0]["severity"], "low",
        "bodhi_extra_params are passed on"
    );
    assert!(
        env.koji.calls_of("build").is_empty(),
        "fedflow built nothing itself"
    );
    daemon.stop();
    env.close();
}

#[test]
fn bodhi_not_seeing_the_tag_yet_is_asked_again_until_it_does() {
    let env = PipelineEnv::with_bodhi_login("tag_wait_minutes = 1", &rules("foo", "[\"f43\"]", ""));
    let mut daemon = env.start();
    let built = build_foo(&env);
    // Koji has the tag, Bodhi's view of Koji does not yet: the tagging race of packit#1615.
    env.bodhi.add_build(&built.nvr);
    env.koji.tag_build(built.build_id, CANDIDATE);
    let waiting = wait_for(&env, "retrying the tagging race", |p| {
        p["retry"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("Cannot find any tags associated with build"))
    });
    assert_eq!(waiting["stage"]["state"], "creating_update", "{waiting:#}");
    env.bodhi.tag_build(&built.nvr, CANDIDATE);
    wait_update(&env, "foo", "f43", "pending");
    assert_eq!(env.bodhi.posts().len(), 2, "one refused POST, one accepted");
    assert_eq!(env.bodhi.updates().len(), 1);
    daemon.stop();
    env.close();
}
