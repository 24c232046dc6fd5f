//! Settings of the build workflow: Koji, dist-git, Bodhi, the reconciler and the central `[[package]]` rules,
//! and their validation. Kept apart from the bus and state settings in `settings.rs`/`load.rs`.

use super::auth::non_empty;
pub use super::auth::{BodhiAuthSettings, KojiAuthSettings};
use super::fragment::{
    BodhiFragment, BodhiUpdateFragment, DistGitFragment, KojiBuildFragment, KojiFragment,
    PackageFragment, ReconcileFragment,
};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_KOJI_HUB: &str = "https://koji.fedoraproject.org/kojihub";
pub const DEFAULT_KOJI_WEB: &str = "https://koji.fedoraproject.org/koji";
pub const DEFAULT_DISTGIT_URL: &str = "https://src.fedoraproject.org";
pub const DEFAULT_BODHI_URL: &str = "https://bodhi.fedoraproject.org";
pub const DEFAULT_OIDC_ISSUER: &str = "https://id.fedoraproject.org/openidc";
pub const DEFAULT_BODHI_CLIENT_ID: &str = "bodhi-client";
/// `.packit.yaml` files larger than this are refused unread.
pub const MAX_PACKIT_CONFIG_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KojiSettings {
    pub hub: String,
    pub weburl: String,
    #[serde(flatten)]
    pub auth: KojiAuthSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Build submissions (and their idempotency checks) running at once.
    pub max_in_flight: u32,
    #[serde(rename = "timeout_seconds", serialize_with = "as_seconds")]
    pub timeout: Duration,
    /// Cap of the backoff between attempts of a failing remote step.
    #[serde(rename = "retry_max_seconds", serialize_with = "as_seconds")]
    pub retry_max: Duration,
    /// Attempts of one remote step before the pipeline fails.
    pub max_attempts: u32,
    /// Branch → target overrides of the built-in rule.
    pub targets: BTreeMap<String, String>,
}

impl KojiSettings {
    /// The target a branch builds in: an override, else `rawhide` for the default branch and
    /// `<branch>-candidate` for the others (Packit's and fedpkg's rule).
    pub fn target_for(&self, branch: &str) -> String {
        if let Some(target) = self.targets.get(branch) {
            return target.clone();
        }
        match branch {
            "rawhide" | "main" | "master" => "rawhide".to_owned(),
            other => format!("{other}-candidate"),
        }
    }

    /// The branch a target builds (the inverse of [`Self::target_for`]): an override's branch, else the target
    /// without `-candidate` (`rawhide` stays `rawhide`).
    pub fn branch_of_target(&self, target: &str) -> String {
        if let Some((branch, _)) = self.targets.iter().find(|(_, t)| t.as_str() == target) {
            return branch.clone();
        }
        target
            .strip_suffix("-candidate")
            .unwrap_or(target)
            .to_owned()
    }

    pub fn task_url(&self, task_id: i64) -> String {
        format!(
            "{}/taskinfo?taskID={task_id}",
            self.weburl.trim_end_matches('/')
        )
    }
}

/// Where a package's `.packit.yaml` is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigSource {
    /// The default branch only (Packit's behaviour).
    DefaultBranch,
    /// The pushed commit only.
    PushedBranch,
    /// The default branch, else the pushed commit (packit-service#3139).
    DefaultThenPushed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistGitSettings {
    pub url: String,
    pub config_source: ConfigSource,
    /// Package-name globs whose `.packit.yaml` is honoured; `["*"]` for all, empty for none.
    pub honour_packit_yaml: Vec<String>,
    #[serde(rename = "config_cache_hours", serialize_with = "as_hours")]
    pub config_cache: Duration,
    #[serde(rename = "timeout_seconds", serialize_with = "as_seconds")]
    pub timeout: Duration,
}

impl DistGitSettings {
    pub fn honours_packit_yaml(&self, package: &str) -> bool {
        self.honour_packit_yaml
            .iter()
            .any(|pattern| glob_matches(pattern, package))
    }

    /// The source URL Koji builds from: the exact pushed commit.
    pub fn source_url(&self, package: &str, commit: &str) -> String {
        let base = self.url.trim_end_matches('/');
        let base = base.strip_prefix("https://").map_or_else(
            || format!("git+{base}"),
            |host| format!("git+https://{host}"),
        );
        format!("{base}/rpms/{package}.git#{commit}")
    }

    /// The commit's page on dist-git (Pagure's `/c/<commit>`).
    pub fn commit_url(&self, package: &str, commit: &str) -> String {
        format!(
            "{}/rpms/{package}/c/{commit}",
            self.url.trim_end_matches('/')
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BodhiSettings {
    pub url: String,
    #[serde(flatten)]
    pub auth: BodhiAuthSettings,
    /// The OpenID Connect provider that issues Bodhi's tokens.
    pub oidc_issuer: String,
    pub client_id: String,
    /// How long a build may take to reach the release's candidate tag before its update is given up.
    #[serde(rename = "tag_wait_minutes", serialize_with = "as_minutes")]
    pub tag_wait: Duration,
    /// How long after the build Bodhi's automatic update must exist (releases Bodhi does not compose).
    #[serde(
        rename = "automatic_update_check_minutes",
        serialize_with = "as_minutes"
    )]
    pub automatic_update_check: Duration,
    #[serde(rename = "releases_cache_hours", serialize_with = "as_hours")]
    pub releases_cache: Duration,
    #[serde(rename = "timeout_seconds", serialize_with = "as_seconds")]
    pub timeout: Duration,
}

impl BodhiSettings {
    /// The update's page on Bodhi.
    pub fn update_url(&self, alias: &str) -> String {
        format!("{}/updates/{alias}", self.url.trim_end_matches('/'))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReconcileSettings {
    /// A pipeline waiting on Koji this long without news is polled.
    #[serde(rename = "after_minutes", serialize_with = "as_minutes")]
    pub after: Duration,
    #[serde(rename = "interval_seconds", serialize_with = "as_seconds")]
    pub interval: Duration,
}

/// A central `[[package]]` rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageRule {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub koji_build: Option<KojiBuildRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bodhi_update: Option<BodhiUpdateRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KojiBuildRule {
    /// Branch names or aliases (`fedora-all`, `epel-9`, ...), resolved at decision time.
    pub branches: Vec<String>,
    pub allowed_committers: Vec<String>,
    pub allowed_pr_authors: Vec<String>,
    pub scratch: bool,
    pub require_spec_change: bool,
}

impl KojiBuildRule {
    /// Defaults of an empty `[package.koji_build]` table: Packit's `koji_build` defaults.
    pub fn packit_defaults() -> Self {
        Self {
            branches: vec!["rawhide".to_owned()],
            allowed_committers: Vec::new(),
            allowed_pr_authors: vec!["packit".to_owned()],
            scratch: false,
            require_spec_change: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct BodhiUpdateRule {
    pub branches: Vec<String>,
    pub allowed_builders: Vec<String>,
    #[serde(rename = "type")]
    pub update_type: String,
    pub severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stable_karma: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unstable_karma: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autokarma: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autotime: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stable_days: Option<i64>,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl BodhiUpdateRule {
    /// Defaults of an empty `[package.bodhi_update]` table and of a `.packit.yaml` `bodhi_update` job:
    /// Packit's, except that builders default to fedflow's own builds (an empty list).
    pub fn packit_defaults() -> Self {
        Self {
            branches: vec!["fedora-stable".to_owned()],
            allowed_builders: Vec::new(),
            update_type: "enhancement".to_owned(),
            severity: "unspecified".to_owned(),
            stable_karma: None,
            unstable_karma: None,
            autokarma: None,
            autotime: None,
            stable_days: None,
            extra: serde_json::Map::new(),
        }
    }
}

/// A rejected workflow value: the key and what was expected (the caller adds where it came from).
pub(super) struct Rejected {
    pub key: String,
    pub message: String,
}

pub(super) fn rejected(key: impl Into<String>, message: impl Into<String>) -> Rejected {
    Rejected {
        key: key.into(),
        message: message.into(),
    }
}

pub(super) type Checked<T> = Result<T, Rejected>;

pub(super) fn http_url(key: &str, value: Option<String>, default: &str) -> Checked<String> {
    let url = value.unwrap_or_else(|| default.to_owned());
    let url = url.trim_end_matches('/').to_owned();
    match reqwest::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(url),
        _ => Err(rejected(
            key,
            format!("expected an http:// or https:// URL, got {url:?}"),
        )),
    }
}

fn positive_seconds(key: &str, value: Option<u64>, default: u64) -> Checked<Duration> {
    match value.unwrap_or(default) {
        0 => Err(rejected(key, "expected a positive number")),
        n => Ok(Duration::from_secs(n)),
    }
}

pub(super) fn koji(fragment: KojiFragment) -> Checked<KojiSettings> {
    let auth = super::auth::koji(&fragment)?;
    let hub = http_url("koji.hub", fragment.hub, DEFAULT_KOJI_HUB)?;
    let weburl = http_url("koji.weburl", fragment.weburl, DEFAULT_KOJI_WEB)?;
    let max_in_flight = fragment.max_in_flight.unwrap_or(4);
    if max_in_flight == 0 {
        return Err(rejected("koji.max_in_flight", "expected at least 1"));
    }
    let max_attempts = fragment.max_attempts.unwrap_or(8);
    if max_attempts == 0 {
        return Err(rejected("koji.max_attempts", "expected at least 1"));
    }
    let targets = fragment.targets.unwrap_or_default();
    if let Some((branch, _)) = targets.iter().find(|(_, target)| target.trim().is_empty()) {
        return Err(rejected(
            format!("koji.targets.{branch}"),
            "expected a Koji target name",
        ));
    }
    Ok(KojiSettings {
        hub,
        weburl,
        auth,
        ca_file: non_empty(fragment.ca_file),
        max_in_flight,
        timeout: positive_seconds("koji.timeout_seconds", fragment.timeout_seconds, 60)?,
        retry_max: positive_seconds("koji.retry_max_seconds", fragment.retry_max_seconds, 600)?,
        max_attempts,
        targets,
    })
}

pub(super) fn distgit(fragment: DistGitFragment) -> Checked<DistGitSettings> {
    let config_source = match fragment
        .config_source
        .as_deref()
        .unwrap_or("default-then-pushed")
    {
        "default-branch" => ConfigSource::DefaultBranch,
        "pushed-branch" => ConfigSource::PushedBranch,
        "default-then-pushed" => ConfigSource::DefaultThenPushed,
        other => {
            return Err(rejected(
                "distgit.config_source",
                format!(
                    "expected \"default-branch\", \"pushed-branch\" or \"default-then-pushed\", got {other:?}"
                ),
            ));
        }
    };
    let honour_packit_yaml: Vec<String> = fragment
        .honour_packit_yaml
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    Ok(DistGitSettings {
        url: http_url("distgit.url", fragment.url, DEFAULT_DISTGIT_URL)?,
        config_source,
        honour_packit_yaml,
        config_cache: positive_seconds(
            "distgit.config_cache_hours",
            fragment.config_cache_hours,
            24,
        )? * 3600,
        timeout: positive_seconds("distgit.timeout_seconds", fragment.timeout_seconds, 30)?,
    })
}

pub(super) fn bodhi(
    fragment: BodhiFragment,
    kerberos: &super::auth::KerberosDefaults,
) -> Checked<BodhiSettings> {
    let auth = super::auth::bodhi(&fragment, kerberos)?;
    let client_id = fragment
        .client_id
        .unwrap_or_else(|| DEFAULT_BODHI_CLIENT_ID.to_owned());
    if client_id.trim().is_empty() {
        return Err(rejected("bodhi.client_id", "expected an OIDC client id"));
    }
    Ok(BodhiSettings {
        url: http_url("bodhi.url", fragment.url, DEFAULT_BODHI_URL)?,
        auth,
        oidc_issuer: http_url(
            "bodhi.oidc_issuer",
            fragment.oidc_issuer,
            DEFAULT_OIDC_ISSUER,
        )?,
        client_id,
        tag_wait: positive_seconds("bodhi.tag_wait_minutes", fragment.tag_wait_minutes, 120)? * 60,
        // 0 is allowed: check as soon as the build completed (Bodhi creates the update within seconds of
        // the tag).
        automatic_update_check: Duration::from_secs(
            fragment
                .automatic_update_check_minutes
                .unwrap_or(60)
                .saturating_mul(60),
        ),
        releases_cache: positive_seconds(
            "bodhi.releases_cache_hours",
            fragment.releases_cache_hours,
            12,
        )? * 3600,
        timeout: positive_seconds("bodhi.timeout_seconds", fragment.timeout_seconds, 30)?,
    })
}

pub(super) fn reconcile(fragment: ReconcileFragment) -> Checked<ReconcileSettings> {
    Ok(ReconcileSettings {
        // 0 is allowed: poll every waiting pipeline at each interval.
        after: Duration::from_secs(fragment.after_minutes.unwrap_or(30).saturating_mul(60)),
        interval: positive_seconds("reconcile.interval_seconds", fragment.interval_seconds, 300)?,
    })
}

/// Validates one `[[package]]` entry; `index` counts entries across all files, for the error's key.
pub(super) fn package(index: usize, fragment: PackageFragment) -> Checked<PackageRule> {
    let key = |name: &str| format!("package[{index}].{name}");
    let name = fragment
        .name
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    if !is_package_name(&name) {
        return Err(rejected(
            key("name"),
            format!("expected a dist-git package name (letters, digits, `-._+`), got {name:?}"),
        ));
    }
    let koji_build = fragment.koji_build.map(koji_build_rule);
    let bodhi_update = fragment
        .bodhi_update
        .map(|b| bodhi_update_rule(b).map_err(|(field, message)| rejected(key(&field), message)))
        .transpose()?;
    Ok(PackageRule {
        name,
        koji_build,
        bodhi_update,
    })
}

fn koji_build_rule(fragment: KojiBuildFragment) -> KojiBuildRule {
    let defaults = KojiBuildRule::packit_defaults();
    KojiBuildRule {
        branches: fragment.branches.unwrap_or(defaults.branches),
        allowed_committers: fragment
            .allowed_committers
            .unwrap_or(defaults.allowed_committers),
        allowed_pr_authors: fragment
            .allowed_pr_authors
            .unwrap_or(defaults.allowed_pr_authors),
        scratch: fragment.scratch.unwrap_or(defaults.scratch),
        require_spec_change: fragment
            .require_spec_change
            .unwrap_or(defaults.require_spec_change),
    }
}

fn bodhi_update_rule(fragment: BodhiUpdateFragment) -> Result<BodhiUpdateRule, (String, String)> {
    const TYPES: &[&str] = &[
        "bugfix",
        "security",
        "newpackage",
        "enhancement",
        "unspecified",
    ];
    const SEVERITIES: &[&str] = &["unspecified", "urgent", "high", "medium", "low"];
    let defaults = BodhiUpdateRule::packit_defaults();
    let update_type = fragment.update_type.unwrap_or(defaults.update_type);
    if !TYPES.contains(&update_type.as_str()) {
        return Err((
            "bodhi_update.type".to_owned(),
            format!("expected one of {TYPES:?}, got {update_type:?}"),
        ));
    }
    let severity = fragment.severity.unwrap_or(defaults.severity);
    if !SEVERITIES.contains(&severity.as_str()) {
        return Err((
            "bodhi_update.severity".to_owned(),
            format!("expected one of {SEVERITIES:?}, got {severity:?}"),
        ));
    }
    Ok(BodhiUpdateRule {
        branches: fragment.branches.unwrap_or(defaults.branches),
        allowed_builders: fragment
            .allowed_builders
            .unwrap_or(defaults.allowed_builders),
        update_type,
        severity,
        stable_karma: fragment.stable_karma,
        unstable_karma: fragment.unstable_karma,
        autokarma: fragment.autokarma,
        autotime: fragment.autotime,
        stable_days: fragment.stable_days,
        extra: fragment.extra.unwrap_or_default(),
    })
}

/// Dist-git package names: what Fedora's package naming guidelines allow, and nothing that could
/// escape a URL path.
pub fn is_package_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+'))
}

/// Shell-style glob of package names: `*` any run of characters, `?` one character.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    fn matches(pattern: &[u8], name: &[u8]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some((b'*', rest)) => (0..=name.len()).any(|skip| matches(rest, &name[skip..])),
            Some((b'?', rest)) => !name.is_empty() && matches(rest, &name[1..]),
            Some((c, rest)) => name.first() == Some(c) && matches(rest, &name[1..]),
        }
    }
    matches(pattern.as_bytes(), name.as_bytes())
}

fn as_seconds<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(value.as_secs())
}

fn as_minutes<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(value.as_secs() / 60)
}

fn as_hours<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(value.as_secs() / 3600)
}
