//! Marking: what became of claimed messages (sent, retried, failed, dropped), in one
//! transaction per batch; each mark changes only a claim this daemon still holds.

use jiff::Timestamp;

use crate::store::{Store, on, on_writer, seconds};

/// What became of a claimed message.
#[derive(Debug, Clone, Copy)]
pub enum Mark<'a> {
    /// The server took it.
    Sent,
    /// Not this time (a temporary failure, or a claim given back): again at `next`.
    Retry { error: &'a str, next: Timestamp },
    /// Never: the server refused it for good.
    Failed { error: &'a str },
    /// Never: no longer worth sending (kept in the store as `dropped`, with why).
    Dropped { why: &'a str },
}

impl Store {
    /// Records what became of sent (or given back) messages, all in one transaction:
    /// a group commit. Each mark changes only a claim this daemon still holds; the
    /// answer says, per mark, whether it did (false: another daemon took the message
    /// over while this one was silent).
    pub async fn mark_all(
        &self,
        marks: &[(&str, Mark<'_>)],
        at: Timestamp,
    ) -> anyhow::Result<Vec<bool>> {
        let me = self.instance_id();
        let sent: Vec<&str> = marks
            .iter()
            .filter(|(_, mark)| matches!(mark, Mark::Sent))
            .map(|(key, _)| *key)
            .collect();
        let sent_json = serde_json::to_string(&sent)?;
        // One statement commits on its own: the usual mark, of messages sent.
        let statements = marks.len() - sent.len()
            + usize::from(!sent.is_empty()) * (1 + usize::from(self.in_memory));
        let held: Vec<bool> = on_writer!(self, |pool, backend| {
            // Several statements stand or fall together in a transaction; one commits
            // on its own, one round trip instead of three (BEGIN, it, COMMIT).
            let (mut tx, mut plain) = (None, None);
            let conn = if statements > 1 {
                &mut **tx.insert(pool.begin().await?)
            } else {
                &mut **plain.insert(pool.acquire().await?)
            };
            let mut marked_sent = std::collections::HashSet::new();
            if !sent.is_empty() {
                let keys: Vec<String> = sqlx::query_scalar(backend.sql().mark_sent)
                    .bind(seconds(at))
                    .bind(&sent_json)
                    .bind(me)
                    .fetch_all(&mut *conn)
                    .await?;
                marked_sent.extend(keys);
                if self.in_memory {
                    // A simulation (always SQLite) keeps no body once sent.
                    sqlx::query(
                        "DELETE FROM bodies WHERE key IN (SELECT value FROM json_each($1))",
                    )
                    .bind(&sent_json)
                    .execute(&mut *conn)
                    .await?;
                }
            }
            let mut held = Vec::with_capacity(marks.len());
            for (key, mark) in marks {
                let query = match mark {
                    Mark::Sent => {
                        held.push(marked_sent.contains(*key));
                        continue;
                    }
                    Mark::Retry { error, next } => sqlx::query(backend.sql().mark_retry)
                        .bind(*error)
                        .bind(seconds(*next))
                        .bind(*key)
                        .bind(me),
                    Mark::Failed { error } => sqlx::query(backend.sql().mark_failed)
                        .bind(*error)
                        .bind(*key)
                        .bind(me),
                    Mark::Dropped { why } => sqlx::query(backend.sql().mark_dropped)
                        .bind(*why)
                        .bind(*key)
                        .bind(me),
                };
                held.push(query.execute(&mut *conn).await?.rows_affected() == 1);
            }
            if let Some(tx) = tx {
                tx.commit().await?;
            }
            held
        });
        if self.in_memory {
            self.forget_old_sent(at, sent.len()).await?;
        }
        Ok(held)
    }

    /// Sent: `claimed_by` stays, naming the daemon that sent it. False when this daemon
    /// no longer held the claim (it was silent past its lease and another took it over).
    pub async fn mark_sent(&self, key: &str, at: Timestamp) -> anyhow::Result<bool> {
        Ok(self.mark_all(&[(key, Mark::Sent)], at).await?[0])
    }

    /// A simulation keeps a sent message's key while it could be queued again (late
    /// prompts look back a few days at most) or answered (a check-in, within a month),
    /// not its body (dropped when it is marked), and forgets the row after five weeks: a
    /// year of 5,000 pairs stays small. Invites stay: a calendar answers the ORGANIZER
    /// address of its copy months later.
    async fn forget_old_sent(&self, at: Timestamp, sent: usize) -> anyhow::Result<()> {
        if sent == 0 {
            return Ok(());
        }
        let sent = sent as u64;
        let before = self
            .sent_marks
            .fetch_add(sent, std::sync::atomic::Ordering::Relaxed);
        if before / 4096 != (before + sent) / 4096 || before == 0 {
            let before = at
                .checked_sub(jiff::SignedDuration::from_hours(35 * 24))
                .unwrap_or(at);
            on!(self, |pool| sqlx::query(
                "DELETE FROM messages WHERE state = 'sent' AND due_at < $1 \
                 AND kind NOT IN ('invite', 'invite_update')"
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
        Ok(self
            .mark_all(&[(key, Mark::Retry { error, next })], next)
            .await?[0])
    }

    /// A permanent failure, shown in `status` and the digest. False when the claim was
    /// no longer this daemon's.
    pub async fn mark_failed(&self, key: &str, error: &str) -> anyhow::Result<bool> {
        Ok(self
            .mark_all(&[(key, Mark::Failed { error })], Timestamp::UNIX_EPOCH)
            .await?[0])
    }
}
