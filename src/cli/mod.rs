//! The command line: one module per command, each a small type with `execute`.
//! Commands are thin: they load the program, call the library, and print.

mod check;
mod completions;
mod deliver;
mod feed;
mod import;
mod inbox;
mod intake;
mod plan;
mod plan_json;
#[cfg(test)]
mod plan_json_agrees;
mod plan_rows;
mod report;
mod retry;
mod review;
mod run;
mod simulate;
mod status;
mod time;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::program::{self, LoadError, Program};

#[derive(Debug, Parser)]
#[command(
    name = "mentord",
    version,
    about = "Runs a mentoring program on autopilot."
)]
pub(crate) struct Cli {
    /// The program file.
    #[arg(
        short,
        long,
        env = "MENTORD_CONFIG",
        default_value = "mentord.toml",
        global = true
    )]
    config: PathBuf,

    /// How log lines on stderr look.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the program file, its zones and cadences; print a one-line summary.
    Check(check::Check),
    /// Show the upcoming actions in time order.
    Plan(plan::Plan),
    /// Run the program on a virtual clock and write every message as an .eml file.
    Simulate(simulate::Simulate),
    /// The daemon: send what is due, sleep until the next action, reload on change.
    Run(run::Run),
    /// Pairs, next meetings, reviews due or overdue, last send, failures.
    Status(status::Status),
    /// The program's record for a period: meetings held and cancelled, rates, check-ins, health.
    Report(report::ReportArgs),
    /// Record relationship reviews.
    Review(review::Review),
    /// Queue failed messages again once their cause is fixed (same Message-ID).
    Retry(retry::Retry),
    /// Store one mail on stdin (a reply, a calendar answer, a bounce) for the daemon, as a mail server's pipe.
    Deliver(deliver::Deliver),
    /// Take in the mail `deliver` left waiting, now and once, printing each verdict (the daemon does this).
    Intake(intake::Intake),
    /// Mail from outside the pairs kept for the coordinator: list, show ID, done ID.
    Inbox(inbox::Inbox),
    /// Calendar feeds: `feed reset PERSON` gives PERSON a new secret feed address.
    Feed(feed::Feed),
    /// Turn spreadsheet exports (CSV) into [people.*] and [[pairs]] TOML, checked like the file.
    Import(import::Import),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::Completions),
    /// Print the manual page (roff) for `man -l -`; --dir DIR writes a page per command.
    Man(completions::Man),
}

/// Exit codes shared by every command.
pub mod exit {
    pub const OK: u8 = 0;
    /// The program file is invalid, or the command failed.
    pub const FAILED: u8 = 1;
    /// The command line itself is wrong (clap uses 2 as well).
    pub const USAGE: u8 = 2;
}

/// Parses arguments, runs the command and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // A simulation is the daemon at work on a year of mail: only its problems are news.
    let level = match cli.command {
        Command::Simulate(_) => "warn",
        _ => "info",
    };
    init_logging(cli.log_format, level);
    let outcome = match &cli.command {
        Command::Check(cmd) => cmd.execute(&cli.config),
        Command::Plan(cmd) => cmd.execute(&cli.config),
        Command::Simulate(cmd) => cmd.execute(&cli.config),
        Command::Status(cmd) => cmd.execute(&cli.config),
        Command::Run(cmd) => cmd.execute(&cli.config),
        Command::Report(cmd) => cmd.execute(&cli.config),
        Command::Review(cmd) => cmd.execute(&cli.config),
        Command::Retry(cmd) => cmd.execute(&cli.config),
        Command::Deliver(cmd) => cmd.execute(&cli.config),
        Command::Intake(cmd) => cmd.execute(&cli.config),
        Command::Inbox(cmd) => cmd.execute(&cli.config),
        Command::Feed(cmd) => cmd.execute(&cli.config),
        Command::Import(cmd) => cmd.execute(&cli.config),
        Command::Completions(cmd) => cmd.execute(),
        Command::Man(cmd) => cmd.execute(),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        // A reader that went away (`mentord import … | head`) is no failure of ours.
        Err(error) if reader_went_away(&error) => ExitCode::from(exit::OK),
        Err(error) => match error.downcast_ref::<LoadError>() {
            // A program file that cannot be read is a wrong path: a usage error.
            Some(load @ LoadError::Read { .. }) => {
                eprintln!("error: {load}");
                ExitCode::from(exit::USAGE)
            }
            Some(load) => {
                eprintln!("{load}");
                ExitCode::from(exit::FAILED)
            }
            None => {
                eprintln!("error: {error:#}");
                ExitCode::from(exit::FAILED)
            }
        },
    }
}

/// Whether `error` comes from writing to a closed pipe.
fn reader_went_away(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Loads the program file or returns the error that lists every problem in it.
fn load(path: &std::path::Path) -> anyhow::Result<Program> {
    Ok(program::load(path)?)
}

/// The pair with id `id`, or `None` after saying on stderr that there is none (with a
/// did-you-mean): a usage error for the commands that name pairs.
fn find_pair<'p>(
    program: &'p Program,
    id: &str,
    config: &std::path::Path,
) -> Option<&'p crate::program::Pair> {
    let found = program.pair_by_id(id);
    if found.is_none() {
        let hint = crate::diagnostic::closest(id, program.pairs.iter().map(|p| p.id.as_str()))
            .map(|s| format!("; did you mean {s:?}?"))
            .unwrap_or_default();
        eprintln!("error: no pair {id:?} in {}{hint}", config.display());
    }
    found
}

/// Opens (creating if needed) the program's store.
async fn open_store(program: &Program) -> anyhow::Result<crate::store::Store> {
    crate::store::Store::open(&program.store.location).await
}

/// What the store holds, read only (safe beside a running daemon); empty without a store.
fn read_state(program: &Program) -> anyhow::Result<crate::status::StoredState> {
    read_state_at(&program.store.location, program.mail.daily_budget())
}

/// [`read_state`] of the store at `location`; `daily` is the relay's daily budget.
fn read_state_at(
    location: &crate::store::Location,
    daily: Option<u32>,
) -> anyhow::Result<crate::status::StoredState> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let held = crate::status::daemon_holds(location);
        let state = match crate::store::Store::open_read_only(location).await? {
            None => crate::status::StoredState::default(),
            Some(store) => {
                crate::status::StoredState::read(&store, daily, crate::clock::now()?).await?
            }
        };
        Ok(crate::status::StoredState { held, ..state })
    })
}

fn init_logging(format: LogFormat, level: &str) {
    use tracing_subscriber::EnvFilter;
    // The file watcher's own trace lines, written to a log file in the watched folder,
    // would wake it again: a loop of 35 MB/s under RUST_LOG=trace.
    let quiet_watcher = ["notify=info", "inotify=info", "mio=info"];
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let filter = quiet_watcher
        .iter()
        .filter_map(|d| d.parse().ok())
        .fold(filter, |f, d| f.add_directive(d));
    use std::io::IsTerminal;
    // Colours only on a terminal: journald and log files get plain lines.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
