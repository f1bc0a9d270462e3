//! SQLite's own SQL, where it differs from PostgreSQL's, written out as plain SQL: the
//! claim (one daemon per store, so no locks to skip) in [`claim`], the rest in [`SQL`].
//! The store picks this module or [`super::postgres`] by its pool (see
//! `Backend::sql` and `outbox::claim`).
//!
//! The database's clock is `CAST(strftime('%s', 'now') AS INTEGER)`; a claimer is
//! compared with `IS`, which also matches the NULL claimer of a store in memory.

pub(super) mod claim;

use super::dialect::Dialect;

pub(super) const SQL: Dialect = Dialect {
    insert_messages: "
INSERT INTO messages (key, message_id, kind, pair, recipient, due_at, state, attempts,
    next_attempt_at, last_error, uid, method, sequence, created_at, reply_token) ",
    mark_sent: "
UPDATE messages SET state = 'sent', sent_at = $1, last_error = NULL
WHERE key IN (SELECT value FROM json_each($2)) AND state = 'sending' AND claimed_by IS $3
RETURNING key",
    mark_retry: "
UPDATE messages SET state = 'pending', last_error = $1, next_attempt_at = $2, claimed_by = NULL
WHERE key = $3 AND state = 'sending' AND claimed_by IS $4",
    mark_dropped: "
UPDATE messages SET state = 'dropped', last_error = $1
WHERE key = $2 AND state = 'sending' AND claimed_by IS $3",
    mark_failed: "
UPDATE messages SET state = 'failed', last_error = $1
WHERE key = $2 AND state = 'sending' AND claimed_by IS $3",
    insert_instance: "
INSERT INTO instances (id, host, pid, mail, started_at, heartbeat_at)
VALUES ($1, $2, $3, $4, CAST(strftime('%s', 'now') AS INTEGER),
    CAST(strftime('%s', 'now') AS INTEGER))
ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
    heartbeat: "
UPDATE instances SET heartbeat_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = $1",
    // One daemon: `recover_abandoned` gives back every claim at its start.
    forget_instances: "
DELETE FROM instances WHERE heartbeat_at < CAST(strftime('%s', 'now') AS INTEGER) - $1",
    now: "SELECT CAST(strftime('%s', 'now') AS INTEGER)",
    daemons: "
SELECT
    CAST(COALESCE(SUM(CASE WHEN heartbeat_at >= CAST(strftime('%s', 'now') AS INTEGER) - $1
        THEN 1 ELSE 0 END), 0) AS BIGINT),
    CAST(COUNT(*) AS BIGINT),
    CAST(COALESCE(SUM(CASE WHEN heartbeat_at >= CAST(strftime('%s', 'now') AS INTEGER) - $1
        AND paused_until > $2 THEN 1 ELSE 0 END), 0) AS BIGINT)
FROM instances",
    try_lease: "
INSERT INTO leases (name, holder, expires_at)
VALUES ($1, $2, CAST(strftime('%s', 'now') AS INTEGER) + $3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder
   OR leases.expires_at < CAST(strftime('%s', 'now') AS INTEGER)",
};
