//! The operations of the pipeline property test — what happens around fedflow, in any order — and how
//! proptest draws them.

use super::world::Ending;
use super::{BRANCHES, COMMITS, PACKAGES};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// Koji methods the engine calls that a fault may hit.
const METHODS: [&str; 5] = [
    "build",
    "getBuildTarget",
    "getTaskInfo",
    "listBuilds",
    "listTasks",
];

#[derive(Debug, Clone)]
pub enum Op {
    /// A push of `commit` of `package` to `branch`, under a new message id.
    Push {
        package: usize,
        branch: usize,
        commit: u8,
    },
    /// An earlier push again: redelivered (`same_id`) or published anew.
    RepeatPush {
        which: usize,
        same_id: bool,
    },
    /// The builders start the `which`-th unfinished task's build.
    StartBuild {
        which: usize,
    },
    /// The `which`-th unfinished task's build ends.
    EndBuild {
        which: usize,
        ending: Ending,
    },
    /// The `which`-th waiting message is delivered (messages arrive in any order).
    Deliver {
        which: usize,
    },
    /// It is delivered and stays waiting: it arrives again later.
    Duplicate {
        which: usize,
    },
    /// It is lost, if it is a build state message: the reconciler finds what those said.
    Lose {
        which: usize,
    },
    /// The engine takes everything queued.
    Settle,
    /// The reconciler asks Koji about the pipelines that wait on it.
    Poll,
    Crash,
    Koji(KojiFault),
    /// Bodhi answers the next request with HTTP 503.
    BodhiUnavailable,
}

#[derive(Debug, Clone, Copy)]
pub enum KojiFault {
    /// HTTP 503 for the next call of the method.
    Unavailable(&'static str),
    /// A `ServerOffline` fault for the next call of the method.
    Offline(&'static str),
    /// `build` answers RetryError without building.
    BuildRetryError,
    /// `build` creates the task but answers after fedflow stopped waiting.
    BuildAcceptedThenTimeout,
}

pub fn op() -> impl Strategy<Value = Op> {
    let which = 0usize..8;
    let fault = prop_oneof![
        proptest::sample::select(&METHODS[..]).prop_map(KojiFault::Unavailable),
        proptest::sample::select(&METHODS[..]).prop_map(KojiFault::Offline),
        Just(KojiFault::BuildRetryError),
        Just(KojiFault::BuildAcceptedThenTimeout),
    ];
    prop_oneof![
        4 => (0..PACKAGES.len(), 0..BRANCHES.len(), 0..COMMITS)
            .prop_map(|(package, branch, commit)| Op::Push { package, branch, commit }),
        2 => (which.clone(), any::<bool>()).prop_map(|(which, same_id)| Op::RepeatPush { which, same_id }),
        2 => which.clone().prop_map(|which| Op::StartBuild { which }),
        3 => (which.clone(), prop_oneof![3 => Just(Ending::Complete), 1 => Just(Ending::Failed)])
            .prop_map(|(which, ending)| Op::EndBuild { which, ending }),
        4 => which.clone().prop_map(|which| Op::Deliver { which }),
        2 => which.clone().prop_map(|which| Op::Duplicate { which }),
        1 => which.prop_map(|which| Op::Lose { which }),
        1 => Just(Op::Settle),
        1 => Just(Op::Poll),
        2 => Just(Op::Crash),
        1 => fault.prop_map(Op::Koji),
        1 => Just(Op::BodhiUnavailable),
    ]
}

/// `FEDFLOW_PROPTEST_CASES` cases (else `default`), no failure files: a failing run prints its seed.
pub fn config(default: u32) -> Config {
    let cases = std::env::var("FEDFLOW_PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    let mut config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    };
    if config.rng_seed == RngSeed::Random {
        let seed = fastrand::u64(..);
        println!("pipeline property test seed {seed} (PROPTEST_RNG_SEED={seed} replays it)");
        config.rng_seed = RngSeed::Fixed(seed);
    }
    config
}
