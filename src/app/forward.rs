//! A proven reply of a pair's person that is no agenda or action items ("thanks, see
//! you tomorrow" to a reminder, an answer to a review nudge or an invite's text) goes on
//! to the other person of the pair, so no mail of theirs ends unread (SPEC §5 "No dead
//! ends"). Decided here, whatever door the reply came in by: whether the pair still
//! meets, and how often one person may make mentord forward. The daemon composes and
//! sends what is recorded (`daemon::planner::inbound`), once per reply.

use jiff::{SignedDuration, Timestamp};

use crate::program::{Pair, Program, Status};
use crate::store::{InboundKind, InboundRecord, Store};

/// At most this many replies of one person of a pair are forwarded in [`WINDOW`]; more
/// are set aside for the coordinator (in the spirit of "Passing an agenda on": no door
/// lets one person flood the other).
pub const PER_WINDOW: i64 = 3;
pub const WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// The longest text kept to forward (the mail itself quotes less: compose bounds it).
const MAX_TEXT: usize = 20_000;

/// A reply to forward: who wrote it, in which pair, its new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub pair: String,
    /// The writer's person id.
    pub person: String,
    pub text: String,
}

impl Forward {
    /// `record` (what came in) as a reply for the daemon to forward.
    pub fn fill(self, record: &mut InboundRecord) {
        record.kind = InboundKind::Forwarded;
        record.pair = Some(self.pair);
        record.person = Some(self.person);
        record.body = Some(self.text.chars().take(MAX_TEXT).collect());
        record.pending = true;
    }
}

/// Whether `person` (an index) of `pair` may have this reply forwarded at `now`:
/// `Ok(forward)`, or why not (the mail is then set aside, with that reason).
pub async fn decide(
    program: &Program,
    store: &Store,
    pair: &Pair,
    person: usize,
    text: String,
    now: Timestamp,
) -> anyhow::Result<Result<Forward, String>> {
    if pair.status != Status::Active {
        return Ok(Err(format!(
            "a reply of a person of {}, which is {}: nothing is forwarded for it",
            pair.id,
            pair.status.as_str()
        )));
    }
    let person = program.person(person).id.clone();
    let since = now.checked_sub(WINDOW).unwrap_or(now);
    let recent = store.forwards_since(&pair.id, &person, since).await?;
    if recent >= PER_WINDOW {
        return Ok(Err(format!(
            "{person} of {} had {recent} replies forwarded within the hour: at most \
             {PER_WINDOW} an hour go on, the rest wait here for the coordinator",
            pair.id
        )));
    }
    Ok(Ok(Forward {
        pair: pair.id.clone(),
        person,
        text,
    }))
}
