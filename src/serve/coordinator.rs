//! `POST /pairs/ID/snooze` and `POST /pairs/ID/handled`: the digest's **snooze 2 weeks**
//! and **handled** as buttons on the coordinator's page, beside each pair that needs
//! them (SPEC §7). The same use cases as the digest's signed links
//! ([`crate::app::exceptions`]); a pair the page shows at risk before any digest listed
//! it is flagged first, as the page shows it. Behind the page's basic auth, and only
//! from the page itself (the browser's `Origin`, as [`super::kept`] checks), so another
//! site cannot make a signed-in browser press them.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::kept::foreign;
use super::page::{admit, current, encode, unavailable};
use super::page_html::{escape, guarded, page};
use crate::app::exceptions::{self, Done};
use crate::report::Level;

/// POST `/pairs/{id}/snooze`.
pub async fn snooze(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    act(&shared, peer, &headers, &id, true).await
}

/// POST `/pairs/{id}/handled`.
pub async fn handled(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    act(&shared, peer, &headers, &id, false).await
}

async fn act(
    shared: &Arc<Shared>,
    peer: SocketAddr,
    headers: &HeaderMap,
    id: &str,
    snooze: bool,
) -> Response {
    if let Some(refused) = admit(shared, peer, headers).or_else(|| foreign(peer, headers)) {
        return refused;
    }
    let program = shared.program();
    if program.pair_by_id(id).is_none() {
        return page(
            StatusCode::NOT_FOUND,
            "No such pair",
            "<p>No pair has this id.</p>",
        );
    }
    match record(shared, &program, id, snooze).await {
        Ok(Some(Done::Recorded)) => {
            // The page shows it at once, not when the cached report runs out.
            shared.report_cache.forget().await;
            let back = format!("/?q={}#pair-{}", encode(id), encode(id));
            guarded((StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response())
        }
        Ok(_) => page(
            StatusCode::OK,
            "Nothing to do",
            &format!(
                "<p>{} needs nothing from you now. Nothing was changed. <a href=\"/\">Back to the page</a></p>",
                escape(id)
            ),
        ),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "could not record the coordinator's answer");
            unavailable()
        }
    }
}

/// Notes the pair as the page shows it and snoozes it or marks it handled; `None` when
/// the pair is well.
async fn record(
    shared: &Arc<Shared>,
    program: &Arc<crate::program::Program>,
    id: &str,
    snooze: bool,
) -> anyhow::Result<Option<Done>> {
    let snapshot = current(shared, program).await?;
    let Some(health) = snapshot.records.get(id).map(|r| &r.health) else {
        return Ok(None);
    };
    if health.level == Level::Good {
        return Ok(None);
    }
    let now = crate::clock::now()?;
    exceptions::note(
        &shared.store,
        id,
        health.level.as_str(),
        &health.reasons,
        now,
    )
    .await?;
    Ok(Some(if snooze {
        exceptions::snooze(&shared.store, id, now).await?
    } else {
        exceptions::handled(&shared.store, id).await?
    }))
}
