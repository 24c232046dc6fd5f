//! The policy: whether a push is built, and where. Rules come from the central `[[package]]` table or from
//! the package's `.packit.yaml` (cached in the store); branch aliases from Bodhi's releases (cached, kept
//! when Bodhi is down); allowlists from dist-git's ACLs, groups and pull requests.

use super::{Pipeline, PushFacts, unix_now};
use crate::bodhi::{self, BodhiClient, BodhiError, Release};
use crate::config::{ConfigSource, MAX_PACKIT_CONFIG_BYTES, Settings};
use crate::distgit::{self, DistGitClient, DistGitError};
use crate::packit;
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tracing::warn;

/// The default branch of every dist-git repository.
pub const DEFAULT_BRANCH: &str = "rawhide";
const RELEASES_CACHE_KEY: &str = "bodhi\0releases";

/// What the policy decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Skip(String),
    Build {
        target: String,
        scratch: bool,
        /// Where the rule came from, for the pipeline's history.
        rule: String,
    },
}

/// A remote the policy needs could not answer; the decision is tried again later.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("dist-git: {0}")]
    DistGit(#[from] DistGitError),
    #[error("Bodhi: {0}")]
    Bodhi(#[from] BodhiError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl PolicyError {
    pub fn is_transient(&self) -> bool {
        match self {
            PolicyError::DistGit(e) => e.is_transient(),
            PolicyError::Bodhi(e) => e.is_transient(),
            PolicyError::Store(_) => false,
        }
    }
}

/// One candidate rule: the central one, or one `koji_build` job of `.packit.yaml`.
#[derive(Debug, Clone)]
struct Rule {
    branches: Vec<String>,
    allowed_committers: Vec<String>,
    allowed_pr_authors: Vec<String>,
    scratch: bool,
    require_spec_change: bool,
    sidetag_group: Option<String>,
    labels_present: Vec<String>,
    labels_absent: Vec<String>,
}

pub struct Policy<'a> {
    pub settings: &'a Settings,
    pub store: &'a Store,
    pub distgit: &'a DistGitClient,
    pub bodhi: &'a BodhiClient,
}

impl Policy<'_> {
    pub async fn decide(&self, pipeline: &Pipeline) -> Result<Verdict, PolicyError> {
        let package = pipeline.key.package.as_str();
        let branch = pipeline.key.branch.as_str();
        if let Some(reason) = static_skip(&pipeline.facts, package) {
            return Ok(Verdict::Skip(reason));
        }
        let (rules, source) = match self.rules(pipeline).await? {
            Ok(found) => found,
            Err(reason) => return Ok(Verdict::Skip(reason)),
        };
        let releases = self.releases().await?;
        let mut considered = Vec::new();
        let Some(rule) = rules.into_iter().find(|rule| {
            let branches = resolve(&rule.branches, &releases);
            let hit = branches.contains(branch);
            considered.push(format!(
                "{:?} → {}",
                rule.branches,
                branches.into_iter().collect::<Vec<_>>().join(", ")
            ));
            hit
        }) else {
            return Ok(Verdict::Skip(format!(
                "branch {branch} is not among the koji_build branches ({source}: {})",
                considered.join("; ")
            )));
        };
        if let Some(group) = &rule.sidetag_group {
            return Ok(Verdict::Skip(format!(
                "sidetag_group {group:?} ({source}) is not supported yet"
            )));
        }
        if rule.require_spec_change && pipeline.facts.spec_changed == Some(false) {
            return Ok(Verdict::Skip(
                "no .spec file changed in this push".to_owned(),
            ));
        }
        if let Some(reason) = self.permission(pipeline, &rule, &source).await? {
            return Ok(Verdict::Skip(reason));
        }
        Ok(Verdict::Build {
            target: self.settings.koji.target_for(branch),
            scratch: rule.scratch,
            rule: source,
        })
    }

    /// The candidate rules and where they came from, or why there are none.
    async fn rules(
        &self,
        pipeline: &Pipeline,
    ) -> Result<Result<(Vec<Rule>, String), String>, PolicyError> {
        let package = pipeline.key.package.as_str();
        if let Some(rule) = self
            .settings
            .package(package)
            .and_then(|p| p.koji_build.as_ref())
        {
            let rule = Rule {
                branches: rule.branches.clone(),
                allowed_committers: rule.allowed_committers.clone(),
                allowed_pr_authors: rule.allowed_pr_authors.clone(),
                scratch: rule.scratch,
                require_spec_change: rule.require_spec_change,
                sidetag_group: None,
                labels_present: Vec::new(),
                labels_absent: Vec::new(),
            };
            return Ok(Ok((vec![rule], "central config".to_owned())));
        }
        if !self.settings.distgit.honours_packit_yaml(package) {
            return Ok(Err(format!(
                "{package} has no [package.koji_build] rule and its .packit.yaml is not honoured"
            )));
        }
        let (parsed, source) = match self.packit_jobs(pipeline).await? {
            Ok(found) => found,
            Err(reason) => return Ok(Err(reason)),
        };
        let rules: Vec<Rule> = parsed
            .koji_build
            .into_iter()
            .map(|job| Rule {
                branches: job.dist_git_branches,
                allowed_committers: job.allowed_committers,
                allowed_pr_authors: job.allowed_pr_authors,
                scratch: job.scratch,
                require_spec_change: true,
                sidetag_group: job.sidetag_group,
                labels_present: job.require_labels_present,
                labels_absent: job.require_labels_absent,
            })
            .collect();
        if rules.is_empty() {
            return Ok(Err(format!(
                "{source} has no koji_build job triggered by commits"
            )));
        }
        Ok(Ok((rules, source)))
    }

    /// The package's parsed `.packit.yaml` for this pipeline (from `distgit.config_source`) and where it
    /// came from, or why there is none.
    pub async fn packit_jobs(
        &self,
        pipeline: &Pipeline,
    ) -> Result<Result<(packit::PackitConfig, String), String>, PolicyError> {
        let package = pipeline.key.package.as_str();
        let refs: &[&str] = match self.settings.distgit.config_source {
            ConfigSource::DefaultBranch => &[DEFAULT_BRANCH],
            ConfigSource::PushedBranch => &[pipeline.key.commit.as_str()],
            ConfigSource::DefaultThenPushed => &[DEFAULT_BRANCH, pipeline.key.commit.as_str()],
        };
        for git_ref in refs {
            let Some(config) = self.packit_config(package, git_ref).await? else {
                continue;
            };
            let at = describe_ref(git_ref, &pipeline.key.branch);
            let source = format!("{} at {at}", config.file_name);
            return match packit::parse(&config.text) {
                Ok(parsed) => Ok(Ok((parsed, source))),
                Err(e) => {
                    warn!(package, file = %config.file_name, git_ref = %at, error = %e, "invalid dist-git configuration");
                    Ok(Err(format!("invalid {source}: {e}")))
                }
            };
        }
        Ok(Err(format!(
            "no .packit.yaml (or .packit.yml, packit.yaml, packit.yml) in {package} at {}",
            refs.iter()
                .map(|r| describe_ref(r, &pipeline.key.branch))
                .collect::<Vec<_>>()
                .join(" or ")
        )))
    }

    /// The package's dist-git configuration at `git_ref`, from the cache when fresh.
    async fn packit_config(
        &self,
        package: &str,
        git_ref: &str,
    ) -> Result<Option<distgit::ConfigFile>, PolicyError> {
        let key = packit_cache_key(package, git_ref);
        if let Some((stored_at, raw)) = self.store.cached(&key)?
            && unix_now().saturating_sub(stored_at) < self.settings.distgit.config_cache.as_secs()
            && let Ok(cached) = serde_json::from_slice::<CachedConfig>(&raw)
        {
            return Ok(cached
                .0
                .map(|(file_name, text)| distgit::ConfigFile { file_name, text }));
        }
        let fetched = self
            .distgit
            .packit_config(package, git_ref, MAX_PACKIT_CONFIG_BYTES)
            .await?;
        let entry = CachedConfig(
            fetched
                .as_ref()
                .map(|f| (f.file_name.clone(), f.text.clone())),
        );
        let raw = serde_json::to_vec(&entry).unwrap_or_default();
        self.store.cache(&key, &raw)?;
        Ok(fetched)
    }

    /// Bodhi's active releases: cached for the configured time, and kept when Bodhi is unreachable.
    pub async fn releases(&self) -> Result<Vec<Release>, PolicyError> {
        let cached = self
            .store
            .cached(RELEASES_CACHE_KEY)?
            .and_then(|(at, raw)| Some((at, serde_json::from_slice::<Vec<Release>>(&raw).ok()?)));
        if let Some((stored_at, releases)) = &cached
            && unix_now().saturating_sub(*stored_at) < self.settings.bodhi.releases_cache.as_secs()
        {
            return Ok(releases.clone());
        }
        match self.bodhi.active_releases().await {
            Ok(releases) => {
                let raw = serde_json::to_vec(&releases).unwrap_or_default();
                self.store.cache(RELEASES_CACHE_KEY, &raw)?;
                Ok(releases)
            }
            Err(e) => match cached {
                Some((_, releases)) if e.is_transient() => {
                    warn!(error = %e, "Bodhi is unreachable; using the cached releases");
                    Ok(releases)
                }
                _ => Err(e.into()),
            },
        }
    }

    /// Why the pusher (or the merged PR's author) may not trigger a build, if they may not.
    async fn permission(
        &self,
        pipeline: &Pipeline,
        rule: &Rule,
        source: &str,
    ) -> Result<Option<String>, PolicyError> {
        let package = pipeline.key.package.as_str();
        let Some(pr_id) = pipeline.pull_request_id else {
            let admitted = distgit::admitted_by(
                self.distgit,
                package,
                &pipeline.agent,
                &rule.allowed_committers,
            )
            .await?;
            return Ok(admitted.is_none().then(|| {
                format!(
                    "pushed by {}, who is not in allowed_committers {:?} ({source})",
                    pipeline.agent, rule.allowed_committers
                )
            }));
        };
        let Some(pr) = self.distgit.pull_request(package, pr_id).await? else {
            return Ok(Some(format!(
                "pull request #{pr_id} of {package} not found on dist-git"
            )));
        };
        if let Some(label) = rule.labels_present.iter().find(|l| !pr.tags.contains(l)) {
            return Ok(Some(format!(
                "pull request #{pr_id} lacks the required label {label:?}"
            )));
        }
        if let Some(label) = rule.labels_absent.iter().find(|l| pr.tags.contains(l)) {
            return Ok(Some(format!(
                "pull request #{pr_id} carries the label {label:?}"
            )));
        }
        let admitted =
            distgit::admitted_by(self.distgit, package, &pr.author, &rule.allowed_pr_authors)
                .await?;
        Ok(admitted.is_none().then(|| {
            format!(
                "pull request #{pr_id} was authored by {}, who is not in allowed_pr_authors {:?} ({source})",
                pr.author, rule.allowed_pr_authors
            )
        }))
    }
}

/// A cached lookup: the file, or `None` when the package has none at that ref.
#[derive(Serialize, Deserialize)]
struct CachedConfig(Option<(String, String)>);

pub fn packit_cache_key(package: &str, git_ref: &str) -> String {
    format!("packit\0{package}\0{git_ref}")
}

/// Every cached configuration of a package: forgotten when a push changes one.
pub fn packit_cache_prefix(package: &str) -> String {
    format!("packit\0{package}\0")
}

fn describe_ref(git_ref: &str, branch: &str) -> String {
    if git_ref == DEFAULT_BRANCH {
        DEFAULT_BRANCH.to_owned()
    } else {
        format!("the pushed commit on {branch}")
    }
}

/// Branch names a rule's entries stand for (`main` is the old name of `rawhide`).
pub fn resolve(entries: &[String], releases: &[Release]) -> BTreeSet<String> {
    let mut branches = bodhi::resolve_branches(entries, releases);
    if branches.remove("main") {
        branches.insert(DEFAULT_BRANCH.to_owned());
    }
    branches
}

/// Reasons not to build that need no remote: the repository and the kind of push.
fn static_skip(facts: &PushFacts, package: &str) -> Option<String> {
    let namespace = facts.namespace.as_deref().unwrap_or("(none)");
    if namespace != "rpms" {
        return Some(format!(
            "push to {namespace}/{package}, not an RPM package repository"
        ));
    }
    if facts.fork {
        return Some(format!(
            "push to a fork ({})",
            facts.repository.as_deref().unwrap_or("forks/…")
        ));
    }
    if facts.deleted {
        return Some("branch deleted".to_owned());
    }
    None
}
