//! Bodhi releases: the active ones (`current`, `pending`, `frozen`) read page by page (bodhi.md §1).

use super::{BodhiClient, BodhiError};
use serde::{Deserialize, Serialize};

/// More pages than any real active-release list needs: a server that keeps paging is misbehaving.
const MAX_PAGES: u64 = 100;

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
        }
    }
}

#[derive(Deserialize)]
struct ReleasesPage {
    releases: Vec<ReleaseJson>,
    pages: u64,
}

impl BodhiClient {
    /// `GET /releases/?state=current&state=pending&state=frozen&rows_per_page=<page size>&page=<n>`, following
    /// `pages` (the active list is about 20 releases: one page at the default size).
    pub async fn active_releases(&self) -> Result<Vec<Release>, BodhiError> {
        let mut releases = Vec::new();
        let mut page: u64 = 1;
        let rows = self.page_size.to_string();
        loop {
            let page_text = page.to_string();
            let url = self.collection_url(
                &["releases"],
                &[
                    ("state", "current"),
                    ("state", "pending"),
                    ("state", "frozen"),
                    ("rows_per_page", &rows),
                    ("page", &page_text),
                ],
            );
            let path = url.path().to_owned();
            let answer: ReleasesPage = self.get_json(url).await?;
            releases.extend(answer.releases.into_iter().map(Release::from));
            if page >= answer.pages {
                return Ok(releases);
            }
            if page >= MAX_PAGES {
                return Err(BodhiError::Paging { path, pages: page });
            }
            page += 1;
        }
    }
}
