//! Fuzz-style properties over hostile input (issue 10), bounded to a few seconds so they
//! run with every `cargo test`:
//!
//! - the program loader, given arbitrary bytes (or the example with arbitrary bytes
//!   spliced in), answers with a program or errors, never a panic;
//! - every header that carries text from the program file (Subject, the names in From
//!   and To), for arbitrary names, program names, pair ids and subjects: no line of the
//!   message exceeds RFC 5322's 998 octets, nothing in a header decodes (RFC 2047, read
//!   as trustingly as any mail reader would) to a control character or a line break,
//!   and the text reads back as written.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;

use jiff::Timestamp;
use mentord::compose::Composer;
use mentord::mail::Outgoing;
use mentord::mail::header::one_line;
use mentord::program;
use mentord::reconcile;
use mentord::render::{Rendered, Templates};
use mentord::schedule::{self, History, Window};
use mentord::vocab::{DeliveryKey, MessageKind};
use proptest::prelude::*;

use common::rfc2047::{decode, unfolded_headers};

const EXAMPLE: &str = include_str!("../config/mentord.toml");

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    }
}

/// Text a hostile or careless coordinator might write: encoded-word look-alikes, long
/// words, quotes, backslashes, address punctuation, non-ASCII, invisible characters,
/// controls, runs of spaces, and anything at all.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "=\\?(utf-8|UTF-8|iso-8859-1|x)\\?[bBqQ]\\?[A-Za-z0-9=_+/.:@-]{0,40}\\?=",
        "=0D=0A|=0a|\\?=|=\\?|_Bcc=3A_",
        "[a-zA-Z]{1,120}",
        "[ ]{1,5}",
        "[\"\\\\<>(),;:@.\\[\\]]",
        "[äöüßéÀΩЖ中文😀]{1,30}",
        "[\u{200b}\u{200d}\u{202e}\u{2028}\u{feff}\u{ad}\u{85}\t\r\n\u{0}]",
        any::<String>().prop_map(|s| s.chars().take(20).collect::<String>()),
    ];
    prop_oneof![
        prop::collection::vec(piece, 1..12).prop_map(|p| p.concat()),
        any::<String>(),
    ]
}

/// Mostly text that passes `check` (no controls, nothing invisible, at most 200
/// characters) yet is as awkward as can be; now and then anything at all.
fn name_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "=\\?(utf-8|UTF-8|iso-8859-1)\\?[bBqQ]\\?[A-Za-z0-9=_+/.:@-]{0,30}\\?=",
        "=0D=0A|\\?=|=\\?|_Bcc=3A_",
        "[a-zA-Z]{1,60}",
        "[ ]{1,3}",
        "[\"\\\\<>(),;:@.\\[\\]]",
        "[äöüßéÀΩЖ中文😀]{1,10}",
    ];
    prop_oneof![
        4 => prop::collection::vec(piece, 1..8).prop_map(|p| p.concat()),
        1 => hostile_text(),
    ]
}

/// A TOML basic string holding `text` exactly.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Checks one built message; `texts` are (header, text the header must read back as).
fn check_message(eml: &[u8], texts: &[(&str, String)]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(eml);
    for line in text.split("\r\n") {
        prop_assert!(line.len() <= 998, "a line of {} octets", line.len());
        prop_assert!(!line.contains(['\r', '\n']), "a bare CR or LF");
    }
    let headers = unfolded_headers(eml);
    for header in &headers {
        let decoded = decode(header);
        prop_assert!(
            !decoded
                .chars()
                .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')),
            "{header:?} decodes to {decoded:?}"
        );
    }
    for (name, want) in texts {
        let prefix = format!("{name}: ");
        let value = headers
            .iter()
            .find_map(|h| h.strip_prefix(&prefix))
            .unwrap();
        let shown = if *name == "Subject" {
            decode(value)
        } else {
            display_name(value)
        };
        prop_assert_eq!(&shown, want, "{}: {}", name, value);
    }
    Ok(())
}

/// The display name of an unfolded `Name <address>`: unquoted when it is a quoted
/// string, else decoded.
fn display_name(mailbox: &str) -> String {
    let name = &mailbox[..mailbox.rfind(" <").unwrap()];
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        None => decode(name),
        Some(quoted) => {
            let mut out = String::new();
            let mut chars = quoted.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next().unwrap() } else { c });
            }
            out
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn the_loader_never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mentord.toml");
        std::fs::write(&path, &bytes).unwrap();
        let _ = program::load(&path);
    }

    #[test]
    fn the_loader_never_panics_on_the_example_with_bytes_spliced_in(
        at in 0..EXAMPLE.len(),
        cut in 0..200usize,
        bytes in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut text = EXAMPLE.as_bytes().to_vec();
        let end = (at + cut).min(text.len());
        text.splice(at..end, bytes);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mentord.toml");
        std::fs::write(&path, &text).unwrap();
        let _ = program::load(&path);
    }

    #[test]
    fn the_loader_never_panics_on_hostile_values(
        key in "[a-z_]{1,12}",
        value in hostile_text(),
        section in prop::sample::select(vec!["[program]", "[defaults]", "[people.ada]", "[[pairs]]", "[mail]"]),
    ) {
        let line = format!("{key} = {}", toml_string(&value));
        let text = EXAMPLE.replacen(section, &format!("{section}\n{line}"), 1);
        let _ = program::parse(&text, Path::new("."));
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Names, the program's name and the pair's id straight into the program file:
    /// those that pass `check` make messages whose headers fold and read back.
    #[test]
    fn headers_from_names_that_pass_check_fold_and_read_back(
        mentor in name_text(),
        mentee in name_text(),
        organizer in name_text(),
        program_name in name_text(),
        pair_id in prop_oneof![3 => "[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}", 1 => hostile_text()],
    ) {
        let text = format!(
            r#"[program]
name = {}
timezone = "Europe/Berlin"
start = 2027-01-11
coordinator = "ada"
organizer = {{ name = {}, email = "mentoring@example.org" }}

[defaults]
review_every = "7d"
review_grace = "1d"

[people.ada]
name = "Ada Lovelace"
email = "ada@example.org"

[people.grace]
name = {}
email = "grace@example.org"

[people.alan]
name = {}
email = "alan@example.org"

[[pairs]]
id = {}
mentor = "grace"
mentee = "alan"
"#,
            toml_string(&program_name),
            toml_string(&organizer),
            toml_string(&mentor),
            toml_string(&mentee),
            toml_string(&pair_id),
        );
        let Ok(program) = program::parse(&text, Path::new(".")) else {
            return Ok(());
        };
        let templates = Templates::load(None).unwrap();
        let composer = Composer::new(&program, &templates);
        let from: Timestamp = "2027-01-04T00:00:00Z".parse().unwrap();
        let until: Timestamp = "2027-01-30T00:00:00Z".parse().unwrap();
        let history = History::default();
        let mut messages = Vec::new();
        for change in reconcile::reconcile(&program, &Default::default(), from) {
            messages.extend(composer.change(&change, from).unwrap());
        }
        for action in schedule::actions(&program, &history, Window { from, until }) {
            messages.extend(composer.action(&action, &history).unwrap());
        }
        prop_assert!(messages.len() >= 6);
        for composed in &messages {
            let m = &composed.message;
            check_message(&m.to_eml().unwrap(), &[
                ("Subject", one_line(&m.body.subject)),
                ("From", one_line(&m.from.name)),
                ("To", one_line(&m.to.name)),
            ])?;
        }
    }

    /// Any text at all as a subject or a name (as a template or a future caller might
    /// hand over, past `check`): the headers still fold and read back.
    #[test]
    fn headers_from_any_text_fold_and_read_back(
        subject in hostile_text(),
        from_name in hostile_text(),
        to_name in hostile_text(),
    ) {
        let message = Outgoing {
            key: DeliveryKey {
                kind: MessageKind::AgendaPrompt,
                pair: Some("grace-alan".into()),
                occurrence: None,
                sequence: 0,
                recipient: "alan".into(),
            },
            message_id: "<x@example.org>".into(),
            from: mentord::program::Mailbox {
                name: from_name.clone(),
                email: "mentoring@example.org".into(),
            },
            to: mentord::program::Mailbox {
                name: to_name.clone(),
                email: "alan@example.org".into(),
            },
            date: "2027-01-11T09:00:00Z".parse().unwrap(),
            body: Rendered {
                subject: subject.clone(),
                text: "Hello\n".into(),
                html: "<p>Hello</p>\n".into(),
            },
            calendar: None,
            reply_to: Some(mentord::mail::ReplyTo {
                address: "mentoring+abcdefghijklmnopqrst@example.org".into(),
                token: "abcdefghijklmnopqrst".into(),
            }),
            unsubscribe: Some(mentord::mail::Unsubscribe {
                https: "https://mentoring.example.org/u/abc.def".into(),
                mailto: "mailto:mentoring@example.org?subject=unsubscribe%20abc.def".into(),
            }),
        };
        check_message(&message.to_eml().unwrap(), &[
            ("Subject", one_line(&subject)),
            ("From", one_line(&from_name)),
            ("To", one_line(&to_name)),
            ("Reply-To", one_line(&from_name)),
        ])?;
    }
}

#[test]
fn the_decoder_reads_as_a_trusting_reader() {
    assert_eq!(decode("a =?utf-8?q?=0D=0ABcc=3A_x?= b"), "a \r\nBcc: x b");
    assert_eq!(decode("=?utf-8?b?w6Q=?=\t =?UTF-8?B?w7Y=?=!"), "äö!");
    assert_eq!(decode("x=?y"), "x=?y");
    assert_eq!(
        display_name("\"a \\\"b\\\\\" <a@example.org>"),
        "a \"b\\".to_string()
    );
}
