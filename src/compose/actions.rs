//! The messages of scheduled actions: agenda prompts, mentor reminders, follow-ups,
//! review nudges and escalations, check-ins, and an agenda passed on to the mentor.

use jiff::Timestamp;

use super::{Composed, Composer, mailbox};
use crate::render::{Context, ForwardedContext, Role};
use crate::schedule::{Action, History, Recipient, Subject};
use crate::vocab::{DeliveryKey, MessageKind};

impl Composer<'_> {
    /// The messages of one scheduled action (none for a meeting itself). Series invites
    /// come from [`Composer::change`]; `history` says which reviews were held.
    pub fn action(&self, action: &Action, history: &History) -> anyhow::Result<Vec<Composed>> {
        let program = self.program;
        let Some(pair_index) = action.pair else {
            return Ok(vec![self.digest(action.at, history)?]);
        };
        let pair = &program.pairs[pair_index as usize];
        let kind = match action.kind.message() {
            None | Some(MessageKind::Digest) => return Ok(Vec::new()),
            Some(kind) => kind,
        };
        let role = match action.to {
            Recipient::Mentor => Role::Mentor,
            Recipient::Mentee => Role::Mentee,
            Recipient::Coordinator | Recipient::Pair => Role::Coordinator,
        };
        let mut context = Context::for_pair(program, pair, role);
        let occurrence = match action.subject {
            Subject::Meeting { start, first } => {
                context = context.with_meeting(program, pair, start, first);
                let occurrence = start.to_string();
                if matches!(
                    kind,
                    MessageKind::AgendaPrompt | MessageKind::MentorReminder
                ) {
                    context.action_items = history.action_items_before(&pair.id, start);
                }
                if kind == MessageKind::MentorReminder {
                    context.agenda = history
                        .agendas
                        .get(&(pair.id.clone(), occurrence.clone()))
                        .cloned();
                }
                occurrence
            }
            Subject::Review { due, nudge } => {
                context = context.with_review(due, nudge);
                format!("{due}#{nudge}")
            }
            Subject::Checkin { on } => on.to_string(),
            Subject::Digest => action.at.to_string(),
        };
        let (id, name, email) = self.role_person(pair, role);
        let meeting = match action.subject {
            Subject::Meeting { start, .. } => Some(start),
            _ => None,
        };
        let subject = match action.subject {
            Subject::Review { due, .. } => due.to_string(),
            // The check-in's date, as its delivery key's occurrence.
            _ => occurrence.clone(),
        };
        let (links, unsubscribe) =
            self.links_for(kind, &id, Some(pair), meeting, &subject, action.at);
        context.links = links;
        let key = DeliveryKey {
            kind,
            pair: Some(pair.id.clone()),
            occurrence: Some(occurrence),
            sequence: 0,
            recipient: id,
        };
        let mut message = self.outgoing(key, mailbox(&name, &email), action.at, &context)?;
        message.unsubscribe = unsubscribe;
        // The `mailto:` goes where mentord reads replies, when this mail has such an address.
        if let (Some(unsubscribe), Some(reply_to)) = (&mut message.unsubscribe, &message.reply_to) {
            let organizer = format!("mailto:{}?", self.program.organizer.email);
            let ours = format!("mailto:{}?", reply_to.address);
            unsubscribe.mailto = unsubscribe.mailto.replacen(&organizer, &ours, 1);
        }
        Ok(vec![Composed {
            kind,
            pair: Some(pair.id.clone()),
            message,
        }])
    }

    /// The mentee's agenda passed on to the mentor (it came after the reminder). One
    /// mail per agenda received: its key names the mail that brought it.
    pub(crate) fn agenda(
        &self,
        pair_index: usize,
        start: Timestamp,
        reply_id: &str,
        text: &str,
        at: Timestamp,
    ) -> anyhow::Result<Composed> {
        let program = self.program;
        let pair = &program.pairs[pair_index];
        let mut context = Context::for_pair(program, pair, Role::Mentor)
            .with_meeting(program, pair, start, false);
        context.agenda = Some(text.to_string());
        let (id, name, email) = self.role_person(pair, Role::Mentor);
        // Which reply, as a number: a second agenda for the same meeting is a second mail.
        let reply = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, reply_id.as_bytes());
        let sequence = u32::from_be_bytes(reply.as_bytes()[..4].try_into().unwrap_or_default());
        let key = DeliveryKey {
            kind: MessageKind::Agenda,
            pair: Some(pair.id.clone()),
            occurrence: Some(start.to_string()),
            sequence,
            recipient: id,
        };
        let message = self.outgoing(key, mailbox(&name, &email), at, &context)?;
        Ok(Composed {
            kind: MessageKind::Agenda,
            pair: Some(pair.id.clone()),
            message,
        })
    }
}

/// The longest forwarded text and subject (SPEC §5 "No dead ends": bounded).
pub const MAX_FORWARDED_TEXT: usize = 4_000;
const MAX_FORWARDED_SUBJECT: usize = 120;

impl Composer<'_> {
    /// A reply of one person of the pair (`from`, the person's index), passed on to the
    /// other: its new text, cut to [`MAX_FORWARDED_TEXT`]. One mail per reply
    /// (`reply_id`, its Message-ID, names it), so a reply delivered twice goes once.
    pub(crate) fn forwarded(
        &self,
        pair_index: usize,
        from: usize,
        reply_id: &str,
        subject: &str,
        text: &str,
        at: Timestamp,
    ) -> anyhow::Result<Composed> {
        let program = self.program;
        let pair = &program.pairs[pair_index];
        let role = if from == pair.mentor {
            Role::Mentee
        } else {
            Role::Mentor
        };
        let mut context = Context::for_pair(program, pair, role);
        let mut text: String = text.chars().take(MAX_FORWARDED_TEXT + 1).collect();
        if let Some((cut, _)) = text.char_indices().nth(MAX_FORWARDED_TEXT) {
            text.truncate(cut);
            text.push_str(" […]");
        }
        context.forwarded = Some(ForwardedContext {
            text,
            subject: subject
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(MAX_FORWARDED_SUBJECT)
                .collect(),
        });
        let (id, name, email) = self.role_person(pair, role);
        let reply = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, reply_id.as_bytes());
        let key = DeliveryKey {
            kind: MessageKind::Forwarded,
            pair: Some(pair.id.clone()),
            occurrence: Some(format!("reply-{}", &reply.simple().to_string()[..16])),
            sequence: 0,
            recipient: id,
        };
        let message = self.outgoing(key, mailbox(&name, &email), at, &context)?;
        Ok(Composed {
            kind: MessageKind::Forwarded,
            pair: Some(pair.id.clone()),
            message,
        })
    }
}
