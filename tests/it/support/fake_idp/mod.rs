//! A fake OIDC provider shaped like Fedora's Ipsilon (`/openidc/...`): discovery, the token endpoint
//! (`refresh_token` and `authorization_code` grants, OAuth JSON errors, rotated refresh tokens), the
//! authorization endpoint answering a `Negotiate` request with `<title>code=…&state=…</title>` (any token,
//! or, in Kerberos mode, one that verifies against the private KDC and names a known principal, with the
//! redirect to `redirect_uri` instead of the page when `oob` is not offered), and the token registry the
//! fake Bodhi introspects bearer tokens against.
//! Tests control expiry and revocation, read request counts and a journal shared with the fake Bodhi
//! (the order of the whole login), and get token files in bodhi-client's layout.

mod authorization;

use super::fake_http::{
    ServerThread, Traffic, injected_reply, json_reply, lock, query_pairs, reply,
};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// The public client Fedora registers for bodhi-client.
pub const CLIENT_ID: &str = "bodhi-client";
/// The FAS account the fake's tokens belong to.
pub const USER: &str = "fedflow-bot";
const ACCESS_LIFETIME_SECS: u64 = 3600;
const SCOPES: &str = "openid email profile https://id.fedoraproject.org/scope/groups https://id.fedoraproject.org/scope/agreements";

#[derive(Default)]
struct IdpState {
    traffic: Traffic,
    /// Access token → (user, expiry in Unix seconds).
    access: HashMap<String, (String, u64)>,
    /// Valid refresh tokens → user.
    refresh: HashMap<String, String>,
    /// Authorization codes → (redirect_uri, user).
    codes: HashMap<String, (String, String)>,
    /// Every token and code handed out, so tests can check none leaks.
    issued: Vec<String>,
    /// The IdP's and the linked fake Bodhi's requests, in order, as `<server> <METHOD> <path>`.
    journal: Vec<String>,
    login: authorization::Login,
}

impl IdpState {
    fn mint(&mut self, kind: &str) -> String {
        let secret = format!(
            "{kind}-{:016x}{:016x}",
            fastrand::u64(..),
            fastrand::u64(..)
        );
        self.issued.push(secret.clone());
        secret
    }

    /// A new access/refresh pair for `user`, as the token endpoint answers it.
    fn grant(&mut self, user: &str) -> Value {
        let access = self.mint("access");
        let refresh = self.mint("refresh");
        let id_token = self.mint("idtoken");
        self.access.insert(
            access.clone(),
            (user.to_owned(), now() + ACCESS_LIFETIME_SECS),
        );
        self.refresh.insert(refresh.clone(), user.to_owned());
        json!({"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_LIFETIME_SECS,
               "refresh_token": refresh, "id_token": id_token, "scope": SCOPES})
    }
}

type Shared = Arc<Mutex<IdpState>>;

pub struct FakeIdp {
    state: Shared,
    server: ServerThread,
    /// Reached as `localhost` (a Kerberos service name) instead of `127.0.0.1`.
    by_name: bool,
}

/// What the fake Bodhi shares with the IdP: bearer-token introspection and the journal.
#[derive(Clone)]
pub struct IdpLink {
    state: Shared,
}

impl IdpLink {
    /// The user of a valid, unexpired access token (Bodhi's introspection).
    pub fn user_of(&self, access_token: &str) -> Option<String> {
        let state = lock(&self.state);
        let (user, expires_at) = state.access.get(access_token)?;
        (*expires_at > now()).then(|| user.clone())
    }

    pub fn journal(&self, entry: String) {
        lock(&self.state).journal.push(entry);
    }
}

impl FakeIdp {
    pub fn start() -> FakeIdp {
        let state: Shared = Arc::default();
        let router = axum::Router::new()
            .route("/openidc/.well-known/openid-configuration", get(discovery))
            .route("/openidc/Token", axum::routing::post(token))
            .route("/openidc/Authorization", get(authorization::authorization))
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                recorded,
            ))
            .with_state(state.clone());
        FakeIdp {
            state,
            server: ServerThread::start("fake-idp", router),
            by_name: false,
        }
    }

    /// In Kerberos mode, reached as `http://localhost:<port>`: the authorization endpoint wants a ticket of
    /// the private KDC for `HTTP/localhost` naming `kdc::BOT` (account [`USER`]).
    #[cfg(feature = "kerberos")]
    pub fn start_kerberos(out_of_band: bool) -> FakeIdp {
        let mut idp = FakeIdp::start();
        idp.by_name = true;
        let accounts = HashMap::from([(crate::support::kdc::BOT.to_owned(), USER.to_owned())]);
        lock(&idp.state).login = authorization::Login::Kerberos {
            out_of_band,
            accounts,
        };
        idp
    }

    /// Kerberos mode: the principals the IdP knows from now on (none: every ticket is refused).
    #[cfg(feature = "kerberos")]
    pub fn set_kerberos_accounts(&self, accounts: &[(&str, &str)]) {
        if let authorization::Login::Kerberos {
            accounts: known, ..
        } = &mut lock(&self.state).login
        {
            *known = accounts
                .iter()
                .map(|(principal, user)| ((*principal).to_owned(), (*user).to_owned()))
                .collect();
        }
    }

    /// `http://127.0.0.1:<port>/openidc` (`localhost` in Kerberos mode), as configured in `oidc_issuer`.
    pub fn issuer(&self) -> String {
        let base = self.server.base_url();
        if self.by_name {
            format!("{}/openidc", base.replace("127.0.0.1", "localhost"))
        } else {
            format!("{base}/openidc")
        }
    }

    pub fn link(&self) -> IdpLink {
        IdpLink {
            state: self.state.clone(),
        }
    }

    /// Writes `client.json` in `dir` in bodhi-client's layout with a fresh access token (valid for an
    /// hour) and a refresh token, mode 0600.
    pub fn write_token_file(&self, dir: &Path) -> PathBuf {
        let grant = lock(&self.state).grant(USER);
        self.write_entry(dir, grant, now() + ACCESS_LIFETIME_SECS)
    }

    /// Like [`Self::write_token_file`], but the access token expired a minute ago (in the file and at
    /// the IdP): only the refresh token is usable.
    pub fn write_expired_token_file(&self, dir: &Path) -> PathBuf {
        let grant = {
            let mut state = lock(&self.state);
            let grant = state.grant(USER);
            state.access.clear();
            grant
        };
        self.write_entry(dir, grant, now() - 60)
    }

    fn write_entry(&self, dir: &Path, mut grant: Value, expires_at: u64) -> PathBuf {
        grant["expires_at"] = json!(expires_at);
        let document = json!({"tokens": {self.issuer(): grant}});
        let path = dir.join("client.json");
        std::fs::write(&path, document.to_string()).expect("write token file");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .expect("token file mode");
        path
    }

    /// Every access token issued so far stops working (Bodhi's introspection says inactive).
    pub fn expire_access_tokens(&self) {
        for (_, expires_at) in lock(&self.state).access.values_mut() {
            *expires_at = 0;
        }
    }

    /// Every refresh token issued so far is refused (`invalid_grant`).
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.state).refresh.clear();
    }

    /// Every token and code the fake handed out.
    pub fn issued_secrets(&self) -> Vec<String> {
        lock(&self.state).issued.clone()
    }

    /// Requests to the token endpoint so far.
    pub fn token_requests(&self) -> usize {
        lock(&self.state).traffic.count("/openidc/Token")
    }

    /// The IdP's requests and the linked fake Bodhi's, in order (`idp POST /openidc/Token`, `bodhi GET /csrf`).
    pub fn journal(&self) -> Vec<String> {
        lock(&self.state).journal.clone()
    }

    /// The next request whose `path?query` starts with `path_prefix` gets exactly this reply.
    #[allow(dead_code)]
    pub fn reply_next(&self, path_prefix: &str, status: u16, content_type: &str, body: &[u8]) {
        lock(&self.state)
            .traffic
            .reply_next(path_prefix, status, content_type, body);
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// `path?query` (or `path`), as the fakes' traffic logs record a request.
pub fn request_target(uri: &Uri) -> String {
    match uri.query() {
        Some(query) => format!("{}?{query}", uri.path()),
        None => uri.path().to_owned(),
    }
}

/// Logs every request (and into the journal); a pending injection answers instead of the route.
async fn recorded(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let uri = request.uri();
    let target = request_target(uri);
    let injection = {
        let mut state = lock(&state);
        state
            .journal
            .push(format!("idp {} {}", request.method(), uri.path()));
        state.traffic.record(&target)
    };
    match injection {
        Some(injection) => injected_reply(injection),
        None => next.run(request).await,
    }
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    json_reply(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

async fn not_found() -> Response {
    reply(404, "text/html", "Not Found")
}

async fn discovery(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let modes = match lock(&state).login {
        authorization::Login::Kerberos {
            out_of_band: false, ..
        } => vec!["query", "fragment", "form_post"],
        _ => vec!["query", "fragment", "form_post", "oob"],
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1");
    let issuer = format!("http://{host}/openidc");
    json_reply(
        200,
        &json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/Authorization"),
            "token_endpoint": format!("{issuer}/Token"),
            "userinfo_endpoint": format!("{issuer}/UserInfo"),
            "introspection_endpoint": format!("{issuer}/TokenInfo"),
            "response_types_supported": ["code", "id_token", "token", "code id_token"],
            "response_modes_supported": modes,
            "grant_types_supported": ["authorization_code", "implicit", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": SCOPES.split(' ').collect::<Vec<_>>(),
        }),
    )
}

async fn token(State(state): State<Shared>, body: Bytes) -> Response {
    let form = query_pairs(std::str::from_utf8(&body).ok());
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    if field("client_id") != Some(CLIENT_ID) {
        return oauth_error(401, "invalid_client", "Client authentication failed");
    }
    let mut state = lock(&state);
    match field("grant_type") {
        Some("refresh_token") => {
            let Some(old) = field("refresh_token") else {
                return oauth_error(400, "invalid_request", "Missing refresh_token");
            };
            // Rotation: the old refresh token is spent.
            let Some(user) = state.refresh.remove(old) else {
                return oauth_error(400, "invalid_grant", "Invalid refresh token");
            };
            json_reply(200, &state.grant(&user))
        }
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri)) = (field("code"), field("redirect_uri")) else {
                return oauth_error(400, "invalid_request", "Missing code or redirect_uri");
            };
            match state.codes.remove(code) {
                Some((expected, user)) if expected == redirect_uri => {
                    json_reply(200, &state.grant(&user))
                }
                Some(_) => oauth_error(400, "invalid_grant", "Redirect URI mismatch"),
                None => oauth_error(400, "invalid_grant", "Invalid authorization code"),
            }
        }
        _ => oauth_error(400, "unsupported_grant_type", "Unsupported grant type"),
    }
}
