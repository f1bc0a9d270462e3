//! `mentord import`: a coordinator's spreadsheet exports (people, and optionally pairs)
//! turned into the `[people.*]` and `[[pairs]]` TOML to append to a program file.
//!
//! The flow: [`sheet`] reads each CSV as a stream into rows with their line numbers
//! ([`header`] reads its header line, [`encoding`] a Windows-1252 export, [`lines`]
//! counts lines), keeping rows only while their TOML fits in a program file; [`people`]
//! and [`pairs`] check what only the sheets can say (empty cells, ids, duplicates, who
//! a pair names, dates) and derive missing ids; [`emit`] writes the TOML, remembering
//! which row and column each line came from; [`verdict`] runs that TOML through the
//! program loader itself, so a row passes exactly when `mentord check` would accept
//! it, and names the row behind every problem the loader finds.

mod columns;
mod emit;
mod encoding;
mod header;
mod lines;
mod pairs;
mod people;
mod sheet;
mod toml_text;
mod verdict;

use std::fmt;
use std::path::{Path, PathBuf};

pub use sheet::Sheet;

use crate::program::MAX_PROGRAM_BYTES;

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

/// An import's outcome, and what the coordinator should know whatever it is.
#[derive(Debug)]
pub struct Imported {
    /// Notes for stderr (a sheet read as Windows-1252).
    pub notes: Vec<String>,
    pub outcome: Outcome,
}

/// Reads and checks the sheets at `people` and `pairs`.
pub fn import(people: &Path, pairs: Option<&Path>) -> Result<Imported, ReadError> {
    // Their TOML must fit in a program file (`mentord check` reads no more).
    let mut budget = sheet::Budget::new(MAX_PROGRAM_BYTES);
    let mut read = |path: &Path, columns| {
        sheet::read(path, columns, &mut budget).map_err(|source| ReadError {
            path: path.to_path_buf(),
            source,
        })
    };
    let people = read(people, &people::COLUMNS)?;
    let pairs = pairs.map(|p| read(p, &pairs::COLUMNS)).transpose()?;
    let notes = [Some(&people), pairs.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|(sheet, _)| sheet.note.clone())
        .collect();
    Ok(Imported {
        notes,
        outcome: check(people, pairs),
    })
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
    let counts = [
        people_sheet.count,
        pairs_sheet.as_ref().map_or(0, |s| s.count),
    ];
    let overflow = [Some(&people_sheet), pairs_sheet.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|sheet| Some((sheet.name.as_str(), sheet.overflow?)));
    if let Some((file, line)) = overflow {
        errors.push(too_large(file, line, counts));
        return Outcome::Invalid(sorted(errors, &names));
    }
    // The people take the cells over: the rows are let go as they are read.
    let people = people::read(people_sheet, &mut errors);
    if people.list.is_empty() {
        errors.push(RowError::new(
            &names[0],
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
    let mut emitted = emit::emit(&people, &pairs, &names);
    // From here on the text is all: the loader's check needs the most memory.
    let (people_count, pairs_count) = (people.list.len(), pairs.len());
    let coordinator = people.list[0].key.clone();
    drop((pairs_sheet, people, pairs));
    // The rows' floors fit, the TOML itself may still not (derived ids grow a `-2`).
    if emitted.text.len() as u64 > MAX_PROGRAM_BYTES {
        let past = emitted
            .rows
            .iter()
            .find(|row| row.start as u64 > MAX_PROGRAM_BYTES)
            .or(emitted.rows.last());
        if let Some(row) = past {
            errors.push(too_large(&names[row.sheet], row.line, counts));
            return Outcome::Invalid(sorted(errors, &names));
        }
    }
    let found = verdict::check(&mut emitted, &coordinator, &names);
    errors.extend(without_second_words(found, &errors));
    if errors.is_empty() {
        Outcome::Valid {
            toml: emitted.text,
            people: people_count,
            pairs: pairs_count,
        }
    } else {
        Outcome::Invalid(sorted(errors, &names))
    }
}

/// The sheets hold more than a program file can: named at the first row past the limit,
/// with how many rows there are.
fn too_large(file: &str, line: u64, [people, pairs]: [u64; 2]) -> RowError {
    let megabytes = MAX_PROGRAM_BYTES / (1024 * 1024);
    let pairs = match pairs {
        0 => String::new(),
        1 => " and 1 pair".to_string(),
        n => format!(" and {n} pairs"),
    };
    RowError::new(
        file,
        line,
        None,
        format!(
            "more rows than a program file can hold: {people} people{pairs} make more than the {megabytes} MB of TOML a program file may be, and the rows from this one on do not fit"
        ),
        format!(
            "`mentord check` refuses a program file over {megabytes} MB; split the sheets into programs of their own, each in its own file, with the rows before this one at most"
        ),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A row's floor is exactly what a person's row writes (ids given or derived once),
    /// and at most what a pair's row writes: the budget never refuses sheets that fit.
    #[test]
    fn a_rows_floor_is_at_most_what_it_writes() {
        let people_csv = "id,name,email,timezone\n,José Müller,jose@x.org,Europe/Madrid\n\
                          grace.h,\"Grace \"\"Amazing\"\" Hopper\",grace@x.org,\n,Ada,ada@x.org,\n";
        let pairs_csv = "mentor,mentee,goals,start,location,id\n\
                         grace.h,jose,\" A ; ;B\",2027-01-12,Room 4,first\nAda,grace@x.org,,,,\n";
        let mut budget = sheet::Budget::new(u64::MAX);
        let read = |name, csv: &str, columns, budget: &mut sheet::Budget| {
            sheet::parse(name, csv.as_bytes(), columns, budget)
        };
        let (people_sheet, errors) = read("p.csv", people_csv, &people::COLUMNS, &mut budget);
        let (pairs_sheet, more) = read("q.csv", pairs_csv, &pairs::COLUMNS, &mut budget);
        assert!(errors.is_empty() && more.is_empty(), "{errors:?} {more:?}");
        let floor = |sheet: &Sheet, columns: &sheet::Columns| -> usize {
            sheet.rows.iter().map(|row| (columns.toml_floor)(row)).sum()
        };
        let people_floor = floor(&people_sheet, &people::COLUMNS);
        let pairs_floor = floor(&pairs_sheet, &pairs::COLUMNS);
        assert_eq!(budget.used, (people_floor + pairs_floor) as u64);

        let mut errors = Vec::new();
        let people = people::read(people_sheet, &mut errors);
        let pairs = pairs::read(&pairs_sheet, &people, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let names = ["p.csv".to_string(), "q.csv".to_string()];
        let emitted = emit::emit(&people, &pairs, &names);
        // Each row's text starts with the blank line before its table.
        let first_pair = emitted.rows.iter().find(|r| r.sheet == 1).unwrap().start - 1;
        let people_text = first_pair - (emitted.rows[0].start - 1);
        let pairs_text = emitted.text.len() - first_pair;
        assert_eq!(people_floor, people_text, "{}", emitted.text);
        assert!(pairs_floor <= pairs_text, "{}", emitted.text);
        // Only the mentors' and mentees' ids are counted short: as a byte each.
        let ids: usize = ["grace.h", "jose", "ada", "grace.h"]
            .iter()
            .map(|id| id.len() - 1)
            .sum();
        assert_eq!(pairs_floor + ids, pairs_text, "{}", emitted.text);
    }
}
