//! The coordinator's page's report, computed once and shared for a few seconds by every
//! request (`GET /`, `/pairs/ID`, the buttons): the status report (reading every series
//! in the store takes seconds for 50,000 pairs), each pair's health over
//! [`crate::report::HEALTH_WINDOW`] ([`crate::report::build`]), and the index the page
//! searches and sorts by ([`super::page_index`]), so a request does linear work only.
//! With it, the turn to render: one page at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Shared;
use super::page_index::{Index, Sources};
use crate::program::Program;
use crate::status::{self, Report, StoredState};

/// How long a computed report is shown before it is computed again, at least; a report
/// that took long is kept ten times as long as it took, so a browser refreshing the page
/// never keeps the daemon computing more than a tenth of the time.
const FRESH_FOR: Duration = Duration::from_secs(5);

/// How long past its time a report is still shown while the next one is computed beside
/// the requests; older than that (a refresh that keeps failing), a request computes.
const STALE_AT_MOST: Duration = Duration::from_secs(60);

/// The last report computed, for the program it was computed for; the turn to render a
/// page (one at a time); whether a refresh runs beside the requests.
pub struct ReportCache(
    tokio::sync::Mutex<Option<Cached>>,
    tokio::sync::Semaphore,
    AtomicBool,
);

impl Default for ReportCache {
    fn default() -> Self {
        ReportCache(
            tokio::sync::Mutex::default(),
            tokio::sync::Semaphore::new(1),
            AtomicBool::new(false),
        )
    }
}

impl ReportCache {
    /// The turn to render or compute: one at a time.
    pub(super) async fn turn(
        &self,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, tokio::sync::AcquireError> {
        self.1.acquire().await
    }

    /// Drops the report kept, so the next page shows what just changed.
    pub async fn forget(&self) {
        *self.0.lock().await = None;
    }
}

struct Cached {
    /// Until when it is shown.
    until: Instant,
    program: Arc<Program>,
    report: Arc<Snapshot>,
}

/// The status report and what the page looks its pairs up by, computed together.
#[derive(Debug)]
pub struct Snapshot {
    pub report: Report,
    pub index: Index,
    /// Each pair's record over the health window (health, check-ins), by pair id.
    pub records: std::collections::HashMap<String, crate::report::PairReport>,
}

impl Snapshot {
    /// `report` without health, addresses or flags (for tests).
    #[cfg(test)]
    pub(super) fn bare(report: Report) -> Snapshot {
        let index = Index::new(
            &report.pairs,
            &Sources::default(),
            jiff::Timestamp::UNIX_EPOCH,
            |t| t.to_string(),
        );
        Snapshot {
            report,
            index,
            records: Default::default(),
        }
    }
}

impl std::fmt::Debug for ReportCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportCache").finish_non_exhaustive()
    }
}

/// The report for `program`, computed at most [`FRESH_FOR`] ago (longer when it is slow
/// to compute). Once that has passed, the report kept is still shown while one refresh
/// computes the next beside the requests: at 50,000 pairs a computation takes most of
/// a second, and a coordinator's page (or a burst of them while sending) should not wait
/// for it. Without a report for this program (the first, a reload, or one dropped by a
/// coordinator's button so the page shows what just changed), the request computes it,
/// and the others wait for it rather than each reading the store.
pub(super) async fn current(
    shared: &Arc<Shared>,
    program: &Arc<Program>,
) -> anyhow::Result<Arc<Snapshot>> {
    let cache = &shared.report_cache;
    let mut cached = cache.0.lock().await;
    if let Some(c) = cached.as_ref()
        && Arc::ptr_eq(&c.program, program)
    {
        let now = Instant::now();
        if now < c.until {
            return Ok(c.report.clone());
        }
        if now < c.until + STALE_AT_MOST {
            if !cache.2.swap(true, Ordering::AcqRel) {
                refresh(shared.clone(), program.clone());
            }
            return Ok(c.report.clone());
        }
    }
    let (report, until) = compute(shared, program).await?;
    *cached = Some(Cached {
        until,
        program: program.clone(),
        report: report.clone(),
    });
    Ok(report)
}

/// Computes the next report beside the requests and keeps it, unless the program
/// changed or the report was dropped meanwhile (it may predate what changed).
fn refresh(shared: Arc<Shared>, program: Arc<Program>) {
    tokio::spawn(async move {
        match compute(&shared, &program).await {
            Ok((report, until)) => {
                let mut cached = shared.report_cache.0.lock().await;
                if let Some(c) = cached.as_mut()
                    && Arc::ptr_eq(&c.program, &program)
                {
                    c.report = report;
                    c.until = until;
                }
            }
            Err(e) => tracing::warn!(
                error = %format!("{e:#}"),
                "could not bring the coordinator's page up to date; it shows the last report"
            ),
        }
        shared.report_cache.2.store(false, Ordering::Release);
    });
}

/// The report now, and until when it is shown.
async fn compute(
    shared: &Shared,
    program: &Arc<Program>,
) -> anyhow::Result<(Arc<Snapshot>, Instant)> {
    let started = Instant::now();
    let now = crate::clock::now()?;
    let state = StoredState::read(&shared.store, program.mail.daily_budget(), now).await?;
    // This process is the daemon: it holds the SQLite store's lock for its life. Never
    // ask the file (`store::lock::is_held`): opening and closing a descriptor of the
    // database here would drop every POSIX lock the process holds on it, SQLite's own
    // included, and the next client to close cleanly would then delete the WAL under us.
    let state = StoredState {
        held: matches!(program.store.location, crate::store::Location::Sqlite(_)),
        ..state
    };
    // The state holds what health is judged from (`Evidence`), read once.
    let flags = shared.store.flags().await?;
    let for_report = program.clone();
    let report = Arc::new(
        tokio::task::spawn_blocking(move || snapshot(&for_report, state, &flags, now)).await?,
    );
    let took = started.elapsed();
    Ok((report, Instant::now() + FRESH_FOR.max(took * 10)))
}

/// The status report, each pair's health over [`crate::report::HEALTH_WINDOW`], and
/// the index the page looks pairs up by: computed once for all pairs.
fn snapshot(
    program: &Program,
    state: StoredState,
    flags: &[crate::store::Flag],
    now: jiff::Timestamp,
) -> Snapshot {
    let (report, record) = status::report_and_record(program, state, now);
    let sources = Sources {
        health: record
            .pairs
            .iter()
            .map(|p| (p.pair.as_str(), &p.health))
            .collect(),
        emails: program
            .pairs
            .iter()
            .map(|p| {
                let email = |i| program.person(i).email.as_str();
                (p.id.as_str(), [email(p.mentor), email(p.mentee)])
            })
            .collect(),
        flags: flags.iter().map(|f| (f.pair.as_str(), f)).collect(),
    };
    let zone = program.zone.tz.clone();
    let index = Index::new(&report.pairs, &sources, now, |t| {
        t.to_zoned_datetime(zone.clone())
            .strftime("%a %Y-%m-%d %H:%M")
            .to_string()
    });
    drop(sources);
    let records = record
        .pairs
        .into_iter()
        .map(|p| (p.pair.clone(), p))
        .collect();
    Snapshot {
        report,
        index,
        records,
    }
}
