//! One connection to the broker: TLS identity, login, queue declaration, bindings and the consumer.

use super::BusError;
use crate::config::BusSettings;
use lapin::options::{BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, Consumer, DefaultConnectionBuilder};
use std::collections::BTreeSet;
use std::time::Duration;

pub const EXCHANGE: &str = "amq.topic";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const APP_URL: &str = "https://github.com/fedflow/fedflow";

pub struct Session {
    pub connection: Connection,
    pub channel: Channel,
    pub consumer: Consumer,
}

fn read_pem(path: &std::path::Path, key: &'static str) -> Result<Vec<u8>, BusError> {
    std::fs::read(path).map_err(|source| BusError::Credentials {
        key,
        path: path.to_owned(),
        source,
    })
}

/// The TLS settings lapin needs: extra trust roots and, when configured, the client identity.
fn tls_config(bus: &BusSettings) -> Result<OwnedTLSConfig, BusError> {
    if !bus.url.is_tls() {
        return Ok(OwnedTLSConfig::default());
    }
    let cert_chain =
        match &bus.ca_file {
            Some(path) => Some(String::from_utf8(read_pem(path, "bus.ca_file")?).map_err(
                |_| BusError::Credentials {
                    key: "bus.ca_file",
                    path: path.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "not a PEM text file",
                    ),
                },
            )?),
            None => None,
        };
    let identity = match (&bus.cert_file, &bus.key_file) {
        (Some(cert), Some(key)) => Some(OwnedIdentity::PKCS8 {
            pem: read_pem(cert, "bus.cert_file")?,
            key: read_pem(key, "bus.key_file")?,
        }),
        _ => None,
    };
    Ok(OwnedTLSConfig {
        identity,
        cert_chain,
    })
}

/// The URL to dial: with a client certificate the login is SASL EXTERNAL, as Fedora's broker requires.
fn dial_url(bus: &BusSettings) -> String {
    let url = bus.url.expose();
    if bus.uses_client_certificate() && !url.contains("auth_mechanism=") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}auth_mechanism=external")
    } else {
        url.to_owned()
    }
}

fn properties(bus: &BusSettings) -> ConnectionProperties {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let mut props = ConnectionProperties::default()
        .with_connection_name(format!("fedflow@{host}").into())
        .with_client_property("app".into(), "fedflow".into())
        .with_client_property("app_url".into(), APP_URL.into())
        .with_client_property("app_version".into(), env!("CARGO_PKG_VERSION").into());
    if let Some(email) = &bus.contact_email {
        props = props.with_client_property("app_contacts_email".into(), email.as_str().into());
    }
    props
}

/// Connects, declares the durable queue, binds `routing_keys` and starts consuming.
pub async fn open(
    bus: &BusSettings,
    queue: &str,
    routing_keys: &BTreeSet<String>,
) -> Result<Session, BusError> {
    let tls = tls_config(bus)?;
    let builder = DefaultConnectionBuilder::new()?
        .with_uri_str(dial_url(bus))
        .with_properties(properties(bus))
        .with_tls_config(tls);
    let connection = tokio::time::timeout(CONNECT_TIMEOUT, builder.connect())
        .await
        .map_err(|_| BusError::Timeout(CONNECT_TIMEOUT))??;
    let channel = connection.create_channel().await?;
    channel
        .basic_qos(bus.prefetch, BasicQosOptions { global: false })
        .await?;
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                exclusive: false,
                auto_delete: false,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    for key in routing_keys {
        bind(&channel, queue, key).await?;
    }
    let consumer = channel
        .basic_consume(
            queue.into(),
            format!("fedflow-{}", std::process::id()).into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(Session {
        connection,
        channel,
        consumer,
    })
}

pub async fn bind(channel: &Channel, queue: &str, key: &str) -> Result<(), BusError> {
    channel
        .queue_bind(
            queue.into(),
            EXCHANGE.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

pub async fn unbind(channel: &Channel, queue: &str, key: &str) -> Result<(), BusError> {
    channel
        .queue_unbind(
            queue.into(),
            EXCHANGE.into(),
            key.into(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}
