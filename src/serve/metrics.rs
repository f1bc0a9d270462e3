//! `GET /metrics`: the Prometheus text format (0.0.4), written by the Prometheus
//! project's own `prometheus-client` from a registry made for each render (no global
//! state). The numbers come from the store ([`crate::store::StoreCounts`]), not from
//! counters in this process: every instance on a shared store serves the same values,
//! they survive restarts, and (rows are never deleted) the counters only grow, save
//! `mentord retry` taking failed messages back. With several instances, aggregate with
//! `max()`, not `sum()`.
//!
//! The text is kept for [`CACHE_FOR`]: scrapes in between, from any number of
//! Prometheus servers, cost nothing, and one render runs at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::Shared;
use crate::program::{Program, Status};
use crate::schedule::{ReviewStanding, review_standing};
use crate::store::{InboundKind, MessageState, StoreCounts};
use crate::vocab::MessageKind;

/// How long a rendered text is served again.
pub const CACHE_FOR: Duration = Duration::from_secs(5);

/// The text last rendered, and when.
#[derive(Debug, Default)]
pub struct Cache(tokio::sync::Mutex<Option<(Instant, Bytes)>>);

pub async fn render(State(shared): State<Arc<Shared>>) -> Response {
    // Scrapes that arrive during a render wait for it and share its text.
    let mut cached = shared.metrics.0.lock().await;
    if let Some((at, text)) = cached.as_ref()
        && at.elapsed() < CACHE_FOR
    {
        return exposition(text.clone());
    }
    match scrape(&shared).await {
        Ok(text) => {
            let text = Bytes::from(text);
            *cached = Some((Instant::now(), text.clone()));
            exposition(text)
        }
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "no metrics: the store does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "no metrics: the store does not answer\n",
            )
                .into_response()
        }
    }
}

fn exposition(text: Bytes) -> Response {
    (
        [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
        text,
    )
        .into_response()
}

async fn scrape(shared: &Shared) -> anyhow::Result<String> {
    // A replaced or deleted SQLite file: its numbers are no longer the program's.
    shared.store.verify()?;
    let now = crate::clock::now()?;
    let counts = shared.store.counts(now).await?;
    Ok(encode(&shared.program(), &counts, now)?)
}

type ByLabel = [(&'static str, String); 1];

fn label(name: &'static str, value: &str) -> ByLabel {
    [(name, value.to_string())]
}

/// The exposition for `program` and what the store holds, at `now`. Every kind, state
/// and status has a line, zero or not, so a rate or an alert has a series from the start.
pub fn encode(
    program: &Program,
    counts: &StoreCounts,
    now: Timestamp,
) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register(
        "mentord_build",
        "The version of mentord serving these metrics",
        Info::new([("version", env!("CARGO_PKG_VERSION"))]),
    );

    let sent = Family::<ByLabel, Counter>::default();
    let failed = Family::<ByLabel, Counter>::default();
    let dropped = Family::<ByLabel, Counter>::default();
    for kind in MessageKind::ALL {
        for family in [&sent, &failed, &dropped] {
            let _ = family.get_or_create(&label("kind", kind.name()));
        }
    }
    let (mut pending, mut retrying) = (0, 0);
    for row in &counts.outbox {
        let n = row.messages.max(0) as u64;
        let done = match row.state {
            MessageState::Sent => &sent,
            MessageState::Failed => &failed,
            MessageState::Dropped => &dropped,
            MessageState::Pending | MessageState::Sending => {
                pending += row.messages;
                if row.state == MessageState::Pending && row.attempts > 0 {
                    retrying += row.messages;
                }
                continue;
            }
        };
        done.get_or_create(&label("kind", &row.kind)).inc_by(n);
    }
    registry.register(
        "mentord_messages_sent",
        "Messages the SMTP server accepted, by kind",
        sent,
    );
    registry.register(
        "mentord_messages_failed",
        "Messages refused for good (5xx) and not retried since, by kind",
        failed,
    );
    registry.register(
        "mentord_messages_dropped",
        "Messages never sent because they came too late (a prompt whose meeting had started) or their meeting was cancelled, by kind",
        dropped,
    );
    registry.register(
        "mentord_outbox_pending",
        "Messages queued and not yet sent (due or not, in flight included)",
        Gauge::<i64>::default().tap(pending),
    );
    registry.register(
        "mentord_outbox_retrying",
        "Messages waiting to be tried again after a temporary failure",
        Gauge::<i64>::default().tap(retrying),
    );
    let age = counts
        .oldest_due
        .map_or(0.0, |due| now.duration_since(due).as_secs_f64().max(0.0));
    registry.register(
        "mentord_outbox_oldest_pending_seconds",
        "How long the oldest message already due has waited (0 when none waits)",
        float_gauge(age),
    );
    registry.register(
        "mentord_last_sent_timestamp_seconds",
        "When a message was last accepted by the SMTP server, in unix seconds (0 before the first)",
        float_gauge(counts.last_sent.map_or(0.0, |t| t.as_second() as f64)),
    );
    registry.register(
        "mentord_smtp_paused",
        "1 while a live daemon's SMTP circuit breaker is open (sending is paused)",
        Gauge::<i64>::default().tap(i64::from(counts.smtp_paused)),
    );
    let daemons = Family::<ByLabel, Gauge>::default();
    daemons
        .get_or_create(&label("state", "alive"))
        .set(counts.daemons_alive);
    daemons
        .get_or_create(&label("state", "silent"))
        .set(counts.daemons_silent);
    registry.register(
        "mentord_daemons",
        "Daemons registered on the store: alive (beat within the lease) or silent (dead or stuck, forgotten after a day)",
        daemons,
    );

    let pairs = Family::<ByLabel, Gauge>::default();
    for status in [Status::Active, Status::Paused, Status::Ended] {
        let _ = pairs.get_or_create(&label("status", status.as_str()));
    }
    let today = program.zone.tz.to_datetime(now).date();
    let mut overdue = 0;
    for pair in &program.pairs {
        pairs
            .get_or_create(&label("status", pair.status.as_str()))
            .inc();
        let held = counts.last_reviews.get(&pair.id).copied();
        if pair.status == Status::Active
            && matches!(
                review_standing(pair, held, today),
                Some(ReviewStanding::Overdue(_))
            )
        {
            overdue += 1;
        }
    }
    registry.register("mentord_pairs", "Pairs in the program, by status", pairs);
    registry.register(
        "mentord_reviews_overdue",
        "Active pairs whose relationship review is overdue (escalated to the coordinator)",
        Gauge::<i64>::default().tap(overdue),
    );

    let inbound = Family::<ByLabel, Counter>::default();
    for kind in InboundKind::ALL {
        let _ = inbound.get_or_create(&label("kind", kind.name()));
    }
    for (kind, n) in &counts.inbound {
        inbound
            .get_or_create(&label("kind", kind))
            .inc_by((*n).max(0) as u64);
    }
    registry.register(
        "mentord_inbound",
        "Mail taken in, by what it was (set_aside: mail mentord could not use; kept: from outside the pairs, for the coordinator; forwarded: a reply passed on to the other person)",
        inbound,
    );
    registry.register(
        "mentord_bouncing_addresses",
        "Addresses whose mail bounced",
        Gauge::<i64>::default().tap(counts.bouncing),
    );

    let mut out = String::with_capacity(4096);
    prometheus_text::encode(&mut out, &registry)?;
    Ok(out)
}

fn float_gauge(value: f64) -> Gauge<f64, std::sync::atomic::AtomicU64> {
    let gauge = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
    gauge.set(value);
    gauge
}

/// A gauge holding a value, in one expression.
trait Tap {
    fn tap(self, value: i64) -> Self;
}

impl Tap for Gauge<i64> {
    fn tap(self, value: i64) -> Self {
        self.set(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::OutboxCount;

    fn row(kind: &str, state: &str, attempts: i64, messages: i64) -> OutboxCount {
        OutboxCount {
            kind: kind.into(),
            state: state.parse().unwrap(),
            attempts,
            messages,
        }
    }

    /// One line per sample, without HELP and TYPE.
    fn samples(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn the_store_counts_become_samples() {
        let program = crate::program::example();
        let now: Timestamp = "2027-02-01T10:00:00Z".parse().unwrap();
        let counts = StoreCounts {
            outbox: vec![
                row("invite", "sent", 1, 8),
                row("invite", "sent", 3, 1),
                row("invite", "failed", 1, 1),
                row("agenda_prompt", "pending", 0, 4),
                row("agenda_prompt", "pending", 2, 1),
                row("mentor_reminder", "sending", 1, 2),
                row("agenda_prompt", "dropped", 0, 3),
            ],
            oldest_due: Some("2027-02-01T09:59:00Z".parse().unwrap()),
            last_sent: Some("2027-02-01T09:30:00Z".parse().unwrap()),
            inbound: [("set_aside".to_string(), 2)].into_iter().collect(),
            bouncing: 1,
            daemons_alive: 1,
            daemons_silent: 2,
            smtp_paused: true,
            last_reviews: Default::default(),
        };
        let text = encode(&program, &counts, now).unwrap();
        let lines = samples(&text);
        for want in [
            "mentord_build_info{version=\"0.1.0\"} 1",
            "mentord_messages_sent_total{kind=\"invite\"} 9",
            "mentord_messages_sent_total{kind=\"digest\"} 0",
            "mentord_messages_failed_total{kind=\"invite\"} 1",
            "mentord_messages_dropped_total{kind=\"agenda_prompt\"} 3",
            "mentord_outbox_pending 7",
            "mentord_outbox_retrying 1",
            "mentord_outbox_oldest_pending_seconds 60.0",
            "mentord_last_sent_timestamp_seconds 1801474200.0",
            "mentord_smtp_paused 1",
            "mentord_daemons{state=\"alive\"} 1",
            "mentord_daemons{state=\"silent\"} 2",
            "mentord_pairs{status=\"active\"} 5",
            "mentord_pairs{status=\"ended\"} 0",
            "mentord_reviews_overdue 0",
            "mentord_inbound_total{kind=\"set_aside\"} 2",
            "mentord_inbound_total{kind=\"agenda\"} 0",
            "mentord_bouncing_addresses 1",
        ] {
            assert!(lines.contains(&want), "no {want:?} in\n{text}");
        }
        assert!(text.contains("# TYPE mentord_messages_sent_total counter\n"));
    }

    /// Two graces after a review fell due it is overdue; a review held clears it.
    #[test]
    fn overdue_reviews_follow_the_review_standing() {
        let program = crate::program::example();
        let now: Timestamp = "2027-05-10T12:00:00Z".parse().unwrap();
        let overdue = |counts: &StoreCounts| {
            let text = encode(&program, counts, now).unwrap();
            samples(&text)
                .into_iter()
                .find_map(|l| l.strip_prefix("mentord_reviews_overdue "))
                .unwrap()
                .parse::<u32>()
                .unwrap()
        };
        let mut counts = StoreCounts::default();
        let before = overdue(&counts);
        assert!(before >= 1, "the example has an overdue review on 10 May");
        counts
            .last_reviews
            .insert("grace-alan".into(), "2027-04-20".parse().unwrap());
        assert_eq!(overdue(&counts), before - 1);
    }
}
