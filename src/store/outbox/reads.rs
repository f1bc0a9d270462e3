//! Reading the outbox for `status` and the daemon's sleep (counts, failures, each
//! pair's activity, the next attempt), the schedule's cursor, and failed mail queued
//! again.

use std::collections::HashMap;

use jiff::Timestamp;

use crate::store::{Store, instant, on, on_writer, seconds};

/// Counts and recent problems for `status`.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub last_sent: Option<Timestamp>,
    /// Permanently failed messages, newest first.
    pub failures: Vec<Failure>,
    /// Messages that could not go and wait to be tried again (a mail server down).
    pub retrying: Option<Retrying>,
}

/// Mail that cannot go now: how much, since when, and the last error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retrying {
    pub waiting: u64,
    /// When the oldest of them was due: mail has not gone since.
    pub since: Timestamp,
    /// The error of the latest attempt.
    pub error: String,
}

/// A pair's mail in two figures, for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairActivity {
    pub last_sent: Option<Timestamp>,
    pub failed: u64,
    /// Messages tried and waiting to be tried again.
    pub retrying: u64,
}

/// A message that failed for good.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Failure {
    pub key: String,
    pub recipient: String,
    pub error: String,
}

impl Store {
    /// When the earliest pending message may be tried.
    pub async fn next_attempt(&self) -> anyhow::Result<Option<Timestamp>> {
        let value: Option<i64> = on!(self, |pool| sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM messages WHERE state = 'pending'"
        )
        .fetch_one(pool)
        .await?);
        Ok(value.map(instant))
    }

    pub async fn scheduled_until(&self) -> anyhow::Result<Option<Timestamp>> {
        let value: Option<i64> = on!(self, |pool| sqlx::query_scalar(
            "SELECT scheduled_until FROM cursor WHERE id = 1"
        )
        .fetch_optional(pool)
        .await?);
        Ok(value.map(instant))
    }

    pub async fn set_scheduled_until(&self, until: Timestamp) -> anyhow::Result<()> {
        on_writer!(self, |pool| sqlx::query(
            "INSERT INTO cursor (id, scheduled_until) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET scheduled_until = excluded.scheduled_until",
        )
        .bind(seconds(until))
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn summary(&self) -> anyhow::Result<Summary> {
        let (pending, sent, failed, last_sent): (i64, i64, i64, Option<i64>) =
            on!(self, |pool| sqlx::query_as(
                "SELECT \
                   COALESCE(SUM(CASE WHEN state IN ('pending', 'sending') THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0), \
                   COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0), \
                   MAX(sent_at) \
                 FROM messages"
            )
            .fetch_one(pool)
            .await?);
        Ok(Summary {
            pending: pending as u64,
            sent: sent as u64,
            failed: failed as u64,
            last_sent: last_sent.map(instant),
            failures: self.failures().await?,
            retrying: self.retrying().await?,
        })
    }

    /// Mail tried and waiting to be tried again, if any (see [`Retrying`]).
    pub async fn retrying(&self) -> anyhow::Result<Option<Retrying>> {
        let (waiting, since): (i64, Option<i64>) = on!(self, |pool| sqlx::query_as(
            "SELECT COUNT(*), MIN(due_at) FROM messages \
             WHERE state = 'pending' AND attempts > 0 AND last_error IS NOT NULL"
        )
        .fetch_one(pool)
        .await?);
        let Some(since) = since.filter(|_| waiting > 0) else {
            return Ok(None);
        };
        let error: Option<String> = on!(self, |pool| sqlx::query_scalar(
            "SELECT last_error FROM messages \
             WHERE state = 'pending' AND attempts > 0 AND last_error IS NOT NULL \
             ORDER BY next_attempt_at DESC LIMIT 1"
        )
        .fetch_optional(pool)
        .await?);
        Ok(Some(Retrying {
            waiting: waiting as u64,
            since: instant(since),
            error: error.unwrap_or_default(),
        }))
    }

    /// The 20 newest permanently failed messages.
    pub async fn failures(&self) -> anyhow::Result<Vec<Failure>> {
        Ok(on!(self, |pool| sqlx::query_as(
            "SELECT key, recipient, COALESCE(last_error, '') AS error FROM messages \
             WHERE state = 'failed' ORDER BY created_at DESC, key LIMIT 20",
        )
        .fetch_all(pool)
        .await?))
    }

    /// Per pair: when mail last went out, and how many failed for good.
    pub async fn pair_activity(&self) -> anyhow::Result<HashMap<String, PairActivity>> {
        let rows: Vec<(String, Option<i64>, i64, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, MAX(sent_at) AS last_sent, \
             COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed, \
             COALESCE(SUM(CASE WHEN state = 'pending' AND attempts > 0 \
               AND last_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS retrying \
             FROM messages WHERE pair IS NOT NULL GROUP BY pair",
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(pair, last, failed, retrying)| {
                let activity = PairActivity {
                    last_sent: last.map(instant),
                    failed: failed as u64,
                    retrying: retrying as u64,
                };
                (pair, activity)
            })
            .collect())
    }

    /// Queues failed messages again, as they were (same key, body and `Message-ID`),
    /// due at `now`: those of `pairs`, or all with `None`. Returns how many, per pair
    /// (`None` for program-wide mail).
    pub async fn requeue_failed(
        &self,
        pairs: Option<&[String]>,
        now: Timestamp,
    ) -> anyhow::Result<Vec<(Option<String>, u64)>> {
        on!(self, |pool| {
            let mut tx = pool.begin().await?;
            let counted: Vec<(Option<String>, i64)> = sqlx::query_as(
                "SELECT pair, COUNT(*) FROM messages WHERE state = 'failed' GROUP BY pair \
                 ORDER BY pair",
            )
            .fetch_all(&mut *tx)
            .await?;
            let wanted = |pair: &Option<String>| match (pairs, pair) {
                (None, _) => true,
                (Some(list), Some(pair)) => list.contains(pair),
                (Some(_), None) => false,
            };
            let mut out = Vec::new();
            for (pair, count) in counted.into_iter().filter(|(p, _)| wanted(p)) {
                sqlx::query(
                    "UPDATE messages SET state = 'pending', attempts = 0, next_attempt_at = $1, \
                     last_error = NULL, claimed_by = NULL \
                     WHERE state = 'failed' AND pair IS NOT DISTINCT FROM $2",
                )
                .bind(seconds(now))
                .bind(&pair)
                .execute(&mut *tx)
                .await?;
                out.push((pair, count as u64));
            }
            tx.commit().await?;
            Ok(out)
        })
    }
}
