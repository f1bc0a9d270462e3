//! The daemons at work on one store, and the work only one of them may do at a time.
//!
//! Each daemon registers a row in `instances` and beats every [`HEARTBEAT`] on the
//! *database's* clock, so daemons on different hosts judge leases alike. A daemon that
//! has not beaten for a [`LEASE`] is dead: on PostgreSQL another daemon takes over the
//! messages it had claimed (see the claim in `store`). A clean stop gives its claims
//! back and removes its row.
//!
//! Reconciling and turning the schedule into messages happen under the *program lock*:
//! on PostgreSQL a session advisory lock held on a connection of its own (it goes with
//! the connection if the daemon dies); on SQLite the lock file already keeps a second
//! daemon out, so the lock is a no-op.

use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, PgConnection};
use tokio::sync::Mutex;

use super::{Pool, Store, instant, on, on_writer, seconds};

/// How long a daemon may go without a heartbeat before its claims are taken over.
pub const LEASE: Duration = Duration::from_secs(30);

/// How often a daemon beats.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// Rows of daemons dead this long are cleared when another registers.
const FORGET_AFTER_SECONDS: i64 = 24 * 3600;

/// The advisory lock's key ("ment"), under 2^31 so `pg_locks.objid` shows it as is.
const PROGRAM_LOCK: i64 = 0x6d65_6e74;

/// What a daemon says about itself.
#[derive(Debug, Clone)]
pub struct InstanceInfo {
    pub host: String,
    pub pid: u32,
    /// Where it sends, without secrets.
    pub mail: String,
}

#[derive(Debug)]
pub(super) struct Registered {
    id: String,
    info: InstanceInfo,
    /// PostgreSQL: the connection that holds the program lock (`None` inside after an
    /// error: the server dropped the lock with it, and the next use connects again).
    lock: Option<Mutex<Option<PgConnection>>>,
    lock_options: Option<PgConnectOptions>,
}

/// A daemon as `status` shows it.
#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub mail: String,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
    /// Beat within the lease.
    pub alive: bool,
    /// The SMTP circuit breaker is open until then.
    pub paused_until: Option<Timestamp>,
    pub pause_reason: Option<String>,
    /// Messages it has claimed and not yet marked.
    pub holding: u64,
    /// It holds the program lock (PostgreSQL only; SQLite has one daemon).
    pub program_lock: bool,
}

/// A row of `instances`, as stored.
#[derive(Debug, sqlx::FromRow)]
struct InstanceRow {
    id: String,
    host: String,
    pid: i64,
    mail: String,
    started_at: i64,
    heartbeat_at: i64,
    paused_until: Option<i64>,
    pause_reason: Option<String>,
}

impl Store {
    /// Registers this daemon; from now on its claims carry its id. The id names the
    /// host, the process and its start, so a restarted daemon is a new one.
    pub async fn register(
        &mut self,
        info: InstanceInfo,
        started: Timestamp,
    ) -> anyhow::Result<String> {
        let id = format!("{}:{}:{}", info.host, info.pid, started.as_second());
        let lock_options = match &self.pool() {
            Pool::Sqlite { .. } => None,
            Pool::Postgres(pool) => Some(
                (*pool.connect_options())
                    .clone()
                    .application_name(&format!("mentord {id}")),
            ),
        };
        let lock = match &lock_options {
            None => None,
            Some(options) => Some(Mutex::new(Some(
                options
                    .connect()
                    .await
                    .context("while opening the program-lock connection")?,
            ))),
        };
        let registered = super::instances::Registered {
            id: id.clone(),
            info,
            lock,
            lock_options,
        };
        insert(self, &registered).await?;
        // A daemon silent for a day is forgotten and its claims given back, with any
        // claim whose daemon is unknown, in one statement: a claim is taken over only
        // while its daemon's row says the lease ran out (or a lease check saw it).
        on!(self, |pool, backend| sqlx::query(
            backend.sql().forget_instances
        )
        .bind(FORGET_AFTER_SECONDS)
        .execute(pool)
        .await?
        .rows_affected());
        self.instance = Some(std::sync::Arc::new(registered));
        Ok(id)
    }

    /// This daemon's id, once registered.
    pub fn instance_id(&self) -> Option<&str> {
        self.instance.as_deref().map(|r| r.id.as_str())
    }

    /// Says this daemon is alive; re-registers it if its row was cleared meanwhile.
    pub async fn heartbeat(&self) -> anyhow::Result<()> {
        let Some(me) = self.instance.as_deref() else {
            return Ok(());
        };
        let updated = on_writer!(self, |pool, backend| sqlx::query(backend.sql().heartbeat)
            .bind(&me.id)
            .execute(pool)
            .await?
            .rows_affected());
        if updated == 0 {
            tracing::warn!(instance = %me.id, "this daemon's heartbeat had lapsed; registering again");
            insert(self, me).await?;
        }
        Ok(())
    }

    /// Records the SMTP breaker's state for `status`.
    pub async fn set_pause(
        &self,
        until: Option<Timestamp>,
        reason: Option<&str>,
    ) -> anyhow::Result<()> {
        let Some(me) = self.instance_id() else {
            return Ok(());
        };
        on!(self, |pool| sqlx::query(
            "UPDATE instances SET paused_until = $1, pause_reason = $2 WHERE id = $3"
        )
        .bind(until.map(seconds))
        .bind(reason)
        .bind(me)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// A clean stop: gives back what this daemon claimed and removes its row.
    pub async fn deregister(&self) -> anyhow::Result<()> {
        let Some(me) = self.instance_id() else {
            return Ok(());
        };
        on!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE messages SET state = 'pending', claimed_by = NULL \
                 WHERE state = 'sending' AND claimed_by = $1",
            )
            .bind(me)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM instances WHERE id = $1")
                .bind(me)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        // A clean stop leaves a SQLite store whole in its one file (until now the data
        // could sit in the -wal file, so copying mentord.db alone was no backup).
        if let Pool::Sqlite { writer: pool, .. } = self.pool() {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&pool)
                .await?;
        }
        Ok(())
    }

    /// The daemons registered, alive or within a day of their last beat, newest first.
    pub async fn instances(&self) -> anyhow::Result<Vec<Instance>> {
        let (now, rows, holding): (i64, Vec<InstanceRow>, Vec<(String, i64)>) = on!(
            self,
            |pool, backend| {
                let now: i64 = sqlx::query_scalar(backend.sql().now)
                    .fetch_one(pool)
                    .await?;
                let rows = sqlx::query_as(
                    "SELECT id, host, pid, mail, started_at, heartbeat_at, paused_until, pause_reason \
                     FROM instances ORDER BY started_at DESC, id",
                )
                .fetch_all(pool)
                .await?;
                let holding = sqlx::query_as(
                    "SELECT claimed_by, COUNT(*) FROM messages \
                     WHERE state = 'sending' AND claimed_by IS NOT NULL GROUP BY claimed_by",
                )
                .fetch_all(pool)
                .await?;
                (now, rows, holding)
            }
        );
        let lock_holder = self.program_lock_holder().await?;
        let holding: std::collections::HashMap<String, i64> = holding.into_iter().collect();
        Ok(rows
            .into_iter()
            .map(|row| Instance {
                holding: holding.get(&row.id).copied().unwrap_or(0) as u64,
                program_lock: lock_holder.as_deref() == Some(row.id.as_str()),
                alive: row.heartbeat_at >= now - LEASE.as_secs() as i64,
                id: row.id,
                host: row.host,
                pid: row.pid as u32,
                mail: row.mail,
                started_at: instant(row.started_at),
                heartbeat_at: instant(row.heartbeat_at),
                paused_until: row.paused_until.map(instant),
                pause_reason: row.pause_reason,
            })
            .collect())
    }

    /// PostgreSQL: the daemon holding the program lock, read from `pg_locks`.
    async fn program_lock_holder(&self) -> anyhow::Result<Option<String>> {
        let Pool::Postgres(pool) = &self.pool() else {
            return Ok(None);
        };
        let name: Option<String> = sqlx::query_scalar(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .bind(PROGRAM_LOCK as u32 as i64)
        .fetch_optional(pool)
        .await?;
        Ok(name.and_then(|n| n.strip_prefix("mentord ").map(str::to_string)))
    }

    /// Takes the program lock if no other daemon holds it (PostgreSQL); always true on
    /// SQLite.
    pub async fn try_lock_program(&self) -> anyhow::Result<bool> {
        let taken = self.advisory("SELECT pg_try_advisory_lock($1)").await;
        taken.context("while taking the program lock")
    }

    pub async fn unlock_program(&self) -> anyhow::Result<()> {
        self.advisory("SELECT pg_advisory_unlock($1)")
            .await
            .context("while giving back the program lock")?;
        Ok(())
    }

    /// Runs an advisory-lock function on the program-lock connection, connecting again
    /// if an earlier error closed it.
    async fn advisory(&self, statement: &'static str) -> anyhow::Result<bool> {
        let Some(me) = self.instance.as_deref() else {
            return Ok(true);
        };
        let (Some(lock), Some(options)) = (&me.lock, &me.lock_options) else {
            return Ok(true);
        };
        let mut slot = lock.lock().await;
        if slot.is_none() {
            *slot = Some(options.connect().await?);
        }
        let Some(connection) = slot.as_mut() else {
            return Ok(false);
        };
        let answer = sqlx::query_scalar(statement)
            .bind(PROGRAM_LOCK)
            .fetch_one(connection)
            .await;
        if answer.is_err() {
            // Closing the connection releases whatever it held.
            *slot = None;
        }
        Ok(answer?)
    }

    /// How long until the first claim another daemon holds passes on by lease (at once
    /// for a daemon already silent, or gone); `None` when no other daemon holds one, and
    /// always on SQLite. A daemon sleeps no longer than this, so a dead one's messages
    /// wait for its lease, not for the next scheduled action.
    pub async fn next_lease_expiry(&self) -> anyhow::Result<Option<Duration>> {
        let Pool::Postgres(pool) = &self.pool() else {
            return Ok(None);
        };
        let seconds: Option<i64> = sqlx::query_scalar(super::postgres::LEASE_EXPIRY)
            .bind(LEASE.as_secs() as i64)
            .bind(self.instance_id())
            .fetch_one(pool)
            .await
            .context("while reading other daemons' claims")?;
        if seconds.is_some_and(|s| s <= 0) {
            self.lease_out
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(seconds.map(|s| Duration::from_secs(s.max(0) as u64)))
    }

    /// Gives back every claim this daemon holds, after an error left them unmarked
    /// (one may have been sent: it goes again, same Message-ID).
    pub async fn release_claims(&self) -> anyhow::Result<()> {
        let Some(me) = self.instance_id() else {
            return Ok(());
        };
        on!(self, |pool| sqlx::query(
            "UPDATE messages SET state = 'pending', claimed_by = NULL \
             WHERE state = 'sending' AND claimed_by = $1"
        )
        .bind(me)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }
}

async fn insert(store: &Store, me: &Registered) -> anyhow::Result<()> {
    on!(store, |pool, backend| sqlx::query(
        backend.sql().insert_instance
    )
    .bind(&me.id)
    .bind(&me.info.host)
    .bind(i64::from(me.info.pid))
    .bind(&me.info.mail)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(())
}
