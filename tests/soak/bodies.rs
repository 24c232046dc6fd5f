//! Message bodies, shaped like the real ones of the fixtures (through the support's builders): the stream's
//! items, and the messages Koji and Bodhi publish about fedflow's own builds and updates.

use crate::support::pipeline_env::{
    BuildMessage, bodhi_update_body, build_state_body, fork_push_body, push_body, tag_body,
};
use crate::workload::{
    Build, Item, Malformed, OTHER_OWNER, OtherPush, PUSHER, Workload, others_build_commit,
};
use serde_json::{Value, json};
use std::sync::OnceLock;

/// A message to publish: its topic (without the prefix) and body bytes.
pub struct Message {
    pub topic: String,
    pub body: Vec<u8>,
}

fn json_message(topic: &str, body: &Value) -> Message {
    Message {
        topic: topic.to_owned(),
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// The body of one stream item; the same item always gives the same bytes (a duplicate repeats them).
pub fn render(workload: &Workload, item: &Item) -> Message {
    const PUSH: &str = "pagure.git.receive";
    match item {
        Item::RelevantPush(index) | Item::RepeatedPush(index) => {
            let build = &workload.builds[*index];
            let package = &workload.packages[build.package];
            json_message(
                PUSH,
                &push_body(package, build.branch, &build.commit, PUSHER),
            )
        }
        Item::OtherPush {
            package,
            branch,
            commit,
            how,
        } => {
            let body = match how {
                OtherPush::Fork => fork_push_body(package, branch, commit, "carol"),
                OtherPush::NotAllowedPusher => push_body(package, branch, commit, "mallory"),
                OtherPush::NoSpecChange => {
                    let mut body = push_body(package, branch, commit, PUSHER);
                    body["changed_files"] = json!({"sources": "M", ".gitignore": "M"});
                    body
                }
                OtherPush::OtherBranch | OtherPush::Unwatched => {
                    push_body(package, branch, commit, PUSHER)
                }
            };
            json_message(PUSH, &body)
        }
        Item::OthersBuild {
            package,
            nvr_serial,
            new_state,
        } => others_build(package, *nvr_serial, |build| {
            let old = (*new_state != 0).then_some(0);
            json_message(
                "buildsys.build.state.change",
                &build_state_body(build, old, *new_state),
            )
        }),
        Item::OthersTag {
            package,
            nvr_serial,
            tag,
        } => others_build(package, *nvr_serial, |build| {
            json_message("buildsys.tag", &tag_body(build, tag, 7_001))
        }),
        Item::Copr {
            end,
            owner,
            project,
            build,
            chroot,
            package,
        } => copr(*end, owner, project, *build, chroot, package),
        Item::Bodhi {
            sub_topic,
            alias,
            package,
            nvr_serial,
            release,
        } => {
            let nvr = format!("{package}-0.{nvr_serial}-1.fc43");
            bodhi(sub_topic, alias, &nvr, release)
        }
        Item::Malformed(kind) => malformed(*kind),
        Item::Duplicate(index) => render(workload, &workload.stream[*index].item),
    }
}

/// A message about someone else's build (owner `bob`, target f43) of `package`: its version, build and task
/// ids and source commit all derive from `serial`, so a tag message and a state change agree.
fn others_build(
    package: &str,
    serial: u64,
    make: impl FnOnce(&BuildMessage<'_>) -> Message,
) -> Message {
    let version = format!("0.{serial}");
    let source = format!(
        "git+https://src.fedoraproject.org/rpms/{package}.git#{}",
        others_build_commit(serial)
    );
    make(&BuildMessage {
        nvr: (package, &version, "1.fc43"),
        build_id: 1_000_000 + serial as i64,
        task_id: 90_000_000 + serial as i64,
        source: &source,
        target: "f43-candidate",
        owner: OTHER_OWNER,
    })
}

fn malformed(kind: Malformed) -> Message {
    let (topic, body): (&str, Vec<u8>) = match kind {
        Malformed::InvalidJson => (
            "pagure.git.receive",
            b"{\"agent\": \"alice\", \"branch\": \"rawhide\", ".to_vec(),
        ),
        Malformed::NotAnObject => ("buildsys.tag", b"[\"not\", \"an\", \"object\"]".to_vec()),
        Malformed::MissingField => {
            let mut body = push_body("other-pkg-broken", "rawhide", &"0".repeat(40), PUSHER);
            if let Some(object) = body.as_object_mut() {
                object.remove("end_commit");
            }
            (
                "pagure.git.receive",
                serde_json::to_vec(&body).unwrap_or_default(),
            )
        }
        Malformed::InvalidUtf8 => (
            "buildsys.build.state.change",
            b"{\"name\": \"\xff\xfe broken\", \"build_id\": 1}".to_vec(),
        ),
    };
    Message {
        topic: topic.to_owned(),
        body,
    }
}

fn copr(end: bool, owner: &str, project: &str, build: u64, chroot: &str, package: &str) -> Message {
    static TEMPLATES: OnceLock<(Value, Value)> = OnceLock::new();
    let (start_body, end_body) = TEMPLATES.get_or_init(|| {
        let fixtures = crate::support::fixtures::fixture_messages();
        let body = |topic: &str| {
            fixtures
                .iter()
                .find(|f| f.topic == topic)
                .map(|f| f.body.clone())
                .unwrap_or_else(|| panic!("no {topic} fixture"))
        };
        (body("copr.build.start"), body("copr.build.end"))
    });
    let (topic, mut body) = if end {
        ("copr.build.end", end_body.clone())
    } else {
        ("copr.build.start", start_body.clone())
    };
    body["owner"] = json!(owner);
    body["copr"] = json!(project);
    body["build"] = json!(build);
    body["chroot"] = json!(chroot);
    body["pkg"] = json!(package);
    body["version"] = json!("1.0-1.fc43");
    // Copr's numbers: 1 succeeded, 0 failed (one in ten), 3 running.
    let status = match (end, build % 10) {
        (false, _) => 3,
        (true, 0) => 0,
        (true, _) => 1,
    };
    body["status"] = json!(status);
    json_message(topic, &body)
}

/// A `bodhi.update.<sub_topic>` message about an update of one build.
pub fn bodhi(sub_topic: &str, alias: &str, nvr: &str, release: &str) -> Message {
    let status = match sub_topic {
        "request.testing" => "pending",
        "complete.stable" => "stable",
        _ => "testing",
    };
    json_message(
        &format!("bodhi.update.{sub_topic}"),
        &bodhi_update_body(sub_topic, alias, nvr, release, status),
    )
}

/// What Koji's messages say about one of fedflow's builds.
pub struct OwnBuild<'a> {
    pub build: &'a Build,
    pub package: &'a str,
    pub task_id: i64,
    pub build_id: i64,
    pub source: &'a str,
    pub target: &'a str,
    pub owner: &'a str,
}

impl OwnBuild<'_> {
    fn message(&self) -> BuildMessage<'_> {
        let mut parts = self.build.nvr.rsplitn(3, '-');
        let release = parts.next().unwrap_or_default();
        let version = parts.next().unwrap_or_default();
        BuildMessage {
            nvr: (self.package, version, release),
            build_id: self.build_id,
            task_id: self.task_id,
            source: self.source,
            target: self.target,
            owner: self.owner,
        }
    }

    /// `buildsys.build.state.change` from `old` to `new` (0 BUILDING, 1 COMPLETE, 3 FAILED).
    pub fn state_change(&self, old: Option<i64>, new: i64) -> Message {
        json_message(
            "buildsys.build.state.change",
            &build_state_body(&self.message(), old, new),
        )
    }

    /// `buildsys.tag` into `tag`.
    pub fn tagged(&self, tag: &str) -> Message {
        json_message("buildsys.tag", &tag_body(&self.message(), tag, 7_002))
    }
}
