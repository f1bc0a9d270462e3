//! Reply trimming: given the plain text of a reply, keep only what the sender
//! newly wrote — no quoted history, quote headers, embedded mail headers,
//! signatures or the text below our own "reply above this line" hint — in every
//! built-in language (SPEC §8; the words are in [`words`]).
//!
//! Design (after Discourse's email_reply_trimmer, our own code): every line is
//! classified into one letter, then hand-written patterns run over the string
//! of letters. Letters:
//!
//! | letter | kind                                                            |
//! |--------|-----------------------------------------------------------------|
//! | `e`    | empty (only whitespace)                                         |
//! | `q`    | quoted (`>` after optional indentation)                         |
//! | `c`    | our hint line "reply above this line", at any quote depth       |
//! | `s`    | signature start: `-- `, "Sent from my iPhone", "iPhoneから送信" |
//! | `o`    | "-----Original Message-----" and its translations               |
//! | `d`    | Outlook's `________________________________` rule               |
//! | `f`    | a header line opening an embedded mail (From:/Von:/De:/差出人:) |
//! | `w`    | a Sent:/Date: header line whose value has a year and a time     |
//! | `r`    | a To:/Subject: header line (An:/À:/Para:/宛先:/Betreff:/件名: …) |
//! | `h`    | any other embedded-mail header line (Cc:, Reply-To: …)          |
//! | `b`    | quote header line(s): "On … wrote:", "Em … escreveu:", …        |
//! | `t`    | text                                                            |
//!
//! Patterns, in regex notation (applied in this order):
//!
//! 1. `[cso]` — cut there, everything after is history or signature.
//! 2. `f` opening a header block ([`header_block`]: a dated Sent line and a
//!    To/Subject line follow, or two header lines below a `d` rule); cut at the `d`
//!    (or `f`).
//! 3. `b e* [^q]` — a quote header not followed by a quote introduces
//!    unquoted history (Outlook-style); cut at the `b`.
//! 4. Whatever is left: drop every `b` and `q` line. This handles top-posting
//!    and inline replies alike: in an inline reply the sender's own lines sit
//!    between quotes and survive, the quotes do not (decision: we keep only
//!    the sender's words; the context they answer is our own prompt anyway).
//! 5. Trim leading/trailing blank lines, collapse runs of blank lines to one,
//!    strip trailing whitespace of each line.
//!
//! Header lines outside a block are ordinary text — agenda lines such as
//! "Subject: careers" or "De: nada" must survive.
//!
//! Every step is linear in the input: lines longer than [`MAX_SPECIAL_LINE`] are text
//! without a look; classification looks at most three lines ahead (wrapped quote
//! headers, at most [`quote_header::MAX_QUOTE_HEADER_LEN`] bytes) and ten lines ahead
//! (header blocks); no regex.

mod dates;
mod header_block;
mod quote_header;
mod words;

use words::{
    FORWARD_LINES, HINT_ENGLISH, HINT_TRANSLATED, ORIGINAL_MARKERS, OUTLOOK_MOBILE,
    SIGNATURE_FRAMES, SIGNATURE_PREFIXES,
};

/// Lines longer than this are text: no marker, header or signature is this long.
const MAX_SPECIAL_LINE: usize = 1_000;

/// Longest line that may be a marker, our hint line or a signature (bytes).
const MAX_MARKER_LINE: usize = 200;

/// Mobile signatures are short; a longer line starting with "Sent from my"
/// is probably a sentence the person wrote.
const MAX_MOBILE_SIGNATURE_CHARS: usize = 60;

/// Words after "Sent from my" and the like: a device's name is short.
const MAX_DEVICE_WORDS: usize = 5;

/// Returns only the new text of a reply. Empty string when nothing is left.
pub fn trim_reply(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let kinds = classify(&lines);
    let end = cut_index(&kinds);
    let kept = lines[..end]
        .iter()
        .zip(&kinds[..end])
        .filter(|(_, kind)| !matches!(kind, b'b' | b'q'))
        .map(|(line, _)| line.trim_end());
    join_normalised(kept)
}

/// Lower case, every run of whitespace (no-break and narrow spaces too) one space, no
/// space at either end, a full-width colon as ":" — how [`words`] are compared.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if c == '：' {
            out.push(':');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Classifies every line into one letter (see module docs).
fn classify(lines: &[&str]) -> Vec<u8> {
    let mut kinds = vec![b't'; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        if let Some(n) = quote_header::quote_header_lines(lines, i) {
            kinds[i..i + n].fill(b'b');
            i += n;
            continue;
        }
        kinds[i] = single_line_kind(lines[i]);
        i += 1;
    }
    mark_name_first(lines, &mut kinds);
    kinds
}

/// The kind of one line judged on its own (quote headers are handled apart).
fn single_line_kind(line: &str) -> u8 {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return b'e';
    }
    if trimmed.len() > MAX_SPECIAL_LINE {
        return if trimmed.starts_with('>') { b'q' } else { b't' };
    }
    // Folded once for the word lists; markers, hints and signatures are short.
    let folded = (trimmed.len() < MAX_MARKER_LINE).then(|| fold(trimmed));
    let folded = folded.as_deref();
    if folded.is_some_and(is_hint) {
        return b'c';
    }
    if trimmed.starts_with('>') {
        return b'q';
    }
    if is_signature(line, folded) {
        return b's';
    }
    if folded.is_some_and(is_original_marker) {
        return b'o';
    }
    if is_rule(trimmed) {
        return b'd';
    }
    header_block::header_letter(trimmed).unwrap_or(b't')
}

/// Index of the first line that is not part of the new text.
fn cut_index(kinds: &[u8]) -> usize {
    let mut i = 0;
    while i < kinds.len() {
        match kinds[i] {
            b'c' | b's' | b'o' => return i,
            b'f' => {
                let start = rule_before(kinds, i);
                if header_block::opens_block(kinds, i, start != i) {
                    return start;
                }
            }
            b'b' => {
                let after = skip(kinds, i, b'b');
                let next = skip(kinds, after, b'e');
                if next >= kinds.len() || kinds[next] != b'q' {
                    return i;
                }
                i = after;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    kinds.len()
}

/// First index at or after `from` whose letter is not `letter`.
fn skip(kinds: &[u8], from: usize, letter: u8) -> usize {
    let mut i = from;
    while i < kinds.len() && kinds[i] == letter {
        i += 1;
    }
    i
}

/// Outlook puts a `____` rule (possibly followed by blank lines) above the
/// header block; cut there so the rule does not dangle at the end.
fn rule_before(kinds: &[u8], at: usize) -> usize {
    let mut i = at;
    while i > 0 && kinds[i - 1] == b'e' {
        i -= 1;
    }
    if i > 0 && kinds[i - 1] == b'd' {
        i - 1
    } else {
        at
    }
}

/// Joins kept lines: no leading/trailing blank lines, at most one blank line
/// in a row.
fn join_normalised<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut pending_blank = false;
    for line in lines {
        if line.trim().is_empty() {
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

/// Our own prompt carries "— reply above this line —" (translated in the other
/// built-in languages, on a line that starts with a dash). `folded`: the line, folded.
fn is_hint(folded: &str) -> bool {
    let text = folded.trim_start_matches(['>', ' ']);
    text.contains(HINT_ENGLISH)
        || (text.starts_with(['—', '–', '―', '-'])
            && HINT_TRANSLATED.iter().any(|h| text.contains(h)))
}

/// `-- ` (RFC 3676 signature separator; also without the space, as some
/// clients strip trailing blanks) or a short mobile-client signature (`folded`: the
/// line folded, if it is short enough to be one).
fn is_signature(line: &str, folded: Option<&str>) -> bool {
    let line = line.trim_end_matches(['\r', '\n']);
    if line == "-- " || line == "--" {
        return true;
    }
    let Some(text) = folded else {
        return false;
    };
    if text.chars().count() > MAX_MOBILE_SIGNATURE_CHARS {
        return false;
    }
    let text = text.trim_end_matches(['.', '。']);
    let device_words =
        |rest: &str| !rest.contains(':') && rest.split_whitespace().count() <= MAX_DEVICE_WORDS;
    SIGNATURE_PREFIXES
        .iter()
        .any(|p| text.strip_prefix(p).is_some_and(device_words))
        || SIGNATURE_FRAMES.iter().any(|(start, end)| {
            text.strip_prefix(start)
                .and_then(|rest| rest.strip_suffix(end))
                .is_some_and(|device| is_device_name(device, start.is_empty()))
        })
        || OUTLOOK_MOBILE.iter().any(|p| {
            text.strip_prefix(p)
                .map(|rest| rest.split('<').next().unwrap_or(rest).trim())
                .is_some_and(|os| os == "ios" || os == "android")
        })
}

/// The device in "Von meinem iPhone gesendet" (a few words) or in "iPhoneから送信"
/// (`latin`: a name in Latin letters, as Japanese phones write the device's own name,
/// possibly after 私の, "my").
fn is_device_name(device: &str, latin: bool) -> bool {
    let device = device.trim();
    if device.is_empty() {
        return false;
    }
    if latin {
        let device = device.strip_prefix("私の").unwrap_or(device).trim();
        !device.is_empty() && device.is_ascii()
    } else {
        device.split_whitespace().count() < MAX_DEVICE_WORDS
    }
}

/// "-----Original Message-----", "---------- Forwarded message ---------",
/// "-----Mensagem original-----", Apple Mail's "Begin forwarded message:", …
/// `folded`: the line, folded.
fn is_original_marker(folded: &str) -> bool {
    if FORWARD_LINES.contains(&folded) {
        return true;
    }
    let inner = folded.trim_matches(|c: char| c == '-' || c == '*' || c == ' ');
    let dashes = |s: &str| s.bytes().filter(|b| *b == b'-').count();
    dashes(folded) - dashes(inner) >= 4 && ORIGINAL_MARKERS.contains(&inner)
}

/// Outlook's `________________________________` separator.
fn is_rule(trimmed: &str) -> bool {
    trimmed.len() >= 10 && trimmed.bytes().all(|b| b == b'_')
}

/// Name-first quote headers ("Grace Hopper <g@x> wrote:", "X さんは書きました:") are
/// only trusted when a quote follows; they are marked after the first pass.
fn mark_name_first(lines: &[&str], kinds: &mut [u8]) {
    let mut next_non_empty = None;
    for i in (0..lines.len()).rev() {
        let followed_by_quote = next_non_empty.is_some_and(|k| k == b'q');
        if kinds[i] == b't'
            && followed_by_quote
            && quote_header::is_name_first_quote_header(lines[i])
        {
            kinds[i] = b'b';
        }
        if kinds[i] != b'e' {
            next_non_empty = Some(kinds[i]);
        }
    }
}

#[cfg(test)]
mod tests;
