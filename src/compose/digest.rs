//! The coordinator's digest: pairs by status, reviews overdue, and what the store
//! heard (failures, bounces, declines, mail set aside, late cancellations).

use jiff::Timestamp;

use super::{Composed, Composer, mailbox};
use crate::program::Status;
use crate::render::{Context, DigestContext, OverdueReview};
use crate::schedule::{self, History};
use crate::vocab::{DeliveryKey, MessageKind};

impl Composer<'_> {
    /// The coordinator's digest as of `at`: pair counts and reviews overdue (due more
    /// than two graces ago and not held since).
    pub(super) fn digest(&self, at: Timestamp, history: &History) -> anyhow::Result<Composed> {
        let program = self.program;
        let coordinator = program.person(program.coordinator);
        let today = coordinator.zone.tz.to_datetime(at).date();
        let count = |s| program.pairs.iter().filter(|p| p.status == s).count();
        let overdue = program
            .pairs
            .iter()
            .filter(|p| p.status == Status::Active)
            .filter_map(|p| {
                match schedule::review_standing(p, history.last_review.get(&p.id).copied(), today) {
                    Some(schedule::ReviewStanding::Overdue(due)) => Some((p, due)),
                    _ => None,
                }
            })
            .map(|(p, due)| OverdueReview {
                pair: p.id.clone(),
                mentor: program.person(p.mentor).name.clone(),
                mentee: program.person(p.mentee).name.clone(),
                due: due.to_string(),
            })
            .collect();
        let mut context = Context::for_coordinator(program).with_digest(DigestContext {
            date: today.strftime("%a %-d %b %Y").to_string(),
            active: count(Status::Active),
            paused: count(Status::Paused),
            overdue,
            failures: history.failures.clone(),
            sending_paused: history.sending_paused.clone(),
            sending_held: history.sending_held.clone(),
            declined_series: history.declined_series.clone(),
            bounces: history.bounces.clone(),
            set_aside: history.set_aside.clone(),
            late_cancellations: history.late_cancellations.clone(),
        });
        let key = DeliveryKey {
            kind: MessageKind::Digest,
            pair: None,
            occurrence: Some(at.to_string()),
            sequence: 0,
            recipient: coordinator.id.clone(),
        };
        let (links, unsubscribe) =
            self.links_for(MessageKind::Digest, &coordinator.id, None, None, "", at);
        context.links = links;
        let mut message = self.outgoing(
            key,
            mailbox(&coordinator.name, &coordinator.email),
            at,
            &context,
        )?;
        message.unsubscribe = unsubscribe;
        Ok(Composed {
            kind: MessageKind::Digest,
            pair: None,
            message,
        })
    }
}
