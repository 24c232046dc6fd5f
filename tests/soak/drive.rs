//! The run itself: the stream published from one thread as fast as the broker takes it, the harness acting
//! as Koji and Bodhi on another, and the main loop that watches fedflow's status, kills it and restarts the
//! broker until fedflow has caught up with the stream and the preset's chaos time has passed (or nothing is
//! left to do), and then
//! waits for the drain (Koji and Bodhi faults go on): every message consumed, every build ended, every
//! pipeline terminal — or the deadline.

use crate::actor::{Actor, Live, Record};
use crate::bodies::render;
use crate::options::Options;
use crate::publisher::Publisher;
use crate::supervisor::Supervisor;
use crate::support::daemon::Instance;
use crate::support::pipeline_env::PipelineEnv;
use crate::workload::{Item, Workload};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(250);
const STATUS_EVERY: Duration = Duration::from_secs(1);
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// What the run left for the checks and the figures.
pub struct Outcome {
    pub record: Record,
    /// Messages the harness published as Koji and Bodhi.
    pub harness_messages: u64,
    /// Distinct messages consumed when fedflow caught up with the stream, and when (since the first publish).
    pub caught_up: Option<(u64, Duration)>,
    /// Why the run did not drain, if it did not.
    pub drain_problem: Option<String>,
}

/// The running daemon's status report (what `fedflow status --json` prints), asked over its control socket
/// as `fedflow status` does — without starting a process (and loading thousands of package rules) every
/// second. `None` while no daemon answers (killed, starting).
pub fn status(instance: &Instance) -> Option<Value> {
    use std::io::{Read, Write};
    let socket = fedflow::daemon::control::socket_path(&instance.state_dir());
    let mut stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(b"status\n").ok()?;
    stream.shutdown(std::net::Shutdown::Write).ok()?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).ok()?;
    serde_json::from_slice::<Value>(&reply)
        .ok()
        .filter(|report| report.get("error").is_none())
}

fn count(status: &Value, key: &str) -> u64 {
    status["messages"][key].as_u64().unwrap_or(0)
}

/// Pipelines not yet terminal and work items not yet applied.
fn open_work(status: &Value) -> u64 {
    let pipelines = &status["pipelines"];
    let active: u64 = pipelines["active_by_state"]
        .as_object()
        .map_or(0, |states| states.values().filter_map(Value::as_u64).sum());
    active + pipelines["inbox"].as_u64().unwrap_or(0)
}

pub fn run(
    options: &Options,
    workload: &Workload,
    env: &PipelineEnv,
    supervisor: &mut Supervisor<'_>,
    publisher: &Publisher,
) -> Outcome {
    let (good, bad, _) = workload.counts();
    let stream_distinct = good + bad;
    let (generated, stop) = (AtomicBool::new(false), AtomicBool::new(false));
    let live = Live::default();
    let started = Instant::now();
    std::thread::scope(|scope| {
        let handle = publisher.handle();
        scope.spawn(|| {
            let handle = handle;
            for planned in &workload.stream {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let message = render(workload, &planned.item);
                let tracked = matches!(planned.item, Item::RelevantPush(_));
                handle.send(&message.topic, planned.id.clone(), message.body, tracked);
            }
            generated.store(true, Ordering::SeqCst);
        });
        let actor = Actor::new(
            workload,
            &env.koji,
            &env.bodhi,
            publisher.handle(),
            &live,
            options.seed,
        );
        let acting = scope.spawn(|| actor.run(&stop));

        let catch_up_deadline = started + options.catch_up_deadline;
        let mut caught_up: Option<(u64, Duration)> = None;
        let mut drain_deadline = None;
        let mut drain_problem = None;
        let mut quiet_polls = 0;
        let (mut last_status, mut last_poll, mut last_progress) = (Value::Null, None, started);
        let (mut chaos, mut idle) = (true, false);
        loop {
            // Kills and broker restarts stop at the preset's time, or earlier once nothing is left to disturb.
            if chaos && caught_up.is_some() && (idle || started.elapsed() >= options.chaos_min) {
                chaos = false;
                eprintln!(
                    "[soak {:>6.1}s] chaos over (kills and broker restarts; faults go on)",
                    started.elapsed().as_secs_f64()
                );
            }
            supervisor.tick(chaos);
            if last_poll.is_none_or(|at: Instant| at.elapsed() >= STATUS_EVERY)
                && let Some(now) = status(&env.instance)
            {
                last_status = now;
                last_poll = Some(Instant::now());
                let consumed = count(&last_status, "received") + count(&last_status, "rejected");
                let harness = live.sent.load(Ordering::SeqCst);
                let expected = stream_distinct + harness;
                if caught_up.is_none() && generated.load(Ordering::SeqCst) && consumed >= expected {
                    caught_up = Some((consumed, started.elapsed()));
                    drain_deadline = Some(
                        started + options.chaos_min.max(started.elapsed()) + options.drain_deadline,
                    );
                    eprintln!(
                        "[soak {:>6.1}s] caught up with the stream ({consumed} messages)",
                        started.elapsed().as_secs_f64()
                    );
                }
                idle = caught_up.is_some()
                    && publisher.stats.idle()
                    && live.running.load(Ordering::SeqCst) == 0
                    && consumed == expected
                    && open_work(&last_status) == 0;
                quiet_polls = if idle && !chaos { quiet_polls + 1 } else { 0 };
                if quiet_polls >= 2 {
                    break;
                }
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                eprintln!(
                    "[soak {:>6.1}s] received {} rejected {} duplicates {}; open pipelines and work {}; harness sent {}",
                    started.elapsed().as_secs_f64(),
                    count(&last_status, "received"),
                    count(&last_status, "rejected"),
                    count(&last_status, "duplicates"),
                    open_work(&last_status),
                    live.sent.load(Ordering::SeqCst)
                );
            }
            let late = match drain_deadline {
                Some(deadline) => (Instant::now() > deadline).then_some("draining"),
                None => {
                    (Instant::now() > catch_up_deadline).then_some("catching up with the stream")
                }
            };
            if let Some(what) = late {
                drain_problem = Some(format!(
                    "still {what} at the deadline; last status: {}",
                    serde_json::to_string(&last_status["messages"]).unwrap_or_default()
                        + &format!(", pipelines {}", last_status["pipelines"])
                ));
                break;
            }
            std::thread::sleep(TICK);
        }
        stop.store(true, Ordering::SeqCst);
        let record = acting.join().expect("the actor thread");
        Outcome {
            record,
            harness_messages: live.sent.load(Ordering::SeqCst),
            caught_up,
            drain_problem,
        }
    })
}
