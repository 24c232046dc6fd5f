//! Bodhi releases: the active ones (`current`, `pending`, `frozen`) read page by page (bodhi.md §1).

use super::{BodhiClient, BodhiError};
use serde::{Deserialize, Serialize};

/// One Bodhi release, with the fields fedflow needs. Cached as-is, hence serde both ways.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// `F42`, `EPEL-10.1`, `ELN`, `F42C` (containers) …
    pub name: String,
    pub long_name: String,
    /// `42`, `10.1`, `eln`.
    pub version: String,
    /// `FEDORA`, `FEDORA-EPEL`, `FEDORA-CONTAINER`, `FEDORA-EPEL-NEXT` …
    pub id_prefix: String,
    /// The dist-git branch: `f42`, `epel10`, `rawhide` …
    pub branch: String,
    /// `pending`, `frozen`, `current` (or `disabled`, `archived`).
    pub state: String,
    /// `None` when Bodhi has none (null or empty).
    pub candidate_tag: Option<String>,
    pub composed_by_bodhi: bool,
    pub create_automatic_updates: bool,
    /// Koji tag of the release's stable builds (`f42-updates`); the baseline of an update's changelog.
    #[serde(default)]
    pub stable_tag: Option<String>,
    /// Koji tag of the release as shipped (`f42`).
    #[serde(default)]
    pub dist_tag: Option<String>,
}

/// A release as Bodhi sends it: flags may be null on old releases.
#[derive(Deserialize)]
struct ReleaseJson {
    name: String,
    long_name: String,
    version: String,
    id_prefix: String,
    branch: String,
    state: String,
    #[serde(default)]
    candidate_tag: Option<String>,
    #[serde(default)]
    composed_by_bodhi: Option<bool>,
    #[serde(default)]
    create_automatic_updates: Option<bool>,
    #[serde(default)]
    stable_tag: Option<String>,
    #[serde(default)]
    dist_tag: Option<String>,
}

impl From<ReleaseJson> for Release {
    fn from(json: ReleaseJson) -> Release {
        Release {
            name: json.name,
            long_name: json.long_name,
            version: json.version,
            id_prefix: json.id_prefix,
            branch: json.branch,
            state: json.state,
            candidate_tag: json.candidate_tag.filter(|tag| !tag.is_empty()),
            composed_by_bodhi: json.composed_by_bodhi.unwrap_or(false),
            create_automatic_updates: json.create_automatic_updates.unwrap_or(false),
            stable_tag: json.stable_tag.filter(|tag| !tag.is_empty()),
            dist_tag: json.dist_tag.filter(|tag| !tag.is_empty()),
        }
    }
}

impl BodhiClient {
    /// `GET /releases/?state=current&state=pending&state=frozen&rows_per_page=<page size>&page=<n>`, following
    /// `pages` (the active list is about 20 releases: one page at the default size).
    pub async fn active_releases(&self) -> Result<Vec<Release>, BodhiError> {
        let states = [
            ("state", "current"),
            ("state", "pending"),
            ("state", "frozen"),
        ];
        let releases: Vec<ReleaseJson> = self.get_all_pages("releases", &states).await?;
        Ok(releases.into_iter().map(Release::from).collect())
    }
}
