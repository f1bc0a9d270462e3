//! Inbound corpus (SPEC §5): real-world mail shapes, each taken in through `take_in`
//! after the daemon has sent the invites, the agenda prompts and a follow-up over a real
//! store (SQLite, and PostgreSQL when `MENTORD_TEST_POSTGRES` is set).
//!
//! The corpus is `tests/inbound/mail/*.eml` (see its README.md): templates whose
//! placeholders are filled from the mail the daemon actually sent (reply tokens,
//! Message-IDs, the invite's UID, the meetings' times). The table below gives each file
//! the verdict it must get and what it must change in the store; everything it does not
//! name must stay as it was (so an accepted meeting is checked not to be cancelled, an
//! out-of-office not to record an agenda, a set-aside mail to change nothing but the
//! set-aside list). Rows run in order over one store; every failure names its file and
//! all failures are reported together.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::postgres::backends;
use futures_util::FutureExt as _;
use jiff::{SignedDuration, Timestamp};
use mail_parser::MessageParser;
use mentord::app::{Source, Verdict, take_in};
use mentord::program::{self, Program};
use mentord::store::{InboundKind, Location, Store};

/// Two pairs meeting weekly on Tuesdays at 10:00 Berlin time from 12 January 2027.
fn program_text(outbox: &Path) -> String {
    format!(
        r#"[program]
name = "Corpus"
timezone = "Europe/Berlin"
start = 2027-01-11
coordinator = "ada"
organizer = {{ name = "Mentoring", email = "mentoring@example.org" }}

[defaults]
every = "week"
on = "tue"
at = "10:00"
duration = "45m"
agenda_before = "48h"
reminder_before = "24h"
followup_after = "2h"
quiet_hours = "off"
digest = "0 8 * * MON"

[mail]
transport = "file"
dir = "{outbox}"
reply_to = "mentoring+{{token}}@example.org"

[inbound]
authserv_id = "mx.example.org"

{two_pairs}"#,
        two_pairs = common::TWO_PAIRS,
        outbox = outbox.display()
    )
}

const PAIR: &str = "grace-alan";

/// The daemon runs from Saturday noon to Tuesday 13:00 UTC: the invites, Sunday's agenda
/// prompts, Monday's reminders, Tuesday's first meeting and its follow-up.
const RUN_FROM: &str = "2027-01-09T12:00:00Z";
const RUN_UNTIL: &str = "2027-01-12T13:00:00Z";

// ---------------------------------------------------------------------------------------
// The table.

/// What `take_in` must answer.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Used(InboundKind),
    Again(InboundKind),
    /// Set aside, the reason containing this.
    SetAside(&'static str),
}

/// What a mail must change in the store; anything not named must stay as it was.
#[derive(Debug, Clone, Copy)]
enum Effect {
    /// An answer of `person` for the series (`meeting` None) or the `meeting`th meeting
    /// (1 is the first, 12 January).
    Rsvp {
        person: &'static str,
        meeting: Option<usize>,
        partstat: &'static str,
    },
    /// The `meeting`th meeting cancelled because `person` can't make it.
    Cancelled {
        meeting: usize,
        person: &'static str,
    },
    /// A bounce recorded for `address` with this status (count one more).
    Bounce {
        address: &'static str,
        status: &'static str,
    },
    /// An agenda or action items for the first meeting, with this new text.
    Reply {
        kind: InboundKind,
        body: &'static str,
    },
}

/// Where a row's mail comes from.
#[derive(Debug, Clone, Copy)]
enum Mail {
    /// A corpus file, placeholders filled.
    File(&'static str),
    /// Made by the test (too large to commit).
    Generated(&'static str, fn(&Sent) -> Vec<u8>),
}

impl Mail {
    fn name(&self) -> &'static str {
        match self {
            Mail::File(name) | Mail::Generated(name, _) => name,
        }
    }
}

#[derive(Debug)]
struct Case {
    mail: Mail,
    expect: Expect,
    effects: &'static [Effect],
    /// Must be taken in within this (a bound, not a benchmark).
    within: Option<Duration>,
}

const fn case(file: &'static str, expect: Expect, effects: &'static [Effect]) -> Case {
    Case {
        mail: Mail::File(file),
        expect,
        effects,
        within: None,
    }
}

use Effect::{Bounce, Cancelled, Reply, Rsvp};
use Expect::{Again, SetAside, Used};

fn cases() -> Vec<Case> {
    vec![
        // Calendar answers: Outlook (no ORGANIZER, MAILTO: in capitals, Windows zone
        // names), Gmail (RECURRENCE-ID in UTC, ORGANIZER, invite.ics as application/ics
        // too), Apple Calendar (iCal's PRODID, RECURRENCE-ID with TZID, CN quoted).
        case(
            "outlook_decline_meeting.eml",
            Used(InboundKind::Rsvp),
            &[
                Rsvp {
                    person: "alan",
                    meeting: Some(2),
                    partstat: "declined",
                },
                Cancelled {
                    meeting: 2,
                    person: "alan",
                },
            ],
        ),
        // The same decline again (Outlook resends, or the mail server retries).
        case("outlook_decline_meeting.eml", Again(InboundKind::Rsvp), &[]),
        case(
            "outlook_accept_series.eml",
            Used(InboundKind::Rsvp),
            &[Rsvp {
                person: "grace",
                meeting: None,
                partstat: "accepted",
            }],
        ),
        case(
            "outlook_tentative_meeting.eml",
            Used(InboundKind::Rsvp),
            &[Rsvp {
                person: "grace",
                meeting: Some(3),
                partstat: "tentative",
            }],
        ),
        // Accepted: recorded, and the meeting is not cancelled (no Cancelled effect).
        case(
            "gmail_accept_meeting.eml",
            Used(InboundKind::Rsvp),
            &[Rsvp {
                person: "alan",
                meeting: Some(3),
                partstat: "accepted",
            }],
        ),
        // Declining the whole series is recorded; it cancels no single meeting.
        case(
            "gmail_decline_series.eml",
            Used(InboundKind::Rsvp),
            &[Rsvp {
                person: "alan",
                meeting: None,
                partstat: "declined",
            }],
        ),
        // Alan changes his mind: the newer answer replaces the series decline.
        case(
            "apple_tentative_series.eml",
            Used(InboundKind::Rsvp),
            &[Rsvp {
                person: "alan",
                meeting: None,
                partstat: "tentative",
            }],
        ),
        case(
            "apple_decline_meeting.eml",
            Used(InboundKind::Rsvp),
            &[
                Rsvp {
                    person: "alan",
                    meeting: Some(4),
                    partstat: "declined",
                },
                Cancelled {
                    meeting: 4,
                    person: "alan",
                },
            ],
        ),
        case(
            "apple_accept_meeting.eml",
            Used(InboundKind::Rsvp),
            &[Rsvp {
                person: "grace",
                meeting: Some(5),
                partstat: "accepted",
            }],
        ),
        // Delivery reports.
        case(
            "postfix_bounce.eml",
            Used(InboundKind::Bounce),
            &[Bounce {
                address: "alan@example.org",
                status: "5.1.1 (smtp; 550 5.1.1 <alan@example.org>: Recipient address \
                         rejected: User unknown in virtual mailbox table)",
            }],
        ),
        case(
            "exchange_bounce.eml",
            Used(InboundKind::Bounce),
            &[Bounce {
                address: "alan@example.org",
                status: "5.1.10 (smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; \
                         Recipient not found by SMTP address lookup)",
            }],
        ),
        // Out of office: recorded, nothing else.
        case(
            "outlook_out_of_office.eml",
            Used(InboundKind::AutoReply),
            &[],
        ),
        case("gmail_vacation.eml", Used(InboundKind::AutoReply), &[]),
        case(
            "german_abwesenheitsnotiz.eml",
            Used(InboundKind::AutoReply),
            &[],
        ),
        // Agendas: by token, by thread alone, in ISO-8859-1 quoted-printable, HTML only.
        case(
            "gmail_agenda_token.eml",
            Used(InboundKind::Agenda),
            &[Reply {
                kind: InboundKind::Agenda,
                body: "Hi Grace,\n\nThings I'd like to talk about on Tuesday:\n\n\
                       1. What you look for in a design review\n\
                       2. How to say no to a project without burning bridges\n\
                       3. A reading list on compilers\n\nThanks,\nAlan",
            }],
        ),
        case(
            "outlook_agenda_thread.eml",
            Used(InboundKind::Agenda),
            &[Reply {
                kind: InboundKind::Agenda,
                body: "Hi Grace,\n\nFor tomorrow, if that works for you:\n\
                       - The move to the compiler team: what it takes\n\
                       - Feedback on my conference talk proposal (draft attached last week)\n\n\
                       Best regards,\nAlan",
            }],
        ),
        case(
            "thunderbird_agenda_latin1_qp.eml",
            Used(InboundKind::Agenda),
            &[Reply {
                kind: InboundKind::Agenda,
                body: "Hallo Grace,\n\nfür Dienstag:\n\
                       - Rückmeldung zu meinem Entwurf für die Übersetzer-Vorlesung\n\
                       - Größere Fragen zur Förderung (Stipendium für 2028)\n\n\
                       Grüße aus München\nAlan",
            }],
        ),
        case(
            "outlook_web_html_only_agenda.eml",
            Used(InboundKind::Agenda),
            &[Reply {
                kind: InboundKind::Agenda,
                body: "Hi Grace,\n\nAgenda for Tuesday:\n\
                       - Pairing on the parser rewrite\n\
                       - Whether to take the team lead role — pros & cons\nAlan",
            }],
        ),
        // Action items: a reply to the follow-up.
        case(
            "gmail_followup_action_items.eml",
            Used(InboundKind::ActionItems),
            &[Reply {
                kind: InboundKind::ActionItems,
                body: "- Write up the design review checklist by Friday\n\
                       - Read chapters 1-3 of the Dragon Book\n\
                       - Ask Ken whether I can shadow the next release",
            }],
        ),
        // No Message-ID: known by a digest of its bytes, so taken in once.
        case(
            "no_message_id_followup.eml",
            Used(InboundKind::ActionItems),
            &[Reply {
                kind: InboundKind::ActionItems,
                body: "Mine: send Alan the COBOL style guide and two papers on code review.",
            }],
        ),
        case(
            "no_message_id_followup.eml",
            Again(InboundKind::ActionItems),
            &[],
        ),
        // Set aside.
        case(
            "forged_sender.eml",
            SetAside("neither the mentor nor the mentee of grace-alan"),
            &[],
        ),
        case(
            "bad_token.eml",
            SetAside("a token mentord never gave out"),
            &[],
        ),
        case(
            "answers_nothing.eml",
            SetAside("answers no mail of a pair"),
            &[],
        ),
        // A plain reply to the invite's mail text (no agenda, no action items): no dead
        // end, it goes on to the other person of the pair.
        case("invite_reply_plain.eml", Used(InboundKind::Forwarded), &[]),
        // Broken MIME: never a panic.
        case(
            "broken_unterminated_multipart.eml",
            Used(InboundKind::Agenda),
            &[Reply {
                kind: InboundKind::Agenda,
                body: "One more point for tomorrow: conference budget.",
            }],
        ),
        // `multipart/mixed` with no boundary: no part can be found, so no text: set
        // aside for a person to read, rather than guessed at.
        case(
            "broken_missing_boundary.eml",
            SetAside("no new text in it"),
            &[],
        ),
        case("broken_garbage_headers.eml", SetAside("no sender"), &[]),
        Case {
            mail: Mail::Generated("generated: 50 MB agenda reply", huge),
            expect: SetAside("too large to read (50 MB"),
            effects: &[],
            within: Some(Duration::from_secs(10)),
        },
    ]
}

/// An agenda reply by Alan through his token with a 50 MB attachment.
fn huge(sent: &Sent) -> Vec<u8> {
    let mut raw = format!(
        "From: Alan Turing <alan@example.org>\r\nTo: Mentoring <{}>\r\n\
         Subject: Re: agenda, with the recording\r\nDate: Mon, 11 Jan 2027 09:00:00 +0100\r\n\
         Message-ID: <huge-1@mail.gmail.com>\r\nIn-Reply-To: <{}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\r\nThe recording is attached.\r\n--b\r\n\
         Content-Type: video/mp4; name=\"meeting.mp4\"\r\n\
         Content-Disposition: attachment; filename=\"meeting.mp4\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
        sent.prompt_token_address, sent.prompt_message_id
    )
    .into_bytes();
    let line = b"AAAAIGZ0eXBpc29tAAACAGlzb21pc28yYXZjMW1wNDEAAAAIZnJlZQAAAAhmcmVlAAAA\r\n";
    while raw.len() < 50 * 1024 * 1024 {
        raw.extend_from_slice(line);
    }
    raw.extend_from_slice(b"--b--\r\n");
    raw
}

// ---------------------------------------------------------------------------------------
// What the daemon sent, and the placeholders it fills.

#[derive(Debug)]
struct Sent {
    prompt_token_address: String,
    prompt_message_id: String,
    followup_token_address: String,
    followup_message_id: String,
    invite_message_id: String,
    /// The ORGANIZER address of Alan's and of Grace's copy of the invite.
    alan_organizer: String,
    grace_organizer: String,
    uid: String,
    /// The pair's meetings from the first, (date, start).
    meetings: Vec<(jiff::civil::Date, Timestamp)>,
    zone: jiff::tz::TimeZone,
}

impl Sent {
    fn placeholders(&self) -> Vec<(String, String)> {
        let mut altered = self.prompt_token_address.clone();
        // One letter of the token changed: `mentoring+` is 10 octets.
        let first = &altered[10..11];
        let other = if first == "a" { "b" } else { "a" };
        altered.replace_range(10..11, other);
        let mut out = vec![
            ("PROMPT_TOKEN_ADDRESS_ALTERED".into(), altered),
            (
                "PROMPT_TOKEN_ADDRESS".into(),
                self.prompt_token_address.clone(),
            ),
            ("PROMPT_MESSAGE_ID".into(), self.prompt_message_id.clone()),
            (
                "FOLLOWUP_TOKEN_ADDRESS".into(),
                self.followup_token_address.clone(),
            ),
            (
                "FOLLOWUP_MESSAGE_ID".into(),
                self.followup_message_id.clone(),
            ),
            ("INVITE_MESSAGE_ID".into(), self.invite_message_id.clone()),
            ("UID".into(), self.uid.clone()),
            ("ALAN_ORGANIZER".into(), self.alan_organizer.clone()),
            ("GRACE_ORGANIZER".into(), self.grace_organizer.clone()),
        ];
        for n in 2..=5 {
            let prefix = if n == 2 {
                "MEETING".to_string()
            } else {
                format!("MEETING{n}")
            };
            let (_, start) = self.meetings[n - 1];
            let local = start.to_zoned_datetime(self.zone.clone());
            out.push((
                format!("{prefix}_LOCAL"),
                local.strftime("%Y%m%dT%H%M%S").to_string(),
            ));
            out.push((
                format!("{prefix}_UTC"),
                start.strftime("%Y%m%dT%H%M%SZ").to_string(),
            ));
            out.push((
                format!("{prefix}_DATE"),
                local.strftime("%Y%m%d").to_string(),
            ));
        }
        out
    }

    fn occurrence(&self, meeting: usize) -> String {
        self.meetings[meeting - 1].1.to_string()
    }
}

/// A corpus template with its placeholders filled and its `{{BASE64}}` blocks encoded.
fn fill(template: &[u8], sent: &Sent) -> Result<Vec<u8>, String> {
    let mut raw = template.to_vec();
    for (name, value) in sent.placeholders() {
        raw = replace(&raw, format!("{{{{{name}}}}}").as_bytes(), value.as_bytes());
    }
    let raw = encode_blocks(&raw)?;
    if let Some(at) = find(&raw, b"{{") {
        let end = (at + 40).min(raw.len());
        return Err(format!(
            "unknown placeholder: {}",
            String::from_utf8_lossy(&raw[at..end])
        ));
    }
    Ok(raw)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = find(rest, from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The lines between `{{BASE64}}` and `{{/BASE64}}` become base64 in 76-column lines, as
/// clients send attachments and Outlook its calendar part (a template can't hold
/// placeholders inside base64).
fn encode_blocks(raw: &[u8]) -> Result<Vec<u8>, String> {
    const OPEN: &[u8] = b"{{BASE64}}\r\n";
    const CLOSE: &[u8] = b"{{/BASE64}}\r\n";
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(at) = find(rest, OPEN) {
        out.extend_from_slice(&rest[..at]);
        let inner = &rest[at + OPEN.len()..];
        let end = find(inner, CLOSE).ok_or("{{BASE64}} without {{/BASE64}}")?;
        let encoded = base64(&inner[..end]);
        for chunk in encoded.as_bytes().chunks(76) {
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
        rest = &inner[end + CLOSE.len()..];
    }
    out.extend_from_slice(rest);
    Ok(out)
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The store's state, as far as inbound mail changes it.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct State {
    /// (pair, person, occurrence) → partstat.
    rsvps: BTreeMap<(String, String, String), String>,
    /// (pair, date, person).
    cancellations: BTreeSet<(String, String, String)>,
    /// address → (status, count).
    bounces: BTreeMap<String, (String, i64)>,
    /// (pair, occurrence, body), sorted.
    agendas: Vec<(String, String, String)>,
    action_items: Vec<(String, String, String)>,
    set_aside: usize,
}

async fn state(store: &Store) -> State {
    let epoch = Timestamp::UNIX_EPOCH;
    let replies = |list: Vec<mentord::store::Reply>| {
        let mut out: Vec<_> = list
            .into_iter()
            .map(|r| (r.pair, r.occurrence, r.body))
            .collect();
        out.sort();
        out
    };
    State {
        rsvps: store
            .rsvps()
            .await
            .unwrap()
            .into_iter()
            .map(|r| ((r.pair, r.person, r.occurrence), r.partstat))
            .collect(),
        cancellations: store
            .cancellations()
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.pair, c.date.to_string(), c.person))
            .collect(),
        bounces: store
            .bounces(epoch)
            .await
            .unwrap()
            .into_iter()
            .map(|b| (b.address, (b.status, b.count)))
            .collect(),
        agendas: replies(store.replies(InboundKind::Agenda, epoch).await.unwrap()),
        action_items: replies(
            store
                .replies(InboundKind::ActionItems, epoch)
                .await
                .unwrap(),
        ),
        set_aside: store.set_aside(10_000).await.unwrap().len(),
    }
}

impl State {
    fn with(&self, case: &Case, sent: &Sent) -> State {
        let mut next = self.clone();
        if matches!(case.expect, Expect::SetAside(_)) {
            next.set_aside += 1;
        }
        for effect in case.effects {
            match *effect {
                Effect::Rsvp {
                    person,
                    meeting,
                    partstat,
                } => {
                    let occurrence = meeting.map_or(String::new(), |m| sent.occurrence(m));
                    next.rsvps
                        .insert((PAIR.into(), person.into(), occurrence), partstat.into());
                }
                Effect::Cancelled { meeting, person } => {
                    next.cancellations.insert((
                        PAIR.into(),
                        sent.meetings[meeting - 1].0.to_string(),
                        person.into(),
                    ));
                }
                Effect::Bounce { address, status } => {
                    let count = next.bounces.get(address).map_or(0, |(_, c)| *c);
                    next.bounces
                        .insert(address.into(), (status.into(), count + 1));
                }
                Effect::Reply { kind, body } => {
                    let list = if kind == InboundKind::Agenda {
                        &mut next.agendas
                    } else {
                        &mut next.action_items
                    };
                    list.push((PAIR.into(), sent.occurrence(1), body.into()));
                    list.sort();
                }
            }
        }
        next
    }
}

/// What differs between two states, line by line.
fn difference(want: &State, got: &State) -> String {
    let (want, got) = (format!("{want:#?}"), format!("{got:#?}"));
    let mut out = String::new();
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for line in &w {
        if !g.contains(line) {
            let _ = writeln!(out, "    want {line}");
        }
    }
    for line in &g {
        if !w.contains(line) {
            let _ = writeln!(out, "    got  {line}");
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The run.

struct Setup {
    program: Program,
    store: Store,
    outbox: PathBuf,
}

async fn setup(dir: &Path, location: &Location, n: usize) -> Setup {
    let outbox = dir.join(format!("outbox-{n}"));
    let config = dir.join(format!("corpus-{n}.toml"));
    std::fs::write(&config, program_text(&outbox)).unwrap();
    let program = program::load(&config).unwrap();
    let start = RUN_FROM.parse().unwrap();
    let (mut daemon, store) =
        common::virtual_daemon::file_daemon(&config, location, &outbox, start).await;
    common::virtual_daemon::run(&mut daemon, start, RUN_UNTIL.parse().unwrap()).await;
    Setup {
        program,
        store,
        outbox,
    }
}

impl Setup {
    /// The one mail of `kind` to Alan: (Message-ID, Reply-To address, calendar text).
    fn sent_to_alan(&self, kind: &str) -> (String, Option<String>, String) {
        self.sent_to(kind, "alan@example.org")
    }

    /// The one mail of `kind` to `address`, as [`Setup::sent_to_alan`].
    fn sent_to(&self, kind: &str, address: &str) -> (String, Option<String>, String) {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.outbox).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with(&format!("{kind}-{PAIR}-")) {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let message = MessageParser::default().parse(&raw).unwrap();
            let to = message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap()
                .to_string();
            if to != address {
                continue;
            }
            let calendar = message
                .parts
                .iter()
                .filter_map(|p| p.text_contents())
                .find(|t| t.contains("BEGIN:VCALENDAR"))
                .unwrap_or_default()
                .replace("\r\n ", "");
            found.push((
                message.message_id().unwrap().to_string(),
                message
                    .reply_to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .map(str::to_string),
                calendar,
            ));
        }
        assert_eq!(found.len(), 1, "one {kind} to {address}: {found:?}");
        found.remove(0)
    }

    fn sent(&self) -> Sent {
        let (prompt_message_id, prompt_reply_to, _) = self.sent_to_alan("agenda_prompt");
        let (followup_message_id, followup_reply_to, _) = self.sent_to_alan("followup");
        let (invite_message_id, _, calendar) = self.sent_to_alan("invite");
        let (_, _, grace_calendar) = self.sent_to("invite", "grace@example.org");
        // Calendar clients answer the ORGANIZER of the copy they hold.
        let organizer = |calendar: &str| {
            calendar
                .lines()
                .find(|l| l.starts_with("ORGANIZER"))
                .and_then(|l| l.split_once("mailto:"))
                .map(|(_, address)| address.trim().to_string())
                .unwrap()
        };
        let uid = calendar
            .lines()
            .find_map(|l| l.strip_prefix("UID:"))
            .unwrap()
            .trim()
            .to_string();
        let pair = self.program.pair_by_id(PAIR).unwrap();
        let from: Timestamp = RUN_FROM.parse().unwrap();
        let until = from
            .checked_add(SignedDuration::from_hours(24 * 60))
            .unwrap();
        let meetings: Vec<_> =
            mentord::schedule::meetings(&self.program, pair, from, until).collect();
        assert!(meetings.len() >= 5, "{meetings:?}");
        Sent {
            prompt_token_address: prompt_reply_to.unwrap(),
            prompt_message_id,
            followup_token_address: followup_reply_to.unwrap(),
            followup_message_id,
            invite_message_id,
            alan_organizer: organizer(&calendar),
            grace_organizer: organizer(&grace_calendar),
            uid,
            meetings,
            zone: pair.meeting.zone.tz.clone(),
        }
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inbound/mail")
}

fn verdict_matches(expect: Expect, got: &Verdict) -> bool {
    match (expect, got) {
        (Expect::Used(want), Verdict::Used(kind)) | (Expect::Again(want), Verdict::Again(kind)) => {
            want == *kind
        }
        (Expect::SetAside(reason), Verdict::SetAside(why)) => why.contains(reason),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_mail_gets_its_verdict_and_effect() {
    let cases = cases();
    // Every corpus file is in the table, and every file the table names exists.
    let mut files: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    files.sort();
    let named: BTreeSet<&str> = cases
        .iter()
        .filter_map(|c| match c.mail {
            Mail::File(name) => Some(name),
            Mail::Generated(..) => None,
        })
        .collect();
    assert_eq!(
        files.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        named,
        "the table and tests/inbound/mail/ name different files"
    );

    let dir = tempfile::tempdir().unwrap();
    for (n, (location, _database)) in backends(dir.path()).into_iter().enumerate() {
        let backend = location.describe();
        let s = setup(dir.path(), &location, n).await;
        let sent = s.sent();
        let start: Timestamp = RUN_UNTIL.parse().unwrap();
        let mut failures = Vec::new();
        let mut report = String::new();
        for (i, case) in cases.iter().enumerate() {
            let name = case.mail.name();
            let raw = match case.mail {
                Mail::File(file) => {
                    let template = std::fs::read(corpus_dir().join(file)).unwrap();
                    match fill(&template, &sent) {
                        Ok(raw) => raw,
                        Err(e) => {
                            failures.push(format!("{name}: {e}"));
                            continue;
                        }
                    }
                }
                Mail::Generated(_, make) => make(&sent),
            };
            let now = start
                .checked_add(SignedDuration::from_mins(i as i64 + 1))
                .unwrap();
            let before = state(&s.store).await;
            let began = Instant::now();
            let taken = AssertUnwindSafe(take_in(&s.program, &s.store, &raw, Source::Pipe, now))
                .catch_unwind()
                .await;
            let took = began.elapsed();
            let verdict = match taken {
                Err(_) => {
                    failures.push(format!("{name}: take_in panicked"));
                    continue;
                }
                Ok(Err(e)) => {
                    failures.push(format!("{name}: take_in failed: {e:#}"));
                    continue;
                }
                Ok(Ok(verdict)) => verdict,
            };
            let _ = writeln!(report, "  {name:<36} {verdict:?} in {took:.2?}");
            if !verdict_matches(case.expect, &verdict) {
                failures.push(format!("{name}: want {:?}, got {verdict:?}", case.expect));
            }
            if let Some(limit) = case.within
                && took > limit
            {
                failures.push(format!("{name}: took {took:?}, more than {limit:?}"));
            }
            let after = state(&s.store).await;
            let want = before.with(case, &sent);
            if after != want {
                failures.push(format!(
                    "{name}: the store is not as expected:\n{}",
                    difference(&want, &after)
                ));
            }
        }
        eprintln!("{backend}:\n{report}");
        // Spelled out once more: the declined meetings (2nd, 4th) are cancelled, the
        // accepted and tentative ones (3rd, 5th) are not.
        let cancelled: BTreeSet<String> = s
            .store
            .cancellations()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.date.to_string())
            .collect();
        let dates = |list: &[usize]| -> BTreeSet<String> {
            list.iter()
                .map(|m| sent.meetings[m - 1].0.to_string())
                .collect()
        };
        if cancelled != dates(&[2, 4]) {
            failures.push(format!(
                "cancelled meetings: want {:?}, got {cancelled:?}",
                dates(&[2, 4])
            ));
        }
        assert!(
            failures.is_empty(),
            "{backend}: {} of {} corpus mails failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
        s.store.deregister().await.unwrap();
    }
}
