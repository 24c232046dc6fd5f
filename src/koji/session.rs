//! The logged-in half of the client (koji.md §6): lazy `sslLogin` at `<hub>/ssllogin` (client certificate
//! or Kerberos `Negotiate`), the session headers with a call number that only ever grows, renewal on
//! `AuthExpired`, one fresh login on `AuthError`, and no resending on `RetryError`/`SequenceError`. All
//! session calls are serialized.

use dxr::Value;
use tracing::{debug, info, warn};

use super::client::Inner;
use super::error::{FaultCode, KojiError};
use super::transport::{SessionHeaders, is_client_certificate_rejection};
use super::wire;

/// A hub session. Deliberately not `Debug`: the key must never reach a log line.
pub(crate) struct Session {
    id: i64,
    key: String,
    next_callnum: i64,
}

impl Session {
    fn headers(&mut self) -> SessionHeaders<'_> {
        let callnum = self.next_callnum;
        self.next_callnum += 1;
        SessionHeaders {
            id: self.id,
            key: &self.key,
            callnum,
        }
    }
}

impl Inner {
    /// Calls `method` inside our session, logging in first if needed. Retries only after a renewal
    /// (`AuthExpired`) or a fresh login (`AuthError`), once.
    pub(crate) async fn call_logged_in(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(&str, Value)>,
    ) -> Result<serde_json::Value, KojiError> {
        if !self.can_submit {
            return Err(KojiError::NotAuthenticated {
                method: method.to_owned(),
            });
        }
        let body = self.encode(method, args, kwargs)?;
        let mut slot = self.session.lock().await;
        // The slot stays empty until the call ends with a session worth keeping.
        let (mut session, mut fresh) = match slot.take() {
            Some(session) => (session, false),
            None => (self.login(method, None).await?, true),
        };
        let mut retried = false;
        loop {
            let outcome = self
                .transport
                .call(&self.hub_url, method, body.clone(), Some(session.headers()))
                .await;
            let code = match &outcome {
                Err(KojiError::Fault { code, .. }) => Some(*code),
                _ => None,
            };
            match code {
                Some(FaultCode::AuthExpired) if !retried => {
                    info!(
                        session_id = session.id,
                        method, "Koji session expired; renewing"
                    );
                    retried = true;
                    session = self.login(method, Some(&mut session)).await?;
                    fresh = true;
                }
                Some(FaultCode::AuthError) if !retried && !fresh => {
                    warn!(
                        session_id = session.id,
                        method, "Koji refused our session; logging in again"
                    );
                    retried = true;
                    session = self.login(method, None).await?;
                    fresh = true;
                }
                Some(FaultCode::AuthError) => {
                    let reason = outcome
                        .err()
                        .map_or_else(String::new, |error| error.to_string());
                    return Err(KojiError::Auth {
                        method: method.to_owned(),
                        url: self.hub_url.clone(),
                        reason: format!("rejected right after a fresh login: {reason}"),
                    });
                }
                // SequenceError: our call numbers are behind the hub's. A second AuthExpired: the
                // renewal did not take. Either way only a new session helps; the slot stays empty.
                Some(FaultCode::SequenceError | FaultCode::AuthExpired) => return outcome,
                _ => {
                    *slot = Some(session);
                    return outcome;
                }
            }
        }
    }

    /// `sslLogin` at `<hub>/ssllogin` with the TLS client identity or a Kerberos token. With `renew`, the
    /// expired session's headers go along with `renew=True`, so the hub keeps the session id and issues a
    /// new key.
    async fn login(&self, method: &str, renew: Option<&mut Session>) -> Result<Session, KojiError> {
        let renewing = renew.is_some();
        let kwargs = if renewing {
            vec![("renew", Value::Boolean(true))]
        } else {
            Vec::new()
        };
        // Positional `proxyuser=None`, as koji's ClientSession.ssl_login sends it.
        let body = self.encode("sslLogin", vec![Value::Nil], kwargs)?;
        let (old_id, headers) = match renew {
            Some(old) => (Some(old.id), Some(old.headers())),
            None => (None, None),
        };
        let next_after_renewal = headers.as_ref().map(|headers| headers.callnum + 1);
        let refused = |reason: String| KojiError::Auth {
            method: method.to_owned(),
            url: self.login_url.clone(),
            reason,
        };
        let reply = match self.send_login(body, headers).await {
            Ok(reply) => reply,
            Err(KojiError::Fault {
                code: code @ FaultCode::GSSAPIAuthError,
                string,
                ..
            }) => {
                return Err(refused(format!(
                    "sslLogin fault {code}: {string}; Kerberos failure: check the keytab, the principal \
                     and the clock"
                )));
            }
            Err(KojiError::Fault {
                code:
                    code @ (FaultCode::AuthError | FaultCode::ActionNotAllowed | FaultCode::AuthExpired),
                string,
                ..
            }) => return Err(refused(format!("sslLogin fault {code}: {string}"))),
            Err(KojiError::HttpStatus {
                status: status @ (401 | 403),
                ..
            }) => {
                return Err(refused(format!(
                    "sslLogin answered HTTP {status}{}",
                    self.refusal_hint()
                )));
            }
            Err(error) if is_client_certificate_rejection(&error) => {
                return Err(refused(format!("TLS client certificate rejected: {error}")));
            }
            Err(error) => return Err(error),
        };
        let decode_error = |reason: &str| KojiError::Decode {
            method: "sslLogin".to_owned(),
            url: self.login_url.clone(),
            reason: reason.to_owned(),
        };
        let id = reply
            .get("session-id")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| decode_error("no integer session-id in the login result"))?;
        let key = reply
            .get("session-key")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| decode_error("no string session-key in the login result"))?
            .to_owned();
        if reply
            .get("header-auth")
            .and_then(serde_json::Value::as_bool)
            != Some(true)
        {
            // Hubs before 1.30 want the session in the query string; we only speak headers.
            warn!(
                session_id = id,
                "Koji hub did not announce header-auth; sending session headers anyway"
            );
        }
        // A renewed session keeps its id and its last call number on the hub: continue the sequence
        // instead of restarting at 0, which the hub would answer with SequenceError.
        let next_callnum = match (old_id, next_after_renewal) {
            (Some(old), Some(next)) if old == id => next,
            _ => 0,
        };
        debug!(session_id = id, renewed = renewing, "logged in to Koji");
        Ok(Session {
            id,
            key,
            next_callnum,
        })
    }

    /// POSTs `sslLogin` to `<hub>/ssllogin`: with the TLS identity of the transport, or with a Kerberos
    /// token whose mutual authentication is checked on the answer.
    async fn send_login(
        &self,
        body: String,
        headers: Option<SessionHeaders<'_>>,
    ) -> Result<serde_json::Value, KojiError> {
        #[cfg(feature = "kerberos")]
        if let Some(negotiator) = &self.negotiator {
            return self.send_negotiated_login(negotiator, body, headers).await;
        }
        self.transport
            .call(&self.login_url, "sslLogin", body, headers)
            .await
    }

    #[cfg(feature = "kerberos")]
    async fn send_negotiated_login(
        &self,
        negotiator: &crate::krb::Negotiator,
        body: String,
        headers: Option<SessionHeaders<'_>>,
    ) -> Result<serde_json::Value, KojiError> {
        let kerberos_error = |error| KojiError::Kerberos {
            method: "sslLogin".to_owned(),
            url: self.login_url.clone(),
            error: Box::new(error),
        };
        let url = reqwest::Url::parse(&self.login_url).map_err(|error| KojiError::Setup {
            hub_url: self.hub_url.clone(),
            reason: format!("login URL: {error}"),
        })?;
        let negotiation = match negotiator.start(&url).await {
            Ok(negotiation) => negotiation,
            Err(cause) => {
                let error = kerberos_error(cause);
                self.transport.record_unsent("sslLogin", &error);
                return Err(error);
            }
        };
        let answer = self
            .transport
            .call_authorized(
                &self.login_url,
                "sslLogin",
                body,
                headers,
                Some(negotiation.authorization()),
            )
            .await?;
        negotiation
            .finish(answer.www_authenticate.as_deref())
            .await
            .map_err(kerberos_error)?;
        Ok(answer.value)
    }

    /// What a refused login (HTTP 401/403 at `/ssllogin`) means for the configured credentials.
    fn refusal_hint(&self) -> String {
        #[cfg(feature = "kerberos")]
        if let Some(negotiator) = &self.negotiator {
            return format!(
                ": the hub did not accept the Kerberos ticket of {}; check that the principal is a Koji user \
                 and that the hub's service principal is in its keytab",
                negotiator.principal()
            );
        }
        String::new()
    }

    pub(crate) fn encode(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(&str, Value)>,
    ) -> Result<String, KojiError> {
        wire::encode_call(method, args, kwargs).map_err(|reason| KojiError::Setup {
            hub_url: self.hub_url.clone(),
            reason,
        })
    }
}
