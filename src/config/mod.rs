//! Configuration: layered TOML sources and the environment, merged and validated into [`Settings`].
//!
//! Settings are plain data. Nothing in here reads the process environment on its own: the caller hands
//! over an [`Inputs`] value holding the file lists and the environment snapshot, so tests can build any
//! combination without touching the real process.

mod auth;
mod copr;
mod credentials;
mod fragment;
mod http;
mod load;
mod settings;
mod shard;
mod workflow;

pub use copr::{COPR_TOPICS, CoprSettings, DEFAULT_COPR_URL, is_copr_topic};
pub use http::{DEFAULT_HTTP_LISTEN, HttpSettings};
pub use load::{ConfigError, Inputs, load};
pub use settings::{AmqpUrl, BusSettings, LogSettings, Settings, StateSettings};
pub use shard::{MAX_SHARDS, Shard, ShardError, fnv1a_64};
pub use workflow::{
    BodhiAuthSettings, BodhiSettings, BodhiUpdateRule, ConfigSource, DistGitSettings,
    KojiAuthSettings, KojiBuildRule, KojiSettings, MAX_PACKIT_CONFIG_BYTES, PackageRule,
    ReconcileSettings, glob_matches, is_package_name,
};

/// The topics fedflow binds by default: everything the pipeline features consume. Copr's
/// ([`COPR_TOPICS`]) are added while `[copr] projects` tracks something.
pub const DEFAULT_TOPICS: &[&str] = &[
    "pagure.git.receive",
    "git.receive",
    "buildsys.build.state.change",
    "buildsys.task.state.change",
    "buildsys.tag",
    "buildsys.untag",
    "bodhi.update.#",
];

/// Fedora's read-only public mirror of the bus; it wants a client certificate and SASL EXTERNAL.
pub const DEFAULT_BUS_URL: &str = "amqps://rabbitmq.fedoraproject.org/%2Fpublic_pubsub";
pub const DEFAULT_CA_FILE: &str = "/etc/fedora-messaging/cacert.pem";
pub const DEFAULT_CERT_FILE: &str = "/etc/fedora-messaging/fedora-cert.pem";
pub const DEFAULT_KEY_FILE: &str = "/etc/fedora-messaging/fedora-key.pem";
pub const DEFAULT_STATE_DIR: &str = "/var/lib/fedflow";
pub const SYSTEM_CONFIG_DIRS: &[&str] = &["/usr/lib/fedflow/config.d", "/etc/fedflow/config.d"];

#[cfg(test)]
mod auth_tests;
#[cfg(test)]
mod tests;
