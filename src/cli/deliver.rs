//! `mentord deliver`: one mail on stdin, as a mail server's pipe (Postfix `pipe`, a
//! `.forward`, Sieve's `pipe`, fetchmail's `mda`) hands it over, stored in the store's
//! queue for the daemon to take in (docs/listening.md). It reads no more of the program
//! file than where its store is (`[store]`, [`crate::program::store_of`]): a 50,000-pair
//! file is neither parsed nor checked here, and a file with a mistake elsewhere still
//! lets mail in. Exit 0 once the mail is committed (a duplicate of a waiting mail too),
//! 75 (`EX_TEMPFAIL`) when it could not be stored now: the mail server keeps it and
//! tries again, so nothing is lost while the store is down. What became of it is the
//! daemon's to say: its log, `status` and the page (`mentord intake` takes in what waits
//! when no daemon runs).

use std::io::Read as _;
use std::path::Path;

use clap::Args;

use super::{exit, time};
use crate::store::{MAX_KEPT_BYTES, Store};

/// `EX_TEMPFAIL` (sysexits.h): mail servers retry later.
pub const TEMPFAIL: u8 = 75;

#[derive(Debug, Args)]
pub struct Deliver {}

impl Deliver {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        // Whole up to 25 MB (and a byte more, to know it is larger); the rest is read,
        // counted and dropped, so the sender sees the whole mail taken.
        let mut raw = Vec::new();
        let mut stdin = std::io::stdin().lock();
        let most = u64::try_from(MAX_KEPT_BYTES).unwrap_or(u64::MAX) + 1;
        let rest = (&mut stdin)
            .take(most)
            .read_to_end(&mut raw)
            .and_then(|_| std::io::copy(&mut stdin, &mut std::io::sink()));
        let size = match rest {
            Ok(rest) => raw.len() + usize::try_from(rest).unwrap_or(usize::MAX),
            Err(e) => {
                eprintln!("mentord deliver: could not read the mail on stdin: {e}");
                return Ok(TEMPFAIL);
            }
        };
        match hand_off(config, &raw, size) {
            Ok(handed) => {
                let id = handed.id.map_or(String::new(), |id| format!(" (#{id})"));
                if handed.fresh {
                    eprintln!("mentord deliver: stored for the daemon to take in{id}");
                } else {
                    eprintln!("mentord deliver: waiting already, stored once{id}");
                }
                Ok(exit::OK)
            }
            Err(e) => {
                eprintln!("mentord deliver: not stored now, the mail server will try again: {e:#}");
                Ok(TEMPFAIL)
            }
        }
    }
}

fn hand_off(config: &Path, raw: &[u8], size: usize) -> anyhow::Result<crate::store::HandedOff> {
    let Some(location) = crate::program::store_of(config) else {
        anyhow::bail!(
            "the [store] table of {} cannot be read (or the file at all)",
            config.display()
        );
    };
    let now = time::now()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::open_for_one_write(&location).await?;
        crate::app::handoff::hand_off(&store, raw, size, now).await
    })
}
