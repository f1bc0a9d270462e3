//! Text from the program file that reaches mail headers, through the real binary:
//! `mentord simulate` writes the bytes the daemon would send, and Python's `email`
//! package (tests/ical/eml_check.py) reads them as a mail reader would.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};

use common::rfc2047::{decode, unfolded_headers};
use common::{mentord, read_eml};

/// A small program: `grace` mentors `alan`; `names` replaces their names.
fn program(dir: &Path, grace: &str, alan: &str, extra_program_lines: &str) -> PathBuf {
    let text = format!(
        r#"[program]
name = "Mentoring 2027"
timezone = "Europe/Berlin"
start = 2027-01-11
end = 2027-06-30
coordinator = "ada"
organizer = {{ name = "Mentoring Program", email = "mentoring@example.org" }}
{extra_program_lines}

[people.ada]
name = "Ada Lovelace"
email = "ada@example.org"

[people.grace]
name = "{grace}"
email = "grace@example.org"

[people.alan]
name = "{alan}"
email = "alan@example.org"

[[pairs]]
mentor = "grace"
mentee = "alan"
"#
    );
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// Simulates the program's first weeks; returns the `.eml` files written, in order.
fn simulate(config: &Path, out: &Path) -> Vec<PathBuf> {
    let output = mentord()
        .arg("-c")
        .arg(config)
        .args(["simulate", "--from", "2027-01-04", "--until", "2027-01-20"])
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    files
}

/// Issue 10, item 4: a person named `=?utf-8?q?=0D=0ABcc=3A_evil=40attacker.example?=`
/// put that text into the Subject as it was (lettre writes printable ASCII words
/// unencoded), and mail readers decoded it into a line break and `Bcc: evil@…`. Text
/// that looks like an encoded word is now encoded itself, so it reads back literally.
#[test]
fn a_name_that_looks_like_an_encoded_word_reads_back_literally() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "=?utf-8?q?=0D=0ABcc=3A_evil=40attacker.example?=";
    let config = program(dir.path(), hostile, &format!("Alan {hostile} Turing"), "");
    for file in simulate(&config, &dir.path().join("out")) {
        let raw = std::fs::read(&file).unwrap();
        for header in unfolded_headers(&raw) {
            assert!(
                !header.to_ascii_lowercase().contains("=?utf-8?q?"),
                "{}: the name went out unencoded:\n{header}",
                file.display()
            );
        }
        let mail = read_eml(&file);
        for field in ["subject", "from", "to"] {
            let value = mail[field].as_str().unwrap();
            assert!(
                !value.contains(['\r', '\n']) && !value.to_ascii_lowercase().contains("bcc:"),
                "{}: {field} decodes to {value:?}",
                file.display()
            );
        }
        if file.to_string_lossy().contains("-digest") {
            continue;
        }
        let subject = mail["subject"].as_str().unwrap();
        let to = mail["to"].as_str().unwrap();
        assert!(
            subject.contains(hostile) || to.contains(hostile),
            "{}: the name does not read back literally: {subject:?}, {to:?}",
            file.display()
        );
    }
}

/// Issue 10, item 5: a 1,200-character name made To and Subject lines of 1,202 and
/// 1,221 octets, and a relay enforcing RFC 5322's limit of 998 answered `500 Line too
/// long`. lettre folds only at spaces; a long word is now encoded and folded. `check`
/// bounds a name to 200 characters (tests/broken/name_too_long.toml), so the long
/// subject here comes from a template that repeats the longest names allowed.
#[test]
fn no_line_of_a_message_exceeds_998_octets() {
    let dir = tempfile::tempdir().unwrap();
    let grace = "G".repeat(200);
    let alan = format!("Ä{}", "l".repeat(199));
    let config = program(dir.path(), &grace, &alan, "templates = \"mine\"");
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    let six = "{{ other.name }}".repeat(6);
    std::fs::write(
        mine.join("invite.md"),
        format!("subject: {six}, {six}\n\nHello {{{{ recipient.name }}}}.\n"),
    )
    .unwrap();
    for file in simulate(&config, &dir.path().join("out")) {
        let raw = std::fs::read(&file).unwrap();
        for line in raw.split(|&b| b == b'\n') {
            assert!(
                line.len() <= 998 + 1,
                "{}: a line of {} octets:\n{}",
                file.display(),
                line.len(),
                String::from_utf8_lossy(line)
            );
        }
        let mail = read_eml(&file);
        if file.to_string_lossy().contains("-digest") {
            continue;
        }
        // Python's address parser keeps the space between two encoded words of a
        // display name (RFC 2047 §6.2 says to drop it), so read To as RFC 2047 says.
        let to = unfolded_headers(&raw)
            .into_iter()
            .find_map(|h| h.strip_prefix("To: ").map(decode))
            .unwrap();
        assert!(to.contains(&grace) || to.contains(&alan), "{to}");
        if file.to_string_lossy().contains("-invite-") {
            let subject = mail["subject"].as_str().unwrap();
            let other = if to.contains(&grace) { &alan } else { &grace };
            let six = other.repeat(6);
            assert_eq!(subject, format!("{six}, {six}"), "{}", file.display());
        }
    }
}
