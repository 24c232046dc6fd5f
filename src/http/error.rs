//! What a request can fail with, as an HTTP status and a JSON body `{"error": ..., "kind": ...}`.

use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("reading the store: {0}")]
    Store(#[from] StoreError),
    #[error("the request's task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("cannot encode the metrics")]
    Encode,
    #[error("cannot render the page: {0}")]
    Render(String),
}

impl ApiError {
    /// A stable label, also in the body.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "not_found",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Store(_) => "store",
            ApiError::Task(_) => "task",
            ApiError::Encode => "encode",
            ApiError::Render(_) => "render",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Store(_) | ApiError::Task(_) | ApiError::Encode | ApiError::Render(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::warn!(error = %self, "HTTP request failed");
        }
        let body = serde_json::json!({ "error": self.to_string(), "kind": self.kind() });
        (self.status(), axum::Json(body)).into_response()
    }
}
