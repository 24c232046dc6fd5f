//! Opening stores written by older fedflow versions: each schema's layout is moved to the current one.

use super::tests::event;
use super::*;
use tempfile::TempDir;

#[test]
fn counters_kept_one_per_key_by_schema_1_are_carried_over() {
    let dir = TempDir::new().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        store
            .meta
            .insert(SCHEMA_KEY, &1u32.to_be_bytes())
            .expect("schema 1");
        for (name, value) in [
            ("received", 7u64),
            ("duplicates", 2),
            ("topic/buildsys.tag", 7),
            ("reason/invalid_json", 1),
            ("rejected", 1),
            ("copr/@python/python3.14\0succeeded", 4),
        ] {
            store
                .counters
                .insert(name, &value.to_be_bytes())
                .expect("legacy counter");
        }
        store.db.flush().expect("flush");
    }
    let store = Store::open(dir.path()).expect("reopen");
    store
        .commit_batch(&[event("after-upgrade", "buildsys.tag")])
        .expect("commit");
    let counters = store.counters().expect("counters");
    assert_eq!(
        (counters.received, counters.duplicates, counters.rejected),
        (8, 2, 1)
    );
    assert_eq!(counters.by_topic.get("buildsys.tag"), Some(&8));
    assert_eq!(counters.rejected_by_reason.get("invalid_json"), Some(&1));
    assert_eq!(
        store
            .copr_counts()
            .expect("copr")
            .into_iter()
            .collect::<Vec<_>>(),
        [(("@python/python3.14".to_owned(), "succeeded".to_owned()), 4)]
    );
    assert_eq!(store.counters.len(), 1, "the legacy keys are gone");
    let version = store.meta.get(SCHEMA_KEY).expect("read").expect("set");
    assert_eq!(version.as_ref(), SCHEMA_VERSION.to_be_bytes());
}

#[test]
fn message_ids_kept_one_per_key_are_moved_into_buckets() {
    let dir = TempDir::new().expect("tempdir");
    let ids: Vec<String> = (0..2500).map(|n| format!("legacy-{n}")).collect();
    {
        let store = Store::open(dir.path()).expect("open");
        store
            .meta
            .insert(SCHEMA_KEY, &2u32.to_be_bytes())
            .expect("schema 2");
        for (n, id) in ids.iter().enumerate() {
            // Schema 2's value: u64 received_at, u8 outcome.
            let mut value = (1_000 + n as u64).to_be_bytes().to_vec();
            value.push(1);
            store.legacy_seen.insert(id, value).expect("legacy id");
        }
        store.db.flush().expect("flush");
    }
    let store = Store::open(dir.path()).expect("reopen");
    assert!(store.legacy_seen.is_empty(), "every legacy id was moved");
    assert!(ids.iter().all(|id| store.has_seen(id).expect("seen")));
    // A redelivery of a message recorded before the upgrade is still a duplicate.
    let again = store
        .commit_batch(&[
            event("legacy-7", "buildsys.tag"),
            event("new", "buildsys.tag"),
        ])
        .expect("commit");
    assert_eq!(again, [Disposition::Duplicate, Disposition::Recorded]);
    // Purging by time works on the moved entries: ids 0..1000 were received before 2000.
    assert_eq!(store.purge_received_before(2_000).expect("purge"), 1_000);
    assert!(!store.has_seen("legacy-999").expect("seen"));
    assert!(store.has_seen("legacy-1000").expect("seen"));
    assert!(store.has_seen("new").expect("seen"));
}
