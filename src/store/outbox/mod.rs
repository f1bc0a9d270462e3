//! The outbox (`messages`) and the schedule's cursor: a message is written with its
//! deterministic key and its whole body *before* it is sent, claimed (`sending`,
//! `claimed_by`) while in flight and marked `sent` after. The key is the primary key, so
//! a second copy cannot be queued; a crash between the server's acceptance and the mark
//! leaves it `sending`: on SQLite (one daemon) [`Store::recover_abandoned`](crate::store::Store::recover_abandoned) puts it back
//! at the next start, on PostgreSQL another daemon takes it once the claimer's lease ran
//! out (see [`super::instances`]). At worst one resend, byte-identical, same `Message-ID`.
//! Marks change only a claim the marking daemon still holds.
//!
//! By concern: [`enqueue`] (queueing), [`claim`] (claiming, within [`budget`]),
//! [`marks`] (sent, retried, failed, dropped), [`reads`] (for `status`, and requeueing).

mod budget;
mod claim;
mod enqueue;
mod marks;
mod reads;

use crate::mail::MessageKind;

pub use budget::{DailyBudget, Held};
pub use enqueue::NewMessage;
pub(crate) use enqueue::Recent;
pub use marks::Mark;
pub use reads::{Failure, PairActivity, Summary};

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
