//! Logging: journald when started by systemd with its output connected to the journal, readable stderr
//! otherwise, and a filter that a reload can change.

use anyhow::Context;
use std::io::IsTerminal;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

/// How the filter was chosen, which decides whether a config reload may change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterSource {
    /// `RUST_LOG` was set: it wins over everything and reloads leave it alone.
    RustLog(String),
    /// `-v`/`-q` on the command line shift the configured level.
    Verbosity(i8),
}

pub struct LogHandle {
    handle: reload::Handle<EnvFilter, Registry>,
    source: FilterSource,
}

/// The level `-v`/`-q` make of the configured one: each `-v` one step noisier, each `-q` one quieter.
fn shifted_level(configured: &str, shift: i8) -> String {
    if shift == 0 {
        return configured.to_owned();
    }
    const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
    let base = LEVELS
        .iter()
        .position(|l| configured.eq_ignore_ascii_case(l))
        .unwrap_or(2);
    let index = (base as i64 + i64::from(shift)).clamp(0, 4) as usize;
    LEVELS[index].to_owned()
}

impl LogHandle {
    fn filter_for(&self, configured: &str) -> Result<EnvFilter, anyhow::Error> {
        let directive = match &self.source {
            FilterSource::RustLog(directive) => directive.clone(),
            FilterSource::Verbosity(shift) => shifted_level(configured, *shift),
        };
        EnvFilter::try_new(&directive).with_context(|| format!("invalid log filter {directive:?}"))
    }

    /// Applies the configured level after a reload, unless `RUST_LOG` pins it.
    pub fn set_level(&self, configured: &str) -> anyhow::Result<bool> {
        if matches!(self.source, FilterSource::RustLog(_)) {
            return Ok(false);
        }
        let filter = self.filter_for(configured)?;
        self.handle
            .reload(filter)
            .context("reloading the log filter")?;
        Ok(true)
    }
}

/// Installs the global subscriber. `journald` is true when stderr is connected to the journal.
pub fn init(source: FilterSource, configured: &str, journald: bool) -> anyhow::Result<LogHandle> {
    let (filter_layer, handle) = reload::Layer::new(EnvFilter::new("info"));
    let log = LogHandle { handle, source };
    let filter = log.filter_for(configured)?;
    let registry = tracing_subscriber::registry().with(filter_layer);
    let journal = if journald {
        tracing_journald::layer()
            .ok()
            .map(|l| l.with_field_prefix(None))
    } else {
        None
    };
    match journal {
        Some(layer) => registry.with(layer).try_init(),
        None => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    // Colour codes only for a person at a terminal, never into files or a log collector.
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_target(false),
            )
            .try_init(),
    }
    .context("installing the log subscriber")?;
    log.handle
        .reload(filter)
        .context("setting the log filter")?;
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::shifted_level;

    #[test]
    fn verbosity_shifts_within_bounds() {
        assert_eq!(shifted_level("info", 1), "debug");
        assert_eq!(shifted_level("info", 5), "trace");
        assert_eq!(shifted_level("info", -1), "warn");
        assert_eq!(shifted_level("warn", -9), "error");
        assert_eq!(shifted_level("fedflow=debug", 0), "fedflow=debug");
    }
}
