//! Logging in to Bodhi for write calls (bodhi.md §5): an OIDC access token → `GET /oidc/login-token` with
//! `Authorization: Bearer` → 202 with the `auth_tkt` cookie → `GET /csrf` → the CSRF token (bound to the
//! `session` cookie it sets). The session is kept, shared by the client's clones, until Bodhi refuses it;
//! then the caller discards it and logs in once more. Token sources: a refresh-token file
//! ([`BodhiAuth::RefreshToken`]) and, with the cargo feature `kerberos`, a Kerberos login at the identity
//! provider (`BodhiAuth::Kerberos`, the authorization code with SPNEGO of bodhi.md §6).

use super::cookies::CookieJar;
use super::tokens::{Freshness, RefreshTokenSource, Secret};
use super::{BodhiClient, BodhiError, StatusCode, parse_json};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How a [`BodhiClient`] authenticates write calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodhiAuth {
    /// Read-only: [`BodhiClient::can_write`] is false and write calls fail with `read_only`.
    None,
    /// OIDC tokens in the `bodhi` CLI's token file (`~/.config/bodhi/client.json` layout), refreshed at
    /// the issuer's token endpoint with the public `client_id` (`bodhi-client` in Fedora).
    RefreshToken {
        token_file: PathBuf,
        /// `https://id.fedoraproject.org/openidc`; also the token file's key.
        oidc_issuer: String,
        client_id: String,
    },
    /// OIDC tokens from the authorization-code flow with a Kerberos login at the issuer's authorization
    /// endpoint, refreshed with their refresh token while the IdP accepts it. Kept in memory, and in
    /// `token_file` (bodhi-client's layout) when one is given.
    #[cfg(feature = "kerberos")]
    Kerberos {
        negotiator: crate::krb::Negotiator,
        oidc_issuer: String,
        client_id: String,
        token_file: Option<PathBuf>,
    },
}

/// Where the access tokens come from. One per client, behind the login's `Arc`: the size difference of
/// the variants costs nothing.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum TokenSource {
    RefreshToken(RefreshTokenSource),
    #[cfg(feature = "kerberos")]
    Kerberos(super::kerberos::KerberosTokenSource),
}

impl TokenSource {
    async fn access_token(
        &self,
        http: &reqwest::Client,
        freshness: Freshness,
    ) -> Result<Secret, BodhiError> {
        match self {
            TokenSource::RefreshToken(source) => source.access_token(http, freshness).await,
            #[cfg(feature = "kerberos")]
            TokenSource::Kerberos(source) => source.access_token(http, freshness).await,
        }
    }

    /// Where the tokens come from, for error messages.
    fn describe(&self) -> String {
        match self {
            TokenSource::RefreshToken(source) => {
                format!("the tokens in {}", source.token_file().display())
            }
            #[cfg(feature = "kerberos")]
            TokenSource::Kerberos(source) => source.describe(),
        }
    }
}

/// The login state shared by a client and its clones.
#[derive(Debug)]
pub(super) struct Login {
    source: TokenSource,
    /// The current session; the async lock makes concurrent callers wait for one login instead of
    /// each logging in.
    current: tokio::sync::Mutex<Option<Arc<Session>>>,
}

/// One Bodhi login: its cookies and CSRF token.
#[derive(Debug)]
pub(super) struct Session {
    cookies: Mutex<CookieJar>,
    csrf_token: Secret,
}

impl Session {
    pub fn csrf_token(&self) -> &str {
        self.csrf_token.expose()
    }

    pub fn cookie_header(&self) -> Option<String> {
        lock(&self.cookies).header()
    }

    /// Cookies Bodhi sets on a write answer (Pyramid reissues `auth_tkt` as it ages).
    pub fn absorb(&self, set_cookies: &[String]) {
        lock(&self.cookies).absorb(set_cookies);
    }
}

fn lock(jar: &Mutex<CookieJar>) -> std::sync::MutexGuard<'_, CookieJar> {
    jar.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Deserialize)]
struct CsrfAnswer {
    csrf_token: String,
}

impl Login {
    /// `timeout` bounds each request of a Kerberos login, as the client's own.
    #[cfg_attr(not(feature = "kerberos"), allow(unused_variables))]
    pub fn new(auth: BodhiAuth, timeout: std::time::Duration) -> Option<Login> {
        let source = match auth {
            BodhiAuth::None => return None,
            BodhiAuth::RefreshToken {
                token_file,
                oidc_issuer,
                client_id,
            } => TokenSource::RefreshToken(RefreshTokenSource::new(
                token_file,
                &oidc_issuer,
                client_id,
            )),
            #[cfg(feature = "kerberos")]
            BodhiAuth::Kerberos {
                negotiator,
                oidc_issuer,
                client_id,
                token_file,
            } => TokenSource::Kerberos(super::kerberos::KerberosTokenSource::new(
                negotiator,
                &oidc_issuer,
                client_id,
                token_file,
                timeout,
            )),
        };
        Some(Login {
            source,
            current: tokio::sync::Mutex::new(None),
        })
    }

    /// The current session, logging in first if there is none.
    pub async fn session(&self, client: &BodhiClient) -> Result<Arc<Session>, BodhiError> {
        let mut current = self.current.lock().await;
        if let Some(session) = current.as_ref() {
            return Ok(session.clone());
        }
        let session = Arc::new(self.log_in(client).await?);
        *current = Some(session.clone());
        Ok(session)
    }

    /// Forgets `stale` (Bodhi refused it) unless another caller already replaced it.
    pub async fn discard(&self, stale: &Arc<Session>) {
        let mut current = self.current.lock().await;
        if current
            .as_ref()
            .is_some_and(|session| Arc::ptr_eq(session, stale))
        {
            *current = None;
        }
    }

    /// Where the tokens come from, for error messages ("the tokens in <file>", "the Kerberos login of …").
    pub fn token_source(&self) -> String {
        self.source.describe()
    }

    async fn log_in(&self, client: &BodhiClient) -> Result<Session, BodhiError> {
        let mut cookies = CookieJar::default();
        self.exchange_token(client, &mut cookies).await?;
        let csrf_token = fetch_csrf(client, &mut cookies).await?;
        tracing::info!(bodhi = %client.base, "logged in to Bodhi");
        Ok(Session {
            cookies: Mutex::new(cookies),
            csrf_token,
        })
    }

    /// `GET /oidc/login-token`; on 401 the token is refreshed once and the call repeated.
    async fn exchange_token(
        &self,
        client: &BodhiClient,
        cookies: &mut CookieJar,
    ) -> Result<(), BodhiError> {
        let url = client.resource_url(&["oidc", "login-token"]);
        let path = url.path().to_owned();
        let mut freshness = Freshness::StoredIfValid;
        loop {
            let token = self.source.access_token(&client.http, freshness).await?;
            let request = client
                .http
                .get(url.clone())
                .header(reqwest::header::ACCEPT, "application/json")
                .bearer_auth(token.expose());
            let answer = client.send(request, "GET", &path).await?;
            match answer.status {
                StatusCode::OK | StatusCode::ACCEPTED => {
                    cookies.absorb(&answer.set_cookies);
                    if cookies.contains("auth_tkt") {
                        return Ok(());
                    }
                    return Err(BodhiError::Auth {
                        reason: format!(
                            "Bodhi answered {path} with HTTP {} but set no auth_tkt cookie",
                            answer.status.as_u16()
                        ),
                    });
                }
                StatusCode::UNAUTHORIZED if freshness == Freshness::StoredIfValid => {
                    tracing::info!(
                        bodhi = %client.base,
                        "Bodhi refused the stored access token; refreshing it and trying again"
                    );
                    freshness = Freshness::Refresh;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(BodhiError::Auth {
                        reason: format!(
                            "Bodhi {path} refused a fresh access token from {} (HTTP 401): is the account \
                             allowed to use Bodhi?",
                            self.source.describe()
                        ),
                    });
                }
                _ => return Err(answer.into_error("GET", &path)),
            }
        }
    }
}

/// `GET /csrf` as JSON with the login cookies; keeps the `session` cookie the token is bound to.
async fn fetch_csrf(client: &BodhiClient, cookies: &mut CookieJar) -> Result<Secret, BodhiError> {
    let url = client.resource_url(&["csrf"]);
    let path = url.path().to_owned();
    let mut request = client
        .http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(header) = cookies.header() {
        request = request.header(reqwest::header::COOKIE, header);
    }
    let answer = client.send(request, "GET", &path).await?;
    if answer.status != StatusCode::OK {
        return Err(answer.into_error("GET", &path));
    }
    cookies.absorb(&answer.set_cookies);
    let csrf: CsrfAnswer = parse_json("GET", &path, &answer.body?)?;
    if csrf.csrf_token.is_empty() {
        return Err(BodhiError::InvalidJson {
            method: "GET",
            path,
            detail: "empty csrf_token".to_owned(),
        });
    }
    Ok(Secret::new(csrf.csrf_token))
}
