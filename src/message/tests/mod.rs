//! Tests for [`super::decode`]: every shared fixture (schema examples, the publish-all file,
//! packit-service recordings), hostile input, and prefix handling. Fixture loading lives here.

mod bad_input;
mod packit;
mod schemas;
mod semantics;

use serde_json::Value;

use super::{DecodeError, Headers, Incoming, Message, decode_received};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const PROD_PREFIX: &str = "org.fedoraproject.prod";
const STG_PREFIX: &str = "org.fedoraproject.stg";
const BODY_LIMIT: usize = 1 << 20;
const TEST_MESSAGE_ID: &str = "00000000-0000-4000-8000-000000000000";

fn fixture_text(relative: &str) -> String {
    let path = format!("{FIXTURES}/{relative}");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"))
}

fn fixture_json(relative: &str) -> Value {
    serde_json::from_str(&fixture_text(relative))
        .unwrap_or_else(|error| panic!("parsing {relative}: {error}"))
}

fn headers_of(value: &Value) -> Headers {
    value
        .as_object()
        .map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// [`super::decode`], checked against [`decode_received`] on the same input: the consume path's shortcut
/// must give the same id, topic, `sent-at` and event, or the same error, for everything these tests feed in.
fn decode(incoming: Incoming<'_>, prefix: &str, limit: usize) -> Result<Message, DecodeError> {
    let received = decode_received(incoming.clone(), prefix, limit);
    let decoded = super::decode(incoming, prefix, limit);
    match (&decoded, &received) {
        (Ok(message), Ok(received)) => {
            assert_eq!(received.id, message.envelope.id);
            assert_eq!(received.topic, message.envelope.topic);
            assert_eq!(received.sent_at, message.envelope.sent_at);
            assert_eq!(received.event, message.event);
        }
        (Err(full), Err(received)) => assert_eq!(received.to_string(), full.to_string()),
        _ => panic!("decode gave {decoded:?} but decode_received {received:?}"),
    }
    decoded
}

/// Decodes a JSON body as it would arrive: serialized, with the given routing key and prefix.
fn decode_value(
    routing_key: &str,
    message_id: &str,
    headers: Headers,
    body: &Value,
    prefix: &str,
) -> Result<Message, DecodeError> {
    let bytes = serde_json::to_vec(body).expect("serializing a test body");
    decode(
        Incoming {
            routing_key,
            message_id: Some(message_id),
            headers,
            body: &bytes,
        },
        prefix,
        BODY_LIMIT,
    )
}

/// Decodes raw bytes on a prod routing key with no headers.
fn decode_bytes(topic: &str, body: &[u8]) -> Result<Message, DecodeError> {
    let routing_key = format!("{PROD_PREFIX}.{topic}");
    decode(
        Incoming {
            routing_key: &routing_key,
            message_id: Some(TEST_MESSAGE_ID),
            headers: Headers::new(),
            body,
        },
        PROD_PREFIX,
        BODY_LIMIT,
    )
}

/// One example of `schemas/<file>`, decoded on its prod routing key.
fn schema_example(file: &str, index: usize) -> Message {
    let fixture = fixture_json(&format!("schemas/{file}"));
    let routing_key = fixture["routing_key_prod"]
        .as_str()
        .expect("routing_key_prod");
    let example = &fixture["examples"][index];
    let id = example["amqp_properties"]["message_id"]
        .as_str()
        .expect("message_id");
    decode_value(
        routing_key,
        id,
        headers_of(&example["headers"]),
        &example["body"],
        PROD_PREFIX,
    )
    .unwrap_or_else(|error| panic!("{file} example {index}: {error}"))
}

/// A valid `buildsys.build.state.change` body to mutate in negative tests.
fn koji_build_body() -> Value {
    let fixture =
        fixture_json("schemas/koji-fedoramessaging-messages/buildsys.build.state.change.json");
    fixture["examples"][0]["body"].clone()
}
