//! The fakes' parts fedflow's client does not exercise yet: a form-encoded `POST /updates/` as
//! bodhi-client sends it, and the IdP's authorization-code flow behind `Negotiate` that the Kerberos
//! login will use.

use super::{Env, F43_CANDIDATE, NVR};
use crate::support::daemon::runtime;
use crate::support::fake_idp::{CLIENT_ID, USER};
use serde_json::{Value, json};

async fn text(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// `name=value` of the answer's `Set-Cookie`.
fn cookie_pair(response: &reqwest::Response) -> String {
    let header = response.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .expect("cookie");
    header.split(';').next().expect("pair").to_owned()
}

#[test]
fn a_form_post_like_bodhi_clients_creates_the_update() {
    let env = Env::new();
    env.bodhi.tag_build(NVR, F43_CANDIDATE);
    env.bodhi.tag_build("dep-1-1.fc43", F43_CANDIDATE);
    let file: Value =
        serde_json::from_slice(&std::fs::read(&env.token_file).expect("file")).expect("json");
    let access = file["tokens"][env.idp.issuer()]["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    let base = env.bodhi.base_url().to_owned();
    let http = reqwest::Client::new();
    let created: Value = runtime().block_on(async {
        let login = http
            .get(format!("{base}/oidc/login-token"))
            .bearer_auth(&access)
            .send()
            .await
            .expect("login");
        assert_eq!(login.status().as_u16(), 202);
        let ticket = cookie_pair(&login);
        let csrf = http
            .get(format!("{base}/csrf"))
            .header("Cookie", &ticket)
            .header("Accept", "application/json")
            .send()
            .await
            .expect("csrf");
        let session = cookie_pair(&csrf);
        let token: Value = serde_json::from_str(&text(csrf).await.1).expect("csrf json");
        let form = [
            ("builds", NVR),
            ("builds", "dep-1-1.fc43"),
            ("type", "bugfix"),
            ("notes", "Fixes things."),
            ("bugs", "123, 456"),
            ("autokarma", "False"),
            ("stable_karma", "2"),
            ("csrf_token", token["csrf_token"].as_str().expect("token")),
        ];
        let post = http
            .post(format!("{base}/updates/"))
            .header("Cookie", format!("{ticket}; {session}"))
            .form(&form)
            .send()
            .await
            .expect("post");
        let (status, body) = text(post).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("update")
    });
    assert_eq!(
        (
            &created["type"],
            &created["autokarma"],
            &created["stable_karma"]
        ),
        (&json!("bugfix"), &json!(false), &json!(2))
    );
    assert_eq!(created["builds"][1]["nvr"], json!("dep-1-1.fc43"));
    assert_eq!(created["bugs"][1]["bug_id"], json!(456));
    assert_eq!(created["user"]["name"], json!(USER));
    assert_eq!(env.bodhi.posts()[0]["builds"], json!([NVR, "dep-1-1.fc43"]));
}

#[test]
fn the_idp_issues_a_code_behind_negotiate_and_exchanges_it_once() {
    let env = Env::new();
    let issuer = env.idp.issuer();
    let http = reqwest::Client::new();
    runtime().block_on(async {
        let discovery = http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .expect("discovery");
        let discovery: Value = serde_json::from_str(&text(discovery).await.1).expect("json");
        let authorization = discovery["authorization_endpoint"]
            .as_str()
            .expect("endpoint");
        let token_endpoint = discovery["token_endpoint"].as_str().expect("endpoint");
        let redirect = "urn:ietf:wg:oauth:2.0:oob";
        let query = [
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", redirect),
            ("scope", "openid"),
            ("state", "s1"),
        ];
        let (status, _) = text(
            http.get(authorization)
                .query(&query)
                .send()
                .await
                .expect("get"),
        )
        .await;
        assert_eq!(status, 401, "no Kerberos, no code");
        let page = http
            .get(authorization)
            .query(&query)
            .header("Authorization", "Negotiate YIIfake")
            .send()
            .await
            .expect("negotiate");
        let (status, html) = text(page).await;
        assert_eq!(status, 200);
        let title = html
            .split("<title>")
            .nth(1)
            .and_then(|rest| rest.split("</title>").next())
            .expect("title");
        let code = title
            .strip_prefix("code=")
            .and_then(|rest| rest.strip_suffix("&state=s1"))
            .expect("code and state in the title");
        let exchange = |code: String| {
            let form = [
                ("grant_type", "authorization_code".to_owned()),
                ("code", code),
                ("redirect_uri", redirect.to_owned()),
                ("client_id", CLIENT_ID.to_owned()),
            ];
            http.post(token_endpoint).form(&form).send()
        };
        let (status, body) = text(exchange(code.to_owned()).await.expect("token")).await;
        assert_eq!(status, 200, "{body}");
        let tokens: Value = serde_json::from_str(&body).expect("tokens");
        assert!(tokens["access_token"].is_string() && tokens["refresh_token"].is_string());
        let (status, body) = text(exchange(code.to_owned()).await.expect("again")).await;
        assert_eq!(
            (status, body.contains("invalid_grant")),
            (400, true),
            "{body}"
        );
    });
}
