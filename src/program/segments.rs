//! Splitting a large program file into runs of whole top-level tables.
//!
//! A 50,000-pair file is 20 MB of TOML; parsed in one piece its token list and spanned
//! tree take hundreds of megabytes. Parsed a segment at a time, each segment's tree is
//! turned into owned values and dropped before the next, so memory stays flat.
//!
//! A split happens only before a table header (`[x]` or `[[x]]`) that starts a line
//! outside any array or inline table, as the lexer sees it (strings are single tokens,
//! so brackets inside strings never count). Any such header starts a self-contained
//! TOML document; the loader checks across segments what the parser would check in one
//! document (a section written twice, a person defined twice, `people` or `pairs` written
//! in a form another segment cannot add to: [`extendable`]).

use std::ops::Range;

use toml::Spanned;
use toml::de::DeValue;
use toml_parser::Source;
use toml_parser::lexer::TokenKind;

/// Segments of roughly `target` bytes (never splitting inside a table), covering `text`.
pub(crate) fn segments(text: &str, target: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut segment_start = 0;
    for start in header_starts(text) {
        if start - segment_start >= target {
            out.push(segment_start..start);
            segment_start = start;
        }
    }
    out.push(segment_start..text.len());
    out
}

/// Where each top-level table header (`[x]` or `[[x]]`) starts in `text`, in order, as
/// the lexer sees them (lazily: a caller may stop early).
pub(crate) fn header_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    let mut depth = 0usize;
    let mut line_start = true;
    let mut in_header = false;
    Source::new(text).lex().filter_map(move |token| {
        let span = token.span();
        let mut found = None;
        match token.kind() {
            TokenKind::Newline => {
                line_start = true;
                in_header = false;
                return None;
            }
            TokenKind::Whitespace | TokenKind::Comment => return None,
            TokenKind::LeftSquareBracket if depth == 0 && line_start && !in_header => {
                in_header = true;
                found = Some(span.start());
            }
            _ if in_header => {}
            TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => depth += 1,
            TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        line_start = false;
        found
    })
}

/// Whether `people` or `pairs` as one segment wrote them can simply be joined to
/// another segment's: tables made by `[people.ID]` headers (or dotted keys), arrays made
/// by `[[pairs]]` headers. Anything else goes to a single-piece parse: `[people]` twice,
/// `pairs = [...]` and then `[[pairs]]`, `[pairs.x]` after a `[[pairs]]` are one TOML
/// table or array there (or an error); an explicit `[people]` beside `[people.ID]` is
/// valid but rare, and not told apart. The parser gives a table it made for a header's
/// path the span of its key, and an array of tables the span of its first header
/// (`segments_agree` fails should a new `toml` change that).
pub(crate) fn extendable(
    name: &str,
    key_span: &Range<usize>,
    value: &Spanned<DeValue<'_>>,
) -> bool {
    match (name, value.get_ref()) {
        ("people", DeValue::Table(_)) => value.span() == *key_span,
        ("pairs", DeValue::Array(items)) => items.first().is_some_and(|t| t.span() == value.span()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str, target: usize) -> Vec<&str> {
        segments(text, target)
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    #[test]
    fn splits_only_before_top_level_headers() {
        let text = "a = 1\n[x]\nb = [\n[1],\n]\ns = \"\"\"\n[not]\n\"\"\"\n  [[y]]\nc = { d = [1] }\n[z]\n";
        assert_eq!(
            pieces(text, 1),
            [
                "a = 1\n",
                "[x]\nb = [\n[1],\n]\ns = \"\"\"\n[not]\n\"\"\"\n  ",
                "[[y]]\nc = { d = [1] }\n",
                "[z]\n"
            ]
        );
    }

    #[test]
    fn large_target_keeps_one_segment() {
        let text = "[x]\na = 1\n[y]\n";
        assert_eq!(pieces(text, 1 << 20), [text]);
    }
}
