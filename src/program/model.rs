//! The validated program's vocabulary: the program, its people and pairs, their
//! meetings and timing, and where the store, mail, replies and HTTP are. Everything the
//! loader builds and everything downstream reads; nothing here reads TOML.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::location::Location;
use super::values::{QuietHours, Rate};
use crate::cron::Cron;
use crate::recurrence::Rule;

/// An IANA time zone with the name the coordinator wrote.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Shared, so 100,000 people in a few dozen zones do not hold 100,000 copies.
    pub name: std::sync::Arc<str>,
    pub tz: TimeZone,
}

/// The part a person plays: in a pair, or for the whole program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Mentor,
    Mentee,
    Coordinator,
}

/// Index of a person in [`Program::people`].
pub type PersonIndex = usize;

#[derive(Debug)]
pub struct Program {
    pub name: String,
    pub zone: Zone,
    pub start: Date,
    pub end: Option<Date>,
    pub coordinator: PersonIndex,
    pub organizer: Mailbox,
    /// Sorted, without repeats.
    pub skip: Vec<Date>,
    pub templates: Option<PathBuf>,
    /// `[program] language`: of mail to people who set none, the digest and the page.
    pub language: crate::vocab::Language,
    pub digest: Option<Cron>,
    /// Quiet hours of the coordinator (for digests' neighbours: escalations).
    pub coordinator_quiet_hours: Option<QuietHours>,
    pub people: Vec<Person>,
    pub pairs: Vec<Pair>,
    pub store: StoreConfig,
    pub mail: MailConfig,
    /// `[mail] reply_to`: the Reply-To of prompts, follow-ups and nudges, with
    /// `{token}` where the message's token goes.
    pub reply_to: Option<String>,
    /// `[inbound]`: an IMAP mailbox to watch for replies.
    pub inbound: Option<InboundConfig>,
    /// `[inbound] authserv_id`: the receiving server whose `Authentication-Results`
    /// (RFC 8601) mentord trusts to vouch for a sender (`dmarc=pass`).
    pub authserv_id: Option<String>,
    pub http: Option<HttpConfig>,
    /// What the loader found worth saying but not refusing (legacy zone names), and the
    /// same rendered with file, line and column once the file's text is known.
    pub warnings: Vec<crate::diagnostic::Diagnostic>,
    pub warning_lines: Vec<String>,
    /// Pairs and people by id, built when first asked (see [`Program::pair_by_id`]).
    pub(crate) ids: std::sync::OnceLock<Ids>,
}

/// Where each pair and person id is in [`Program::pairs`] and [`Program::people`]:
/// looking one up for each reply, link or cancel must not read every pair of 50,000.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    pairs: HashMap<String, usize>,
    people: HashMap<String, PersonIndex>,
    /// Every person's address, lower case.
    addresses: std::collections::HashSet<String>,
    /// The addresses of every pair's mentor and mentee, lower case.
    pair_addresses: std::collections::HashSet<String>,
    /// Each person's pairs (as mentor or mentee), by index.
    pairs_of: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: String,
    pub email: String,
}

#[derive(Debug)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub email: String,
    pub zone: Zone,
    /// `None` when the person set no quiet hours of their own.
    pub quiet_hours: Option<Option<QuietHours>>,
    /// `None` when the person speaks the program's language.
    pub language: Option<crate::vocab::Language>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Paused,
    Ended,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Ended => "ended",
        }
    }
}

#[derive(Debug)]
pub struct Pair {
    pub id: String,
    pub mentor: PersonIndex,
    pub mentee: PersonIndex,
    /// The first date a meeting may fall on: the later of the pair's and the program's start.
    pub start: Date,
    /// The last date a meeting may fall on: the earlier of the pair's and the program's end.
    pub end: Option<Date>,
    pub goals: Vec<String>,
    pub status: Status,
    /// Developmental, sponsorship, career, peer, reverse, …: free text the prompts may use.
    pub kind: Option<String>,
    pub meeting: Meeting,
    pub timing: Timing,
    /// Meetings someone can't make (from the store, not the file): never held, never
    /// invited again. Sorted by date.
    pub cancelled: Vec<Cancelled>,
}

/// A meeting of a pair that one of them can't make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled {
    pub date: Date,
    /// Who can't make it.
    pub by: PersonIndex,
}

impl Pair {
    pub fn is_cancelled(&self, date: Date) -> bool {
        self.cancelled
            .binary_search_by_key(&date, |c| c.date)
            .is_ok()
    }

    /// Who can't make the meeting on `date`, if it was cancelled.
    pub fn cancelled_by(&self, date: Date) -> Option<PersonIndex> {
        let i = self
            .cancelled
            .binary_search_by_key(&date, |c| c.date)
            .ok()?;
        Some(self.cancelled[i].by)
    }
}

/// When and where a pair meets.
#[derive(Debug)]
pub struct Meeting {
    pub rule: Rule,
    pub at: Time,
    pub zone: Zone,
    pub duration: SignedDuration,
    pub location: Option<String>,
    /// The last instant a meeting may start (from the end dates and the rule's UNTIL).
    pub until: Option<Timestamp>,
    /// The date of the first meeting (after skip dates); `None` only for a pair that is
    /// not active and would never meet.
    pub first: Option<Date>,
    /// The last date the series can hold a meeting (from its end, UNTIL or COUNT);
    /// `None` for an open-ended series. Reviews stop after it.
    pub last: Option<Date>,
}

/// The messages around meetings, each `None` when switched off.
#[derive(Debug, Clone)]
pub struct Timing {
    pub agenda_before: Option<SignedDuration>,
    pub reminder_before: Option<SignedDuration>,
    pub followup_after: Option<SignedDuration>,
    /// Whole days between relationship reviews.
    pub review_every: Option<i32>,
    pub review_grace: i32,
    /// Whole days between check-ins, counted from the pair's start; `None` when off.
    pub checkin_every: Option<i32>,
    pub mentor_quiet_hours: Option<QuietHours>,
    pub mentee_quiet_hours: Option<QuietHours>,
    /// Days on which no prompt, reminder or nudge lands, in the recipient's zone.
    pub quiet_days: super::values::QuietDays,
    /// "Can't make it" later than this before a meeting is still honoured, but the
    /// digest lists it as late.
    pub cancel_notice: SignedDuration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub location: Location,
    /// `keep_sent`: how long a sent message's body is kept (its record stays for ever);
    /// `None` keeps bodies for ever.
    pub keep_sent: Option<jiff::SignedDuration>,
}

/// Where an SMTP server is, from `[mail] url`, read once by the loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpEndpoint {
    /// `smtps://`: TLS from the first byte; else STARTTLS (or none, on loopback).
    pub implicit_tls: bool,
    pub user: Option<String>,
    pub host: String,
    /// As written, or none for the scheme's default.
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MailConfig {
    File {
        dir: PathBuf,
        /// Files written at once.
        connections: u32,
    },
    Smtp {
        endpoint: SmtpEndpoint,
        /// Only `tls = "none"` for a loopback test server turns TLS off.
        tls: bool,
        password_env: Option<String>,
        password_file: Option<PathBuf>,
        rate: Rate,
        /// SMTP sessions a daemon keeps open at once.
        connections: u32,
    },
}

/// How many sessions a daemon uses when `[mail] connections` is not given: enough to
/// keep a relay busy while each session waits on the network, and within what common
/// submission services allow one client (Microsoft 365 takes three at once).
pub const DEFAULT_CONNECTIONS: u32 = 3;

impl MailConfig {
    /// The rolling day's budget, if the relay has one.
    pub fn daily_budget(&self) -> Option<u32> {
        match self {
            MailConfig::Smtp { rate, .. } => rate.per_day,
            MailConfig::File { .. } => None,
        }
    }
}

/// Where replies reach mentord, from `[inbound]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundConfig {
    /// `imaps://` (TLS from the first byte) or `imap://` (STARTTLS).
    pub endpoint: SmtpEndpoint,
    /// Only `tls = "none"` for a loopback test server turns TLS off.
    pub tls: bool,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub folder: String,
    pub done_folder: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    pub listen: Option<SocketAddr>,
    /// Where links in mail point (`https://…`, or `http://` on loopback), without a
    /// trailing slash; no links in mail without it.
    pub public_url: Option<String>,
    /// The key that signs action links: from the environment or a file.
    pub secret: Option<SecretSource>,
    /// The coordinator's page password (HTTP basic auth, user "coordinator"); no page
    /// without it.
    pub password: Option<SecretSource>,
    /// Where the file names the password's source, for an error about the password
    /// itself (too short) once it is read.
    pub password_at: Option<crate::diagnostic::Span>,
}

/// Where a secret is read from: never the program file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

impl SecretSource {
    /// A section's `…_env` (first) or `…_file`.
    pub fn either(env: Option<&String>, file: Option<&PathBuf>) -> Option<SecretSource> {
        match (env, file) {
            (Some(name), _) => Some(SecretSource::Env(name.clone())),
            (None, Some(path)) => Some(SecretSource::File(path.clone())),
            (None, None) => None,
        }
    }

    /// The secret, read now; `what` names it in the error.
    pub fn read(&self, what: &str) -> anyhow::Result<String> {
        use anyhow::Context as _;
        match self {
            SecretSource::Env(name) => std::env::var(name).with_context(|| {
                format!("{what} comes from the environment variable {name}, which is not set")
            }),
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .with_context(|| format!("while reading {what} from {}", path.display())),
        }
    }
}

impl Meeting {
    /// The instant a meeting on `date` starts: its time in its zone, a time in a DST gap
    /// pushed forward by the gap and one in a fold taken the first time (RFC 5545).
    pub fn start_on(&self, date: Date) -> Timestamp {
        self.zone
            .tz
            .to_ambiguous_timestamp(date.to_datetime(self.at))
            .compatible()
            .unwrap_or(Timestamp::MAX)
    }
}

impl Program {
    pub fn person(&self, index: PersonIndex) -> &Person {
        &self.people[index]
    }

    /// The language a person's mail is written in: their own, else the program's.
    pub fn language_of<'a>(&'a self, person: &'a Person) -> &'a crate::vocab::Language {
        person.language.as_ref().unwrap_or(&self.language)
    }

    pub fn pair_by_id(&self, id: &str) -> Option<&Pair> {
        self.ids().pairs.get(id).map(|&i| &self.pairs[i])
    }

    pub fn person_by_id(&self, id: &str) -> Option<PersonIndex> {
        self.ids().people.get(id).copied()
    }

    /// The pairs `person` is in (as mentor or mentee), whatever their status, by index:
    /// found without walking every pair.
    pub fn pairs_of(&self, person: PersonIndex) -> &[usize] {
        self.ids().pairs_of.get(person).map_or(&[], Vec::as_slice)
    }

    /// Ids are fixed once the program is loaded: only cancellations change its pairs.
    /// An id twice (the loader refuses that) would name its first.
    fn ids(&self) -> &Ids {
        fn first_of<'a>(ids: impl Iterator<Item = &'a String>) -> HashMap<String, usize> {
            let mut index = HashMap::new();
            for (i, id) in ids.enumerate() {
                index.entry(id.clone()).or_insert(i);
            }
            index
        }
        self.ids.get_or_init(|| Ids {
            pairs: first_of(self.pairs.iter().map(|p| &p.id)),
            people: first_of(self.people.iter().map(|p| &p.id)),
            addresses: self.people.iter().map(|p| p.email.to_lowercase()).collect(),
            pair_addresses: self
                .pairs
                .iter()
                .flat_map(|p| [p.mentor, p.mentee])
                .map(|i| self.person(i).email.to_lowercase())
                .collect(),
            pairs_of: {
                let mut of = vec![Vec::new(); self.people.len()];
                for (i, pair) in self.pairs.iter().enumerate() {
                    of[pair.mentor].push(i);
                    if pair.mentee != pair.mentor {
                        of[pair.mentee].push(i);
                    }
                }
                of
            },
        })
    }

    /// The link signer, when the program has `[http] public_url`: its secret read now,
    /// so a missing or short one stops the start (and `check`) with a clear error. The
    /// one place a signer is made from the program.
    pub fn link_signer(&self) -> anyhow::Result<Option<crate::vocab::links::Signer>> {
        let Some(http) = &self.http else {
            return Ok(None);
        };
        let (Some(public_url), Some(secret)) = (&http.public_url, &http.secret) else {
            return Ok(None);
        };
        let secret = secret.read("the [http] secret")?;
        crate::vocab::links::Signer::new(secret.as_bytes(), public_url).map(Some)
    }

    /// Whether someone in the program has this address (compared without case).
    pub fn has_address(&self, address: &str) -> bool {
        self.ids().addresses.contains(&address.to_lowercase())
    }

    /// Whether the mentor or mentee of some pair has this address (compared without
    /// case): mail from anyone else comes from outside the pairs.
    pub fn in_a_pair(&self, address: &str) -> bool {
        self.ids().pair_addresses.contains(&address.to_lowercase())
    }

    /// Puts the meetings people can't make (from the store) on their pairs; returns
    /// whether anything changed. Cancellations of pairs or people no longer in the
    /// file are left out.
    pub fn set_cancellations(&mut self, cancelled: &[(String, Date, String)]) -> bool {
        let index: std::collections::HashMap<&str, usize> = self
            .pairs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        let mut by_pair: Vec<Vec<Cancelled>> = vec![Vec::new(); self.pairs.len()];
        for (pair, date, person) in cancelled {
            let (Some(&i), Some(by)) = (index.get(pair.as_str()), self.person_by_id(person)) else {
                continue;
            };
            by_pair[i].push(Cancelled { date: *date, by });
        }
        let mut changed = false;
        for (pair, mut list) in self.pairs.iter_mut().zip(by_pair) {
            list.sort_by_key(|c| c.date);
            list.dedup_by_key(|c| c.date);
            if pair.cancelled != list {
                pair.cancelled = list;
                changed = true;
            }
        }
        changed
    }

    pub fn is_skipped(&self, date: Date) -> bool {
        self.skip.binary_search(&date).is_ok()
    }

    /// Every distinct zone name in use, sorted.
    pub fn zone_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = std::iter::once(self.zone.name.as_ref())
            .chain(self.people.iter().map(|p| p.zone.name.as_ref()))
            .chain(self.pairs.iter().map(|p| p.meeting.zone.name.as_ref()))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}
