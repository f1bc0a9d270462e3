//! The action links of a mail (`[http] public_url`): can't make it, agenda, action
//! items, review done, the check-in's five scores, and the one-click unsubscribe of optional mail, each signed for
//! its recipient and subject; and the recipient's calendar feed (SPEC §9).

use jiff::Timestamp;

use super::Composer;
use crate::mail::Unsubscribe;
use crate::program::Pair;
use crate::render::LinksContext;
use crate::vocab::MessageKind;
use crate::vocab::links::{self, Action as LinkAction, Claim};

impl Composer<'_> {
    /// The links of a mail of `kind` to `person` about `pair` (and `subject`: a
    /// meeting's start, a review's due date), sent at `at`.
    pub(super) fn links_for(
        &self,
        kind: MessageKind,
        person: &str,
        pair: Option<&Pair>,
        meeting: Option<Timestamp>,
        subject: &str,
        at: Timestamp,
    ) -> (LinksContext, Option<Unsubscribe>) {
        let Some(signer) = self.links else {
            return (LinksContext::default(), None);
        };
        let claim = |action, until: Option<Timestamp>| Claim {
            action,
            person: person.to_string(),
            pair: pair.map(|p| p.id.clone()).unwrap_or_default(),
            subject: subject.to_string(),
            expires: links::expiry(at, until),
        };
        let link = |action, until| Some(signer.link(&claim(action, until)));
        let mut out = LinksContext::default();
        match kind {
            MessageKind::AgendaPrompt => {
                out.cant_make_it = link(LinkAction::CantMakeIt, meeting);
                out.agenda = link(LinkAction::Agenda, meeting);
                self.feed_links(person, &mut out);
            }
            MessageKind::MentorReminder => out.cant_make_it = link(LinkAction::CantMakeIt, meeting),
            MessageKind::Followup => out.action_items = link(LinkAction::ActionItems, None),
            MessageKind::ReviewNudge => out.review_done = link(LinkAction::ReviewDone, None),
            // One link per score, 1 (very badly) to 5 (very well), valid 60 days.
            MessageKind::Checkin => {
                out.checkin = (1..=5)
                    .filter_map(|score| link(LinkAction::Checkin(score), None))
                    .collect();
            }
            _ => {}
        }
        let unsubscribe = kind.is_optional().then(|| {
            let token = signer.token(&claim(LinkAction::Unsubscribe(kind), None));
            out.unsubscribe = link(LinkAction::Unsubscribe(kind), None);
            Unsubscribe {
                https: signer.link(&claim(LinkAction::Unsubscribe(kind), None)),
                mailto: format!(
                    "mailto:{}?subject=unsubscribe%20{token}",
                    self.program.organizer.email
                ),
            }
        });
        (out, unsubscribe)
    }

    /// `person`'s calendar feed in `out`, when links are signed and they have a token.
    pub(super) fn feed_links(&self, person: &str, out: &mut LinksContext) {
        let (Some(signer), Some(token)) = (self.links, self.feeds.and_then(|f| f.get(person)))
        else {
            return;
        };
        let feed = signer.feed(token);
        out.feed = Some(feed.https);
        out.feed_webcal = Some(feed.webcal);
    }

    /// A coordinator's one-click answer about `pair` in the digest sent at `at`: valid
    /// until the next digests have come and gone (two weeks).
    pub(super) fn coordinator_link(
        &self,
        action: LinkAction,
        coordinator: &str,
        pair: &str,
        at: Timestamp,
    ) -> Option<String> {
        let signer = self.links?;
        let until = at
            .checked_add(jiff::SignedDuration::from_hours(14 * 24))
            .ok();
        Some(signer.link(&Claim {
            action,
            person: coordinator.to_string(),
            pair: pair.to_string(),
            subject: String::new(),
            expires: links::expiry(at, until),
        }))
    }
}
