//! One build chroot's record and how a start or end message changes it.
//!
//! Copr sends one `copr.build.start` and one `copr.build.end` per build chroot, but the bus may deliver
//! the end first, drop the start, or deliver either twice under different ids (a republish). The record
//! is therefore built from whichever arrives, each message fills only what it knows, and a chroot finishes
//! exactly once: the first end wins, later starts and ends change nothing.

use crate::message::CoprBuild;
use serde::{Deserialize, Serialize};

/// What the consume path observed in one Copr message of a tracked project.
#[derive(Debug, Clone, PartialEq)]
pub struct CoprObservation {
    pub message_id: String,
    /// `true` for `copr.build.end`.
    pub ended: bool,
    /// The message body.
    pub build: CoprBuild,
    /// The message's `sent-at`, Unix seconds; `None` when missing or unreadable.
    pub sent_at: Option<u64>,
    pub build_url: String,
    /// The chroot's result directory, when the message says enough to name it (see [`results_url`]).
    pub results_url: Option<String>,
}

/// A build chroot as fedflow knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoprBuildRecord {
    /// `owner/project`; the owner is `@group` for group projects.
    pub project: String,
    pub build_id: i64,
    /// e.g. `fedora-rawhide-x86_64`, or `srpm-builds` for the SRPM step.
    pub chroot: String,
    pub package: Option<String>,
    pub version: Option<String>,
    /// `running` until the end message, then its status (`failed`, `succeeded`, `canceled`, ...).
    pub status: String,
    /// Unix seconds, from the start message (its `sent-at`, else when it was received).
    pub started_at: Option<u64>,
    /// Unix seconds, from the end message; `None` while running.
    pub ended_at: Option<u64>,
    pub start_message_id: Option<String>,
    pub end_message_id: Option<String>,
    /// When fedflow last changed this record (Unix seconds); retention counts from here.
    pub updated_at: u64,
    pub build_url: String,
    /// The chroot's result directory with its logs; `None` until a message names the package (records
    /// stored before fedflow linked results have none either).
    #[serde(default)]
    pub results_url: Option<String>,
}

impl CoprBuildRecord {
    pub fn is_finished(&self) -> bool {
        self.end_message_id.is_some()
    }

    pub fn is_failed(&self) -> bool {
        self.is_finished() && self.status == "failed"
    }

    /// `package-version`, `package`, or `-` when Copr did not know the package (the SRPM step).
    pub fn package_version(&self) -> String {
        match (&self.package, &self.version) {
            (Some(package), Some(version)) => format!("{package}-{version}"),
            (Some(package), None) => package.clone(),
            (None, _) => "-".to_owned(),
        }
    }

    /// The latest time the record speaks of: its end, else its start, else its last change.
    pub fn last_event_at(&self) -> u64 {
        self.ended_at.or(self.started_at).unwrap_or(self.updated_at)
    }
}

/// What one message does to a build chroot's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Already known (a second start or end): nothing to write, nothing to count.
    Unchanged,
    /// Started, or a late start filled in: write the record.
    Changed(CoprBuildRecord),
    /// The chroot finished now: write the record and count it once.
    Finished(CoprBuildRecord),
}

/// Applies `observed` to the stored record of its build chroot (`None` if there is none yet); `now` is
/// the receive time, used where the message carries no `sent-at`.
pub fn apply(
    existing: Option<CoprBuildRecord>,
    observed: &CoprObservation,
    now: u64,
) -> Transition {
    let at = observed.sent_at.unwrap_or(now);
    let build = &observed.build;
    let status = build.status.to_string();
    let mut record = match existing {
        Some(record) => record,
        None => CoprBuildRecord {
            project: build.project(),
            build_id: build.build,
            chroot: build.chroot.clone(),
            package: None,
            version: None,
            status: status.clone(),
            started_at: None,
            ended_at: None,
            start_message_id: None,
            end_message_id: None,
            updated_at: now,
            build_url: observed.build_url.clone(),
            results_url: None,
        },
    };
    let already = if observed.ended {
        record.end_message_id.is_some()
    } else {
        record.start_message_id.is_some()
    };
    if already {
        return Transition::Unchanged;
    }
    // What a message knows of the package is kept; a message that does not know it clears nothing.
    record.package = build.pkg.clone().or(record.package);
    record.version = build.version.clone().or(record.version);
    record.results_url = observed.results_url.clone().or(record.results_url);
    record.updated_at = now;
    if observed.ended {
        record.status = status;
        record.ended_at = Some(at);
        record.end_message_id = Some(observed.message_id.clone());
        Transition::Finished(record)
    } else {
        record.started_at = Some(at);
        record.start_message_id = Some(observed.message_id.clone());
        // A start that arrives after the end leaves the end's status alone.
        if record.end_message_id.is_none() {
            record.status = status;
        }
        Transition::Changed(record)
    }
}

/// The build's page on Copr's frontend: `{url}/coprs/{owner}/{project}/build/{id}/`, with group projects
/// under `{url}/coprs/g/{group}/...` (the `@` dropped), as Copr's own links are.
pub fn build_url(copr_url: &str, owner: &str, project: &str, build_id: i64) -> String {
    let base = copr_url.trim_end_matches('/');
    match owner.strip_prefix('@') {
        Some(group) => format!("{base}/coprs/g/{group}/{project}/build/{build_id}/"),
        None => format!("{base}/coprs/{owner}/{project}/build/{build_id}/"),
    }
}

/// A chroot's result directory on Copr's backend, where its logs are (`builder-live.log.gz`):
/// `{results}/{owner}/{project}/{chroot}/{id:08}-{package}/`, and for the SRPM step
/// `{results}/{owner}/{project}/srpm-builds/{id:08}/`, as Copr lays out a project's main directory. Group
/// owners keep their `@`. `None` for a chroot whose package the message does not name.
pub fn results_url(
    results: &str,
    owner: &str,
    project: &str,
    chroot: &str,
    build_id: i64,
    package: Option<&str>,
) -> Option<String> {
    let base = results.trim_end_matches('/');
    if chroot == SRPM_CHROOT {
        return Some(format!("{base}/{owner}/{project}/{chroot}/{build_id:08}/"));
    }
    let package = package.filter(|p| !p.is_empty())?;
    Some(format!(
        "{base}/{owner}/{project}/{chroot}/{build_id:08}-{package}/"
    ))
}

/// The pseudo-chroot Copr reports for the SRPM step.
pub const SRPM_CHROOT: &str = "srpm-builds";
