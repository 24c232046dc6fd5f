//! The Bodhi REST client. Today it reads the active releases ([`BodhiClient::active_releases`]) and resolves
//! Packit's branch aliases against them ([`resolve_branches`]); update lookup and creation come later.

mod aliases;
mod error;
mod releases;

pub use aliases::resolve_branches;
pub use error::BodhiError;
pub use releases::Release;

use crate::net::BodyError;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::time::Duration;

/// Cap on one JSON answer; a page of 100 releases is about 100 KiB.
const MAX_JSON_BYTES: usize = 8 * 1024 * 1024;

/// Reader of a Bodhi instance (`https://bodhi.fedoraproject.org` in production).
#[derive(Clone, Debug)]
pub struct BodhiClient {
    http: reqwest::Client,
    base: Url,
    page_size: u32,
}

/// Bodhi's largest `rows_per_page`, and the default page size of list calls.
pub const MAX_PAGE_SIZE: u32 = 100;

impl BodhiClient {
    /// `timeout` bounds each request as a whole (connect, headers and body).
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, BodhiError> {
        let invalid = |reason: &str| BodhiError::InvalidBaseUrl {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        let base =
            Url::parse(base_url.trim_end_matches('/')).map_err(|err| invalid(&err.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("not an http(s) URL"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("must not carry a query or fragment"));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("fedflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(BodhiError::Client)?;
        Ok(BodhiClient {
            http,
            base,
            page_size: MAX_PAGE_SIZE,
        })
    }

    /// Rows per page for list calls, clamped to 1..=100 (default 100: the active releases fit in one page).
    pub fn with_page_size(mut self, rows: u32) -> Self {
        self.page_size = rows.clamp(1, MAX_PAGE_SIZE);
        self
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

    /// GET returning the parsed 200 body; every other status becomes an error carrying Bodhi's descriptions.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, BodhiError> {
        let path = url.path().to_owned();
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| BodhiError::from_transport(&path, err))?;
        let status = response.status();
        let body = read_limited(response, MAX_JSON_BYTES, &path).await;
        if status == StatusCode::OK {
            return serde_json::from_slice(&body?).map_err(|err| BodhiError::InvalidJson {
                path,
                detail: err.to_string(),
            });
        }
        let descriptions = body
            .map(|bytes| error_descriptions(&bytes))
            .unwrap_or_default();
        let status = status.as_u16();
        if status >= 500 || status == 429 {
            Err(BodhiError::ServerError {
                path,
                status,
                descriptions,
            })
        } else {
            Err(BodhiError::Rejected {
                path,
                status,
                descriptions,
            })
        }
    }
}

/// The body, at most `limit` bytes.
async fn read_limited(
    response: reqwest::Response,
    limit: usize,
    path: &str,
) -> Result<Vec<u8>, BodhiError> {
    crate::net::read_limited(response, limit)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge => BodhiError::TooLarge {
                path: path.to_owned(),
                limit,
            },
            BodyError::Transport(source) => BodhiError::from_transport(path, source),
        })
}

/// Cornice's error body: `{"status": "error", "errors": [{"location", "name", "description"}]}`.
#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    description: String,
}

/// The `description` of each error entry, verbatim (callers match on them); empty for other bodies.
fn error_descriptions(bytes: &[u8]) -> Vec<String> {
    serde_json::from_slice::<ErrorBody>(bytes)
        .map(|body| {
            body.errors
                .into_iter()
                .map(|entry| entry.description)
                .collect()
        })
        .unwrap_or_default()
}
