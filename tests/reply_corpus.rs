//! Corpus test: every `tests/inbound/replies/NAME.eml` must yield exactly `NAME.txt`
//! (the file's trailing newline is not part of the expectation). A second
//! test runs the HTML alternative of each mail through the HTML path and
//! expects the same text, so both paths are checked against real layouts.
//!
//! One folder per built-in language (`de/`, `fr/`, `es/`, `pt/`, `ja/`; issue 25 item
//! 4): a reply to the agenda prompt as Gmail, Outlook (desktop, web, the classic
//! "-----Original Message-----"), Apple Mail, iPhone Mail and Thunderbird write it in
//! that language — quote headers, header blocks, signatures, charsets (Japanese
//! ISO-2022-JP) — and `genuine_text_kept`: an agenda whose own lines look like headers,
//! quote headers or signatures ("De: nada", "Am Montag um 10:00 schrieb mir …:",
//! "iPhoneから送信するテスト…") and must come through whole.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::fs;
use std::path::{Path, PathBuf};

use mail_parser::{MessageParser, PartType};
use mentord::inbound::{body, html, trim};

/// The built-in languages besides English (the English mails sit at the top).
const LANGUAGES: &[&str] = &["de", "fr", "es", "pt", "ja"];

/// The `.eml` files of one folder.
fn emls_in(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .expect("corpus dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect()
}

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inbound/replies");
    let mut emls = emls_in(&dir);
    assert!(emls.len() >= 14, "corpus has only {} mails", emls.len());
    for language in LANGUAGES {
        let theirs = emls_in(&dir.join(language));
        assert!(
            theirs.len() >= 8,
            "{language}: only {} mails in its corpus",
            theirs.len()
        );
        emls.extend(theirs);
    }
    emls.sort();
    emls
}

fn expected(eml: &Path) -> String {
    let txt = fs::read_to_string(eml.with_extension("txt")).expect("matching .txt");
    txt.strip_suffix('\n').unwrap_or(&txt).to_string()
}

/// Line-by-line diff, enough to see where a case goes wrong.
fn diff(expected: &str, got: &str) -> String {
    let (e, g): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), got.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(g.len()) {
        let (a, b) = (e.get(i), g.get(i));
        let mark = if a == b { ' ' } else { '!' };
        out += &format!(
            "  {mark} {:<50} | {}\n",
            a.map_or("<none>", |s| s),
            b.map_or("<none>", |s| s)
        );
    }
    out
}

/// The file's name, with its language folder.
fn name(p: &Path) -> String {
    let folder = p
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| LANGUAGES.contains(&n.as_str()));
    let file = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    folder.map_or(file.clone(), |f| format!("{f}/{file}"))
}

#[test]
fn corpus_new_text() {
    let mut failures = Vec::new();
    for eml in corpus() {
        let bytes = fs::read(&eml).expect("read eml");
        let message = MessageParser::default().parse(&bytes).expect("parses");
        let got = body::new_text(&message).unwrap_or_default();
        let want = expected(&eml);
        if got != want {
            failures.push(format!(
                "{} (expected | got)\n{}",
                name(&eml),
                diff(&want, &got)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn corpus_html_alternative_agrees() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for eml in corpus() {
        let bytes = fs::read(&eml).expect("read eml");
        let message = MessageParser::default().parse(&bytes).expect("parses");
        let html_part = message
            .html_body
            .iter()
            .filter_map(|id| message.part(*id))
            .find_map(|p| match &p.body {
                PartType::Html(h) => Some(h.to_string()),
                _ => None,
            });
        let Some(html_text) = html_part else { continue };
        checked += 1;
        let got = trim::trim_reply(&html::to_text(&html_text));
        let want = expected(&eml);
        if got != want {
            failures.push(format!(
                "{} via HTML (expected | got)\n{}",
                name(&eml),
                diff(&want, &got)
            ));
        }
    }
    assert!(checked >= 33, "only {checked} mails with HTML");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
