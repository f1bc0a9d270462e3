//! iCalendar for a pair's meeting series: RFC 5545 objects carrying RFC 5546 (iTIP)
//! methods, to be sent by RFC 6047 (iMIP) mail.
//!
//! - One series per pair. A new series' `UID` is keyed with the store's secret (see
//!   `inbound::token::TokenKey::series_uid`: nobody outside can compute it, and every
//!   instance of a store mints the same one); a series keeps the UID it was first sent
//!   with for its life (the store has it), so calendars never see it fork.
//! - `METHOD:REQUEST` for a new or changed series (same UID, `SEQUENCE` raised by the
//!   caller), `METHOD:CANCEL` for the whole series or, with `RECURRENCE-ID`, one meeting.
//! - Times carry `TZID` with a matching `VTIMEZONE` built from the tz database
//!   ([`vtimezone`]); `UNTIL` is in UTC; skip dates the rule would hit are `EXDATE`s.
//! - `ORGANIZER` is the program's sender (Gmail shows RSVP buttons only when it matches
//!   the From address), or, for a personal series, the reply address with a token of the
//!   attendee's own (and the mail's From with it); mentor and mentee are `ATTENDEE`s
//!   with `RSVP=TRUE`.
//!
//! Pure: the caller passes `DTSTAMP` (the send time).

pub mod text;
pub mod vtimezone;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};

use crate::program::{Pair, Program, Zone};
use crate::recurrence::{Rule, Until};
use text::{Lines, quote_param};

const PRODID: &str = "-//mentord//mentord 0.1//EN";

/// What the calendar says about a pair's series; two equal values send the same invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub uid: String,
    pub zone: Zone,
    /// Local start and end of the first meeting (the rule's first date, even if skipped).
    pub start: DateTime,
    pub end: DateTime,
    /// The RRULE with UNTIL in UTC.
    pub rule: Rule,
    /// Local starts of skipped meetings.
    pub exdates: Vec<DateTime>,
    pub organizer: Person,
    /// Each attendee's copy names an `ORGANIZER` address of its own, carrying a token
    /// only that attendee was given (`[mail] reply_to`), so a calendar answer proves who
    /// sent it. Kept as the series was first sent: a series sent with the plain address
    /// keeps it.
    pub personal_organizer: bool,
    pub attendees: [Person; 2],
    pub summary: String,
    pub description: String,
    pub location: Option<String>,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

/// A calendar user: name and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// The iTIP method of a calendar object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Request,
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// The UID series had before UIDs were keyed: a UUIDv5 of the program name and pair id,
/// which anyone could compute. [`Series::of`] describes a series with it; the composer
/// gives a series new to its attendees the keyed one, and a series already sent keeps
/// whatever it was sent with.
pub fn series_uid(program: &Program, pair: &Pair) -> String {
    let name = format!("mentord:{}:{}", program.name, pair.id);
    format!(
        "{}@mentord",
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes())
    )
}

impl Series {
    /// The series of `pair` as the program describes it; `None` for a pair that never meets.
    pub fn of(program: &Program, pair: &Pair) -> Option<Series> {
        let meeting = &pair.meeting;
        let first = meeting.rule.dates(pair.start, pair.start).next()?;
        let start = first.to_datetime(meeting.at);
        // The end from the instant the start resolves to, so a first meeting in a DST gap
        // still lasts its duration; in a fold, where that would end before it starts on
        // the clock, the plain wall-clock sum.
        let end_instant = meeting.start_on(first).checked_add(meeting.duration).ok()?;
        let end = Some(meeting.zone.tz.to_datetime(end_instant))
            .filter(|end| *end > start)
            .or_else(|| start.checked_add(meeting.duration).ok())?;
        let mut rule = meeting.rule.clone();
        match (rule.count, meeting.until) {
            (None, until) => rule.until = until.map(Until::Instant),
            (Some(count), Some(until)) => {
                // COUNT cannot say "but not after the end": when the end comes first,
                // the invite says UNTIL, which is what the schedule does.
                let last = meeting
                    .rule
                    .dates(pair.start, pair.start)
                    .take(count as usize)
                    .last();
                if last.is_some_and(|d| meeting.start_on(d) > until) {
                    rule.count = None;
                    rule.until = Some(Until::Instant(until));
                }
            }
            (Some(_), None) => {}
        }
        let mut skipped: Vec<Date> = program
            .skip
            .iter()
            .copied()
            .chain(pair.cancelled.iter().map(|c| c.date))
            .collect();
        skipped.sort_unstable();
        skipped.dedup();
        let exdates = skipped
            .iter()
            .filter(|&&d| d >= first && meeting.rule.dates(pair.start, d).next() == Some(d))
            .filter(|&&d| meeting.until.is_none_or(|u| meeting.start_on(d) <= u))
            .map(|d| d.to_datetime(meeting.at))
            .collect();
        let person = |i: usize| Person {
            name: program.person(i).name.clone(),
            email: program.person(i).email.clone(),
        };
        let (mentor, mentee) = (person(pair.mentor), person(pair.mentee));
        Some(Series {
            uid: series_uid(program, pair),
            zone: meeting.zone.clone(),
            start,
            end,
            rule,
            exdates,
            organizer: Person {
                name: program.organizer.name.clone(),
                email: program.organizer.email.clone(),
            },
            personal_organizer: false,
            summary: format!("Mentoring: {} & {}", mentor.name, mentee.name),
            description: description(program, pair, &mentor, &mentee),
            attendees: [mentor, mentee],
            location: meeting.location.clone(),
        })
    }

    /// The last year the series touches, for the VTIMEZONE (ten years when open-ended).
    fn years(&self) -> (i16, i16) {
        let first = self.start.year();
        let last = match self.rule.until {
            Some(Until::Instant(t)) => self.zone.tz.to_datetime(t).year(),
            Some(Until::Date(d)) => d.year(),
            None => first.saturating_add(9),
        };
        (first, last.max(first))
    }
}

fn description(program: &Program, pair: &Pair, mentor: &Person, mentee: &Person) -> String {
    let mut text = format!(
        "Mentoring meeting of {} (mentor) and {} (mentee), part of {}.\n",
        mentor.name, mentee.name, program.name
    );
    if !pair.goals.is_empty() {
        text.push_str("\nGoals:\n");
        for goal in &pair.goals {
            text.push_str(&format!("- {goal}\n"));
        }
    }
    text.push_str(&format!(
        "\n{} prepares a short agenda and sends it to {} before each meeting. \
         What you discuss stays between you. If you cannot make it, tell each other at \
         least a day ahead.\n",
        mentee.name, mentor.name
    ));
    text
}

fn local(dt: DateTime) -> String {
    dt.strftime("%Y%m%dT%H%M%S").to_string()
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Renders a calendar object for `series`.
///
/// `occurrence` (a meeting's local date) with [`Method::Cancel`] cancels that meeting
/// only; without it the whole series is requested or cancelled.
pub fn render(
    series: &Series,
    method: Method,
    sequence: u32,
    dtstamp: Timestamp,
    occurrence: Option<Date>,
) -> String {
    let mut lines = Lines::default();
    begin(&mut lines, method.as_str());
    let (from_year, to_year) = series.years();
    vtimezone::write(
        &mut lines,
        &series.zone.name,
        &series.zone.tz,
        from_year,
        to_year,
    );
    let status = match method {
        Method::Cancel => "CANCELLED",
        Method::Request => "CONFIRMED",
    };
    event(
        &mut lines, series, sequence, dtstamp, occurrence, true, status,
    );
    lines.raw("END", "VCALENDAR");
    lines.finish()
}

/// One series in a published calendar: its `SEQUENCE` and `DTSTAMP` as last sent.
#[derive(Debug, Clone, Copy)]
pub struct Published<'a> {
    pub series: &'a Series,
    pub sequence: u32,
    pub dtstamp: Timestamp,
}

/// A calendar feed (`METHOD:PUBLISH`, RFC 5546 §3.2.1): every series in `events` as its
/// invites describe it (the same `UID`, `SEQUENCE`, times, `RRULE` and `EXDATE`s), with
/// one `VTIMEZONE` per zone. A publication names no `ATTENDEE`s, so no client offers
/// to answer it. `name` is the calendar's name in clients (`X-WR-CALNAME`); clients are
/// asked to fetch it again hourly. Same input, same bytes (no clock is read).
pub fn publish(name: &str, events: &[Published<'_>]) -> String {
    let mut lines = Lines::default();
    begin(&mut lines, "PUBLISH");
    lines.text("X-WR-CALNAME", name);
    lines.raw("REFRESH-INTERVAL;VALUE=DURATION", "PT1H");
    lines.raw("X-PUBLISHED-TTL", "PT1H");
    let mut zones: Vec<(&Zone, i16, i16)> = Vec::new();
    for event in events {
        let (from, to) = event.series.years();
        match zones
            .iter_mut()
            .find(|(z, ..)| z.name == event.series.zone.name)
        {
            Some((_, first, last)) => {
                *first = (*first).min(from);
                *last = (*last).max(to);
            }
            None => zones.push((&event.series.zone, from, to)),
        }
    }
    zones.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    for (zone, from, to) in zones {
        vtimezone::write(&mut lines, &zone.name, &zone.tz, from, to);
    }
    for e in events {
        event(
            &mut lines,
            e.series,
            e.sequence,
            e.dtstamp,
            None,
            false,
            "CONFIRMED",
        );
    }
    lines.raw("END", "VCALENDAR");
    lines.finish()
}

fn begin(lines: &mut Lines, method: &str) {
    lines.raw("BEGIN", "VCALENDAR");
    lines.raw("PRODID", PRODID);
    lines.raw("VERSION", "2.0");
    lines.raw("CALSCALE", "GREGORIAN");
    lines.raw("METHOD", method);
}

/// One `VEVENT`: the series, or with `occurrence` that one meeting; `attendees` lists
/// mentor and mentee (an invite asks them to answer; a publication does not).
fn event(
    lines: &mut Lines,
    series: &Series,
    sequence: u32,
    dtstamp: Timestamp,
    occurrence: Option<Date>,
    attendees: bool,
    status: &str,
) {
    lines.raw("BEGIN", "VEVENT");
    lines.raw("UID", &series.uid);
    lines.raw("DTSTAMP", &utc(dtstamp));
    lines.raw("SEQUENCE", &sequence.to_string());
    let tzid = format!(";TZID={}", series.zone.name);
    match occurrence {
        Some(date) => {
            let start = date.to_datetime(series.start.time());
            let length = series.start.until(series.end).ok();
            let end = length
                .and_then(|l| start.checked_add(l).ok())
                .unwrap_or(start);
            lines.raw(&format!("RECURRENCE-ID{tzid}"), &local(start));
            lines.raw(&format!("DTSTART{tzid}"), &local(start));
            lines.raw(&format!("DTEND{tzid}"), &local(end));
        }
        None => {
            lines.raw(&format!("DTSTART{tzid}"), &local(series.start));
            lines.raw(&format!("DTEND{tzid}"), &local(series.end));
            lines.raw("RRULE", &series.rule.to_string());
            if !series.exdates.is_empty() {
                let dates: Vec<String> = series.exdates.iter().map(|d| local(*d)).collect();
                lines.raw(&format!("EXDATE{tzid}"), &dates.join(","));
            }
        }
    }
    lines.text("SUMMARY", &series.summary);
    lines.text("DESCRIPTION", &series.description);
    if let Some(location) = &series.location {
        lines.text("LOCATION", location);
    }
    lines.raw(
        &format!("ORGANIZER;CN={}", quote_param(&series.organizer.name)),
        &format!("mailto:{}", series.organizer.email),
    );
    if attendees {
        let roles = ["REQ-PARTICIPANT", "REQ-PARTICIPANT"];
        for (person, role) in series.attendees.iter().zip(roles) {
            lines.raw(
                &format!(
                    "ATTENDEE;CN={};ROLE={role};PARTSTAT=NEEDS-ACTION;RSVP=TRUE",
                    quote_param(&person.name)
                ),
                &format!("mailto:{}", person.email),
            );
        }
    }
    lines.raw("STATUS", status);
    lines.raw("TRANSP", "OPAQUE");
    lines.raw("END", "VEVENT");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::example;
    use std::path::Path;

    #[test]
    fn uid_is_stable_and_distinct_per_pair() {
        let program = example();
        let a = series_uid(&program, &program.pairs[0]);
        assert_eq!(a, series_uid(&program, &program.pairs[0]));
        assert_ne!(a, series_uid(&program, &program.pairs[1]));
        assert!(a.ends_with("@mentord"));
    }

    #[test]
    fn request_has_every_part_a_client_needs() {
        let program = example();
        let pair = program.pair_by_id("grace-alan").unwrap();
        let series = Series::of(&program, pair).unwrap();
        let stamp: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
        let ics = render(&series, Method::Request, 0, stamp, None);
        let unfolded = ics.replace("\r\n ", "");
        for needle in [
            "METHOD:REQUEST\r\n",
            "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n",
            "DTSTAMP:20270104T080000Z\r\n",
            "SEQUENCE:0\r\n",
            "DTSTART;TZID=Europe/Berlin:20270112T160000\r\n",
            "DTEND;TZID=Europe/Berlin:20270112T164500\r\n",
            "RRULE:FREQ=WEEKLY;INTERVAL=2;UNTIL=20270630T215959Z;BYDAY=TU\r\n",
            "ORGANIZER;CN=\"Mentoring Program\":mailto:mentoring@example.org\r\n",
            "ATTENDEE;CN=\"Grace Hopper\";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:grace@example.org\r\n",
            "STATUS:CONFIRMED\r\n",
        ] {
            assert!(unfolded.contains(needle), "missing {needle:?} in\n{ics}");
        }
        // 2027-04-05 and 2027-05-24 are Mondays, 2027-03-26 a Friday: none is a Tuesday.
        assert!(!ics.contains("EXDATE"));
        assert!(!ics.contains('\n') || ics.split("\r\n").all(|l| !l.contains('\n')));
    }

    fn program(pair_lines: &str, program_lines: &str) -> Program {
        let text = format!(
            "[program]\nname = \"P\"\ntimezone = \"Europe/Berlin\"\nstart = 2027-01-11\n{program_lines}\n\
             coordinator = \"a\"\norganizer = {{ name = \"O\", email = \"o@example.org\" }}\n\
             [people.a]\nname = \"A\"\nemail = \"a@example.org\"\n[people.b]\nname = \"B\"\nemail = \"b@example.org\"\n\
             [[pairs]]\nmentor = \"a\"\nmentee = \"b\"\n{pair_lines}\n"
        );
        crate::program::parse(&text, Path::new(".")).unwrap()
    }

    /// Regression: a COUNT rule kept its COUNT in the invite when the program ended
    /// first, so calendars showed meetings the schedule would never prompt.
    #[test]
    fn count_gives_way_to_an_earlier_end() {
        let p = program(
            "rrule = \"FREQ=WEEKLY;BYDAY=TU;COUNT=20\"",
            "end = 2027-02-10",
        );
        let series = Series::of(&p, &p.pairs[0]).unwrap();
        assert_eq!(
            series.rule.to_string(),
            "FREQ=WEEKLY;UNTIL=20270210T225959Z;BYDAY=TU"
        );
        let p = program(
            "rrule = \"FREQ=WEEKLY;BYDAY=TU;COUNT=3\"",
            "end = 2027-12-31",
        );
        assert_eq!(
            Series::of(&p, &p.pairs[0]).unwrap().rule.to_string(),
            "FREQ=WEEKLY;COUNT=3;BYDAY=TU"
        );
    }

    /// Regression: a first meeting in a DST gap got a DTEND before its DTSTART.
    #[test]
    fn first_meeting_in_a_dst_gap_keeps_its_length() {
        let p = program(
            "every = \"week\"\non = \"sun\"\nat = \"02:30\"\nstart = 2027-03-28",
            "",
        );
        let series = Series::of(&p, &p.pairs[0]).unwrap();
        assert_eq!(series.start.to_string(), "2027-03-28T02:30:00");
        assert_eq!(series.end.to_string(), "2027-03-28T04:15:00");
    }

    /// A feed carries each series once with its invite's UID and SEQUENCE, one
    /// VTIMEZONE per zone, and no attendees to answer.
    #[test]
    fn a_publication_is_the_invites_without_attendees() {
        let program = example();
        let all: Vec<Series> = program
            .pairs
            .iter()
            .filter_map(|p| Series::of(&program, p))
            .collect();
        let stamp: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap();
        let events: Vec<Published> = all
            .iter()
            .map(|series| Published {
                series,
                sequence: 3,
                dtstamp: stamp,
            })
            .collect();
        let ics = publish("Mentoring", &events);
        assert!(ics.contains("METHOD:PUBLISH\r\n"));
        assert!(!ics.contains("ATTENDEE"));
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), all.len());
        assert_eq!(ics.matches("SEQUENCE:3\r\n").count(), all.len());
        for series in &all {
            assert!(ics.contains(&format!("UID:{}\r\n", series.uid)));
        }
        let zones = program.pairs.iter().map(|p| p.meeting.zone.name.clone());
        let distinct: std::collections::BTreeSet<_> = zones.collect();
        assert_eq!(ics.matches("BEGIN:VTIMEZONE").count(), distinct.len());
        assert_eq!(
            ics,
            publish("Mentoring", &events),
            "the same bytes each time"
        );
    }

    #[test]
    fn skip_dates_on_meeting_days_become_exdates() {
        let program = example();
        let pair = program.pair_by_id("frances-dennis").unwrap();
        let series = Series::of(&program, pair).unwrap();
        // Every third Monday from 2027-01-11: 4 Apr is not one, but check the rule's own.
        let skipped: Vec<String> = series.exdates.iter().map(|d| d.to_string()).collect();
        for d in &skipped {
            let date: Date = d[..10].parse().unwrap();
            assert!(program.is_skipped(date));
        }
    }
}
