//! `mentord retry [PAIR ...] [--all-failed]`: queues failed messages again once their
//! cause is fixed (a recipient's address corrected at the relay, credentials repaired),
//! as they were: same delivery key, same body, same `Message-ID`. A running daemon sends
//! them within a minute.

use std::path::Path;

use clap::Args;

use super::{exit, open_store, time};

#[derive(Debug, Args)]
pub struct Retry {
    /// Pair ids whose failed messages go again.
    pairs: Vec<String>,
    /// Every failed message, the digest's included.
    #[arg(long, conflicts_with = "pairs")]
    all_failed: bool,
}

impl Retry {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        if self.pairs.is_empty() && !self.all_failed {
            eprintln!(
                "error: name the pairs whose failed mail should go again, or give --all-failed"
            );
            return Ok(exit::USAGE);
        }
        let program = super::load(config)?;
        for pair in &self.pairs {
            if super::find_pair(&program, pair, config).is_none() {
                return Ok(exit::USAGE);
            }
        }
        let now = time::now()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let pairs = (!self.all_failed).then_some(self.pairs.as_slice());
        let queued = runtime.block_on(async {
            let store = open_store(&program).await?;
            store.requeue_failed(pairs, now).await
        })?;
        let total: u64 = queued.iter().map(|(_, n)| n).sum();
        if total == 0 {
            println!("no failed messages to send again");
            return Ok(exit::OK);
        }
        let per_pair: Vec<String> = queued
            .iter()
            .map(|(pair, n)| format!("{}: {n}", pair.as_deref().unwrap_or("digests")))
            .collect();
        println!(
            "queued {total} failed message{} again ({}); a running daemon sends {} within a minute",
            if total == 1 { "" } else { "s" },
            per_pair.join(", "),
            if total == 1 { "it" } else { "them" },
        );
        Ok(exit::OK)
    }
}
