//! How Bodhi's refusals and failures of `POST /updates/` classify: "already exists", the tagging race,
//! validation messages kept verbatim, ACL refusals that are not session problems, server errors and the
//! read-only client.

use super::{Env, F43_CANDIDATE, NVR, existing_update, new_update};
use crate::support::daemon::runtime;
use crate::support::fake_bodhi::FakeBodhi;
use fedflow::bodhi::{BodhiClient, BodhiError};
use std::time::Duration;

const NOT_COMPOSED: &str = "Cannot manually create updates for a Release which is not composed by Bodhi.\nRead the 'Automatic updates' page in Bodhi docs about this error.";

fn create(
    env: &Env,
    update: &fedflow::bodhi::NewUpdate,
) -> Result<fedflow::bodhi::Update, BodhiError> {
    runtime().block_on(env.client().create_update(update))
}

#[test]
fn a_build_in_an_active_update_already_exists_but_an_unpushed_one_does_not_count() {
    let env = Env::new();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    env.bodhi.add_update(existing_update(
        "FEDORA-2026-00000000aa",
        "obsolete",
        &[NVR],
    ));
    let err = create(&env, &new_update(NVR)).expect_err("taken");
    assert!(err.is_already_exists(), "{err}");
    assert!(!err.is_transient() && !err.is_tagging_race() && !err.is_auth());
    assert_eq!(
        err.descriptions(),
        [format!("Update for {NVR} already exists")]
    );

    let env = Env::new();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    env.bodhi.add_update(existing_update(
        "FEDORA-2026-00000000bb",
        "unpushed",
        &[NVR],
    ));
    let created = create(&env, &new_update(NVR)).expect("an unpushed update frees the build");
    assert_ne!(created.alias, "FEDORA-2026-00000000bb");
}

#[test]
fn the_tagging_race_is_recognised_in_both_of_bodhis_wordings() {
    let env = Env::new();
    env.bodhi.add_build(NVR);
    let err = create(&env, &new_update(NVR)).expect_err("no tags yet");
    assert!(err.is_tagging_race() && !err.is_transient(), "{err}");
    assert_eq!(
        err.descriptions(),
        [format!("Cannot find any tags associated with build: {NVR}")]
    );

    // Tagged for signing only: a release tag, but not the candidate tag.
    env.bodhi.tag_build(NVR, "f43-signing-pending");
    let err = create(&env, &new_update(NVR)).expect_err("not in the candidate tag");
    assert!(err.is_tagging_race(), "{err}");
    let description = &err.descriptions()[0];
    assert!(
        description.starts_with(&format!(
            "Invalid tag: {NVR} not tagged with any of the following tags ['"
        )) && description.contains("'f43-updates-candidate'"),
        "{description}"
    );

    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    create(&env, &new_update(NVR)).expect("tagged now");
    assert_eq!(env.bodhi.posts().len(), 3);
}

#[test]
fn validation_errors_keep_bodhis_descriptions_verbatim() {
    let env = Env::new();
    let rawhide = "fedflow-1.2-1.fc45";
    env.bodhi.tag_build(rawhide, "f45-updates-candidate");
    let err = create(&env, &new_update(rawhide)).expect_err("rawhide is not composed by Bodhi");
    assert_eq!((err.kind(), err.is_transient()), ("rejected", false));
    assert_eq!(err.descriptions(), [NOT_COMPOSED]);
    assert!(err.to_string().contains(NOT_COMPOSED), "{err}");
    assert!(
        err.to_string()
            .starts_with("Bodhi POST /updates/: HTTP 400: "),
        "{err}"
    );

    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    let mut update = new_update(NVR);
    update.notes = "x".to_owned();
    update.update_type = "feature".to_owned();
    let err = create(&env, &update).expect_err("schema");
    assert_eq!(
        err.descriptions(),
        [
            "Shorter than minimum length 2",
            "\"feature\" is not one of bugfix, security, newpackage, enhancement, unspecified"
        ]
    );

    let mut update = new_update(NVR);
    update.update_type = "security".to_owned();
    let err = create(&env, &update).expect_err("security needs a severity");
    assert_eq!(
        err.descriptions(),
        ["Must specify severity for a security update"]
    );

    let err = create(&env, &new_update("ghost-1-1.fc43")).expect_err("unknown build");
    assert_eq!(err.descriptions(), ["Build does not exist: ghost-1-1.fc43"]);
    assert!(!err.is_already_exists() && !err.is_tagging_race());
}

#[test]
fn an_acl_refusal_is_permanent_and_not_taken_for_an_expired_session() {
    let env = Env::new();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    let body = br#"{"status": "error", "errors": [{"location": "body", "name": "builds",
        "description": "fedflow-bot does not have commit access to fedflow"}]}"#;
    env.bodhi
        .reply_next("/updates/", 403, "application/json", body);
    let err = create(&env, &new_update(NVR)).expect_err("403");
    assert_eq!(
        (err.kind(), err.is_transient(), err.is_auth()),
        ("rejected", false, false)
    );
    assert_eq!(
        err.descriptions(),
        ["fedflow-bot does not have commit access to fedflow"]
    );
    assert_eq!(
        env.bodhi.requests(),
        ["/oidc/login-token", "/csrf", "/updates/"],
        "no second login"
    );
}

#[test]
fn server_errors_during_login_or_post_are_transient() {
    let env = Env::new();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    env.bodhi.fail_next(502);
    let err = create(&env, &new_update(NVR)).expect_err("502 on login");
    assert_eq!(
        (err.kind(), err.is_transient()),
        ("server_error", true),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("Bodhi GET /oidc/login-token: "),
        "{err}"
    );

    let client = env.client();
    env.bodhi.reply_next(
        "/updates/",
        500,
        "text/html",
        b"<html>Internal Server Error</html>",
    );
    let err = runtime()
        .block_on(client.create_update(&new_update(NVR)))
        .expect_err("500 on post");
    assert_eq!(
        (err.kind(), err.is_transient()),
        ("server_error", true),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("Bodhi POST /updates/: server answered HTTP 500"),
        "{err}"
    );
    assert!(env.bodhi.updates().is_empty());

    env.bodhi
        .reply_next("/updates/", 200, "text/html", b"<html>maintenance</html>");
    let err = runtime()
        .block_on(client.create_update(&new_update(NVR)))
        .expect_err("garbled 200");
    assert_eq!(
        (err.kind(), err.is_transient()),
        ("invalid_json", true),
        "{err}"
    );
    runtime()
        .block_on(client.create_update(&new_update(NVR)))
        .expect("recovered");
}

#[test]
fn a_read_only_client_refuses_writes_without_asking_bodhi() {
    let bodhi = FakeBodhi::start();
    let client = BodhiClient::new(bodhi.base_url(), Duration::from_secs(10)).expect("client");
    assert!(!client.can_write());
    let err = runtime()
        .block_on(client.create_update(&new_update(NVR)))
        .expect_err("read-only");
    assert_eq!(
        (err.kind(), err.is_transient(), err.is_auth()),
        ("read_only", false, false)
    );
    assert_eq!(bodhi.request_count(), 0);
}
