//! The fake hub's tags: which builds are tagged where (with the tagging order, which decides what is
//! "latest"), tag inheritance, and the reads `listTags(build=…)` and `getLatestBuilds(tag, package=…)`
//! with the rows koji returns. Tests tag and untag with [`FakeKoji::tag_build`] and
//! [`FakeKoji::untag_build`].

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value as Json, json};

use super::hub::{Call, Fault, GENERIC_ERROR, Hub, PARAMETER_ERROR, fault};
use super::{FakeBuild, FakeKoji};

/// Tags, their parents, and the active tag listings.
pub struct Tagging {
    /// Name to id.
    pub tags: BTreeMap<String, i64>,
    /// Child tag id to its parents, highest priority first.
    pub parents: BTreeMap<i64, Vec<i64>>,
    /// Active listings `(tag_id, build_id, create_event)`, in tagging order.
    pub listings: Vec<(i64, i64, i64)>,
    next_tag_id: i64,
    next_event: i64,
}

impl Tagging {
    pub fn new() -> Tagging {
        Tagging {
            tags: BTreeMap::new(),
            parents: BTreeMap::new(),
            listings: Vec::new(),
            next_tag_id: 65_001,
            next_event: 150_000_001,
        }
    }

    fn tag_id(&mut self, name: &str) -> i64 {
        if let Some(id) = self.tags.get(name) {
            return *id;
        }
        let id = self.next_tag_id;
        self.next_tag_id += 1;
        self.tags.insert(name.to_owned(), id);
        id
    }

    fn name_of(&self, id: i64) -> &str {
        self.tags
            .iter()
            .find(|(_, tag)| **tag == id)
            .map_or("", |(name, _)| name.as_str())
    }

    /// The tag followed by its ancestors, depth first in priority order, each once.
    fn inheritance(&self, tag: i64) -> Vec<i64> {
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        let mut pending = vec![tag];
        while let Some(current) = pending.pop() {
            if !seen.insert(current) {
                continue;
            }
            order.push(current);
            if let Some(parents) = self.parents.get(&current) {
                pending.extend(parents.iter().rev());
            }
        }
        order
    }

    fn tag_json(&self, id: i64) -> Json {
        json!({
            "id": id, "name": self.name_of(id), "perm_id": null, "perm": null, "arches": null,
            "locked": false, "maven_support": false, "maven_include_all": false,
        })
    }
}

/// A `readTaggedBuilds` row: the build's fields koji selects there, plus the tag and the listing's
/// event (no `source`, no `extra`).
fn tagged_json(build: &FakeBuild, tag_id: i64, tag_name: &str, event: i64) -> Json {
    let full = build.to_json();
    let mut row = json!({"tag_id": tag_id, "tag_name": tag_name, "create_event": event});
    for field in [
        "id",
        "build_id",
        "version",
        "release",
        "epoch",
        "state",
        "completion_time",
        "start_time",
        "task_id",
        "draft",
        "owner_id",
        "owner_name",
        "creation_event_id",
        "creation_time",
        "volume_id",
        "volume_name",
        "package_id",
        "package_name",
        "name",
        "nvr",
    ] {
        row[field] = full[field].clone();
    }
    row
}

impl Hub {
    /// `listTags(build=…)`; an unknown build is a fault, as on the hub.
    pub(super) fn list_tags(&self, call: &Call) -> Result<Json, Fault> {
        call.reject_unknown_kwargs(&["build", "package", "perms", "queryOpts", "pattern"])?;
        let build = match call.arg(0, "build") {
            Some(Json::String(nvr)) => self.builds.values().find(|build| build.nvr() == *nvr),
            Some(Json::Number(id)) => id.as_i64().and_then(|id| self.builds.get(&id)),
            _ => return Err(fault(PARAMETER_ERROR, "fake hub: listTags needs build")),
        };
        let Some(build) = build else {
            let asked = call
                .arg(0, "build")
                .map(ToString::to_string)
                .unwrap_or_default();
            let asked = asked.trim_matches('"');
            return Err(fault(GENERIC_ERROR, format!("No such build: {asked}")));
        };
        let tagging = &self.tagging;
        let tags = tagging
            .listings
            .iter()
            .filter(|(_, build_id, _)| *build_id == build.build_id)
            .map(|(tag_id, _, _)| tagging.tag_json(*tag_id));
        Ok(Json::Array(tags.collect()))
    }

    /// `getLatestBuilds(tag, event, package, type, draft)`: per package, the most recently tagged
    /// COMPLETE build of the first tag in the inheritance that has one.
    pub(super) fn get_latest_builds(&self, call: &Call) -> Result<Json, Fault> {
        call.reject_unknown_kwargs(&["tag", "event", "package", "type", "draft"])?;
        let tagging = &self.tagging;
        let tag_id = match call.arg(0, "tag") {
            Some(Json::String(name)) => tagging.tags.get(name.as_str()).copied(),
            Some(Json::Number(id)) => id
                .as_i64()
                .filter(|id| tagging.tags.values().any(|t| t == id)),
            _ => {
                return Err(fault(
                    PARAMETER_ERROR,
                    "fake hub: getLatestBuilds needs a tag",
                ));
            }
        };
        let Some(tag_id) = tag_id else {
            let asked = call
                .arg(0, "tag")
                .map(ToString::to_string)
                .unwrap_or_default();
            return Err(fault(
                GENERIC_ERROR,
                format!("No such entry in table tag: {}", asked.trim_matches('"')),
            ));
        };
        let package = call.arg(2, "package").and_then(Json::as_str);
        let mut seen_packages = HashSet::new();
        let mut rows = Vec::new();
        for tag in tagging.inheritance(tag_id) {
            for (_, build_id, event) in tagging.listings.iter().rev().filter(|(t, _, _)| *t == tag)
            {
                let Some(build) = self.builds.get(build_id) else {
                    continue;
                };
                if build.state != 1 || package.is_some_and(|name| build.name != name) {
                    continue;
                }
                if seen_packages.insert(build.name.clone()) {
                    rows.push(tagged_json(build, tag, tagging.name_of(tag), *event));
                }
            }
        }
        Ok(Json::Array(rows))
    }
}

impl FakeKoji {
    /// Tags a build (creating the tag on first use), as `tagBuild` finishing would.
    pub fn tag_build(&self, build_id: i64, tag: &str) {
        let mut hub = self.hub();
        assert!(
            hub.builds.contains_key(&build_id),
            "tag_build: no build {build_id}"
        );
        let tagging = &mut hub.tagging;
        let tag_id = tagging.tag_id(tag);
        if !tagging
            .listings
            .iter()
            .any(|(t, b, _)| (*t, *b) == (tag_id, build_id))
        {
            let event = tagging.next_event;
            tagging.next_event += 1;
            tagging.listings.push((tag_id, build_id, event));
        }
    }

    pub fn untag_build(&self, build_id: i64, tag: &str) {
        let mut hub = self.hub();
        let tagging = &mut hub.tagging;
        let tag_id = tagging.tag_id(tag);
        tagging
            .listings
            .retain(|(t, b, _)| (*t, *b) != (tag_id, build_id));
    }

    /// Makes `child` inherit from `parent`, after any parents it already has.
    pub fn add_tag_inheritance(&self, child: &str, parent: &str) {
        let mut hub = self.hub();
        let tagging = &mut hub.tagging;
        let (child, parent) = (tagging.tag_id(child), tagging.tag_id(parent));
        tagging.parents.entry(child).or_default().push(parent);
    }
}
