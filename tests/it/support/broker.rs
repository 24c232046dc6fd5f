//! Private throwaway RabbitMQ 3.10 nodes for the integration tests (recipe:
//! shared/reference/testing.md): each [`Broker`] owns a temp dir, a node name, free AMQP, AMQPS
//! and dist ports, its certificates, and the `rabbitmq-server` launcher process. [`shared`] is the
//! one node per test binary that most tests use, isolated from each other by topic prefixes.

use std::env;
use std::fs::{self, OpenOptions};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::certs::Certs;
use super::node_spec::{self, NodeSpec};
use super::process::{self, POLL_INTERVAL};

const RABBITMQ_SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const RABBITMQCTL: &str = "/usr/lib/rabbitmq/bin/rabbitmqctl";
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// When set, [`SharedBroker::plain_url`] returns it instead of starting a private node.
pub const PLAIN_URL_ENV: &str = "FEDFLOW_TEST_AMQP_URL";

/// One private RabbitMQ node. Dropping it stops the node and removes its directory.
pub struct Broker {
    spec: NodeSpec,
    certs: Certs,
    /// `None` only while the node is stopped inside [`Broker::restart`] or after shutdown.
    launcher: Mutex<Option<Child>>,
    dir: TempDir,
}

impl Broker {
    /// Starts a fresh node and blocks until both listeners accept connections (~5 s).
    pub fn start() -> Broker {
        assert!(
            Path::new(RABBITMQ_SERVER).exists(),
            "rabbitmq-server is not installed: run `sudo apt-get install rabbitmq-server` \
             (Debian/Ubuntu) or `sudo dnf install rabbitmq-server` (Fedora)"
        );
        node_spec::remove_dirs_of_dead_test_binaries();
        let spec = NodeSpec::allocate();
        let dir = tempfile::Builder::new()
            .prefix(&spec.temp_dir_prefix)
            .tempdir()
            .expect("create the node's temp dir");
        let generating_at = Instant::now();
        let certs = Certs::generate(&dir.path().join("certs"));
        let certificates_took = generating_at.elapsed();
        spec.write_files(dir.path(), &certs);

        // Built before the launch so that a failed boot still stops the node and removes the dir.
        let broker = Broker {
            spec,
            certs,
            launcher: Mutex::new(None),
            dir,
        };
        let started_at = Instant::now();
        broker.launch_and_wait_until_ready();
        eprintln!(
            "[it] RabbitMQ node {} ready in {:.2?} after {:.2?} of certificates \
             (amqp {}, amqps {}, dist {}, dir {})",
            broker.spec.node_name,
            started_at.elapsed(),
            certificates_took,
            broker.spec.amqp_port,
            broker.spec.amqps_port,
            broker.spec.dist_port,
            broker.dir.path().display()
        );
        broker
    }

    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2F", self.spec.amqp_port)
    }

    /// Host `localhost`: the name the server certificate is issued for.
    pub fn amqps_url(&self) -> String {
        format!("amqps://localhost:{}/%2F", self.spec.amqps_port)
    }

    pub fn certs(&self) -> &Certs {
        &self.certs
    }

    /// `fedflowtest-<pid>-<n>@localhost`; also on the `beam.smp` command line, so
    /// `pgrep -f <node name>` finds the node.
    pub fn node_name(&self) -> &str {
        &self.spec.node_name
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the RabbitMQ application but not the Erlang VM: clients get `CONNECTION_FORCED`,
    /// both ports refuse connections until [`Broker::start_app`].
    pub fn stop_app(&self) {
        let stopping_at = Instant::now();
        self.rabbitmqctl(&["stop_app"]);
        let closed = process::poll_until(STOP_TIMEOUT, || {
            !port_accepts(self.spec.amqp_port) && !port_accepts(self.spec.amqps_port)
        });
        assert!(
            closed,
            "node {} still listens after stop_app",
            self.spec.node_name
        );
        eprintln!(
            "[it] RabbitMQ node {} app stopped in {:.2?}",
            self.spec.node_name,
            stopping_at.elapsed()
        );
    }

    /// Starts the application again and blocks until both ports accept connections.
    pub fn start_app(&self) {
        let starting_at = Instant::now();
        self.rabbitmqctl(&["start_app"]);
        let open = process::poll_until(READY_TIMEOUT, || {
            port_accepts(self.spec.amqp_port) && port_accepts(self.spec.amqps_port)
        });
        assert!(
            open,
            "node {} did not listen within {READY_TIMEOUT:?} after start_app\n{}",
            self.spec.node_name,
            self.log_tail()
        );
        eprintln!(
            "[it] RabbitMQ node {} app started in {:.2?}",
            self.spec.node_name,
            starting_at.elapsed()
        );
    }

    /// Stops the whole VM (SIGTERM to `beam.smp`) and boots it again on the same directory and
    /// ports: durable queues and persistent messages survive, everything else is gone.
    pub fn restart(&self) {
        let mut launcher_slot = self.launcher.lock().unwrap_or_else(PoisonError::into_inner);
        let stopping_at = Instant::now();
        if let Some(launcher) = launcher_slot.take() {
            self.stop_node(launcher);
        }
        let starting_at = Instant::now();
        drop(launcher_slot);
        self.launch_and_wait_until_ready();
        eprintln!(
            "[it] RabbitMQ node {} restarted: stop {:.2?}, start {:.2?}",
            self.spec.node_name,
            starting_at - stopping_at,
            starting_at.elapsed()
        );
    }

    fn launch_and_wait_until_ready(&self) {
        let mut launcher_slot = self.launcher.lock().unwrap_or_else(PoisonError::into_inner);
        let stdout_log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("stdout.log"))
            .expect("open the node's stdout log");
        let stderr_log = stdout_log.try_clone().expect("clone the stdout log handle");
        let mut command = Command::new(RABBITMQ_SERVER);
        self.spec.set_env(&mut command, self.dir.path());
        command
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(stdout_log)
            .stderr(stderr_log);
        let launcher = launcher_slot
            .insert(process::spawn_dying_with_test_binary(command).expect("spawn rabbitmq-server"));

        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = launcher.try_wait() {
                panic!(
                    "RabbitMQ node {} exited ({status}) before it was ready\n{}",
                    self.spec.node_name,
                    self.log_tail()
                );
            }
            if port_accepts(self.spec.amqps_port) && port_accepts(self.spec.amqp_port) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "RabbitMQ node {} not ready within {READY_TIMEOUT:?}\n{}",
                self.spec.node_name,
                self.log_tail()
            );
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// SIGTERM to `beam.smp` (graceful, ~1 s; before it wrote its pid file, to the launcher's
    /// whole group), then waits until no process of the launcher's group (launcher and beam)
    /// runs; SIGKILL to the group after [`STOP_TIMEOUT`].
    fn stop_node(&self, mut launcher: Child) {
        // The launcher leads its own process group, and beam.smp stays in it.
        let group = launcher.id();
        match self.beam_pid(group) {
            Some(beam_pid) => process::send_signal(beam_pid, libc::SIGTERM),
            None => process::signal_process_group(group, libc::SIGTERM),
        }
        let stopped = process::poll_until(STOP_TIMEOUT, || !process::group_has_live_members(group));
        if !stopped {
            eprintln!(
                "[it] RabbitMQ node {} ignored SIGTERM for {STOP_TIMEOUT:?}, killing it",
                self.spec.node_name
            );
            // Safe: the launcher is not reaped yet, so its pid still names this group only.
            process::signal_process_group(group, libc::SIGKILL);
            process::poll_until(STOP_TIMEOUT, || !process::group_has_live_members(group));
        }
        let _ = launcher.wait();
    }

    /// Stops the node and removes its directory; for the shared node, which is never dropped.
    fn shutdown(&self) {
        let launcher = self
            .launcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(launcher) = launcher {
            self.stop_node(launcher);
        }
        let _ = fs::remove_dir_all(self.dir.path());
    }

    /// The `beam.smp` pid from the pid file, if that process still runs in the node's group.
    fn beam_pid(&self, group: u32) -> Option<u32> {
        let pid = fs::read_to_string(self.spec.pid_file(self.dir.path()))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        process::is_live_member(pid, group).then_some(pid)
    }

    fn rabbitmqctl(&self, args: &[&str]) {
        let mut command = Command::new(RABBITMQCTL);
        self.spec.set_env(&mut command, self.dir.path());
        let output = command
            .arg("-n")
            .arg(&self.spec.node_name)
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run rabbitmqctl");
        assert!(
            output.status.success(),
            "rabbitmqctl {args:?} for {} failed with {}:\n{}{}",
            self.spec.node_name,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn log_tail(&self) -> String {
        let log_dir = self.dir.path().join("log");
        let mut logs: Vec<PathBuf> = fs::read_dir(&log_dir)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .collect()
            })
            .unwrap_or_default();
        logs.sort();
        logs.push(self.dir.path().join("stdout.log"));
        let mut tail = String::new();
        for log in logs {
            let text = fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let last_lines = &lines[lines.len().saturating_sub(40)..];
            tail.push_str(&format!(
                "--- {} ---\n{}\n",
                log.display(),
                last_lines.join("\n")
            ));
        }
        tail
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let launcher = self
            .launcher
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(launcher) = launcher {
            self.stop_node(launcher);
        }
    }
}

/// The node shared by all tests of one test binary; started on first use.
pub struct SharedBroker {
    node: OnceLock<Broker>,
}

static SHARED_BROKER: SharedBroker = SharedBroker {
    node: OnceLock::new(),
};

pub fn shared() -> &'static SharedBroker {
    &SHARED_BROKER
}

impl SharedBroker {
    /// `$FEDFLOW_TEST_AMQP_URL` when set, else the private node's plain URL.
    pub fn plain_url(&self) -> String {
        match env::var(PLAIN_URL_ENV) {
            Ok(url) if !url.is_empty() => url,
            _ => self.tls_node().amqp_url(),
        }
    }

    /// Always the private node (an external broker has no known client certificate).
    pub fn tls_node(&self) -> &Broker {
        self.node.get_or_init(|| {
            let broker = Broker::start();
            // Statics are never dropped: stop the node when the test binary exits normally.
            // A crash or kill of the binary is covered by PR_SET_PDEATHSIG on the launcher.
            // SAFETY: registers a plain `extern "C" fn` that never unwinds.
            let registered = unsafe { libc::atexit(stop_shared_node_at_exit) };
            assert_eq!(registered, 0, "register the shared node's exit handler");
            broker
        })
    }
}

extern "C" fn stop_shared_node_at_exit() {
    let _ = std::panic::catch_unwind(|| {
        if let Some(broker) = SHARED_BROKER.node.get() {
            broker.shutdown();
        }
    });
}

fn port_accepts(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
}
