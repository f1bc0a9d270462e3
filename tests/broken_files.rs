//! Every `tests/broken/NAME.toml` is a small program file with one kind of mistake (or
//! several). `mentord check` must refuse it with exit code 1 and report exactly the
//! errors listed in `NAME.expected`, one `LINE:COL: error: MESSAGE` per line (without
//! the file path, so the test does not depend on where the file lives).
//!
//! Adding a case is adding a `.toml` and its `.expected`; a `.toml` without its
//! `.expected` fails the test.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn broken_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("broken")
}

/// The `.toml` files in `tests/broken`, sorted for a stable order.
fn cases() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(broken_dir())
        .expect("tests/broken exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Checks one case; returns a description of every way it fails.
fn check_case(toml: &Path) -> Vec<String> {
    let name = toml
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned();
    let expected_path = toml.with_extension("expected");
    let Ok(expected_text) = std::fs::read_to_string(&expected_path) else {
        return vec![format!(
            "{name}: missing {} (list the expected `LINE:COL: error: MESSAGE` lines there)",
            expected_path.display()
        )];
    };
    let expected: Vec<&str> = expected_text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();

    let output = Command::cargo_bin("mentord")
        .expect("the mentord binary is built")
        .arg("-c")
        .arg(toml)
        .arg("check")
        .env_remove("MENTORD_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("mentord runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = toml.display().to_string();

    let mut failures = Vec::new();
    let mut fail = |what: String| {
        failures.push(format!("{name}: {what}"));
    };
    if output.status.code() != Some(1) {
        fail(format!("exit code {:?}, expected 1", output.status.code()));
    }
    if stdout.contains("panicked") || stderr.contains("panicked") {
        fail("the output mentions a panic".into());
    }
    let error_lines: Vec<&str> = stderr.lines().filter(|l| l.contains(": error: ")).collect();
    for want in &expected {
        let line = format!("{shown}:{want}");
        if !stderr.lines().any(|l| l == line) {
            fail(format!("stderr lacks the line\n    {line}"));
        }
    }
    if error_lines.len() != expected.len() {
        fail(format!(
            "{} `: error: ` lines, expected {}:\n    {}",
            error_lines.len(),
            expected.len(),
            error_lines.join("\n    ")
        ));
    }
    let summary = format!(
        "{shown}: {} error{} found; the file is not valid, and mentord sends nothing from it",
        expected.len(),
        if expected.len() == 1 { "" } else { "s" }
    );
    if !stderr.lines().any(|l| l == summary) {
        fail(format!("stderr lacks the summary line\n    {summary}"));
    }
    if !failures.is_empty() {
        failures.push(format!("--- stderr of {name} ---\n{stderr}"));
    }
    failures
}

#[test]
fn every_broken_file_is_refused_with_its_expected_errors() {
    let cases = cases();
    assert!(
        cases.len() >= 24,
        "expected at least 24 cases in {}, found {}",
        broken_dir().display(),
        cases.len()
    );
    let failures: Vec<String> = cases.iter().flat_map(|c| check_case(c)).collect();
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The README says how many broken files there are; the count went stale once (it said
/// 51 while there were 53).
#[test]
fn the_readme_counts_the_broken_files() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let count = cases().len();
    let said = format!("`tests/broken/` holds {count} broken files");
    assert!(
        readme.replace('\n', " ").contains(&said),
        "README.md should say: {said}"
    );
}

#[test]
fn every_expected_file_has_its_program_file() {
    let orphans: Vec<PathBuf> = std::fs::read_dir(broken_dir())
        .expect("tests/broken exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "expected"))
        .filter(|path| !path.with_extension("toml").exists())
        .collect();
    assert!(
        orphans.is_empty(),
        "`.expected` files without a `.toml`: {orphans:?}"
    );
}
