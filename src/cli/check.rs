//! `mentord check`: validate the program file and print a one-line summary.

use std::path::Path;

use clap::Args;

use anyhow::Context as _;

use super::exit;
use crate::compose;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::program::{LoadError, Program, Status};
use crate::render::Templates;
use crate::serve::signin::{self, PasswordError};

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
        program.link_signer().context("[http] cannot sign links")?;
        page_password(config, &program)?;
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

/// The coordinator's page password, read and checked now (`check` and `run`): one that
/// cannot be read, or is too short to hold off guessing, is refused, a short one at the
/// line of the program file that names it.
pub(super) fn page_password(config: &Path, program: &Program) -> anyhow::Result<()> {
    match signin::page_password(program) {
        Ok(_) => Ok(()),
        Err(PasswordError::Unreadable(e)) => Err(e.context("[http] has no page password")),
        Err(PasswordError::TooShort { chars, from, at }) => {
            let short = PasswordError::TooShort {
                chars,
                from,
                at: at.clone(),
            };
            // The file was read a moment ago; should it be gone now, say it without a line.
            let (Some(span), Ok(text)) = (at, std::fs::read_to_string(config)) else {
                return Err(short.into());
            };
            let diagnostic = Diagnostic {
                span,
                message: short.to_string(),
                help: Some(format!(
                    "a password of {} or more characters holds off guessing: set one, e.g. from `openssl rand -base64 24`",
                    signin::MIN_PASSWORD_CHARS
                )),
            };
            Err(LoadError::Invalid {
                file: SourceFile::new(config.display().to_string(), text),
                diagnostics: vec![diagnostic],
            }
            .into())
        }
    }
}
