//! Hostile and malformed input: each failure has the right `kind()`, nothing panics, checks run
//! in the documented order, and prefixes are matched exactly.

use serde_json::{Value, json};

use super::{
    BODY_LIMIT, PROD_PREFIX, STG_PREFIX, TEST_MESSAGE_ID, decode, decode_bytes, decode_value,
    koji_build_body,
};
use crate::message::{
    BuildState, CoprStatus, DecodeError, Epoch, Event, Headers, Incoming, Severity, TaskState,
};

const BUILD_TOPIC: &str = "buildsys.build.state.change";

fn kind_of(result: Result<crate::message::Message, DecodeError>) -> &'static str {
    match result {
        Ok(message) => panic!("expected an error, decoded {:?}", message.event.kind()),
        Err(error) => error.kind(),
    }
}

fn incoming<'a>(routing_key: &'a str, id: Option<&'a str>, body: &'a [u8]) -> Incoming<'a> {
    Incoming {
        routing_key,
        message_id: id,
        headers: Headers::new(),
        body,
    }
}

fn build_bytes() -> Vec<u8> {
    serde_json::to_vec(&koji_build_body()).unwrap()
}

#[test]
fn size_limit_is_checked_first_and_is_inclusive() {
    let body = build_bytes();
    let key = format!("{PROD_PREFIX}.{BUILD_TOPIC}");
    let at_limit = decode(incoming(&key, Some("id"), &body), PROD_PREFIX, body.len());
    assert!(at_limit.is_ok());
    let over = decode(
        incoming(&key, Some("id"), &body),
        PROD_PREFIX,
        body.len() - 1,
    );
    match over {
        Err(DecodeError::TooLarge { size, limit }) => {
            assert_eq!((size, limit + 1), (body.len(), body.len()))
        }
        other => panic!("{other:?}"),
    }
    // Oversized garbage without an id is still "too large": nothing else is looked at.
    let garbage = vec![0xff_u8; 11];
    assert_eq!(
        kind_of(decode(incoming("x", None, &garbage), PROD_PREFIX, 10)),
        "too_large"
    );
}

#[test]
fn message_id_is_required_and_non_blank() {
    let body = build_bytes();
    let key = format!("{PROD_PREFIX}.{BUILD_TOPIC}");
    for id in [None, Some(""), Some("   ")] {
        let result = decode(incoming(&key, id, &body), PROD_PREFIX, BODY_LIMIT);
        assert_eq!(kind_of(result), "missing_message_id", "{id:?}");
    }
    // Checked before the body: a missing id on a garbage body is still a missing id.
    let result = decode(incoming(&key, None, b"\xff"), PROD_PREFIX, BODY_LIMIT);
    assert_eq!(kind_of(result), "missing_message_id");
}

#[test]
fn undecodable_bodies_have_their_own_kinds() {
    let cases: [(&[u8], &str); 10] = [
        (b"{\"agent\": \"\xff\"}", "invalid_utf8"),
        (b"\xc3\x28", "invalid_utf8"),
        (b"", "invalid_json"),
        (b"{not json", "invalid_json"),
        (b"{\"build_id\": 1,}", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b"\"a string\"", "not_an_object"),
        (b"42", "not_an_object"),
        (b"null", "not_an_object"),
        (b"true", "not_an_object"),
    ];
    for (body, kind) in cases {
        let result = decode_bytes(BUILD_TOPIC, body);
        assert_eq!(kind_of(result), kind, "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn missing_or_mistyped_required_fields_name_the_field() {
    let mut body = koji_build_body();
    body.as_object_mut().unwrap().remove("build_id");
    let error = decode_bytes(BUILD_TOPIC, &serde_json::to_vec(&body).unwrap()).unwrap_err();
    assert_eq!(error.kind(), "missing_field");
    assert!(!error.is_ignorable());
    assert!(error.to_string().contains("build_id"), "{error}");

    let mut body = koji_build_body();
    body["build_id"] = json!("not a number");
    assert_eq!(
        kind_of(decode_bytes(
            BUILD_TOPIC,
            &serde_json::to_vec(&body).unwrap()
        )),
        "missing_field"
    );
    body["build_id"] = json!(1.5);
    assert_eq!(
        kind_of(decode_bytes(
            BUILD_TOPIC,
            &serde_json::to_vec(&body).unwrap()
        )),
        "missing_field"
    );

    for (topic, body) in [
        (
            "pagure.git.receive",
            json!({"agent": "a", "branch": "f41", "repo": {"name": "x"}}),
        ),
        (
            "copr.build.end",
            json!({"status": 1, "chroot": "c", "owner": "o", "copr": "p"}),
        ),
        (
            "bodhi.update.comment",
            json!({"agent": "a", "comment": {"text": "hi"}}),
        ),
        (
            "buildsys.tag",
            json!({"tag": "f41", "name": "n", "version": "1", "release": "1"}),
        ),
        ("git.receive", json!({"agent": "a"})),
        (
            "buildsys.task.state.change",
            json!({"id": 1, "method": "build", "new": "OPEN"}),
        ),
    ] {
        let result = decode_bytes(topic, &serde_json::to_vec(&body).unwrap());
        assert_eq!(kind_of(result), "missing_field", "{topic}");
    }
}

#[test]
fn unknown_topics_are_ignorable_but_only_after_the_body_is_valid() {
    for topic in [
        "copr.chroot.start",
        "buildsys.repo.done",
        "bodhi.update.",
        "bodhi.update.request.",
        "bodhi.update.status.testing.koji-build-group.build.complete",
        "bodhi",
        "x",
    ] {
        let error = decode_bytes(topic, b"{}").unwrap_err();
        assert_eq!(error.kind(), "unknown_topic", "{topic}");
        assert!(error.is_ignorable());
    }
    assert_eq!(
        kind_of(decode_bytes("copr.chroot.start", b"[]")),
        "not_an_object"
    );
    assert_eq!(
        kind_of(decode_bytes("copr.chroot.start", b"{")),
        "invalid_json"
    );
}

#[test]
fn only_unknown_topic_is_ignorable() {
    let errors = [
        DecodeError::TooLarge { size: 2, limit: 1 },
        DecodeError::MissingMessageId,
        DecodeError::NotAnObject,
        decode_bytes(BUILD_TOPIC, b"\xff").unwrap_err(),
        decode_bytes(BUILD_TOPIC, b"{").unwrap_err(),
        decode_bytes(BUILD_TOPIC, b"{}").unwrap_err(),
    ];
    for error in errors {
        assert!(!error.is_ignorable(), "{error}");
    }
}

#[test]
fn prefix_must_match_whole_dotted_words() {
    let body = koji_build_body();
    let stg_key = format!("{STG_PREFIX}.{BUILD_TOPIC}");
    match decode_value(
        &stg_key,
        TEST_MESSAGE_ID,
        Headers::new(),
        &body,
        PROD_PREFIX,
    ) {
        Err(DecodeError::UnknownTopic(topic)) => assert_eq!(topic, stg_key, "kept verbatim"),
        other => panic!("{other:?}"),
    }
    let message =
        decode_value(&stg_key, TEST_MESSAGE_ID, Headers::new(), &body, STG_PREFIX).unwrap();
    assert_eq!(message.envelope.topic, BUILD_TOPIC);
    assert_eq!(message.envelope.routing_key, stg_key);
    assert_eq!(message.event.kind(), "koji_build_state");

    // An empty prefix means routing keys are topics.
    let bare = decode_value(BUILD_TOPIC, TEST_MESSAGE_ID, Headers::new(), &body, "").unwrap();
    assert_eq!(bare.envelope.topic, BUILD_TOPIC);
    let prod_key = format!("{PROD_PREFIX}.{BUILD_TOPIC}");
    let result = decode_value(&prod_key, TEST_MESSAGE_ID, Headers::new(), &body, "");
    assert_eq!(kind_of(result), "unknown_topic");

    // `org.fedoraproject.production...` must not match prefix `org.fedoraproject.prod`.
    for key in [
        format!("{PROD_PREFIX}uction.{BUILD_TOPIC}"),
        PROD_PREFIX.to_owned(),
        format!("{PROD_PREFIX}."),
    ] {
        let result = decode_value(&key, TEST_MESSAGE_ID, Headers::new(), &body, PROD_PREFIX);
        assert_eq!(kind_of(result), "unknown_topic", "{key}");
    }
}

#[test]
fn unknown_state_numbers_and_names_still_decode() {
    let mut body = koji_build_body();
    body["new"] = json!(99);
    body["old"] = json!(1.0);
    let Event::KojiBuildState(build) =
        decode_bytes(BUILD_TOPIC, &serde_json::to_vec(&body).unwrap())
            .unwrap()
            .event
    else {
        panic!()
    };
    assert_eq!(
        (build.old, build.new),
        (Some(BuildState::Complete), BuildState::Other(99))
    );
    assert_eq!(build.new.code(), 99);

    let copr = json!({"status": 42, "chroot": "c", "build": 7.0, "owner": "o", "copr": "p",
                      "pkg": null, "version": null, "user": null, "what": "w", "ip": null,
                      "who": "w", "pid": 1});
    let Event::CoprBuildEnd(build) =
        decode_bytes("copr.build.end", &serde_json::to_vec(&copr).unwrap())
            .unwrap()
            .event
    else {
        panic!()
    };
    assert_eq!((build.status, build.build), (CoprStatus::Other(42), 7));
    assert_eq!(CoprStatus::from_code(1000), CoprStatus::Unknown);

    assert_eq!(TaskState::from_name("closed"), TaskState::Closed);
    assert_eq!(
        TaskState::from_name("WEIRD"),
        TaskState::OtherName("WEIRD".into())
    );
    assert_eq!(TaskState::from_code(17), TaskState::OtherCode(17));
    assert_eq!(TaskState::from_code(-1), TaskState::OtherCode(-1));
}

#[test]
fn epoch_may_be_null_integer_or_string() {
    for (epoch, expected) in [
        (Value::Null, None),
        (json!(2), Some(Epoch::Number(2))),
        (json!("3"), Some(Epoch::Text("3".into()))),
    ] {
        let mut body = koji_build_body();
        body["epoch"] = epoch;
        let Event::KojiBuildState(build) =
            decode_bytes(BUILD_TOPIC, &serde_json::to_vec(&body).unwrap())
                .unwrap()
                .event
        else {
            panic!()
        };
        assert_eq!(build.epoch, expected);
    }
}

#[test]
fn severity_header_is_read_leniently() {
    let cases = [
        (None, Severity::Info),
        (Some(json!(10)), Severity::Debug),
        (Some(json!(30.0)), Severity::Warning),
        (Some(json!(" 40 ")), Severity::Error),
        (Some(json!(15)), Severity::Other(15)),
        (Some(json!("loud")), Severity::Info),
        (Some(json!(true)), Severity::Info),
    ];
    for (header, expected) in cases {
        let mut headers = Headers::new();
        if let Some(value) = header.clone() {
            headers.insert("fedora_messaging_severity".into(), value);
        }
        let key = format!("{PROD_PREFIX}.{BUILD_TOPIC}");
        let message = decode_value(
            &key,
            TEST_MESSAGE_ID,
            headers,
            &koji_build_body(),
            PROD_PREFIX,
        )
        .unwrap();
        assert_eq!(message.envelope.severity, expected, "{header:?}");
    }
    assert_eq!(Severity::Other(15).level(), 15);
}

#[test]
fn legacy_msg_wrapper_is_accepted_and_reports_outer_errors() {
    let copr = json!({"status": 1, "chroot": "fedora-41-x86_64", "build": 5, "owner": "o",
                      "copr": "p", "pkg": "foo", "version": "1-1", "user": "u", "what": "w",
                      "ip": null, "who": "w", "pid": 1});
    let wrapped = json!({"topic": "org.fedoraproject.prod.copr.build.end", "msg": copr});
    let message = decode_bytes("copr.build.end", &serde_json::to_vec(&wrapped).unwrap()).unwrap();
    assert_eq!(message.event.package(), Some("foo"));
    assert_eq!(message.envelope.body, *wrapped.as_object().unwrap());

    let broken = json!({"msg": {"status": 1}});
    let error = decode_bytes("copr.build.end", &serde_json::to_vec(&broken).unwrap()).unwrap_err();
    assert_eq!(error.kind(), "missing_field");
    assert!(
        error.to_string().contains("status"),
        "reports the outer body: {error}"
    );
}

#[test]
fn bodhi_comment_nests_the_update() {
    let body = json!({"agent": "bob", "comment": {"text": "works", "karma": 1, "update": {
        "alias": "FEDORA-2024-0123456789", "builds": [{"nvr": "foo-1.0-1.fc41"}],
        "release": {"name": "F41"}, "request": null, "status": "testing", "user": {"name": "al"}}}});
    let event = decode_bytes("bodhi.update.comment", &serde_json::to_vec(&body).unwrap())
        .unwrap()
        .event;
    assert_eq!(event.package(), Some("foo"));
    let Event::BodhiUpdate(message) = event else {
        panic!()
    };
    assert_eq!(
        (message.sub_topic.as_str(), message.agent.as_deref()),
        ("comment", Some("bob"))
    );
}

#[test]
fn truncated_and_corrupted_bodies_never_panic() {
    let body = build_bytes();
    for end in 0..body.len() {
        let _ = decode_bytes(BUILD_TOPIC, body.get(..end).unwrap_or_default());
    }
    for position in (0..body.len()).step_by(7) {
        for replacement in [b'"', b'{', b'}', b'0', 0xff] {
            let mut corrupted = body.clone();
            corrupted[position] = replacement;
            let _ = decode_bytes(BUILD_TOPIC, &corrupted);
        }
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        kind_of(decode_bytes(BUILD_TOPIC, deep.as_bytes())),
        "invalid_json"
    );
}
