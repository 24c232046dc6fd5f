//! `/healthz`: 200 `ok` while fedflow is connected to the broker and its store takes durable writes; 503 with
//! the reason otherwise, so a probe's log says what is wrong.

use super::server::HttpState;
use axum::extract::State;
use axum::http::StatusCode;
use std::sync::Arc;

pub async fn healthz(State(state): State<Arc<HttpState>>) -> (StatusCode, String) {
    let bus = state.live.bus.borrow().clone();
    if !bus.is_connected() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("broker {}\n", bus.describe()),
        );
    }
    match state.store.probe_write().await {
        Ok(()) => (StatusCode::OK, "ok\n".to_owned()),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store not writable: {error}\n"),
        ),
    }
}
