//! `mentord plan`: the upcoming actions in time order, as a table for people or as JSON
//! for machines (see [`super::plan_json`] for its format). Both stream: a year of
//! 50,000 pairs never sits in memory at once.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use clap::Args;
use jiff::Timestamp;

use super::plan_rows::{ChangeRow, change_rows};
use super::{exit, plan_json, time};
use crate::program::{Program, Zone};
use crate::reconcile;
use crate::schedule::{self, Action, ActionKind, History, Recipient, Subject, Window};
use crate::vocab::MessageKind;

#[derive(Debug, Args)]
pub struct Plan {
    /// First day of the plan, YYYY-MM-DD in the program's zone (default: today).
    #[arg(long)]
    from: Option<String>,
    /// Number of days to show (1 to 36,600).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=36_600))]
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
            Some(text) => match time::parse_date_start(text, zone) {
                Ok(from) => from,
                Err(e) => {
                    eprintln!("error: --from: {e:#}");
                    return Ok(exit::USAGE);
                }
            },
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
        // What was sent and reviewed, from the store when there is one: the plan opens
        // with the calendar changes reconciling would send now (all invites, without one).
        let state = super::read_state(&program)?;
        // Meetings someone can't make are not planned, and their cancels already went.
        let mut program = program;
        program.set_cancellations(&state.cancelled);
        let program = program;
        let rows = change_rows(&program, &reconcile::reconcile(&program, &state.sent, from));
        let history = History {
            last_review: state.reviews,
            ..History::default()
        };
        let stdout = io::stdout().lock();
        let mut out = BufWriter::with_capacity(1 << 16, stdout);
        let written = if self.json {
            plan_json::write(
                &program,
                &rows,
                from,
                schedule::chunks(&program, &history, window),
                &mut out,
            )
        } else {
            let actions = schedule::actions(&program, &history, window);
            write_table(&program, window, &rows, actions, &mut out)
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

fn label(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Meeting => "meeting",
        ActionKind::AgendaPrompt => "agenda prompt",
        ActionKind::MentorReminder => "mentor reminder",
        ActionKind::Followup => "follow-up",
        ActionKind::ReviewNudge => "review nudge",
        ActionKind::ReviewEscalation => "review escalation",
        ActionKind::Checkin => "check-in",
        ActionKind::Digest => "digest",
    }
}

fn write_table(
    program: &Program,
    window: Window,
    rows: &[ChangeRow],
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
    let header = ["WHEN", "ACTION", "PAIR", "TO", "DETAIL"];
    writeln!(
        out,
        "{:<20} {:<18} {:<24} {:<28} {}",
        header[0], header[1], header[2], header[3], header[4]
    )?;
    // Calendar changes go out when the daemon next reconciles the file with the store
    // (at once when it runs), not at the window's start.
    let start = "now (reconcile)";
    for row in rows {
        let label = row.kind.label();
        // In words; the iTIP method and sequence are in `plan --json`.
        let mut detail = match row.kind {
            MessageKind::Invite => "new invite".to_string(),
            MessageKind::InviteUpdate => format!("update: {}", row.what.join(", ")),
            _ => "cancel".to_string(),
        };
        if let Some(date) = row.date {
            detail = format!("{detail}; no meeting on {date}");
        }
        writeln!(
            out,
            "{:<20} {:<18} {:<24} {:<28} {}",
            start,
            label,
            row.pair,
            row.to.join(", "),
            detail
        )?;
    }
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
    let mut summary = summary;
    if !rows.is_empty() {
        summary.insert(0, format!("calendar changes: {}", rows.len()));
    }
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
