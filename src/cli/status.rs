//! `mentord status [--json | --csv]`: prints [`crate::status::report`] — each pair's next
//! meeting, review state, last send and failures, the outbox in numbers, and the daemons
//! at work: alive or not, what each holds, and whether its sending is paused.
//!
//! Outside text in the report is already inert ([`crate::status`]); the CSV also keeps
//! spreadsheets from reading a cell as a formula ([`crate::inert::csv_cell`]). A reader
//! that stops early (`mentord status | head`) ends the command quietly.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use clap::Args;

use super::{exit, time};
use crate::inert;
use crate::program::LoadError;
use crate::status::{self, Report};

#[derive(Debug, Args)]
pub struct Status {
    /// Print JSON for machines instead of a table.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print the pairs as CSV (one line per pair, with a header), for a spreadsheet.
    #[arg(long)]
    csv: bool,
}

impl Status {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let now = time::now()?;
        let (report, zone, code) = match crate::program::load(config) {
            Ok(mut program) => {
                let state = super::read_state(&program)?;
                program.set_cancellations(&state.cancelled);
                let zone = program.zone.name.to_string();
                (status::report(&program, state, now), zone, exit::OK)
            }
            Err(error @ LoadError::Read { .. }) => return Err(error.into()),
            // A typo in the file hides nothing the store knows: what it holds is shown
            // with the file's errors, and the exit says the file needs fixing.
            Err(error) => {
                eprintln!("{error}");
                let Some(location) = crate::program::store_of(config) else {
                    return Err(error.into());
                };
                let state = super::read_state_at(&location, None)?;
                let said = format!("{error}");
                (
                    status::store_report(state, now, said),
                    "UTC".to_string(),
                    exit::FAILED,
                )
            }
        };
        let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
        let written = if self.json {
            serde_json::to_writer_pretty(&mut out, &report)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
        } else if self.csv {
            write_csv(&mut out, &report)
        } else {
            write_table(&mut out, &zone, &report)
        };
        match written.and_then(|()| out.flush()) {
            Ok(()) => Ok(code),
            // `mentord status | head` is a normal way to read a long status.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(code),
            Err(e) => Err(e.into()),
        }
    }
}

/// The pair table's rows, with the review's standing and date in columns of their own;
/// no cell a spreadsheet would take for a formula.
fn write_csv(out: impl Write, report: &Report) -> io::Result<()> {
    // The writer's errors keep their kind, so a closed pipe is still told apart.
    let kept = |e: csv::Error| match e.kind() {
        csv::ErrorKind::Io(io) => io::Error::new(io.kind(), e),
        _ => io::Error::other(e),
    };
    let mut out = csv::Writer::from_writer(out);
    out.write_record([
        "pair",
        "status",
        "next_meeting",
        "review",
        "review_due",
        "last_sent",
        "failures",
        "agenda_in",
        "mentor_rsvp",
        "mentee_rsvp",
        "bouncing",
        "mentor",
        "mentee",
        "attention",
        "health",
        "health_reasons",
    ])
    .map_err(kept)?;
    for line in &report.pairs {
        let cells = [
            line.pair.as_str(),
            line.status,
            line.next_meeting.as_deref().unwrap_or(""),
            line.review,
            line.review_due.as_deref().unwrap_or(""),
            line.last_sent.as_deref().unwrap_or(""),
            &line.failures.to_string(),
            if line.agenda_in { "yes" } else { "no" },
            line.mentor_rsvp.as_deref().unwrap_or(""),
            line.mentee_rsvp.as_deref().unwrap_or(""),
            &line.bouncing.join(" "),
            line.mentor.as_str(),
            line.mentee.as_str(),
            &line.attention.join("; "),
            line.health,
            &line.health_reasons.join("; "),
        ];
        out.write_record(cells.iter().map(|cell| inert::csv_cell(cell).into_owned()))
            .map_err(kept)?;
    }
    out.flush()
}

fn write_table(out: &mut impl Write, zone: &str, report: &Report) -> io::Result<()> {
    if let Some(error) = &report.program_error {
        writeln!(
            out,
            "THE PROGRAM FILE IS INVALID: no pairs shown, and a daemon keeps the last good \
             program (or starts none) until it is fixed:"
        )?;
        for line in error.lines() {
            writeln!(out, "  {line}")?;
        }
        writeln!(out, "what the store holds, as of {}:", report.now)?;
        return write_store(out, report);
    }
    writeln!(out, "{} — {} ({zone})", report.program, report.now)?;
    let tally = report.tally();
    writeln!(
        out,
        "pairs: {} active, {} paused, {} ended; {} review(s) overdue; {} need attention",
        tally.active, tally.paused, tally.ended, tally.reviews_overdue, tally.attention
    )?;
    let (watch, at_risk) = report
        .pairs
        .iter()
        .fold((0, 0), |(w, r), l| match l.health {
            "watch" => (w + 1, r),
            "at risk" => (w, r + 1),
            _ => (w, r),
        });
    writeln!(out, "health: {at_risk} at risk, {watch} to watch")?;
    for line in report.pairs.iter().filter(|l| l.health != "good") {
        writeln!(
            out,
            "  {}: {} ({} / {}): {}",
            line.health.to_uppercase(),
            line.pair,
            line.mentor,
            line.mentee,
            line.health_reasons.join("; ")
        )?;
    }
    for line in report.pairs.iter().filter(|l| !l.attention.is_empty()) {
        writeln!(
            out,
            "  needs attention: {} ({} / {}): {}",
            line.pair,
            line.mentor,
            line.mentee,
            line.attention.join(", ")
        )?;
    }
    let header = [
        "PAIR",
        "STATUS",
        "NEXT MEETING",
        "REVIEW",
        "LAST SENT",
        "FAILED",
        "AGENDA",
        "RSVP (MENTOR / MENTEE)",
    ];
    writeln!(
        out,
        "{:<24} {:<8} {:<22} {:<22} {:<22} {:<6} {:<6} {}",
        header[0], header[1], header[2], header[3], header[4], header[5], header[6], header[7]
    )?;
    for line in &report.pairs {
        let review = match (&line.review_due, line.review) {
            (Some(due), "upcoming") => format!("due {due}"),
            (Some(due), "nudged") => format!("nudged, due {due}"),
            (Some(due), _) => format!("OVERDUE since {due}"),
            (None, _) => "-".into(),
        };
        let rsvp = match (&line.mentor_rsvp, &line.mentee_rsvp) {
            (None, None) => "-".to_string(),
            (mentor, mentee) => format!(
                "{} / {}",
                mentor.as_deref().unwrap_or("-"),
                mentee.as_deref().unwrap_or("-")
            ),
        };
        writeln!(
            out,
            "{:<24} {:<8} {:<22} {:<22} {:<22} {:<6} {:<6} {}",
            line.pair,
            line.status,
            line.next_meeting.as_deref().unwrap_or("-"),
            review,
            line.last_sent.as_deref().unwrap_or("-"),
            line.failures,
            if line.agenda_in { "in" } else { "-" },
            rsvp
        )?;
        for address in &line.bouncing {
            writeln!(out, "  {address} BOUNCES: fix it in the program file")?;
        }
        for unsubscribed in &line.unsubscribed {
            writeln!(out, "  unsubscribed: {unsubscribed}")?;
        }
        for cancelled in &line.cancelled {
            writeln!(out, "  cancelled: {cancelled}")?;
        }
        if line.retrying > 0 {
            writeln!(
                out,
                "  {} message(s) could not go yet and wait to be tried again",
                line.retrying
            )?;
        }
    }
    write_store(out, report)
}

/// What the store holds beyond the pairs: bounces, mail set aside and kept, the outbox,
/// delivery, the daemons.
fn write_store(out: &mut impl Write, report: &Report) -> io::Result<()> {
    for bounce in &report.bounces {
        writeln!(
            out,
            "bouncing: {} ({}; {} report(s), last {})",
            bounce.address, bounce.status, bounce.count, bounce.last_at
        )?;
    }
    if report.set_aside_total > 0 {
        writeln!(
            out,
            "mail set aside ({} in all; sender and subject only):",
            report.set_aside_total
        )?;
        for mail in &report.set_aside {
            writeln!(
                out,
                "  {} from {}: \"{}\": {}",
                mail.received_at, mail.sender, mail.subject, mail.reason
            )?;
        }
    }
    if report.kept_total > 0 {
        writeln!(
            out,
            "mail kept for the coordinator ({} not handled; `mentord inbox` lists and shows them):",
            report.kept_total
        )?;
        for mail in &report.kept {
            writeln!(
                out,
                "  {} {} from {}: \"{}\"",
                mail.id, mail.received_at, mail.sender, mail.subject
            )?;
        }
    }
    if let Some(waiting) = &report.mail_waiting {
        writeln!(
            out,
            "mail handed off: {} wait(s) to be taken in, the oldest since {}{}",
            waiting.count,
            waiting.since.as_deref().unwrap_or("-"),
            if waiting.daemon {
                ""
            } else {
                "; no daemon runs to take them in (`mentord run`, or once: `mentord intake`)"
            }
        )?;
    }
    writeln!(
        out,
        "outbox: {} pending, {} sent, {} failed; last sent {}",
        report.pending,
        report.sent,
        report.failed,
        report.last_sent.as_deref().unwrap_or("never")
    )?;
    for failure in &report.failures {
        writeln!(
            out,
            "failed: {} to {}: {}",
            failure.key, failure.recipient, failure.error
        )?;
    }
    if let Some(delivery) = &report.delivery {
        writeln!(
            out,
            "MAIL CANNOT GO since {}: {} message(s) wait to be tried again; the last error: {}",
            delivery.since, delivery.waiting, delivery.error
        )?;
    }
    if report.daemon_cannot_write {
        writeln!(
            out,
            "a daemon is running but cannot write to the store (a full disk? a read-only \
             file?): nothing is sent until it can; its log says why"
        )?;
    } else if !report.daemons.iter().any(|d| d.alive) {
        writeln!(out, "no daemon running")?;
    }
    if let Some(budget) = &report.daily_budget {
        match &budget.held_until {
            Some(until) => writeln!(
                out,
                "daily budget: {} a day, all used in the last 24 hours: {} message(s) wait; the next goes at {until}, calendar mail first",
                budget.per_day, budget.waiting
            ),
            None if budget.used >= u64::from(budget.per_day) => writeln!(
                out,
                "daily budget: {} a day, all used in the last 24 hours: {} message(s) wait",
                budget.per_day, budget.waiting
            ),
            None => writeln!(
                out,
                "daily budget: {} a day, {} used in the last 24 hours",
                budget.per_day, budget.used
            ),
        }?;
    }
    for daemon in &report.daemons {
        let lock = if daemon.program_lock {
            ", holds the program lock"
        } else {
            ""
        };
        if daemon.alive {
            writeln!(
                out,
                "daemon {} (pid {} on {}): running since {}, sending to {}, holding {} message(s){lock}",
                daemon.id, daemon.pid, daemon.host, daemon.started, daemon.mail, daemon.holding
            )?;
        } else {
            writeln!(
                out,
                "daemon {} (pid {} on {}): silent since {}, holding {} message(s) that pass to a live daemon",
                daemon.id, daemon.pid, daemon.host, daemon.last_heartbeat, daemon.holding
            )?;
        }
        if let Some(until) = &daemon.paused_until {
            writeln!(
                out,
                "  sending PAUSED until {until}: {}",
                daemon
                    .pause_reason
                    .as_deref()
                    .unwrap_or("repeated connection failures")
            )?;
        }
    }
    Ok(())
}
