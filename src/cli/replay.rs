//! `fedflow replay FILE`: a file in fedora-messaging's serialized format through the consume path, by the
//! running daemon (over the control socket) or, when none runs, straight into the store, where the daemon's
//! pipeline engine picks up the queued work when it starts.

use super::pipelines::open_store;
use crate::bus::replay::{self, ReplayReport};
use crate::config::Settings;
use crate::daemon::control;
use anyhow::Context;
use std::fmt::Write;
use std::path::Path;

/// Who stored the replayed messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayedBy {
    Daemon,
    Store,
}

pub async fn replay(
    settings: &Settings,
    file: &Path,
) -> anyhow::Result<(ReplayReport, ReplayedBy)> {
    let open = || async {
        tokio::fs::File::open(file)
            .await
            .with_context(|| format!("opening {}", file.display()))
    };
    let socket = control::socket_path(&settings.state.dir);
    if let Some(report) = control::replay(&socket, &mut open().await?)
        .await
        .context("replaying through the running daemon")?
    {
        return Ok((report, ReplayedBy::Daemon));
    }
    let store = open_store(settings)?;
    let mut reader = tokio::io::BufReader::new(open().await?);
    let report = replay::replay(&mut reader, &store, settings)
        .await
        .with_context(|| format!("replaying {}", file.display()))?;
    Ok((report, ReplayedBy::Store))
}

/// One summary line, then each unreadable line listed.
pub fn render(report: &ReplayReport, by: ReplayedBy) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} messages: {} recorded, {} duplicates, {} rejected, {} not bound, {} unreadable lines",
        report.messages,
        report.recorded,
        report.duplicates,
        report.rejected,
        report.not_bound,
        report.unreadable
    );
    if report.work_queued > 0 {
        let when = match by {
            ReplayedBy::Daemon => "the running daemon applies them now",
            ReplayedBy::Store => "fedflow run applies them when it starts",
        };
        let _ = writeln!(out, "{} work items queued: {when}", report.work_queued);
    }
    for problem in &report.problems {
        let _ = writeln!(out, "line {}: {}", problem.line, problem.error);
    }
    let unlisted = report
        .unreadable
        .saturating_sub(report.problems.len() as u64);
    if unlisted > 0 {
        let _ = writeln!(out, "... and {unlisted} more unreadable lines");
    }
    out
}
