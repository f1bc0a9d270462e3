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
use crate::report::Evidence;
use crate::store::Store;
use crate::vocab::MessageKind;

mod answers;

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
    /// The people's answers, one JSON object a line (`{"at": …, "from": …, "answer": …}`),
    /// each delivered at its time as the mail or click a real client would send.
    #[arg(long, value_name = "FILE.jsonl")]
    answers: Option<PathBuf>,
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
        let mut program = program;
        let answers = match &self.answers {
            Some(path) => match answers::read(path, &program) {
                Ok(answers) => {
                    if let Some(bad) = answers.iter().find(|a| a.at < from || a.at >= until) {
                        eprintln!(
                            "error: {}:{}: {} is outside the simulated time ({} to {})",
                            path.display(),
                            bad.line,
                            bad.at,
                            self.from,
                            self.until
                        );
                        return Ok(exit::FAILED);
                    }
                    answers
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return Ok(exit::FAILED);
                }
            },
            None => Vec::new(),
        };
        // Answers prove their sender as live mail must: by the token of the address
        // they go to or, without reply addresses, by the receiving server's word.
        if !answers.is_empty() && program.reply_to.is_none() && program.authserv_id.is_none() {
            program.authserv_id = Some(answers::SIMULATED_SERVER.to_string());
        }
        let templates = Templates::load(program.templates.as_deref())?;
        prepare_folder(&self.out)?;
        let recorder = Recorder::new(&self.out)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let ran = runtime.block_on(simulate(
            program, templates, previous, recorder, from, until, answers,
        ))?;
        if let Some((line, error)) = ran.bad_line {
            let path = self.answers.as_deref().unwrap_or(Path::new("answers"));
            eprintln!("error: {}:{line}: {error:#}", path.display());
            return Ok(exit::FAILED);
        }
        let counts = ran.counts;
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

/// What a simulation did.
struct Ran {
    /// Messages written per kind.
    counts: Vec<(MessageKind, usize)>,
    /// The first answer that answers nothing mentord sent: its line and why.
    bad_line: Option<(usize, anyhow::Error)>,
}

/// The daemon on a virtual clock from `from` to `until`, over a store in memory that
/// starts empty (or, with `previous`, as if that program had run until `from`), its mail
/// recorded; each answer delivered at its time. Writes `report.csv` for the period.
async fn simulate(
    program: Program,
    templates: Templates,
    previous: Option<Program>,
    recorder: Recorder,
    from: Timestamp,
    until: Timestamp,
    answers: Vec<answers::Answer>,
) -> anyhow::Result<Ran> {
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
    // The daemon of a simulation signs its links with the preview key: the answers
    // follow them with the same.
    let signer = program
        .http
        .as_ref()
        .and_then(|h| h.public_url.as_deref())
        .filter(|_| !answers.is_empty())
        .map(crate::vocab::links::Signer::preview)
        .transpose()?;
    let out_dir = recorder.dir().to_path_buf();
    let mut recorder = recorder;
    let log = (!answers.is_empty()).then(|| recorder.keep_log());
    let transport = Transport::Record(Box::new(recorder));
    let mut daemon = Daemon::new(program, templates, store.clone(), transport).simulation();
    if let Some(previous) = previous {
        // What the edit moved before `from` goes late, as on a reload.
        daemon.continue_from(previous);
    }
    let mut ran = Ok(());
    let mut bad_line = None;
    let mut now = from;
    for answer in &answers {
        if answer.at > now {
            ran = run_until(&mut daemon, now, answer.at).await;
            if ran.is_err() {
                break;
            }
            now = answer.at;
        }
        // Nothing writes to the log while the daemon is not running.
        let sent = log.as_ref().map(|log| {
            std::mem::take(
                &mut *log
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            )
        });
        let sent = sent.unwrap_or_default();
        let outcome =
            answers::answer(daemon.program(), &store, &sent, signer.as_ref(), answer).await;
        if let Some(log) = &log {
            let mut shared = log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let later = std::mem::replace(&mut *shared, sent);
            shared.extend(later);
        }
        match outcome {
            Ok(answers::Outcome::Done(what)) => {
                tracing::info!(line = answer.line, person = %answer.person, %what, "answer taken in");
            }
            Ok(answers::Outcome::NotUsed(why)) => {
                tracing::warn!(line = answer.line, person = %answer.person, %why, "answer not used");
                eprintln!("warning: answers line {}: not used: {why}", answer.line);
            }
            Err(e) => {
                bad_line = Some((answer.line, e));
                break;
            }
        }
    }
    if ran.is_ok() && bad_line.is_none() {
        ran = run_until(&mut daemon, now, until).await;
    }
    // index.json stays valid JSON (listing what was written) even when a message failed.
    let counts = match daemon.transport_mut().recorder() {
        Some(recorder) => recorder.finish()?,
        None => Vec::new(),
    };
    ran?;
    if bad_line.is_none() {
        let evidence = Evidence::read(&store, from, until, until)
            .await?
            .with_checkin_months(&store, &daemon.program().zone.tz, from, until)
            .await?;
        let report = crate::report::build(daemon.program(), &evidence, from, until, until);
        let path = out_dir.join("report.csv");
        let file = std::fs::File::create(&path)
            .with_context(|| format!("while creating {}", path.display()))?;
        crate::report::csv::write(std::io::BufWriter::new(file), &report)
            .with_context(|| format!("while writing {}", path.display()))?;
    }
    Ok(Ran { counts, bad_line })
}

/// The daemon's loop from `from` to `until` on a virtual clock.
async fn run_until(daemon: &mut Daemon, from: Timestamp, until: Timestamp) -> anyhow::Result<()> {
    let clock = VirtualClock::new(from, until);
    let (mut control, _wake) = Control::unattended();
    daemon::run(daemon, &clock, &mut control, &mut Silent).await
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
