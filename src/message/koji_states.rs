//! Koji build and task states as they appear in `buildsys.*` messages: build states as integers,
//! task states as names in `old`/`new` but as integers in `info.state`. Unknown values decode to
//! an `Other*` variant so a new Koji state never makes a message undecodable.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::lenient::{self, IntegerVisitor};

/// Koji `BUILD_STATES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "i64")]
pub enum BuildState {
    Building,
    Complete,
    Deleted,
    Failed,
    Canceled,
    Other(i64),
}

impl BuildState {
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => Self::Building,
            1 => Self::Complete,
            2 => Self::Deleted,
            3 => Self::Failed,
            4 => Self::Canceled,
            other => Self::Other(other),
        }
    }

    pub fn code(self) -> i64 {
        match self {
            Self::Building => 0,
            Self::Complete => 1,
            Self::Deleted => 2,
            Self::Failed => 3,
            Self::Canceled => 4,
            Self::Other(code) => code,
        }
    }

    /// True for states a build never leaves on its own.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Complete | Self::Deleted | Self::Failed | Self::Canceled
        )
    }
}

impl From<BuildState> for i64 {
    fn from(state: BuildState) -> Self {
        state.code()
    }
}

impl<'de> Deserialize<'de> for BuildState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient::integer(deserializer).map(Self::from_code)
    }
}

impl fmt::Display for BuildState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Building => f.write_str("BUILDING"),
            Self::Complete => f.write_str("COMPLETE"),
            Self::Deleted => f.write_str("DELETED"),
            Self::Failed => f.write_str("FAILED"),
            Self::Canceled => f.write_str("CANCELED"),
            Self::Other(code) => write!(f, "state {code}"),
        }
    }
}

/// Koji `TASK_STATES`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskState {
    Free,
    Open,
    /// Finished successfully.
    Closed,
    Canceled,
    Assigned,
    Failed,
    /// An integer state this code does not know.
    OtherCode(i64),
    /// A state name this code does not know, as sent.
    OtherName(String),
}

impl TaskState {
    const NAMES: [(&'static str, TaskState); 6] = [
        ("FREE", TaskState::Free),
        ("OPEN", TaskState::Open),
        ("CLOSED", TaskState::Closed),
        ("CANCELED", TaskState::Canceled),
        ("ASSIGNED", TaskState::Assigned),
        ("FAILED", TaskState::Failed),
    ];

    pub fn from_code(code: i64) -> Self {
        usize::try_from(code)
            .ok()
            .and_then(|index| Self::NAMES.get(index))
            .map_or(Self::OtherCode(code), |(_, state)| state.clone())
    }

    /// Koji sends upper-case names; matching ignores case so `closed` is not a new state.
    pub fn from_name(name: &str) -> Self {
        Self::NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map_or_else(
                || Self::OtherName(name.to_owned()),
                |(_, state)| state.clone(),
            )
    }

    /// The Koji name, or `None` for an unknown state.
    pub fn name(&self) -> Option<&'static str> {
        Self::NAMES
            .iter()
            .find(|(_, state)| state == self)
            .map(|(name, _)| *name)
    }

    pub fn is_final(&self) -> bool {
        matches!(self, Self::Closed | Self::Canceled | Self::Failed)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name(), self) {
            (Some(name), _) => f.write_str(name),
            (None, Self::OtherName(name)) => f.write_str(name),
            (None, Self::OtherCode(code)) => write!(f, "state {code}"),
            (None, _) => f.write_str("?"),
        }
    }
}

/// Known states serialize as their names; unknown ones as they arrived (number or string).
impl Serialize for TaskState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (self.name(), self) {
            (Some(name), _) => serializer.serialize_str(name),
            (None, Self::OtherCode(code)) => serializer.serialize_i64(*code),
            (None, Self::OtherName(name)) => serializer.serialize_str(name),
            (None, _) => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for TaskState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TaskStateVisitor)
    }
}

struct TaskStateVisitor;

impl Visitor<'_> for TaskStateVisitor {
    type Value = TaskState;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a Koji task state name or number")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<TaskState, E> {
        Ok(TaskState::from_name(name))
    }

    fn visit_i64<E: de::Error>(self, code: i64) -> Result<TaskState, E> {
        Ok(TaskState::from_code(code))
    }

    fn visit_u64<E: de::Error>(self, code: u64) -> Result<TaskState, E> {
        IntegerVisitor.visit_u64(code).map(TaskState::from_code)
    }

    fn visit_f64<E: de::Error>(self, code: f64) -> Result<TaskState, E> {
        IntegerVisitor.visit_f64(code).map(TaskState::from_code)
    }
}
