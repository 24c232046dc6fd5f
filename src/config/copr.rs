//! The `[copr]` section: which Copr projects are tracked, where Copr's web pages are, how long records are
//! kept, and the bus topics tracking needs.

use super::fragment::CoprFragment;
use super::settings::as_days;
use super::workflow::{Checked, glob_matches, http_url, rejected};
use serde::Serialize;
use std::time::Duration;

pub const DEFAULT_COPR_URL: &str = "https://copr.fedorainfracloud.org";
/// Where Copr's backend publishes build results and logs.
pub const DEFAULT_COPR_RESULTS_URL: &str = "https://download.copr.fedorainfracloud.org/results";
/// The topics Copr tracking consumes; bound only while some project is tracked.
pub const COPR_TOPICS: &[&str] = &["copr.build.start", "copr.build.end"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoprSettings {
    /// `owner/project` patterns (`*` and `?` globs; `@group` owners); empty: Copr tracking is off.
    pub projects: Vec<String>,
    /// Copr's web frontend, the base of build page links.
    pub url: String,
    /// Copr's backend results, the base of result directory (log) links.
    pub results_url: String,
    /// Build records untouched this long are purged.
    #[serde(rename = "keep_days", serialize_with = "as_days")]
    pub keep: Duration,
}

impl CoprSettings {
    pub fn is_tracking(&self) -> bool {
        !self.projects.is_empty()
    }

    /// Whether builds of `owner`'s `project` are tracked. Owner and project are matched separately, so a
    /// `*` never crosses the `/`.
    pub fn watches(&self, owner: &str, project: &str) -> bool {
        self.projects.iter().any(|pattern| {
            pattern
                .split_once('/')
                .is_some_and(|(owner_glob, project_glob)| {
                    glob_matches(owner_glob, owner) && glob_matches(project_glob, project)
                })
        })
    }
}

/// Whether `topic` is one that only Copr tracking consumes (`copr.` and anything under it).
pub fn is_copr_topic(topic: &str) -> bool {
    topic == "copr" || topic.starts_with("copr.")
}

/// The bus topics with Copr's in line with tracking: added when some project is tracked, removed when
/// none is, so the queue never fills with messages nobody reads.
pub fn topics_for(copr: &CoprSettings, mut topics: Vec<String>) -> Vec<String> {
    if copr.is_tracking() {
        for topic in COPR_TOPICS {
            if !topics.iter().any(|t| t == topic) {
                topics.push((*topic).to_owned());
            }
        }
    } else {
        topics.retain(|topic| !is_copr_topic(topic));
    }
    topics
}

pub(super) fn copr(fragment: CoprFragment) -> Checked<CoprSettings> {
    let url = http_url("copr.url", fragment.url, DEFAULT_COPR_URL)?;
    let results_url = http_url(
        "copr.results_url",
        fragment.results_url,
        DEFAULT_COPR_RESULTS_URL,
    )?;
    let mut projects: Vec<String> = Vec::new();
    for (index, raw) in fragment.projects.unwrap_or_default().iter().enumerate() {
        let pattern = raw.trim();
        if pattern.is_empty() {
            continue;
        }
        if let Err(problem) = check_pattern(pattern) {
            return Err(rejected(
                "copr.projects",
                format!("entry {index} {raw:?}: {problem}"),
            ));
        }
        if !projects.iter().any(|p| p == pattern) {
            projects.push(pattern.to_owned());
        }
    }
    let keep_days = fragment.keep_days.unwrap_or(30);
    if keep_days == 0 {
        return Err(rejected("copr.keep_days", "expected at least 1 day"));
    }
    Ok(CoprSettings {
        projects,
        url,
        results_url,
        keep: Duration::from_secs(u64::from(keep_days) * 86_400),
    })
}

/// `owner/project`: both parts non-empty, one `/`, an owner's `@` only in front (a group), and no
/// characters Copr names cannot have (whitespace, `/`, URL syntax).
fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    let Some((owner, project)) = pattern.split_once('/') else {
        return Err("expected owner/project, e.g. \"packit/hello\" or \"@python/*\"");
    };
    if owner.is_empty() || project.is_empty() {
        return Err("expected a non-empty owner and project around the '/'");
    }
    let group = owner.strip_prefix('@').unwrap_or(owner);
    let name_char = |c: char| c.is_ascii_alphanumeric() || "-_.+:*?".contains(c);
    if group.is_empty() || !group.chars().all(name_char) || !project.chars().all(name_char) {
        return Err(
            "expected letters, digits, '-', '_', '.', '+', ':' and the globs '*' and '?' \
             (an owner may start with '@' for a group)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(projects: &[&str]) -> CoprSettings {
        copr(CoprFragment {
            projects: Some(projects.iter().map(|p| (*p).to_owned()).collect()),
            ..CoprFragment::default()
        })
        .unwrap_or_else(|r| panic!("{}: {}", r.key, r.message))
    }

    fn refusal(fragment: CoprFragment) -> (String, String) {
        match copr(fragment) {
            Ok(settings) => panic!("expected a refusal, got {settings:?}"),
            Err(r) => (r.key, r.message),
        }
    }

    #[test]
    fn defaults_track_nothing_on_fedoras_copr_for_thirty_days() {
        let settings = settings(&[]);
        assert!(!settings.is_tracking());
        assert_eq!(settings.url, DEFAULT_COPR_URL);
        assert_eq!(settings.results_url, DEFAULT_COPR_RESULTS_URL);
        assert_eq!(settings.keep.as_secs(), 30 * 86_400);
    }

    #[test]
    fn owners_and_projects_match_separately_with_globs_and_groups() {
        let tracked = settings(&["packit/packit-service-*", "@python/python3.?", "*/tracked"]);
        assert!(tracked.watches("packit", "packit-service-hello-world-24"));
        assert!(tracked.watches("@python", "python3.8"));
        assert!(
            !tracked.watches("@python", "python3.10"),
            "? is one character"
        );
        assert!(
            !tracked.watches("python", "python3.8"),
            "the group's @ is part of the owner"
        );
        assert!(tracked.watches("anyone", "tracked"));
        assert!(!tracked.watches("packit", "other"));
        // A `*` stays inside its part: `packit/*` does not reach into other owners.
        assert!(!settings(&["packit/*"]).watches("packit2", "x"));
    }

    #[test]
    fn bad_patterns_urls_and_retention_name_the_key_and_the_expectation() {
        for bad in [
            "packit",
            "/hello",
            "packit/",
            "a/b/c",
            "@/x",
            "pack it/x",
            "a/b?x=1&",
        ] {
            let (key, message) = refusal(CoprFragment {
                projects: Some(vec!["ok/fine".to_owned(), bad.to_owned()]),
                ..CoprFragment::default()
            });
            assert_eq!(key, "copr.projects", "{bad}");
            assert!(
                message.starts_with(&format!("entry 1 {bad:?}: expected")),
                "{message}"
            );
        }
        let (key, message) = refusal(CoprFragment {
            url: Some("ftp://copr.example".to_owned()),
            ..CoprFragment::default()
        });
        assert_eq!(key, "copr.url");
        assert!(message.contains("http:// or https://"), "{message}");
        let (key, _) = refusal(CoprFragment {
            keep_days: Some(0),
            ..CoprFragment::default()
        });
        assert_eq!(key, "copr.keep_days");
    }

    #[test]
    fn errors_name_the_file_and_check_config_prints_the_section() {
        use crate::config::{Inputs, load};
        let dir = tempfile::TempDir::new().expect("tempdir");
        let path = dir.path().join("copr.toml");
        std::fs::write(&path, "[copr]\nprojects = [\"packit/*\", \"nope\"]\n").expect("write");
        let inputs = Inputs {
            config_files: vec![path.clone()],
            ..Inputs::default()
        };
        let error = load(&inputs).expect_err("a bad pattern").to_string();
        assert!(
            error.starts_with(&format!("key `copr.projects` (from {})", path.display())),
            "{error}"
        );
        assert!(
            error.contains("entry 1 \"nope\": expected owner/project"),
            "{error}"
        );

        std::fs::write(&path, "[copr]\nprojects = [\"@python/*\"]\nkeep_days = 3\n")
            .expect("write");
        let settings = load(&inputs).expect("valid");
        let printed = toml::to_string(&settings).expect("render");
        assert!(
            printed.contains(
                "[copr]\nprojects = [\"@python/*\"]\nurl = \"https://copr.fedorainfracloud.org\"\nresults_url = \"https://download.copr.fedorainfracloud.org/results\"\nkeep_days = 3\n"
            ),
            "{printed}"
        );
        assert!(settings.bus.topics.iter().any(|t| t == "copr.build.end"));
    }

    #[test]
    fn copr_topics_are_bound_only_while_tracking() {
        let configured = vec!["buildsys.tag".to_owned(), "copr.build.end".to_owned()];
        assert_eq!(
            topics_for(&settings(&[]), configured.clone()),
            vec!["buildsys.tag"]
        );
        assert_eq!(
            topics_for(&settings(&["packit/*"]), configured),
            vec!["buildsys.tag", "copr.build.end", "copr.build.start"]
        );
        assert!(!is_copr_topic("coprs.other"));
    }
}
