//! OIDC access tokens for Bodhi logins, from the token file the `bodhi` CLI keeps (bodhi-client's
//! `JSONStorage`: `{"tokens": {"<issuer>": {"access_token", "refresh_token", "expires_at", ...}}}`, the
//! issuer without a trailing slash). A stored access token is used while it is valid; otherwise the
//! refresh token is exchanged at the IdP's token endpoint (found by discovery) and the new tokens are
//! written back atomically with mode 0600, other issuers' entries and unknown keys kept.

use super::BodhiError;
use super::idp::{GrantError, GrantedTokens, Idp};
use super::tokens_file::{self, StoredTokens};
use crate::status::unix_now;
use std::fmt;
use std::path::{Path, PathBuf};

/// An access token is not used in its last minute (authlib's leeway): the login request may take a while.
pub(super) const EXPIRY_LEEWAY_SECS: u64 = 60;

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
    idp: Idp,
}

impl RefreshTokenSource {
    pub fn new(token_file: PathBuf, issuer: &str, client_id: String) -> RefreshTokenSource {
        RefreshTokenSource {
            token_file,
            idp: Idp::new(issuer, client_id),
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
        let mut stored = stored;
        stored.absorb(&granted, unix_now());
        let file = self.token_file.clone();
        let issuer = self.idp.issuer().to_owned();
        tokio::task::spawn_blocking(move || tokens_file::store(&file, &issuer, &stored))
            .await
            .map_err(|err| self.auth_error(&format!("writing it back failed: {err}")))?
            .map_err(|err| {
                self.auth_error(&format!(
                    "writing the refreshed tokens back failed ({err}); the IdP may have rotated the refresh token"
                ))
            })?;
        tracing::info!(token_file = %self.token_file.display(), issuer = %self.idp.issuer(), "refreshed the OIDC access token for Bodhi");
        Ok(access)
    }

    async fn load(&self) -> Result<StoredTokens, BodhiError> {
        let file = self.token_file.clone();
        let issuer = self.idp.issuer().to_owned();
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
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        match self.idp.grant(http, &form, refresh_token.expose()).await {
            Ok(granted) => Ok(granted),
            Err(GrantError::Failed(error)) => Err(error),
            Err(GrantError::Refused(detail)) => Err(self.auth_error(&format!(
                "the OIDC provider refused its refresh token ({detail}); log in again with the bodhi CLI"
            ))),
        }
    }

    fn auth_error(&self, reason: &str) -> BodhiError {
        BodhiError::Auth {
            reason: format!("token file {}: {reason}", self.token_file.display()),
        }
    }
}
