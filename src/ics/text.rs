//! The lexical layer of RFC 5545: escaped TEXT values, quoted parameters, and content
//! lines folded at 75 octets (never inside a UTF-8 character) with CRLF line ends.

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma, newline.
/// CR is dropped, so CRLF and LF both become one `\n`.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A parameter value, always quoted (RFC 5545 §3.2). A quoted value cannot hold a
/// double quote or a control character: those become `'` and a space. (RFC 6868's
/// `^'` escape is not read by every client.)
pub fn quote_param(value: &str) -> String {
    let inner: String = value
        .chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    format!("\"{inner}\"")
}

/// A calendar being written: content lines, folded, CRLF-terminated.
#[derive(Debug, Default)]
pub struct Lines {
    out: String,
}

/// RFC 5545 §3.1: lines SHOULD NOT be longer than 75 octets, excluding the line break.
const MAX_OCTETS: usize = 75;

impl Lines {
    /// Adds `NAME[;PARAMS]:VALUE` with `value` already in its wire form.
    pub fn raw(&mut self, name: &str, value: &str) {
        let line = format!("{name}:{value}");
        self.fold(&line);
    }

    /// Adds a TEXT property, escaping `text`.
    pub fn text(&mut self, name: &str, text: &str) {
        self.raw(name, &escape_text(text));
    }

    fn fold(&mut self, line: &str) {
        let mut rest = line;
        let mut limit = MAX_OCTETS;
        loop {
            if rest.len() <= limit {
                self.out.push_str(rest);
                self.out.push_str("\r\n");
                return;
            }
            let mut cut = limit;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            self.out.push_str(&rest[..cut]);
            self.out.push_str("\r\n ");
            rest = &rest[cut..];
            // The leading space of a continuation line counts toward its 75 octets.
            limit = MAX_OCTETS - 1;
        }
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text() {
        assert_eq!(escape_text("a\\b;c,d\r\ne\nf"), "a\\\\b\\;c\\,d\\ne\\nf");
    }

    #[test]
    fn quotes_params() {
        assert_eq!(
            quote_param("Hopper, Grace \"Amazing\""),
            "\"Hopper, Grace 'Amazing'\""
        );
    }

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let mut lines = Lines::default();
        let long = "é".repeat(100);
        lines.text("SUMMARY", &long);
        let out = lines.finish();
        assert!(out.ends_with("\r\n"));
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets", line.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("SUMMARY:{long}\r\n"));
    }
}
