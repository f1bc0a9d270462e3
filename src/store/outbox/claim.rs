//! Claiming: due messages become this daemon's (`pending` → `sending`), calendar
//! mail first, within a daily budget when the relay has one; on PostgreSQL also the
//! claims of daemons whose lease ran out. Bodies are read after, off SQLite's writer.

use std::collections::HashMap;

use anyhow::{Context as _, bail};
use jiff::Timestamp;
use sqlx::Row;

use super::budget::{DAY, budget_use};
use super::{Claimed, Queued};
use crate::store::{Backend, LEASE, Store, connection, dialects, finish, on, on_writer, seconds};

/// Bodies of messages just claimed: the keys a JSON array.
const CLAIMED_BODIES: (&str, &str) = (
    "SELECT key, body FROM bodies WHERE key IN (SELECT value FROM json_each($1))",
    "SELECT key, body FROM messages \
     WHERE key = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST($1 AS jsonb))))",
);

/// A claim: the rows the subquery (its pieces, as `concat!` takes them; `$1` now, `$2`
/// the limit) picks become this daemon's (`$3`), and come back with every column but
/// the body, read after (see [`Recent`]); `$order` is the column they were queued in.
macro_rules! claim {
    ($order:literal, $($select:tt)+) => {
        concat!(
            "UPDATE messages SET state = 'sending', attempts = attempts + 1, \
             claimed_by = $3, claimed_at = $1 WHERE key IN (",
            $($select)+,
            ") RETURNING key, message_id, kind, pair, recipient, attempts, uid, method, \
             sequence, next_attempt_at, ",
            $order,
            " AS queued"
        )
    };
}

/// SQLite has one daemon: what is pending and due.
const CLAIM_SQLITE: &str = claim!(
    "rowid",
    "SELECT key FROM messages WHERE state = 'pending' AND next_attempt_at <= $1 \
                   ORDER BY next_attempt_at, rowid LIMIT $2"
);

/// [`CLAIM_SQLITE`] for calendar mail only, which goes first.
const CLAIM_CALENDAR_SQLITE: &str = claim!(
    "rowid",
    "SELECT key FROM messages INDEXED BY messages_calendar_due \
                   WHERE state = 'pending' AND method IS NOT NULL AND next_attempt_at <= $1 \
                   ORDER BY next_attempt_at, rowid LIMIT $2"
);

/// PostgreSQL: what is pending and due; rows another daemon is claiming right now are
/// skipped, not waited for. In the order queued, through `messages_pending_due`
/// (migration 0009), not by sorting every due message.
const CLAIM_POSTGRES: &str = claim!(
    "queued",
    "SELECT m.key FROM messages m \
        WHERE m.state = 'pending' AND m.next_attempt_at <= $1 \
        ORDER BY m.next_attempt_at, m.queued LIMIT $2 FOR UPDATE SKIP LOCKED"
);

/// PostgreSQL: claims of daemons whose lease ran out, taken over. Asked only while such
/// a daemon is registered ([`ANY_LEASE_OUT`]) or a lease check found a claim out of its
/// lease (`Store::next_lease_expiry`): `sending` is no index's cheap question
/// (see `STILL_SENDING`), and asking it with every claim read an entry for every message
/// sent since the last vacuum; a first start of 50,000 pairs spent most of its time
/// there.
const CLAIM_ABANDONED_POSTGRES: &str = claim!(
    "queued",
    "SELECT m.key FROM messages m \
        WHERE m.state = 'sending' AND NOT EXISTS (SELECT 1 FROM instances i \
                 WHERE i.id = m.claimed_by AND i.heartbeat_at >= ",
    dialects!(@postgres NOW),
    " - $4) \
        ORDER BY m.next_attempt_at, m.queued LIMIT $2 FOR UPDATE SKIP LOCKED"
);

/// Whether a daemon other than `$1` has not beaten for a lease (`$2` seconds): its
/// claims are for the taking. A daemon's row is forgotten a day after its last beat,
/// and its claims given back first (see `Store::register`).
const ANY_LEASE_OUT: &str = concat!(
    "SELECT EXISTS (SELECT 1 FROM instances WHERE id <> $1 AND heartbeat_at < ",
    dialects!(@postgres NOW),
    " - $2)"
);

/// [`CLAIM_POSTGRES`] for pending calendar mail only, which goes first.
const CLAIM_CALENDAR_POSTGRES: &str = claim!(
    "queued",
    "SELECT m.key FROM messages m \
        WHERE m.state = 'pending' AND m.method IS NOT NULL AND m.next_attempt_at <= $1 \
        ORDER BY m.next_attempt_at, m.queued LIMIT $2 FOR UPDATE SKIP LOCKED"
);

impl Store {
    /// Claims up to `limit` messages due by `now` (state `pending` → `sending`, held by
    /// this daemon): calendar mail first, then the rest, each oldest first. On
    /// PostgreSQL also takes over the claims of daemons whose lease ran out.
    pub async fn claim_due(&self, now: Timestamp, limit: u32) -> anyhow::Result<Vec<Queued>> {
        Ok(self.claim(now, limit, None).await?.messages)
    }

    /// [`Store::claim_due`] within a rolling day's budget of `daily` messages over every
    /// daemon: fewer (or none) when the day's sends and the claims in flight leave less
    /// room. On PostgreSQL the count and the claim hold one lock, so daemons claiming
    /// at once cannot overrun the budget together.
    pub async fn claim(
        &self,
        now: Timestamp,
        limit: u32,
        daily: Option<u32>,
    ) -> anyhow::Result<Claimed> {
        let me = self.instance_id();
        if me.is_none() && self.is_shared() {
            bail!("a daemon must register before it claims messages from a shared store");
        }
        let day_ago = seconds(now) - DAY;
        let mut claimed = Claimed::default();
        let rows = on_writer!(self, |pool, backend| {
            // SQLite has one daemon: its count needs no lock (and a read before the
            // write would make the transaction's upgrade fail against `deliver`).
            let mut used = None;
            if let (Some(daily), Backend::Sqlite) = (daily, backend) {
                used = Some(budget_use!(pool, daily, day_ago));
            }
            // A budget's count and the claims hold its lock to the end; else each
            // claim stands on its own.
            connection!(pool, daily.is_some(), conn, tx);
            if let (Some(daily), Backend::Postgres) = (daily, backend) {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext('mentord daily budget'))")
                    .execute(&mut *conn)
                    .await?;
                used = Some(budget_use!(&mut *conn, daily, day_ago));
            }
            let mut limit = i64::from(limit);
            if let Some(used) = used {
                let room = i64::from(used.daily) - used.used as i64;
                if room <= 0 {
                    claimed.held = Some(used);
                }
                limit = limit.min(room.max(0));
            }
            if limit > 0 {
                let (calendar, all) = backend.pick_pair((
                    (CLAIM_CALENDAR_SQLITE, CLAIM_SQLITE),
                    (CLAIM_CALENDAR_POSTGRES, CLAIM_POSTGRES),
                ));
                let mut rows = sqlx::query(calendar)
                    .bind(seconds(now))
                    .bind(limit)
                    .bind(me)
                    .fetch_all(&mut *conn)
                    .await?;
                let first = rows.len();
                if backend == Backend::Postgres
                    && (rows.len() as i64) < limit
                    && (self
                        .lease_out
                        .swap(false, std::sync::atomic::Ordering::Relaxed)
                        || sqlx::query_scalar::<_, bool>(ANY_LEASE_OUT)
                            .bind(me)
                            .bind(LEASE.as_secs() as i64)
                            .fetch_one(&mut *conn)
                            .await?)
                {
                    let abandoned = sqlx::query(CLAIM_ABANDONED_POSTGRES)
                        .bind(seconds(now))
                        .bind(limit - rows.len() as i64)
                        .bind(me)
                        .bind(LEASE.as_secs() as i64);
                    rows.extend(abandoned.fetch_all(&mut *conn).await?);
                }
                if (rows.len() as i64) < limit {
                    let rest = sqlx::query(all)
                        .bind(seconds(now))
                        .bind(limit - rows.len() as i64)
                        .bind(me);
                    rows.extend(rest.fetch_all(&mut *conn).await?);
                }
                finish!(tx);
                let mut out = rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, row)| {
                        anyhow::Ok((
                            (
                                i >= first,
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
                                // Read below, off the writer.
                                body: Vec::new(),
                                uid: row.get("uid"),
                                method: row.get("method"),
                                sequence: row.get::<Option<i64>, _>("sequence").map(|s| s as u32),
                            },
                        ))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                // Calendar first; then due first, then in the order queued.
                out.sort_by_key(|(order, _)| *order);
                out.into_iter().map(|(_, q)| q).collect()
            } else {
                finish!(tx);
                Vec::new()
            }
        });
        claimed.messages = rows;
        self.read_bodies(&mut claimed.messages).await?;
        Ok(claimed)
    }

    /// The bodies of messages just claimed: those this process queued lately from
    /// [`Recent`], the others from the store on a connection other than SQLite's
    /// writer (a body never changes once queued; the writer goes on with marks and the
    /// next batch meanwhile).
    async fn read_bodies(&self, messages: &mut [Queued]) -> anyhow::Result<()> {
        let mut missing = Vec::new();
        {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            for (i, message) in messages.iter_mut().enumerate() {
                match recent.take(&message.key) {
                    Some(body) => message.body = body,
                    None => missing.push(i),
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = missing.iter().map(|&i| messages[i].key.as_str()).collect();
        let keys = serde_json::to_string(&keys)?;
        let mut bodies: HashMap<String, Vec<u8>> = on!(self, |pool, backend| {
            sqlx::query_as::<_, (String, Vec<u8>)>(backend.pick(CLAIMED_BODIES))
                .bind(&keys)
                .fetch_all(pool)
                .await?
                .into_iter()
                .collect()
        });
        for i in missing {
            let message = &mut messages[i];
            message.body = bodies
                .remove(&message.key)
                .with_context(|| format!("the message {} has no body in the store", message.key))?;
        }
        Ok(())
    }
}
