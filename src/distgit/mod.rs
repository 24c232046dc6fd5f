//! Anonymous HTTPS reads against Pagure dist-git (`src.fedoraproject.org`): Packit's config file at a ref,
//! a project's access lists, group members and pull requests ([`DistGitClient`]), and the matching of an
//! account against Packit's allowlists ([`access`]).

pub mod access;
mod client;
mod error;
mod names;

pub use access::{admitted_by, admitted_by_fetched};
pub use client::{DistGitClient, PACKIT_CONFIG_NAMES};
pub use error::DistGitError;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A Packit config file as found in the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigFile {
    /// Which of [`PACKIT_CONFIG_NAMES`] was found.
    pub file_name: String,
    pub text: String,
}

/// The levels of a project that count for Packit's `all_admins` / `all_committers` (distgit.md §3, §7).
/// Pagure lists each user or group only at its highest level, so the lists are disjoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectAccess {
    pub owner: Vec<String>,
    pub admin_users: Vec<String>,
    pub commit_users: Vec<String>,
    pub admin_groups: Vec<String>,
    pub commit_groups: Vec<String>,
    /// Members of every group attached to the project (`expand_group=1`), at any level.
    pub group_members: BTreeMap<String, Vec<String>>,
}

/// The fields of a dist-git pull request fedflow acts on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub id: i64,
    /// `Open`, `Merged` or `Closed`.
    pub status: String,
    /// `user.name`: what `allowed_pr_authors` is checked against.
    pub author: String,
    /// Target branch.
    pub branch: String,
    /// Newest commit of the PR.
    pub commit_stop: Option<String>,
    /// Labels (`require.label.*` reads these).
    pub tags: Vec<String>,
}
