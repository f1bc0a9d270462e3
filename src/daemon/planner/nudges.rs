//! The coordinator's "nudge the pair" (from the digest, [`crate::app::exceptions`]): a
//! check-in to both, now, as the schedule's own check-in of that day (so a nudge on a
//! check-in day sends one, not two).

use jiff::Timestamp;

use super::super::tick::Tick;
use super::{Planner, new_message};
use crate::schedule::{Action, ActionKind, History, Recipient, Subject};

impl Planner {
    /// Queues the check-ins of every nudge asked for, once.
    pub(super) async fn send_nudges(&self, now: Timestamp, tick: &mut Tick) -> anyhow::Result<()> {
        let asked = self.store.nudges_asked().await?;
        if asked.is_empty() {
            return Ok(());
        }
        let composer = self.composer()?;
        let history = History::default();
        let mut messages = Vec::new();
        for pair_id in &asked {
            let Some(index) = self.program.pairs.iter().position(|p| &p.id == pair_id) else {
                self.store.nudge_sent(pair_id, now).await?;
                continue;
            };
            let pair = &self.program.pairs[index];
            let on = pair.meeting.zone.tz.to_datetime(now).date();
            for to in [Recipient::Mentor, Recipient::Mentee] {
                let action = Action {
                    at: now,
                    kind: ActionKind::Checkin,
                    pair: Some(index as u32),
                    to,
                    subject: Subject::Checkin { on },
                };
                for composed in composer.action(&action, &history)? {
                    if self.unsubscribed_from(&composed).is_none() {
                        messages.push(new_message(&composed, now)?);
                    }
                }
            }
            tracing::info!(pair = %pair_id, "nudged: a check-in to both");
        }
        let queued = self.store.enqueue_all(&messages, &[], now).await?;
        tick.queued += queued.into_iter().filter(|&q| q).count();
        for pair_id in &asked {
            self.store.nudge_sent(pair_id, now).await?;
        }
        Ok(())
    }
}
