//! A small HTTP/1.1 client for the benchmarks that measure the HTTP side (raw requests
//! over tokio, keep-alive), and what they report with: latency percentiles, and the
//! sending rate while a load runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::counts;

/// A child process killed when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Messages sent per second while `work` runs, and what it returned.
pub async fn sending_during<T>(store: &str, work: impl Future<Output = T>) -> (f64, T) {
    let (_, before) = counts(store).await;
    let start = Instant::now();
    let out = work.await;
    let elapsed = start.elapsed().as_secs_f64();
    let (_, after) = counts(store).await;
    ((after - before) as f64 / elapsed, out)
}

/// One answer read off a keep-alive connection: its status.
pub async fn read_answer(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<u16> {
    buffer.clear();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

/// `request` on a keep-alive connection (`stream`, connected first if it is not): the
/// answer's status, the answer in `buffer`. A failed connection is dropped, so the next
/// request connects again.
pub async fn ask(
    stream: &mut Option<TcpStream>,
    port: u16,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> std::io::Result<u16> {
    let answer = async {
        if stream.is_none() {
            *stream = Some(TcpStream::connect(("127.0.0.1", port)).await?);
        }
        let s = stream.as_mut().expect("connected above");
        s.write_all(request).await?;
        read_answer(s, buffer).await
    }
    .await;
    if answer.is_err() {
        *stream = None;
    }
    answer
}

/// A one-off request on a connection of its own: status and latency.
pub async fn once(port: u16, raw: &[u8]) -> std::io::Result<(u16, Duration)> {
    let start = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(raw).await?;
    let status = read_answer(&mut stream, &mut Vec::new()).await?;
    Ok((status, start.elapsed()))
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// A header of the answer [`read_answer`] left in `buffer` (name in lower case).
pub fn header(buffer: &[u8], name: &str) -> Option<String> {
    let end = buffer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buffer[..end]);
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

/// The coordinator's page password the HTTP benchmarks run the daemon with.
pub const PASSWORD: &str = "bench-page-password";

/// The program `base` as `dir/file`, sending over SMTP to `smtp`, its store at `store`,
/// serving on `http` with action links, feeds and the coordinator's page on.
pub fn write_program(
    dir: &Path,
    file: &str,
    base: &str,
    smtp: u16,
    http: u16,
    store: &str,
) -> PathBuf {
    let config = dir.join(file);
    let text = format!(
        "{base}\n[mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{smtp}\"\ntls = \"none\"\n\n\
         [store]\nurl = \"{store}\"\n\n\
         [http]\nlisten = \"127.0.0.1:{http}\"\npublic_url = \"http://127.0.0.1:{http}\"\n\
         secret_env = \"MENTORD_BENCH_SECRET\"\npassword_env = \"MENTORD_BENCH_PASSWORD\"\n"
    );
    std::fs::write(&config, text).expect("write program");
    config
}

/// `binary -c config run` with the secrets [`write_program`] names, killed when dropped.
pub fn run_daemon(binary: &Path, config: &Path) -> Killed {
    Killed(
        Command::new(binary)
            .arg("-c")
            .arg(config)
            .arg("run")
            .env("RUST_LOG", "warn")
            .env("MENTORD_BENCH_SECRET", "b".repeat(48))
            .env("MENTORD_BENCH_PASSWORD", PASSWORD)
            .env_remove("MENTORD_NOW")
            .spawn()
            .expect("start mentord"),
    )
}
