//! A sheet's header line: which delimiter it uses, and which known column each of its
//! names is (matched without case, surrounding spaces or the difference between `quiet
//! hours`, `quiet-hours` and `quiet_hours`, with the aliases exports use).

use super::RowError;
use super::columns::Columns;
use crate::diagnostic::closest;

/// `,` unless the header line holds more `;` or tabs than commas.
pub fn delimiter(bytes: &[u8]) -> u8 {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |d: u8| first.iter().filter(|&&b| b == d).count();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (count(d), d == b','))
        .unwrap_or(b',')
}

/// Column names in file order; `None` for an empty header cell (a value under it is
/// refused). `None` overall when the header is unusable.
pub fn read_header(
    name: &str,
    line: u64,
    header: &csv::ByteRecord,
    columns: &Columns,
    errors: &mut Vec<RowError>,
) -> Option<Vec<Option<&'static str>>> {
    let before = errors.len();
    let mut names: Vec<Option<&'static str>> = Vec::with_capacity(header.len());
    for field in header.iter() {
        let written = String::from_utf8_lossy(field);
        let written = written.trim().trim_start_matches('\u{feff}');
        if written.is_empty() {
            names.push(None);
            continue;
        }
        let normal = normalise(written);
        let known = columns
            .aliases
            .iter()
            .find(|(alias, _)| *alias == normal)
            .map(|(_, column)| *column)
            .or_else(|| columns.names().find(|c| *c == normal));
        match known {
            Some(column) if names.contains(&Some(column)) => {
                errors.push(RowError::new(
                    name,
                    line,
                    None,
                    format!("the column {column:?} appears twice"),
                    "keep one column of each name",
                ));
            }
            Some(column) => names.push(Some(column)),
            None => {
                let help = match closest(&normal, columns.names()) {
                    Some(s) => format!("did you mean {s:?}? Otherwise delete the column"),
                    None => format!(
                        "delete the column, or rename it to one of: {}",
                        columns.listed()
                    ),
                };
                errors.push(RowError::new(
                    name,
                    line,
                    None,
                    format!("unknown column {written:?}"),
                    help,
                ));
                names.push(None);
            }
        }
    }
    for required in columns.required {
        if !names.contains(&Some(required)) {
            errors.push(RowError::new(
                name,
                line,
                None,
                format!("the header has no {required:?} column"),
                format!(
                    "the first line names the columns; {} are required",
                    columns.required.join(", ")
                ),
            ));
        }
    }
    (errors.len() == before).then_some(names)
}

/// `Quiet Hours`, `quiet-hours` and `quiet_hours` are one column.
fn normalise(header: &str) -> String {
    header
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}
