//! Validated settings: the plain data the rest of fedflow runs on.

use super::copr::CoprSettings;
use super::workflow::{
    BodhiSettings, DistGitSettings, KojiSettings, PackageRule, ReconcileSettings,
};
use serde::{Serialize, Serializer};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub bus: BusSettings,
    pub state: StateSettings,
    pub log: LogSettings,
    pub koji: KojiSettings,
    pub distgit: DistGitSettings,
    pub bodhi: BodhiSettings,
    pub reconcile: ReconcileSettings,
    pub copr: CoprSettings,
    pub http: super::http::HttpSettings,
    /// Central `[[package]]` rules, from all files (a later entry for the same name replaces an earlier one).
    #[serde(rename = "package")]
    pub packages: Vec<PackageRule>,
}

impl Settings {
    pub fn package(&self, name: &str) -> Option<&PackageRule> {
        self.packages.iter().find(|rule| rule.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusSettings {
    pub url: AmqpUrl,
    /// Extra trust roots (PEM, may hold several certificates); only used with `amqps://`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM); with `key_file` it switches the login to SASL EXTERNAL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Fixed queue name; `None` means a UUID generated once and kept in the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    pub topic_prefix: String,
    pub topics: Vec<String>,
    pub prefetch: u16,
    pub max_body_bytes: u64,
    #[serde(rename = "reconnect_max_seconds", serialize_with = "as_seconds")]
    pub reconnect_max: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// The packages this instance acts on (`"i/N"`); messages about the others are only recorded.
    pub shard: super::Shard,
}

impl BusSettings {
    /// Routing keys to bind on `amq.topic`: each topic under the configured prefix.
    pub fn routing_keys(&self) -> Vec<String> {
        self.topics
            .iter()
            .map(|topic| {
                if self.topic_prefix.is_empty() {
                    topic.clone()
                } else {
                    format!("{}.{}", self.topic_prefix, topic)
                }
            })
            .collect()
    }

    /// Whether the TLS client identity (and therefore SASL EXTERNAL) is in use.
    pub fn uses_client_certificate(&self) -> bool {
        self.url.is_tls() && self.cert_file.is_some() && self.key_file.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateSettings {
    pub dir: PathBuf,
    #[serde(rename = "retention_days", serialize_with = "as_days")]
    pub retention: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogSettings {
    /// A tracing `EnvFilter` directive such as `info` or `fedflow=debug,lapin=warn`.
    pub level: String,
}

/// A broker URL. It may carry a password, so `Display` and `Serialize` mask it; only the bus module
/// asks for the real value.
#[derive(Clone, PartialEq)]
pub struct AmqpUrl(String);

impl AmqpUrl {
    pub(crate) fn new(raw: String) -> Self {
        Self(raw)
    }

    /// The URL as configured, password included: for connecting only, never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_tls(&self) -> bool {
        self.0.starts_with("amqps://")
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return self.0.clone();
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, password)) if !password.is_empty() => {
                    format!("{scheme}://{user}:***@{host}{tail}")
                }
                _ => self.0.clone(),
            },
            None => self.0.clone(),
        }
    }
}

impl fmt::Display for AmqpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for AmqpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AmqpUrl({})", self.redacted())
    }
}

impl Serialize for AmqpUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

fn as_seconds<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(value.as_secs())
}

pub(super) fn as_days<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(value.as_secs() / 86_400)
}
