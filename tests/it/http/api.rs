//! The JSON API and the HTML routes: what they answer, their filters, 404s and the read-only rule.

use super::{HOSTILE_PACKAGE, Scene};
use reqwest::Method;
use serde_json::Value;

fn packages(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a list: {list:#}"))
        .iter()
        .map(|p| p["key"]["package"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_api_and_pages_show_the_daemons_pipelines_and_refuse_writes() {
    let scene = Scene::start();
    let client = &scene.client;

    // /api/v1/status is the report `fedflow status --json` prints.
    let status = client.get("/api/v1/status");
    assert_eq!(status.status, 200, "{}", status.body);
    assert!(status.content_type.starts_with("application/json"));
    let status = status.json();
    let cli = scene.env.instance.status();
    assert_eq!(status["daemon"]["pid"], cli["daemon"]["pid"]);
    assert_eq!(status["bus"]["queue"], cli["bus"]["queue"]);
    assert_eq!(status["bus"]["state"]["state"], "connected");
    assert_eq!(status["pipelines"]["total"], 3);
    assert_eq!(status["http"], cli["http"]);

    // All pipelines, newest first, with their links.
    let all = client.get("/api/v1/pipelines").json();
    assert_eq!(packages(&all), vec!["foo", HOSTILE_PACKAGE, "bar"]);
    let pushed = &all[0];
    assert_eq!(pushed["id"], scene.pushed["id"]);
    assert_eq!(pushed["stage"]["state"], "submitted");
    let task_id = pushed["stage"]["task_id"].as_i64().expect("a task id");
    assert!(
        pushed["links"]["koji_task"]
            .as_str()
            .is_some_and(|url| url.ends_with(&format!("/taskinfo?taskID={task_id}"))),
        "{pushed:#}"
    );
    let commit = pushed["key"]["commit"].as_str().unwrap_or_default();
    assert_eq!(
        pushed["links"]["commit"],
        format!(
            "{}/rpms/foo/c/{commit}",
            scene.env.distgit.base_url().trim_end_matches('/')
        )
    );
    assert!(
        all[2]["links"]["bodhi_update"]
            .as_str()
            .is_some_and(|url| url.ends_with("/updates/FEDORA-2026-0b1d"))
    );

    // Filters, alone and together, and the limit.
    assert_eq!(
        packages(&client.get("/api/v1/pipelines?package=foo").json()),
        vec!["foo"]
    );
    assert_eq!(
        packages(&client.get("/api/v1/pipelines?branch=f42").json()),
        vec!["bar"]
    );
    assert_eq!(
        packages(&client.get("/api/v1/pipelines?state=update_testing").json()),
        vec!["bar"]
    );
    assert_eq!(
        packages(
            &client
                .get("/api/v1/pipelines?package=foo&branch=f42")
                .json()
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        packages(
            &client
                .get("/api/v1/pipelines?package=&branch=&state=&limit=2")
                .json()
        ),
        vec!["foo", HOSTILE_PACKAGE],
        "empty form fields mean any"
    );
    for bad in [
        "/api/v1/pipelines?limit=0",
        "/api/v1/pipelines?limit=many",
        "/api/v1/pipelines?colour=red",
    ] {
        let reply = client.get(bad);
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        assert_eq!(reply.json()["kind"], "bad_request", "{bad}");
    }

    // One pipeline, with its whole history; unknown ids are 404 with a JSON error.
    let one = client
        .get(&format!("/api/v1/pipelines/{}", scene.bar_id))
        .json();
    assert_eq!(one["key"]["package"], "bar");
    assert_eq!(one["history"].as_array().map(Vec::len), Some(2));
    assert_eq!(one["history"][1]["note"], "update FEDORA-2026-0b1d created");
    let missing = client.get("/api/v1/pipelines/99999");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"], "there is no pipeline 99999");
    assert_eq!(client.get("/api/v1/pipelines/x1").status, 400);

    // The page: one row per pipeline, links, reasons, everything from outside escaped.
    let page = client.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    let html = &page.body;
    assert!(html.contains("name=\"viewport\""));
    assert_eq!(html.matches("<tr class=\"pipeline\"").count(), 3, "{html}");
    assert!(html.contains(&format!("taskinfo?taskID={task_id}")));
    assert!(html.contains("/updates/FEDORA-2026-0b1d"));
    assert!(
        !html.contains("<script>") && !html.contains("<img"),
        "unescaped input in the page:\n{html}"
    );
    assert!(
        html.contains("&#60;script&#62;alert(&#34;pkg&#34;)&#60;/script&#62;&#38;amp;"),
        "{html}"
    );
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62; broke"),
        "{html}"
    );
    let filtered = client.get("/?package=foo&branch=&state=").body;
    assert_eq!(
        filtered.matches("<tr class=\"pipeline\"").count(),
        1,
        "{filtered}"
    );
    assert!(
        filtered.contains("value=\"foo\""),
        "the form keeps the filter"
    );
    let none = client.get("/?state=canceled").body;
    assert!(none.contains("No pipelines match these filters."), "{none}");

    let detail = client.get(&format!("/pipelines/{}", scene.hostile_id));
    assert_eq!(detail.status, 200);
    assert!(!detail.body.contains("<img"), "{}", detail.body);
    assert_eq!(detail.body.matches("<tr class=\"transition\"").count(), 2);
    let foo_page = client
        .get(&format!("/pipelines/{}", scene.pushed["id"]))
        .body;
    assert!(foo_page.contains("push by alice"), "{foo_page}");
    assert!(foo_page.contains("f43-candidate"), "{foo_page}");
    assert_eq!(client.get("/pipelines/424242").status, 404);

    // Read-only: HEAD works, every other method is refused, on known and unknown paths alike.
    assert_eq!(client.request(Method::HEAD, "/").status, 200);
    for (method, path) in [
        (Method::POST, "/"),
        (Method::POST, "/api/v1/pipelines"),
        (Method::PUT, "/api/v1/pipelines/1"),
        (Method::DELETE, "/metrics"),
        (Method::POST, "/healthz"),
        (Method::POST, "/no/such/route"),
    ] {
        assert_eq!(
            client.request(method.clone(), path).status,
            405,
            "{method} {path}"
        );
    }
    assert_eq!(client.get("/no/such/route").status, 404);
    scene.stop();
}
