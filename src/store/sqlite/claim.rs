//! The claim on SQLite: what is pending and due becomes this daemon's, calendar mail
//! first. SQLite has one daemon per store (the file lock): no claim of another to skip
//! or take over, and a budget's count needs no lock.

use sqlx::SqlitePool;

use crate::store::dialect::ClaimedRow;
use crate::store::outbox::budget::{DAY, Held, Room, budget_use};

/// Pending calendar mail due by `$1`, at most `$2`, becomes `$3`'s; oldest first, in
/// the order queued (`rowid`). The body is read after, off the writer.
const CLAIM_CALENDAR: &str = "
UPDATE messages SET state = 'sending', attempts = attempts + 1, claimed_by = $3, claimed_at = $1
WHERE key IN (
    SELECT key FROM messages INDEXED BY messages_calendar_due
    WHERE state = 'pending' AND method IS NOT NULL AND next_attempt_at <= $1
    ORDER BY next_attempt_at, rowid LIMIT $2)
RETURNING key, message_id, kind, pair, recipient, attempts, uid, method, sequence,
    next_attempt_at, rowid AS queued";

/// [`CLAIM_CALENDAR`] for any pending mail.
const CLAIM: &str = "
UPDATE messages SET state = 'sending', attempts = attempts + 1, claimed_by = $3, claimed_at = $1
WHERE key IN (
    SELECT key FROM messages
    WHERE state = 'pending' AND next_attempt_at <= $1
    ORDER BY next_attempt_at, rowid LIMIT $2)
RETURNING key, message_id, kind, pair, recipient, attempts, uid, method, sequence,
    next_attempt_at, rowid AS queued";

/// Claims up to `limit` messages due at `now` for `me` on the `writer`, within a
/// rolling day's budget of `daily`: the rows, how many of them are calendar mail (they
/// come first), and the budget when it held mail back.
pub(crate) async fn claim(
    writer: &SqlitePool,
    now: i64,
    limit: u32,
    daily: Option<u32>,
    me: Option<&str>,
) -> anyhow::Result<(Vec<ClaimedRow>, usize, Option<Held>)> {
    // Counted before the claims' transaction, outside it: a read before the write
    // would make the transaction's upgrade fail against `deliver`.
    let used = match daily {
        Some(daily) => {
            let mut conn = writer.acquire().await?;
            Some(budget_use::<sqlx::Sqlite>(&mut conn, daily, now - DAY).await?)
        }
        None => None,
    };
    let Room { limit, held } = Room::within(limit, used);
    if limit == 0 {
        return Ok((Vec::new(), 0, held));
    }
    let claim = async |conn: &mut sqlx::SqliteConnection| {
        let mut rows = sqlx::query_as::<_, ClaimedRow>(CLAIM_CALENDAR)
            .bind(now)
            .bind(limit)
            .bind(me)
            .fetch_all(&mut *conn)
            .await?;
        let calendar = rows.len();
        if (rows.len() as i64) < limit {
            let rest = sqlx::query_as::<_, ClaimedRow>(CLAIM)
                .bind(now)
                .bind(limit - rows.len() as i64)
                .bind(me);
            rows.extend(rest.fetch_all(&mut *conn).await?);
        }
        anyhow::Ok((rows, calendar))
    };
    // Under a budget the claims stand or fall together; else each commits on its own
    // (one round trip, not three).
    let (rows, calendar) = if daily.is_some() {
        let mut tx = writer.begin().await?;
        let claimed = claim(&mut *tx).await?;
        tx.commit().await?;
        claimed
    } else {
        claim(&mut *writer.acquire().await?).await?
    };
    Ok((rows, calendar, held))
}

/// Bodies of messages just claimed, the keys a JSON array: on SQLite a table of their
/// own (migration 0007).
const BODIES: &str = "SELECT key, body FROM bodies WHERE key IN (SELECT value FROM json_each($1))";

/// The bodies of `keys` (a JSON array), read on `pool` (not the writer).
pub(crate) async fn bodies(
    pool: &SqlitePool,
    keys: &str,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    Ok(sqlx::query_as(BODIES).bind(keys).fetch_all(pool).await?)
}
