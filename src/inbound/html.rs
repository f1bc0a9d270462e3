//! A small HTML→text converter for reply bodies (no HTML crate): it keeps the
//! line structure a reader sees, marks blockquotes with "> " so the trimmer
//! can drop them, and cuts at the containers mail clients wrap quoted history
//! in, so the history never reaches the text.
//!
//! Not a browser: one forward pass over the bytes, no tree, no recursion.
//! Every look-ahead either consumes what it scanned or ends the conversion
//! (an unterminated tag, comment or `<style>` swallows the rest, as it does in
//! browsers), so the work is linear in the input and nothing can panic on
//! broken markup.
//!
//! Cuts:
//! * hard (stop here): Gmail `gmail_quote` / `gmail_quote_container`,
//!   Outlook `id="appendonsend"` and `id="divRplyFwdMsg"`, Yahoo
//!   `yahoo_quoted`.
//! * soft: Thunderbird's `moz-cite-prefix` and `<blockquote type="cite">`
//!   (Thunderbird, Apple Mail). If the sender writes nothing after them, the
//!   output is cut where they began; if they answer below (an inline reply),
//!   the quotes stay in as "> " lines and `trim` drops them.
//!
//! `<p>` with Outlook's `MsoNormal` class is one line (Outlook draws those
//! without margins); other paragraphs are followed by a blank line.

mod markup;

use markup::{Markup, Tag, decode_entities, find_byte, parse_markup, skip_raw_text};

/// Quote prefixes beyond this depth are not written; the trimmer only needs
/// one `>` and a deep nest must not blow up the output.
const MAX_QUOTE_PREFIX: usize = 8;

/// Converts an HTML body to plain text (see module docs).
pub fn to_text(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut w = Writer::default();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            let next = find_byte(bytes, i, b'<').unwrap_or(bytes.len());
            w.text(&decode_entities(&html[i..next]));
            i = next;
            continue;
        }
        match parse_markup(html, i) {
            Markup::Literal => {
                w.text("<");
                i += 1;
            }
            Markup::Skip(end) => i = end,
            Markup::Unterminated => break,
            Markup::Tag(tag, end) => {
                i = end;
                match w.tag(&tag) {
                    Flow::Continue => {}
                    Flow::Stop => break,
                    Flow::SkipRawText => match skip_raw_text(html, i, &tag.name) {
                        Some(after) => i = after,
                        None => break,
                    },
                }
            }
        }
    }
    w.finish()
}

/// What the converter does after a tag.
#[derive(Debug)]
enum Flow {
    Continue,
    /// A reply container: nothing after it is new text.
    Stop,
    /// `<style>`, `<script>`, `<title>`: skip to the matching end tag.
    SkipRawText,
}

/// Elements that start and end on their own line.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
];

/// Output state. Counters instead of a stack: broken nesting only skews
/// a counter, it cannot overflow anything.
#[derive(Debug, Default)]
struct Writer {
    out: String,
    /// Current line has visible content (quote prefix excluded).
    line_has_text: bool,
    /// Collapsed whitespace waiting to become one space.
    pending_space: bool,
    quote_depth: usize,
    pre_depth: usize,
    in_head: bool,
    div_depth: usize,
    /// `div_depth` outside the open `moz-cite-prefix` div, if any.
    cite_prefix_at: Option<usize>,
    /// Output length where quoted history (soft cut) began.
    pending_cut: Option<usize>,
    /// The open `<p>` is Outlook's margin-less `MsoNormal`.
    p_is_mso: bool,
    /// The current line holds only a list item's "- ": a block that opens inside the
    /// item (Outlook on the web's `<li><div>…</div></li>`) continues it.
    at_list_marker: bool,
}

impl Writer {
    fn tag(&mut self, tag: &Tag) -> Flow {
        if !tag.is_end && tag.is_hard_cut() {
            return Flow::Stop;
        }
        let name = tag.name.as_str();
        match (name, tag.is_end) {
            ("style" | "script" | "title" | "xml", false) => return Flow::SkipRawText,
            ("head", false) => self.in_head = true,
            ("head", true) | ("body", false) => self.in_head = false,
            _ => {}
        }
        if BLOCKS.contains(&name) {
            // Only a block opening inside a list item continues its "- " line.
            if tag.is_end || name == "li" {
                self.at_list_marker = false;
            }
            self.line_break();
        }
        if tag.is_end {
            self.end_tag(name);
        } else {
            self.start_tag(tag);
        }
        Flow::Continue
    }

    fn start_tag(&mut self, tag: &Tag) {
        match tag.name.as_str() {
            "br" => self.hard_break(),
            "li" => {
                self.text_raw("- ");
                self.at_list_marker = true;
            }
            "td" | "th" => self.pending_space = self.line_has_text,
            "pre" => self.pre_depth += 1,
            "p" => self.p_is_mso = tag.has_class("msonormal"),
            "div" => {
                if tag.has_class("moz-cite-prefix") && self.cite_prefix_at.is_none() {
                    self.mark_soft_cut();
                    self.cite_prefix_at = Some(self.div_depth);
                }
                self.div_depth += 1;
            }
            "blockquote" => {
                if tag.is_cite_blockquote() && self.quote_depth == 0 {
                    self.mark_soft_cut();
                }
                self.quote_depth += 1;
            }
            _ => {}
        }
    }

    fn end_tag(&mut self, name: &str) {
        match name {
            "pre" => self.pre_depth = self.pre_depth.saturating_sub(1),
            "p" if !self.p_is_mso => self.blank_line(),
            "div" => {
                self.div_depth = self.div_depth.saturating_sub(1);
                if self.cite_prefix_at == Some(self.div_depth) {
                    self.cite_prefix_at = None;
                }
            }
            "blockquote" => self.quote_depth = self.quote_depth.saturating_sub(1),
            _ => {}
        }
    }

    fn mark_soft_cut(&mut self) {
        if self.pending_cut.is_none() {
            self.line_break();
            self.pending_cut = Some(self.out.len());
        }
    }

    /// Visible text by the sender cancels a soft cut: it was an inline reply.
    fn note_own_text(&mut self) {
        if self.quote_depth == 0 && self.cite_prefix_at.is_none() {
            self.pending_cut = None;
        }
    }

    /// Text from the document: whitespace collapses unless inside `<pre>`.
    fn text(&mut self, text: &str) {
        if self.in_head {
            return;
        }
        for c in text.chars() {
            if self.pre_depth > 0 && c == '\n' {
                self.hard_break();
            } else if c == '\u{a0}' {
                // A no-break space is visible: Outlook's `<p>&nbsp;</p>` is
                // its blank line.
                self.char(' ');
            } else if c.is_whitespace() && self.pre_depth == 0 {
                self.pending_space = self.line_has_text;
            } else {
                let c = if c.is_whitespace() { ' ' } else { c };
                self.char(c);
            }
        }
    }

    /// Text we generate ourselves ("- " for list items), never collapsed.
    fn text_raw(&mut self, text: &str) {
        for c in text.chars() {
            self.char(c);
        }
        self.pending_space = false;
    }

    fn char(&mut self, c: char) {
        if !self.line_has_text {
            self.write_quote_prefix();
        }
        if self.pending_space {
            self.out.push(' ');
            self.pending_space = false;
        }
        self.out.push(c);
        self.line_has_text = true;
        self.at_list_marker = false;
        if c != ' ' {
            self.note_own_text();
        }
    }

    fn write_quote_prefix(&mut self) {
        for _ in 0..self.quote_depth.min(MAX_QUOTE_PREFIX) {
            self.out.push_str("> ");
        }
    }

    /// Ends the current line if it has text (block boundaries).
    fn line_break(&mut self) {
        if self.line_has_text && !self.at_list_marker {
            self.hard_break();
        }
    }

    /// `<br>`: always a new line, so `<br><br>` gives a blank line.
    fn hard_break(&mut self) {
        self.out.push('\n');
        self.line_has_text = false;
        self.pending_space = false;
        self.at_list_marker = false;
    }

    fn blank_line(&mut self) {
        self.line_break();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn finish(mut self) -> String {
        if let Some(at) = self.pending_cut {
            self.out.truncate(at);
        }
        normalise_lines(&self.out)
    }
}

/// Trailing blanks off every line, at most one blank line in a row, none at
/// either end.
fn normalise_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_blank = false;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            pending_blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if pending_blank {
                out.push('\n');
            }
        }
        pending_blank = false;
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, html, expected text)
    const CASES: &[(&str, &str, &str)] = &[
        ("plain", "hello world", "hello world"),
        ("whitespace collapses", "  a \n\t b  ", "a b"),
        ("br", "a<br>b<br/>c", "a\nb\nc"),
        ("double br is blank line", "a<br><br>b", "a\n\nb"),
        ("divs are lines", "<div>a</div><div>b</div>", "a\nb"),
        ("paragraphs", "<p>a</p><p>b</p>", "a\n\nb"),
        (
            "outlook paragraphs",
            "<p class=MsoNormal>a<o:p></o:p></p><p class=\"MsoNormal\">b</p>",
            "a\nb",
        ),
        ("list", "<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        (
            "list items holding blocks (Outlook on the web)",
            "<ul><li style=\"font-size: 12pt\"><div role=\"presentation\" class=\"elementToProof\">one</div></li>\
             <li><div role=presentation>two</div></li></ul><div>end</div>",
            "- one\n- two\nend",
        ),
        (
            "list item with a paragraph",
            "<ol><li><p>one</p></li></ol>",
            "- one",
        ),
        (
            "empty list item",
            "<ul><li></li><li>two</li></ul>",
            "-\n- two",
        ),
        (
            "nested list",
            "<ul><li><ul><li>inner</li></ul></li></ul>",
            "-\n- inner",
        ),
        (
            "head style script dropped",
            "<html><head><title>T</title><style>p{}</style></head><body><script>x<y</script>hi</body></html>",
            "hi",
        ),
        (
            "entities",
            "&lt;a&gt; &amp; &quot;q&quot; &eacute;&#233;&#xE9; &euro;",
            "<a> & \"q\" ééé €",
        ),
        (
            "unknown entity kept",
            "&bogus; & &#; &#xZZ;",
            "&bogus; & &#; &#xZZ;",
        ),
        (
            "nbsp line is empty",
            "<p class=MsoNormal>a</p><p class=MsoNormal>&nbsp;</p><p class=MsoNormal>b</p>",
            "a\n\nb",
        ),
        (
            "blockquote quoted",
            "a<blockquote>q1<br>q2</blockquote>b",
            "a\n> q1\n> q2\nb",
        ),
        (
            "gmail quote cut",
            "<div dir=ltr>agenda</div><br><div class=\"gmail_quote gmail_quote_container\"><div class=gmail_attr>On … wrote:</div><blockquote class=gmail_quote>old</blockquote></div>",
            "agenda",
        ),
        (
            "outlook web cut",
            "<div>agenda</div><hr style=\"display:inline-block\"><div id=\"divRplyFwdMsg\" dir=ltr><b>From:</b> x</div><div>old</div>",
            "agenda",
        ),
        (
            "appendonsend cut",
            "<div>agenda</div><div id=appendonsend></div><hr><div>old</div>",
            "agenda",
        ),
        (
            "yahoo cut",
            "<div>agenda</div><div id=\"yahoo_quoted_123\" class=\"yahoo_quoted\">old</div>",
            "agenda",
        ),
        (
            "apple cite cut",
            "<div>agenda</div><div><br><blockquote type=\"cite\"><div>On 11 Jan 2027, at 09:00, M wrote:</div><div>old</div></blockquote></div>",
            "agenda",
        ),
        (
            "thunderbird cite cut",
            "<p>agenda</p><div class=\"moz-cite-prefix\">On 11.01.27 09:00, M wrote:<br></div><blockquote type=\"cite\">old</blockquote>",
            "agenda",
        ),
        (
            "thunderbird inline keeps quotes marked",
            "<div class=\"moz-cite-prefix\">On 11.01.27, M wrote:<br></div><blockquote type=\"cite\">q1</blockquote>a1<blockquote type=\"cite\">q2</blockquote>a2",
            "On 11.01.27, M wrote:\n> q1\na1\n> q2\na2",
        ),
        (
            "comment skipped",
            "a<!-- x > y -->b<!--[if mso]><p>m</p><![endif]-->c",
            "abc",
        ),
        ("stray lt", "a < b <<<>>> c", "a < b <<<>>> c"),
        ("unterminated tag drops rest", "a<div class=\"x", "a"),
        ("unterminated comment", "a<!-- b", "a"),
        ("unterminated style", "a<style>b", "a"),
        (
            "attr with gt in quotes",
            "<a title=\"x>y\">link</a>",
            "link",
        ),
        ("pre keeps spaces", "<pre>a  b\n c</pre>", "a  b\n c"),
        (
            "table cells",
            "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
            "a b\nc",
        ),
        ("uppercase tags", "<DIV>a</DIV><BR>b", "a\n\nb"),
        ("multibyte text", "<div>日本語 😀</div>", "日本語 😀"),
    ];

    #[test]
    fn table() {
        let mut failures = Vec::new();
        for (name, input, expected) in CASES {
            let got = to_text(input);
            if got != *expected {
                failures.push(format!(
                    "{name}:\n  got      {got:?}\n  expected {expected:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn deep_nesting_is_linear_and_safe() {
        let html = "<div><blockquote>".repeat(300_000) + "x";
        assert_eq!(
            to_text(&html),
            format!("{}x", "> ".repeat(MAX_QUOTE_PREFIX)).trim_end()
        );
    }

    #[test]
    fn many_stray_brackets() {
        let html = "<".repeat(1_000_000) + &"&".repeat(1_000_000);
        assert_eq!(to_text(&html).len(), 2_000_000);
    }
}
