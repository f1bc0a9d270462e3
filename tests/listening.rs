//! mentord listens (SPEC §5), through the daemon's own loop on a virtual clock over a
//! real store (SQLite, and PostgreSQL when `MENTORD_TEST_POSTGRES` is set) and the file
//! transport, with replies taken in by the same call `mentord deliver` makes:
//!
//! - a mentee answers the agenda prompt (through its Reply-To token): the mentor's
//!   reminder quotes the agenda; an agenda that comes after the reminder went out
//!   reaches the mentor in a short mail of its own;
//! - a follow-up answered with action items: the next prompt and reminder recall them;
//! - a meeting declined in the calendar (as Outlook sends it): both get the `CANCEL`
//!   with its `RECURRENCE-ID`, the one who can stay is told who can't make it, and that
//!   meeting's prompt, reminder and follow-up never go;
//! - a series declined, a bounce, mail set aside: in the coordinator's digest, sender
//!   and subject only, never what a pair wrote;
//! - the same mail twice is taken in once; a forged sender and an altered token are set
//!   aside; an out-of-office is recorded and never answered.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};

use common::postgres::backends;
use jiff::Timestamp;
use mail_parser::MessageParser;
use mentord::app::{Source, Verdict, take_in};
use mentord::daemon::Daemon;
use mentord::program::{self, Program};
use mentord::render::Templates;
use mentord::store::{InboundKind, Store};
use mentord::vocab::MessageKind;

/// Two pairs meeting weekly on Tuesdays at 10:00 UTC from 12 January 2027.
fn program_text(outbox: &Path) -> String {
    format!(
        r#"[program]
name = "Listening"
timezone = "UTC"
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

struct Setup {
    program: Program,
    store: Store,
    daemon: Daemon,
    outbox: PathBuf,
}

async fn setup(dir: &Path, location: &mentord::store::Location, start: Timestamp) -> Setup {
    setup_with(dir, location, start, "").await
}

/// With `extra` added to the program file.
async fn setup_with(
    dir: &Path,
    location: &mentord::store::Location,
    start: Timestamp,
    extra: &str,
) -> Setup {
    let outbox = dir.join(format!("outbox-{}", location.describe().len()));
    let config = dir.join(format!("listening-{}.toml", location.describe().len()));
    std::fs::write(&config, program_text(&outbox) + extra).unwrap();
    let program = program::load(&config).unwrap();
    let (daemon, store) =
        common::virtual_daemon::file_daemon(&config, location, &outbox, start).await;
    Setup {
        program,
        store,
        daemon,
        outbox,
    }
}

impl Setup {
    /// Runs the daemon's loop from `from` to `until` on a virtual clock.
    async fn run(&mut self, from: &str, until: &str) {
        common::virtual_daemon::run(
            &mut self.daemon,
            from.parse().unwrap(),
            until.parse().unwrap(),
        )
        .await;
    }

    async fn take(&self, raw: &str, at: &str) -> Verdict {
        take_in(
            &self.program,
            &self.store,
            raw.as_bytes(),
            Source::Pipe,
            at.parse().unwrap(),
        )
        .await
        .unwrap()
    }

    /// The mails of one kind (by file name) to one address, as (file, text of every part).
    fn mails(&self, kind: &str, to: &str) -> Vec<Mail> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.outbox) else {
            return out;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with(&format!("{kind}-")) {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let message = MessageParser::default().parse(&raw).unwrap();
            let address = message
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap()
                .to_string();
            if address != to {
                continue;
            }
            out.push(Mail {
                message_id: message.message_id().unwrap().to_string(),
                subject: message.subject().unwrap_or_default().to_string(),
                reply_to: message
                    .reply_to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .map(str::to_string),
                text: message
                    .body_text(0)
                    .unwrap_or_default()
                    .replace("\r\n", "\n"),
                html: message.body_html(0).unwrap_or_default().into_owned(),
                calendar: message
                    .parts
                    .iter()
                    .filter_map(|p| p.text_contents())
                    .find(|t| t.contains("BEGIN:VCALENDAR"))
                    .unwrap_or_default()
                    .replace("\r\n ", ""),
                raw: String::from_utf8_lossy(&raw).into_owned(),
            });
        }
        out
    }
}

#[derive(Debug)]
struct Mail {
    message_id: String,
    subject: String,
    reply_to: Option<String>,
    text: String,
    html: String,
    calendar: String,
    raw: String,
}

/// A reply as a mail client writes it: top-posted, the original quoted below.
fn reply(from: &str, to: &str, answers: &str, id: &str, text: &str) -> String {
    format!(
        "From: Someone <{from}>\r\nTo: {to}\r\nSubject: Re: your mail\r\nMessage-ID: <{id}>\r\n\
         In-Reply-To: <{answers}>\r\nReferences: <{answers}>\r\nDate: Mon, 11 Jan 2027 08:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\n\
         On Sun, 10 Jan 2027 at 10:00, Mentoring <mentoring@example.org> wrote:\r\n> Hello,\r\n> the prompt\r\n"
    )
}

/// A calendar reply as Outlook sends it: no ORGANIZER, the address in capitals; `to`
/// the ORGANIZER address of the sender's own copy of the invite, as clients answer.
fn decline(from: &str, to: &str, uid: &str, recurrence: Option<&str>, id: &str) -> String {
    let recurrence = recurrence
        .map(|r| format!("RECURRENCE-ID;TZID=UTC:{r}\r\n"))
        .unwrap_or_default();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Declined: Mentoring\r\nMessage-ID: <{id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nI can't make it.\r\n--b\r\n\
         Content-Type: text/calendar; charset=utf-8; method=REPLY\r\n\r\n\
         BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n\
         BEGIN:VEVENT\r\nATTENDEE;PARTSTAT=DECLINED:MAILTO:{upper}\r\n{recurrence}UID:{uid}\r\n\
         SUMMARY:Declined: Mentoring\r\nDTSTAMP:20270111T080000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n--b--\r\n",
        upper = from.to_uppercase()
    )
}

/// The address in a calendar object's ORGANIZER (lines unfolded).
fn organizer_of(calendar: &str) -> String {
    calendar
        .replace("\r\n ", "")
        .lines()
        .find(|l| l.starts_with("ORGANIZER"))
        .and_then(|l| l.split_once("mailto:"))
        .map(|(_, address)| address.trim().to_string())
        .unwrap()
}

/// `raw` as the receiving server hands it on when DMARC passed for example.org.
fn vouched(raw: &str) -> String {
    format!(
        "Authentication-Results: mx.example.org; dkim=pass header.d=example.org; dmarc=pass header.from=example.org\r\n{raw}"
    )
}

fn uid_of(calendar: &str) -> String {
    calendar
        .lines()
        .find_map(|l| l.strip_prefix("UID:"))
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_reach_the_pair_and_change_what_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in backends(dir.path()) {
        let backend = location.describe();
        let mut s = setup(
            dir.path(),
            &location,
            "2027-01-09T12:00:00Z".parse().unwrap(),
        )
        .await;
        // Saturday noon to Sunday noon: invites, and Sunday's agenda prompts.
        s.run("2027-01-09T12:00:00Z", "2027-01-10T12:00:00Z").await;
        let prompt = s.mails("agenda_prompt", "alan@example.org");
        assert_eq!(prompt.len(), 1, "{backend}: {prompt:?}");
        let prompt = &prompt[0];
        let reply_to = prompt.reply_to.clone().expect("a Reply-To on the prompt");
        assert!(
            reply_to.starts_with("mentoring+")
                && reply_to.len() == "mentoring+@example.org".len() + 20,
            "{reply_to}"
        );
        assert!(
            prompt.text.contains("reply above this line"),
            "{}",
            prompt.text
        );
        // No reply-to on calendar mail.
        let invite = &s.mails("invite", "alan@example.org")[0];
        assert!(invite.reply_to.is_none());

        // Alan sends his agenda by replying: the token names the prompt.
        let agenda = "1. The design review: *how* to prepare\n2. On-call <b>runbook</b> draft";
        let raw = reply(
            "alan@example.org",
            &reply_to,
            "nothing@example.org",
            "a1@example.org",
            agenda,
        );
        assert_eq!(
            s.take(&raw, "2027-01-10T13:00:00Z").await,
            Verdict::Used(InboundKind::Agenda)
        );
        // The same mail again (a mail server retrying) is taken in once.
        assert_eq!(
            s.take(&raw, "2027-01-10T13:01:00Z").await,
            Verdict::Again(InboundKind::Agenda)
        );

        // Monday 10:00: the reminders. Grace's quotes Alan's agenda, as written.
        s.run("2027-01-10T12:00:00Z", "2027-01-11T10:30:00Z").await;
        let reminder = s.mails("mentor_reminder", "grace@example.org");
        assert_eq!(reminder.len(), 1, "{backend}");
        assert!(
            reminder[0].text.contains(
                "1. The design review: *how* to prepare\n2. On-call <b>runbook</b> draft"
            ),
            "{backend}: {}",
            reminder[0].text
        );
        assert!(
            reminder[0]
                .html
                .contains("On-call &lt;b&gt;runbook&lt;/b&gt; draft"),
            "{}",
            reminder[0].html
        );
        // Margaret's has no agenda: Linus sent none yet.
        let margaret = s.mails("mentor_reminder", "margaret@example.org");
        assert!(
            margaret[0].text.contains("has not sent an agenda yet"),
            "{}",
            margaret[0].text
        );

        // Linus answers in the prompt's thread (no token: In-Reply-To) after the
        // reminder went, and the receiving server vouches for him (DMARC): Margaret gets
        // it in a mail of its own, before the meeting.
        let linus_prompt = &s.mails("agenda_prompt", "linus@example.org")[0];
        let raw = vouched(&reply(
            "Linus@Example.org",
            "mentoring@example.org",
            &linus_prompt.message_id,
            "l1@example.org",
            "Kernel maintainership, and saying no",
        ));
        assert_eq!(
            s.take(&raw, "2027-01-11T11:00:00Z").await,
            Verdict::Used(InboundKind::Agenda)
        );
        s.run("2027-01-11T11:00:00Z", "2027-01-11T11:05:00Z").await;
        let passed_on = s.mails("agenda", "margaret@example.org");
        assert_eq!(passed_on.len(), 1, "{backend}");
        assert!(
            passed_on[0]
                .text
                .contains("Kernel maintainership, and saying no")
        );
        assert!(
            passed_on[0].subject.contains("Linus Torvalds"),
            "{}",
            passed_on[0].subject
        );
        // Nobody else hears of an agenda.
        assert!(s.mails("agenda", "grace@example.org").is_empty());

        // Alan can't make the meeting of 19 January: he declines it in Outlook.
        let uid = uid_of(&invite.calendar);
        let raw = decline(
            "alan@example.org",
            &organizer_of(&invite.calendar),
            &uid,
            Some("20270119T100000"),
            "d1@example.org",
        );
        assert_eq!(
            s.take(&raw, "2027-01-12T12:00:00Z").await,
            Verdict::Used(InboundKind::Rsvp)
        );
        // Tuesday's follow-up: Alan replies with his action items.
        s.run("2027-01-11T11:05:00Z", "2027-01-12T13:00:00Z").await;
        let cancels: Vec<Mail> = ["alan@example.org", "grace@example.org"]
            .iter()
            .flat_map(|to| s.mails("occurrence_cancel", to))
            .collect();
        assert_eq!(cancels.len(), 2, "{backend}: {cancels:?}");
        for cancel in &cancels {
            assert!(
                cancel.calendar.contains("METHOD:CANCEL"),
                "{}",
                cancel.calendar
            );
            assert!(
                cancel
                    .calendar
                    .contains("RECURRENCE-ID;TZID=UTC:20270119T100000"),
                "{}",
                cancel.calendar
            );
            assert!(
                cancel.subject.contains("can't make it"),
                "{}",
                cancel.subject
            );
        }
        let to_grace = &s.mails("occurrence_cancel", "grace@example.org")[0];
        assert!(
            to_grace.text.contains("Alan Turing** can't make")
                || to_grace.text.contains("Alan Turing can't make"),
            "{}",
            to_grace.text
        );
        let followup = &s.mails("followup", "alan@example.org")[0];
        let raw = reply(
            "alan@example.org",
            followup.reply_to.as_deref().unwrap(),
            &followup.message_id,
            "f1@example.org",
            "- Draft the runbook outline\n- Ask Ken about the review",
        );
        assert_eq!(
            s.take(&raw, "2027-01-12T13:00:00Z").await,
            Verdict::Used(InboundKind::ActionItems)
        );

        // To 26 January: no prompt, reminder or follow-up for the 19th; the prompt and
        // reminder for the 26th recall the action items.
        s.run("2027-01-12T13:00:00Z", "2027-01-25T11:00:00Z").await;
        let prompts = s.mails("agenda_prompt", "alan@example.org");
        assert_eq!(
            prompts.len(),
            2,
            "{backend}: the 12th and the 26th, not the 19th"
        );
        let reminders = s.mails("mentor_reminder", "grace@example.org");
        assert_eq!(reminders.len(), 2, "{backend}");
        assert_eq!(
            s.mails("followup", "alan@example.org").len(),
            1,
            "{backend}"
        );
        for mail in prompts.iter().chain(&reminders) {
            if mail.text.contains("26 Jan") {
                assert!(
                    mail.text.contains("Draft the runbook outline"),
                    "{}",
                    mail.text
                );
                assert!(
                    mail.text.contains("Ask Ken about the review"),
                    "{}",
                    mail.text
                );
            }
        }
        assert!(
            prompts.iter().any(|m| m.text.contains("26 Jan")),
            "{prompts:?}"
        );

        // A stranger's mail is kept for the coordinator; a forged sender, an altered
        // token are set aside; an out-of-office is recorded.
        let stranger = reply(
            "mallory@example.net",
            &reply_to,
            "x@example.org",
            "m1@example.org",
            "hi",
        );
        assert_eq!(
            s.take(&stranger, "2027-01-25T11:00:00Z").await,
            Verdict::Used(InboundKind::Kept)
        );
        let mut altered = reply_to.clone();
        altered.replace_range(10..11, if &altered[10..11] == "a" { "b" } else { "a" });
        let forged = reply(
            "alan@example.org",
            &altered,
            "x@example.org",
            "m2@example.org",
            "hi",
        );
        assert!(matches!(
            s.take(&forged, "2027-01-25T11:00:00Z").await,
            Verdict::SetAside(_)
        ));
        let away = format!(
            "From: alan@example.org\r\nTo: {reply_to}\r\nSubject: Automatic reply: Agenda\r\n\
             Auto-Submitted: auto-replied\r\nMessage-ID: <ooo@example.org>\r\n\r\nI am away.\r\n"
        );
        assert_eq!(
            s.take(&away, "2027-01-25T11:00:00Z").await,
            Verdict::Used(InboundKind::AutoReply)
        );
        // Linus can't make tomorrow's meeting: late (inside cancel_notice, 24 h).
        let uid_b = uid_of(&s.mails("invite", "margaret@example.org")[0].calendar);
        let linus_invite = &s.mails("invite", "linus@example.org")[0].calendar;
        let margaret_invite = &s.mails("invite", "margaret@example.org")[0].calendar;
        let raw = decline(
            "linus@example.org",
            &organizer_of(linus_invite),
            &uid_b,
            Some("20270126T100000"),
            "d3@example.org",
        );
        assert_eq!(
            s.take(&raw, "2027-01-25T11:00:00Z").await,
            Verdict::Used(InboundKind::Rsvp)
        );
        // Margaret declines the whole series; Linus's address bounces.
        let raw = decline(
            "margaret@example.org",
            &organizer_of(margaret_invite),
            &uid_b,
            None,
            "d2@example.org",
        );
        assert_eq!(
            s.take(&raw, "2027-01-25T11:00:00Z").await,
            Verdict::Used(InboundKind::Rsvp)
        );
        // The report returns the headers of a mail mentord sent Linus.
        let returned = &s.mails("agenda_prompt", "linus@example.org")[0].message_id;
        let bounce = format!(
            "From: MAILER-DAEMON@example.org\r\nTo: mentoring@example.org\r\nSubject: Undelivered Mail\r\n\
            Message-ID: <b1@example.org>\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
            --r\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n\
            --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
            Final-Recipient: rfc822; linus@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\
            Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
            --r\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: mentoring@example.org\r\n\
            To: linus@example.org\r\nMessage-ID: <{returned}>\r\n\r\n--r--\r\n"
        );
        assert_eq!(
            s.take(&bounce, "2027-01-25T11:00:00Z").await,
            Verdict::Used(InboundKind::Bounce)
        );

        // Monday 1 February's digest lists them, and nothing a pair wrote.
        s.run("2027-01-25T11:00:00Z", "2027-02-01T09:00:00Z").await;
        let digests = s.mails("digest", "ada@example.org");
        let digest = digests
            .iter()
            .find(|d| d.subject.contains("1 Feb"))
            .unwrap_or_else(|| panic!("{digests:?}"));
        for expected in [
            "margaret-linus: Margaret Hamilton declined the series",
            "margaret-linus: Linus Torvalds can't make 2027-01-26",
            "linus@example.org (5.1.1",
            "mallory@example.net",
            "Re: your mail",
        ] {
            assert!(
                digest.text.contains(expected),
                "{backend}: {expected} in {}",
                digest.text
            );
        }
        for secret in ["runbook", "Kernel", "design review", "I am away"] {
            assert!(
                !digest.text.contains(secret),
                "{backend}: {secret} in the digest: {}",
                digest.text
            );
        }
        s.store.deregister().await.unwrap();
    }
}

/// One-click unsubscribe stops one kind for one person: Alan, who stopped agenda prompts,
/// gets none (they are recorded as not sent), and everything else still goes to him and
/// everyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsubscribed_kind_stops_for_that_person_only() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef-links\n").unwrap();
    let extra = format!(
        "\n[http]\npublic_url = \"https://mentoring.example.org\"\nsecret_file = \"{}\"\n",
        secret.display()
    );
    for (location, _database) in backends(dir.path()) {
        let backend = location.describe();
        let mut s = setup_with(
            dir.path(),
            &location,
            "2027-01-09T12:00:00Z".parse().unwrap(),
            &extra,
        )
        .await;
        assert!(
            s.store
                .unsubscribe(
                    "alan",
                    MessageKind::AgendaPrompt,
                    "2027-01-09T12:00:00Z".parse().unwrap()
                )
                .await
                .unwrap()
        );
        s.run("2027-01-09T12:00:00Z", "2027-01-27T00:00:00Z").await;
        assert!(
            s.mails("agenda_prompt", "alan@example.org").is_empty(),
            "{backend}"
        );
        assert_eq!(
            s.mails("agenda_prompt", "linus@example.org").len(),
            3,
            "{backend}"
        );
        assert_eq!(s.mails("invite", "alan@example.org").len(), 1, "{backend}");
        assert_eq!(
            s.mails("followup", "alan@example.org").len(),
            3,
            "{backend}"
        );
        assert_eq!(
            s.mails("mentor_reminder", "grace@example.org").len(),
            3,
            "{backend}"
        );
        // Linus's prompts carry RFC 8058's headers and the links.
        let prompt = &s.mails("agenda_prompt", "linus@example.org")[0];
        assert!(
            prompt.text.contains("https://mentoring.example.org/a/"),
            "{}",
            prompt.text
        );
        assert!(
            prompt.text.contains("https://mentoring.example.org/u/"),
            "{}",
            prompt.text
        );
        // Linus stops them by mail: the `mailto:` of List-Unsubscribe.
        let unfolded = prompt.raw.replace("\r\n ", " ").replace("\r\n\t", " ");
        let header = unfolded
            .lines()
            .find(|l| l.starts_with("List-Unsubscribe: "))
            .unwrap();
        let token = header
            .split("subject=unsubscribe%20")
            .nth(1)
            .unwrap()
            .trim_end_matches('>');
        let mail = format!(
            "From: linus@example.org\r\nTo: mentoring@example.org\r\nSubject: unsubscribe {token}\r\n\
             Message-ID: <u1@example.org>\r\n\r\n\r\n"
        );
        assert_eq!(
            s.take(&mail, "2027-01-27T00:00:00Z").await,
            Verdict::Used(InboundKind::Unsubscribe)
        );
        // Someone else cannot stop Linus's mail with his token.
        let forged = mail
            .replace("From: linus@", "From: alan@")
            .replace("<u1@", "<u2@");
        assert!(matches!(
            s.take(&forged, "2027-01-27T00:00:00Z").await,
            Verdict::SetAside(_)
        ));
        s.run("2027-01-27T00:00:00Z", "2027-02-10T00:00:00Z").await;
        assert_eq!(
            s.mails("agenda_prompt", "linus@example.org").len(),
            3,
            "{backend}"
        );
        assert_eq!(
            s.mails("mentor_reminder", "margaret@example.org").len(),
            5,
            "{backend}"
        );
        s.store.deregister().await.unwrap();
    }
}

/// A meeting declined stays cancelled when the series is sent again: a later change of
/// the file (here the location) re-sends the series with the declined date as an EXDATE,
/// never inviting to it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_never_brings_back_a_declined_meeting() {
    let dir = tempfile::tempdir().unwrap();
    let location = mentord::store::Location::Sqlite(dir.path().join("mentord.db"));
    let mut s = setup(
        dir.path(),
        &location,
        "2027-01-09T12:00:00Z".parse().unwrap(),
    )
    .await;
    s.run("2027-01-09T12:00:00Z", "2027-01-10T12:00:00Z").await;
    let invite = &s.mails("invite", "alan@example.org")[0];
    let raw = decline(
        "alan@example.org",
        &organizer_of(&invite.calendar),
        &uid_of(&invite.calendar),
        Some("20270119T100000"),
        "d9@example.org",
    );
    assert_eq!(
        s.take(&raw, "2027-01-10T12:00:00Z").await,
        Verdict::Used(InboundKind::Rsvp)
    );
    s.run("2027-01-10T12:00:00Z", "2027-01-10T13:00:00Z").await;
    assert_eq!(s.mails("occurrence_cancel", "alan@example.org").len(), 1);
    // The coordinator moves the meetings to another room.
    let config = dir.path().join("moved.toml");
    let text = program_text(&s.outbox).replace(
        "duration = \"45m\"",
        "duration = \"45m\"\nlocation = \"Room 2\"",
    );
    std::fs::write(&config, text).unwrap();
    s.daemon.replace_program(
        program::load(&config).unwrap(),
        Templates::load(None).unwrap(),
    );
    s.run("2027-01-10T13:00:00Z", "2027-01-10T14:00:00Z").await;
    let update = &s.mails("invite_update", "alan@example.org");
    assert_eq!(update.len(), 1, "{update:?}");
    assert!(
        update[0].calendar.contains("Room 2"),
        "{}",
        update[0].calendar
    );
    assert!(
        update[0]
            .calendar
            .contains("EXDATE;TZID=UTC:20270119T100000"),
        "{}",
        update[0].calendar
    );
    // And no prompt for the 19th ever.
    s.run("2027-01-10T14:00:00Z", "2027-01-20T00:00:00Z").await;
    assert_eq!(s.mails("agenda_prompt", "alan@example.org").len(), 1);
}

/// A mentor who stopped reminders still gets the mentee's agenda: in its own mail when
/// the agenda came before the reminder (which is not sent), and when it came after
/// (before, the first was quoted in a reminder nobody got, the second waited for a
/// reminder recorded as dropped: both were lost). And a subject with a NUL in it is set
/// aside on PostgreSQL too (before, the store refused it and the mail stopped every mail
/// behind it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_without_reminders_still_gets_the_agenda() {
    let dir = tempfile::tempdir().unwrap();
    for (location, _database) in backends(dir.path()) {
        let backend = location.describe();
        let mut s = setup(
            dir.path(),
            &location,
            "2027-01-09T12:00:00Z".parse().unwrap(),
        )
        .await;
        for mentor in ["margaret", "grace"] {
            s.store
                .unsubscribe(
                    mentor,
                    MessageKind::MentorReminder,
                    "2027-01-09T12:00:00Z".parse().unwrap(),
                )
                .await
                .unwrap();
        }
        s.run("2027-01-09T12:00:00Z", "2027-01-10T12:00:00Z").await;
        // Linus answers before the reminder's time, Alan after it.
        let linus = &s.mails("agenda_prompt", "linus@example.org")[0];
        let raw = reply(
            "linus@example.org",
            linus.reply_to.as_deref().unwrap(),
            &linus.message_id,
            "la@example.org",
            "Maintainership",
        );
        assert_eq!(
            s.take(&raw, "2027-01-10T12:00:00Z").await,
            Verdict::Used(InboundKind::Agenda)
        );
        s.run("2027-01-10T12:00:00Z", "2027-01-11T12:00:00Z").await;
        let alan = &s.mails("agenda_prompt", "alan@example.org")[0];
        let raw = reply(
            "alan@example.org",
            alan.reply_to.as_deref().unwrap(),
            &alan.message_id,
            "aa@example.org",
            "The runbook",
        );
        assert_eq!(
            s.take(&raw, "2027-01-11T12:00:00Z").await,
            Verdict::Used(InboundKind::Agenda)
        );
        s.run("2027-01-11T12:00:00Z", "2027-01-11T13:00:00Z").await;
        for (mentor, text) in [("margaret", "Maintainership"), ("grace", "The runbook")] {
            let to = format!("{mentor}@example.org");
            assert!(
                s.mails("mentor_reminder", &to).is_empty(),
                "{backend}: {mentor}"
            );
            let agenda = s.mails("agenda", &to);
            assert_eq!(agenda.len(), 1, "{backend}: {mentor}");
            assert!(agenda[0].text.contains(text), "{}", agenda[0].text);
        }
        let nul = "From: stranger@example.net\r\nTo: mentoring@example.org\r\n\
                   Subject: =?utf-8?q?a=00b?=\r\nMessage-ID: <nul@example.net>\r\n\r\nhello\r\n";
        // From outside the pairs, kept: the NUL in its subject stops nothing.
        assert_eq!(
            s.take(nul, "2027-01-11T13:00:00Z").await,
            Verdict::Used(InboundKind::Kept),
            "{backend}"
        );
        s.store.deregister().await.unwrap();
    }
}

/// Passing an agenda on (SPEC §5): after the mentor's reminder, the first new text goes
/// at once; more within the hour wait, and when the hour is over only the latest goes; a
/// text the mentor already has sends nothing; nothing goes once the meeting started.
/// (Issue 22, defect 3: every reply sent the mentor one more mail, 138 for a meeting.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mentor_gets_at_most_one_passed_on_agenda_an_hour() {
    let dir = tempfile::tempdir().unwrap();
    let location = mentord::store::Location::Sqlite(dir.path().join("mentord.db"));
    let mut s = setup(
        dir.path(),
        &location,
        "2027-01-09T12:00:00Z".parse().unwrap(),
    )
    .await;
    // Until Monday 10:30: the prompts, and Grace's reminder for Tuesday 10:00.
    s.run("2027-01-09T12:00:00Z", "2027-01-11T10:30:00Z").await;
    assert_eq!(s.mails("mentor_reminder", "grace@example.org").len(), 1);
    let reply_to = s.mails("agenda_prompt", "alan@example.org")[0]
        .reply_to
        .clone()
        .unwrap();
    let take = |n: usize, text: &'static str| {
        reply(
            "alan@example.org",
            &reply_to,
            "nothing@example.org",
            &format!("p{n}@example.org"),
            text,
        )
    };
    let passed_on = |s: &Setup| s.mails("agenda", "grace@example.org");
    assert_eq!(
        s.take(&take(1, "First thoughts"), "2027-01-11T10:30:00Z")
            .await,
        Verdict::Used(InboundKind::Agenda)
    );
    s.run("2027-01-11T10:30:00Z", "2027-01-11T10:35:00Z").await;
    assert_eq!(passed_on(&s).len(), 1);
    for (n, text) in [(2, "Second thoughts"), (3, "Third thoughts, final")] {
        s.take(&take(n, text), "2027-01-11T10:40:00Z").await;
    }
    s.run("2027-01-11T10:35:00Z", "2027-01-11T11:25:00Z").await;
    assert_eq!(passed_on(&s).len(), 1, "the others wait for the hour");
    s.run("2027-01-11T11:25:00Z", "2027-01-11T11:40:00Z").await;
    let mails = passed_on(&s);
    assert_eq!(mails.len(), 2, "the hour is over: the latest text goes");
    assert!(
        mails
            .iter()
            .any(|m| m.text.contains("Third thoughts, final")),
        "{mails:?}"
    );
    assert!(!mails.iter().any(|m| m.text.contains("Second thoughts")));
    // The same text again, two hours later: the mentor has it.
    s.take(&take(4, "Third thoughts, final"), "2027-01-11T13:40:00Z")
        .await;
    s.run("2027-01-11T11:40:00Z", "2027-01-11T14:00:00Z").await;
    assert_eq!(passed_on(&s).len(), 2, "a repeated text sends nothing");
    // After the meeting started: nothing.
    s.run("2027-01-11T14:00:00Z", "2027-01-12T10:05:00Z").await;
    s.take(&take(5, "Too late"), "2027-01-12T10:10:00Z").await;
    s.run("2027-01-12T10:10:00Z", "2027-01-12T11:00:00Z").await;
    assert_eq!(passed_on(&s).len(), 2);
    s.store.deregister().await.unwrap();
}
