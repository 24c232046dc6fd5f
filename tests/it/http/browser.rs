//! The status page as a person sees it: Debian's headless Chromium loads it from a running daemon and the
//! rendered DOM must show each pipeline's package, state and links — and the hostile name as text, not markup;
//! then, driven by ChromeDriver on a phone-sized screen, the laid-out pages must fit it.

use super::phone::{Phone, assert_fits_a_phone};
use super::{HOSTILE_PACKAGE, Scene};
use std::process::Command;

const CHROMIUM: &str = "chromium";

/// The DOM after Chromium parsed and rendered `url` (phone-sized window).
fn rendered_dom(url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let output = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=390,844",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{CHROMIUM}` ({e}): this test needs Debian's chromium package \
                 (`apt-get install chromium`; .ci/run installs it)"
            )
        });
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 DOM")
}

/// The text inside the first element whose opening tag contains `marker`, up to `close` (`</td>`).
fn inner_text(html: &str, marker: &str, close: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {html}"));
    let rest = &html[start..];
    let body = &rest[rest.find('>').map_or(0, |i| i + 1)..];
    strip_tags(&body[..body.find(close).unwrap_or(body.len())])
}

#[test]
fn chromium_shows_each_pipeline_with_package_state_and_links() {
    let scene = Scene::start();
    let dom = rendered_dom(&scene.client.url("/"));
    assert!(
        !dom.contains("<script>alert"),
        "the hostile name became markup:\n{dom}"
    );
    let rows: Vec<&str> = dom.split("<tr class=\"pipeline\"").skip(1).collect();
    assert_eq!(rows.len(), 3, "{dom}");
    let cell = |row: &str, class: &str| inner_text(row, &format!("class=\"{class}"), "</td>");
    let foo_task = scene.pushed["stage"]["task_id"].as_i64().expect("task id");
    let pushed = rows[0];
    assert_eq!(cell(pushed, "package"), "foo");
    assert_eq!(cell(pushed, "branch"), "f43");
    assert_eq!(cell(pushed, "state"), "submitted");
    assert!(
        pushed.contains(&format!("taskinfo?taskID={foo_task}\">Koji task</a>")),
        "{pushed}"
    );
    assert!(pushed.contains("/rpms/foo/c/"), "{pushed}");

    let hostile = rows[1];
    assert_eq!(unescape(&cell(hostile, "package")), HOSTILE_PACKAGE);
    assert_eq!(cell(hostile, "state"), "failed");
    assert!(unescape(&cell(hostile, "problem")).contains("onerror=alert(1)> broke"));
    assert!(!hostile.contains("<img"), "{hostile}");

    let updated = rows[2];
    assert_eq!(cell(updated, "package"), "bar");
    assert_eq!(cell(updated, "state"), "update_testing");
    assert!(
        updated.contains("/updates/FEDORA-2026-0b1d\">Bodhi update</a>"),
        "{updated}"
    );

    // The filter form works by URL alone, without JavaScript.
    let filtered = rendered_dom(&scene.client.url("/?package=bar"));
    assert_eq!(
        filtered.matches("<tr class=\"pipeline\"").count(),
        1,
        "{filtered}"
    );
    let detail = rendered_dom(&scene.client.url(&format!("/pipelines/{}", scene.bar_id)));
    assert!(
        inner_text(&detail, "<h2", "</h2>").starts_with("bar f42"),
        "{detail}"
    );
    assert!(
        detail.contains("update FEDORA-2026-0b1d created"),
        "{detail}"
    );

    // On a phone, laid out for real: the list (with the hostile name's long word) and a pipeline's history.
    let phone = Phone::start();
    assert_fits_a_phone(&phone, &scene.client.url("/"), 3);
    assert_fits_a_phone(
        &phone,
        &scene.client.url(&format!("/pipelines/{}", scene.bar_id)),
        2,
    );
    drop(phone);
    scene.stop();
}

fn strip_tags(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.trim().to_owned()
}

/// Chromium serializes text with `&`, `<` and `>` escaped (and quotes as they are).
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
