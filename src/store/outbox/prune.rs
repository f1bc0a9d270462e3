//! `[store] keep_sent`: the body of a message sent longer ago than that is dropped; its
//! row stays for ever (key, Message-ID, state, times, recipient: what the ledger, the
//! matching of replies and `status` need). A year of 50,000 pairs is four million
//! messages: kept whole, over 30 GB; pruned, the rows and a month of bodies.
//!
//! Each pass is one small batch on the writer, taken in `(sent_at, key)` order from
//! where the last pass stopped (the `pruned` row), so a pass reads only what it prunes
//! and never holds the writer long enough to stall sending.

use jiff::Timestamp;

use super::super::{Store, on_writer, seconds};

/// Bodies pruned in one pass: about 4 MB of SQLite pages, a few milliseconds.
pub const PRUNE_BATCH: i64 = 500;

impl Store {
    /// Drops the bodies of up to `batch` messages sent before `before`, oldest first,
    /// and remembers where it stopped. Returns how many it pruned: fewer than `batch`
    /// means it caught up.
    pub async fn prune_sent(&self, before: Timestamp, batch: i64) -> anyhow::Result<usize> {
        let before = seconds(before);
        let pruned = on_writer!(self, |pool, backend| {
            let mut tx = pool.begin().await?;
            let mark: Option<(i64, String)> =
                sqlx::query_as("SELECT sent_at, key FROM pruned WHERE id = 1")
                    .fetch_optional(&mut *tx)
                    .await?;
            let (mark_at, mark_key) = mark.unwrap_or((i64::MIN, String::new()));
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT key, sent_at FROM messages \
                 WHERE state = 'sent' AND sent_at < $1 \
                   AND (sent_at > $2 OR (sent_at = $2 AND key > $3)) \
                 ORDER BY sent_at, key LIMIT $4",
            )
            .bind(before)
            .bind(mark_at)
            .bind(&mark_key)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
            if let Some((last_key, last_at)) = rows.last() {
                let keys = serde_json::to_string(
                    &rows.iter().map(|(key, _)| key.as_str()).collect::<Vec<_>>(),
                )?;
                let drop_bodies = match backend {
                    crate::store::Backend::Sqlite => {
                        "DELETE FROM bodies WHERE key IN (SELECT value FROM json_each($1))"
                    }
                    crate::store::Backend::Postgres => {
                        "UPDATE messages SET body = NULL \
                         WHERE key IN (SELECT jsonb_array_elements_text($1::jsonb))"
                    }
                };
                sqlx::query(drop_bodies)
                    .bind(&keys)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO pruned (id, sent_at, key) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET sent_at = excluded.sent_at, key = excluded.key",
                )
                .bind(*last_at)
                .bind(last_key)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            rows.len()
        });
        Ok(pruned)
    }
}
