//! `mentord inbox [list | show ID | done ID]`: the mail from outside the pairs that
//! mentord kept for the coordinator (SPEC §5 "No dead ends"). `list` (the default) prints
//! one row per mail, its ID first, then when (in the program's zone), sender and
//! subject, unhandled first; `--json` the same for machines. `show` prints one mail's
//! headers and text; `done` marks it handled. Everything that came from outside is shown
//! inert ([`crate::inert`]). Reads through the store only, so it works beside a running
//! daemon as `status` does.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{exit, open_store, time};
use crate::inert::{shown, visible};
use crate::program::Program;
use crate::store::{Handled, KeptMail, Store};

/// The most rows `list` prints.
const LISTED: i64 = 1000;

#[derive(Debug, Args)]
pub struct Inbox {
    #[command(subcommand)]
    action: Option<InboxAction>,
}

#[derive(Debug, Subcommand)]
enum InboxAction {
    /// One row per kept mail: ID, when, sender, subject; unhandled first.
    List {
        /// Print JSON for machines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print one kept mail: its headers and text.
    Show {
        /// The mail's ID, as `list` prints it.
        id: i64,
    },
    /// Mark a kept mail handled: it leaves the unhandled list, the page and the digest.
    Done {
        /// The mail's ID, as `list` prints it.
        id: i64,
    },
}

/// One row of `list --json`.
#[derive(Debug, Serialize)]
struct Row {
    id: i64,
    received_at: String,
    sender: String,
    subject: String,
    handled: bool,
    handled_at: Option<String>,
    bytes: i64,
}

impl Inbox {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let program = super::load(config)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let action = self
            .action
            .as_ref()
            .unwrap_or(&InboxAction::List { json: false });
        runtime.block_on(async {
            match action {
                InboxAction::List { json } => list(&program, *json).await,
                InboxAction::Show { id } => show(&program, *id).await,
                InboxAction::Done { id } => done(&program, *id).await,
            }
        })
    }
}

/// The program's store, read only; `None` when there is none yet (nothing kept).
async fn read_store(program: &Program) -> anyhow::Result<Option<Store>> {
    Store::open_read_only(&program.store.location).await
}

fn local(program: &Program, at: jiff::Timestamp) -> String {
    at.to_zoned_datetime(program.zone.tz.clone())
        .strftime("%a %Y-%m-%d %H:%M")
        .to_string()
}

fn row(program: &Program, mail: &KeptMail) -> Row {
    Row {
        id: mail.id,
        received_at: local(program, mail.received_at),
        sender: shown(&mail.sender),
        subject: shown(&mail.subject),
        handled: mail.handled_at.is_some(),
        handled_at: mail.handled_at.map(|at| local(program, at)),
        bytes: mail.size,
    }
}

async fn list(program: &Program, json: bool) -> anyhow::Result<u8> {
    let kept = match read_store(program).await? {
        Some(store) => store.kept_mail(false, LISTED).await?,
        None => Vec::new(),
    };
    let rows: Vec<Row> = kept.iter().map(|mail| row(program, mail)).collect();
    let mut out = BufWriter::new(io::stdout().lock());
    if json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
    } else if rows.is_empty() {
        writeln!(out, "no mail kept: nothing from outside the pairs came in")?;
    } else {
        writeln!(out, "{:<6} {:<21} {:<32} SUBJECT", "ID", "RECEIVED", "FROM")?;
        for row in &rows {
            let handled = if row.handled { "  (handled)" } else { "" };
            writeln!(
                out,
                "{:<6} {:<21} {:<32} {}{handled}",
                row.id, row.received_at, row.sender, row.subject
            )?;
        }
    }
    out.flush()?;
    Ok(exit::OK)
}

async fn show(program: &Program, id: i64) -> anyhow::Result<u8> {
    let found = match read_store(program).await? {
        Some(store) => store.kept_mail_whole(id).await?,
        None => None,
    };
    let Some((mail, raw)) = found else {
        return Ok(unknown(id));
    };
    let readable = crate::inbound::whole::readable(&raw);
    let mut out = BufWriter::new(io::stdout().lock());
    writeln!(
        out,
        "kept mail {} — received {}{}",
        mail.id,
        local(program, mail.received_at),
        mail.handled_at
            .map(|at| format!(", handled {}", local(program, at)))
            .unwrap_or_default()
    )?;
    for (name, value) in &readable.headers {
        writeln!(out, "{name}: {}", visible(value))?;
    }
    for name in &readable.attachments {
        writeln!(out, "Attachment: {}", visible(name))?;
    }
    writeln!(out)?;
    for line in readable.text.lines() {
        writeln!(out, "{}", visible(line.trim_end_matches('\r')))?;
    }
    if readable.cut {
        writeln!(out, "[… the rest of the text is not shown]")?;
    }
    out.flush()?;
    Ok(exit::OK)
}

async fn done(program: &Program, id: i64) -> anyhow::Result<u8> {
    let store = open_store(program).await?;
    match crate::app::kept::handled(&store, id, time::now()?).await? {
        Handled::Marked => println!("kept mail {id} marked handled"),
        Handled::Already(at) => println!(
            "kept mail {id} was marked handled before, {}",
            local(program, at)
        ),
        Handled::Unknown => return Ok(unknown(id)),
    }
    Ok(exit::OK)
}

fn unknown(id: i64) -> u8 {
    eprintln!("error: no kept mail with ID {id}; `mentord inbox list` shows their IDs");
    exit::FAILED
}
