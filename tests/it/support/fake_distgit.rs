//! A fake Pagure dist-git serving the paths of distgit.md §9 with Pagure's reply shapes: the raw file route
//! (HTML 404 pages), project/group/PR JSON with `{"error", "error_code"}` 404s, plus a request log
//! and one-shot failure injection. Paths are percent-decoded before routing, as WSGI does for Pagure.

use super::fake_http::{
    ServerThread, Traffic, html_error_page, injected_reply, json_reply, lock, percent_decode,
    query_pairs, reply,
};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Chunk size of streamed (chunked, no Content-Length) file bodies.
const STREAM_CHUNK: usize = 64 * 1024;

enum RawFile {
    Text(Vec<u8>),
    /// `total` bytes of YAML comment lines, sent chunked so the client cannot see the size up front.
    Streamed {
        total: u64,
    },
}

#[derive(Default)]
struct DistGitState {
    traffic: Traffic,
    /// (package, git ref, file path) → content.
    files: HashMap<(String, String, String), RawFile>,
    /// package → the `access_users` / `access_groups` / optional `group_details` given by the test.
    projects: HashMap<String, Value>,
    groups: BTreeMap<String, Vec<String>>,
    pull_requests: HashMap<(String, i64), Value>,
}

pub struct FakeDistGit {
    state: Arc<Mutex<DistGitState>>,
    streamed_bytes: Arc<AtomicU64>,
    server: ServerThread,
}

#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<DistGitState>>,
    streamed_bytes: Arc<AtomicU64>,
}

impl FakeDistGit {
    pub fn start() -> FakeDistGit {
        let state = Arc::new(Mutex::new(DistGitState::default()));
        let streamed_bytes = Arc::new(AtomicU64::new(0));
        let shared = Shared {
            state: state.clone(),
            streamed_bytes: streamed_bytes.clone(),
        };
        let router = axum::Router::new().fallback(handle).with_state(shared);
        FakeDistGit {
            state,
            streamed_bytes,
            server: ServerThread::start("fake-distgit", router),
        }
    }

    pub fn base_url(&self) -> &str {
        self.server.base_url()
    }

    /// Serves `text` at `/rpms/<package>/raw/<git_ref>/f/<file_name>` (an empty text answers 404, as
    /// Pagure's "No content found" does).
    pub fn set_packit_yaml(&self, package: &str, git_ref: &str, file_name: &str, text: &str) {
        let key = (package.to_owned(), git_ref.to_owned(), file_name.to_owned());
        lock(&self.state)
            .files
            .insert(key, RawFile::Text(text.as_bytes().to_vec()));
    }

    /// Serves `total` bytes at that raw URL in chunks, without Content-Length; see [`Self::streamed_bytes`].
    pub fn set_streamed_file(&self, package: &str, git_ref: &str, file_name: &str, total: u64) {
        let key = (package.to_owned(), git_ref.to_owned(), file_name.to_owned());
        lock(&self.state)
            .files
            .insert(key, RawFile::Streamed { total });
    }

    /// Bytes of streamed files the server has produced so far (handed to the connection).
    pub fn streamed_bytes(&self) -> u64 {
        self.streamed_bytes.load(Ordering::SeqCst)
    }

    /// `access` is the ACL part of Pagure's project JSON: `{"access_users": {"owner": [..], "admin": [..],
    /// "commit": [..], "collaborator": [..], "ticket": [..]}, "access_groups": {…}}`, optionally with
    /// `group_details`; without it, `expand_group=1` answers with the members set by [`Self::set_group`].
    pub fn set_project(&self, package: &str, access: Value) {
        lock(&self.state)
            .projects
            .insert(package.to_owned(), access);
    }

    pub fn set_group(&self, name: &str, members: &[&str]) {
        let members = members.iter().map(|member| (*member).to_owned()).collect();
        lock(&self.state).groups.insert(name.to_owned(), members);
    }

    /// `pr` is served as the PR JSON (`id`, `status`, `user`, `branch`, `commit_stop`, `tags`, …).
    pub fn set_pull_request(&self, package: &str, id: i64, pr: Value) {
        lock(&self.state)
            .pull_requests
            .insert((package.to_owned(), id), pr);
    }

    /// The next request whose `path?query` starts with `path_prefix` gets `status` with an HTML page.
    pub fn fail_next(&self, path_prefix: &str, status: u16) {
        self.reply_next(
            path_prefix,
            status,
            "text/html; charset=utf-8",
            &html_error_page(status, "Error"),
        );
    }

    /// The next request whose `path?query` starts with `path_prefix` gets exactly this reply.
    pub fn reply_next(&self, path_prefix: &str, status: u16, content_type: &str, body: &[u8]) {
        lock(&self.state)
            .traffic
            .reply_next(path_prefix, status, content_type, body);
    }

    /// Every request so far as `path?query` (path as sent, still percent-encoded).
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).traffic.requests.clone()
    }

    pub fn request_count(&self, path_prefix: &str) -> usize {
        lock(&self.state).traffic.count(path_prefix)
    }
}

async fn handle(State(shared): State<Shared>, uri: Uri) -> Response {
    let target = match uri.query() {
        Some(query) => format!("{}?{query}", uri.path()),
        None => uri.path().to_owned(),
    };
    let mut state = lock(&shared.state);
    if let Some(injection) = state.traffic.record(&target) {
        return injected_reply(injection);
    }
    let path = percent_decode(uri.path());
    let query = query_pairs(uri.query());
    if let Some(rest) = path.strip_prefix("/api/0/") {
        return api(&state, rest, &query);
    }
    if let Some(rest) = path.strip_prefix("/rpms/")
        && let Some((package, rest)) = rest.split_once("/raw/")
        // Werkzeug's `path` converter is non-greedy: the identifier ends at the first "/f/".
        && let Some((identifier, file)) = rest.split_once("/f/")
    {
        let key = (package.to_owned(), identifier.to_owned(), file.to_owned());
        return match state.files.get(&key) {
            Some(RawFile::Text(bytes)) if bytes.is_empty() => html_404("No content found"),
            Some(RawFile::Text(bytes)) => reply(200, "text/plain; charset=utf-8", bytes.clone()),
            Some(RawFile::Streamed { total }) => streamed(*total, shared.streamed_bytes.clone()),
            None => html_404("File not found"),
        };
    }
    drop(state);
    html_404("Not Found")
}

fn api(state: &DistGitState, rest: &str, query: &[(String, String)]) -> Response {
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        ["group", group] => match state.groups.get(*group) {
            Some(members) => json_reply(
                200,
                &json!({"name": group, "display_name": group, "description": "", "group_type": "user",
                        "creator": {"name": "admin"}, "date_created": "1431414800", "members": members}),
            ),
            None => pagure_404("Group not found", "ENOGROUP"),
        },
        ["rpms", package, sub @ ..] => {
            let Some(access) = state.projects.get(*package) else {
                return pagure_404("Project not found", "ENOPROJECT");
            };
            match sub {
                [] => json_reply(
                    200,
                    &project_json(state, package, access, is_true(query, "expand_group")),
                ),
                ["pull-request", id] => {
                    let pr = id
                        .parse::<i64>()
                        .ok()
                        .and_then(|id| state.pull_requests.get(&(package.to_string(), id)));
                    match pr {
                        Some(pr) => json_reply(200, &pull_request_json(pr, query)),
                        None => pagure_404("Pull-Request not found", "ENOREQ"),
                    }
                }
                _ => html_404("Not Found"),
            }
        }
        _ => html_404("Not Found"),
    }
}

fn project_json(state: &DistGitState, package: &str, access: &Value, expand_group: bool) -> Value {
    let owner = access
        .pointer("/access_users/owner/0")
        .and_then(Value::as_str)
        .unwrap_or("orphan");
    let mut project = json!({
        "id": 1, "name": package, "namespace": "rpms", "fullname": format!("rpms/{package}"),
        "url_path": format!("rpms/{package}"), "description": format!("The {package} package"), "parent": null,
        "user": {"name": owner, "fullname": owner, "url_path": format!("user/{owner}")},
        "access_users": access.get("access_users").cloned().unwrap_or_else(|| json!({})),
        "access_groups": access.get("access_groups").cloned().unwrap_or_else(|| json!({})),
        "date_created": "1431414800", "date_modified": "1431414800", "tags": [], "priorities": {},
        "custom_keys": [], "close_status": [], "milestones": {},
    });
    if expand_group {
        let details = access.get("group_details").cloned().unwrap_or_else(|| {
            let mut details = serde_json::Map::new();
            let levels = access.get("access_groups").and_then(Value::as_object);
            for group in levels
                .into_iter()
                .flat_map(|levels| levels.values())
                .flat_map(group_names)
            {
                let members = state.groups.get(&group).cloned().unwrap_or_default();
                details.insert(group, json!(members));
            }
            Value::Object(details)
        });
        project["group_details"] = details;
    }
    project
}

fn group_names(level: &Value) -> Vec<String> {
    level
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn pull_request_json(pr: &Value, query: &[(String, String)]) -> Value {
    let mut pr = pr.clone();
    let with_comments = !query
        .iter()
        .any(|(key, value)| key == "comments" && !is_true_value(value));
    if let Some(object) = pr.as_object_mut() {
        if with_comments {
            object.entry("comments").or_insert_with(|| json!([]));
        } else {
            object.remove("comments");
        }
    }
    pr
}

/// Pagure's `is_true`: `1`, `true`, `t`, `y` in any case.
fn is_true_value(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "1" | "true" | "t" | "y"
    )
}

fn is_true(query: &[(String, String)], key: &str) -> bool {
    query
        .iter()
        .any(|(name, value)| name == key && is_true_value(value))
}

fn pagure_404(error: &str, code: &str) -> Response {
    json_reply(404, &json!({"error": error, "error_code": code}))
}

fn html_404(title: &str) -> Response {
    reply(404, "text/html; charset=utf-8", html_error_page(404, title))
}

fn streamed(total: u64, produced: Arc<AtomicU64>) -> Response {
    let line = b"# padding line of a very large packit config\n";
    let chunk: Bytes = line
        .iter()
        .copied()
        .cycle()
        .take(STREAM_CHUNK)
        .collect::<Vec<u8>>()
        .into();
    let stream = futures_lite::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        let produced = produced.clone();
        async move {
            if sent >= total {
                return None;
            }
            let size =
                usize::try_from(total - sent).map_or(STREAM_CHUNK, |left| left.min(STREAM_CHUNK));
            produced.fetch_add(size as u64, Ordering::SeqCst);
            Some((
                Ok::<Bytes, std::io::Error>(chunk.slice(..size)),
                sent + size as u64,
            ))
        }
    });
    reply(200, "text/plain; charset=utf-8", Body::from_stream(stream))
}
