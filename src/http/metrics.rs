//! `/metrics`: the registry in the OpenMetrics text format Prometheus scrapes, after the values that mirror
//! state (pipelines, store size, connection, Copr builds) are read fresh from the status report.

use super::error::ApiError;
use super::server::HttpState;
use crate::status::StatusReport;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

const CONTENT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn metrics(State(state): State<Arc<HttpState>>) -> Result<Response, ApiError> {
    let (report, copr) = state
        .read(|s| {
            Ok((
                StatusReport::live(&s.store, &s.live)?,
                s.store.copr_counts()?,
            ))
        })
        .await?;
    let registry = state.registry.lock().await;
    state.metrics.observe_report(&report);
    state.metrics.observe_copr_counts(&copr);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .map_err(|_| ApiError::Encode)?;
    Ok(([(CONTENT_TYPE, CONTENT)], text).into_response())
}
