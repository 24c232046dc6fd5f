//! The workload, drawn from the seed before anything runs: the watched packages with their central
//! `[[package]]` rules, the builds fedflow must make (one per relevant push, with the outcome Koji will
//! give it), and the stream of messages in its realistic mix. Nothing here depends on timing.

use crate::options::Options;
use crate::plan::dist_tag;
pub use crate::plan::{
    BUILT_BRANCHES, Build, Item, Malformed, OTHER_BRANCHES, OTHER_OWNER, OtherPush, Outcome,
    PUSHER, Planned, has_update_rule, target_of,
};
use std::collections::HashMap;

pub struct Workload {
    pub packages: Vec<String>,
    pub builds: Vec<Build>,
    pub stream: Vec<Planned>,
    by_commit: HashMap<String, usize>,
}

/// The mix, in messages per thousand.
const MIX: [(u32, &str); 10] = [
    (30, "relevant push"),
    (3, "repeated push"),
    (28, "other push of a watched package"),
    (122, "push of an unwatched package"),
    (375, "someone else's build"),
    (200, "tag"),
    (100, "copr"),
    (127, "bodhi"),
    (10, "malformed"),
    (5, "duplicate"),
];

impl Workload {
    pub fn draw(options: &Options) -> Workload {
        let mut rng = fastrand::Rng::with_seed(options.seed);
        let packages: Vec<String> = (0..options.packages)
            .map(|i| format!("soak-pkg-{i:05}"))
            .collect();
        let mut workload = Workload {
            packages,
            builds: Vec::new(),
            stream: Vec::with_capacity(options.messages),
            by_commit: HashMap::new(),
        };
        let total: u32 = MIX.iter().map(|(weight, _)| weight).sum();
        let mut serial = 0u64;
        while workload.stream.len() < options.messages {
            serial += 1;
            let mut pick = rng.u32(0..total);
            let kind = MIX
                .iter()
                .position(|(weight, _)| {
                    let hit = pick < *weight;
                    pick = pick.saturating_sub(*weight);
                    hit
                })
                .unwrap_or(0);
            let item = match kind {
                0 => workload.new_build(&mut rng, serial),
                1 if !workload.builds.is_empty() => {
                    Item::RepeatedPush(rng.usize(..workload.builds.len()))
                }
                2 => workload.other_push(&mut rng),
                3 => Item::OtherPush {
                    package: format!("other-pkg-{:05}", rng.usize(..options.packages * 4)),
                    branch: BUILT_BRANCHES[rng.usize(..3)],
                    commit: hex(&mut rng, 40),
                    how: OtherPush::Unwatched,
                },
                4 => Item::OthersBuild {
                    package: workload.some_package(&mut rng, 15),
                    nvr_serial: serial,
                    new_state: [0, 1, 1, 3, 4][rng.usize(..5)],
                },
                5 => Item::OthersTag {
                    package: workload.some_package(&mut rng, 15),
                    nvr_serial: serial,
                    tag: ["f43-updates-candidate", "f42-updates-testing", "f44"][rng.usize(..3)],
                },
                6 => Item::Copr {
                    end: rng.bool(),
                    owner: ["soak", "@soak", "someone"][rng.usize(..3)].to_owned(),
                    project: format!("project-{}", rng.u8(..20)),
                    build: 5_000_000 + rng.u64(..100_000),
                    chroot: ["fedora-rawhide-x86_64", "fedora-43-aarch64", "srpm-builds"]
                        [rng.usize(..3)],
                    package: workload.some_package(&mut rng, 10),
                },
                7 => Item::Bodhi {
                    sub_topic: ["request.testing", "complete.testing", "complete.stable"]
                        [rng.usize(..3)],
                    alias: format!("FEDORA-2026-{}", hex(&mut rng, 10)),
                    package: workload.some_package(&mut rng, 15),
                    nvr_serial: serial,
                    release: ["F43", "F42"][rng.usize(..2)],
                },
                8 => Item::Malformed(Malformed::ALL[rng.usize(..4)]),
                9 => match workload.earlier_well_formed(&mut rng) {
                    Some(index) => Item::Duplicate(index),
                    None => continue,
                },
                _ => continue,
            };
            let id = match &item {
                Item::Duplicate(index) => workload.stream[*index].id.clone(),
                _ => uuid(&mut rng),
            };
            workload.stream.push(Planned { id, item });
        }
        workload
    }

    fn new_build(&mut self, rng: &mut fastrand::Rng, serial: u64) -> Item {
        let package = rng.usize(..self.packages.len());
        let branch = BUILT_BRANCHES[rng.usize(..3)];
        let commit = hex(rng, 40);
        let outcome = match rng.u32(..100) {
            0..3 => Outcome::Failed,
            3..8 => Outcome::CompleteMessageDropped,
            _ => Outcome::Complete,
        };
        let nvr = format!(
            "{}-1.{serial}-1.{}",
            self.packages[package],
            dist_tag(branch)
        );
        self.by_commit.insert(commit.clone(), self.builds.len());
        self.builds.push(Build {
            package,
            branch,
            commit,
            nvr,
            outcome,
            duration_ms: rng.u64(300..=2_500),
        });
        Item::RelevantPush(self.builds.len() - 1)
    }

    fn other_push(&self, rng: &mut fastrand::Rng) -> Item {
        let how = [
            OtherPush::Fork,
            OtherPush::NoSpecChange,
            OtherPush::OtherBranch,
            OtherPush::NotAllowedPusher,
        ][rng.usize(..4)];
        let branch = match how {
            OtherPush::OtherBranch => OTHER_BRANCHES[rng.usize(..2)],
            _ => BUILT_BRANCHES[rng.usize(..3)],
        };
        Item::OtherPush {
            package: self.packages[rng.usize(..self.packages.len())].clone(),
            branch,
            commit: hex(rng, 40),
            how,
        }
    }

    /// A watched package `watched_percent` % of the time, else an unwatched one.
    fn some_package(&self, rng: &mut fastrand::Rng, watched_percent: u32) -> String {
        if rng.u32(..100) < watched_percent {
            self.packages[rng.usize(..self.packages.len())].clone()
        } else {
            format!("other-pkg-{:05}", rng.usize(..self.packages.len() * 4))
        }
    }

    fn earlier_well_formed(&self, rng: &mut fastrand::Rng) -> Option<usize> {
        if self.stream.is_empty() {
            return None;
        }
        let index = rng.usize(..self.stream.len());
        let well_formed = !matches!(
            self.stream[index].item,
            Item::Malformed(_) | Item::Duplicate(_)
        );
        well_formed.then_some(index)
    }

    /// The source commits of someone else's builds the stream completes (`others_build_commit`).
    pub fn others_completed_commits(&self) -> std::collections::HashSet<String> {
        self.stream
            .iter()
            .filter_map(|planned| match planned.item {
                Item::OthersBuild {
                    nvr_serial,
                    new_state: 1,
                    ..
                } => Some(others_build_commit(nvr_serial)),
                _ => None,
            })
            .collect()
    }

    /// The build of a relevant push, by its commit.
    pub fn build_of_commit(&self, commit: &str) -> Option<usize> {
        self.by_commit.get(commit).copied()
    }

    /// The `[[package]]` rules and the Copr projects fedflow tracks, appended to the daemon's configuration.
    pub fn config_sections(&self) -> String {
        let mut text = String::from("[copr]\nprojects = [\"soak/*\", \"@soak/*\"]\n\n");
        for (index, name) in self.packages.iter().enumerate() {
            text.push_str(&format!(
                "[[package]]\nname = \"{name}\"\n[package.koji_build]\nbranches = [\"rawhide\", \"f43\", \"f42\"]\nallowed_committers = [\"{PUSHER}\"]\n"
            ));
            if has_update_rule(index) {
                text.push_str(
                    "[package.bodhi_update]\nbranches = [\"fedora-stable\", \"rawhide\"]\n",
                );
            }
            text.push('\n');
        }
        text
    }

    /// How many stream messages are well-formed (each a distinct id fedflow records), malformed (rejected),
    /// and republished with an id already sent.
    pub fn counts(&self) -> (u64, u64, u64) {
        let (mut good, mut bad, mut again) = (0, 0, 0);
        for planned in &self.stream {
            match planned.item {
                Item::Malformed(_) => bad += 1,
                Item::Duplicate(_) => again += 1,
                _ => good += 1,
            }
        }
        (good, bad, again)
    }

    /// Malformed messages by fedflow's reason.
    pub fn malformed_by_reason(&self) -> HashMap<&'static str, u64> {
        let mut counts = HashMap::new();
        for planned in &self.stream {
            if let Item::Malformed(kind) = planned.item {
                *counts.entry(kind.reason()).or_default() += 1;
            }
        }
        counts
    }
}

/// The source commit of someone else's build: derived from its serial, unlike the random commits of pushes.
pub fn others_build_commit(serial: u64) -> String {
    format!("{serial:040x}")
}

/// `n` lowercase hex digits.
pub fn hex(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.u32(..16), 16).unwrap_or('0'))
        .collect()
}

/// A version-4 UUID from the RNG (fedora-messaging's message ids are UUIDs).
pub fn uuid(rng: &mut fastrand::Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}
