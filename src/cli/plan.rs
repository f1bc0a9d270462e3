//! `mentord plan`: the upcoming actions in time order, as a table for people or as JSON
//! for machines. Both stream: a year of 50,000 pairs never sits in memory at once.
//!
//! JSON output is one array, one action object per line:
//!
//! ```json
//! {"at":"2027-01-10T09:00:00Z","kind":"agenda_prompt","pair":"grace-alan","to":["alan"],
//!  "local":"2027-01-10T04:00:00-05:00","zone":"America/New_York",
//!  "meeting":"2027-01-12T10:00:00+01:00","first":true}
//! ```
//!
//! `at` is the send (or meeting) time in UTC; `local` and `zone` are the same instant in
//! the recipient's zone (the meeting's zone for meetings and invites, the
//! coordinator's for digests). Meeting-related actions add `meeting` (its start, in the
//! meeting's zone) and `first`; review actions add `due` and `nudge` (1, 2; 3 is the
//! escalation). `pair` is `null` for digests.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use clap::Args;
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

use super::{exit, time};
use crate::program::{Program, Zone};
use crate::schedule::{self, Action, ActionKind, History, Recipient, Subject, Window};

#[derive(Debug, Args)]
pub struct Plan {
    /// First day of the plan, YYYY-MM-DD in the program's zone (default: today).
    #[arg(long)]
    from: Option<String>,
    /// Number of days to show.
    #[arg(long, default_value_t = 14)]
    days: u32,
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    json: bool,
}

impl Plan {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let program = super::load(config)?;
        let zone = &program.zone.tz;
        let from = match &self.from {
            Some(text) => time::parse_date_start(text, zone)?,
            None => {
                let today = zone.to_datetime(time::now()?).date();
                time::start_of(today, zone)?
            }
        };
        let from_date = zone.to_datetime(from).date();
        let until_date = from_date
            .checked_add(jiff::Span::new().days(i64::from(self.days)))
            .map_err(|_| anyhow::anyhow!("--days {} reaches past the calendar", self.days))?;
        let window = Window {
            from,
            until: time::start_of(until_date, zone)?,
        };
        let history = History::default();
        let actions = schedule::actions(&program, &history, window);
        let stdout = io::stdout().lock();
        let mut out = BufWriter::with_capacity(1 << 16, stdout);
        let written = if self.json {
            write_json(&program, actions, &mut out)
        } else {
            write_table(&program, window, actions, &mut out)
        };
        match written.and_then(|()| out.flush()) {
            Ok(()) => Ok(exit::OK),
            // `mentord plan | head` is a normal way to read a plan.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(exit::OK),
            Err(e) => Err(e.into()),
        }
    }
}

/// The zone an action is shown in and the ids it goes to.
fn audience<'p>(program: &'p Program, action: &Action) -> (&'p Zone, Vec<&'p str>) {
    let pair = action.pair.map(|i| &program.pairs[i as usize]);
    let id = |i: usize| program.people[i].id.as_str();
    match (action.to, pair) {
        (Recipient::Pair, Some(p)) => (&p.meeting.zone, vec![id(p.mentor), id(p.mentee)]),
        (Recipient::Mentor, Some(p)) => (&program.people[p.mentor].zone, vec![id(p.mentor)]),
        (Recipient::Mentee, Some(p)) => (&program.people[p.mentee].zone, vec![id(p.mentee)]),
        _ => (
            &program.people[program.coordinator].zone,
            vec![id(program.coordinator)],
        ),
    }
}

fn write_json(
    program: &Program,
    actions: impl Iterator<Item = Action>,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(512);
    out.write_all(b"[")?;
    let mut first_line = true;
    for action in actions {
        line.clear();
        line.extend_from_slice(if first_line { b"\n" } else { b",\n" });
        first_line = false;
        let (zone, to) = audience(program, &action);
        line.extend_from_slice(b"{\"at\":\"");
        write_instant(&mut line, action.at, &TimeZone::UTC);
        line.extend_from_slice(b"\",\"kind\":\"");
        line.extend_from_slice(action.kind.as_str().as_bytes());
        line.extend_from_slice(b"\",\"pair\":");
        match action.pair {
            Some(i) => write_json_string(&mut line, &program.pairs[i as usize].id),
            None => line.extend_from_slice(b"null"),
        }
        line.extend_from_slice(b",\"to\":[");
        for (i, id) in to.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            write_json_string(&mut line, id);
        }
        line.extend_from_slice(b"],\"local\":\"");
        write_instant(&mut line, action.at, &zone.tz);
        line.extend_from_slice(b"\",\"zone\":");
        write_json_string(&mut line, &zone.name);
        match action.subject {
            Subject::Meeting { start, first } => {
                let pair = action.pair.map(|i| &program.pairs[i as usize]);
                let meeting_zone = pair.map_or(&program.zone.tz, |p| &p.meeting.zone.tz);
                line.extend_from_slice(b",\"meeting\":\"");
                write_instant(&mut line, start, meeting_zone);
                line.extend_from_slice(if first {
                    b"\",\"first\":true"
                } else {
                    b"\",\"first\":false"
                });
            }
            Subject::Review { due, nudge } => {
                line.extend_from_slice(format!(",\"due\":\"{due}\",\"nudge\":{nudge}").as_bytes());
            }
            Subject::Series | Subject::Digest => {}
        }
        line.push(b'}');
        out.write_all(&line)?;
    }
    out.write_all(if first_line { b"]\n" } else { b"\n]\n" })
}

fn write_json_string(out: &mut Vec<u8>, text: &str) {
    let plain = text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Ids and zone names never need this; names might one day.
        out.extend_from_slice(serde_json::to_string(text).unwrap_or_default().as_bytes());
    }
}

/// RFC 3339 with the zone's offset at that instant (`Z` for UTC), written by hand:
/// this runs millions of times in a year's plan.
fn write_instant(out: &mut Vec<u8>, at: Timestamp, zone: &TimeZone) {
    let offset = zone.to_offset(at);
    let dt = offset.to_datetime(at);
    if !(0..=9999).contains(&dt.year()) {
        out.extend_from_slice(at.to_string().as_bytes());
        return;
    }
    write_datetime(out, dt);
    write_offset(out, offset, zone);
}

fn write_datetime(out: &mut Vec<u8>, dt: DateTime) {
    let digits = |out: &mut Vec<u8>, value: i32, width: usize| {
        let mut buf = [b'0'; 4];
        let mut v = value;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&buf[..width]);
    };
    digits(out, i32::from(dt.year()), 4);
    out.push(b'-');
    digits(out, i32::from(dt.month()), 2);
    out.push(b'-');
    digits(out, i32::from(dt.day()), 2);
    out.push(b'T');
    digits(out, i32::from(dt.hour()), 2);
    out.push(b':');
    digits(out, i32::from(dt.minute()), 2);
    out.push(b':');
    digits(out, i32::from(dt.second()), 2);
}

fn write_offset(out: &mut Vec<u8>, offset: Offset, zone: &TimeZone) {
    let seconds = offset.seconds();
    if seconds == 0 && zone.iana_name() == Some("UTC") {
        out.push(b'Z');
        return;
    }
    let sign = if seconds < 0 { b'-' } else { b'+' };
    let minutes = seconds.unsigned_abs() / 60;
    out.push(sign);
    out.extend_from_slice(format!("{:02}:{:02}", minutes / 60, minutes % 60).as_bytes());
}

fn label(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Invite => "series invite",
        ActionKind::Meeting => "meeting",
        ActionKind::AgendaPrompt => "agenda prompt",
        ActionKind::MentorReminder => "mentor reminder",
        ActionKind::Followup => "follow-up",
        ActionKind::ReviewNudge => "review nudge",
        ActionKind::ReviewEscalation => "review escalation",
        ActionKind::Digest => "digest",
    }
}

fn write_table(
    program: &Program,
    window: Window,
    actions: impl Iterator<Item = Action>,
    out: &mut impl Write,
) -> io::Result<()> {
    let zone = &program.zone;
    let day = |t: Timestamp| zone.tz.to_datetime(t).date();
    let last_day = window
        .until
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .map(day)
        .unwrap_or(day(window.until));
    writeln!(
        out,
        "Plan for \"{}\", {} to {} (times in {})",
        program.name,
        day(window.from),
        last_day,
        zone.name
    )?;
    writeln!(
        out,
        "{:<20} {:<18} {:<24} {:<28} {}",
        "WHEN", "ACTION", "PAIR", "TO", "DETAIL"
    )?;
    let mut counts = [0usize; ActionKind::ALL.len()];
    for action in actions {
        counts[action.kind as usize] += 1;
        let when = action
            .at
            .to_zoned_datetime(zone.tz.clone())
            .strftime("%a %Y-%m-%d %H:%M")
            .to_string();
        let pair = action.pair.map(|i| &program.pairs[i as usize]);
        let (recipient_zone, ids) = audience(program, &action);
        let to = match action.to {
            Recipient::Pair => ids.join(", "),
            Recipient::Mentor => format!("{} (mentor)", ids.join("")),
            Recipient::Mentee => format!("{} (mentee)", ids.join("")),
            Recipient::Coordinator => format!("{} (coordinator)", ids.join("")),
        };
        let mut detail = Vec::new();
        if recipient_zone.name != zone.name {
            let local = action.at.to_zoned_datetime(recipient_zone.tz.clone());
            detail.push(format!(
                "{} {}",
                local.strftime("%a %H:%M"),
                recipient_zone.name
            ));
        }
        match action.subject {
            Subject::Meeting { start, first } if action.kind != ActionKind::Meeting => {
                let meeting_zone = pair.map_or(zone, |p| &p.meeting.zone);
                let local = start.to_zoned_datetime(meeting_zone.tz.clone());
                let mut text = format!("for meeting {}", local.strftime("%a %Y-%m-%d %H:%M"));
                if meeting_zone.name != zone.name {
                    text = format!("{text} {}", meeting_zone.name);
                }
                detail.push(text);
                if first {
                    detail.push("first meeting".into());
                }
            }
            Subject::Meeting { first: true, .. } => detail.push("first meeting".into()),
            Subject::Review { due, nudge } => detail.push(match nudge {
                1 => format!("review due {due}"),
                2 => format!("review due {due}, second nudge"),
                _ => format!("review due {due}, not held"),
            }),
            Subject::Series => {
                if let Some(p) = pair {
                    detail.push(format!(
                        "{} at {}",
                        p.meeting.rule,
                        p.meeting.at.strftime("%H:%M")
                    ));
                }
            }
            _ => {}
        }
        writeln!(
            out,
            "{:<20} {:<18} {:<24} {:<28} {}",
            when,
            label(action.kind),
            pair.map_or("-", |p| p.id.as_str()),
            to,
            detail.join("; ")
        )?;
    }
    let summary: Vec<String> = ActionKind::ALL
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{}: {n}", label(*k)))
        .collect();
    if summary.is_empty() {
        writeln!(
            out,
            "nothing is due in this window; try a later --from or more --days"
        )
    } else {
        writeln!(
            out,
            "{} actions ({})",
            counts.iter().sum::<usize>(),
            summary.join(", ")
        )
    }
}
