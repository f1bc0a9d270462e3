//! The statements whose SQL differs between SQLite and PostgreSQL, by name: each
//! dialect writes them out in full (`sqlite/mod.rs`, `postgres/mod.rs`), and
//! `Backend::sql` (in `store/mod.rs`) picks the table. What differs: the database's
//! clock in unix seconds (leases are judged on one clock for all daemons), a claimer
//! compared with `IS` on SQLite (a store in memory has no registered daemon: its
//! claimer is NULL), a JSON array of keys, and where a body is kept. [`ClaimedRow`] is
//! what either claim gives back.

/// One dialect's text of each statement that differs.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// Queues messages (the values follow): on PostgreSQL with their bodies (the last
    /// column), on SQLite without (they go to `bodies`, see migration 0007).
    pub(crate) insert_messages: &'static str,
    /// Marks sent the keys of a JSON array (`$2`) at `$1` that `$3` still holds;
    /// returns the keys it marked.
    pub(crate) mark_sent: &'static str,
    /// Gives back `$3`, held by `$4`, with the error `$1`, to try again at `$2`.
    pub(crate) mark_retry: &'static str,
    /// Drops `$2`, held by `$3`, saying why (`$1`).
    pub(crate) mark_dropped: &'static str,
    /// Fails `$2` for good, held by `$3`, with the error `$1`.
    pub(crate) mark_failed: &'static str,
    /// Registers a daemon (`$1` id, `$2` host, `$3` pid, `$4` mail), its beat now.
    pub(crate) insert_instance: &'static str,
    /// The daemon `$1` beats now.
    pub(crate) heartbeat: &'static str,
    /// Forgets the daemons silent for `$1` seconds (on PostgreSQL giving back their
    /// claims too).
    pub(crate) forget_instances: &'static str,
    /// The database's clock, in unix seconds.
    pub(crate) now: &'static str,
    /// The daemons alive (beat within `$1` seconds), how many registered in all, how
    /// many alive with the breaker open at `$2`.
    pub(crate) daemons: &'static str,
    /// Takes or renews the lease `$1` for `$2` for `$3` seconds; no row changes while
    /// another holder's lease runs.
    pub(crate) try_lease: &'static str,
    /// Per pair: the meetings starting in `[$1, $2)` that got an agenda, that got
    /// action items, the same for `[$3, $4)`, and when the pair was last heard from
    /// (any mail but mail set aside): one pass over the pair record's index (migration
    /// `report_reads`) in pair order. SQLite names the index: without statistics its
    /// planner takes the index by kind and sorts a year's 1.3 million replies instead.
    pub(crate) pair_record: &'static str,
    /// Per pair, the check-in scores answered in `[$1, $2)`: how many, their sum, and
    /// the same of those before `$3`. SQLite names the index by pair (migration
    /// `report_reads`), which gives the rows in pair order; its planner would take the
    /// index by time and sort them.
    pub(crate) checkin_stats: &'static str,
}

/// A claimed row as both dialects return it (every column but the body). `queued` is
/// the order it was queued in.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ClaimedRow {
    pub(crate) key: String,
    pub(crate) message_id: String,
    pub(crate) kind: String,
    pub(crate) pair: Option<String>,
    pub(crate) recipient: String,
    pub(crate) attempts: i64,
    pub(crate) uid: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) sequence: Option<i64>,
    pub(crate) next_attempt_at: i64,
    pub(crate) queued: i64,
}
