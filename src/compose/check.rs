//! Template overrides checked before they are used: `mentord check` and a reload
//! render one message of every kind, so a broken override is found then, not at
//! send time.

use jiff::Timestamp;

use super::Composer;
use crate::ics::Series;
use crate::program::{Program, Status};
use crate::render::{Context, DigestContext, LinksContext, Role, Templates};
use crate::schedule::{Action, ActionKind, History, Recipient, Subject};
use crate::vocab::MessageKind;

/// Renders one message of every kind for the first active pair (and a digest), so a
/// broken template override is found by `mentord check`, not at send time.
pub(crate) fn check_templates(program: &Program, templates: &Templates) -> anyhow::Result<()> {
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
    let checkin = Subject::Checkin { on: first };
    variants.push((ActionKind::Checkin, Recipient::Mentor, checkin));
    variants.push((ActionKind::Checkin, Recipient::Mentee, checkin));
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
    context.forwarded = Some(crate::render::ForwardedContext {
        text: "Thanks, see you tomorrow!".into(),
        subject: "Re: your meeting".into(),
    });
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
                checkin: vec![link.clone().unwrap_or_default(); 5],
                unsubscribe: link.clone(),
                feed: Some("https://mentoring.example.org/ics/x.ics".to_string()),
                feed_webcal: Some("webcal://mentoring.example.org/ics/x.ics".to_string()),
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
            MessageKind::Checkin,
            MessageKind::Digest,
            MessageKind::Forwarded,
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
