//! Bodhi `bodhi.update.*` events (request, complete, comment, edit, ...): the sub-topic plus the
//! update they are about.

use serde::{Deserialize, Serialize};

use super::koji::nvr_name;

/// Any `bodhi.update.<sub-topic>` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodhiUpdateMessage {
    /// The topic after `bodhi.update.`: `request.testing`, `complete.stable`, `comment`, ...
    pub sub_topic: String,
    /// Who caused the message; required on requests, usually present elsewhere.
    pub agent: Option<String>,
    pub update: BodhiUpdate,
}

impl BodhiUpdateMessage {
    /// Most update messages carry `update` at the top level; `bodhi.update.comment` nests it
    /// inside `comment`.
    pub(super) fn from_body<'de, D>(sub_topic: &str, body: D) -> Result<Self, serde_json::Error>
    where
        D: serde::Deserializer<'de, Error = serde_json::Error>,
    {
        let raw = RawBody::deserialize(body)?;
        let update = raw
            .update
            .or_else(|| raw.comment.and_then(|comment| comment.update))
            .ok_or_else(|| <serde_json::Error as serde::de::Error>::missing_field("update"))?;
        Ok(Self {
            sub_topic: sub_topic.to_owned(),
            agent: raw.agent,
            update,
        })
    }

    /// The package, for single-build updates. Multi-build updates have no single package:
    /// use [`BodhiUpdate::package_names`].
    pub fn package(&self) -> Option<&str> {
        match self.update.builds.as_slice() {
            [only] => only.package_name(),
            _ => None,
        }
    }

    pub fn summary(&self) -> String {
        let builds = match self.update.builds.as_slice() {
            [] => "no builds".to_owned(),
            [only] => only.nvr.clone(),
            [first, rest @ ..] => format!("{} +{} more", first.nvr, rest.len()),
        };
        let by = self
            .agent
            .as_deref()
            .map(|agent| format!(" by {agent}"))
            .unwrap_or_default();
        format!(
            "bodhi {} {} {} ({builds}){by}",
            self.update.alias, self.update.release.name, self.sub_topic
        )
    }
}

#[derive(Deserialize)]
struct RawBody {
    agent: Option<String>,
    update: Option<BodhiUpdate>,
    comment: Option<RawComment>,
}

#[derive(Deserialize)]
struct RawComment {
    update: Option<BodhiUpdate>,
}

/// The update JSON (only the fields fedflow reads; real messages carry much more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodhiUpdate {
    /// e.g. `FEDORA-2019-d64d0caab3`.
    pub alias: String,
    pub builds: Vec<BodhiBuild>,
    pub release: BodhiRelease,
    /// `testing`, `stable`, `obsolete`, `unpush`, `revoke`, or null.
    pub request: Option<String>,
    /// `pending`, `testing`, `stable`, `unpushed`, `obsolete`, `side_tag_active`, `side_tag_expired`.
    pub status: Option<String>,
    /// The submitter.
    pub user: BodhiUser,
    pub title: Option<String>,
    /// `bugfix`, `security`, `enhancement`, `newpackage`.
    #[serde(rename = "type")]
    pub update_type: Option<String>,
    /// The side tag the update was created from.
    pub from_tag: Option<String>,
}

impl BodhiUpdate {
    pub fn package_names(&self) -> impl Iterator<Item = &str> {
        self.builds.iter().filter_map(BodhiBuild::package_name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodhiBuild {
    pub nvr: String,
}

impl BodhiBuild {
    pub fn package_name(&self) -> Option<&str> {
        nvr_name(&self.nvr)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodhiRelease {
    /// e.g. `F41`, `EPEL-9`.
    pub name: String,
    pub dist_tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodhiUser {
    pub name: String,
}
