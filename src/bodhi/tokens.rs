//! OIDC access tokens for Bodhi logins, from the token file the `bodhi` CLI keeps (bodhi-client's
//! `JSONStorage`: `{"tokens": {"<issuer>": {"access_token", "refresh_token", "expires_at", ...}}}`, the
//! issuer without a trailing slash). A stored access token is used while it is valid; otherwise the
//! refresh token is exchanged at the IdP's token endpoint (found by discovery) and the new tokens are
//! written back atomically with mode 0600, other issuers' entries and unknown keys kept.

use super::BodhiError;
use super::tokens_file::{self, StoredTokens};
use crate::status::unix_now;
use reqwest::Url;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// An access token is not used in its last minute (authlib's leeway): the login request may take a while.
const EXPIRY_LEEWAY_SECS: u64 = 60;

/// Cap on discovery and token answers (a few KiB in practice).
const MAX_IDP_BYTES: usize = 256 * 1024;

/// A token or other credential: shown as `***` by `Debug`, reachable only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(***)")
    }
}

/// Whether the stored access token may be used, or a refresh is wanted regardless (Bodhi refused it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Freshness {
    StoredIfValid,
    Refresh,
}

/// Tokens from a refresh-token file, refreshed through the issuer's token endpoint.
#[derive(Debug)]
pub(super) struct RefreshTokenSource {
    token_file: PathBuf,
    /// The issuer as configured, without a trailing slash: the discovery base and the file's key.
    issuer: String,
    client_id: String,
    token_endpoint: tokio::sync::OnceCell<Url>,
}

impl RefreshTokenSource {
    pub fn new(token_file: PathBuf, issuer: &str, client_id: String) -> RefreshTokenSource {
        RefreshTokenSource {
            token_file,
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id,
            token_endpoint: tokio::sync::OnceCell::new(),
        }
    }

    pub fn token_file(&self) -> &Path {
        &self.token_file
    }

    /// An access token: the stored one while valid (unless `freshness` asks for a refresh), else a
    /// refreshed one, written back to the file before it is returned.
    pub async fn access_token(
        &self,
        http: &reqwest::Client,
        freshness: Freshness,
    ) -> Result<Secret, BodhiError> {
        let stored = self.load().await?;
        if freshness == Freshness::StoredIfValid
            && let Some(access) = stored.valid_access_token(unix_now() + EXPIRY_LEEWAY_SECS)
        {
            return Ok(access);
        }
        let Some(refresh_token) = stored.refresh_token() else {
            return Err(self.auth_error(
                "it holds no refresh token for this issuer; log in once with the bodhi CLI",
            ));
        };
        let granted = self.refresh(http, &refresh_token).await?;
        let access = Secret::new(granted.access_token.clone());
        let file = self.token_file.clone();
        let issuer = self.issuer.clone();
        let issued_at = unix_now();
        tokio::task::spawn_blocking(move || {
            tokens_file::store(&file, &issuer, stored, &granted, issued_at)
        })
        .await
        .map_err(|err| self.auth_error(&format!("writing it back failed: {err}")))?
        .map_err(|err| {
            self.auth_error(&format!(
                "writing the refreshed tokens back failed ({err}); the IdP may have rotated the refresh token"
            ))
        })?;
        tracing::info!(token_file = %self.token_file.display(), issuer = %self.issuer, "refreshed the OIDC access token for Bodhi");
        Ok(access)
    }

    async fn load(&self) -> Result<StoredTokens, BodhiError> {
        let file = self.token_file.clone();
        let issuer = self.issuer.clone();
        tokio::task::spawn_blocking(move || tokens_file::load(&file, &issuer))
            .await
            .map_err(|err| self.auth_error(&format!("reading it failed: {err}")))?
            .map_err(|reason| self.auth_error(&reason))
    }

    /// `grant_type=refresh_token` with the public client id (no secret, as bodhi-client does).
    async fn refresh(
        &self,
        http: &reqwest::Client,
        refresh_token: &Secret,
    ) -> Result<GrantedTokens, BodhiError> {
        let endpoint = self.token_endpoint(http).await?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", &self.client_id),
        ];
        let (status, body) = idp_call(http.post(endpoint.clone()).form(&form), endpoint).await?;
        if status == 200 {
            return serde_json::from_slice::<GrantedTokens>(&body)
                .ok()
                .filter(|granted| !granted.access_token.is_empty())
                .ok_or_else(|| BodhiError::IdpUnavailable {
                    url: endpoint.to_string(),
                    detail: "the token answer is not a token grant".to_owned(),
                });
        }
        // RFC 6749 §5.2: a refused grant is a 400 (401 for client authentication); anything else is
        // the IdP or a proxy in front of it failing.
        if !matches!(status, 400 | 401) {
            return Err(BodhiError::IdpUnavailable {
                url: endpoint.to_string(),
                detail: format!("token endpoint answered HTTP {status}"),
            });
        }
        let refusal = serde_json::from_slice::<OAuthError>(&body).ok();
        let detail = match refusal {
            Some(OAuthError {
                error,
                error_description: Some(description),
            }) => format!("{error}: {description}"),
            Some(OAuthError { error, .. }) => error,
            None => format!("HTTP {status}"),
        };
        // The IdP may quote the token back; it must not reach logs through the error.
        let detail = detail.replace(refresh_token.expose(), "***");
        Err(self.auth_error(&format!(
            "the OIDC provider refused its refresh token ({detail}); log in again with the bodhi CLI"
        )))
    }

    /// The issuer's `token_endpoint`, discovered once per client.
    async fn token_endpoint(&self, http: &reqwest::Client) -> Result<&Url, BodhiError> {
        self.token_endpoint
            .get_or_try_init(|| async {
                let discovery = format!("{}/.well-known/openid-configuration", self.issuer);
                let url = Url::parse(&discovery).map_err(|err| BodhiError::Auth {
                    reason: format!("OIDC issuer {:?} is not a URL: {err}", self.issuer),
                })?;
                let (status, body) = idp_call(http.get(url.clone()), &url).await?;
                let unavailable = |detail: String| BodhiError::IdpUnavailable {
                    url: discovery.clone(),
                    detail,
                };
                match status {
                    200 => {}
                    500.. | 429 => {
                        return Err(unavailable(format!("discovery answered HTTP {status}")));
                    }
                    _ => {
                        return Err(BodhiError::Auth {
                            reason: format!(
                                "OIDC discovery at {discovery} answered HTTP {status}: is the issuer right?"
                            ),
                        });
                    }
                }
                let metadata: Discovery = serde_json::from_slice(&body)
                    .map_err(|err| unavailable(format!("unexpected discovery document: {err}")))?;
                Url::parse(&metadata.token_endpoint)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https"))
                    .ok_or_else(|| unavailable("token_endpoint is not an http(s) URL".to_owned()))
            })
            .await
    }

    fn auth_error(&self, reason: &str) -> BodhiError {
        BodhiError::Auth {
            reason: format!("token file {}: {reason}", self.token_file.display()),
        }
    }
}

/// Sends an IdP request and reads its bounded body; transport failures are the IdP being unavailable.
async fn idp_call(
    request: reqwest::RequestBuilder,
    url: &Url,
) -> Result<(u16, Vec<u8>), BodhiError> {
    let unavailable = |detail: String| BodhiError::IdpUnavailable {
        url: url.to_string(),
        detail,
    };
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|err| unavailable(transport_detail(&err)))?;
    let status = response.status().as_u16();
    let body = crate::net::read_limited(response, MAX_IDP_BYTES)
        .await
        .map_err(|err| match err {
            crate::net::BodyError::TooLarge => {
                unavailable(format!("answer exceeds {MAX_IDP_BYTES} bytes"))
            }
            crate::net::BodyError::Transport(err) => unavailable(transport_detail(&err)),
        })?;
    Ok((status, body))
}

/// reqwest's message (token endpoint URLs carry no secret).
fn transport_detail(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "no answer within the timeout".to_owned()
    } else {
        err.to_string()
    }
}

/// The IdP's answer to a token request (RFC 6749 §5.1), as stored in the token file. No `Debug`: it is
/// all tokens.
#[derive(Deserialize)]
pub(super) struct GrantedTokens {
    pub access_token: String,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// RFC 6749 §5.2 error answer.
#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct Discovery {
    token_endpoint: String,
}
