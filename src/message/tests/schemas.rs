//! Every example in `fixtures/schemas/*/*.json` and every line of `publish-all.jsonl` decodes into
//! the event its topic promises, with fields matching the body it came from.

use serde_json::Value;

use super::{FIXTURES, PROD_PREFIX, decode_value, fixture_json, fixture_text, headers_of};
use crate::message::lenient::strip_refs_heads;
use crate::message::{BuildState, CoprStatus, DecodeError, Event, Message, Severity, TaskState};

/// Topics the fixtures hold on purpose that fedflow does not consume.
const IGNORED_TOPICS: [&str; 2] = ["buildsys.repo.done", "copr.chroot.start"];

fn expected_kind(topic: &str) -> &'static str {
    match topic {
        "pagure.git.receive" => "distgit_push",
        "git.receive" => "git_commit",
        "buildsys.build.state.change" => "koji_build_state",
        "buildsys.task.state.change" => "koji_task_state",
        "buildsys.tag" => "koji_tag",
        "buildsys.untag" => "koji_untag",
        "copr.build.start" => "copr_build_start",
        "copr.build.end" => "copr_build_end",
        bodhi if bodhi.starts_with("bodhi.update.") => "bodhi_update",
        other => panic!("fixture topic {other} has no expected event"),
    }
}

fn int(value: &Value) -> i64 {
    value
        .as_i64()
        .unwrap_or_else(|| panic!("{value} is not an integer"))
}

fn text(value: &Value) -> Option<&str> {
    value.as_str()
}

/// Asserts the typed event says what the JSON body says.
fn assert_event_matches_body(topic: &str, event: &Event, body: &Value) {
    match event {
        Event::DistGitPush(push) => {
            assert_eq!(push.agent, body["agent"]);
            assert_eq!(push.end_commit, body["end_commit"]);
            assert_eq!(push.old_commit.as_deref(), text(&body["old_commit"]));
            assert_eq!(push.start_commit.as_deref(), text(&body["start_commit"]));
            assert_eq!(push.total_commits, int(&body["total_commits"]));
            assert_eq!(
                push.branch,
                strip_refs_heads(text(&body["branch"]).unwrap())
            );
            assert!(!push.branch.starts_with("refs/"));
            assert_eq!(push.repo.name, body["repo"]["name"]);
            assert_eq!(
                push.repo.namespace.as_deref(),
                text(&body["repo"]["namespace"])
            );
            assert_eq!(
                push.authors.len(),
                body["authors"].as_array().unwrap().len()
            );
        }
        Event::GitCommit(commit) => {
            assert_eq!(commit.agent, body["agent"]);
            assert_eq!(commit.commit.rev, body["commit"]["rev"]);
            assert_eq!(commit.commit.branch, body["commit"]["branch"]);
            assert_eq!(commit.commit.repo, body["commit"]["repo"]);
            assert_eq!(commit.commit.url.as_deref(), text(&body["commit"]["url"]));
        }
        Event::KojiBuildState(build) => {
            assert_eq!(build.build_id, int(&body["build_id"]));
            assert_eq!(build.name, body["name"]);
            assert_eq!(build.new, BuildState::from_code(int(&body["new"])));
            assert_eq!(build.old, body["old"].as_i64().map(BuildState::from_code));
            assert_eq!(build.task_id, body["task_id"].as_i64());
            assert_eq!(build.task.is_some(), body["task"].is_object());
            assert_eq!(
                build.completion_time.as_deref(),
                text(&body["completion_time"])
            );
        }
        Event::KojiTaskState(task) => {
            assert_eq!(task.id, int(&body["id"]));
            assert_eq!(task.new, TaskState::from_name(text(&body["new"]).unwrap()));
            assert_eq!(
                task.old.as_ref().and_then(TaskState::name),
                text(&body["old"])
            );
            assert_eq!(
                task.info.state,
                Some(TaskState::from_code(int(&body["info"]["state"])))
            );
            assert_eq!(
                task.new,
                task.info.state.clone().unwrap(),
                "name and number agree"
            );
            assert_eq!(task.srpm, body["srpm"]);
            assert!(task.info.is_scratch());
        }
        Event::KojiTag(tag) | Event::KojiUntag(tag) => {
            assert_eq!(tag.build_id, int(&body["build_id"]));
            assert_eq!(tag.tag.as_deref(), text(&body["tag"]));
            assert_eq!(tag.tag_id, body["tag_id"].as_i64());
            assert_eq!(tag.name, body["name"]);
            assert_eq!(tag.user.as_deref(), text(&body["user"]));
        }
        Event::CoprBuildStart(build) | Event::CoprBuildEnd(build) => {
            assert_eq!(build.build, int(&body["build"]));
            assert_eq!(build.status, CoprStatus::from_code(int(&body["status"])));
            assert_eq!(build.chroot, body["chroot"]);
            assert_eq!(build.pkg.as_deref(), text(&body["pkg"]));
            assert_eq!(build.version.as_deref(), text(&body["version"]));
            assert_eq!(build.ip.as_deref(), text(&body["ip"]));
            assert_eq!(build.owner, body["owner"]);
        }
        Event::BodhiUpdate(message) => {
            assert_eq!(
                Some(message.sub_topic.as_str()),
                topic.strip_prefix("bodhi.update.")
            );
            assert_eq!(message.update.alias, body["update"]["alias"]);
            assert_eq!(
                message.update.request.as_deref(),
                text(&body["update"]["request"])
            );
            assert_eq!(
                message.update.status.as_deref(),
                text(&body["update"]["status"])
            );
            assert_eq!(message.agent.as_deref(), text(&body["agent"]));
            let nvrs: Vec<&str> = message
                .update
                .builds
                .iter()
                .map(|b| b.nvr.as_str())
                .collect();
            let expected: Vec<&str> = body["update"]["builds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["nvr"].as_str().unwrap())
                .collect();
            assert_eq!(nvrs, expected);
        }
    }
}

/// Checks one decode result against its topic: ignored topics must be `UnknownTopic`, all others
/// the expected event with fields matching the body.
fn check(context: &str, topic: &str, result: Result<Message, DecodeError>, body: &Value) {
    if IGNORED_TOPICS.contains(&topic) {
        match result {
            Err(error @ DecodeError::UnknownTopic(_)) => assert!(error.is_ignorable()),
            other => panic!("{context}: expected UnknownTopic, got {other:?}"),
        }
        return;
    }
    let message = result.unwrap_or_else(|error| panic!("{context}: {error}"));
    assert_eq!(message.envelope.topic, topic, "{context}");
    assert_eq!(message.event.kind(), expected_kind(topic), "{context}");
    assert!(!message.event.summary().is_empty(), "{context}");
    assert_eq!(Some(&message.envelope.body), body.as_object(), "{context}");
    assert_event_matches_body(topic, &message.event, body);
}

#[test]
fn every_schema_example_decodes_to_its_topics_event() {
    let mut files = 0;
    let mut examples = 0;
    let mut packages: Vec<_> = std::fs::read_dir(format!("{FIXTURES}/schemas"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    packages.sort();
    for package in packages {
        for entry in std::fs::read_dir(&package).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(format!("{FIXTURES}/")).unwrap();
            let fixture = fixture_json(relative.to_str().unwrap());
            files += 1;
            let topic = fixture["topic"].as_str().unwrap();
            let routing_key = fixture["routing_key_prod"].as_str().unwrap();
            let severity = Severity::from_level(int(&fixture["severity"]));
            for (index, example) in fixture["examples"].as_array().unwrap().iter().enumerate() {
                examples += 1;
                let context = format!("{} example {index}", relative.display());
                let id = example["amqp_properties"]["message_id"].as_str().unwrap();
                let headers = headers_of(&example["headers"]);
                let body = &example["body"];
                let result = decode_value(routing_key, id, headers, body, PROD_PREFIX);
                if let Ok(message) = &result {
                    let envelope = &message.envelope;
                    assert_eq!(envelope.id, id, "{context}");
                    assert_eq!(envelope.routing_key, routing_key, "{context}");
                    assert_eq!(envelope.severity, severity, "{context}");
                    assert_eq!(envelope.schema.as_deref(), text(&fixture["schema_header"]));
                    assert_eq!(
                        envelope.sent_at.as_deref(),
                        Some("2026-01-01T00:00:00+00:00")
                    );
                }
                check(&context, topic, result, body);
            }
        }
    }
    assert_eq!(
        (files, examples),
        (14, 26),
        "fixture set changed: update the tests"
    );
}

#[test]
fn every_publish_all_line_decodes_to_its_topics_event() {
    let mut lines = 0;
    for (number, line) in fixture_text("schemas/publish-all.jsonl")
        .lines()
        .enumerate()
    {
        lines += 1;
        let record: Value = serde_json::from_str(line).unwrap();
        let routing_key = record["topic"].as_str().unwrap();
        let topic = routing_key
            .strip_prefix(&format!("{PROD_PREFIX}."))
            .expect("publish-all topics are prod routing keys");
        let id = record["id"].as_str().unwrap();
        let headers = headers_of(&record["headers"]);
        let body = &record["body"];
        let result = decode_value(routing_key, id, headers, body, PROD_PREFIX);
        if let Ok(message) = &result {
            assert_eq!(message.envelope.id, id);
            let severity = record["headers"]["fedora_messaging_severity"].as_i64();
            assert_eq!(Some(message.envelope.severity.level()), severity);
        }
        check(
            &format!("publish-all.jsonl line {}", number + 1),
            topic,
            result,
            body,
        );
    }
    assert_eq!(lines, 26);
}
