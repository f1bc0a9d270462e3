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
    measure_with(binary, args, &[])
}

/// [`measure`], with `env` set for mentord.
fn measure_with(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> Measured {
    let report = std::env::temp_dir().join(format!("mentord-bench-{}.time", std::process::id()));
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(&report)
        .arg(binary)
        .args(args)
        .envs(env.iter().copied())
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
    // No store from an earlier run: `check` and `plan` measure the file alone.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", dir.join("mentord.db").display()));
    }
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

    report_for_a_year(&binary, &dir, config, pairs);
}

/// The coordinator's week (SPEC §7) for a year: a store holding a year of what came back
/// (an agenda and action items for 13 meetings of every pair, a tenth of the pairs with
/// a late cancellation, two of every three four-weekly check-ins answered by each
/// person — 870,000 answers — and a review a pair), written
/// with `sqlite3`; then `report` for the year as CSV and HTML, which read and judge all
/// of it as the digest does (`report::build`).
fn report_for_a_year(binary: &Path, dir: &Path, config: &str, pairs: usize) {
    let db = dir.join("mentord.db");
    // The store, made by mentord itself.
    let made = Command::new(binary)
        .args([
            "-c",
            config,
            "review",
            "done",
            "p0-p1",
            "--on",
            "2027-03-01",
        ])
        .env("MENTORD_NOW", "2027-12-31T12:00:00Z")
        .stdout(Stdio::null())
        .status()
        .expect("mentord review done");
    assert!(made.success());
    let last = pairs - 1;
    let seed = format!(
        "PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}),
w(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM w WHERE k < 12)
INSERT INTO inbound (message_id, received_at, kind, pair, occurrence, person, sender, subject, state)
SELECT '<' || kind || i || '-' || k || '@bench>', 1799000000 + k * 2419200 + i, kind,
       'p' || (2 * i) || '-p' || (2 * i + 1),
       strftime('%Y-%m-%dT%H:%M:%SZ', 1799100000 + k * 2419200 + (i % 7) * 86400, 'unixepoch'),
       'p' || (2 * i + 1), 'p' || (2 * i + 1) || '@example.org', 'Re: your meeting', 'done'
FROM n, w, (SELECT 'agenda' AS kind UNION ALL SELECT 'action_items');
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 10 FROM n WHERE i < {last} - 10)
INSERT INTO cancellations (pair, date, occurrence, person, cancelled_at, late)
SELECT 'p' || (2 * i) || '-p' || (2 * i + 1), '2027-11-1' || (i % 10), '2027-11-1' || (i % 10) || 'T10:00:00Z',
       'p' || (2 * i + 1), 1825000000, 1 FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2 * {last} + 1),
c(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM c WHERE k < 12)
INSERT INTO checkins (pair, person, occurrence, score, answered_at, via)
SELECT 'p' || (i - i % 2) || '-p' || (i - i % 2 + 1), 'p' || i,
       date(1799100000 + k * 2419200, 'unixepoch'),
       1 + (i * 7 + k) % 5, 1799100000 + k * 2419200 + 3600 + i, 'link'
FROM n, c WHERE (i + k) % 3 <> 0;
INSERT INTO checkin_latest (pair, person, occurrence, answered_at, score, before)
SELECT pair, person, occurrence, answered_at, score, before FROM (
    SELECT pair, person, occurrence, answered_at, score,
           LEAD(score) OVER latest AS before, ROW_NUMBER() OVER latest AS rn
    FROM checkins WHERE score IS NOT NULL
    WINDOW latest AS (PARTITION BY pair, person ORDER BY occurrence DESC, answered_at DESC)
) t WHERE rn = 1;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
INSERT OR IGNORE INTO reviews (pair, held_on, recorded_at)
SELECT 'p' || (2 * i) || '-p' || (2 * i + 1), '2027-04-1' || (i % 10), 1808000000 FROM n;
COMMIT;
"
    );
    let seeded = Command::new("sqlite3")
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(seed.as_bytes())?;
            child.wait()
        })
        .expect("sqlite3 (Debian's sqlite3 package)");
    assert!(seeded.success(), "seeding the store failed");
    let html = dir.join("report.html");
    let html = html.to_str().expect("utf-8 path");
    for (label, args) in [
        ("report --csv (a year)", vec!["--csv"]),
        ("report --html (a year)", vec!["--html", html]),
    ] {
        let mut all = vec![
            "-c",
            config,
            "report",
            "--from",
            "2027-01-01",
            "--until",
            "2027-12-31",
        ];
        all.extend(args);
        // MENTORD_NOW: the year is over; health is judged on its last day.
        let runs: Vec<Measured> = (0..3)
            .map(|_| measure_with(binary, &all, &[("MENTORD_NOW", "2027-12-31T12:00:00Z")]))
            .collect();
        let best = runs
            .iter()
            .min_by(|a, b| a.seconds.total_cmp(&b.seconds))
            .expect("three runs");
        println!(
            "{label:<23} {:>6.2} s  {:>6.1} MB peak   (target < 2 s); best of 3",
            best.seconds, best.peak_mb
        );
    }
}
