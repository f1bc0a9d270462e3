//! Benchmark: the daemon's delivery rate and its idle cost.
//!
//! Run with `cargo bench --bench daemon` (or `-- PAIRS`, default 5,000). The program is
//! `benches/common`'s generated one, sending over SMTP to Postfix's `smtp-sink` on
//! loopback (Debian package `postfix`; install it first, see the README). Each run starts
//! the real release binary on a fresh store and measures, from the daemon's start:
//!
//! - *queued*: the first-start reconcile has rendered every series invite (one per
//!   person of each active pair) and written it to the store;
//! - *delivered*: every one is marked sent, i.e. rendered, stored, claimed, handed to
//!   the SMTP server and marked: messages per second end to end;
//! - for the SQLite run, then, the daemon idling with the program loaded: CPU time used
//!   over `MENTORD_BENCH_IDLE` seconds (default 30) and resident memory.
//!
//! Runs: SQLite with one daemon, then PostgreSQL (`MENTORD_TEST_POSTGRES`, default the
//! local server) with 1, 2 and 3 daemons on one store, each on a database of its own.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{counts, free_port, generate, start_sink};
use sqlx::Connection as _;

struct Run {
    queued: f64,
    delivered: f64,
}

/// Starts `daemons` daemons on `config` and waits until `expected` messages are sent.
async fn deliver(
    binary: &Path,
    config: &Path,
    store: &str,
    daemons: usize,
    expected: i64,
) -> (Run, Vec<Child>) {
    let start = Instant::now();
    let children: Vec<Child> = (0..daemons)
        .map(|_| {
            Command::new(binary)
                .arg("-c")
                .arg(config)
                .arg("run")
                .env("RUST_LOG", "warn")
                .env_remove("MENTORD_NOW")
                .spawn()
                .expect("start mentord")
        })
        .collect();
    let mut queued = None;
    loop {
        let (all, sent) = counts(store).await;
        if queued.is_none() && all >= expected {
            queued = Some(start.elapsed().as_secs_f64());
        }
        if sent >= expected {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1800),
            "only {sent} of {expected} sent after 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = start.elapsed().as_secs_f64();
    (
        Run {
            queued: queued.unwrap_or(delivered),
            delivered,
        },
        children,
    )
}

fn stop(children: Vec<Child>) {
    for mut child in children {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let _ = child.wait();
    }
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the command name: state is field 3, utime 14 and stime 15 (1-based).
    let ticks: f64 =
        fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    ticks / 100.0
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn write_program(dir: &Path, name: &str, base: &str, port: u16, store: &str) -> PathBuf {
    let config = dir.join(format!("{name}.toml"));
    let text = format!(
        "{base}\n[mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\n\n\
         [store]\nurl = \"{store}\"\n"
    );
    std::fs::write(&config, text).expect("write program");
    config
}

fn report(label: &str, expected: i64, run: &Run) {
    println!(
        "{label:<28} queued {:>6.1} s   delivered {:>6.1} s   {:>6.0} messages/s",
        run.queued,
        run.delivered,
        expected as f64 / run.delivered
    );
}

async fn postgres_database(admin: &str, name: &str) -> Option<String> {
    let mut connection = sqlx::PgConnection::connect(admin).await.ok()?;
    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(&mut connection)
        .await
        .ok()?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut connection)
        .await
        .ok()?;
    let base = admin.rsplit_once('/').map_or(admin, |(server, _)| server);
    Some(format!("{base}/{name}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let pairs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5_000);
    let idle: u64 = std::env::var("MENTORD_BENCH_IDLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_mentord"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/daemon");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create target/bench/daemon");
    let base = generate(pairs);
    let paused = base.matches("status = \"paused\"").count();
    let expected = 2 * (pairs - paused) as i64;
    let port = free_port();
    let _sink = start_sink(port);
    println!(
        "program: {pairs} pairs ({paused} paused): {expected} invites on first start, over SMTP to smtp-sink"
    );

    // SQLite, one daemon; then its idle cost.
    let db = dir.join("sqlite.db");
    let store = format!("sqlite://{}", db.display());
    let config = write_program(&dir, "sqlite", &base, port, &store);
    let (run, children) = deliver(&binary, &config, &store, 1, expected).await;
    report("sqlite, 1 daemon", expected, &run);
    let pid = children[0].id();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = cpu_seconds(pid);
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let used = cpu_seconds(pid) - before;
    println!(
        "idle with {pairs} pairs loaded: {:.2} s CPU in {idle} s ({:.3}%), {:.0} MB resident",
        used,
        100.0 * used / idle as f64,
        rss_mb(pid)
    );
    stop(children);

    // PostgreSQL: 1, 2 and 3 daemons on one store.
    let admin = std::env::var("MENTORD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    for daemons in 1..=3 {
        let name = format!("mentord_bench_{daemons}");
        let Some(store) = postgres_database(&admin, &name).await else {
            println!("postgres: {admin} does not answer; the PostgreSQL runs are skipped");
            return;
        };
        let config = write_program(&dir, &name, &base, port, &store);
        let (run, children) = deliver(&binary, &config, &store, daemons, expected).await;
        report(&format!("postgres, {daemons} daemon(s)"), expected, &run);
        stop(children);
        let mut connection = sqlx::PgConnection::connect(&admin).await.expect("connect");
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut connection)
        .await;
    }
}
