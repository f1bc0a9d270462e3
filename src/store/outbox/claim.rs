//! Claiming: due messages become this daemon's (`pending` → `sending`), calendar
//! mail first, within a daily budget when the relay has one; on PostgreSQL also the
//! claims of daemons whose lease ran out. Each dialect's SQL is its own
//! (`store::sqlite::claim`, `store::postgres::claim`); this file picks one, and turns
//! the rows into [`Queued`] messages whose bodies it reads after, off SQLite's writer.

use std::collections::HashMap;

use anyhow::{Context as _, bail};
use jiff::Timestamp;

use super::{Claimed, Queued};
use crate::store::{LEASE, Pool, Store, postgres, seconds, sqlite};

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
        let now = seconds(now);
        let (rows, calendar, held) = match &self.pool() {
            Pool::Sqlite { writer, .. } => {
                sqlite::claim::claim(writer, now, limit, daily, me).await?
            }
            Pool::Postgres(pool) => {
                let lease = LEASE.as_secs() as i64;
                postgres::claim::claim(pool, now, limit, daily, me, lease, &self.lease_out).await?
            }
        };
        let mut out = rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                anyhow::Ok((
                    (i >= calendar, row.next_attempt_at, row.queued),
                    Queued {
                        key: row.key,
                        message_id: row.message_id,
                        kind: row.kind.parse()?,
                        pair: row.pair,
                        recipient: row.recipient,
                        attempts: row.attempts as u32,
                        // Read below, off the writer.
                        body: Vec::new(),
                        uid: row.uid,
                        method: row.method,
                        sequence: row.sequence.map(|s| s as u32),
                    },
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        // Calendar first; then due first, then in the order queued.
        out.sort_by_key(|(order, _)| *order);
        let mut claimed = Claimed {
            messages: out.into_iter().map(|(_, q)| q).collect(),
            held,
        };
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
        let rows: Vec<(String, Vec<u8>)> = match &self.pool() {
            Pool::Sqlite { pool, .. } => sqlite::claim::bodies(pool, &keys).await?,
            Pool::Postgres(pool) => postgres::claim::bodies(pool, &keys).await?,
        };
        let mut bodies: HashMap<String, Vec<u8>> = rows.into_iter().collect();
        for i in missing {
            let message = &mut messages[i];
            message.body = bodies
                .remove(&message.key)
                .with_context(|| format!("the message {} has no body in the store", message.key))?;
        }
        Ok(())
    }
}
