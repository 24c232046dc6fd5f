//! The fake IdP's authorization endpoint: who a `Negotiate` header logs in (any token, or in Kerberos mode
//! one that verifies against the private KDC and names a known principal), and how the code comes back
//! (the page title, `&` escaped as Ipsilon writes it, or a redirect to `redirect_uri`).

use super::super::fake_http::{lock, query_pairs, reply};
use super::{CLIENT_ID, Shared, USER};
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::response::Response;
use std::collections::HashMap;

/// How the authorization endpoint recognises a user.
#[derive(Default)]
pub(super) enum Login {
    /// Any `Negotiate` header is [`USER`] (the fake's own protocol tests).
    #[default]
    AnyNegotiate,
    /// The token must verify (`HTTP/localhost` keytab) and its principal be one of `accounts` (principal →
    /// account name). Without `out_of_band`, discovery does not offer `oob` and the code comes back in a
    /// redirect to `redirect_uri`.
    #[cfg_attr(not(feature = "kerberos"), allow(dead_code))]
    Kerberos {
        out_of_band: bool,
        accounts: HashMap<String, String>,
    },
}

/// With `Authorization: Negotiate …` the user counts as logged in and the page carries the code in its
/// title (Ipsilon's out-of-band page); without it, the 401 challenge a browser would answer.
pub(super) async fn authorization(
    State(state): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = query_pairs(uri.query());
    let field = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .filter(|value| value.starts_with("Negotiate ") && value.len() > "Negotiate ".len());
    let Some((user, mutual)) = authorization.and_then(|value| logged_in(&state, value)) else {
        let mut response = reply(
            401,
            "text/html",
            "<html><head><title>Log In</title></head><body>Kerberos login required</body></html>",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Negotiate"),
        );
        return response;
    };
    if field("client_id").as_deref() != Some(CLIENT_ID)
        || field("response_type").as_deref() != Some("code")
    {
        return reply(
            400,
            "text/html",
            "<html><head><title>Error</title></head><body>Invalid request</body></html>",
        );
    }
    let redirect_uri = field("redirect_uri").unwrap_or_default();
    let mut state = lock(&state);
    let code = state.mint("code");
    state
        .codes
        .insert(code.clone(), (redirect_uri.clone(), user));
    let pairs = match field("state") {
        Some(oauth_state) => format!("code={code}&state={oauth_state}"),
        None => format!("code={code}"),
    };
    let mut response = match &state.login {
        Login::AnyNegotiate => reply(
            200,
            "text/html",
            format!(
                "<html><head><title>{pairs}</title></head><body>Please copy this code.</body></html>"
            ),
        ),
        // Ipsilon escapes the title's `&`.
        Login::Kerberos {
            out_of_band: true, ..
        } => reply(
            200,
            "text/html",
            format!(
                "<html><head><title>\n  {}\n</title></head><body>Please copy this code.</body></html>",
                pairs.replace('&', "&amp;")
            ),
        ),
        Login::Kerberos { .. } => {
            let mut response = reply(302, "text/html", "");
            if let Ok(location) = header::HeaderValue::from_str(&format!("{redirect_uri}?{pairs}"))
            {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
    };
    if let Some(value) =
        mutual.and_then(|token| header::HeaderValue::from_str(&format!("Negotiate {token}")).ok())
    {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The account a `Negotiate` header logs in, and the token proving the IdP to the client (Kerberos mode).
fn logged_in(state: &Shared, authorization: &str) -> Option<(String, Option<String>)> {
    match &lock(state).login {
        Login::AnyNegotiate => Some((USER.to_owned(), None)),
        #[cfg(feature = "kerberos")]
        Login::Kerberos { accounts, .. } => {
            let accepted = crate::support::kdc::accept(authorization).ok()?;
            let user = accounts.get(&accepted.principal)?;
            Some((user.clone(), accepted.reply))
        }
        #[cfg(not(feature = "kerberos"))]
        Login::Kerberos { .. } => {
            let _ = authorization;
            None
        }
    }
}
