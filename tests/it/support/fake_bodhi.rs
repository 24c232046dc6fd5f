//! A fake Bodhi: `GET /releases/` with Bodhi's paging (`releases`, `page`, `pages`, `rows_per_page`,
//! `total`), `state` filters and Cornice error bodies, plus a request log and one-shot failure injection.
//! Routes are registered one per endpoint so the update API can be added beside `/releases/`.

use super::fake_http::{ServerThread, Traffic, injected_reply, json_reply, lock, query_pairs};
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Bodhi's default and maximum `rows_per_page` for releases.
const DEFAULT_ROWS: u64 = 20;
const MAX_ROWS: u64 = 100;

#[derive(Default)]
struct BodhiState {
    traffic: Traffic,
    releases: Vec<Value>,
}

type Shared = Arc<Mutex<BodhiState>>;

pub struct FakeBodhi {
    state: Shared,
    server: ServerThread,
}

impl FakeBodhi {
    pub fn start() -> FakeBodhi {
        let state: Shared = Arc::default();
        let router = axum::Router::new()
            .route("/releases/", get(releases))
            .fallback(not_found)
            .with_state(state.clone());
        FakeBodhi {
            state,
            server: ServerThread::start("fake-bodhi", router),
        }
    }

    pub fn base_url(&self) -> &str {
        self.server.base_url()
    }

    /// Release JSON objects as Bodhi serves them (see [`realistic_releases`]), in Bodhi's order (by name).
    pub fn set_releases(&self, releases: Vec<Value>) {
        lock(&self.state).releases = releases;
    }

    /// The next request answers `status` with a Cornice error body.
    pub fn fail_next(&self, status: u16) {
        let body = cornice_error("body", "", &format!("fake failure with HTTP {status}"));
        self.reply_next("/", status, "application/json", body.to_string().as_bytes());
    }

    /// The next request whose `path?query` starts with `path_prefix` gets exactly this reply.
    pub fn reply_next(&self, path_prefix: &str, status: u16, content_type: &str, body: &[u8]) {
        lock(&self.state)
            .traffic
            .reply_next(path_prefix, status, content_type, body);
    }

    /// Every request so far as `path?query`.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).traffic.requests.clone()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.state).traffic.requests.len()
    }
}

fn cornice_error(location: &str, name: &str, description: &str) -> Value {
    json!({"status": "error", "errors": [{"location": location, "name": name, "description": description}]})
}

/// Logs the request; `Some` reply if an injection applies.
fn record(state: &Shared, uri: &Uri) -> Option<Response> {
    let target = match uri.query() {
        Some(query) => format!("{}?{query}", uri.path()),
        None => uri.path().to_owned(),
    };
    lock(state).traffic.record(&target).map(injected_reply)
}

async fn not_found(State(state): State<Shared>, uri: Uri) -> Response {
    if let Some(response) = record(&state, &uri) {
        return response;
    }
    json_reply(
        404,
        &cornice_error("url", "", "The resource could not be found."),
    )
}

async fn releases(State(state): State<Shared>, uri: Uri) -> Response {
    if let Some(response) = record(&state, &uri) {
        return response;
    }
    let query = query_pairs(uri.query());
    let number = |key: &str, default: u64| -> Result<u64, (String, String)> {
        match query.iter().rev().find(|(name, _)| name == key) {
            None => Ok(default),
            Some((_, value)) => value
                .parse::<u64>()
                .map_err(|_| (key.to_owned(), format!("\"{value}\" is not a number"))),
        }
    };
    let (rows, page) = match number("rows_per_page", DEFAULT_ROWS)
        .and_then(|rows| Ok((rows, number("page", 1)?)))
    {
        Ok(numbers) => numbers,
        Err((name, description)) => {
            return json_reply(400, &cornice_error("querystring", &name, &description));
        }
    };
    if rows == 0 || rows > MAX_ROWS {
        let bound = if rows == 0 {
            "less than minimum value 1"
        } else {
            "greater than maximum value 100"
        };
        return json_reply(
            400,
            &cornice_error(
                "querystring",
                "rows_per_page",
                &format!("{rows} is {bound}"),
            ),
        );
    }
    if page == 0 {
        return json_reply(
            400,
            &cornice_error("querystring", "page", "0 is less than minimum value 1"),
        );
    }
    let states: Vec<&str> = query
        .iter()
        .filter(|(name, _)| name == "state")
        .map(|(_, value)| value.as_str())
        .collect();
    let matching: Vec<Value> = lock(&state)
        .releases
        .iter()
        .filter(|release| {
            states.is_empty()
                || release
                    .get("state")
                    .and_then(Value::as_str)
                    .is_some_and(|s| states.contains(&s))
        })
        .cloned()
        .collect();
    let total = matching.len() as u64;
    let pages = total.div_ceil(rows);
    let start = usize::try_from((page - 1).saturating_mul(rows)).unwrap_or(usize::MAX);
    let on_page: Vec<Value> = matching
        .into_iter()
        .skip(start)
        .take(rows as usize)
        .collect();
    json_reply(
        200,
        &json!({"releases": on_page, "page": page, "pages": pages, "rows_per_page": rows, "total": total}),
    )
}

/// One release object with all the fields Bodhi serves (bodhi.md §1).
pub fn release_json(
    name: &str,
    version: &str,
    id_prefix: &str,
    branch: &str,
    state: &str,
) -> Value {
    let epel = id_prefix == "FEDORA-EPEL";
    let rawhide = branch == "rawhide";
    let (long_name, tag_base, candidate, testing, stable) = if epel {
        let tag = branch.to_owned();
        (
            format!("Fedora EPEL {version}"),
            tag.clone(),
            format!("{tag}-testing-candidate"),
            format!("{tag}-testing"),
            tag,
        )
    } else {
        let tag = format!("f{version}");
        let stable = if rawhide {
            tag.clone()
        } else {
            format!("{tag}-updates")
        };
        (
            format!("Fedora {version}"),
            tag.clone(),
            format!("{tag}-updates-candidate"),
            format!("{tag}-updates-testing"),
            stable,
        )
    };
    json!({
        "name": name, "long_name": long_name, "version": version, "id_prefix": id_prefix, "branch": branch,
        "dist_tag": tag_base, "stable_tag": stable, "testing_tag": testing, "candidate_tag": candidate,
        "pending_signing_tag": format!("{tag_base}-signing-pending"),
        "pending_testing_tag": format!("{testing}-pending"), "pending_stable_tag": format!("{stable}-pending"),
        "override_tag": format!("{tag_base}-override"),
        "mail_template": if epel { "fedora_epel_legacy_errata_template" } else { "fedora_errata_template" },
        "state": state, "composed_by_bodhi": !rawhide, "create_automatic_updates": rawhide,
        "package_manager": if epel { "unspecified" } else { "dnf" },
        "testing_repository": if epel { Value::Null } else { json!("updates-testing") },
        "released_on": null, "eol": null, "setting_status": if rawhide { json!("pre_beta") } else { Value::Null },
        "critpath_mandatory_days_in_testing": 14, "mandatory_days_in_testing": 7,
        "critpath_min_karma": 2, "min_karma": 1,
    })
}

/// F42, F43 current; F44 branched (pending, branch f44); F45 rawhide (pending, branch rawhide); EPEL 8, 9,
/// 10.1 current and 10.2 pending (the leading minor, branch epel10); ELN, a container and a flatpak
/// release, EPEL 9 Next, and archived F41 and EPEL-7 (filtered out by `state`). Sorted by name, as Bodhi does.
pub fn realistic_releases() -> Vec<Value> {
    let mut eln = release_json("ELN", "eln", "FEDORA", "eln", "pending");
    eln["long_name"] = json!("Fedora ELN");
    eln["candidate_tag"] = json!("eln-updates-candidate");
    let mut container = release_json("F43C", "43", "FEDORA-CONTAINER", "f43", "current");
    container["long_name"] = json!("Fedora 43 Containers");
    container["candidate_tag"] = json!("f43-container-updates-candidate");
    let mut flatpak = release_json("F43F", "43", "FEDORA-FLATPAK", "f43", "current");
    flatpak["long_name"] = json!("Fedora 43 Flatpaks");
    flatpak["candidate_tag"] = json!("f43-flatpak-updates-candidate");
    let mut next = release_json("EPEL-9N", "9", "FEDORA-EPEL-NEXT", "epel9-next", "current");
    next["long_name"] = json!("Fedora EPEL 9 Next");
    let mut old_epel = release_json("EPEL-7", "7", "FEDORA-EPEL", "epel7", "archived");
    old_epel["create_automatic_updates"] = Value::Null;
    vec![
        eln,
        release_json("EPEL-10.1", "10.1", "FEDORA-EPEL", "epel10.1", "current"),
        release_json("EPEL-10.2", "10.2", "FEDORA-EPEL", "epel10", "pending"),
        old_epel,
        release_json("EPEL-8", "8", "FEDORA-EPEL", "epel8", "current"),
        release_json("EPEL-9", "9", "FEDORA-EPEL", "epel9", "current"),
        next,
        release_json("F41", "41", "FEDORA", "f41", "archived"),
        release_json("F42", "42", "FEDORA", "f42", "current"),
        release_json("F43", "43", "FEDORA", "f43", "current"),
        container,
        flatpak,
        release_json("F44", "44", "FEDORA", "f44", "pending"),
        release_json("F45", "45", "FEDORA", "rawhide", "pending"),
    ]
}
