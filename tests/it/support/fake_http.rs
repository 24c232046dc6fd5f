//! Plumbing shared by the fake HTTP servers: an axum router served on 127.0.0.1:0 from its own thread and
//! tokio runtime (usable from plain `#[test]`s, stopped on drop), a request log, one-shot reply injection,
//! and the percent-decoding the fakes need to read paths and queries the way the real servers do.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// An axum router running on its own thread; dropping it stops the runtime and every connection.
pub struct ServerThread {
    base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerThread {
    pub fn start(name: &str, router: axum::Router) -> ServerThread {
        let (address_tx, address_rx) = mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fake server runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind 127.0.0.1:0");
                    address_tx
                        .send(listener.local_addr().expect("local address"))
                        .expect("report address");
                    tokio::select! {
                        result = axum::serve(listener, router) => result.expect("fake server"),
                        _ = shutdown_rx => {}
                    }
                });
                // Dropping the runtime here cancels the connection tasks, including stalled ones.
            })
            .expect("spawn fake server thread");
        let address = address_rx.recv().expect("fake server address");
        ServerThread {
            base_url: format!("http://{address}"),
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A canned reply served once to the next request whose path (with query) starts with `path_prefix`.
#[derive(Clone, Debug)]
pub struct Injection {
    pub path_prefix: String,
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What every fake records: requests as `path?query`, and pending injections.
#[derive(Default)]
pub struct Traffic {
    pub requests: Vec<String>,
    pub injections: Vec<Injection>,
}

impl Traffic {
    /// The next request whose `path?query` starts with `path_prefix` gets exactly this reply.
    pub fn reply_next(&mut self, path_prefix: &str, status: u16, content_type: &str, body: &[u8]) {
        self.injections.push(Injection {
            path_prefix: path_prefix.to_owned(),
            status,
            content_type: content_type.to_owned(),
            body: body.to_vec(),
        });
    }

    /// Logs `target` and returns the injection it consumes, if any.
    pub fn record(&mut self, target: &str) -> Option<Injection> {
        self.requests.push(target.to_owned());
        let index = self
            .injections
            .iter()
            .position(|injection| target.starts_with(&injection.path_prefix))?;
        Some(self.injections.remove(index))
    }

    pub fn count(&self, path_prefix: &str) -> usize {
        self.requests
            .iter()
            .filter(|request| request.starts_with(path_prefix))
            .count()
    }
}

/// Locks a fake's state even if a handler panicked while holding it (the test then fails on its own).
pub fn lock<T>(state: &Arc<Mutex<T>>) -> MutexGuard<'_, T> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn reply(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

pub fn json_reply(status: u16, value: &serde_json::Value) -> Response {
    reply(status, "application/json", value.to_string())
}

pub fn injected_reply(injection: Injection) -> Response {
    reply(injection.status, &injection.content_type, injection.body)
}

/// The HTML page a proxy or Flask serves for an error status.
pub fn html_error_page(status: u16, title: &str) -> Vec<u8> {
    format!("<!doctype html>\n<html><head><title>{status} {title}</title></head><body><h1>{title}</h1></body></html>\n")
        .into_bytes()
}

/// `%XX` decoding (invalid escapes stay literal), as WSGI servers do for paths.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Query pairs in order, with `+` as space and percent-decoding; repeated keys are kept.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&key.replace('+', " ")),
                percent_decode(&value.replace('+', " ")),
            )
        })
        .collect()
}
