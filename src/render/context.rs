//! What a template sees: the program, the recipient and the other person of the pair,
//! the meeting (in the recipient's zone, zone named), the review, the digest. Every
//! mail goes to one pair's people (or the coordinator), so a context never holds
//! another pair's names or addresses.

use jiff::Timestamp;
use jiff::civil::Weekday;
use serde::Serialize;

use super::shifts::weekday_name;
pub use crate::program::Role;
use crate::program::{Pair, PersonIndex, Program, Zone};
use crate::recurrence::{Freq, Rule};

#[derive(Debug, Clone, Serialize, Default)]
pub struct Context {
    pub program: ProgramContext,
    pub recipient: PersonContext,
    pub other: Option<PersonContext>,
    pub mentor: Option<PersonContext>,
    pub mentee: Option<PersonContext>,
    pub pair: Option<PairContext>,
    pub goals: Vec<String>,
    pub series: Option<SeriesContext>,
    pub meeting: Option<MeetingContext>,
    pub review: Option<ReviewContext>,
    pub digest: Option<DigestContext>,
    /// Action items the mentee sent after the last meeting (none until replies are read).
    pub action_items: Vec<String>,
    /// The agenda the mentee sent for this meeting, if any.
    pub agenda: Option<String>,
    /// A reply of the other person, passed on: its new text and subject.
    pub forwarded: Option<ForwardedContext>,
    /// Who can't make the meeting a cancel is about (a declined meeting, "can't make
    /// it"), by name; `None` for a skip date in the file.
    pub cancelled_by: Option<String>,
    /// Whether mentord reads replies (`[mail] reply_to` or `[inbound]`): prompts then say
    /// to reply above a line.
    pub replies: bool,
    /// Whether the pair's first meeting was due before this mail (a series cancel thanks
    /// for the time given only then).
    pub met: bool,
    /// Action links (with `[http] public_url`), each signed for this recipient.
    pub links: LinksContext,
}

/// The action links a mail may carry (docs/serving.md); each `None` where it does not apply.
#[derive(Debug, Clone, Serialize, Default)]
pub struct LinksContext {
    pub cant_make_it: Option<String>,
    pub agenda: Option<String>,
    pub action_items: Option<String>,
    pub review_done: Option<String>,
    /// A check-in's answers, scores 1 (very badly) to 5 (very well) in order; empty
    /// without links.
    pub checkin: Vec<String>,
    pub unsubscribe: Option<String>,
    /// The recipient's calendar feed (SPEC §9), in invites and agenda prompts: its
    /// `https://` address, and its `webcal://` form that calendar apps subscribe to.
    pub feed: Option<String>,
    pub feed_webcal: Option<String>,
}

/// A reply passed on to the other person of the pair (SPEC §5 "No dead ends").
#[derive(Debug, Clone, Serialize, Default)]
pub struct ForwardedContext {
    /// Its new text (quoted mail and signatures removed), bounded.
    pub text: String,
    /// Its subject, on one line, bounded.
    pub subject: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ProgramContext {
    pub name: String,
    pub organizer: String,
    pub coordinator: String,
    /// The coordinator's address: every nudge says how to reach them.
    pub coordinator_email: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct PersonContext {
    pub id: String,
    pub name: String,
    pub email: String,
    /// `mentor`, `mentee` or `coordinator`.
    pub role: String,
    pub zone: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct PairContext {
    pub id: String,
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct SeriesContext {
    /// "every 2 weeks on Tuesday at 16:00 (Europe/Berlin)", in the meeting's zone.
    pub cadence: String,
    /// When the recipient lives in another zone: "Tuesday 10:00 your time
    /// (America/New_York)", from the meeting in the mail.
    pub local: Option<String>,
    /// What the clocks do to `local` over the series (at most a year), from the two
    /// zones' rules.
    pub changes: Option<super::shifts::ClockChanges>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct MeetingContext {
    /// "Tue 12 Jan 2027, 10:00", in the recipient's zone.
    pub when: String,
    /// "Tue 12 Jan, 10:00 EST": for subjects, with the zone's abbreviation.
    pub when_short: String,
    pub date: String,
    pub time: String,
    /// The recipient's zone, which `when`, `date` and `time` are in.
    pub zone: String,
    pub duration: String,
    pub location: Option<String>,
    pub first: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ReviewContext {
    pub due: String,
    pub nudge: u8,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct DigestContext {
    /// The digest's day, in the coordinator's zone.
    pub date: String,
    pub active: usize,
    pub paused: usize,
    pub overdue: Vec<OverdueReview>,
    pub failures: Vec<String>,
    /// Set while the SMTP circuit breaker holds mail back.
    pub sending_paused: Option<String>,
    /// Set while the relay's daily budget (`rate = "…/day"`) holds mail back.
    pub sending_held: Option<String>,
    /// What came back, without anything a pair wrote: series declined, addresses that
    /// bounce, mail set aside (sender and subject), meetings cancelled late.
    pub declined_series: Vec<String>,
    pub bounces: Vec<String>,
    pub set_aside: Vec<String>,
    pub late_cancellations: Vec<String>,
    /// The pairs that need the coordinator, new ones first (at most
    /// [`DIGEST_ITEMS`]), and how many more there are.
    pub exceptions: Vec<ExceptionItem>,
    pub more: usize,
    /// Nothing at all needs the coordinator this week: the digest is one line.
    pub quiet: bool,
}

/// The most pairs one digest lists; the rest are counted and on the page.
pub const DIGEST_ITEMS: usize = 10;

/// A pair in the digest: who, why, and the coordinator's one-click answers.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ExceptionItem {
    pub pair: String,
    pub mentor: String,
    pub mentee: String,
    /// `watch` or `at risk`.
    pub level: String,
    pub reasons: Vec<String>,
    pub new: bool,
    pub nudge: Option<String>,
    pub snooze: Option<String>,
    pub handled: Option<String>,
    /// Where the review is what is wrong.
    pub review_held: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct OverdueReview {
    pub pair: String,
    pub mentor: String,
    pub mentee: String,
    pub due: String,
}

fn person(program: &Program, index: PersonIndex, role: &str) -> PersonContext {
    let p = program.person(index);
    PersonContext {
        id: p.id.clone(),
        name: p.name.clone(),
        email: p.email.clone(),
        role: role.to_string(),
        zone: p.zone.name.to_string(),
    }
}

fn program_context(program: &Program) -> ProgramContext {
    ProgramContext {
        name: program.name.clone(),
        organizer: program.organizer.name.clone(),
        coordinator: program.person(program.coordinator).name.clone(),
        coordinator_email: program.person(program.coordinator).email.clone(),
    }
}

impl Context {
    /// A mail about `pair` to its mentor, its mentee or the coordinator.
    pub fn for_pair(program: &Program, pair: &Pair, role: Role) -> Context {
        let mentor = person(program, pair.mentor, "mentor");
        let mentee = person(program, pair.mentee, "mentee");
        let (recipient, other) = match role {
            Role::Mentor => (mentor.clone(), Some(mentee.clone())),
            Role::Mentee => (mentee.clone(), Some(mentor.clone())),
            Role::Coordinator => (person(program, program.coordinator, "coordinator"), None),
        };
        Context {
            program: program_context(program),
            recipient,
            other,
            mentor: Some(mentor),
            mentee: Some(mentee),
            pair: Some(PairContext {
                id: pair.id.clone(),
                kind: pair.kind.clone(),
            }),
            goals: pair.goals.clone(),
            series: Some(SeriesContext {
                cadence: cadence_text(
                    &pair.meeting.rule,
                    pair.meeting.at,
                    &pair.meeting.zone,
                    pair.meeting.first.map(|d| d.weekday()),
                ),
                local: None,
                changes: None,
            }),
            replies: program.reply_to.is_some() || program.inbound.is_some(),
            ..Context::default()
        }
    }

    /// A mail to the coordinator about the whole program.
    pub fn for_coordinator(program: &Program) -> Context {
        Context {
            program: program_context(program),
            recipient: person(program, program.coordinator, "coordinator"),
            ..Context::default()
        }
    }

    /// Adds the meeting starting at `start`, shown in the recipient's zone.
    pub fn with_meeting(
        mut self,
        program: &Program,
        pair: &Pair,
        start: Timestamp,
        first: bool,
    ) -> Context {
        let zone = recipient_zone(program, pair, &self.recipient);
        let local = start.to_zoned_datetime(zone.tz.clone());
        if let Some(series) = &mut self.series
            && zone.name != pair.meeting.zone.name
        {
            // Said of the meeting in this mail, and what the two zones' clocks do to it
            // over the series (at most a year).
            let zones = super::shifts::Zones {
                meeting: &pair.meeting.zone.tz,
                meeting_name: &pair.meeting.zone.name,
                recipient: &zone.tz,
            };
            series.local = Some(format!(
                "{} {} your time ({})",
                weekday_name(local.weekday()),
                local.strftime("%H:%M"),
                zone.name,
            ));
            series.changes = super::shifts::changes(&zones, start, pair.meeting.until);
        }
        let minutes = pair.meeting.duration.as_mins();
        self.meeting = Some(MeetingContext {
            when: local.strftime("%a %-d %b %Y, %H:%M").to_string(),
            when_short: local.strftime("%a %-d %b, %H:%M (%Q)").to_string(),
            date: local.strftime("%a %-d %b %Y").to_string(),
            time: local.strftime("%H:%M").to_string(),
            zone: zone.name.to_string(),
            duration: match minutes {
                m if m % 60 == 0 && m >= 60 => {
                    format!("{} hour{}", m / 60, if m == 60 { "" } else { "s" })
                }
                m => format!("{m} minutes"),
            },
            location: pair.meeting.location.clone(),
            first,
        });
        self
    }

    pub fn with_review(mut self, due: jiff::civil::Date, nudge: u8) -> Context {
        self.review = Some(ReviewContext {
            due: due.strftime("%a %-d %b %Y").to_string(),
            nudge,
        });
        self
    }

    pub fn with_digest(mut self, digest: DigestContext) -> Context {
        self.digest = Some(digest);
        self
    }
}

/// The recipient's zone: one of the pair's people or the coordinator, looked at first
/// (a search of every person for every mail made a first start of 50,000 pairs
/// quadratic).
fn recipient_zone<'p>(program: &'p Program, pair: &Pair, recipient: &PersonContext) -> &'p Zone {
    [pair.mentor, pair.mentee, program.coordinator]
        .into_iter()
        .map(|i| program.person(i))
        .chain(&program.people)
        .find(|p| p.id == recipient.id)
        .map_or(&program.zone, |p| &p.zone)
}

fn ordinal(n: i8) -> String {
    match n {
        -1 => "last".into(),
        -2 => "second-last".into(),
        1 => "1st".into(),
        2 => "2nd".into(),
        3 => "3rd".into(),
        n => format!("{n}th"),
    }
}

/// A cadence in words, with the meeting's time and zone: "every 2 weeks on Tuesday at
/// 16:00 (Europe/Berlin)". Rules beyond words fall back to their RRULE text.
/// `first_day` names the weekday of a weekly rule that leaves it to the start date.
pub fn cadence_text(
    rule: &Rule,
    at: jiff::civil::Time,
    zone: &Zone,
    first_day: Option<Weekday>,
) -> String {
    let every = |unit: &str| match rule.interval {
        1 => format!("every {unit}"),
        n => format!("every {n} {unit}s"),
    };
    let days = |with_nth: bool| -> Option<String> {
        let names: Vec<String> = rule
            .by_day
            .iter()
            .map(|d| match (with_nth, d.nth) {
                (true, n) if n != 0 => format!("the {} {}", ordinal(n), weekday_name(d.weekday)),
                _ => weekday_name(d.weekday).to_string(),
            })
            .collect();
        (!names.is_empty()).then(|| names.join(" and "))
    };
    let simple = rule.by_month.is_empty() && rule.count.is_none();
    let words = match rule.freq {
        Freq::Daily if simple && rule.by_day.is_empty() && rule.by_month_day.is_empty() => {
            Some(every("day"))
        }
        Freq::Weekly if simple => Some(match (days(false), first_day) {
            (Some(d), _) => format!("{} on {d}", every("week")),
            (None, Some(day)) => format!("{} on {}", every("week"), weekday_name(day)),
            (None, None) => every("week"),
        }),
        Freq::Monthly if simple && rule.by_month_day.is_empty() => {
            days(true).map(|d| format!("{} on {d}", every("month")))
        }
        Freq::Monthly if simple && rule.by_day.is_empty() => {
            let dates: Vec<String> = rule
                .by_month_day
                .iter()
                .map(|&d| {
                    if d == -1 {
                        "the last day".into()
                    } else {
                        format!("day {d}")
                    }
                })
                .collect();
            Some(format!("{} on {}", every("month"), dates.join(" and ")))
        }
        _ => None,
    };
    let words = words.unwrap_or_else(|| format!("on the schedule {rule}"));
    format!("{words} at {} ({})", at.strftime("%H:%M"), zone.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrence::parse_rrule;

    #[test]
    fn cadences_in_words() {
        let zone = Zone {
            name: "Europe/Berlin".into(),
            tz: jiff::tz::TimeZone::get("Europe/Berlin").unwrap(),
        };
        let at = jiff::civil::Time::constant(16, 0, 0, 0);
        let cases = [
            (
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
                "every 2 weeks on Tuesday at 16:00 (Europe/Berlin)",
            ),
            (
                "FREQ=WEEKLY;BYDAY=MO,TH",
                "every week on Monday and Thursday at 16:00 (Europe/Berlin)",
            ),
            (
                "FREQ=DAILY;INTERVAL=3",
                "every 3 days at 16:00 (Europe/Berlin)",
            ),
            (
                "FREQ=MONTHLY;BYDAY=2WE",
                "every month on the 2nd Wednesday at 16:00 (Europe/Berlin)",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=-1",
                "every month on the last day at 16:00 (Europe/Berlin)",
            ),
            (
                "FREQ=YEARLY;BYMONTH=3",
                "on the schedule FREQ=YEARLY;BYMONTH=3 at 16:00 (Europe/Berlin)",
            ),
        ];
        for (rule, want) in cases {
            assert_eq!(
                cadence_text(&parse_rrule(rule).unwrap(), at, &zone, None),
                want
            );
        }
    }
}
