//! `mentord feed reset PERSON`: a new secret address for that person's calendar feed
//! (SPEC §9). The old address answers 404 from the moment the store has the new one,
//! on every daemon sharing the store.

use std::path::Path;

use clap::{Args, Subcommand};

use super::{exit, open_store, time};

#[derive(Debug, Args)]
pub struct Feed {
    #[command(subcommand)]
    action: FeedAction,
}

#[derive(Debug, Subcommand)]
enum FeedAction {
    /// Give PERSON a new secret feed address and print it; the old one stops answering.
    Reset {
        /// The person's id in the program file, e.g. grace.
        person: String,
    },
}

impl Feed {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let FeedAction::Reset { person } = &self.action;
        let program = super::load(config)?;
        if program.person_by_id(person).is_none() {
            let hint =
                crate::diagnostic::closest(person, program.people.iter().map(|p| p.id.as_str()))
                    .map(|s| format!("; did you mean {s:?}?"))
                    .unwrap_or_default();
            eprintln!("error: no person {person:?} in {}{hint}", config.display());
            return Ok(exit::USAGE);
        }
        let now = time::now()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let token = runtime.block_on(async {
            let store = open_store(&program).await?;
            store.reset_feed(person, now).await
        })?;
        let public_url = program.http.as_ref().and_then(|h| h.public_url.as_deref());
        let served = program.http.as_ref().is_some_and(|h| h.secret.is_some());
        match public_url {
            Some(base) => {
                let links = crate::vocab::links::FeedLinks::new(base, &token);
                println!("{person}'s new calendar feed (the old address answers nothing now):");
                println!("  {}", links.https);
                println!("  {}", links.webcal);
            }
            None => println!("{person}'s new calendar feed: /ics/{token}.ics"),
        }
        if public_url.is_none() || !served {
            eprintln!(
                "note: feeds are served only with [http] public_url and secret set; this program has not both"
            );
        }
        Ok(exit::OK)
    }
}
