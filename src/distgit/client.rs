//! The HTTP side of [`DistGitClient`]: URL construction from validated names, size-limited body reads, and
//! the mapping of Pagure's answers (JSON errors, HTML 404 pages, 5xx) onto `Ok(None)` or a [`DistGitError`].

use super::names::{check_simple_name, ref_segments};
use super::{ConfigFile, DistGitError, ProjectAccess, PullRequest};
use crate::net::BodyError;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// File names Packit looks for, in its order (packit-config.md §1).
pub const PACKIT_CONFIG_NAMES: [&str; 4] =
    [".packit.yaml", ".packit.yml", "packit.yaml", "packit.yml"];

/// Cap on JSON API answers; real ones are a few KiB.
const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;

/// Anonymous reader of a Pagure dist-git instance (`https://src.fedoraproject.org` in production).
#[derive(Clone, Debug)]
pub struct DistGitClient {
    http: reqwest::Client,
    base: Url,
    base_url: String,
}

impl DistGitClient {
    /// `timeout` bounds each request as a whole (connect, headers and body).
    pub fn new(base_url: &str, timeout: Duration) -> Result<DistGitClient, DistGitError> {
        let base =
            crate::net::base_url(base_url).map_err(|reason| DistGitError::InvalidBaseUrl {
                url: base_url.to_owned(),
                reason,
            })?;
        let http = crate::net::rest_client(timeout).map_err(DistGitError::Client)?;
        Ok(DistGitClient {
            http,
            base,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The first of Packit's config file names present at `git_ref` (a branch name or a 40-hex commit id).
    /// Any 404 on the raw route means "not this name"; `Ok(None)` when none of them exists. A body over
    /// `max_bytes` fails with [`DistGitError::TooLarge`] as soon as the limit is crossed.
    pub async fn packit_config(
        &self,
        package: &str,
        git_ref: &str,
        max_bytes: usize,
    ) -> Result<Option<ConfigFile>, DistGitError> {
        check_simple_name("package", package)?;
        let ref_parts = ref_segments(git_ref)?;
        for file_name in PACKIT_CONFIG_NAMES {
            let mut segments = vec!["rpms", package, "raw"];
            segments.extend(&ref_parts);
            segments.extend(["f", file_name]);
            let url = self.url(&segments, &[]);
            let path = url.path().to_owned();
            let response = self.get(url, &path).await?;
            match response.status() {
                StatusCode::NOT_FOUND => continue,
                StatusCode::OK => {
                    let bytes = read_limited(response, max_bytes, &path).await?;
                    let text =
                        String::from_utf8(bytes).map_err(|_| DistGitError::InvalidUtf8 { path })?;
                    return Ok(Some(ConfigFile {
                        file_name: file_name.to_owned(),
                        text,
                    }));
                }
                status => return Err(status_error(response, status, &path).await),
            }
        }
        Ok(None)
    }

    /// Access lists of `rpms/<package>` with group members expanded; `Ok(None)` if the project does not exist
    /// (or is private).
    pub async fn project(&self, package: &str) -> Result<Option<ProjectAccess>, DistGitError> {
        check_simple_name("package", package)?;
        let url = self.url(&["api", "0", "rpms", package], &[("expand_group", "1")]);
        let Some(project) = self.get_json::<ProjectJson>(url, &["ENOPROJECT"]).await? else {
            return Ok(None);
        };
        Ok(Some(project.into_access()))
    }

    /// Members of a Pagure group; `Ok(None)` if the group does not exist.
    pub async fn group_members(&self, group: &str) -> Result<Option<Vec<String>>, DistGitError> {
        check_simple_name("group", group)?;
        let url = self.url(&["api", "0", "group", group], &[]);
        let group = self.get_json::<GroupJson>(url, &["ENOGROUP"]).await?;
        Ok(group.map(|group| group.members))
    }

    /// Pull request `id` of `rpms/<package>` without its comments; `Ok(None)` if the project or PR does not
    /// exist or pull requests are disabled there.
    pub async fn pull_request(
        &self,
        package: &str,
        id: i64,
    ) -> Result<Option<PullRequest>, DistGitError> {
        check_simple_name("package", package)?;
        let id_text = id.to_string();
        let url = self.url(
            &["api", "0", "rpms", package, "pull-request", &id_text],
            &[("comments", "0")],
        );
        let not_found = ["ENOPROJECT", "ENOREQ", "EPULLREQUESTSDISABLED"];
        let Some(pr) = self.get_json::<PullRequestJson>(url, &not_found).await? else {
            return Ok(None);
        };
        Ok(Some(PullRequest {
            id: pr.id,
            status: pr.status,
            author: pr.user.name,
            branch: pr.branch,
            commit_stop: pr.commit_stop,
            tags: pr.tags.unwrap_or_default(),
        }))
    }

    /// `segments` are appended to the base path one by one, each percent-encoded (so `/` or `?` inside a
    /// segment can never split it).
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn get(&self, url: Url, path: &str) -> Result<reqwest::Response, DistGitError> {
        self.http
            .get(url)
            .send()
            .await
            .map_err(|err| DistGitError::from_transport(path, err))
    }

    /// GET a JSON endpoint: 200 → parsed body; 404 with one of Pagure's `not_found_codes` → `None`.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        not_found_codes: &[&str],
    ) -> Result<Option<T>, DistGitError> {
        let path = url.path().to_owned();
        let response = self.get(url, &path).await?;
        let status = response.status();
        if status == StatusCode::OK {
            let bytes = read_limited(response, MAX_JSON_BYTES, &path).await?;
            return serde_json::from_slice(&bytes).map(Some).map_err(|err| {
                DistGitError::InvalidJson {
                    path,
                    detail: err.to_string(),
                }
            });
        }
        if status == StatusCode::NOT_FOUND {
            let bytes = read_limited(response, MAX_JSON_BYTES, &path).await?;
            if let Ok(error) = serde_json::from_slice::<PagureErrorJson>(&bytes)
                && not_found_codes.contains(&error.error_code.as_str())
            {
                return Ok(None);
            }
            return Err(DistGitError::UnexpectedStatus {
                path,
                status: status.as_u16(),
                detail: describe_error_body(&bytes),
            });
        }
        Err(status_error(response, status, &path).await)
    }
}

/// The body, at most `limit` bytes.
async fn read_limited(
    response: reqwest::Response,
    limit: usize,
    path: &str,
) -> Result<Vec<u8>, DistGitError> {
    crate::net::read_limited(response, limit)
        .await
        .map_err(|error| match error {
            BodyError::TooLarge => DistGitError::TooLarge {
                path: path.to_owned(),
                limit,
            },
            BodyError::Transport(source) => DistGitError::from_transport(path, source),
        })
}

/// The error for a status that is neither 200 nor an expected 404.
async fn status_error(response: reqwest::Response, status: StatusCode, path: &str) -> DistGitError {
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return DistGitError::ServerError {
            path: path.to_owned(),
            status: status.as_u16(),
        };
    }
    let detail = match read_limited(response, 64 * 1024, path).await {
        Ok(bytes) => describe_error_body(&bytes),
        Err(_) => String::from("(unreadable body)"),
    };
    DistGitError::UnexpectedStatus {
        path: path.to_owned(),
        status: status.as_u16(),
        detail,
    }
}

/// Pagure's `error_code: error` when the body is its JSON error, else a short excerpt.
fn describe_error_body(bytes: &[u8]) -> String {
    if let Ok(error) = serde_json::from_slice::<PagureErrorJson>(bytes) {
        return format!("{}: {}", error.error_code, error.error);
    }
    let text = String::from_utf8_lossy(bytes);
    let excerpt: String = text.chars().filter(|c| !c.is_control()).take(120).collect();
    if excerpt.is_empty() {
        String::from("(empty body)")
    } else {
        excerpt
    }
}

#[derive(Deserialize)]
struct PagureErrorJson {
    error: String,
    error_code: String,
}

#[derive(Deserialize)]
struct ProjectJson {
    access_users: AccessLists,
    access_groups: AccessLists,
    #[serde(default)]
    group_details: Option<BTreeMap<String, Vec<String>>>,
}

/// `access_users` / `access_groups`; `owner` exists only for users. Collaborator and ticket levels are
/// read past: they never grant `all_admins`/`all_committers`.
#[derive(Deserialize)]
struct AccessLists {
    #[serde(default)]
    owner: Vec<String>,
    #[serde(default)]
    admin: Vec<String>,
    #[serde(default)]
    commit: Vec<String>,
}

impl ProjectJson {
    fn into_access(self) -> ProjectAccess {
        ProjectAccess {
            owner: self.access_users.owner,
            admin_users: self.access_users.admin,
            commit_users: self.access_users.commit,
            admin_groups: self.access_groups.admin,
            commit_groups: self.access_groups.commit,
            group_members: self.group_details.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
struct GroupJson {
    members: Vec<String>,
}

#[derive(Deserialize)]
struct PullRequestJson {
    id: i64,
    status: String,
    user: UserJson,
    branch: String,
    commit_stop: Option<String>,
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct UserJson {
    name: String,
}
