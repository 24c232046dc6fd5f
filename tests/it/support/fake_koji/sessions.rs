//! Koji's session rules on the fake hub (`kojihub/auth.py`): the session headers, expiry, the
//! call-number check (`SequenceError`/`RetryError`), and `sslLogin` with client-certificate
//! verification or a GSSAPI principal, and `renew=True`.

use serde_json::{Value as Json, json};

use super::hub::{AUTH_ERROR, AUTH_EXPIRED, Call, Fault, Hub, RETRY_ERROR, SEQUENCE_ERROR, fault};

pub struct SessionRow {
    pub key: String,
    pub user: String,
    pub lastcall: Option<i64>,
    pub expired: bool,
}

impl Hub {
    /// The CN of a client certificate that verified at `/ssllogin` (mod_ssl's `SSL_CLIENT_S_DN_CN`).
    fn certificate_user(call: &Call) -> Result<String, Fault> {
        // As deployed, only /kojihub/ssllogin asks mod_ssl to verify the client.
        let verify = if call.path.ends_with("/ssllogin") {
            call.client.verify.as_str()
        } else {
            "NONE"
        };
        if verify != "SUCCESS" {
            return Err(fault(
                AUTH_ERROR,
                format!("could not verify client: {verify}"),
            ));
        }
        call.client.common_name.clone().ok_or_else(|| {
            fault(
                AUTH_ERROR,
                "unable to get user information (CN) from client certificate",
            )
        })
    }
}

pub enum Auth {
    Anonymous,
    Expired(i64),
    LoggedIn(String),
}

impl Hub {
    /// `Session.__init__` in kojihub/auth.py: key check, expiry, then the call-number rule.
    pub(super) fn authenticate(&mut self, call: &Call) -> Result<Auth, Fault> {
        let Some(id_text) = &call.session_id else {
            return Ok(Auth::Anonymous);
        };
        let invalid = || fault(AUTH_ERROR, "Invalid session or bad credentials");
        let id: i64 = id_text.parse().map_err(|_| invalid())?;
        let row = self.sessions.get_mut(&id).ok_or_else(invalid)?;
        if Some(&row.key) != call.session_key.as_ref() {
            return Err(invalid());
        }
        if row.expired && call.method != "sslLogin" {
            return Err(fault(AUTH_EXPIRED, format!("session \"{id}\" has expired")));
        }
        let callnum = match &call.callnum {
            Some(text) => Some(
                text.parse::<i64>()
                    .map_err(|_| fault(AUTH_ERROR, format!("Invalid callnum: {text:?}")))?,
            ),
            None => None,
        };
        if let (Some(callnum), Some(last)) = (callnum, row.lastcall) {
            if last > callnum {
                let text = format!("{last} > {callnum} (session {id})");
                return Err(fault(SEQUENCE_ERROR, text));
            }
            if last == callnum {
                let text = format!(
                    "unable to retry call {callnum} (method {}) for session {id}",
                    call.method
                );
                return Err(fault(RETRY_ERROR, text));
            }
        }
        if row.expired {
            return Ok(Auth::Expired(id));
        }
        if callnum.is_some() {
            row.lastcall = callnum;
        }
        Ok(Auth::LoggedIn(row.user.clone()))
    }

    pub(super) fn ssl_login(&mut self, call: &Call, auth: Auth) -> Result<Json, Fault> {
        if matches!(auth, Auth::LoggedIn(_)) {
            return Err(fault(AUTH_ERROR, "Already logged in"));
        }
        let user = match &call.remote_user {
            // GSSAPI: Koji's user is the principal's name (its krb_principal mapping).
            Some(principal) => principal
                .split(['@', '/'])
                .next()
                .unwrap_or(principal)
                .to_owned(),
            None => Self::certificate_user(call)?,
        };
        let user_id = self.user_id(&user);
        let key: String = format!(
            "{user_id}-{}",
            std::iter::repeat_with(fastrand::alphanumeric)
                .take(19)
                .collect::<String>()
        );
        let renew = call.kwargs.get("renew") == Some(&Json::Bool(true));
        let session_id = match auth {
            Auth::Expired(id) if renew => {
                if let Some(row) = self.sessions.get_mut(&id) {
                    row.key = key.clone();
                    row.expired = false;
                }
                id
            }
            _ => {
                let id = self.next_session_id;
                self.next_session_id += 1;
                let row = SessionRow {
                    key: key.clone(),
                    user,
                    lastcall: None,
                    expired: false,
                };
                self.sessions.insert(id, row);
                id
            }
        };
        Ok(json!({"session-id": session_id, "session-key": key, "header-auth": true}))
    }
}
