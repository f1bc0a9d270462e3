//! `mentord run` as a service: the store opened and this daemon registered, a heartbeat,
//! signals (SIGHUP reloads, SIGTERM/SIGINT stop), the program file watched, systemd told
//! (`Type=notify`), and [`super::run`] on the system clock in the middle. The shutdown
//! token it makes is the one anything else the process serves should share.

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::run::{Control, Observer, Wake};
use super::{Daemon, Tick, Transport};
use crate::clock::SystemClock;
use crate::program::{self, Program};
use crate::render::Templates;
use crate::store::{InstanceInfo, Location, Store};

/// Runs the daemon for `program` (read from `config`) until SIGTERM or SIGINT.
pub(crate) async fn launch(
    config: &Path,
    program: Program,
    templates: Templates,
    location: &Location,
    started: jiff::Timestamp,
) -> anyhow::Result<()> {
    log_warnings(&program);
    let transport = Transport::for_program(&program)?;
    let mut store = Store::open(location).await?;
    let recovered = store.recover_abandoned().await?;
    if recovered > 0 {
        tracing::warn!(
            messages = recovered,
            "messages left in flight by a crash go again (at most once more, same Message-ID)"
        );
    }
    let instance = store
        .register(
            InstanceInfo {
                host: hostname(),
                pid: std::process::id(),
                mail: transport.describe(),
            },
            started,
        )
        .await?;
    tracing::info!(
        program = %program.name,
        store = %location.describe(),
        mail = %transport.describe(),
        %instance,
        "mentord started: the store is {}, mail goes to {}; `mentord --config {} status` shows where the program stands",
        location.describe(),
        transport.describe(),
        config.display()
    );
    let heartbeat = tokio::spawn(beat(store.clone()));
    let shutdown = CancellationToken::new();
    let (wake, wakes) = mpsc::channel::<Wake>(16);
    let listening = tokio::spawn(notice_inbound(store.clone(), wake.clone()));
    // The intake of handed-off mail, the IMAP watcher and the HTTP server read the
    // program beside the daemon, which owns (and changes) its own copy.
    let listen = program.http.as_ref().and_then(|h| h.listen);
    let shared: super::mailbox::SharedProgram =
        crate::app::live::live(std::sync::Arc::new(program::load(config)?));
    let handoff = super::handoff::spawn(
        shared.clone(),
        store.clone(),
        location.clone(),
        wake.clone(),
        shutdown.clone(),
    );
    let shared = Some(shared);
    let watcher = match &shared {
        Some(shared) => super::mailbox::spawn(shared, &store, wake.clone(), shutdown.clone())?,
        None => None,
    };
    let server = match (listen, &shared) {
        (Some(listen), Some(shared)) => {
            let served = crate::serve::Shared {
                program: shared.clone(),
                store: store.clone(),
                signer: program.link_signer()?,
                password: crate::serve::signin::page_password(&program)?,
                guesses: Default::default(),
                wake: wake.clone(),
                report_cache: Default::default(),
                feed_cache: Default::default(),
                metrics: crate::serve::metrics::Cache::default(),
                readiness: Default::default(),
            };
            Some(crate::serve::start(listen, std::sync::Arc::new(served), shutdown.clone()).await?)
        }
        _ => None,
    };
    spawn_signals(wake.clone(), shutdown.clone())?;
    let _watcher = watch(config, wake);
    let mut control = Control { shutdown, wakes };
    let mut daemon = Daemon::new(program, templates, store.clone(), transport);
    let mut observer = Service {
        config: config.to_path_buf(),
        ready: false,
        zone: daemon.program().zone.tz.clone(),
        shared,
    };
    let served = super::run(&mut daemon, &SystemClock, &mut control, &mut observer).await;
    if let Some(server) = server {
        // The shutdown reached it too: it finishes the requests in flight.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    }
    if let Some(watcher) = watcher {
        // The shutdown reached it too: it logs out and ends.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), watcher).await;
    }
    tracing::info!("stopped");
    notify("STOPPING=1");
    heartbeat.abort();
    listening.abort();
    handoff.abort();
    if let Err(e) = store.deregister().await {
        tracing::warn!(error = %format!("{e:#}"), "could not give back this daemon's claims; they pass to another after the lease");
    }
    served
}

/// Logs ticks, tells systemd, and reloads the program file.
struct Service {
    config: PathBuf,
    ready: bool,
    /// The program's zone, for times in the log.
    zone: jiff::tz::TimeZone,
    /// The program as the IMAP watcher and the HTTP server see it, when either runs.
    shared: Option<super::mailbox::SharedProgram>,
}

impl Observer for Service {
    fn ticked(&mut self, tick: &anyhow::Result<Tick>) {
        let Ok(tick) = tick else {
            return;
        };
        if tick.queued + tick.sent + tick.dropped + tick.failed + tick.retried > 0 || !self.ready {
            let mut done = vec![format!("{} delivered", tick.sent)];
            for (n, what) in [
                (tick.queued, "queued"),
                (tick.retried, "to retry"),
                (tick.failed, "failed"),
                (tick.dropped, "dropped as stale"),
            ] {
                if n > 0 {
                    done.push(format!("{n} {what}"));
                }
            }
            let when = |at: jiff::Timestamp| {
                at.to_zoned_datetime(self.zone.clone())
                    .strftime("%a %-d %b %H:%M %Q")
                    .to_string()
            };
            let next = match (tick.next, &tick.next_what) {
                (Some(at), Some(what)) => format!("; next: {what}, {}", when(at)),
                (Some(at), None) => format!("; nothing due before {}", when(at)),
                (None, _) => String::new(),
            };
            tracing::info!(
                queued = tick.queued,
                sent = tick.sent,
                dropped = tick.dropped,
                failed = tick.failed,
                retried = tick.retried,
                next = tick.next.map(tracing::field::display),
                "{}{next}",
                done.join(", ")
            );
        }
        if !self.ready {
            notify("READY=1");
            self.ready = true;
        }
    }

    fn reload(&mut self, daemon: &mut Daemon, why: &'static str) {
        notify("RELOADING=1");
        if reload(daemon, &self.config, why)
            && let Some(shared) = &self.shared
        {
            // They read the same file; it is valid, as the daemon just found.
            match program::load(&self.config) {
                Ok(program) => {
                    if program.inbound != shared.load().inbound {
                        tracing::warn!(
                            "[inbound] changed: the daemon keeps the mailbox it started with; restart it to move"
                        );
                    }
                    shared.store(std::sync::Arc::new(program));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the replies mailbox and the HTTP side keep the last program")
                }
            }
        }
        self.zone = daemon.program().zone.tz.clone();
        notify("READY=1");
    }
}

/// Reads the program file again: a valid one replaces the running program (and its
/// transport, if `[mail]` changed); an invalid one is logged and changes nothing.
/// True when it replaced the program.
fn reload(daemon: &mut Daemon, config: &Path, why: &str) -> bool {
    let program = match program::load(config) {
        Ok(program) => program,
        Err(e) => {
            tracing::error!(reason = why, error = %e, "program file invalid; keeping the last good program");
            return false;
        }
    };
    let templates = match Templates::load(program.templates.as_deref()).and_then(|templates| {
        crate::compose::check_templates(&program, &templates)?;
        Ok(templates)
    }) {
        Ok(templates) => templates,
        Err(e) => {
            tracing::error!(reason = why, error = %format!("{e:#}"), "templates invalid; keeping the last good program");
            return false;
        }
    };
    let current = daemon.program();
    if program.store != current.store {
        tracing::warn!(
            "[store] changed: the daemon keeps the store it started with; restart it to move"
        );
    }
    if program.mail != current.mail || program.organizer.email != current.organizer.email {
        match Transport::for_program(&program) {
            Ok(transport) => {
                tracing::info!(mail = %transport.describe(), "[mail] changed; sending there from now on");
                daemon.replace_transport(transport);
            }
            Err(e) => {
                tracing::error!(reason = why, error = %format!("{e:#}"), "[mail] unusable; keeping the last good program");
                return false;
            }
        }
    }
    log_warnings(&program);
    tracing::info!(
        reason = why,
        pairs = program.pairs.len(),
        "program reloaded"
    );
    daemon.replace_program(program, templates);
    true
}

/// What the loader found worth saying, one log line each.
fn log_warnings(program: &Program) {
    for warning in &program.warning_lines {
        let first = warning.lines().next().unwrap_or_default();
        let help = warning
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("= help: "))
            .unwrap_or_default();
        tracing::warn!(%help, "{first}");
    }
}

/// Beats every few seconds so other daemons (and `status`) know this one is alive.
async fn beat(store: Store) {
    let mut interval = tokio::time::interval(crate::store::HEARTBEAT);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(e) = store.heartbeat().await {
            tracing::warn!(error = %format!("{e:#}"), "heartbeat failed");
        }
    }
}

/// How often the store is asked whether `mentord deliver` (another process) left mail
/// for the daemon to act on.
const INBOUND_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Wakes the daemon when mail taken in by `mentord deliver` waits for it: an agenda to
/// pass on, a declined meeting to cancel. Two seconds keep the cost to one indexed query.
async fn notice_inbound(store: Store, wake: mpsc::Sender<Wake>) {
    let mut interval = tokio::time::interval(INBOUND_POLL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match store.has_pending_inbound().await {
            Ok(true) => {
                let _ = wake.try_send(Wake::Inbound);
            }
            Ok(false) => {}
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "could not look for mail taken in")
            }
        }
    }
}

/// This machine's name, for `status`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Tells systemd (`Type=notify`) about the daemon's state; nothing without `NOTIFY_SOCKET`.
fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = std::os::unix::net::UnixDatagram::unbound().and_then(|socket| {
        use std::os::unix::ffi::OsStrExt;
        match path.as_bytes().strip_prefix(b"@") {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.send_to_addr(state.as_bytes(), &address)
            }
            None => socket.send_to(state.as_bytes(), &path),
        }
    });
    if let Err(e) = sent {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// SIGHUP asks for a reload; SIGTERM and SIGINT cancel `shutdown`.
fn spawn_signals(wake: mpsc::Sender<Wake>, shutdown: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = hangup.recv() => {
                    if wake.send(Wake::Reload("SIGHUP")).await.is_err() {
                        return;
                    }
                }
                _ = terminate.recv() => {
                    tracing::info!("stopping");
                    shutdown.cancel();
                }
                _ = interrupt.recv() => {
                    tracing::info!("stopping");
                    shutdown.cancel();
                }
            }
        }
    });
    Ok(())
}

/// Watches the program file's folder (editors replace files by renaming) for the file
/// written and closed, renamed or linked into place, or touched. Not for each write: the
/// SQLite store usually lives beside the program file, and a watch told of its every
/// write woke for each one and cost a first start several per cent of its time. The
/// watch ends when the answer is dropped.
#[cfg(target_os = "linux")]
fn watch(config: &Path, wake: mpsc::Sender<Wake>) -> Option<Watching> {
    use futures_util::StreamExt as _;
    use inotify::{Inotify, WatchMask};
    let name = config.file_name()?.to_os_string();
    let dir = program_folder(config);
    let cannot = |e: std::io::Error| {
        tracing::warn!(error = %e, "cannot watch the program file; reload with SIGHUP");
    };
    let inotify = Inotify::init().map_err(cannot).ok()?;
    let mask = WatchMask::CLOSE_WRITE | WatchMask::MOVED_TO | WatchMask::CREATE | WatchMask::ATTRIB;
    inotify.watches().add(&dir, mask).map_err(cannot).ok()?;
    let mut events = inotify
        .into_event_stream(vec![0u8; 4096])
        .map_err(cannot)
        .ok()?;
    Some(Watching(tokio::spawn(async move {
        while let Some(Ok(event)) = events.next().await {
            if event.name.as_deref() == Some(name.as_os_str())
                && let Err(mpsc::error::TrySendError::Closed(_)) =
                    wake.try_send(Wake::Reload("file changed"))
            {
                return;
            }
        }
    })))
}

/// The task that watches the program file, stopped when this is dropped.
#[cfg(target_os = "linux")]
struct Watching(tokio::task::JoinHandle<()>);

#[cfg(target_os = "linux")]
impl Drop for Watching {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// [`watch`] where there is no inotify: every change in the folder is heard and
/// those of other files set aside.
#[cfg(not(target_os = "linux"))]
fn watch(config: &Path, wake: mpsc::Sender<Wake>) -> Option<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let name = config.file_name()?.to_os_string();
    let dir = program_folder(config);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && event.kind.is_modify() | event.kind.is_create()
            && event.paths.iter().any(|p| p.file_name() == Some(&name))
        {
            let _ = wake.try_send(Wake::Reload("file changed"));
        }
    })
    .map_err(|e| tracing::warn!(error = %e, "cannot watch the program file; reload with SIGHUP"))
    .ok()?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(
            |e| tracing::warn!(error = %e, "cannot watch the program file; reload with SIGHUP"),
        )
        .ok()?;
    Some(watcher)
}

/// The folder the program file is in.
fn program_folder(config: &Path) -> std::path::PathBuf {
    config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}
