//! The command line: argument parsing and one function per subcommand.

mod assets;
mod check;
mod copr;
mod pipelines;
mod replay;

use crate::config::{self, Inputs, Settings};
use crate::daemon::{self, control};
use crate::logging::{self, FilterSource};
use crate::status::{StatusReport, format_time};
use crate::store::{Store, StoreError};
use anyhow::Context;
use clap::{ArgAction, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "fedflow",
    version,
    about = "Fedora dist-git → Koji → Bodhi automation driven by the Fedora message bus"
)]
pub struct Cli {
    /// Extra configuration file, read after the system drop-in directories (repeatable; later wins).
    #[arg(long = "config", global = true, value_name = "PATH")]
    pub config: Vec<PathBuf>,
    /// Replace the system drop-in directories (/usr/lib/fedflow/config.d, /etc/fedflow/config.d) with
    /// these (repeatable, lowest precedence first).
    #[arg(long = "system-config-dir", global = true, value_name = "DIR")]
    pub system_config_dirs: Vec<PathBuf>,
    /// More log output (repeatable).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Less log output (repeatable).
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consume the bus and record every message durably (the daemon).
    Run,
    /// Validate the configuration and print the effective settings (secrets masked).
    CheckConfig,
    /// Show counters and connection state, from the running daemon or from the store.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List pipelines (dist-git push → Koji build) with their state and history, newest first.
    Pipelines {
        /// Only this package.
        #[arg(long)]
        package: Option<String>,
        /// Only this branch.
        #[arg(long)]
        branch: Option<String>,
        /// Only this state (received, skipped, submitting, would_submit, submitted, building, built,
        /// awaiting_tag, creating_update, would_create_update, awaiting_automatic_update, update_pending,
        /// update_testing, update_stable, needs_attention, failed, canceled).
        #[arg(long)]
        state: Option<String>,
        /// Show at most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List recent Copr builds of the tracked projects, newest first: one line per build with each chroot's
    /// status.
    Copr {
        /// Only this project: `owner/project`, or `@group/project` for a group's.
        project: Option<String>,
        /// Show at most this many builds.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON (one object per build chroot) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Feed messages from a file in fedora-messaging's serialized format (one JSON object per line, as
    /// `fedora-messaging record` writes) through the same path as the bus; ids already stored are
    /// duplicates. Exits non-zero when a line is not such a message.
    Replay {
        /// The file to replay.
        file: PathBuf,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Send a failed or canceled pipeline back through the policy and Koji.
    Retry {
        /// The pipeline's id, as `fedflow pipelines` shows it.
        id: u64,
        /// Print the requeued pipeline as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the man pages and shell completions into DIR (for packaging).
    #[command(hide = true)]
    GenerateAssets {
        /// Output directory; `man/` and `completions/` are created in it.
        dir: PathBuf,
    },
}

/// Parses the arguments, runs the subcommand and turns an error into a message and an exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            // One cause per line: the outermost says what failed, the innermost why.
            tracing::error!("{error:#}");
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            // EX_CONFIG tells systemd (RestartPreventExitStatus=78) that restarting will not help.
            if error
                .chain()
                .any(|cause| cause.downcast_ref::<config::ConfigError>().is_some())
            {
                ExitCode::from(EX_CONFIG)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

const EX_CONFIG: u8 = 78;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut inputs = Inputs::from_process(cli.config.clone());
    if !cli.system_config_dirs.is_empty() {
        inputs.system_dirs = cli.system_config_dirs.clone();
    }
    match cli.command {
        Command::Run => {
            let settings = config::load(&inputs).context("loading the configuration")?;
            #[cfg(feature = "kerberos")]
            if let Some(keytab) = settings.client_keytab() {
                // SAFETY: no thread has been started yet (the runtime and the log writer come below), so
                // nothing reads the environment while it changes.
                unsafe { crate::krb::configure_process(keytab) }
                    .context("setting up the Kerberos credentials")?;
            }
            let source = match inputs.env.get("RUST_LOG") {
                Some(directive) if !directive.is_empty() => {
                    FilterSource::RustLog(directive.clone())
                }
                _ => FilterSource::Verbosity(cli.verbose as i8 - cli.quiet as i8),
            };
            let journald = inputs.env.contains_key("JOURNAL_STREAM");
            let log = logging::init(source, &settings.log.level, journald)?;
            runtime()?.block_on(daemon::run(inputs, settings, log))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig => check::check_config(&inputs),
        Command::GenerateAssets { dir } => {
            for path in assets::generate(&dir)? {
                println!("{path}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Pipelines {
            package,
            branch,
            state,
            limit,
            json,
        } => {
            let settings = config::load(&inputs).context("loading the configuration")?;
            let filter = crate::pipeline::view::Filter {
                package,
                branch,
                state,
                limit,
            };
            let list = runtime()?.block_on(pipelines::list(&settings, &filter))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!("{}", pipelines::render(&list, &settings));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Copr {
            project,
            limit,
            json,
        } => {
            let settings = config::load(&inputs).context("loading the configuration")?;
            let list = runtime()?.block_on(copr::list(&settings, project.as_deref(), limit))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!(
                    "{}",
                    copr::render(&list, &settings, crate::status::unix_now())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { file, json } => {
            let settings = config::load(&inputs).context("loading the configuration")?;
            let (report, by) = runtime()?.block_on(replay::replay(&settings, &file))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", replay::render(&report, by));
            }
            Ok(if report.unreadable == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Retry { id, json } => {
            let settings = config::load(&inputs).context("loading the configuration")?;
            let pipeline = runtime()?
                .block_on(pipelines::retry(&settings, id))
                .with_context(|| format!("retrying pipeline {id}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&pipeline)?);
            } else {
                println!(
                    "pipeline {} ({}) is queued again",
                    pipeline.id, pipeline.key
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json } => {
            let settings = config::load(&inputs).context("loading the configuration")?;
            let report = runtime()?.block_on(status_report(&settings))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", render_status(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn status_report(settings: &Settings) -> anyhow::Result<StatusReport> {
    let socket = control::socket_path(&settings.state.dir);
    // A daemon that is starting holds the store before its socket answers; give it a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        if let Some(report) = control::query_status(&socket).await? {
            return Ok(report);
        }
        match Store::open(&settings.state.dir) {
            Ok(store) => return Ok(StatusReport::offline(&store)?),
            Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e @ StoreError::Locked { .. }) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "a daemon holds the store but does not answer on {}",
                    socket.display()
                )));
            }
            Err(e) => return Err(anyhow::Error::new(e).context("opening the store")),
        }
    }
}

fn render_status(report: &StatusReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let d = &report.daemon;
    match (d.running, d.pid, d.started_at) {
        (true, Some(pid), Some(started)) => {
            let _ = writeln!(
                out,
                "fedflow {}: running (pid {pid}, since {})",
                d.version,
                format_time(started)
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "fedflow {}: not running (read from the store)",
                d.version
            );
        }
    }
    if let Some(bus) = &report.bus {
        let _ = writeln!(out, "bus:      {}", bus.state.describe());
        let _ = writeln!(
            out,
            "          queue {}; shard {}; this run: acked {}, rejected {}, reconnects {}",
            bus.queue, bus.shard, bus.acked, bus.rejected, bus.reconnects
        );
    }
    if let Some(url) = &report.http {
        let _ = writeln!(out, "http:     {url}");
    }
    let m = &report.messages;
    let _ = writeln!(
        out,
        "messages: received {}, duplicates {}, rejected {}",
        m.received, m.duplicates, m.rejected
    );
    for (topic, count) in &m.by_topic {
        let _ = writeln!(out, "          {count:>8}  {topic}");
    }
    for (reason, count) in &m.rejected_by_reason {
        let _ = writeln!(out, "          {count:>8}  rejected: {reason}");
    }
    let p = &report.pipelines;
    let active = p
        .active_by_state
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect::<Vec<_>>();
    let _ = writeln!(
        out,
        "pipelines: {} in all; active: {}; retrying {}; inbox {}",
        p.total,
        if active.is_empty() {
            "none".to_owned()
        } else {
            active.join(", ")
        },
        p.retrying,
        p.inbox
    );
    let _ = writeln!(
        out,
        "store:    {} ({} bytes)",
        report.store.dir, report.store.size_bytes
    );
    if !report.recent.is_empty() {
        let _ = writeln!(out, "recent:");
        for event in &report.recent {
            let _ = writeln!(
                out,
                "  {}  {:<30} {}",
                format_time(event.received_at),
                event.topic,
                event.summary
            );
        }
    }
    out
}
