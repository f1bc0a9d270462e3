//! `mentord completions SHELL` and `mentord man`: shell completions and the manual
//! page, both from the same clap definition as the command line itself.

use std::io::Write as _;

use anyhow::Context as _;

use clap::{Args, CommandFactory};

use super::{Cli, exit};

#[derive(Debug, Args)]
pub struct Completions {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

impl Completions {
    pub fn execute(&self) -> anyhow::Result<u8> {
        let mut script = Vec::new();
        clap_complete::generate(self.shell, &mut Cli::command(), "mentord", &mut script);
        write_out(&script)
    }
}

#[derive(Debug, Args)]
pub struct Man {
    /// Write mentord.1 and a page per command (mentord-check.1, …) into this folder,
    /// made if missing, instead of printing mentord.1.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
}

impl Man {
    pub fn execute(&self) -> anyhow::Result<u8> {
        if let Some(dir) = &self.dir {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
                .with_context(|| format!("while writing the pages into {}", dir.display()))?;
            return Ok(exit::OK);
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(Cli::command()).render(&mut page)?;
        write_out(&page)
    }
}

/// Writes to stdout; a reader that went away (`| head`) is no error.
fn write_out(bytes: &[u8]) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(exit::OK),
    }
}
