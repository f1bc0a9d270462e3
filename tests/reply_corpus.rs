//! Corpus test: every `corpus/NAME.eml` must yield exactly `corpus/NAME.txt`
//! (the file's trailing newline is not part of the expectation). A second
//! test runs the HTML alternative of each mail through the HTML path and
//! expects the same text, so both paths are checked against real layouts.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::fs;
use std::path::{Path, PathBuf};

use mail_parser::{MessageParser, PartType};
use mentord::inbound::{body, html, trim};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inbound/replies");
    let mut emls: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    emls.sort();
    assert!(emls.len() >= 14, "corpus has only {} mails", emls.len());
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

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
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
    assert!(checked >= 8, "only {checked} mails with HTML");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
