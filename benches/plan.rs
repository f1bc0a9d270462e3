//! Benchmark: `check` and `plan --days 365 --json` of a generated 50,000-pair program.
//!
//! Run with `cargo bench --bench plan` (or `-- PAIRS` for another size). It writes the
//! program to `target/bench/program-PAIRS.toml`, runs the real release binary under
//! `/usr/bin/time` and prints wall time, peak memory and the number of actions, next to
//! the targets (plan: < 2 s and < 300 MB; check: < 0.5 s).
//!
//! The program is `benches/common`'s generated one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;

use common::generate;

struct Measured {
    seconds: f64,
    peak_mb: f64,
}

/// Runs mentord under GNU time with stdout going to /dev/null: the figure is mentord's
/// own work, not the disk's (writing 1.2 GB to a file costs this VM 1 to 2 s more).
fn measure(binary: &Path, args: &[&str]) -> Measured {
    let report = std::env::temp_dir().join(format!("mentord-bench-{}.time", std::process::id()));
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(&report)
        .arg(binary)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run /usr/bin/time (GNU time)");
    assert!(status.success(), "mentord {args:?} failed");
    let text = std::fs::read_to_string(&report).expect("read time report");
    let mut fields = text.split_whitespace();
    let seconds: f64 = fields.next().and_then(|s| s.parse().ok()).expect("elapsed");
    let kb: f64 = fields.next().and_then(|s| s.parse().ok()).expect("max rss");
    Measured {
        seconds,
        peak_mb: kb / 1024.0,
    }
}

/// The number of lines mentord prints, read through a pipe (not timed).
fn count_lines(binary: &Path, args: &[&str]) -> usize {
    use std::io::Read;
    let mut child = Command::new(binary)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run mentord");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0;
    loop {
        let n = stdout.read(&mut buf).expect("read stdout");
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
    }
    assert!(child.wait().expect("wait").success());
    lines
}

fn main() {
    let pairs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50_000);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_mentord"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).expect("create target/bench");
    let program = dir.join(format!("program-{pairs}.toml"));
    let text = generate(pairs);
    std::fs::write(&program, &text).expect("write program");
    let config = program.to_str().expect("utf-8 path");
    println!(
        "program: {pairs} pairs, {} people, {:.1} MB at {}",
        pairs * 2 + 1,
        text.len() as f64 / 1e6,
        program.display()
    );

    let check = measure(&binary, &["-c", config, "check"]);
    println!(
        "check:                  {:>6.2} s  {:>6.1} MB peak   (target < 0.5 s)",
        check.seconds, check.peak_mb
    );
    let plan_args = [
        "-c",
        config,
        "plan",
        "--from",
        "2027-01-01",
        "--days",
        "365",
        "--json",
    ];
    let plan = measure(&binary, &plan_args);
    // The JSON array has one action per line plus its two bracket lines.
    let actions = count_lines(&binary, &plan_args).saturating_sub(2);
    println!(
        "plan --days 365 --json: {:>6.2} s  {:>6.1} MB peak   (target < 2 s, < 300 MB); {actions} actions",
        plan.seconds, plan.peak_mb
    );
}
