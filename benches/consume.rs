//! Consume throughput of fedflow against a bare lapin consumer, on one private RabbitMQ node.
//!
//! fedflow records every delivery durably before it acknowledges it: decode, one sled transaction
//! per batch (dedupe by message id, counters, recent events), a flush, then one multiple-ack. This
//! bench measures what that costs compared with the cheapest possible consumer of the same queue.
//!
//! Each pass pre-fills a durable queue with `MESSAGES` fedora-messaging-shaped messages (the fixtures
//! fedflow binds by default, in a cycle, each with a fresh UUID id, persistent, with the fixture's
//! headers and a Python-`json.dumps` body), then times one consumer draining it:
//!
//! * (a) *bare*: lapin in this process — connect, `basic.qos` prefetch 100, `basic.consume`, then per
//!   batch take the first delivery, drain what is already there without waiting (up to the
//!   prefetch), and ack the batch with one multiple-ack. Timed from before the connect to the last
//!   ack.
//! * (b) *fedflow*: the real release binary, `fedflow run`, as a child process with prefetch 100 and
//!   log level `warn`. Its queue and bindings are created by a first short run, the backlog is
//!   published while it is stopped, and the second run is timed from the spawn until its control
//!   socket (polled every 100 ms) reports `messages.received == MESSAGES`. Its peak RSS (`VmHWM`)
//!   and CPU time (user + system, per message) are read just before SIGTERM.
//!
//! Both include their connect; (b) also includes process start, configuration and store opening.
//! Passes alternate (a), (b), (a), … and the table shows the median of each and the ratio of the
//! medians. Run it with `cargo bench --bench consume`. For exploring where the time goes,
//! `FEDFLOW_BENCH_PREFETCH` changes the prefetch of both sides, `FEDFLOW_BENCH_MESSAGES` and
//! `FEDFLOW_BENCH_RUNS` the size of a pass and the number of runs. Without `--bench` (as under
//! `cargo test --all-targets`) it runs one pass of 2,000 messages as a smoke test.

// The whole integration-test harness comes along; this bench uses only part of it.
#[path = "../tests/it/support/mod.rs"]
#[allow(dead_code, unused_imports)]
mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use lapin::options::{BasicAckOptions, BasicPublishOptions, BasicQosOptions, QueueDeleteOptions};
use lapin::types::ShortString;
use lapin::{BasicProperties, Confirmation, Connection};
use serde_json::Value;
use support::amqp::{
    Publisher, amqp_headers_from_json, connect_plain, consume, declare_bound_queue,
    python_json_dumps, queue_counts, unique_prefix,
};
use support::broker::Broker;
use support::daemon::{BIN, Instance, deliverable_fixtures, runtime, tail};
use tokio::runtime::Runtime;

/// Messages per pass in bench mode.
const BENCH_MESSAGES: usize = 100_000;
/// Passes of each kind in bench mode.
const BENCH_RUNS: usize = 3;
/// Messages and passes of the smoke run (no `--bench` argument).
const SMOKE_MESSAGES: usize = 2_000;
const SMOKE_RUNS: usize = 1;
/// fedflow's default `bus.prefetch`; the bench writes it into the config so both sides match.
const DEFAULT_PREFETCH: u16 = 100;
/// Overrides for exploring where the time goes; the defaults are what the table is meant to report.
const PREFETCH_ENV: &str = "FEDFLOW_BENCH_PREFETCH";
const MESSAGES_ENV: &str = "FEDFLOW_BENCH_MESSAGES";
const RUNS_ENV: &str = "FEDFLOW_BENCH_RUNS";
/// Publishes sent before their confirms are awaited.
const PUBLISH_WINDOW: usize = 1_000;
/// How often the control socket is asked for the count. Each answer costs fedflow a status report (counters,
/// recent events, store size), so polling is kept rare; the pass may be timed up to this much late, which
/// only counts against fedflow.
const STATUS_POLL: Duration = Duration::from_millis(100);
/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux x86_64).
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;
/// Upper bound for one consume pass; far above any plausible time, only to turn a hang into a panic.
const PASS_TIMEOUT: Duration = Duration::from_secs(300);
const SOCKET_TIMEOUT: Duration = Duration::from_secs(5);

/// One fixture, encoded once: the topic, AMQP properties (without the id) and body bytes.
struct Template {
    topic: String,
    properties: BasicProperties,
    body: Vec<u8>,
}

fn templates() -> Vec<Template> {
    deliverable_fixtures()
        .into_iter()
        .map(|fixture| Template {
            properties: BasicProperties::default()
                .with_content_type("application/json".into())
                .with_content_encoding("utf-8".into())
                .with_delivery_mode(2)
                .with_headers(amqp_headers_from_json(&fixture.headers)),
            body: python_json_dumps(&fixture.body),
            topic: fixture.topic,
        })
        .collect()
}

/// Publishes `count` messages cycling through `templates` under `prefix`, each with a fresh UUID
/// id, awaiting publisher confirms once per [`PUBLISH_WINDOW`]; returns the bytes of body sent.
async fn fill(connection: &Connection, templates: &[Template], prefix: &str, count: usize) -> u64 {
    let publisher = Publisher::new(connection).await;
    let channel = publisher.channel();
    let routing_keys: Vec<ShortString> = templates
        .iter()
        .map(|t| {
            ShortString::try_new(format!("{prefix}.{}", t.topic))
                .expect("routing keys are at most 255 bytes")
        })
        .collect();
    let mut body_bytes = 0u64;
    let mut pending = Vec::with_capacity(PUBLISH_WINDOW);
    for i in 0..count {
        let index = i % templates.len();
        let template = &templates[index];
        let properties = template
            .properties
            .clone()
            .with_message_id(uuid::Uuid::new_v4().to_string().into());
        let confirm = channel
            .basic_publish(
                "amq.topic".into(),
                routing_keys[index].clone(),
                BasicPublishOptions::default(),
                &template.body,
                properties,
            )
            .await
            .expect("send basic.publish");
        pending.push(confirm);
        body_bytes += template.body.len() as u64;
        if pending.len() == PUBLISH_WINDOW || i + 1 == count {
            for confirm in pending.drain(..) {
                let confirmation = confirm.await.expect("receive the publisher confirm");
                assert!(
                    matches!(confirmation, Confirmation::Ack(_)),
                    "broker did not ack a published message: {confirmation:?}"
                );
            }
        }
    }
    let _ = channel.close(200, "OK".into()).await;
    body_bytes
}

/// Fills `queue` (bound to `prefix`) and checks that exactly `count` messages wait in it.
fn fill_and_check(
    rt: &Runtime,
    admin: &Connection,
    templates: &[Template],
    prefix: &str,
    queue: &str,
    count: usize,
) -> (Duration, u64) {
    let filling_at = Instant::now();
    let body_bytes = rt.block_on(fill(admin, templates, prefix, count));
    let took = filling_at.elapsed();
    let ready = rt.block_on(queue_counts(admin, queue));
    assert_eq!(
        ready,
        Some((u32::try_from(count).expect("message counts fit u32"), 0)),
        "queue {queue} should hold the whole backlog and have no consumer"
    );
    (took, body_bytes)
}

fn delete_queue(rt: &Runtime, admin: &Connection, queue: &str) {
    rt.block_on(async {
        let channel = admin
            .create_channel()
            .await
            .expect("open a channel for queue.delete");
        channel
            .queue_delete(queue.into(), QueueDeleteOptions::default())
            .await
            .expect("delete the bench queue");
        let _ = channel.close(200, "OK".into()).await;
    });
}

/// What one timed pass measured.
struct Pass {
    elapsed: Duration,
    /// Peak RSS of the fedflow process in KiB; `None` for the bare consumer.
    peak_rss_kib: Option<u64>,
    /// CPU time (user + system) of the fedflow process, start-up included; `None` for the bare consumer.
    cpu: Option<Duration>,
}

impl Pass {
    fn rate(&self, messages: usize) -> f64 {
        messages as f64 / self.elapsed.as_secs_f64()
    }

    /// fedflow's CPU time per message in microseconds; 0 for the bare consumer.
    fn cpu_per_message_us(&self, messages: usize) -> f64 {
        self.cpu.unwrap_or_default().as_secs_f64() * 1e6 / messages as f64
    }
}

/// (a): the bare lapin consumer, timed from before its connect to the return of its last ack.
async fn bare_consume(url: &str, queue: &str, messages: usize, prefetch: u16) -> Duration {
    let started = Instant::now();
    let connection = connect_plain(url).await;
    let channel = connection
        .create_channel()
        .await
        .expect("open the consumer channel");
    channel
        .basic_qos(prefetch, BasicQosOptions { global: false })
        .await
        .expect("set the prefetch");
    let mut consumer = consume(&channel, queue).await;
    let mut acked = 0usize;
    let mut batch = Vec::with_capacity(usize::from(prefetch));
    while acked < messages {
        let first = tokio::time::timeout(PASS_TIMEOUT, consumer.next())
            .await
            .expect("a delivery within the pass timeout")
            .expect("the consumer stream is open")
            .expect("a delivery, not an error");
        batch.push(first);
        while batch.len() < usize::from(prefetch) {
            match futures_lite::future::poll_once(consumer.next()).await {
                Some(Some(Ok(delivery))) => batch.push(delivery),
                Some(Some(Err(error))) => panic!("consumer error: {error}"),
                Some(None) | None => break,
            }
        }
        batch
            .last()
            .expect("a batch holds at least its first delivery")
            .acker
            .ack(BasicAckOptions { multiple: true })
            .await
            .expect("ack the batch");
        acked += batch.len();
        batch.clear();
    }
    let elapsed = started.elapsed();
    assert_eq!(
        acked, messages,
        "the bare consumer got more than was published"
    );
    let _ = channel.close(200, "OK".into()).await;
    let _ = connection.close(200, "OK".into()).await;
    elapsed
}

fn bare_pass(
    rt: &Runtime,
    admin: &Connection,
    url: &str,
    templates: &[Template],
    messages: usize,
    prefetch: u16,
) -> Pass {
    let prefix = unique_prefix();
    let queue = rt.block_on(async {
        let channel = admin
            .create_channel()
            .await
            .expect("open a channel to declare the bench queue");
        let queue = declare_bound_queue(&channel, &format!("{prefix}.#")).await;
        let _ = channel.close(200, "OK".into()).await;
        queue
    });
    let (fill_took, body_bytes) = fill_and_check(rt, admin, templates, &prefix, &queue, messages);
    eprintln!(
        "[bench] bare: filled {queue} with {messages} messages ({:.1} MiB of bodies) in {fill_took:.2?}",
        body_bytes as f64 / 1_048_576.0
    );
    let elapsed = rt.block_on(bare_consume(url, &queue, messages, prefetch));
    assert_eq!(
        rt.block_on(queue_counts(admin, &queue)),
        Some((0, 0)),
        "the bare consumer left messages in {queue}"
    );
    delete_queue(rt, admin, &queue);
    Pass {
        elapsed,
        peak_rss_kib: None,
        cpu: None,
    }
}

/// `messages.received` from the daemon's control socket; `None` while it does not answer yet.
fn received_via_socket(socket: &Path) -> Option<u64> {
    let mut stream = UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(SOCKET_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(SOCKET_TIMEOUT)).ok()?;
    stream.write_all(b"status\n").ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    let status: Value = serde_json::from_str(&reply).ok()?;
    status["messages"]["received"].as_u64()
}

/// User plus system CPU time `pid` has used so far (fields 14 and 15 of `/proc/<pid>/stat`).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|error| panic!("read /proc/{pid}/stat: {error}"));
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no command name in /proc/{pid}/stat: {stat}"));
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|field| field.parse::<u64>().expect("utime and stime are integers"))
        .sum();
    Duration::from_secs_f64(ticks as f64 / CLOCK_TICKS_PER_SECOND)
}

/// `VmHWM` (peak resident set size) of `pid` in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|error| panic!("read /proc/{pid}/status: {error}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM line in /proc/{pid}/status:\n{status}"))
}

fn fedflow_pass(
    rt: &Runtime,
    admin: &Connection,
    url: &str,
    templates: &[Template],
    messages: usize,
    prefetch: u16,
) -> Pass {
    let prefix = unique_prefix();
    let bus = format!("url = \"{url}\"\nprefetch = {prefetch}");
    let instance = Instance::new(&bus, &prefix);
    instance.write_config(&bus, "warn");
    // A first run declares the durable queue and binds fedflow's default topics under `prefix`.
    instance.prepare_queue();
    let (fill_took, body_bytes) =
        fill_and_check(rt, admin, templates, &prefix, &instance.queue, messages);
    eprintln!(
        "[bench] fedflow: filled {} with {messages} messages ({:.1} MiB of bodies) in {fill_took:.2?}",
        instance.queue,
        body_bytes as f64 / 1_048_576.0
    );

    let socket = instance.state_dir().join("control.sock");
    let target = u64::try_from(messages).expect("message counts fit u64");
    let started = Instant::now();
    let mut daemon = instance.start();
    let mut last_received = None;
    let elapsed = loop {
        last_received = received_via_socket(&socket).or(last_received);
        if last_received.is_some_and(|received| received >= target) {
            break started.elapsed();
        }
        assert!(
            daemon.is_running(),
            "fedflow exited during the pass\n--- daemon log ---\n{}",
            tail(&instance.log_path())
        );
        assert!(
            started.elapsed() < PASS_TIMEOUT,
            "fedflow received {last_received:?} of {messages} within {PASS_TIMEOUT:?}\n\
             --- daemon log ---\n{}",
            tail(&instance.log_path())
        );
        std::thread::sleep(STATUS_POLL);
    };
    let peak_rss_kib = peak_rss_kib(daemon.pid());
    let cpu = cpu_time(daemon.pid());
    let (code, _) = daemon.stop();
    assert!(
        code.success(),
        "fedflow exited with {code:?}\n--- daemon log ---\n{}",
        tail(&instance.log_path())
    );
    assert_eq!(
        last_received,
        Some(target),
        "fedflow recorded more messages than were published"
    );
    assert_eq!(
        rt.block_on(queue_counts(admin, &instance.queue)),
        Some((0, 0)),
        "fedflow left messages in {}",
        instance.queue
    );
    delete_queue(rt, admin, &instance.queue);
    Pass {
        elapsed,
        peak_rss_kib: Some(peak_rss_kib),
        cpu: Some(cpu),
    }
}

/// The value of environment variable `name`, or `default` when it is unset.
fn env_override<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a valid number")),
        Err(_) => default,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it.
    let bench_mode = std::env::args().any(|arg| arg == "--bench");
    let (messages, runs) = if bench_mode {
        (BENCH_MESSAGES, BENCH_RUNS)
    } else {
        (SMOKE_MESSAGES, SMOKE_RUNS)
    };
    let messages = env_override(MESSAGES_ENV, messages);
    let runs = env_override(RUNS_ENV, runs);
    let prefetch = env_override(PREFETCH_ENV, DEFAULT_PREFETCH);
    assert!(
        messages > 0 && runs > 0 && prefetch > 0,
        "messages, runs and prefetch must be positive"
    );
    // Cargo builds the binaries of the package before its benches, with the same profile.
    assert!(
        Path::new(BIN).exists(),
        "{BIN} is missing: run `cargo build --release --bin fedflow` first"
    );

    let broker = Broker::start();
    let url = broker.amqp_url();
    let rt = runtime();
    let admin = rt.block_on(connect_plain(&url));
    let templates = templates();
    eprintln!(
        "[bench] {} fixtures in the topic mix, {messages} messages per pass, prefetch {prefetch}, \
         {runs} run(s) of each consumer, fedflow binary {BIN}",
        templates.len()
    );

    let mut bare = Vec::with_capacity(runs);
    let mut fedflow = Vec::with_capacity(runs);
    for run in 1..=runs {
        let pass = bare_pass(&rt, &admin, &url, &templates, messages, prefetch);
        eprintln!(
            "[bench] run {run}/{runs} bare:    {:>9.0} msg/s ({:.2?})",
            pass.rate(messages),
            pass.elapsed
        );
        bare.push(pass);
        let pass = fedflow_pass(&rt, &admin, &url, &templates, messages, prefetch);
        eprintln!(
            "[bench] run {run}/{runs} fedflow: {:>9.0} msg/s ({:.2?}), peak RSS {:.1} MiB, CPU {:.1} µs/msg",
            pass.rate(messages),
            pass.elapsed,
            pass.peak_rss_kib.unwrap_or(0) as f64 / 1024.0,
            pass.cpu_per_message_us(messages)
        );
        fedflow.push(pass);
    }
    let _ = rt.block_on(admin.close(200, "OK".into()));
    drop(broker);

    let bare_rate = median(bare.iter().map(|p| p.rate(messages)).collect());
    let fedflow_rate = median(fedflow.iter().map(|p| p.rate(messages)).collect());
    let peak_rss_mib = median(
        fedflow
            .iter()
            .filter_map(|p| p.peak_rss_kib)
            .map(|kib| kib as f64 / 1024.0)
            .collect(),
    );
    let cpu_us = median(
        fedflow
            .iter()
            .map(|p| p.cpu_per_message_us(messages))
            .collect(),
    );
    let per_run = |passes: &[Pass]| {
        passes
            .iter()
            .map(|p| format!("{:.0}", p.rate(messages)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!();
    println!(
        "consume: {messages} persistent messages per pass, prefetch {prefetch}, \
         median of {runs} alternating run(s) each"
    );
    println!(
        "| messages | bare lapin (msg/s) | fedflow run (msg/s) | ratio b/a | fedflow peak RSS (MiB) | fedflow CPU (µs/msg) | runs |"
    );
    println!(
        "|---------:|-------------------:|--------------------:|----------:|-----------------------:|---------------------:|-----:|"
    );
    println!(
        "| {messages:>8} | {bare_rate:>18.0} | {fedflow_rate:>19.0} | {:>9.2} | {peak_rss_mib:>22.1} | {cpu_us:>20.1} | {runs:>4} |",
        fedflow_rate / bare_rate
    );
    println!("per run, bare:    {}", per_run(&bare));
    println!("per run, fedflow: {}", per_run(&fedflow));
}
