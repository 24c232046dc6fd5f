//! What a workload is made of: the branches the rules build and how Bodhi treats them, the builds fedflow
//! must make with the fate Koji gives each, and the kinds of messages in the stream (pushes fedflow must
//! skip, other people's builds, malformed bodies, duplicates). [`crate::workload`] draws them from the seed.

/// The branches the Koji rule builds: rawhide (not composed by Bodhi: automatic updates) and two current
/// releases (composed by Bodhi: fedflow creates the updates).
pub const BUILT_BRANCHES: [&str; 3] = ["rawhide", "f43", "f42"];
/// Branches of watched packages the rules do not build (F44 is branched, EPEL 9 current).
pub const OTHER_BRANCHES: [&str; 2] = ["f44", "epel9"];
/// The account whose direct pushes the rules allow.
pub const PUSHER: &str = crate::support::pipeline_env::PUSHER;
/// The owner of the builds in the stream that are not fedflow's.
pub const OTHER_OWNER: &str = "bob";

/// Every tenth package has no `[package.bodhi_update]` rule: its builds end as `built`.
pub fn has_update_rule(package: usize) -> bool {
    package % 10 != 9
}

/// Whether Bodhi composes the branch's release (fedflow creates the update) or not (rawhide).
pub fn composed_by_bodhi(branch: &str) -> bool {
    branch != "rawhide"
}

/// The Koji target and its destination (candidate) tag of a built branch.
pub fn target_of(branch: &str) -> (String, String) {
    match branch {
        "rawhide" => ("rawhide".to_owned(), "f45-updates-candidate".to_owned()),
        other => (
            format!("{other}-candidate"),
            format!("{other}-updates-candidate"),
        ),
    }
}

pub fn dist_tag(branch: &str) -> &'static str {
    match branch {
        "rawhide" => "fc45",
        "f43" => "fc43",
        _ => "fc42",
    }
}

/// How Koji ends a build fedflow submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    /// COMPLETE, but the `buildsys.build.state.change` message is never published: the reconciler must find it.
    CompleteMessageDropped,
    Failed,
}

impl Outcome {
    pub fn completes(self) -> bool {
        self != Outcome::Failed
    }
}

/// A build fedflow must submit: one per relevant push.
#[derive(Debug, Clone)]
pub struct Build {
    pub package: usize,
    pub branch: &'static str,
    pub commit: String,
    pub nvr: String,
    pub outcome: Outcome,
    /// How long Koji takes, from the task's start to its end.
    pub duration_ms: u64,
}

impl Build {
    /// Whether fedflow must create this build's Bodhi update itself.
    pub fn wants_created_update(&self) -> bool {
        self.outcome.completes() && has_update_rule(self.package) && composed_by_bodhi(self.branch)
    }

    /// Whether Bodhi makes this build's update itself (fedflow only finds it).
    pub fn wants_automatic_update(&self) -> bool {
        self.outcome.completes() && has_update_rule(self.package) && !composed_by_bodhi(self.branch)
    }
}

/// A push fedflow must not build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherPush {
    /// To a fork of a watched package.
    Fork,
    /// A watched package, no `.spec` change.
    NoSpecChange,
    /// A watched package, a branch its rule does not build.
    OtherBranch,
    /// A watched package, by someone not in `allowed_committers`.
    NotAllowedPusher,
    /// A package nobody watches.
    Unwatched,
}

/// A body that must be rejected, by the reason fedflow counts it under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    InvalidJson,
    NotAnObject,
    MissingField,
    InvalidUtf8,
}

impl Malformed {
    pub const ALL: [Malformed; 4] = [
        Malformed::InvalidJson,
        Malformed::NotAnObject,
        Malformed::MissingField,
        Malformed::InvalidUtf8,
    ];

    /// fedflow's `rejected_by_reason` key.
    pub fn reason(self) -> &'static str {
        match self {
            Malformed::InvalidJson => "invalid_json",
            Malformed::NotAnObject => "not_an_object",
            Malformed::MissingField => "missing_field",
            Malformed::InvalidUtf8 => "invalid_utf8",
        }
    }
}

/// One message of the stream.
#[derive(Debug, Clone)]
pub enum Item {
    /// The push of `builds[index]`.
    RelevantPush(usize),
    /// The push of `builds[index]` again under a new message id (republished by the sender).
    RepeatedPush(usize),
    OtherPush {
        package: String,
        branch: &'static str,
        commit: String,
        how: OtherPush,
    },
    /// A build state change of someone else's build (watched package or not).
    OthersBuild {
        package: String,
        nvr_serial: u64,
        new_state: i64,
    },
    OthersTag {
        package: String,
        nvr_serial: u64,
        tag: &'static str,
    },
    Copr {
        end: bool,
        owner: String,
        project: String,
        build: u64,
        chroot: &'static str,
        package: String,
    },
    Bodhi {
        sub_topic: &'static str,
        alias: String,
        package: String,
        nvr_serial: u64,
        release: &'static str,
    },
    Malformed(Malformed),
    /// The well-formed message at this earlier position of the stream again, with the same id.
    Duplicate(usize),
}

/// A message of the stream and its id.
#[derive(Debug, Clone)]
pub struct Planned {
    pub id: String,
    pub item: Item,
}
