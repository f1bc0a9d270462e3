//! Writing people and pairs as TOML, and remembering where each row and cell landed so
//! a problem the loader finds in the text can be named by the sheet's file and line.

use super::pairs::Pair;
use super::people::People;
use super::toml_text::{key, list, quoted};

/// The TOML for the sheets, and where each row is in it.
#[derive(Debug)]
pub struct Emitted {
    pub text: String,
    /// In text order.
    pub rows: Vec<Placed>,
}

/// One row's place in the text.
#[derive(Debug)]
pub struct Placed {
    pub start: usize,
    /// Which sheet: 0 people, 1 pairs.
    pub sheet: usize,
    pub line: u64,
    /// Where each `key = value` line starts, and its column, in text order.
    pub keys: Vec<(usize, &'static str)>,
}

impl Emitted {
    /// The row and column behind byte `offset` of the text.
    pub fn place(&self, offset: usize) -> Option<(&Placed, Option<&'static str>)> {
        let row = self
            .rows
            .partition_point(|r| r.start <= offset)
            .checked_sub(1)?;
        let placed = &self.rows[row];
        let key = placed.keys.partition_point(|(start, _)| *start <= offset);
        let column = key.checked_sub(1).map(|k| placed.keys[k].1);
        Some((placed, column))
    }
}

/// Writes every person, then every pair; `names` are the sheets' names, for the comment
/// on top.
pub fn emit(people: &People, pairs: &[Pair], names: &[String; 2]) -> Emitted {
    let mut out = Writer {
        // Room for the head `verdict` puts in front, so that needs no second copy.
        text: String::with_capacity(1024 + people.list.len() * 120 + pairs.len() * 160),
        rows: Vec::with_capacity(people.list.len() + pairs.len()),
    };
    let sources: Vec<String> = names
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| {
            n.chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect()
        })
        .collect();
    out.text.push_str(&format!(
        "# People and pairs from {}, by `mentord import`.\n# Append them to a program file that has [program] and [defaults].\n",
        sources.join(" and ")
    ));
    for person in &people.list {
        out.row(0, person.line, &format!("[people.{}]", key(&person.key)));
        out.string("name", person.name.as_deref());
        out.string("email", person.email.as_deref());
        out.string("timezone", person.timezone.as_deref());
        out.string("quiet_hours", person.quiet_hours.as_deref());
    }
    for pair in pairs {
        out.row(1, pair.line, "[[pairs]]");
        out.string("id", pair.id.as_deref());
        out.string("mentor", pair.mentor.as_deref());
        out.string("mentee", pair.mentee.as_deref());
        out.raw("start", pair.start.as_deref());
        out.raw("end", pair.end.as_deref());
        for (column, text) in &pair.text {
            out.string(column, Some(text));
        }
        if !pair.goals.is_empty() {
            out.raw("goals", Some(&list(&pair.goals)));
        }
    }
    Emitted {
        text: out.text,
        rows: out.rows,
    }
}

struct Writer {
    text: String,
    rows: Vec<Placed>,
}

impl Writer {
    fn row(&mut self, sheet: usize, line: u64, header: &str) {
        self.text.push('\n');
        self.rows.push(Placed {
            start: self.text.len(),
            sheet,
            line,
            keys: Vec::new(),
        });
        self.text.push_str(header);
        self.text.push('\n');
    }

    fn string(&mut self, column: &'static str, value: Option<&str>) {
        if let Some(value) = value {
            self.raw(column, Some(&quoted(value)));
        }
    }

    /// A `column = value` line with the value already in TOML syntax.
    fn raw(&mut self, column: &'static str, value: Option<&str>) {
        let Some(value) = value else { return };
        if let Some(row) = self.rows.last_mut() {
            row.keys.push((self.text.len(), column));
        }
        self.text.push_str(column);
        self.text.push_str(" = ");
        self.text.push_str(value);
        self.text.push('\n');
    }
}
