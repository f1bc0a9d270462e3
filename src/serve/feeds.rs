//! Calendar feeds (SPEC §9, docs/serving.md): `GET /ics/TOKEN.ics`, a person's secret
//! feed of every meeting of their active pairs, and `GET /ics/program.ics`, every active
//! pair's, behind the coordinator's password. Served only with `public_url` and the
//! secret set.
//!
//! A feed shows each series as its invites describe it: the store's series as last
//! sent (its UID, SEQUENCE, times and EXDATEs: skip dates and meetings someone can't
//! make), as a `METHOD:PUBLISH` calendar written by the same writer as the invites
//! ([`crate::ics::publish`]). A paused, ended or removed pair is gone. Its `DTSTAMP` is
//! when the series was last sent, so the same state gives the same bytes and the same
//! `ETag` (a hash of the body); `If-None-Match` with it gets 304.
//!
//! A person's request costs one lookup of the token's hash and one of their pairs'
//! series: nothing walks the program. An unknown or reset token gets the same 404 as
//! any unknown path.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Shared, not_found, signin};
use crate::ics::{self, Published};
use crate::program::Status;

/// GET `/ics/{file}`: `TOKEN.ics` or `program.ics`.
pub async fn feed(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    if shared.signer.is_none() {
        return not_found();
    }
    let Some(token) = file.strip_suffix(".ics") else {
        return not_found();
    };
    if token == "program" {
        return program_feed(&shared, peer, &headers).await;
    }
    let person = match shared.store.person_of_feed(token).await {
        Ok(Some(person)) => person,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(&e),
    };
    let program = shared.program();
    // A person no longer in the file has no pairs: an empty calendar would say their
    // token is good, so it is refused like any other.
    let Some(index) = program.person_by_id(&person) else {
        return not_found();
    };
    let pairs: Vec<&str> = (program.pairs_of(index).iter())
        .map(|&i| &program.pairs[i])
        .filter(|pair| pair.status == Status::Active)
        .map(|pair| pair.id.as_str())
        .collect();
    let name = format!("{} ({})", program.name, program.person(index).name);
    respond(&shared, &headers, &name, Some(&pairs)).await
}

/// `program.ics`: every active pair's meetings, for the coordinator.
async fn program_feed(shared: &Shared, peer: SocketAddr, headers: &HeaderMap) -> Response {
    let Some(password) = &shared.password else {
        return not_found();
    };
    if let Some(refused) = signin::refusal(&shared.guesses, peer, headers, password) {
        return refused;
    }
    let program = shared.program();
    let name = program.name.clone();
    respond(shared, headers, &name, None).await
}

/// The feed of `pairs` (every pair's with `None`) that are active in the program now.
async fn respond(
    shared: &Shared,
    headers: &HeaderMap,
    name: &str,
    pairs: Option<&[&str]>,
) -> Response {
    let program = shared.program();
    let sent = match shared.store.active_series_of(pairs).await {
        Ok(sent) => sent,
        Err(e) => return unavailable(&e),
    };
    let active = |pair: &str| {
        program
            .pair_by_id(pair)
            .is_some_and(|p| p.status == Status::Active)
    };
    let events: Vec<Published> = (sent.iter())
        .filter(|(pair, ..)| active(pair))
        .map(|(_, sent, at)| Published {
            series: &sent.series,
            sequence: sent.sequence,
            dtstamp: *at,
        })
        .collect();
    let body = ics::publish(name, &events);
    let etag = etag(&body);
    let mut response = if matches(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = body.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/calendar; charset=utf-8"),
        );
        response
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    headers.insert(
        header::HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
    response
}

/// A strong validator: the body's SHA-256, shortened.
fn etag(body: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, body.as_bytes());
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` names `etag` (or is `*`), compared weakly as RFC 9110 asks.
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

fn unavailable(error: &anyhow::Error) -> Response {
    tracing::error!(error = %format!("{error:#}"), "a calendar feed could not read the store");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "60")],
        "The store did not answer just now; try again in a minute.\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_is_read_as_a_list() {
        let tag = etag("BEGIN:VCALENDAR");
        let mut headers = HeaderMap::new();
        assert!(!matches(&headers, &tag));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{tag}")).unwrap(),
        );
        assert!(matches(&headers, &tag));
        assert!(!matches(&headers, &etag("other")));
    }
}
