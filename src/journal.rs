//! Stable journal `MESSAGE_ID`s of fedflow's lifecycle events. Each id has an entry in
//! `systemd/fedflow.catalog` (what happened, what to do), so `journalctl -x` explains it and
//! `journalctl MESSAGE_ID=…` finds every occurrence across restarts and versions.
//!
//! Events carry the id in their `message_id` field, which the journald layer (field prefix off) writes as
//! `MESSAGE_ID`. For that reason an AMQP message id is always logged as `amqp_message_id`.

/// A message could not be decoded or is not fedora-messaging's; it was rejected (dead-lettered).
pub const MESSAGE_REJECTED: &str = "35b79e93431e40d18c0540ae58340976";
/// A dist-git push of a watched package made a new pipeline.
pub const PIPELINE_CREATED: &str = "8921ffe8604c4344a91670cb7357b2a9";
/// Koji accepted fedflow's `build` call: the pipeline has a task.
pub const BUILD_SUBMITTED: &str = "56714cf375b346968f1ab3291bcc2c1e";
/// The pipeline's Koji build completed.
pub const BUILD_FINISHED: &str = "50fafbebcbb94613a74bdbb63dc5f14d";
/// The pipeline's Koji task or build failed or was canceled.
pub const BUILD_FAILED: &str = "eb44969413fb42a4b515628cb33f8864";
/// The pipeline failed for another reason (a refused call, a wait that gave up, a bad configuration).
pub const PIPELINE_FAILED: &str = "3dc532ead8a44e4bbf64ecc5209b07b9";
/// fedflow created a Bodhi update.
pub const UPDATE_CREATED: &str = "8f9c71d86ca141539509a465872b440e";
/// The build is in a Bodhi update fedflow did not create: an existing one, or Bodhi's automatic one.
pub const UPDATE_FOUND: &str = "f586b7102d5e4e5795126fe388a37854";
/// Bodhi should have made an automatic update for the build, and there is none.
pub const AUTOMATIC_UPDATE_MISSING: &str = "8e3e01d2ca634777bb3e53473d59c9a2";
/// A pipeline stopped where only an operator can go on.
pub const NEEDS_ATTENTION: &str = "ed8a1c113b244cfbaafba461dabb42b7";
/// The broker connection was lost or refused (first failure of an outage).
pub const BROKER_DISCONNECTED: &str = "f8dba73fef6a4d139791cff0a0614f7d";
/// The broker connection is back after an outage.
pub const BROKER_RECONNECTED: &str = "f92d9a88f8f34d448bae7d73e6f605ac";

/// A chroot build of a tracked Copr project failed.
pub const COPR_BUILD_FAILED: &str = "59dc7ae14c58458c86a03a8925820be7";

/// Every id with a short name, for the catalog check and the README.
pub const ALL: [(&str, &str); 13] = [
    ("message rejected", MESSAGE_REJECTED),
    ("pipeline created", PIPELINE_CREATED),
    ("Koji build submitted", BUILD_SUBMITTED),
    ("build finished", BUILD_FINISHED),
    ("build failed", BUILD_FAILED),
    ("pipeline failed", PIPELINE_FAILED),
    ("update created", UPDATE_CREATED),
    ("update found", UPDATE_FOUND),
    ("automatic update missing", AUTOMATIC_UPDATE_MISSING),
    ("pipeline needs attention", NEEDS_ATTENTION),
    ("broker disconnected", BROKER_DISCONNECTED),
    ("broker reconnected", BROKER_RECONNECTED),
    ("Copr build failed", COPR_BUILD_FAILED),
];

#[cfg(test)]
mod tests {
    use super::ALL;
    use std::collections::BTreeSet;

    const CATALOG: &str = include_str!("../systemd/fedflow.catalog");

    #[test]
    fn ids_are_unique_128_bit_hex() {
        let ids: BTreeSet<&str> = ALL.iter().map(|(_, id)| *id).collect();
        assert_eq!(ids.len(), ALL.len(), "an id is used twice");
        for (name, id) in ALL {
            assert!(
                id.len() == 32
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{name}: {id} is not 32 lower-case hex digits"
            );
        }
    }

    #[test]
    fn the_readme_lists_every_id() {
        let readme = include_str!("../README.md");
        for (name, id) in ALL {
            assert!(readme.contains(id), "README lacks {name} ({id})");
        }
    }

    #[test]
    fn the_catalog_has_exactly_one_entry_per_id() {
        let entries: Vec<&str> = CATALOG
            .lines()
            .filter_map(|line| line.strip_prefix("-- "))
            .collect();
        let ids: BTreeSet<&str> = ALL.iter().map(|(_, id)| *id).collect();
        assert_eq!(entries.len(), ids.len(), "catalog entries: {entries:?}");
        assert_eq!(entries.iter().copied().collect::<BTreeSet<_>>(), ids);
        for entry in CATALOG.split("\n-- ").skip(1) {
            assert!(entry.contains("\nSubject: "), "no Subject: {entry}");
            assert!(
                entry.contains("\nDefined-By: fedflow\n"),
                "no Defined-By: {entry}"
            );
        }
    }
}
