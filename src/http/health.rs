//! `/healthz`: 200 `ok` while fedflow is connected to the broker and its store takes durable writes; 503 with
//! the reason otherwise, so a probe's log says what is wrong.

use super::server::HttpState;
use crate::status::BusState;
use crate::store::StoreError;
use axum::extract::State;
use axum::http::StatusCode;
use std::sync::Arc;

pub async fn healthz(State(state): State<Arc<HttpState>>) -> (StatusCode, String) {
    let bus = state.live.bus.borrow().clone();
    // The store is only probed while the broker is up: one reason at a time, the first that applies.
    let probe = if bus.is_connected() {
        state.store.probe_write().await
    } else {
        Ok(())
    };
    verdict(&bus, probe)
}

/// The answer for a broker connection and the outcome of a durable write.
fn verdict(bus: &BusState, probe: Result<(), StoreError>) -> (StatusCode, String) {
    if !bus.is_connected() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("broker {}\n", bus.describe()),
        );
    }
    match probe {
        Ok(()) => (StatusCode::OK, "ok\n".to_owned()),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store not writable: {error}\n"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_that_refuses_a_write_makes_the_daemon_unhealthy_with_the_reason() {
        let connected = BusState::Connected { since: 0 };
        // ENOSPC, as a full disk gives it.
        let full = StoreError::Sled(sled::Error::Io(std::io::Error::from_raw_os_error(28)));
        let (status, body) = verdict(&connected, Err(full));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.starts_with("store not writable: sled: "), "{body}");
        assert!(body.contains("No space left on device"), "{body}");
        assert_eq!(
            verdict(&connected, Ok(())),
            (StatusCode::OK, "ok\n".to_owned())
        );
    }
}
