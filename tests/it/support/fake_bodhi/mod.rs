//! A fake Bodhi: `GET /releases/` ([`releases`]), `GET` and `POST /updates/` with Bodhi's validators and
//! messages ([`updates`], [`validate`]), and the login routes `/oidc/login-token` and `/csrf` with
//! Pyramid's two cookies ([`session`]). Bearer tokens are checked against a [`FakeIdp`]'s registry. Tests
//! seed releases, Koji builds with their tags and existing updates, read what was posted (and when each
//! update was created), expire sessions, and inject one-shot replies or a probabilistic chaos mode; every
//! route answers Cornice error bodies like the real server.

mod releases;
mod session;
mod updates;
mod validate;

pub use releases::realistic_releases;

use super::chaos::{Chaos, ChaosSettings, Fault};
use super::fake_http::{
    ServerThread, Traffic, html_error_page, injected_reply, json_reply, lock, query_pairs, reply,
};
use super::fake_idp::{FakeIdp, IdpLink, request_target};
use axum::extract::{Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

#[derive(Default)]
struct BodhiState {
    traffic: Traffic,
    /// `http://127.0.0.1:<port>`, for the `url` of created updates.
    base_url: String,
    releases: Vec<Value>,
    /// The Koji builds Bodhi can see, with their tags.
    builds: BTreeMap<String, Vec<String>>,
    /// Oldest first; listed newest first.
    updates: Vec<Value>,
    /// The fields of each `POST /updates/`, JSON or form, as a JSON object.
    posts: Vec<Value>,
    /// `auth_tkt` cookie value → user.
    tickets: HashMap<String, String>,
    /// `session` cookie value → its CSRF token.
    sessions: HashMap<String, String>,
    idp: Option<IdpLink>,
    /// The next successful `POST /updates/` creates the update and then never answers.
    hang_after_create: bool,
    /// When each update a `POST /updates/` created was made: alias → time.
    created_at: HashMap<String, SystemTime>,
    /// Probabilistic faults for requests without a one-shot injection.
    chaos: Option<Chaos>,
}

type Shared = Arc<Mutex<BodhiState>>;

pub struct FakeBodhi {
    state: Shared,
    server: ServerThread,
}

impl FakeBodhi {
    /// A Bodhi without an identity provider: every bearer token is refused.
    pub fn start() -> FakeBodhi {
        Self::start_inner(None)
    }

    /// A Bodhi that accepts the access tokens `idp` issued (and writes to its journal).
    pub fn start_with_idp(idp: &FakeIdp) -> FakeBodhi {
        Self::start_inner(Some(idp.link()))
    }

    fn start_inner(idp: Option<IdpLink>) -> FakeBodhi {
        let state: Shared = Arc::new(Mutex::new(BodhiState {
            idp,
            ..BodhiState::default()
        }));
        let router = axum::Router::new()
            .route("/releases/", get(releases::list))
            .route("/updates/", get(updates::list).post(updates::create))
            .route("/oidc/login-token", get(session::login_token))
            .route("/csrf", get(session::csrf))
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                recorded,
            ))
            .with_state(state.clone());
        let server = ServerThread::start("fake-bodhi", router);
        lock(&state).base_url = server.base_url().to_owned();
        FakeBodhi { state, server }
    }

    pub fn base_url(&self) -> &str {
        self.server.base_url()
    }

    /// Release JSON objects as Bodhi serves them (see [`realistic_releases`]), in Bodhi's order (by name).
    pub fn set_releases(&self, releases: Vec<Value>) {
        lock(&self.state).releases = releases;
    }

    /// Makes `nvr` a Koji build Bodhi can see, with no tags yet.
    pub fn add_build(&self, nvr: &str) {
        lock(&self.state).builds.entry(nvr.to_owned()).or_default();
    }

    /// Koji tagged `nvr` into `tag` (the build becomes known if it was not).
    pub fn tag_build(&self, nvr: &str, tag: &str) {
        let mut state = lock(&self.state);
        let tags = state.builds.entry(nvr.to_owned()).or_default();
        if !tags.iter().any(|known| known == tag) {
            tags.push(tag.to_owned());
        }
    }

    /// An update that exists already (created by hand or by Bodhi's automatic-update consumer), in
    /// Bodhi's JSON (`alias`, `status`, `builds: [{"nvr"}]`, `release: {"name"}`, …).
    pub fn add_update(&self, update: Value) {
        lock(&self.state).updates.push(update);
    }

    /// Every update, oldest first.
    pub fn updates(&self) -> Vec<Value> {
        lock(&self.state).updates.clone()
    }

    /// The updates after the first `count`, oldest first (those made since a caller last looked).
    #[allow(dead_code)]
    pub fn updates_since(&self, count: usize) -> Vec<Value> {
        let state = lock(&self.state);
        state.updates.iter().skip(count).cloned().collect()
    }

    /// The fields of every `POST /updates/` so far, whether Bodhi accepted it or not.
    pub fn posts(&self) -> Vec<Value> {
        lock(&self.state).posts.clone()
    }

    /// The live `auth_tkt` tickets, `session` ids and CSRF tokens, so tests can check none leaks.
    pub fn session_secrets(&self) -> Vec<String> {
        let state = lock(&self.state);
        let tickets = state.tickets.keys().cloned();
        let sessions = state
            .sessions
            .iter()
            .flat_map(|(id, csrf)| [id.clone(), csrf.clone()]);
        tickets.chain(sessions).collect()
    }

    /// Forgets every login: `auth_tkt` and `session` cookies issued so far are refused.
    pub fn expire_sessions(&self) {
        let mut state = lock(&self.state);
        state.tickets.clear();
        state.sessions.clear();
    }

    /// The next accepted `POST /updates/` creates the update and then hangs instead of answering.
    #[allow(dead_code)]
    pub fn hang_after_next_create(&self) {
        lock(&self.state).hang_after_create = true;
    }

    /// The next request answers `status` with a Cornice error body.
    pub fn fail_next(&self, status: u16) {
        let body = cornice_error("body", "", &format!("fake failure with HTTP {status}"));
        self.reply_next("/", status, "application/json", body.to_string().as_bytes());
    }

    /// The next request whose `path?query` starts with `path_prefix` gets exactly this reply.
    pub fn reply_next(&self, path_prefix: &str, status: u16, content_type: &str, body: &[u8]) {
        lock(&self.state)
            .traffic
            .reply_next(path_prefix, status, content_type, body);
    }

    /// Every request so far as `path?query`.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).traffic.requests.clone()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.state).traffic.requests.len()
    }

    /// When each update a `POST /updates/` created was made: alias → time.
    #[allow(dead_code)]
    pub fn created_at(&self) -> HashMap<String, SystemTime> {
        lock(&self.state).created_at.clone()
    }

    /// Chaos mode: from now on a share of all requests (one-shot injections aside) gets a 5xx, a timeout
    /// without effect or a hang after the work, drawn from a seeded RNG ([`super::chaos`]).
    #[allow(dead_code)]
    pub fn set_chaos(&self, settings: ChaosSettings) {
        lock(&self.state).chaos = Some(Chaos::new(settings));
    }

    /// What the chaos mode injected so far: `(method and path, fault label)` → count.
    #[allow(dead_code)]
    pub fn chaos_injected(&self) -> BTreeMap<(String, String), u64> {
        lock(&self.state)
            .chaos
            .as_ref()
            .map(Chaos::injected)
            .unwrap_or_default()
    }
}

fn cornice_error(location: &str, name: &str, description: &str) -> Value {
    json!({"status": "error", "errors": [{"location": location, "name": name, "description": description}]})
}

/// A Cornice error body with several `(name, description)` entries at `location`.
fn cornice_errors(location: &str, errors: &[(String, String)]) -> Value {
    let errors: Vec<Value> = errors
        .iter()
        .map(|(name, description)| json!({"location": location, "name": name, "description": description}))
        .collect();
    json!({"status": "error", "errors": errors})
}

/// Logs every request (and into the IdP's journal); a pending injection answers instead of the route, else
/// the chaos mode may draw a fault for it.
async fn recorded(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let uri = request.uri();
    let target = request_target(uri);
    let call = format!("{} {}", request.method(), uri.path());
    let (injection, fault) = {
        let mut state = lock(&state);
        if let Some(idp) = &state.idp {
            idp.journal(format!("bodhi {call}"));
        }
        let injection = state.traffic.record(&target);
        let fault = match (&injection, state.chaos.as_mut()) {
            (None, Some(chaos)) => chaos.roll(&call),
            _ => None,
        };
        (injection, fault)
    };
    match (injection, fault) {
        (Some(injection), _) => injected_reply(injection),
        (None, None) => next.run(request).await,
        (None, Some(Fault::Status(status))) => reply(
            status,
            "text/html",
            html_error_page(status, "Service Unavailable"),
        ),
        (None, Some(Fault::Timeout(stall))) => {
            tokio::time::sleep(stall).await;
            reply(504, "text/html", html_error_page(504, "Gateway Timeout"))
        }
        (None, Some(Fault::HangAfterWork(stall))) => {
            let response = next.run(request).await;
            tokio::time::sleep(stall).await;
            response
        }
    }
}

async fn not_found() -> Response {
    json_reply(
        404,
        &cornice_error("url", "", "The resource could not be found."),
    )
}

/// One page of `items` by Bodhi's paging rules (`rows_per_page` 1..=`max_rows`, default 20; `page` ≥ 1),
/// answered as `{"<key>": [...], "page", "pages", "rows_per_page", "total"}`, or the 400 Bodhi gives.
fn paged(query: &[(String, String)], key: &str, items: Vec<Value>, max_rows: u64) -> Response {
    let number = |name: &str, default: u64| -> Result<u64, (String, String)> {
        match query.iter().rev().find(|(key, _)| key == name) {
            None => Ok(default),
            Some((_, value)) => value
                .parse::<u64>()
                .map_err(|_| (name.to_owned(), format!("\"{value}\" is not a number"))),
        }
    };
    let (rows, page) =
        match number("rows_per_page", 20).and_then(|rows| Ok((rows, number("page", 1)?))) {
            Ok(numbers) => numbers,
            Err(error) => return json_reply(400, &cornice_errors("querystring", &[error])),
        };
    if rows == 0 || rows > max_rows {
        let bound = if rows == 0 {
            "less than minimum value 1".to_owned()
        } else {
            format!("greater than maximum value {max_rows}")
        };
        return json_reply(
            400,
            &cornice_error(
                "querystring",
                "rows_per_page",
                &format!("{rows} is {bound}"),
            ),
        );
    }
    if page == 0 {
        return json_reply(
            400,
            &cornice_error("querystring", "page", "0 is less than minimum value 1"),
        );
    }
    let total = items.len() as u64;
    let start = usize::try_from((page - 1).saturating_mul(rows)).unwrap_or(usize::MAX);
    let on_page: Vec<Value> = items.into_iter().skip(start).take(rows as usize).collect();
    json_reply(
        200,
        &json!({key: on_page, "page": page, "pages": total.div_ceil(rows), "rows_per_page": rows, "total": total}),
    )
}

/// Query values of `name`, each split on commas (Bodhi's list filters take both forms).
fn query_list(query: &[(String, String)], name: &str) -> Vec<String> {
    query
        .iter()
        .filter(|(key, _)| key == name)
        .flat_map(|(_, value)| {
            value
                .split(',')
                .map(str::trim)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|value| !value.is_empty())
        .collect()
}

/// `query_pairs` for handlers that only have the URI.
fn query_of(uri: &Uri) -> Vec<(String, String)> {
    query_pairs(uri.query())
}
