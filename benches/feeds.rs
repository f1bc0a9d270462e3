//! Benchmark: calendar feeds polled by everyone while the daemon is sending (SPEC §9,
//! issue 26).
//!
//! Run with `cargo bench --bench feeds` (or `-- PAIRS PEOPLE`: the program's size,
//! default 50,000 pairs, and how many distinct people's feeds are fetched, default all
//! of them). Starts the release binary on `benches/common`'s generated program with
//! `[http]` on (feeds and links), a fresh SQLite store, sending its first start's
//! invites over SMTP to Postfix's `smtp-sink`. Every invite links its person's feed, so
//! once the invites are queued every person has a token in the store; the benchmark
//! reads them from there. Then, while the invites go out:
//!
//! - each person's feed fetched once (a calendar app's first poll): 50 keep-alive
//!   clients, each person once, in a shuffled order; latency p50/p90/p99/max, requests
//!   per second, bytes, and the messages sent per second meanwhile;
//! - each again with the `If-None-Match` it got (an hourly poll of an unchanged feed):
//!   every one must be 304;
//! - the program's feed (every pair), first computed and then kept.
//!
//! The client shares the two cores with the daemon and the sink: it runs on one thread.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::client::{
    PASSWORD, ask, header, ms, percentile, read_answer, run_daemon, sending_during, write_program,
};
use common::{counts, free_port, generate, start_sink};
use sqlx::Connection as _;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

const CLIENTS: usize = 50;

/// One person's feed request, with the ETag a client has (if any).
fn get(path: &str, etag: Option<&str>) -> Vec<u8> {
    let validator = etag.map_or(String::new(), |e| format!("If-None-Match: {e}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{validator}\r\n").into_bytes()
}

/// What a round of fetches gave.
struct Round {
    latencies: Vec<Duration>,
    wall: Duration,
    /// Answers by status.
    statuses: std::collections::BTreeMap<u16, usize>,
    /// Each feed's ETag, in the order of `paths`.
    etags: Vec<Option<String>>,
    bytes: usize,
    errors: usize,
}

/// Each of `paths` fetched once (with its ETag from `etags`, when given) by `CLIENTS`
/// keep-alive clients taking the next path in turn.
async fn round(port: u16, paths: &[String], etags: Option<&[Option<String>]>) -> Round {
    let start = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let paths = std::sync::Arc::new(paths.to_vec());
    let etags = std::sync::Arc::new(etags.map(<[_]>::to_vec));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (next, paths, etags) = (next.clone(), paths.clone(), etags.clone());
        tasks.spawn(async move {
            let mut out = Vec::new();
            let mut buffer = Vec::new();
            let mut stream: Option<TcpStream> = None;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = paths.get(i) else { break };
                let etag = etags.as_ref().as_ref().and_then(|e| e[i].as_deref());
                let request = get(path, etag);
                let sent = Instant::now();
                match ask(&mut stream, port, &request, &mut buffer).await {
                    Ok(status) => out.push((
                        i,
                        Some((
                            status,
                            sent.elapsed(),
                            header(&buffer, "etag"),
                            buffer.len(),
                        )),
                    )),
                    Err(_) => out.push((i, None)),
                }
            }
            out
        });
    }
    let mut round = Round {
        latencies: Vec::with_capacity(paths.len()),
        wall: Duration::ZERO,
        statuses: Default::default(),
        etags: vec![None; paths.len()],
        bytes: 0,
        errors: 0,
    };
    while let Some(done) = tasks.join_next().await {
        for (i, answer) in done.expect("a client") {
            match answer {
                Some((status, took, etag, bytes)) => {
                    round.latencies.push(took);
                    *round.statuses.entry(status).or_default() += 1;
                    round.etags[i] = etag;
                    round.bytes += bytes;
                }
                None => round.errors += 1,
            }
        }
    }
    round.wall = start.elapsed();
    round.latencies.sort_unstable();
    round
}

fn report(what: &str, r: &Round, sending: f64) {
    println!(
        "{what}: {} requests, {CLIENTS} clients: p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.1} ms  \
         {:.0} requests/s  {:.1} MB  answers {:?}, {} failed  sending meanwhile {sending:.0} messages/s",
        r.latencies.len(),
        ms(percentile(&r.latencies, 0.50)),
        ms(percentile(&r.latencies, 0.90)),
        ms(percentile(&r.latencies, 0.99)),
        ms(r.latencies.last().copied().unwrap_or_default()),
        r.latencies.len() as f64 / r.wall.as_secs_f64(),
        r.bytes as f64 / 1e6,
        r.statuses,
        r.errors,
    );
}

/// (series recorded, feed tokens) in the store; (0, 0) before it is there.
async fn progress(store: &str) -> (i64, i64) {
    let Ok(mut c) = sqlx::SqliteConnection::connect(&format!("{store}?mode=ro")).await else {
        return (0, 0);
    };
    sqlx::query_as("SELECT (SELECT COUNT(*) FROM series), (SELECT COUNT(*) FROM feeds)")
        .fetch_one(&mut c)
        .await
        .unwrap_or((0, 0))
}

/// Every person's feed path, by person id, as the store holds them.
async fn feed_paths(store: &str) -> Vec<(String, String)> {
    let mut c = sqlx::SqliteConnection::connect(&format!("{store}?mode=ro"))
        .await
        .expect("open the store");
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT person, token FROM feeds")
        .fetch_all(&mut c)
        .await
        .expect("read the tokens");
    rows.into_iter()
        .map(|(person, token)| (person, format!("/ics/{token}.ics")))
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<usize>().ok());
    let pairs = args.next().unwrap_or(50_000);
    let sample = args.next();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_mentord"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/feeds");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create target/bench/feeds");
    let base = generate(pairs);
    let paused = base.matches("status = \"paused\"").count();
    let active = (pairs - paused) as i64;
    let (smtp, http) = (free_port(), free_port());
    let _sink = start_sink(smtp);
    let store = format!("sqlite://{}", dir.join("feeds.db").display());
    let config = write_program(&dir, "feeds.toml", &base, smtp, http, &store);
    println!(
        "program: {pairs} pairs ({paused} paused): {} invites on first start, over SMTP to smtp-sink",
        2 * active
    );
    let started = Instant::now();
    let daemon = run_daemon(&binary, &config);
    // Every active pair's series recorded (with its invites): every feed is whole.
    loop {
        let (series, tokens) = progress(&store).await;
        if series >= active && tokens >= 2 * active {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "never queued"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (all, sent) = counts(&store).await;
    println!(
        "invites queued after {:.1} s ({all} messages, {sent} sent so far)",
        started.elapsed().as_secs_f64()
    );

    let mut paths = feed_paths(&store).await;
    // A fixed shuffle, so a sample is spread over the program.
    paths.sort_by_key(|(person, _)| {
        let digest = ring::digest::digest(&ring::digest::SHA256, person.as_bytes());
        digest.as_ref()[..8].to_vec()
    });
    if let Some(sample) = sample {
        paths.truncate(sample);
    }
    let paths: Vec<String> = paths.into_iter().map(|(_, path)| path).collect();
    println!("fetching {} distinct people's feeds", paths.len());

    let (sending, first) = sending_during(&store, round(http, &paths, None)).await;
    report("first fetch", &first, sending);
    let (sending, again) = sending_during(&store, round(http, &paths, Some(&first.etags))).await;
    report("If-None-Match", &again, sending);
    assert_eq!(
        again.statuses.get(&304).copied().unwrap_or(0),
        paths.len(),
        "every unchanged feed is 304"
    );

    use base64::Engine as _;
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("coordinator:{PASSWORD}"));
    let program = format!(
        "GET /ics/program.ics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {credentials}\r\n\r\n"
    );
    for what in ["program.ics computed", "program.ics kept"] {
        let start = Instant::now();
        let mut stream = TcpStream::connect(("127.0.0.1", http))
            .await
            .expect("connect");
        stream.write_all(program.as_bytes()).await.expect("send");
        let mut buffer = Vec::new();
        let status = read_answer(&mut stream, &mut buffer)
            .await
            .expect("GET /ics/program.ics");
        println!(
            "{what}: {status} in {:.1} ms, {:.1} MB",
            ms(start.elapsed()),
            buffer.len() as f64 / 1e6
        );
    }
    let (all, sent) = counts(&store).await;
    println!(
        "afterwards: {sent} of {all} messages sent, {:.1} s after the start",
        started.elapsed().as_secs_f64()
    );
    drop(daemon);
}
