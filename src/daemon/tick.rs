//! What a tick is told and what it tells: when to stop, and what it did. Below the
//! planner and the courier, which both fill a [`Tick`] in.

use jiff::Timestamp;

/// Whether to stop, asked between sends and between batches of work; shared with the
/// thread that plans while delivery goes on.
pub type Stop<'a> = &'a (dyn Fn() -> bool + Sync);

/// What one tick did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    pub queued: usize,
    pub sent: usize,
    pub dropped: usize,
    pub failed: usize,
    pub retried: usize,
    /// When there is something to do next.
    pub next: Option<Timestamp>,
    /// What that is, in words: "agenda prompt to Alan Turing", "a retry"; `None` when
    /// nothing is due before then.
    pub next_what: Option<String>,
}
