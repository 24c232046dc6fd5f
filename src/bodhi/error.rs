//! Errors of the Bodhi client, split into transient ones (retry later) and permanent ones, with the
//! classifications the update pipeline decides on (already exists, tagging race, login failed for good).

/// Why a Bodhi call failed. No variant ever carries a token, a cookie or a CSRF token.
#[derive(Debug, thiserror::Error)]
pub enum BodhiError {
    #[error("invalid Bodhi base URL {url:?}: {reason}")]
    InvalidBaseUrl { url: String, reason: String },
    #[error("cannot build the Bodhi HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("Bodhi {method} {path}: no answer within the timeout")]
    Timeout { method: &'static str, path: String },
    #[error("Bodhi {method} {path}: {source}")]
    Network {
        method: &'static str,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// HTTP 5xx or 429. `descriptions` are the `errors[].description` of a Cornice error body, if any.
    #[error(
        "Bodhi {method} {path}: server answered HTTP {status}{}",
        describe(descriptions)
    )]
    ServerError {
        method: &'static str,
        path: String,
        status: u16,
        descriptions: Vec<String>,
    },
    /// Any other non-success answer (4xx), with Bodhi's error descriptions verbatim.
    #[error("Bodhi {method} {path}: HTTP {status}{}", describe(descriptions))]
    Rejected {
        method: &'static str,
        path: String,
        status: u16,
        descriptions: Vec<String>,
    },
    #[error("Bodhi {method} {path}: body exceeds the {limit}-byte limit")]
    TooLarge {
        method: &'static str,
        path: String,
        limit: usize,
    },
    /// A success answer that is not the expected JSON (a proxy error page, a truncated body).
    #[error("Bodhi {method} {path}: unexpected body: {detail}")]
    InvalidJson {
        method: &'static str,
        path: String,
        detail: String,
    },
    /// Paging that does not end (`pages` growing, or more pages than any real list has).
    #[error("Bodhi {method} {path}: paging did not end after {pages} pages")]
    Paging {
        method: &'static str,
        path: String,
        pages: u64,
    },
    /// A write call on a client built without credentials ([`super::BodhiAuth::None`]).
    #[error("Bodhi {method} {path}: this client has no credentials for write calls")]
    ReadOnly { method: &'static str, path: String },
    /// Login failed for good: the token file is unusable, the IdP refused the refresh token, or Bodhi
    /// refused a fresh login. The operator has to act (seed a new token file, fix the account).
    #[error("Bodhi login failed: {reason}")]
    Auth { reason: String },
    /// The OIDC provider could not be reached or answered with a server error; a later login may work.
    #[error("OIDC provider {url}: {detail}")]
    IdpUnavailable { url: String, detail: String },
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
            Self::ReadOnly { .. } => "read_only",
            Self::Auth { .. } => "auth",
            Self::IdpUnavailable { .. } => "idp_unavailable",
        }
    }

    /// True when asking again later may succeed. A garbled 200 counts as transient: Bodhi behind a failing
    /// proxy answers like that. Auth errors and 4xx rejections are permanent; whether the tagging race
    /// (a 400) is worth a retry is the caller's decision ([`Self::is_tagging_race`]).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::Network { .. }
                | Self::ServerError { .. }
                | Self::InvalidJson { .. }
                | Self::IdpUnavailable { .. }
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

    /// Bodhi refused the update because one of its builds already belongs to an update that is not
    /// unpushed (`Update for <nvr> already exists`, bodhi.md §3).
    pub fn is_already_exists(&self) -> bool {
        self.rejection_matches(|description| {
            description
                .strip_prefix("Update for ")
                .and_then(|rest| rest.strip_suffix(" already exists"))
                .is_some_and(|nvr| !nvr.is_empty() && !nvr.contains(char::is_whitespace))
        })
    }

    /// Bodhi does not see the build in a candidate tag yet: asked right after the build completed, before
    /// Koji's tagging reached Bodhi (packit#1615). Asking again after the `buildsys.tag` may succeed.
    pub fn is_tagging_race(&self) -> bool {
        self.rejection_matches(|description| {
            description.starts_with("Cannot find any tags associated with build")
                || (description.starts_with("Invalid tag: ")
                    && description.contains(" not tagged with any of the following tags"))
        })
    }

    /// Login failed for good (unusable token file, refresh refused, Bodhi refusing a fresh login).
    pub fn is_auth(&self) -> bool {
        matches!(self, Self::Auth { .. })
    }

    fn rejection_matches(&self, matches: impl Fn(&str) -> bool) -> bool {
        matches!(self, Self::Rejected { .. })
            && self
                .descriptions()
                .iter()
                .any(|description| matches(description))
    }

    pub(crate) fn from_transport(
        method: &'static str,
        path: &str,
        source: reqwest::Error,
    ) -> BodhiError {
        if source.is_timeout() {
            BodhiError::Timeout {
                method,
                path: path.to_owned(),
            }
        } else {
            BodhiError::Network {
                method,
                path: path.to_owned(),
                source,
            }
        }
    }

    /// A non-success status: 5xx and 429 are the server's trouble (transient), the rest a rejection.
    pub(crate) fn from_status(
        method: &'static str,
        path: &str,
        status: u16,
        descriptions: Vec<String>,
    ) -> BodhiError {
        let path = path.to_owned();
        if status >= 500 || status == 429 {
            BodhiError::ServerError {
                method,
                path,
                status,
                descriptions,
            }
        } else {
            BodhiError::Rejected {
                method,
                path,
                status,
                descriptions,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BodhiError;

    fn rejected(status: u16, descriptions: &[&str]) -> BodhiError {
        BodhiError::from_status(
            "POST",
            "/updates/",
            status,
            descriptions.iter().map(|d| (*d).to_owned()).collect(),
        )
    }

    #[test]
    fn already_exists_matches_bodhis_sentence_for_any_nvr() {
        let err = rejected(
            400,
            &[
                "Cannot find any tags associated with build: other-1-1.fc43",
                "Update for bodhi-2.0.0-2.fc17 already exists",
            ],
        );
        assert!(err.is_already_exists());
        assert!(!rejected(400, &["Update for  already exists"]).is_already_exists());
        assert!(!rejected(400, &["Build does not exist: x-1-1.fc43"]).is_already_exists());
        // The same text from a server error is not a verdict on the update.
        assert!(
            !rejected(502, &["Update for bodhi-2.0.0-2.fc17 already exists"]).is_already_exists()
        );
    }

    #[test]
    fn tagging_race_covers_both_of_bodhis_tag_messages() {
        assert!(
            rejected(
                400,
                &["Cannot find any tags associated with build: fedflow-1.0-1.fc43"]
            )
            .is_tagging_race()
        );
        assert!(rejected(400, &["Invalid tag: fedflow-1.0-1.fc43 not tagged with any of the following tags ['f43-updates-candidate']"]).is_tagging_race());
        let err = rejected(
            400,
            &[
                "Cannot manually create updates for a Release which is not composed by Bodhi.\nRead the 'Automatic updates' page in Bodhi docs about this error.",
            ],
        );
        assert!(!err.is_tagging_race() && !err.is_already_exists() && !err.is_transient());
    }

    #[test]
    fn post_errors_name_their_method_and_keep_descriptions_verbatim() {
        let err = rejected(403, &["bot does not have commit access to fedflow"]);
        assert_eq!(
            err.to_string(),
            "Bodhi POST /updates/: HTTP 403: bot does not have commit access to fedflow"
        );
        assert_eq!((err.kind(), err.is_transient()), ("rejected", false));
        let err = rejected(503, &[]);
        assert_eq!((err.kind(), err.is_transient()), ("server_error", true));
        let auth = BodhiError::Auth { reason: "x".into() };
        assert!(auth.is_auth() && !auth.is_transient());
        assert_eq!(auth.kind(), "auth");
    }
}
