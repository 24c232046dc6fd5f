//! `fedflow replay`: a recording in fedora-messaging's serialized format goes through the consume path —
//! into the store when no daemon runs (the engine acts on it at the next start), through the control socket
//! when one does — with what the bus would not deliver skipped, bad lines reported, and ids already stored
//! counted as duplicates.

use crate::support::amqp::fixture_messages;
use crate::support::broker::shared;
use crate::support::daemon::{Instance, bound_by_default, received};
use crate::support::pipeline_env::{PUSHER, PipelineEnv, commit, push_body};
use fedflow::config::COPR_TOPICS;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// One serialized message, as `fedora-messaging record` writes it.
fn line(routing_key: &str, id: &str, headers: &Value, body: &Value) -> String {
    json!({
        "topic": routing_key, "headers": headers, "id": id, "body": body,
        "queue": "recorded", "priority": 0,
    })
    .to_string()
}

fn replay(instance: &Instance, file: &Path) -> (Output, Value) {
    let output = instance
        .command(&["replay", "--json", &file.display().to_string()])
        .output()
        .expect("run fedflow replay");
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, report)
}

#[test]
fn a_recording_is_stored_as_the_bus_would_store_it_and_a_second_replay_finds_duplicates() {
    let prefix = crate::support::amqp::unique_prefix();
    let instance = Instance::new(
        &format!(
            "url = \"{}\"\n\n[copr]\nprojects = [\"*/*\"]",
            shared().plain_url()
        ),
        &prefix,
    );
    let bound = |topic: &str| bound_by_default(topic) || COPR_TOPICS.contains(&topic);

    // Every fixture under this instance's prefix, one on another prefix, a bad body and two bad lines.
    let fixtures = fixture_messages();
    let mut lines = Vec::new();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for fixture in &fixtures {
        let headers = Value::Object(fixture.headers.clone());
        let key = fixture.routing_key_with_prefix(&prefix);
        lines.push(line(&key, &fixture.id, &headers, &fixture.body));
        if bound(&fixture.topic) {
            *expected.entry(fixture.topic.clone()).or_default() += 1;
        }
    }
    let not_bound = fixtures.len() as u64 - expected.values().sum::<u64>();
    let tag = fixtures
        .iter()
        .find(|f| f.topic == "buildsys.tag")
        .expect("a tag fixture");
    lines.push(line(
        &tag.routing_key,
        "other-prefix",
        &json!({}),
        &tag.body,
    ));
    lines.push(line(
        &tag.routing_key_with_prefix(&prefix),
        "no-tag-field",
        &json!({}),
        &json!({"build_id": 1}),
    ));
    lines.push("this is not a serialized message".to_owned());
    lines.push(String::new());
    lines.push(json!({"topic": 7}).to_string());
    let file = instance.dir.path().join("recording.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").expect("write the recording");

    let (output, report) = replay(&instance, &file);
    assert!(!output.status.success(), "unreadable lines fail the run");
    let recorded: u64 = expected.values().sum();
    assert_eq!(report["messages"], fixtures.len() as u64 + 4, "{report:#}");
    assert_eq!(report["recorded"], recorded, "{report:#}");
    assert_eq!(report["not_bound"], not_bound + 1, "{report:#}");
    assert_eq!(report["rejected"], 1, "{report:#}");
    assert_eq!(report["duplicates"], 0, "{report:#}");
    assert_eq!(report["unreadable"], 2, "{report:#}");
    let problems: Vec<u64> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p["line"].as_u64().expect("line"))
        .collect();
    let first_bad = fixtures.len() as u64 + 3;
    assert_eq!(problems, vec![first_bad, first_bad + 2], "{report:#}");

    // What the store holds is what `fedflow status` shows, by topic as the bus test expects it.
    let status = instance.status();
    let by_topic: BTreeMap<String, u64> =
        serde_json::from_value(status["messages"]["by_topic"].clone()).expect("by_topic");
    assert_eq!(by_topic, expected, "{status:#}");
    assert_eq!(status["messages"]["rejected"], 1, "{status:#}");
    let copr: Value = serde_json::from_slice(
        &instance
            .command(&["copr", "--json"])
            .output()
            .expect("copr")
            .stdout,
    )
    .expect("copr JSON");
    assert!(
        copr.as_array().is_some_and(|builds| !builds.is_empty()),
        "the Copr records are written with their messages: {copr:#}"
    );

    // The same recording again changes nothing: the rejected message's id is remembered too.
    let (_, again) = replay(&instance, &file);
    assert_eq!(again["recorded"], 0, "{again:#}");
    assert_eq!(again["rejected"], 0, "{again:#}");
    assert_eq!(again["duplicates"], recorded + 1, "{again:#}");
    assert_eq!(received(&instance.status()), recorded);

    // Text output: the summary, then the bad lines by number.
    let text = instance
        .command(&["replay", &file.display().to_string()])
        .output()
        .expect("replay");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.starts_with(&format!(
            "{} messages: 0 recorded, {} duplicates, 0 rejected, {} not bound, 2 unreadable lines\n",
            fixtures.len() + 4,
            recorded + 1,
            not_bound + 1
        )),
        "{text}"
    );
    assert!(text.contains(&format!("line {first_bad}: ")), "{text}");
}

fn central_rule(package: &str) -> String {
    format!(
        "[[package]]\nname = \"{package}\"\n[package.koji_build]\nbranches = [\"f43\"]\nallowed_committers = [\"{PUSHER}\"]\n\n"
    )
}

fn push_line(env: &PipelineEnv, package: &str, commit: &str, id: &str) -> String {
    line(
        &format!("{}.pagure.git.receive", env.prefix),
        id,
        &json!({"sent-at": "2026-11-20T10:00:00+00:00", "fedora_messaging_severity": 20}),
        &push_body(package, "f43", commit, PUSHER),
    )
}

#[test]
fn pushes_replayed_into_a_stopped_or_a_running_daemon_are_built_once() {
    let env = PipelineEnv::new(&format!("{}{}", central_rule("foo"), central_rule("bar")));
    let missed = commit("foo-missed");
    let file = env.instance.dir.path().join("missed.jsonl");
    std::fs::write(&file, push_line(&env, "foo", &missed, "missed-1") + "\n").expect("write");

    // No daemon: the push waits in the store, and the daemon builds it when it starts.
    let (output, report) = replay(&env.instance, &file);
    assert!(output.status.success(), "{report:#}");
    assert_eq!(
        (&report["recorded"], &report["work_queued"]),
        (&json!(1), &json!(1)),
        "{report:#}"
    );
    assert_eq!(
        env.koji.calls_of("build").len(),
        0,
        "nothing runs without the daemon"
    );
    let mut daemon = env.start();
    let calls = env.koji.wait_for_calls("build", 1, WAIT);
    assert!(
        calls[0].params[0]
            .as_str()
            .is_some_and(|source| source.ends_with(&format!("/rpms/foo.git#{missed}"))),
        "{:?}",
        calls[0].params
    );

    // A running daemon replays through its socket and builds at once; the first push again is a duplicate.
    let live = commit("bar-live");
    std::fs::write(
        &file,
        [
            push_line(&env, "foo", &missed, "missed-1"),
            push_line(&env, "bar", &live, "live-1"),
        ]
        .join("\n"),
    )
    .expect("write");
    let (output, report) = replay(&env.instance, &file);
    assert!(output.status.success(), "{report:#}");
    assert_eq!(
        (
            &report["recorded"],
            &report["duplicates"],
            &report["work_queued"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "{report:#}"
    );
    let calls = env.koji.wait_for_calls("build", 2, WAIT);
    assert!(
        calls[1].params[0]
            .as_str()
            .is_some_and(|source| source.ends_with(&format!("/rpms/bar.git#{live}"))),
        "{:?}",
        calls[1].params
    );
    assert_eq!(env.koji.calls_of("build").len(), 2, "one build per push");

    let (code, _) = daemon.stop();
    assert!(code.success(), "{code:?}");
    env.close();
}
