//! `mentord intake`: an operator's tool, not in SPEC's table. Takes in the mail that
//! `mentord deliver` left waiting in the store, now and once, with this program, and
//! prints what became of each (no agenda text): what a running daemon does within a
//! second of each hand-off. For a store no daemon runs on (a test, a one-off import of
//! mail), and to see a verdict: `--wait ID` waits for the mail `deliver` stored as `#ID`
//! to be taken in (by this run or a daemon) and prints its verdict. An invalid program
//! file takes nothing in: the mail waits until the file is fixed.

use std::path::Path;
use std::time::Duration;

use clap::Args;

use super::{exit, load, open_store};
use crate::app::handoff::{BATCH, take_waiting};

/// How long `--wait` waits for a daemon to take the mail in.
const WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub struct Intake {
    /// Then wait for the mail `deliver` stored as #ID and print its verdict.
    #[arg(long, value_name = "ID")]
    wait: Option<i64>,
}

impl Intake {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let program = load(config)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let store = open_store(&program).await?;
            let holder = format!("intake-{}", std::process::id());
            let mut seen = false;
            loop {
                let taken = take_waiting(&program, &store, &holder, BATCH).await?;
                if taken.is_empty() {
                    break;
                }
                for t in &taken {
                    seen |= Some(t.id) == self.wait;
                    eprintln!("mentord intake: #{} {}", t.id, t.said());
                }
            }
            if let Some(id) = self.wait.filter(|_| !seen) {
                let start = std::time::Instant::now();
                loop {
                    if let Some(verdict) = store.queued_verdict(id).await? {
                        eprintln!("mentord intake: #{id} {verdict}");
                        break;
                    }
                    if start.elapsed() > WAIT {
                        eprintln!("mentord intake: #{id} is not taken in yet");
                        return Ok(exit::FAILED);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            let waiting = store.mail_waiting().await?;
            if waiting.count > 0 {
                eprintln!(
                    "mentord intake: {} mails wait (claimed by a daemon)",
                    waiting.count
                );
            }
            Ok(exit::OK)
        })
    }
}
