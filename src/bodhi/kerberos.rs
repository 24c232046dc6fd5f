//! OIDC tokens for Bodhi from a Kerberos login at the identity provider (bodhi.md §6, bodhi-client's
//! `login_with_kerberos`): the authorization-code flow with the authorization request sent with
//! `Authorization: Negotiate`, the code read from the page title (`<title>code=…&state=…</title>`) or from
//! the redirect to `redirect_uri`, its state checked, and the code exchanged at the token endpoint. Tokens
//! are kept in memory and refreshed with their refresh token first; with a `token_file` they are also
//! written back (atomically, mode 0600) and read at the first login after a restart.

use super::BodhiError;
use super::idp::{self, GrantError, GrantedTokens, Idp};
use super::tokens::{EXPIRY_LEEWAY_SECS, Freshness, Secret};
use super::tokens_file::{self, StoredTokens};
use crate::krb::Negotiator;
use crate::status::unix_now;
use reqwest::{StatusCode, Url};
use std::path::PathBuf;
use std::time::Duration;

/// The scopes Bodhi's `/oidc/login-token` introspects for (bodhi.md §5).
const SCOPES: &str = "openid email profile https://id.fedoraproject.org/scope/groups https://id.fedoraproject.org/scope/agreements";
/// bodhi-client's redirect URIs: out-of-band when the IdP offers it, else its local callback.
const OUT_OF_BAND: &str = "urn:ietf:wg:oauth:2.0:oob";
const LOCAL_CALLBACK: &str = "http://localhost:45678/auth";
/// Redirects followed inside the IdP before the code must have turned up.
const MAX_REDIRECTS: usize = 5;

#[derive(Debug)]
pub(super) struct KerberosTokenSource {
    negotiator: Negotiator,
    idp: Idp,
    token_file: Option<PathBuf>,
    /// Redirects are followed by hand: the one to `redirect_uri` carries the code and goes nowhere. Built
    /// at the first login.
    no_redirects: tokio::sync::OnceCell<reqwest::Client>,
    timeout: Duration,
    /// The tokens in hand (`None` until the first login reads the token file, if any).
    tokens: tokio::sync::Mutex<Option<StoredTokens>>,
}

impl KerberosTokenSource {
    pub fn new(
        negotiator: Negotiator,
        issuer: &str,
        client_id: String,
        token_file: Option<PathBuf>,
        timeout: Duration,
    ) -> KerberosTokenSource {
        KerberosTokenSource {
            negotiator,
            idp: Idp::new(issuer, client_id),
            token_file,
            no_redirects: tokio::sync::OnceCell::new(),
            timeout,
            tokens: tokio::sync::Mutex::new(None),
        }
    }

    /// Who logs in, for error messages.
    pub fn describe(&self) -> String {
        format!(
            "the Kerberos login of {} at {}",
            self.negotiator.principal(),
            self.idp.issuer()
        )
    }

    /// The access token in hand while valid (unless `freshness` asks for a new one), else a refreshed one,
    /// else one from a new Kerberos login.
    pub async fn access_token(
        &self,
        http: &reqwest::Client,
        freshness: Freshness,
    ) -> Result<Secret, BodhiError> {
        let mut tokens = self.tokens.lock().await;
        if tokens.is_none() {
            *tokens = Some(self.read_file().await?);
        }
        let held = tokens.get_or_insert_with(StoredTokens::empty);
        if freshness == Freshness::StoredIfValid
            && let Some(access) = held.valid_access_token(unix_now() + EXPIRY_LEEWAY_SECS)
        {
            return Ok(access);
        }
        let granted = match held.refresh_token() {
            Some(refresh) => match self.refresh(http, &refresh).await? {
                Some(granted) => granted,
                None => self.log_in(http).await?,
            },
            None => self.log_in(http).await?,
        };
        held.absorb(&granted, unix_now());
        self.write_file(held).await;
        Ok(Secret::new(granted.access_token))
    }

    /// `grant_type=refresh_token`; `None` when the IdP refused it (a Kerberos login replaces it).
    async fn refresh(
        &self,
        http: &reqwest::Client,
        refresh: &Secret,
    ) -> Result<Option<GrantedTokens>, BodhiError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose()),
        ];
        match self.idp.grant(http, &form, refresh.expose()).await {
            Ok(granted) => Ok(Some(granted)),
            Err(GrantError::Refused(detail)) => {
                tracing::info!(
                    issuer = %self.idp.issuer(),
                    refusal = %detail,
                    "the OIDC provider refused the refresh token; logging in with Kerberos"
                );
                Ok(None)
            }
            Err(GrantError::Failed(error)) => Err(error),
        }
    }

    /// The authorization-code flow with a Kerberos login at the authorization endpoint.
    async fn log_in(&self, http: &reqwest::Client) -> Result<GrantedTokens, BodhiError> {
        let endpoints = self.idp.endpoints(http).await?;
        let authorization = endpoints.authorization.clone().ok_or_else(|| {
            self.refused("the provider's discovery document names no authorization_endpoint")
        })?;
        let redirect_uri = if endpoints.out_of_band {
            OUT_OF_BAND
        } else {
            LOCAL_CALLBACK
        };
        let state = uuid::Uuid::new_v4().simple().to_string();
        let mut url = authorization;
        url.query_pairs_mut().extend_pairs([
            ("response_type", "code"),
            ("client_id", self.idp.client_id()),
            ("redirect_uri", redirect_uri),
            ("scope", SCOPES),
            ("state", &state),
        ]);
        let code = self.authorize(url, redirect_uri, &state).await?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", redirect_uri),
        ];
        let granted = match self.idp.grant(http, &form, code.expose()).await {
            Ok(granted) => granted,
            Err(GrantError::Refused(detail)) => {
                return Err(self.refused(&format!(
                    "the token endpoint refused the authorization code ({detail})"
                )));
            }
            Err(GrantError::Failed(error)) => return Err(error),
        };
        tracing::info!(
            principal = %self.negotiator.principal(),
            issuer = %self.idp.issuer(),
            "logged in to the OIDC provider with Kerberos"
        );
        Ok(granted)
    }

    /// GETs the authorization URL with `Negotiate` (a fresh token for every hop on the IdP's host), follows
    /// the IdP's own redirects, and returns the code of the page title or of the redirect to `redirect_uri`.
    async fn authorize(
        &self,
        mut url: Url,
        redirect_uri: &str,
        state: &str,
    ) -> Result<Secret, BodhiError> {
        let client = self
            .no_redirects
            .get_or_try_init(|| async {
                reqwest::Client::builder()
                    .timeout(self.timeout)
                    .connect_timeout(self.timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("fedflow/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(BodhiError::Client)
            })
            .await?;
        let idp_host = url.host_str().map(str::to_owned);
        for _ in 0..=MAX_REDIRECTS {
            let mut request = client.get(url.clone());
            let negotiation = if url.host_str() == idp_host.as_deref() {
                let negotiation = self
                    .negotiator
                    .start(&url)
                    .await
                    .map_err(|error| self.kerberos_error(&error))?;
                request =
                    request.header(reqwest::header::AUTHORIZATION, negotiation.authorization());
                Some(negotiation)
            } else {
                None
            };
            let response = request
                .send()
                .await
                .map_err(|err| idp::unavailable(&url, &err))?;
            let status = response.status();
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned)
            };
            let (www_authenticate, location) = (
                header(reqwest::header::WWW_AUTHENTICATE),
                header(reqwest::header::LOCATION),
            );
            if (status.is_success() || status.is_redirection())
                && let Some(negotiation) = negotiation
            {
                negotiation
                    .finish(www_authenticate.as_deref())
                    .await
                    .map_err(|error| self.refused(&error.to_string()))?;
            }
            if status.is_redirection() {
                let next = location
                    .and_then(|location| url.join(&location).ok())
                    .ok_or_else(|| {
                        self.refused(&format!("HTTP {status} without a usable Location"))
                    })?;
                if next.as_str().starts_with(redirect_uri) {
                    let query = next.query().unwrap_or_default().to_owned();
                    return code_of(&query, state).map_err(|reason| self.refused(reason));
                }
                url = next;
                continue;
            }
            match status {
                StatusCode::OK => {
                    let page = idp::read_idp_body(response, &url).await?;
                    let title = page_title(&String::from_utf8_lossy(&page));
                    return match title.as_deref() {
                        Some(title) if title.starts_with("code=") => {
                            code_of(title, state).map_err(|reason| self.refused(reason))
                        }
                        Some(title) => Err(self.refused(&format!(
                            "the authorization page carries no code (title {:?})",
                            title.chars().take(80).collect::<String>()
                        ))),
                        None => Err(self.refused("the authorization page carries no code")),
                    };
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(self.refused(&format!(
                        "the provider did not accept the Kerberos ticket of {} (HTTP 401); check that the \
                         principal belongs to the bot's account and that the clocks agree",
                        self.negotiator.principal()
                    )));
                }
                _ if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
                    let mut shown = url.clone();
                    shown.set_query(None);
                    return Err(BodhiError::IdpUnavailable {
                        url: shown.to_string(),
                        detail: format!("authorization endpoint answered HTTP {status}"),
                    });
                }
                _ => {
                    return Err(self.refused(&format!(
                        "the authorization endpoint answered HTTP {status}"
                    )));
                }
            }
        }
        Err(self.refused(&format!(
            "more than {MAX_REDIRECTS} redirects without a code"
        )))
    }

    /// No ticket for the IdP: an unreachable KDC may come back (transient), the rest needs an admin.
    fn kerberos_error(&self, error: &crate::krb::KrbError) -> BodhiError {
        if error.is_transient() {
            BodhiError::IdpUnavailable {
                url: self.idp.issuer().to_owned(),
                detail: error.to_string(),
            }
        } else {
            self.refused(&error.to_string())
        }
    }

    fn refused(&self, reason: &str) -> BodhiError {
        BodhiError::Auth {
            reason: format!("{}: {reason}", self.describe()),
        }
    }

    /// The token file's entry for the issuer (an empty one without a file).
    async fn read_file(&self) -> Result<StoredTokens, BodhiError> {
        let Some(file) = self.token_file.clone() else {
            return Ok(StoredTokens::empty());
        };
        let issuer = self.idp.issuer().to_owned();
        let shown = file.display().to_string();
        tokio::task::spawn_blocking(move || tokens_file::load_or_empty(&file, &issuer))
            .await
            .map_err(|err| err.to_string())
            .and_then(|loaded| loaded)
            .map_err(|reason| BodhiError::Auth {
                reason: format!("token file {shown}: {reason}"),
            })
    }

    /// Writes the tokens back, if there is a file. The tokens in memory stay valid either way, so a failure
    /// only costs a Kerberos login after a restart: it is logged, not returned.
    async fn write_file(&self, held: &StoredTokens) {
        let Some(file) = &self.token_file else {
            return;
        };
        let (path, issuer, held) = (file.clone(), self.idp.issuer().to_owned(), held.clone());
        let error =
            match tokio::task::spawn_blocking(move || tokens_file::store(&path, &issuer, &held))
                .await
            {
                Ok(Ok(())) => return,
                Ok(Err(error)) => error.to_string(),
                Err(error) => error.to_string(),
            };
        tracing::warn!(token_file = %file.display(), %error, "could not write the Bodhi tokens back");
    }
}

/// The code of `code=…&state=…` (a redirect's query or the page title, where HTML writes `&` as `&amp;`), if
/// the state is the one sent.
fn code_of(pairs: &str, state: &str) -> Result<Secret, &'static str> {
    let unescaped = pairs.replace("&amp;", "&");
    let mut code = None;
    let mut returned_state = None;
    for (key, value) in form_urlencoded::parse(unescaped.as_bytes()) {
        match key.as_ref() {
            "code" => code = Some(value.into_owned()),
            "state" => returned_state = Some(value.into_owned()),
            _ => {}
        }
    }
    if returned_state.as_deref() != Some(state) {
        return Err(
            "the authorization answer's state is not the one fedflow sent; its code is not used",
        );
    }
    code.filter(|code| !code.is_empty())
        .map(Secret::new)
        .ok_or("the authorization answer carries an empty code")
}

/// The text of the page's `<title>`, trimmed.
fn page_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    Some(html[start..end].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::{code_of, page_title};

    #[test]
    fn the_code_counts_only_with_the_state_that_was_sent() {
        let code = code_of("code=c-1_x&amp;state=s1", "s1").expect("escaped as in a title");
        assert_eq!(code.expose(), "c-1_x");
        let code = code_of("state=s1&code=c2", "s1").expect("as in a query");
        assert_eq!(code.expose(), "c2");
        assert!(code_of("code=c3&state=other", "s1").is_err());
        assert!(code_of("code=c3", "s1").is_err(), "no state");
        assert!(code_of("code=&state=s1", "s1").is_err(), "empty code");
    }

    #[test]
    fn the_title_is_found_whatever_its_case_and_spacing() {
        let page = "<html><HEAD><Title>\n  code=abc&amp;state=s1 \n</TITLE></HEAD></html>";
        assert_eq!(page_title(page).as_deref(), Some("code=abc&amp;state=s1"));
        assert_eq!(page_title("<html>no title</html>"), None);
        assert_eq!(page_title("<title>never closed"), None);
    }
}
