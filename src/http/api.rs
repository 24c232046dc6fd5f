//! The JSON API: `/api/v1/status` (what `fedflow status --json` prints), `/api/v1/pipelines` (what
//! `fedflow pipelines --json` prints, with each pipeline's links) and `/api/v1/pipelines/{id}`.

use super::error::ApiError;
use super::server::{HttpState, PipelineQuery, find_pipeline, list_pipelines, query_params};
use crate::pipeline::Pipeline;
use crate::pipeline::view::Links;
use crate::status::StatusReport;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::Serialize;
use std::sync::Arc;

/// A pipeline as stored, with where to see its parts.
#[derive(Debug, Serialize)]
pub struct PipelineView {
    #[serde(flatten)]
    pub pipeline: Pipeline,
    pub links: Links,
}

pub async fn status(State(state): State<Arc<HttpState>>) -> Result<Json<StatusReport>, ApiError> {
    let report = state
        .read(|s| Ok(StatusReport::live(&s.store, &s.live)?))
        .await?;
    Ok(Json(report))
}

pub async fn pipelines(
    State(state): State<Arc<HttpState>>,
    query: Result<Query<PipelineQuery>, QueryRejection>,
) -> Result<Json<Vec<PipelineView>>, ApiError> {
    let filter = query_params(query)?.filter()?;
    let settings = state.settings();
    let list = state
        .read(move |s| Ok(list_pipelines(&s.store, &filter)?))
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|pipeline| PipelineView {
                links: Links::of(&pipeline, &settings),
                pipeline,
            })
            .collect(),
    ))
}

pub async fn pipeline(
    State(state): State<Arc<HttpState>>,
    Path(id): Path<String>,
) -> Result<Json<PipelineView>, ApiError> {
    let pipeline = state.read(move |s| find_pipeline(&s.store, &id)).await?;
    Ok(Json(PipelineView {
        links: Links::of(&pipeline, &state.settings()),
        pipeline,
    }))
}
