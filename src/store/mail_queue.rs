//! `mail_queue`: the hand-off between `mentord deliver` and the daemon (SPEC §3, §5,
//! migration `0019_mail_queue` / `0021_mail_queue`). `deliver` stores the raw mail and
//! exits as soon as it is committed; the daemon, which holds the program, claims the
//! waiting mail in arrival order, takes each in (`app::handoff`) and writes down what
//! became of it. A claim is a lease (`claimed_by`, `claimed_until`): with several
//! daemons on PostgreSQL each mail goes to one of them (`FOR UPDATE SKIP LOCKED`), and
//! the claims of a daemon that died pass on when they run out. Taking a mail in twice
//! does no harm: the inbound record is once per Message-ID, so the second is "taken in
//! before".
//!
//! On PostgreSQL the hand-off also says `NOTIFY mentord_mail` in its transaction, so a
//! listening daemon wakes at once ([`MAIL_CHANNEL`]).

use jiff::Timestamp;

use super::{Backend, Pool, Store, on, on_writer};

/// The PostgreSQL channel a hand-off notifies.
pub const MAIL_CHANNEL: &str = "mentord_mail";

/// How long a claim lasts: a batch is taken in well within it.
const CLAIM: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// A mail waiting to be taken in.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub message_id: String,
    pub queued_at: Timestamp,
    /// Its size as it came; larger than `raw` when only its headers were kept.
    pub size: i64,
    pub raw: Vec<u8>,
}

/// How much mail waits, and since when (the oldest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waiting {
    pub count: i64,
    pub since: Option<Timestamp>,
}

/// What a hand-off did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandedOff {
    /// The waiting row holding the mail (`None`: it waited already and was taken in
    /// meanwhile).
    pub id: Option<i64>,
    /// False when a mail with its Message-ID was waiting already.
    pub fresh: bool,
}

fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn from_millis(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

type Row = (i64, String, i64, i64, Vec<u8>);

/// The claim: the oldest waiting mails no running claim holds.
const CLAIM_SQLITE: &str = "UPDATE mail_queue SET claimed_by = $1, claimed_until = $2 \
     WHERE id IN (SELECT id FROM mail_queue WHERE taken_ms IS NULL \
     AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY id LIMIT $4) \
     RETURNING id, message_id, queued_ms, size, raw";
/// The same, skipping rows another daemon is claiming at this moment.
const CLAIM_POSTGRES: &str = "UPDATE mail_queue SET claimed_by = $1, claimed_until = $2 \
     WHERE id IN (SELECT id FROM mail_queue WHERE taken_ms IS NULL \
     AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY id LIMIT $4 \
     FOR UPDATE SKIP LOCKED) RETURNING id, message_id, queued_ms, size, raw";

impl Store {
    /// Stores a mail for the daemon, once per Message-ID among the waiting; one
    /// transaction, so nothing is half-written.
    pub async fn hand_off(
        &self,
        message_id: &str,
        size: usize,
        raw: &[u8],
        now: Timestamp,
    ) -> anyhow::Result<HandedOff> {
        const INSERT: &str = "INSERT INTO mail_queue (message_id, queued_ms, size, raw) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) WHERE taken_ms IS NULL \
             DO NOTHING RETURNING id";
        const WAITING: &str =
            "SELECT id FROM mail_queue WHERE message_id = $1 AND taken_ms IS NULL";
        let message_id: String = message_id.chars().filter(|c| *c != '\0').collect();
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        on_writer!(self, |pool, backend| {
            let mut tx = pool.begin().await?;
            let inserted: Option<i64> = sqlx::query_scalar(INSERT)
                .bind(&message_id)
                .bind(millis(now))
                .bind(size)
                .bind(raw)
                .fetch_optional(&mut *tx)
                .await?;
            let handed = match inserted {
                Some(id) => HandedOff {
                    id: Some(id),
                    fresh: true,
                },
                None => HandedOff {
                    id: sqlx::query_scalar(WAITING)
                        .bind(&message_id)
                        .fetch_optional(&mut *tx)
                        .await?,
                    fresh: false,
                },
            };
            if backend == Backend::Postgres && handed.fresh {
                sqlx::query("SELECT pg_notify($1, '')")
                    .bind(MAIL_CHANNEL)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(handed)
        })
    }

    /// Claims up to `limit` waiting mails for `holder`, oldest first; none that another
    /// holds under a claim still running.
    pub async fn claim_queued(
        &self,
        holder: &str,
        limit: i64,
        now: Timestamp,
    ) -> anyhow::Result<Vec<QueuedMail>> {
        let until = now.checked_add(CLAIM).unwrap_or(now);
        let mut rows: Vec<Row> = on_writer!(self, |pool, backend| {
            let sql = match backend {
                Backend::Postgres => CLAIM_POSTGRES,
                Backend::Sqlite => CLAIM_SQLITE,
            };
            sqlx::query_as(sql)
                .bind(holder)
                .bind(millis(until))
                .bind(millis(now))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.sort_by_key(|row| row.0);
        Ok(rows
            .into_iter()
            .map(|(id, message_id, queued, size, raw)| QueuedMail {
                id,
                message_id,
                queued_at: from_millis(queued),
                size,
                raw,
            })
            .collect())
    }

    /// Writes down what became of queued mails (`(id, verdict)`), in one transaction;
    /// their bytes are dropped (the inbound record keeps what the coordinator needs).
    pub async fn mark_queued_taken(
        &self,
        taken: &[(i64, String)],
        now: Timestamp,
    ) -> anyhow::Result<()> {
        if taken.is_empty() {
            return Ok(());
        }
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            for (id, verdict) in taken {
                sqlx::query(
                    "UPDATE mail_queue SET taken_ms = $1, verdict = $2, raw = $3, \
                     claimed_by = NULL, claimed_until = NULL WHERE id = $4",
                )
                .bind(millis(now))
                .bind(verdict)
                .bind(Vec::<u8>::new())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Gives back the claims of `holder` on mail it did not take in (a failure midway).
    pub async fn release_queued(&self, holder: &str) -> anyhow::Result<()> {
        on_writer!(self, |pool| sqlx::query(
            "UPDATE mail_queue SET claimed_by = NULL, claimed_until = NULL \
             WHERE claimed_by = $1 AND taken_ms IS NULL"
        )
        .bind(holder)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// At a SQLite daemon's start: claims a crash left behind go back (the store's one
    /// daemon held them). On PostgreSQL other daemons may be at work: claims run out.
    pub async fn recover_queued(&self) -> anyhow::Result<u64> {
        Ok(match &self.pool() {
            Pool::Sqlite { writer, .. } => sqlx::query(
                "UPDATE mail_queue SET claimed_by = NULL, claimed_until = NULL \
                 WHERE taken_ms IS NULL AND claimed_by IS NOT NULL",
            )
            .execute(writer)
            .await?
            .rows_affected(),
            Pool::Postgres(_) => 0,
        })
    }

    /// How much mail waits to be taken in, and since when.
    pub async fn mail_waiting(&self) -> anyhow::Result<Waiting> {
        let (count, oldest): (i64, Option<i64>) = on!(self, |pool| sqlx::query_as(
            "SELECT COUNT(*), MIN(queued_ms) FROM mail_queue WHERE taken_ms IS NULL"
        )
        .fetch_one(pool)
        .await?);
        Ok(Waiting {
            count,
            since: oldest.map(from_millis),
        })
    }

    /// What became of the queued mail `id`: `None` while it waits.
    pub async fn queued_verdict(&self, id: i64) -> anyhow::Result<Option<String>> {
        let verdict: Option<Option<String>> = on!(self, |pool| sqlx::query_scalar(
            "SELECT verdict FROM mail_queue WHERE id = $1 AND taken_ms IS NOT NULL"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?);
        Ok(verdict.flatten())
    }

    /// The hand-off and take-in times (unix milliseconds) of every mail taken in, for
    /// the benchmark.
    pub async fn queue_times(&self) -> anyhow::Result<Vec<(i64, i64)>> {
        Ok(on!(self, |pool| sqlx::query_as(
            "SELECT queued_ms, taken_ms FROM mail_queue WHERE taken_ms IS NOT NULL ORDER BY id"
        )
        .fetch_all(pool)
        .await?))
    }

    /// Forgets up to `batch` mails taken in before `before` (their verdicts are in the
    /// log and the inbound records); how many.
    pub async fn prune_queue(&self, before: Timestamp, batch: i64) -> anyhow::Result<u64> {
        Ok(on_writer!(self, |pool| sqlx::query(
            "DELETE FROM mail_queue WHERE id IN (SELECT id FROM mail_queue \
             WHERE taken_ms IS NOT NULL AND taken_ms < $1 LIMIT $2)"
        )
        .bind(millis(before))
        .bind(batch)
        .execute(pool)
        .await?
        .rows_affected()))
    }
}
