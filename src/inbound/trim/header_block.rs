//! Embedded header blocks: Outlook (desktop, web, Mac) writes the mail it answers below
//! the reply, unquoted, after a block such as
//!
//! ```text
//! Von: mentord <mentoring+abc@example.org>
//! Gesendet: Dienstag, 26. Januar 2027 10:00
//! An: Alan Turing <alan@example.org>
//! Betreff: Agenda
//! ```
//!
//! in the reader's language (keys in [`super::words::HEADER_KEYS`]). A single line such
//! as "De: nada" or "Asunto: carrera" is common in an agenda, so a block counts only when
//! it looks like one: a From line followed, line after line, by a Sent/Date line whose
//! value has a year and a time and a To or Subject line; or, below Outlook's `____` rule,
//! by two more header lines.

use super::dates::{has_time, has_year};
use super::fold;
use super::words::{HEADER_KEYS, Role};

/// Lines after a From line searched for the rest of its block.
const HEADER_WINDOW: usize = 10;

/// Lines in a row that may continue a header (a wrapped To: with many addresses).
const MAX_CONTINUATION: usize = 2;

/// Bytes before the colon a header key may take ("Pièces jointes", "添付ファイル").
const MAX_KEY_LEN: usize = 40;

/// The letter `trim` gives a header line (see its module docs), if the line is one.
pub(super) fn header_letter(trimmed: &str) -> Option<u8> {
    let (role, value) = header_line(trimmed)?;
    Some(match role {
        Role::From if !value.is_empty() => b'f',
        Role::Date if has_year(value) && has_time(value) => b'w',
        Role::Addressed => b'r',
        _ => b'h',
    })
}

/// Recognises "From: …", "*Von:* …", "De : …" (French spacing), "差出人: …" (full-width
/// colon too): the key's role and the value.
fn header_line(trimmed: &str) -> Option<(Role, &str)> {
    let rest = trimmed.trim_start_matches(|c: char| c == '*' || c.is_whitespace());
    let (colon, width) = rest
        .char_indices()
        .take_while(|(i, _)| *i <= MAX_KEY_LEN)
        .find_map(|(i, c)| matches!(c, ':' | '：').then_some((i, c.len_utf8())))?;
    let key = fold(rest[..colon].trim_matches(|c: char| c == '*' || c.is_whitespace()));
    let value = rest[colon + width..].trim_matches(|c: char| c == '*' || c.is_whitespace());
    HEADER_KEYS
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, role)| (*role, value))
}

/// Whether the `f` line at `at` opens a header block; `below_rule` when Outlook's rule
/// (or blank lines and the rule) stands right above it.
pub(super) fn opens_block(kinds: &[u8], at: usize, below_rule: bool) -> bool {
    let (mut dated, mut addressed, mut headers, mut continuation) = (false, false, 0, 0);
    for kind in kinds.iter().skip(at + 1).take(HEADER_WINDOW) {
        match kind {
            b'w' | b'r' | b'h' => {
                dated |= *kind == b'w';
                addressed |= *kind == b'r';
                headers += 1;
                continuation = 0;
            }
            b't' if continuation < MAX_CONTINUATION => continuation += 1,
            _ => break,
        }
    }
    (dated && addressed) || (below_rule && headers >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_in_every_language() {
        assert_eq!(header_letter("From: Grace <g@x.org>"), Some(b'f'));
        assert_eq!(header_letter("*Von:* mentord"), Some(b'f'));
        assert_eq!(header_letter("De\u{a0}: mentord"), Some(b'f'));
        assert_eq!(header_letter("差出人： mentord"), Some(b'f'));
        assert_eq!(
            header_letter("Gesendet: Montag, 11. Januar 2027 09:00"),
            Some(b'w')
        );
        assert_eq!(header_letter("送信日時: 2027年1月26日 10:00"), Some(b'w'));
        assert_eq!(
            header_letter("Enviada em: terça-feira, 26 de janeiro de 2027 10:00"),
            Some(b'w')
        );
        assert_eq!(header_letter("Fecha: 26 de enero"), Some(b'h'));
        assert_eq!(header_letter("À : Alan"), Some(b'r'));
        assert_eq!(header_letter("件名: Re: アジェンダ"), Some(b'r'));
        assert_eq!(header_letter("Cc: Ada"), Some(b'h'));
        assert_eq!(header_letter("Nota: algo"), None);
        assert_eq!(header_letter("From:"), Some(b'h'));
        assert_eq!(
            header_letter("a very long line without any colon near its start: x"),
            None
        );
    }
}
