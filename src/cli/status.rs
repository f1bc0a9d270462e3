//! `mentord status [--json]`: each pair's next meeting, review state, last send and
//! failures, the outbox in numbers, and the daemons at work: alive or not, what each
//! holds, and whether its sending is paused by the SMTP circuit breaker.

use std::path::Path;

use clap::Args;
use jiff::Timestamp;
use serde::Serialize;

use super::{exit, time};
use crate::program::{Program, Status as PairStatus};
use crate::schedule::{self, ReviewStanding};

#[derive(Debug, Args)]
pub struct Status {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct PairLine {
    pair: String,
    status: &'static str,
    next_meeting: Option<String>,
    /// `upcoming`, `nudged` (past due, within two graces), `overdue` (escalated), `off`.
    review: &'static str,
    review_due: Option<String>,
    last_sent: Option<String>,
    failures: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    program: String,
    now: String,
    pairs: Vec<PairLine>,
    pending: u64,
    sent: u64,
    failed: u64,
    last_sent: Option<String>,
    failures: Vec<Failure>,
    daemons: Vec<Daemon>,
}

#[derive(Debug, Serialize)]
struct Daemon {
    id: String,
    host: String,
    pid: u32,
    mail: String,
    started: String,
    last_heartbeat: String,
    /// Beat within the lease; a dead daemon's claims pass to the others.
    alive: bool,
    /// Messages claimed and not yet marked.
    holding: u64,
    /// Holds the program lock (reconciling or scheduling right now; PostgreSQL only).
    program_lock: bool,
    paused_until: Option<String>,
    pause_reason: Option<String>,
}

#[derive(Debug, Serialize)]
struct Failure {
    key: String,
    recipient: String,
    error: String,
}

impl Status {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let program = super::load(config)?;
        let now = time::now()?;
        let super::StoredState {
            reviews,
            summary,
            activity,
            instances,
            ..
        } = super::read_state(&program, config)?;

        let zone = &program.zone.tz;
        let today = zone.to_datetime(now).date();
        let local = |t: Timestamp| {
            t.to_zoned_datetime(zone.clone())
                .strftime("%a %Y-%m-%d %H:%M")
                .to_string()
        };
        let pairs = program
            .pairs
            .iter()
            .map(|pair| {
                let active = pair.status == PairStatus::Active;
                let next = active
                    .then(|| schedule::meetings(&program, pair, now, Timestamp::MAX).next())
                    .flatten();
                let standing = active
                    .then(|| schedule::review_standing(pair, reviews.get(&pair.id).copied(), today))
                    .flatten();
                let (review, due) = match standing {
                    Some(ReviewStanding::Upcoming(due)) => ("upcoming", Some(due)),
                    Some(ReviewStanding::Nudged(due)) => ("nudged", Some(due)),
                    Some(ReviewStanding::Overdue(due)) => ("overdue", Some(due)),
                    None => ("off", None),
                };
                let (last, failures) = activity.get(&pair.id).copied().unwrap_or((None, 0));
                PairLine {
                    pair: pair.id.clone(),
                    status: pair.status.as_str(),
                    next_meeting: next.map(|(_, t)| local(t)),
                    review,
                    review_due: due.map(|d| d.to_string()),
                    last_sent: last.map(local),
                    failures,
                }
            })
            .collect();
        let report = Report {
            program: program.name.clone(),
            now: local(now),
            pairs,
            pending: summary.pending,
            sent: summary.sent,
            failed: summary.failed,
            last_sent: summary.last_sent.map(local),
            failures: summary
                .failures
                .into_iter()
                .map(|(key, recipient, error)| Failure {
                    key,
                    recipient,
                    error,
                })
                .collect(),
            daemons: instances
                .into_iter()
                .map(|i| Daemon {
                    started: local(i.started_at),
                    last_heartbeat: local(i.heartbeat_at),
                    paused_until: i
                        .paused_until
                        .filter(|&until| i.alive && until > now)
                        .map(local),
                    pause_reason: i.pause_reason.filter(|_| i.alive),
                    id: i.id,
                    host: i.host,
                    pid: i.pid,
                    mail: i.mail,
                    alive: i.alive,
                    holding: i.holding,
                    program_lock: i.program_lock,
                })
                .collect(),
        };
        if self.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_table(&program, &report);
        }
        Ok(exit::OK)
    }
}

fn print_table(program: &Program, report: &Report) {
    println!(
        "{} — {} ({})",
        report.program, report.now, program.zone.name
    );
    let header = [
        "PAIR",
        "STATUS",
        "NEXT MEETING",
        "REVIEW",
        "LAST SENT",
        "FAILED",
    ];
    println!(
        "{:<24} {:<8} {:<22} {:<22} {:<22} {}",
        header[0], header[1], header[2], header[3], header[4], header[5]
    );
    for line in &report.pairs {
        let review = match (&line.review_due, line.review) {
            (Some(due), "upcoming") => format!("due {due}"),
            (Some(due), "nudged") => format!("nudged, due {due}"),
            (Some(due), _) => format!("OVERDUE since {due}"),
            (None, _) => "-".into(),
        };
        println!(
            "{:<24} {:<8} {:<22} {:<22} {:<22} {}",
            line.pair,
            line.status,
            line.next_meeting.as_deref().unwrap_or("-"),
            review,
            line.last_sent.as_deref().unwrap_or("-"),
            line.failures
        );
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
    if !report.daemons.iter().any(|d| d.alive) {
        println!("no daemon running");
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
