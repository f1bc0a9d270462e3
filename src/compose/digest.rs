//! The coordinator's digest: pairs by status, reviews overdue, and what the store
//! heard (failures, bounces, declines, mail set aside, late cancellations).

use jiff::Timestamp;

use super::{Composed, Composer, mailbox};
use crate::program::Status;
use crate::render::{Context, DIGEST_ITEMS, DigestContext, ExceptionItem, OverdueReview};
use crate::schedule::{self, History};
use crate::vocab::links::Action as LinkAction;
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
        let exceptions: Vec<ExceptionItem> = history
            .exceptions
            .iter()
            .take(DIGEST_ITEMS)
            .filter_map(|e| {
                let pair = program.pair_by_id(&e.pair)?;
                let link = |action| self.coordinator_link(action, &coordinator.id, &pair.id, at);
                let review = e
                    .reasons
                    .iter()
                    .any(|r| r.starts_with("relationship review"));
                Some(ExceptionItem {
                    pair: pair.id.clone(),
                    mentor: program.person(pair.mentor).name.clone(),
                    mentee: program.person(pair.mentee).name.clone(),
                    level: e.level.clone(),
                    reasons: e.reasons.clone(),
                    new: e.new,
                    nudge: link(LinkAction::Nudge),
                    snooze: link(LinkAction::Snooze),
                    handled: link(LinkAction::Handled),
                    review_held: review.then(|| link(LinkAction::ReviewDone)).flatten(),
                })
            })
            .collect();
        let more = history.exceptions.len().saturating_sub(exceptions.len());
        let quiet = exceptions.is_empty()
            && history.failures.is_empty()
            && history.set_aside.is_empty()
            && history.sending_paused.is_none()
            && history.sending_held.is_none()
            && history.declined_series.is_empty();
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
            exceptions,
            more,
            quiet,
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
