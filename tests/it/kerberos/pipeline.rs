//! The daemon logging in with Kerberos from its configuration alone (`koji.auth = "kerberos"`,
//! `bodhi.auth = "kerberos"` with Koji's identity): `fedflow run` exports its keytab, submits the build in
//! a negotiated session and creates the update through a Kerberos login at the IdP; with a keytab whose
//! keys are stale, the pipeline fails with a reason naming the principal and the keytab.

use super::kdc;
use crate::bodhi_pipeline::{CANDIDATE, WAIT, push_and_build, rules, tag, wait_update};
use crate::support::fake_idp::USER;
use crate::support::kdc::BOT;
use crate::support::pipeline_env::{PUSHER, PipelineEnv, commit, push_body, tag_body};
use serde_json::json;

#[test]
fn one_keytab_submits_the_build_and_creates_the_update() {
    let Some(kdc) = kdc() else { return };
    let env = PipelineEnv::with_kerberos(
        BOT,
        &kdc.bot_keytab,
        "tag_wait_minutes = 5",
        &rules("foo", "[\"f43\"]", "branches = [\"fedora-stable\"]"),
    );
    let mut daemon = env.start();
    let built = push_and_build(
        &env,
        "foo",
        "f43",
        "foo-1.0-1.fc43",
        &[(1_760_000_000, "- Update to 1.0")],
    );
    tag(&env, &built, CANDIDATE);
    env.publish("buildsys.tag", &tag_body(&built.message(), CANDIDATE, 7001));
    wait_update(&env, "foo", "f43", "pending");

    let logins = env.koji.calls_of("sslLogin");
    assert_eq!(logins.len(), 1, "{logins:#?}");
    assert_eq!(logins[0].negotiated_principal.as_deref(), Some(BOT));
    let owners: Vec<String> = env.koji.tasks().into_iter().map(|t| t.owner_name).collect();
    assert_eq!(owners, ["bot"], "built as the principal's Koji user");

    let updates = env.bodhi.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["user"]["name"], json!(USER), "{:#}", updates[0]);
    let journal = env.idp.journal();
    assert!(
        journal
            .iter()
            .any(|entry| entry == "idp GET /openidc/Authorization"),
        "the token came from a Kerberos login at the IdP: {journal:#?}"
    );
    daemon.stop();
    env.close();
}

#[test]
fn a_stale_keytab_fails_the_pipeline_naming_principal_and_keytab() {
    let Some(kdc) = kdc() else { return };
    let keytab = kdc.add_principal("stale");
    // The admin re-keyed the principal; fedflow's copy of the keytab still has the old keys.
    kdc.rekey("stale");
    let env = PipelineEnv::with_kerberos(
        "stale@TEST.LOCAL",
        &keytab,
        "",
        &rules("foo", "[\"f43\"]", "branches = [\"fedora-stable\"]"),
    );
    let mut daemon = env.start();
    env.publish(
        "pagure.git.receive",
        &push_body("foo", "f43", &commit("stale keys"), PUSHER),
    );
    let failed = env.wait_pipeline("foo", "f43", "failed", WAIT);
    let reason = failed["stage"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("stale@TEST.LOCAL")
            && reason.contains(&keytab.display().to_string())
            && reason.contains("current keys"),
        "{reason}"
    );
    assert!(
        env.koji.calls_of("sslLogin").is_empty(),
        "no ticket, no login"
    );
    assert!(env.koji.calls_of("build").is_empty());
    daemon.stop();
    env.close();
}
