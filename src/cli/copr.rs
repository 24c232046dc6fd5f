//! `fedflow copr`: recent Copr builds of the tracked projects, from the running daemon over the control
//! socket, or from the store when no daemon runs (as `fedflow pipelines` reads).

use super::pipelines::{ask, with_store};
use crate::config::Settings;
use crate::copr::CoprBuildRecord;
use anyhow::Context;
use std::fmt::Write;

/// Build chroot records of the newest `limit` builds, of `project` (`owner/project`) or of all.
pub async fn list(
    settings: &Settings,
    project: Option<&str>,
    limit: usize,
) -> anyhow::Result<Vec<CoprBuildRecord>> {
    let request = format!("copr {}", project.unwrap_or_default());
    let all: Vec<CoprBuildRecord> = match ask(settings, request.trim_end()).await? {
        Some(value) => serde_json::from_value(value).context("reading the daemon's answer")?,
        None => with_store(settings, |store| Ok(store.copr_builds(project, limit)?))?,
    };
    // The daemon answers with its own limit; keep the newest `limit` builds of that.
    let mut builds = Vec::new();
    Ok(all
        .into_iter()
        .filter(|record| {
            if !builds.contains(&record.build_id) {
                builds.push(record.build_id);
            }
            builds.len() <= limit
        })
        .collect())
}

/// One line per build: id, project, package-version, age, each chroot with its status, the build page.
pub fn render(records: &[CoprBuildRecord], settings: &Settings, now: u64) -> String {
    let mut out = String::new();
    if records.is_empty() {
        let _ = if settings.copr.is_tracking() {
            writeln!(out, "no copr builds")
        } else {
            writeln!(
                out,
                "no copr builds (copr tracking is off: [copr] projects is empty)"
            )
        };
        return out;
    }
    // Records come grouped by build, newest first.
    for build in records.chunk_by(|a, b| a.build_id == b.build_id) {
        let first = &build[0];
        let package = build
            .iter()
            .find(|r| r.package.is_some())
            .unwrap_or(first)
            .package_version();
        let latest = build
            .iter()
            .map(CoprBuildRecord::last_event_at)
            .max()
            .unwrap_or(first.updated_at);
        let chroots = build
            .iter()
            .map(|r| format!("{}:{}", r.chroot, r.status))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            out,
            "{:>8}  {}  {package}  {}  {chroots}  {}",
            first.build_id,
            first.project,
            age(now.saturating_sub(latest)),
            first.build_url
        );
    }
    out
}

/// `45s`, `12m`, `5h`, `3d` ago: the largest whole unit.
fn age(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Inputs, load};

    fn record(build_id: i64, chroot: &str, status: &str, package: Option<&str>) -> CoprBuildRecord {
        CoprBuildRecord {
            project: "@python/python3.8".to_owned(),
            build_id,
            chroot: chroot.to_owned(),
            package: package.map(str::to_owned),
            version: package.map(|_| "1.0-1.fc41".to_owned()),
            status: status.to_owned(),
            started_at: Some(1_000),
            ended_at: (status != "running").then_some(1_100),
            start_message_id: Some(format!("start-{build_id}-{chroot}")),
            end_message_id: (status != "running").then(|| format!("end-{build_id}-{chroot}")),
            updated_at: 1_100,
            build_url: format!(
                "https://copr.fedorainfracloud.org/coprs/g/python/python3.8/build/{build_id}/"
            ),
            results_url: None,
        }
    }

    #[test]
    fn one_line_per_build_with_its_chroots_age_package_and_link() {
        let settings = load(&Inputs::default()).expect("defaults");
        let records = vec![
            record(12, "fedora-rawhide-x86_64", "failed", Some("python-x")),
            record(12, "srpm-builds", "succeeded", None),
            record(11, "fedora-41-x86_64", "running", Some("python-y")),
        ];
        let text = render(&records, &settings, 1_100 + 2 * 3600);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(
            lines[0],
            "      12  @python/python3.8  python-x-1.0-1.fc41  2h ago  \
             fedora-rawhide-x86_64:failed srpm-builds:succeeded  \
             https://copr.fedorainfracloud.org/coprs/g/python/python3.8/build/12/"
        );
        assert!(lines[1].contains("  python-y-1.0-1.fc41  2h ago  fedora-41-x86_64:running  "));
        assert!(render(&[], &settings, 0).contains("copr tracking is off"));
        assert_eq!(age(59), "59s ago");
        assert_eq!(age(3 * 86_400 + 5), "3d ago");
    }
}
