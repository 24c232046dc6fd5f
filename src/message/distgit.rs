//! Dist-git push events: `pagure.git.receive` (one message per pushed ref) and the per-commit
//! `git.receive` message from the legacy git hook.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::lenient;

/// The namespace of RPM package repositories on src.fedoraproject.org.
const RPMS_NAMESPACE: &str = "rpms";

/// `pagure.git.receive`: a push to one ref of a Pagure repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistGitPush {
    /// Who pushed; `pagure` when a pull request was merged in the web UI.
    pub agent: String,
    pub repo: PagureRepo,
    /// Bare branch name (`refs/heads/` is stripped).
    #[serde(deserialize_with = "lenient::branch_name")]
    pub branch: String,
    // The schema requires old_commit, start_commit, forced and authors, but the trimmed bodies that
    // packit-service records leave them out; end_commit is all a pipeline needs.
    pub old_commit: Option<String>,
    pub start_commit: Option<String>,
    /// The new head of the branch.
    pub end_commit: String,
    #[serde(deserialize_with = "lenient::integer")]
    pub total_commits: i64,
    #[serde(default)]
    pub forced: bool,
    #[serde(default)]
    pub authors: Vec<PagureAuthor>,
    /// Set when the push is the merge of this pull request.
    #[serde(default, deserialize_with = "lenient::optional_integer")]
    pub pull_request_id: Option<i64>,
    /// Path to `M`/`A`/`D`; sent by src.fedoraproject.org but not part of the schema.
    pub changed_files: Option<BTreeMap<String, String>>,
}

impl DistGitPush {
    /// The RPM package name, for pushes to the `rpms` namespace (forks included: see
    /// [`PagureRepo::is_fork`]).
    pub fn package(&self) -> Option<&str> {
        self.repo.rpm_package()
    }

    pub fn summary(&self) -> String {
        let commits = match self.total_commits {
            1 => "1 commit".to_owned(),
            n => format!("{n} commits"),
        };
        let mut notes = vec![commits];
        if self.forced {
            notes.push("forced".to_owned());
        }
        if let Some(pr) = self.pull_request_id {
            notes.push(format!("PR #{pr}"));
        }
        format!(
            "{} {} {} pushed by {} ({})",
            self.repo.full_name(),
            self.branch,
            lenient::short_hash(&self.end_commit),
            self.agent,
            notes.join(", ")
        )
    }
}

/// The repository part of a Pagure message (only the fields fedflow uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PagureRepo {
    pub name: String,
    /// `rpms` for packages; null for top-level pagure.io projects.
    pub namespace: Option<String>,
    /// `rpms/<name>`, or `forks/<user>/rpms/<name>` for forks.
    pub fullname: Option<String>,
    pub full_url: Option<String>,
    /// The repository this one was forked from.
    pub parent: Option<Box<PagureRepo>>,
}

impl PagureRepo {
    /// `fullname` when sent, otherwise `namespace/name`.
    pub fn full_name(&self) -> String {
        match (&self.fullname, &self.namespace) {
            (Some(fullname), _) => fullname.clone(),
            (None, Some(namespace)) => format!("{namespace}/{}", self.name),
            (None, None) => self.name.clone(),
        }
    }

    /// A push to a fork must never be mistaken for a push to the package itself.
    pub fn is_fork(&self) -> bool {
        self.parent.is_some()
            || self
                .fullname
                .as_deref()
                .is_some_and(|fullname| fullname.starts_with("forks/"))
    }

    fn rpm_package(&self) -> Option<&str> {
        (self.namespace.as_deref() == Some(RPMS_NAMESPACE)).then_some(self.name.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PagureAuthor {
    /// FAS name; null for authors without a Fedora account.
    pub name: Option<String>,
    pub fullname: String,
    pub url_path: Option<String>,
    pub full_url: Option<String>,
}

/// `git.receive`: one new commit, from the git post-receive hook (oldest commit first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitCommit {
    /// The unix user who pushed.
    pub agent: String,
    pub commit: GitCommitDetail,
}

impl GitCommit {
    pub fn package(&self) -> Option<&str> {
        (self.commit.namespace.as_deref() == Some(RPMS_NAMESPACE))
            .then_some(self.commit.repo.as_str())
    }

    pub fn summary(&self) -> String {
        let repo = match &self.commit.namespace {
            Some(namespace) => format!("{namespace}/{}", self.commit.repo),
            None => self.commit.repo.clone(),
        };
        format!(
            "{repo} {} {} by {}: {}",
            self.commit.branch,
            lenient::short_hash(&self.commit.rev),
            self.agent,
            self.commit.summary
        )
    }
}

/// One commit as described by the git hook. The full `patch` is not copied here (it can be
/// large); it stays in the envelope body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitCommitDetail {
    pub rev: String,
    pub repo: String,
    pub namespace: Option<String>,
    #[serde(deserialize_with = "lenient::branch_name")]
    pub branch: String,
    pub name: String,
    pub email: String,
    pub username: String,
    pub summary: String,
    pub message: String,
    /// ISO-8601 with the committer's offset.
    pub date: String,
    pub url: Option<String>,
    /// True when this rev was already announced for another branch in the same push.
    #[serde(default)]
    pub seen: bool,
}
