//! The HTTP surface of a running daemon: the JSON API, the status page (also as headless Chromium renders
//! it), `/healthz` and `/metrics`, against the real binary with real and seeded pipelines in its store.

mod api;
mod browser;
mod health;
mod metrics;
pub mod phone;

use crate::support::daemon::{Instance, runtime};
use crate::support::pipeline_env::{PUSHER, PipelineEnv, commit, push_body};
use fedflow::pipeline::Pipeline;
use fedflow::store::{Created, Store};
use serde_json::{Value, json};
use std::time::Duration;

/// Generous: the whole suite shares two cores in CI.
const WAIT: Duration = Duration::from_secs(60);

/// A package name no dist-git allows, as a hostile or broken store record could carry it.
pub const HOSTILE_PACKAGE: &str = "<script>alert(\"pkg\")</script>&amp;";
const HOSTILE_REASON: &str = "<img src=x onerror=alert(1)> broke";

/// The answer to one request.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A plain HTTP client for the daemon's status page.
pub struct Client {
    base: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// The page of the daemon `instance` runs, as `fedflow status` reports it.
    pub fn of(instance: &Instance) -> Client {
        let status = instance.status();
        let base = status["http"]
            .as_str()
            .unwrap_or_else(|| panic!("the status reports no status page: {status:#}"))
            .trim_end_matches('/')
            .to_owned();
        Client {
            base,
            http: reqwest::Client::new(),
            runtime: runtime(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> Reply {
        self.runtime.block_on(async {
            let response = self
                .http
                .request(method.clone(), self.url(path))
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = response.text().await.expect("body");
            Reply {
                status,
                content_type,
                body,
            }
        })
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request(reqwest::Method::GET, path)
    }
}

/// A pipeline record as the store keeps it, for seeding: `stage` is its stage's JSON.
fn seeded(package: &str, branch: &str, stage: Value, note: &str) -> Pipeline {
    let commit = commit(&format!("{package}-{branch}"));
    serde_json::from_value(json!({
        "id": 0,
        "key": { "package": package, "branch": branch, "commit": commit },
        "source_url": format!("git+https://src.example/rpms/{package}.git#{commit}"),
        "agent": PUSHER,
        "message_id": uuid::Uuid::new_v4().to_string(),
        "created_at": 1_700_000_000u64,
        "updated_at": 1_700_000_100u64,
        "stage": stage,
        "history": [
            { "at": 1_700_000_000u64, "state": "received", "note": format!("push by {PUSHER}") },
            { "at": 1_700_000_100u64, "state": stage["state"], "note": note },
        ],
    }))
    .expect("a pipeline record")
}

/// Writes pipelines into the store of a daemon that is not running yet; returns their ids.
fn seed(instance: &Instance, pipelines: Vec<Pipeline>) -> Vec<u64> {
    let store = Store::open(&instance.state_dir()).expect("open the store");
    let ids = pipelines
        .into_iter()
        .map(|pipeline| {
            match store.create_pipeline(&pipeline.key.clone(), None, |id| Pipeline {
                id,
                ..pipeline.clone()
            }) {
                Ok(Created::New(p)) => p.id,
                other => panic!("seeding: {other:?}"),
            }
        })
        .collect();
    runtime().block_on(store.flush()).expect("flush");
    ids
}

/// A daemon with three pipelines: `foo` built for real from a push (Koji task), `bar` seeded in a Bodhi
/// update, and a seeded failed pipeline with a hostile package name and reason.
pub struct Scene {
    pub env: PipelineEnv,
    pub daemon: crate::support::daemon::Daemon,
    pub client: Client,
    pub pushed: Value,
    pub bar_id: u64,
    pub hostile_id: u64,
}

impl Scene {
    pub fn start() -> Scene {
        let env = PipelineEnv::new(
            "[[package]]\nname = \"foo\"\n[package.koji_build]\nbranches = [\"f43\"]\nallowed_committers = [\"alice\"]\n",
        );
        let ids = seed(
            &env.instance,
            vec![
                seeded(
                    "bar",
                    "f42",
                    json!({ "state": "update", "alias": "FEDORA-2026-0b1d", "status": "testing",
                            "release": "F42", "origin": "created" }),
                    "update FEDORA-2026-0b1d created",
                ),
                seeded(
                    HOSTILE_PACKAGE,
                    "f43",
                    json!({ "state": "failed", "reason": HOSTILE_REASON }),
                    HOSTILE_REASON,
                ),
            ],
        );
        let daemon = env.start();
        env.publish(
            "pagure.git.receive",
            &push_body("foo", "f43", &commit("foo-http"), PUSHER),
        );
        let built_by_push = env.wait_pipeline("foo", "f43", "submitted", WAIT);
        let client = Client::of(&env.instance);
        Scene {
            client,
            daemon,
            pushed: built_by_push,
            bar_id: ids[0],
            hostile_id: ids[1],
            env,
        }
    }

    pub fn stop(mut self) {
        let (code, _) = self.daemon.stop();
        assert!(code.success(), "{code:?}");
        self.env.close();
    }
}
