//! The program's record, read for the report, pair health and the digest: what was heard
//! from each pair (kinds and times, never the text) and the reviews held. Read in one
//! query each, for every pair at once: a year of 50,000 pairs is a few hundred thousand
//! small rows.

use jiff::Timestamp;
use jiff::civil::Date;

use super::inbound::InboundKind;
use super::{Store, instant, on, seconds};

/// One mail of a pair's person taken in, without what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    pub pair: String,
    /// The sender's person id, when known.
    pub person: Option<String>,
    pub kind: InboundKind,
    /// The meeting it is about (its start, as in delivery keys), when it is about one.
    pub occurrence: Option<String>,
    pub at: Timestamp,
}

impl Store {
    /// Every mail of a pair taken in from `since` on, oldest first, set-aside mail
    /// left out (it proved nothing).
    pub async fn heard(&self, since: Timestamp) -> anyhow::Result<Vec<Heard>> {
        type Row = (String, Option<String>, String, Option<String>, i64);
        let rows: Vec<Row> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, person, kind, occurrence, received_at FROM inbound \
                 WHERE pair IS NOT NULL AND kind <> 'set_aside' AND received_at >= $1 \
                 ORDER BY received_at"
        )
        .bind(seconds(since))
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .filter_map(|(pair, person, kind, occurrence, at)| {
                Some(Heard {
                    pair,
                    person,
                    kind: InboundKind::parse(&kind)?,
                    occurrence,
                    at: instant(at),
                })
            })
            .collect())
    }

    /// Every review held, by pair and date, in order.
    pub async fn reviews(&self) -> anyhow::Result<Vec<(String, Date)>> {
        let rows: Vec<(String, String)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, held_on FROM reviews ORDER BY pair, held_on"
        )
        .fetch_all(pool)
        .await?);
        rows.into_iter()
            .map(|(pair, held)| Ok((pair, held.parse()?)))
            .collect()
    }
}
