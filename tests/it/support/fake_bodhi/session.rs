//! The fake Bodhi's login: `GET /oidc/login-token` checks the bearer token against the IdP and sets
//! Pyramid's `auth_tkt` cookie (202); `GET /csrf` hands out the CSRF token of the Pyramid session, kept
//! server-side under the `session` cookie it sets. Write routes read both cookies through [`user_of`] and
//! [`csrf_of`].

use super::Shared;
use crate::support::fake_http::{json_reply, lock, reply};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde_json::json;

/// Pyramid's `authtkt.timeout` in Bodhi's production config.
const TICKET_MAX_AGE: u32 = 86_400;

fn random_hex() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

/// The logged-in user of the request's `auth_tkt`, if it is a live ticket.
pub(super) fn user_of(state: &Shared, headers: &HeaderMap) -> Option<String> {
    let cookie = cookie(headers, "auth_tkt")?;
    let ticket = cookie.split('!').next()?;
    lock(state).tickets.get(ticket).cloned()
}

/// The CSRF token of the request's Pyramid session, if it has a live one.
pub(super) fn csrf_of(state: &Shared, headers: &HeaderMap) -> Option<String> {
    let session = cookie(headers, "session")?;
    lock(state).sessions.get(&session).cloned()
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

pub(super) async fn login_token(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let idp = lock(&state).idp.clone();
    let user = bearer.zip(idp).and_then(|(token, idp)| idp.user_of(token));
    let Some(user) = user else {
        // authlib's ResourceProtector answer for a missing, expired or unknown token.
        let mut response = json_reply(
            401,
            &json!({"error": "invalid_token",
                    "error_description": "The access token provided is expired, revoked, malformed, or invalid for other reasons."}),
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return response;
    };
    let ticket = random_hex();
    lock(&state).tickets.insert(ticket.clone(), user);
    let mut response = json_reply(
        202,
        &json!({"code": "202 Accepted", "title": "Accepted",
                "message": "The request is accepted for processing."}),
    );
    set_cookie(
        &mut response,
        &format!(
            "auth_tkt={ticket}!userid_type:b64unicode; Max-Age={TICKET_MAX_AGE}; Path=/; secure; HttpOnly; SameSite=Strict"
        ),
    );
    response
}

/// The session's CSRF token, creating the session (and its cookie) when the request has none.
pub(super) async fn csrf(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let existing = cookie(&headers, "session").and_then(|session| {
        lock(&state)
            .sessions
            .get(&session)
            .map(|token| (session, token.clone()))
    });
    let (session, token, created) = match existing {
        Some((session, token)) => (session, token, false),
        None => {
            let (session, token) = (random_hex(), random_hex());
            lock(&state).sessions.insert(session.clone(), token.clone());
            (session, token, true)
        }
    };
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("json"));
    let mut response = if wants_json {
        json_reply(200, &json!({"csrf_token": token}))
    } else {
        reply(200, "text/html", token)
    };
    if created {
        set_cookie(
            &mut response,
            &format!("session={session}; Path=/; HttpOnly"),
        );
    }
    response
}
