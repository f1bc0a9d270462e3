//! The pairs sheet: one mentor–mentee pair per row. Checked here: who the pair names (an
//! id, an address or a name from the people sheet), a person paired with themselves,
//! the same pair or pair id twice, dates, and goals split at `;`. Times, cadences,
//! durations and the rest are left to the program loader (see [`super::verdict`]).

use rustc_hash::FxHashMap as HashMap;

use super::RowError;
use super::people::{Lookup, People};
use super::sheet::{Columns, Row, Sheet};
use super::toml_text;
use crate::diagnostic::closest;
use crate::program::SHARED_KEYS;
use crate::program::values::check_id;

/// Any key a `[[pairs]]` table takes, except `digest` (program-wide).
/// The pair's own columns; the cadence and timing ones are the keys a `[[pairs]]`
/// entry shares with `[defaults]`, taken from the program file's own list.
const PAIR_COLUMNS: &[&str] = &["id", "mentor", "mentee", "start", "end", "goals"];

/// Columns written into the TOML as they are, as strings: these, then [`SHARED_KEYS`].
const TEXT_COLUMNS: &[&str] = &["status", "kind"];

pub const COLUMNS: Columns = Columns {
    known: &[PAIR_COLUMNS, TEXT_COLUMNS, SHARED_KEYS],
    required: &["mentor", "mentee"],
    aliases: &[("time_zone", "timezone")],
    toml_floor,
};

/// The TOML bytes a row makes, at the least: exactly, but for the ids of the mentor and
/// mentee (a byte each, at the least).
fn toml_floor(row: &Row) -> usize {
    let mut bytes = toml_text::table_len("[[pairs]]");
    let string = |column: &str| {
        row.get(column)
            .map(|t| toml_text::string_line_len(column, t))
    };
    bytes += string("id").unwrap_or(0);
    for column in ["mentor", "mentee"] {
        bytes += row
            .get(column)
            .map_or(0, |_| toml_text::string_line_len(column, "x"));
    }
    for column in ["start", "end"] {
        bytes += row
            .get(column)
            .filter(|date| is_date(date))
            .map_or(0, |date| toml_text::raw_line_len(column, date));
    }
    bytes += TEXT_COLUMNS
        .iter()
        .chain(SHARED_KEYS)
        .filter_map(|column| string(column))
        .sum::<usize>();
    let goals = goals(row);
    if !goals.is_empty() {
        bytes += toml_text::raw_line_len("goals", &toml_text::list(&goals));
    }
    bytes
}

/// The goals cell split at `;`, trimmed, empty ones left out.
fn goals(row: &Row) -> Vec<String> {
    row.get("goals")
        .map(|g| {
            g.split(';')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// One pair as it goes into the TOML.
#[derive(Debug)]
pub struct Pair {
    pub line: u64,
    pub id: Option<String>,
    /// Person ids (as written when no person has it: the row is refused anyway).
    pub mentor: Option<String>,
    pub mentee: Option<String>,
    /// Dates, already checked to be `YYYY-MM-DD`.
    pub start: Option<String>,
    pub end: Option<String>,
    pub goals: Vec<String>,
    /// `(column, text)` for [`TEXT_COLUMNS`] and [`SHARED_KEYS`] with a value.
    pub text: Vec<(&'static str, String)>,
}

/// Reads every row of the pairs sheet against `people`; problems go to `errors`.
pub fn read(sheet: &Sheet, people: &People, errors: &mut Vec<RowError>) -> Vec<Pair> {
    let file = sheet.name.as_str();
    let mut couples: HashMap<(String, String), u64> = HashMap::default();
    let mut ids: HashMap<String, u64> = HashMap::default();
    let mut pairs = Vec::with_capacity(sheet.rows.len());
    for row in &sheet.rows {
        let line = row.line;
        let mut error = |column, message: String, help: String| {
            errors.push(RowError::new(file, line, column, message, help));
        };
        let mentor = person(row, "mentor", people, &mut error);
        let mentee = person(row, "mentee", people, &mut error);
        // The default id of a pair already refused (with itself, or twice) would only
        // repeat that problem.
        let mut default_id = None;
        if let (Some(Ok(mentor)), Some(Ok(mentee))) = (&mentor, &mentee) {
            if mentor == mentee {
                error(
                    Some("mentee"),
                    format!("{mentor:?} is both mentor and mentee"),
                    "a mentor and a mentee must be two different people".into(),
                );
            } else if let Some(first) = couples.get(&(mentor.clone(), mentee.clone())) {
                error(
                    None,
                    format!("{mentor:?} already mentors {mentee:?} on line {first}"),
                    "keep one row per pair; change that row's cells instead of repeating it".into(),
                );
            } else {
                couples.insert((mentor.clone(), mentee.clone()), line);
                default_id = Some(format!("{mentor}-{mentee}"));
            }
        }
        let given_id = row.get("id");
        if let Some(id) = given_id
            && let Err(e) = check_id(id)
        {
            error(
                Some("id"),
                format!("`id`: {}", e.message),
                format!("{}; or leave the cell empty for \"MENTOR-MENTEE\"", e.help),
            );
        }
        let id = given_id.map(str::to_string).or(default_id);
        if let Some(id) = id {
            match ids.get(&id) {
                Some(first) => error(
                    given_id.map(|_| "id"),
                    format!("the pair id {id:?} is also the id of the pair on line {first}"),
                    "give one of them its own id in the `id` column".into(),
                ),
                None => {
                    ids.insert(id, line);
                }
            }
        }
        let date =
            |column: &'static str, error: &mut dyn FnMut(Option<&'static str>, String, String)| {
                let text = row.get(column)?;
                if is_date(text) {
                    Some(text.to_string())
                } else {
                    error(
                    Some(column),
                    format!("`{column}`: {text:?} is not a date"),
                    "write dates as YYYY-MM-DD, like 2027-01-12 (format the column as text, or as an ISO date, before exporting)".into(),
                );
                    None
                }
            };
        let start = date("start", &mut error);
        let end = date("end", &mut error);
        let settle = |found: Option<Result<String, String>>| found.map(|r| r.unwrap_or_else(|s| s));
        pairs.push(Pair {
            line,
            id: given_id.map(str::to_string),
            mentor: settle(mentor),
            mentee: settle(mentee),
            start,
            end,
            goals: goals(row),
            text: TEXT_COLUMNS
                .iter()
                .chain(SHARED_KEYS)
                .filter_map(|&c| Some((c, row.get(c)?.to_string())))
                .collect(),
        });
    }
    pairs
}

/// The id of the person in `column`: `Ok` when the people sheet has them, `Err` with the
/// cell as written when not (reported); `None` for an empty cell (reported).
fn person(
    row: &Row,
    column: &'static str,
    people: &People,
    error: &mut dyn FnMut(Option<&'static str>, String, String),
) -> Option<Result<String, String>> {
    let Some(cell) = row.get(column) else {
        error(
            Some(column),
            format!("`{column}` is empty"),
            "name the person by their id, email address or name in the people sheet".into(),
        );
        return None;
    };
    Some(match people.find(cell) {
        Lookup::Person(p) => Ok(p.key.clone()),
        Lookup::Ambiguous(lines) => {
            let lines: Vec<String> = lines.iter().map(u64::to_string).collect();
            error(
                Some(column),
                format!(
                    "`{column}`: {cell:?} is the name of more than one person (lines {})",
                    lines.join(", ")
                ),
                "name them by their id or email address instead".into(),
            );
            Err(cell.to_string())
        }
        Lookup::Unknown => {
            let help = match closest(cell, people.ids()) {
                Some(id) => format!(
                    "did you mean {id:?}? Otherwise add a row for {cell:?} to the people sheet"
                ),
                None => "use a person's id, email address or name from the people sheet, or add a row for them there".into(),
            };
            error(
                Some(column),
                format!("`{column}`: unknown person {cell:?}"),
                help,
            );
            Err(cell.to_string())
        }
    })
}

/// `YYYY-MM-DD` and a real date: a TOML date literal, so the TOML stays valid.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && text.parse::<jiff::civil::Date>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_and_real() {
        assert!(is_date("2027-01-12"));
        assert!(is_date("2028-02-29"));
        for bad in [
            "2027-02-29",
            "12/01/2027",
            "2027-1-12",
            "2027-01-12T10:00",
            "２０２７-01-12",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }
}
