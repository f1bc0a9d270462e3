//! SPEC §2: a program file may say which language its people read (`language` on
//! `[program]` and per person, BCP 47). A coordinator who copies the SPEC's example file
//! must get a valid program, a tag that is not one gets a clear error where it is
//! written, and a language mentord writes no mail in gets a warning instead of silence.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;

fn program(dir: &Path, program_language: &str, person_language: &str) -> std::path::PathBuf {
    let text = format!(
        r#"[program]
name = "Languages"
timezone = "Europe/Berlin"
start = 2030-01-07
coordinator = "ada"
organizer = {{ name = "Mentoring", email = "mentoring@example.org" }}
{program_language}

[people.ada]
name = "Ada Coordinator"
email = "ada@example.org"

[people.grace]
name = "Grace Hopper"
email = "grace@example.org"
{person_language}

[people.alan]
name = "Alan Turing"
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

fn check(config: &Path) -> (Option<i32>, String) {
    let output = common::mentord()
        .arg("--config")
        .arg(config)
        .arg("check")
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.code(), text)
}

#[test]
fn the_spec_example_languages_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    for (program_language, person_language) in [
        ("language = \"en\"", "language = \"es\""),
        ("language = \"de\"", "language = \"pt-BR\""),
        ("", "language = \"ja\""),
        ("language = \"fr\"", ""),
    ] {
        let config = program(dir.path(), program_language, person_language);
        let (code, text) = check(&config);
        assert_eq!(
            code,
            Some(0),
            "{program_language} {person_language}: {text}"
        );
        assert!(!text.contains("warning"), "{text}");
    }
}

#[test]
fn a_tag_that_is_not_a_language_is_refused_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let config = program(dir.path(), "language = \"english\"", "");
    let (code, text) = check(&config);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("mentord.toml:7:12"), "{text}");
    assert!(text.contains("not a language tag"), "{text}");
    assert!(text.contains("BCP 47"), "{text}");

    let config = program(dir.path(), "", "language = \"de_DE!\"");
    let (code, text) = check(&config);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("mentord.toml:16:12"), "{text}");
}

#[test]
fn a_language_mentord_writes_no_mail_in_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let config = program(dir.path(), "", "language = \"nl\"");
    let (code, text) = check(&config);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("warning"), "{text}");
    assert!(text.contains("no mail of its own in \"nl\""), "{text}");
}
