//! The status page on a phone: Debian's ChromeDriver drives Chromium with a phone's screen (390×844 CSS
//! pixels, the viewport meta tag honoured) and measures the laid-out page — nothing may stick out sideways
//! and the tables must turn into stacked cards with readable text.

use crate::support::process::{poll_until, spawn_dying_with_test_binary};
use serde_json::{Value, json};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMEDRIVER: &str = "chromedriver";
const PHONE_WIDTH: u64 = 390;

/// What the page looks like once laid out, read by a script in the page.
const MEASURE: &str = "
const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map(e => e.tagName + '.' + e.className);
const head = document.querySelector('thead');
return {
    viewport: window.innerWidth,
    scroll: document.documentElement.scrollWidth,
    wide: wide,
    thead: head ? getComputedStyle(head).display : null,
    font: parseFloat(getComputedStyle(document.body).fontSize),
    rows: document.querySelectorAll('tr.pipeline, tr.transition, tr.copr-build').length,
};";

/// A ChromeDriver with one phone-sized headless Chromium session.
pub struct Phone {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    _profile: tempfile::TempDir,
}

impl Phone {
    pub fn start() -> Phone {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let driver = spawn_dying_with_test_binary(command).unwrap_or_else(|e| {
            panic!(
                "cannot run `{CHROMEDRIVER}` ({e}): this test needs Debian's chromium-driver package \
                 (`apt-get install chromium-driver`; .ci/run installs it)"
            )
        });
        let profile = tempfile::tempdir().expect("profile dir");
        let mut phone = Phone {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            http: reqwest::Client::new(),
            runtime: crate::support::daemon::runtime(),
            _profile: profile,
        };
        let ready = poll_until(Duration::from_secs(30), || {
            phone
                .call(reqwest::Method::GET, "/status", None)
                .is_some_and(|status| status["value"]["ready"] == true)
        });
        assert!(ready, "chromedriver did not become ready on port {port}");
        let options = json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                format!("--user-data-dir={}", phone._profile.path().display()),
            ],
            "mobileEmulation": {
                "deviceMetrics": { "width": PHONE_WIDTH, "height": 844, "pixelRatio": 3.0, "touch": true }
            },
        });
        let created = phone
            .call(
                reqwest::Method::POST,
                "/session",
                Some(json!({ "capabilities": { "alwaysMatch": {
                    "browserName": "chrome", "goog:chromeOptions": options } } })),
            )
            .expect("a session");
        phone.session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created:#}"))
            .to_owned();
        phone
    }

    /// Opens `url` and measures its layout.
    pub fn measure(&self, url: &str) -> Value {
        let session = format!("/session/{}", self.session);
        self.call(
            reqwest::Method::POST,
            &format!("{session}/url"),
            Some(json!({ "url": url })),
        )
        .expect("navigate");
        let measured = self
            .call(
                reqwest::Method::POST,
                &format!("{session}/execute/sync"),
                Some(json!({ "script": MEASURE, "args": [] })),
            )
            .expect("measure");
        measured["value"].clone()
    }

    /// One WebDriver call; `None` when the driver is not reachable (yet).
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Option<Value> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = self.runtime.block_on(request.send()).ok()?;
        let bytes = self.runtime.block_on(response.bytes()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call(
                reqwest::Method::DELETE,
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Asserts that `url` fits a phone: no sideways scrolling, nothing laid out past the right edge, tables as
/// stacked cards (no header row), text at least 14 px, and `rows` rows shown.
pub fn assert_fits_a_phone(phone: &Phone, url: &str, rows: u64) {
    let page = phone.measure(url);
    assert_eq!(
        page["viewport"], PHONE_WIDTH,
        "not a phone's viewport: {page:#}"
    );
    assert!(
        page["scroll"].as_u64().is_some_and(|w| w <= PHONE_WIDTH),
        "{url} scrolls sideways on a phone: {page:#}"
    );
    assert_eq!(
        page["wide"],
        json!([]),
        "{url}: elements past the right edge: {page:#}"
    );
    assert_eq!(
        page["thead"], "none",
        "{url}: the table is not stacked: {page:#}"
    );
    assert!(
        page["font"].as_f64().is_some_and(|px| px >= 14.0),
        "{url}: text too small: {page:#}"
    );
    assert_eq!(page["rows"], rows, "{url}: {page:#}");
}
