//! Reading the configuration layers in order and validating the merged result.
//!
//! Order, later wins: built-in defaults → `/usr/lib/fedflow/config.d/*.toml` → `/etc/fedflow/config.d/*.toml`
//! (each directory in file-name order) → each `--config PATH` → `FEDFLOW_<SECTION>__<KEY>` variables.

use super::auth;
use super::copr;
use super::fragment::{Fragment, PackageFragment};
use super::settings::{AmqpUrl, BusSettings, LogSettings, Settings, StateSettings};
use super::workflow::{self, PackageRule, Rejected};
use super::{
    DEFAULT_BUS_URL, DEFAULT_CA_FILE, DEFAULT_CERT_FILE, DEFAULT_KEY_FILE, DEFAULT_STATE_DIR,
    DEFAULT_TOPICS, SYSTEM_CONFIG_DIRS, credentials,
};
use config::{Config, Environment, File, FileFormat};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

const ENV_PREFIX: &str = "FEDFLOW_";

/// Everything the configuration is made from, gathered by the caller.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Drop-in directories, lowest precedence first.
    pub system_dirs: Vec<PathBuf>,
    /// `--config` files, in command-line order.
    pub config_files: Vec<PathBuf>,
    /// A snapshot of the environment; only `FEDFLOW_<SECTION>__<KEY>`, `STATE_DIRECTORY` and
    /// `CREDENTIALS_DIRECTORY` are used.
    pub env: BTreeMap<String, String>,
}

impl Inputs {
    /// The real process inputs: the system drop-in directories and the current environment.
    pub fn from_process(config_files: Vec<PathBuf>) -> Self {
        Self {
            system_dirs: SYSTEM_CONFIG_DIRS.iter().map(PathBuf::from).collect(),
            config_files,
            env: std::env::vars().collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("in {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("in environment variable {var}: {message}")]
    Environment { var: String, message: String },
    #[error("key `{key}` (from {origin}): {message}")]
    Invalid {
        key: String,
        origin: String,
        message: String,
    },
    #[error("merging configuration: {0}")]
    Merge(#[from] config::ConfigError),
}

/// Reads every layer, checks each on its own (so errors name their source), merges and validates.
pub fn load(inputs: &Inputs) -> Result<Settings, ConfigError> {
    let mut files = Vec::new();
    for dir in &inputs.system_dirs {
        files.extend(drop_in_files(dir)?);
    }
    files.extend(inputs.config_files.iter().cloned());

    let mut builder = Config::builder();
    let mut layers = Layers::default();
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let fragment = toml::from_str::<Fragment>(&text).map_err(|e| ConfigError::Parse {
            path: path.clone(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        for package in fragment.package.unwrap_or_default() {
            layers.packages.push((path.clone(), package));
        }
        if let Ok(table) = toml::from_str::<toml::Table>(&text) {
            layers.files.push((path.clone(), table));
        }
        // The text already read, not the path: one read per file, so what was checked is what is merged.
        builder = builder.add_source(File::from_str(&text, FileFormat::Toml));
    }

    let env_vars = config_env_vars(&inputs.env);
    for (var, value) in &env_vars {
        let single = Config::builder()
            .add_source(environment_source(HashMap::from([(
                var.clone(),
                value.clone(),
            )])))
            .build()
            .and_then(|c| c.try_deserialize::<Fragment>());
        single.map_err(|e| ConfigError::Environment {
            var: var.clone(),
            message: e.to_string(),
        })?;
    }
    layers.env_vars = env_vars.iter().map(|(name, _)| name.clone()).collect();
    builder = builder.add_source(environment_source(env_vars.into_iter().collect()));

    let merged = builder.build()?;
    let fragment: Fragment = merged.try_deserialize()?;
    validate(fragment, &mut layers, &inputs.env)
}

/// Which sources set which keys, to say where a rejected value came from. (`config` keeps origins too, but
/// renders file paths relative to the working directory, not as the admin wrote them.)
#[derive(Default)]
struct Layers {
    files: Vec<(PathBuf, toml::Table)>,
    env_vars: Vec<String>,
    /// `[[package]]` entries are collected from every file, not replaced by the last file's list.
    packages: Vec<(PathBuf, PackageFragment)>,
}

impl Layers {
    /// The last source, in precedence order, that set `key` (`section.name`).
    fn origin(&self, key: &str) -> String {
        let Some((section, name)) = key.split_once('.') else {
            return "built-in defaults".to_owned();
        };
        let var = format!(
            "{ENV_PREFIX}{}__{}",
            section.to_uppercase(),
            name.to_uppercase()
        );
        if self.env_vars.iter().any(|v| v.eq_ignore_ascii_case(&var)) {
            return format!("environment variable {var}");
        }
        self.files
            .iter()
            .rev()
            .find(|(_, table)| {
                table
                    .get(section)
                    .and_then(|s| s.as_table())
                    .is_some_and(|s| s.contains_key(name))
            })
            .map_or_else(
                || "built-in defaults".to_owned(),
                |(path, _)| path.display().to_string(),
            )
    }
}

/// `*.toml` files of a drop-in directory in name order; a missing directory is simply empty.
fn drop_in_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ConfigError::Read {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ConfigError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Only `FEDFLOW_<SECTION>__<KEY>` names are configuration; other `FEDFLOW_*` variables (test hooks,
/// for instance) are not ours to reject.
fn config_env_vars(env: &BTreeMap<String, String>) -> Vec<(String, String)> {
    env.iter()
        .filter(|(name, _)| {
            name.strip_prefix(ENV_PREFIX)
                .is_some_and(|rest| rest.contains("__"))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn environment_source(vars: HashMap<String, String>) -> Environment {
    Environment::with_prefix("FEDFLOW")
        .prefix_separator("_")
        .separator("__")
        .try_parsing(true)
        .list_separator(",")
        .with_list_parse_key("bus.topics")
        .with_list_parse_key("copr.projects")
        .source(Some(vars))
}

fn invalid(layers: &Layers, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        origin: layers.origin(key),
        message: message.into(),
    }
}

/// An empty string unsets an optional path or name (useful from the environment).
fn non_empty_path(path: Option<PathBuf>) -> Option<PathBuf> {
    path.filter(|p| !p.as_os_str().is_empty())
}

fn validate(
    fragment: Fragment,
    layers: &mut Layers,
    env: &BTreeMap<String, String>,
) -> Result<Settings, ConfigError> {
    let bus = fragment.bus.unwrap_or_default();
    let state = fragment.state.unwrap_or_default();
    let log = fragment.log.unwrap_or_default();

    let url = bus.url.unwrap_or_else(|| DEFAULT_BUS_URL.to_owned());
    if let Err(e) = url.parse::<lapin::uri::AMQPUri>() {
        return Err(invalid(
            layers,
            "bus.url",
            format!("expected an amqp:// or amqps:// URL, got {url:?}: {e}"),
        ));
    }
    let url = AmqpUrl::new(url);

    let ca_file = non_empty_path(Some(bus.ca_file.unwrap_or_else(|| DEFAULT_CA_FILE.into())));
    let cert_file = non_empty_path(Some(
        bus.cert_file.unwrap_or_else(|| DEFAULT_CERT_FILE.into()),
    ));
    let key_file = non_empty_path(Some(
        bus.key_file.unwrap_or_else(|| DEFAULT_KEY_FILE.into()),
    ));
    if cert_file.is_some() != key_file.is_some() {
        let key = if cert_file.is_some() {
            "bus.key_file"
        } else {
            "bus.cert_file"
        };
        return Err(invalid(
            layers,
            key,
            "expected both bus.cert_file and bus.key_file, or neither",
        ));
    }

    let queue = bus.queue.filter(|q| !q.is_empty());
    if let Some(q) = &queue
        && q.len() > 255
    {
        return Err(invalid(layers, "bus.queue", "expected at most 255 bytes"));
    }
    let topic_prefix = bus
        .topic_prefix
        .unwrap_or_else(|| "org.fedoraproject.prod".to_owned());
    let topics = bus
        .topics
        .unwrap_or_else(|| DEFAULT_TOPICS.iter().map(|t| (*t).to_owned()).collect());
    let topics: Vec<String> = topics
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let copr =
        copr::copr(fragment.copr.unwrap_or_default()).map_err(|r| from_rejected(layers, r))?;
    let topics = copr::topics_for(&copr, topics);
    if topics.is_empty() {
        return Err(invalid(
            layers,
            "bus.topics",
            "expected at least one topic (copr.* topics count only while [copr] projects is set)",
        ));
    }
    if let Some(long) = topics
        .iter()
        .find(|t| topic_prefix.len() + 1 + t.len() > 255)
    {
        return Err(invalid(
            layers,
            "bus.topics",
            format!("routing key for {long:?} exceeds 255 bytes"),
        ));
    }
    let prefetch = bus.prefetch.unwrap_or(100);
    if prefetch == 0 {
        return Err(invalid(layers, "bus.prefetch", "expected 1 to 65535"));
    }
    let max_body_bytes = bus.max_body_bytes.unwrap_or(1024 * 1024);
    if max_body_bytes == 0 {
        return Err(invalid(
            layers,
            "bus.max_body_bytes",
            "expected a positive size in bytes",
        ));
    }
    let reconnect_max_seconds = bus.reconnect_max_seconds.unwrap_or(300);
    if reconnect_max_seconds == 0 {
        return Err(invalid(
            layers,
            "bus.reconnect_max_seconds",
            "expected a positive number of seconds",
        ));
    }

    let dir = non_empty_path(state.dir)
        .or_else(|| {
            // systemd's StateDirectory= may list several paths separated by colons; ours is the first.
            env.get("STATE_DIRECTORY")
                .and_then(|v| v.split(':').next())
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| DEFAULT_STATE_DIR.into());
    let retention_days = state.retention_days.unwrap_or(7);
    if retention_days == 0 {
        return Err(invalid(
            layers,
            "state.retention_days",
            "expected at least 1 day",
        ));
    }

    let level = log.level.unwrap_or_else(|| "info".to_owned());
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&level) {
        return Err(invalid(
            layers,
            "log.level",
            format!("expected a level (error, warn, info, debug, trace) or filter directive: {e}"),
        ));
    }

    let koji = fragment.koji.unwrap_or_default();
    let kerberos = auth::KerberosDefaults::of(&koji);
    let mut settings = Settings {
        bus: BusSettings {
            url,
            ca_file,
            cert_file,
            key_file,
            queue,
            topic_prefix,
            topics,
            prefetch,
            max_body_bytes,
            reconnect_max: Duration::from_secs(reconnect_max_seconds),
            contact_email: bus.contact_email.filter(|e| !e.is_empty()),
            shard: super::shard::shard(bus.shard).map_err(|r| from_rejected(layers, r))?,
        },
        state: StateSettings {
            dir,
            retention: Duration::from_secs(u64::from(retention_days) * 86_400),
        },
        log: LogSettings { level },
        koji: workflow::koji(koji).map_err(|r| from_rejected(layers, r))?,
        distgit: workflow::distgit(fragment.distgit.unwrap_or_default())
            .map_err(|r| from_rejected(layers, r))?,
        bodhi: workflow::bodhi(fragment.bodhi.unwrap_or_default(), &kerberos)
            .map_err(|r| from_rejected(layers, r))?,
        reconcile: workflow::reconcile(fragment.reconcile.unwrap_or_default())
            .map_err(|r| from_rejected(layers, r))?,
        copr,
        http: super::http::http(fragment.http.unwrap_or_default())
            .map_err(|r| from_rejected(layers, r))?,
        packages: packages(std::mem::take(&mut layers.packages))?,
    };
    auth::one_keytab(&settings).map_err(|r| from_rejected(layers, r))?;
    credentials::resolve(
        &mut settings,
        env.get("CREDENTIALS_DIRECTORY").map(String::as_str),
    );
    Ok(settings)
}

fn from_rejected(layers: &Layers, rejected: Rejected) -> ConfigError {
    invalid(layers, &rejected.key, rejected.message)
}

/// Validates the `[[package]]` entries of all files in order; a later entry for a name replaces the earlier one.
fn packages(entries: Vec<(PathBuf, PackageFragment)>) -> Result<Vec<PackageRule>, ConfigError> {
    let mut rules: Vec<PackageRule> = Vec::new();
    for (index, (path, fragment)) in entries.into_iter().enumerate() {
        let rule = workflow::package(index, fragment).map_err(|r| ConfigError::Invalid {
            key: r.key,
            origin: path.display().to_string(),
            message: r.message,
        })?;
        rules.retain(|existing| existing.name != rule.name);
        rules.push(rule);
    }
    Ok(rules)
}
