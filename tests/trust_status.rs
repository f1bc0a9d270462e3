//! What `mentord status` prints, as an outsider and an unlucky operator meet it (issue
//! 22, SPEC §6), through the real binary on a SQLite store:
//!
//! - Outsiders wrote into `status`. A stranger mailed the program address with a Subject
//!   whose RFC 2047 word decodes to CR/LF: the mail was set aside and kept, and `mentord
//!   status` printed its subject as is, so the coordinator read fake `bouncing:` and
//!   `outbox:` lines. U+202E (RIGHT-TO-LEFT OVERRIDE) in a subject reached the terminal
//!   and turned the rest of the line around. `status --csv` passed names starting with
//!   `=`, `+`, `-` or `@` to spreadsheets, which ran them as formulas.
//! - `mentord status | head` ended with exit 101 and "panicked … Broken pipe" once the
//!   reader had its ten lines.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;

/// A program in UTC meeting in 2030, on a SQLite store in `dir`, with `people` (id,
/// name) paired in twos (mentor, mentee).
fn program(dir: &Path, people: &[(String, String)]) -> std::path::PathBuf {
    let mut text =
        String::from("[people.ada]\nname = \"Ada Lovelace\"\nemail = \"ada@example.org\"\n");
    for (id, name) in people {
        let name = name.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = write!(
            text,
            "\n[people.{id}]\nname = \"{name}\"\nemail = \"{id}@example.org\"\n"
        );
    }
    for pair in people.chunks(2) {
        let _ = write!(
            text,
            "\n[[pairs]]\nmentor = \"{}\"\nmentee = \"{}\"\n",
            pair[0].0, pair[1].0
        );
    }
    common::program_in_2030(dir, &text)
}

/// `mentord -c CONFIG ARGS` with `stdin`: what it printed (it must succeed).
fn mentord(config: &Path, args: &[&str], stdin: &str) -> String {
    let output = common::mentord()
        .arg("-c")
        .arg(config)
        .args(args)
        .write_stdin(stdin.as_bytes().to_vec())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `mentord deliver` with `mail` on stdin; it must store it, and it is taken in.
fn deliver(config: &Path, mail: &str) {
    let (code, said) = common::deliver(config, mail.as_bytes());
    assert_eq!(code, 0, "{said}");
}

/// `mentord status ARGS`.
fn status(config: &Path, args: &[&str]) -> String {
    let args: Vec<&str> = std::iter::once("status")
        .chain(args.iter().copied())
        .collect();
    mentord(config, &args, "")
}

/// `text` as one RFC 2047 encoded word.
fn encoded(text: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

#[test]
fn outside_text_cannot_write_lines_turn_text_around_or_run_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let people: Vec<(String, String)> = [
        ("grace", "=HYPERLINK(\"http://evil.example/\",\"click\")"),
        ("alan", "+1+2"),
        ("margaret", "-2+3"),
        ("linus", "@SUM(1)"),
    ]
    .iter()
    .map(|(id, name)| (id.to_string(), name.to_string()))
    .collect();
    let config = program(dir.path(), &people);

    let forged = encoded("hi\r\nbouncing: evil@example.org\r\noutbox: 0 pending");
    deliver(
        &config,
        &format!(
            "From: stranger@example.net\r\nTo: mentoring@example.org\r\nSubject: {forged}\r\n\
             Message-ID: <forged@example.net>\r\n\r\nhello\r\n"
        ),
    );
    deliver(
        &config,
        &format!(
            "From: {} <evil\u{202E}ten.elpmaxe@example.net>\r\nTo: mentoring@example.org\r\n\
             Subject: {}\r\nMessage-ID: <rlo@example.net>\r\n\r\nhello\r\n",
            encoded("Evil \u{202E}Sender"),
            encoded("invoice \u{202E}fdp.exe")
        ),
    );

    let table = status(&config, &[]);
    assert!(
        !table.lines().any(|l| l.starts_with("bouncing:")),
        "a subject wrote a line: {table}"
    );
    assert_eq!(
        table.lines().filter(|l| l.starts_with("outbox:")).count(),
        1,
        "{table}"
    );
    // The whole subject on its own line, its line breaks shown.
    let kept = table
        .lines()
        .find(|l| l.contains("from stranger@example.net"))
        .unwrap();
    assert!(
        kept.contains("\"hi<U+")
            && kept.contains("<U+000A>bouncing: evil@example.org<U+")
            && kept.contains("<U+000A>outbox: 0 pending\""),
        "{table}"
    );
    assert!(
        !table.contains('\u{202E}'),
        "U+202E reached status: {table}"
    );
    assert!(table.contains("invoice <U+202E>fdp.exe"), "{table}");

    let json = status(&config, &["--json"]);
    assert!(!json.contains('\u{202E}'), "{json}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    // A stranger's mail is kept for the coordinator (SPEC §5 "No dead ends").
    let subjects: Vec<&str> = json["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects.contains(&"invoice <U+202E>fdp.exe"),
        "JSON shows outside text as the table does: {subjects:?}"
    );

    let csv = status(&config, &["--csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut names = Vec::new();
    for row in reader.records() {
        let row = row.unwrap();
        for cell in &row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a spreadsheet runs {cell:?}: {csv}"
            );
        }
        names.extend([row[11].to_string(), row[12].to_string()]);
    }
    assert_eq!(
        names,
        [
            "'=HYPERLINK(\"http://evil.example/\",\"click\")",
            "'+1+2",
            "'-2+3",
            "'@SUM(1)"
        ],
        "{csv}"
    );
}

/// 2,000 pairs: more than a pipe holds, so the reader closes it mid-print.
fn large_program(dir: &Path) -> std::path::PathBuf {
    let people: Vec<(String, String)> = (0..4000)
        .map(|i| (format!("p{i}"), format!("Person Number {i}")))
        .collect();
    program(dir, &people)
}

/// `mentord ARGS` with its stdout a pipe that is closed after the first line: how it
/// ended and what it said on stderr.
fn first_line_only(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mentord"))
        .args(args)
        .env_remove("MENTORD_CONFIG")
        .env_remove("MENTORD_NOW")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        first,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let config = large_program(dir.path());
    let config = config.to_str().unwrap();
    for format in [None, Some("--json"), Some("--csv")] {
        let mut args = vec!["-c", config, "status"];
        args.extend(format);
        let (code, first, stderr) = first_line_only(&args);
        assert!(!first.is_empty(), "{args:?} printed nothing");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }

    // `import` prints a whole program file: the same for it.
    let mut people = String::from("id,name,email\n");
    let mut pairs = String::from("mentor,mentee\n");
    for i in 0..2000 {
        let _ = writeln!(people, "a{i},Person A{i},a{i}@example.org");
        let _ = writeln!(people, "b{i},Person B{i},b{i}@example.org");
        let _ = writeln!(pairs, "a{i},b{i}");
    }
    let people_csv = dir.path().join("people.csv");
    let pairs_csv = dir.path().join("pairs.csv");
    std::fs::File::create(&people_csv)
        .unwrap()
        .write_all(people.as_bytes())
        .unwrap();
    std::fs::write(&pairs_csv, pairs).unwrap();
    let (code, first, stderr) = first_line_only(&[
        "import",
        "--people",
        people_csv.to_str().unwrap(),
        "--pairs",
        pairs_csv.to_str().unwrap(),
    ]);
    assert!(!first.is_empty(), "import printed nothing: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert_eq!(code, Some(0), "{stderr}");
}
