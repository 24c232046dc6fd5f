//! A fake Koji hub for tests: real HTTPS with an optional client certificate, real XML-RPC, and Koji's
//! session rules (login at `/kojihub/ssllogin`, session headers, call numbers). It runs on its own
//! thread and tokio runtime so plain `#[test]` functions can use it; dropping it shuts it down. Tests
//! inject one-shot misbehaviour per method ([`Injection`]) or switch on a probabilistic chaos mode
//! ([`FakeKoji::set_chaos`]); every call is recorded with its arrival time and any chaos fault.
//!
//! Parts: [`hub`] (state and method semantics), [`builders`] (builds starting and ending), [`sessions`]
//! (login and call numbers), [`records`] (task/build rows as the hub renders them), [`tags`] (tagging,
//! inheritance, latest builds), [`rpms`] (SRPM rows and changelog headers), [`server`] (TLS, HTTP,
//! injections), [`xml`] (the response writer), [`der`] (the client CN).

mod builders;
mod der;
mod hub;
mod records;
mod rpms;
mod server;
mod sessions;
mod tags;
mod xml;

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

pub use records::{FakeBuild, FakeTask};

use crate::support::certs::Certs;
use crate::support::chaos::{Chaos, ChaosSettings, Fault};
use hub::Hub;

/// Every request the hub received, in arrival order.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    /// `/kojihub` or `/kojihub/ssllogin`.
    pub path: String,
    pub method: String,
    /// The XML-RPC params as JSON: an array, keyword args still in their `__starstar` struct.
    pub params: serde_json::Value,
    pub session_id: Option<i64>,
    pub session_key: Option<String>,
    pub callnum: Option<i64>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    /// The Kerberos principal of a verified `Authorization: Negotiate` header (logins only).
    #[cfg_attr(not(feature = "kerberos"), allow(dead_code))]
    pub negotiated_principal: Option<String>,
    pub at: SystemTime,
    /// The fault the chaos mode ([`FakeKoji::set_chaos`]) gave this call instead of a plain answer.
    #[allow(dead_code)]
    pub chaos: Option<Fault>,
}

/// A one-shot misbehaviour for the next call of a method.
#[derive(Debug, Clone)]
pub enum Injection {
    /// Answer with this fault instead of processing the call.
    Fault { code: i64, string: String },
    /// Answer with this HTTP status and an HTML body instead of processing the call.
    HttpStatus(u16),
    /// Wait, then process and answer normally.
    Delay(Duration),
    /// Process the call (a `build` creates its task), then wait this long before answering.
    AcceptThenHang(Duration),
    /// Wait this long, then answer HTTP 504 without processing the call (a proxy that gave up).
    #[allow(dead_code)]
    TimeoutWithoutWork(Duration),
    /// Expire the caller's session first, so the call fails with `AuthExpired`.
    ExpireSession,
    /// Answer HTTP 200 with this body (e.g. a proxy's HTML page, or an oversized answer).
    RawBody(String),
    /// Process a Kerberos login, but answer with a mutual-authentication token that does not verify (as a
    /// server that is not the one the ticket was for would).
    #[cfg_attr(not(feature = "kerberos"), allow(dead_code))]
    ForgedMutualToken,
}

pub struct FakeKoji {
    port: u16,
    certs: Certs,
    shared: server::Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl FakeKoji {
    /// A hub with targets `rawhide` (→ `f44`) and `f43-candidate` (→ `f43-updates-candidate`) that
    /// asks for an optional client certificate and checks it at `sslLogin` (`SSLVerifyClient optional`).
    pub fn start() -> FakeKoji {
        FakeKoji::start_with(false)
    }

    /// Like [`FakeKoji::start`], but the TLS handshake itself fails without a trusted client
    /// certificate (`SSLVerifyClient require`).
    pub fn start_requiring_client_cert() -> FakeKoji {
        FakeKoji::start_with(true)
    }

    fn start_with(require_client_cert: bool) -> FakeKoji {
        let dir = tempfile::Builder::new()
            .prefix("fedflow-fake-koji-")
            .tempdir()
            .expect("temp dir");
        let certs = Certs::generate(&dir.path().join("certs"));
        let tls = Arc::new(server::Tls::new(&certs, require_client_cert));
        let shared: server::Shared = Arc::new((Mutex::new(Hub::new()), Condvar::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("local address").port();
        let (shutdown, shutdown_signal) = tokio::sync::oneshot::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-koji".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fake koji runtime");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    server::serve(listener, tls, thread_shared, shutdown_signal).await;
                });
            })
            .expect("spawn the fake koji thread");
        FakeKoji {
            port,
            certs,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
            _dir: dir,
        }
    }

    fn hub(&self) -> MutexGuard<'_, Hub> {
        self.shared
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `https://127.0.0.1:PORT/kojihub`
    pub fn hub_url(&self) -> String {
        format!("https://127.0.0.1:{}/kojihub", self.port)
    }

    /// `https://localhost:PORT/kojihub`: the name a Kerberos login asks a ticket for (`HTTP/localhost`).
    #[cfg_attr(not(feature = "kerberos"), allow(dead_code))]
    pub fn hub_url_by_name(&self) -> String {
        format!("https://localhost:{}/kojihub", self.port)
    }

    pub fn certs(&self) -> &Certs {
        &self.certs
    }

    pub fn ca_file(&self) -> PathBuf {
        self.certs.ca_file.clone()
    }

    /// A certificate whose CN (`certs::CLIENT_COMMON_NAME`) becomes the Koji user on login.
    pub fn client_cert_file(&self) -> PathBuf {
        self.certs.client_cert_file.clone()
    }

    pub fn client_key_file(&self) -> PathBuf {
        self.certs.client_key_file.clone()
    }

    pub fn add_target(&self, name: &str, build_tag: &str, dest_tag: &str) {
        self.hub().add_target(name, build_tag, dest_tag);
    }

    pub fn calls(&self) -> Vec<RecordedCall> {
        self.hub().calls.clone()
    }

    pub fn calls_of(&self, method: &str) -> Vec<RecordedCall> {
        let hub = self.hub();
        hub.calls
            .iter()
            .filter(|call| call.method == method)
            .cloned()
            .collect()
    }

    /// Blocks until `n` calls of `method` have arrived; panics with the call log after `timeout`.
    pub fn wait_for_calls(&self, method: &str, n: usize, timeout: Duration) -> Vec<RecordedCall> {
        let deadline = Instant::now() + timeout;
        let (lock, calls_changed) = &*self.shared;
        let mut hub = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            let matching: Vec<RecordedCall> = hub
                .calls
                .iter()
                .filter(|call| call.method == method)
                .cloned()
                .collect();
            if matching.len() >= n {
                return matching;
            }
            let now = Instant::now();
            if now >= deadline {
                let log: Vec<String> = hub
                    .calls
                    .iter()
                    .map(|call| format!("{} {} {}", call.path, call.method, call.params))
                    .collect();
                panic!(
                    "waited {timeout:?} for {n} {method} calls, saw {}; call log:\n{}",
                    matching.len(),
                    log.join("\n")
                );
            }
            hub = calls_changed
                .wait_timeout(hub, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Queues a one-shot injection for the next call of `method`.
    pub fn inject(&self, method: &str, injection: Injection) {
        self.hub()
            .injections
            .entry(method.to_owned())
            .or_default()
            .push_back(injection);
    }

    pub fn tasks(&self) -> Vec<FakeTask> {
        self.hub().tasks.values().cloned().collect()
    }

    /// The tasks with an id above `id`, in id order (tasks made since a caller last looked).
    #[allow(dead_code)]
    pub fn tasks_after(&self, id: i64) -> Vec<FakeTask> {
        let hub = self.hub();
        let after = id.saturating_add(1);
        hub.tasks
            .range(after..)
            .map(|(_, task)| task.clone())
            .collect()
    }

    /// Chaos mode: from now on a share of all calls (one-shot injections aside) gets a 5xx, a timeout
    /// without effect or a hang after the work, drawn from a seeded RNG ([`crate::support::chaos`]).
    #[allow(dead_code)]
    pub fn set_chaos(&self, settings: ChaosSettings) {
        self.hub().chaos = Some(Chaos::new(settings));
    }

    /// What the chaos mode injected so far: `(method, fault label)` → count.
    #[allow(dead_code)]
    pub fn chaos_injected(&self) -> std::collections::BTreeMap<(String, String), u64> {
        self.hub()
            .chaos
            .as_ref()
            .map(Chaos::injected)
            .unwrap_or_default()
    }

    pub fn task(&self, id: i64) -> Option<FakeTask> {
        self.hub().tasks.get(&id).cloned()
    }

    pub fn builds(&self) -> Vec<FakeBuild> {
        self.hub().builds.values().cloned().collect()
    }

    /// Finishes a build task as the builders would: creates the build row for `nvr` from the task's
    /// request and closes the task. `state` is `COMPLETE`, `FAILED` or `CANCELED`; a COMPLETE build
    /// gets an SRPM row with a one-entry changelog. Returns the build id.
    pub fn finish_build(&self, task_id: i64, state: &str, nvr: &str) -> i64 {
        let build_id = self.start_build(task_id, nvr);
        self.end_build(build_id, state);
        build_id
    }

    /// Fails a task without a build row; `getTaskResult` then raises this fault.
    pub fn fail_task(&self, task_id: i64, code: i64, string: &str) {
        let mut hub = self.hub();
        let task = hub
            .tasks
            .get_mut(&task_id)
            .unwrap_or_else(|| panic!("fail_task: no task {task_id}"));
        task.state = 5;
        task.completion_ts = Some(hub::now_ts());
        task.failure = Some((code, string.to_owned()));
    }

    /// Adds a build row without a task (e.g. an NVR that already exists); a COMPLETE one gets an SRPM
    /// row with a one-entry changelog. Returns the build id.
    pub fn add_build(&self, nvr: &str, state: &str, source: Option<&str>, owner: &str) -> i64 {
        let build_state = match state {
            "BUILDING" => 0,
            "COMPLETE" => 1,
            "DELETED" => 2,
            "FAILED" => 3,
            "CANCELED" => 4,
            other => panic!("add_build: unknown state {other:?}"),
        };
        let mut hub = self.hub();
        let owner_id = hub.user_id(owner);
        let build_id = hub.next_build_id;
        hub.next_build_id += 1;
        let (name, version, release) = records::split_nvr(nvr);
        let now = hub::now_ts();
        let build = FakeBuild {
            build_id,
            name,
            version,
            release,
            state: build_state,
            task_id: None,
            owner_id,
            owner_name: owner.to_owned(),
            source: source.map(str::to_owned),
            original_url: source.map(str::to_owned),
            creation_ts: now,
            completion_ts: (build_state != 0).then_some(now),
        };
        hub.insert_build(build);
        build_id
    }

    /// The ids the next `build` call and the next build row get (e.g. above 2^31).
    pub fn set_next_ids(&self, task_id: i64, build_id: i64) {
        let mut hub = self.hub();
        hub.next_task_id = task_id;
        hub.next_build_id = build_id;
    }
}

impl Drop for FakeKoji {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
