//! The entry point of the XML-RPC response fuzzer (`fuzz/fuzz_targets/xmlrpc_response.rs`): a hub's
//! response body through the decoding every call applies, and a decoded value through every typed
//! reading the client makes of a reply. Hidden from the documentation: it is not API for anything else.

use serde_json::Value as Json;

use super::types::{self, BuildInfo, BuildTarget, ChangelogEntry, TagInfo, TaskInfo};
pub use super::wire::{Reply, decode_response};

/// A reply value read as each method's answer, as the client reads it.
#[derive(Debug)]
pub struct Readings {
    /// `getBuild`
    pub build: Result<Option<BuildInfo>, String>,
    /// `listBuilds`, `getLatestBuilds`
    pub builds: Result<Vec<BuildInfo>, String>,
    /// `getTaskInfo`
    pub task: Result<Option<TaskInfo>, String>,
    /// `listTasks`
    pub tasks: Result<Vec<TaskInfo>, String>,
    /// `getBuildTarget`
    pub target: Result<Option<BuildTarget>, String>,
    /// `listTags`
    pub tags: Result<Vec<TagInfo>, String>,
    /// `getRPMHeaders` with the changelog headers
    pub changelog: Result<Vec<ChangelogEntry>, String>,
}

/// Reads `value` as the answer to each method whose answer the client decodes into a type.
pub fn read_value(value: &Json) -> Readings {
    Readings {
        build: types::optional(value.clone(), BuildInfo::from_wire),
        builds: types::list(value.clone(), BuildInfo::from_wire),
        task: types::optional(value.clone(), TaskInfo::from_wire),
        tasks: types::list(value.clone(), TaskInfo::from_wire),
        target: types::optional(value.clone(), BuildTarget::from_wire),
        tags: types::list(value.clone(), TagInfo::from_wire),
        changelog: types::changelog_from_headers(value.clone()),
    }
}
