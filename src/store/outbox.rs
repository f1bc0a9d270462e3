//! The outbox (`messages`) and the schedule's cursor: a message is written with its
//! deterministic key and its whole body *before* it is sent, claimed (`sending`,
//! `claimed_by`) while in flight and marked `sent` after. The key is the primary key, so
//! a second copy cannot be queued; a crash between the server's acceptance and the mark
//! leaves it `sending`: on SQLite (one daemon) [`Store::recover_abandoned`] puts it back
//! at the next start, on PostgreSQL another daemon takes it once the claimer's lease ran
//! out (see [`super::instances`]). At worst one resend, byte-identical, same `Message-ID`.
//! Marks change only a claim the marking daemon still holds.

use std::collections::HashMap;

use anyhow::{Context as _, bail};
use jiff::Timestamp;
use sqlx::Row;

use super::{
    Backend, LEASE, Store, connection, dialects, finish, instant, on, on_writer, seconds, series,
};
use crate::reconcile::Sent;
use crate::vocab::MessageKind;

/// A message to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// A [`crate::vocab::DeliveryKey`], as written.
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

/// What a claim took, and whether a daily budget held some back.
#[derive(Debug, Default)]
pub struct Claimed {
    pub messages: Vec<Queued>,
    pub held: Option<Held>,
}

/// A rolling day's budget: how much of it is used, and when a place frees (`None`
/// when there is room, or only claims in flight fill it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub daily: u32,
    pub used: u64,
    pub until: Option<Timestamp>,
}

/// A relay's daily budget, for people: its size, what the last 24 hours used (with
/// the claims in flight), how many due messages wait, and when a place frees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DailyBudget {
    pub daily: u32,
    pub used: u64,
    pub waiting: u64,
    #[serde(skip)]
    pub frees_at: Option<Timestamp>,
}

impl DailyBudget {
    /// Whether the budget holds mail back now.
    pub fn holds(&self) -> bool {
        self.used >= u64::from(self.daily) && self.waiting > 0
    }

    /// "350 messages wait; the next goes at Tue 2 Dec 09:14 CET", when it holds mail.
    pub fn held_words(&self, zone: &jiff::tz::TimeZone) -> Option<String> {
        if !self.holds() {
            return None;
        }
        let when = self.frees_at.map_or_else(
            || "once the messages in flight are done".to_string(),
            |at| {
                format!(
                    "the next goes at {}",
                    at.to_zoned_datetime(zone.clone())
                        .strftime("%a %-d %b %H:%M %Z")
                )
            },
        );
        Some(format!(
            "{} a day, all used in the last 24 hours; {} message(s) wait, {when}",
            self.daily, self.waiting
        ))
    }
}

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

/// Queues messages; on PostgreSQL with their bodies (the last column), on SQLite
/// without (they go to `bodies`, see migration 0007).
const INSERT_MESSAGES: (&str, &str) = dialects!(
    "INSERT INTO messages (key, message_id, kind, pair, recipient, due_at, state, attempts, \
     next_attempt_at, last_error, uid, method, sequence, created_at, reply_token",
    BODY_COLUMN,
    ") "
);
/// Bodies of messages just queued (SQLite).
const INSERT_BODIES: &str = "INSERT INTO bodies (key, body) ";
/// Bodies of messages just claimed: the keys a JSON array.
const CLAIMED_BODIES: (&str, &str) = (
    "SELECT key, body FROM bodies WHERE key IN (SELECT value FROM json_each($1))",
    "SELECT key, body FROM messages \
     WHERE key = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST($1 AS jsonb))))",
);

/// How many bytes of bodies a process keeps between queueing and claiming them.
const RECENT_BYTES: usize = 32 << 20;

/// How long a kept body may wait for its claim before a newer one may take its place:
/// one another daemon claimed, or one given up, is not claimed here.
const RECENT_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// The bodies this process queued lately and has not claimed yet, up to
/// [`RECENT_BYTES`]: a claim takes its bodies from here and reads only the others from
/// the store. A body never changes once queued (a key is queued once), so a copy
/// serves as well as the row; on a first start, when one daemon queues and sends
/// thousands of invites in a row, most bodies then cross from the store to the daemon
/// once, not twice. Claims take the oldest first, so when queueing runs ahead of them
/// the oldest are kept and the newest read later, never the other way round.
#[derive(Debug, Default)]
pub struct Recent {
    bodies: HashMap<String, Vec<u8>>,
    order: std::collections::VecDeque<(String, std::time::Instant)>,
    bytes: usize,
}

impl Recent {
    fn keep(&mut self, key: &str, body: &[u8]) {
        let now = std::time::Instant::now();
        // Forget what waited too long for a claim, while that makes room.
        while self.bytes + body.len() > RECENT_BYTES {
            match self.order.front() {
                Some((_, at)) if now.duration_since(*at) > RECENT_FOR => {
                    if let Some((oldest, _)) = self.order.pop_front() {
                        self.take(&oldest);
                    }
                }
                _ => break,
            }
        }
        if self.bytes + body.len() > RECENT_BYTES {
            return;
        }
        self.take(key);
        self.bodies.insert(key.to_string(), body.to_vec());
        self.order.push_back((key.to_string(), now));
        self.bytes += body.len();
        // Keys taken leave their place in `order` behind; drop those now and then.
        if self.order.len() > 2 * self.bodies.len() + 1024 {
            let bodies = &self.bodies;
            self.order.retain(|(key, _)| bodies.contains_key(key));
        }
    }

    fn take(&mut self, key: &str) -> Option<Vec<u8>> {
        let body = self.bodies.remove(key)?;
        self.bytes -= body.len();
        Some(body)
    }
}

/// Messages per INSERT statement: 16 values each, far below SQLite's limit of 32,766.
const INSERT_ROWS: usize = 128;

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

/// Messages that count against a daily budget at `$1` (a day ago): sent since, and
/// claimed now.
const DAILY_USE: &str = "SELECT \
     (SELECT COUNT(*) FROM messages WHERE sent_at > $1) + \
     (SELECT COUNT(*) FROM messages WHERE state = 'sending')";

/// When the budget frees a place: a day after the send `$2` places from the oldest of
/// the day.
const DAILY_FREES: &str = "SELECT sent_at FROM messages WHERE sent_at > $1 \
     ORDER BY sent_at LIMIT 1 OFFSET $2";

/// One day, the window of `rate = "…/day"`.
const DAY: i64 = 86_400;

/// A daily budget of `$daily` as it stands a day after `$day_ago`, read through `$db`
/// (a pool, or a transaction that holds the budget's lock): what it used, and, when
/// nothing is left, when the send that stands in the way turns a day old. A macro, as
/// `on!` bodies are: the same text for either backend's executor.
macro_rules! budget_use {
    ($db:expr, $daily:expr, $day_ago:expr) => {{
        let used: i64 = sqlx::query_scalar(DAILY_USE)
            .bind($day_ago)
            .fetch_one($db)
            .await?;
        let over = used - i64::from($daily);
        let until = if over >= 0 {
            sqlx::query_scalar::<_, i64>(DAILY_FREES)
                .bind($day_ago)
                .bind(over)
                .fetch_optional($db)
                .await?
                .map(|sent| instant(sent + DAY))
        } else {
            None
        };
        Held {
            daily: $daily,
            used: used.max(0) as u64,
            until,
        }
    }};
}

/// Marks change only a claim this daemon still holds. Sent marks go in one statement,
/// the keys a JSON array (`$2`); it returns the keys it marked.
const MARK_SENT: (&str, &str) = dialects!(
    "UPDATE messages SET state = 'sent', sent_at = $1, last_error = NULL \
     WHERE ",
    KEY_IN_JSON,
    " AND ",
    STILL_SENDING,
    " AND ",
    CLAIMER_IS,
    " $3 RETURNING key"
);
const MARK_RETRY: (&str, &str) = dialects!(
    "UPDATE messages SET state = 'pending', last_error = $1, next_attempt_at = $2, \
     claimed_by = NULL WHERE key = $3 AND state = 'sending' AND ",
    CLAIMER_IS,
    " $4"
);
const MARK_DROPPED: (&str, &str) = dialects!(
    "UPDATE messages SET state = 'dropped', last_error = $1 \
     WHERE key = $2 AND state = 'sending' AND ",
    CLAIMER_IS,
    " $3"
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
        let queued = on_writer!(self, |pool, backend| {
            let mut tx = pool.begin().await?;
            let mut queued = Vec::with_capacity(messages.len());
            // Many rows a statement: one round trip (on SQLite, one hop to its
            // thread) for each, not for each message.
            for chunk in messages.chunks(INSERT_ROWS) {
                let mut insert = sqlx::QueryBuilder::new(backend.pick(INSERT_MESSAGES));
                insert.push_values(chunk, |mut row, m| {
                    let state = if m.dropped.is_some() {
                        "dropped"
                    } else {
                        "pending"
                    };
                    row.push_bind(&m.key)
                        .push_bind(&m.message_id)
                        .push_bind(m.kind.name())
                        .push_bind(&m.pair)
                        .push_bind(&m.recipient)
                        .push_bind(seconds(m.due_at))
                        .push_bind(state)
                        .push_bind(0i64)
                        .push_bind(seconds(m.due_at))
                        .push_bind(&m.dropped)
                        .push_bind(&m.uid)
                        .push_bind(&m.method)
                        .push_bind(m.sequence.map(i64::from))
                        .push_bind(seconds(now))
                        .push_bind(&m.reply_token);
                    if backend == Backend::Postgres {
                        row.push_bind(&m.body);
                    }
                });
                insert.push(" ON CONFLICT (key) DO NOTHING RETURNING key");
                let mut new: std::collections::HashSet<String> = insert
                    .build_query_scalar()
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .collect();
                // A key twice in one batch is queued once: the first.
                let first = queued.len();
                queued.extend(chunk.iter().map(|m| new.remove(&m.key)));
                if backend == Backend::Sqlite && queued[first..].contains(&true) {
                    let mut bodies = sqlx::QueryBuilder::new(INSERT_BODIES);
                    let fresh = chunk.iter().zip(&queued[first..]).filter(|(_, q)| **q);
                    bodies.push_values(fresh, |mut row, (m, _)| {
                        row.push_bind(&m.key).push_bind(&m.body);
                    });
                    bodies.build().execute(&mut *tx).await?;
                }
            }
            // A pair's last state in the batch is the one that stands.
            let mut last = HashMap::with_capacity(series.len());
            for (i, (pair, _)) in series.iter().enumerate() {
                last.insert(pair.as_str(), i);
            }
            let standing: Vec<_> = (series.iter().enumerate())
                .filter(|(i, (pair, _))| last.get(pair.as_str()) == Some(i))
                .map(|(_, entry)| entry)
                .collect();
            for chunk in standing.chunks(INSERT_ROWS) {
                let mut save = sqlx::QueryBuilder::new(series::SAVE_SERIES);
                save.push_values(chunk, |mut row, (pair, sent)| {
                    row.push_bind(pair)
                        .push_bind(&sent.series.uid)
                        .push_bind(i64::from(sent.sequence))
                        .push_bind(i64::from(sent.active))
                        .push_bind(series::to_json(&sent.series))
                        .push_bind(seconds(now));
                });
                save.push(series::SAVE_SERIES_CONFLICT);
                save.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            anyhow::Ok(queued)
        })?;
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        for (message, _) in messages.iter().zip(&queued).filter(|(_, new)| **new) {
            if message.dropped.is_none() {
                recent.keep(&message.key, &message.body);
            }
        }
        Ok(queued)
    }

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

    /// How much of a rolling day's budget of `daily` is used at `now`, and when a place
    /// frees if none is left: for `status` and the digest.
    pub async fn daily_use(&self, daily: u32, now: Timestamp) -> anyhow::Result<Held> {
        let day_ago = seconds(now) - DAY;
        Ok(on!(self, |pool| budget_use!(pool, daily, day_ago)))
    }

    /// A rolling day's budget as `status` and the digest tell it: [`Store::daily_use`]
    /// and how many due messages wait.
    pub async fn daily_budget(&self, daily: u32, now: Timestamp) -> anyhow::Result<DailyBudget> {
        let use_ = self.daily_use(daily, now).await?;
        let waiting: i64 = on!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages WHERE state = 'pending' AND next_attempt_at <= $1"
        )
        .bind(seconds(now))
        .fetch_one(pool)
        .await?);
        Ok(DailyBudget {
            daily,
            used: use_.used,
            waiting: waiting.max(0) as u64,
            frees_at: use_.until,
        })
    }

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
            connection!(pool, statements > 1, conn, tx);
            let mut marked_sent = std::collections::HashSet::new();
            if !sent.is_empty() {
                let keys: Vec<String> = sqlx::query_scalar(backend.pick(MARK_SENT))
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
                    Mark::Retry { error, next } => sqlx::query(backend.pick(MARK_RETRY))
                        .bind(*error)
                        .bind(seconds(*next))
                        .bind(*key)
                        .bind(me),
                    Mark::Failed { error } => sqlx::query(backend.pick(MARK_FAILED))
                        .bind(*error)
                        .bind(*key)
                        .bind(me),
                    Mark::Dropped { why } => sqlx::query(backend.pick(MARK_DROPPED))
                        .bind(*why)
                        .bind(*key)
                        .bind(me),
                };
                held.push(query.execute(&mut *conn).await?.rows_affected() == 1);
            }
            finish!(tx);
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
    /// prompts look back a few days at most), not its body (dropped when it is marked),
    /// and forgets the row after a fortnight: a year of 5,000 pairs stays small.
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

#[cfg(test)]
mod tests {
    use super::{RECENT_BYTES, RECENT_FOR, Recent};

    /// The bodies kept between queueing and claiming stay within their budget, oldest
    /// out first, and each is handed out once.
    #[test]
    fn recent_bodies_stay_within_their_budget() {
        let mut recent = Recent::default();
        let body = vec![b'x'; 8 << 10];
        let count = 2 * RECENT_BYTES / body.len();
        for i in 0..count {
            recent.keep(&format!("k{i}"), &body);
            assert!(recent.bytes <= RECENT_BYTES);
        }
        let mut took = |key: &str| recent.take(key).map(|b| b.len());
        // Claims go oldest first: the oldest are kept, the newest read later.
        assert_eq!(took("k0"), Some(body.len()));
        assert_eq!(took("k0"), None, "handed out once");
        assert_eq!(took(&format!("k{}", count - 1)), None);
        // A claim makes room for the next body.
        recent.keep("next", &body);
        assert!(recent.take("next").is_some());
        recent.keep("filler", &body);
        assert_eq!(recent.bytes, RECENT_BYTES, "full again");
        assert_eq!(
            recent.bytes,
            recent.bodies.values().map(Vec::len).sum::<usize>()
        );
        // Bodies that waited too long for a claim make room for new ones.
        let long_ago = RECENT_FOR + std::time::Duration::from_secs(1);
        for (_, at) in &mut recent.order {
            *at = at
                .checked_sub(long_ago)
                .expect("a machine up for over a minute");
        }
        recent.keep("new", &body);
        assert!(recent.take("new").is_some());
        assert!(recent.take("k1").is_none(), "the oldest made room");
        assert!(recent.take("k2").is_some());
        // Taken keys leave `order`, so it does not grow without end.
        for i in 0..count {
            recent.keep(&format!("n{i}"), b"small");
            recent.take(&format!("n{i}"));
        }
        assert!(recent.order.len() <= 2 * recent.bodies.len() + 1024);
    }
}
