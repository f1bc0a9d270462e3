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

/// How long an answer of the store stands for readiness: a probe flood (20,000 a
/// second on loopback) then costs the store one query a second instead of competing
/// with sending for its connections (sending fell by 80% before).
const ANSWER_LASTS: std::time::Duration = std::time::Duration::from_secs(1);

/// The store's last answer to a readiness ping.
#[derive(Debug, Default)]
pub struct Readiness(tokio::sync::Mutex<Option<(std::time::Instant, bool)>>);

impl Readiness {
    async fn store_answers(&self, shared: &Shared) -> bool {
        let mut last = self.0.lock().await;
        if let Some((at, answered)) = *last
            && at.elapsed() < ANSWER_LASTS
        {
            return answered;
        }
        let answered = match shared.store.ping().await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "not ready: the store does not answer");
                false
            }
        };
        *last = Some((std::time::Instant::now(), answered));
        answered
    }
}

pub async fn ready(State(shared): State<Arc<Shared>>) -> (StatusCode, String) {
    let program = shared.program();
    match shared.readiness.store_answers(&shared).await {
        true => (
            StatusCode::OK,
            format!("ready: {} pairs, the store answers\n", program.pairs.len()),
        ),
        false => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the store does not answer\n".to_string(),
        ),
    }
}
