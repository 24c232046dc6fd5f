//! Errors of the Bodhi client, split into transient ones (retry later) and permanent ones.

/// Why a Bodhi call failed.
#[derive(Debug, thiserror::Error)]
pub enum BodhiError {
    #[error("invalid Bodhi base URL {url:?}: {reason}")]
    InvalidBaseUrl { url: String, reason: String },
    #[error("cannot build the Bodhi HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("Bodhi GET {path}: no answer within the timeout")]
    Timeout { path: String },
    #[error("Bodhi GET {path}: {source}")]
    Network {
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// HTTP 5xx or 429. `descriptions` are the `errors[].description` of a Cornice error body, if any.
    #[error(
        "Bodhi GET {path}: server answered HTTP {status}{}",
        describe(descriptions)
    )]
    ServerError {
        path: String,
        status: u16,
        descriptions: Vec<String>,
    },
    /// Any other non-200 answer (4xx), with Bodhi's error descriptions.
    #[error("Bodhi GET {path}: HTTP {status}{}", describe(descriptions))]
    Rejected {
        path: String,
        status: u16,
        descriptions: Vec<String>,
    },
    #[error("Bodhi GET {path}: body exceeds the {limit}-byte limit")]
    TooLarge { path: String, limit: usize },
    /// A 200 answer that is not the expected JSON (a proxy error page, a truncated body).
    #[error("Bodhi GET {path}: unexpected body: {detail}")]
    InvalidJson { path: String, detail: String },
    /// Paging that does not end (`pages` growing, or more pages than any real release list has).
    #[error("Bodhi GET {path}: paging did not end after {pages} pages")]
    Paging { path: String, pages: u64 },
}

fn describe(descriptions: &[String]) -> String {
    if descriptions.is_empty() {
        String::new()
    } else {
        format!(": {}", descriptions.join("; "))
    }
}

impl BodhiError {
    /// Stable snake_case label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidBaseUrl { .. } => "invalid_base_url",
            Self::Client(_) => "client",
            Self::Timeout { .. } => "timeout",
            Self::Network { .. } => "network",
            Self::ServerError { .. } => "server_error",
            Self::Rejected { .. } => "rejected",
            Self::TooLarge { .. } => "too_large",
            Self::InvalidJson { .. } => "invalid_json",
            Self::Paging { .. } => "paging",
        }
    }

    /// True when asking again later may succeed. A garbled 200 counts as transient: Bodhi behind a failing
    /// proxy answers like that, and the releases list is needed for every decision.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::Network { .. }
                | Self::ServerError { .. }
                | Self::InvalidJson { .. }
        )
    }

    /// The `description`s Bodhi gave for a rejected or failed request (empty when the body had none).
    pub fn descriptions(&self) -> &[String] {
        match self {
            Self::ServerError { descriptions, .. } | Self::Rejected { descriptions, .. } => {
                descriptions
            }
            _ => &[],
        }
    }

    pub(crate) fn from_transport(path: &str, source: reqwest::Error) -> BodhiError {
        if source.is_timeout() {
            BodhiError::Timeout {
                path: path.to_owned(),
            }
        } else {
            BodhiError::Network {
                path: path.to_owned(),
                source,
            }
        }
    }
}
