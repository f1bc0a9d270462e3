//! From what is due to the messages that say it: one [`Outgoing`] per recipient, with
//! its delivery key, deterministic `Message-ID`, rendered body and, for calendar
//! changes, the iCalendar object.
//!
//! Shared by `simulate` and the daemon, so a simulation shows exactly what would be sent.

use anyhow::Context as _;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::ics::{self, Method, Person, Series};
use crate::mail::{Calendar, Outgoing, ReplyTo, Unsubscribe};
use crate::program::{Mailbox, Pair, Program, Status};
use crate::reconcile::{Change, Identity};
use crate::render::{Context, DigestContext, LinksContext, OverdueReview, Role, Templates};
use crate::schedule::{self, Action, ActionKind, History, Recipient, Subject};
use crate::vocab::links::{self, Action as LinkAction, Claim, Signer};
use crate::vocab::token::{self, TokenKey};
use crate::vocab::{DeliveryKey, MessageKind};

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
}

/// Kinds whose replies mentord reads (SPEC §2: prompts, follow-ups and nudges), so they
/// carry a Reply-To with a token.
fn takes_replies(kind: MessageKind) -> bool {
    matches!(
        kind,
        MessageKind::AgendaPrompt | MessageKind::Followup | MessageKind::ReviewNudge
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
        }
    }

    /// Action links (with `[http] public_url`) signed with `links`.
    pub fn with_links(mut self, links: Option<&'p Signer>) -> Self {
        self.links = links;
        self
    }

    /// The links of a mail of `kind` to `person` about `pair` (and `subject`: a
    /// meeting's start, a review's due date), sent at `at`.
    fn links_for(
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
            }
            MessageKind::MentorReminder => out.cant_make_it = link(LinkAction::CantMakeIt, meeting),
            MessageKind::Followup => out.action_items = link(LinkAction::ActionItems, None),
            MessageKind::ReviewNudge => out.review_done = link(LinkAction::ReviewDone, None),
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

    /// Message-IDs, series UIDs and reply addresses keyed with `tokens`, the store's key.
    pub fn with_tokens(mut self, tokens: &'p TokenKey) -> Self {
        self.tokens = tokens;
        self
    }

    /// The series a change sends, as its attendees will know it: a series new to them
    /// gets its identity here, minted with the store's key (`ORGANIZER` addresses of
    /// their own when mentord reads replies).
    pub fn series<'c>(&self, change: &'c Change) -> anyhow::Result<std::borrow::Cow<'c, Series>> {
        let mut series = change
            .series(self.program)
            .context("a series without meetings")?;
        if let Change::Invite {
            pair,
            identity: None,
            ..
        } = change
        {
            let pair = &self.program.pairs[*pair];
            Identity {
                uid: self.tokens.series_uid(&self.program.name, &pair.id),
                personal_organizer: self.program.reply_to.is_some(),
            }
            .apply(series.to_mut());
        }
        Ok(series)
    }

    /// The `ORGANIZER` of `person`'s own copy of `series`: the program's address, or,
    /// for a personal series, the reply address with the token only they were given.
    fn organizer_for(&self, series: &Series, person: &str) -> Option<(Person, String)> {
        let pattern = self
            .program
            .reply_to
            .as_deref()
            .filter(|_| series.personal_organizer)?;
        let token = self.tokens.organizer_token(&series.uid, person);
        let person = Person {
            name: series.organizer.name.clone(),
            email: token::address(pattern, &token),
        };
        Some((person, token))
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
            Subject::Digest => action.at.to_string(),
        };
        let (id, name, email) = self.role_person(pair, role);
        let meeting = match action.subject {
            Subject::Meeting { start, .. } => Some(start),
            _ => None,
        };
        let subject = match action.subject {
            Subject::Review { due, .. } => due.to_string(),
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
    pub fn agenda(
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

    /// The coordinator's digest as of `at`: pair counts and reviews overdue (due more
    /// than two graces ago and not held since).
    fn digest(&self, at: Timestamp, history: &History) -> anyhow::Result<Composed> {
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

    /// The calendar messages of one change, one per attendee, sent at `at`.
    pub fn change(&self, change: &Change, at: Timestamp) -> anyhow::Result<Vec<Composed>> {
        let program = self.program;
        let mut out = Vec::new();
        match change {
            Change::Invite { pair, sequence, .. } | Change::Update { pair, sequence, .. } => {
                let series = self.series(change)?;
                let series = series.as_ref();
                let kind = match change {
                    Change::Invite { .. } => MessageKind::Invite,
                    _ => MessageKind::InviteUpdate,
                };
                let pair = &program.pairs[*pair];
                let ics = ics::render(series, Method::Request, *sequence, at, None);
                for role in [Role::Mentor, Role::Mentee] {
                    out.push(self.calendar_message(
                        kind,
                        pair,
                        role,
                        series,
                        Method::Request,
                        *sequence,
                        &ics,
                        at,
                        None,
                    )?);
                }
                if let Change::Update {
                    removed, previous, ..
                } = change
                {
                    // The cancel is of the series as they had it: it lists them.
                    let cancel = ics::render(previous, Method::Cancel, *sequence, at, None);
                    for (role, person) in removed {
                        out.push(self.cancel_to_old_address(
                            pair, *role, previous, *sequence, &cancel, person, at,
                        )?);
                    }
                }
            }
            Change::CancelOccurrence {
                pair,
                series,
                sequence,
                date,
            } => {
                let pair = &program.pairs[*pair];
                let ics = ics::render(series, Method::Cancel, *sequence, at, Some(*date));
                for role in [Role::Mentor, Role::Mentee] {
                    out.push(self.calendar_message(
                        MessageKind::OccurrenceCancel,
                        pair,
                        role,
                        series,
                        Method::Cancel,
                        *sequence,
                        &ics,
                        at,
                        Some(*date),
                    )?);
                }
            }
            Change::Cancel {
                pair_id,
                series,
                sequence,
            } => {
                let ics = ics::render(series, Method::Cancel, *sequence, at, None);
                for (i, person) in series.attendees.iter().enumerate() {
                    let other = &series.attendees[1 - i];
                    let mut context = match program.pair_by_id(pair_id) {
                        Some(pair) => Context::for_pair(
                            program,
                            pair,
                            if i == 0 { Role::Mentor } else { Role::Mentee },
                        ),
                        None => Context::for_coordinator(program),
                    };
                    context.other = Some(crate::render::PersonContext {
                        name: other.name.clone(),
                        email: other.email.clone(),
                        ..Default::default()
                    });
                    out.push(
                        self.cancel_message(pair_id, context, person, series, *sequence, &ics, at)?,
                    );
                }
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn calendar_message(
        &self,
        kind: MessageKind,
        pair: &Pair,
        role: Role,
        series: &Series,
        method: Method,
        sequence: u32,
        ics: &str,
        at: Timestamp,
        occurrence: Option<Date>,
    ) -> anyhow::Result<Composed> {
        let program = self.program;
        let (id, name, email) = self.role_person(pair, role);
        // The cancelled meeting, or the next one from now for a (re-)sent series.
        let (start, first) = match occurrence {
            Some(date) => (pair.meeting.start_on(date), false),
            None => crate::schedule::meetings(program, pair, at, Timestamp::MAX)
                .next()
                .map_or((at, false), |(date, start)| {
                    (start, Some(date) == pair.meeting.first)
                }),
        };
        let mut context =
            Context::for_pair(program, pair, role).with_meeting(program, pair, start, first);
        if kind == MessageKind::OccurrenceCancel {
            context.cancelled_by = occurrence
                .and_then(|date| pair.cancelled_by(date))
                .map(|person| program.person(person).name.clone());
        }
        let key = DeliveryKey {
            kind,
            pair: Some(pair.id.clone()),
            occurrence: occurrence.map(|d| d.to_string()),
            sequence,
            recipient: id,
        };
        let mut message = self.outgoing(key, mailbox(&name, &email), at, &context)?;
        self.attach_calendar(&mut message, series, method, sequence, ics, occurrence);
        Ok(Composed {
            kind,
            pair: Some(pair.id.clone()),
            message,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn cancel_to_old_address(
        &self,
        pair: &Pair,
        role: Role,
        series: &Series,
        sequence: u32,
        ics: &str,
        person: &Person,
        at: Timestamp,
    ) -> anyhow::Result<Composed> {
        let context = Context::for_pair(self.program, pair, role);
        self.cancel_message(&pair.id, context, person, series, sequence, ics, at)
    }

    /// A whole-series cancel to one person, greeted by the name they had in it.
    #[allow(clippy::too_many_arguments)]
    fn cancel_message(
        &self,
        pair_id: &str,
        mut context: Context,
        person: &Person,
        series: &Series,
        sequence: u32,
        ics: &str,
        at: Timestamp,
    ) -> anyhow::Result<Composed> {
        context.recipient.name = person.name.clone();
        context.recipient.email = person.email.clone();
        let key = DeliveryKey {
            kind: MessageKind::InviteCancel,
            pair: Some(pair_id.to_string()),
            occurrence: None,
            sequence,
            recipient: person.email.clone(),
        };
        let to = mailbox(&person.name, &person.email);
        let mut message = self.outgoing(key, to, at, &context)?;
        self.attach_calendar(&mut message, series, Method::Cancel, sequence, ics, None);
        Ok(Composed {
            kind: MessageKind::InviteCancel,
            pair: Some(pair_id.to_string()),
            message,
        })
    }
}

impl Composer<'_> {
    /// The calendar part of the recipient's copy: `shared` (rendered once for both
    /// attendees), or, for a personal series, the object naming the `ORGANIZER` address
    /// only this recipient was given, which is then also the mail's `From` (Gmail shows
    /// its answer buttons only when the two agree).
    fn attach_calendar(
        &self,
        message: &mut Outgoing,
        series: &Series,
        method: Method,
        sequence: u32,
        shared: &str,
        occurrence: Option<Date>,
    ) {
        let recipient = message.to.email.to_lowercase();
        let (ics, organizer_token) = match self.organizer_for(series, &recipient) {
            Some((organizer, token)) => {
                message.from = mailbox(&organizer.name, &organizer.email);
                let own = Series {
                    organizer,
                    ..series.clone()
                };
                (
                    ics::render(&own, method, sequence, message.date, occurrence),
                    Some(token),
                )
            }
            None => (shared.to_string(), None),
        };
        message.calendar = Some(Calendar {
            method,
            uid: series.uid.clone(),
            sequence,
            ics,
            organizer_token,
        });
    }
}

/// Renders one message of every kind for the first active pair (and a digest), so a
/// broken template override is found by `mentord check`, not at send time.
pub fn check_templates(program: &Program, templates: &Templates) -> anyhow::Result<()> {
    use crate::reconcile::Change;
    let composer = Composer::new(program, templates);
    let history = History::default();
    let at = program
        .zone
        .tz
        .to_ambiguous_timestamp(program.start.to_datetime(jiff::civil::Time::midnight()))
        .compatible()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    composer.action(
        &Action {
            at,
            kind: ActionKind::Digest,
            pair: None,
            to: Recipient::Coordinator,
            subject: Subject::Digest,
        },
        &history,
    )?;
    let Some((index, pair, series)) = program.pairs.iter().enumerate().find_map(|(i, p)| {
        (p.status == Status::Active)
            .then(|| Series::of(program, p))
            .flatten()
            .map(|s| (i, p, s))
    }) else {
        return Ok(());
    };
    let Some(first) = pair.meeting.first else {
        return Ok(());
    };
    let start = pair.meeting.start_on(first);
    let changes = [
        Change::Invite {
            pair: index,
            sequence: 0,
            identity: None,
        },
        Change::Update {
            pair: index,
            series: series.clone(),
            sequence: 1,
            removed: vec![(Role::Mentor, series.attendees[0].clone())],
            previous: Box::new(series.clone()),
        },
        Change::CancelOccurrence {
            pair: index,
            series: series.clone(),
            sequence: 2,
            date: first,
        },
        Change::Cancel {
            pair_id: pair.id.clone(),
            series,
            sequence: 3,
        },
    ];
    for change in &changes {
        composer.change(change, start)?;
    }
    // Every branch a template is likely to have: first meeting or not, each nudge.
    let mut variants = Vec::new();
    for first in [true, false] {
        let meeting = Subject::Meeting { start, first };
        variants.push((ActionKind::AgendaPrompt, Recipient::Mentee, meeting));
        variants.push((ActionKind::MentorReminder, Recipient::Mentor, meeting));
        variants.push((ActionKind::Followup, Recipient::Mentee, meeting));
    }
    for nudge in [1, 2] {
        let review = Subject::Review { due: first, nudge };
        variants.push((ActionKind::ReviewNudge, Recipient::Mentor, review));
        variants.push((ActionKind::ReviewNudge, Recipient::Mentee, review));
    }
    let escalation = Subject::Review {
        due: first,
        nudge: 3,
    };
    variants.push((
        ActionKind::ReviewEscalation,
        Recipient::Coordinator,
        escalation,
    ));
    for (kind, to, subject) in variants {
        let action = Action {
            at: start,
            kind,
            pair: Some(index as u32),
            to,
            subject,
        };
        composer.action(&action, &history)?;
    }
    // With an agenda and action items from the mentee (once replies are read).
    let mut context =
        Context::for_pair(program, pair, Role::Mentee).with_meeting(program, pair, start, false);
    context.agenda = Some("1. Progress\n2. A decision".into());
    context.action_items = vec!["Draft the design doc".into()];
    context.cancelled_by = Some(context.recipient.name.clone());
    let link = Some("https://mentoring.example.org/a/x".to_string());
    for (replies, links) in [
        (false, LinksContext::default()),
        (
            true,
            LinksContext {
                cant_make_it: link.clone(),
                agenda: link.clone(),
                action_items: link.clone(),
                review_done: link.clone(),
                unsubscribe: link.clone(),
            },
        ),
    ] {
        context.replies = replies;
        context.links = links;
        for kind in [
            MessageKind::AgendaPrompt,
            MessageKind::MentorReminder,
            MessageKind::Agenda,
            MessageKind::Followup,
            MessageKind::OccurrenceCancel,
            MessageKind::ReviewNudge,
            MessageKind::Digest,
        ] {
            if kind == MessageKind::ReviewNudge {
                let review = context.clone().with_review(first, 1);
                templates.render(kind, &review)?;
            } else if kind == MessageKind::Digest {
                let digest = context.clone().with_digest(DigestContext::default());
                templates.render(kind, &digest)?;
            } else {
                templates.render(kind, &context)?;
            }
        }
    }
    // A meeting the other one can't make.
    if let Some(other) = &context.other {
        context.cancelled_by = Some(other.name.clone());
        templates.render(MessageKind::OccurrenceCancel, &context)?;
    }
    Ok(())
}
