//! PostgreSQL's own SQL, where it differs from SQLite's, written out as plain SQL: the
//! claim (several daemons share the store: rows another is claiming are skipped, a
//! silent daemon's claims taken over, a daily budget counted under a lock) in
//! [`claim`], the rest in [`SQL`] and the statements only PostgreSQL needs. The store
//! picks this module or [`super::sqlite`] by its pool (see `Backend::sql` and
//! `outbox::claim`).
//!
//! The database's clock is `CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)`.
//!
//! Also how the server is reached: its pool, and TLS only where it guards something.

pub(super) mod claim;

use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::dialect::Dialect;
use crate::program::redact;

pub(super) const SQL: Dialect = Dialect {
    insert_messages: "
INSERT INTO messages (key, message_id, kind, pair, recipient, due_at, state, attempts,
    next_attempt_at, last_error, uid, method, sequence, created_at, reply_token, body) ",
    // A claim still in flight is asked as `(state = 'sending') IS TRUE`, a condition no
    // index answers. Every claim and mark leaves the row's old version behind (an update
    // that changes an indexed column gets new index entries), so the indexes over
    // `state` hold an entry for `sending` of nearly every message ever sent until
    // vacuum: a plan that looked up `sending` there read them all, and each mark cost a
    // walk over the whole outbox. Marks find their rows by key: the JSON array's keys
    // probe the primary key, one lookup per key.
    mark_sent: "
UPDATE messages SET state = 'sent', sent_at = $1, last_error = NULL
WHERE key = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST($2 AS jsonb))))
  AND (state = 'sending') IS TRUE AND claimed_by = $3
RETURNING key",
    mark_retry: "
UPDATE messages SET state = 'pending', last_error = $1, next_attempt_at = $2, claimed_by = NULL
WHERE key = $3 AND state = 'sending' AND claimed_by = $4",
    mark_dropped: "
UPDATE messages SET state = 'dropped', last_error = $1
WHERE key = $2 AND state = 'sending' AND claimed_by = $3",
    mark_failed: "
UPDATE messages SET state = 'failed', last_error = $1
WHERE key = $2 AND state = 'sending' AND claimed_by = $3",
    insert_instance: "
INSERT INTO instances (id, host, pid, mail, started_at, heartbeat_at)
VALUES ($1, $2, $3, $4, CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT),
    CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT))
ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
    heartbeat: "
UPDATE instances SET heartbeat_at = CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)
WHERE id = $1",
    // Gives back the claims of the daemons forgotten, and those of daemons with no row
    // at all (a row deleted by hand, or by an older mentord).
    forget_instances: "
WITH gone AS (
    DELETE FROM instances
    WHERE heartbeat_at < CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT) - $1
    RETURNING id)
UPDATE messages m SET state = 'pending', claimed_by = NULL
WHERE m.state = 'sending' AND (m.claimed_by IS NULL
    OR m.claimed_by IN (SELECT id FROM gone)
    OR NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = m.claimed_by))",
    now: "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)",
    daemons: "
SELECT
    CAST(COALESCE(SUM(CASE
        WHEN heartbeat_at >= CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT) - $1
        THEN 1 ELSE 0 END), 0) AS BIGINT),
    CAST(COUNT(*) AS BIGINT),
    CAST(COALESCE(SUM(CASE
        WHEN heartbeat_at >= CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT) - $1
         AND paused_until > $2 THEN 1 ELSE 0 END), 0) AS BIGINT)
FROM instances",
    try_lease: "
INSERT INTO leases (name, holder, expires_at)
VALUES ($1, $2, CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT) + $3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder
   OR leases.expires_at < CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)",
    pair_record: "
SELECT pair,
  COUNT(DISTINCT CASE WHEN kind = 'agenda' AND occurrence >= $1 AND occurrence < $2 THEN occurrence END),
  COUNT(DISTINCT CASE WHEN kind = 'action_items' AND occurrence >= $1 AND occurrence < $2 THEN occurrence END),
  COUNT(DISTINCT CASE WHEN kind = 'agenda' AND occurrence >= $3 AND occurrence < $4 THEN occurrence END),
  COUNT(DISTINCT CASE WHEN kind = 'action_items' AND occurrence >= $3 AND occurrence < $4 THEN occurrence END),
  MAX(CASE WHEN kind <> 'set_aside' THEN received_at END)
FROM inbound
WHERE pair IS NOT NULL
GROUP BY pair",
    checkin_stats: "
SELECT pair, COUNT(*), SUM(score),
  SUM(CASE WHEN answered_at < $3 THEN 1 ELSE 0 END),
  SUM(CASE WHEN answered_at < $3 THEN score ELSE 0 END)
FROM checkins
WHERE score IS NOT NULL AND answered_at >= $1 AND answered_at < $2
GROUP BY pair",
};

/// Seconds until the oldest heartbeat among the daemons holding claims (other than
/// `$2`) is a lease (`$1` seconds) old.
pub(super) const LEASE_EXPIRY: &str = "
SELECT CAST(MIN(COALESCE(i.heartbeat_at, 0)) + $1
    - CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT) AS BIGINT)
FROM messages m LEFT JOIN instances i ON i.id = m.claimed_by
WHERE m.state = 'sending' AND m.claimed_by IS DISTINCT FROM $2";

/// Connection options from a `postgres://` URL (a password may also come from
/// `PGPASSWORD` or `~/.pgpass`, which sqlx reads).
pub(super) fn options(url: &str) -> anyhow::Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)
        .map_err(|e| anyhow::anyhow!("the store URL {}: {e}", redact(url)))?
        .application_name("mentord"))
}

/// A pool of up to `connections` on the server `url` names (ten seconds' patience for
/// a connection). A server on this machine (loopback, or a Unix
/// socket) is spoken to without TLS unless the URL or `PGSSLMODE` sets `sslmode`: TLS
/// there guards nothing a local root could not read anyway, and it cost each
/// connection a handshake (about 50 ms of CPU on our 2-core machine, five connections
/// at a start) and every body its encryption on both sides. A server that takes only
/// TLS (`hostssl` in `pg_hba.conf`) refuses the plain connection (28000); then the
/// pool is made as libpq's default (`prefer`) would. Any other failure (the server
/// down, a wrong password) is reported as it is, not tried twice.
pub(super) async fn pool(
    url: &str,
    connections: u32,
    options: PgConnectOptions,
) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(std::time::Duration::from_secs(10));
    let connected =
        |e| anyhow::Error::new(e).context(format!("while connecting to {}", redact(url)));
    if plain_on_this_machine(url, &options, std::env::var_os("PGSSLMODE").is_some()) {
        let plain = options.clone().ssl_mode(sqlx::postgres::PgSslMode::Disable);
        match pool.clone().connect_with(plain).await {
            Ok(pool) => return Ok(pool),
            // pg_hba.conf has no line for a connection without TLS: only then TLS.
            Err(sqlx::Error::Database(refused)) if refused.code().as_deref() == Some("28000") => {
                tracing::info!(error = %refused, "the store takes only TLS on this machine; connecting with TLS");
            }
            Err(error) => return Err(connected(error)),
        }
    }
    pool.connect_with(options).await.map_err(connected)
}

/// Whether the store at `url` is on this machine and nobody chose its TLS.
fn plain_on_this_machine(url: &str, options: &PgConnectOptions, sslmode_in_env: bool) -> bool {
    let chosen = sslmode_in_env
        || url.split_once('?').is_some_and(|(_, query)| {
            let query = query.to_ascii_lowercase();
            // Both spellings sqlx reads.
            query.contains("sslmode=") || query.contains("ssl-mode=")
        });
    let host = options.get_host();
    let local = host.starts_with('/') || crate::vocab::host::is_loopback(host);
    !chosen && local
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(url: &str, env: bool) -> bool {
        plain_on_this_machine(url, &options(url).unwrap(), env)
    }

    #[test]
    fn a_store_on_this_machine_is_reached_without_tls_unless_asked() {
        assert!(plain("postgres://postgres@127.0.0.1:5432/mentord", false));
        assert!(plain("postgres://u@localhost/mentord", false));
        assert!(plain("postgres://u@[::1]:5432/mentord", false));
        assert!(plain(
            "postgres://u@127.0.0.2/mentord?application_name=x",
            false
        ));
        assert!(plain("postgres:///mentord?host=/var/run/postgresql", false));
        // Asked for, in the URL or the environment: as asked.
        assert!(!plain(
            "postgres://u@127.0.0.1/mentord?sslmode=require",
            false
        ));
        assert!(!plain(
            "postgres://u@127.0.0.1/mentord?SSLMode=prefer",
            false
        ));
        assert!(!plain("postgres://u@127.0.0.1/mentord", true));
        // Another machine: libpq's default.
        assert!(!plain("postgres://u@db.example.org/mentord", false));
        assert!(!plain("postgres://u@10.0.0.5/mentord", false));
    }
}
