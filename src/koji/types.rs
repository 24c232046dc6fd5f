//! The typed records the client returns (build targets, tasks, builds, tags, changelog entries) and
//! their decoding from the hub's structs. Unknown fields are ignored; fields Koji may send as `<nil/>`
//! are `Option`s.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::message::{BuildState, TaskState};

/// `getBuildTarget` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildTarget {
    pub id: i64,
    pub name: String,
    pub build_tag_name: String,
    pub dest_tag_name: String,
}

/// `getTaskInfo` / `listTasks` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub id: i64,
    pub state: TaskState,
    pub method: String,
    pub owner: Option<i64>,
    /// The decoded call parameters (`[source, target, opts]` for `build`); empty when not sent.
    pub request: Vec<Json>,
    pub create_ts: Option<f64>,
    pub completion_ts: Option<f64>,
}

/// `getBuild` / `listBuilds` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildInfo {
    pub build_id: i64,
    pub nvr: String,
    pub name: String,
    pub version: String,
    pub release: String,
    pub state: BuildState,
    pub task_id: Option<i64>,
    pub owner_name: Option<String>,
    /// The dereferenced source (`…#<commit>`), as Koji stores it.
    pub source: Option<String>,
    /// The source as submitted (`extra.source.original_url`).
    pub original_source: Option<String>,
}

/// A `listTags` row, as far as we read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagInfo {
    pub id: i64,
    pub name: String,
}

/// One entry of an RPM's `%changelog`, from its `changelogtime`/`changelogname`/`changelogtext`
/// headers. `author` is the whole header line after the date (`Name <mail> - 1.0-1`), as rpm keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChangelogEntry {
    /// Unix seconds; rpm stores the day of a `%changelog` date (midnight UTC) unless a time was given.
    pub time: i64,
    pub author: String,
    pub text: String,
}

/// The hub's task struct, as far as we read it.
#[derive(Deserialize)]
struct WireTask {
    id: i64,
    state: TaskState,
    method: String,
    owner: Option<i64>,
    #[serde(default)]
    request: Option<Json>,
    #[serde(default)]
    create_ts: Option<f64>,
    #[serde(default)]
    completion_ts: Option<f64>,
}

/// The hub's build struct, as far as we read it. `listTagged` rows carry `id` too; `build_id` is in all.
#[derive(Deserialize)]
struct WireBuild {
    build_id: i64,
    nvr: String,
    name: String,
    version: String,
    release: String,
    state: BuildState,
    #[serde(default)]
    task_id: Option<i64>,
    #[serde(default)]
    owner_name: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    extra: Option<Json>,
}

impl TaskInfo {
    pub(crate) fn from_wire(value: Json) -> Result<TaskInfo, String> {
        let wire: WireTask =
            serde_json::from_value(value).map_err(|error| format!("task: {error}"))?;
        // Without `decode`, listTasks sends the request as its raw XML text: treat it as not sent.
        let request = match wire.request {
            Some(Json::Array(items)) => items,
            _ => Vec::new(),
        };
        Ok(TaskInfo {
            id: wire.id,
            state: wire.state,
            method: wire.method,
            owner: wire.owner,
            request,
            create_ts: wire.create_ts,
            completion_ts: wire.completion_ts,
        })
    }
}

impl BuildInfo {
    pub(crate) fn from_wire(value: Json) -> Result<BuildInfo, String> {
        let wire: WireBuild =
            serde_json::from_value(value).map_err(|error| format!("build: {error}"))?;
        let original_source = wire
            .extra
            .as_ref()
            .and_then(|extra| extra.get("source"))
            .and_then(|source| source.get("original_url"))
            .and_then(Json::as_str)
            .map(str::to_owned);
        Ok(BuildInfo {
            build_id: wire.build_id,
            nvr: wire.nvr,
            name: wire.name,
            version: wire.version,
            release: wire.release,
            state: wire.state,
            task_id: wire.task_id,
            owner_name: wire.owner_name,
            source: wire.source,
            original_source,
        })
    }
}

impl BuildTarget {
    pub(crate) fn from_wire(value: Json) -> Result<BuildTarget, String> {
        serde_json::from_value(value).map_err(|error| format!("build target: {error}"))
    }
}

impl TagInfo {
    pub(crate) fn from_wire(value: Json) -> Result<TagInfo, String> {
        serde_json::from_value(value).map_err(|error| format!("tag: {error}"))
    }
}

/// The `changelogtime`, `changelogname` and `changelogtext` headers, in the request's order.
pub(crate) const CHANGELOG_HEADERS: [&str; 3] = ["changelogtime", "changelogname", "changelogtext"];

/// Zips the parallel changelog headers of a `getRPMHeaders` answer into entries, newest first as rpm
/// stores them. A header may be a list, a bare scalar (older rpm bindings hand back single-element
/// arrays that way), or absent/`<nil/>` (no changelog); lists of unequal length are cut to the
/// shortest, as Packit's `zip` does. `{}` (Koji's answer for an unknown RPM) is no changelog.
pub(crate) fn changelog_from_headers(value: Json) -> Result<Vec<ChangelogEntry>, String> {
    let Json::Object(mut headers) = value else {
        return Err(format!("expected a struct, got {}", json_kind(&value)));
    };
    let mut column = |name: &str| match headers.remove(name) {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => items,
        Some(scalar) => vec![scalar],
    };
    let [times, names, texts] = CHANGELOG_HEADERS.map(&mut column);
    times
        .into_iter()
        .zip(names)
        .zip(texts)
        .enumerate()
        .map(|(index, ((time, author), text))| {
            let odd = |header: &str, value: &Json| {
                format!("changelog entry {index}: {header} is {}", json_kind(value))
            };
            Ok(ChangelogEntry {
                time: time.as_i64().ok_or_else(|| odd("changelogtime", &time))?,
                author: into_string(author).map_err(|value| odd("changelogname", &value))?,
                text: into_string(text).map_err(|value| odd("changelogtext", &value))?,
            })
        })
        .collect()
}

fn into_string(value: Json) -> Result<String, Json> {
    match value {
        Json::String(text) => Ok(text),
        other => Err(other),
    }
}

/// `None` for `<nil/>`, else the decoded record.
pub(crate) fn optional<T>(
    value: Json,
    decode: impl FnOnce(Json) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match value {
        Json::Null => Ok(None),
        other => decode(other).map(Some),
    }
}

/// Every element of an array result, decoded.
pub(crate) fn list<T>(
    value: Json,
    decode: impl Fn(Json) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    match value {
        Json::Array(items) => items.into_iter().map(decode).collect(),
        other => Err(format!("expected an array, got {}", json_kind(&other))),
    }
}

pub(crate) fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "nil",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "a struct",
    }
}
