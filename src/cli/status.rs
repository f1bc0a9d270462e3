//! `mentord status [--json | --csv]`: prints [`crate::status::report`] — each pair's next
//! meeting, review state, last send and failures, the outbox in numbers, and the daemons
//! at work: alive or not, what each holds, and whether its sending is paused.

use std::path::Path;

use clap::Args;

use super::{exit, time};
use crate::program::Program;
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
        let mut program = super::load(config)?;
        let now = time::now()?;
        let state = super::read_state(&program)?;
        program.set_cancellations(&state.cancelled);
        let report = status::report(&program, state, now);
        if self.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else if self.csv {
            print_csv(&report)?;
        } else {
            print_table(&program, &report);
        }
        Ok(exit::OK)
    }
}

/// The pair table's rows, with the review's standing and date in columns of their own.
fn print_csv(report: &Report) -> anyhow::Result<()> {
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
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
    ])?;
    for line in &report.pairs {
        out.write_record([
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
        ])?;
    }
    out.flush()?;
    Ok(())
}

fn print_table(program: &Program, report: &Report) {
    println!(
        "{} — {} ({})",
        report.program, report.now, program.zone.name
    );
    let tally = report.tally();
    println!(
        "pairs: {} active, {} paused, {} ended; {} review(s) overdue; {} need attention",
        tally.active, tally.paused, tally.ended, tally.reviews_overdue, tally.attention
    );
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
    println!(
        "{:<24} {:<8} {:<22} {:<22} {:<22} {:<6} {:<6} {}",
        header[0], header[1], header[2], header[3], header[4], header[5], header[6], header[7]
    );
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
        println!(
            "{:<24} {:<8} {:<22} {:<22} {:<22} {:<6} {:<6} {}",
            line.pair,
            line.status,
            line.next_meeting.as_deref().unwrap_or("-"),
            review,
            line.last_sent.as_deref().unwrap_or("-"),
            line.failures,
            if line.agenda_in { "in" } else { "-" },
            rsvp
        );
        for address in &line.bouncing {
            println!("  {address} BOUNCES: fix it in the program file");
        }
    }
    for bounce in &report.bounces {
        println!(
            "bouncing: {} ({}; {} report(s), last {})",
            bounce.address, bounce.status, bounce.count, bounce.last_at
        );
    }
    if report.set_aside_total > 0 {
        println!(
            "mail set aside ({} in all; sender and subject only):",
            report.set_aside_total
        );
        for mail in &report.set_aside {
            println!(
                "  {} from {}: \"{}\": {}",
                mail.received_at, mail.sender, mail.subject, mail.reason
            );
        }
    }
    println!(
        "outbox: {} pending, {} sent, {} failed; last sent {}",
        report.pending,
        report.sent,
        report.failed,
        report.last_sent.as_deref().unwrap_or("never")
    );
    for failure in &report.failures {
        println!(
            "failed: {} to {}: {}",
            failure.key, failure.recipient, failure.error
        );
    }
    if report.daemon_cannot_write {
        println!(
            "a daemon is running but cannot write to the store (a full disk? a read-only \
             file?): nothing is sent until it can; its log says why"
        );
    } else if !report.daemons.iter().any(|d| d.alive) {
        println!("no daemon running");
    }
    if let Some(budget) = &report.daily_budget {
        match &budget.held_until {
            Some(until) => println!(
                "daily budget: {} a day, all used in the last 24 hours: {} message(s) wait; the next goes at {until}, calendar mail first",
                budget.per_day, budget.waiting
            ),
            None if budget.used >= u64::from(budget.per_day) => println!(
                "daily budget: {} a day, all used in the last 24 hours: {} message(s) wait",
                budget.per_day, budget.waiting
            ),
            None => println!(
                "daily budget: {} a day, {} used in the last 24 hours",
                budget.per_day, budget.used
            ),
        }
    }
    for daemon in &report.daemons {
        let lock = if daemon.program_lock {
            ", holds the program lock"
        } else {
            ""
        };
        if daemon.alive {
            println!(
                "daemon {} (pid {} on {}): running since {}, sending to {}, holding {} message(s){lock}",
                daemon.id, daemon.pid, daemon.host, daemon.started, daemon.mail, daemon.holding
            );
        } else {
            println!(
                "daemon {} (pid {} on {}): silent since {}, holding {} message(s) that pass to a live daemon",
                daemon.id, daemon.pid, daemon.host, daemon.last_heartbeat, daemon.holding
            );
        }
        if let Some(until) = &daemon.paused_until {
            println!(
                "  sending PAUSED until {until}: {}",
                daemon
                    .pause_reason
                    .as_deref()
                    .unwrap_or("repeated connection failures")
            );
        }
    }
}
