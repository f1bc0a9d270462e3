//! `GET /pairs/ID`: one pair's page for the coordinator (basic auth): its health now and
//! why, the digest's buttons, and its history from the store ([`crate::store::PairHistory`]):
//! what was sent (kind, to whom, when, in what state), what came back (kinds and times:
//! agendas and action items received or not, answers to the calendar, bounces),
//! cancellations, reviews held and the check-ins' figures. Metadata only: no body is read,
//! so no agenda, action item or check-in comment can show. An unknown id is a 404.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use minijinja::Value;
use serde::Serialize;

use super::Shared;
use super::page::{admit, current, encode, templates, unavailable};
use super::page_html::{guarded, page};
use crate::inert::shown;
use crate::program::Program;
use crate::store::PairHistory;
use crate::vocab::MessageKind;

use super::page::PAIR_TEMPLATE as TEMPLATE;

#[derive(Debug, Serialize)]
struct View<'v> {
    program: String,
    pair: &'v str,
    href: String,
    mentor: String,
    mentee: String,
    status: &'static str,
    health: Option<&'static str>,
    health_class: &'static str,
    /// In words, names made inert.
    reasons: Vec<String>,
    buttons: bool,
    said: Option<&'v super::page_index::Said>,
    next_meeting: Option<&'v str>,
    review: &'static str,
    review_due: Option<&'v str>,
    checkins: u32,
    checkin_mean: Option<String>,
    sent: Vec<[String; 4]>,
    heard: Vec<[String; 3]>,
    cancelled: Vec<[String; 3]>,
    rsvps: Vec<[String; 4]>,
    reviews: &'v [String],
    rows: i64,
}

/// GET `/pairs/{id}`.
pub async fn show(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = admit(&shared, peer, &headers) {
        return refused;
    }
    let program = shared.program();
    if program.pair_by_id(&id).is_none() {
        return page(
            StatusCode::NOT_FOUND,
            "No such pair",
            "<p>No pair of this program has this id. <a href=\"/\">Back to the page</a></p>",
        );
    }
    let read = async {
        let snapshot = current(&shared, &program).await?;
        let history = shared.store.pair_history(&id).await?;
        anyhow::Ok((snapshot, history))
    };
    let (snapshot, history) = match read.await {
        Ok(read) => read,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "a pair's page could not read the store");
            return unavailable();
        }
    };
    match render(&program, &snapshot, &history, &id) {
        Ok(html) => guarded((StatusCode::OK, Html(html)).into_response()),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "a pair's page did not render");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>The page did not render; the daemon's log says why.</p>",
            )
        }
    }
}

/// What a kind of mail sent is called.
fn sent_kind(name: &str) -> String {
    MessageKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .map_or_else(|| shown(name), |k| k.label().to_string())
}

/// What a kind of mail taken in is called.
fn heard_kind(name: &str) -> &'static str {
    match name {
        "agenda" => "agenda received",
        "action_items" => "action items received",
        "rsvp" => "answer to the calendar",
        "bounce" => "bounce",
        "auto_reply" => "automatic reply",
        "unsubscribe" => "unsubscribe",
        "forwarded" => "reply passed on to the other person",
        _ => "other mail",
    }
}

fn render(
    program: &Program,
    snapshot: &super::page_cache::Snapshot,
    history: &PairHistory,
    id: &str,
) -> anyhow::Result<String> {
    let zone = program.zone.tz.clone();
    let local = |t: Timestamp| {
        t.to_zoned_datetime(zone.clone())
            .strftime("%a %Y-%m-%d %H:%M")
            .to_string()
    };
    let name = |person: &str| {
        program
            .person_by_id(person)
            .map_or_else(|| shown(person), |p| shown(&program.person(p).name))
    };
    let at = snapshot.report.pairs.iter().position(|l| l.pair == id);
    let line = at.map(|i| &snapshot.report.pairs[i]);
    let entry = at.and_then(|i| snapshot.index.entries.get(i));
    let record = snapshot.records.get(id);
    let health = record.map(|r| &r.health);
    let level = health.map(|h| h.level);
    let pair = program.pair_by_id(id);
    let view = View {
        program: shown(&program.name),
        pair: id,
        href: format!("/pairs/{}", encode(id)),
        mentor: pair.map_or_else(String::new, |p| shown(&program.person(p.mentor).name)),
        mentee: pair.map_or_else(String::new, |p| shown(&program.person(p.mentee).name)),
        status: line.map_or("", |l| l.status),
        health: level.map(|l| l.as_str()),
        health_class: match level {
            Some(crate::report::Level::AtRisk) => "risk",
            Some(crate::report::Level::Watch) => "watch",
            _ => "good",
        },
        reasons: health
            .map(|h| h.reasons.iter().map(|r| crate::inert::shown(r)).collect())
            .unwrap_or_default(),
        buttons: level.is_some_and(|l| l != crate::report::Level::Good)
            && entry.is_some_and(|e| e.said.is_none()),
        said: entry.and_then(|e| e.said.as_ref()),
        next_meeting: line.and_then(|l| l.next_meeting.as_deref()),
        review: line.map_or("off", |l| l.review),
        review_due: line.and_then(|l| l.review_due.as_deref()),
        checkins: record.map_or(0, |r| r.checkins),
        checkin_mean: record
            .and_then(|r| r.checkin_mean)
            .map(|m| format!("{m:.1}")),
        sent: history
            .sent
            .iter()
            .map(|m| {
                [
                    sent_kind(&m.kind),
                    shown(&m.recipient),
                    local(m.sent_at.unwrap_or(m.due_at)),
                    m.state.clone(),
                ]
            })
            .collect(),
        heard: history
            .heard
            .iter()
            .map(|h| {
                [
                    heard_kind(&h.kind).to_string(),
                    h.person.as_deref().map(&name).unwrap_or_default(),
                    local(h.at),
                ]
            })
            .collect(),
        cancelled: history
            .cancelled
            .iter()
            .map(|(date, person, when, late)| {
                [
                    shown(date),
                    name(person),
                    format!("{}{}", local(*when), if *late { " (late)" } else { "" }),
                ]
            })
            .collect(),
        rsvps: history
            .rsvps
            .iter()
            .map(|(person, occurrence, answer, when)| {
                [
                    name(person),
                    if occurrence.is_empty() {
                        "the series".to_string()
                    } else {
                        occurrence
                            .parse::<Timestamp>()
                            .map_or_else(|_| shown(occurrence), &local)
                    },
                    shown(&answer.to_lowercase()),
                    local(*when),
                ]
            })
            .collect(),
        reviews: &history.reviews,
        rows: crate::store::HISTORY_ROWS,
    };
    let template = templates().get_template(TEMPLATE)?;
    Ok(template.render(Value::from(minijinja::value::Serde(&view)))?)
}
