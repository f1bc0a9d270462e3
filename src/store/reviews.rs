//! `reviews`: the relationship reviews each pair has held.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;

use super::{Store, on, seconds};

impl Store {
    pub async fn record_review(
        &self,
        pair: &str,
        held_on: Date,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        on!(self, |pool| {
            sqlx::query(
            "INSERT INTO reviews (pair, held_on, recorded_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        )
        .bind(pair)
        .bind(held_on.to_string())
        .bind(seconds(now))
        .execute(pool)
        .await?.rows_affected()
        });
        Ok(())
    }

    /// The last review held by each pair.
    pub async fn last_reviews(&self) -> anyhow::Result<HashMap<String, Date>> {
        let rows: Vec<(String, String)> = on!(self, |pool| sqlx::query_as(
            "SELECT pair, MAX(held_on) AS held_on FROM reviews GROUP BY pair"
        )
        .fetch_all(pool)
        .await?);
        rows.into_iter()
            .map(|(pair, held)| Ok((pair, held.parse()?)))
            .collect()
    }
}
