//! `mentord run`: the daemon. Sends what is due, sleeps until the next action, reloads
//! the file when it changes or on SIGHUP (an invalid file keeps the last good program
//! and logs why), and on SIGTERM/SIGINT finishes the send in flight and stops (exit 0).
//!
//! A second daemon on the same SQLite store refuses to start: SQLite has no row claims.
//! On a PostgreSQL store any number may run; each registers itself and beats (see
//! `store::instances`). With `NOTIFY_SOCKET` set (systemd `Type=notify`) it says when
//! it is ready, reloading and stopping.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, bail};
use clap::Args;
use jiff::SignedDuration;
use tokio::sync::mpsc;

use super::{exit, time};
use crate::daemon::{Daemon, Transport};
use crate::program::{self, MailConfig};
use crate::render::Templates;
use crate::store::{InstanceInfo, Location, Store};

#[derive(Debug, Args)]
pub struct Run {}

impl Run {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let program = super::load(config)?;
        let templates = Templates::load(program.templates.as_deref())?;
        let base = config.parent().unwrap_or(Path::new(".")).to_path_buf();
        let location = Location::parse(&program.store.url, &base)?;
        let _lock = match &location {
            Location::Sqlite(db) => Some(lock(db)?),
            Location::Postgres(_) => None,
        };
        let started = time::now()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let transport = transport(&program)?;
            let mut store = Store::open(&location).await?;
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
            tracing::info!(program = %program.name, store = %location.describe(), mail = %transport.describe(), %instance, "mentord started");
            let heartbeat = tokio::spawn(beat(store.clone()));
            let daemon = Daemon::new(program, templates, store.clone(), transport);
            let served = serve(daemon, config.to_path_buf()).await;
            notify("STOPPING=1");
            heartbeat.abort();
            if let Err(e) = store.deregister().await {
                tracing::warn!(error = %format!("{e:#}"), "could not give back this daemon's claims; they pass to another after the lease");
            }
            served
        })?;
        Ok(exit::OK)
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

/// Holds an exclusive lock on `<db>.lock` for the daemon's life.
fn lock(db: &Path) -> anyhow::Result<std::fs::File> {
    let path = PathBuf::from(format!("{}.lock", db.display()));
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("while opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another mentord is already running on the store {}; SQLite cannot share one \
             program between daemons (several instances need the PostgreSQL store)",
            db.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("while locking {}", path.display()))
        }
    }
}

enum Wake {
    Reload(&'static str),
    Stop,
}

async fn serve(mut daemon: Daemon, config: PathBuf) -> anyhow::Result<()> {
    let (wake_sender, mut wakes) = mpsc::channel::<Wake>(16);
    let stopping = Arc::new(AtomicBool::new(false));
    spawn_signals(wake_sender.clone(), stopping.clone())?;
    let _watcher = watch(&config, wake_sender.clone());
    let mut ready = false;
    let mut troubles = 0u32;
    loop {
        let stop = || stopping.load(Ordering::SeqCst);
        let now = time::now()?;
        let tick = match daemon.tick(now, &stop).await {
            Ok(tick) => {
                troubles = 0;
                tick
            }
            // The database restarting, a full disk: keep trying, more slowly. (A store
            // that cannot be opened at all ended the start already.)
            Err(e) => {
                troubles += 1;
                let pause = SignedDuration::from_secs(1 << troubles.min(6));
                tracing::error!(error = %format!("{e:#}"), retry_in = %pause, "tick failed; trying again");
                if let Err(e) = daemon.recover().await {
                    tracing::warn!(error = %format!("{e:#}"), "could not give back this daemon's claims yet");
                }
                crate::daemon::Tick {
                    next: now.checked_add(pause).ok(),
                    ..Default::default()
                }
            }
        };
        if tick.queued + tick.sent + tick.dropped + tick.failed + tick.retried > 0 {
            tracing::info!(
                queued = tick.queued,
                sent = tick.sent,
                dropped = tick.dropped,
                failed = tick.failed,
                retried = tick.retried,
                "tick"
            );
        }
        if !ready && troubles == 0 {
            notify("READY=1");
            ready = true;
        }
        if stop() {
            tracing::info!("stopped");
            return Ok(());
        }
        let wait = tick
            .next
            .map(|next| next.duration_since(time::now().unwrap_or(now)))
            .unwrap_or(SignedDuration::from_hours(1))
            .clamp(SignedDuration::ZERO, SignedDuration::from_hours(1));
        let sleep = tokio::time::sleep(wait.unsigned_abs());
        tokio::select! {
            () = sleep => {}
            wake = wakes.recv() => match wake {
                Some(Wake::Stop) | None => {
                    tracing::info!("stopping");
                    return Ok(());
                }
                Some(Wake::Reload(why)) => {
                    // One save is several events, and a slow writer's file is read only
                    // once it has been still for half a second (up to five).
                    let settling = std::time::Instant::now();
                    loop {
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        let mut more = false;
                        while let Ok(wake) = wakes.try_recv() {
                            if matches!(wake, Wake::Stop) {
                                return Ok(());
                            }
                            more = true;
                        }
                        if !more || settling.elapsed() > std::time::Duration::from_secs(5) {
                            break;
                        }
                    }
                    notify("RELOADING=1");
                    reload(&mut daemon, &config, why);
                    notify("READY=1");
                }
            }
        }
    }
}

fn reload(daemon: &mut Daemon, config: &Path, why: &str) {
    let program = match program::load(config) {
        Ok(program) => program,
        Err(e) => {
            tracing::error!(reason = why, error = %e, "program file invalid; keeping the last good program");
            return;
        }
    };
    let templates = match Templates::load(program.templates.as_deref()) {
        Ok(templates) => templates,
        Err(e) => {
            tracing::error!(reason = why, error = %format!("{e:#}"), "templates invalid; keeping the last good program");
            return;
        }
    };
    let current = daemon.program();
    if program.store != current.store {
        tracing::warn!(
            "[store] changed: the daemon keeps the store it started with; restart it to move"
        );
    }
    if program.mail != current.mail || program.organizer.email != current.organizer.email {
        match transport(&program) {
            Ok(transport) => {
                tracing::info!(mail = %transport.describe(), "[mail] changed; sending there from now on");
                daemon.replace_transport(transport);
            }
            Err(e) => {
                tracing::error!(reason = why, error = %format!("{e:#}"), "[mail] unusable; keeping the last good program");
                return;
            }
        }
    }
    tracing::info!(
        reason = why,
        pairs = program.pairs.len(),
        "program reloaded"
    );
    daemon.replace_program(program, templates);
}

/// Where the program's mail goes; inside the runtime (an SMTP transport uses tokio).
fn transport(program: &program::Program) -> anyhow::Result<Transport> {
    Ok(match &program.mail {
        MailConfig::File { dir } => Transport::File { dir: dir.clone() },
        smtp @ MailConfig::Smtp { .. } => Transport::Smtp(Box::new(
            crate::daemon::smtp::Smtp::new(smtp, &program.organizer.email)?,
        )),
    })
}

fn spawn_signals(wake: mpsc::Sender<Wake>, stopping: Arc<AtomicBool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                _ = hangup.recv() => Wake::Reload("SIGHUP"),
                _ = terminate.recv() => Wake::Stop,
                _ = interrupt.recv() => Wake::Stop,
            };
            if matches!(event, Wake::Stop) {
                stopping.store(true, Ordering::SeqCst);
            }
            if wake.send(event).await.is_err() {
                return;
            }
        }
    });
    Ok(())
}

/// Watches the program file's folder (editors replace files by renaming).
fn watch(config: &Path, wake: mpsc::Sender<Wake>) -> Option<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let name = config.file_name()?.to_os_string();
    let dir = config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
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
