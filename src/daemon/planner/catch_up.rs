//! Late messages: what is due before "now" that the schedule, which goes on from the
//! store's cursor, would never queue. Three causes, one catch-up rule
//! ([`crate::schedule::late`]), each named in the log:
//!
//! - a meeting new to the store inside its lead time (a first start, a pair added,
//!   resumed or moved): its prompt and reminder;
//! - an edit on reload that moved a prompt, reminder, follow-up, nudge or digest into
//!   the past ([`crate::schedule::edits`]);
//! - an edit made while mentord was stopped: on start, the prompts and reminders of every
//!   pair whose meeting is still ahead (the old file is gone, so the keys tell).
//!
//! Keys make this idempotent: a message already queued is not queued (or logged) again.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};

use super::super::tick::Tick;
use super::{Planner, new_message};
use crate::schedule::{self, Action, Window};

/// Why a message goes late, in the log's words.
#[derive(Debug, Clone, Copy)]
enum Cause {
    NewMeeting,
    Edited,
    EditedWhileStopped,
}

impl Cause {
    fn words(self) -> &'static str {
        match self {
            Cause::NewMeeting => "late: its meeting is inside the lead time; sending it now",
            Cause::Edited => "late: an edit of the program moved it into the past; sending it now",
            Cause::EditedWhileStopped => {
                "late: an edit made while mentord was stopped moved it into the past; its meeting is still ahead, sending it now"
            }
        }
    }
}

impl Planner {
    /// Queues the late messages (see the module's note), a second after `now`: after
    /// the invites, which are due now, so the calendar comes first.
    pub(super) async fn queue_late(
        &mut self,
        cursor: Timestamp,
        now: Timestamp,
        tick: &mut Tick,
    ) -> anyhow::Result<()> {
        if self.catch_up.is_empty() && self.edited_from.is_none() && !self.just_started {
            return Ok(());
        }
        let after = SignedDuration::from_secs(1);
        self.catch_up.sort_unstable();
        self.catch_up.dedup();
        let history = self.history(false, now).await?;
        let mut late: Vec<(Action, Cause)> = Vec::new();
        let window = Window {
            from: now
                .checked_sub(schedule::late::lookback(&self.program))
                .unwrap_or(now),
            until: cursor.min(now),
        };
        if window.from < window.until && (self.just_started || !self.catch_up.is_empty()) {
            let pairs = (!self.just_started).then_some(&self.catch_up[..]);
            let prompts =
                schedule::late::late_prompts(&self.program, &history, pairs, window, now, after);
            for action in prompts {
                let new = action
                    .pair
                    .is_some_and(|p| self.catch_up.binary_search(&p).is_ok());
                let cause = if new {
                    Cause::NewMeeting
                } else {
                    Cause::EditedWhileStopped
                };
                late.push((action, cause));
            }
        }
        if let Some(old) = &self.edited_from {
            let moved =
                schedule::edits::moved_by_edit(old, &self.program, &history, cursor, now, after);
            for (action, why) in &moved.too_late {
                tracing::info!(what = %self.describe(action), due = %action.at, "not sent: {why} (an edit moved it into the past)");
            }
            late.extend(moved.send.into_iter().map(|a| (a, Cause::Edited)));
        }
        // A moved meeting's prompt is found both ways: queued once, for the first cause.
        let mut seen = HashSet::with_capacity(late.len());
        late.retain(|(a, _)| seen.insert((a.kind, a.pair, a.to, a.subject)));

        let prompted = self.prompted(late.iter().map(|(a, _)| a));
        let feeds = self.feed_tokens(prompted, now).await?;
        let composer = self.composer()?.with_feeds(feeds.as_ref());
        let mut batch = Vec::with_capacity(late.len());
        let mut causes = Vec::with_capacity(late.len());
        for (action, cause) in &late {
            for composed in composer.action(action, &history)? {
                let mut message = new_message(&composed, action.at)?;
                message.dropped = self.unsubscribed_from(&composed);
                batch.push(message);
                causes.push(*cause);
            }
        }
        let queued = self.enqueue_scheduled(&batch, now, tick).await?;
        for ((message, cause), queued) in batch.iter().zip(causes).zip(queued) {
            if queued && message.dropped.is_none() {
                tracing::info!(key = %message.key, at = %message.due_at, "{}", cause.words());
            }
        }
        // Done only now: a failed tick tries all of it again (keys keep it once).
        self.catch_up.clear();
        self.edited_from = None;
        self.just_started = false;
        Ok(())
    }
}
