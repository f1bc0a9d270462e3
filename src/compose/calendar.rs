//! Calendar changes as mail: invites and updates (`REQUEST`), a meeting or a series
//! cancelled (`CANCEL`), one copy per attendee, each with its iCalendar object, and
//! the series' identity minted with the store's key.

use anyhow::Context as _;
use jiff::Timestamp;
use jiff::civil::Date;

use super::{Composed, Composer, mailbox};
use crate::ics::{self, Method, Person, Series};
use crate::mail::{Calendar, Outgoing};
use crate::program::Pair;
use crate::reconcile::{Change, Identity};
use crate::render::{Context, Role};
use crate::vocab::token;
use crate::vocab::{DeliveryKey, MessageKind};

impl Composer<'_> {
    /// The series a change sends, as its attendees will know it: a series new to them
    /// gets its identity here, minted with the store's key (`ORGANIZER` addresses of
    /// their own when mentord reads replies).
    pub(crate) fn series<'c>(
        &self,
        change: &'c Change,
    ) -> anyhow::Result<std::borrow::Cow<'c, Series>> {
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
        if matches!(kind, MessageKind::Invite | MessageKind::InviteUpdate) {
            self.feed_links(&id, &mut context.links);
        }
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
        context.met = series
            .zone
            .tz
            .to_ambiguous_timestamp(series.start)
            .compatible()
            .is_ok_and(|first| first < at);
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
