//! What a pipeline knows of its push: the key that makes it unique, and the facts of the push message the
//! policy reads.

use crate::message::DistGitPush;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What identifies a push: building it twice is what fedflow must never do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PushKey {
    pub package: String,
    pub branch: String,
    /// The pushed `end_commit` (40 hex).
    pub commit: String,
}

impl PushKey {
    /// The store key: `package\0branch\0commit`.
    pub fn encode(&self) -> Vec<u8> {
        format!("{}\0{}\0{}", self.package, self.branch, self.commit).into_bytes()
    }
}

impl fmt::Display for PushKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.commit.get(..10).unwrap_or(&self.commit);
        write!(f, "{} {} {short}", self.package, self.branch)
    }
}

/// What the push message said about the push, kept for the policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PushFacts {
    /// `rpms` for packages.
    pub namespace: Option<String>,
    /// `rpms/foo`, or `forks/user/rpms/foo`.
    pub repository: Option<String>,
    pub fork: bool,
    /// The branch was deleted (`end_commit` is all zeros).
    pub deleted: bool,
    /// Whether a `.spec` file changed; `None` when the message did not list the changed files.
    pub spec_changed: Option<bool>,
}

impl PushFacts {
    pub fn of(push: &DistGitPush) -> PushFacts {
        PushFacts {
            namespace: push.repo.namespace.clone(),
            repository: Some(push.repo.full_name()),
            fork: push.repo.is_fork(),
            deleted: !push.end_commit.is_empty() && push.end_commit.bytes().all(|b| b == b'0'),
            spec_changed: push
                .changed_files
                .as_ref()
                .map(|files| files.keys().any(|path| path.ends_with(".spec"))),
        }
    }
}
