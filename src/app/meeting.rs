//! Someone of a pair can't make a meeting: a declined meeting in their calendar, or the
//! "can't make it" link. Either way it is cancelled for both (the daemon's reconcile
//! sends the `CANCEL` with `RECURRENCE-ID`), its prompt, reminder and follow-up are
//! dropped, and later than `cancel_notice` before the meeting it is flagged as late.

use jiff::Timestamp;

use crate::program::{Pair, Program};
use crate::store::{Cancellation, Store};

/// What became of a "can't make it".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    /// Cancelled for both; `late` inside the pair's `cancel_notice`.
    Cancelled { late: bool },
    /// It already was.
    Already,
    /// The meeting has started: nothing changes.
    Started,
    /// No meeting of the pair is at that time (it moved since the mail was sent).
    NoMeeting,
}

/// `person` (an id of the pair) can't make `pair`'s meeting at `start`.
pub async fn cancel(
    store: &Store,
    program: &Program,
    pair: &Pair,
    start: Timestamp,
    person: &str,
    now: Timestamp,
) -> anyhow::Result<Cancel> {
    let date = pair.meeting.zone.tz.to_datetime(start).date();
    let is_meeting = crate::schedule::meeting_on(program, pair, date) == Some(start);
    if start <= now {
        return Ok(Cancel::Started);
    }
    if !is_meeting {
        return Ok(Cancel::NoMeeting);
    }
    let late = start.duration_since(now) < pair.timing.cancel_notice;
    let cancellation = Cancellation {
        pair: pair.id.clone(),
        date,
        occurrence: start.to_string(),
        person: person.to_string(),
        at: now,
        late,
    };
    if !store.record_cancellation(&cancellation).await? {
        return Ok(Cancel::Already);
    }
    tracing::info!(pair = %pair.id, %date, %person, late, "meeting cancelled: cancelling it for both");
    Ok(Cancel::Cancelled { late })
}
