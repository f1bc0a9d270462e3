//! Time comes through one seam. [`now`] is the process's one read of the clock
//! (`MENTORD_NOW`, RFC 3339, replaces it for scripts and tests); the daemon's loop takes
//! a [`Clock`], so `mentord run` sleeps on the system's and `simulate` (and tests) run
//! months on a [`VirtualClock`] in moments, through the same code.

use std::future::Future;
use std::sync::Mutex;

use anyhow::{Context as _, bail};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Now, from `MENTORD_NOW` if set, else the system clock.
pub fn now() -> anyhow::Result<Timestamp> {
    match std::env::var("MENTORD_NOW") {
        Ok(text) if !text.trim().is_empty() => parse_instant(text.trim(), &jiff::tz::TimeZone::UTC)
            .context("while reading MENTORD_NOW"),
        #[allow(clippy::disallowed_methods)] // the one read of the clock
        _ => Ok(Timestamp::now()),
    }
}

/// `YYYY-MM-DD` as the start of that day in `zone`.
pub fn parse_date_start(text: &str, zone: &TimeZone) -> anyhow::Result<Timestamp> {
    let date: Date = text
        .parse()
        .with_context(|| format!("\"{text}\" is not a date; write YYYY-MM-DD"))?;
    start_of(date, zone)
}

pub fn start_of(date: Date, zone: &TimeZone) -> anyhow::Result<Timestamp> {
    Ok(zone
        .to_ambiguous_timestamp(date.to_datetime(Time::midnight()))
        .compatible()?)
}

/// `YYYY-MM-DDTHH:MM[:SS]` in `zone`, a date (its start), or RFC 3339 with an offset.
pub fn parse_instant(text: &str, zone: &TimeZone) -> anyhow::Result<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(dt) = text.parse::<DateTime>() {
        return Ok(zone.to_ambiguous_timestamp(dt).compatible()?);
    }
    if text.len() == 10 {
        return parse_date_start(text, zone);
    }
    bail!("\"{text}\" is not a time; write YYYY-MM-DDTHH:MM, a date, or RFC 3339 with an offset")
}

/// What the daemon's loop asks of time.
pub trait Clock {
    fn now(&self) -> anyhow::Result<Timestamp>;
    /// Waits until `at` (or a little less: the loop asks again); false when this clock
    /// has run out (a simulation's end) and the loop should stop.
    fn sleep_until(&self, at: Timestamp) -> impl Future<Output = bool>;
}

/// The system's clock. The daemon never sleeps more than a minute at a time: a clock
/// set forward or a suspended machine is noticed, and so are messages another command
/// queued (`mentord retry`, `review done`); a wake-up that finds nothing due costs a
/// few small queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> anyhow::Result<Timestamp> {
        now()
    }

    async fn sleep_until(&self, at: Timestamp) -> bool {
        let wait = now()
            .map(|now| at.duration_since(now))
            .unwrap_or(SignedDuration::ZERO)
            .clamp(SignedDuration::ZERO, SignedDuration::from_mins(1));
        tokio::time::sleep(wait.unsigned_abs()).await;
        true
    }
}

/// A clock that jumps to whatever the daemon waits for, from `start` until `end`.
#[derive(Debug)]
pub struct VirtualClock {
    now: Mutex<Timestamp>,
    end: Timestamp,
}

impl VirtualClock {
    pub fn new(start: Timestamp, end: Timestamp) -> VirtualClock {
        VirtualClock {
            now: Mutex::new(start),
            end,
        }
    }

    fn set(&self, at: Timestamp) {
        if let Ok(mut now) = self.now.lock() {
            *now = (*now).max(at);
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> anyhow::Result<Timestamp> {
        self.now
            .lock()
            .map(|now| *now)
            .map_err(|_| anyhow::anyhow!("the virtual clock was poisoned"))
    }

    async fn sleep_until(&self, at: Timestamp) -> bool {
        if at >= self.end {
            self.set(self.end);
            return false;
        }
        self.set(at);
        true
    }
}
