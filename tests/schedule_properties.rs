//! Property tests of the schedule engine over random zones, dates, cadences and times.
//!
//! The oracle is independent code: the `rrule` crate (its own RFC 5545 expansion) on
//! `chrono-tz` (its own copy of the tz database). Programs are written as TOML text and
//! go through the real loader, so these tests cover the file format too.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime, TimeZone as _};
use jiff::Timestamp;
use jiff::civil::Date;
use mentord::program::{self, Program};
use mentord::recurrence::Until;
use mentord::schedule::{self, ActionKind, History, Subject, Window};
use proptest::prelude::*;

/// Zones with DST in both hemispheres, half- and quarter-hour offsets, a 30-minute DST
/// shift (Lord Howe) and none at all. All keep midnight in existence, which the oracle
/// needs.
const ZONES: &[&str] = &[
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Africa/Johannesburg",
    "UTC",
];

const DAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Debug, Clone)]
enum Cadence {
    Days(u32),
    Weeks(u32, Vec<usize>),
    MonthsNth(u32, i8, usize),
    MonthsDay(u32, i8),
    Rrule(&'static str),
}

/// RRULEs beyond the friendly cadences, expanded by both engines.
const RRULES: &[&str] = &[
    "FREQ=YEARLY;BYDAY=MO",
    "FREQ=YEARLY;BYMONTHDAY=15",
    "FREQ=YEARLY;BYMONTH=3,9;BYDAY=2TU",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR,1MO",
    "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYDAY=1WE",
    "FREQ=DAILY;BYDAY=MO,WE,FR",
    "FREQ=DAILY;INTERVAL=4;BYMONTH=6,7,8",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU",
    "FREQ=WEEKLY;BYDAY=SA;COUNT=10",
    "FREQ=MONTHLY;BYMONTHDAY=-1,15",
];

impl Cadence {
    fn toml(&self) -> String {
        match self {
            Cadence::Days(n) => format!("every = \"{n} days\""),
            Cadence::Weeks(n, days) => {
                let on: Vec<&str> = days.iter().map(|&d| DAYS[d]).collect();
                format!("every = \"{n} weeks\"\non = \"{}\"", on.join(","))
            }
            Cadence::MonthsNth(n, nth, day) => {
                let nth = match nth {
                    -1 => "last".to_string(),
                    1 => "1st".into(),
                    2 => "2nd".into(),
                    3 => "3rd".into(),
                    n => format!("{n}th"),
                };
                format!("every = \"{n} months\"\non = \"{nth} {}\"", DAYS[*day])
            }
            Cadence::Rrule(rule) => format!("rrule = \"{rule}\""),
            Cadence::MonthsDay(n, day) => {
                let on = if *day == -1 {
                    "last day".to_string()
                } else {
                    day.to_string()
                };
                format!("every = \"{n} months\"\non = \"{on}\"")
            }
        }
    }
}

fn cadence() -> impl Strategy<Value = Cadence> {
    prop_oneof![
        (1u32..10).prop_map(Cadence::Days),
        (
            1u32..5,
            proptest::sample::subsequence((0..7).collect::<Vec<_>>(), 1..4)
        )
            .prop_map(|(n, d)| Cadence::Weeks(n, d)),
        (
            1u32..4,
            prop_oneof![Just(1i8), Just(2), Just(3), Just(4), Just(-1)],
            0usize..7
        )
            .prop_map(|(n, nth, d)| Cadence::MonthsNth(n, nth, d)),
        (1u32..4, prop_oneof![1i8..32, Just(-1)]).prop_map(|(n, d)| Cadence::MonthsDay(n, d)),
        proptest::sample::select(RRULES).prop_map(Cadence::Rrule),
    ]
}

/// Early-morning hours are over-represented: that is where DST changes happen.
fn time_of_day() -> impl Strategy<Value = (i8, i8)> {
    (
        prop_oneof![0i8..24, 0i8..4],
        prop_oneof![Just(0i8), Just(15), Just(30), Just(45)],
    )
}

fn date_from(days: i64) -> Date {
    jiff::civil::date(2020, 1, 1)
        .checked_add(jiff::Span::new().days(days))
        .unwrap()
}

#[derive(Debug, Clone)]
struct Case {
    zone: &'static str,
    start: Date,
    end: Option<Date>,
    cadence: Cadence,
    at: (i8, i8),
    skip: Vec<Date>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::sample::select(ZONES),
        0i64..(15 * 365),
        proptest::option::of(20i64..900),
        cadence(),
        time_of_day(),
        proptest::collection::vec(0i64..400, 0..6),
    )
        .prop_map(|(zone, start, end, cadence, at, skip)| {
            let start = date_from(start);
            let add = |d: i64| start.checked_add(jiff::Span::new().days(d)).unwrap();
            Case {
                zone,
                start,
                end: end.map(add),
                cadence,
                at,
                skip: skip.into_iter().map(add).collect(),
            }
        })
}

fn program_text(case: &Case) -> String {
    let skip: Vec<String> = case.skip.iter().map(Date::to_string).collect();
    let end = case.end.map(|e| format!("end = {e}\n")).unwrap_or_default();
    format!(
        r#"[program]
name = "Property"
timezone = "{zone}"
start = {start}
{end}coordinator = "ada"
organizer = {{ name = "P", email = "p@example.org" }}
skip = [{skip}]

[people.ada]
name = "Ada"
email = "ada@example.org"

[people.bob]
name = "Bob"
email = "bob@example.org"

[[pairs]]
mentor = "ada"
mentee = "bob"
{cadence}
at = "{h:02}:{m:02}"
"#,
        zone = case.zone,
        start = case.start,
        skip = skip.join(", "),
        cadence = case.cadence.toml(),
        h = case.at.0,
        m = case.at.1,
    )
}

fn load(text: &str) -> Result<Program, TestCaseError> {
    program::parse(text, Path::new(".")).map_err(|d| {
        // A generated series may have no meeting in its dates; the loader rightly refuses it.
        if d.len() == 1 && d[0].message.contains("never meets") {
            TestCaseError::reject("series without meetings")
        } else {
            TestCaseError::fail(format!("{d:?}\n{text}"))
        }
    })
}

fn to_chrono(t: Timestamp) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.as_second(), 0).unwrap()
}

/// The oracle: the same series expanded by the `rrule` crate in `chrono-tz`.
fn oracle(program: &Program, from: Timestamp, until: Timestamp) -> Vec<i64> {
    let pair = &program.pairs[0];
    let meeting = &pair.meeting;
    // The `rrule` crate refuses a DTSTART inside a DST gap or fold, so it starts at the
    // first date whose wall-clock time is unique; earlier ones are checked by the caller.
    let chrono_zone: chrono_tz::Tz = meeting.zone.name.parse().unwrap();
    let exists = |d: Date| {
        let naive = NaiveDate::from_ymd_opt(i32::from(d.year()), d.month() as u32, d.day() as u32)
            .unwrap()
            .and_hms_opt(meeting.at.hour() as u32, meeting.at.minute() as u32, 0)
            .unwrap();
        matches!(
            chrono_zone.from_local_datetime(&naive),
            chrono::LocalResult::Single(_)
        )
    };
    let Some(first) = meeting
        .rule
        .dates(pair.start, pair.start)
        .take(50)
        .find(|&d| exists(d))
    else {
        return Vec::new();
    };
    let from = from.max(meeting.start_on(first));
    if meeting.until.is_some_and(|u| u < from) {
        // Every meeting before the end was on a DST change day: nothing to compare.
        return Vec::new();
    }
    let mut rule = meeting.rule.clone();
    // The oracle's RRULE cannot say "COUNT, but no later than the end": with COUNT its
    // results are cut at the end below instead.
    if rule.count.is_none() {
        rule.until = meeting.until.map(Until::Instant);
    }
    let until = meeting.until.map_or(until, |u| {
        until.min(u.checked_add(jiff::SignedDuration::from_secs(1)).unwrap())
    });
    let text = format!(
        "DTSTART;TZID={}:{}T{}\nRRULE:{}",
        meeting.zone.name,
        first.strftime("%Y%m%d"),
        meeting.at.strftime("%H%M%S"),
        rule
    );
    let set: rrule::RRuleSet = text.parse().unwrap_or_else(|e| panic!("{e}: {text}"));
    let tz: chrono_tz::Tz = meeting.zone.name.parse().unwrap();
    let tz = rrule::Tz::Tz(tz);
    let after = to_chrono(from).with_timezone(&tz) - chrono::Duration::seconds(1);
    let before = to_chrono(until).with_timezone(&tz);
    let result = set.after(after).before(before).all(5000);
    result
        .dates
        .into_iter()
        .filter(|d| {
            let local = d.date_naive();
            let date =
                Date::new(local.year() as i16, local.month() as i8, local.day() as i8).unwrap();
            !program.is_skipped(date)
        })
        .map(|d| d.timestamp())
        .filter(|&t| t >= from.as_second() && t < until.as_second())
        .collect()
}

use chrono::Datelike;

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn meetings_match_an_independent_rrule_engine(case in case()) {
        let program = load(&program_text(&case))?;
        let pair = &program.pairs[0];
        let zone = &pair.meeting.zone.tz;
        let from = zone.to_zoned_datetime(case.start.to_datetime(jiff::civil::Time::midnight())).unwrap().timestamp();
        let until = from.checked_add(jiff::SignedDuration::from_hours(24 * 365 * 2)).unwrap();
        let ours: Vec<(Date, Timestamp)> = schedule::meetings(&program, pair, from, until).collect();
        let ours_seconds: Vec<i64> = ours.iter().map(|(_, t)| t.as_second()).collect();
        let expected = oracle(&program, from, until);
        let compared: Vec<i64> = ours_seconds.iter().copied().filter(|&t| expected.first().is_some_and(|&f| t >= f)).collect();
        prop_assert_eq!(&compared, &expected, "program:\n{}", program_text(&case));

        let chrono_zone: chrono_tz::Tz = case.zone.parse().unwrap();
        for window in ours.windows(2) {
            prop_assert!(window[0].1 < window[1].1, "not strictly increasing");
        }
        for (date, start) in &ours {
            prop_assert!(!case.skip.contains(date), "meeting on skip date {}", date);
            prop_assert!(*date >= case.start, "meeting {} before start", date);
            if let Some(end) = case.end {
                prop_assert!(*date <= end, "meeting {} after end {}", date, end);
            }
            // Wall-clock time is the configured one unless chrono-tz says that time does
            // not exist on that date; then it is later by the gap, on the same date.
            let local = zone.to_datetime(*start);
            let wanted = NaiveDate::from_ymd_opt(i32::from(date.year()), date.month() as u32, date.day() as u32)
                .unwrap()
                .and_hms_opt(case.at.0 as u32, case.at.1 as u32, 0)
                .unwrap();
            let exists = !matches!(chrono_zone.from_local_datetime(&wanted), chrono::LocalResult::None);
            let shown = (local.hour(), local.minute());
            if exists {
                prop_assert_eq!(shown, case.at, "meeting on {} at the wrong time", date);
                if let chrono::LocalResult::Ambiguous(earlier, later) = chrono_zone.from_local_datetime(&wanted) {
                    let earliest = earlier.timestamp().min(later.timestamp());
                    prop_assert_eq!(start.as_second(), earliest, "ambiguous time must be the first");
                }
            } else {
                prop_assert_eq!(local.date(), *date);
                prop_assert!(shown > case.at, "skipped time must move forward");
                let gap_end: NaiveDateTime = wanted + chrono::Duration::hours(3);
                prop_assert!(local.time().to_string() <= gap_end.time().to_string());
            }
        }
    }

    #[test]
    fn weekly_count_matches_the_cadence(zone in proptest::sample::select(ZONES), start in 0i64..5000,
                                        interval in 1u32..5, day in 0usize..7, at in time_of_day()) {
        let case = Case { zone, start: date_from(start), end: None, cadence: Cadence::Weeks(interval, vec![day]), at, skip: vec![] };
        let program = load(&program_text(&case))?;
        let pair = &program.pairs[0];
        let tz = &pair.meeting.zone.tz;
        let from = tz.to_zoned_datetime(case.start.to_datetime(jiff::civil::Time::midnight())).unwrap().timestamp();
        let weeks = 52 * i64::from(interval);
        let until = tz.to_zoned_datetime(
            case.start.checked_add(jiff::Span::new().days(7 * weeks)).unwrap().to_datetime(jiff::civil::Time::midnight()),
        ).unwrap().timestamp();
        prop_assert_eq!(schedule::meetings(&program, pair, from, until).count(), 52);
    }
}

fn multi_pair_text(zones: &[&str], cadences: &[Cadence], ats: &[(i8, i8)], quiet: &str) -> String {
    let mut text = format!(
        r#"[program]
name = "Streams"
timezone = "{}"
start = 2027-01-04
coordinator = "p0"
organizer = {{ name = "P", email = "p@example.org" }}
skip = [2027-03-29]

[defaults]
review_every = "30d"
review_grace = "7d"
quiet_hours = "{quiet}"
"#,
        zones[0]
    );
    for (i, zone) in zones.iter().enumerate() {
        text += &format!(
            "\n[people.p{i}]\nname = \"Person {i}\"\nemail = \"p{i}@example.org\"\ntimezone = \"{zone}\"\n"
        );
    }
    for (i, (cadence, at)) in cadences.iter().zip(ats).enumerate() {
        let mentee = (i + 1) % zones.len();
        text += &format!(
            "\n[[pairs]]\nmentor = \"p{i}\"\nmentee = \"p{mentee}\"\n{}\nat = \"{:02}:{:02}\"\ntimezone = \"{}\"\n",
            cadence.toml(),
            at.0,
            at.1,
            zones[i]
        );
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    #[test]
    fn action_stream_is_ordered_and_splits_cleanly(
        zones in proptest::collection::vec(proptest::sample::select(ZONES), 3),
        cadences in proptest::collection::vec(cadence(), 3),
        ats in proptest::collection::vec(time_of_day(), 3),
        split_hours in 1i64..(24 * 120),
        quiet in prop_oneof![Just("21:00-07:00"), Just("12:00-13:00"), Just("off")],
    ) {
        let text = multi_pair_text(&zones, &cadences, &ats, quiet);
        let program = load(&text)?;
        let history = History::default();
        let from: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let until: Timestamp = "2027-05-01T00:00:00Z".parse().unwrap();
        let split = from.checked_add(jiff::SignedDuration::from_hours(split_hours)).unwrap().min(until);
        let whole: Vec<_> = schedule::actions(&program, &history, Window { from, until }).collect();
        for pair in whole.windows(2) {
            prop_assert!(pair[0].at <= pair[1].at, "actions out of order");
        }
        for action in &whole {
            prop_assert!(action.at >= from && action.at < until);
        }
        // Any split of the window gives the same actions (bar the invites at its start).
        let mut parts: Vec<_> = schedule::actions(&program, &history, Window { from, until: split }).collect();
        parts.extend(schedule::actions(&program, &history, Window { from: split, until }));
        prop_assert_eq!(&whole, &parts);

        for action in &whole {
            let Some(index) = action.pair else { continue };
            let pair = &program.pairs[index as usize];
            if let Subject::Meeting { start, .. } = action.subject {
                match action.kind {
                    ActionKind::AgendaPrompt | ActionKind::MentorReminder => {
                        prop_assert!(action.at <= start, "{:?} after its meeting", action.kind);
                    }
                    ActionKind::Followup => prop_assert!(action.at > start),
                    _ => {}
                }
            }
            let (person, quiet_hours) = match action.kind {
                ActionKind::AgendaPrompt | ActionKind::Followup => (pair.mentee, pair.timing.mentee_quiet_hours),
                ActionKind::MentorReminder => (pair.mentor, pair.timing.mentor_quiet_hours),
                _ => continue,
            };
            if let Some(q) = quiet_hours {
                let local = program.person(person).zone.tz.to_datetime(action.at).time();
                let inside = if q.begin > q.end { local > q.begin || local < q.end } else { local > q.begin && local < q.end };
                prop_assert!(!inside, "{:?} lands in quiet hours at {}", action.kind, local);
            }
        }
    }
}
