//! One end-to-end setup for pipeline tests: the shared broker, a fake Koji hub (HTTPS, client certificate
//! login), a fake dist-git and a fake Bodhi, a fedflow instance configured against all of them, and
//! builders for the push and build-state messages the real services publish.

use super::amqp::{Publisher, connect_plain, unique_prefix};
use super::broker::shared;
use super::daemon::{Daemon, Instance, runtime};
use super::fake_bodhi::FakeBodhi;
use super::fake_distgit::FakeDistGit;
use super::fake_idp::FakeIdp;
use super::fake_koji::FakeKoji;
use super::process::poll_until;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// The account fedflow's client certificate logs in as on the fake hub.
pub const PUSHER: &str = "alice";

/// How the daemon under test logs in.
enum Login {
    /// Observe-only.
    None,
    /// Koji with the fake hub's client certificate; Bodhi (when asked) with a token file.
    Ssl,
    /// Koji and Bodhi with Kerberos.
    #[cfg(feature = "kerberos")]
    Kerberos {
        principal: String,
        keytab: std::path::PathBuf,
    },
}

/// The `[bodhi]` keys of a token-file login (none without `bodhi_keys`).
fn token_file_login(koji: &FakeKoji, idp: &FakeIdp, bodhi_keys: &str) -> String {
    if bodhi_keys.is_empty() {
        return String::new();
    }
    let dir = koji
        .client_cert_file()
        .parent()
        .map(std::path::Path::to_path_buf);
    let token_file = idp.write_token_file(&dir.unwrap_or_else(std::env::temp_dir));
    format!(
        "auth = \"refresh-token\"\ntoken_file = \"{}\"\noidc_issuer = \"{}\"\n{bodhi_keys}\n",
        token_file.display(),
        idp.issuer()
    )
}

pub struct PipelineEnv {
    pub koji: FakeKoji,
    pub distgit: FakeDistGit,
    pub bodhi: FakeBodhi,
    /// The identity provider that issues fedflow's Bodhi tokens (kept for the env's lifetime: dropping it
    /// stops the server).
    #[allow(dead_code)]
    pub idp: FakeIdp,
    pub instance: Instance,
    pub prefix: String,
    /// The configuration after the `[bus]` keys of the test: the fakes, the broker and the sections, for
    /// starting sibling instances against the same services.
    shared_config: String,
    runtime: tokio::runtime::Runtime,
    connection: lapin::Connection,
    publisher: Publisher,
}

impl PipelineEnv {
    /// `sections` is TOML appended to the configuration (`[[package]]` rules, overrides).
    pub fn new(sections: &str) -> PipelineEnv {
        Self::build("", "", sections, Login::Ssl)
    }

    /// `bus_keys` (e.g. `shard = "0/2"`) are added to the `[bus]` table of the instance.
    #[allow(dead_code)]
    pub fn with_bus(bus_keys: &str, sections: &str) -> PipelineEnv {
        let env = Self::build("", "", sections, Login::Ssl);
        env.instance
            .write_config(&format!("{bus_keys}\n{}", env.shared_config), "debug");
        env
    }

    /// Another instance, with its own state directory and queue, against the same broker prefix, fakes and
    /// sections; `bus_keys` are added to its `[bus]` table.
    #[allow(dead_code)]
    pub fn sibling(&self, bus_keys: &str) -> Instance {
        Instance::new(&format!("{bus_keys}\n{}", self.shared_config), &self.prefix)
    }

    /// Observe-only: no Koji credentials.
    pub fn observe_only(sections: &str) -> PipelineEnv {
        Self::build("", "", sections, Login::None)
    }

    /// `distgit_keys` are added to the `[distgit]` table (e.g. `honour_packit_yaml`).
    pub fn with_distgit(distgit_keys: &str, sections: &str) -> PipelineEnv {
        Self::build(distgit_keys, "", sections, Login::Ssl)
    }

    /// Koji login plus a Bodhi login (a token file the fake identity provider issued); `bodhi_keys` are
    /// added to the `[bodhi]` table.
    #[allow(dead_code)]
    pub fn with_bodhi_login(bodhi_keys: &str, sections: &str) -> PipelineEnv {
        Self::build("", bodhi_keys, sections, Login::Ssl)
    }

    /// Both: `[distgit]` keys and a Bodhi login.
    #[allow(dead_code)]
    pub fn with_distgit_and_bodhi_login(
        distgit_keys: &str,
        bodhi_keys: &str,
        sections: &str,
    ) -> PipelineEnv {
        Self::build(distgit_keys, bodhi_keys, sections, Login::Ssl)
    }

    /// Koji and Bodhi both log in with Kerberos as `principal` (keys in `keytab`): the hub is reached by
    /// name and the IdP verifies tickets against the private KDC ([`super::kdc::shared`] must be running).
    /// `bodhi_keys` are added to the `[bodhi]` table.
    #[cfg(feature = "kerberos")]
    pub fn with_kerberos(
        principal: &str,
        keytab: &std::path::Path,
        bodhi_keys: &str,
        sections: &str,
    ) -> PipelineEnv {
        Self::build(
            "",
            bodhi_keys,
            sections,
            Login::Kerberos {
                principal: principal.to_owned(),
                keytab: keytab.to_owned(),
            },
        )
    }

    fn build(distgit_keys: &str, bodhi_keys: &str, sections: &str, login: Login) -> PipelineEnv {
        let koji = FakeKoji::start();
        let distgit = FakeDistGit::start();
        let idp = match &login {
            #[cfg(feature = "kerberos")]
            Login::Kerberos { .. } => FakeIdp::start_kerberos(true),
            _ => FakeIdp::start(),
        };
        let bodhi = FakeBodhi::start_with_idp(&idp);
        bodhi.set_releases(super::fake_bodhi::realistic_releases());
        let prefix = unique_prefix();
        let (hub, auth, bodhi_login) = match login {
            Login::None => (
                koji.hub_url(),
                "auth = \"none\"\n".to_owned(),
                String::new(),
            ),
            Login::Ssl => (
                koji.hub_url(),
                format!(
                    "auth = \"ssl\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
                    koji.client_cert_file().display(),
                    koji.client_key_file().display()
                ),
                token_file_login(&koji, &idp, bodhi_keys),
            ),
            #[cfg(feature = "kerberos")]
            Login::Kerberos { principal, keytab } => (
                koji.hub_url_by_name(),
                format!(
                    "auth = \"kerberos\"\nprincipal = \"{principal}\"\nkeytab = \"{}\"\n",
                    keytab.display()
                ),
                format!(
                    "auth = \"kerberos\"\noidc_issuer = \"{}\"\n{bodhi_keys}\n",
                    idp.issuer()
                ),
            ),
        };
        let config = format!(
            "url = \"{url}\"\ntopics = [\"pagure.git.receive\", \"buildsys.build.state.change\", \"buildsys.tag\", \"bodhi.update.#\"]\n\n\
             [koji]\nhub = \"{hub}\"\nca_file = \"{ca}\"\n{auth}timeout_seconds = 2\nretry_max_seconds = 2\n\n\
             [distgit]\nurl = \"{distgit}\"\n{distgit_keys}\n\n[bodhi]\nurl = \"{bodhi}\"\n{bodhi_login}\n\
             [reconcile]\nafter_minutes = 0\ninterval_seconds = 1\n\n{sections}",
            url = shared().plain_url(),
            ca = koji.ca_file().display(),
            distgit = distgit.base_url(),
            bodhi = bodhi.base_url(),
        );
        let instance = Instance::new(&config, &prefix);
        let shared_config = config;
        let runtime = runtime();
        let connection = runtime.block_on(connect_plain(&shared().plain_url()));
        let publisher = runtime.block_on(Publisher::new(&connection));
        PipelineEnv {
            koji,
            distgit,
            bodhi,
            idp,
            instance,
            prefix,
            shared_config,
            runtime,
            connection,
            publisher,
        }
    }

    pub fn start(&self) -> Daemon {
        let daemon = self.instance.start();
        self.instance.wait_connected();
        daemon
    }

    /// Publishes a message body under this test's topic prefix; returns its message id.
    pub fn publish(&self, topic: &str, body: &Value) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.publish_with_id(topic, body, &id);
        id
    }

    pub fn publish_with_id(&self, topic: &str, body: &Value, id: &str) {
        let mut headers = Map::new();
        headers.insert("fedora_messaging_severity".into(), json!(20));
        headers.insert("sent-at".into(), json!("2026-11-20T10:00:00+00:00"));
        let routing_key = format!("{}.{topic}", self.prefix);
        let body = serde_json::to_vec(body).expect("body");
        self.runtime.block_on(
            self.publisher
                .publish(&routing_key, Some(id), &headers, &body),
        );
    }

    /// `fedflow pipelines --json` (all of them).
    pub fn pipelines(&self) -> Vec<Value> {
        pipelines_of(&self.instance)
    }

    /// Polls `fedflow pipelines` until one pipeline of `package` is in `state`.
    pub fn wait_pipeline(
        &self,
        package: &str,
        branch: &str,
        state: &str,
        timeout: Duration,
    ) -> Value {
        let mut last = Vec::new();
        let found = poll_until(timeout, || {
            last = self.pipelines();
            last.iter()
                .any(|p| matches_pipeline(p, package, branch, state))
        });
        assert!(
            found,
            "no {package} {branch} pipeline reached {state} within {timeout:?}; pipelines: {:#}\n--- log ---\n{}",
            Value::Array(last.clone()),
            super::daemon::tail(&self.instance.log_path())
        );
        last.into_iter()
            .find(|p| matches_pipeline(p, package, branch, state))
            .unwrap_or(Value::Null)
    }

    pub fn close(self) {
        let _ = self
            .runtime
            .block_on(self.connection.close(200, "done".into()));
    }
}

/// `fedflow pipelines --json` of `instance` (all of them).
pub fn pipelines_of(instance: &Instance) -> Vec<Value> {
    let output = instance
        .command(&["pipelines", "--json", "--limit", "1000"])
        .output()
        .expect("run fedflow pipelines");
    assert!(
        output.status.success(),
        "fedflow pipelines failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    match serde_json::from_slice(&output.stdout).expect("pipelines JSON") {
        Value::Array(list) => list,
        other => panic!("expected a list, got {other}"),
    }
}

/// The notes of a pipeline's history (`fedflow pipelines --json`), joined with ` | `.
pub fn history_notes(pipeline: &Value) -> String {
    pipeline["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|t| t["note"].as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

fn matches_pipeline(p: &Value, package: &str, branch: &str, state: &str) -> bool {
    p["key"]["package"] == package && p["key"]["branch"] == branch && p["stage"]["state"] == state
}

/// A 40-hex commit id derived from `seed`.
pub fn commit(seed: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut out = String::new();
    let mut n = 0u64;
    while out.len() < 40 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (seed, n).hash(&mut hasher);
        out.push_str(&format!("{:016x}", hasher.finish()));
        n += 1;
    }
    out.truncate(40);
    out
}

/// A `pagure.git.receive` body shaped like the real one of the fixtures (rpms/packit, f39), for another
/// package, branch, commit and pusher; the `.spec` file changed.
pub fn push_body(package: &str, branch: &str, end_commit: &str, agent: &str) -> Value {
    let mut body = fixture_body("pagure.git.receive", |b| b["repo"]["name"] == "packit");
    body["agent"] = json!(agent);
    body["branch"] = json!(branch);
    body["end_commit"] = json!(end_commit);
    body["total_commits"] = json!(1);
    body["changed_files"] = json!({ format!("{package}.spec"): "M" });
    body["repo"]["name"] = json!(package);
    body["repo"]["fullname"] = json!(format!("rpms/{package}"));
    body["repo"]["url_path"] = json!(format!("rpms/{package}"));
    body["repo"]["full_url"] = json!(format!("https://src.fedoraproject.org/rpms/{package}"));
    if let Some(object) = body.as_object_mut() {
        object.remove("pull_request_id");
    }
    body
}

/// A push to `forks/<user>/rpms/<package>`.
pub fn fork_push_body(package: &str, branch: &str, end_commit: &str, user: &str) -> Value {
    let mut body = push_body(package, branch, end_commit, user);
    body["repo"]["fullname"] = json!(format!("forks/{user}/rpms/{package}"));
    body["repo"]["parent"] =
        json!({"name": package, "namespace": "rpms", "fullname": format!("rpms/{package}")});
    body
}

/// A build as the Koji messages describe it.
pub struct BuildMessage<'a> {
    pub nvr: (&'a str, &'a str, &'a str),
    pub build_id: i64,
    pub task_id: i64,
    pub source: &'a str,
    pub target: &'a str,
    pub owner: &'a str,
}

/// The body of the real `topic` fixture that `pick` chooses. The fixtures are read once per process: the
/// soak builds hundreds of thousands of bodies.
fn fixture_body(topic: &str, pick: impl Fn(&Value) -> bool) -> Value {
    static FIXTURES: std::sync::OnceLock<Vec<super::fixtures::FixtureMessage>> =
        std::sync::OnceLock::new();
    FIXTURES
        .get_or_init(super::fixtures::fixture_messages)
        .iter()
        .find(|m| m.topic == topic && pick(&m.body))
        .map(|m| m.body.clone())
        .unwrap_or_else(|| panic!("no such {topic} fixture"))
}

/// The fields Koji's build messages share: name, version, release, build id and owner.
fn describe_build(body: &mut Value, build: &BuildMessage<'_>) {
    let (name, version, release) = build.nvr;
    body["name"] = json!(name);
    body["version"] = json!(version);
    body["release"] = json!(release);
    body["build_id"] = json!(build.build_id);
    body["owner"] = json!(build.owner);
}

/// A `buildsys.build.state.change` body for `build` going from `old` to `new`, shaped like the fixture's.
pub fn build_state_body(build: &BuildMessage<'_>, old: Option<i64>, new: i64) -> Value {
    let mut body = fixture_body("buildsys.build.state.change", |b| b["name"] == "chromium");
    describe_build(&mut body, build);
    body["task_id"] = json!(build.task_id);
    body["request"] = json!([build.source, build.target, {}]);
    body["old"] = json!(old);
    body["new"] = json!(new);
    if let Some(object) = body.as_object_mut() {
        object.remove("task");
    }
    body
}

/// A `buildsys.tag` body for `build` tagged into `tag`, shaped like the real one of the fixtures.
#[allow(dead_code)]
pub fn tag_body(build: &BuildMessage<'_>, tag: &str, tag_id: i64) -> Value {
    let mut body = fixture_body("buildsys.tag", |b| b["name"] == "python-specfile");
    describe_build(&mut body, build);
    body["tag"] = json!(tag);
    body["tag_id"] = json!(tag_id);
    body["user"] = json!(build.owner);
    body
}

/// A `bodhi.update.<sub_topic>` body (`request.testing`, `complete.stable`, …) for an update of one build,
/// shaped like the real one of the fixtures.
#[allow(dead_code)]
pub fn bodhi_update_body(
    sub_topic: &str,
    alias: &str,
    nvr: &str,
    release: &str,
    status: &str,
) -> Value {
    let topic = format!("bodhi.update.{sub_topic}");
    let mut body = fixture_body(&topic, |_| true);
    body["update"]["alias"] = json!(alias);
    body["update"]["builds"] = json!([{ "nvr": nvr }]);
    body["update"]["release"]["name"] = json!(release);
    body["update"]["status"] = json!(status);
    body
}
