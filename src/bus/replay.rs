//! Replay: messages from a file in fedora-messaging's serialized format (one JSON object per line,
//! `{"topic", "headers", "id", "body", "queue", "priority"}`, as `fedora-messaging record` and
//! `Message.dumps` write them) fed through the consume path — the same decoding, policy selection, Copr
//! records and store transaction as a delivery, in batches, each flushed before the next line is read.
//!
//! A message id the store already holds is a duplicate and changes nothing, so replaying a dump of the
//! bus catches up exactly what was missed. A message on a topic the configured bindings do not match
//! would never have reached the queue, so it is skipped and counted as not bound. A line that is not a
//! serialized message is reported with its line number and skipped; a message that is bad is rejected and
//! counted, as the bus path does.

use super::batch::record_of;
use crate::config::Settings;
use crate::copr;
use crate::message::{Headers, Incoming};
use crate::store::{Disposition, Record, Store};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Records committed and flushed together, as one bus batch at the default prefetch.
const BATCH: usize = 50;
/// Room for the envelope around a body of `bus.max_body_bytes`: topic, id, headers.
const LINE_OVERHEAD: usize = 64 * 1024;
/// Unreadable lines listed in the report; beyond that they are only counted.
const LISTED_PROBLEMS: usize = 20;

/// One line of the file, as fedora-messaging serializes a message. Fields it may add later are ignored.
#[derive(Debug, Deserialize)]
struct SerializedMessage {
    topic: String,
    #[serde(default)]
    headers: Headers,
    id: Option<String>,
    body: serde_json::Value,
}

/// A line that was not a serialized message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableLine {
    pub line: u64,
    pub error: String,
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayReport {
    /// Non-empty lines read.
    pub messages: u64,
    /// Messages on topics the bindings (`bus.topic_prefix` + `bus.topics`) do not match, skipped.
    pub not_bound: u64,
    pub recorded: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Pushes and build changes queued for the pipeline engine.
    pub work_queued: u64,
    /// Lines that were not serialized messages, skipped.
    pub unreadable: u64,
    /// The first [`LISTED_PROBLEMS`] of them.
    pub problems: Vec<UnreadableLine>,
}

/// The longest line a replay reads: a body of `bus.max_body_bytes` and its envelope.
pub fn line_limit(settings: &Settings) -> usize {
    usize::try_from(settings.bus.max_body_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(LINE_OVERHEAD)
}

/// Replays every line `reader` gives into `store`. Stops at the first store failure; everything committed
/// before it is durable and counted in the store as received.
pub async fn replay(
    reader: &mut (impl AsyncBufRead + Unpin),
    store: &Store,
    settings: &Settings,
) -> anyhow::Result<ReplayReport> {
    let limit = line_limit(settings);
    let bindings = settings.bus.routing_keys();
    let mut report = ReplayReport::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut number = 0u64;
    let mut line = Vec::new();
    while let Some(fits) = read_line(reader, &mut line, limit)
        .await
        .with_context(|| format!("reading line {}", number + 1))?
    {
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        report.messages += 1;
        let parsed = if fits {
            serde_json::from_slice::<SerializedMessage>(&line).map_err(|e| e.to_string())
        } else {
            Err(format!("longer than {limit} bytes"))
        };
        match parsed {
            Ok(message) if !bindings.iter().any(|b| binding_matches(b, &message.topic)) => {
                report.not_bound += 1;
            }
            Ok(message) => {
                let body = serde_json::to_vec(&message.body).context("encoding a body")?;
                let incoming = Incoming {
                    routing_key: &message.topic,
                    message_id: message.id.as_deref(),
                    headers: message.headers,
                    body: &body,
                };
                batch.push(record_of(incoming, store, settings)?.0);
            }
            Err(error) => {
                report.unreadable += 1;
                if report.problems.len() < LISTED_PROBLEMS {
                    report.problems.push(UnreadableLine {
                        line: number,
                        error,
                    });
                }
            }
        }
        if batch.len() == BATCH {
            commit(store, &mut batch, &mut report).await?;
        }
    }
    commit(store, &mut batch, &mut report).await?;
    Ok(report)
}

async fn commit(
    store: &Store,
    batch: &mut Vec<Record>,
    report: &mut ReplayReport,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let committed = store.commit(batch).context("storing replayed messages")?;
    store.flush().await.context("flushing replayed messages")?;
    for record in &committed.copr_finished {
        copr::report_finished(record);
    }
    for (record, disposition) in batch.iter().zip(&committed.dispositions) {
        match disposition {
            Disposition::Recorded => {
                report.recorded += 1;
                if matches!(record, Record::Event { work: Some(_), .. }) {
                    report.work_queued += 1;
                }
            }
            Disposition::Duplicate => report.duplicates += 1,
            Disposition::Rejected => report.rejected += 1,
        }
    }
    batch.clear();
    Ok(())
}

/// AMQP topic-exchange matching, as the broker routes: words split on `.`, `*` is exactly one word, `#`
/// zero or more. A key longer than AMQP allows (255 bytes) matches nothing, which also bounds the work.
fn binding_matches(binding: &str, routing_key: &str) -> bool {
    if routing_key.len() > 255 {
        return false;
    }
    fn matches(pattern: &[&str], key: &[&str]) -> bool {
        match pattern.split_first() {
            None => key.is_empty(),
            Some((&"#", rest)) => (0..=key.len()).any(|skip| matches(rest, &key[skip..])),
            Some((word, rest)) => key.split_first().is_some_and(|(first, tail)| {
                (*word == "*" || word == first) && matches(rest, tail)
            }),
        }
    }
    let pattern: Vec<&str> = binding.split('.').collect();
    let key: Vec<&str> = routing_key.split('.').collect();
    matches(&pattern, &key)
}

/// Reads one line (without its newline) into `line`, keeping at most `limit` bytes of it: `Some(true)`
/// for a whole line, `Some(false)` for one that was cut (the rest is read and dropped), `None` at the end.
pub async fn read_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    line: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut fits = true;
    let mut read_any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(read_any.then_some(fits));
        }
        read_any = true;
        let (chunk, used, done) = match available.iter().position(|b| *b == b'\n') {
            Some(end) => (&available[..end], end + 1, true),
            None => (available, available.len(), false),
        };
        let room = limit.saturating_sub(line.len());
        if chunk.len() > room {
            fits = false;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        reader.consume(used);
        if done {
            return Ok(Some(fits));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(text: &[u8], limit: usize) -> Vec<(String, bool)> {
        let mut reader = tokio::io::BufReader::with_capacity(4, text);
        let mut line = Vec::new();
        let mut all = Vec::new();
        while let Some(fits) = read_line(&mut reader, &mut line, limit)
            .await
            .expect("read")
        {
            all.push((String::from_utf8_lossy(&line).into_owned(), fits));
        }
        all
    }

    #[test]
    fn bindings_match_as_the_broker_routes() {
        let prefix = "org.fedoraproject.prod";
        let key = |topic: &str| format!("{prefix}.{topic}");
        assert!(binding_matches(&key("buildsys.tag"), &key("buildsys.tag")));
        assert!(!binding_matches(
            &key("buildsys.tag"),
            &key("buildsys.untag")
        ));
        assert!(binding_matches(
            &key("bodhi.update.#"),
            &key("bodhi.update.request.testing")
        ));
        assert!(binding_matches(
            &key("bodhi.update.#"),
            &key("bodhi.update")
        ));
        assert!(binding_matches(&key("*.build.end"), &key("copr.build.end")));
        assert!(!binding_matches(
            &key("*.build.end"),
            &key("copr.chroot.build.end")
        ));
        assert!(!binding_matches(
            &key("buildsys.tag"),
            "org.fedoraproject.stg.buildsys.tag"
        ));
    }

    #[tokio::test]
    async fn lines_are_cut_at_the_limit_and_the_rest_is_dropped() {
        assert_eq!(
            lines(b"short\nmuch too long\n\nlast", 8).await,
            vec![
                ("short".to_owned(), true),
                ("much too".to_owned(), false),
                (String::new(), true),
                ("last".to_owned(), true),
            ]
        );
        assert!(lines(b"", 8).await.is_empty());
    }
}
