//! `mentord deliver`: one mail on stdin, as a mail server's pipe (Postfix `pipe`, a
//! `.forward`, Sieve's `pipe`, fetchmail's `mda`) hands it over, taken in like mail from
//! the IMAP watcher (docs/listening.md). Exit 0 when it was used or set aside (kept in the store
//! for the coordinator), 75 (`EX_TEMPFAIL`) when it could not be stored now: the mail
//! server keeps it and tries again, so nothing is lost while the store is down.

use std::io::Read as _;
use std::path::Path;

use clap::Args;

use super::{exit, open_store, time};
use crate::app::{Source, Verdict, take_in};

/// `EX_TEMPFAIL` (sysexits.h): mail servers retry later.
pub const TEMPFAIL: u8 = 75;

/// The most read from stdin; the rest is read and dropped (a mail this large is set
/// aside on its headers).
const MAX_READ: u64 = 128 * 1024 * 1024;

#[derive(Debug, Args)]
pub struct Deliver {}

impl Deliver {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let mut raw = Vec::new();
        let mut stdin = std::io::stdin().lock();
        if let Err(e) = (&mut stdin).take(MAX_READ).read_to_end(&mut raw) {
            eprintln!("mentord deliver: could not read the mail on stdin: {e}");
            return Ok(TEMPFAIL);
        }
        // Drain what is over the limit, so the sender sees the whole mail taken.
        let _ = std::io::copy(&mut stdin, &mut std::io::sink());
        match deliver(config, &raw) {
            Ok(verdict) => {
                let said = match &verdict {
                    Verdict::Used(crate::store::InboundKind::Kept) => {
                        "from outside the pairs: kept for the coordinator (mentord inbox)".into()
                    }
                    Verdict::Used(kind) => format!("taken in: {}", kind.name()),
                    Verdict::Again(kind) => format!("taken in before: {}", kind.name()),
                    Verdict::SetAside(why) => format!("set aside for the coordinator: {why}"),
                };
                eprintln!("mentord deliver: {said}");
                Ok(exit::OK)
            }
            Err(e) => {
                eprintln!(
                    "mentord deliver: not taken in now, the mail server will try again: {e:#}"
                );
                Ok(TEMPFAIL)
            }
        }
    }
}

fn deliver(config: &Path, raw: &[u8]) -> anyhow::Result<Verdict> {
    // An invalid program file is a temporary failure too: the mail waits at the
    // server until the coordinator has fixed it.
    let program = super::load(config)?;
    let now = time::now()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = open_store(&program).await?;
        take_in(&program, &store, raw, Source::Pipe, now).await
    })
}
