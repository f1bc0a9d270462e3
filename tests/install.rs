//! What a real install uses, checked with the tools that will read it: the bash
//! completions load and complete, the man page renders without groff warnings, the
//! systemd unit passes `systemd-analyze verify`, the sysusers.d file makes the user, the
//! sample `/etc/mentord/mentord.toml` passes `check`, and the licenses Cargo.toml
//! declares are there. A test whose tool is missing says so on stderr and passes.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

mod common;

use common::mentord;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BINARY: &str = env!("CARGO_BIN_EXE_mentord");

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

/// `systemd-analyze verify` wants the ExecStart binary to exist: the unit is verified
/// as committed, with `/usr/local/bin/mentord` replaced by the binary under test, and
/// the man page its `Documentation=` names is on MANPATH, as the install steps put it.
#[test]
fn the_systemd_unit_verifies() {
    let Some(analyze) = tool("systemd-analyze", "/usr/bin/systemd-analyze") else {
        return;
    };
    let unit = std::fs::read_to_string(format!("{ROOT}/contrib/mentord.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/local/bin/mentord --config /etc/mentord/mentord.toml run")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mentord.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/mentord", BINARY)).unwrap();
    let man = dir.path().join("man");
    stdout_of(&["man", "--dir", man.join("man1").to_str().unwrap()]);
    let output = Command::new(&analyze)
        .arg("verify")
        .arg(&path)
        .env("MANPATH", &man)
        .env("SYSTEMD_LOG_LEVEL", "notice")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "systemd-analyze verify:\n{stderr}");
    let about_ours: Vec<&str> = stderr.lines().filter(|l| l.contains("mentord")).collect();
    assert!(about_ours.is_empty(), "systemd-analyze verify:\n{stderr}");
    // A binary that is not there is what verify catches: the check is real.
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/mentord", "/nonexistent/mentord"),
    )
    .unwrap();
    let output = Command::new(&analyze)
        .arg("verify")
        .arg(&path)
        .env("MANPATH", &man)
        .output()
        .unwrap();
    assert!(!output.status.success(), "verify accepted a missing binary");
}

#[test]
fn the_sysusers_file_makes_the_mentord_user() {
    let Some(sysusers) = tool("systemd-sysusers", "/usr/bin/systemd-sysusers") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let output = Command::new(sysusers)
        .arg(format!("--root={}", root.path().display()))
        .arg(format!("{ROOT}/contrib/sysusers.d/mentord.conf"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let line = passwd.lines().find(|l| l.starts_with("mentord:")).unwrap();
    let fields: Vec<&str> = line.split(':').collect();
    let uid: u32 = fields[2].parse().unwrap();
    assert!(uid < 1000, "a system user: {line}");
    assert_eq!(fields[5], "/var/lib/mentord", "{line}");
    assert!(fields[6].ends_with("nologin"), "{line}");
    let group = std::fs::read_to_string(root.path().join("etc/group")).unwrap();
    assert!(group.lines().any(|l| l.starts_with("mentord:")), "{group}");
}

#[test]
fn the_sample_etc_program_passes_check_and_keeps_state_in_var_lib() {
    let sample = format!("{ROOT}/contrib/etc/mentord.toml");
    let output = mentord().args(["-c", &sample, "check"]).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&sample).unwrap();
    assert!(text.contains("url = \"sqlite:///var/lib/mentord/mentord.db\""));
    assert!(text.contains("dir = \"/var/lib/mentord/outbox\""));
    // It runs: its first weeks on a virtual clock (no store, nothing under /var/lib).
    let out = tempfile::tempdir().unwrap();
    let output = mentord()
        .args([
            "-c",
            &sample,
            "simulate",
            "--from",
            "2027-01-04",
            "--until",
            "2027-02-01",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let index = std::fs::read_to_string(out.path().join("index.json")).unwrap();
    assert!(index.contains("grace-alan"), "{index}");
}

#[test]
fn the_licenses_cargo_toml_declares_are_there() {
    let manifest = std::fs::read_to_string(format!("{ROOT}/Cargo.toml")).unwrap();
    assert!(manifest.contains("license = \"MIT OR Apache-2.0\""));
    let mit = std::fs::read_to_string(format!("{ROOT}/LICENSE-MIT")).unwrap();
    assert!(mit.contains("Permission is hereby granted, free of charge"));
    let apache = std::fs::read_to_string(format!("{ROOT}/LICENSE-APACHE")).unwrap();
    assert!(apache.contains("Apache License") && apache.contains("Version 2.0, January 2004"));
    assert!(apache.contains("END OF TERMS AND CONDITIONS"));
}
