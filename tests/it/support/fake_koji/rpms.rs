//! The fake hub's RPM rows and their headers: each COMPLETE build gets a source RPM whose changelog
//! `getRPMHeaders` serves as koji does (parallel `changelogtime`/`changelogname`/`changelogtext`
//! lists), and `listRPMs` lists. Tests replace a build's changelog with [`FakeKoji::set_changelog`].

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value as Json, json};

use super::hub::{Call, Fault, GENERIC_ERROR, Hub, PARAMETER_ERROR, fault};
use super::{FakeBuild, FakeKoji};

/// One changelog entry: unix time, the header line after the date, the text.
pub type FakeChangelogEntry = (i64, String, String);

/// An `rpminfo` row.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeRpm {
    pub id: i64,
    pub build_id: i64,
    pub name: String,
    pub version: String,
    pub release: String,
    pub arch: String,
}

/// The RPMs of all builds and the changelogs in their headers.
pub struct Rpms {
    pub rows: BTreeMap<i64, FakeRpm>,
    /// By build id: every RPM of a build carries its SRPM's changelog.
    pub changelogs: HashMap<i64, Vec<FakeChangelogEntry>>,
    /// Hand back single-element header arrays as bare values, as older rpm bindings did.
    pub scalar_single_values: bool,
    next_id: i64,
}

impl Rpms {
    pub fn new() -> Rpms {
        Rpms {
            rows: BTreeMap::new(),
            changelogs: HashMap::new(),
            scalar_single_values: false,
            next_id: 41_000_001,
        }
    }

    /// Adds the source RPM of a build (once) with a one-entry changelog dated the build's day.
    pub fn add_srpm(&mut self, build_id: i64, nvr: (&str, &str, &str), created_ts: f64) {
        if self.srpm_of(build_id).is_some() {
            return;
        }
        let (name, version, release) = nvr;
        let id = self.next_id;
        self.next_id += 1;
        let row = FakeRpm {
            id,
            build_id,
            name: name.to_owned(),
            version: version.to_owned(),
            release: release.to_owned(),
            arch: "src".to_owned(),
        };
        self.rows.insert(id, row);
        let day = (created_ts as i64).div_euclid(86_400) * 86_400;
        let author = format!("Fedflow Tester <tester@example.org> - {version}-{release}");
        self.changelogs
            .entry(build_id)
            .or_insert_with(|| vec![(day, author, "- Automatic build".to_owned())]);
    }

    fn srpm_of(&self, build_id: i64) -> Option<&FakeRpm> {
        self.rows
            .values()
            .find(|rpm| rpm.build_id == build_id && rpm.arch == "src")
    }

    fn row_json(rpm: &FakeRpm) -> Json {
        json!({
            "id": rpm.id,
            "name": rpm.name,
            "version": rpm.version,
            "release": rpm.release,
            "nvr": format!("{}-{}-{}", rpm.name, rpm.version, rpm.release),
            "arch": rpm.arch,
            "epoch": null,
            "payloadhash": format!("{:032x}", rpm.id),
            "size": 52_344,
            "buildtime": 1_709_640_000,
            "build_id": rpm.build_id,
            "buildroot_id": 60_000_000 + rpm.build_id % 1_000_000,
            "external_repo_id": 0,
            "external_repo_name": "INTERNAL",
            "metadata_only": false,
            "extra": null,
            "draft": false,
        })
    }

    /// One header column: a list, or (legacy mode) a bare value for a single element.
    fn column(&self, values: Vec<Json>) -> Json {
        if self.scalar_single_values && values.len() == 1 {
            values.into_iter().next().unwrap_or(Json::Null)
        } else {
            Json::Array(values)
        }
    }
}

impl Hub {
    /// Stores a build row; a COMPLETE build also gets its SRPM (builds that fail import no RPMs).
    pub(super) fn insert_build(&mut self, build: FakeBuild) {
        if build.state == 1 {
            let nvr = (
                build.name.as_str(),
                build.version.as_str(),
                build.release.as_str(),
            );
            self.rpms.add_srpm(build.build_id, nvr, build.creation_ts);
        }
        self.builds.insert(build.build_id, build);
    }

    pub(super) fn list_rpms(&self, call: &Call) -> Result<Json, Fault> {
        call.reject_unknown_kwargs(&["buildID", "buildrootID", "arches", "queryOpts", "draft"])?;
        let build_id = call.arg(0, "buildID").and_then(Json::as_i64);
        let arches: Option<Vec<&str>> = match call.arg(5, "arches") {
            None | Some(Json::Null) => None,
            Some(Json::String(arch)) => Some(vec![arch.as_str()]),
            Some(Json::Array(list)) => Some(list.iter().filter_map(Json::as_str).collect()),
            Some(other) => {
                return Err(fault(
                    GENERIC_ERROR,
                    format!("Invalid type for arches: {other}"),
                ));
            }
        };
        let rows = self.rpms.rows.values().filter(|rpm| {
            build_id.is_none_or(|id| rpm.build_id == id)
                && arches
                    .as_ref()
                    .is_none_or(|arches| arches.contains(&rpm.arch.as_str()))
        });
        Ok(Json::Array(rows.map(Rpms::row_json).collect()))
    }

    /// `getRPMHeaders(rpmID, taskID, filepath, headers, strict)`: `{}` for an unknown RPM unless
    /// `strict`, as the hub does.
    pub(super) fn get_rpm_headers(&self, call: &Call) -> Result<Json, Fault> {
        call.reject_unknown_kwargs(&["rpmID", "headers", "strict"])?;
        let strict = call.arg(4, "strict") == Some(&Json::Bool(true));
        let rpm = match call.arg(0, "rpmID") {
            Some(Json::Number(id)) => id.as_i64().and_then(|id| self.rpms.rows.get(&id)),
            Some(other) => return Err(fault(PARAMETER_ERROR, format!("fake hub: rpmID {other}"))),
            None => {
                return Err(fault(
                    PARAMETER_ERROR,
                    "fake hub: getRPMHeaders needs rpmID",
                ));
            }
        };
        let Some(rpm) = rpm else {
            return if strict {
                Err(fault(GENERIC_ERROR, "No such rpm"))
            } else {
                Ok(json!({}))
            };
        };
        let Some(Json::Array(names)) = call.arg(3, "headers") else {
            return Err(fault(
                PARAMETER_ERROR,
                "fake hub: getRPMHeaders needs a headers list",
            ));
        };
        let changelog = self
            .rpms
            .changelogs
            .get(&rpm.build_id)
            .cloned()
            .unwrap_or_default();
        let mut answer = Map::new();
        for name in names {
            let name = name.as_str().unwrap_or_default();
            let value = match name {
                "changelogtime" => self
                    .rpms
                    .column(changelog.iter().map(|(time, _, _)| json!(time)).collect()),
                "changelogname" => self
                    .rpms
                    .column(changelog.iter().map(|(_, who, _)| json!(who)).collect()),
                "changelogtext" => self
                    .rpms
                    .column(changelog.iter().map(|(_, _, text)| json!(text)).collect()),
                "name" => json!(rpm.name),
                "version" => json!(rpm.version),
                "release" => json!(rpm.release),
                "arch" => json!(rpm.arch),
                other => {
                    return Err(fault(
                        GENERIC_ERROR,
                        format!("No such rpm header field: {other}"),
                    ));
                }
            };
            answer.insert(name.to_owned(), value);
        }
        Ok(Json::Object(answer))
    }
}

impl FakeKoji {
    /// Replaces a build's changelog (newest entry first, as rpm stores it), adding its SRPM row if it
    /// has none yet.
    pub fn set_changelog<A: Into<String>, T: Into<String>>(
        &self,
        build_id: i64,
        entries: Vec<(i64, A, T)>,
    ) {
        let mut hub = self.hub();
        let build = hub
            .builds
            .get(&build_id)
            .unwrap_or_else(|| panic!("set_changelog: no build {build_id}"))
            .clone();
        let nvr = (
            build.name.as_str(),
            build.version.as_str(),
            build.release.as_str(),
        );
        hub.rpms.add_srpm(build_id, nvr, build.creation_ts);
        let entries = entries
            .into_iter()
            .map(|(time, author, text)| (time, author.into(), text.into()))
            .collect();
        hub.rpms.changelogs.insert(build_id, entries);
    }

    /// Makes `getRPMHeaders` answer a single-element header as a bare value instead of a list.
    pub fn set_scalar_single_header_values(&self, on: bool) {
        self.hub().rpms.scalar_single_values = on;
    }

    pub fn rpms(&self) -> Vec<FakeRpm> {
        self.hub().rpms.rows.values().cloned().collect()
    }
}
