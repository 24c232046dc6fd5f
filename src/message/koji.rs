//! Koji events: `buildsys.build.state.change`, `buildsys.task.state.change` (scratch builds only)
//! and `buildsys.tag` / `buildsys.untag`, plus helpers to read Koji's positional `request` lists.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::koji_states::{BuildState, TaskState};
use super::lenient;

/// `buildsys.build.state.change`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KojiBuildStateChange {
    #[serde(deserialize_with = "lenient::integer")]
    pub build_id: i64,
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<Epoch>,
    /// Always `state` in practice (Koji does not publish `volume_id` changes).
    pub attribute: Option<String>,
    /// Null when the build is created.
    pub old: Option<BuildState>,
    pub new: BuildState,
    /// Null for imported builds.
    #[serde(default, deserialize_with = "lenient::optional_integer")]
    pub task_id: Option<i64>,
    /// Null for imported builds; missing from fedmsg-era and trimmed messages.
    pub task: Option<KojiTaskInfo>,
    /// `[source, target, options]` for package builds; other task methods use other layouts.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub request: Vec<Value>,
    /// FAS name of the build owner (the submitter).
    pub owner: String,
    pub instance: Option<String>,
    pub creation_time: Option<String>,
    /// Null while the build is running.
    pub completion_time: Option<String>,
    pub base_url: Option<String>,
    pub files_base_url: Option<String>,
    pub url: Option<String>,
}

impl KojiBuildStateChange {
    pub fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }

    /// The dist-git repository and commit the build was made from, when it was built from git.
    pub fn scm_source(&self) -> Option<ScmSource> {
        scm_source(&self.request)
    }

    /// The build target (`rawhide`, `f41-candidate`, ...), for `[source, target, options]` requests.
    pub fn target(&self) -> Option<&str> {
        build_target(&self.request)
    }

    pub fn summary(&self) -> String {
        let old = self
            .old
            .map_or_else(|| "new".to_owned(), |state| state.to_string());
        format!(
            "koji build {} {} {old}→{}",
            self.build_id,
            self.nvr(),
            self.new
        )
    }
}

/// An RPM epoch: Koji sends null, an integer, or occasionally a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Epoch {
    Number(i64),
    Text(String),
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(number) => write!(f, "{number}"),
            Self::Text(text) => f.write_str(text),
        }
    }
}

/// Koji task info as embedded in build and task messages (only the fields fedflow reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KojiTaskInfo {
    #[serde(deserialize_with = "lenient::integer")]
    pub id: i64,
    pub method: String,
    pub arch: Option<String>,
    /// The integer task state.
    pub state: Option<TaskState>,
    pub label: Option<String>,
    pub host_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_integer")]
    pub parent: Option<i64>,
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub request: Vec<Value>,
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub children: Vec<KojiTaskInfo>,
    /// Unix timestamps (float seconds).
    pub create_time: Option<f64>,
    pub start_time: Option<f64>,
    pub completion_time: Option<f64>,
    pub url: Option<String>,
}

impl KojiTaskInfo {
    /// Scratch builds carry `{"scratch": true}` in the options dict, the last request element.
    pub fn is_scratch(&self) -> bool {
        self.request
            .last()
            .and_then(|options| options.get("scratch"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub fn target(&self) -> Option<&str> {
        build_target(&self.request)
    }

    pub fn scm_source(&self) -> Option<ScmSource> {
        scm_source(&self.request)
    }
}

/// `buildsys.task.state.change`: only published for top-level scratch-build tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KojiTaskStateChange {
    #[serde(deserialize_with = "lenient::integer")]
    pub id: i64,
    pub method: String,
    pub attribute: Option<String>,
    pub old: Option<TaskState>,
    pub new: TaskState,
    /// Last path segment of `request[0]`: `pkg.git#<sha>` for git builds, else an SRPM file name.
    pub srpm: String,
    pub owner: String,
    pub info: KojiTaskInfo,
    pub instance: Option<String>,
    pub base_url: Option<String>,
    pub files_base_url: Option<String>,
}

impl KojiTaskStateChange {
    /// The package name, read from `srpm` (`pkg.git#sha` or `name-version-release.src.rpm`).
    pub fn package(&self) -> Option<&str> {
        if let Some((repository, _commit)) = self.srpm.split_once('#') {
            let name = repository.strip_suffix(".git").unwrap_or(repository);
            return (!name.is_empty()).then_some(name);
        }
        self.srpm.strip_suffix(".src.rpm").and_then(nvr_name)
    }

    pub fn summary(&self) -> String {
        let old = self
            .old
            .as_ref()
            .map_or_else(|| "new".to_owned(), TaskState::to_string);
        let scratch = if self.info.is_scratch() {
            "scratch "
        } else {
            ""
        };
        format!(
            "koji {scratch}task {} {} {} {old}→{}",
            self.id, self.method, self.srpm, self.new
        )
    }
}

/// `buildsys.tag` and `buildsys.untag` (same body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KojiTagChange {
    /// Nullable in the schema, although the plugin always sends it.
    pub tag: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_integer")]
    pub tag_id: Option<i64>,
    #[serde(deserialize_with = "lenient::integer")]
    pub build_id: i64,
    pub name: String,
    pub version: String,
    pub release: String,
    /// Who (un)tagged the build; `bodhi` for Bodhi's own moves.
    pub user: Option<String>,
    /// The build owner.
    pub owner: Option<String>,
    pub instance: Option<String>,
    pub base_url: Option<String>,
}

impl KojiTagChange {
    pub fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }

    pub fn is_side_tag(&self) -> bool {
        self.tag
            .as_deref()
            .is_some_and(|tag| tag.contains("-side-"))
    }

    /// `into_tag`: true for `buildsys.tag`, false for `buildsys.untag`.
    pub(super) fn summary(&self, into_tag: bool) -> String {
        let (verb, preposition) = if into_tag {
            ("tag", "into")
        } else {
            ("untag", "from")
        };
        let tag = self.tag.as_deref().unwrap_or("?");
        let by = self
            .user
            .as_deref()
            .map(|user| format!(" by {user}"))
            .unwrap_or_default();
        format!("koji {verb} {} {preposition} {tag}{by}", self.nvr())
    }
}

/// Where a build came from: `git+https://src.fedoraproject.org/rpms/foo.git#<sha>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScmSource {
    /// The part before `#`, as sent (including `git+`).
    pub repository: String,
    pub commit: String,
}

impl ScmSource {
    pub fn parse(url: &str) -> Option<Self> {
        if !url.starts_with("git+") {
            return None;
        }
        let (repository, commit) = url.split_once('#')?;
        // Koji accepts `repo.git?#sha`; the `?` is not part of the repository.
        let repository = repository.strip_suffix('?').unwrap_or(repository);
        if commit.is_empty() {
            return None;
        }
        Some(Self {
            repository: repository.to_owned(),
            commit: commit.to_owned(),
        })
    }
}

fn scm_source(request: &[Value]) -> Option<ScmSource> {
    request.first()?.as_str().and_then(ScmSource::parse)
}

/// Only the `build` method's `[source, target, options]` layout has a target in second place;
/// image and other tasks put something else there.
fn build_target(request: &[Value]) -> Option<&str> {
    match request {
        [Value::String(_), Value::String(target), Value::Object(_)] => Some(target),
        _ => None,
    }
}

/// The name part of an `name-version-release` string.
pub(super) fn nvr_name(nvr: &str) -> Option<&str> {
    let mut parts = nvr.rsplitn(3, '-');
    let _release = parts.next()?;
    let _version = parts.next()?;
    parts.next().filter(|name| !name.is_empty())
}
