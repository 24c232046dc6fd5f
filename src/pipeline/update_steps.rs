//! A built pipeline's road to a Bodhi update: applying the decision (`update_policy`), the wait for the
//! candidate tag (tag messages, with a Koji poll as fallback), the creation (look the build up first, then
//! POST, so a crash after the POST never makes a second update), and the check that Bodhi made its
//! automatic update for releases it does not compose.

use super::engine::Shared;
use super::steps::{defer_or_fail, transition};
use super::update_policy;
use super::{Pipeline, Stage, UpdateOrigin, UpdatePlan, pipeline_event, unix_now};
use crate::bodhi::{BodhiError, NewUpdate};
use crate::changelog;
use crate::config::Settings;
use crate::koji::KojiError;
use crate::store::StoreError;
use std::time::Duration;

/// Polls of Koji for the candidate tag happen this often at most, and at least this often.
const TAG_POLL_MIN: Duration = Duration::from_secs(10);
const TAG_POLL_MAX: Duration = Duration::from_secs(300);

/// Decides whether the build gets an update from fedflow, and how.
pub(super) async fn decide(
    shared: &Shared,
    settings: &Settings,
    pipeline: &Pipeline,
) -> Result<bool, StoreError> {
    let policy = shared.policy(settings);
    let decision = match update_policy::plan(&policy, pipeline).await {
        Ok(decision) => decision,
        Err(e) if e.is_transient() => {
            return defer_or_fail(
                shared,
                settings,
                pipeline,
                "deciding the update",
                e.to_string(),
            );
        }
        Err(e) => Err(format!("cannot decide: {e}")),
    };
    let now = unix_now();
    match decision {
        Err(reason) => transition(shared, pipeline.id, |p| p.no_update(reason.clone(), now)),
        Ok((plan, release)) if !release.composed_by_bodhi => {
            let check_at = now + settings.bodhi.automatic_update_check.as_secs();
            transition(shared, pipeline.id, |p| {
                p.await_automatic_update(plan.clone(), check_at, now)
            })
        }
        Ok((plan, release)) => match release.candidate_tag {
            Some(tag) => {
                let deadline = now + settings.bodhi.tag_wait.as_secs();
                transition(shared, pipeline.id, |p| {
                    p.await_tag(plan.clone(), tag.clone(), deadline, now)
                })
            }
            None => {
                let reason = format!("Bodhi release {} has no candidate tag", release.name);
                transition(shared, pipeline.id, |p| p.no_update(reason.clone(), now))
            }
        },
    }
}

/// Asks Koji whether the build carries the candidate tag yet; the tag message usually comes first.
pub(super) async fn wait_for_tag(
    shared: &Shared,
    settings: &Settings,
    pipeline: &Pipeline,
) -> Result<bool, StoreError> {
    let Stage::AwaitingTag {
        candidate_tag,
        deadline,
        ..
    } = &pipeline.stage
    else {
        return Ok(false);
    };
    let Some(nvr) = pipeline.nvr() else {
        return Ok(false);
    };
    let now = unix_now();
    if now > *deadline {
        let reason = format!(
            "{nvr} was not tagged into {candidate_tag} within {} minutes (bodhi.tag_wait_minutes)",
            settings.bodhi.tag_wait.as_secs() / 60
        );
        return transition(shared, pipeline.id, |p| p.fail(reason.clone(), None, now));
    }
    match shared.remotes.koji.list_tags(nvr).await {
        Ok(tags) if tags.iter().any(|t| &t.name == candidate_tag) => {
            transition(shared, pipeline.id, |p| p.tagged("Koji lists the tag", now))
        }
        Ok(_) => {
            let next = now + tag_poll_interval(settings).as_secs();
            shared.store.update_pipeline(pipeline.id, None, |p| {
                p.sleep_until(next.min(*deadline + 1))
            })?;
            Ok(false)
        }
        Err(e) => defer_or_fail(
            shared,
            settings,
            pipeline,
            "asking Koji for the build's tags",
            e.to_string(),
        ),
    }
}

fn tag_poll_interval(settings: &Settings) -> Duration {
    (settings.bodhi.tag_wait / 10).clamp(TAG_POLL_MIN, TAG_POLL_MAX)
}

/// Creates the update, or adopts the one Bodhi already has for the build.
pub(super) async fn create(
    shared: &Shared,
    settings: &Settings,
    pipeline: &Pipeline,
) -> Result<bool, StoreError> {
    let (Some(nvr), Some(plan)) = (pipeline.nvr(), pipeline.update_plan.as_ref()) else {
        return Ok(false);
    };
    let bodhi = &shared.remotes.bodhi;
    match existing_update(shared, settings, pipeline, nvr).await? {
        Lookup::Found(moved) => return Ok(moved),
        Lookup::Deferred => return Ok(false),
        Lookup::None => {}
    }
    let update = match new_update(shared, pipeline, nvr, plan).await {
        Ok(update) => update,
        Err(e) if e.is_transient() => {
            return defer_or_fail(
                shared,
                settings,
                pipeline,
                "reading the changelog from Koji",
                e.to_string(),
            );
        }
        Err(e) => {
            let reason = format!("cannot read the changelog of {nvr} from Koji: {e}");
            return transition(shared, pipeline.id, |p| {
                p.fail(reason.clone(), None, unix_now())
            });
        }
    };
    if !bodhi.can_write() {
        let summary = format!(
            "{} update for {nvr} in {} ({} bug(s))",
            update.update_type,
            plan.release,
            update.bugs.len()
        );
        return transition(shared, pipeline.id, |p| {
            p.would_create_update(summary.clone(), unix_now())
        });
    }
    pipeline_event!(info, pipeline, release = %plan.release, "creating the Bodhi update");
    match bodhi.create_update(&update).await {
        Ok(created) => transition(shared, pipeline.id, |p| {
            p.update_found(
                created.alias.clone(),
                created.status.clone(),
                UpdateOrigin::Created,
                unix_now(),
            )
        }),
        Err(e) if e.is_already_exists() => {
            match existing_update(shared, settings, pipeline, nvr).await? {
                Lookup::Found(moved) => Ok(moved),
                Lookup::Deferred => Ok(false),
                Lookup::None => defer_or_fail(
                    shared,
                    settings,
                    pipeline,
                    "creating the Bodhi update",
                    e.to_string(),
                ),
            }
        }
        // Bodhi does not see the tag yet: ask again until the tag wait, counted from the tag, runs out.
        Err(e)
            if e.is_tagging_race()
                && unix_now() < tagged_at(pipeline) + settings.bodhi.tag_wait.as_secs() =>
        {
            let now = unix_now();
            let next_ms = (now + tag_poll_interval(settings).as_secs()).saturating_mul(1000);
            let error = format!("creating the Bodhi update: {e}");
            pipeline_event!(warn, pipeline, error = %e, "Bodhi does not see the candidate tag yet; will ask again");
            shared
                .store
                .update_pipeline(pipeline.id, None, |p| p.defer(error.clone(), next_ms, now))?;
            Ok(false)
        }
        Err(e) if e.is_transient() => defer_or_fail(
            shared,
            settings,
            pipeline,
            "creating the Bodhi update",
            e.to_string(),
        ),
        Err(e) => {
            let reason = format!("Bodhi refused the update: {}", refusal(&e));
            transition(shared, pipeline.id, |p| {
                p.fail(reason.clone(), None, unix_now())
            })
        }
    }
}

/// When the pipeline entered `creating_update` (the build carried the tag from then on).
fn tagged_at(pipeline: &Pipeline) -> u64 {
    pipeline
        .history
        .iter()
        .rev()
        .find(|t| t.state == "creating_update")
        .map_or(pipeline.updated_at, |t| t.at)
}

/// Bodhi's own words when it gave any, else the error.
fn refusal(error: &BodhiError) -> String {
    match error.descriptions() {
        [] => error.to_string(),
        descriptions => descriptions.join("; "),
    }
}

enum Lookup {
    /// An active update holds the build: the pipeline moved to it (or a message had moved it already).
    Found(bool),
    None,
    /// Bodhi could not answer; the step is retried later.
    Deferred,
}

async fn existing_update(
    shared: &Shared,
    settings: &Settings,
    pipeline: &Pipeline,
    nvr: &str,
) -> Result<Lookup, StoreError> {
    match shared.remotes.bodhi.updates_for_build(nvr).await {
        Ok(updates) => match updates.into_iter().find(|u| u.is_active()) {
            Some(update) => {
                let moved = transition(shared, pipeline.id, |p| {
                    p.update_found(
                        update.alias.clone(),
                        update.status.clone(),
                        UpdateOrigin::Adopted,
                        unix_now(),
                    )
                })?;
                Ok(Lookup::Found(moved))
            }
            None => Ok(Lookup::None),
        },
        Err(e) if e.is_transient() => {
            defer_or_fail(
                shared,
                settings,
                pipeline,
                "looking up the build's updates in Bodhi",
                e.to_string(),
            )?;
            Ok(Lookup::Deferred)
        }
        Err(e) => {
            let reason = format!("cannot look up the updates of {nvr} in Bodhi: {e}");
            transition(shared, pipeline.id, |p| {
                p.fail(reason.clone(), None, unix_now())
            })?;
            Ok(Lookup::Deferred)
        }
    }
}

/// The update's fields: the rule's settings and extra parameters, notes and bugs from the changelog added
/// since the release's latest stable build.
async fn new_update(
    shared: &Shared,
    pipeline: &Pipeline,
    nvr: &str,
    plan: &UpdatePlan,
) -> Result<NewUpdate, KojiError> {
    let koji = &shared.remotes.koji;
    let package = pipeline.key.package.as_str();
    let build_id = pipeline.build.as_ref().map_or(0, |b| b.build_id);
    let entries = koji.changelog(build_id).await?;
    let baseline = match &plan.stable_tag {
        Some(tag) => match koji.latest_tagged_build(tag, package).await {
            Ok(found) => found,
            Err(e) if e.is_transient() => return Err(e),
            // A release without that tag yet: the whole changelog goes in (cut to Bodhi's limit).
            Err(e) => {
                pipeline_event!(warn, pipeline, tag = %tag, error = %e, "no stable build to compare the changelog with");
                None
            }
        },
        None => None,
    };
    let baseline_entries = match baseline {
        Some(stable) if stable.build_id != build_id => koji.changelog(stable.build_id).await?,
        _ => Vec::new(),
    };
    let since = changelog::entries_since(&entries, &baseline_entries);
    let notes = changelog::update_notes(nvr, package, since, changelog::BODHI_NOTES_MAX);
    let rule = &plan.rule;
    Ok(NewUpdate {
        builds: vec![nvr.to_owned()],
        update_type: rule.update_type.clone(),
        severity: rule.severity.clone(),
        notes: notes.notes,
        bugs: notes.bugs,
        stable_karma: rule.stable_karma,
        unstable_karma: rule.unstable_karma,
        autokarma: rule.autokarma,
        autotime: rule.autotime,
        stable_days: rule.stable_days,
        extra: rule.extra.clone(),
    })
}

/// For releases Bodhi does not compose: at the check time, Bodhi's automatic update must exist.
pub(super) async fn check_automatic(
    shared: &Shared,
    settings: &Settings,
    pipeline: &Pipeline,
) -> Result<bool, StoreError> {
    let Stage::AwaitingAutomaticUpdate { release, check_at } = &pipeline.stage else {
        return Ok(false);
    };
    let Some(nvr) = pipeline.nvr() else {
        return Ok(false);
    };
    let now = unix_now();
    if now < *check_at {
        let at = *check_at;
        shared
            .store
            .update_pipeline(pipeline.id, None, |p| p.sleep_until(at))?;
        return Ok(false);
    }
    match shared.remotes.bodhi.updates_for_build(nvr).await {
        Ok(updates) => match updates.into_iter().find(|u| u.is_active()) {
            Some(update) => transition(shared, pipeline.id, |p| {
                p.update_found(
                    update.alias.clone(),
                    update.status.clone(),
                    UpdateOrigin::Automatic,
                    now,
                )
            }),
            None => {
                let reason = format!(
                    "Bodhi has no automatic update for {nvr} {} minutes after the build ({release} is not composed by Bodhi; untag and re-tag the build to make Bodhi create it)",
                    settings.bodhi.automatic_update_check.as_secs() / 60
                );
                pipeline_event!(warn, pipeline, message_id = crate::journal::AUTOMATIC_UPDATE_MISSING, release = %release, "{reason}");
                transition(shared, pipeline.id, |p| {
                    p.needs_attention(reason.clone(), now)
                })
            }
        },
        Err(e) => defer_or_fail(
            shared,
            settings,
            pipeline,
            "looking up the automatic update in Bodhi",
            e.to_string(),
        ),
    }
}
