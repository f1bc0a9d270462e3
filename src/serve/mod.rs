//! The HTTP side of `mentord run` (docs/serving.md), with `[http] listen`: health for load
//! balancers, metrics for Prometheus, the coordinator's page, and the action links in
//! mail. One axum router over [`Shared`]: the daemon's store and the program as last
//! loaded, so every instance on a shared store serves every link and the same page. It
//! stops with the daemon (the same shutdown token).
//!
//! - [`health`]: `/livez`, `/readyz` (`/healthz`).
//! - [`metrics`]: `/metrics`, counted from the store and cached for a few seconds.
//! - [`links`]: signing and checking the tokens in action links (pure).
//! - [`actions`]: `/a/TOKEN` and `/u/TOKEN`: a page with one button; only its POST acts.
//! - [`page`]: `/`, the coordinator's page (basic auth): what `mentord status` shows,
//!   with each pair's health, searched and sorted ([`page_index`]); `/pairs/ID`, a pair's
//!   history ([`pair_page`]); `/report` and `/report.csv` ([`report_tab`]); the digest's
//!   snooze and handled as buttons ([`coordinator`]); [`signin`]: its password's least
//!   length and the wait after wrong guesses.
//! - [`client`]: who a connection comes from, and at most 64 connections per client.
//! - [`feeds`]: `/ics/TOKEN.ics` (a person's secret calendar feed) and
//!   `/ics/program.ics` (every pair's, behind the page's password); [`feed_cache`]
//!   what they remember while no series changes.

pub mod actions;
pub mod client;
mod coordinator;
mod feed_cache;
pub mod feeds;
pub mod health;
mod kept;
pub mod metrics;
pub mod page;
mod page_cache;
mod page_html;
mod page_index;
mod pair_page;
mod report_tab;
pub mod signin;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::live::{LiveProgram as SharedProgram, Wake};
use crate::program::Program;
use crate::store::Store;

/// The most a request body may hold (an agenda written in the form is far less).
const MAX_BODY: usize = 64 * 1024;

/// The longest a request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// What every handler sees.
pub struct Shared {
    pub program: SharedProgram,
    pub store: Store,
    /// Signs and checks action links (with `public_url` and a secret).
    pub signer: Option<crate::vocab::links::Signer>,
    /// The coordinator's page password (user "coordinator"); no page without it.
    /// At least [`signin::MIN_PASSWORD_CHARS`] ([`signin::page_password`]).
    pub password: Option<String>,
    /// Wrong passwords per client, and the waits they earned.
    pub guesses: signin::Guesses,
    /// Wakes the daemon after an action that has mail to send (a cancel).
    pub wake: mpsc::Sender<Wake>,
    /// The coordinator's page's last report, reused for a few seconds.
    pub report_cache: page_cache::ReportCache,
    /// The calendar feeds' ETags and the program's feed, while no series changes.
    pub feed_cache: feed_cache::FeedCache,
    /// `/metrics` as last rendered.
    pub metrics: metrics::Cache,
    /// The store's last answer for `/readyz`.
    pub readiness: health::Readiness,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("signer", &self.signer)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The program as last loaded.
    pub fn program(&self) -> Arc<Program> {
        self.program.load_full()
    }
}

/// Every route.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/livez", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/healthz", get(health::ready))
        .route("/metrics", get(metrics::render))
        .route("/a/{token}", get(actions::show).post(actions::act))
        .route("/u/{token}", get(actions::show).post(actions::unsubscribe))
        .route("/kept/{id}/handled", axum::routing::post(kept::handled))
        .route("/pairs/{id}", get(pair_page::show))
        .route(
            "/pairs/{id}/snooze",
            axum::routing::post(coordinator::snooze),
        )
        .route(
            "/pairs/{id}/handled",
            axum::routing::post(coordinator::handled),
        )
        .route("/report", get(report_tab::html))
        .route("/report.csv", get(report_tab::csv))
        .route("/ics/{file}", get(feeds::feed))
        .fallback(|| async { not_found() })
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(shared)
}

/// The answer to a path that names nothing: the same for every such path, so a guess
/// (a feed token, say) learns nothing.
pub fn not_found() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// Binds `listen` now (so a port in use stops the start with a clear error), then
/// serves until `shutdown`.
pub async fn start(
    listen: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("while listening on {listen} ([http] listen)"))?;
    tracing::info!(%listen, "serving health, metrics, the coordinator's page and action links");
    let app = router(shared);
    Ok(tokio::spawn(accept(listener, app, shutdown)))
}

/// The most connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1024;

/// How long a client may take to send its request's headers. A client that trickles
/// them (slowloris) is cut off instead of holding a connection for ever; axum's own
/// `serve` sets no such limit.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown`, each served by hyper's HTTP/1 with a header
/// timeout, at most [`MAX_CONNECTIONS`] at a time and [`client::MAX_PER_CLIENT`] from
/// one client (more from it are closed at once, so one client cannot take every slot);
/// on shutdown the requests in flight finish (up to the caller's grace) and idle
/// connections close. Handlers see the peer's address as [`ConnectInfo`].
async fn accept(listener: tokio::net::TcpListener, app: Router, shutdown: CancellationToken) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let per_client = client::Connections::default();
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let admitted = match per_client.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refused) => {
                if refused.first {
                    tracing::warn!(client = %peer.ip(), most = client::MAX_PER_CLIENT, "a client holds the most connections it may: closing its further connections at once");
                }
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(
            tower_http::add_extension::AddExtension::new(app.clone(), ConnectInfo(peer)),
        );
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let _slot = slot;
            let _admitted = admitted;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    connections.close();
    connections.wait().await;
}
