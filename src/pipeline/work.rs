//! What the consume path hands to the pipeline engine.
//!
//! Selection runs on the consume path for every decoded message, so it does no network I/O: an in-memory
//! check of the package against the configuration, and for build state changes one index lookup. The
//! selected work is stored in the inbox in the same transaction as the message itself.

use crate::config::Settings;
use crate::message::{BodhiUpdateMessage, DistGitPush, Event, KojiBuildStateChange, KojiTagChange};
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "work", rename_all = "snake_case")]
pub enum Work {
    /// A push to a watched package's repository (any namespace: the policy records why others are skipped).
    Push {
        message_id: String,
        push: Box<DistGitPush>,
    },
    /// A build of a watched package, or of a pipeline's source.
    BuildState {
        message_id: String,
        change: Box<KojiBuildStateChange>,
    },
    /// A build of a watched package (or a pipeline's build) tagged into a tag.
    Tag {
        message_id: String,
        change: Box<KojiTagChange>,
    },
    /// A Bodhi update of a watched package was requested to move or moved.
    BodhiUpdate {
        message_id: String,
        message: Box<BodhiUpdateMessage>,
    },
}

impl Work {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain data to JSON cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(raw: &[u8]) -> Result<Work, serde_json::Error> {
        serde_json::from_slice(raw)
    }
}

/// Whether pushes and builds of `package` concern fedflow: it has a central rule, or its `.packit.yaml`
/// is honoured.
pub fn is_watched(settings: &Settings, package: &str) -> bool {
    settings
        .package(package)
        .is_some_and(|rule| rule.koji_build.is_some() || rule.bodhi_update.is_some())
        || settings.distgit.honours_packit_yaml(package)
}

/// Whether builds of `package` may get a Bodhi update from fedflow: a central `bodhi_update` rule, or an
/// honoured `.packit.yaml` (whose jobs are read later).
pub fn may_update(settings: &Settings, package: &str) -> bool {
    settings
        .package(package)
        .is_some_and(|rule| rule.bodhi_update.is_some())
        || settings.distgit.honours_packit_yaml(package)
}

/// The work a decoded event carries, if any.
pub fn select(
    settings: &Settings,
    store: &Store,
    message_id: &str,
    event: &Event,
) -> Result<Option<Work>, StoreError> {
    let work = match event {
        Event::DistGitPush(push) if is_watched(settings, &push.repo.name) => Some(Work::Push {
            message_id: message_id.to_owned(),
            push: Box::new(push.clone()),
        }),
        Event::KojiBuildState(change) if concerns_us(settings, store, change)? => {
            Some(Work::BuildState {
                message_id: message_id.to_owned(),
                change: Box::new(change.clone()),
            })
        }
        Event::KojiTag(change)
            if is_watched(settings, &change.name)
                || store.has_pipeline_for_build(change.build_id)? =>
        {
            Some(Work::Tag {
                message_id: message_id.to_owned(),
                change: Box::new(change.clone()),
            })
        }
        Event::BodhiUpdate(message)
            if moves_update(&message.sub_topic)
                && message
                    .update
                    .package_names()
                    .any(|package| is_watched(settings, package)) =>
        {
            Some(Work::BodhiUpdate {
                message_id: message_id.to_owned(),
                message: Box::new(message.clone()),
            })
        }
        _ => None,
    };
    Ok(work)
}

fn concerns_us(
    settings: &Settings,
    store: &Store,
    change: &KojiBuildStateChange,
) -> Result<bool, StoreError> {
    if is_watched(settings, &change.name) {
        return Ok(true);
    }
    // A pipeline's build whose package left the configuration since: still follow it to the end.
    match change.task_id {
        Some(task_id) => store.has_pipeline_for_task(task_id),
        None => Ok(false),
    }
}

/// `request.<req>` and `complete.<testing|stable>`: the messages that change an update's status.
fn moves_update(sub_topic: &str) -> bool {
    sub_topic.starts_with("request.") || sub_topic.starts_with("complete.")
}
