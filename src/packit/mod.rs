//! Parser for the downstream part of a Packit config (`.packit.yaml`): the `koji_build` and `bodhi_update`
//! jobs a dist-git push triggers, with Packit's inheritance, defaults and job selection (packit-config.md
//! §2–§4). The text is untrusted: no panics, type errors carry their line, the caller limits the size.

mod raw;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hostile;

use raw::Section;
use serde::{Deserialize, Serialize};

/// The jobs fedflow acts on, already selected: `trigger` includes `commit`, not `manual_trigger`, and
/// `packit_instances` includes `prod`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PackitConfig {
    pub koji_build: Vec<KojiBuildJob>,
    pub bodhi_update: Vec<BodhiUpdateJob>,
    pub downstream_package_name: Option<String>,
    /// Features seen in selected jobs that fedflow does not implement, one sentence each, deduplicated.
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KojiBuildJob {
    /// Raw entries, aliases unresolved; `["main"]` (Packit's default) when absent or empty.
    pub dist_git_branches: Vec<String>,
    pub allowed_committers: Vec<String>,
    pub allowed_pr_authors: Vec<String>,
    pub scratch: bool,
    pub sidetag_group: Option<String>,
    pub require_labels_present: Vec<String>,
    pub require_labels_absent: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BodhiUpdateJob {
    /// Raw entries, aliases unresolved; `["fedora-stable"]` (Packit's default) when absent or empty.
    pub dist_git_branches: Vec<String>,
    /// Koji owners whose builds get updates; empty (the default) means fedflow's own builds only.
    pub allowed_builders: Vec<String>,
    pub bodhi_extra_params: serde_json::Map<String, serde_json::Value>,
}

/// An invalid config. `line`/`column` are 1-based; 0 when the problem has no single position (a job
/// missing a required key).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct PackitError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl PackitError {
    fn render(&self) -> String {
        if self.line == 0 {
            self.message.clone()
        } else {
            format!(
                "line {} column {}: {}",
                self.line, self.column, self.message
            )
        }
    }

    fn from_yaml(err: &serde_yaml::Error) -> PackitError {
        let text = err.to_string();
        match err.location() {
            Some(location) => {
                let suffix = format!(" at line {} column {}", location.line(), location.column());
                PackitError {
                    line: location.line(),
                    column: location.column(),
                    message: text.strip_suffix(&suffix).unwrap_or(&text).to_owned(),
                }
            }
            None => PackitError {
                line: 0,
                column: 0,
                message: text,
            },
        }
    }

    fn without_position(message: String) -> PackitError {
        PackitError {
            line: 0,
            column: 0,
            message,
        }
    }
}

const KOJI_BUILD: &str = "koji_build";
const BODHI_UPDATE: &str = "bodhi_update";

/// Parses a Packit config and selects its push-triggered downstream jobs.
pub fn parse(text: &str) -> Result<PackitConfig, PackitError> {
    check_flow_depth(text)?;
    let top = if is_blank_document(text) {
        Section::default()
    } else {
        serde_yaml::from_str::<Section>(text)
            .map_err(|err| PackitError::from_yaml(&err))?
            .resolve_merges()
    };
    let mut config = PackitConfig {
        downstream_package_name: top.downstream_package_name.clone(),
        ..PackitConfig::default()
    };
    if top.packages.is_some() {
        config
            .note("packages (monorepo configs) is not supported yet: only top-level jobs are read");
    }
    for (index, mut job) in top.jobs.clone().unwrap_or_default().into_iter().enumerate() {
        job.inherit(&top);
        let kind = job.job.clone().ok_or_else(|| {
            PackitError::without_position(format!("jobs[{index}]: missing `job`"))
        })?;
        let trigger = job.trigger.clone().ok_or_else(|| {
            PackitError::without_position(format!("jobs[{index}]: missing `trigger`"))
        })?;
        if kind != KOJI_BUILD && kind != BODHI_UPDATE {
            continue;
        }
        let triggers: Vec<&str> = trigger.split('|').map(str::trim).collect();
        let instances = job
            .packit_instances
            .clone()
            .unwrap_or_else(|| vec!["prod".to_owned()]);
        if !instances.iter().any(|instance| instance == "prod") {
            continue;
        }
        if triggers.contains(&"koji_build") {
            config.note(&format!(
                "{kind} jobs with trigger koji_build (side-tag builds) are not supported yet"
            ));
        }
        if !triggers.contains(&"commit") || job.manual_trigger.is_some_and(|flag| flag.0) {
            continue;
        }
        config.note_unsupported(&kind, &job);
        if kind == KOJI_BUILD {
            config.koji_build.push(koji_build_job(job));
        } else {
            config.bodhi_update.push(bodhi_update_job(job));
        }
    }
    Ok(config)
}

/// Deepest `[`/`{` nesting accepted. libyaml's flow parser is quadratic in the nesting depth (measured:
/// 16 Ki levels take 1.3 s, 64 Ki levels 25 s in a debug build), so depth is bounded before parsing.
/// Brackets are counted without regard to quoting: a real config never has this many unclosed ones.
const MAX_FLOW_DEPTH: usize = 64;

fn check_flow_depth(text: &str) -> Result<(), PackitError> {
    let mut depth = 0usize;
    for (line_index, line) in text.lines().enumerate() {
        for (column_index, c) in line.chars().enumerate() {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => continue,
            }
            if depth > MAX_FLOW_DEPTH {
                return Err(PackitError {
                    line: line_index + 1,
                    column: column_index + 1,
                    message: format!("flow collections nested deeper than {MAX_FLOW_DEPTH} levels"),
                });
            }
        }
    }
    Ok(())
}

/// Empty or comment-only text: serde_yaml reports "EOF" for it, Packit reads it as an empty config.
fn is_blank_document(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}

fn branches_or(job: &Section, default: &str) -> Vec<String> {
    match &job.dist_git_branches {
        Some(branches) if !branches.0.is_empty() => branches.0.clone(),
        _ => vec![default.to_owned()],
    }
}

fn koji_build_job(job: Section) -> KojiBuildJob {
    let dist_git_branches = branches_or(&job, "main");
    let labels = job
        .require
        .and_then(|require| require.label)
        .unwrap_or_default();
    KojiBuildJob {
        dist_git_branches,
        allowed_committers: job.allowed_committers.unwrap_or_default(),
        allowed_pr_authors: job
            .allowed_pr_authors
            .unwrap_or_else(|| vec!["packit".to_owned()]),
        scratch: job.scratch.is_some_and(|flag| flag.0),
        sidetag_group: job.sidetag_group,
        require_labels_present: labels.present.unwrap_or_default(),
        require_labels_absent: labels.absent.unwrap_or_default(),
    }
}

fn bodhi_update_job(job: Section) -> BodhiUpdateJob {
    BodhiUpdateJob {
        dist_git_branches: branches_or(&job, "fedora-stable"),
        // Packit's default is its own account, `packit`; fedflow's is its own Koji identity, which an empty
        // list stands for.
        allowed_builders: job.allowed_builders.unwrap_or_default(),
        bodhi_extra_params: job.bodhi_extra_params.unwrap_or_default(),
    }
}

impl PackitConfig {
    fn note(&mut self, note: &str) {
        if !self.notes.iter().any(|seen| seen == note) {
            self.notes.push(note.to_owned());
        }
    }

    fn note_unsupported(&mut self, kind: &str, job: &Section) {
        if job.sidetag_group.is_some() {
            self.note(&format!("{kind}: sidetag_group is not supported yet"));
        }
        if job.dependents.is_some() || job.dependencies.is_some() {
            self.note(&format!(
                "{kind}: dependents/dependencies are not supported yet"
            ));
        }
        if job
            .actions
            .as_ref()
            .is_some_and(|actions| actions.run_condition.is_some())
        {
            self.note(&format!(
                "{kind}: actions.run-condition is not supported yet"
            ));
        }
    }
}
