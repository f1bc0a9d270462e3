//! The daemon's loop, one for every caller: `mentord run` drives it on the system clock
//! with signals, file reloads and systemd around it ([`super::service`]); `simulate` and
//! tests drive it on a virtual clock. Tick, say what happened, sleep until the next
//! thing is due or something wakes it, again until shut down (or the clock runs out).

use jiff::SignedDuration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Daemon, Tick};
use crate::clock::Clock;

pub use crate::app::live::Wake;

/// How a loop is steered from outside: a shutdown shared with everything else the
/// process runs (an HTTP server, an IMAP watcher), and the wake-ups.
#[derive(Debug)]
pub struct Control {
    pub shutdown: CancellationToken,
    pub wakes: mpsc::Receiver<Wake>,
}

impl Control {
    /// A loop nothing outside steers but its clock (a simulation).
    pub fn unattended() -> (Control, mpsc::Sender<Wake>) {
        let (sender, wakes) = mpsc::channel(16);
        (
            Control {
                shutdown: CancellationToken::new(),
                wakes,
            },
            sender,
        )
    }
}

/// What the loop tells the one running it, between ticks.
pub trait Observer {
    /// After each tick (`Err` for a failed one, which the loop retries with backoff).
    fn ticked(&mut self, _tick: &anyhow::Result<Tick>) {}
    /// A reload was asked for; the observer does it (reading files is its business)
    /// and the loop ticks at once after.
    fn reload(&mut self, _daemon: &mut Daemon, _why: &'static str) {}
}

/// Observes nothing.
#[derive(Debug, Default)]
pub struct Silent;

impl Observer for Silent {}

/// Runs `daemon` until `control.shutdown` is cancelled or `clock` runs out.
pub async fn run(
    daemon: &mut Daemon,
    clock: &impl Clock,
    control: &mut Control,
    observer: &mut impl Observer,
) -> anyhow::Result<()> {
    let mut troubles = 0u32;
    loop {
        let shutdown = control.shutdown.clone();
        let stop = move || shutdown.is_cancelled();
        let now = clock.now()?;
        let outcome = daemon.tick(now, &stop).await;
        let next = match &outcome {
            Ok(tick) => {
                troubles = 0;
                tick.next
            }
            // The database restarting, a full disk: keep trying, more slowly. (A store
            // that cannot be opened at all ended the start already.)
            Err(e) => {
                troubles += 1;
                let pause = SignedDuration::from_secs(1 << troubles.min(6));
                tracing::error!(error = %format!("{e:#}"), retry_in = %pause, "tick failed: nothing is sent until it succeeds; trying again");
                if let Err(e) = daemon.recover().await {
                    tracing::warn!(error = %format!("{e:#}"), "could not give back this daemon's claims yet");
                }
                now.checked_add(pause).ok()
            }
        };
        observer.ticked(&outcome);
        if stop() {
            return Ok(());
        }
        let next = next.unwrap_or_else(|| {
            now.checked_add(SignedDuration::from_hours(1))
                .unwrap_or(now)
        });
        tokio::select! {
            biased;
            () = control.shutdown.cancelled() => return Ok(()),
            wake = control.wakes.recv() => match wake {
                Some(Wake::Reload(why)) => {
                    if settle(control).await {
                        observer.reload(daemon, why);
                    }
                }
                Some(Wake::Inbound) => {}
                // Nobody can wake it any more: sleep on the clock alone.
                None => {
                    if !clock.sleep_until(next).await {
                        return Ok(());
                    }
                }
            },
            running = clock.sleep_until(next) => if !running {
                return Ok(());
            },
        }
    }
}

/// One save is several events, and a slow writer's file is read only once it has been
/// still for half a second (up to five). False when a shutdown came meanwhile.
async fn settle(control: &mut Control) -> bool {
    let settling = std::time::Instant::now();
    loop {
        tokio::select! {
            () = control.shutdown.cancelled() => return false,
            () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
        }
        let mut more = false;
        while control.wakes.try_recv().is_ok() {
            more = true;
        }
        if !more || settling.elapsed() > std::time::Duration::from_secs(5) {
            return true;
        }
    }
}
