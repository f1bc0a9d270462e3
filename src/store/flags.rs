//! `flags`: the pairs the coordinator's digest lists, and what the coordinator said of
//! each (snoozed, handled). Levels and reasons are the report's words, kept as text.

use jiff::Timestamp;

use super::{Store, instant, on, on_writer, seconds};

/// A pair as the last digest listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub pair: String,
    pub level: String,
    /// One per line.
    pub reasons: String,
    /// The digest that first listed it.
    pub first_at: Timestamp,
    pub snoozed_until: Option<Timestamp>,
    /// How bad it was when snoozed: worse than this, it is listed again.
    pub snoozed_level: Option<String>,
    /// The reasons when the coordinator marked it handled.
    pub handled_reasons: Option<String>,
}

type FlagRow = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
);

impl Store {
    pub async fn flags(&self) -> anyhow::Result<Vec<Flag>> {
        let rows: Vec<FlagRow> = on!(self, |pool| {
            sqlx::query_as(
            "SELECT pair, level, reasons, first_at, snoozed_until, snoozed_level, handled_reasons \
             FROM flags ORDER BY pair"
        )
        .fetch_all(pool)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(
                    pair,
                    level,
                    reasons,
                    first_at,
                    snoozed_until,
                    snoozed_level,
                    handled_reasons,
                )| {
                    Flag {
                        pair,
                        level,
                        reasons,
                        first_at: instant(first_at),
                        snoozed_until: snoozed_until.map(instant),
                        snoozed_level,
                        handled_reasons,
                    }
                },
            )
            .collect())
    }

    /// The pairs flagged now, as (pair, level, reasons): each keeps when it was first
    /// flagged and what the coordinator said; a pair no longer flagged is forgotten.
    pub async fn note_flags(
        &self,
        now: Timestamp,
        flagged: &[(String, String, String)],
    ) -> anyhow::Result<()> {
        let pairs = serde_json::to_string(&flagged.iter().map(|f| &f.0).collect::<Vec<_>>())?;
        on_writer!(self, |pool, backend| {
            let mut tx = pool.begin().await?;
            let forget = match backend {
                crate::store::Backend::Sqlite => {
                    "DELETE FROM flags WHERE pair NOT IN (SELECT value FROM json_each($1))"
                }
                crate::store::Backend::Postgres => {
                    "DELETE FROM flags WHERE pair NOT IN (SELECT jsonb_array_elements_text($1::jsonb))"
                }
            };
            sqlx::query(forget).bind(&pairs).execute(&mut *tx).await?;
            for (pair, level, reasons) in flagged {
                sqlx::query(
                    "INSERT INTO flags (pair, level, reasons, first_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (pair) DO UPDATE SET level = excluded.level, reasons = excluded.reasons",
                )
                .bind(pair)
                .bind(level)
                .bind(reasons)
                .bind(seconds(now))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Flags `pair` as the coordinator sees it on the page (`level`, reasons one per
    /// line), unless it is flagged already: the coordinator may then snooze it or mark
    /// it handled before a digest listed it. A pair flagged already keeps its row.
    pub async fn note_flag(
        &self,
        pair: &str,
        level: &str,
        reasons: &str,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        on!(self, |pool| sqlx::query(
            "INSERT INTO flags (pair, level, reasons, first_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (pair) DO NOTHING"
        )
        .bind(pair)
        .bind(level)
        .bind(reasons)
        .bind(seconds(now))
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Keeps `pair` out of the digest until `until` unless it gets worse than it is now.
    /// False when the pair is not flagged.
    pub async fn snooze_flag(&self, pair: &str, until: Timestamp) -> anyhow::Result<bool> {
        let changed = on!(self, |pool| sqlx::query(
            "UPDATE flags SET snoozed_until = $1, snoozed_level = level WHERE pair = $2"
        )
        .bind(seconds(until))
        .bind(pair)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(changed == 1)
    }

    /// Keeps `pair` out of the digest until its reasons change. False when the pair is
    /// not flagged.
    pub async fn handle_flag(&self, pair: &str) -> anyhow::Result<bool> {
        let changed = on!(self, |pool| sqlx::query(
            "UPDATE flags SET handled_reasons = reasons WHERE pair = $1"
        )
        .bind(pair)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(changed == 1)
    }

    /// The coordinator asked to nudge `pair`: the daemon sends both a check-in. False
    /// when the pair is not flagged, or a nudge was asked for in the last two weeks.
    pub async fn ask_nudge(&self, pair: &str, now: Timestamp) -> anyhow::Result<bool> {
        let fortnight = now
            .checked_sub(jiff::SignedDuration::from_hours(14 * 24))
            .unwrap_or(now);
        let changed = on!(self, |pool| sqlx::query(
            "UPDATE flags SET nudge_asked_at = $1, nudged_at = NULL \
             WHERE pair = $2 AND (nudge_asked_at IS NULL OR nudge_asked_at < $3)"
        )
        .bind(seconds(now))
        .bind(pair)
        .bind(seconds(fortnight))
        .execute(pool)
        .await?
        .rows_affected());
        Ok(changed == 1)
    }

    /// The pairs whose nudge the daemon has still to send.
    pub async fn nudges_asked(&self) -> anyhow::Result<Vec<String>> {
        Ok(on!(self, |pool| {
            sqlx::query_scalar(
            "SELECT pair FROM flags WHERE nudge_asked_at IS NOT NULL AND nudged_at IS NULL ORDER BY pair"
        )
        .fetch_all(pool)
        .await?
        }))
    }

    /// The nudge of `pair` is queued.
    pub async fn nudge_sent(&self, pair: &str, now: Timestamp) -> anyhow::Result<()> {
        on_writer!(self, |pool| sqlx::query(
            "UPDATE flags SET nudged_at = $1 WHERE pair = $2"
        )
        .bind(seconds(now))
        .bind(pair)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }
}
