//! The promises checked at the end, each failing with what it saw: one Koji build per relevant push (build
//! calls the fake hub recorded and processed, lost answers included), one Bodhi update per completed build
//! on a Bodhi-composed branch (and Bodhi's own for rawhide), every pipeline terminal and where its build's
//! fate says, every malformed message rejected and counted, every other message recorded once, the store's
//! size within its bound, and no daemon exit nobody asked for.

use crate::actor::Record;
use crate::support::fake_bodhi::FakeBodhi;
use crate::support::fake_koji::FakeKoji;
use crate::workload::{Build, Workload};
use fedflow::pipeline::{Pipeline, Stage, UpdateOrigin};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Offenders listed per failed check.
const LISTED: usize = 10;

/// What the checks look at.
pub struct Evidence<'a> {
    pub workload: &'a Workload,
    pub record: &'a Record,
    pub koji: &'a FakeKoji,
    pub bodhi: &'a FakeBodhi,
    /// `fedflow status --json` after the daemon stopped.
    pub status: &'a Value,
    /// Every pipeline in the store.
    pub pipelines: &'a [Pipeline],
    /// Distinct well-formed message ids published (the stream's and the harness's).
    pub expected_received: u64,
    /// Stream messages published twice under one id on purpose.
    pub deliberate_duplicates: u64,
    pub store_bound_bytes: u64,
    /// Exits nobody asked for, and how the final SIGTERM ended, as text.
    pub exits: Vec<String>,
    /// Why the drain did not finish, if it did not.
    pub drain_problem: Option<String>,
}

pub struct Failure {
    pub check: &'static str,
    pub detail: String,
}

/// The commit of a `git+…/rpms/NAME.git#COMMIT` source.
fn commit_of(source: &str) -> &str {
    source.rsplit_once('#').map_or("", |(_, commit)| commit)
}

fn listed<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    let more = items.len().saturating_sub(LISTED);
    let mut text = items
        .into_iter()
        .take(LISTED)
        .collect::<Vec<_>>()
        .join("\n    ");
    if more > 0 {
        text.push_str(&format!("\n    … and {more} more"));
    }
    format!("\n    {text}")
}

/// Each check by name; `None` when it holds, else what it saw.
type Check = fn(&Evidence<'_>) -> Option<String>;

const CHECKS: [(&str, Check); 9] = [
    ("drained before the deadline", |e| e.drain_problem.clone()),
    ("fedflow exits only when told", |e| {
        (!e.exits.is_empty()).then(|| listed(&e.exits))
    }),
    ("one Koji build per relevant push", koji_builds),
    ("one Bodhi update per completed build", bodhi_updates),
    ("no pipeline left in a non-terminal state", terminal),
    ("each pipeline ends as its build's fate says", outcomes),
    ("every malformed message rejected and counted", malformed),
    ("every other message recorded once", recorded),
    ("store size within its bound", store_size),
];

pub fn run(e: &Evidence<'_>) -> Vec<Failure> {
    CHECKS
        .iter()
        .filter_map(|(check, run)| run(e).map(|detail| Failure { check, detail }))
        .collect()
}

fn store_size(e: &Evidence<'_>) -> Option<String> {
    let size = e.status["store"]["size_bytes"].as_u64().unwrap_or(0);
    (size > e.store_bound_bytes).then(|| format!("{size} bytes > {} bytes", e.store_bound_bytes))
}

fn koji_builds(e: &Evidence<'_>) -> Option<String> {
    let mut calls: HashMap<String, usize> = HashMap::new();
    for call in e.koji.calls_of("build") {
        if call.chaos.is_none_or(|fault| fault.did_work()) {
            let source = call.params[0].as_str().unwrap_or_default();
            *calls.entry(commit_of(source).to_owned()).or_default() += 1;
        }
    }
    let mut tasks: HashMap<String, Vec<i64>> = HashMap::new();
    for task in e.koji.tasks().into_iter().filter(|t| t.method == "build") {
        let source = task.request.first().and_then(Value::as_str).unwrap_or("");
        tasks
            .entry(commit_of(source).to_owned())
            .or_default()
            .push(task.id);
    }
    let mut wrong = Vec::new();
    for build in &e.workload.builds {
        let (n_calls, n_tasks) = (
            calls.remove(&build.commit).unwrap_or(0),
            tasks.remove(&build.commit).map_or(0, |t| t.len()),
        );
        if n_calls != 1 || n_tasks != 1 {
            wrong.push(format!(
                "{} {} {}: {n_calls} processed build calls, {n_tasks} tasks",
                e.workload.packages[build.package], build.branch, build.commit
            ));
        }
    }
    for (commit, n) in calls {
        wrong.push(format!(
            "{n} build calls for commit {commit}, which no relevant push has"
        ));
    }
    wrong.extend(
        e.record
            .unexpected_tasks
            .iter()
            .map(|(id, source)| format!("task {id} of {source} was no push's first task")),
    );
    (!wrong.is_empty()).then(|| listed(wrong))
}

fn bodhi_updates(e: &Evidence<'_>) -> Option<String> {
    let mut by_nvr: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for update in e.bodhi.updates() {
        let alias = update["alias"].as_str().unwrap_or_default().to_owned();
        let user = update["user"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for build in update["builds"].as_array().into_iter().flatten() {
            let nvr = build["nvr"].as_str().unwrap_or_default().to_owned();
            by_nvr
                .entry(nvr)
                .or_default()
                .push((alias.clone(), user.clone()));
        }
    }
    let mut wrong = Vec::new();
    for build in &e.workload.builds {
        let updates = by_nvr.remove(&build.nvr).unwrap_or_default();
        let automatic = updates.iter().filter(|(_, user)| user == "bodhi").count();
        let created = updates.len() - automatic;
        let expected = (
            usize::from(build.wants_created_update()),
            usize::from(build.wants_automatic_update()),
        );
        if (created, automatic) != expected {
            wrong.push(format!(
                "{} ({:?} on {}): {created} created and {automatic} automatic updates, expected {} and {}: {updates:?}",
                build.nvr, build.outcome, build.branch, expected.0, expected.1
            ));
        }
    }
    for (nvr, updates) in by_nvr {
        wrong.push(format!(
            "updates for {nvr}, no build of a push: {updates:?}"
        ));
    }
    (!wrong.is_empty()).then(|| listed(wrong))
}

fn describe(pipeline: &Pipeline) -> String {
    let last: Vec<String> = pipeline
        .history
        .iter()
        .rev()
        .take(3)
        .map(|t| format!("{}: {}", t.state, t.note))
        .collect();
    format!(
        "#{} {} {} {}: {} (retry: {:?}) — last: {}",
        pipeline.id,
        pipeline.key.package,
        pipeline.key.branch,
        pipeline.key.commit,
        pipeline.stage.name(),
        pipeline.retry.as_ref().map(|r| (r.attempts, &r.last_error)),
        last.join(" ← ")
    )
}

fn terminal(e: &Evidence<'_>) -> Option<String> {
    let report = &e.status["pipelines"];
    let active: u64 = report["active_by_state"]
        .as_object()
        .map_or(0, |states| states.values().filter_map(Value::as_u64).sum());
    let inbox = report["inbox"].as_u64().unwrap_or(0);
    let open: Vec<String> = e
        .pipelines
        .iter()
        .filter(|p| !p.stage.is_terminal())
        .map(describe)
        .collect();
    (active > 0 || inbox > 0 || !open.is_empty()).then(|| {
        format!(
            "status: active {} ({}), inbox {inbox}; stored:{}",
            active,
            report["active_by_state"],
            listed(open)
        )
    })
}

/// Whether the final stage is the one the build's fate calls for.
fn fits(build: &Build, stage: &Stage) -> bool {
    match stage {
        Stage::Failed { task_id, .. } => !build.outcome.completes() && task_id.is_some(),
        Stage::Update { origin, .. } => match origin {
            UpdateOrigin::Automatic => build.wants_automatic_update(),
            UpdateOrigin::Created | UpdateOrigin::Adopted => build.wants_created_update(),
        },
        Stage::Built { update_pending, .. } => {
            !update_pending
                && build.outcome.completes()
                && !build.wants_created_update()
                && !build.wants_automatic_update()
        }
        _ => false,
    }
}

fn outcomes(e: &Evidence<'_>) -> Option<String> {
    let mut by_commit: HashMap<&str, Vec<&Pipeline>> = HashMap::new();
    for pipeline in e.pipelines {
        by_commit
            .entry(pipeline.key.commit.as_str())
            .or_default()
            .push(pipeline);
    }
    let mut wrong = Vec::new();
    for build in &e.workload.builds {
        let package = &e.workload.packages[build.package];
        match by_commit.remove(build.commit.as_str()).as_deref() {
            Some([pipeline])
                if pipeline.key.package == *package
                    && pipeline.key.branch == build.branch
                    && fits(build, &pipeline.stage) => {}
            Some(found) => wrong.push(format!(
                "{} ({:?}): {}",
                build.nvr,
                build.outcome,
                found
                    .iter()
                    .map(|p| describe(p))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            None => wrong.push(format!("{} ({:?}): no pipeline", build.nvr, build.outcome)),
        }
    }
    // The rest: pushes fedflow must not build (skipped), and someone else's completed builds of watched
    // packages (a pipeline of their own that gets no update).
    let others = e.workload.others_completed_commits();
    for pipeline in by_commit.into_values().flatten() {
        let fine = match &pipeline.stage {
            Stage::Skipped { .. } => !others.contains(&pipeline.key.commit),
            Stage::Built { update_pending, .. } => {
                !update_pending && others.contains(&pipeline.key.commit)
            }
            _ => false,
        };
        if !fine {
            wrong.push(format!(
                "neither a relevant push nor fedflow's build: {}",
                describe(pipeline)
            ));
        }
    }
    (!wrong.is_empty()).then(|| listed(wrong))
}

fn malformed(e: &Evidence<'_>) -> Option<String> {
    let messages = &e.status["messages"];
    let expected: BTreeMap<String, u64> = e
        .workload
        .malformed_by_reason()
        .into_iter()
        .map(|(reason, n)| (reason.to_owned(), n))
        .collect();
    let counted: BTreeMap<String, u64> = messages["rejected_by_reason"]
        .as_object()
        .map(|reasons| {
            reasons
                .iter()
                .map(|(reason, n)| (reason.clone(), n.as_u64().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect()
        })
        .unwrap_or_default();
    let total: u64 = expected.values().sum();
    let rejected = messages["rejected"].as_u64().unwrap_or(0);
    (counted != expected || rejected != total)
        .then(|| format!("published {total} {expected:?}; fedflow rejected {rejected} {counted:?}"))
}

fn recorded(e: &Evidence<'_>) -> Option<String> {
    let messages = &e.status["messages"];
    let received = messages["received"].as_u64().unwrap_or(0);
    let duplicates = messages["duplicates"].as_u64().unwrap_or(0);
    let mut wrong = Vec::new();
    if received != e.expected_received {
        wrong.push(format!(
            "received {received}, published {} distinct well-formed ids",
            e.expected_received
        ));
    }
    if duplicates < e.deliberate_duplicates {
        wrong.push(format!(
            "{duplicates} duplicates counted, but {} were published on purpose",
            e.deliberate_duplicates
        ));
    }
    (!wrong.is_empty()).then(|| wrong.join("; "))
}
