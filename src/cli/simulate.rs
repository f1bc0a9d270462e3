//! `mentord simulate`: run the program on a virtual clock and write every message it
//! would send as an `.eml` file, with `index.json`. Touches no store, sends nothing.
//!
//! At `--from` the series are reconciled (all invites; with `--previous OLD.toml`, the
//! updates and cancels from OLD's series to this file's), then every action due until
//! `--until` is composed in time order, by the same code the daemon uses.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Serialize;

use super::{exit, time};
use crate::compose::{Composed, Composer};
use crate::program::{self, Program};
use crate::reconcile::{self, Change};
use crate::render::Templates;
use crate::schedule::{self, History, Window};

#[derive(Debug, Args)]
pub struct Simulate {
    /// Start of the virtual run: YYYY-MM-DDTHH:MM[:SS] in the program's zone, a date, or RFC 3339.
    #[arg(long)]
    from: String,
    /// End of the run (exclusive), same forms.
    #[arg(long)]
    until: String,
    /// Folder for the .eml files and index.json (created; must be empty if it exists).
    #[arg(long)]
    out: PathBuf,
    /// The program as it was before --from; its series count as sent.
    #[arg(long)]
    previous: Option<PathBuf>,
}

/// One line of `index.json`.
#[derive(Debug, Serialize)]
struct IndexEntry {
    file: String,
    at: String,
    kind: &'static str,
    pair: Option<String>,
    recipients: Vec<String>,
    message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence: Option<u32>,
}

impl Simulate {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let program = super::load(config)?;
        let zone = &program.zone.tz;
        let (from, until) = match (
            time::parse_instant(&self.from, zone),
            time::parse_instant(&self.until, zone),
        ) {
            (Ok(from), Ok(until)) => (from, until),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("error: {e:#}");
                return Ok(exit::USAGE);
            }
        };
        if until <= from {
            eprintln!(
                "error: --until ({}) must be after --from ({})",
                self.until, self.from
            );
            return Ok(exit::USAGE);
        }
        let sent = match &self.previous {
            Some(path) => match program::load(path) {
                Ok(previous) => reconcile::all_sent(&previous),
                Err(program::LoadError::Read { path, source }) => {
                    eprintln!("error: cannot read --previous {}: {source}", path.display());
                    return Ok(exit::USAGE);
                }
                Err(e) => return Err(e).context("in the --previous program"),
            },
            None => Default::default(),
        };
        let templates = Templates::load(program.templates.as_deref())?;
        prepare_folder(&self.out)?;
        let mut writer = Writer::new(&self.out)?;
        let result = run(
            &program,
            &templates,
            &reconcile::reconcile(&program, &sent, from),
            Window { from, until },
            &mut writer,
        );
        // index.json stays valid JSON (listing what was written) even when a message fails.
        let counts = writer.finish()?;
        result?;
        let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        println!(
            "{}: {} messages ({}) in {}",
            config.display(),
            counts.iter().map(|(_, n)| n).sum::<usize>(),
            summary.join(", "),
            self.out.display()
        );
        Ok(exit::OK)
    }
}

/// The virtual run: the reconcile at the window's start, then every due action.
fn run(
    program: &Program,
    templates: &Templates,
    changes: &[Change],
    window: Window,
    writer: &mut Writer,
) -> anyhow::Result<()> {
    let composer = Composer::new(program, templates);
    for change in changes {
        for composed in composer.change(change, window.from)? {
            writer.write(&composed)?;
        }
    }
    // A simulation starts with no reviews held and no failed deliveries.
    let history = History::default();
    for action in schedule::actions(program, &history, window) {
        for composed in composer.action(&action, &history)? {
            writer.write(&composed)?;
        }
    }
    Ok(())
}

fn prepare_folder(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        let mut entries =
            std::fs::read_dir(out).with_context(|| format!("while reading {}", out.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty; give a new or empty folder so runs do not mix",
                out.display()
            );
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("while creating {}", out.display()))
}

/// Writes numbered `.eml` files and streams `index.json` beside them (a year of 5,000
/// pairs is half a million entries: they are not kept in memory).
struct Writer {
    dir: PathBuf,
    index: Option<std::io::BufWriter<std::fs::File>>,
    written: usize,
    counts: Vec<(&'static str, usize)>,
}

impl Writer {
    fn new(dir: &Path) -> anyhow::Result<Writer> {
        let path = dir.join("index.json");
        let file = std::fs::File::create(&path)
            .with_context(|| format!("while creating {}", path.display()))?;
        let mut index = std::io::BufWriter::new(file);
        index.write_all(b"[")?;
        Ok(Writer {
            dir: dir.to_path_buf(),
            index: Some(index),
            written: 0,
            counts: Vec::new(),
        })
    }

    fn write(&mut self, composed: &Composed) -> anyhow::Result<()> {
        let number = self.written + 1;
        let file = match &composed.pair {
            Some(pair) => format!("{number:05}-{}-{pair}.eml", composed.kind),
            None => format!("{number:05}-{}.eml", composed.kind),
        };
        let message = &composed.message;
        let bytes = message.to_eml()?;
        std::fs::write(self.dir.join(&file), bytes)
            .with_context(|| format!("while writing {file}"))?;
        let calendar = message.calendar.as_ref();
        let entry = IndexEntry {
            file,
            at: message.date.to_string(),
            kind: composed.kind,
            pair: composed.pair.clone(),
            recipients: vec![message.to.1.clone()],
            message_id: message.message_id.clone(),
            uid: calendar.map(|c| c.uid.clone()),
            method: calendar.map(|c| c.method.as_str()),
            sequence: calendar.map(|c| c.sequence),
        };
        if let Some(index) = &mut self.index {
            index.write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut *index, &entry)?;
        }
        self.written += 1;
        match self.counts.iter_mut().find(|(k, _)| *k == composed.kind) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((composed.kind, 1)),
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<Vec<(&'static str, usize)>> {
        if let Some(mut index) = self.index.take() {
            index.write_all(if self.written == 0 { b"]\n" } else { b"\n]\n" })?;
            index.flush()?;
        }
        Ok(self.counts)
    }
}
