//! `mentord import --people CSV [--pairs CSV]`: prints the `[people.*]` and `[[pairs]]`
//! TOML for a coordinator's spreadsheet exports, checked like the program file (see
//! [`crate::import`]). Nothing is printed on stdout unless every row is good.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::exit;
use crate::import::{self, Outcome};

#[derive(Debug, Args)]
pub struct Import {
    /// The people sheet (CSV): name, email; optional id, timezone, quiet_hours.
    #[arg(long, value_name = "CSV")]
    people: PathBuf,
    /// The pairs sheet (CSV): mentor, mentee; optional start, goals (separated by `;`),
    /// at, every, on, duration, location, id, kind, status and any other pair key.
    #[arg(long, value_name = "CSV")]
    pairs: Option<PathBuf>,
}

impl Import {
    /// The program file (`--config`) plays no part: the rows are checked on their own.
    pub fn execute(&self, _config: &Path) -> anyhow::Result<u8> {
        let outcome = match import::import(&self.people, self.pairs.as_deref()) {
            Ok(imported) => {
                for note in &imported.notes {
                    eprintln!("{note}");
                }
                imported.outcome
            }
            Err(e) => {
                eprintln!("error: {e}\n  = help: export the sheet as CSV and pass its path");
                return Ok(exit::USAGE);
            }
        };
        let sources = match &self.pairs {
            Some(pairs) => format!("{} and {}", self.people.display(), pairs.display()),
            None => self.people.display().to_string(),
        };
        match outcome {
            Outcome::Valid {
                toml,
                people,
                pairs,
            } => {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(toml.as_bytes())?;
                stdout.flush()?;
                eprintln!(
                    "{sources}: ok: {people} {}, {pairs} {}; append the output to the program file, then run `mentord check`",
                    if people == 1 { "person" } else { "people" },
                    if pairs == 1 { "pair" } else { "pairs" },
                );
                Ok(exit::OK)
            }
            Outcome::Invalid(errors) => {
                let mut stderr = std::io::stderr().lock();
                for error in &errors {
                    writeln!(stderr, "{error}")?;
                }
                let rows: std::collections::HashSet<(&str, u64)> =
                    errors.iter().map(|e| (e.file.as_str(), e.line)).collect();
                writeln!(
                    stderr,
                    "{sources}: {} error{} in {} row{}; nothing was printed",
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" },
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" },
                )?;
                Ok(exit::FAILED)
            }
        }
    }
}
