//! The fake Bodhi's updates: `GET /updates/` (filters `builds`, `status`, `releases`, `alias`; newest
//! first; paged) and `POST /updates/` (login cookies, schema, build validators, then one update per
//! release with alias `<ID-PREFIX>-2026-<10 hex>`, status `pending`, request `testing`).

use super::session::{csrf_of, user_of};
use super::validate::{check_builds, check_schema, posted_fields, update_builds};
use super::{Shared, cornice_error, cornice_errors, paged, query_list, query_of};
use crate::support::fake_http::{json_reply, lock};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{Map, Value, json};

/// `rows_per_page` limit of the updates list (bodhi.md §4).
const MAX_ROWS: u64 = 1000;

pub(super) async fn list(State(state): State<Shared>, uri: Uri) -> Response {
    let query = query_of(&uri);
    let builds = query_list(&query, "builds");
    let statuses = query_list(&query, "status");
    let releases = query_list(&query, "releases");
    let aliases = query_list(&query, "alias");
    let matches = |wanted: &[String], value: Option<&str>| {
        wanted.is_empty() || value.is_some_and(|value| wanted.iter().any(|w| w == value))
    };
    let matching: Vec<Value> = lock(&state)
        .updates
        .iter()
        .rev()
        .filter(|update| {
            (builds.is_empty() || update_builds(update).any(|nvr| builds.iter().any(|b| b == nvr)))
                && matches(&statuses, update["status"].as_str())
                && matches(&releases, update["release"]["name"].as_str())
                && matches(&aliases, update["alias"].as_str())
        })
        .cloned()
        .collect();
    paged(&query, "updates", matching, MAX_ROWS)
}

pub(super) async fn create(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(fields) = posted_fields(&headers, &body) else {
        return json_reply(400, &cornice_error("body", "", "Invalid JSON or form body"));
    };
    lock(&state).posts.push(Value::Object(fields.clone()));
    // Pyramid checks the permission before Cornice runs the schema; an anonymous caller gets the 403
    // of Bodhi's JSON exception view.
    let Some(user) = user_of(&state, &headers) else {
        return json_reply(
            403,
            &json!({"status": "error", "errors": [{"location": "body", "name": null,
                    "description": "Unauthorized: new_update failed permission check"}]}),
        );
    };
    let session_csrf = csrf_of(&state, &headers);
    let checked = match check_schema(&fields, session_csrf.as_deref()) {
        Ok(checked) => checked,
        Err(problems) => return json_reply(400, &cornice_errors("body", &problems)),
    };
    let builds: Vec<String> = checked["builds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|build| build.as_str().map(str::to_owned))
        .collect();
    let (hang, answer) = {
        let mut state = lock(&state);
        let releases = match check_builds(&state, &builds, &checked) {
            Ok(releases) => releases,
            Err(problems) => return json_reply(400, &cornice_errors("body", &problems)),
        };
        // One update per release, builds in the order they were given.
        let mut groups: Vec<(Value, Vec<String>)> = Vec::new();
        for (nvr, release) in builds.iter().zip(releases) {
            match groups
                .iter_mut()
                .find(|(known, _)| known["name"] == release["name"])
            {
                Some((_, nvrs)) => nvrs.push(nvr.clone()),
                None => groups.push((release, vec![nvr.clone()])),
            }
        }
        let created: Vec<Value> = groups
            .into_iter()
            .map(|(release, nvrs)| new_update(&state.base_url, &user, &release, &nvrs, &checked))
            .collect();
        state.updates.extend(created.iter().cloned());
        let now = std::time::SystemTime::now();
        for update in &created {
            if let Some(alias) = update["alias"].as_str() {
                state.created_at.insert(alias.to_owned(), now);
            }
        }
        let hang = std::mem::take(&mut state.hang_after_create);
        let answer = match created.as_slice() {
            [single] => {
                let mut single = single.clone();
                single["caveats"] = json!([]);
                single
            }
            _ => json!({"updates": created, "caveats": [{"name": "builds",
                "description": format!("Your update is being split into {}, one for each release.", created.len())}]}),
        };
        (hang, answer)
    };
    if hang {
        // The update exists, the answer never comes: what a client sees when it dies mid-call.
        return hang_forever().await;
    }
    json_reply(200, &answer)
}

async fn hang_forever() -> Response {
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    json_reply(504, &json!({"status": "error", "errors": []}))
}

/// An update as Bodhi serializes it, with the schema-checked fields kept.
fn new_update(
    base_url: &str,
    user: &str,
    release: &Value,
    nvrs: &[String],
    checked: &Map<String, Value>,
) -> Value {
    let prefix = release["id_prefix"].as_str().unwrap_or("FEDORA");
    let alias = format!("{prefix}-2026-{:010x}", fastrand::u64(..) & 0xff_ffff_ffff);
    let builds: Vec<Value> = nvrs
        .iter()
        .map(|nvr| json!({"nvr": nvr, "type": "rpm", "epoch": 0, "signed": false, "release_id": release["version"]}))
        .collect();
    let bugs: Vec<Value> = checked["bugs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|bug| bug.as_str()?.parse::<u64>().ok())
        .map(
            |bug_id| json!({"bug_id": bug_id, "title": format!("Bug {bug_id}"), "security": false}),
        )
        .collect();
    let mut update = checked.clone();
    update.remove("builds");
    let extra = json!({
        "alias": alias, "title": nvrs.join(" "), "status": "pending", "request": "testing",
        "builds": builds, "bugs": bugs, "release": release, "url": format!("{base_url}/updates/{alias}"),
        "user": {"name": user, "id": 4242, "email": format!("{user}@fedoraproject.org")},
        "content_type": "rpm", "karma": 0, "critpath": false, "locked": false, "from_tag": null,
        "date_submitted": "2026-01-05 10:00:00", "comments": [], "test_cases": []
    });
    if let Value::Object(extra) = extra {
        update.extend(extra);
    }
    Value::Object(update)
}
