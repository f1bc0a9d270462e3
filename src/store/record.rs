//! The program's record, read for the report, pair health and the digest: what came back
//! from each pair, counted in the database (never the text), and the reviews held. A
//! year of 50,000 pairs is over a million replies: they are counted per pair by SQL, not
//! carried into the process one by one.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;

use super::{Store, instant, on, seconds};

/// How many meetings of a pair were answered in a period: an agenda before, action items
/// after (each meeting once, however many replies; cancelled meetings left out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replied {
    pub agendas: u32,
    pub action_items: u32,
}

/// What came back from one pair (see [`Store::pair_records`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairRecord {
    pub replied: Replied,
    pub replied_recently: Replied,
    pub last_heard: Option<Timestamp>,
}

/// A pair's check-in scores of a period: all of them, and those of its earlier half.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckinStats {
    pub count: u32,
    pub sum: u32,
    pub early: u32,
    pub early_sum: u32,
}

/// A person's latest scored check-in, when it is low or fell (see
/// [`Store::troubled_checkins`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TroubledCheckin {
    pub pair: String,
    pub person: String,
    pub at: Timestamp,
    pub score: u8,
    pub before: Option<u8>,
}

/// A count or sum from SQL (a `BIGINT`), as the record keeps it.
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// The text a delivery key gives a meeting's start, to compare with: whole seconds.
fn occurrence(at: Timestamp) -> String {
    Timestamp::from_second(at.as_second())
        .unwrap_or(at)
        .to_string()
}

impl Store {
    /// Per pair, the meetings answered in each of two periods (`[from, until)` of
    /// meetings' starts: the report's period and the health window; cancelled meetings
    /// left out), and when the pair was last heard from. One pass over the pair
    /// record's index for all three; then the few cancelled meetings, looked up.
    pub async fn pair_records(
        &self,
        period: (Timestamp, Timestamp),
        window: (Timestamp, Timestamp),
    ) -> anyhow::Result<HashMap<String, PairRecord>> {
        let bounds = [period.0, period.1, window.0, window.1].map(occurrence);
        type Row = (String, i64, i64, i64, i64, Option<i64>);
        let rows: Vec<Row> = on!(self, |pool, backend| {
            sqlx::query_as(backend.sql().pair_record)
                .bind(&bounds[0])
                .bind(&bounds[1])
                .bind(&bounds[2])
                .bind(&bounds[3])
                .fetch_all(pool)
                .await?
        });
        let mut out: HashMap<String, PairRecord> = rows
            .into_iter()
            .map(
                |(pair, agendas, items, recent_agendas, recent_items, heard)| {
                    let record = PairRecord {
                        replied: Replied {
                            agendas: count(agendas),
                            action_items: count(items),
                        },
                        replied_recently: Replied {
                            agendas: count(recent_agendas),
                            action_items: count(recent_items),
                        },
                        last_heard: heard.map(instant),
                    };
                    (pair, record)
                },
            )
            .collect();
        for (bounds, recent) in [(&bounds[0..2], false), (&bounds[2..4], true)] {
            for (pair, agendas, items) in self.cancelled_answered(&bounds[0], &bounds[1]).await? {
                let Some(record) = out.get_mut(&pair) else {
                    continue;
                };
                let replied = if recent {
                    &mut record.replied_recently
                } else {
                    &mut record.replied
                };
                replied.agendas = replied.agendas.saturating_sub(count(agendas));
                replied.action_items = replied.action_items.saturating_sub(count(items));
            }
        }
        Ok(out)
    }

    /// Per pair, its cancelled meetings starting in `[from, until)` that had got an
    /// agenda, and that had got action items (an index lookup each: cancellations are
    /// few).
    async fn cancelled_answered(
        &self,
        from: &str,
        until: &str,
    ) -> anyhow::Result<Vec<(String, i64, i64)>> {
        Ok(on!(self, |pool| sqlx::query_as(
            "SELECT pair, \
               SUM(CASE WHEN EXISTS (SELECT 1 FROM inbound i WHERE i.pair = c.pair \
                 AND i.kind = 'agenda' AND i.occurrence = c.occurrence) THEN 1 ELSE 0 END), \
               SUM(CASE WHEN EXISTS (SELECT 1 FROM inbound i WHERE i.pair = c.pair \
                 AND i.kind = 'action_items' AND i.occurrence = c.occurrence) THEN 1 ELSE 0 END) \
             FROM (SELECT DISTINCT pair, occurrence FROM cancellations \
                   WHERE occurrence >= $1 AND occurrence < $2) c \
             GROUP BY pair"
        )
        .bind(from)
        .bind(until)
        .fetch_all(pool)
        .await?))
    }

    /// Per pair, the scores of check-ins answered in `[from, until)`: how many and their
    /// sum, in all and in the period's earlier half. Added up in SQL from an index
    /// (migration `report_reads`): a year of 50,000 pairs answering every four weeks is
    /// 1.3 million answers.
    pub async fn checkin_stats(
        &self,
        from: Timestamp,
        until: Timestamp,
    ) -> anyhow::Result<HashMap<String, CheckinStats>> {
        let middle = from + from.duration_until(until) / 2;
        let rows: Vec<(String, i64, i64, i64, i64)> = on!(self, |pool, backend| {
            sqlx::query_as(backend.sql().checkin_stats)
                .bind(seconds(from))
                .bind(seconds(until))
                .bind(seconds(middle))
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(pair, n, sum, early, early_sum)| {
                let stats = CheckinStats {
                    count: count(n),
                    sum: count(sum),
                    early: count(early),
                    early_sum: count(early_sum),
                };
                (pair, stats)
            })
            .collect())
    }

    /// The check-in scores answered in each of the ranges `[from, until)`: how many and
    /// their sum (the report's months; a range read from an index each).
    pub async fn checkin_ranges(
        &self,
        ranges: &[(Timestamp, Timestamp)],
    ) -> anyhow::Result<Vec<(u32, u32)>> {
        let mut out = Vec::with_capacity(ranges.len());
        for &(from, until) in ranges {
            let (n, sum): (i64, Option<i64>) = on!(self, |pool| sqlx::query_as(
                "SELECT COUNT(*), SUM(score) FROM checkins \
                 WHERE answered_at >= $1 AND answered_at < $2 AND score IS NOT NULL"
            )
            .bind(seconds(from))
            .bind(seconds(until))
            .fetch_one(pool)
            .await?);
            out.push((count(n), count(sum.unwrap_or(0))));
        }
        Ok(out)
    }

    /// Each person whose latest scored check-in is low (1 or 2) or fell by 2 or more
    /// from the one before. Only those come out of the database (kept as answers come,
    /// see [`Store::record_checkin`]): pair health needs no others.
    pub async fn troubled_checkins(&self) -> anyhow::Result<Vec<TroubledCheckin>> {
        let rows: Vec<(String, String, i64, i64, Option<i64>)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, person, answered_at, score, before FROM checkin_latest \
             WHERE score <= 2 OR before >= score + 2"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .filter_map(|(pair, person, at, score, before)| {
                Some(TroubledCheckin {
                    pair,
                    person,
                    at: instant(at),
                    score: u8::try_from(score).ok()?,
                    before: before.and_then(|b| u8::try_from(b).ok()),
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
