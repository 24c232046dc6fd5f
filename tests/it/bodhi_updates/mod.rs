//! The Bodhi update client against the fake Bodhi and fake IdP: looking up a build's updates, creating
//! one (body, multi-release answer), the login sequence and its recovery ([`login`]), and how Bodhi's
//! refusals and failures classify ([`refusals`]), and the fakes' own protocol details ([`fakes`]).

mod fakes;
mod login;
mod refusals;

use crate::support::daemon::runtime;
use crate::support::fake_bodhi::{FakeBodhi, realistic_releases};
use crate::support::fake_idp::{CLIENT_ID, FakeIdp, USER};
use fedflow::bodhi::{BodhiAuth, BodhiClient, NewUpdate};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

const NVR: &str = "fedflow-1.2-1.fc43";
const F43_CANDIDATE: &str = "f43-updates-candidate";

/// A fake IdP and a fake Bodhi linked to it, realistic releases, and a token file.
struct Env {
    idp: FakeIdp,
    bodhi: FakeBodhi,
    token_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Env {
    /// With a valid access token in the file.
    fn new() -> Env {
        Self::with_file(FakeIdp::write_token_file)
    }

    /// With an expired access token in the file (only the refresh token works).
    fn expired() -> Env {
        Self::with_file(FakeIdp::write_expired_token_file)
    }

    fn with_file(write: fn(&FakeIdp, &std::path::Path) -> PathBuf) -> Env {
        let idp = FakeIdp::start();
        let bodhi = FakeBodhi::start_with_idp(&idp);
        bodhi.set_releases(realistic_releases());
        let dir = tempfile::tempdir().expect("tempdir");
        let token_file = write(&idp, dir.path());
        Env {
            idp,
            bodhi,
            token_file,
            _dir: dir,
        }
    }

    fn client(&self) -> BodhiClient {
        BodhiClient::new(self.bodhi.base_url(), Duration::from_secs(10))
            .expect("client")
            .with_auth(BodhiAuth::RefreshToken {
                token_file: self.token_file.clone(),
                oidc_issuer: self.idp.issuer(),
                client_id: CLIENT_ID.to_owned(),
            })
    }

    /// The fake Bodhi's part of the shared journal.
    fn bodhi_journal(&self) -> Vec<String> {
        self.idp
            .journal()
            .into_iter()
            .filter(|entry| entry.starts_with("bodhi "))
            .collect()
    }
}

fn new_update(nvr: &str) -> NewUpdate {
    NewUpdate::new(
        vec![nvr.to_owned()],
        "enhancement",
        &format!("Automatic update for {nvr}."),
    )
}

/// An update as Bodhi serves it, for seeding the fake.
fn existing_update(alias: &str, status: &str, nvrs: &[&str]) -> Value {
    let builds: Vec<Value> = nvrs
        .iter()
        .map(|nvr| json!({"nvr": nvr, "type": "rpm"}))
        .collect();
    json!({"alias": alias, "status": status, "request": null, "builds": builds,
           "release": {"name": "F43", "id_prefix": "FEDORA"}, "user": {"name": "bodhi"},
           "url": format!("https://bodhi.example/updates/{alias}"), "type": "unspecified"})
}

#[test]
fn lookup_returns_every_update_of_the_build_across_pages_newest_first() {
    let bodhi = FakeBodhi::start();
    bodhi.add_update(existing_update(
        "FEDORA-2026-0000000001",
        "unpushed",
        &[NVR],
    ));
    bodhi.add_update(existing_update(
        "FEDORA-2026-0000000002",
        "testing",
        &["other-1-1.fc43"],
    ));
    bodhi.add_update(existing_update(
        "FEDORA-2026-0000000003",
        "testing",
        &["dep-2-1.fc43", NVR],
    ));
    let client = BodhiClient::new(bodhi.base_url(), Duration::from_secs(10))
        .expect("client")
        .with_page_size(1);
    assert!(!client.can_write(), "no credentials: read-only");

    let updates = runtime()
        .block_on(client.updates_for_build(NVR))
        .expect("updates");
    let summary: Vec<(&str, &str, bool)> = updates
        .iter()
        .map(|update| {
            (
                update.alias.as_str(),
                update.status.as_str(),
                update.is_active(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("FEDORA-2026-0000000003", "testing", true),
            ("FEDORA-2026-0000000001", "unpushed", false)
        ]
    );
    let newest = &updates[0];
    assert_eq!(newest.builds, ["dep-2-1.fc43", NVR]);
    assert_eq!(
        (
            newest.release.as_deref(),
            newest.user.as_deref(),
            newest.request.as_deref()
        ),
        (Some("F43"), Some("bodhi"), None)
    );
    assert_eq!(
        bodhi.requests(),
        [1, 2].map(|page| format!("/updates/?builds={NVR}&rows_per_page=1&page={page}"))
    );

    let none = runtime()
        .block_on(client.updates_for_build("unknown-1-1.fc43"))
        .expect("no updates");
    assert!(none.is_empty());
}

#[test]
fn create_posts_once_with_the_fields_and_extra_merged_under_them() {
    let env = Env::new();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    let mut update = new_update(NVR);
    update.bugs = vec![2_345_678, 2_345_679];
    update.severity = "low".to_owned();
    update.stable_karma = Some(2);
    update.unstable_karma = Some(-2);
    update.autokarma = Some(false);
    update.autotime = Some(true);
    update.stable_days = Some(7);
    update.extra = json!({"type": "bugfix", "notes": "overridden?", "builds": ["evil-1-1.fc43"],
                          "display_name": "Fedflow 1.2", "suggest": "reboot", "csrf_token": "forged"})
    .as_object()
    .cloned()
    .expect("object");
    let client = env.client();
    assert!(client.can_write());

    let created = runtime()
        .block_on(client.create_update(&update))
        .expect("created");
    assert!(
        created.alias.starts_with("FEDORA-2026-")
            && created.alias.len() == "FEDORA-2026-".len() + 10
    );
    assert_eq!(
        (
            created.status.as_str(),
            created.request.as_deref(),
            created.release.as_deref()
        ),
        ("pending", Some("testing"), Some("F43"))
    );
    assert_eq!(created.builds, [NVR]);
    assert_eq!(created.user.as_deref(), Some(USER));
    assert_eq!(
        created.url.as_deref(),
        Some(format!("{}/updates/{}", env.bodhi.base_url(), created.alias).as_str())
    );

    let posts = env.bodhi.posts();
    assert_eq!(posts.len(), 1, "exactly one POST: {posts:?}");
    let posted = &posts[0];
    for (key, expected) in [
        ("builds", json!([NVR])),
        ("type", json!("enhancement")),
        ("severity", json!("low")),
        ("notes", json!(format!("Automatic update for {NVR}."))),
        ("bugs", json!(["2345678", "2345679"])),
        ("stable_karma", json!(2)),
        ("unstable_karma", json!(-2)),
        ("autokarma", json!(false)),
        ("autotime", json!(true)),
        ("stable_days", json!(7)),
        ("display_name", json!("Fedflow 1.2")),
        ("suggest", json!("reboot")),
    ] {
        assert_eq!(posted[key], expected, "posted {key}");
    }
    assert_ne!(
        posted["csrf_token"],
        json!("forged"),
        "extra cannot replace the CSRF token"
    );

    let stored = env.bodhi.updates();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["alias"], json!(created.alias));
    assert_eq!(
        (
            &stored[0]["type"],
            &stored[0]["display_name"],
            &stored[0]["stable_days"]
        ),
        (&json!("enhancement"), &json!("Fedflow 1.2"), &json!(7))
    );
    assert_eq!(stored[0]["bugs"][1]["bug_id"], json!(2_345_679));

    // Bodhi now finds the build taken.
    let found = runtime()
        .block_on(client.updates_for_build(NVR))
        .expect("lookup");
    assert_eq!(found, [created]);
}

#[test]
fn builds_spanning_releases_return_the_first_of_the_split_updates() {
    let env = Env::new();
    let f42 = "fedflow-1.2-1.fc42";
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    env.bodhi.tag_build(f42, "f42-updates-candidate");
    let mut update = new_update(NVR);
    update.builds.push(f42.to_owned());

    let created = runtime()
        .block_on(env.client().create_update(&update))
        .expect("created");
    assert_eq!(
        (created.release.as_deref(), created.builds.as_slice()),
        (Some("F43"), [NVR.to_owned()].as_slice())
    );
    let stored = env.bodhi.updates();
    let releases: Vec<&Value> = stored
        .iter()
        .map(|update| &update["release"]["name"])
        .collect();
    assert_eq!(
        releases,
        [&json!("F43"), &json!("F42")],
        "Bodhi split it in two"
    );
    assert_eq!(env.bodhi.posts().len(), 1);
}
