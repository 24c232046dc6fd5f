//! The login behind write calls: which requests happen in which order, the token file rewritten after a
//! refresh, recovery from an expired token or session, and what happens when the IdP or Bodhi refuse for
//! good, with no token, cookie or CSRF token in errors, logs or `Debug` output.

use super::{Env, F43_CANDIDATE, NVR, new_update};
use crate::support::daemon::runtime;
use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex, OnceLock};

const DISCOVERY: &str = "idp GET /openidc/.well-known/openid-configuration";
const REFRESH: &str = "idp POST /openidc/Token";
const LOGIN: &str = "bodhi GET /oidc/login-token";
const CSRF: &str = "bodhi GET /csrf";
const POST: &str = "bodhi POST /updates/";

fn token_entry(env: &Env) -> Value {
    let file: Value =
        serde_json::from_slice(&std::fs::read(&env.token_file).expect("token file")).expect("json");
    file["tokens"][env.idp.issuer()].clone()
}

#[test]
fn a_valid_access_token_logs_in_without_the_idp_and_the_session_is_reused() {
    let env = Env::new();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    env.bodhi.tag_build("other-1-1.fc43", F43_CANDIDATE);
    let before = std::fs::read(&env.token_file).expect("token file");
    let client = env.client();
    let rt = runtime();
    rt.block_on(client.create_update(&new_update(NVR)))
        .expect("first");
    // A clone shares the session: no second login.
    rt.block_on(client.clone().create_update(&new_update("other-1-1.fc43")))
        .expect("second");
    assert_eq!(env.idp.journal(), [LOGIN, CSRF, POST, POST]);
    assert_eq!(env.idp.token_requests(), 0);
    assert_eq!(
        std::fs::read(&env.token_file).expect("token file"),
        before,
        "file untouched"
    );
}

#[test]
fn an_expired_access_token_is_refreshed_first_and_written_back_0600() {
    let env = Env::expired();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    let old = token_entry(&env);
    std::fs::set_permissions(&env.token_file, std::fs::Permissions::from_mode(0o644))
        .expect("chmod");

    runtime()
        .block_on(env.client().create_update(&new_update(NVR)))
        .expect("created");
    assert_eq!(env.idp.journal(), [DISCOVERY, REFRESH, LOGIN, CSRF, POST]);

    let new = token_entry(&env);
    for key in ["access_token", "refresh_token", "id_token"] {
        assert!(
            new[key].is_string() && new[key] != old[key],
            "{key} replaced: {new}"
        );
    }
    let now = fedflow::status::unix_now();
    let expires_at = new["expires_at"].as_u64().expect("expires_at");
    assert!(
        expires_at > now + 3000 && expires_at <= now + 3600,
        "{expires_at} vs {now}"
    );
    let mode = std::fs::metadata(&env.token_file)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let files: Vec<_> = std::fs::read_dir(env.token_file.parent().expect("dir"))
        .expect("read_dir")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .collect();
    assert_eq!(files, ["client.json"], "no temporary file left");
}

#[test]
fn bodhi_refusing_the_stored_token_gets_one_refresh_and_a_retry() {
    let env = Env::new();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    env.idp.expire_access_tokens();
    runtime()
        .block_on(env.client().create_update(&new_update(NVR)))
        .expect("created");
    assert_eq!(
        env.idp.journal(),
        [LOGIN, DISCOVERY, REFRESH, LOGIN, CSRF, POST]
    );
}

#[test]
fn an_expired_session_logs_in_once_more_and_succeeds() {
    let env = Env::new();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    env.bodhi.tag_build("other-1-1.fc43", F43_CANDIDATE);
    let client = env.client();
    let rt = runtime();
    rt.block_on(client.create_update(&new_update(NVR)))
        .expect("first");
    env.bodhi.expire_sessions();
    let created = rt
        .block_on(client.create_update(&new_update("other-1-1.fc43")))
        .expect("after re-login");
    assert_eq!(created.builds, ["other-1-1.fc43"]);
    assert_eq!(
        env.bodhi_journal(),
        [LOGIN, CSRF, POST, POST, LOGIN, CSRF, POST]
    );
    assert_eq!(env.bodhi.updates().len(), 2);
}

#[test]
fn a_csrf_mismatch_counts_as_an_expired_session() {
    let env = Env::new();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    let mismatch = br#"{"status": "error", "errors": [{"location": "body", "name": "csrf_token",
        "description": "CSRF tokens do not match.  This happens if you have the page open for a long time. Please reload the page and try to submit your data again. Make sure to save your input somewhere before reloading. "}]}"#;
    env.bodhi
        .reply_next("/updates/", 400, "application/json", mismatch);
    runtime()
        .block_on(env.client().create_update(&new_update(NVR)))
        .expect("created after re-login");
    assert_eq!(env.bodhi_journal(), [LOGIN, CSRF, POST, LOGIN, CSRF, POST]);
}

#[test]
fn a_session_refused_right_after_a_fresh_login_is_an_auth_error() {
    let env = Env::new();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    for _ in 0..2 {
        env.bodhi.reply_next(
            "/updates/",
            401,
            "text/html",
            b"<html>401 Unauthorized</html>",
        );
    }
    let err = runtime()
        .block_on(env.client().create_update(&new_update(NVR)))
        .expect_err("refused twice");
    assert!(err.is_auth() && !err.is_transient(), "{err}");
    assert_eq!(err.kind(), "auth");
    assert!(
        err.to_string()
            .contains(&env.token_file.display().to_string()),
        "{err}"
    );
    assert_eq!(env.bodhi_journal(), [LOGIN, CSRF, POST, LOGIN, CSRF, POST]);
}

#[test]
fn a_revoked_refresh_token_is_an_auth_error_naming_the_file_and_no_token() {
    let env = Env::expired();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    env.idp.revoke_refresh_tokens();
    let err = runtime()
        .block_on(env.client().create_update(&new_update(NVR)))
        .expect_err("revoked");
    assert!(err.is_auth() && !err.is_transient(), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&env.token_file.display().to_string()),
        "{message}"
    );
    assert!(message.contains("invalid_grant"), "{message}");
    let debug = format!("{err:?}");
    for secret in env.idp.issued_secrets() {
        assert!(
            !message.contains(&secret) && !debug.contains(&secret),
            "{message}"
        );
    }
    assert!(
        env.bodhi.posts().is_empty(),
        "nothing posted without a login"
    );
    assert_eq!(env.bodhi_journal(), Vec::<String>::new());
}

#[test]
fn a_missing_token_file_is_an_auth_error() {
    let env = Env::new();
    std::fs::remove_file(&env.token_file).expect("remove");
    let err = runtime()
        .block_on(env.client().create_update(&new_update(NVR)))
        .expect_err("no file");
    assert!(err.is_auth(), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn an_unreachable_idp_is_transient() {
    let env = Env::expired();
    env.idp.reply_next(
        "/openidc/Token",
        503,
        "text/html",
        b"<html>Service Unavailable</html>",
    );
    let err = runtime()
        .block_on(env.client().create_update(&new_update(NVR)))
        .expect_err("503");
    assert_eq!(
        (err.kind(), err.is_transient(), err.is_auth()),
        ("idp_unavailable", true, false)
    );
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// fedflow's log lines from every thread of this test binary, from the first call on. A global
/// subscriber, because tracing caches per call site whether anyone listens: with only a thread-scoped
/// one, a line first logged by a concurrent test stays disabled.
fn captured_logs() -> String {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    let captured = CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("fedflow=trace"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        captured
    });
    String::from_utf8_lossy(&captured.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

#[test]
fn no_token_cookie_or_csrf_token_reaches_logs_errors_or_debug_output() {
    captured_logs();
    let env = Env::expired();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    let client = env.client();
    let rt = runtime();
    rt.block_on(client.create_update(&new_update(NVR)))
        .expect("created");
    let session_secrets = env.bodhi.session_secrets();
    assert_eq!(session_secrets.len(), 3, "auth_tkt, session id, CSRF token");
    let debug_while_logged_in = format!("{client:?}");
    assert!(
        debug_while_logged_in.contains("auth_tkt"),
        "cookie names only: {debug_while_logged_in}"
    );
    env.bodhi.expire_sessions();
    env.idp.expire_access_tokens();
    env.idp.revoke_refresh_tokens();
    let refused = rt
        .block_on(client.create_update(&new_update("other-1-1.fc43")))
        .expect_err("refresh refused");
    assert!(refused.is_auth(), "{refused}");

    let logs = captured_logs();
    let ours = |needle: &str, unique: &str| {
        logs.lines()
            .any(|line| line.contains(needle) && line.contains(unique))
    };
    let token_file = env.token_file.display().to_string();
    assert!(
        ours("refreshed the OIDC access token", &token_file),
        "{logs}"
    );
    assert!(ours("logged in to Bodhi", env.bodhi.base_url()), "{logs}");
    assert!(ours("refused the session", env.bodhi.base_url()), "{logs}");
    let visible = format!("{logs}\n{refused}\n{refused:?}\n{debug_while_logged_in}");
    let mut secrets = env.idp.issued_secrets();
    secrets.extend(session_secrets);
    for secret in secrets {
        assert!(
            !visible.contains(&secret),
            "a secret leaked into:\n{visible}"
        );
    }
}
