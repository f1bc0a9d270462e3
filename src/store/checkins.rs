//! `checkins`: each person's answers to the check-ins (SPEC §7), one row per pair, person
//! and check-in date. Private to the coordinator: read back for `status`, pair health,
//! the report and the digest, never for the pair's own mail, never logged.

use jiff::Timestamp;
use jiff::civil::Date;

use super::{Store, instant, on, seconds};

/// How a check-in was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckinVia {
    /// One of the five signed links in the mail.
    Link,
    /// A reply to the mail.
    Reply,
}

impl CheckinVia {
    pub fn name(self) -> &'static str {
        match self {
            CheckinVia::Link => "link",
            CheckinVia::Reply => "reply",
        }
    }

    fn parse(name: &str) -> CheckinVia {
        if name == "link" {
            CheckinVia::Link
        } else {
            CheckinVia::Reply
        }
    }
}

/// One person's answer to one check-in. Its `Debug` leaves out the score and the
/// comment, so no log line can carry them by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckinRecord {
    pub pair: String,
    /// The person id of who answered (the mentor or the mentee).
    pub person: String,
    /// The check-in's date (its delivery key's occurrence).
    pub occurrence: Date,
    /// 1 (very badly) to 5 (very well); `None` for a reply that gave only a comment.
    pub score: Option<u8>,
    pub comment: Option<String>,
    pub answered_at: Timestamp,
    pub via: CheckinVia,
}

impl std::fmt::Debug for CheckinRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckinRecord")
            .field("pair", &self.pair)
            .field("person", &self.person)
            .field("occurrence", &self.occurrence)
            .field("answered_at", &self.answered_at)
            .field("via", &self.via)
            .finish_non_exhaustive()
    }
}

type Row = (
    String,
    String,
    String,
    Option<i32>,
    Option<String>,
    i64,
    String,
);

fn record(
    (pair, person, occurrence, score, comment, answered_at, via): Row,
) -> Option<CheckinRecord> {
    Some(CheckinRecord {
        pair,
        person,
        occurrence: occurrence.parse().ok()?,
        score: score.and_then(|s| u8::try_from(s).ok()),
        comment,
        answered_at: instant(answered_at),
        via: CheckinVia::parse(&via),
    })
}

impl Store {
    /// Records an answer to a check-in: the first for its (pair, person, occurrence), or
    /// in place of the one before (latest wins). An answer without a score keeps the
    /// score before it, one without a comment the comment before it.
    pub async fn record_checkin(&self, answer: &CheckinRecord) -> anyhow::Result<()> {
        on!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO checkins (pair, person, occurrence, score, comment, answered_at, via) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (pair, person, occurrence) DO UPDATE SET \
                 score = COALESCE(excluded.score, checkins.score), \
                 comment = COALESCE(excluded.comment, checkins.comment), \
                 answered_at = excluded.answered_at, via = excluded.via",
            )
            .bind(&answer.pair)
            .bind(&answer.person)
            .bind(answer.occurrence.to_string())
            .bind(answer.score.map(i32::from))
            .bind(&answer.comment)
            .bind(seconds(answer.answered_at))
            .bind(answer.via.name())
            .execute(&mut *tx)
            .await?;
            // The person's latest score and the one before, from their few answers
            // (migration `report_reads`).
            sqlx::query("DELETE FROM checkin_latest WHERE pair = $1 AND person = $2")
                .bind(&answer.pair)
                .bind(&answer.person)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO checkin_latest (pair, person, occurrence, answered_at, score, before) \
                 SELECT pair, person, occurrence, answered_at, score, before FROM ( \
                   SELECT pair, person, occurrence, answered_at, score, \
                          LEAD(score) OVER latest AS before, ROW_NUMBER() OVER latest AS rn \
                   FROM checkins WHERE pair = $1 AND person = $2 AND score IS NOT NULL \
                   WINDOW latest AS (PARTITION BY pair, person \
                                     ORDER BY occurrence DESC, answered_at DESC) \
                 ) t WHERE rn = 1",
            )
            .bind(&answer.pair)
            .bind(&answer.person)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The answer `person` gave to `pair`'s check-in of `occurrence`, if any.
    pub async fn checkin(
        &self,
        pair: &str,
        person: &str,
        occurrence: Date,
    ) -> anyhow::Result<Option<CheckinRecord>> {
        let row: Option<Row> = on!(self, |pool| {
            sqlx::query_as(
                "SELECT pair, person, occurrence, score, comment, answered_at, via \
                 FROM checkins WHERE pair = $1 AND person = $2 AND occurrence = $3",
            )
            .bind(pair)
            .bind(person)
            .bind(occurrence.to_string())
            .fetch_optional(pool)
            .await?
        });
        Ok(row.and_then(record))
    }

    /// The answers to the check-ins dated in `[from, until)`, of one pair or of all
    /// (`None`), oldest check-in first (then pair, then person).
    pub async fn checkins(
        &self,
        pair: Option<&str>,
        from: Date,
        until: Date,
    ) -> anyhow::Result<Vec<CheckinRecord>> {
        let rows: Vec<Row> = on!(self, |pool| {
            sqlx::query_as(
                "SELECT pair, person, occurrence, score, comment, answered_at, via \
                 FROM checkins \
                 WHERE occurrence >= $1 AND occurrence < $2 AND (CAST($3 AS TEXT) IS NULL OR pair = $3) \
                 ORDER BY occurrence, pair, person",
            )
            .bind(from.to_string())
            .bind(until.to_string())
            .bind(pair)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().filter_map(record).collect())
    }

    /// Each person's latest score, by (pair, person): the check-in's date and the score.
    /// For `status`; answers without a score are left out.
    pub async fn latest_checkin_scores(
        &self,
    ) -> anyhow::Result<std::collections::HashMap<(String, String), (Date, u8)>> {
        let rows: Vec<(String, String, String, i32)> = on!(self, |pool| {
            sqlx::query_as("SELECT pair, person, occurrence, score FROM checkin_latest")
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(pair, person, on, score)| {
                Some((
                    (pair, person),
                    (on.parse().ok()?, u8::try_from(score).ok()?),
                ))
            })
            .collect())
    }
}
