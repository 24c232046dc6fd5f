//! The message envelope (id, topic, headers, severity, raw body), the decode pipeline that turns an
//! [`Incoming`] delivery into a [`Message`], and the errors that decide ack versus reject.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::{self, Event};
use super::{Headers, Incoming, Message};

const SCHEMA_HEADER: &str = "fedora_messaging_schema";
const SEVERITY_HEADER: &str = "fedora_messaging_severity";
const SENT_AT_HEADER: &str = "sent-at";

/// fedora-messaging's `sent-at` header (`2019-07-30T19:12:22+00:00`) as a time, `None` when it does not parse.
pub fn parse_sent_at(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// Everything about a message except its typed meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// AMQP `message_id`; not parsed as a UUID because fedmsg-bridged ids look like `2019-<uuid>`.
    pub id: String,
    pub routing_key: String,
    /// Routing key with `<prefix>.` stripped; verbatim when the prefix is empty or does not match.
    pub topic: String,
    /// The `sent-at` header exactly as sent (ISO-8601, seconds precision).
    pub sent_at: Option<String>,
    /// The `fedora_messaging_schema` header; informational only, never used for dispatch.
    pub schema: Option<String>,
    pub severity: Severity,
    pub headers: Headers,
    /// The body as received. A legacy `{"msg": {...}}` wrapper is kept here, unwrapped only for the event.
    pub body: serde_json::Map<String, Value>,
}

/// fedora-messaging severity levels (Python `logging` numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "i64", into = "i64")]
pub enum Severity {
    Debug,
    Info,
    Warning,
    Error,
    Other(i64),
}

impl Severity {
    pub fn from_level(level: i64) -> Self {
        match level {
            10 => Self::Debug,
            20 => Self::Info,
            30 => Self::Warning,
            40 => Self::Error,
            other => Self::Other(other),
        }
    }

    pub fn level(self) -> i64 {
        match self {
            Self::Debug => 10,
            Self::Info => 20,
            Self::Warning => 30,
            Self::Error => 40,
            Self::Other(level) => level,
        }
    }

    /// Reads the severity header. Missing or unreadable means INFO, as in fedora-messaging: a
    /// malformed severity is no reason to drop an otherwise valid message.
    pub fn from_header(value: Option<&Value>) -> Self {
        value
            .and_then(level_of)
            .map_or(Self::Info, Self::from_level)
    }
}

impl From<i64> for Severity {
    fn from(level: i64) -> Self {
        Self::from_level(level)
    }
}

impl From<Severity> for i64 {
    fn from(severity: Severity) -> Self {
        severity.level()
    }
}

fn level_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().and_then(integral_f64)),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn integral_f64(value: f64) -> Option<i64> {
    // The upper bound is exclusive because i64::MAX rounds up to 2^63 as f64.
    let in_range = value >= i64::MIN as f64 && value < i64::MAX as f64;
    (value.fract() == 0.0 && in_range).then_some(value as i64)
}

/// Why a delivery could not become a [`Message`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("body is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("message has no message_id")]
    MissingMessageId,
    #[error("body is not UTF-8: {0}")]
    InvalidUtf8(#[source] std::str::Utf8Error),
    #[error("body is not JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    #[error("body is JSON but not an object")]
    NotAnObject,
    /// A required field is missing, null, or of the wrong type; serde's message names the field.
    #[error("invalid {topic} body: {source}")]
    InvalidEvent {
        topic: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("no event type for topic {0}")]
    UnknownTopic(String),
}

impl DecodeError {
    /// Stable snake_case label for metrics and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::MissingMessageId => "missing_message_id",
            Self::InvalidUtf8(_) => "invalid_utf8",
            Self::InvalidJson(_) => "invalid_json",
            Self::NotAnObject => "not_an_object",
            Self::InvalidEvent { .. } => "missing_field",
            Self::UnknownTopic(_) => "unknown_topic",
        }
    }

    /// True only for [`DecodeError::UnknownTopic`]: those messages are acked and ignored, every
    /// other error is rejected without requeue (redelivering a malformed body cannot fix it).
    pub fn is_ignorable(&self) -> bool {
        matches!(self, Self::UnknownTopic(_))
    }
}

/// Decodes a delivery and routes it by topic (never by the schema header).
///
/// Checks run in this order, cheapest and most fundamental first:
/// 1. body size against `max_body_bytes`, before anything looks at the bytes;
/// 2. message id present and non-blank (deduplication keys on it);
/// 3. body is UTF-8; 4. body is JSON; 5. the JSON is an object;
/// 6. topic is one fedflow knows (`UnknownTopic` otherwise);
/// 7. the typed fields of that topic's event.
///
/// Unknown topics are checked after the body so that a garbage body is always rejected, even on a
/// topic that would otherwise be acked and ignored.
pub fn decode(
    incoming: Incoming<'_>,
    topic_prefix: &str,
    max_body_bytes: usize,
) -> Result<Message, DecodeError> {
    let (id, text) = checked_id_and_text(&incoming, max_body_bytes)?;
    let value: Value = serde_json::from_str(text).map_err(DecodeError::InvalidJson)?;
    let Value::Object(body) = value else {
        return Err(DecodeError::NotAnObject);
    };

    let topic = strip_topic_prefix(incoming.routing_key, topic_prefix);
    let event = events::decode_event(topic, &body)?;

    let headers = incoming.headers;
    let envelope = Envelope {
        id: id.to_owned(),
        routing_key: incoming.routing_key.to_owned(),
        topic: topic.to_owned(),
        sent_at: string_header(&headers, SENT_AT_HEADER),
        schema: string_header(&headers, SCHEMA_HEADER),
        severity: Severity::from_header(headers.get(SEVERITY_HEADER)),
        headers,
        body,
    };
    Ok(Message { envelope, event })
}

/// What the store keeps of a message: its id, topic, `sent-at` and meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub id: String,
    /// Routing key with the prefix stripped, as in [`Envelope::topic`].
    pub topic: String,
    pub sent_at: Option<String>,
    pub event: Event,
}

/// [`decode`] for the consume path, which keeps neither body nor headers: the same checks in the same order
/// and the same errors, but a body that reads straight into its topic's event type skips the generic JSON
/// tree, which is most of the decoding cost.
pub fn decode_received(
    incoming: Incoming<'_>,
    topic_prefix: &str,
    max_body_bytes: usize,
) -> Result<Received, DecodeError> {
    let (id, text) = checked_id_and_text(&incoming, max_body_bytes)?;
    let topic = strip_topic_prefix(incoming.routing_key, topic_prefix);
    if let Some(event) = events::decode_event_text(topic, text) {
        return Ok(Received {
            id: id.to_owned(),
            topic: topic.to_owned(),
            sent_at: string_header(&incoming.headers, SENT_AT_HEADER),
            event,
        });
    }
    // Anything else (an error to classify, a legacy wrapper) goes the way `decode` reads it.
    let Message { envelope, event } = decode(incoming, topic_prefix, max_body_bytes)?;
    Ok(Received {
        id: envelope.id,
        topic: envelope.topic,
        sent_at: envelope.sent_at,
        event,
    })
}

/// Checks 1 to 3 of [`decode`]: the size, the message id and UTF-8.
fn checked_id_and_text<'a>(
    incoming: &Incoming<'a>,
    max_body_bytes: usize,
) -> Result<(&'a str, &'a str), DecodeError> {
    let size = incoming.body.len();
    if size > max_body_bytes {
        return Err(DecodeError::TooLarge {
            size,
            limit: max_body_bytes,
        });
    }
    let id = incoming
        .message_id
        .filter(|id| !id.trim().is_empty())
        .ok_or(DecodeError::MissingMessageId)?;
    let text = std::str::from_utf8(incoming.body).map_err(DecodeError::InvalidUtf8)?;
    Ok((id, text))
}

/// `org.fedoraproject.prod.buildsys.tag` with prefix `org.fedoraproject.prod` gives `buildsys.tag`.
/// A routing key from another prefix stays whole, so it cannot be mistaken for one of ours.
pub fn strip_topic_prefix<'k>(routing_key: &'k str, prefix: &str) -> &'k str {
    if prefix.is_empty() {
        return routing_key;
    }
    routing_key
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('.'))
        .filter(|topic| !topic.is_empty())
        .unwrap_or(routing_key)
}

fn string_header(headers: &Headers, name: &str) -> Option<String> {
    headers.get(name).and_then(Value::as_str).map(str::to_owned)
}
