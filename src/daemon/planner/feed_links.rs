//! The calendar-feed tokens the mail about to be composed links to (SPEC §9: invites
//! and agenda prompts link the person's feed). Read from the store once for a whole
//! batch of mail ([`crate::store::Store::feed_tokens`]), never one message at a time,
//! and only with signed links (`[http] public_url` and the secret): there is no feed
//! to link otherwise. A simulation makes its tokens with its preview key, so the same
//! program shows the same links every run and nothing is stored.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::Planner;
use crate::compose::FeedTokens;
use crate::program::Pair;
use crate::reconcile::Change;
use crate::schedule::{Action, Recipient};
use crate::vocab::MessageKind;

impl Planner {
    /// The tokens of `people`; `None` when mail carries no links.
    pub(super) async fn feed_tokens(
        &self,
        people: BTreeSet<&str>,
        now: Timestamp,
    ) -> anyhow::Result<Option<FeedTokens>> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        if people.is_empty() {
            return Ok(Some(FeedTokens::new()));
        }
        if self.preview_links {
            let tokens = (people.into_iter())
                .map(|p| (p.to_string(), signer.preview_feed_token(p)))
                .collect();
            return Ok(Some(tokens));
        }
        let people: Vec<&str> = people.into_iter().collect();
        Ok(Some(self.store.feed_tokens(&people, now).await?))
    }

    /// Who gets an invite or an update among `changes`.
    pub(super) fn invited<'a>(&'a self, changes: &[Change]) -> BTreeSet<&'a str> {
        let mut people = BTreeSet::new();
        for change in changes {
            if let Change::Invite { pair, .. } | Change::Update { pair, .. } = change {
                self.both(&self.program.pairs[*pair], &mut people);
            }
        }
        people
    }

    /// Who gets an agenda prompt among `actions`.
    pub(super) fn prompted<'a>(
        &'a self,
        actions: impl Iterator<Item = &'a Action>,
    ) -> BTreeSet<&'a str> {
        let mut people = BTreeSet::new();
        for action in actions {
            let Some(pair) = action.pair.map(|i| &self.program.pairs[i as usize]) else {
                continue;
            };
            if action.kind.message() != Some(MessageKind::AgendaPrompt) {
                continue;
            }
            let person = match action.to {
                Recipient::Mentor => pair.mentor,
                Recipient::Mentee => pair.mentee,
                Recipient::Pair | Recipient::Coordinator => continue,
            };
            people.insert(self.program.person(person).id.as_str());
        }
        people
    }

    fn both<'a>(&'a self, pair: &Pair, people: &mut BTreeSet<&'a str>) {
        people.insert(self.program.person(pair.mentor).id.as_str());
        people.insert(self.program.person(pair.mentee).id.as_str());
    }
}
