//! One pair's history for the coordinator's page (`GET /pairs/ID`): what was sent to it
//! (kind, recipient, when, state), what came back (kinds and times), cancellations,
//! answers to the calendar and reviews held. Metadata only: no body is ever read here.
//! Each list is the newest [`HISTORY_ROWS`], read by the pair's index.

use jiff::Timestamp;

use super::{Store, instant, on};

/// The most rows of each list.
pub const HISTORY_ROWS: i64 = 200;

/// A message of the pair's, without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentLine {
    pub kind: String,
    pub recipient: String,
    pub due_at: Timestamp,
    pub state: String,
    pub sent_at: Option<Timestamp>,
}

/// A mail of the pair's person taken in, without what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeardLine {
    pub kind: String,
    pub person: Option<String>,
    /// The meeting it is about (its start, as in delivery keys).
    pub occurrence: Option<String>,
    pub at: Timestamp,
}

/// What the store holds of one pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairHistory {
    /// Newest first.
    pub sent: Vec<SentLine>,
    /// Newest first.
    pub heard: Vec<HeardLine>,
    /// (meeting date, who, when, late), newest meeting first.
    pub cancelled: Vec<(String, String, Timestamp, bool)>,
    /// (person, meeting or "" for the series, answer, when), newest first.
    pub rsvps: Vec<(String, String, String, Timestamp)>,
    /// Dates of reviews held, newest first.
    pub reviews: Vec<String>,
}

impl Store {
    /// The history of `pair`.
    pub async fn pair_history(&self, pair: &str) -> anyhow::Result<PairHistory> {
        type Sent = (String, String, i64, String, Option<i64>);
        let sent: Vec<Sent> = on!(self, |pool| sqlx::query_as(
            "SELECT kind, recipient, due_at, state, sent_at FROM messages \
             WHERE pair = $1 ORDER BY due_at DESC LIMIT $2"
        )
        .bind(pair)
        .bind(HISTORY_ROWS)
        .fetch_all(pool)
        .await?);
        type Heard = (String, Option<String>, Option<String>, i64);
        let heard: Vec<Heard> = on!(self, |pool| sqlx::query_as(
            "SELECT kind, person, occurrence, received_at FROM inbound \
             WHERE pair = $1 AND kind <> 'set_aside' ORDER BY received_at DESC LIMIT $2"
        )
        .bind(pair)
        .bind(HISTORY_ROWS)
        .fetch_all(pool)
        .await?);
        let cancelled: Vec<(String, String, i64, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT date, person, cancelled_at, late FROM cancellations \
             WHERE pair = $1 ORDER BY date DESC LIMIT $2"
        )
        .bind(pair)
        .bind(HISTORY_ROWS)
        .fetch_all(pool)
        .await?);
        let rsvps: Vec<(String, String, String, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT person, occurrence, partstat, answered_at FROM rsvps \
             WHERE pair = $1 ORDER BY answered_at DESC LIMIT $2"
        )
        .bind(pair)
        .bind(HISTORY_ROWS)
        .fetch_all(pool)
        .await?);
        let reviews: Vec<String> = on!(self, |pool| sqlx::query_scalar(
            "SELECT held_on FROM reviews WHERE pair = $1 ORDER BY held_on DESC LIMIT $2"
        )
        .bind(pair)
        .bind(HISTORY_ROWS)
        .fetch_all(pool)
        .await?);
        Ok(PairHistory {
            sent: sent
                .into_iter()
                .map(|(kind, recipient, due, state, sent)| SentLine {
                    kind,
                    recipient,
                    due_at: instant(due),
                    state,
                    sent_at: sent.map(instant),
                })
                .collect(),
            heard: heard
                .into_iter()
                .map(|(kind, person, occurrence, at)| HeardLine {
                    kind,
                    person,
                    occurrence,
                    at: instant(at),
                })
                .collect(),
            cancelled: cancelled
                .into_iter()
                .map(|(date, person, at, late)| (date, person, instant(at), late != 0))
                .collect(),
            rsvps: rsvps
                .into_iter()
                .map(|(person, occurrence, answer, at)| (person, occurrence, answer, instant(at)))
                .collect(),
            reviews,
        })
    }
}
