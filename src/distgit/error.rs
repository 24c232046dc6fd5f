//! Errors of the dist-git client, split into transient ones (retry later) and permanent ones.

/// Why a dist-git read failed. "Not found" is never an error: the client returns `Ok(None)` for it.
#[derive(Debug, thiserror::Error)]
pub enum DistGitError {
    #[error("invalid dist-git base URL {url:?}: {reason}")]
    InvalidBaseUrl { url: String, reason: String },
    #[error("cannot build the dist-git HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// A package, group or ref name from the bus that cannot safely become a URL path segment.
    #[error("invalid {what} name {value:?}: {reason}")]
    InvalidName {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("dist-git GET {path}: no answer within the timeout")]
    Timeout { path: String },
    #[error("dist-git GET {path}: {source}")]
    Network {
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// HTTP 5xx, or 429 (rate limited).
    #[error("dist-git GET {path}: server answered HTTP {status}")]
    ServerError { path: String, status: u16 },
    /// A 4xx that does not mean "missing" (403, 400, or a 404 that is not Pagure's own "not found").
    #[error("dist-git GET {path}: HTTP {status}: {detail}")]
    UnexpectedStatus {
        path: String,
        status: u16,
        detail: String,
    },
    #[error("dist-git GET {path}: body exceeds the {limit}-byte limit")]
    TooLarge { path: String, limit: usize },
    #[error("dist-git GET {path}: file is not UTF-8")]
    InvalidUtf8 { path: String },
    /// A 200 answer on a JSON endpoint whose body is not the expected JSON (a proxy error page, a truncated body).
    #[error("dist-git GET {path}: unexpected body: {detail}")]
    InvalidJson { path: String, detail: String },
}

impl DistGitError {
    /// Stable snake_case label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidBaseUrl { .. } => "invalid_base_url",
            Self::Client(_) => "client",
            Self::InvalidName { .. } => "invalid_name",
            Self::Timeout { .. } => "timeout",
            Self::Network { .. } => "network",
            Self::ServerError { .. } => "server_error",
            Self::UnexpectedStatus { .. } => "unexpected_status",
            Self::TooLarge { .. } => "too_large",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::InvalidJson { .. } => "invalid_json",
        }
    }

    /// True when asking again later may succeed. A garbled 200 on a JSON endpoint counts as transient: the
    /// server, not the package, is at fault, and treating it as final would silently drop the event.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::Network { .. }
                | Self::ServerError { .. }
                | Self::InvalidJson { .. }
        )
    }

    pub(crate) fn from_transport(path: &str, source: reqwest::Error) -> DistGitError {
        if source.is_timeout() {
            DistGitError::Timeout {
                path: path.to_owned(),
            }
        } else {
            DistGitError::Network {
                path: path.to_owned(),
                source,
            }
        }
    }
}
