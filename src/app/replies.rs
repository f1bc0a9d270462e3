//! An agenda (for a meeting ahead) or action items (after a meeting) from a person of the
//! pair: a reply to the prompt or follow-up, or the link's form. Recorded for the pair's
//! own mail only: the mentor's reminder quotes the agenda (or the daemon passes it on),
//! the next prompt and reminder recall the action items.

use jiff::Timestamp;

use crate::store::{InboundKind, InboundRecord, Store};

/// The longest agenda or list of action items kept.
pub const MAX_TEXT: usize = 20_000;

/// What a person of a pair wrote about one meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// [`InboundKind::Agenda`] or [`InboundKind::ActionItems`].
    pub kind: InboundKind,
    pub pair: String,
    /// The meeting's start.
    pub meeting: Timestamp,
    /// The person's id.
    pub person: String,
    pub text: String,
}

impl Reply {
    /// `record` (what came in) as this reply: the text cut to [`MAX_TEXT`], an agenda
    /// left for the daemon to pass on if the reminder has gone.
    pub fn fill(self, record: &mut InboundRecord) {
        record.pending = self.kind == InboundKind::Agenda;
        record.kind = self.kind;
        record.pair = Some(self.pair);
        record.occurrence = Some(self.meeting.to_string());
        record.person = Some(self.person);
        record.body = Some(self.text.chars().take(MAX_TEXT).collect());
    }

    /// Records the reply that came as `record` (its Message-ID names it: the same
    /// submission twice is one); false when it was recorded before.
    pub async fn record(
        self,
        store: &Store,
        mut record: InboundRecord,
        now: Timestamp,
    ) -> anyhow::Result<bool> {
        self.fill(&mut record);
        store.record_inbound(&record, now).await
    }
}
