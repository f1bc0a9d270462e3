//! One spreadsheet export read into rows of named cells, each row with the line of the
//! file it starts on. Header names are matched without case, surrounding spaces or the
//! difference between `quiet hours`, `quiet-hours` and `quiet_hours`; a UTF-8 byte order
//! mark is dropped; fields may be quoted (commas, line breaks and `""` inside quotes).
//! Excel in many European locales writes `;` between fields: the header line decides.
//!
//! The file is read as a stream, a record at a time (a first pass only looks at its
//! encoding, see [`super::encoding`]), and rows are kept only while the TOML they will
//! make fits in a program file ([`Budget`]): past that, the rest is only counted, so a
//! sheet of millions of rows is refused with its row count in the memory of the rows
//! that fit.

pub use super::columns::{Columns, Row};
use std::io::{BufRead as _, Read, Seek as _};
use std::path::Path;

use super::RowError;
use super::encoding::{self, Found, Windows1252};
use super::header::{delimiter, read_header};
use super::lines::Counted;

/// The largest sheet read: far above any real export, and a wrong path (a log, a
/// device) is refused before it is read.
const MAX_SHEET_BYTES: u64 = 64 * 1024 * 1024;

/// The header line is read whole up to this length to choose the delimiter.
const MAX_HEADER_BYTES: u64 = 1024 * 1024;

/// The TOML the rows read so far will make, at the least, against what a program file
/// may hold: once over, no more rows are kept. Shared by the two sheets of an import.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub used: u64,
    pub limit: u64,
}

impl Budget {
    pub fn new(limit: u64) -> Self {
        Budget { used: 0, limit }
    }

    pub fn is_spent(&self) -> bool {
        self.used > self.limit
    }
}

/// A sheet as read: its name for messages and its rows.
#[derive(Debug)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Row>,
    /// The header line was read and names the required columns.
    pub header_ok: bool,
    /// Rows under the header that are not blank, kept or not.
    pub count: u64,
    /// The line of the row that spent the [`Budget`]: from it on, rows were only
    /// counted, and the ones kept before it were let go.
    pub overflow: Option<u64>,
    /// What the reader did that the coordinator should know (an encoding guessed).
    pub note: Option<String>,
}

/// Reads the sheet at `path`. The outer error is a file that cannot be read at all
/// (a usage error); problems inside it are returned with the rows that could be read.
pub fn read(
    path: &Path,
    columns: &Columns,
    budget: &mut Budget,
) -> std::io::Result<(Sheet, Vec<RowError>)> {
    let name = path.display().to_string();
    let mut file = open_bounded(path)?;
    let found = encoding::sniff((&mut file).take(MAX_SHEET_BYTES))?;
    file.rewind()?;
    let file = file.take(MAX_SHEET_BYTES);
    let refused = |line: u64, message: String, help: &str| {
        let sheet = Sheet::empty(&name);
        (sheet, vec![RowError::new(&name, line, None, message, help)])
    };
    const SAVE_AS_UTF8: &str = "save the sheet as UTF-8: in Excel, \"Save as\" › \"CSV UTF-8 (comma delimited)\"; in LibreOffice, character set \"Unicode (UTF-8)\"";
    Ok(match found {
        Found::Utf8 => parse(&name, file, columns, budget),
        Found::Windows1252(place) => {
            let (mut sheet, errors) = parse(&name, Windows1252::new(file), columns, budget);
            sheet.note = Some(format!(
                "{name}:{}:{}: note: the file is not UTF-8 (the byte 0x{:02X} here); it was read as Windows-1252 (Latin-1), the encoding of Excel's plain \"CSV\" in Western Europe. Check the names in the output, or {SAVE_AS_UTF8}",
                place.line, place.column, place.byte
            ));
            (sheet, errors)
        }
        Found::Mixed(place) => refused(
            place.line,
            format!(
                "the file is not UTF-8: the byte 0x{:02X} at column {} is not, though other characters in the file are UTF-8, so it is not Windows-1252 (Latin-1) either",
                place.byte, place.column
            ),
            SAVE_AS_UTF8,
        ),
        Found::Utf16 => refused(
            1,
            "the file is UTF-16 (Excel's \"Unicode Text\"), not CSV in UTF-8".into(),
            SAVE_AS_UTF8,
        ),
    })
}

/// The file at `path`, when it is a regular file of at most [`MAX_SHEET_BYTES`].
fn open_bounded(path: &Path) -> std::io::Result<std::fs::File> {
    let refuse = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(refuse("it is not a regular file"));
    }
    if meta.len() > MAX_SHEET_BYTES {
        return Err(refuse("it is larger than the 64 MB a sheet may be"));
    }
    std::fs::File::open(path)
}

impl Sheet {
    fn empty(name: &str) -> Self {
        Sheet {
            name: name.to_string(),
            rows: Vec::new(),
            header_ok: false,
            count: 0,
            overflow: None,
            note: None,
        }
    }
}

/// Parses the sheet named `name` from `input` (UTF-8), a record at a time.
pub fn parse(
    name: &str,
    input: impl Read,
    columns: &Columns,
    budget: &mut Budget,
) -> (Sheet, Vec<RowError>) {
    let mut errors = Vec::new();
    let mut sheet = Sheet::empty(name);
    // The header line decides the delimiter: read it, then read on from its start.
    let mut input = std::io::BufReader::new(input);
    let mut first = Vec::new();
    if let Err(e) = (&mut input)
        .take(MAX_HEADER_BYTES)
        .read_until(b'\n', &mut first)
    {
        errors.push(RowError::new(
            name,
            1,
            None,
            format!("the file cannot be read: {e}"),
            "check that the file is a CSV export and can be opened",
        ));
        return (sheet, errors);
    }
    let first = first
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&first)
        .to_vec();
    let delimiter = delimiter(&first);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(Counted::new(std::io::Cursor::new(first).chain(input)));
    let mut record = csv::ByteRecord::new();
    let header = loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => {
                errors.push(RowError::new(
                    name,
                    1,
                    None,
                    "the file is empty",
                    format!(
                        "export the sheet with a header line naming its columns: {}",
                        columns.listed()
                    ),
                ));
                return (sheet, errors);
            }
            Err(e) => {
                let line = reader.get_mut().line_of(e.position());
                errors.push(csv_error(name, line, &e));
                return (sheet, errors);
            }
            Ok(true) if is_blank(&record) => continue,
            Ok(true) => break record.clone(),
        }
    };
    let header_line = reader.get_mut().line_of(header.position());
    let Some(names) = read_header(name, header_line, &header, columns, &mut errors) else {
        return (sheet, errors);
    };
    sheet.header_ok = true;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                // The reader cannot resynchronise after a broken quote: stop here.
                let line = reader.get_mut().line_of(e.position());
                errors.push(csv_error(name, line, &e));
                break;
            }
        }
        if is_blank(&record) {
            continue;
        }
        sheet.count += 1;
        let line = reader.get_mut().line_of(record.position());
        if budget.is_spent() {
            // Too many rows for a program file already: only counted now.
            continue;
        }
        let Some(row) = row(name, line, &names, &record, &mut errors) else {
            continue;
        };
        budget.used += (columns.toml_floor)(&row) as u64;
        if budget.is_spent() {
            sheet.overflow = Some(line);
            sheet.rows = Vec::new();
            continue;
        }
        sheet.rows.push(row);
    }
    (sheet, errors)
}

/// One record under the header as a row; `None` (with the problem in `errors`) when it
/// has fields beyond the header's, a value in a column without a name, or is not UTF-8.
fn row(
    name: &str,
    line: u64,
    names: &[Option<&'static str>],
    record: &csv::ByteRecord,
    errors: &mut Vec<RowError>,
) -> Option<Row> {
    if record.len() > names.len() && record.iter().skip(names.len()).any(|f| !f.is_empty()) {
        errors.push(RowError::new(
            name,
            line,
            None,
            format!(
                "the row has {} fields, the header names {}",
                record.len(),
                names.len()
            ),
            "a comma (or `;`) inside a value needs the value in double quotes: \"Lead a review; ship the runbook\"",
        ));
        return None;
    }
    let mut cells = Vec::new();
    let mut utf8 = true;
    let mut unnamed = false;
    for (column, field) in names.iter().zip(record.iter()) {
        let Ok(text) = std::str::from_utf8(field) else {
            utf8 = false;
            break;
        };
        let text = text.trim();
        match column {
            _ if text.is_empty() => {}
            Some(column) => cells.push((*column, text.to_string())),
            None => unnamed = true,
        }
    }
    if unnamed {
        errors.push(RowError::new(
            name,
            line,
            None,
            "the row has a value in a column without a name",
            "name the column in the header line, or delete the value",
        ));
        return None;
    }
    if !utf8 {
        errors.push(RowError::new(
            name,
            line,
            None,
            "the row is not valid UTF-8",
            "export the sheet as \"CSV UTF-8\" (Excel) or with the UTF-8 character set",
        ));
        return None;
    }
    Some(Row {
        line,
        cells: cells.into_boxed_slice(),
    })
}

fn is_blank(record: &csv::ByteRecord) -> bool {
    record.iter().all(|f| f.trim_ascii().is_empty())
}

fn csv_error(name: &str, line: u64, error: &csv::Error) -> RowError {
    RowError::new(
        name,
        line,
        None,
        format!("the file cannot be read as CSV here: {error}"),
        "check the quotes on this line: a value in quotes must end with a quote, and a quote inside it is written twice (\"\")",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: Columns = Columns {
        known: &[&["id", "name", "email", "quiet_hours"]],
        required: &["name", "email"],
        aliases: &[("e_mail", "email")],
        // A row counts its cells' bytes.
        toml_floor: |row| row.cells.iter().map(|(_, text)| text.len()).sum(),
    };

    type Cells = Vec<(&'static str, String)>;

    fn rows(text: &str) -> (Vec<(u64, Cells)>, Vec<String>) {
        let (sheet, errors) = parse(
            "p.csv",
            text.as_bytes(),
            &COLUMNS,
            &mut Budget::new(1 << 40),
        );
        (
            sheet
                .rows
                .into_iter()
                .map(|r| (r.line, r.cells.into_vec()))
                .collect(),
            errors.iter().map(|e| e.to_string()).collect(),
        )
    }

    #[test]
    fn headers_match_without_case_spaces_or_bom() {
        let (rows, errors) =
            rows("\u{feff} Name ;E-Mail;Quiet Hours\nAda;ada@example.org; 22:00-07:00 \n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            rows,
            vec![(
                2,
                vec![
                    ("name", "Ada".to_string()),
                    ("email", "ada@example.org".to_string()),
                    ("quiet_hours", "22:00-07:00".to_string())
                ]
            )]
        );
    }

    #[test]
    fn quoted_fields_keep_commas_and_line_breaks_and_lines_count_from_the_file() {
        let (rows, errors) = rows(
            "name,email\n\"Hopper, Grace\",grace@example.org\n\"Two\nlines \"\"quoted\"\"\",a@example.org\nAlan,alan@example.org\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, vec![2, 3, 5]);
        assert_eq!(rows[0].1[0].1, "Hopper, Grace");
        assert_eq!(rows[1].1[0].1, "Two\nlines \"quoted\"");
    }

    #[test]
    fn lines_count_across_crlf_blank_lines_and_quoted_breaks() {
        let (rows, errors) = rows(
            "name,email\r\n\r\nAda,a@x.org\r\n\"Two\r\nlines\",b@x.org\r\n\r\n\r\nAlan,c@x.org\r\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, vec![3, 4, 8]);
        assert_eq!(rows[1].1[0].1, "Two\r\nlines");
    }

    #[test]
    fn a_bad_header_is_named() {
        let (_, errors) = rows("nam,email,name,timezone\n");
        assert_eq!(
            errors,
            vec![
                "p.csv:1: error: unknown column \"nam\"\n  = help: did you mean \"name\"? Otherwise delete the column",
                "p.csv:1: error: unknown column \"timezone\"\n  = help: delete the column, or rename it to one of: id, name, email, quiet_hours",
            ]
        );
        let (_, errors) = rows("name\nAda\n");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("no \"email\" column"), "{errors:?}");
    }

    #[test]
    fn blank_rows_are_skipped_and_extra_fields_refused() {
        let (rows, errors) = rows("name,email\n,\n\nAda,ada@example.org,extra\nAlan,a@b.org,\n");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 5);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("p.csv:4: error: the row has 3 fields"));
    }

    #[test]
    fn invalid_utf8_names_the_row() {
        let (sheet, errors) = parse(
            "p.csv",
            &b"name,email\nJos\xe9,j@example.org\n"[..],
            &COLUMNS,
            &mut Budget::new(1 << 40),
        );
        assert!(sheet.rows.is_empty());
        assert!(
            errors[0]
                .to_string()
                .starts_with("p.csv:2: error: the row is not valid UTF-8")
        );
    }

    /// Rows are kept while their TOML fits; from the row that spends the budget on, they
    /// are only counted, and those kept are let go.
    #[test]
    fn rows_past_the_budget_are_counted_not_kept() {
        let text = "name,email\nAda,a@x.org\nAlan,b@x.org\n\nGrace,c@x.org\nLinus,d@x.org\n";
        let mut budget = Budget::new(30);
        let (sheet, errors) = parse("p.csv", text.as_bytes(), &COLUMNS, &mut budget);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(sheet.count, 4);
        assert_eq!(sheet.overflow, Some(5));
        assert!(sheet.rows.is_empty());
        assert!(budget.is_spent());
        // A second sheet against the spent budget: counted only, no overflow of its own.
        let (pairs, _) = parse("q.csv", text.as_bytes(), &COLUMNS, &mut budget);
        assert_eq!(
            (pairs.count, pairs.overflow, pairs.rows.len()),
            (4, None, 0)
        );
    }
}
