//! Benchmark: the HTTP side under load while the daemon is busy sending.
//!
//! Run with `cargo bench --bench http` (or `-- PAIRS`, default 50,000). Starts the
//! release binary on `benches/common`'s generated program (one invite per person of each
//! active pair on first start) sending over SMTP to Postfix's `smtp-sink` on loopback
//! (Debian package `postfix`), with `[http] listen` and action links on, a fresh SQLite
//! store. Once the invites are going out:
//!
//! - the rate of sending for a few seconds, as the baseline;
//! - a bounded burst per path: 10,000 requests from 50 concurrent keep-alive clients
//!   on loopback (raw HTTP/1.1 over tokio), each path on its own: p50/p90/p99/max latency,
//!   requests per second, and messages sent per second during the burst; then the same
//!   clients for 8 s, long enough to see what the load does to sending;
//! - bad requests: slow clients sending their headers a byte at a time over seconds,
//!   forged tokens to `/a/`, 10 MB bodies; what they got, and that `/livez` still answers
//!   at once meanwhile;
//! - at the end, that the daemon is alive and still sending.
//!
//! The client shares the two cores with the daemon and the sink: it runs on one thread.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::client::{
    PASSWORD, ask, ms, once, percentile, read_answer, run_daemon, sending_during, write_program,
};
use common::{counts, free_port, generate, start_sink};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const REQUESTS: usize = 10_000;
const CLIENTS: usize = 50;

/// A GET of `path`; the coordinator's page (`/`, `/?…`) with its basic auth.
fn get(path: &str) -> Vec<u8> {
    use base64::Engine as _;
    let auth = if path == "/" || path.starts_with("/?") {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("coordinator:{PASSWORD}"));
        format!("Authorization: Basic {credentials}\r\n")
    } else {
        String::new()
    };
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n").into_bytes()
}

struct Burst {
    latencies: Vec<Duration>,
    wall: Duration,
    not_ok: usize,
    errors: usize,
}

/// `REQUESTS` GETs of `path` from `CLIENTS` keep-alive clients.
async fn burst(port: u16, path: &str) -> Burst {
    let start = Instant::now();
    let per_client = REQUESTS / CLIENTS;
    let request = get(path);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let request = request.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            let (mut not_ok, mut errors) = (0, 0);
            let mut buffer = Vec::new();
            let mut stream = None;
            for _ in 0..per_client {
                let sent = Instant::now();
                match ask(&mut stream, port, &request, &mut buffer).await {
                    Ok(status) => {
                        latencies.push(sent.elapsed());
                        not_ok += usize::from(status != 200);
                    }
                    Err(_) => errors += 1,
                }
            }
            (latencies, not_ok, errors)
        });
    }
    let mut out = Burst {
        latencies: Vec::with_capacity(REQUESTS),
        wall: Duration::ZERO,
        not_ok: 0,
        errors: 0,
    };
    while let Some(done) = tasks.join_next().await {
        let (latencies, not_ok, errors) = done.expect("a client");
        out.latencies.extend(latencies);
        out.not_ok += not_ok;
        out.errors += errors;
    }
    out.wall = start.elapsed();
    out.latencies.sort_unstable();
    out
}

/// `CLIENTS` keep-alive clients GETting `path` for `length`: requests answered.
async fn sustained(port: u16, path: &str, length: Duration) -> usize {
    let deadline = Instant::now() + length;
    let request = get(path);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let request = request.clone();
        tasks.spawn(async move {
            let (mut answered, mut buffer) = (0, Vec::new());
            let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
                return 0;
            };
            while Instant::now() < deadline {
                if stream.write_all(&request).await.is_err()
                    || read_answer(&mut stream, &mut buffer).await.is_err()
                {
                    break;
                }
                answered += 1;
            }
            answered
        });
    }
    let mut answered = 0;
    while let Some(done) = tasks.join_next().await {
        answered += done.expect("a client");
    }
    answered
}

/// Slow clients: each opens a connection and sends a request's headers a byte every
/// `pace`; what each got back (status, or why not) and after how long.
async fn slow_clients(port: u16, clients: usize, pace: Duration) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        tasks.spawn(async move {
            let start = Instant::now();
            let outcome = async {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
                for byte in get("/livez") {
                    stream.write_all(&[byte]).await?;
                    tokio::time::sleep(pace).await;
                }
                read_answer(&mut stream, &mut Vec::new()).await
            }
            .await;
            match outcome {
                Ok(status) => format!("{status} after {:.1} s", start.elapsed().as_secs_f64()),
                Err(e) => format!(
                    "cut off after {:.1} s ({})",
                    start.elapsed().as_secs_f64(),
                    e.kind()
                ),
            }
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        out.push(done.expect("a slow client"));
    }
    out.sort();
    out
}

/// A 10 MB body to `/a/…`: announced with Content-Length, or chunked; the status.
async fn huge_body(port: u16, chunked: bool) -> String {
    let outcome = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let head = if chunked {
            "POST /a/x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\r\n"
                .to_string()
        } else {
            "POST /a/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10485760\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\r\n"
                .to_string()
        };
        stream.write_all(head.as_bytes()).await?;
        let (mut reader, mut writer) = stream.into_split();
        let write = tokio::spawn(async move {
            let block = vec![b'a'; 64 * 1024];
            for _ in 0..160 {
                let sent = if chunked {
                    let mut framed = format!("{:x}\r\n", block.len()).into_bytes();
                    framed.extend_from_slice(&block);
                    framed.extend_from_slice(b"\r\n");
                    writer.write_all(&framed).await
                } else {
                    writer.write_all(&block).await
                };
                if sent.is_err() {
                    return;
                }
            }
            if chunked {
                let _ = writer.write_all(b"0\r\n\r\n").await;
            }
        });
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(20), reader.read(&mut chunk)).await {
                Ok(Ok(0)) | Err(_) => break,
                Ok(Ok(n)) => {
                    answer.extend_from_slice(&chunk[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                Ok(Err(e)) if answer.is_empty() => return Err(e),
                Ok(Err(_)) => break,
            }
        }
        write.abort();
        Ok(String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or("no answer")
            .to_string())
    }
    .await;
    outcome.unwrap_or_else(|e: std::io::Error| format!("connection {}", e.kind()))
}

fn report(path: &str, b: &Burst, sending: f64) {
    println!(
        "{path:<9} {} requests, {CLIENTS} clients: p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.1} ms  \
         {:.0} requests/s  ({} not 200, {} failed)  sending meanwhile {:.0} messages/s",
        b.latencies.len(),
        ms(percentile(&b.latencies, 0.50)),
        ms(percentile(&b.latencies, 0.90)),
        ms(percentile(&b.latencies, 0.99)),
        ms(b.latencies.last().copied().unwrap_or_default()),
        b.latencies.len() as f64 / b.wall.as_secs_f64(),
        b.not_ok,
        b.errors,
        sending
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let pairs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50_000);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_mentord"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/http");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create target/bench/http");
    let base = generate(pairs);
    let paused = base.matches("status = \"paused\"").count();
    let expected = 2 * (pairs - paused) as i64;
    let (smtp, http) = (free_port(), free_port());
    let _sink = start_sink(smtp);
    let store = format!("sqlite://{}", dir.join("http.db").display());
    let config = write_program(&dir, "http.toml", &base, smtp, http, &store);
    println!(
        "program: {pairs} pairs ({paused} paused): {expected} invites on first start, over SMTP to smtp-sink"
    );

    let started = Instant::now();
    let daemon = run_daemon(&binary, &config);
    // Serving starts before the first-start reconcile; the burst waits for sending.
    while once(http, &get("/livez")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(120), "never served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("serving after {:.1} s", started.elapsed().as_secs_f64());
    loop {
        let (_, sent) = counts(&store).await;
        if sent >= 2_000.min(expected) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(900), "nothing sent");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("sending after {:.1} s", started.elapsed().as_secs_f64());

    let (baseline, _) = sending_during(&store, tokio::time::sleep(Duration::from_secs(5))).await;
    println!("sending before the bursts: {baseline:.0} messages/s");
    // A cold scrape: the cache has expired, the store is counted.
    let (status, cold) = once(http, &get("/metrics")).await.expect("GET /metrics");
    let (all, sent) = counts(&store).await;
    println!(
        "/metrics uncached: {status} in {:.1} ms with {all} messages in the store ({sent} sent)",
        ms(cold)
    );

    // The page, first computed (cold), then cached for a few seconds.
    let (status, cold) = once(http, &get("/")).await.expect("GET /");
    println!(
        "/ (the coordinator's page) uncached: {status} in {:.1} ms",
        ms(cold)
    );
    for path in ["/readyz", "/metrics", "/", "/?page=250"] {
        let (sending, b) = sending_during(&store, burst(http, path)).await;
        report(path, &b, sending);
        // The burst is over in a moment: the same load held for long enough to see
        // what it does to sending.
        let length = Duration::from_secs(8);
        let (sending, answered) = sending_during(&store, sustained(http, path, length)).await;
        println!(
            "{path:<9} held {} s by {CLIENTS} clients: {:.0} requests/s, sending meanwhile {sending:.0} messages/s",
            length.as_secs(),
            answered as f64 / length.as_secs_f64()
        );
    }

    // Bad requests, all at once, while a well-behaved client checks /livez.
    let forged = async {
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        let tokens = [
            "garbage".to_string(),
            "x".repeat(4000),
            "AAAA.BBBB".to_string(),
            "%00%ff..%2f".to_string(),
            "eyJ0eXAiOiJKV1QifQ.e30.".to_string(),
        ];
        for i in 0..1_000 {
            let request = get(&format!("/a/{}{i}", tokens[i % tokens.len()]));
            if let Ok((status, _)) = once(http, &request).await {
                *statuses.entry(status).or_default() += 1;
            }
        }
        statuses
    };
    let probe = async {
        let mut worst = Duration::ZERO;
        let mut failures = 0;
        for _ in 0..140 {
            match once(http, &get("/livez")).await {
                Ok((200, took)) => worst = worst.max(took),
                _ => failures += 1,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        (worst, failures)
    };
    let (sending, (slow, forged, huge, chunked, (worst, failures))) =
        sending_during(&store, async {
            tokio::join!(
                slow_clients(http, 20, Duration::from_millis(900)),
                forged,
                huge_body(http, false),
                huge_body(http, true),
                probe
            )
        })
        .await;
    let mut slow_summary = std::collections::BTreeMap::<String, usize>::new();
    for outcome in slow {
        let what = outcome
            .split(" after ")
            .next()
            .unwrap_or_default()
            .to_string();
        *slow_summary.entry(what).or_default() += 1;
    }
    println!(
        "bad requests: 20 slow clients (headers a byte per 900 ms, 36 s): {slow_summary:?}; \
         1,000 forged /a/ tokens: {forged:?}; 10 MB body with Content-Length: {huge}; \
         10 MB chunked: {chunked}"
    );
    println!(
        "meanwhile /livez (every 250 ms): worst {:.1} ms, {failures} failed of 140; sending {sending:.0} messages/s",
        ms(worst)
    );

    let (after, _) = sending_during(&store, tokio::time::sleep(Duration::from_secs(5))).await;
    let alive = once(http, &get("/livez")).await.map(|(s, _)| s);
    let (_, sent) = counts(&store).await;
    println!(
        "afterwards: /livez {alive:?}, sending {after:.0} messages/s, {sent} of {expected} sent so far"
    );
    drop(daemon);
}
