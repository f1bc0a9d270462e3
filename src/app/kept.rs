//! Mail from outside the pairs that mentord kept for the coordinator (SPEC §5 "No dead
//! ends"): marking one handled, the same from `mentord inbox done` and the page's button.

use jiff::Timestamp;

use crate::store::{Handled, Store};

/// Marks kept mail `id` handled at `now`; a second time changes nothing and says when.
pub async fn handled(store: &Store, id: i64, now: Timestamp) -> anyhow::Result<Handled> {
    let outcome = store.mark_kept_handled(id, now).await?;
    if outcome == Handled::Marked {
        tracing::info!(id, "kept mail marked handled");
    }
    Ok(outcome)
}
