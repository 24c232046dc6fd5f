//! Soak with chaos (issue 6): the real `fedflow run` (debug build) against the test support's private
//! RabbitMQ node, fake Koji hub, fake Bodhi and fake dist-git, with thousands of watched packages and a
//! stream of messages in a realistic mix, while fedflow is SIGKILLed, the broker restarted and Koji and Bodhi
//! misbehave on a fifth of their calls. At the end it checks fedflow's promises and prints the figures.
//!
//! Not part of `cargo test` (`test = false` in Cargo.toml): `cargo test --locked --features kerberos --test
//! soak -- --quick` (CI, under 3 minutes) or without `--quick` for the full 5,000 packages and 200,000
//! messages; `--help` lists the flags. Parts: [`options`], [`plan`] and [`workload`] (drawn from the seed),
//! [`bodies`], [`publisher`], [`actor`] (the harness as Koji and Bodhi), [`supervisor`] (kills, broker
//! restarts, RSS), [`drive`] (the run), [`checks`], [`report`]. Exits 1 with the failed checks and where the
//! evidence was kept, 0 when every check holds.

// The whole integration-test support comes along; the soak uses part of it.
#[path = "../it/support/mod.rs"]
#[allow(dead_code, unused_imports)]
mod support;

mod actor;
mod bodies;
mod checks;
mod drive;
mod options;
mod plan;
mod publisher;
mod report;
mod supervisor;
mod workload;

use options::{Options, USAGE};
use publisher::Publisher;
use report::Figures;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};
use supervisor::Supervisor;
use support::broker::{PLAIN_URL_ENV, shared};
use support::chaos::ChaosSettings;
use support::pipeline_env::PipelineEnv;
use workload::{Item, Workload};

/// `[bodhi]` keys: a timeout like Koji's (2 s, so that a hang costs little), a tag wait a soak can live
/// with, and the automatic-update check right after the build (the harness makes Bodhi's update first).
const BODHI_KEYS: &str =
    "timeout_seconds = 2\ntag_wait_minutes = 10\nautomatic_update_check_minutes = 0";
/// How long a timeout or hang lasts: past both clients' 2 s timeout.
const STALL: Duration = Duration::from_secs(3);

/// The store may hold this much, plus [`STORE_BYTES_PER_MESSAGE`] for every message recorded.
const STORE_BASE_BYTES: u64 = 64 << 20;
const STORE_BYTES_PER_MESSAGE: u64 = 4 << 10;

fn main() {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(text) => {
            eprintln!("{text}");
            std::process::exit(if text == USAGE { 0 } else { 2 });
        }
    };
    std::process::exit(run(&options));
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

fn run(options: &Options) -> i32 {
    let started = Instant::now();
    eprintln!(
        "soak: seed {}, {} packages, {} messages; kills {}, broker restarts {}, faults {}\nrepeat with: {}",
        options.seed,
        options.packages,
        options.messages,
        on_off(options.kill),
        on_off(options.broker_restart),
        on_off(options.faults),
        options.command_line()
    );
    let workload = Workload::draw(options);
    if let Some(path) = &options.dump_stream {
        return dump_stream(&workload, path);
    }
    let env = PipelineEnv::with_bodhi_login(BODHI_KEYS, &workload.config_sections());
    env.koji
        .add_target("rawhide", "f45-build", "f45-updates-candidate");
    env.koji
        .add_target("f42-candidate", "f42-build", "f42-updates-candidate");
    // The releases' stable tags exist, as in Fedora (fedflow compares the changelog with their latest build).
    let baseline = env
        .koji
        .add_build("soak-baseline-1.0-1.fc42", "COMPLETE", None, "bob");
    for tag in ["f42-updates", "f43-updates"] {
        env.koji.tag_build(baseline, tag);
    }
    if options.faults {
        let settings = |salt: u64| ChaosSettings {
            rate: options.fault_rate,
            seed: options.seed ^ salt,
            stall: STALL,
        };
        env.koji.set_chaos(settings(1));
        env.bodhi.set_chaos(settings(2));
    }
    let external = std::env::var(PLAIN_URL_ENV).is_ok_and(|url| !url.is_empty());
    if external && options.broker_restart {
        eprintln!("soak: {PLAIN_URL_ENV} names another broker: no broker restarts");
    }
    let broker = (!external).then(|| shared().tls_node());
    let mut supervisor = Supervisor::start(&env.instance, broker, options);
    let connected = support::process::poll_until(Duration::from_secs(60), || {
        drive::status(&env.instance).is_some_and(|s| s["bus"]["state"]["state"] == "connected")
    });
    if !connected {
        eprintln!(
            "soak: fedflow did not connect within 60 s\n{}",
            support::daemon::tail(&env.instance.log_path())
        );
        return 1;
    }
    let publisher = Publisher::start(&shared().plain_url(), &env.prefix);
    let publishing_at = SystemTime::now();
    let outcome = drive::run(options, &workload, &env, &mut supervisor, &publisher);
    let stats = publisher.stats.clone();
    publisher.finish();

    let mut exits: Vec<String> = supervisor
        .unexpected_exits
        .iter()
        .map(|(at, status)| format!("at {:.1} s: {status}", at.as_secs_f64()))
        .collect();
    let final_exit = supervisor.stop();
    if !final_exit.success() {
        exits.push(format!("after SIGTERM: {final_exit}"));
    }
    let status = env.instance.status();
    let pipelines = {
        let store = fedflow::store::Store::open(&env.instance.state_dir())
            .expect("open the stopped daemon's store");
        store.pipelines(usize::MAX).expect("read every pipeline")
    };
    let (good, malformed, duplicates) = workload.counts();
    let recorded = good + outcome.harness_messages;
    let store_bound_bytes = STORE_BASE_BYTES + STORE_BYTES_PER_MESSAGE * recorded;
    let failures = checks::run(&checks::Evidence {
        workload: &workload,
        record: &outcome.record,
        koji: &env.koji,
        bodhi: &env.bodhi,
        status: &status,
        pipelines: &pipelines,
        expected_received: recorded,
        deliberate_duplicates: duplicates,
        store_bound_bytes,
        exits,
        drain_problem: outcome.drain_problem.clone(),
    });

    let mut faults = BTreeMap::new();
    for (service, injected) in [
        ("koji", env.koji.chaos_injected()),
        ("bodhi", env.bodhi.chaos_injected()),
    ] {
        for ((_, kind), n) in injected {
            *faults.entry(format!("{service} {kind}")).or_default() += n;
        }
    }
    let mut by_state = BTreeMap::new();
    for pipeline in &pipelines {
        *by_state
            .entry(pipeline.stage.name().to_owned())
            .or_default() += 1;
    }
    let (push_to_build, complete_to_update) =
        latencies(&workload, &outcome.record, &env, &stats, publishing_at);
    let figures = Figures {
        packages: options.packages,
        stream_messages: workload.stream.len() as u64,
        harness_messages: outcome.harness_messages,
        malformed,
        deliberate_duplicates: duplicates,
        resent: stats.resent.load(std::sync::atomic::Ordering::Relaxed),
        caught_up: outcome.caught_up,
        complete_to_update,
        peak_rss_kib: supervisor.peak_rss_kib,
        store_bytes: status["store"]["size_bytes"].as_u64().unwrap_or(0),
        store_bound_bytes,
        kills: supervisor.kills,
        broker_restarts: supervisor.broker_restarts,
        faults,
        absorbed: failures.is_empty(),
        duplicates_counted: status["messages"]["duplicates"].as_u64().unwrap_or(0),
        builds: push_to_build.len(),
        created_updates: env
            .bodhi
            .updates()
            .iter()
            .filter(|u| u["user"]["name"] != "bodhi")
            .count(),
        push_to_build,
        pipelines_by_state: by_state,
        wall: started.elapsed(),
    };
    println!("\n{}", figures.table());
    let code = if failures.is_empty() {
        println!("soak: every check holds (seed {})", options.seed);
        0
    } else {
        for failure in &failures {
            println!("FAILED: {}: {}", failure.check, failure.detail);
        }
        1
    };
    if code != 0 || options.keep {
        keep_evidence(options, &env, &status);
    }
    env.close();
    code
}

/// Push → processed build call, and build complete → update created, per build.
fn latencies(
    workload: &Workload,
    record: &actor::Record,
    env: &PipelineEnv,
    stats: &publisher::Stats,
    fallback: SystemTime,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut push_ids: HashMap<usize, &str> = HashMap::new();
    for planned in &workload.stream {
        if let Item::RelevantPush(build) = planned.item {
            push_ids.entry(build).or_insert(&planned.id);
        }
    }
    let mut calls: HashMap<String, SystemTime> = HashMap::new();
    for call in env.koji.calls_of("build") {
        if call.chaos.is_none_or(|fault| fault.did_work()) {
            let source = call.params[0].as_str().unwrap_or_default();
            let commit = source.rsplit_once('#').map_or("", |(_, c)| c).to_owned();
            calls.entry(commit).or_insert(call.at);
        }
    }
    let since = |later: SystemTime, earlier: SystemTime| later.duration_since(earlier).ok();
    let push_to_build = workload
        .builds
        .iter()
        .enumerate()
        .filter_map(|(index, build)| {
            let sent = push_ids
                .get(&index)
                .and_then(|id| stats.sent_at(id))
                .unwrap_or(fallback);
            since(*calls.get(&build.commit)?, sent)
        })
        .collect();
    let created = env.bodhi.created_at();
    let mut alias_of: HashMap<String, String> = HashMap::new();
    for update in env.bodhi.updates() {
        if let (Some(alias), Some(nvr)) = (
            update["alias"].as_str(),
            update["builds"][0]["nvr"].as_str(),
        ) && created.contains_key(alias)
        {
            alias_of.insert(nvr.to_owned(), alias.to_owned());
        }
    }
    let complete_to_update = record
        .completed_at
        .iter()
        .filter_map(|(build, completed)| {
            let alias = alias_of.get(&workload.builds[*build].nvr)?;
            since(*created.get(alias)?, *completed)
        })
        .collect();
    (push_to_build, complete_to_update)
}

/// Copies the instance's directory (configuration, store, daemon log) where it outlives the run, and shows
/// the log's warnings.
fn keep_evidence(options: &Options, env: &PipelineEnv, status: &Value) {
    let kept = std::env::temp_dir().join(format!(
        "fedflow-soak-seed-{}-{}",
        options.seed,
        std::process::id()
    ));
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(env.instance.dir.path())
        .arg(&kept)
        .status()
        .is_ok_and(|s| s.success());
    let log = env.instance.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .collect();
    println!(
        "\nseed {} — repeat with: {}\nfinal status: {}\nlast warnings and errors of the daemon log ({} in all):\n{}",
        options.seed,
        options.command_line(),
        serde_json::to_string(status).unwrap_or_default(),
        warnings.len(),
        warnings[warnings.len().saturating_sub(30)..].join("\n")
    );
    if copied {
        println!(
            "evidence kept in {} (fedflow.toml, state/, fedflow.log)",
            kept.display()
        );
    }
}

/// The stream as `fedora-messaging record` writes it (one JSON object per line), without the malformed
/// bodies, which that format cannot carry.
fn dump_stream(workload: &Workload, path: &std::path::Path) -> i32 {
    let mut text = String::new();
    for planned in &workload.stream {
        let message = bodies::render(workload, &planned.item);
        let Ok(body) = serde_json::from_slice::<Value>(&message.body) else {
            continue;
        };
        let line = serde_json::json!({
            "topic": format!("org.fedoraproject.prod.{}", message.topic),
            "id": planned.id,
            "headers": {"fedora_messaging_severity": 20},
            "body": body,
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    match std::fs::write(path, text) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("soak: cannot write {}: {e}", path.display());
            1
        }
    }
}
