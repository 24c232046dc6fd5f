//! The on-disk shape of one configuration source: every key optional, unknown keys refused.
//!
//! Each file (and the environment) is parsed into a [`Fragment`] on its own first, so an error can name the
//! source it came from; the merged result of all sources is then turned into validated
//! [`Settings`](super::Settings) by [`super::load`].

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fragment {
    pub bus: Option<BusFragment>,
    pub state: Option<StateFragment>,
    pub log: Option<LogFragment>,
    pub koji: Option<KojiFragment>,
    pub distgit: Option<DistGitFragment>,
    pub bodhi: Option<BodhiFragment>,
    pub reconcile: Option<ReconcileFragment>,
    pub copr: Option<CoprFragment>,
    pub http: Option<HttpFragment>,
    pub package: Option<Vec<PackageFragment>>,
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
    pub shard: Option<String>,
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KojiFragment {
    pub hub: Option<String>,
    pub weburl: Option<String>,
    pub auth: Option<String>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub principal: Option<String>,
    pub keytab: Option<PathBuf>,
    pub max_in_flight: Option<u32>,
    pub timeout_seconds: Option<u64>,
    pub retry_max_seconds: Option<u64>,
    pub max_attempts: Option<u32>,
    pub targets: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistGitFragment {
    pub url: Option<String>,
    pub config_source: Option<String>,
    pub honour_packit_yaml: Option<Vec<String>>,
    pub config_cache_hours: Option<u64>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodhiFragment {
    pub url: Option<String>,
    pub auth: Option<String>,
    pub token_file: Option<PathBuf>,
    pub principal: Option<String>,
    pub keytab: Option<PathBuf>,
    pub oidc_issuer: Option<String>,
    pub client_id: Option<String>,
    pub tag_wait_minutes: Option<u64>,
    pub automatic_update_check_minutes: Option<u64>,
    pub releases_cache_hours: Option<u64>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileFragment {
    pub after_minutes: Option<u64>,
    pub interval_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoprFragment {
    pub projects: Option<Vec<String>>,
    pub url: Option<String>,
    pub results_url: Option<String>,
    pub keep_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpFragment {
    pub listen: Option<String>,
}

/// One `[[package]]` entry of the central configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageFragment {
    pub name: Option<String>,
    pub koji_build: Option<KojiBuildFragment>,
    pub bodhi_update: Option<BodhiUpdateFragment>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KojiBuildFragment {
    pub branches: Option<Vec<String>>,
    pub allowed_committers: Option<Vec<String>>,
    pub allowed_pr_authors: Option<Vec<String>>,
    pub scratch: Option<bool>,
    pub require_spec_change: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodhiUpdateFragment {
    pub branches: Option<Vec<String>>,
    pub allowed_builders: Option<Vec<String>>,
    #[serde(rename = "type")]
    pub update_type: Option<String>,
    pub severity: Option<String>,
    pub stable_karma: Option<i64>,
    pub unstable_karma: Option<i64>,
    pub autokarma: Option<bool>,
    pub autotime: Option<bool>,
    pub stable_days: Option<i64>,
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}
