//! `mentord simulate`: the daemon itself ([`crate::daemon::run`]) on a virtual clock,
//! over a store in memory, its mail written as `.eml` files with `index.json` instead of
//! sent. Touches no store on disk, sends nothing. Every rule of `mentord run` (late
//! prompts, reviews held, digests) holds here because it is the same code.
//!
//! At `--from` the daemon starts for the first time (all invites; with `--previous
//! OLD.toml`, it starts as if OLD had run until then, so the reconcile shows the updates
//! and cancels from OLD's series to this file's), then ticks until `--until`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use jiff::Timestamp;

use super::{exit, time};
use crate::clock::VirtualClock;
use crate::daemon::{self, Control, Daemon, Silent, Transport, record::Recorder};
use crate::program::{self, Program};
use crate::reconcile;
use crate::render::Templates;
use crate::store::Store;
use crate::vocab::MessageKind;

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
        let previous = match &self.previous {
            Some(path) => match program::load(path) {
                Ok(previous) => Some(previous),
                Err(program::LoadError::Read { path, source }) => {
                    eprintln!("error: cannot read --previous {}: {source}", path.display());
                    return Ok(exit::USAGE);
                }
                Err(e) => return Err(e).context("in the --previous program"),
            },
            None => None,
        };
        let templates = Templates::load(program.templates.as_deref())?;
        prepare_folder(&self.out)?;
        let recorder = Recorder::new(&self.out)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let counts = runtime.block_on(simulate(
            program, templates, previous, recorder, from, until,
        ))?;
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

/// The daemon on a virtual clock from `from` to `until`, over a store in memory that
/// starts empty (or, with `previous`, as if that program had run until `from`), its mail
/// recorded. Returns the messages written per kind.
async fn simulate(
    program: Program,
    templates: Templates,
    previous: Option<Program>,
    recorder: Recorder,
    from: Timestamp,
    until: Timestamp,
) -> anyhow::Result<Vec<(MessageKind, usize)>> {
    let store = Store::open_memory().await?;
    if let Some(previous) = &previous {
        // The old program's series as its daemon would have minted them.
        let key = daemon::store_key(&store).await?;
        let composer = crate::compose::Composer::new(previous, &templates).with_tokens(&key);
        for (pair, mut sent) in reconcile::all_sent(previous) {
            if let Some(index) = previous.pairs.iter().position(|p| p.id == pair) {
                let first = reconcile::Change::Invite {
                    pair: index,
                    sequence: 0,
                    identity: None,
                };
                sent.series = composer.series(&first)?.into_owned();
            }
            store.save_series(&pair, &sent, from).await?;
        }
        store.set_scheduled_until(from).await?;
    }
    let transport = Transport::Record(Box::new(recorder));
    let mut daemon = Daemon::new(program, templates, store, transport).simulation();
    if let Some(previous) = previous {
        // What the edit moved before `from` goes late, as on a reload.
        daemon.continue_from(previous);
    }
    let clock = VirtualClock::new(from, until);
    let (mut control, _wake) = Control::unattended();
    let ran = daemon::run(&mut daemon, &clock, &mut control, &mut Silent).await;
    // index.json stays valid JSON (listing what was written) even when a message failed.
    let counts = match daemon.transport_mut().recorder() {
        Some(recorder) => recorder.finish()?,
        None => Vec::new(),
    };
    ran?;
    Ok(counts)
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
