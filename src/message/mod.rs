//! The fedora-messaging wire format and the typed events fedflow acts on.
//!
//! This module owns everything between "bytes arrived on a routing key" and "a typed [`Event`]":
//! the envelope (id, topic, headers, severity), the per-topic body structs, the decode error
//! taxonomy the consumer uses to ack or reject, and the conversion of AMQP header tables.
//! It does no I/O; the `bus` module feeds it [`Incoming`] values (see [`incoming_from_delivery`]).
//!
//! Dispatch is by topic only. The `fedora_messaging_schema` header is kept for logging, but Koji
//! re-publishes bodies that fail its own schema as `base.message`, so it cannot be trusted.

mod amqp;
mod bodhi;
mod copr;
mod distgit;
mod envelope;
mod events;
mod koji;
mod koji_states;
mod lenient;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use amqp::{headers_from_amqp, incoming_from_delivery};
pub use bodhi::{BodhiBuild, BodhiRelease, BodhiUpdate, BodhiUpdateMessage, BodhiUser};
pub use copr::{CoprBuild, CoprStatus};
pub use distgit::{DistGitPush, GitCommit, GitCommitDetail, PagureAuthor, PagureRepo};
pub use envelope::{
    DecodeError, Envelope, Received, Severity, decode, decode_received, parse_sent_at,
    strip_topic_prefix,
};
pub use events::Event;
pub use koji::{
    Epoch, KojiBuildStateChange, KojiTagChange, KojiTaskInfo, KojiTaskStateChange, ScmSource,
};
pub use koji_states::{BuildState, TaskState};

/// AMQP headers as JSON values, keyed by header name.
pub type Headers = BTreeMap<String, serde_json::Value>;

/// What arrived on the wire, independent of lapin (so fuzzers and tests can drive [`decode`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming<'a> {
    /// Full routing key, prefix included (e.g. `org.fedoraproject.prod.buildsys.tag`).
    pub routing_key: &'a str,
    /// The AMQP `message_id` property; fedora-messaging always sets it.
    pub message_id: Option<&'a str>,
    pub headers: Headers,
    pub body: &'a [u8],
}

/// A decoded delivery: what was sent, and what it means.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub envelope: Envelope,
    pub event: Event,
}
