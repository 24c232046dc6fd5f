//! The server: binding, the routes, graceful stop, and what the handlers share (the daemon's state, store
//! reads off the async threads, the pipeline query string).

use super::error::ApiError;
use super::{api, copr, health, metrics, pages};
use crate::config::{HttpSettings, Settings};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::pipeline::view::{self, Filter};
use crate::status::LiveStatus;
use crate::store::{Store, StoreError};
use anyhow::Context;
use axum::Router;
use axum::http::{Method, StatusCode};
use axum::routing::get;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Listings show this many pipelines unless asked otherwise, and never more than [`MAX_LIMIT`].
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;

/// What the handlers read: the daemon's own store, live status, settings and metrics.
pub struct HttpState {
    pub store: Arc<Store>,
    pub live: Arc<LiveStatus>,
    pub settings: watch::Receiver<Arc<Settings>>,
    pub metrics: Arc<Metrics>,
    /// Built once; a scrape refreshes the state-derived values first, one scrape at a time.
    pub(super) registry: tokio::sync::Mutex<Registry>,
}

impl HttpState {
    pub fn new(
        store: Arc<Store>,
        live: Arc<LiveStatus>,
        settings: watch::Receiver<Arc<Settings>>,
        metrics: Arc<Metrics>,
    ) -> HttpState {
        let registry = tokio::sync::Mutex::new(metrics.registry());
        HttpState {
            store,
            live,
            settings,
            metrics,
            registry,
        }
    }

    pub(super) fn settings(&self) -> Arc<Settings> {
        self.settings.borrow().clone()
    }

    /// Runs a store read on the blocking pool: sled reads decode JSON and may touch the disk.
    pub(super) async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&HttpState) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || read(&state)).await?
    }
}

/// A running server (see [`start`]).
pub struct Running {
    task: tokio::task::JoinHandle<()>,
}

/// How long requests in flight may take to finish once the daemon stops; they only read.
const STOP_GRACE: Duration = Duration::from_secs(1);

impl Running {
    /// Waits for the server to finish after the daemon's shutdown signal; a client that keeps a connection
    /// open past the grace period is cut off.
    pub async fn stopped(mut self) {
        if tokio::time::timeout(STOP_GRACE, &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

/// Binds `settings.listen` (a taken port or a foreign address fails the daemon's start), records the bound
/// address in the live status, and serves until `shutdown` turns true. `None` when the page is turned off.
pub async fn start(
    settings: &HttpSettings,
    state: HttpState,
    shutdown: &watch::Sender<bool>,
) -> anyhow::Result<Option<Running>> {
    let Some(address) = settings.listen else {
        return Ok(None);
    };
    let listener = bind(address).await?;
    let bound = listener
        .local_addr()
        .context("reading the HTTP server's address")?;
    state.live.set_http_address(bound);
    tracing::info!(address = %bound, "status page listening");
    let task = tokio::spawn(serve(listener, Arc::new(state), shutdown.subscribe()));
    Ok(Some(Running { task }))
}

async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).await.with_context(|| {
        format!(
            "cannot listen on {address} (http.listen); set another address, or \"\" to turn the status page off"
        )
    })
}

fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/", get(pages::pipelines))
        .route("/pipelines/{id}", get(pages::pipeline))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/pipelines", get(api::pipelines))
        .route("/api/v1/pipelines/{id}", get(api::pipeline))
        .route("/copr", get(copr::page))
        .route("/api/v1/copr/builds", get(copr::builds))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .fallback(unknown_route)
        .with_state(state)
}

/// Serves until `shutdown` turns true, then finishes the requests in flight. The page is an observer: if
/// serving ever fails, the daemon goes on without it and says so.
pub async fn serve(
    listener: TcpListener,
    state: Arc<HttpState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await;
    if let Err(error) = served {
        tracing::error!(%error, "the status page stopped serving");
    }
}

/// Read-only: a path nobody serves is 404 for a read and 405 for anything else.
async fn unknown_route(method: Method) -> (StatusCode, &'static str) {
    if method == Method::GET || method == Method::HEAD {
        (StatusCode::NOT_FOUND, "not found\n")
    } else {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: this server is read-only\n",
        )
    }
}

/// `?package=&branch=&state=&limit=`, as the page's form and API clients send it; empty means any.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PipelineQuery {
    pub package: Option<String>,
    pub branch: Option<String>,
    pub state: Option<String>,
    pub limit: Option<String>,
}

impl PipelineQuery {
    pub fn filter(&self) -> Result<Filter, ApiError> {
        Ok(Filter {
            package: given(self.package.as_deref()),
            branch: given(self.branch.as_deref()),
            state: given(self.state.as_deref()),
            limit: limit(self.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT, "a number")?,
        })
    }
}

/// A query parameter as given, trimmed; empty means not given.
pub(super) fn given(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `?limit=`: `default` when not given, else a number from 1 to `max`; `what` names the unit in the error.
pub(super) fn limit(
    value: Option<&str>,
    default: usize,
    max: usize,
    what: &str,
) -> Result<usize, ApiError> {
    match given(value) {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "limit: expected {what} from 1 to {max}, got {text:?}"
            ))),
        },
    }
}

/// The query string, or a 400 that says what was wrong with it.
pub(super) fn query_params<T>(
    query: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    query
        .map(|q| q.0)
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
}

/// The newest pipelines the filter admits.
pub(super) fn list_pipelines(store: &Store, filter: &Filter) -> Result<Vec<Pipeline>, StoreError> {
    Ok(filter.apply(store.pipelines(view::LISTED)?))
}

/// A pipeline by its id in the path; 400 for what is no id, 404 for an unknown one.
pub(super) fn find_pipeline(store: &Store, id: &str) -> Result<Pipeline, ApiError> {
    let number = id
        .parse::<u64>()
        .map_err(|_| ApiError::BadRequest(format!("not a pipeline id: {id:?}")))?;
    store
        .pipeline(number)?
        .ok_or_else(|| ApiError::NotFound(format!("there is no pipeline {number}")))
}
