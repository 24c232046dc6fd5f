//! What the consume path hands to the pipeline engine.
//!
//! Selection runs on the consume path for every decoded message, so it does no network I/O: an in-memory
//! check of the package against the configuration and shard, and for messages about builds (state changes,
//! tags, Bodhi updates) index lookups of the store's pipelines. The selected work is stored in the inbox in
//! the same transaction as the message itself.
//!
//! With `bus.shard = "i/N"` only packages of this instance's shard start work here; a message about
//! another shard's package is still recorded (seen, counted, listed) but queues nothing. Messages about a
//! pipeline already in this store (its Koji task, build or NVR) are followed whatever the shard, so its
//! pipelines finish where they started.

use crate::config::Settings;
use crate::message::{
    BodhiUpdate, BodhiUpdateMessage, DistGitPush, Event, KojiBuildStateChange, KojiTagChange,
};
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

/// Whether this instance starts work for `package`: it is watched and in this instance's shard.
pub fn is_ours(settings: &Settings, package: &str) -> bool {
    settings.bus.shard.holds(package) && is_watched(settings, package)
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
        Event::DistGitPush(push) if is_ours(settings, &push.repo.name) => Some(Work::Push {
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
            if is_ours(settings, &change.name)
                || store.has_pipeline_for_build(change.build_id)? =>
        {
            Some(Work::Tag {
                message_id: message_id.to_owned(),
                change: Box::new(change.clone()),
            })
        }
        Event::BodhiUpdate(message)
            if moves_update(&message.sub_topic)
                && update_concerns_us(settings, store, &message.update)? =>
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
    if is_ours(settings, &change.name) {
        return Ok(true);
    }
    // A pipeline's build whose package left the configuration (or this shard) since: follow it to the end.
    match change.task_id {
        Some(task_id) => store.has_pipeline_for_task(task_id),
        None => Ok(false),
    }
}

/// An update with a build of one of our packages, or with a pipeline's build. An update of several packages
/// may be selected by several instances: each moves only the pipelines in its own store (matched by NVR), so
/// an update follows the shard of the pipeline that created it.
fn update_concerns_us(
    settings: &Settings,
    store: &Store,
    update: &BodhiUpdate,
) -> Result<bool, StoreError> {
    if update
        .package_names()
        .any(|package| is_ours(settings, package))
    {
        return Ok(true);
    }
    for build in &update.builds {
        if store.has_pipeline_for_nvr(&build.nvr)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `request.<req>` and `complete.<testing|stable>`: the messages that change an update's status.
fn moves_update(sub_topic: &str) -> bool {
    sub_topic.starts_with("request.") || sub_topic.starts_with("complete.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Inputs, Shard, load};
    use crate::message::{Incoming, decode};
    use crate::pipeline::{Pipeline, PushFacts, PushKey};
    use serde_json::{Value, json};

    const PREFIX: &str = "org.fedoraproject.prod";

    /// The first package name `pkg-<n>` in shard `index` of two.
    fn package_in(index: u32) -> String {
        (0..)
            .map(|n| format!("pkg-{n}"))
            .find(|name| Shard::index_of(name, 2) == index)
            .unwrap_or_default()
    }

    /// Settings for instance `shard` watching both test packages, and an empty store.
    fn instance(shard: &str) -> (tempfile::TempDir, Settings, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut text = format!("[bus]\nshard = \"{shard}\"\n");
        for name in [package_in(0), package_in(1)] {
            text.push_str(&format!(
                "[[package]]\nname = \"{name}\"\n[package.koji_build]\nbranches = [\"f43\"]\n"
            ));
        }
        let path = dir.path().join("fedflow.toml");
        std::fs::write(&path, text).expect("write config");
        let settings = load(&Inputs {
            config_files: vec![path],
            ..Inputs::default()
        })
        .expect("valid config");
        let store = Store::open(&dir.path().join("state")).expect("store");
        (dir, settings, store)
    }

    /// The body of the fixture on `topic` (publish-all), changed by `adjust`, decoded as it would arrive.
    fn event(topic: &str, adjust: impl FnOnce(&mut Value)) -> Event {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/schemas/publish-all.jsonl"
        );
        let text = std::fs::read_to_string(path).expect("fixtures");
        let routing_key = format!("{PREFIX}.{topic}");
        let mut body = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|m| m["topic"] == routing_key.as_str())
            .map(|m| m["body"].clone())
            .expect("a fixture on the topic");
        adjust(&mut body);
        let bytes = serde_json::to_vec(&body).expect("body");
        let incoming = Incoming {
            routing_key: &routing_key,
            message_id: Some("msg"),
            headers: Default::default(),
            body: &bytes,
        };
        decode(incoming, PREFIX, 1 << 20).expect("decodes").event
    }

    fn push(package: &str) -> Event {
        event("pagure.git.receive", |b| b["repo"]["name"] = json!(package))
    }

    fn build_state(package: &str, task_id: i64) -> Event {
        event("buildsys.build.state.change", |b| {
            b["name"] = json!(package);
            b["task_id"] = json!(task_id);
        })
    }

    fn tag(package: &str, build_id: i64) -> Event {
        event("buildsys.tag", |b| {
            b["name"] = json!(package);
            b["build_id"] = json!(build_id);
        })
    }

    fn update(nvrs: &[&str]) -> Event {
        let builds: Vec<Value> = nvrs.iter().map(|nvr| json!({ "nvr": nvr })).collect();
        event("bodhi.update.request.testing", |b| {
            b["update"]["builds"] = json!(builds);
        })
    }

    fn selects(settings: &Settings, store: &Store, event: &Event) -> bool {
        select(settings, store, "msg", event)
            .expect("select")
            .is_some()
    }

    /// A pipeline of `package` in `store` with Koji task 42, build 7 and NVR `<package>-1.0-1.fc43`.
    fn stored_pipeline(store: &Store, package: &str) {
        let key = PushKey {
            package: package.to_owned(),
            branch: "f43".to_owned(),
            commit: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        };
        let created = store
            .create_pipeline(&key, None, |id| {
                Pipeline::new(
                    id,
                    key.clone(),
                    "git+https://example.org/x.git#0".to_owned(),
                    "alice".to_owned(),
                    None,
                    "msg-0".to_owned(),
                    PushFacts::default(),
                    100,
                )
            })
            .expect("create");
        let id = match created {
            crate::store::Created::New(p) => p.id,
            crate::store::Created::Existing(id) => id,
        };
        let nvr = format!("{package}-1.0-1.fc43");
        store
            .update_pipeline(id, None, |p| {
                p.decide_build("f43-candidate".to_owned(), false, "rule".to_owned(), 101)?;
                p.submitted(42, true, 102)?;
                p.building(42, 7, 103)?;
                let build = p.build_of(42, 7, nvr.clone(), Some("alice".to_owned()));
                p.built(build, false, 104)
            })
            .expect("update")
            .expect("pipeline")
            .1
            .expect("transitions");
    }

    #[test]
    fn each_shard_starts_work_only_for_its_own_packages() {
        let (ours, theirs) = (package_in(0), package_in(1));
        let (_dir, settings, store) = instance("0/2");
        assert!(selects(&settings, &store, &push(&ours)));
        assert!(!selects(&settings, &store, &push(&theirs)));
        assert!(selects(&settings, &store, &build_state(&ours, 42)));
        assert!(!selects(&settings, &store, &build_state(&theirs, 42)));
        assert!(selects(&settings, &store, &tag(&ours, 7)));
        assert!(!selects(&settings, &store, &tag(&theirs, 7)));
        let their_nvr = format!("{theirs}-1.0-1.fc43");
        assert!(!selects(&settings, &store, &update(&[&their_nvr])));

        let (_dir, settings, store) = instance("1/2");
        assert!(!selects(&settings, &store, &push(&ours)));
        assert!(selects(&settings, &store, &push(&theirs)));
        assert!(selects(&settings, &store, &update(&[&their_nvr])));

        // One instance: everything watched.
        let (_dir, settings, store) = instance("0/1");
        assert!(selects(&settings, &store, &push(&ours)));
        assert!(selects(&settings, &store, &push(&theirs)));
        assert!(!selects(&settings, &store, &push("unwatched")));
    }

    #[test]
    fn an_update_of_packages_in_two_shards_goes_to_both_instances() {
        let nvrs = [
            format!("{}-1.0-1.fc43", package_in(0)),
            format!("{}-2.0-1.fc43", package_in(1)),
        ];
        let both = update(&[&nvrs[0], &nvrs[1]]);
        for shard in ["0/2", "1/2"] {
            let (_dir, settings, store) = instance(shard);
            assert!(selects(&settings, &store, &both), "{shard}");
        }
    }

    #[test]
    fn pipelines_already_in_the_store_are_followed_whatever_the_shard() {
        // Shard 1's package, but this store holds its pipeline (made before the shard changed).
        let theirs = package_in(1);
        let (_dir, settings, store) = instance("0/2");
        stored_pipeline(&store, &theirs);
        assert!(selects(&settings, &store, &build_state(&theirs, 42)));
        assert!(!selects(&settings, &store, &build_state(&theirs, 43)));
        assert!(selects(&settings, &store, &tag(&theirs, 7)));
        assert!(!selects(&settings, &store, &tag(&theirs, 8)));
        let nvr = format!("{theirs}-1.0-1.fc43");
        assert!(selects(&settings, &store, &update(&[&nvr])));
        assert!(!selects(
            &settings,
            &store,
            &update(&[&format!("{theirs}-1.1-1.fc43")])
        ));
        // New pushes still go to the shard that holds the package.
        assert!(!selects(&settings, &store, &push(&theirs)));
    }
}
