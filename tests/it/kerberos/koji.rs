//! Koji's `sslLogin` with `Authorization: Negotiate`: the session it opens carries the builds, renewal on
//! `AuthExpired` negotiates again, and every failure names what an admin has to check.

use super::kdc;
use crate::koji_client::{SRC, WAIT};
use crate::support::daemon::runtime;
use crate::support::fake_koji::{FakeKoji, Injection};
use crate::support::kdc::{BOT, Kdc};
use fedflow::koji::{KojiAuth, KojiClient, KojiClientConfig, KojiError};
use serde_json::json;

fn client(fake: &FakeKoji, kdc: &Kdc, principal: &str, hub_url: String) -> KojiClient {
    KojiClient::new(KojiClientConfig {
        hub_url,
        ca_file: Some(fake.ca_file()),
        auth: KojiAuth::Kerberos {
            principal: principal.to_owned(),
            keytab: kdc.bot_keytab.clone(),
        },
        timeout: WAIT,
    })
    .expect("client")
}

fn bot_client(fake: &FakeKoji, kdc: &Kdc) -> KojiClient {
    client(fake, kdc, BOT, fake.hub_url_by_name())
}

fn build_error(client: &KojiClient) -> KojiError {
    runtime()
        .block_on(client.build(SRC, "rawhide", false))
        .expect_err("the login fails")
}

#[test]
fn a_keytab_login_opens_the_session_the_builds_carry() {
    let Some(kdc) = kdc() else { return };
    let fake = FakeKoji::start();
    let client = bot_client(&fake, kdc);
    assert!(client.can_submit());
    let rt = runtime();
    let tasks: Vec<i64> = (0..2)
        .map(|_| {
            rt.block_on(client.build(SRC, "rawhide", false))
                .expect("build")
        })
        .collect();

    let logins = fake.calls_of("sslLogin");
    assert_eq!(logins.len(), 1, "one login for both builds");
    assert_eq!(logins[0].path, "/kojihub/ssllogin");
    assert_eq!(
        logins[0].negotiated_principal.as_deref(),
        Some(BOT),
        "the hub verified a ticket of the configured principal"
    );
    assert_eq!(logins[0].session_id, None);
    let builds = fake.calls_of("build");
    let session_id = builds[0].session_id.expect("session id header");
    for (number, call) in builds.iter().enumerate() {
        assert_eq!(call.path, "/kojihub");
        assert_eq!(call.session_id, Some(session_id));
        assert!(call.session_key.is_some());
        assert_eq!(call.callnum, Some(number as i64));
        assert_eq!(
            call.negotiated_principal, None,
            "tokens go to the login only"
        );
    }
    for task in tasks {
        let owner = fake.task(task).expect("task").owner_name;
        assert_eq!(owner, "bot", "Koji's user is the principal's name");
    }
}

#[test]
fn auth_expired_renews_the_session_with_a_new_kerberos_login() {
    let Some(kdc) = kdc() else { return };
    let fake = FakeKoji::start();
    let client = bot_client(&fake, kdc);
    let rt = runtime();
    rt.block_on(client.build(SRC, "rawhide", false))
        .expect("first build");
    fake.inject("build", Injection::ExpireSession);
    rt.block_on(client.build(SRC, "rawhide", false))
        .expect("build after the renewal");

    let logins = fake.calls_of("sslLogin");
    assert_eq!(logins.len(), 2);
    for login in &logins {
        assert_eq!(login.negotiated_principal.as_deref(), Some(BOT));
    }
    let renewal = &logins[1];
    assert_eq!(
        renewal.params[1],
        json!({"__starstar": true, "renew": true})
    );
    let builds = fake.calls_of("build");
    assert_eq!(builds.len(), 3, "the expired call is repeated once");
    assert_eq!(
        renewal.session_id, builds[0].session_id,
        "renewed with the old session's headers"
    );
    assert_eq!(
        builds[2].session_id, builds[0].session_id,
        "the session id is kept"
    );
    assert!(builds[2].callnum > renewal.callnum, "call numbers go on");
}

#[test]
fn a_principal_missing_from_the_keytab_fails_before_anything_is_sent() {
    let Some(kdc) = kdc() else { return };
    let fake = FakeKoji::start();
    let client = client(&fake, kdc, "nobody@TEST.LOCAL", fake.hub_url_by_name());
    let error = build_error(&client);
    let text = error.to_string();
    assert_eq!(error.kind(), "kerberos", "{text}");
    assert!(!error.is_transient(), "an admin has to act: {text}");
    assert!(
        text.contains("nobody@TEST.LOCAL")
            && text.contains(&kdc.bot_keytab.display().to_string())
            && text.contains("klist -k"),
        "{text}"
    );
    assert!(
        fake.calls().is_empty(),
        "nothing reached the hub: {:?}",
        fake.calls()
    );
}

#[test]
fn a_hub_url_without_a_service_principal_names_the_service() {
    let Some(kdc) = kdc() else { return };
    let fake = FakeKoji::start();
    // The KDC knows HTTP/localhost, not HTTP/127.0.0.1.
    let client = client(&fake, kdc, BOT, fake.hub_url());
    let text = build_error(&client).to_string();
    assert!(
        text.contains("HTTP@127.0.0.1") && text.contains("host name"),
        "{text}"
    );
    assert!(fake.calls_of("sslLogin").is_empty());
}

#[test]
fn refusals_by_the_hub_say_what_to_check() {
    let Some(kdc) = kdc() else { return };
    let fake = FakeKoji::start();
    let client = bot_client(&fake, kdc);

    fake.inject(
        "sslLogin",
        Injection::Fault {
            code: 1023,
            string: "GSSAPI authentication failed".to_owned(),
        },
    );
    let text = build_error(&client).to_string();
    assert!(
        text.contains("GSSAPIAuthError")
            && text.contains("check the keytab, the principal and the clock"),
        "{text}"
    );

    fake.inject("sslLogin", Injection::HttpStatus(401));
    let text = build_error(&client).to_string();
    assert!(
        text.contains("HTTP 401")
            && text.contains("did not accept the Kerberos ticket of bot@TEST.LOCAL"),
        "{text}"
    );

    fake.inject("sslLogin", Injection::ForgedMutualToken);
    let error = build_error(&client);
    assert_eq!(error.kind(), "kerberos");
    assert!(
        error
            .to_string()
            .contains("did not prove its Kerberos identity"),
        "{error}"
    );
    assert!(
        fake.calls_of("build").is_empty(),
        "no build without a trusted login"
    );

    // The hub is fine again: the next call logs in.
    runtime()
        .block_on(client.build(SRC, "rawhide", false))
        .expect("build");
}
