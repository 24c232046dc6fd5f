//! HTTPS for the fake hub: rustls that asks for an optional client certificate (verified after the
//! handshake against the test CA, like mod_ssl's `SSLVerifyClient optional`), hyper HTTP/1.1, and the
//! request path: record the call, apply a queued injection, dispatch, answer.

use std::convert::Infallible;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use hyper::{Request, Response, StatusCode};
use serde_json::Value as Json;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::{
    self, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
};

use super::hub::{Call, ClientIdentity, Hub};
use super::{Injection, RecordedCall, xml};
use crate::support::certs::Certs;
use crate::support::chaos::Fault;

const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// The shared state and the condition variable `wait_for_calls` sleeps on.
pub type Shared = Arc<(Mutex<Hub>, Condvar)>;

/// Asks every client for a certificate. Optional mode accepts any (or none) at the TLS layer and
/// decides trust after the handshake; required mode rejects a missing or untrusted certificate in the
/// handshake itself. Both check the handshake signature, so the client proves it holds the key.
#[derive(Debug)]
struct ClientCertPolicy {
    webpki: Arc<dyn ClientCertVerifier>,
    required: bool,
}

impl ClientCertVerifier for ClientCertPolicy {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.required
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.required {
            self.webpki
                .verify_client_cert(end_entity, intermediates, now)
        } else {
            Ok(ClientCertVerified::assertion())
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The TLS acceptor plus the verifier that decides `SSL_CLIENT_VERIFY` after the handshake.
pub struct Tls {
    acceptor: TlsAcceptor,
    webpki: Arc<dyn ClientCertVerifier>,
}

impl Tls {
    /// `require_client_cert`: like mod_ssl's `SSLVerifyClient require` instead of `optional`.
    pub fn new(certs: &Certs, require_client_cert: bool) -> Tls {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&certs.ca_file).expect("read the test CA") {
            roots
                .add(cert.expect("parse the test CA"))
                .expect("add the test CA");
        }
        let webpki = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .allow_unauthenticated()
            .build()
            .expect("client verifier");
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(&certs.server_cert_file)
                .expect("read the server certificate")
                .collect::<Result<_, _>>()
                .expect("parse the server certificate");
        let key = PrivateKeyDer::from_pem_file(&certs.server_key_file).expect("server key");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_client_cert_verifier(Arc::new(ClientCertPolicy {
                webpki: webpki.clone(),
                required: require_client_cert,
            }))
            .with_single_cert(chain, key)
            .expect("server certificate and key");
        Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            webpki,
        }
    }

    fn identify(&self, peer: Option<&[CertificateDer<'static>]>) -> ClientIdentity {
        let Some((end_entity, intermediates)) = peer.and_then(<[_]>::split_first) else {
            return ClientIdentity {
                verify: "NONE".to_owned(),
                common_name: None,
            };
        };
        match self
            .webpki
            .verify_client_cert(end_entity, intermediates, UnixTime::now())
        {
            Ok(_) => ClientIdentity {
                verify: "SUCCESS".to_owned(),
                common_name: super::der::subject_common_name(end_entity),
            },
            Err(error) => ClientIdentity {
                verify: format!("FAILED:{error}"),
                common_name: None,
            },
        }
    }
}

/// Accepts connections until `shutdown` fires; connection tasks die with the runtime.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<Tls>,
    shared: Shared,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => return,
        };
        let Ok((tcp, _)) = accepted else { continue };
        let (tls, shared) = (tls.clone(), shared.clone());
        tokio::spawn(async move {
            // A failed handshake is the client's problem to report; the hub just moves on.
            let Ok(stream) = tls.acceptor.accept(tcp).await else {
                return;
            };
            let client = tls.identify(stream.get_ref().1.peer_certificates());
            let service = hyper::service::service_fn(move |request| {
                handle(request, client.clone(), shared.clone())
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn header(request: &Request<hyper::body::Incoming>, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn xml_response(body: String) -> Response<Body> {
    Response::builder()
        .header("Content-Type", "text/xml")
        .header("Koji-Version", "1.35.0")
        .body(Body::from(body))
        .unwrap_or_default()
}

fn status_response(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(text.to_owned()));
    *response.status_mut() = status;
    response
}

async fn handle(
    request: Request<hyper::body::Incoming>,
    client: ClientIdentity,
    shared: Shared,
) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path().to_owned();
    if path != "/kojihub" && path != "/kojihub/ssllogin" {
        return Ok(status_response(StatusCode::NOT_FOUND, "no such path"));
    }
    if request.method() != hyper::Method::POST {
        return Ok(status_response(StatusCode::METHOD_NOT_ALLOWED, "POST only"));
    }
    let (session_id, session_key, callnum) = (
        header(&request, "Koji-Session-Id"),
        header(&request, "Koji-Session-Key"),
        header(&request, "Koji-Session-Callnum"),
    );
    let (user_agent, content_type) = (
        header(&request, "User-Agent"),
        header(&request, "Content-Type"),
    );
    // mod_auth_gssapi guards /kojihub/ssllogin: a Negotiate token must verify before Koji sees the call.
    let negotiated = match negotiate(&path, header(&request, "Authorization")) {
        None => None,
        Some(Ok(negotiated)) => Some(negotiated),
        Some(Err(reason)) => {
            let mut refusal = status_response(
                StatusCode::UNAUTHORIZED,
                &format!("<html><body>GSSAPI: {reason}</body></html>"),
            );
            refusal.headers_mut().insert(
                "WWW-Authenticate",
                hyper::header::HeaderValue::from_static("Negotiate"),
            );
            return Ok(refusal);
        }
    };
    let body = axum::body::to_bytes(Body::new(request.into_body()), MAX_REQUEST_BYTES).await;
    let Some(text) = body
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
    else {
        return Ok(status_response(StatusCode::BAD_REQUEST, "unreadable body"));
    };
    let (method, params) = match xml::parse_call(&text) {
        Ok(parsed) => parsed,
        Err(error) => return Ok(xml_response(xml::fault(1, &format!("ParseError: {error}")))),
    };
    let (mut args, mut kwargs) = (params.clone(), serde_json::Map::new());
    if let Some(Json::Object(last)) = args.last()
        && last.get("__starstar") == Some(&Json::Bool(true))
    {
        kwargs = last.clone();
        kwargs.remove("__starstar");
        args.pop();
    }
    let call = Call {
        path: path.clone(),
        method: method.clone(),
        args,
        kwargs,
        session_id: session_id.clone(),
        session_key: session_key.clone(),
        callnum: callnum.clone(),
        client,
        remote_user: negotiated.as_ref().map(|(principal, _)| principal.clone()),
    };
    let injection = {
        let (lock, calls_changed) = &*shared;
        let mut hub = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let injection = hub
            .injections
            .get_mut(&method)
            .and_then(|queue| queue.pop_front());
        let chaos = match (&injection, hub.chaos.as_mut()) {
            (None, Some(chaos)) => chaos.roll(&method),
            _ => None,
        };
        hub.calls.push(RecordedCall {
            path,
            method: method.clone(),
            params: Json::Array(params),
            session_id: session_id.and_then(|id| id.parse().ok()),
            session_key,
            callnum: callnum.and_then(|n| n.parse().ok()),
            user_agent,
            content_type,
            negotiated_principal: call.remote_user.clone(),
            at: SystemTime::now(),
            chaos,
        });
        calls_changed.notify_all();
        injection.or_else(|| chaos.map(chaos_injection))
    };
    let mut hang = Duration::ZERO;
    let mut negotiated = negotiated;
    match injection {
        Some(Injection::Fault { code, string }) => {
            return Ok(xml_response(xml::fault(code, &string)));
        }
        Some(Injection::HttpStatus(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(status_response(
                status,
                "<html><body>injected failure</body></html>",
            ));
        }
        Some(Injection::RawBody(body)) => return Ok(xml_response(body)),
        Some(Injection::TimeoutWithoutWork(stall)) => {
            tokio::time::sleep(stall).await;
            return Ok(status_response(
                StatusCode::GATEWAY_TIMEOUT,
                "<html><body>gateway timeout</body></html>",
            ));
        }
        Some(Injection::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Injection::AcceptThenHang(delay)) => hang = delay,
        Some(Injection::ForgedMutualToken) => {
            if let Some((_, reply)) = &mut negotiated {
                *reply = Some("Zm9yZ2Vk".to_owned());
            }
        }
        Some(Injection::ExpireSession) => {
            let mut hub = shared
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            hub.expire_session(call.session_id.as_deref());
        }
        None => {}
    }
    let outcome = {
        let mut hub = shared
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        hub.dispatch(&call)
    };
    if !hang.is_zero() {
        tokio::time::sleep(hang).await;
    }
    let mut response = xml_response(match outcome {
        Ok(value) => xml::response(&value),
        Err((code, string)) => xml::fault(code, &string),
    });
    // Mutual authentication: the service's token goes back with the answer.
    if let Some(reply) = negotiated.and_then(|(_, reply)| reply)
        && let Ok(value) = format!("Negotiate {reply}").parse()
    {
        response.headers_mut().insert("WWW-Authenticate", value);
    }
    Ok(response)
}

/// The one-shot injection that plays a chaos fault.
fn chaos_injection(fault: Fault) -> Injection {
    match fault {
        Fault::Status(status) => Injection::HttpStatus(status),
        Fault::Timeout(stall) => Injection::TimeoutWithoutWork(stall),
        Fault::HangAfterWork(stall) => Injection::AcceptThenHang(stall),
    }
}

/// The principal of a verified `Negotiate` header at `/kojihub/ssllogin` and the service's reply token, or
/// why the token was refused (answered 401 with a `Negotiate` challenge, as mod_auth_gssapi does); `None`
/// without such a header.
#[cfg(feature = "kerberos")]
fn negotiate(
    path: &str,
    authorization: Option<String>,
) -> Option<Result<(String, Option<String>), String>> {
    let authorization = authorization.filter(|value| value.starts_with("Negotiate "))?;
    if path != "/kojihub/ssllogin" {
        return None;
    }
    Some(
        crate::support::kdc::accept(&authorization)
            .map(|accepted| (accepted.principal, accepted.reply)),
    )
}

/// Without Kerberos in this build, `Negotiate` headers are not looked at.
#[cfg(not(feature = "kerberos"))]
fn negotiate(
    _path: &str,
    _authorization: Option<String>,
) -> Option<Result<(String, Option<String>), String>> {
    None
}
