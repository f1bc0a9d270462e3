//! What a real install uses, checked with the tools that will read it: the bash
//! completions load and complete, the man page renders without groff warnings. A test
//! whose tool is missing says so on stderr and passes.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

mod common;

use common::mentord;

/// The path of `tool` on PATH (or at `fallback`), or a visible note that the test is skipped.
fn tool(name: &str, fallback: &str) -> Option<String> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .or_else(|| Path::new(fallback).exists().then(|| fallback.to_string()));
    if found.is_none() {
        eprintln!("SKIPPED: `{name}` is not installed here; this check did not run");
    }
    found
}

fn stdout_of(args: &[&str]) -> Vec<u8> {
    let output = mentord().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "mentord {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn bash_completions_load_and_complete_commands_and_options() {
    let Some(bash) = tool("bash", "/bin/bash") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("mentord.bash");
    std::fs::write(&script, stdout_of(&["completions", "bash"])).unwrap();
    let probe = format!(
        "source {script}\n\
         complete -p mentord\n\
         COMP_WORDS=(mentord im); COMP_CWORD=1; _mentord mentord im mentord; echo \"commands: ${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(mentord status --); COMP_CWORD=2; _mentord mentord -- status; echo \"options: ${{COMPREPLY[*]}}\"\n",
        script = script.display()
    );
    let output = Command::new(bash).args(["-c", &probe]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with("complete "), "{stdout}");
    assert!(stdout.contains("commands: import"), "{stdout}");
    assert!(
        stdout.contains("--csv") && stdout.contains("--json"),
        "{stdout}"
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = String::from_utf8(stdout_of(&["completions", shell])).unwrap();
        assert!(script.contains("import"), "{shell}");
    }
}

#[test]
fn the_man_page_renders() {
    let page = stdout_of(&["man"]);
    let text = String::from_utf8(page.clone()).unwrap();
    assert!(
        text.starts_with(".ie \\n(.g .ds Aq") || text.contains(".TH mentord 1"),
        "{text}"
    );
    if let Some(groff) = tool("groff", "/usr/bin/groff") {
        // -ww: every warning; -z: no output, only the diagnostics.
        let output = run_with_stdin(
            Command::new(groff).args(["-man", "-Tutf8", "-ww", "-z"]),
            &page,
        );
        assert!(output.status.success());
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "",
            "groff warnings"
        );
    }
    let Some(man) = tool("man", "/usr/bin/man") else {
        return;
    };
    let mut cmd = Command::new(man);
    cmd.args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80");
    let output = run_with_stdin(&mut cmd, &page);
    // Bold and underline reach a pipe as overstrikes ("S\x08S", "_\x08s"): a backspace
    // takes back the character before it.
    let mut shown = String::new();
    for c in String::from_utf8_lossy(&output.stdout).chars() {
        if c == '\u{8}' {
            shown.pop();
        } else {
            shown.push(c);
        }
    }
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for words in [
        "mentord(1)",
        "SYNOPSIS",
        "Runs a mentoring program on autopilot",
        "import",
        "completions",
    ] {
        assert!(shown.contains(words), "{words:?} in:\n{shown}");
    }
    // One page per command for packagers; each renders too.
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    stdout_of(&["man", "--dir", pages.to_str().unwrap()]);
    for name in [
        "mentord.1",
        "mentord-import.1",
        "mentord-status.1",
        "mentord-review-done.1",
    ] {
        assert!(pages.join(name).exists(), "{name}");
    }
}

fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}
