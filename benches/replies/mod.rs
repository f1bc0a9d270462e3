//! What the mail benchmarks share: a program of PAIRS pairs meeting weekly (UTC, quiet
//! hours off) run on a virtual clock over a fresh SQLite store until every mentee's
//! agenda prompt is sent (as files), and each mentee's answer to it through its
//! Reply-To token: a short agenda above the quoted prompt, as a mail client writes it.
//! Genuine replies: each answers a prompt mentord really sent.

#![allow(dead_code)] // each benchmark uses its own part

use std::path::{Path, PathBuf};

use super::common::imap::USER;
use mentord::clock::VirtualClock;
use mentord::daemon::{self, Control, Daemon, Silent, Transport};
use mentord::program;
use mentord::render::Templates;
use mentord::store::{Location, Store};

const FROM: &str = "2027-01-10T00:00:00Z";
const UNTIL: &str = "2027-01-10T12:00:00Z";
/// The IMAP folder handled mail goes to.
pub const DONE: &str = "mentord";

/// The program's text; with `imap_port`, replies come from that IMAP server.
pub fn program_text(pairs: usize, store: &str, outbox: &Path, imap_port: Option<u16>) -> String {
    let inbound = imap_port.map_or(String::new(), |port| {
        format!(
            "[inbound]\nimap = \"imap://{USER}@127.0.0.1:{port}\"\ntls = \"none\"\n\
             password_env = \"BENCH_IMAP_PASSWORD\"\ndone_folder = \"{DONE}\"\n\n"
        )
    });
    let mut text = format!(
        "[program]\nname = \"Inbound bench\"\ntimezone = \"UTC\"\nstart = 2027-01-11\ncoordinator = \"coord\"\n\
         organizer = {{ name = \"Mentoring\", email = \"mentoring@example.org\" }}\n\n\
         [defaults]\nevery = \"week\"\non = \"tue\"\nat = \"10:00\"\nquiet_hours = \"off\"\ndigest = \"off\"\n\n\
         [store]\nurl = \"{store}\"\n\n\
         [mail]\ntransport = \"file\"\ndir = \"{outbox}\"\nreply_to = \"mentoring+{{token}}@example.org\"\n\n\
         {inbound}[people.coord]\nname = \"Coordinator\"\nemail = \"coord@example.org\"\n",
        outbox = outbox.display(),
    );
    for i in 0..pairs {
        text += &format!(
            "\n[people.mentor{i}]\nname = \"Mentor {i}\"\nemail = \"mentor{i}@example.org\"\n\
             \n[people.mentee{i}]\nname = \"Mentee {i}\"\nemail = \"mentee{i}@example.org\"\n\
             \n[[pairs]]\nmentor = \"mentor{i}\"\nmentee = \"mentee{i}\"\n"
        );
    }
    text
}

/// A SQLite store in `dir` whose daemon has sent every agenda prompt; the replies to
/// them.
pub async fn prepared(dir: &Path, pairs: usize, imap_port: Option<u16>) -> (PathBuf, Vec<Vec<u8>>) {
    prepared_at(
        dir,
        pairs,
        imap_port,
        Location::Sqlite(dir.join("mentord.db")),
    )
    .await
}

/// [`prepared`] on the store at `location`.
pub async fn prepared_at(
    dir: &Path,
    pairs: usize,
    imap_port: Option<u16>,
    location: Location,
) -> (PathBuf, Vec<Vec<u8>>) {
    let config = dir.join("mentord.toml");
    let outbox = dir.join("outbox");
    let url = match &location {
        Location::Sqlite(path) => format!("sqlite://{}", path.display()),
        Location::Postgres(url) => url.clone(),
    };
    std::fs::write(&config, program_text(pairs, &url, &outbox, imap_port)).unwrap();
    let program = program::load(&config).unwrap();
    let store = Store::open(location).await.unwrap();
    let mut daemon = Daemon::new(
        program,
        Templates::load(None).unwrap(),
        store,
        Transport::File {
            dir: outbox.clone(),
            connections: mentord::program::DEFAULT_CONNECTIONS,
        },
    );
    let clock = VirtualClock::new(FROM.parse().unwrap(), UNTIL.parse().unwrap());
    let (mut control, _wake) = Control::unattended();
    daemon::run(&mut daemon, &clock, &mut control, &mut Silent)
        .await
        .unwrap();
    let mut replies = Vec::new();
    for entry in std::fs::read_dir(&outbox).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("agenda_prompt-")
        {
            continue;
        }
        let raw = std::fs::read_to_string(&path).unwrap();
        let field = |name: &str| {
            let line = raw
                .lines()
                .find(|l| l.starts_with(&format!("{name}:")))
                .unwrap();
            line[line.find('<').unwrap() + 1..line.find('>').unwrap()].to_string()
        };
        let (to, reply_to, id) = (field("To"), field("Reply-To"), field("Message-ID"));
        replies.push(
            format!(
                "From: <{to}>\r\nTo: <{reply_to}>\r\nSubject: Re: Agenda\r\n\
                 Message-ID: <reply-{id}>\r\nIn-Reply-To: <{id}>\r\nDate: Sun, 10 Jan 2027 12:00:00 +0000\r\n\
                 MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                 1. Progress on the runbook\r\n2. The design review\r\n\r\n\
                 On Sun, 10 Jan 2027 at 10:00, Mentoring <mentoring@example.org> wrote:\r\n\
                 > Hello,\r\n> you meet your mentor on Tuesday.\r\n> \u{2014} reply above this line \u{2014}\r\n"
            )
            .into_bytes(),
        );
    }
    (config, replies)
}
