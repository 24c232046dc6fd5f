//! Packit's `dist_git_branches` aliases (`fedora-stable`, `epel-10`, …) resolved to dist-git branch names
//! from Bodhi's active releases, as fedora-distro-aliases does (packit-config.md §5).

use super::Release;
use std::collections::BTreeSet;

const RAWHIDE: &str = "rawhide";

/// Resolves each entry (an alias or a plain branch name) to dist-git branch names:
/// - `fedora-all`, `fedora-stable` (state `current`), `fedora-development` (`pending`/`frozen`, rawhide
///   included), `fedora-latest` (branched if any, else the newest stable), `fedora-latest-stable`,
///   `fedora-branched` (all but rawhide);
/// - `epel-all`; `epel-X` the leading (newest) release of major X (branch `epelX`), `epel-X-branched` the
///   others of major X (`epelX.Y`), `epel-X-all` both;
/// - `rawhide`, `main`, `fedora-rawhide` → `rawhide`; `fedora-NN`/`fNN` → that release's branch when it is
///   active (so the Fedora that is rawhide gives `rawhide`), else `fNN`; `epel-N`/`epel-N.M` → that
///   release's branch, else `epelN…`; anything else verbatim.
///
/// Only releases in state `current`, `pending` or `frozen` count; ELN and non-Fedora/EPEL products
/// (containers, flatpaks, EPEL Next) are left out. The highest Fedora is rawhide; in the branching window,
/// when the second highest still reports branch `rawhide`, its branch is `f<version>`.
pub fn resolve_branches(entries: &[String], releases: &[Release]) -> BTreeSet<String> {
    let active = ActiveReleases::new(releases);
    let mut branches = BTreeSet::new();
    for entry in entries {
        let entry = entry.trim();
        if !entry.is_empty() {
            branches.extend(active.resolve(entry));
        }
    }
    branches
}

/// A release with its sort key and its corrected dist-git branch.
struct Distro<'a> {
    release: &'a Release,
    major: u32,
    minor: Option<u32>,
    branch: String,
}

impl Distro<'_> {
    fn is_stable(&self) -> bool {
        self.release.state == "current"
    }

    fn is_development(&self) -> bool {
        matches!(self.release.state.as_str(), "pending" | "frozen")
    }
}

struct ActiveReleases<'a> {
    /// Ascending by version; the last one is rawhide.
    fedora: Vec<Distro<'a>>,
    /// Ascending by (major, minor).
    epel: Vec<Distro<'a>>,
}

impl<'a> ActiveReleases<'a> {
    fn new(releases: &'a [Release]) -> ActiveReleases<'a> {
        let active = releases
            .iter()
            .filter(|release| matches!(release.state.as_str(), "current" | "pending" | "frozen"));
        let mut fedora = Vec::new();
        let mut epel = Vec::new();
        for release in active {
            let Some((major, minor)) = parse_version(&release.version) else {
                continue; // ELN ("eln") and anything else without a numeric version
            };
            let distro = Distro {
                release,
                major,
                minor,
                branch: release.branch.clone(),
            };
            match release.id_prefix.as_str() {
                "FEDORA" if release.name != "ELN" => fedora.push(distro),
                "FEDORA-EPEL" => epel.push(distro),
                _ => {}
            }
        }
        fedora.sort_by_key(|distro| (distro.major, distro.minor));
        epel.sort_by_key(|distro| (distro.major, distro.minor));
        if let Some(rawhide) = fedora.last_mut() {
            rawhide.branch = RAWHIDE.to_owned();
        }
        if let [.., branched, _] = fedora.as_mut_slice()
            && branched.branch == RAWHIDE
        {
            branched.branch = format!("f{}", branched.major);
        }
        ActiveReleases { fedora, epel }
    }

    fn resolve(&self, entry: &str) -> Vec<String> {
        let fedora = &self.fedora;
        let rawhide = fedora.last().map(|distro| distro.major);
        let not_rawhide = |distro: &&Distro| Some(distro.major) != rawhide;
        let selected: Vec<&Distro> = match entry {
            "fedora-all" => fedora.iter().collect(),
            "fedora-stable" => fedora.iter().filter(|d| d.is_stable()).collect(),
            "fedora-development" => fedora.iter().filter(|d| d.is_development()).collect(),
            "fedora-latest" => {
                let branched = fedora
                    .iter()
                    .filter(not_rawhide)
                    .rfind(|d| d.is_development());
                let latest = branched.or_else(|| fedora.iter().rfind(|d| d.is_stable()));
                latest.into_iter().collect()
            }
            "fedora-latest-stable" => fedora.iter().rfind(|d| d.is_stable()).into_iter().collect(),
            "fedora-branched" => fedora.iter().filter(not_rawhide).collect(),
            "epel-all" => self.epel.iter().collect(),
            "rawhide" | "main" | "fedora-rawhide" => return vec![RAWHIDE.to_owned()],
            _ => {
                return self
                    .resolve_numbered(entry)
                    .unwrap_or_else(|| vec![entry.to_owned()]);
            }
        };
        selected
            .into_iter()
            .map(|distro| distro.branch.clone())
            .collect()
    }

    /// `fedora-NN`, `fNN`, `epel-X[-all|-branched]`, `epel-N.M`; `None` for anything else.
    fn resolve_numbered(&self, entry: &str) -> Option<Vec<String>> {
        if let Some(number) = entry
            .strip_prefix("fedora-")
            .or_else(|| entry.strip_prefix('f'))
        {
            let major = parse_number(number)?;
            let found = self.fedora.iter().find(|distro| distro.major == major);
            return Some(vec![found.map_or_else(
                || format!("f{major}"),
                |distro| distro.branch.clone(),
            )]);
        }
        let rest = entry.strip_prefix("epel-")?;
        if let Some(major) = rest.strip_suffix("-all").and_then(parse_number) {
            let all: Vec<String> = self
                .epel_major(major)
                .map(|distro| distro.branch.clone())
                .collect();
            return (!all.is_empty()).then_some(all);
        }
        if let Some(major) = rest.strip_suffix("-branched").and_then(parse_number) {
            let leading = self.epel_major(major).last().map(|distro| distro.release);
            let trailing: Vec<String> = self
                .epel_major(major)
                .filter(|distro| Some(distro.release) != leading)
                .map(|distro| distro.branch.clone())
                .collect();
            return self.epel_major(major).next().map(|_| trailing);
        }
        let (major, minor) = parse_version(rest)?;
        if minor.is_none() {
            let leading = self.epel_major(major).last();
            return Some(vec![leading.map_or_else(
                || format!("epel{major}"),
                |distro| distro.branch.clone(),
            )]);
        }
        let found = self
            .epel
            .iter()
            .find(|distro| (distro.major, distro.minor) == (major, minor));
        Some(vec![found.map_or_else(
            || format!("epel{rest}"),
            |distro| distro.branch.clone(),
        )])
    }

    fn epel_major(&self, major: u32) -> impl Iterator<Item = &Distro<'a>> {
        self.epel.iter().filter(move |distro| distro.major == major)
    }
}

/// `"42"` → (42, None), `"10.1"` → (10, Some(1)); `None` for anything else (`"eln"`, `"10.x"`, `"+1"`).
fn parse_version(version: &str) -> Option<(u32, Option<u32>)> {
    match version.split_once('.') {
        Some((major, minor)) => Some((parse_number(major)?, Some(parse_number(minor)?))),
        None => Some((parse_number(version)?, None)),
    }
}

fn parse_number(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
#[path = "aliases_tests.rs"]
mod tests;
