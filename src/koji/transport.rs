//! One XML-RPC round trip over HTTPS: the reqwest client (extra trust roots, optional TLS client
//! identity, per-request timeout), session headers, the HTTP status check before parsing, and a size
//! limit on response bodies.

use crate::metrics::{OK, RemoteCalls};
use crate::net::BodyError;
use std::path::Path;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};

use super::error::{FaultCode, KojiError};
use super::wire::{self, Reply};

/// Largest response body accepted; Koji's largest routine answers (listTasks over all owners) are a
/// few MiB.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

const USER_AGENT: &str = concat!("fedflow/", env!("CARGO_PKG_VERSION"));

/// The session headers of one call. The key is only ever written into a header.
pub(crate) struct SessionHeaders<'a> {
    pub id: i64,
    pub key: &'a str,
    pub callnum: i64,
}

/// A decoded answer and the header a Kerberos login checks the server's identity with.
pub(crate) struct Answer {
    pub value: serde_json::Value,
    #[cfg_attr(not(feature = "kerberos"), allow(dead_code))]
    pub www_authenticate: Option<String>,
}

/// The HTTP side of the client.
pub(crate) struct Transport {
    http: reqwest::Client,
    timeout: Duration,
    calls: RemoteCalls,
}

impl Transport {
    pub(crate) fn new(
        hub_url: &str,
        ca_file: Option<&Path>,
        identity: Option<reqwest::Identity>,
        timeout: Duration,
        calls: RemoteCalls,
    ) -> Result<Transport, KojiError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(USER_AGENT)
            .timeout(timeout);
        if let Some(path) = ca_file {
            for certificate in read_ca_bundle(path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if let Some(identity) = identity {
            builder = builder.identity(identity);
        }
        let http = builder.build().map_err(|error| KojiError::Setup {
            hub_url: hub_url.to_owned(),
            reason: error_chain(&error),
        })?;
        Ok(Transport {
            http,
            timeout,
            calls,
        })
    }

    /// POSTs `body` to `url` and decodes the answer. A fault is returned as [`KojiError::Fault`]. Every
    /// hub call goes through here, so this is where calls are counted and timed (outcome `ok` or the
    /// error's kind).
    pub(crate) async fn call(
        &self,
        url: &str,
        method: &str,
        body: String,
        session: Option<SessionHeaders<'_>>,
    ) -> Result<serde_json::Value, KojiError> {
        self.call_authorized(url, method, body, session, None)
            .await
            .map(|answer| answer.value)
    }

    /// [`Self::call`] with an `Authorization` header (a Kerberos login's `Negotiate` token); the answer
    /// keeps the `WWW-Authenticate` header for mutual authentication.
    pub(crate) async fn call_authorized(
        &self,
        url: &str,
        method: &str,
        body: String,
        session: Option<SessionHeaders<'_>>,
        authorization: Option<&str>,
    ) -> Result<Answer, KojiError> {
        let started = std::time::Instant::now();
        let result = self
            .call_unmeasured(url, method, body, session, authorization)
            .await;
        let outcome = result.as_ref().map_or_else(KojiError::kind, |_| OK);
        self.calls.record(method, outcome, started.elapsed());
        result
    }

    /// Counts a call that failed before anything was sent (e.g. no Kerberos ticket for the login).
    #[cfg(feature = "kerberos")]
    pub(crate) fn record_unsent(&self, method: &str, error: &KojiError) {
        self.calls
            .record(method, error.kind(), std::time::Duration::ZERO);
    }

    async fn call_unmeasured(
        &self,
        url: &str,
        method: &str,
        body: String,
        session: Option<SessionHeaders<'_>>,
        authorization: Option<&str>,
    ) -> Result<Answer, KojiError> {
        let mut request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("text/xml"))
            .body(body);
        if let Some(authorization) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        if let Some(session) = session {
            request = request
                .header("Koji-Session-Id", session.id.to_string())
                .header("Koji-Session-Key", session.key)
                .header("Koji-Session-Callnum", session.callnum.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|error| self.request_error(url, method, error))?;
        let status = response.status();
        let www_authenticate = response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        if !status.is_success() {
            return Err(KojiError::HttpStatus {
                method: method.to_owned(),
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        let bytes = self.read_body(url, method, response).await?;
        let decode_error = |reason: String| KojiError::Decode {
            method: method.to_owned(),
            url: url.to_owned(),
            reason,
        };
        let text = String::from_utf8(bytes)
            .map_err(|error| decode_error(format!("body is not UTF-8: {error}")))?;
        match wire::decode_response(&text).map_err(decode_error)? {
            Reply::Value(value) => Ok(Answer {
                value,
                www_authenticate,
            }),
            Reply::Fault { code, string } => Err(KojiError::Fault {
                method: method.to_owned(),
                code: FaultCode::from_code(code),
                string,
            }),
        }
    }

    async fn read_body(
        &self,
        url: &str,
        method: &str,
        response: reqwest::Response,
    ) -> Result<Vec<u8>, KojiError> {
        crate::net::read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|error| match error {
                BodyError::TooLarge => KojiError::Decode {
                    method: method.to_owned(),
                    url: url.to_owned(),
                    reason: format!("response body exceeds {MAX_RESPONSE_BYTES} bytes"),
                },
                BodyError::Transport(error) => self.request_error(url, method, error),
            })
    }

    fn request_error(&self, url: &str, method: &str, error: reqwest::Error) -> KojiError {
        if error.is_timeout() {
            KojiError::Timeout {
                method: method.to_owned(),
                url: url.to_owned(),
                timeout: self.timeout,
            }
        } else {
            KojiError::Transport {
                method: method.to_owned(),
                url: url.to_owned(),
                source: error,
            }
        }
    }
}

/// True when a transport error is the server rejecting our TLS client certificate (a fatal alert about
/// the certificate), as a hub that verifies certificates during the handshake reports it.
pub(crate) fn is_client_certificate_rejection(error: &KojiError) -> bool {
    let KojiError::Transport { source, .. } = error else {
        return false;
    };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source);
    while let Some(current) = cause {
        let text = current.to_string();
        if text.contains("alert") && (text.contains("Certificate") || text.contains("UnknownCA")) {
            return true;
        }
        cause = current.source();
    }
    false
}

fn read_ca_bundle(path: &Path) -> Result<Vec<reqwest::Certificate>, KojiError> {
    let pem = std::fs::read(path).map_err(|source| KojiError::ReadFile {
        role: "CA",
        path: path.to_owned(),
        source,
    })?;
    let invalid = |reason: String| KojiError::InvalidFile {
        role: "CA",
        path: path.to_owned(),
        reason,
    };
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| invalid(error.to_string()))?;
    if certificates.is_empty() {
        return Err(invalid("no PEM certificate in it".to_owned()));
    }
    Ok(certificates)
}

/// An error and its causes on one line ("builder error: …: …"); reqwest's own text stops at the top.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}
