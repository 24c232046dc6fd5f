//! What defines one private node: its name and free ports, the files it boots from inside its
//! temp dir (rabbitmq.conf, definitions, plugins, Erlang cookie), and the environment that
//! points `rabbitmq-server` and `rabbitmqctl` at them instead of the system node's files.

use std::env;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::certs::{CLIENT_COMMON_NAME, Certs};

/// `rabbitmqctl` binds its own distribution port in this range; a node must not take one.
const CLI_DIST_PORTS: std::ops::RangeInclusive<u16> = 35672..=35682;
/// Temp dirs are named `fedflow-it-broker-<test binary pid>-<node number>-<random>`.
const TEMP_DIR_PREFIX: &str = "fedflow-it-broker-";

pub struct NodeSpec {
    /// `fedflowtest-<pid>-<n>@localhost`: unique per test binary and per node in it.
    pub node_name: String,
    pub amqp_port: u16,
    pub amqps_port: u16,
    pub dist_port: u16,
    /// Prefix for the node's temp dir, so a later run can tell whose dir it is.
    pub temp_dir_prefix: String,
}

impl NodeSpec {
    pub fn allocate() -> NodeSpec {
        static NODES_ALLOCATED: AtomicU32 = AtomicU32::new(0);
        let node_number = NODES_ALLOCATED.fetch_add(1, Ordering::Relaxed);
        let test_binary_pid = std::process::id();
        let [amqp_port, amqps_port, dist_port] = free_ports();
        NodeSpec {
            node_name: format!("fedflowtest-{test_binary_pid}-{node_number}@localhost"),
            amqp_port,
            amqps_port,
            dist_port,
            temp_dir_prefix: format!("{TEMP_DIR_PREFIX}{test_binary_pid}-{node_number}-"),
        }
    }

    /// Where the node writes the `beam.smp` pid (removed again on a graceful stop).
    pub fn pid_file(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.pid", self.node_name))
    }

    pub fn write_files(&self, dir: &Path, certs: &Certs) {
        let home = dir.join("home");
        fs::create_dir_all(&home).expect("create the node's HOME");
        fs::create_dir_all(dir.join("conf.d")).expect("create the empty conf.d");
        // The node refuses a cookie readable by others, and fails when it must create one.
        let cookie: String = (0..20).map(|_| fastrand::uppercase()).collect();
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(home.join(".erlang.cookie"))
            .and_then(|mut file| file.write_all(cookie.as_bytes()))
            .expect("write the Erlang cookie");
        File::create(dir.join("rabbitmq-env.conf")).expect("write an empty rabbitmq-env.conf");
        fs::write(
            dir.join("enabled_plugins"),
            "[rabbitmq_auth_mechanism_ssl].\n",
        )
        .expect("write enabled_plugins");

        // Loaded before the listeners open, so no rabbitmqctl round-trips are needed. With
        // definitions the node seeds no default user or vhost: both are listed here.
        let definitions_file = dir.join("definitions.json");
        let all = ".*";
        let definitions = serde_json::json!({
            "users": [
                // Password hash of `guest`: base64(salt ‖ SHA-256(salt ‖ "guest")), zero salt.
                {"name": "guest", "password_hash": "AAAAAPEoQ8a3jY6DABRiJzkoKooQbXiBp2iGLke7d+FVKzJx",
                 "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]},
                // No password: this user can only log in with EXTERNAL (its client certificate).
                {"name": CLIENT_COMMON_NAME, "password_hash": "",
                 "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}
            ],
            "vhosts": [{"name": "/"}],
            "permissions": [
                {"user": "guest", "vhost": "/", "configure": all, "write": all, "read": all},
                {"user": CLIENT_COMMON_NAME, "vhost": "/", "configure": all, "write": all, "read": all}
            ]
        });
        fs::write(&definitions_file, definitions.to_string()).expect("write definitions.json");

        let config = format!(
            "listeners.tcp.default = 127.0.0.1:{amqp_port}\n\
             listeners.ssl.default = 127.0.0.1:{amqps_port}\n\
             ssl_options.cacertfile = {ca}\n\
             ssl_options.certfile = {server_cert}\n\
             ssl_options.keyfile = {server_key}\n\
             ssl_options.verify = verify_peer\n\
             ssl_options.fail_if_no_peer_cert = true\n\
             auth_mechanisms.1 = PLAIN\n\
             auth_mechanisms.2 = AMQPLAIN\n\
             auth_mechanisms.3 = EXTERNAL\n\
             ssl_cert_login_from = common_name\n\
             load_definitions = {definitions}\n",
            amqp_port = self.amqp_port,
            amqps_port = self.amqps_port,
            ca = certs.ca_file.display(),
            server_cert = certs.server_cert_file.display(),
            server_key = certs.server_key_file.display(),
            definitions = definitions_file.display(),
        );
        fs::write(dir.join("rabbitmq.conf"), config).expect("write rabbitmq.conf");
    }

    /// The environment of the launcher and of `rabbitmqctl` for this node.
    pub fn set_env(&self, command: &mut Command, dir: &Path) {
        for (name, _) in env::vars_os() {
            let inherited_rabbitmq_setting = name.to_string_lossy().starts_with("RABBITMQ_");
            // With NOTIFY_SOCKET the launcher switches to systemd mode and execs the VM.
            if inherited_rabbitmq_setting || name == "NOTIFY_SOCKET" {
                command.env_remove(name);
            }
        }
        let path = |name: &str| dir.join(name).into_os_string();
        command
            .env("HOME", path("home"))
            .env("RABBITMQ_NODENAME", &self.node_name)
            .env("RABBITMQ_NODE_PORT", self.amqp_port.to_string())
            // Required: the default (NODE_PORT + 20000) may be the system node's 25672.
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", path("mnesia"))
            .env("RABBITMQ_LOG_BASE", path("log"))
            .env("RABBITMQ_PID_FILE", self.pid_file(dir))
            .env("RABBITMQ_CONFIG_FILE", path("rabbitmq.conf"))
            .env("RABBITMQ_CONFIG_FILES", dir.join("conf.d").join("*.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", path("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins"))
            .env("RABBITMQ_CONF_ENV_FILE", path("rabbitmq-env.conf"))
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                // The VM ignores the unknown `-fedflow_test_node` flag; it puts the node name on
                // the beam.smp command line, so `pgrep -f <node name>` finds a leaked node.
                format!(
                    "-kernel inet_dist_use_interface {{127,0,0,1}} -fedflow_test_node {}",
                    self.node_name
                ),
            );
    }
}

/// Removes node dirs left in the temp dir by test binaries that crashed (their nodes died with
/// them through PR_SET_PDEATHSIG, but nothing in a crashed binary removes the dir).
pub fn remove_dirs_of_dead_test_binaries() {
    let Ok(entries) = fs::read_dir(env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner_pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(TEMP_DIR_PREFIX))
            .and_then(|rest| {
                let mut parts = rest.splitn(3, '-');
                let pid = parts.next()?;
                let node_number = parts.next()?;
                let _random = parts.next()?;
                [pid, node_number]
                    .iter()
                    .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                    .then_some(pid)
            })
        else {
            continue;
        };
        if !Path::new("/proc").join(owner_pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Distinct free ports: all listeners are held open at once, then closed for the node to take.
fn free_ports<const N: usize>() -> [u16; N] {
    loop {
        let listeners: [TcpListener; N] = std::array::from_fn(|_| {
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free local port")
        });
        let ports = listeners.each_ref().map(|listener| {
            listener
                .local_addr()
                .expect("read the bound local port")
                .port()
        });
        if !ports.iter().any(|port| CLI_DIST_PORTS.contains(port)) {
            return ports;
        }
    }
}
