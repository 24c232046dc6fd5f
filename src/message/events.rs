//! The typed [`Event`] a message carries, the topic → event routing table, and the per-event
//! accessors (kind label, package, one-line summary) the rest of fedflow uses.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::bodhi::BodhiUpdateMessage;
use super::copr::CoprBuild;
use super::distgit::{DistGitPush, GitCommit};
use super::envelope::DecodeError;
use super::koji::{KojiBuildStateChange, KojiTagChange, KojiTaskStateChange};

/// fedmsg-era and datagrepper messages put the real body under this key.
const LEGACY_WRAPPER_KEY: &str = "msg";

const BODHI_UPDATE_PREFIX: &str = "bodhi.update.";

/// `bodhi.update.*` topics whose body carries the update. Others under the same prefix (the CI
/// `status.testing.*` family, for one) describe test artifacts, not updates: they are unknown topics
/// to us, acknowledged and counted rather than rejected as malformed.
fn is_update_sub_topic(sub_topic: &str) -> bool {
    const UPDATE_FAMILIES: &[&str] = &["request.", "complete."];
    const UPDATE_TOPICS: &[&str] = &[
        "comment",
        "edit",
        "eject",
        "karma.threshold.reach",
        "requirements_met.stable",
    ];
    UPDATE_FAMILIES.iter().any(|family| {
        sub_topic
            .strip_prefix(family)
            .is_some_and(|rest| !rest.is_empty())
    }) || UPDATE_TOPICS.contains(&sub_topic)
}

/// What a message means, by topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "event", rename_all = "snake_case")]
pub enum Event {
    /// `pagure.git.receive`
    #[serde(rename = "distgit_push")]
    DistGitPush(DistGitPush),
    /// `git.receive` (legacy hook, one per commit)
    GitCommit(GitCommit),
    /// `buildsys.build.state.change`
    #[serde(rename = "koji_build_state")]
    KojiBuildState(KojiBuildStateChange),
    /// `buildsys.task.state.change`
    #[serde(rename = "koji_task_state")]
    KojiTaskState(KojiTaskStateChange),
    /// `buildsys.tag`
    KojiTag(KojiTagChange),
    /// `buildsys.untag`
    KojiUntag(KojiTagChange),
    /// `copr.build.start`
    CoprBuildStart(CoprBuild),
    /// `copr.build.end`
    CoprBuildEnd(CoprBuild),
    /// `bodhi.update.*`
    BodhiUpdate(BodhiUpdateMessage),
}

impl Event {
    /// Stable snake_case label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::DistGitPush(_) => "distgit_push",
            Self::GitCommit(_) => "git_commit",
            Self::KojiBuildState(_) => "koji_build_state",
            Self::KojiTaskState(_) => "koji_task_state",
            Self::KojiTag(_) => "koji_tag",
            Self::KojiUntag(_) => "koji_untag",
            Self::CoprBuildStart(_) => "copr_build_start",
            Self::CoprBuildEnd(_) => "copr_build_end",
            Self::BodhiUpdate(_) => "bodhi_update",
        }
    }

    /// The package the event is about, where it has exactly one.
    pub fn package(&self) -> Option<&str> {
        match self {
            Self::DistGitPush(push) => push.package(),
            Self::GitCommit(commit) => commit.package(),
            Self::KojiBuildState(build) => Some(&build.name),
            Self::KojiTaskState(task) => task.package(),
            Self::KojiTag(tag) | Self::KojiUntag(tag) => Some(&tag.name),
            Self::CoprBuildStart(build) | Self::CoprBuildEnd(build) => build.package(),
            Self::BodhiUpdate(update) => update.package(),
        }
    }

    /// One short human line for a status list.
    pub fn summary(&self) -> String {
        match self {
            Self::DistGitPush(push) => push.summary(),
            Self::GitCommit(commit) => commit.summary(),
            Self::KojiBuildState(build) => build.summary(),
            Self::KojiTaskState(task) => task.summary(),
            Self::KojiTag(tag) => tag.summary(true),
            Self::KojiUntag(tag) => tag.summary(false),
            Self::CoprBuildStart(build) => build.summary(false),
            Self::CoprBuildEnd(build) => build.summary(true),
            Self::BodhiUpdate(update) => update.summary(),
        }
    }
}

/// Which event type a topic carries; decided before the body is read into a type.
enum Route<'t> {
    DistGitPush,
    GitCommit,
    KojiBuildState,
    KojiTaskState,
    KojiTag,
    KojiUntag,
    CoprBuildStart,
    CoprBuildEnd,
    BodhiUpdate { sub_topic: &'t str },
}

fn route(topic: &str) -> Option<Route<'_>> {
    let route = match topic {
        "pagure.git.receive" => Route::DistGitPush,
        "git.receive" => Route::GitCommit,
        "buildsys.build.state.change" => Route::KojiBuildState,
        "buildsys.task.state.change" => Route::KojiTaskState,
        "buildsys.tag" => Route::KojiTag,
        "buildsys.untag" => Route::KojiUntag,
        "copr.build.start" => Route::CoprBuildStart,
        "copr.build.end" => Route::CoprBuildEnd,
        _ => {
            let sub_topic = topic
                .strip_prefix(BODHI_UPDATE_PREFIX)
                .filter(|sub_topic| is_update_sub_topic(sub_topic))?;
            Route::BodhiUpdate { sub_topic }
        }
    };
    Some(route)
}

/// Routes by topic, then reads the body into that topic's event type. A body that does not fit
/// is retried from inside a legacy `{"msg": {...}}` wrapper (Copr's schema classes accept it, and
/// fedmsg-era recordings use it); if both fail, the error about the body as sent is reported.
pub(super) fn decode_event(topic: &str, body: &Map<String, Value>) -> Result<Event, DecodeError> {
    let route = route(topic).ok_or_else(|| DecodeError::UnknownTopic(topic.to_owned()))?;
    decode_routed(&route, body)
        .or_else(|direct_error| match body.get(LEGACY_WRAPPER_KEY) {
            Some(Value::Object(inner)) => decode_routed(&route, inner).map_err(|_| direct_error),
            _ => Err(direct_error),
        })
        .map_err(|source| DecodeError::InvalidEvent {
            topic: topic.to_owned(),
            source,
        })
}

/// The event straight from the body's text, without the generic JSON tree [`decode_event`] reads from;
/// `None` when the topic is unknown or the text is anything but a plain object of that topic's event
/// (errors, legacy wrappers and duplicate keys are left to the tree, which reports them exactly).
pub(super) fn decode_event_text(topic: &str, text: &str) -> Option<Event> {
    let route = route(topic)?;
    // A struct also reads from a JSON array; the tree path rejects anything but an object.
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let event = decode_routed(&route, &mut deserializer).ok()?;
    deserializer.end().ok()?;
    Some(event)
}

fn decode_routed<'de, D>(route: &Route<'_>, body: D) -> Result<Event, serde_json::Error>
where
    D: serde::Deserializer<'de, Error = serde_json::Error>,
{
    let event = match route {
        Route::DistGitPush => Event::DistGitPush(DistGitPush::deserialize(body)?),
        Route::GitCommit => Event::GitCommit(GitCommit::deserialize(body)?),
        Route::KojiBuildState => Event::KojiBuildState(KojiBuildStateChange::deserialize(body)?),
        Route::KojiTaskState => Event::KojiTaskState(KojiTaskStateChange::deserialize(body)?),
        Route::KojiTag => Event::KojiTag(KojiTagChange::deserialize(body)?),
        Route::KojiUntag => Event::KojiUntag(KojiTagChange::deserialize(body)?),
        Route::CoprBuildStart => Event::CoprBuildStart(CoprBuild::deserialize(body)?),
        Route::CoprBuildEnd => Event::CoprBuildEnd(CoprBuild::deserialize(body)?),
        Route::BodhiUpdate { sub_topic } => {
            Event::BodhiUpdate(BodhiUpdateMessage::from_body(sub_topic, body)?)
        }
    };
    Ok(event)
}
