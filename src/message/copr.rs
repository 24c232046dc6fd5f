//! Copr events: `copr.build.start` and `copr.build.end`, one message per build chroot, in the flat
//! fedmsg-era body layout.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::lenient;

/// The chroot name Copr uses for the SRPM (source) build step.
const SRPM_CHROOT: &str = "srpm-builds";

/// `copr.build.start` / `copr.build.end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoprBuild {
    /// Always `running` on start; `failed`, `succeeded`, `canceled` (rarely `skipped`) on end.
    pub status: CoprStatus,
    /// e.g. `fedora-rawhide-x86_64`, or `srpm-builds` for the SRPM step.
    pub chroot: String,
    #[serde(deserialize_with = "lenient::integer")]
    pub build: i64,
    /// Project owner; `@name` for group projects.
    pub owner: String,
    /// Project name.
    pub copr: String,
    /// Null when Copr does not know the package yet (e.g. the SRPM step).
    pub pkg: Option<String>,
    /// `[epoch:]version-release`, or null.
    pub version: Option<String>,
    /// Who submitted the build; may be `github.com:<user>`.
    pub user: Option<String>,
    /// Copr's own one-line summary.
    pub what: Option<String>,
    /// Builder address, IPv4 or IPv6, or null.
    pub ip: Option<String>,
    pub who: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_integer")]
    pub pid: Option<i64>,
}

impl CoprBuild {
    pub fn package(&self) -> Option<&str> {
        self.pkg.as_deref()
    }

    /// `owner/project`, as Copr URLs and the CLI spell it.
    pub fn project(&self) -> String {
        format!("{}/{}", self.owner, self.copr)
    }

    pub fn is_srpm_build(&self) -> bool {
        self.chroot == SRPM_CHROOT
    }

    /// `ended`: true for `copr.build.end`, false for `copr.build.start`.
    pub(super) fn summary(&self, ended: bool) -> String {
        let what = match (&self.pkg, &self.version) {
            (Some(pkg), Some(version)) => format!("{pkg}-{version}"),
            (Some(pkg), None) => pkg.clone(),
            (None, _) => "(package unknown)".to_owned(),
        };
        let outcome = if ended {
            self.status.to_string()
        } else {
            "started".to_owned()
        };
        format!(
            "copr build {} {} {what} {} {outcome}",
            self.build,
            self.project(),
            self.chroot
        )
    }
}

/// copr-common `StatusEnum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "i64")]
pub enum CoprStatus {
    Failed,
    Succeeded,
    Canceled,
    Running,
    Pending,
    Skipped,
    Starting,
    Importing,
    Forked,
    Waiting,
    Unknown,
    /// A number copr-common did not have when this was written.
    Other(i64),
}

impl CoprStatus {
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => Self::Failed,
            1 => Self::Succeeded,
            2 => Self::Canceled,
            3 => Self::Running,
            4 => Self::Pending,
            5 => Self::Skipped,
            6 => Self::Starting,
            7 => Self::Importing,
            8 => Self::Forked,
            9 => Self::Waiting,
            1000 => Self::Unknown,
            other => Self::Other(other),
        }
    }

    pub fn code(self) -> i64 {
        match self {
            Self::Failed => 0,
            Self::Succeeded => 1,
            Self::Canceled => 2,
            Self::Running => 3,
            Self::Pending => 4,
            Self::Skipped => 5,
            Self::Starting => 6,
            Self::Importing => 7,
            Self::Forked => 8,
            Self::Waiting => 9,
            Self::Unknown => 1000,
            Self::Other(code) => code,
        }
    }

    /// copr-common's lower-case name, or `None` for [`CoprStatus::Other`].
    pub fn name(self) -> Option<&'static str> {
        let name = match self {
            Self::Failed => "failed",
            Self::Succeeded => "succeeded",
            Self::Canceled => "canceled",
            Self::Running => "running",
            Self::Pending => "pending",
            Self::Skipped => "skipped",
            Self::Starting => "starting",
            Self::Importing => "importing",
            Self::Forked => "forked",
            Self::Waiting => "waiting",
            Self::Unknown => "unknown",
            Self::Other(_) => return None,
        };
        Some(name)
    }
}

impl From<CoprStatus> for i64 {
    fn from(status: CoprStatus) -> Self {
        status.code()
    }
}

impl<'de> Deserialize<'de> for CoprStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient::integer(deserializer).map(Self::from_code)
    }
}

impl fmt::Display for CoprStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "status {}", self.code()),
        }
    }
}
