//! The on-disk shape of one configuration source: every key optional, unknown keys refused.
//!
//! Each file (and the environment) is parsed into a [`Fragment`] on its own first, so an error can name the
//! source it came from; the merged result of all sources is then turned into validated
//! [`Settings`](super::Settings) by [`super::load`].

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fragment {
    pub bus: Option<BusFragment>,
    pub state: Option<StateFragment>,
    pub log: Option<LogFragment>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusFragment {
    pub url: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub queue: Option<String>,
    pub topic_prefix: Option<String>,
    pub topics: Option<Vec<String>>,
    pub prefetch: Option<u16>,
    pub max_body_bytes: Option<u64>,
    pub reconnect_max_seconds: Option<u64>,
    pub contact_email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFragment {
    pub dir: Option<PathBuf>,
    pub retention_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFragment {
    pub level: Option<String>,
}
