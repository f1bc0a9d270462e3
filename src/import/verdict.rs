//! The loader's verdict on the TOML an import writes: the text, behind a small
//! `[program]` head, goes through [`crate::program::parse`] like any program file, and
//! each problem is named by the sheet row (and column) its place in the text came from.
//! So a sheet passes exactly the checks `mentord check` makes on people and pairs:
//! zones, addresses, names, times, cadences, durations, statuses.
//!
//! The head has no `[defaults]`: rows are checked against the built-in ones (every two
//! weeks, 10:00, 45 minutes, …). A program whose `[defaults]` differ (say `every =
//! "month"`) may accept or refuse a cadence differently; `mentord check` on the
//! program with the rows appended is the last word.

use std::path::Path;

use super::RowError;
use super::emit::Emitted;
use super::toml_text::{key, quoted};
use crate::diagnostic::Diagnostic;

/// The problems the loader finds in `emitted`, by sheet row. `coordinator` is the key
/// of a person in the text: the head must name one. The head is put in front of the
/// text for the check and taken off again, so the text is not copied.
pub fn check(emitted: &mut Emitted, coordinator: &str, names: &[String; 2]) -> Vec<RowError> {
    let head = format!(
        "[program]\nname = \"mentord import\"\ntimezone = \"UTC\"\nstart = 2000-01-03\ncoordinator = {}\norganizer = {{ name = \"mentord import\", email = \"import@example.org\" }}\n",
        quoted(coordinator)
    );
    // The coordinator's key is written the way the people table writes it.
    debug_assert!(
        emitted
            .text
            .contains(&format!("[people.{}]", key(coordinator)))
    );
    emitted.text.insert_str(0, &head);
    let parsed = crate::program::parse(&emitted.text, Path::new("."));
    emitted.text.drain(..head.len());
    match parsed {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics
            .into_iter()
            .map(|d| name_row(d, head.len(), emitted, names))
            .collect(),
    }
}

fn name_row(
    diagnostic: Diagnostic,
    head: usize,
    emitted: &Emitted,
    names: &[String; 2],
) -> RowError {
    let help = diagnostic.help.unwrap_or_default();
    let message = in_sheet_words(&diagnostic.message);
    match diagnostic
        .span
        .start
        .checked_sub(head)
        .and_then(|offset| emitted.place(offset))
    {
        Some((row, column)) => RowError {
            file: names[row.sheet].clone(),
            line: row.line,
            column,
            message,
            help,
        },
        // Only the head, which is ours, could be at fault: say so rather than hide it.
        None => RowError {
            file: names[0].clone(),
            line: 1,
            column: None,
            message: format!("mentord import wrote a program head the loader refuses: {message}"),
            help: "this is a bug in mentord import; please report it with the sheet".into(),
        },
    }
}

/// The loader names a pair by its place among the `[[pairs]]` (`[[pairs]] #12`), which
/// means nothing in a sheet: the line already says which pair it is.
fn in_sheet_words(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("[[pairs]] #") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "[[pairs]] #".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str("this pair");
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_named_by_their_row() {
        assert_eq!(
            in_sheet_words("[[pairs]] #12 is missing `mentor`"),
            "this pair is missing `mentor`"
        );
        assert_eq!(in_sheet_words("no pair here"), "no pair here");
    }
}
