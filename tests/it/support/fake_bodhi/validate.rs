//! What the fake Bodhi checks on `POST /updates/`, in Bodhi's order and words (bodhi.md §3): the body
//! (JSON or form) read into one JSON object, colander's `SaveUpdateSchema` (CSRF token, `type`, `notes`,
//! types and ranges, defaults), then the build validators: unknown build, build already in an update,
//! tags (none yet / no release / not in a candidate tag), release not composed by Bodhi, security severity.

use super::BodhiState;
use axum::http::{HeaderMap, header};
use serde_json::{Map, Value, json};

/// Bodhi's `csrf_error_message` (a triple-quoted string with its newlines turned into spaces).
pub(super) const CSRF_MISMATCH: &str = "CSRF tokens do not match.  This happens if you have the page open for a long time. Please reload the page and try to submit your data again. Make sure to save your input somewhere before reloading. ";
pub(super) const NOT_COMPOSED: &str = "Cannot manually create updates for a Release which is not composed by Bodhi.\nRead the 'Automatic updates' page in Bodhi docs about this error.";
const TYPES: [&str; 5] = [
    "bugfix",
    "security",
    "newpackage",
    "enhancement",
    "unspecified",
];
const SEVERITIES: [&str; 5] = ["unspecified", "urgent", "high", "medium", "low"];
const SUGGESTIONS: [&str; 3] = ["unspecified", "reboot", "logout"];
const NOTES_MAX: usize = 10_000;
/// Koji tags of a release a build can be in (`Release.from_tags`).
const RELEASE_TAG_FIELDS: [&str; 8] = [
    "candidate_tag",
    "testing_tag",
    "stable_tag",
    "dist_tag",
    "pending_signing_tag",
    "pending_testing_tag",
    "pending_stable_tag",
    "override_tag",
];

/// `(name, description)` of one Cornice error in the body.
pub(super) type Problem = (String, String);

fn problem(name: &str, description: impl Into<String>) -> Problem {
    (name.to_owned(), description.into())
}

/// The posted fields: a JSON object as is; form pairs with a repeated key as an array. `None` for any
/// other body.
pub(super) fn posted_fields(headers: &HeaderMap, body: &[u8]) -> Option<Map<String, Value>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        return serde_json::from_slice::<Value>(body)
            .ok()?
            .as_object()
            .cloned();
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return None;
    }
    let mut fields = Map::new();
    for (key, value) in crate::support::fake_http::query_pairs(std::str::from_utf8(body).ok()) {
        match fields.get_mut(&key) {
            Some(Value::Array(values)) => values.push(value.into()),
            Some(single) => *single = json!([single.take(), value]),
            None => {
                fields.insert(key, value.into());
            }
        }
    }
    Some(fields)
}

/// The schema-checked fields with Bodhi's defaults; `builds` and `bugs` as lists of strings.
pub(super) fn check_schema(
    fields: &Map<String, Value>,
    session_csrf: Option<&str>,
) -> Result<Map<String, Value>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut checked = Map::new();
    match fields.get("csrf_token").and_then(Value::as_str) {
        None | Some("") => problems.push(problem("csrf_token", "Required")),
        Some(token) if Some(token) != session_csrf => {
            problems.push(problem("csrf_token", CSRF_MISMATCH))
        }
        Some(_) => {}
    }
    match fields.get("notes").and_then(Value::as_str) {
        None | Some("") => problems.push(problem(
            "notes",
            "A description is required for the update.",
        )),
        Some(notes) if notes.chars().count() < 2 => {
            problems.push(problem("notes", "Shorter than minimum length 2"))
        }
        Some(notes) if notes.chars().count() > NOTES_MAX => {
            problems.push(problem(
                "notes",
                format!("Longer than maximum length {NOTES_MAX}"),
            ));
        }
        Some(notes) => {
            checked.insert("notes".into(), notes.into());
        }
    }
    for (name, choices, default) in [
        ("type", &TYPES[..], None),
        ("severity", &SEVERITIES[..], Some("unspecified")),
        ("suggest", &SUGGESTIONS[..], Some("unspecified")),
    ] {
        match (fields.get(name).and_then(Value::as_str), default) {
            (None, None) => problems.push(problem(name, "Required")),
            (None, Some(default)) => {
                checked.insert(name.into(), default.into());
            }
            (Some(value), _) if choices.contains(&value) => {
                checked.insert(name.into(), value.into());
            }
            (Some(value), _) => {
                problems.push(problem(
                    name,
                    format!("\"{value}\" is not one of {}", choices.join(", ")),
                ));
            }
        }
    }
    for name in ["builds", "bugs"] {
        match string_list(fields.get(name)) {
            Ok(list) => {
                checked.insert(name.into(), list.into());
            }
            Err(description) => problems.push(problem(name, description)),
        }
    }
    for (name, default) in [
        ("close_bugs", true),
        ("autokarma", true),
        ("autotime", true),
        ("require_bugs", true),
        ("require_testcases", true),
    ] {
        match boolean(fields.get(name), default) {
            Ok(value) => {
                checked.insert(name.into(), value.into());
            }
            Err(description) => problems.push(problem(name, description)),
        }
    }
    for (name, default, min, max) in [
        ("stable_karma", 3, Some(1), None),
        ("unstable_karma", -3, None, Some(-1)),
        ("stable_days", 0, Some(0), None),
    ] {
        match integer(fields.get(name), default, min, max) {
            Ok(value) => {
                checked.insert(name.into(), value.into());
            }
            Err(description) => problems.push(problem(name, description)),
        }
    }
    let display_name = fields
        .get("display_name")
        .and_then(Value::as_str)
        .unwrap_or("");
    checked.insert("display_name".into(), display_name.into());
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems)
    }
}

/// A list of strings, or one string split on commas and whitespace (Bodhi's `splitter`).
fn string_list(value: Option<&Value>) -> Result<Vec<String>, String> {
    let split = |text: &str| -> Vec<String> {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    };
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(split(text)),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(split)
                    .ok_or_else(|| format!("\"{item}\" is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|lists| lists.concat()),
        Some(other) => Err(format!("\"{other}\" is not iterable")),
    }
}

fn boolean(value: Option<&Value>, default: bool) -> Result<bool, String> {
    let text = match value {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::String(text)) => text.to_ascii_lowercase(),
        Some(other) => other.to_string(),
    };
    match text.as_str() {
        "false" | "0" => Ok(false),
        "true" | "1" => Ok(true),
        _ => Err(format!(
            "\"{text}\" is neither in (false, 0) nor in (true, 1)"
        )),
    }
}

fn integer(
    value: Option<&Value>,
    default: i64,
    min: Option<i64>,
    max: Option<i64>,
) -> Result<i64, String> {
    let number = match value {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(text)) => text.trim().parse().ok(),
        Some(_) => None,
    };
    let Some(number) = number else {
        return Err(format!(
            "\"{}\" is not a number",
            value.map(Value::to_string).unwrap_or_default()
        ));
    };
    if let Some(min) = min.filter(|min| number < *min) {
        return Err(format!("{number} is less than minimum value {min}"));
    }
    if let Some(max) = max.filter(|max| number > *max) {
        return Err(format!("{number} is greater than maximum value {max}"));
    }
    Ok(number)
}

/// One build validator: what it objects to in a build, if anything.
type Objection<'a> = dyn Fn(&String) -> Option<String> + 'a;

/// Bodhi's build validators, each over all builds, stopping at the first that objects. On success, the
/// release of each build.
pub(super) fn check_builds(
    state: &BodhiState,
    builds: &[String],
    checked: &Map<String, Value>,
) -> Result<Vec<Value>, Vec<Problem>> {
    if builds.is_empty() {
        return Err(vec![problem(
            "builds",
            "You must specify either builds or from_tag.",
        )]);
    }
    let objections = |check: &Objection| -> Vec<Problem> {
        builds
            .iter()
            .filter_map(check)
            .map(|description| problem("builds", description))
            .collect()
    };
    let unknown = |nvr: &String| {
        (!state.builds.contains_key(nvr)).then(|| format!("Build does not exist: {nvr}"))
    };
    let taken = |nvr: &String| {
        state
            .updates
            .iter()
            .any(|update| update_holds(update, nvr))
            .then(|| format!("Update for {nvr} already exists"))
    };
    let tags = |nvr: &String| tag_objection(state, nvr);
    let validators: [&Objection; 3] = [&unknown, &taken, &tags];
    for validator in validators {
        let found = objections(validator);
        if !found.is_empty() {
            return Err(found);
        }
    }
    let releases: Vec<Value> = builds
        .iter()
        .filter_map(|nvr| release_of(state, &state.builds[nvr]).cloned())
        .collect();
    if releases
        .iter()
        .any(|release| release["composed_by_bodhi"] != json!(true))
    {
        return Err(vec![problem("builds", NOT_COMPOSED)]);
    }
    if checked["type"] == json!("security") && checked["severity"] == json!("unspecified") {
        return Err(vec![problem(
            "severity",
            "Must specify severity for a security update",
        )]);
    }
    Ok(releases)
}

/// Whether `update` holds `nvr`: it lists the build and is not unpushed.
pub(super) fn update_holds(update: &Value, nvr: &str) -> bool {
    update["status"] != json!("unpushed") && update_builds(update).any(|build| build == nvr)
}

pub(super) fn update_builds(update: &Value) -> impl Iterator<Item = &str> {
    update["builds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|build| build["nvr"].as_str())
}

/// The release a build belongs to by its tags; a candidate-tag match first (F43 and F43C share their
/// other tags in the realistic set).
fn release_of<'a>(state: &'a BodhiState, tags: &[String]) -> Option<&'a Value> {
    let tagged = |release: &&Value, fields: &[&str]| {
        fields
            .iter()
            .filter_map(|field| release[*field].as_str())
            .any(|tag| tags.iter().any(|build_tag| build_tag == tag))
    };
    let releases = || state.releases.iter();
    releases()
        .find(|release| tagged(release, &["candidate_tag"]))
        .or_else(|| releases().find(|release| tagged(release, &RELEASE_TAG_FIELDS)))
}

fn tag_objection(state: &BodhiState, nvr: &str) -> Option<String> {
    let tags = &state.builds[nvr];
    if tags.is_empty() {
        return Some(format!("Cannot find any tags associated with build: {nvr}"));
    }
    if release_of(state, tags).is_none() {
        return Some(format!(
            "Cannot find release associated with build: {nvr}, tags: {}",
            python_list(tags)
        ));
    }
    let candidates: Vec<String> = state
        .releases
        .iter()
        .filter(|release| release["state"] != json!("archived"))
        .filter_map(|release| release["candidate_tag"].as_str().map(str::to_owned))
        .collect();
    let in_candidate = tags.iter().any(|tag| candidates.contains(tag));
    (!in_candidate).then(|| {
        format!(
            "Invalid tag: {nvr} not tagged with any of the following tags {}",
            python_list(&candidates)
        )
    })
}

/// `['a', 'b']`, as Bodhi formats a list into its messages.
fn python_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("'{item}'")).collect();
    format!("[{}]", quoted.join(", "))
}
