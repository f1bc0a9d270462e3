//! The outbox (`messages`) and the schedule's cursor: a message is written with its
//! deterministic key and its whole body *before* it is sent, claimed (`sending`,
//! `claimed_by`) while in flight and marked `sent` after. The key is the primary key, so
//! a second copy cannot be queued; a crash between the server's acceptance and the mark
//! leaves it `sending`: on SQLite (one daemon)
//! [`Store::recover_abandoned`](crate::store::Store::recover_abandoned) puts it back at
//! the next start, on PostgreSQL another daemon takes it once the claimer's lease ran
//! out (see [`super::instances`]). At worst one resend, byte-identical, same `Message-ID`.
//! Marks change only a claim the marking daemon still holds.
//!
//! By concern: [`enqueue`] (queueing), [`claim`] (claiming, within [`budget`]),
//! [`marks`] (sent, retried, failed, dropped), [`reads`] (for `status`, and requeueing).

pub(super) mod budget;
mod claim;
mod enqueue;
mod marks;
mod prune;
mod reads;

use crate::vocab::MessageKind;

pub use budget::{DailyBudget, Held};
pub use enqueue::NewMessage;
pub(crate) use enqueue::Recent;
pub use marks::Mark;
pub use prune::PRUNE_BATCH;
pub use reads::{Failure, PairActivity, Retrying, Summary};

/// Where a message stands, as the `messages.state` column names it: `pending` (queued,
/// or given back), `sending` (claimed, in flight), then for good `sent`, `failed` (the
/// server refused it) or `dropped` (never worth sending). SQL text names states itself;
/// Rust code that binds or compares one uses this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageState {
    Pending,
    Sending,
    Sent,
    Failed,
    Dropped,
}

impl MessageState {
    pub const ALL: [MessageState; 5] = [
        MessageState::Pending,
        MessageState::Sending,
        MessageState::Sent,
        MessageState::Failed,
        MessageState::Dropped,
    ];

    /// The column's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Sending => "sending",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
            MessageState::Dropped => "dropped",
        }
    }
}

impl std::fmt::Display for MessageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MessageState {
    type Err = anyhow::Error;

    fn from_str(word: &str) -> anyhow::Result<MessageState> {
        MessageState::ALL
            .into_iter()
            .find(|state| state.as_str() == word)
            .ok_or_else(|| anyhow::anyhow!("a message in the store has an unknown state {word:?}"))
    }
}

/// For rows read with `sqlx::FromRow` (`#[sqlx(try_from = "String")]`).
impl TryFrom<String> for MessageState {
    type Error = anyhow::Error;

    fn try_from(word: String) -> anyhow::Result<MessageState> {
        word.parse()
    }
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

#[cfg(test)]
mod tests {
    use super::MessageState;

    /// Each state reads back as itself from the column's word; a word the schema's
    /// CHECK does not allow is an error, not a guess.
    #[test]
    fn message_states_read_back_from_their_words() {
        for state in MessageState::ALL {
            assert_eq!(state.as_str().parse::<MessageState>().unwrap(), state);
            assert_eq!(MessageState::try_from(state.to_string()).unwrap(), state);
        }
        assert!("queued".parse::<MessageState>().is_err());
        assert!("Pending".parse::<MessageState>().is_err());
    }
}
