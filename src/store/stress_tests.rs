//! The consume path's batch commits, the engine's pipeline transactions and flushes running at the same
//! time on one store: every work item committed with a message ends up as exactly one pipeline. As on the
//! bus, messages that carry no work are mixed in with the ones that do.

use super::*;
use crate::pipeline::{Pipeline, PushFacts, PushKey};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tempfile::TempDir;

const BATCHES: usize = 300;
const PER_BATCH: usize = 20;

/// Every third message concerns no package of ours.
fn carries_work(n: usize) -> bool {
    !n.is_multiple_of(3)
}

fn push_record(n: usize) -> Record {
    Record::Event {
        message_id: format!("msg-{n}"),
        topic: "pagure.git.receive".to_owned(),
        sent_at: None,
        kind: "distgit_push".to_owned(),
        summary: format!("push {n}"),
        work: carries_work(n).then(|| format!("pkg-{n}").into_bytes()),
        copr: None,
    }
}

fn push_key(package: &str) -> PushKey {
    PushKey {
        package: package.to_owned(),
        branch: "f43".to_owned(),
        commit: "0".repeat(40),
    }
}

fn pipeline_of(key: &PushKey, id: u64) -> Pipeline {
    Pipeline::new(
        id,
        key.clone(),
        String::new(),
        "alice".to_owned(),
        None,
        String::new(),
        PushFacts::default(),
        0,
    )
}

/// What the engine does with the inbox: every item becomes a pipeline, and the item goes with it.
fn drain(store: &Store) -> usize {
    let mut created = 0;
    loop {
        let items = store.inbox_items(64).expect("inbox");
        if items.is_empty() {
            return created;
        }
        for (inbox_key, raw) in items {
            let key = push_key(std::str::from_utf8(&raw).expect("utf-8"));
            match store
                .create_pipeline(&key, Some(inbox_key), |id| pipeline_of(&key, id))
                .expect("create")
            {
                Created::New(pipeline) => {
                    created += 1;
                    // A step right after creation, as the engine runs one.
                    store
                        .update_pipeline(pipeline.id, None, |p| p.updated_at += 1)
                        .expect("update");
                }
                Created::Existing(_) => {}
            }
        }
    }
}

#[test]
fn concurrent_commits_and_pipeline_creation_lose_no_work() {
    let dir = TempDir::new().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open"));
    let done = Arc::new(AtomicBool::new(false));

    let consumer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for batch in 0..BATCHES {
                let records: Vec<Record> = (0..PER_BATCH)
                    .map(|i| push_record(batch * PER_BATCH + i))
                    .collect();
                let dispositions = store.commit_batch(&records).expect("commit");
                assert!(dispositions.iter().all(|d| *d == Disposition::Recorded));
            }
        })
    };
    let flusher = {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                store.db.flush().expect("flush");
            }
        })
    };
    let engine = {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            let mut created = 0;
            while !done.load(Ordering::Acquire) {
                created += drain(&store);
            }
            created + drain(&store)
        })
    };
    consumer.join().expect("consumer");
    done.store(true, Ordering::Release);
    flusher.join().expect("flusher");
    let created = engine.join().expect("engine") + drain(&store);

    let messages = BATCHES * PER_BATCH;
    let expected = (0..messages).filter(|n| carries_work(*n)).count();
    let counters = store.counters().expect("counters");
    assert_eq!(counters.received, messages as u64);
    assert_eq!(store.inbox_len(), 0, "the inbox is empty");
    assert_eq!(created, expected, "one pipeline per work item");
    assert_eq!(store.pipeline_count(), expected);
    for n in (0..messages).filter(|n| carries_work(*n)) {
        let key = push_key(&format!("pkg-{n}"));
        assert!(
            store.pipeline_by_push(&key).expect("read").is_some(),
            "pkg-{n} has no pipeline"
        );
    }
}
