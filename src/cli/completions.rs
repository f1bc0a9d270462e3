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
            let main = dir.join("mentord.1");
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
                .and_then(|()| {
                    let mut file = std::fs::OpenOptions::new().append(true).open(&main)?;
                    file.write_all(MORE_SECTIONS.as_bytes())
                })
                .with_context(|| format!("while writing the pages into {}", dir.display()))?;
            return Ok(exit::OK);
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(Cli::command()).render(&mut page)?;
        page.extend_from_slice(MORE_SECTIONS.as_bytes());
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

/// What clap does not know: exit codes (a mail server acts on 75), the environment and
/// examples, appended to mentord.1 in roff.
const MORE_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Done: the file is valid, the mail was taken in (used, kept or set aside for the coordinator).
.TP
\fB1\fR
The program file is invalid (each problem named file:line:column), or the command failed.
.TP
\fB2\fR
The command line is wrong, or a file named on it cannot be read.
.TP
\fB75\fR
\fBdeliver\fR only (EX_TEMPFAIL): the store cannot take the mail now; the mail server keeps it and tries again later.
.SH ENVIRONMENT
.TP
\fBMENTORD_CONFIG\fR
The program file, when \fB\-c\fR/\fB\-\-config\fR is not given.
.TP
\fBMENTORD_NOW\fR
An instant (RFC 3339, e.g. 2027\-02\-08T09:00:00Z) taken as now, to try a program at another date.
.TP
\fBRUST_LOG\fR
Which log lines to write, as a tracing filter (e.g. \fBinfo\fR, \fBmentord=debug\fR); by default info (warn for \fBsimulate\fR).
.TP
\fBMENTORD_SMTP_PASSWORD\fR, \fBMENTORD_IMAP_PASSWORD\fR, \fBMENTORD_SECRET\fR, \fBMENTORD_STATUS_PASSWORD\fR
Secrets, under whatever names the program file gives in \fBpassword_env\fR ([mail], [inbound], [http]) and \fBsecret_env\fR ([http]); these are the names its examples use. Each may come from a file instead (\fBpassword_file\fR, \fBsecret_file\fR).
.SH EXAMPLES
.TP
\fBmentord \-c mentord.toml check\fR
Validate the program file.
.TP
\fBmentord \-c mentord.toml plan \-\-from 2027\-01\-11 \-\-days 30\fR
What the daemon would send in the next 30 days, and the calendar changes it would send now.
.TP
\fBmentord \-c mentord.toml simulate \-\-from 2027\-01\-04 \-\-until 2027\-07\-01 \-\-out sim\fR
Every message of half a year as .eml files, nothing sent.
.TP
\fBmentord \-c mentord.toml run\fR
Run the daemon.
.TP
\fB"|/usr/local/bin/mentord \-c /etc/mentord/mentord.toml deliver"\fR
In a mail server's aliases file: replies and calendar answers to the reply_to address are taken in; exit 75 makes the server retry.
"#;
