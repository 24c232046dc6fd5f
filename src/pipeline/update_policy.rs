//! Whether a built pipeline gets a Bodhi update from fedflow, and how: the `bodhi_update` rule (central, else
//! `.packit.yaml`), the branch, the builder (fedflow's own build, or an owner in `allowed_builders`) and the
//! release Bodhi maps the branch to.

use super::policy::{Policy, PolicyError, resolve};
use super::{Pipeline, UpdatePlan};
use crate::bodhi::Release;
use crate::config::BodhiUpdateRule;

/// The plan and the release, or why no update is due.
pub(super) async fn plan(
    policy: &Policy<'_>,
    pipeline: &Pipeline,
) -> Result<Result<(UpdatePlan, Release), String>, PolicyError> {
    let Some(build) = &pipeline.build else {
        return Ok(Err("no build recorded".to_owned()));
    };
    if pipeline.scratch || build.build_id == 0 {
        return Ok(Err("scratch builds get no update".to_owned()));
    }
    let (rules, source) = match rules(policy, pipeline).await? {
        Ok(found) => found,
        Err(reason) => return Ok(Err(reason)),
    };
    let releases = policy.releases().await?;
    let branch = pipeline.key.branch.as_str();
    let Some(rule) = rules
        .iter()
        .find(|rule| resolve(&rule.branches, &releases).contains(branch))
    else {
        let listed: Vec<_> = rules.iter().map(|r| format!("{:?}", r.branches)).collect();
        return Ok(Err(format!(
            "branch {branch} is not among the bodhi_update branches ({source}: {})",
            listed.join("; ")
        )));
    };
    let owner = build.owner.as_deref().unwrap_or("an unknown owner");
    if !build.ours && !rule.allowed_builders.iter().any(|b| b == owner) {
        return Ok(Err(if rule.allowed_builders.is_empty() {
            format!(
                "built by {owner}, not by fedflow (allowed_builders is empty: fedflow's own builds only; {source})"
            )
        } else {
            format!(
                "built by {owner}, who is not in allowed_builders {:?} ({source})",
                rule.allowed_builders
            )
        }));
    }
    // Several releases share a branch (containers, flatpaks): updates of RPMs go to the Fedora or EPEL one.
    let Some(release) = releases
        .into_iter()
        .find(|r| r.branch == branch && matches!(r.id_prefix.as_str(), "FEDORA" | "FEDORA-EPEL"))
    else {
        return Ok(Err(format!(
            "no active Bodhi release has the branch {branch}"
        )));
    };
    let plan = UpdatePlan {
        release: release.name.clone(),
        stable_tag: release.stable_tag.clone(),
        rule: rule.clone(),
        source,
    };
    Ok(Ok((plan, release)))
}

/// The `bodhi_update` rules: the central one, else the `.packit.yaml` jobs.
async fn rules(
    policy: &Policy<'_>,
    pipeline: &Pipeline,
) -> Result<Result<(Vec<BodhiUpdateRule>, String), String>, PolicyError> {
    let package = pipeline.key.package.as_str();
    if let Some(rule) = policy
        .settings
        .package(package)
        .and_then(|p| p.bodhi_update.as_ref())
    {
        return Ok(Ok((vec![rule.clone()], "central config".to_owned())));
    }
    if !policy.settings.distgit.honours_packit_yaml(package) {
        return Ok(Err(format!(
            "{package} has no [package.bodhi_update] rule and its .packit.yaml is not honoured"
        )));
    }
    let (parsed, source) = match policy.packit_jobs(pipeline).await? {
        Ok(found) => found,
        Err(reason) => return Ok(Err(reason)),
    };
    let rules: Vec<BodhiUpdateRule> = parsed
        .bodhi_update
        .into_iter()
        .map(|job| {
            let defaults = BodhiUpdateRule::packit_defaults();
            // Packit has no severity key: `bodhi_extra_params` is where a job sets it. The type stays
            // Packit's (its key wins over the extra parameters).
            let severity = job
                .bodhi_extra_params
                .get("severity")
                .and_then(|v| v.as_str())
                .map_or(defaults.severity.clone(), str::to_owned);
            BodhiUpdateRule {
                branches: job.dist_git_branches,
                allowed_builders: job.allowed_builders,
                severity,
                extra: job.bodhi_extra_params,
                ..defaults
            }
        })
        .collect();
    if rules.is_empty() {
        return Ok(Err(format!(
            "{source} has no bodhi_update job triggered by commits"
        )));
    }
    Ok(Ok((rules, source)))
}
