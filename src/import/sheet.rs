//! One spreadsheet export read into rows of named cells, each row with the line of the
//! file it starts on. Header names are matched without case, surrounding spaces or the
//! difference between `quiet hours`, `quiet-hours` and `quiet_hours`; a UTF-8 byte order
//! mark is dropped; fields may be quoted (commas, line breaks and `""` inside quotes).
//! Excel in many European locales writes `;` between fields: the header line decides.

use std::path::Path;

use super::RowError;
use crate::diagnostic::closest;

/// The largest sheet read: far above any real export, and a wrong path (a log, a
/// device) is refused before it fills the memory.
const MAX_SHEET_BYTES: u64 = 64 * 1024 * 1024;

/// What a sheet may hold: its columns, the required ones among them, and other spellings
/// exports use for some of them.
#[derive(Debug)]
pub struct Columns {
    /// The column names, in groups (a group may be a list the program file shares).
    pub known: &'static [&'static [&'static str]],
    pub required: &'static [&'static str],
    pub aliases: &'static [(&'static str, &'static str)],
}

impl Columns {
    /// Every known column, in order.
    fn names(&self) -> impl Iterator<Item = &'static str> + Clone {
        self.known.iter().flat_map(|group| group.iter().copied())
    }

    fn listed(&self) -> String {
        self.names().collect::<Vec<_>>().join(", ")
    }
}

/// A sheet as read: its name for messages and its rows.
#[derive(Debug)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Row>,
    /// The header line was read and names the required columns.
    pub header_ok: bool,
}

/// One row: its line and its non-empty cells, trimmed, by column name.
#[derive(Debug)]
pub struct Row {
    pub line: u64,
    cells: Vec<(&'static str, String)>,
}

impl Row {
    pub fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the sheet at `path`. The outer error is a file that cannot be read at all
/// (a usage error); problems inside it are returned with the rows that could be read.
pub fn read(path: &Path, columns: &Columns) -> std::io::Result<(Sheet, Vec<RowError>)> {
    let bytes = read_bounded(path)?;
    let name = path.display().to_string();
    Ok(parse(&name, &bytes, columns))
}

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let refuse = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(refuse("it is not a regular file"));
    }
    if meta.len() > MAX_SHEET_BYTES {
        return Err(refuse("it is larger than the 64 MB a sheet may be"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)?
        .take(MAX_SHEET_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SHEET_BYTES {
        return Err(refuse("it is larger than the 64 MB a sheet may be"));
    }
    Ok(bytes)
}

/// Parses the bytes of a sheet named `name`.
pub fn parse(name: &str, bytes: &[u8], columns: &Columns) -> (Sheet, Vec<RowError>) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut errors = Vec::new();
    let mut sheet = Sheet {
        name: name.to_string(),
        rows: Vec::new(),
        header_ok: false,
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(bytes))
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header = loop {
        match records.next() {
            None => {
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
            Some(Err(e)) => {
                errors.push(csv_error(name, Lines::new(bytes).of(e.position()), &e));
                return (sheet, errors);
            }
            Some(Ok(record)) if is_blank(&record) => continue,
            Some(Ok(record)) => break record,
        }
    };
    let mut lines = Lines::new(bytes);
    let header_line = lines.of(header.position());
    let Some(names) = read_header(name, header_line, &header, columns, &mut errors) else {
        return (sheet, errors);
    };
    sheet.header_ok = true;
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                // The reader cannot resynchronise after a broken quote: stop here.
                errors.push(csv_error(name, lines.of(e.position()), &e));
                break;
            }
        };
        if is_blank(&record) {
            continue;
        }
        let line = lines.of(record.position());
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
            continue;
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
            continue;
        }
        if !utf8 {
            errors.push(RowError::new(
                name,
                line,
                None,
                "the row is not valid UTF-8",
                "export the sheet as \"CSV UTF-8\" (Excel) or with the UTF-8 character set",
            ));
            continue;
        }
        sheet.rows.push(Row { line, cells });
    }
    (sheet, errors)
}

/// Line numbers of records, counted here: the csv crate's own count is off after a
/// `\r\n` or a blank line, and the position it gives for a record is where the line
/// break before it began. Records come in file order, so counting goes on from the
/// last one.
struct Lines<'b> {
    bytes: &'b [u8],
    offset: usize,
    line: u64,
}

impl<'b> Lines<'b> {
    fn new(bytes: &'b [u8]) -> Self {
        Lines {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The 1-based line a record starting at `position` begins on.
    fn of(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(position) = position else {
            return self.line;
        };
        let mut start = (position.byte() as usize).min(self.bytes.len());
        while self
            .bytes
            .get(start)
            .is_some_and(|b| matches!(b, b'\r' | b'\n'))
        {
            start += 1;
        }
        if start >= self.offset {
            let breaks = self.bytes[self.offset..start]
                .iter()
                .filter(|&&b| b == b'\n');
            self.line += breaks.count() as u64;
            self.offset = start;
        }
        self.line
    }
}

/// `,` unless the header line holds more `;` or tabs than commas.
fn delimiter(bytes: &[u8]) -> u8 {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |d: u8| first.iter().filter(|&&b| b == d).count();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (count(d), d == b','))
        .unwrap_or(b',')
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

/// Column names in file order; `None` for an empty header cell (a value under it is
/// refused). `None` overall when the header is unusable.
fn read_header(
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

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: Columns = Columns {
        known: &[&["id", "name", "email", "quiet_hours"]],
        required: &["name", "email"],
        aliases: &[("e_mail", "email")],
    };

    type Cells = Vec<(&'static str, String)>;

    fn rows(text: &str) -> (Vec<(u64, Cells)>, Vec<String>) {
        let (sheet, errors) = parse("p.csv", text.as_bytes(), &COLUMNS);
        (
            sheet.rows.into_iter().map(|r| (r.line, r.cells)).collect(),
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
        let (sheet, errors) = parse("p.csv", b"name,email\nJos\xe9,j@example.org\n", &COLUMNS);
        assert!(sheet.rows.is_empty());
        assert!(
            errors[0]
                .to_string()
                .starts_with("p.csv:2: error: the row is not valid UTF-8")
        );
    }
}
