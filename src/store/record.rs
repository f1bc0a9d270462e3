//! The program's record, read for the report, pair health and the digest: what came back
//! from each pair, counted in the database (never the text), and the reviews held. A
//! year of 50,000 pairs is over a million replies: they are counted per pair by SQL, not
//! carried into the process one by one.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;

use super::{Store, instant, on};

/// How many meetings of a pair were answered in a period: an agenda before, action items
/// after (each meeting once, however many replies; cancelled meetings left out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replied {
    pub agendas: u32,
    pub action_items: u32,
}

/// The text a delivery key gives a meeting's start, to compare with: whole seconds.
fn occurrence(at: Timestamp) -> String {
    Timestamp::from_second(at.as_second())
        .unwrap_or(at)
        .to_string()
}

impl Store {
    /// Per pair, the meetings starting in `[from, until)` that got an agenda and that got
    /// action items, cancelled meetings left out.
    pub async fn replied(
        &self,
        from: Timestamp,
        until: Timestamp,
    ) -> anyhow::Result<HashMap<String, Replied>> {
        let rows: Vec<(String, String, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT i.pair, i.kind, COUNT(DISTINCT i.occurrence) FROM inbound i \
             WHERE i.kind IN ('agenda', 'action_items') AND i.pair IS NOT NULL \
               AND i.occurrence >= $1 AND i.occurrence < $2 \
               AND NOT EXISTS (SELECT 1 FROM cancellations c \
                               WHERE c.pair = i.pair AND c.occurrence = i.occurrence) \
             GROUP BY i.pair, i.kind"
        )
        .bind(occurrence(from))
        .bind(occurrence(until))
        .fetch_all(pool)
        .await?);
        let mut out: HashMap<String, Replied> = HashMap::new();
        for (pair, kind, count) in rows {
            let entry = out.entry(pair).or_default();
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            match kind.as_str() {
                "agenda" => entry.agendas = count,
                _ => entry.action_items = count,
            }
        }
        Ok(out)
    }

    /// When each pair was last heard from: any mail of its people taken in but mail set
    /// aside (it proved nothing).
    pub async fn last_heard(&self) -> anyhow::Result<HashMap<String, Timestamp>> {
        let rows: Vec<(String, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, MAX(received_at) FROM inbound \
             WHERE pair IS NOT NULL AND kind <> 'set_aside' GROUP BY pair"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(pair, at)| (pair, instant(at)))
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
