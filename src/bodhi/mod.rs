//! The Bodhi REST client: the active releases ([`BodhiClient::active_releases`]) and Packit's branch aliases
//! resolved against them ([`resolve_branches`]), the updates of a build ([`BodhiClient::updates_for_build`])
//! and update creation ([`BodhiClient::create_update`]) with the OIDC/cookie/CSRF login it needs
//! ([`BodhiAuth`]). This module owns the HTTP plumbing the calls share: bounded bodies, Cornice error
//! bodies, paging.

mod aliases;
mod cookies;
mod error;
mod idp;
#[cfg(feature = "kerberos")]
mod kerberos;
mod login;
mod releases;
mod tokens;
mod tokens_file;
mod updates;

pub use aliases::resolve_branches;
pub use error::BodhiError;
pub use login::BodhiAuth;
pub use releases::Release;
pub use updates::{NewUpdate, Update};

use crate::metrics::{OK, RemoteCalls};
use crate::net::BodyError;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// Cap on one JSON answer; a page of 100 releases is about 100 KiB, a page of 100 updates a few MiB.
const MAX_JSON_BYTES: usize = 8 * 1024 * 1024;

/// More pages than any real list fedflow asks for needs: a server that keeps paging is misbehaving.
const MAX_PAGES: u64 = 100;

/// Client of a Bodhi instance (`https://bodhi.fedoraproject.org` in production). Clones share the
/// connection pool and, with credentials, one login session.
#[derive(Clone, Debug)]
pub struct BodhiClient {
    http: reqwest::Client,
    base: Url,
    page_size: u32,
    login: Option<Arc<login::Login>>,
    calls: RemoteCalls,
    /// Each request's bound, also for the identity provider's during a login.
    timeout: Duration,
}

/// Bodhi's largest `rows_per_page`, and the default page size of list calls.
pub const MAX_PAGE_SIZE: u32 = 100;

impl BodhiClient {
    /// `timeout` bounds each request as a whole (connect, headers and body). The client is read-only
    /// until [`Self::with_auth`] gives it credentials.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, BodhiError> {
        let base = crate::net::base_url(base_url).map_err(|reason| BodhiError::InvalidBaseUrl {
            url: base_url.to_owned(),
            reason,
        })?;
        let http = crate::net::rest_client(timeout).map_err(BodhiError::Client)?;
        Ok(BodhiClient {
            http,
            base,
            page_size: MAX_PAGE_SIZE,
            login: None,
            calls: RemoteCalls::default(),
            timeout,
        })
    }

    /// Rows per page for list calls, clamped to 1..=100 (default 100: the active releases fit in one page).
    pub fn with_page_size(mut self, rows: u32) -> Self {
        self.page_size = rows.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// Where calls are counted and timed (by `<HTTP method> <path>` and outcome).
    pub fn with_metrics(mut self, calls: RemoteCalls) -> Self {
        self.calls = calls;
        self
    }

    /// Credentials for write calls. Nothing is read or requested until the first write call.
    pub fn with_auth(mut self, auth: BodhiAuth) -> Self {
        self.login = login::Login::new(auth, self.timeout).map(Arc::new);
        self
    }

    /// Whether write calls ([`Self::create_update`]) can authenticate at all.
    pub fn can_write(&self) -> bool {
        self.login.is_some()
    }

    /// `base` + `segments` (each percent-encoded) + a trailing slash, as Bodhi's collection routes expect.
    fn collection_url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments).push("");
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// `base` + `segments`, without a trailing slash (`/csrf`, `/oidc/login-token`).
    fn resource_url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// GET returning the parsed 200 body; every other status becomes an error carrying Bodhi's descriptions.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, BodhiError> {
        let path = url.path().to_owned();
        let request = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        let answer = self.send(request, "GET", &path).await?;
        if answer.status != StatusCode::OK {
            return Err(answer.into_error("GET", &path));
        }
        parse_json("GET", &path, &answer.body?)
    }

    /// Every page of a Bodhi list (`{"<items>": [...], "page", "pages", ...}`): `query` plus
    /// `rows_per_page` and `page`, following `pages` up to [`MAX_PAGES`].
    async fn get_all_pages<T: serde::de::DeserializeOwned>(
        &self,
        collection: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, BodhiError> {
        let mut items = Vec::new();
        let rows = self.page_size.to_string();
        let mut page: u64 = 1;
        loop {
            let page_text = page.to_string();
            let mut pairs = query.to_vec();
            pairs.extend([("rows_per_page", rows.as_str()), ("page", &page_text)]);
            let url = self.collection_url(&[collection], &pairs);
            let path = url.path().to_owned();
            let answer: Page<T> = self.get_json(url).await?;
            items.extend(answer.items);
            if page >= answer.pages {
                return Ok(items);
            }
            if page >= MAX_PAGES {
                return Err(BodhiError::Paging {
                    method: "GET",
                    path,
                    pages: page,
                });
            }
            page += 1;
        }
    }
}

/// One page of a Bodhi list; the items sit under the collection's name.
#[derive(Deserialize)]
struct Page<T> {
    #[serde(alias = "releases", alias = "updates")]
    items: Vec<T>,
    pages: u64,
}

/// A response read whole. A body that could not be read is kept as the error, so that a failed status
/// still reports as such.
struct Answer {
    status: StatusCode,
    /// The raw `Set-Cookie` values (login and CSRF answers carry the session cookies).
    set_cookies: Vec<String>,
    body: Result<Vec<u8>, BodhiError>,
}

impl Answer {
    /// The error for a non-success answer, with Bodhi's descriptions.
    fn into_error(self, method: &'static str, path: &str) -> BodhiError {
        let descriptions = self
            .body
            .map(|bytes| error_entries(&bytes))
            .unwrap_or_default()
            .into_iter()
            .map(|entry| entry.description)
            .collect();
        BodhiError::from_status(method, path, self.status.as_u16(), descriptions)
    }
}

impl BodhiClient {
    /// The one funnel of Bodhi calls: sends, reads the answer whole, and counts the call with its outcome
    /// (`ok`, or the kind of error the answer amounts to).
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        method: &'static str,
        path: &str,
    ) -> Result<Answer, BodhiError> {
        let started = std::time::Instant::now();
        let result = send_unmeasured(request, method, path).await;
        let outcome = match &result {
            Ok(answer) if answer.status.is_success() => OK,
            Ok(answer) => {
                BodhiError::from_status(method, path, answer.status.as_u16(), Vec::new()).kind()
            }
            Err(error) => error.kind(),
        };
        self.calls
            .record(&format!("{method} {path}"), outcome, started.elapsed());
        result
    }
}

async fn send_unmeasured(
    request: reqwest::RequestBuilder,
    method: &'static str,
    path: &str,
) -> Result<Answer, BodhiError> {
    let response = request
        .send()
        .await
        .map_err(|err| BodhiError::from_transport(method, path, err))?;
    let status = response.status();
    let set_cookies = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(str::to_owned)
        .collect();
    let body = read_limited(response, MAX_JSON_BYTES, method, path).await;
    Ok(Answer {
        status,
        set_cookies,
        body,
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(
    method: &'static str,
    path: &str,
    body: &[u8],
) -> Result<T, BodhiError> {
    serde_json::from_slice(body).map_err(|err| BodhiError::InvalidJson {
        method,
        path: path.to_owned(),
        detail: err.to_string(),
    })
}

/// The body, at most `limit` bytes.
async fn read_limited(
    response: reqwest::Response,
    limit: usize,
    method: &'static str,
    path: &str,
) -> Result<Vec<u8>, BodhiError> {
    crate::net::read_limited(response, limit)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge => BodhiError::TooLarge {
                method,
                path: path.to_owned(),
                limit,
            },
            BodyError::Transport(source) => BodhiError::from_transport(method, path, source),
        })
}

/// Cornice's error body: `{"status": "error", "errors": [{"location", "name", "description"}]}`.
#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    /// Null in the errors Bodhi's exception views add.
    #[serde(default)]
    name: Option<String>,
    description: String,
}

/// Each error entry, descriptions verbatim (callers match on them); empty for other bodies.
fn error_entries(bytes: &[u8]) -> Vec<ErrorEntry> {
    serde_json::from_slice::<ErrorBody>(bytes)
        .map(|body| body.errors)
        .unwrap_or_default()
}
