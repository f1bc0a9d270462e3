//! `simulate --answers FILE.jsonl` (SPEC §7): the people answer. Each line is turned,
//! at its time, into what a real client would send in answer to what mentord actually
//! sent — a reply to the message (to its Reply-To, with its token), an iTIP `REPLY` to
//! that person's own copy of the invite (to its `ORGANIZER`), a POST of the signed link
//! in their mail, a delivery report for the last message to them — and goes through the
//! same intake ([`crate::app::take_in`]) and use cases ([`crate::app`]) as live mail.
//!
//! ```json
//! {"at": "2027-02-08T09:00", "from": "alan", "answer": "agenda", "meeting": "2027-02-09", "text": "My promotion case."}
//! ```

use std::path::Path;

use anyhow::{Context as _, bail};
use jiff::Timestamp;
use jiff::civil::Date;
use mail_parser::{MessageParser, MimeHeaders as _};
use serde::Deserialize;

use crate::app::{self, Source, Verdict};
use crate::daemon::record::Sent;
use crate::program::{Pair, Person, Program};
use crate::store::Store;
use crate::vocab::MessageKind;
use crate::vocab::links::{Action, Signer};

/// The longest answer text taken from a line.
const MAX_TEXT: usize = 64 * 1024;
/// The most lines a file may hold.
const MAX_LINES: usize = 1_000_000;

/// The server a simulation's mail is vouched for by, when the program names none and
/// has no reply addresses: the answers prove their sender as a receiving server would.
pub const SIMULATED_SERVER: &str = "simulate.mentord.invalid";

/// What a line answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Agenda,
    ActionItems,
    Decline,
    CantMakeIt,
    Checkin,
    Bounce,
    ReviewHeld,
}

impl Kind {
    const NAMES: [(&'static str, Kind); 7] = [
        ("agenda", Kind::Agenda),
        ("action_items", Kind::ActionItems),
        ("decline", Kind::Decline),
        ("cant_make_it", Kind::CantMakeIt),
        ("checkin", Kind::Checkin),
        ("bounce", Kind::Bounce),
        ("review_held", Kind::ReviewHeld),
    ];

    fn about_a_meeting(self) -> bool {
        matches!(
            self,
            Kind::Agenda | Kind::ActionItems | Kind::Decline | Kind::CantMakeIt
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    at: String,
    from: String,
    answer: String,
    meeting: Option<String>,
    text: Option<String>,
    score: Option<u8>,
}

/// One answer, checked against the program.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Its line in the file, from 1.
    pub line: usize,
    pub at: Timestamp,
    pub person: String,
    pub kind: Kind,
    pub meeting: Option<Date>,
    pub text: String,
    pub score: Option<u8>,
}

/// Reads `path`: one JSON object a line (blank lines skipped), in time order (lines
/// with the same time keep their order). An error names the file and line.
pub fn read(path: &Path, program: &Program) -> anyhow::Result<Vec<Answer>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --answers {}", path.display()))?;
    let zone = &program.zone.tz;
    let mut answers = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        if answers.len() >= MAX_LINES {
            bail!("{}:{line}: more than {MAX_LINES} answers", path.display());
        }
        let at_line = |message: String| anyhow::anyhow!("{}:{line}: {message}", path.display());
        let parsed: Line = serde_json::from_str(raw).map_err(|e| {
            at_line(format!(
                "{e} (each line is one object: {{\"at\": \"2027-02-08T09:00\", \"from\": \"alan\", \"answer\": \"agenda\", \"meeting\": \"2027-02-09\", \"text\": \"…\"}})"
            ))
        })?;
        let kind = Kind::NAMES
            .iter()
            .find(|(name, _)| *name == parsed.answer)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::NAMES.iter().map(|(n, _)| *n).collect();
                at_line(format!(
                    "\"answer\": {:?} is not an answer; use one of {}",
                    parsed.answer,
                    names.join(", ")
                ))
            })?;
        let at = crate::clock::parse_instant(&parsed.at, zone)
            .map_err(|e| at_line(format!("\"at\": {e:#}")))?;
        if program.person_by_id(&parsed.from).is_none() {
            let hint = crate::diagnostic::closest(
                &parsed.from,
                program.people.iter().map(|p| p.id.as_str()),
            )
            .map(|s| format!("; did you mean {s:?}?"))
            .unwrap_or_default();
            return Err(at_line(format!(
                "\"from\": no person {:?} in the program{hint}",
                parsed.from
            )));
        }
        let meeting = match (&parsed.meeting, kind.about_a_meeting()) {
            (Some(date), _) => Some(date.parse::<Date>().map_err(|_| {
                at_line(format!(
                    "\"meeting\": {date:?} is not a date; write the meeting's local date, YYYY-MM-DD"
                ))
            })?),
            (None, true) => {
                return Err(at_line(format!(
                    "\"{}\" needs \"meeting\": the meeting's local date, YYYY-MM-DD",
                    parsed.answer
                )));
            }
            (None, false) => None,
        };
        let mut text = parsed.text.unwrap_or_default();
        if text.len() > MAX_TEXT {
            return Err(at_line(format!("\"text\" is longer than {MAX_TEXT} bytes")));
        }
        let score = match (kind, parsed.score) {
            (Kind::Checkin, Some(score)) if (1..=5).contains(&score) => Some(score),
            (Kind::Checkin, Some(score)) => {
                return Err(at_line(format!(
                    "\"score\": {score} is not a score; check-ins are answered 1 (very badly) to 5 (very well)"
                )));
            }
            (Kind::Checkin, None) => {
                return Err(at_line(
                    "\"checkin\" needs \"score\": 1 (very badly) to 5 (very well)".to_string(),
                ));
            }
            (_, Some(_)) => {
                return Err(at_line(
                    "\"score\" belongs to \"checkin\" answers only".to_string(),
                ));
            }
            (_, None) => None,
        };
        if matches!(kind, Kind::Agenda | Kind::ActionItems) && text.trim().is_empty() {
            text = match kind {
                Kind::Agenda => "Let us talk about my next steps.".to_string(),
                _ => "Follow up on what we discussed.".to_string(),
            };
        }
        answers.push(Answer {
            line,
            at,
            person: parsed.from,
            kind,
            meeting,
            text,
            score,
        });
    }
    answers.sort_by_key(|a| a.at);
    Ok(answers)
}

/// What became of an answer.
#[derive(Debug)]
pub enum Outcome {
    /// Taken in; in words, for the log.
    Done(String),
    /// mentord did not use it (set aside, or a use case said no), and why.
    NotUsed(String),
}

/// The pairs `person` is in, from the program's index ([`Program::pairs_of`]): an
/// answer does not walk every pair.
fn pairs_of<'p>(program: &'p Program, person: &Person) -> Vec<&'p Pair> {
    program
        .person_by_id(&person.id)
        .map(|index| {
            program
                .pairs_of(index)
                .iter()
                .map(|&p| &program.pairs[p])
                .collect()
        })
        .unwrap_or_default()
}

/// The latest message of one of `kinds` sent to `person` by now, about `meeting` (a
/// local date of the pair's zone) when given.
fn latest<'l>(
    program: &Program,
    log: &'l [Sent],
    person: &Person,
    kinds: &[MessageKind],
    meeting: Option<Date>,
) -> Option<&'l Sent> {
    let pairs = pairs_of(program, person);
    log.iter().rev().find(|sent| {
        kinds.contains(&sent.kind)
            && sent.recipient.eq_ignore_ascii_case(&person.email)
            && match meeting {
                None => true,
                Some(date) => {
                    let Some(pair) = sent
                        .pair
                        .as_deref()
                        .and_then(|id| pairs.iter().find(|p| p.id == id))
                    else {
                        return false;
                    };
                    sent.occurrence
                        .as_deref()
                        .and_then(|o| o.parse::<Timestamp>().ok())
                        .is_some_and(|start| pair.meeting.zone.tz.to_datetime(start).date() == date)
                }
            }
    })
}

/// What the client reads of a message mentord sent.
struct Original {
    message_id: String,
    subject: String,
    /// Where a reply goes: Reply-To, else From.
    reply_to: String,
    text: String,
    calendar: Option<String>,
}

fn original(sent: &Sent) -> anyhow::Result<Original> {
    let raw = std::fs::read(&sent.file)
        .with_context(|| format!("while reading {}", sent.file.display()))?;
    let message = MessageParser::default()
        .parse(&raw)
        .with_context(|| format!("{} is not a mail", sent.file.display()))?;
    let address = |list: Option<&mail_parser::Address<'_>>| {
        list.and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_string)
    };
    let reply_to = address(message.reply_to())
        .or_else(|| address(message.from()))
        .context("mentord's mail names no sender")?;
    let calendar = message.parts.iter().find_map(|part| {
        let content_type = part.content_type()?;
        (content_type.ctype().eq_ignore_ascii_case("text")
            && content_type
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("calendar")))
        .then(|| part.text_contents().map(str::to_string))
        .flatten()
    });
    Ok(Original {
        message_id: message.message_id().unwrap_or_default().to_string(),
        subject: message.subject().unwrap_or_default().to_string(),
        reply_to,
        text: message.body_text(0).unwrap_or_default().into_owned(),
        calendar,
    })
}

/// The headers every answer carries: who, when, its own Message-ID, and the receiving
/// server's word when the program trusts one.
fn headers(program: &Program, answer: &Answer, person: &Person, to: &str, subject: &str) -> String {
    let date = answer.at.strftime("%a, %d %b %Y %H:%M:%S +0000");
    let domain = person.email.rsplit('@').next().unwrap_or("example.org");
    let vouched = program
        .authserv_id
        .as_deref()
        .map(|server| {
            format!("Authentication-Results: {server}; dmarc=pass header.from={domain}\r\n")
        })
        .unwrap_or_default();
    format!(
        "{vouched}From: {} <{}>\r\nTo: {to}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <answer-{}-{}@{domain}>\r\nMIME-Version: 1.0\r\n",
        person.name.replace(['"', '\r', '\n'], ""),
        person.email,
        subject.replace(['\r', '\n'], " "),
        answer.line,
        answer.at.as_second(),
    )
}

/// A reply to `original` with `text` above the quoted original, as mail clients write it.
fn reply(program: &Program, answer: &Answer, person: &Person, original: &Original) -> Vec<u8> {
    let subject = if original.subject.to_lowercase().starts_with("re:") {
        original.subject.clone()
    } else {
        format!("Re: {}", original.subject)
    };
    let mut mail = headers(program, answer, person, &original.reply_to, &subject);
    mail.push_str(&format!(
        "In-Reply-To: {id}\r\nReferences: {id}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        id = angle(&original.message_id)
    ));
    for line in answer.text.lines() {
        mail.push_str(line);
        mail.push_str("\r\n");
    }
    mail.push_str(&format!(
        "\r\nOn an earlier day, {} wrote:\r\n",
        original.reply_to
    ));
    for line in original.text.lines().take(20) {
        mail.push_str("> ");
        mail.push_str(line);
        mail.push_str("\r\n");
    }
    mail.into_bytes()
}

fn angle(id: &str) -> String {
    if id.starts_with('<') {
        id.to_string()
    } else {
        format!("<{id}>")
    }
}

/// The value of `name` in an iCalendar text (unfolded), e.g. `UID`.
fn ics_value(ics: &str, name: &str) -> Option<String> {
    let unfolded = ics.replace("\r\n ", "").replace("\n ", "");
    unfolded.lines().find_map(|line| {
        let (head, value) = line.split_once(':')?;
        let key = head.split(';').next()?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

/// The iTIP `REPLY` declining the meeting at `start`, to the `ORGANIZER` of the
/// person's own copy of the invite.
fn decline(
    program: &Program,
    answer: &Answer,
    person: &Person,
    invite: &Original,
    start: Timestamp,
) -> anyhow::Result<Vec<u8>> {
    let ics = invite
        .calendar
        .as_deref()
        .context("the invite has no calendar part")?;
    let uid = ics_value(ics, "UID").context("the invite has no UID")?;
    let organizer = ics_value(ics, "ORGANIZER").context("the invite has no ORGANIZER")?;
    let sequence = ics_value(ics, "SEQUENCE").unwrap_or_else(|| "0".into());
    let organizer_address = organizer
        .strip_prefix("mailto:")
        .or_else(|| organizer.strip_prefix("MAILTO:"))
        .unwrap_or(&organizer)
        .to_string();
    let utc = |t: Timestamp| t.strftime("%Y%m%dT%H%M%SZ").to_string();
    let calendar = format!(
        "BEGIN:VCALENDAR\r\nPRODID:-//mentord simulate//answers//EN\r\nVERSION:2.0\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{stamp}\r\nRECURRENCE-ID:{start}\r\nDTSTART:{start}\r\nSEQUENCE:{sequence}\r\nORGANIZER:mailto:{organizer_address}\r\nATTENDEE;PARTSTAT=DECLINED:mailto:{email}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        stamp = utc(answer.at),
        start = utc(start),
        email = person.email,
    );
    let mut mail = headers(
        program,
        answer,
        person,
        &organizer_address,
        &format!("Declined: {}", invite.subject),
    );
    mail.push_str(
        "Content-Type: text/calendar; method=REPLY; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    );
    mail.push_str(&calendar);
    Ok(mail.into_bytes())
}

/// A hard delivery report (RFC 3464) for `original`, sent to `person`.
fn bounce(answer: &Answer, person: &Person, original: &Original) -> Vec<u8> {
    let domain = person.email.rsplit('@').next().unwrap_or("example.org");
    let boundary = format!("report-{}", answer.line);
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@{domain}>\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: {date}\r\nMessage-ID: <bounce-{line}-{stamp}@{domain}>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nYour message could not be delivered to {email}.\r\n\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.{domain}\r\n\r\nFinal-Recipient: rfc822; {email}\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <{email}>: user unknown\r\n\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {id}\r\nTo: {email}\r\nFrom: {to}\r\nSubject: {subject}\r\n\r\n--{boundary}--\r\n",
        to = original.reply_to,
        date = answer
            .at
            .strftime("%a, %d %b %Y %H:%M:%S +0000"),
        line = answer.line,
        stamp = answer.at.as_second(),
        email = person.email,
        id = angle(&original.message_id),
        subject = original.subject.replace(['\r', '\n'], " "),
    )
    .into_bytes()
}

/// The signed link for `action` in `original`, read as the person's browser would
/// follow it: its token checked by the program's signer.
fn link(
    signer: Option<&Signer>,
    original: &Original,
    action: Action,
    now: Timestamp,
) -> Option<crate::vocab::links::Claim> {
    let signer = signer?;
    let text = &original.text;
    text.match_indices("/a/").find_map(|(i, _)| {
        let token: String = text[i + 3..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        signer
            .verify(&token, now)
            .ok()
            .filter(|claim| claim.action == action)
    })
}

/// Answers `answer` at its time: builds what the person's client sends and takes it in.
/// `Err` for a line that answers nothing mentord sent (the caller names the line).
pub async fn answer(
    program: &Program,
    store: &Store,
    log: &[Sent],
    signer: Option<&Signer>,
    answer: &Answer,
) -> anyhow::Result<Outcome> {
    let person = program.person(
        program
            .person_by_id(&answer.person)
            .context("no such person")?,
    );
    let when = answer
        .meeting
        .map(|d| format!(" for the meeting on {d}"))
        .unwrap_or_default();
    let missing = |what: &str| {
        anyhow::anyhow!(
            "{} was sent no {what}{when} by {}: this answers nothing mentord sent",
            answer.person,
            answer.at
        )
    };
    let now = answer.at;
    let mail = match answer.kind {
        Kind::Agenda | Kind::ActionItems => {
            let (kind, what) = match answer.kind {
                Kind::Agenda => (MessageKind::AgendaPrompt, "agenda prompt"),
                _ => (MessageKind::Followup, "follow-up"),
            };
            let sent = latest(program, log, person, &[kind], answer.meeting)
                .ok_or_else(|| missing(what))?;
            reply(program, answer, person, &original(sent)?)
        }
        Kind::Checkin => {
            // A reply to their latest check-in whose first word is the score, the rest
            // the comment, as a person answers by mail.
            let sent = latest(program, log, person, &[MessageKind::Checkin], None)
                .ok_or_else(|| missing("check-in"))?;
            let score = answer.score.context("a check-in answer has a score")?;
            let scored = Answer {
                text: format!("{score} {}", answer.text).trim_end().to_string(),
                ..answer.clone()
            };
            reply(program, &scored, person, &original(sent)?)
        }
        Kind::Decline => {
            let date = answer.meeting.context("a decline names its meeting")?;
            let (pair, start) = pairs_of(program, person)
                .into_iter()
                .find_map(|pair| Some((pair, crate::schedule::meeting_on(program, pair, date)?)))
                .ok_or_else(|| missing("invite"))?;
            let invite = log
                .iter()
                .rev()
                .find(|s| {
                    matches!(s.kind, MessageKind::Invite | MessageKind::InviteUpdate)
                        && s.pair.as_deref() == Some(pair.id.as_str())
                        && s.recipient.eq_ignore_ascii_case(&person.email)
                })
                .ok_or_else(|| missing("invite"))?;
            decline(program, answer, person, &original(invite)?, start)?
        }
        Kind::Bounce => {
            let sent = log
                .iter()
                .rev()
                .find(|s| s.recipient.eq_ignore_ascii_case(&person.email))
                .ok_or_else(|| missing("mail"))?;
            bounce(answer, person, &original(sent)?)
        }
        Kind::CantMakeIt => {
            let sent = latest(
                program,
                log,
                person,
                &[MessageKind::AgendaPrompt, MessageKind::MentorReminder],
                answer.meeting,
            )
            .ok_or_else(|| missing("agenda prompt or reminder"))?;
            let start: Timestamp = sent
                .occurrence
                .as_deref()
                .and_then(|o| o.parse().ok())
                .context("the prompt names no meeting")?;
            let pair = sent
                .pair
                .as_deref()
                .and_then(|id| program.pair_by_id(id))
                .context("the prompt's pair is gone")?;
            // The button in the mail, when it has one; what that button does otherwise.
            let by = match link(signer, &original(sent)?, Action::CantMakeIt, now) {
                Some(claim) => claim.person,
                None => person.id.clone(),
            };
            let done = app::meeting::cancel(store, program, pair, start, &by, now).await?;
            return Ok(match done {
                app::meeting::Cancel::Cancelled { late } => Outcome::Done(format!(
                    "meeting of {} on {} cancelled{}",
                    pair.id,
                    answer.meeting.map(|d| d.to_string()).unwrap_or_default(),
                    if late { " (late)" } else { "" }
                )),
                other => Outcome::NotUsed(format!("can't make it: {other:?}")),
            });
        }
        Kind::ReviewHeld => {
            let sent = latest(program, log, person, &[MessageKind::ReviewNudge], None)
                .ok_or_else(|| missing("review nudge"))?;
            let pair = sent
                .pair
                .as_deref()
                .and_then(|id| program.pair_by_id(id))
                .context("the nudge's pair is gone")?;
            let due = link(signer, &original(sent)?, Action::ReviewDone, now)
                .and_then(|claim| claim.subject.parse::<Date>().ok());
            let today = program.zone.tz.to_datetime(now).date();
            let held = app::review::held(store, pair, today, due, today, now).await?;
            return Ok(match held {
                app::review::Held::Recorded { .. } => {
                    Outcome::Done(format!("review of {} held on {today}", pair.id))
                }
                other => Outcome::NotUsed(format!("review held: {other:?}")),
            });
        }
    };
    Ok(
        match app::take_in(program, store, &mail, Source::Pipe, now).await? {
            Verdict::Used(kind) | Verdict::Again(kind) => Outcome::Done(kind.name().to_string()),
            Verdict::SetAside(why) => Outcome::NotUsed(format!("set aside: {why}")),
        },
    )
}
