//! `mentord review done PAIR [--on DATE]`: record that a pair held its relationship
//! review. Nudges for the review due then stop, and the next one counts from this date.

use std::path::Path;

use clap::{Args, Subcommand};

use super::{exit, open_store, time};
use crate::app::{self, review::Held};
use crate::schedule;

#[derive(Debug, Args)]
pub struct Review {
    #[command(subcommand)]
    action: ReviewAction,
}

#[derive(Debug, Subcommand)]
enum ReviewAction {
    /// Record that PAIR held its review (today, or --on DATE).
    Done {
        /// The pair id, e.g. grace-alan.
        pair: String,
        /// The day it was held, YYYY-MM-DD (default: today in the program's zone).
        #[arg(long)]
        on: Option<String>,
    },
}

impl Review {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let ReviewAction::Done { pair, on } = &self.action;
        let program = super::load(config)?;
        let Some(found) = super::find_pair(&program, pair, config) else {
            return Ok(exit::USAGE);
        };
        let now = time::now()?;
        let today = program.zone.tz.to_datetime(now).date();
        let held_on = match on {
            Some(text) => text
                .parse::<jiff::civil::Date>()
                .map_err(|_| anyhow::anyhow!("--on {text:?} is not a date; write YYYY-MM-DD"))?,
            None => today,
        };
        // A date that cannot be a review is refused before the store is opened.
        schedule::record_review_on(found, held_on, today)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let held = runtime.block_on(async {
            let store = open_store(&program).await?;
            app::review::held(&store, found, held_on, None, today, now).await
        })?;
        let next = match held {
            Held::Recorded { next } => next,
            Held::Refused(e) => return Err(e.into()),
            // Only when asked about a due review, which the command never does.
            Held::Already(on) => anyhow::bail!("a review on {on} is already recorded"),
        };
        match next {
            Some(next) => println!(
                "recorded: {} held its review on {held_on}; the next is due {next}",
                found.id
            ),
            None => println!("recorded: {} held its review on {held_on}", found.id),
        }
        Ok(exit::OK)
    }
}
