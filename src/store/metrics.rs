//! What `/metrics` counts (docs/serving.md), read from the store on each scrape, so every
//! instance on a shared store serves the same numbers and they survive restarts. Each
//! query reads an index (migration 0005), never the messages themselves: a scrape stays
//! cheap with millions of rows. `serve::metrics` caches the rendered text for a few
//! seconds on top.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;

use super::{LEASE, MessageState, Store, instant, on, seconds};

/// Messages of one kind in one state, tried `attempts` times.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxCount {
    pub kind: String,
    #[sqlx(try_from = "String")]
    pub state: MessageState,
    pub attempts: i64,
    pub messages: i64,
}

/// The store's numbers at one moment.
#[derive(Debug, Clone, Default)]
pub struct StoreCounts {
    /// Every message, grouped by kind, state and attempts.
    pub outbox: Vec<OutboxCount>,
    /// When the oldest message already due but not yet sent fell due.
    pub oldest_due: Option<Timestamp>,
    pub last_sent: Option<Timestamp>,
    /// Mail taken in, by kind (as stored).
    pub inbound: HashMap<String, i64>,
    /// Addresses whose mail bounced.
    pub bouncing: i64,
    /// Daemons registered that beat within the lease, and those that did not (rows stay
    /// a day after a daemon dies).
    pub daemons_alive: i64,
    pub daemons_silent: i64,
    /// A daemon that beats within the lease has its SMTP breaker open at `now`.
    pub smtp_paused: bool,
    /// The last review held by each pair.
    pub last_reviews: HashMap<String, Date>,
}

/// Messages by state, kind and attempts: in the order of `messages_by_state_kind`, so
/// SQLite reads that index through once without sorting.
const OUTBOX: &str = "SELECT kind, state, attempts, COUNT(*) AS messages FROM messages \
     GROUP BY state, kind, attempts";

/// The oldest message due by `$1` and not yet sent: one seek per state on
/// `messages_by_state_due`.
const OLDEST_DUE: &str = "SELECT MIN(due_at) FROM (\
     SELECT due_at FROM (SELECT due_at FROM messages WHERE state = 'pending' AND due_at <= $1 \
       ORDER BY due_at LIMIT 1) pending \
     UNION ALL \
     SELECT due_at FROM (SELECT due_at FROM messages WHERE state = 'sending' AND due_at <= $1 \
       ORDER BY due_at LIMIT 1) sending) oldest";

/// One seek on `messages_by_sent_at`.
const LAST_SENT: &str =
    "SELECT sent_at FROM messages WHERE sent_at IS NOT NULL ORDER BY sent_at DESC LIMIT 1";

impl Store {
    /// The numbers `/metrics` shows, at `now` (the oldest due message's age, the
    /// breaker).
    pub async fn counts(&self, now: Timestamp) -> anyhow::Result<StoreCounts> {
        let (outbox, oldest_due, last_sent, bouncing, (alive, registered, paused)) =
            on!(self, |pool, backend| {
                let outbox: Vec<OutboxCount> = sqlx::query_as(OUTBOX).fetch_all(pool).await?;
                let oldest: Option<i64> = sqlx::query_scalar(OLDEST_DUE)
                    .bind(seconds(now))
                    .fetch_one(pool)
                    .await?;
                let last: Option<i64> = sqlx::query_scalar(LAST_SENT)
                    .fetch_optional(pool)
                    .await?
                    .flatten();
                let bouncing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bounces")
                    .fetch_one(pool)
                    .await?;
                let daemons: (i64, i64, i64) = sqlx::query_as(backend.sql().daemons)
                    .bind(LEASE.as_secs() as i64)
                    .bind(seconds(now))
                    .fetch_one(pool)
                    .await?;
                (outbox, oldest, last, bouncing, daemons)
            });
        Ok(StoreCounts {
            outbox,
            oldest_due: oldest_due.map(instant),
            last_sent: last_sent.map(instant),
            inbound: self.inbound_counts().await?,
            bouncing,
            daemons_alive: alive,
            daemons_silent: registered - alive,
            smtp_paused: paused > 0,
            last_reviews: self.last_reviews().await?,
        })
    }
}
