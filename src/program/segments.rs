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
//! document (a section written twice, a person defined twice).

use std::ops::Range;

use toml_parser::Source;
use toml_parser::lexer::TokenKind;

/// Segments of roughly `target` bytes (never splitting inside a table), covering `text`.
pub fn segments(text: &str, target: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut segment_start = 0;
    let mut depth = 0usize;
    let mut line_start = true;
    let mut in_header = false;
    for token in Source::new(text).lex() {
        let span = token.span();
        match token.kind() {
            TokenKind::Newline => {
                line_start = true;
                in_header = false;
                continue;
            }
            TokenKind::Whitespace | TokenKind::Comment => continue,
            TokenKind::LeftSquareBracket if depth == 0 && line_start && !in_header => {
                in_header = true;
                if span.start() - segment_start >= target {
                    out.push(segment_start..span.start());
                    segment_start = span.start();
                }
            }
            _ if in_header => {}
            TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => depth += 1,
            TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        line_start = false;
    }
    out.push(segment_start..text.len());
    out
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
