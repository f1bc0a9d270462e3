//! From what is due to the messages that say it: one [`Outgoing`] per recipient, with
//! its delivery key, deterministic `Message-ID`, rendered body and, for calendar
//! changes, the iCalendar object. The [`Composer`] and what every message shares live
//! here; the messages of scheduled actions in [`actions`], calendar changes in
//! [`calendar`], the coordinator's digest in [`digest`], action links in [`links`], and
//! the check of template overrides in [`check`].
//!
//! Shared by `simulate` and the daemon, so a simulation shows exactly what would be sent.

mod actions;
mod calendar;
mod check;
mod digest;
mod links;

use jiff::Timestamp;

use crate::mail::{Outgoing, ReplyTo};
use crate::program::{Mailbox, Pair, Program};
use crate::render::{Context, Role, Templates};
use crate::vocab::links::Signer;
use crate::vocab::token::{self, TokenKey};
use crate::vocab::{DeliveryKey, MessageKind};
pub(crate) use check::check_templates;

/// A message and what the index says about it.
#[derive(Debug, Clone)]
pub struct Composed {
    pub kind: MessageKind,
    pub pair: Option<String>,
    pub message: Outgoing,
}

/// Composes messages for one program.
#[derive(Debug)]
pub struct Composer<'p> {
    program: &'p Program,
    templates: &'p Templates,
    /// The store's key: Message-IDs, series UIDs and the tokens of Reply-To and
    /// `ORGANIZER` addresses (`[mail] reply_to`). [`TokenKey::preview`] until
    /// [`Composer::with_tokens`].
    tokens: &'p TokenKey,
    /// Signs action links, with `[http] public_url`.
    links: Option<&'p Signer>,
    /// People's calendar-feed tokens by person id, read from the store a batch at a
    /// time ([`FeedTokens`]); a person without one gets no feed link.
    feeds: Option<&'p FeedTokens>,
}

/// Calendar-feed tokens by person id (see [`crate::store::Store::feed_tokens`]).
pub type FeedTokens = std::collections::HashMap<String, String>;

/// Kinds whose replies mentord reads (README, "The program file": prompts, follow-ups,
/// nudges and check-ins), so they carry a Reply-To with a token.
fn takes_replies(kind: MessageKind) -> bool {
    matches!(
        kind,
        MessageKind::AgendaPrompt
            | MessageKind::Followup
            | MessageKind::ReviewNudge
            | MessageKind::Checkin
    )
}

fn mailbox(name: &str, email: &str) -> Mailbox {
    Mailbox {
        name: name.to_string(),
        email: email.to_string(),
    }
}

impl<'p> Composer<'p> {
    pub fn new(program: &'p Program, templates: &'p Templates) -> Self {
        Composer {
            program,
            templates,
            tokens: TokenKey::preview(),
            links: None,
            feeds: None,
        }
    }

    /// Feed links (with action links) for the people `feeds` has a token for.
    pub(crate) fn with_feeds(mut self, feeds: Option<&'p FeedTokens>) -> Self {
        self.feeds = feeds;
        self
    }

    /// Action links (with `[http] public_url`) signed with `links`.
    pub(crate) fn with_links(mut self, links: Option<&'p Signer>) -> Self {
        self.links = links;
        self
    }

    /// Message-IDs, series UIDs and reply addresses keyed with `tokens`, the store's key.
    pub(crate) fn with_tokens(mut self, tokens: &'p TokenKey) -> Self {
        self.tokens = tokens;
        self
    }

    fn outgoing(
        &self,
        key: DeliveryKey,
        to: Mailbox,
        at: Timestamp,
        context: &Context,
    ) -> anyhow::Result<Outgoing> {
        let organizer = &self.program.organizer;
        // The program is part of the id: the same pair next year is new mail.
        let domain = organizer
            .email
            .rsplit_once('@')
            .map_or("mentord.invalid", |(_, d)| d);
        let message_id = self
            .tokens
            .message_id(&format!("{}\n{key}", self.program.name), domain);
        let reply_to = match &self.program.reply_to {
            Some(pattern) if takes_replies(key.kind) => {
                let token = self.tokens.token(&message_id);
                Some(ReplyTo {
                    address: token::address(pattern, &token),
                    token,
                })
            }
            _ => None,
        };
        Ok(Outgoing {
            message_id,
            body: self.templates.render(key.kind, context)?,
            key,
            from: mailbox(&organizer.name, &organizer.email),
            to,
            date: at,
            calendar: None,
            reply_to,
            unsubscribe: None,
        })
    }

    fn role_person(&self, pair: &Pair, role: Role) -> (String, String, String) {
        let index = match role {
            Role::Mentor => pair.mentor,
            Role::Mentee => pair.mentee,
            Role::Coordinator => self.program.coordinator,
        };
        let p = self.program.person(index);
        (p.id.clone(), p.name.clone(), p.email.clone())
    }
}
