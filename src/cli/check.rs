//! `mentord check`: validate the program file and print a one-line summary.

use std::path::Path;

use clap::Args;

use anyhow::Context as _;

use super::exit;
use crate::compose;
use crate::program::Status;
use crate::render::Templates;

#[derive(Debug, Args)]
pub struct Check {}

impl Check {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let program = super::load(config)?;
        for warning in &program.warning_lines {
            eprint!("{warning}");
        }
        let templates = Templates::load(program.templates.as_deref())?;
        compose::check_templates(&program, &templates).context("the templates do not render")?;
        // Links that could not be signed, or a page without its password, fail now, not
        // at the first mail or request.
        crate::serve::signer(&program).context("[http] cannot sign links")?;
        if let Some(password) = program.http.as_ref().and_then(|h| h.password.as_ref()) {
            password
                .read("the [http] password")
                .context("[http] has no page password")?;
        }
        let count = |status| program.pairs.iter().filter(|p| p.status == status).count();
        let (active, paused, ended) = (
            count(Status::Active),
            count(Status::Paused),
            count(Status::Ended),
        );
        let mut states = vec![format!("{active} active")];
        if paused > 0 {
            states.push(format!("{paused} paused"));
        }
        if ended > 0 {
            states.push(format!("{ended} ended"));
        }
        let dates = match program.end {
            Some(end) => format!("{} to {end}", program.start),
            None => format!("from {}", program.start),
        };
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        println!(
            "{}: valid: \"{}\", {}, {} ({}), {}, {dates}",
            config.display(),
            program.name,
            plural(program.people.len(), "person", "people"),
            plural(program.pairs.len(), "pair", "pairs"),
            states.join(", "),
            plural(program.zone_names().len(), "time zone", "time zones"),
        );
        Ok(exit::OK)
    }
}
