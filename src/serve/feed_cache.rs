//! What the calendar feeds (SPEC §9, [`super::feeds`]) remember between requests, so
//! 50,000 people polling hourly cost little: each person's feed's last `ETag`, and the
//! program's whole feed, computed for one program and one count of the store's series
//! changes ([`crate::store::Store::series_changes`]). While both stay, a poll whose
//! `If-None-Match` names the remembered ETag gets 304 without the series being read or
//! the calendar written; the program's feed is served from memory.
//!
//! The count is read again when [`COUNT_FRESH`] has passed since the last reading; any
//! change of a series (an edit, a skip date, a meeting someone can't make, a new pair)
//! changes it, and a new program (a reload, a cancellation put on a pair) is another
//! program, so everything remembered is dropped and a feed shows a change within a few
//! seconds. The count is read before the series a feed is made of, so what is
//! remembered is never older than the count it is remembered for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use crate::program::Program;
use crate::store::Store;

/// How long a reading of the store's change count is used before it is read again.
pub const COUNT_FRESH: Duration = Duration::from_secs(2);

/// The most ETags remembered: more people than any program has; past it, the feeds
/// are computed as if nothing were remembered until the next change.
const MAX_ETAGS: usize = 1_000_000;

/// Shared by every feed request.
#[derive(Default)]
pub struct FeedCache(Mutex<State>);

impl std::fmt::Debug for FeedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("FeedCache")
            .field("changes", &state.changes)
            .field("etags", &state.etags.len())
            .finish_non_exhaustive()
    }
}

/// What was computed for one program and one change count.
#[derive(Default)]
struct State {
    /// The program it was computed for (kept, so its address names no other).
    program: Option<Arc<Program>>,
    changes: i64,
    /// When `changes` was read.
    read_at: Option<Instant>,
    /// Each person's feed's ETag, by person id.
    etags: HashMap<String, String>,
    /// The program's feed: its ETag and body.
    program_feed: Option<(String, Bytes)>,
}

/// The program and change count a feed is computed for; what is remembered under an
/// older one is not used.
#[derive(Debug, Clone)]
pub struct Generation {
    program: Arc<Program>,
    changes: i64,
}

impl FeedCache {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The generation a feed of `program` is computed for now: the change count as read
    /// at most [`COUNT_FRESH`] ago (read from `store` otherwise). What was remembered
    /// for another program or count is dropped.
    pub async fn generation(
        &self,
        store: &Store,
        program: &Arc<Program>,
    ) -> anyhow::Result<Generation> {
        let known = {
            let state = self.state();
            state
                .read_at
                .filter(|at| at.elapsed() < COUNT_FRESH)
                .map(|_| state.changes)
        };
        let changes = match known {
            Some(changes) => changes,
            None => {
                let changes = store.series_changes().await?;
                let mut state = self.state();
                state.read_at = Some(Instant::now());
                if state.changes != changes {
                    state.forget(changes);
                }
                changes
            }
        };
        let mut state = self.state();
        let same = (state.program.as_ref()).is_some_and(|p| Arc::ptr_eq(p, program));
        if !same {
            let changes = state.changes;
            state.forget(changes);
            state.program = Some(program.clone());
        }
        Ok(Generation {
            program: program.clone(),
            changes,
        })
    }

    /// `person`'s feed's ETag, if it was computed for `generation`.
    pub fn etag(&self, generation: &Generation, person: &str) -> Option<String> {
        let state = self.state();
        state
            .holds(generation)
            .then(|| state.etags.get(person).cloned())?
    }

    /// Remembers `person`'s feed's ETag, computed for `generation`.
    pub fn keep_etag(&self, generation: &Generation, person: &str, etag: &str) {
        let mut state = self.state();
        if state.holds(generation) && state.etags.len() < MAX_ETAGS {
            state.etags.insert(person.to_string(), etag.to_string());
        }
    }

    /// The program's feed (ETag, body), if it was computed for `generation`.
    pub fn program_feed(&self, generation: &Generation) -> Option<(String, Bytes)> {
        let state = self.state();
        state
            .holds(generation)
            .then(|| state.program_feed.clone())?
    }

    /// Remembers the program's feed, computed for `generation`.
    pub fn keep_program_feed(&self, generation: &Generation, etag: &str, body: Bytes) {
        let mut state = self.state();
        if state.holds(generation) {
            state.program_feed = Some((etag.to_string(), body));
        }
    }
}

impl State {
    fn holds(&self, generation: &Generation) -> bool {
        self.changes == generation.changes
            && (self.program.as_ref()).is_some_and(|p| Arc::ptr_eq(p, &generation.program))
    }

    /// Drops everything remembered; from now on for `changes`.
    fn forget(&mut self, changes: i64) {
        self.changes = changes;
        self.etags.clear();
        self.program_feed = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ETag is used for the program and change count it was computed for only: a
    /// change of a series, or a new program, drops it.
    #[tokio::test]
    async fn what_is_remembered_is_dropped_by_a_change() {
        let store = Store::open_memory().await.unwrap();
        let cache = FeedCache::default();
        let program = Arc::new(crate::program::example());
        let now = cache.generation(&store, &program).await.unwrap();
        cache.keep_etag(&now, "grace", "\"a\"");
        cache.keep_program_feed(&now, "\"p\"", Bytes::from_static(b"BEGIN"));
        assert_eq!(cache.etag(&now, "grace").as_deref(), Some("\"a\""));
        assert_eq!(cache.etag(&now, "alan"), None);
        assert!(cache.program_feed(&now).is_some());

        // Another program (a reload): nothing remembered holds.
        let reloaded = Arc::new(crate::program::example());
        let later = cache.generation(&store, &reloaded).await.unwrap();
        assert_eq!(cache.etag(&later, "grace"), None);
        assert_eq!(cache.etag(&now, "grace"), None);
        cache.keep_etag(&later, "grace", "\"b\"");

        // A series recorded as sent: once the count is read again, nothing holds.
        let (pair, sent) = crate::reconcile::all_sent(&reloaded)
            .into_iter()
            .next()
            .unwrap();
        let at = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        store.save_series(&pair, &sent, at).await.unwrap();
        cache.0.lock().unwrap().read_at = None;
        let changed = cache.generation(&store, &reloaded).await.unwrap();
        assert_eq!(cache.etag(&changed, "grace"), None);
        assert_eq!(store.series_changes().await.unwrap(), 1);
    }
}
