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
//! series: nothing walks the program. A poll with the ETag this daemon last computed for
//! them, while no series changed, costs the token's lookup alone: the 304 comes from
//! [`super::feed_cache`], which also keeps the program's whole feed. An unknown or reset
//! token gets the same 404 as any unknown path.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Shared, not_found, signin};
use crate::ics::{self, Published};
use crate::program::{Program, Status};

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
    let generation = match shared.feed_cache.generation(&shared.store, &program).await {
        Ok(generation) => generation,
        Err(e) => return unavailable(&e),
    };
    // A poll of a feed unchanged since this daemon last computed it: 304 from memory.
    if let Some(etag) = shared.feed_cache.etag(&generation, &person)
        && matches(&headers, &etag)
    {
        return answer(&headers, &etag, None);
    }
    let name = format!("{} ({})", program.name, program.person(index).name);
    let body = match calendar(&shared, &program, &name, Some(&pairs)).await {
        Ok(body) => body,
        Err(e) => return unavailable(&e),
    };
    let etag = etag(&body);
    shared.feed_cache.keep_etag(&generation, &person, &etag);
    answer(&headers, &etag, Some(body.into()))
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
    let generation = match shared.feed_cache.generation(&shared.store, &program).await {
        Ok(generation) => generation,
        Err(e) => return unavailable(&e),
    };
    // Every pair's series, read and written once per change, not once per request.
    if let Some((etag, body)) = shared.feed_cache.program_feed(&generation) {
        return answer(headers, &etag, Some(body));
    }
    let body = match calendar(shared, &program, &program.name, None).await {
        Ok(body) => Bytes::from(body),
        Err(e) => return unavailable(&e),
    };
    let etag = etag(&body);
    shared
        .feed_cache
        .keep_program_feed(&generation, &etag, body.clone());
    answer(headers, &etag, Some(body))
}

/// The calendar of `pairs` (every pair's with `None`) that are active in `program`.
async fn calendar(
    shared: &Shared,
    program: &Program,
    name: &str,
    pairs: Option<&[&str]>,
) -> anyhow::Result<String> {
    let sent = shared.store.active_series_of(pairs).await?;
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
    Ok(ics::publish(name, &events))
}

/// The answer for a feed whose ETag is `etag`: 304 when `If-None-Match` names it,
/// `body` otherwise.
fn answer(headers: &HeaderMap, etag: &str, body: Option<Bytes>) -> Response {
    let mut response = match body {
        Some(body) if !matches(headers, etag) => {
            let mut response = body.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            );
            response
        }
        _ => StatusCode::NOT_MODIFIED.into_response(),
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
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
fn etag(body: impl AsRef<[u8]>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, body.as_ref());
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
