//! The claim on PostgreSQL: what is pending and due becomes this daemon's, calendar
//! mail first; rows another daemon is claiming right now are skipped, not waited for;
//! claims of a daemon whose lease ran out are taken over. A daily budget's count and
//! the claims hold one lock, so daemons claiming at once cannot overrun it together.

use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::PgPool;

use crate::store::dialect::ClaimedRow;
use crate::store::outbox::budget::{DAY, Held, Room, budget_use};

/// Pending calendar mail due by `$1`, at most `$2`, becomes `$3`'s; oldest first, in
/// the order queued, through `messages_pending_due` (migration 0009), not by sorting
/// every due message. The body is read after.
const CLAIM_CALENDAR: &str = "
UPDATE messages SET state = 'sending', attempts = attempts + 1, claimed_by = $3, claimed_at = $1
WHERE key IN (
    SELECT m.key FROM messages m
    WHERE m.state = 'pending' AND m.method IS NOT NULL AND m.next_attempt_at <= $1
    ORDER BY m.next_attempt_at, m.queued LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING key, message_id, kind, pair, recipient, attempts, uid, method, sequence,
    next_attempt_at, queued AS queued";

/// [`CLAIM_CALENDAR`] for any pending mail.
const CLAIM: &str = "
UPDATE messages SET state = 'sending', attempts = attempts + 1, claimed_by = $3, claimed_at = $1
WHERE key IN (
    SELECT m.key FROM messages m
    WHERE m.state = 'pending' AND m.next_attempt_at <= $1
    ORDER BY m.next_attempt_at, m.queued LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING key, message_id, kind, pair, recipient, attempts, uid, method, sequence,
    next_attempt_at, queued AS queued";

/// Claims of daemons that have not beaten for a lease (`$4` seconds, on the database's
/// clock), taken over by `$3`. Asked only while such a daemon is registered
/// ([`ANY_LEASE_OUT`]) or a lease check found a claim out of its lease
/// (`Store::next_lease_expiry`): `sending` is no index's cheap question (an update
/// leaves the row's old version behind, so the indexes over `state` hold an entry for
/// nearly every message sent since the last vacuum), and asking it with every claim
/// read them all; a first start of 50,000 pairs spent most of its time there.
const CLAIM_ABANDONED: &str = "
UPDATE messages SET state = 'sending', attempts = attempts + 1, claimed_by = $3, claimed_at = $1
WHERE key IN (
    SELECT m.key FROM messages m
    WHERE m.state = 'sending' AND NOT EXISTS (
        SELECT 1 FROM instances i
        WHERE i.id = m.claimed_by
          AND i.heartbeat_at >= CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT) - $4)
    ORDER BY m.next_attempt_at, m.queued LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING key, message_id, kind, pair, recipient, attempts, uid, method, sequence,
    next_attempt_at, queued AS queued";

/// Whether a daemon other than `$1` has not beaten for a lease (`$2` seconds): its
/// claims are for the taking. A daemon's row is forgotten a day after its last beat,
/// and its claims given back first (see `Store::register`).
const ANY_LEASE_OUT: &str = "
SELECT EXISTS (
    SELECT 1 FROM instances
    WHERE id <> $1
      AND heartbeat_at < CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT) - $2)";

/// Holds the daily budget until the transaction ends: one daemon counts and claims
/// at a time.
const BUDGET_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('mentord daily budget'))";

/// Claims up to `limit` messages due at `now` for `me`, within a rolling day's budget
/// of `daily` over every daemon: the rows, how many of them are calendar mail (they
/// come first), and the budget when it held mail back. A daemon silent for `lease`
/// seconds is dead. `lease_out` says a lease check
/// saw a claim out of its lease: this claim looks for abandoned claims then, even if
/// no daemon's row says so (a claim of a daemon whose row is gone).
pub(crate) async fn claim(
    pool: &PgPool,
    now: i64,
    limit: u32,
    daily: Option<u32>,
    me: Option<&str>,
    lease: i64,
    lease_out: &AtomicBool,
) -> anyhow::Result<(Vec<ClaimedRow>, usize, Option<Held>)> {
    let claim = async |conn: &mut sqlx::PgConnection| {
        let used = match daily {
            Some(daily) => {
                sqlx::query(BUDGET_LOCK).execute(&mut *conn).await?;
                Some(budget_use::<sqlx::Postgres>(&mut *conn, daily, now - DAY).await?)
            }
            None => None,
        };
        let Room { limit, held } = Room::within(limit, used);
        if limit == 0 {
            return anyhow::Ok((Vec::new(), 0, held));
        }
        let mut rows = sqlx::query_as::<_, ClaimedRow>(CLAIM_CALENDAR)
            .bind(now)
            .bind(limit)
            .bind(me)
            .fetch_all(&mut *conn)
            .await?;
        let calendar = rows.len();
        if (rows.len() as i64) < limit
            && (lease_out.swap(false, Ordering::Relaxed)
                || sqlx::query_scalar::<_, bool>(ANY_LEASE_OUT)
                    .bind(me)
                    .bind(lease)
                    .fetch_one(&mut *conn)
                    .await?)
        {
            let abandoned = sqlx::query_as::<_, ClaimedRow>(CLAIM_ABANDONED)
                .bind(now)
                .bind(limit - rows.len() as i64)
                .bind(me)
                .bind(lease);
            rows.extend(abandoned.fetch_all(&mut *conn).await?);
        }
        if (rows.len() as i64) < limit {
            let rest = sqlx::query_as::<_, ClaimedRow>(CLAIM)
                .bind(now)
                .bind(limit - rows.len() as i64)
                .bind(me);
            rows.extend(rest.fetch_all(&mut *conn).await?);
        }
        Ok((rows, calendar, held))
    };
    // A budget's count and the claims hold its lock to the end of one transaction;
    // else each claim commits on its own (one round trip, not three).
    if daily.is_some() {
        let mut tx = pool.begin().await?;
        let claimed = claim(&mut *tx).await?;
        tx.commit().await?;
        Ok(claimed)
    } else {
        claim(&mut *pool.acquire().await?).await
    }
}

/// Bodies of messages just claimed, the keys a JSON array: on PostgreSQL a column of
/// `messages`, probed by primary key once per key.
const BODIES: &str = "
SELECT key, body FROM messages
WHERE key = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST($1 AS jsonb))))";

/// The bodies of `keys` (a JSON array).
pub(crate) async fn bodies(pool: &PgPool, keys: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    Ok(sqlx::query_as(BODIES).bind(keys).fetch_all(pool).await?)
}
