//! The HTML pages: `/`, the pipelines with filters (a GET form, no JavaScript), and `/pipelines/{id}`, one
//! pipeline with its whole history. Rendered from askama templates in `templates/`, which escape every value:
//! package names, branches and reasons come from outside.

use super::error::ApiError;
use super::server::{HttpState, PipelineQuery, find_pipeline, query_params};
use crate::pipeline::Pipeline;
use crate::pipeline::view::{self, Links};
use crate::status::{format_time, unix_now};
use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A pipeline as one row of the page.
struct Row {
    id: u64,
    package: String,
    branch: String,
    commit_short: String,
    state: &'static str,
    age: String,
    created: String,
    links: Links,
    problem: Option<String>,
}

impl Row {
    fn of(pipeline: &Pipeline, links: Links, now: u64) -> Row {
        let commit = &pipeline.key.commit;
        Row {
            id: pipeline.id,
            package: pipeline.key.package.clone(),
            branch: pipeline.key.branch.clone(),
            commit_short: commit.get(..10).unwrap_or(commit).to_owned(),
            state: pipeline.stage.name(),
            age: age(now.saturating_sub(pipeline.created_at)),
            created: format_time(pipeline.created_at),
            links,
            problem: view::problem(pipeline),
        }
    }
}

struct Step {
    at: String,
    state: String,
    note: String,
}

#[derive(Template)]
#[template(path = "pipelines.html")]
struct PipelinesPage {
    bus: String,
    bus_ok: bool,
    filter_package: String,
    filter_branch: String,
    filter_state: String,
    filtered: bool,
    states: BTreeSet<&'static str>,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "pipeline.html")]
struct PipelinePage {
    bus: String,
    bus_ok: bool,
    row: Row,
    detail: String,
    agent: String,
    history: Vec<Step>,
}

pub async fn pipelines(
    State(state): State<Arc<HttpState>>,
    query: Result<Query<PipelineQuery>, QueryRejection>,
) -> Result<Html<String>, PageError> {
    let filter = query_params(query)?.filter()?;
    let settings = state.settings();
    let listed = filter.clone();
    let (states, pipelines) = state
        .read(move |s| {
            let all = s.store.pipelines(view::LISTED)?;
            let states = all.iter().map(|p| p.stage.name()).collect();
            Ok((states, listed.apply(all)))
        })
        .await?;
    let now = unix_now();
    let (bus, bus_ok) = bus_line(&state);
    let page = PipelinesPage {
        bus,
        bus_ok,
        filtered: filter.package.is_some() || filter.branch.is_some() || filter.state.is_some(),
        filter_package: filter.package.unwrap_or_default(),
        filter_branch: filter.branch.unwrap_or_default(),
        filter_state: filter.state.unwrap_or_default(),
        states,
        rows: pipelines
            .iter()
            .map(|p| Row::of(p, Links::of(p, &settings), now))
            .collect(),
    };
    Ok(Html(page.render()?))
}

pub async fn pipeline(
    State(state): State<Arc<HttpState>>,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let pipeline = state.read(move |s| find_pipeline(&s.store, &id)).await?;
    let settings = state.settings();
    let (bus, bus_ok) = bus_line(&state);
    let page = PipelinePage {
        bus,
        bus_ok,
        row: Row::of(&pipeline, Links::of(&pipeline, &settings), unix_now()),
        detail: view::describe(&pipeline, &settings),
        agent: pipeline.agent.clone(),
        history: pipeline
            .history
            .iter()
            .map(|t| Step {
                at: format_time(t.at),
                state: t.state.clone(),
                note: t.note.clone(),
            })
            .collect(),
    };
    Ok(Html(page.render()?))
}

/// The header's word on the broker connection (and the shard, when the work is split), and whether it is
/// good news.
pub(super) fn bus_line(state: &HttpState) -> (String, bool) {
    let bus = state.live.bus.borrow();
    let shard = state.live.shard;
    let line = if shard.is_split() {
        format!("{}; shard {shard}", bus.describe())
    } else {
        bus.describe()
    };
    (line, bus.is_connected())
}

/// `42s`, `5m`, `3h`, `2d`: enough to see at a glance what is fresh and what is stuck.
pub(super) fn age(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// A failed page: the API's error, shown as a short escaped page.
#[derive(Debug)]
pub struct PageError(ApiError);

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        PageError(error)
    }
}

impl From<askama::Error> for PageError {
    fn from(error: askama::Error) -> Self {
        PageError(ApiError::Render(error.to_string()))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!(error = %self.0, "page failed");
        }
        let text = askama::filters::escape(self.0.to_string(), askama::filters::Html)
            .map(|escaped| escaped.to_string())
            .unwrap_or_default();
        let body = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
             content=\"width=device-width, initial-scale=1\"><title>fedflow: {status}</title></head><body>\
             <h1>{status}</h1><p class=\"error\">{text}</p><p><a href=\"/\">all pipelines</a></p></body></html>"
        );
        (status, Html(body)).into_response()
    }
}
