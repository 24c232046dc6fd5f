//! AMQP client helpers for tests: connecting (plain, or TLS with SASL EXTERNAL), publishing
//! messages the way fedora-messaging/pika puts them on the wire, queue set-up and inspection,
//! receiving deliveries, and per-test topic prefixes. Re-exports the fixtures.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_lite::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::types::{AMQPValue, FieldArray, FieldTable, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, Consumer,
    DefaultConnectionBuilder, ErrorKind,
};
use serde_json::{Map, Value};

use super::broker::Broker;
pub use super::fixtures::{FixtureMessage, PROD_TOPIC_PREFIX, fixture_messages, python_json_dumps};

/// How long [`next_delivery`] waits; generous because CI machines stall.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn connect_plain(url: &str) -> Connection {
    Connection::connect(url, ConnectionProperties::default())
        .await
        .unwrap_or_else(|error| panic!("connect to {url}: {error}"))
}

/// TLS to the node's AMQPS port as `fedflow-test` (client certificate, SASL EXTERNAL),
/// trusting the node's CA.
pub async fn connect_tls(broker: &Broker) -> Connection {
    connect_tls_trusting(broker, &broker.certs().ca_file)
        .await
        .unwrap_or_else(|error| panic!("connect to {}: {error}", broker.amqps_url()))
}

/// Like [`connect_tls`] but trusting every CA in the PEM file `ca_file`; returns the error so
/// tests can check that a wrong trust anchor is refused.
pub async fn connect_tls_trusting(broker: &Broker, ca_file: &Path) -> lapin::Result<Connection> {
    let certs = broker.certs();
    let read = |path: &Path| fs::read(path).unwrap_or_else(|e| panic!("read {path:?}: {e}"));
    let tls_config = OwnedTLSConfig {
        identity: Some(OwnedIdentity::PKCS8 {
            pem: read(&certs.client_cert_file),
            key: read(&certs.client_key_file),
        }),
        cert_chain: Some(String::from_utf8(read(ca_file)).expect("PEM files are ASCII")),
    };
    DefaultConnectionBuilder::new()?
        .with_uri_str(format!("{}?auth_mechanism=external", broker.amqps_url()))
        .with_tls_config(tls_config)
        .connect()
        .await
}

/// Publishes to `amq.topic` like fedora-messaging: persistent, `application/json`, with
/// publisher confirms awaited for every message.
pub struct Publisher {
    channel: Channel,
}

impl Publisher {
    pub async fn new(connection: &Connection) -> Publisher {
        let channel = connection
            .create_channel()
            .await
            .expect("open a publisher channel");
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("enable publisher confirms");
        Publisher { channel }
    }

    /// The confirm-mode channel, for callers that pipeline their own publishes.
    // Only the benchmark (which shares this module) pipelines; the tests await each confirm.
    #[allow(dead_code)]
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Returns once the broker has confirmed the message (panics on a nack).
    pub async fn publish(
        &self,
        routing_key: &str,
        message_id: Option<&str>,
        headers: &Map<String, Value>,
        body: &[u8],
    ) {
        self.publish_with_priority(routing_key, message_id, headers, body, None)
            .await;
    }

    /// Publishes `fixture` under `prefix` (instead of `org.fedoraproject.prod`) with its id,
    /// headers, priority and a Python-`json.dumps`-formatted body; returns the routing key.
    pub async fn publish_fixture(&self, fixture: &FixtureMessage, prefix: &str) -> String {
        let routing_key = fixture.routing_key_with_prefix(prefix);
        self.publish_with_priority(
            &routing_key,
            Some(&fixture.id),
            &fixture.headers,
            &python_json_dumps(&fixture.body),
            fixture.priority,
        )
        .await;
        routing_key
    }

    async fn publish_with_priority(
        &self,
        routing_key: &str,
        message_id: Option<&str>,
        headers: &Map<String, Value>,
        body: &[u8],
        priority: Option<u8>,
    ) {
        let mut properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_content_encoding("utf-8".into())
            .with_delivery_mode(2)
            .with_headers(amqp_headers_from_json(headers));
        if let Some(message_id) = message_id {
            properties = properties.with_message_id(message_id.into());
        }
        if let Some(priority) = priority {
            properties = properties.with_priority(priority);
        }
        let confirmation = self
            .channel
            .basic_publish(
                "amq.topic".into(),
                ShortString::try_new(routing_key).expect("routing keys are at most 255 bytes"),
                BasicPublishOptions::default(),
                body,
                properties,
            )
            .await
            .expect("send basic.publish")
            .await
            .expect("receive the publisher confirm");
        assert!(
            matches!(confirmation, Confirmation::Ack(_)),
            "broker did not ack the message to {routing_key}: {confirmation:?}"
        );
    }
}

/// JSON headers as pika encodes them: str → long string, bool → boolean, int → int32 (int64
/// when it does not fit), float → double, null → void, object → table, array → array.
pub fn amqp_headers_from_json(headers: &Map<String, Value>) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in headers {
        let key = ShortString::try_new(key.as_str()).expect("header names are at most 255 bytes");
        table.insert(key, amqp_value_from_json(value));
    }
    table
}

fn amqp_value_from_json(value: &Value) -> AMQPValue {
    match value {
        Value::Null => AMQPValue::Void,
        Value::Bool(flag) => AMQPValue::Boolean(*flag),
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(int), _) => match i32::try_from(int) {
                Ok(small) => AMQPValue::LongInt(small),
                Err(_) => AMQPValue::LongLongInt(int),
            },
            (None, Some(float)) if !number.is_u64() => AMQPValue::Double(float),
            _ => panic!("header integer {number} does not fit an AMQP signed 64-bit integer"),
        },
        Value::String(text) => AMQPValue::LongString(text.as_str().into()),
        Value::Array(items) => AMQPValue::FieldArray(FieldArray::from(
            items.iter().map(amqp_value_from_json).collect::<Vec<_>>(),
        )),
        Value::Object(map) => AMQPValue::FieldTable(amqp_headers_from_json(map)),
    }
}

/// `Some((messages ready, consumers))` of `queue`, `None` when it does not exist. Uses a passive
/// declare on a channel of its own, because a missing queue makes the broker close the channel.
pub async fn queue_counts(connection: &Connection, queue: &str) -> Option<(u32, u32)> {
    let channel = connection
        .create_channel()
        .await
        .expect("open a channel for a passive queue.declare");
    let declared = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions::default().passive(),
            FieldTable::default(),
        )
        .await;
    match declared {
        Ok(queue_state) => {
            let _ = channel.close(200, "OK".into()).await;
            Some((queue_state.message_count(), queue_state.consumer_count()))
        }
        Err(error) => match error.kind() {
            ErrorKind::ProtocolError(amqp_error)
                if matches!(
                    amqp_error.kind(),
                    AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND)
                ) =>
            {
                None
            }
            _ => panic!("passive queue.declare of {queue} failed: {error}"),
        },
    }
}

/// A topic prefix no other test (or earlier run against a shared external broker) uses, e.g.
/// `org.fedoraproject.t1a2b00031f0e9c2d`.
pub fn unique_prefix() -> String {
    static PREFIXES_HANDED_OUT: AtomicU32 = AtomicU32::new(0);
    format!(
        "org.fedoraproject.t{:x}{:04x}{:08x}",
        std::process::id(),
        PREFIXES_HANDED_OUT.fetch_add(1, Ordering::Relaxed),
        fastrand::u32(..)
    )
}

/// A durable queue named by a fresh UUID (as Fedora requires), bound to `amq.topic` with
/// `binding_key` (e.g. `<prefix>.#`).
pub async fn declare_bound_queue(channel: &Channel, binding_key: &str) -> String {
    let queue = uuid::Uuid::new_v4().to_string();
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .expect("declare the test queue");
    channel
        .queue_bind(
            queue.as_str().into(),
            "amq.topic".into(),
            binding_key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind the test queue");
    queue
}

/// A manual-ack consumer with a server-generated tag.
pub async fn consume(channel: &Channel, queue: &str) -> Consumer {
    channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap_or_else(|error| panic!("consume from {queue}: {error}"))
}

/// The next delivery of `consumer` within [`DELIVERY_TIMEOUT`], already acked.
pub async fn next_delivery(consumer: &mut Consumer) -> Delivery {
    let delivery = tokio::time::timeout(DELIVERY_TIMEOUT, consumer.next())
        .await
        .expect("a delivery within the timeout")
        .expect("the consumer stream is open")
        .expect("a delivery, not an error");
    delivery
        .acker
        .ack(BasicAckOptions::default())
        .await
        .expect("ack the delivery");
    delivery
}

/// The AMQP value of header `name` of `delivery` (panics when it is missing).
pub fn header<'a>(delivery: &'a Delivery, name: &str) -> &'a AMQPValue {
    delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get(name))
        .unwrap_or_else(|| panic!("header {name} missing"))
}
