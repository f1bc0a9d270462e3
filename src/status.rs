//! Where the program stands: each pair's next meeting, review standing, last mail and
//! failures, the outbox in numbers, the daemons at work. One model, computed once
//! ([`report`]) from the program and what the store holds ([`StoredState::read`]), for
//! every place that shows it: `mentord status` (table and JSON) today, the
//! coordinator's page next.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::program::{Program, Status as PairStatus};
use crate::reconcile::Sent;
use crate::schedule::{self, ReviewStanding};
use crate::store::{Failure, Instance, PairActivity, Store, Summary};

/// What the store knows that the status needs (empty without a store).
#[derive(Debug, Default)]
pub struct StoredState {
    pub sent: HashMap<String, Sent>,
    pub reviews: HashMap<String, Date>,
    pub summary: Summary,
    pub activity: HashMap<String, PairActivity>,
    pub instances: Vec<Instance>,
    /// A daemon holds the SQLite store's lock (see [`crate::store::lock`]).
    pub held: bool,
}

impl StoredState {
    pub async fn read(store: &Store) -> anyhow::Result<StoredState> {
        Ok(StoredState {
            sent: store.sent_series().await?,
            reviews: store.last_reviews().await?,
            summary: store.summary().await?,
            activity: store.pair_activity().await?,
            instances: store.instances().await?,
            held: false,
        })
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub program: String,
    /// Times are shown in the program's zone.
    pub now: String,
    pub pairs: Vec<PairLine>,
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub last_sent: Option<String>,
    pub failures: Vec<Failure>,
    pub daemons: Vec<DaemonLine>,
    /// A daemon runs (it holds the SQLite store) but has not beaten within the lease:
    /// it cannot write to the store (a full disk, a read-only file) and sends nothing
    /// until it can. Its log says why.
    pub daemon_cannot_write: bool,
}

#[derive(Debug, Serialize)]
pub struct PairLine {
    pub pair: String,
    pub status: &'static str,
    pub next_meeting: Option<String>,
    /// `upcoming`, `nudged` (past due, within two graces), `overdue` (escalated), `off`.
    pub review: &'static str,
    pub review_due: Option<String>,
    pub last_sent: Option<String>,
    pub failures: u64,
}

#[derive(Debug, Serialize)]
pub struct DaemonLine {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub mail: String,
    pub started: String,
    pub last_heartbeat: String,
    /// Beat within the lease; a dead daemon's claims pass to the others.
    pub alive: bool,
    /// Messages claimed and not yet marked.
    pub holding: u64,
    /// Holds the program lock (reconciling or scheduling right now; PostgreSQL only).
    pub program_lock: bool,
    pub paused_until: Option<String>,
    pub pause_reason: Option<String>,
}

/// The program's standing at `now`.
pub fn report(program: &Program, state: StoredState, now: Timestamp) -> Report {
    let zone = &program.zone.tz;
    let today = zone.to_datetime(now).date();
    let local = |t: Timestamp| {
        t.to_zoned_datetime(zone.clone())
            .strftime("%a %Y-%m-%d %H:%M")
            .to_string()
    };
    let pairs = program
        .pairs
        .iter()
        .map(|pair| {
            let active = pair.status == PairStatus::Active;
            let next = active
                .then(|| schedule::meetings(program, pair, now, Timestamp::MAX).next())
                .flatten();
            let held = state.reviews.get(&pair.id).copied();
            let standing = active
                .then(|| schedule::review_standing(pair, held, today))
                .flatten();
            let (review, due) = match standing {
                Some(ReviewStanding::Upcoming(due)) => ("upcoming", Some(due)),
                Some(ReviewStanding::Nudged(due)) => ("nudged", Some(due)),
                Some(ReviewStanding::Overdue(due)) => ("overdue", Some(due)),
                None => ("off", None),
            };
            let activity = state.activity.get(&pair.id).copied().unwrap_or_default();
            PairLine {
                pair: pair.id.clone(),
                status: pair.status.as_str(),
                next_meeting: next.map(|(_, t)| local(t)),
                review,
                review_due: due.map(|d| d.to_string()),
                last_sent: activity.last_sent.map(local),
                failures: activity.failed,
            }
        })
        .collect();
    let summary = state.summary;
    let daemon_cannot_write = state.held && !state.instances.iter().any(|i| i.alive);
    Report {
        daemon_cannot_write,
        program: program.name.clone(),
        now: local(now),
        pairs,
        pending: summary.pending,
        sent: summary.sent,
        failed: summary.failed,
        last_sent: summary.last_sent.map(local),
        failures: summary.failures,
        daemons: state
            .instances
            .into_iter()
            .map(|i| DaemonLine {
                started: local(i.started_at),
                last_heartbeat: local(i.heartbeat_at),
                paused_until: i
                    .paused_until
                    .filter(|&until| i.alive && until > now)
                    .map(local),
                pause_reason: i.pause_reason.filter(|_| i.alive),
                id: i.id,
                host: i.host,
                pid: i.pid,
                mail: i.mail,
                alive: i.alive,
                holding: i.holding,
                program_lock: i.program_lock,
            })
            .collect(),
    }
}
