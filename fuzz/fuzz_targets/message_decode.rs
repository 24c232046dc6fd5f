//! Fuzzes `fedflow::message::decode`: the envelope checks and, through a topic chosen by the first
//! byte, every event decoder. Input layout (see `fuzz/README.md`, `fuzz/make_seeds.py` writes seeds in it):
//!
//! | bytes | meaning |
//! |---|---|
//! | 1 | topic: `TOPICS[b % (TOPICS.len() + 1)]`, the last choice takes the raw routing key below |
//! | 1 | flags: bit 0 no message id, bit 1 blank message id, bit 2 empty topic prefix, bit 3 64-byte body limit |
//! | 1 + n | raw routing key: length n, then n bytes (lossy UTF-8) |
//! | 2 + n | headers: length n (u16 LE), then n bytes of JSON; anything but an object means no headers |
//! | rest | body |
//!
//! Missing parts are empty. Invariants: decode never panics; an accepted message's event kind is the one
//! its topic routes to, its envelope keeps the id and the stripped topic, and it survives a JSON round trip
//! (work items carrying events are stored as JSON); refusals come in the documented order.
#![no_main]

use std::collections::BTreeMap;

use fedflow::message::{DecodeError, Headers, Incoming, Message, decode};
use libfuzzer_sys::fuzz_target;

const PREFIX: &str = "org.fedoraproject.prod";
const MESSAGE_ID: &str = "2c5e4a7b-0e5f-4a55-9d0e-6c1f3b9a8d21";
const SMALL_LIMIT: usize = 64;
const LIMIT: usize = 1024 * 1024;

/// Every topic fedflow routes, with the event kind it must decode to, and topics bound by the default
/// configuration (`bodhi.update.#`, Copr's) that carry no event fedflow reads.
const TOPICS: &[(&str, Option<&str>)] = &[
    ("pagure.git.receive", Some("distgit_push")),
    ("git.receive", Some("git_commit")),
    ("buildsys.build.state.change", Some("koji_build_state")),
    ("buildsys.task.state.change", Some("koji_task_state")),
    ("buildsys.tag", Some("koji_tag")),
    ("buildsys.untag", Some("koji_untag")),
    ("copr.build.start", Some("copr_build_start")),
    ("copr.build.end", Some("copr_build_end")),
    ("bodhi.update.request.testing", Some("bodhi_update")),
    ("bodhi.update.request.stable", Some("bodhi_update")),
    ("bodhi.update.request.obsolete", Some("bodhi_update")),
    ("bodhi.update.complete.testing", Some("bodhi_update")),
    ("bodhi.update.complete.stable", Some("bodhi_update")),
    ("bodhi.update.comment", Some("bodhi_update")),
    ("bodhi.update.edit", Some("bodhi_update")),
    ("bodhi.update.eject", Some("bodhi_update")),
    ("bodhi.update.karma.threshold.reach", Some("bodhi_update")),
    ("bodhi.update.requirements_met.stable", Some("bodhi_update")),
    ("bodhi.update.request.", None),
    (
        "bodhi.update.status.testing.koji-build.group.test.complete",
        None,
    ),
    ("buildsys.repo.done", None),
    ("copr.chroot.start", None),
];

/// The fuzzer's bytes, split into a delivery.
struct Delivery {
    routing_key: String,
    message_id: Option<&'static str>,
    prefix: &'static str,
    limit: usize,
    headers: Headers,
    body: Vec<u8>,
}

fn split(data: &[u8]) -> Delivery {
    let mut rest = data;
    let selector = take(&mut rest, 1).first().copied().unwrap_or(0);
    let flags = take(&mut rest, 1).first().copied().unwrap_or(0);
    let raw_len = take(&mut rest, 1).first().copied().unwrap_or(0);
    let raw_key = String::from_utf8_lossy(take(&mut rest, usize::from(raw_len))).into_owned();
    let header_len = match take(&mut rest, 2) {
        [low, high] => u16::from_le_bytes([*low, *high]),
        _ => 0,
    };
    let headers = serde_json::from_slice(take(&mut rest, usize::from(header_len)))
        .unwrap_or_else(|_| BTreeMap::new());
    let prefix = if flags & 0b100 == 0 { PREFIX } else { "" };
    let routing_key = match TOPICS.get(usize::from(selector) % (TOPICS.len() + 1)) {
        Some((topic, _)) if prefix.is_empty() => (*topic).to_owned(),
        Some((topic, _)) => format!("{prefix}.{topic}"),
        None => raw_key,
    };
    let message_id = match flags & 0b11 {
        0 => Some(MESSAGE_ID),
        0b10 => Some(" \t"),
        _ => None,
    };
    let limit = if flags & 0b1000 == 0 {
        LIMIT
    } else {
        SMALL_LIMIT
    };
    Delivery {
        routing_key,
        message_id,
        prefix,
        limit,
        headers,
        body: rest.to_vec(),
    }
}

/// The first `n` bytes of `rest` (fewer at its end), advancing it.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = rest.split_at(n.min(rest.len()));
    *rest = tail;
    head
}

fn expected_kind(topic: &str) -> Option<Option<&'static str>> {
    TOPICS
        .iter()
        .find(|(known, _)| *known == topic)
        .map(|(_, kind)| *kind)
}

fn check_accepted(delivery: &Delivery, message: &Message) {
    let envelope = &message.envelope;
    assert_eq!(Some(envelope.id.as_str()), delivery.message_id);
    assert_eq!(envelope.routing_key, delivery.routing_key);
    assert!(delivery.body.len() <= delivery.limit);
    let kind = message.event.kind();
    match expected_kind(&envelope.topic) {
        Some(expected) => assert_eq!(Some(kind), expected, "topic {}", envelope.topic),
        // A raw routing key can name a Bodhi update topic the table does not list (`request.<any>`).
        None => assert!(
            envelope.topic.starts_with("bodhi.update.") && kind == "bodhi_update",
            "topic {} decoded as {kind}",
            envelope.topic
        ),
    }
    let _ = (message.event.package(), message.event.summary());
    let stored = serde_json::to_vec(message).expect("a decoded message serializes");
    let restored: Message = serde_json::from_slice(&stored).expect("a stored message reads back");
    assert_eq!(restored.event.kind(), kind);
    assert_eq!(restored.event.summary(), message.event.summary());
}

fn check_refused(delivery: &Delivery, error: &DecodeError) {
    let too_large = delivery.body.len() > delivery.limit;
    assert_eq!(matches!(error, DecodeError::TooLarge { .. }), too_large);
    if too_large {
        return;
    }
    assert_eq!(
        matches!(error, DecodeError::MissingMessageId),
        delivery.message_id.is_none_or(|id| id.trim().is_empty())
    );
    if let DecodeError::UnknownTopic(topic) = error {
        assert!(
            !matches!(expected_kind(topic), Some(Some(_))),
            "routed topic {topic} refused as unknown"
        );
    }
    assert!(!error.kind().is_empty());
    assert!(!error.to_string().is_empty());
}

fuzz_target!(|data: &[u8]| {
    let delivery = split(data);
    let incoming = Incoming {
        routing_key: &delivery.routing_key,
        message_id: delivery.message_id,
        headers: delivery.headers.clone(),
        body: &delivery.body,
    };
    match decode(incoming, delivery.prefix, delivery.limit) {
        Ok(message) => check_accepted(&delivery, &message),
        Err(error) => check_refused(&delivery, &error),
    }
});
