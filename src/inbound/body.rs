//! The new text of a reply mail: picks the body part (text/plain preferred,
//! HTML as fallback), undoes `format=flowed`, and trims quoted history and
//! signatures via `super::trim`.
//!
//! mail-parser has already decoded transfer encodings (quoted-printable,
//! base64) and charsets (ISO-8859-x, Windows-125x, UTF-8, …) into `str`.
//! Note: `Message::body_text` silently converts an HTML-only mail with
//! mail-parser's own converter (the HTML part's index is put into
//! `text_body`), so we look at the part types ourselves instead.

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::{html, trim};

/// The text the sender newly wrote, or `None` if nothing is left.
pub fn new_text(message: &Message) -> Option<String> {
    let from_plain = plain_body(message).map(|text| trim::trim_reply(&text));
    // Some clients send an empty text/plain alternative; then try the HTML.
    let trimmed = match from_plain {
        Some(text) if !text.trim().is_empty() => text,
        _ => trim::trim_reply(&html::to_text(html_body(message)?)),
    };
    (!trimmed.trim().is_empty()).then_some(trimmed)
}

/// The whole text of a mail, nothing trimmed: its text/plain body, else its HTML as
/// text (for the coordinator reading a kept mail).
pub fn whole_text(message: &Message) -> Option<String> {
    plain_body(message).or_else(|| html_body(message).map(html::to_text))
}

/// The first genuine text/plain body part, unflowed if needed.
fn plain_body(message: &Message) -> Option<String> {
    let part = message
        .text_body
        .iter()
        .filter_map(|id| message.part(*id))
        .find(|part| is_plain(part))?;
    let PartType::Text(text) = &part.body else {
        return None;
    };
    Some(match flowed(part) {
        Some(delsp) => unflow(text, delsp),
        None => text.to_string(),
    })
}

/// The first HTML body part.
fn html_body<'m>(message: &'m Message) -> Option<&'m str> {
    message
        .html_body
        .iter()
        .filter_map(|id| message.part(*id))
        .find_map(|part| match &part.body {
            PartType::Html(html) => Some(html.as_ref()),
            _ => None,
        })
}

/// A `PartType::Text` part is any text/*; we want text/plain (or no
/// Content-Type at all, which defaults to text/plain).
fn is_plain(part: &MessagePart) -> bool {
    if !matches!(part.body, PartType::Text(_)) {
        return false;
    }
    part.content_type().is_none_or(|ct| {
        ct.ctype().eq_ignore_ascii_case("text")
            && ct.subtype().is_none_or(|s| s.eq_ignore_ascii_case("plain"))
    })
}

/// `Some(delsp)` if the part is `format=flowed` (RFC 3676).
fn flowed(part: &MessagePart) -> Option<bool> {
    let ct = part.content_type()?;
    let attr = |name: &str| {
        ct.attributes()?
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .map(|a| a.value.as_ref())
    };
    let is_flowed = attr("format").is_some_and(|v| v.eq_ignore_ascii_case("flowed"));
    let delsp = attr("delsp").is_some_and(|v| v.eq_ignore_ascii_case("yes"));
    is_flowed.then_some(delsp)
}

/// Joins soft-broken lines of a `format=flowed` body (RFC 3676 §4): a line
/// ending in a space continues on the next line of the same quote depth.
/// Quote depth is kept as a `>` prefix so the trimmer still sees quotes.
fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // (quote depth, joined content) of the paragraph being built.
    let mut open: Option<(usize, String)> = None;
    for raw in text.lines() {
        let (depth, content) = split_quote(raw);
        let soft = content.ends_with(' ') && content != "-- ";
        if let Some((open_depth, para)) = &mut open {
            if *open_depth == depth {
                para.push_str(strip_soft_space(content, soft, delsp));
                if !soft {
                    push_line(&mut out, depth, para);
                    open = None;
                }
                continue;
            }
            push_line(&mut out, *open_depth, para);
            open = None;
        }
        if soft {
            open = Some((depth, strip_soft_space(content, soft, delsp).to_string()));
        } else {
            push_line(&mut out, depth, content);
        }
    }
    if let Some((depth, para)) = open {
        push_line(&mut out, depth, &para);
    }
    out
}

/// Quote depth and content with space-stuffing removed.
fn split_quote(line: &str) -> (usize, &str) {
    let depth = line.bytes().take_while(|b| *b == b'>').count();
    let rest = &line[depth..];
    (depth, rest.strip_prefix(' ').unwrap_or(rest))
}

/// With DelSp=yes the soft-break space was added by the sender; drop it.
fn strip_soft_space(content: &str, soft: bool, delsp: bool) -> &str {
    if soft && delsp {
        &content[..content.len() - 1]
    } else {
        content
    }
}

fn push_line(out: &mut String, depth: usize, content: &str) {
    if depth > 0 {
        out.push_str(&">".repeat(depth));
        out.push(' ');
    }
    out.push_str(content);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unflow_joins_soft_breaks() {
        let text = "Hello this is \r\na long line.\r\n> quoted \r\n> more\r\n-- \r\nsig\r\n";
        assert_eq!(
            unflow(text, false),
            "Hello this is a long line.\n> quoted more\n-- \nsig\n"
        );
        assert_eq!(unflow("ab \ncd\n", true), "abcd\n");
        assert_eq!(unflow(" >stuffed\n", false), ">stuffed\n");
    }
}
