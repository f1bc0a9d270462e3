//! The headers that carry text from the program file (Subject, and the names in From
//! and To), encoded so that a mail reader shows exactly that text and no line of the
//! message exceeds RFC 5322's 998 octets.
//!
//! lettre writes a word of printable ASCII as it is and folds only at spaces. That lets
//! two things through: text that looks like an RFC 2047 encoded word (a person named
//! `=?utf-8?q?=0D=0ABcc=3A_x?=` is decoded by mail readers into a line break and a Bcc
//! line), and a long word without spaces (a 1,200-character name is a 1,200-octet
//! line, refused by strict relays). Here such words are RFC 2047-encoded themselves:
//! they decode to the literal text, and an encoded run is split across folded lines.
//! Every other word is written exactly as lettre writes it, so ordinary mail keeps its
//! bytes.

use std::fmt::Write as _;

use email_encoding::headers::writer::EmailWriter;
use email_encoding::headers::{quoted_string, rfc2047};

/// The longest word written as it is: with the space before it, it fits on a folded
/// line of 78 octets (RFC 5322's recommended length).
const LONGEST_PLAIN_WORD: usize = 77;

/// Control characters (which `render` and `check` keep out already) and the Unicode
/// line and paragraph separators become spaces, and every run of spaces one space:
/// a header is one line of text, and a long run of spaces could not be folded.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_space = false;
    for c in text.chars() {
        let c = if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            ' '
        } else {
            c
        };
        if c == ' ' && after_space {
            continue;
        }
        after_space = c == ' ';
        out.push(c);
    }
    out
}

/// Whether a word (with its trailing space, if any) may be written as it is.
fn is_plain(word: &str) -> bool {
    word.bytes().all(|b| (b' '..=b'~').contains(&b))
        && !word.contains("=?")
        && word.trim_end_matches(' ').len() <= LONGEST_PLAIN_WORD
}

/// The encoded value of an unstructured header such as Subject (after `Name: `).
pub fn unstructured(name: &str, value: &str) -> String {
    let value = one_line(value);
    let mut out = String::with_capacity(value.len() + value.len() / 2);
    {
        let mut w = EmailWriter::new(&mut out, name.len() + ": ".len(), 0, false);
        let mut pending = String::new();
        // As lettre's own encoder: words keep their trailing space; runs of words that
        // cannot be written as they are become one encoded run.
        for word in value.split_inclusive(' ') {
            if is_plain(word) {
                flush(&mut pending, &mut w);
                // Writing to a String cannot fail.
                let _ = w.folding().write_str(word);
            } else {
                pending.push_str(word);
            }
        }
        flush(&mut pending, &mut w);
    }
    out
}

fn flush(pending: &mut String, w: &mut EmailWriter<'_>) {
    if pending.is_empty() {
        return;
    }
    let text = pending.trim_end_matches(' ');
    let _ = rfc2047::encode(text, w);
    for _ in text.len()..pending.len() {
        w.space();
    }
    pending.clear();
}

/// The encoded value of an address header with one mailbox (after `Name: `):
/// `Display Name <address>`, the name quoted or encoded as needed.
pub fn mailbox(name: &str, display_name: &str, address: &str) -> String {
    let display_name = one_line(display_name);
    let mut out = String::with_capacity(display_name.len() + address.len() + 8);
    {
        let mut w = EmailWriter::new(&mut out, name.len() + ": ".len(), 0, false);
        let words_plain = display_name.split_inclusive(' ').all(is_plain);
        // A quoted string folds only at its spaces; encoded, the name folds anywhere.
        let _ = if words_plain {
            quoted_string::encode(&display_name, &mut w)
        } else {
            rfc2047::encode(&display_name, &mut w)
        };
        w.space();
        let _ = w.write_char('<');
        let _ = w.write_str(address);
        let _ = w.write_char('>');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_written_as_lettre_writes_it() {
        use lettre::message::header::{Header, Subject};
        for subject in [
            "Mentoring with Grace Hopper, every 2 weeks on Tuesday at 16:00 (Europe/Berlin)",
            "Updated: mentoring with Vint Cerf, every 2 weeks on Tuesday at 12:00 (Europe/Berlin) and a much longer tail that folds",
            "Agenda für Dienstag mit Jürgen Groß",
            "Review overdue: margaret-linus (Margaret Hamilton and Linus Torvalds)",
            "",
        ] {
            let lettre = Subject::from(subject.to_string()).display();
            let ours = lettre::message::header::HeaderValue::dangerous_new_pre_encoded(
                Subject::name(),
                subject.into(),
                unstructured("Subject", subject),
            );
            assert_eq!(ours, lettre, "{subject}");
        }
    }

    #[test]
    fn encoded_words_and_long_words_are_encoded() {
        let hostile = "=?utf-8?q?=0D=0ABcc=3A_evil=40attacker.example?=";
        let subject = unstructured("Subject", &format!("Mentoring with {hostile}"));
        assert!(
            subject.starts_with("Mentoring with =?utf-8?b?"),
            "{subject}"
        );
        assert!(!subject.contains("=?utf-8?q?"), "{subject}");
        let long = "x".repeat(1200);
        for value in [
            unstructured("Subject", &long),
            mailbox("To", &long, "a@example.org"),
        ] {
            assert!(value.split("\r\n").all(|l| l.len() <= 78), "{value}");
        }
        let to = mailbox("To", hostile, "a@example.org");
        assert!(to.starts_with("=?utf-8?b?") && to.ends_with(" <a@example.org>"));
    }

    #[test]
    fn one_line_turns_breaks_and_space_runs_into_one_space() {
        assert_eq!(one_line("a\r\nb\u{2028}c  \t d\u{85}e"), "a b c d e");
        assert_eq!(one_line(&" ".repeat(2000)), " ");
    }
}
