//! Health for load balancers and orchestrators: `/livez` answers while the process runs;
//! `/readyz` (and `/healthz`) when the program is loaded and the store answers. SMTP
//! trouble does not make an instance unready: mail waits in the store, and another
//! instance would face the same server.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;

use super::Shared;

pub async fn live() -> &'static str {
    "ok\n"
}

pub async fn ready(State(shared): State<Arc<Shared>>) -> (StatusCode, String) {
    let program = shared.program();
    match shared.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            format!("ready: {} pairs, the store answers\n", program.pairs.len()),
        ),
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "not ready: the store does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the store does not answer\n".to_string(),
            )
        }
    }
}
