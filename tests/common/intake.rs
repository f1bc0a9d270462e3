//! tests/common/intake.rs — an in-memory [`Intake`] that records what it is handed.
//!
//! Verdict by subject: containing "aside" → SetAside; containing "fail" → Err for the first
//! [`FAILURES`] attempts, then Used; anything else → Used. Watchers built from one
//! [`Shared`] share the record, the cursors and a lease (one holder at a time).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use mentord::io::imap::{Cursor, Intake, Taken};

pub const FAILURES: u32 = 2;

#[derive(Debug, Default)]
pub struct Shared {
    /// (watcher id, subject) of every `take` that returned Ok.
    pub taken: Mutex<Vec<(usize, String)>>,
    /// Subjects of every `take` call, failed ones included.
    pub attempts: Mutex<Vec<String>>,
    pub cursors: Mutex<HashMap<String, Cursor>>,
    /// Size in bytes of the last raw mail handed over, by subject.
    pub sizes: Mutex<HashMap<String, usize>>,
    /// Number of `lead()` calls, all watchers together.
    pub lead_calls: Mutex<usize>,
    lease: Mutex<Option<usize>>,
    banned: Mutex<HashSet<usize>>,
    failures: Mutex<HashMap<String, u32>>,
}

impl Shared {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn taken_subjects(&self) -> Vec<String> {
        self.taken
            .lock()
            .unwrap()
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }

    pub fn count(&self, subject: &str) -> usize {
        self.taken_subjects()
            .iter()
            .filter(|s| *s == subject)
            .count()
    }

    pub fn attempts_of(&self, subject: &str) -> usize {
        self.attempts
            .lock()
            .unwrap()
            .iter()
            .filter(|s| *s == subject)
            .count()
    }

    /// Who took `subject` (first taker).
    pub fn taker(&self, subject: &str) -> Option<usize> {
        self.taken
            .lock()
            .unwrap()
            .iter()
            .find(|(_, s)| s == subject)
            .map(|(id, _)| *id)
    }

    /// Takes the lease from `id` for good (it releases it on its next `lead()`).
    pub fn ban(&self, id: usize) {
        self.banned.lock().unwrap().insert(id);
    }

    pub fn lease_holder(&self) -> Option<usize> {
        *self.lease.lock().unwrap()
    }
}

#[derive(Debug, Clone)]
pub struct Mock {
    pub id: usize,
    pub shared: Arc<Shared>,
}

impl Mock {
    pub fn new(id: usize, shared: &Arc<Shared>) -> Self {
        Self {
            id,
            shared: Arc::clone(shared),
        }
    }
}

fn subject(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .lines()
        .find_map(|l| l.strip_prefix("Subject:"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

impl Intake for Mock {
    async fn take(&self, raw: Vec<u8>) -> anyhow::Result<Taken> {
        let subject = subject(&raw);
        self.shared.attempts.lock().unwrap().push(subject.clone());
        self.shared
            .sizes
            .lock()
            .unwrap()
            .insert(subject.clone(), raw.len());
        if subject.contains("fail") {
            let mut failures = self.shared.failures.lock().unwrap();
            let n = failures.entry(subject.clone()).or_default();
            if *n < FAILURES {
                *n += 1;
                bail!("store down (simulated)");
            }
        }
        let verdict = if subject.contains("aside") {
            Taken::SetAside
        } else {
            Taken::Used
        };
        self.shared.taken.lock().unwrap().push((self.id, subject));
        Ok(verdict)
    }

    async fn cursor(&self, folder: &str) -> anyhow::Result<Option<Cursor>> {
        Ok(self.shared.cursors.lock().unwrap().get(folder).copied())
    }

    async fn save_cursor(&self, folder: &str, cursor: Cursor) -> anyhow::Result<()> {
        self.shared
            .cursors
            .lock()
            .unwrap()
            .insert(folder.to_owned(), cursor);
        Ok(())
    }

    async fn lead(&self) -> anyhow::Result<bool> {
        *self.shared.lead_calls.lock().unwrap() += 1;
        let banned = self.shared.banned.lock().unwrap().contains(&self.id);
        let mut lease = self.shared.lease.lock().unwrap();
        if banned {
            if *lease == Some(self.id) {
                *lease = None;
            }
            return Ok(false);
        }
        match *lease {
            None => {
                *lease = Some(self.id);
                Ok(true)
            }
            Some(holder) => Ok(holder == self.id),
        }
    }
}

/// Polls `cond` every 50 ms until true; Err after `limit`. Returns the time it took.
pub async fn wait_for(
    limit: Duration,
    what: &str,
    mut cond: impl FnMut() -> bool,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > limit {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(start.elapsed())
}
