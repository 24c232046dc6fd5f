//! The public Koji client: configuration, construction (credentials are read once, up front) and the
//! hub calls fedflow makes. Reads are anonymous and run concurrently; `build` goes through the session.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dxr::Value;
use serde_json::Value as Json;
use tokio::sync::Mutex;

use super::error::KojiError;
use super::session::Session;
use super::transport::Transport;
use super::types::{self, BuildInfo, BuildTarget, TaskInfo};
use super::wire::{int, string, structure};
use crate::metrics::RemoteCalls;

/// How the client authenticates for writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KojiAuth {
    /// No credentials: reads only (observe-only mode).
    Anonymous,
    /// TLS client certificate; its CN is the Koji user name.
    Ssl {
        cert_file: PathBuf,
        key_file: PathBuf,
    },
    /// GSSAPI (SPNEGO) with the principal's keys from `keytab`, which must be the keytab the process was set
    /// up with ([`crate::krb::configure_process`]); the principal is the Koji user.
    #[cfg(feature = "kerberos")]
    Kerberos { principal: String, keytab: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KojiClientConfig {
    /// e.g. `https://koji.fedoraproject.org/kojihub`; login goes to `<hub_url>/ssllogin`.
    pub hub_url: String,
    /// Extra trust roots (PEM, several certificates allowed) in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    pub auth: KojiAuth,
    /// Per HTTP request.
    pub timeout: Duration,
}

/// A Koji hub client. Cheap to clone; clones share one session.
#[derive(Clone)]
pub struct KojiClient {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) hub_url: String,
    pub(crate) login_url: String,
    pub(crate) can_submit: bool,
    pub(crate) transport: Transport,
    /// Held for the whole of every session call, so call numbers go out in order.
    pub(crate) session: Mutex<Option<Session>>,
    /// Makes the `Authorization: Negotiate` header of a Kerberos login; `None` for certificate logins.
    #[cfg(feature = "kerberos")]
    pub(crate) negotiator: Option<crate::krb::Negotiator>,
}

impl std::fmt::Debug for KojiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KojiClient")
            .field("hub_url", &self.inner.hub_url)
            .field("can_submit", &self.inner.can_submit)
            .finish_non_exhaustive()
    }
}

/// States of a task that has not finished: FREE, OPEN, ASSIGNED.
const OPEN_TASK_STATES: [i64; 3] = [0, 1, 4];

impl KojiClient {
    /// Reads the CA bundle and the client certificate and key (or checks the keytab) now; errors name the
    /// file.
    pub fn new(config: KojiClientConfig) -> Result<KojiClient, KojiError> {
        Self::instrumented(config, RemoteCalls::default())
    }

    /// Like [`Self::new`], counting and timing every hub call in `calls`.
    pub fn instrumented(
        config: KojiClientConfig,
        calls: RemoteCalls,
    ) -> Result<KojiClient, KojiError> {
        let hub_url = config.hub_url.trim_end_matches('/').to_owned();
        let setup_error = |reason: String| KojiError::Setup {
            hub_url: hub_url.clone(),
            reason,
        };
        let parsed = reqwest::Url::parse(&hub_url)
            .map_err(|error| setup_error(format!("not a URL: {error}")))?;
        if config.auth != KojiAuth::Anonymous && parsed.scheme() != "https" {
            // The hub's /ssllogin is https only; a login token must not cross the network in clear.
            return Err(setup_error("logging in needs an https hub URL".to_owned()));
        }
        let identity = match &config.auth {
            KojiAuth::Ssl {
                cert_file,
                key_file,
            } => Some(read_identity(cert_file, key_file)?),
            _ => None,
        };
        #[cfg(feature = "kerberos")]
        let negotiator = match &config.auth {
            KojiAuth::Kerberos { principal, keytab } => Some(
                crate::krb::Negotiator::new(principal, keytab).map_err(|error| {
                    KojiError::Setup {
                        hub_url: hub_url.clone(),
                        reason: error.to_string(),
                    }
                })?,
            ),
            _ => None,
        };
        let can_submit = config.auth != KojiAuth::Anonymous;
        let transport = Transport::new(
            &hub_url,
            config.ca_file.as_deref(),
            identity,
            config.timeout,
            calls,
        )?;
        Ok(KojiClient {
            inner: Arc::new(Inner {
                login_url: format!("{hub_url}/ssllogin"),
                hub_url,
                can_submit,
                transport,
                session: Mutex::new(None),
                #[cfg(feature = "kerberos")]
                negotiator,
            }),
        })
    }

    /// False for an anonymous client: it can observe but not submit builds.
    pub fn can_submit(&self) -> bool {
        self.inner.can_submit
    }

    pub fn hub_url(&self) -> &str {
        &self.inner.hub_url
    }

    /// `getBuildTarget(name)`; `None` for an unknown target.
    pub async fn get_build_target(&self, name: &str) -> Result<Option<BuildTarget>, KojiError> {
        let method = "getBuildTarget";
        let reply = self.read(method, vec![string(name)], Vec::new()).await?;
        self.decoded(method, types::optional(reply, BuildTarget::from_wire))
    }

    /// `build(source_url, target, opts)`; returns the task id. `opts` is `{}` or `{"scratch": true}`.
    pub async fn build(
        &self,
        source_url: &str,
        target: &str,
        scratch: bool,
    ) -> Result<i64, KojiError> {
        let method = "build";
        let opts = if scratch {
            structure(vec![("scratch", Value::Boolean(true))])
        } else {
            structure(Vec::new())
        };
        let args = vec![string(source_url), string(target), opts];
        let reply = self.inner.call_logged_in(method, args, Vec::new()).await?;
        let task_id = reply
            .as_i64()
            .ok_or_else(|| format!("expected a task id, got {}", types::json_kind(&reply)));
        self.decoded(method, task_id)
    }

    /// `getTaskInfo(task_id, request=True)`; `None` for an unknown task.
    pub async fn get_task_info(&self, task_id: i64) -> Result<Option<TaskInfo>, KojiError> {
        let method = "getTaskInfo";
        let kwargs = vec![("request", Value::Boolean(true))];
        let reply = self.read(method, vec![int(task_id)], kwargs).await?;
        self.decoded(method, types::optional(reply, TaskInfo::from_wire))
    }

    /// `getTaskResult(task_id)`: the task's result, or the fault it failed with (e.g. "Build already
    /// exists", see [`KojiError::is_already_built`]).
    pub async fn get_task_result(&self, task_id: i64) -> Result<Json, KojiError> {
        self.read("getTaskResult", vec![int(task_id)], Vec::new())
            .await
    }

    /// `listBuilds(taskID=task_id)`: the build a build task produced (none until it has started).
    pub async fn list_builds_by_task(&self, task_id: i64) -> Result<Vec<BuildInfo>, KojiError> {
        self.list_builds(vec![("taskID", int(task_id))]).await
    }

    /// `listBuilds(source=source_glob)`; `source` is a glob on the hub (`*` matches anything).
    pub async fn list_builds_by_source(
        &self,
        source_glob: &str,
    ) -> Result<Vec<BuildInfo>, KojiError> {
        self.list_builds(vec![("source", string(source_glob))])
            .await
    }

    /// Open (FREE/OPEN/ASSIGNED) `build` tasks of any owner whose `request[0]` is `source_url`:
    /// `listTasks(opts={method: "build", state: [0,1,4], decode: true[, createdAfter]})`, filtered here.
    pub async fn find_open_build_tasks(
        &self,
        source_url: &str,
        created_after: Option<f64>,
    ) -> Result<Vec<TaskInfo>, KojiError> {
        let method = "listTasks";
        let states = Value::Array(OPEN_TASK_STATES.iter().map(|state| int(*state)).collect());
        let mut opts = vec![
            ("method", string("build")),
            ("state", states),
            ("decode", Value::Boolean(true)),
        ];
        if let Some(after) = created_after {
            opts.push(("createdAfter", Value::Double(after)));
        }
        let kwargs = vec![("opts", structure(opts))];
        let reply = self.read(method, Vec::new(), kwargs).await?;
        let tasks = self.decoded(method, types::list(reply, TaskInfo::from_wire))?;
        Ok(tasks
            .into_iter()
            .filter(|task| task.request.first().and_then(Json::as_str) == Some(source_url))
            .collect())
    }

    /// `getBuild(nvr)`; `None` when no such build exists.
    pub async fn get_build(&self, nvr: &str) -> Result<Option<BuildInfo>, KojiError> {
        let method = "getBuild";
        let reply = self.read(method, vec![string(nvr)], Vec::new()).await?;
        self.decoded(method, types::optional(reply, BuildInfo::from_wire))
    }

    async fn list_builds(&self, kwargs: Vec<(&str, Value)>) -> Result<Vec<BuildInfo>, KojiError> {
        let method = "listBuilds";
        let reply = self.read(method, Vec::new(), kwargs).await?;
        self.decoded(method, types::list(reply, BuildInfo::from_wire))
    }

    /// An anonymous call: no session headers, no lock.
    pub(super) async fn read(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(&str, Value)>,
    ) -> Result<Json, KojiError> {
        let body = self.inner.encode(method, args, kwargs)?;
        self.inner
            .transport
            .call(&self.inner.hub_url, method, body, None)
            .await
    }

    pub(super) fn decoded<T>(
        &self,
        method: &str,
        result: Result<T, String>,
    ) -> Result<T, KojiError> {
        result.map_err(|reason| KojiError::Decode {
            method: method.to_owned(),
            url: self.inner.hub_url.clone(),
            reason,
        })
    }
}

/// The client certificate and key as one reqwest identity; each file is checked on its own first so
/// the error names the one at fault.
fn read_identity(cert_file: &Path, key_file: &Path) -> Result<reqwest::Identity, KojiError> {
    let cert = read_pem(cert_file, "client certificate", "CERTIFICATE-----")?;
    let key = read_pem(key_file, "client key", "PRIVATE KEY-----")?;
    let mut pem = cert;
    pem.push(b'\n');
    pem.extend_from_slice(&key);
    reqwest::Identity::from_pem(&pem).map_err(|error| KojiError::InvalidFile {
        role: "client certificate/key",
        path: cert_file.to_owned(),
        reason: format!("with key {}: {error}", key_file.display()),
    })
}

fn read_pem(path: &Path, role: &'static str, marker: &str) -> Result<Vec<u8>, KojiError> {
    let pem = std::fs::read(path).map_err(|source| KojiError::ReadFile {
        role,
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&pem);
    if !text.contains("-----BEGIN ") || !text.contains(marker) {
        return Err(KojiError::InvalidFile {
            role,
            path: path.to_owned(),
            reason: format!("no PEM block ending in {marker:?}"),
        });
    }
    Ok(pem)
}
