//! Text that came from outside (a kept mail's sender and subject, a bounce report's
//! status, a relay's error, a person's name from a sign-up sheet) made inert before it
//! is shown (docs/serving.md): `mentord status` (table, JSON, CSV), the coordinator's page and
//! the action links' pages all show it through [`visible`], so a subject cannot start a
//! new line in a terminal, turn the rest of a line around, or hide what it says.
//!
//! Control characters (CR, LF, tab, ESC, C1, …) and the hidden characters the program
//! file already refuses in names ([`crate::program::values::hidden`]: bidirectional
//! overrides and isolates U+202A–U+202E, U+2066–U+2069, the marks U+200E, U+200F,
//! U+061C, line separators, zero-width characters) are written as `<U+XXXX>`, the
//! notation the loader's own errors use. Everything else, including every script and
//! emoji, stays as it is.
//!
//! [`csv_cell`] adds what a spreadsheet needs: a cell that starts like a formula
//! (`=`, `+`, `-`, `@`, tab, CR) gets a leading `'`, which spreadsheets show as text.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::program::values::hidden;

/// `text` with every control and hidden character written as `<U+XXXX>`; borrowed
/// when there is none (nearly always).
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_showing) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_showing(c) {
            let _ = write!(out, "<U+{:04X}>", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`visible`], owned: for the report's fields.
pub fn shown(text: &str) -> String {
    visible(text).into_owned()
}

fn needs_showing(c: char) -> bool {
    c.is_control() || hidden(c, false).is_some()
}

/// One CSV cell: [`visible`], and a leading `'` when a spreadsheet would read the cell
/// as a formula (OWASP's "CSV injection").
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let text = visible(text);
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_text_is_shown_inert() {
        for (given, shown) in [
            ("Hello there", "Hello there"),
            ("Grüße, 你好 👋🏽", "Grüße, 你好 👋🏽"),
            (
                "hi\r\nbouncing: evil@example.org",
                "hi<U+000D><U+000A>bouncing: evil@example.org",
            ),
            ("invoice\u{202E}fdp.exe", "invoice<U+202E>fdp.exe"),
            (
                "\u{2066}a\u{2069}\u{200E}\u{200F}\u{061C}",
                "<U+2066>a<U+2069><U+200E><U+200F><U+061C>",
            ),
            ("tab\there\u{1b}[31m", "tab<U+0009>here<U+001B>[31m"),
            ("\u{85}next\u{2028}line", "<U+0085>next<U+2028>line"),
            ("zero\u{200B}width", "zero<U+200B>width"),
        ] {
            assert_eq!(visible(given), shown, "{given:?}");
        }
        assert!(matches!(visible("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn cells_that_look_like_formulas_are_text() {
        for (given, cell) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "<U+0009>=1"),
            ("\r=1", "<U+000D>=1"),
            ("Ada Lovelace", "Ada Lovelace"),
            ("2027-01-12", "2027-01-12"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(given), cell, "{given:?}");
        }
    }
}
