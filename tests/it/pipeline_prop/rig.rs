//! The system under test: fedflow's real pipeline engine on a store in a temporary directory, against the
//! fake Koji hub, dist-git and Bodhi (with its identity provider), fed the way the daemon feeds it —
//! serialized messages through `bus::replay` (decode, policy selection, one store transaction, flush),
//! then a wake-up of the engine. A crash drops the engine's runtime wherever its tasks are, and the store
//! is reopened from disk by the next engine.

use crate::support::fake_bodhi::FakeBodhi;
use crate::support::fake_distgit::FakeDistGit;
use crate::support::fake_idp::FakeIdp;
use crate::support::fake_koji::FakeKoji;
use crate::support::process::poll_until;
use fedflow::config::{Inputs, Settings};
use fedflow::pipeline::{Engine, Pipeline, Remotes};
use fedflow::store::{Store, StoreError};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// How long the engine may take to empty its inbox, or a test to see what it waits for.
pub const WAIT: Duration = Duration::from_secs(60);

/// One message as the bus carries it: its id, its topic (without the prefix) and its body.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub topic: &'static str,
    pub body: Value,
}

/// An engine running on its own runtime, and what the consume path shares with it.
struct Running {
    runtime: Runtime,
    store: Arc<Store>,
    work_ready: Arc<Notify>,
    engine: JoinHandle<Result<(), StoreError>>,
    // Kept so the engine's receivers stay open; never changed.
    _settings: watch::Sender<Arc<Settings>>,
    _shutdown: watch::Sender<bool>,
}

pub struct Rig {
    pub koji: FakeKoji,
    // Serves the policy's dist-git reads (none with these rules, but the client needs a server).
    _distgit: FakeDistGit,
    pub bodhi: FakeBodhi,
    _idp: FakeIdp,
    pub settings: Arc<Settings>,
    dir: TempDir,
    running: Option<Running>,
}

impl Rig {
    /// The fakes, and settings with `rules` (`[[package]]` TOML) and every interval shortened: the
    /// reconciler polls each waiting pipeline every 100 ms, failed remote calls are retried at the next
    /// scan, and a remote step may fail many times before the pipeline does.
    pub fn new(rules: &str) -> Rig {
        let koji = FakeKoji::start();
        let distgit = FakeDistGit::start();
        let idp = FakeIdp::start();
        let bodhi = FakeBodhi::start_with_idp(&idp);
        bodhi.set_releases(crate::support::fake_bodhi::realistic_releases());
        let dir = tempfile::Builder::new()
            .prefix("fedflow-prop-")
            .tempdir()
            .expect("temp dir");
        let token_file = idp.write_token_file(dir.path());
        let config = format!(
            "[koji]\nhub = \"{hub}\"\nca_file = \"{ca}\"\nauth = \"ssl\"\ncert_file = \"{cert}\"\n\
             key_file = \"{key}\"\nmax_attempts = 1000\n\n[distgit]\nurl = \"{distgit}\"\n\n\
             [bodhi]\nurl = \"{bodhi}\"\nauth = \"refresh-token\"\ntoken_file = \"{token}\"\n\
             oidc_issuer = \"{issuer}\"\ntag_wait_minutes = 5\n\n{rules}",
            hub = koji.hub_url(),
            ca = koji.ca_file().display(),
            cert = koji.client_cert_file().display(),
            key = koji.client_key_file().display(),
            distgit = distgit.base_url(),
            bodhi = bodhi.base_url(),
            token = token_file.display(),
            issuer = idp.issuer(),
        );
        let path = dir.path().join("fedflow.toml");
        std::fs::write(&path, config).expect("write the configuration");
        let inputs = Inputs {
            config_files: vec![path],
            ..Inputs::default()
        };
        let mut settings = fedflow::config::load(&inputs).expect("valid settings");
        settings.reconcile.after = Duration::ZERO;
        settings.reconcile.interval = Duration::from_millis(100);
        settings.koji.retry_max = Duration::from_millis(50);
        settings.koji.timeout = Duration::from_secs(1);
        let mut rig = Rig {
            koji,
            _distgit: distgit,
            bodhi,
            _idp: idp,
            settings: Arc::new(settings),
            dir,
            running: None,
        };
        rig.start();
        rig
    }

    fn start(&mut self) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("engine runtime");
        let store = Arc::new(Store::open(&self.dir.path().join("state")).expect("open the store"));
        let metrics = fedflow::metrics::Metrics::new();
        let remotes = {
            let _inside = runtime.enter();
            Remotes::from_settings(&self.settings, &metrics).expect("the clients")
        };
        let (settings_tx, settings) = watch::channel(self.settings.clone());
        let (shutdown_tx, shutdown) = watch::channel(false);
        let work_ready = Arc::new(Notify::new());
        let engine = Engine {
            store: store.clone(),
            remotes,
            settings,
            shutdown,
            work_ready: work_ready.clone(),
        };
        let engine = runtime.spawn(engine.run());
        self.running = Some(Running {
            runtime,
            store,
            work_ready,
            engine,
            _settings: settings_tx,
            _shutdown: shutdown_tx,
        });
    }

    fn running(&self) -> &Running {
        let running = self.running.as_ref().expect("an engine runs");
        assert!(
            !running.engine.is_finished(),
            "the engine stopped on its own (a store error)"
        );
        running
    }

    pub fn store(&self) -> &Store {
        &self.running().store
    }

    /// The process dies wherever its tasks are (between a remote call and its transition, too); a new
    /// one opens the store from disk.
    pub fn crash(&mut self) {
        self.running();
        if let Some(running) = self.running.take() {
            let Running { runtime, store, .. } = running;
            runtime.shutdown_timeout(Duration::from_secs(10));
            drop(store);
        }
        self.start();
    }

    /// Delivers `messages` as one bus batch: each decoded, selected and committed with its work, the
    /// batch flushed, then the engine woken.
    pub fn deliver(&self, messages: &[Message]) {
        if messages.is_empty() {
            return;
        }
        let prefix = &self.settings.bus.topic_prefix;
        let lines: Vec<String> = messages
            .iter()
            .map(|m| {
                json!({
                    "topic": format!("{prefix}.{}", m.topic), "id": m.id, "body": m.body,
                    "headers": {"fedora_messaging_severity": 20, "sent-at": "2026-11-20T10:00:00+00:00"},
                })
                .to_string()
            })
            .collect();
        let text = lines.join("\n");
        let running = self.running();
        let report = running
            .runtime
            .block_on(fedflow::bus::replay::replay(
                &mut text.as_bytes(),
                &running.store,
                &self.settings,
            ))
            .expect("replay the batch");
        assert_eq!(
            (report.unreadable, report.rejected, report.not_bound),
            (0, 0, 0),
            "every message is a valid, bound message: {report:?}"
        );
        running.work_ready.notify_one();
    }

    /// Waits until the engine took every queued work item out of the inbox.
    pub fn settle(&self) {
        let store = self.store();
        assert!(
            poll_until(WAIT, || store.inbox_len() == 0),
            "the engine left {} work items in its inbox",
            store.inbox_len()
        );
    }

    /// Every stored pipeline.
    pub fn pipelines(&self) -> Vec<Pipeline> {
        self.store().pipelines(10_000).expect("read the pipelines")
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.runtime.shutdown_timeout(Duration::from_secs(10));
        }
    }
}
