//! The Copr view: `/copr`, the tracked projects' recent builds with each chroot's status and links, one
//! section per project (`?project=owner/project` for one), and `/api/v1/copr/builds`, the same records as
//! JSON (what `fedflow copr --json` prints).

use super::error::ApiError;
use super::pages::{PageError, age, bus_line};
use super::server::{HttpState, given, limit, query_params};
use crate::copr::CoprBuildRecord;
use crate::status::{format_time, unix_now};
use askama::Template;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Builds listed unless asked otherwise, and the most a request may ask for.
const DEFAULT_BUILDS: usize = 50;
const MAX_BUILDS: usize = 1000;

/// `?project=owner/project&limit=N`; empty means all projects and the default limit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoprQuery {
    project: Option<String>,
    limit: Option<String>,
}

struct Listing {
    project: Option<String>,
    limit: usize,
}

impl CoprQuery {
    fn read(query: Result<Query<CoprQuery>, QueryRejection>) -> Result<Listing, ApiError> {
        let query = query_params(query)?;
        let project = given(query.project.as_deref());
        if let Some(project) = &project
            && !project.contains('/')
        {
            return Err(ApiError::BadRequest(format!(
                "project: expected owner/project, got {project:?}"
            )));
        }
        Ok(Listing {
            project,
            limit: limit(
                query.limit.as_deref(),
                DEFAULT_BUILDS,
                MAX_BUILDS,
                "a number of builds",
            )?,
        })
    }
}

async fn records(
    state: &Arc<HttpState>,
    listing: &Listing,
) -> Result<Vec<CoprBuildRecord>, ApiError> {
    let (project, limit) = (listing.project.clone(), listing.limit);
    state
        .read(move |s| Ok(s.store.copr_builds(project.as_deref(), limit)?))
        .await
}

/// Build chroot records of the newest builds, newest first, the chroots of a build by name.
pub async fn builds(
    State(state): State<Arc<HttpState>>,
    query: Result<Query<CoprQuery>, QueryRejection>,
) -> Result<Json<Vec<CoprBuildRecord>>, ApiError> {
    let listing = CoprQuery::read(query)?;
    Ok(Json(records(&state, &listing).await?))
}

/// One chroot of a build, as a cell of the page.
struct ChrootCell {
    chroot: String,
    status: String,
    results_url: Option<String>,
}

/// One build, as a row of the page.
struct BuildRow {
    build_id: i64,
    package: String,
    age: String,
    at: String,
    build_url: String,
    chroots: Vec<ChrootCell>,
}

struct ProjectSection {
    project: String,
    /// `/copr?project=...`, the project's own view.
    link: String,
    /// Finished chroot builds by status since the store was created, e.g. `succeeded 12, failed 1`.
    totals: String,
    builds: Vec<BuildRow>,
}

#[derive(Template)]
#[template(path = "copr.html")]
struct CoprPage {
    bus: String,
    bus_ok: bool,
    tracking: bool,
    patterns: String,
    project: String,
    json_link: String,
    sections: Vec<ProjectSection>,
}

pub async fn page(
    State(state): State<Arc<HttpState>>,
    query: Result<Query<CoprQuery>, QueryRejection>,
) -> Result<Html<String>, PageError> {
    let listing = CoprQuery::read(query)?;
    let project = listing.project.clone();
    let (limit, only) = (listing.limit, project.clone());
    let (records, counts) = state
        .read(move |s| {
            Ok((
                s.store.copr_builds(only.as_deref(), limit)?,
                s.store.copr_counts()?,
            ))
        })
        .await?;
    let settings = state.settings();
    let (bus, bus_ok) = bus_line(&state);
    let page = CoprPage {
        bus,
        bus_ok,
        tracking: settings.copr.is_tracking(),
        patterns: settings.copr.projects.join(", "),
        json_link: match &project {
            Some(project) => format!("/api/v1/copr/builds?project={}", query_value(project)),
            None => "/api/v1/copr/builds".to_owned(),
        },
        project: project.unwrap_or_default(),
        sections: sections(&records, &counts, unix_now()),
    };
    Ok(Html(page.render()?))
}

/// Groups the records (newest build first) into one section per project, projects by name.
fn sections(
    records: &[CoprBuildRecord],
    counts: &BTreeMap<(String, String), u64>,
    now: u64,
) -> Vec<ProjectSection> {
    let mut by_project: BTreeMap<&str, Vec<BuildRow>> = BTreeMap::new();
    for build in records.chunk_by(|a, b| a.build_id == b.build_id) {
        let first = &build[0];
        let latest = build
            .iter()
            .map(CoprBuildRecord::last_event_at)
            .max()
            .unwrap_or(first.updated_at);
        by_project
            .entry(&first.project)
            .or_default()
            .push(BuildRow {
                build_id: first.build_id,
                package: build
                    .iter()
                    .find(|r| r.package.is_some())
                    .unwrap_or(first)
                    .package_version(),
                age: age(now.saturating_sub(latest)),
                at: format_time(latest),
                build_url: first.build_url.clone(),
                chroots: build
                    .iter()
                    .map(|r| ChrootCell {
                        chroot: r.chroot.clone(),
                        status: r.status.clone(),
                        results_url: r.results_url.clone(),
                    })
                    .collect(),
            });
    }
    by_project
        .into_iter()
        .map(|(project, builds)| ProjectSection {
            project: project.to_owned(),
            link: format!("/copr?project={}", query_value(project)),
            totals: counts
                .iter()
                .filter(|((p, _), _)| p == project)
                .map(|((_, status), n)| format!("{status} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            builds,
        })
        .collect()
}

/// A value for a query string: project names come from bus messages, and a `+` would read as a space.
fn query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
