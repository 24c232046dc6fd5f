//! The fake hub's task and build rows, and their rendering as the structs `getTaskInfo`/`listTasks`
//! and `getBuild`/`listBuilds` return (all the fields koji.md §4 lists; times as text, `*_ts` doubles).

use serde_json::{Value as Json, json};

use super::xml;

/// A task row. `state` is the Koji `TASK_STATES` code.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeTask {
    pub id: i64,
    pub method: String,
    pub state: i64,
    pub owner_id: i64,
    pub owner_name: String,
    pub request: Vec<Json>,
    pub create_ts: f64,
    pub completion_ts: Option<f64>,
    /// The fault `getTaskResult` raises for a FAILED task.
    pub failure: Option<(i64, String)>,
}

/// A build row. `state` is the Koji `BUILD_STATES` code.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeBuild {
    pub build_id: i64,
    pub name: String,
    pub version: String,
    pub release: String,
    pub state: i64,
    pub task_id: Option<i64>,
    pub owner_id: i64,
    pub owner_name: String,
    pub source: Option<String>,
    pub original_url: Option<String>,
    pub creation_ts: f64,
    pub completion_ts: Option<f64>,
}

impl FakeTask {
    pub fn to_json(&self, with_request: bool, decode: bool) -> Json {
        let mut task = json!({
            "id": self.id,
            "state": self.state,
            "create_time": koji_time(self.create_ts),
            "create_ts": self.create_ts,
            "start_time": null,
            "start_ts": null,
            "completion_time": self.completion_ts.map(koji_time),
            "completion_ts": self.completion_ts,
            "channel_id": 1,
            "host_id": null,
            "parent": null,
            "label": null,
            "waiting": null,
            "awaited": null,
            "owner": self.owner_id,
            "method": self.method,
            "arch": "noarch",
            "priority": 20,
            "weight": 0.2,
        });
        if with_request {
            let request = if decode {
                Json::Array(self.request.clone())
            } else {
                Json::String(xml::params(&self.request))
            };
            task["request"] = request;
        }
        task
    }
}

impl FakeBuild {
    pub fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }

    pub fn to_json(&self) -> Json {
        let extra = self
            .original_url
            .as_ref()
            .map(|url| json!({"source": {"original_url": url}}));
        json!({
            "id": self.build_id,
            "build_id": self.build_id,
            "package_id": 1000 + self.build_id % 1000,
            "package_name": self.name,
            "name": self.name,
            "version": self.version,
            "release": self.release,
            "epoch": null,
            "nvr": self.nvr(),
            "draft": false,
            "state": self.state,
            "task_id": self.task_id,
            "owner_id": self.owner_id,
            "owner_name": self.owner_name,
            "volume_id": 0,
            "volume_name": "DEFAULT",
            "creation_event_id": 140_000_000 + self.build_id,
            "creation_time": koji_time(self.creation_ts),
            "creation_ts": self.creation_ts,
            "start_time": koji_time(self.creation_ts),
            "start_ts": self.creation_ts,
            "completion_time": self.completion_ts.map(koji_time),
            "completion_ts": self.completion_ts,
            "promotion_time": null,
            "promotion_ts": null,
            "promoter_id": null,
            "promoter_name": null,
            "source": self.source,
            "extra": extra,
            "cg_id": null,
            "cg_name": null,
        })
    }
}

/// `2025-01-01 00:00:00.123456+00:00`, the hub's text form of a timestamp.
fn koji_time(ts: f64) -> String {
    let nanos = (ts * 1e9) as i128;
    let Ok(moment) = time::OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return String::new();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00:00",
        moment.year(),
        u8::from(moment.month()),
        moment.day(),
        moment.hour(),
        moment.minute(),
        moment.second(),
        moment.microsecond()
    )
}

/// Splits `name-version-release` at its last two dashes.
pub fn split_nvr(nvr: &str) -> (String, String, String) {
    let mut parts = nvr.rsplitn(3, '-');
    let release = parts.next().unwrap_or_default();
    let version = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    assert!(
        !name.is_empty() && !version.is_empty() && !release.is_empty(),
        "not an N-V-R: {nvr:?}"
    );
    (name.to_owned(), version.to_owned(), release.to_owned())
}
