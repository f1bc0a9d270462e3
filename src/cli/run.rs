//! `mentord run`: the daemon ([`crate::daemon::service`]). Sends what is due, sleeps
//! until the next action, reloads the file when it changes or on SIGHUP (an invalid file
//! keeps the last good program and logs why), and on SIGTERM/SIGINT finishes the send in
//! flight and stops (exit 0).

use std::path::Path;

use anyhow::Context as _;
use clap::Args;

use super::{exit, time};
use crate::compose;
use crate::daemon::service;
use crate::render::Templates;
use crate::store::Location;

#[derive(Debug, Args)]
pub struct Run {}

impl Run {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let program = super::load(config)?;
        let templates = Templates::load(program.templates.as_deref())?;
        compose::check_templates(&program, &templates).context("the templates do not render")?;
        super::check::page_password(config, &program)?;
        let location = program.store.location.clone();
        let _lock = match &location {
            Location::Sqlite(db) => Some(crate::store::lock::hold(db)?),
            Location::Postgres(_) => None,
        };
        let started = time::now()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(service::launch(
            config, program, templates, &location, started,
        ))?;
        Ok(exit::OK)
    }
}
