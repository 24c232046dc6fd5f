//! Store behaviour on a real sled database in a temporary directory.

use super::*;
use std::time::Duration;
use tempfile::TempDir;

pub(super) fn event(id: &str, topic: &str) -> Record {
    Record::Event {
        message_id: id.to_owned(),
        topic: topic.to_owned(),
        sent_at: Some("2026-01-01T00:00:00+00:00".to_owned()),
        kind: "koji_tag".to_owned(),
        summary: format!("summary of {id}"),
        work: None,
        copr: None,
    }
}

#[test]
fn second_open_of_a_directory_fails_fast_with_a_clear_error() {
    let dir = TempDir::new().expect("tempdir");
    let _first = Store::open(dir.path()).expect("first open");
    let err = Store::open(dir.path())
        .err()
        .expect("second open must fail");
    assert_eq!(err.kind(), "locked");
    assert!(
        err.to_string().contains("in use by another fedflow"),
        "{err}"
    );
}

#[test]
fn newer_schema_is_refused() {
    let dir = TempDir::new().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        store
            .meta
            .insert(SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
            .expect("insert");
        store.db.flush().expect("flush");
    }
    let err = Store::open(dir.path()).err().expect("must refuse");
    assert_eq!(err.kind(), "newer_schema");
    assert!(
        err.to_string()
            .contains(&format!("schema version {}", SCHEMA_VERSION + 1))
    );
}

#[test]
fn queue_name_is_generated_once_and_kept() {
    let dir = TempDir::new().expect("tempdir");
    let name = {
        let store = Store::open(dir.path()).expect("open");
        store.queue_name(None).expect("queue")
    };
    assert!(uuid::Uuid::parse_str(&name).is_ok(), "{name}");
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.queue_name(None).expect("queue"), name);
    assert_eq!(store.queue_name(Some("fixed")).expect("queue"), "fixed");
}

#[tokio::test]
async fn duplicates_are_detected_within_and_across_batches_and_survive_reopen() {
    let dir = TempDir::new().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        let first = store
            .commit_batch(&[
                event("a", "buildsys.tag"),
                event("b", "buildsys.tag"),
                event("a", "buildsys.tag"),
            ])
            .expect("commit");
        assert_eq!(
            first,
            vec![
                Disposition::Recorded,
                Disposition::Recorded,
                Disposition::Duplicate
            ]
        );
        store.flush().await.expect("flush");
    }
    let store = Store::open(dir.path()).expect("reopen");
    let second = store
        .commit_batch(&[
            event("b", "buildsys.tag"),
            event("c", "copr.build.end"),
            Record::Rejected {
                message_id: Some("bad".into()),
                topic: "buildsys.tag".into(),
                reason: "invalid_json",
            },
            Record::Rejected {
                message_id: None,
                topic: "x".into(),
                reason: "missing_message_id",
            },
        ])
        .expect("commit");
    assert_eq!(
        second,
        vec![
            Disposition::Duplicate,
            Disposition::Recorded,
            Disposition::Rejected,
            Disposition::Rejected
        ]
    );
    let counters = store.counters().expect("counters");
    assert_eq!(counters.received, 3);
    assert_eq!(counters.duplicates, 2);
    assert_eq!(counters.rejected, 2);
    assert_eq!(counters.by_topic.get("buildsys.tag"), Some(&2));
    assert_eq!(counters.by_topic.get("copr.build.end"), Some(&1));
    assert_eq!(counters.rejected_by_reason.get("invalid_json"), Some(&1));
    assert_eq!(
        counters.rejected_by_reason.get("missing_message_id"),
        Some(&1)
    );
    // A rejected id that comes back is not counted a second time.
    let again = store
        .commit_batch(&[Record::Rejected {
            message_id: Some("bad".into()),
            topic: "buildsys.tag".into(),
            reason: "invalid_json",
        }])
        .expect("commit");
    assert_eq!(again, vec![Disposition::Duplicate]);
}

#[test]
fn recent_events_are_a_bounded_ring_per_topic() {
    let dir = TempDir::new().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let records: Vec<Record> = (0..RECENT_PER_TOPIC * 3)
        .map(|i| event(&format!("id-{i}"), "buildsys.tag"))
        .collect();
    store.commit_batch(&records).expect("commit");
    store
        .commit_batch(&[event("other", "copr.build.end")])
        .expect("commit");
    let recent = store.recent_events(1000).expect("recent");
    assert_eq!(recent.len() as u64, RECENT_PER_TOPIC + 1);
    let newest_tag = recent
        .iter()
        .filter(|e| e.topic == "buildsys.tag")
        .map(|e| e.seq)
        .max();
    assert_eq!(newest_tag, Some(RECENT_PER_TOPIC * 3));
    let oldest_tag = recent
        .iter()
        .filter(|e| e.topic == "buildsys.tag")
        .map(|e| e.seq)
        .min();
    assert_eq!(oldest_tag, Some(RECENT_PER_TOPIC * 2 + 1));
    assert_eq!(store.recent_events(5).expect("recent").len(), 5);
}

#[test]
fn purge_forgets_ids_past_retention_only() {
    let dir = TempDir::new().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    store
        .commit_batch(&[event("old", "buildsys.tag")])
        .expect("commit");
    // Nothing is older than a day yet.
    assert_eq!(
        store
            .purge_expired(Duration::from_secs(86_400))
            .expect("purge"),
        0
    );
    assert!(store.has_seen("old").expect("seen"));
    // A cutoff after the receive time expires it.
    let later = crate::status::unix_now() + 2;
    assert_eq!(store.purge_received_before(later).expect("purge"), 1);
    assert!(!store.has_seen("old").expect("seen"));
    // Counters are history, not dedupe state: they stay.
    assert_eq!(store.counters().expect("counters").received, 1);
}

#[test]
fn bindings_round_trip() {
    let dir = TempDir::new().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    assert!(store.bindings().expect("bindings").is_empty());
    let keys: BTreeSet<String> = ["a.b".to_owned(), "c.#".to_owned()].into();
    store.set_bindings(&keys).expect("set");
    assert_eq!(store.bindings().expect("bindings"), keys);
}

#[test]
fn a_store_from_before_the_state_index_gets_it_on_open() {
    use crate::pipeline::{Pipeline, PushFacts, PushKey};
    let dir = TempDir::new().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        for package in ["foo", "bar"] {
            let key = PushKey {
                package: package.to_owned(),
                branch: "f43".to_owned(),
                commit: "c".repeat(40),
            };
            store
                .create_pipeline(&key, None, |id| {
                    Pipeline::new(
                        id,
                        key.clone(),
                        format!("git+https://src.example/rpms/{package}.git"),
                        "alice".to_owned(),
                        None,
                        format!("msg-{package}"),
                        PushFacts::default(),
                        100,
                    )
                })
                .expect("create");
        }
        // What a store written before the index looks like.
        for entry in store.pipeline_index.scan_prefix(b"state") {
            let (key, _) = entry.expect("entry");
            store.pipeline_index.remove(key).expect("remove");
        }
        store
            .meta
            .remove(b"pipeline_state_index")
            .expect("remove the marker");
        assert!(store.pipeline_counts_by_state().expect("counts").is_empty());
        store.db.flush().expect("flush");
    }
    let store = Store::open(dir.path()).expect("reopen");
    let counts = store.pipeline_counts_by_state().expect("counts");
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        [("received".to_owned(), 2)]
    );
}

#[test]
fn the_shard_of_the_previous_start_is_returned_when_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open");
    assert_eq!(store.replace_shard("0/2").expect("first"), None);
    assert_eq!(
        store.replace_shard("1/3").expect("second").as_deref(),
        Some("0/2")
    );
    assert_eq!(
        store.replace_shard("1/3").expect("same").as_deref(),
        Some("1/3")
    );
}

#[test]
fn every_work_item_of_a_mixed_batch_reaches_the_inbox() {
    let dir = TempDir::new().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let with_work = |id: &str| {
        let mut record = event(id, "pagure.git.receive");
        if let Record::Event { work, .. } = &mut record {
            *work = Some(format!("work of {id}").into_bytes());
        }
        record
    };
    // Messages that concern no package of ours come before, between and after the ones that do, and a
    // duplicate and a rejected message sit in between: as a shard instance sees a stream of pushes.
    store
        .commit_batch(&[event("seen-before", "pagure.git.receive")])
        .expect("first batch");
    let batch = [
        event("other-1", "pagure.git.receive"),
        with_work("ours-1"),
        event("seen-before", "pagure.git.receive"),
        event("other-2", "pagure.git.receive"),
        Record::Rejected {
            message_id: Some("bad".to_owned()),
            topic: "pagure.git.receive".to_owned(),
            reason: "invalid_json",
        },
        with_work("ours-2"),
        event("other-3", "pagure.git.receive"),
    ];
    store.commit_batch(&batch).expect("mixed batch");
    let items: Vec<String> = store
        .inbox_items(100)
        .expect("inbox")
        .into_iter()
        .map(|(_, raw)| String::from_utf8(raw).expect("utf-8"))
        .collect();
    assert_eq!(items, ["work of ours-1", "work of ours-2"]);
}

#[test]
fn recent_events_keep_the_newest_of_each_topic_across_many_batches() {
    let dir = TempDir::new().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    // A store from before chunks holds single events in the slots.
    let legacy = RecentEvent {
        seq: 1,
        message_id: "legacy".to_owned(),
        topic: "copr.build.end".to_owned(),
        kind: "copr_build".to_owned(),
        sent_at: None,
        received_at: 1,
        summary: "from schema 1".to_owned(),
    };
    store
        .recent
        .insert(
            b"copr.build.end\0\0\0\0\0\0\0\0\x01",
            serde_json::to_vec(&legacy).expect("encode"),
        )
        .expect("legacy slot");
    // More batches than slots, several events per batch, and a second topic interleaved.
    for batch in 0..(RECENT_PER_TOPIC + 5) {
        let mut records: Vec<Record> = (0..3)
            .map(|i| event(&format!("tag-{batch}-{i}"), "buildsys.tag"))
            .collect();
        if batch % 4 == 0 {
            records.push(event(&format!("push-{batch}"), "pagure.git.receive"));
        }
        store.commit_batch(&records).expect("commit");
    }
    let recent = store.recent_events(1000).expect("recent");
    let seqs = |topic: &str| -> Vec<u64> {
        recent
            .iter()
            .filter(|e| e.topic == topic)
            .map(|e| e.seq)
            .collect()
    };
    let tags = (RECENT_PER_TOPIC + 5) * 3;
    assert_eq!(
        seqs("buildsys.tag"),
        (tags - RECENT_PER_TOPIC + 1..=tags)
            .rev()
            .collect::<Vec<_>>(),
        "the newest {RECENT_PER_TOPIC} tags, newest first"
    );
    assert_eq!(
        seqs("pagure.git.receive"),
        (1..=7).rev().collect::<Vec<_>>()
    );
    assert_eq!(seqs("copr.build.end"), [1], "the legacy slot is read");
    assert_eq!(recent.len() as u64, RECENT_PER_TOPIC + 7 + 1);
    assert!(
        store
            .counters()
            .expect("counters")
            .by_topic
            .keys()
            .all(|t| !t.contains("chunk")),
        "chunk bookkeeping is not a topic"
    );
}
