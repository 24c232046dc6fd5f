//! The engine: takes work out of the inbox, creates and moves pipelines, and runs each pipeline's remote
//! steps (policy, submission, polling) as tasks — one at a time per pipeline, `koji.max_in_flight` Koji
//! submissions at a time overall. Every state change is written before the next remote call.

use super::policy::Policy;
use super::work::{Work, is_watched};
use super::{Pipeline, PushFacts, PushKey, follow, steps, unix_now, update_follow};
use crate::bodhi::BodhiClient;
use crate::config::Settings;
use crate::distgit::{DistGitClient, PACKIT_CONFIG_NAMES};
use crate::koji::KojiClient;
use crate::message::DistGitPush;
use crate::store::{Created, Store, StoreError};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, watch};
use tracing::{debug, warn};

/// How often active pipelines are scanned for retries that fell due.
const SCAN_INTERVAL: Duration = Duration::from_secs(1);
/// Inbox items applied per round, so a backlog does not starve the scheduler.
const INBOX_BATCH: usize = 256;

/// The network clients the pipeline uses.
pub struct Remotes {
    pub koji: KojiClient,
    pub distgit: DistGitClient,
    pub bodhi: BodhiClient,
}

/// What the step tasks share with the engine.
pub(super) struct Shared {
    pub store: Arc<Store>,
    pub remotes: Remotes,
    /// Pipelines with a step in flight: never two at once for one pipeline.
    running: Mutex<HashSet<u64>>,
    /// `koji.max_in_flight` submissions at once.
    pub submit_slots: Semaphore,
    /// Targets `getBuildTarget` confirmed since start.
    pub targets: Mutex<HashSet<String>>,
}

impl Shared {
    /// The policy over this engine's store and clients, with the settings of the current step.
    pub(super) fn policy<'a>(&'a self, settings: &'a Settings) -> Policy<'a> {
        Policy {
            settings,
            store: &self.store,
            distgit: &self.remotes.distgit,
            bodhi: &self.remotes.bodhi,
        }
    }
}

pub struct Engine {
    pub store: Arc<Store>,
    pub remotes: Remotes,
    pub settings: watch::Receiver<Arc<Settings>>,
    pub shutdown: watch::Receiver<bool>,
    /// Woken when the consume path queued work.
    pub work_ready: Arc<Notify>,
}

impl Engine {
    pub async fn run(mut self) -> Result<(), StoreError> {
        let settings = self.settings.borrow().clone();
        let shared = Arc::new(Shared {
            store: self.store.clone(),
            remotes: self.remotes,
            running: Mutex::new(HashSet::new()),
            submit_slots: Semaphore::new(settings.koji.max_in_flight as usize),
            targets: Mutex::new(HashSet::new()),
        });
        let mut scan = tokio::time::interval(SCAN_INTERVAL);
        let mut reconcile = tokio::time::interval(settings.reconcile.interval);
        loop {
            let settings = self.settings.borrow().clone();
            for id in drain_inbox(&shared.store, &settings)? {
                spawn_step(&shared, &settings, id);
            }
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => break,
                _ = self.work_ready.notified() => {}
                _ = scan.tick() => {
                    let now_ms = unix_now_ms();
                    for pipeline in shared.store.active_pipelines()? {
                        if pipeline.is_due(now_ms) && !pipeline.stage.waits_on_koji() {
                            spawn_step(&shared, &settings, pipeline.id);
                        }
                    }
                }
                _ = reconcile.tick() => {
                    let stale_before = unix_now().saturating_sub(settings.reconcile.after.as_secs());
                    for pipeline in shared.store.active_pipelines()? {
                        if pipeline.stage.waits_on_koji() && pipeline.updated_at <= stale_before {
                            spawn_poll(&shared, &settings, pipeline.id);
                        }
                    }
                }
            }
        }
        debug!("pipeline engine stopped");
        Ok(())
    }
}

pub(super) fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Runs the pipeline's next remote step unless one is already running for it.
fn spawn_step(shared: &Arc<Shared>, settings: &Arc<Settings>, id: u64) {
    spawn_exclusive(shared, id, {
        let shared = shared.clone();
        let settings = settings.clone();
        async move { steps::advance(&shared, &settings, id).await }
    });
}

/// Asks Koji about a pipeline no message moved for a while.
fn spawn_poll(shared: &Arc<Shared>, settings: &Arc<Settings>, id: u64) {
    spawn_exclusive(shared, id, {
        let shared = shared.clone();
        let settings = settings.clone();
        async move { follow::poll(&shared, &settings, id).await }
    });
}

fn spawn_exclusive(
    shared: &Arc<Shared>,
    id: u64,
    step: impl Future<Output = Result<(), StoreError>> + Send + 'static,
) {
    let claimed = shared
        .running
        .lock()
        .map(|mut running| running.insert(id))
        .unwrap_or(false);
    if !claimed {
        return;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        if let Err(e) = step.await {
            warn!(pipeline = id, error = %e, "pipeline step could not be stored; retried on the next scan");
        }
        if let Ok(mut running) = shared.running.lock() {
            running.remove(&id);
        }
    });
}

/// Applies the queued work; returns the pipelines that have a step to run now.
fn drain_inbox(store: &Store, settings: &Settings) -> Result<Vec<u64>, StoreError> {
    let mut ready = Vec::new();
    loop {
        let items = store.inbox_items(INBOX_BATCH)?;
        if items.is_empty() {
            return Ok(ready);
        }
        for (key, raw) in items {
            match Work::decode(&raw) {
                Err(e) => {
                    warn!(error = %e, "dropping an inbox item this version cannot read");
                    store.remove_inbox(key)?;
                }
                Ok(Work::Push { message_id, push }) => {
                    if let Some(id) = take_push(store, settings, key, &message_id, &push)? {
                        ready.push(id);
                    }
                }
                Ok(Work::BuildState { message_id, change }) => {
                    follow::take_build_state(store, settings, key, &message_id, &change)?;
                }
                Ok(Work::Tag { message_id, change }) => {
                    ready.extend(update_follow::take_tag(store, key, &message_id, &change)?);
                }
                Ok(Work::BodhiUpdate {
                    message_id,
                    message,
                }) => update_follow::take_update(store, key, &message_id, &message)?,
            }
        }
    }
}

/// Creates the push's pipeline, once per (package, branch, commit).
fn take_push(
    store: &Store,
    settings: &Settings,
    inbox_key: u64,
    message_id: &str,
    push: &DistGitPush,
) -> Result<Option<u64>, StoreError> {
    let package = push.repo.name.as_str();
    // Not the shard: it only changes at a restart, and work this instance queued before is carried out here
    // (the instance that holds the package now may have recorded the push as not its own).
    if !is_watched(settings, package) {
        // Watched when queued, no longer after a reload.
        store.remove_inbox(inbox_key)?;
        return Ok(None);
    }
    let touches_config = push.changed_files.as_ref().is_some_and(|files| {
        files
            .keys()
            .any(|path| PACKIT_CONFIG_NAMES.contains(&path.as_str()))
    });
    if touches_config && push.repo.namespace.as_deref() == Some("rpms") && !push.repo.is_fork() {
        store.uncache_prefix(&super::policy::packit_cache_prefix(package))?;
    }
    let key = PushKey {
        package: package.to_owned(),
        branch: push.branch.clone(),
        commit: push.end_commit.clone(),
    };
    let source_url = settings.distgit.source_url(package, &push.end_commit);
    let now = unix_now();
    let created = store.create_pipeline(&key, Some(inbox_key), |id| {
        Pipeline::new(
            id,
            key.clone(),
            source_url.clone(),
            push.agent.clone(),
            push.pull_request_id,
            message_id.to_owned(),
            PushFacts::of(push),
            now,
        )
    })?;
    match created {
        Created::New(pipeline) => {
            super::pipeline_event!(
                info,
                pipeline,
                message_id = crate::journal::PIPELINE_CREATED,
                amqp_message_id = message_id,
                "pipeline created"
            );
            Ok(Some(pipeline.id))
        }
        Created::Existing(id) => {
            debug!(pipeline = id, amqp_message_id = message_id, %key, "push seen before; no new pipeline");
            Ok(None)
        }
    }
}

impl Remotes {
    /// The clients for the configured endpoints; reads the Koji client certificate (or checks the keytab)
    /// now, so a bad path fails the start with the file named.
    pub fn from_settings(
        settings: &Settings,
        metrics: &crate::metrics::Metrics,
    ) -> anyhow::Result<Remotes> {
        use crate::bodhi::BodhiAuth;
        use crate::config::{BodhiAuthSettings, KojiAuthSettings};
        use crate::koji::{KojiAuth, KojiClientConfig};
        use anyhow::Context;
        let auth = match &settings.koji.auth {
            KojiAuthSettings::None => KojiAuth::Anonymous,
            KojiAuthSettings::Ssl {
                cert_file,
                key_file,
            } => KojiAuth::Ssl {
                cert_file: cert_file.clone(),
                key_file: key_file.clone(),
            },
            #[cfg(feature = "kerberos")]
            KojiAuthSettings::Kerberos { principal, keytab } => KojiAuth::Kerberos {
                principal: principal.clone(),
                keytab: keytab.clone(),
            },
            #[cfg(not(feature = "kerberos"))]
            KojiAuthSettings::Kerberos { .. } => {
                anyhow::bail!(
                    "Kerberos login needs a fedflow built with the cargo feature `kerberos`"
                )
            }
        };
        let koji = KojiClient::instrumented(
            KojiClientConfig {
                hub_url: settings.koji.hub.clone(),
                ca_file: settings.koji.ca_file.clone(),
                auth,
                timeout: settings.koji.timeout,
            },
            metrics.koji.clone(),
        )
        .context("setting up the Koji client")?;
        let distgit = DistGitClient::new(&settings.distgit.url, settings.distgit.timeout)
            .context("setting up the dist-git client")?;
        let bodhi_auth = match &settings.bodhi.auth {
            BodhiAuthSettings::None => BodhiAuth::None,
            BodhiAuthSettings::RefreshToken { token_file } => BodhiAuth::RefreshToken {
                token_file: token_file.clone(),
                oidc_issuer: settings.bodhi.oidc_issuer.clone(),
                client_id: settings.bodhi.client_id.clone(),
            },
            #[cfg(feature = "kerberos")]
            BodhiAuthSettings::Kerberos {
                principal,
                keytab,
                token_file,
            } => BodhiAuth::Kerberos {
                negotiator: crate::krb::Negotiator::new(principal, keytab)
                    .context("setting up the Kerberos login to Bodhi")?,
                oidc_issuer: settings.bodhi.oidc_issuer.clone(),
                client_id: settings.bodhi.client_id.clone(),
                token_file: token_file.clone(),
            },
            #[cfg(not(feature = "kerberos"))]
            BodhiAuthSettings::Kerberos { .. } => {
                anyhow::bail!(
                    "Kerberos login needs a fedflow built with the cargo feature `kerberos`"
                )
            }
        };
        let bodhi = BodhiClient::new(&settings.bodhi.url, settings.bodhi.timeout)
            .context("setting up the Bodhi client")?
            .with_auth(bodhi_auth)
            .with_metrics(metrics.bodhi.clone());
        Ok(Remotes {
            koji,
            distgit,
            bodhi,
        })
    }
}
