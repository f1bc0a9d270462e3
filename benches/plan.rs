//! Benchmark: `check` and `plan --days 365 --json` of a generated 50,000-pair program.
//!
//! Run with `cargo bench --bench plan` (or `-- PAIRS` for another size). It writes the
//! program to `target/bench/program-PAIRS.toml`, runs the real release binary under
//! `/usr/bin/time` and prints wall time, peak memory and the number of actions, next to
//! the targets (plan: < 2 s and < 300 MB; check: < 0.5 s).
//!
//! The program mixes 24 zones (both hemispheres, half- and quarter-hour offsets), weekly,
//! fortnightly, monthly and RRULE cadences, early-morning times that hit DST changes,
//! paused pairs, skip dates and per-person quiet hours.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "Europe/London",
    "Europe/Helsinki",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Asia/Dubai",
    "Asia/Tehran",
    "America/Mexico_City",
    "Atlantic/Azores",
    "UTC",
];

const CADENCES: &[&str] = &[
    "every = \"week\"\non = \"tue\"",
    "every = \"2 weeks\"\non = \"wed\"",
    "every = \"2 weeks\"\non = \"mon, thu\"",
    "every = \"month\"\non = \"2nd tue\"",
    "every = \"month\"\non = \"15\"",
    "rrule = \"FREQ=WEEKLY;INTERVAL=3;BYDAY=FR\"",
    "",
];

/// A small deterministic generator, so every run measures the same program.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

pub fn generate(pairs: usize) -> String {
    let mut rng = Lcg(42);
    let mut out = String::with_capacity(pairs * 400);
    out.push_str(
        r#"[program]
name = "Generated benchmark program"
timezone = "Europe/Berlin"
start = 2027-01-11
end = 2027-12-31
coordinator = "coordinator"
organizer = { name = "Mentoring Program", email = "mentoring@example.org" }
skip = [2027-04-05, 2027-05-24, 2027-12-24]

[defaults]
every = "2 weeks"
on = "tue"
at = "10:00"
duration = "45m"
location = "Video call"

[people.coordinator]
name = "Coordinator"
email = "coordinator@example.org"
"#,
    );
    for i in 0..pairs * 2 {
        let zone = ZONES[rng.next(ZONES.len())];
        let _ = write!(
            out,
            "\n[people.p{i}]\nname = \"Person {i}\"\nemail = \"p{i}@example.org\"\ntimezone = \"{zone}\"\n"
        );
        if rng.next(10) == 0 {
            out.push_str("quiet_hours = \"22:00-06:30\"\n");
        }
    }
    for i in 0..pairs {
        let mentor = 2 * i;
        let _ = write!(
            out,
            "\n[[pairs]]\nmentor = \"p{mentor}\"\nmentee = \"p{}\"\n",
            mentor + 1
        );
        let cadence = CADENCES[rng.next(CADENCES.len())];
        if !cadence.is_empty() {
            let _ = writeln!(out, "{cadence}");
        }
        let hour = [1, 2, 3, 8, 9, 10, 11, 14, 16, 17][rng.next(10)];
        let minute = [0, 15, 30, 45][rng.next(4)];
        let _ = writeln!(out, "at = \"{hour:02}:{minute:02}\"");
        if rng.next(3) == 0 {
            let _ = writeln!(out, "timezone = \"{}\"", ZONES[rng.next(ZONES.len())]);
        }
        if rng.next(4) == 0 {
            let _ = writeln!(out, "start = 2027-0{}-1{}", 1 + rng.next(6), rng.next(10));
        }
        if rng.next(50) == 0 {
            out.push_str("status = \"paused\"\n");
        }
        out.push_str(
            "goals = [\"Lead one design review by March\", \"Ship the on-call runbook\"]\n",
        );
    }
    out
}

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
