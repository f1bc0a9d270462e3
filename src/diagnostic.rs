//! Errors about the program file, each located by a byte span and rendered like a
//! compiler error: `file:line:column: error: what`, the offending line with the span
//! underlined, and a `help:` line saying how to fix it.
//!
//! Validation pushes into a [`Diagnostics`] list instead of returning at the first
//! problem, so a coordinator sees every mistake in one run.

use std::fmt::Write as _;
use std::ops::Range;

/// A byte range into the program file.
pub type Span = Range<usize>;

/// What is wrong with a value and how to fix it, before anyone knows where it was
/// written: the parsers of values (`program::values`, `recurrence`, `cron`) return it,
/// the loader adds the location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub message: String,
    pub help: String,
}

pub(crate) fn invalid(message: impl Into<String>, help: impl Into<String>) -> ValueError {
    ValueError {
        message: message.into(),
        help: help.into(),
    }
}

/// The closest candidate within a small edit distance (Levenshtein, counted in
/// characters), if any: the "did you mean" of misspelt keys, sections, ids and zones.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// One problem found in the program file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
}

/// Every problem found in one file, in the order they were found.
///
/// A large file is parsed in segments (see `program::segments`); while one is read,
/// `base` is its offset in the file, and spans given to [`Diagnostics::error`] are
/// relative to it. Spans kept for later must go through [`Diagnostics::absolute`].
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    /// Worth saying, not worth refusing the file for.
    warnings: Vec<Diagnostic>,
    base: usize,
}

impl Diagnostics {
    /// Records a problem at `span`; chain [`Diagnostic::help`] through the returned value.
    pub fn error(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        let span = self.absolute(span);
        self.items.push(Diagnostic {
            span,
            message: message.into(),
            help: None,
        });
        let last = self.items.len() - 1;
        &mut self.items[last]
    }

    /// Records something worth a coordinator's attention that does not make the file
    /// invalid (a legacy zone name, say).
    pub fn warning(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        let span = self.absolute(span);
        self.warnings.push(Diagnostic {
            span,
            message: message.into(),
            help: None,
        });
        let last = self.warnings.len() - 1;
        &mut self.warnings[last]
    }

    /// The warnings, in file order.
    pub fn take_warnings(&mut self) -> Vec<Diagnostic> {
        let mut warnings = std::mem::take(&mut self.warnings);
        warnings.sort_by_key(|d| d.span.start);
        warnings
    }

    /// Makes spans of the segment being read relative to the whole file.
    pub fn set_base(&mut self, base: usize) {
        self.base = base;
    }

    pub fn absolute(&self, span: Span) -> Span {
        span.start + self.base..span.end + self.base
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Errors in file order, so the output reads top to bottom.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by_key(|d| d.span.start);
        self.items
    }
}

impl Diagnostic {
    pub fn help(&mut self, help: impl Into<String>) -> &mut Self {
        self.help = Some(help.into());
        self
    }
}

/// The text of a program file with its name, for turning spans into lines and columns.
#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = self.clamp(offset);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let column = self.text[start..offset].chars().count() + 1;
        (line + 1, column)
    }

    fn clamp(&self, mut offset: usize) -> usize {
        offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// Renders one error: location line, source line, underline and help.
    pub fn render(&self, diagnostic: &Diagnostic) -> String {
        self.render_as("error", diagnostic)
    }

    /// Renders a diagnostic with its label (`error`, `warning`).
    pub fn render_as(&self, label: &str, diagnostic: &Diagnostic) -> String {
        let (line, column) = self.line_column(diagnostic.span.start);
        let mut out = format!(
            "{}:{}:{}: {label}: {}\n",
            self.name, line, column, diagnostic.message
        );
        let source_line = self.line_text(line);
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let shown: String = source_line
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let line_chars = shown.chars().count();
        // Underline only the part of the span on this line, at least one caret.
        let end = self.clamp(diagnostic.span.end.max(diagnostic.span.start));
        let (end_line, end_column) = self.line_column(end);
        let last_column = if end_line == line {
            end_column
        } else {
            line_chars + 1
        };
        let width = last_column.saturating_sub(column).max(1);
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{line} | {shown}");
        let _ = writeln!(
            out,
            "{pad} | {}{}",
            " ".repeat(column - 1),
            "^".repeat(width)
        );
        if let Some(help) = &diagnostic.help {
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_not_bytes() {
        let file = SourceFile::new("f.toml", "a = 1\nname = \"Zoë\" x\n");
        assert_eq!(file.line_column(0), (1, 1));
        assert_eq!(file.line_column(6), (2, 1));
        let x = file.text.find(" x").unwrap() + 1;
        assert_eq!(file.line_column(x), (2, 14));
    }

    #[test]
    fn render_underlines_the_span() {
        let file = SourceFile::new("f.toml", "[program]\ntimezone = \"Mars/Base\"\n");
        let start = file.text.find("\"Mars").unwrap();
        let diagnostic = Diagnostic {
            span: start..start + 11,
            message: "unknown time zone".into(),
            help: Some("use an IANA name".into()),
        };
        let text = file.render(&diagnostic);
        assert_eq!(
            text,
            "f.toml:2:12: error: unknown time zone\n  |\n2 | timezone = \"Mars/Base\"\n  |            ^^^^^^^^^^^\n  = help: use an IANA name\n"
        );
    }

    #[test]
    fn span_past_the_end_does_not_panic() {
        let file = SourceFile::new("f.toml", "é");
        let text = file.render(&Diagnostic {
            span: 1..99,
            message: "m".into(),
            help: None,
        });
        assert!(text.starts_with("f.toml:1:1: error: m"));
    }
}
