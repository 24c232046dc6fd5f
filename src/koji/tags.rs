//! The reads behind a Bodhi update's notes: which tags a build is in, the latest build of a package
//! in a tag, and a build's changelog (from its SRPM's headers). All anonymous.

use dxr::Value;
use serde_json::Value as Json;

use super::client::KojiClient;
use super::error::KojiError;
use super::types::{self, BuildInfo, CHANGELOG_HEADERS, ChangelogEntry, TagInfo};
use super::wire::{int, string};

impl KojiClient {
    /// `listTags(build=<nvr or id>)`: the tags a build is in. Koji answers an unknown build with the
    /// fault `GenericError: No such build: …`, passed on as [`KojiError::Fault`].
    pub async fn list_tags(&self, build: &str) -> Result<Vec<TagInfo>, KojiError> {
        let method = "listTags";
        // An all-digit argument is a build id for the hub's `get_build`; an NVR always has dashes.
        let build_ref = match build.parse::<i64>() {
            Ok(id) => int(id),
            Err(_) => string(build),
        };
        let reply = self
            .read(method, Vec::new(), vec![("build", build_ref)])
            .await?;
        self.decoded(method, types::list(reply, TagInfo::from_wire))
    }

    /// `getLatestBuilds(tag, package=<name>)`: the latest COMPLETE build of the package in the tag,
    /// following the tag's inheritance; `None` when there is none. An unknown tag is a fault.
    pub async fn latest_tagged_build(
        &self,
        tag: &str,
        package: &str,
    ) -> Result<Option<BuildInfo>, KojiError> {
        let method = "getLatestBuilds";
        let kwargs = vec![("package", string(package))];
        let reply = self.read(method, vec![string(tag)], kwargs).await?;
        let builds = self.decoded(method, types::list(reply, BuildInfo::from_wire))?;
        Ok(builds.into_iter().next())
    }

    /// The changelog of a build's SRPM, newest entry first as rpm stores it:
    /// `listRPMs(buildID=<id>, arches="src")`, then `getRPMHeaders(rpmID=<srpm id>, headers=[…])`.
    /// Empty when Koji has no such build, no SRPM for it, or the SRPM has no changelog.
    pub async fn changelog(&self, build_id: i64) -> Result<Vec<ChangelogEntry>, KojiError> {
        let Some(srpm_id) = self.srpm_id(build_id).await? else {
            return Ok(Vec::new());
        };
        let method = "getRPMHeaders";
        let headers = Value::Array(CHANGELOG_HEADERS.iter().map(|name| string(name)).collect());
        let kwargs = vec![("rpmID", int(srpm_id)), ("headers", headers)];
        let reply = self.read(method, Vec::new(), kwargs).await?;
        self.decoded(method, types::changelog_from_headers(reply))
    }

    /// The id of the build's source RPM, from `listRPMs`; `None` when there is none.
    async fn srpm_id(&self, build_id: i64) -> Result<Option<i64>, KojiError> {
        let method = "listRPMs";
        let kwargs = vec![("buildID", int(build_id)), ("arches", string("src"))];
        let reply = self.read(method, Vec::new(), kwargs).await?;
        let ids = types::list(reply, |row| {
            row.get("id")
                .and_then(Json::as_i64)
                .ok_or_else(|| format!("rpm row without an integer id: {}", types::json_kind(&row)))
        });
        Ok(self.decoded(method, ids)?.into_iter().next())
    }
}
