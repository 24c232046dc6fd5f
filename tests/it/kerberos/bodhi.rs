//! Bodhi's Kerberos token source against the fake IdP in Kerberos mode: the authorization-code flow with a
//! verified `Negotiate` request, the tokens kept (and written 0600 when a file is configured), the refresh
//! token tried before a new Kerberos login, and a refusal that says whose ticket was refused.

use super::kdc;
use crate::support::daemon::runtime;
use crate::support::fake_bodhi::{FakeBodhi, realistic_releases};
use crate::support::fake_idp::{CLIENT_ID, FakeIdp, USER};
use crate::support::kdc::BOT;
use fedflow::bodhi::{BodhiAuth, BodhiClient, NewUpdate};
use fedflow::krb::Negotiator;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

const DISCOVERY: &str = "idp GET /openidc/.well-known/openid-configuration";
const AUTHORIZE: &str = "idp GET /openidc/Authorization";
const TOKEN: &str = "idp POST /openidc/Token";
const LOGIN: &str = "bodhi GET /oidc/login-token";
const CSRF: &str = "bodhi GET /csrf";
const POST: &str = "bodhi POST /updates/";
const CANDIDATE: &str = "f43-updates-candidate";

struct Env {
    idp: FakeIdp,
    bodhi: FakeBodhi,
    dir: tempfile::TempDir,
}

impl Env {
    fn new(out_of_band: bool) -> Env {
        let idp = FakeIdp::start_kerberos(out_of_band);
        let bodhi = FakeBodhi::start_with_idp(&idp);
        bodhi.set_releases(realistic_releases());
        for n in 1..=4 {
            bodhi.tag_build(&nvr(n), CANDIDATE);
        }
        Env {
            idp,
            bodhi,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn token_file(&self) -> PathBuf {
        self.dir.path().join("bodhi-tokens.json")
    }

    fn client(&self, token_file: Option<PathBuf>) -> BodhiClient {
        let kdc = kdc().expect("KDC");
        BodhiClient::new(self.bodhi.base_url(), Duration::from_secs(10))
            .expect("client")
            .with_auth(BodhiAuth::Kerberos {
                negotiator: Negotiator::new(BOT, &kdc.bot_keytab).expect("negotiator"),
                oidc_issuer: self.idp.issuer(),
                client_id: CLIENT_ID.to_owned(),
                token_file,
            })
    }

    /// The journal since the last call.
    fn journal_since(&self, seen: &mut usize) -> Vec<String> {
        let journal = self.idp.journal();
        let new = journal[*seen..].to_vec();
        *seen = journal.len();
        new
    }
}

fn nvr(n: u32) -> String {
    format!("fedflow-1.{n}-1.fc43")
}

fn create(
    client: &BodhiClient,
    n: u32,
) -> Result<fedflow::bodhi::Update, fedflow::bodhi::BodhiError> {
    let nvr = nvr(n);
    runtime().block_on(client.create_update(&NewUpdate::new(
        vec![nvr.clone()],
        "enhancement",
        &format!("Automatic update for {nvr}."),
    )))
}

#[test]
fn a_kerberos_login_creates_the_update_and_keeps_the_tokens_0600() {
    if kdc().is_none() {
        return;
    }
    let env = Env::new(true);
    let client = env.client(Some(env.token_file()));
    let created = create(&client, 1).expect("created");
    assert_eq!(created.user.as_deref(), Some(USER));
    let mut seen = 0;
    assert_eq!(
        env.journal_since(&mut seen),
        [DISCOVERY, AUTHORIZE, TOKEN, LOGIN, CSRF, POST]
    );

    let file = env.token_file();
    let mode = std::fs::metadata(&file)
        .expect("token file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    let entry = &stored["tokens"][env.idp.issuer()];
    let issued = env.idp.issued_secrets();
    for key in ["access_token", "refresh_token"] {
        let token = entry[key].as_str().unwrap_or_default();
        assert!(
            issued.iter().any(|secret| secret == token),
            "{key}: {entry:#}"
        );
    }

    // After a restart the stored access token is used: no IdP request at all.
    let restarted = env.client(Some(file));
    create(&restarted, 2).expect("created after a restart");
    assert_eq!(env.journal_since(&mut seen), [LOGIN, CSRF, POST]);
}

#[test]
fn expiry_refreshes_then_logs_in_again_and_a_refused_ticket_says_whose() {
    if kdc().is_none() {
        return;
    }
    let env = Env::new(true);
    let client = env.client(None);
    create(&client, 1).expect("first");
    let mut seen = 0;
    env.journal_since(&mut seen);

    // Session and access token expired: the refresh token is enough.
    env.bodhi.expire_sessions();
    env.idp.expire_access_tokens();
    create(&client, 2).expect("after a refresh");
    assert_eq!(
        env.journal_since(&mut seen),
        [POST, LOGIN, TOKEN, LOGIN, CSRF, POST]
    );

    // The refresh token is gone too: a new Kerberos login.
    env.bodhi.expire_sessions();
    env.idp.expire_access_tokens();
    env.idp.revoke_refresh_tokens();
    create(&client, 3).expect("after a new Kerberos login");
    assert_eq!(
        env.journal_since(&mut seen),
        [POST, LOGIN, TOKEN, AUTHORIZE, TOKEN, LOGIN, CSRF, POST]
    );

    // The IdP no longer knows the principal: one attempt, then a clear reason.
    env.idp.set_kerberos_accounts(&[]);
    env.bodhi.expire_sessions();
    env.idp.expire_access_tokens();
    env.idp.revoke_refresh_tokens();
    let error = create(&client, 4).expect_err("refused");
    assert!(error.is_auth() && !error.is_transient(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("did not accept the Kerberos ticket of bot@TEST.LOCAL")
            && text.contains(&env.idp.issuer()),
        "{text}"
    );
    for secret in env.idp.issued_secrets() {
        assert!(!text.contains(&secret) && !format!("{error:?}").contains(&secret));
    }
    assert_eq!(
        env.journal_since(&mut seen),
        [POST, LOGIN, TOKEN, AUTHORIZE]
    );
    assert_eq!(env.bodhi.updates().len(), 3);
    assert!(
        !env.token_file().exists(),
        "no token file configured, none written"
    );
}

#[test]
fn without_oob_the_code_comes_back_in_the_redirect() {
    if kdc().is_none() {
        return;
    }
    let env = Env::new(false);
    let created = create(&env.client(None), 1).expect("created");
    assert_eq!(created.builds, [nvr(1)]);
    let mut seen = 0;
    assert_eq!(
        env.journal_since(&mut seen),
        [DISCOVERY, AUTHORIZE, TOKEN, LOGIN, CSRF, POST]
    );
}
