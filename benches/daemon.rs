//! Benchmark: the daemon's delivery rate beside a raw SMTP client's, and its idle cost.
//!
//! Run with `cargo bench --bench daemon` (or `-- PAIRS`, default 5,000; `-- 50000` for
//! the 50,000-pair first start of 100,000 invites). The program is `benches/common`'s
//! generated one, sending over SMTP to Postfix's `smtp-sink` on loopback (Debian
//! package `postfix`; install it first, see the README) over `connections = 4`
//! sessions per daemon. One run measures, side by side:
//!
//! - *raw*: Postfix's `smtp-source` pushing 10,000 messages of 4 KB over 4 sessions into
//!   the same sink: what the sink and the machine allow a client that does nothing else.
//!   The ratios are to its default (a connection per message, as issue 14 measured
//!   it); its rate keeping each connection (`-d`) is printed beside it;
//! - for mentord, from the daemon's start on a fresh store: *queued*, when the
//!   first-start reconcile has rendered every series invite (one per person of each
//!   active pair) and written it to the store; *delivered*, when every one is marked
//!   sent, i.e. rendered, stored, claimed, handed to the sink and marked: messages per
//!   second end to end, and their ratio to the raw rate; the daemon's peak resident
//!   memory (VmHWM) and the store's size;
//! - for the SQLite run, then, the daemon idling with the program loaded: CPU time used
//!   over `MENTORD_BENCH_IDLE` seconds (default 30) and resident memory.
//!
//! Runs: SQLite with one daemon, then PostgreSQL (`MENTORD_TEST_POSTGRES`, default the
//! local server) with 1, 2 and 3 daemons on one store, each on a database of its own.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{Counter, free_port, generate, start_sink};
use sqlx::Connection as _;

struct Run {
    queued: f64,
    delivered: f64,
    /// The largest peak resident memory of the daemons, in MB.
    peak_mb: f64,
}

/// Sessions per daemon, as `smtp-source` uses.
const CONNECTIONS: u32 = 4;

/// `smtp-source`'s rate into the sink at `port`: 10,000 messages of 4 KB over four
/// sessions at once; with `keep`, each session sends message after message on one
/// connection (`-d`), else it connects anew for each message (smtp-source's default).
fn raw_rate(port: u16, keep: bool) -> f64 {
    let messages = 10_000;
    let start = Instant::now();
    let status = Command::new("/usr/sbin/smtp-source")
        .args(keep.then_some("-d"))
        .args(["-s", "4", "-l", "4096", "-m", &messages.to_string()])
        .args(["-f", "org@example.org", "-t", "someone@example.org"])
        .arg(format!("127.0.0.1:{port}"))
        .status()
        .expect("start /usr/sbin/smtp-source (Debian's postfix package)");
    assert!(status.success(), "smtp-source failed");
    f64::from(messages) / start.elapsed().as_secs_f64()
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
    let mut counter = Counter::new(store);
    loop {
        let (all, sent) = counter.read().await;
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
    let peak_mb = children
        .iter()
        .map(|c| status_mb(c.id(), "VmHWM:"))
        .fold(0.0, f64::max);
    (
        Run {
            queued: queued.unwrap_or(delivered),
            delivered,
            peak_mb,
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

/// A memory figure of `/proc/PID/status` (`VmRSS:`, `VmHWM:`), in MB.
fn status_mb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
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
        "{base}\n[mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\n\
         connections = {CONNECTIONS}\n\n[store]\nurl = \"{store}\"\n"
    );
    std::fs::write(&config, text).expect("write program");
    config
}

fn report(label: &str, expected: i64, run: &Run, raw: f64, store_mb: f64) {
    let rate = expected as f64 / run.delivered;
    println!(
        "{label:<24} queued {:>6.1} s   delivered {:>6.1} s   {rate:>6.0} messages/s   ratio {:.2}   peak {:>4.0} MB   store {:>5.0} MB",
        run.queued,
        run.delivered,
        rate / raw,
        run.peak_mb,
        store_mb,
    );
}

/// The SQLite store's size: the file and its write-ahead log.
fn sqlite_mb(db: &Path) -> f64 {
    let size = |p: PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    (size(db.to_path_buf()) + size(wal)) as f64 / 1e6
}

/// A PostgreSQL database's size.
async fn postgres_mb(store: &str) -> f64 {
    let mut connection = sqlx::PgConnection::connect(store).await.expect("connect");
    let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut connection)
        .await
        .expect("database size");
    bytes as f64 / 1e6
}

/// The average size of the messages in the store, in bytes.
async fn average_body(store: &str) -> f64 {
    let average = "SELECT CAST(AVG(LENGTH(body)) AS DOUBLE PRECISION) FROM";
    let answer: Option<f64> = if store.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(store).await.expect("connect");
        let query = format!("{average} messages");
        sqlx::query_scalar(sqlx::AssertSqlSafe(query))
            .fetch_one(&mut c)
            .await
            .ok()
    } else {
        // SQLite keeps bodies in a table of their own.
        let url = format!("{store}?mode=ro");
        let mut c = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("connect");
        let query = format!("{average} bodies");
        sqlx::query_scalar(sqlx::AssertSqlSafe(query))
            .fetch_one(&mut c)
            .await
            .ok()
    };
    answer.unwrap_or(0.0)
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
        "program: {pairs} pairs ({paused} paused): {expected} invites on first start, over SMTP to smtp-sink, {CONNECTIONS} sessions a daemon"
    );
    let raw = raw_rate(port, false);
    let kept = raw_rate(port, true);
    println!(
        "smtp-source (4 sessions, 4 KB, 10,000 messages): {raw:.0} messages/s (the ratios' base); \
         {kept:.0} messages/s keeping each session's connection (-d)"
    );

    // SQLite, one daemon; then its idle cost.
    let db = dir.join("sqlite.db");
    let store = format!("sqlite://{}", db.display());
    let config = write_program(&dir, "sqlite", &base, port, &store);
    let (run, children) = deliver(&binary, &config, &store, 1, expected).await;
    report("sqlite, 1 daemon", expected, &run, raw, sqlite_mb(&db));
    println!("messages average {:.0} bytes", average_body(&store).await);
    let pid = children[0].id();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = cpu_seconds(pid);
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let used = cpu_seconds(pid) - before;
    println!(
        "idle with {pairs} pairs loaded: {:.2} s CPU in {idle} s ({:.3}%), {:.0} MB resident",
        used,
        100.0 * used / idle as f64,
        status_mb(pid, "VmRSS:")
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
        let size = postgres_mb(&store).await;
        report(
            &format!("postgres, {daemons} daemon(s)"),
            expected,
            &run,
            raw,
            size,
        );
        stop(children);
        let mut connection = sqlx::PgConnection::connect(&admin).await.expect("connect");
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut connection)
        .await;
    }
}
