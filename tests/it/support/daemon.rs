//! The real `fedflow` binary as a child process: configuration in a temp dir, signals, and its status read
//! through `fedflow status --json` the way an admin would.

use super::process::{poll_until, send_signal, spawn_dying_with_test_binary};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_fedflow");

/// A state directory and configuration that outlive single daemon processes (for restarts).
pub struct Instance {
    pub dir: tempfile::TempDir,
    pub queue: String,
    pub prefix: String,
}

impl Instance {
    /// `bus_toml` is the body of the `[bus]` table (url, topics, ...); queue and prefix are added here.
    pub fn new(bus_toml: &str, prefix: &str) -> Instance {
        let dir = tempfile::Builder::new()
            .prefix("fedflow-it-")
            .tempdir()
            .expect("temp dir");
        std::fs::create_dir_all(dir.path().join("system")).expect("system dir");
        let queue = format!("fedflow-it-{}", uuid::Uuid::new_v4());
        let instance = Instance {
            dir,
            queue,
            prefix: prefix.to_owned(),
        };
        instance.write_config(bus_toml, "debug");
        instance
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("fedflow.toml")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("fedflow.log")
    }

    /// (Re)writes the configuration file; a running daemon sees it on SIGHUP. The status page listens on a
    /// free port (tests run many daemons at once); `fedflow status` says which.
    pub fn write_config(&self, bus_toml: &str, level: &str) {
        let text = format!(
            "[bus]\nqueue = \"{}\"\ntopic_prefix = \"{}\"\n{bus_toml}\n\n[state]\ndir = \"{}\"\n\n[log]\nlevel = \"{level}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n",
            self.queue,
            self.prefix,
            self.state_dir().display()
        );
        std::fs::write(self.config_path(), text).expect("write config");
    }

    /// A `fedflow` command with this instance's configuration and no system drop-ins.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(self.config_path())
            .arg("--system-config-dir")
            .arg(self.dir.path().join("system"))
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("JOURNAL_STREAM")
            .env_remove("WATCHDOG_USEC")
            // A Kerberos test may have pointed this process at its client keytab; a daemon sets up its
            // own from its configuration.
            .env_remove("KRB5_CLIENT_KTNAME")
            .env_remove("KRB5CCNAME")
            .stdin(Stdio::null());
        command
    }

    pub fn start(&self) -> Daemon {
        self.start_with(|_| {})
    }

    /// Starts `fedflow run`, letting the caller add environment first.
    pub fn start_with(&self, adjust: impl FnOnce(&mut Command)) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open daemon log");
        let mut command = self.command(&["run"]);
        command
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log);
        adjust(&mut command);
        let child = spawn_dying_with_test_binary(command).expect("spawn fedflow run");
        Daemon {
            child,
            log_path: self.log_path(),
        }
    }

    /// `fedflow status --json`, whether or not a daemon runs.
    pub fn status(&self) -> Value {
        let output = self
            .command(&["status", "--json"])
            .output()
            .expect("run fedflow status");
        assert!(
            output.status.success(),
            "fedflow status failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("status JSON")
    }

    /// Polls the status until `condition` holds; panics with the last status and the log otherwise.
    pub fn wait_status(
        &self,
        what: &str,
        timeout: Duration,
        condition: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut last = Value::Null;
        let held = poll_until(timeout, || {
            last = self.status();
            condition(&last)
        });
        assert!(
            held,
            "timed out after {timeout:?} waiting for {what}; last status: {last:#}\n--- daemon log ---\n{}",
            tail(&self.log_path())
        );
        last
    }

    /// Runs the daemon once so its durable queue and bindings exist, then stops it: messages published
    /// afterwards wait as a backlog for the next start.
    pub fn prepare_queue(&self) {
        let mut daemon = self.start();
        self.wait_connected();
        let (code, _) = daemon.stop();
        assert!(code.success(), "{code:?}");
    }

    pub fn wait_connected(&self) -> Value {
        self.wait_status("the daemon to connect", Duration::from_secs(30), |s| {
            s["bus"]["state"]["state"] == "connected"
        })
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

pub fn received(status: &Value) -> u64 {
    status["messages"]["received"].as_u64().unwrap_or(0)
}

pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

pub struct Daemon {
    pub child: Child,
    log_path: PathBuf,
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: libc::c_int) {
        send_signal(self.pid(), signal);
    }

    /// Waits for the process to exit; `None` if it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// SIGTERM and the time it took to exit; panics with the log if it does not exit within 10 s.
    pub fn stop(&mut self) -> (ExitStatus, Duration) {
        let started = Instant::now();
        self.signal(libc::SIGTERM);
        let status = self.wait_exit(Duration::from_secs(10)).unwrap_or_else(|| {
            panic!(
                "fedflow did not exit within 10 s of SIGTERM\n{}",
                tail(&self.log_path)
            )
        });
        (status, started.elapsed())
    }

    pub fn kill9(&mut self) {
        self.signal(libc::SIGKILL);
        self.wait_exit(Duration::from_secs(10))
            .expect("SIGKILL ends the process");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A runtime for the async AMQP helpers inside otherwise blocking tests (status polls spawn processes).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Whether fedflow's default bindings deliver this topic (`#` only ever ends a default topic).
pub fn bound_by_default(topic: &str) -> bool {
    fedflow::config::DEFAULT_TOPICS
        .iter()
        .any(|bound| match bound.strip_suffix('#') {
            Some(stem) => topic.starts_with(stem),
            None => *bound == topic,
        })
}

/// Fixture messages that default bindings deliver, for building message streams.
pub fn deliverable_fixtures() -> Vec<super::amqp::FixtureMessage> {
    super::amqp::fixture_messages()
        .into_iter()
        .filter(|f| bound_by_default(&f.topic))
        .collect()
}

/// Publishes `count` messages cycling through the deliverable fixtures, each with a fresh id.
pub async fn publish_stream(
    publisher: &super::amqp::Publisher,
    prefix: &str,
    count: usize,
) -> Vec<String> {
    let fixtures = deliverable_fixtures();
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let fixture = &fixtures[i % fixtures.len()];
        let id = uuid::Uuid::new_v4().to_string();
        publisher
            .publish(
                &fixture.routing_key_with_prefix(prefix),
                Some(&id),
                &fixture.headers,
                &super::amqp::python_json_dumps(&fixture.body),
            )
            .await;
        ids.push(id);
    }
    ids
}
