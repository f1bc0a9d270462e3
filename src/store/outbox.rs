//! The outbox (`messages`) and the schedule's cursor: a message is written with its
//! deterministic key and its whole body *before* it is sent, claimed (`sending`,
//! `claimed_by`) while in flight and marked `sent` after. The key is the primary key, so
//! a second copy cannot be queued; a crash between the server's acceptance and the mark
//! leaves it `sending`: on SQLite (one daemon) [`Store::recover_abandoned`] puts it back
//! at the next start, on PostgreSQL another daemon takes it once the claimer's lease ran
//! out (see [`super::instances`]). At worst one resend, byte-identical, same `Message-ID`.
//! Marks change only a claim the marking daemon still holds.

use std::collections::HashMap;

use anyhow::bail;
use jiff::Timestamp;
use sqlx::Row;

use super::{LEASE, Store, dialects, instant, on, seconds, series};
use crate::mail::MessageKind;
use crate::reconcile::Sent;

/// A message to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// A [`crate::mail::DeliveryKey`], as written.
    pub key: String,
    pub message_id: String,
    pub kind: MessageKind,
    pub pair: Option<String>,
    pub recipient: String,
    pub due_at: Timestamp,
    pub uid: Option<String>,
    pub method: Option<String>,
    pub sequence: Option<u32>,
    pub body: Vec<u8>,
    /// The token in its Reply-To, when replies are read (see `inbound::token`).
    pub reply_token: Option<String>,
    /// Recorded but never sent, and why (a prompt whose meeting started while mentord
    /// was down).
    pub dropped: Option<String>,
}

/// A message taken from the outbox to send.
#[derive(Debug, Clone)]
pub struct Queued {
    pub key: String,
    pub message_id: String,
    pub kind: MessageKind,
    pub pair: Option<String>,
    pub recipient: String,
    pub attempts: u32,
    pub body: Vec<u8>,
    /// For calendar messages: the series' UID, the iTIP method and the SEQUENCE.
    pub uid: Option<String>,
    pub method: Option<String>,
    pub sequence: Option<u32>,
}

/// Counts and recent problems for `status`.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub last_sent: Option<Timestamp>,
    /// Permanently failed messages, newest first.
    pub failures: Vec<Failure>,
}

/// A pair's mail in two figures, for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairActivity {
    pub last_sent: Option<Timestamp>,
    pub failed: u64,
}

/// A message that failed for good.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Failure {
    pub key: String,
    pub recipient: String,
    pub error: String,
}

const INSERT_MESSAGE: &str = "INSERT INTO messages (key, message_id, kind, pair, recipient, due_at, state, \
     attempts, next_attempt_at, last_error, uid, method, sequence, body, created_at, reply_token) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $6, $8, $9, $10, $11, $12, $13, $14) \
     ON CONFLICT (key) DO NOTHING";

/// SQLite has one daemon: what is pending and due.
const CLAIM_SQLITE: &str = "UPDATE messages SET state = 'sending', attempts = attempts + 1, \
     claimed_by = $3, claimed_at = $1 \
     WHERE key IN (SELECT key FROM messages WHERE state = 'pending' AND next_attempt_at <= $1 \
                   ORDER BY next_attempt_at, rowid LIMIT $2) \
     RETURNING key, message_id, kind, pair, recipient, attempts, body, uid, method, sequence, \
       next_attempt_at, rowid AS queued";

/// PostgreSQL: what is pending and due, or claimed by a daemon whose lease ran out;
/// rows another daemon is claiming right now are skipped, not waited for.
const CLAIM_POSTGRES: &str = dialects!(
    "UPDATE messages SET state = 'sending', attempts = attempts + 1, \
     claimed_by = $3, claimed_at = $1 \
     WHERE key IN (SELECT m.key FROM messages m \
        WHERE (m.state = 'pending' AND m.next_attempt_at <= $1) \
           OR (m.state = 'sending' AND NOT EXISTS (SELECT 1 FROM instances i \
                 WHERE i.id = m.claimed_by AND i.heartbeat_at >= ",
    NOW,
    " - $4)) \
        ORDER BY m.next_attempt_at, m.queued LIMIT $2 FOR UPDATE SKIP LOCKED) \
     RETURNING key, message_id, kind, pair, recipient, attempts, body, uid, method, sequence, \
       next_attempt_at, queued"
)
.1;

/// Marks change only a claim this daemon still holds.
const MARK_SENT: (&str, &str) = dialects!(
    "UPDATE messages SET state = 'sent', sent_at = $1, last_error = NULL \
     WHERE key = $2 AND state = 'sending' AND ",
    CLAIMER_IS,
    " $3"
);
/// [`MARK_SENT`] for a store in memory: the body is not kept.
const MARK_SENT_FORGETTING_BODY: (&str, &str) = dialects!(
    "UPDATE messages SET state = 'sent', sent_at = $1, last_error = NULL, body = ",
    EMPTY_BODY,
    " WHERE key = $2 AND state = 'sending' AND ",
    CLAIMER_IS,
    " $3"
);
const MARK_RETRY: (&str, &str) = dialects!(
    "UPDATE messages SET state = 'pending', last_error = $1, next_attempt_at = $2, \
     claimed_by = NULL WHERE key = $3 AND state = 'sending' AND ",
    CLAIMER_IS,
    " $4"
);
const MARK_FAILED: (&str, &str) = dialects!(
    "UPDATE messages SET state = 'failed', last_error = $1 \
     WHERE key = $2 AND state = 'sending' AND ",
    CLAIMER_IS,
    " $3"
);

impl Store {
    /// In one transaction: queues `messages` (those whose key is new; the answer says
    /// which) and then records `series` as sent. A crash leaves both or neither.
    pub async fn enqueue_all(
        &self,
        messages: &[NewMessage],
        series: &[(String, Sent)],
        now: Timestamp,
    ) -> anyhow::Result<Vec<bool>> {
        on!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut queued = Vec::with_capacity(messages.len());
            for m in messages {
                let state = if m.dropped.is_some() {
                    "dropped"
                } else {
                    "pending"
                };
                let result = sqlx::query(INSERT_MESSAGE)
                    .bind(&m.key)
                    .bind(&m.message_id)
                    .bind(m.kind.name())
                    .bind(&m.pair)
                    .bind(&m.recipient)
                    .bind(seconds(m.due_at))
                    .bind(state)
                    .bind(&m.dropped)
                    .bind(&m.uid)
                    .bind(&m.method)
                    .bind(m.sequence.map(i64::from))
                    .bind(&m.body)
                    .bind(seconds(now))
                    .bind(&m.reply_token)
                    .execute(&mut *tx)
                    .await?;
                queued.push(result.rows_affected() == 1);
            }
            for (pair, sent) in series {
                sqlx::query(series::SAVE_SERIES)
                    .bind(pair)
                    .bind(&sent.series.uid)
                    .bind(i64::from(sent.sequence))
                    .bind(i64::from(sent.active))
                    .bind(series::to_json(&sent.series))
                    .bind(seconds(now))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(queued)
        })
    }

    /// Claims up to `limit` messages due by `now` (state `pending` → `sending`, held by
    /// this daemon), oldest first. On PostgreSQL also takes over the claims of daemons
    /// whose lease ran out.
    pub async fn claim_due(&self, now: Timestamp, limit: u32) -> anyhow::Result<Vec<Queued>> {
        let me = self.instance_id();
        if me.is_none() && self.is_shared() {
            bail!("a daemon must register before it claims messages from a shared store");
        }
        let mut out: Vec<((i64, i64), Queued)> = on!(self, |pool, backend| {
            sqlx::query(backend.pick((CLAIM_SQLITE, CLAIM_POSTGRES)))
                .bind(seconds(now))
                .bind(i64::from(limit))
                .bind(me)
                .bind(LEASE.as_secs() as i64)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| {
                    anyhow::Ok((
                        (
                            row.get::<i64, _>("next_attempt_at"),
                            row.get::<i64, _>("queued"),
                        ),
                        Queued {
                            key: row.get("key"),
                            message_id: row.get("message_id"),
                            kind: row.get::<String, _>("kind").parse()?,
                            pair: row.get("pair"),
                            recipient: row.get("recipient"),
                            attempts: row.get::<i64, _>("attempts") as u32,
                            body: row.get("body"),
                            uid: row.get("uid"),
                            method: row.get("method"),
                            sequence: row.get::<Option<i64>, _>("sequence").map(|s| s as u32),
                        },
                    ))
                })
                .collect::<anyhow::Result<_>>()?
        });
        // Due first, then in the order queued.
        out.sort_by_key(|(order, _)| *order);
        Ok(out.into_iter().map(|(_, q)| q).collect())
    }

    /// Sent: `claimed_by` stays, naming the daemon that sent it. False when this daemon
    /// no longer held the claim (it was silent past its lease and another took it over).
    pub async fn mark_sent(&self, key: &str, at: Timestamp) -> anyhow::Result<bool> {
        let me = self.instance_id();
        // In memory (a simulation) the body goes in the same statement.
        let statement = if self.in_memory {
            MARK_SENT_FORGETTING_BODY
        } else {
            MARK_SENT
        };
        let marked = on!(self, |pool, backend| sqlx::query(backend.pick(statement))
            .bind(seconds(at))
            .bind(key)
            .bind(me)
            .execute(pool)
            .await?
            .rows_affected());
        if self.in_memory && marked == 1 {
            self.forget_old_sent(at).await?;
        }
        Ok(marked == 1)
    }

    /// A simulation keeps a sent message's key while it could be queued again (late
    /// prompts look back a few days at most), not its body (dropped when it is marked),
    /// and forgets the row after a fortnight: a year of 5,000 pairs stays small.
    async fn forget_old_sent(&self, at: Timestamp) -> anyhow::Result<()> {
        let marks = self
            .sent_marks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if marks.is_multiple_of(4096) {
            let before = at
                .checked_sub(jiff::SignedDuration::from_hours(14 * 24))
                .unwrap_or(at);
            on!(self, |pool| sqlx::query(
                "DELETE FROM messages WHERE state = 'sent' AND due_at < $1"
            )
            .bind(seconds(before))
            .execute(pool)
            .await?
            .rows_affected());
        }
        Ok(())
    }

    /// A temporary failure (or a claim given back): try again at `next`. False when
    /// the claim was no longer this daemon's.
    pub async fn mark_retry(
        &self,
        key: &str,
        error: &str,
        next: Timestamp,
    ) -> anyhow::Result<bool> {
        let me = self.instance_id();
        let marked = on!(self, |pool, backend| sqlx::query(backend.pick(MARK_RETRY))
            .bind(error)
            .bind(seconds(next))
            .bind(key)
            .bind(me)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(marked == 1)
    }

    /// A permanent failure, shown in `status` and the digest. False when the claim was
    /// no longer this daemon's.
    pub async fn mark_failed(&self, key: &str, error: &str) -> anyhow::Result<bool> {
        let me = self.instance_id();
        let marked = on!(self, |pool, backend| sqlx::query(backend.pick(MARK_FAILED))
            .bind(error)
            .bind(key)
            .bind(me)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(marked == 1)
    }

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
        on!(self, |pool| sqlx::query(
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
        })
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
        let rows: Vec<(String, Option<i64>, i64)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, MAX(sent_at) AS last_sent, \
             COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed \
             FROM messages WHERE pair IS NOT NULL GROUP BY pair",
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(pair, last, failed)| {
                let activity = PairActivity {
                    last_sent: last.map(instant),
                    failed: failed as u64,
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
