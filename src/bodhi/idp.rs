//! The OIDC provider behind Bodhi logins (bodhi.md §6): its endpoints, discovered once per client from
//! `<issuer>/.well-known/openid-configuration`, and the token endpoint's grants (`refresh_token`,
//! `authorization_code`) with the public client id and no secret, as bodhi-client sends them.

use super::BodhiError;
use reqwest::Url;
use serde::Deserialize;

/// Cap on discovery and token answers (a few KiB in practice).
const MAX_IDP_BYTES: usize = 256 * 1024;

/// One issuer and the client fedflow is at it.
#[derive(Debug)]
pub(super) struct Idp {
    /// The issuer as configured, without a trailing slash: the discovery base and the token file's key.
    issuer: String,
    client_id: String,
    endpoints: tokio::sync::OnceCell<Endpoints>,
}

/// What discovery tells a client.
#[derive(Debug)]
pub(super) struct Endpoints {
    pub token: Url,
    /// Absent from providers that only refresh (then a Kerberos login cannot work).
    #[cfg_attr(not(feature = "kerberos"), allow(dead_code))]
    pub authorization: Option<Url>,
    /// `response_modes_supported` contains `oob`: the code comes back on a page, not in a redirect.
    #[cfg_attr(not(feature = "kerberos"), allow(dead_code))]
    pub out_of_band: bool,
}

/// Why a grant did not produce tokens.
pub(super) enum GrantError {
    /// The IdP refused the grant (RFC 6749 §5.2); the text is its `error: error_description`, with the
    /// grant's secret blanked out.
    Refused(String),
    /// The IdP could not be asked (network, 5xx, a garbled answer).
    Failed(BodhiError),
}

impl Idp {
    pub fn new(issuer: &str, client_id: String) -> Idp {
        Idp {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id,
            endpoints: tokio::sync::OnceCell::new(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    #[cfg_attr(not(feature = "kerberos"), allow(dead_code))]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The issuer's endpoints, discovered once per client.
    pub async fn endpoints(&self, http: &reqwest::Client) -> Result<&Endpoints, BodhiError> {
        self.endpoints
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
                let http_url = |text: &str| {
                    Url::parse(text)
                        .ok()
                        .filter(|url| matches!(url.scheme(), "http" | "https"))
                };
                Ok(Endpoints {
                    token: http_url(&metadata.token_endpoint).ok_or_else(|| {
                        unavailable("token_endpoint is not an http(s) URL".to_owned())
                    })?,
                    authorization: metadata.authorization_endpoint.as_deref().and_then(http_url),
                    out_of_band: metadata.response_modes_supported.iter().any(|m| m == "oob"),
                })
            })
            .await
    }

    /// POSTs a grant (`grant_type` and its fields; the client id is added) to the token endpoint. `secret`
    /// (the refresh token or code) is blanked out of the IdP's refusal, which may quote it.
    pub async fn grant(
        &self,
        http: &reqwest::Client,
        fields: &[(&str, &str)],
        secret: &str,
    ) -> Result<GrantedTokens, GrantError> {
        let endpoint = &self
            .endpoints(http)
            .await
            .map_err(GrantError::Failed)?
            .token;
        let mut form = fields.to_vec();
        form.push(("client_id", &self.client_id));
        let (status, body) = idp_call(http.post(endpoint.clone()).form(&form), endpoint)
            .await
            .map_err(GrantError::Failed)?;
        if status == 200 {
            return serde_json::from_slice::<GrantedTokens>(&body)
                .ok()
                .filter(|granted| !granted.access_token.is_empty())
                .ok_or_else(|| {
                    GrantError::Failed(BodhiError::IdpUnavailable {
                        url: endpoint.to_string(),
                        detail: "the token answer is not a token grant".to_owned(),
                    })
                });
        }
        // RFC 6749 §5.2: a refused grant is a 400 (401 for client authentication); anything else is
        // the IdP or a proxy in front of it failing.
        if !matches!(status, 400 | 401) {
            return Err(GrantError::Failed(BodhiError::IdpUnavailable {
                url: endpoint.to_string(),
                detail: format!("token endpoint answered HTTP {status}"),
            }));
        }
        let detail = match serde_json::from_slice::<OAuthError>(&body).ok() {
            Some(OAuthError {
                error,
                error_description: Some(description),
            }) => format!("{error}: {description}"),
            Some(OAuthError { error, .. }) => error,
            None => format!("HTTP {status}"),
        };
        Err(GrantError::Refused(if secret.is_empty() {
            detail
        } else {
            detail.replace(secret, "***")
        }))
    }
}

/// Sends an IdP request and reads its bounded body; transport failures are the IdP being unavailable.
pub(super) async fn idp_call(
    request: reqwest::RequestBuilder,
    url: &Url,
) -> Result<(u16, Vec<u8>), BodhiError> {
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|err| unavailable(url, &err))?;
    let status = response.status().as_u16();
    let body = read_idp_body(response, url).await?;
    Ok((status, body))
}

/// The body of an IdP answer, at most [`MAX_IDP_BYTES`].
pub(super) async fn read_idp_body(
    response: reqwest::Response,
    url: &Url,
) -> Result<Vec<u8>, BodhiError> {
    crate::net::read_limited(response, MAX_IDP_BYTES)
        .await
        .map_err(|err| match err {
            crate::net::BodyError::TooLarge => BodhiError::IdpUnavailable {
                url: url.to_string(),
                detail: format!("answer exceeds {MAX_IDP_BYTES} bytes"),
            },
            crate::net::BodyError::Transport(err) => unavailable(url, &err),
        })
}

/// A transport failure talking to the IdP; the URL is shown without its query.
pub(super) fn unavailable(url: &Url, err: &reqwest::Error) -> BodhiError {
    let mut shown = url.clone();
    shown.set_query(None);
    BodhiError::IdpUnavailable {
        url: shown.to_string(),
        detail: if err.is_timeout() {
            "no answer within the timeout".to_owned()
        } else {
            err.to_string()
        },
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
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    response_modes_supported: Vec<String>,
}
