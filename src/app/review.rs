//! A pair held its relationship review: `mentord review done`, or the link in a review
//! nudge. The nudges for the review then due stop, and the next review counts from it.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::program::Pair;
use crate::schedule::{self, ReviewDateError};
use crate::store::Store;

/// What became of a review recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Recorded; the next review is due then (none when the pair ends first).
    Recorded { next: Option<Date> },
    /// A review on or after the one asked about is already recorded (on that date).
    Already(Date),
    /// The date cannot be a review of this pair (before it started, in the future).
    Refused(ReviewDateError),
}

/// `pair` held its review on `held_on` (today is `today` in the program's zone). With
/// `due`, the review a nudge asked about: one recorded since counts.
pub async fn held(
    store: &Store,
    pair: &Pair,
    held_on: Date,
    due: Option<Date>,
    today: Date,
    now: Timestamp,
) -> anyhow::Result<Held> {
    if let Some(due) = due
        && let Some(held) = store.last_reviews().await?.get(&pair.id).copied()
        && held >= due
    {
        return Ok(Held::Already(held));
    }
    let next = match schedule::record_review_on(pair, held_on, today) {
        Ok(next) => next,
        Err(e) => return Ok(Held::Refused(e)),
    };
    store.record_review(&pair.id, held_on, now).await?;
    tracing::info!(pair = %pair.id, %held_on, "review recorded");
    Ok(Held::Recorded { next })
}
