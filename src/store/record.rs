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
        // Every meeting answered, then the few of them cancelled since (a join from the
        // small table): one pass over the replies' index, no lookup per reply.
        let (from, until) = (occurrence(from), occurrence(until));
        let answered: Vec<(String, String, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, kind, COUNT(DISTINCT occurrence) FROM inbound \
             WHERE kind IN ('agenda', 'action_items') AND pair IS NOT NULL \
               AND occurrence >= $1 AND occurrence < $2 \
             GROUP BY pair, kind"
        )
        .bind(&from)
        .bind(&until)
        .fetch_all(pool)
        .await?);
        let cancelled: Vec<(String, String, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT c.pair, i.kind, COUNT(DISTINCT c.occurrence) FROM cancellations c \
             JOIN inbound i ON i.kind IN ('agenda', 'action_items') \
               AND i.occurrence = c.occurrence AND i.pair = c.pair \
             WHERE c.occurrence >= $1 AND c.occurrence < $2 \
             GROUP BY c.pair, i.kind"
        )
        .bind(&from)
        .bind(&until)
        .fetch_all(pool)
        .await?);
        let mut out: HashMap<String, Replied> = HashMap::new();
        let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        for (pair, kind, n) in answered {
            let entry = out.entry(pair).or_default();
            match kind.as_str() {
                "agenda" => entry.agendas = count(n),
                _ => entry.action_items = count(n),
            }
        }
        for (pair, kind, n) in cancelled {
            let entry = out.entry(pair).or_default();
            match kind.as_str() {
                "agenda" => entry.agendas = entry.agendas.saturating_sub(count(n)),
                _ => entry.action_items = entry.action_items.saturating_sub(count(n)),
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

    /// Every check-in answer that gave a score, as (pair, person, answered at, score),
    /// in no order: the report's, lighter than [`Store::checkins`] (no comments).
    pub async fn checkin_scores(&self) -> anyhow::Result<Vec<(String, String, Timestamp, u8)>> {
        let rows: Vec<(String, String, i64, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, person, answered_at, score FROM checkins WHERE score IS NOT NULL"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .filter_map(|(pair, person, at, score)| {
                Some((pair, person, instant(at), u8::try_from(score).ok()?))
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
