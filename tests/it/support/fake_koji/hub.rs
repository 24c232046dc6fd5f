//! The fake hub's state and method semantics: targets, tasks and builds, and the subset of
//! `RootExports` fedflow calls (sessions are in `sessions.rs`, tags in `tags.rs`, RPMs and their
//! headers in `rpms.rs`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::SystemTime;

use serde_json::{Map, Value as Json, json};

use super::rpms::Rpms;
use super::sessions::{Auth, SessionRow};
use super::tags::Tagging;
use super::{FakeBuild, FakeTask, Injection, RecordedCall};
use crate::support::chaos::Chaos;

pub const GENERIC_ERROR: i64 = 1000;
pub const AUTH_ERROR: i64 = 1002;
pub const ACTION_NOT_ALLOWED: i64 = 1004;
pub const AUTH_EXPIRED: i64 = 1007;
pub const SEQUENCE_ERROR: i64 = 1008;
pub const RETRY_ERROR: i64 = 1009;
pub const PARAMETER_ERROR: i64 = 1019;

pub type Fault = (i64, String);

/// What the TLS layer learned about the client, like mod_ssl's `SSL_CLIENT_VERIFY`/`SSL_CLIENT_S_DN_CN`.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// `SUCCESS`, `NONE`, or `FAILED:<reason>`.
    pub verify: String,
    pub common_name: Option<String>,
}

/// One parsed request.
pub struct Call {
    pub path: String,
    pub method: String,
    pub args: Vec<Json>,
    pub kwargs: Map<String, Json>,
    pub session_id: Option<String>,
    pub session_key: Option<String>,
    pub callnum: Option<String>,
    pub client: ClientIdentity,
    /// The principal a verified `Negotiate` header named (mod_auth_gssapi's `REMOTE_USER`).
    pub remote_user: Option<String>,
}

impl Call {
    /// A parameter given positionally at `index` or by keyword `name`, as the hub's `decode_args` maps it.
    pub(super) fn arg(&self, index: usize, name: &str) -> Option<&Json> {
        self.kwargs.get(name).or_else(|| self.args.get(index))
    }

    pub(super) fn reject_unknown_kwargs(&self, known: &[&str]) -> Result<(), Fault> {
        match self
            .kwargs
            .keys()
            .find(|key| !known.contains(&key.as_str()))
        {
            Some(key) => Err(fault(
                PARAMETER_ERROR,
                format!(
                    "fake hub: {} does not support the argument {key}",
                    self.method
                ),
            )),
            None => Ok(()),
        }
    }
}

pub fn fault(code: i64, string: impl Into<String>) -> Fault {
    (code, string.into())
}

pub struct Target {
    pub id: i64,
    pub build_tag: String,
    pub dest_tag: String,
}

pub struct Hub {
    pub targets: BTreeMap<String, Target>,
    pub tasks: BTreeMap<i64, FakeTask>,
    pub builds: BTreeMap<i64, FakeBuild>,
    pub calls: Vec<RecordedCall>,
    pub injections: HashMap<String, VecDeque<Injection>>,
    /// Probabilistic faults for calls without a one-shot injection.
    pub chaos: Option<Chaos>,
    pub users: BTreeMap<String, i64>,
    pub tagging: Tagging,
    pub rpms: Rpms,
    pub(super) sessions: HashMap<i64, SessionRow>,
    pub next_task_id: i64,
    pub next_build_id: i64,
    pub(super) next_session_id: i64,
    next_target_id: i64,
    next_user_id: i64,
}

pub fn now_ts() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

impl Hub {
    pub fn new() -> Hub {
        let mut hub = Hub {
            targets: BTreeMap::new(),
            tasks: BTreeMap::new(),
            builds: BTreeMap::new(),
            calls: Vec::new(),
            injections: HashMap::new(),
            chaos: None,
            users: BTreeMap::new(),
            tagging: Tagging::new(),
            rpms: Rpms::new(),
            sessions: HashMap::new(),
            next_task_id: 120_000_001,
            next_build_id: 2_600_001,
            next_session_id: 50_000_001,
            next_target_id: 4001,
            next_user_id: 3001,
        };
        hub.add_target("rawhide", "f44-build", "f44");
        hub.add_target("f43-candidate", "f43-build", "f43-updates-candidate");
        hub
    }

    pub fn add_target(&mut self, name: &str, build_tag: &str, dest_tag: &str) {
        let id = self.next_target_id;
        self.next_target_id += 1;
        let target = Target {
            id,
            build_tag: build_tag.to_owned(),
            dest_tag: dest_tag.to_owned(),
        };
        self.targets.insert(name.to_owned(), target);
    }

    pub fn user_id(&mut self, name: &str) -> i64 {
        if let Some(id) = self.users.get(name) {
            return *id;
        }
        let id = self.next_user_id;
        self.next_user_id += 1;
        self.users.insert(name.to_owned(), id);
        id
    }

    pub fn expire_session(&mut self, session_id: Option<&str>) {
        let id = session_id.and_then(|id| id.parse::<i64>().ok());
        if let Some(row) = id.and_then(|id| self.sessions.get_mut(&id)) {
            row.expired = true;
        }
    }

    pub fn dispatch(&mut self, call: &Call) -> Result<Json, Fault> {
        let auth = self.authenticate(call)?;
        match call.method.as_str() {
            "sslLogin" => self.ssl_login(call, auth),
            "getBuildTarget" => self.get_build_target(call),
            "build" => self.build(call, auth),
            "getTaskInfo" => self.get_task_info(call),
            "getTaskResult" => self.get_task_result(call),
            "listBuilds" => self.list_builds(call),
            "listTasks" => self.list_tasks(call),
            "getBuild" => self.get_build(call),
            "listTags" => self.list_tags(call),
            "getLatestBuilds" => self.get_latest_builds(call),
            "listRPMs" => self.list_rpms(call),
            "getRPMHeaders" => self.get_rpm_headers(call),
            other => Err(fault(GENERIC_ERROR, format!("Invalid method: {other}"))),
        }
    }

    fn get_build_target(&self, call: &Call) -> Result<Json, Fault> {
        call.reject_unknown_kwargs(&["info", "event", "strict"])?;
        let found = match call.arg(0, "info") {
            Some(Json::String(name)) => self.targets.get_key_value(name.as_str()),
            Some(Json::Number(id)) => self.targets.iter().find(|(_, t)| Some(t.id) == id.as_i64()),
            _ => return Err(fault(PARAMETER_ERROR, "getBuildTarget needs a name or id")),
        };
        Ok(found.map_or(Json::Null, |(name, target)| {
            json!({
                "id": target.id, "name": name,
                "build_tag": target.id * 10, "build_tag_name": target.build_tag,
                "dest_tag": target.id * 10 + 1, "dest_tag_name": target.dest_tag,
            })
        }))
    }

    fn build(&mut self, call: &Call, auth: Auth) -> Result<Json, Fault> {
        call.reject_unknown_kwargs(&["src", "target", "opts", "priority", "channel"])?;
        let Auth::LoggedIn(user) = auth else {
            let text = "you must be logged in for this operation";
            return Err(fault(ACTION_NOT_ALLOWED, text));
        };
        let (Some(Json::String(src)), Some(Json::String(target))) =
            (call.arg(0, "src"), call.arg(1, "target"))
        else {
            return Err(fault(PARAMETER_ERROR, "build needs src and target strings"));
        };
        if !self.targets.contains_key(target.as_str()) {
            return Err(fault(
                GENERIC_ERROR,
                format!("No such build target: {target}"),
            ));
        }
        let opts = match call.arg(2, "opts") {
            None | Some(Json::Null) => json!({}),
            Some(opts @ Json::Object(_)) => opts.clone(),
            Some(other) => return Err(fault(PARAMETER_ERROR, format!("bad opts: {other}"))),
        };
        let id = self.next_task_id;
        self.next_task_id += 1;
        let owner_id = self.user_id(&user);
        let task = FakeTask {
            id,
            method: "build".to_owned(),
            state: 0,
            owner_id,
            owner_name: user,
            request: vec![
                Json::String(src.clone()),
                Json::String(target.clone()),
                opts,
            ],
            create_ts: now_ts(),
            completion_ts: None,
            failure: None,
        };
        self.tasks.insert(id, task);
        Ok(json!(id))
    }

    fn get_task_info(&self, call: &Call) -> Result<Json, Fault> {
        call.reject_unknown_kwargs(&["task_id", "request", "strict"])?;
        let with_request = call.arg(1, "request") == Some(&Json::Bool(true));
        let strict = call.arg(2, "strict") == Some(&Json::Bool(true));
        let one = |id: &Json| -> Result<Json, Fault> {
            let task = id.as_i64().and_then(|id| self.tasks.get(&id));
            match task {
                Some(task) => Ok(task.to_json(with_request, true)),
                None if strict => Err(fault(GENERIC_ERROR, format!("No such task: {id}"))),
                None => Ok(Json::Null),
            }
        };
        match call.arg(0, "task_id") {
            Some(Json::Array(ids)) => ids
                .iter()
                .map(one)
                .collect::<Result<_, _>>()
                .map(Json::Array),
            Some(id) => one(id),
            None => Err(fault(PARAMETER_ERROR, "getTaskInfo needs task_id")),
        }
    }

    fn get_task_result(&self, call: &Call) -> Result<Json, Fault> {
        call.reject_unknown_kwargs(&["taskId", "raise_fault"])?;
        let id = call.arg(0, "taskId").and_then(Json::as_i64).unwrap_or(-1);
        let task = self
            .tasks
            .get(&id)
            .ok_or_else(|| fault(GENERIC_ERROR, format!("No such task: {id}")))?;
        match (task.state, &task.failure) {
            (2, _) => Ok(Json::Null),
            (5, Some((code, string))) => Err(fault(*code, string.clone())),
            (5, None) => Err(fault(GENERIC_ERROR, format!("Task {id} failed"))),
            (3, _) => Err(fault(GENERIC_ERROR, format!("Task {id} is canceled"))),
            _ => Err(fault(GENERIC_ERROR, format!("Task {id} is currently open"))),
        }
    }

    fn list_builds(&self, call: &Call) -> Result<Json, Fault> {
        if !call.args.is_empty() {
            return Err(fault(
                PARAMETER_ERROR,
                "fake hub: listBuilds takes keyword args only",
            ));
        }
        call.reject_unknown_kwargs(&["taskID", "source", "state"])?;
        let task_id = call.kwargs.get("taskID").and_then(Json::as_i64);
        let source = call.kwargs.get("source").and_then(Json::as_str);
        let state = call.kwargs.get("state").and_then(Json::as_i64);
        let builds = self.builds.values().filter(|build| {
            task_id.is_none_or(|id| build.task_id == Some(id))
                && source.is_none_or(|glob| {
                    build
                        .source
                        .as_deref()
                        .is_some_and(|source| glob_match(glob, source))
                })
                && state.is_none_or(|state| build.state == state)
        });
        Ok(Json::Array(builds.map(FakeBuild::to_json).collect()))
    }

    fn list_tasks(&self, call: &Call) -> Result<Json, Fault> {
        call.reject_unknown_kwargs(&["opts", "queryOpts"])?;
        let empty = Map::new();
        let opts = match call.arg(0, "opts") {
            Some(Json::Object(opts)) => opts,
            None | Some(Json::Null) => &empty,
            Some(other) => return Err(fault(PARAMETER_ERROR, format!("bad opts: {other}"))),
        };
        let known = ["method", "state", "decode", "createdAfter", "owner"];
        if let Some(key) = opts.keys().find(|key| !known.contains(&key.as_str())) {
            return Err(fault(
                PARAMETER_ERROR,
                format!("fake hub: listTasks opt {key}"),
            ));
        }
        let method = opts.get("method").and_then(Json::as_str);
        let states: Option<Vec<i64>> = opts
            .get("state")
            .and_then(Json::as_array)
            .map(|states| states.iter().filter_map(Json::as_i64).collect());
        let after = opts.get("createdAfter").and_then(Json::as_f64);
        let owner = opts.get("owner").and_then(Json::as_i64);
        let decode = opts.get("decode") == Some(&Json::Bool(true));
        let tasks = self.tasks.values().filter(|task| {
            method.is_none_or(|method| task.method == method)
                && states
                    .as_ref()
                    .is_none_or(|states| states.contains(&task.state))
                && after.is_none_or(|after| task.create_ts > after)
                && owner.is_none_or(|owner| task.owner_id == owner)
        });
        Ok(Json::Array(
            tasks.map(|task| task.to_json(true, decode)).collect(),
        ))
    }

    fn get_build(&self, call: &Call) -> Result<Json, Fault> {
        call.reject_unknown_kwargs(&["buildInfo", "strict"])?;
        let build = match call.arg(0, "buildInfo") {
            Some(Json::String(nvr)) => self.builds.values().find(|build| build.nvr() == *nvr),
            Some(Json::Number(id)) => id.as_i64().and_then(|id| self.builds.get(&id)),
            _ => return Err(fault(PARAMETER_ERROR, "getBuild needs an NVR or id")),
        };
        Ok(build.map_or(Json::Null, FakeBuild::to_json))
    }
}

/// Koji turns a `source` glob into SQL `LIKE`: `*` is any run of characters, `?` one character.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let (glob, text): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    let (mut g, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some('*') => {
                backtrack = Some((g, t));
                g += 1;
            }
            Some(c) if *c == '?' || *c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    g = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|c| *c == '*')
}
