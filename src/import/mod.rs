//! `mentord import`: a coordinator's spreadsheet exports (people, and optionally pairs)
//! turned into the `[people.*]` and `[[pairs]]` TOML to append to a program file.
//!
//! The flow: [`sheet`] reads each CSV into rows with their line numbers; [`people`] and
//! [`pairs`] check what only the sheets can say (empty cells, ids, duplicates, who a
//! pair names, dates) and derive missing ids; [`emit`] writes the TOML, remembering
//! which row and column each line came from; [`verdict`] runs that TOML through the
//! program loader itself, so a row passes exactly when `mentord check` would accept
//! it, and names the row behind every problem the loader finds.

mod emit;
mod pairs;
mod people;
mod sheet;
mod verdict;

use std::fmt;
use std::path::{Path, PathBuf};

pub use sheet::Sheet;

/// One problem, named by the sheet's own file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    pub line: u64,
    /// The column at fault, when one is; used to leave out the loader's second word
    /// on a problem the sheets' own checks already named.
    pub column: Option<&'static str>,
    pub message: String,
    pub help: String,
}

impl RowError {
    pub fn new(
        file: &str,
        line: u64,
        column: Option<&'static str>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        RowError {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
            help: help.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: error: {}\n  = help: {}",
            self.file, self.line, self.message, self.help
        )
    }
}

/// A sheet that could not be read at all: a wrong path, not a usage of the rows.
#[derive(Debug)]
pub struct ReadError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for ReadError {}

/// What an import comes to.
#[derive(Debug)]
pub enum Outcome {
    /// Every row is good: the TOML to append, and what it holds.
    Valid {
        toml: String,
        people: usize,
        pairs: usize,
    },
    /// Every problem found, in file and line order.
    Invalid(Vec<RowError>),
}

/// Reads and checks the sheets at `people` and `pairs`.
pub fn import(people: &Path, pairs: Option<&Path>) -> Result<Outcome, ReadError> {
    let read = |path: &Path, columns| {
        sheet::read(path, columns).map_err(|source| ReadError {
            path: path.to_path_buf(),
            source,
        })
    };
    let people = read(people, &people::COLUMNS)?;
    let pairs = pairs.map(|p| read(p, &pairs::COLUMNS)).transpose()?;
    Ok(check(people, pairs))
}

/// Checks sheets already read, with the problems found while reading them.
pub fn check(
    (people_sheet, mut errors): (Sheet, Vec<RowError>),
    pairs_sheet: Option<(Sheet, Vec<RowError>)>,
) -> Outcome {
    let pairs_sheet = pairs_sheet.map(|(sheet, more)| {
        errors.extend(more);
        sheet
    });
    // A header that cannot be read leaves nothing sound to check the rows against.
    let names = [
        people_sheet.name.clone(),
        pairs_sheet
            .as_ref()
            .map_or(String::new(), |s| s.name.clone()),
    ];
    if !people_sheet.header_ok || pairs_sheet.as_ref().is_some_and(|s| !s.header_ok) {
        return Outcome::Invalid(sorted(errors, &names));
    }
    let people = people::read(&people_sheet, &mut errors);
    if people.list.is_empty() {
        errors.push(RowError::new(
            &people_sheet.name,
            1,
            None,
            "the sheet has no people",
            "one row per person under the header line: name, email and, if you like, id, timezone, quiet_hours",
        ));
        return Outcome::Invalid(sorted(errors, &names));
    }
    let pairs = pairs_sheet
        .as_ref()
        .map(|sheet| pairs::read(sheet, &people, &mut errors))
        .unwrap_or_default();
    let emitted = emit::emit(&people, &pairs, &names);
    let found = verdict::check(&emitted, &people.list[0].key, &names);
    errors.extend(without_second_words(found, &errors));
    if errors.is_empty() {
        Outcome::Valid {
            toml: emitted.text,
            people: people.list.len(),
            pairs: pairs.len(),
        }
    } else {
        Outcome::Invalid(sorted(errors, &names))
    }
}

/// The loader's problems, less those on a row and column the sheets' checks already
/// named (a duplicate email is reported once, with the sheet's line numbers, not again
/// with the TOML's). A problem of the loader's on no column of a row already named is
/// left out too: it is most often the same one, seen from the whole pair.
fn without_second_words(found: Vec<RowError>, own: &[RowError]) -> Vec<RowError> {
    let named: std::collections::HashSet<(&str, u64)> =
        own.iter().map(|e| (e.file.as_str(), e.line)).collect();
    let named_column: std::collections::HashSet<(&str, u64, &str)> = own
        .iter()
        .filter_map(|e| Some((e.file.as_str(), e.line, e.column?)))
        .collect();
    found
        .into_iter()
        .filter(|e| {
            let row = (e.file.as_str(), e.line);
            match e.column {
                None => !named.contains(&row),
                Some(column) => !named_column.contains(&(row.0, row.1, column)),
            }
        })
        .collect()
}

/// The people sheet's problems, then the pairs', each by line. The sort is stable:
/// problems on one line keep the order they were found in.
fn sorted(mut errors: Vec<RowError>, names: &[String; 2]) -> Vec<RowError> {
    errors.sort_by_key(|e| (names[0] != e.file, e.line));
    errors
}
