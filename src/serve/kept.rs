//! `POST /kept/ID/handled`: the coordinator marks a kept mail (from outside the pairs)
//! handled from the page's "Kept mail" list, as `mentord inbox done ID` does (both call
//! [`crate::app::kept::handled`]). Behind the page's basic auth; and only from the page
//! itself: the browser's `Origin` (or `Sec-Fetch-Site`) must say the form came from this
//! server, so another site cannot make a signed-in browser post it (CSRF).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::page::admit;
use super::page_html::{guarded, page};
use crate::store::Handled;

/// POST `/kept/{id}/handled`.
pub async fn handled(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = admit(&shared, peer, &headers).or_else(|| foreign(peer, &headers)) {
        return refused;
    }
    let Ok(id) = id.parse::<i64>() else {
        return page(
            StatusCode::NOT_FOUND,
            "No such mail",
            "<p>No kept mail has this ID.</p>",
        );
    };
    let now = match crate::clock::now() {
        Ok(now) => now,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "no clock for a kept mail");
            return page(StatusCode::INTERNAL_SERVER_ERROR, "Please try again", "");
        }
    };
    match crate::app::kept::handled(&shared.store, id, now).await {
        Ok(Handled::Marked | Handled::Already(_)) => {
            // The page shows it gone at once, not when the cached report runs out.
            shared.report_cache.forget().await;
            guarded((StatusCode::SEE_OTHER, [(header::LOCATION, "/#kept")]).into_response())
        }
        Ok(Handled::Unknown) => page(
            StatusCode::NOT_FOUND,
            "No such mail",
            "<p>No kept mail has this ID.</p>",
        ),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "could not mark kept mail handled");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "<p>The store did not answer just now; try again in a minute.</p>",
            )
        }
    }
}

/// The refusal of a form posted from another site than this one (CSRF): the
/// coordinator's buttons work from the page itself only.
pub(super) fn foreign(peer: SocketAddr, headers: &HeaderMap) -> Option<Response> {
    if same_origin(headers) {
        return None;
    }
    tracing::warn!(%peer, "a coordinator's form posted from another site was refused");
    Some(page(
        StatusCode::FORBIDDEN,
        "Not from this page",
        "<p>This button works only on the coordinator's page itself. Open the page and \
         press it there.</p>",
    ))
}

/// Whether the browser says the request came from a page of this server: `Origin`'s
/// host and port equal `Host`, or, without `Origin`, `Sec-Fetch-Site: same-origin`.
fn same_origin(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match (value("origin"), value("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (None, _) => value("sec-fetch-site") == Some("same-origin"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("a header value"));
        }
        map
    }

    #[test]
    fn only_the_page_itself_may_post() {
        let ok = headers(&[
            ("host", "127.0.0.1:8025"),
            ("origin", "http://127.0.0.1:8025"),
        ]);
        assert!(same_origin(&ok));
        let evil = headers(&[
            ("host", "127.0.0.1:8025"),
            ("origin", "https://evil.example"),
        ]);
        assert!(!same_origin(&evil));
        let null = headers(&[("host", "127.0.0.1:8025"), ("origin", "null")]);
        assert!(!same_origin(&null));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8025")])));
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
    }
}
