//! From a mail's bytes to the facts mentord uses: who sent it, to which addresses, what
//! it answers (`In-Reply-To`, `References`), whether a machine wrote it (an auto-reply,
//! a delivery report), the calendar answers in it and the new text of a reply. Pure and
//! total: broken MIME, odd charsets and huge mail give an [`Incoming`] with less in it,
//! never an error. Linear and bounded: however many ids or addresses a mail lists, only
//! the few mentord can use are kept (a stranger's mail must not cost seconds per mail).

use std::collections::HashSet;

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MimeHeaders};
use ring::digest;

use super::{body, dsn, itip};

/// Mail larger than this is not parsed beyond its headers: it is set aside. As large as
/// the mail kept whole for the coordinator (docs/listening.md: up to 25 MB), so such a mail is
/// still read; parsing it takes a few times its size in memory, once per mail.
pub const MAX_PARSED: usize = 25 * 1024 * 1024;

/// The most `References` ids kept, newest first (after `In-Reply-To`): mentord looks for
/// its own Message-ID, which a client puts at the newest end.
const MAX_REFERENCES: usize = 100;

/// The most `In-Reply-To` ids kept: a client writes one.
const MAX_IN_REPLY_TO: usize = 8;

/// The most To/Cc addresses kept, in order, and as many of the envelope headers that
/// receiving servers add on top: mentord needs only its own reply address among them.
const MAX_RECIPIENTS: usize = 100;

/// The most calendar answers kept: a client answers one meeting or the series for one
/// attendee (a few, with a copy of each).
const MAX_CALENDAR_ANSWERS: usize = 100;

/// What one mail says, as far as mentord cares.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    /// Its `Message-ID` with angle brackets; for mail without one, a digest of its bytes
    /// (the same mail delivered twice is still one mail).
    pub message_id: String,
    /// The sender's address, lower case.
    pub from: Option<String>,
    pub subject: String,
    /// Every address it was delivered to, lower case: To, Cc, and the headers mail
    /// servers add for the envelope (Delivered-To, X-Original-To, Envelope-To).
    pub recipients: Vec<String>,
    /// `In-Reply-To`, then `References` from the newest, with angle brackets.
    pub answers: Vec<String>,
    /// Why it is an automatic reply (out of office, `Auto-Submitted`), if it is one.
    pub automatic: Option<String>,
    /// For a delivery report (RFC 3464): the recipients that failed.
    pub bounced: Option<Vec<dsn::Failed>>,
    /// Calendar answers (`METHOD:REPLY`).
    pub calendar: Vec<itip::Answer>,
    /// The new text of a reply: quotes, attributions and signatures removed.
    pub text: Option<String>,
    /// Why it is set aside whatever it answers: it could not be read whole (too large,
    /// no headers), it speaks for more than one person (more than one `From:` address),
    /// or it is a calendar message mentord does not take (COUNTER, REFRESH).
    pub problem: Option<String>,
}

/// Reads `raw`, never failing.
pub fn read(raw: &[u8]) -> Incoming {
    if raw.len() > MAX_PARSED {
        let head = &raw[..header_end(raw)];
        let mut incoming = read_parsed(head, false);
        incoming.problem = Some(format!(
            "too large to read ({} MB; mentord reads up to {} MB)",
            raw.len() / (1024 * 1024),
            MAX_PARSED / (1024 * 1024)
        ));
        if incoming.message_id.is_empty() {
            incoming.message_id = digest_id(raw);
        }
        return incoming;
    }
    let mut incoming = read_parsed(raw, true);
    if incoming.message_id.is_empty() {
        incoming.message_id = digest_id(raw);
    }
    incoming
}

/// The Message-ID [`read`] gives `raw`, from its headers alone (the hand-off keys its
/// queue by it without reading the body): the mail's own, else one from its bytes.
pub fn message_id_of(raw: &[u8]) -> String {
    let head = &raw[..header_end(raw)];
    let found = MessageParser::default()
        .parse_headers(head)
        .and_then(|message| {
            message
                .message_id()
                .map(|id| format!("<{}>", id.trim().trim_matches(['<', '>'])))
        })
        .unwrap_or_default();
    if found.is_empty() {
        digest_id(raw)
    } else {
        found
    }
}

fn read_parsed(raw: &[u8], with_body: bool) -> Incoming {
    let Some(message) = MessageParser::default().parse(raw) else {
        return Incoming {
            problem: Some("not a mail: no headers could be read".into()),
            ..Incoming::default()
        };
    };
    let mut incoming = Incoming {
        message_id: message
            .message_id()
            .map(|id| format!("<{}>", id.trim().trim_matches(['<', '>'])))
            .unwrap_or_default(),
        from: None,
        subject: message.subject().unwrap_or_default().to_string(),
        recipients: recipients(&message),
        answers: answers(&message),
        automatic: automatic(&message),
        ..Incoming::default()
    };
    let senders = senders(&message);
    incoming.from = senders.first;
    if incoming.from.is_none() {
        incoming.problem = Some("it has no sender (From)".into());
    } else if senders.count > 1 {
        incoming.problem = Some(format!(
            "it has more than one From: address ({}); a mail speaks for one person",
            senders.count
        ));
    }
    if with_body {
        incoming.bounced = bounced(&message);
        let (answers, refused) = calendar(&message);
        incoming.calendar = answers;
        if incoming.problem.is_none() {
            incoming.problem = refused;
        }
        if incoming.bounced.is_none() && incoming.automatic.is_none() {
            incoming.text = body::new_text(&message);
        }
    }
    incoming
}

/// Where the header block ends (or the first megabyte, if it does not end there).
pub(crate) fn header_end(raw: &[u8]) -> usize {
    let limit = raw.len().min(1024 * 1024);
    let head = &raw[..limit];
    head.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| head.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
        .unwrap_or(limit)
}

fn digest_id(raw: &[u8]) -> String {
    let digest = digest::digest(&digest::SHA256, raw);
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("<{hex}@no-message-id.mentord.invalid>")
}

/// The senders a mail names: every `From:` header counts, with every address in it
/// (mail_parser's `from()` gives only the last header, while DMARC judges the first).
struct Senders {
    /// The first address of the first `From:` header, lower case.
    first: Option<String>,
    /// How many addresses all `From:` headers hold together.
    count: usize,
}

fn senders(message: &Message<'_>) -> Senders {
    let mut senders = Senders {
        first: None,
        count: 0,
    };
    for header in message.headers() {
        if header.name != HeaderName::From {
            continue;
        }
        match header.value.as_address() {
            Some(list) => {
                for addr in list.iter() {
                    senders.count += 1;
                    if senders.first.is_none() {
                        senders.first = addr.address().map(|a| a.trim().to_ascii_lowercase());
                    }
                }
            }
            // A From: header that names nobody readable is still a sender given.
            None => senders.count += 1,
        }
    }
    senders
}

/// Addresses in order, each once, at most `limit` of them (lower case, without angle
/// brackets): a set beside the list keeps it linear however many a mail lists.
struct Bounded {
    list: Vec<String>,
    seen: HashSet<String>,
    limit: usize,
}

impl Bounded {
    fn new(limit: usize) -> Self {
        Bounded {
            list: Vec::new(),
            seen: HashSet::new(),
            limit,
        }
    }

    fn is_full(&self) -> bool {
        self.list.len() >= self.limit
    }

    fn push(&mut self, item: String) {
        if !self.is_full() && !item.is_empty() && self.seen.insert(item.clone()) {
            self.list.push(item);
        }
    }
}

fn recipients(message: &Message<'_>) -> Vec<String> {
    let clean = |address: &str| address.trim().trim_matches(['<', '>']).to_ascii_lowercase();
    let mut named = Bounded::new(MAX_RECIPIENTS);
    'lists: for list in message.all_to().chain(message.all_cc()) {
        for addr in list.iter() {
            if named.is_full() {
                break 'lists;
            }
            if let Some(address) = addr.address() {
                named.push(clean(address));
            }
        }
    }
    // Receiving servers put their envelope headers on top: the first ones are theirs.
    let mut envelope = Bounded::new(MAX_RECIPIENTS);
    let envelope_names = [
        "Delivered-To",
        "X-Original-To",
        "Envelope-To",
        "X-Envelope-To",
    ];
    'headers: for name in envelope_names {
        for value in message.header_values(name) {
            if envelope.is_full() {
                break 'headers;
            }
            if let Some(text) = value.as_text() {
                envelope.push(clean(text));
            } else if let Some(list) = value.as_address() {
                for address in list.iter().filter_map(|a| a.address()).take(MAX_RECIPIENTS) {
                    envelope.push(clean(address));
                }
            }
        }
    }
    let mut out = named.list;
    let seen = named.seen;
    out.extend(envelope.list.into_iter().filter(|a| !seen.contains(a)));
    out
}

/// Message ids of a header, in the order written, with angle brackets.
fn ids<'a>(value: &'a HeaderValue<'_>) -> Box<dyn DoubleEndedIterator<Item = String> + 'a> {
    let id = |text: &str| format!("<{}>", text.trim().trim_matches(['<', '>']));
    match value {
        HeaderValue::Text(text) => Box::new(std::iter::once(id(text))),
        HeaderValue::TextList(list) => Box::new(list.iter().map(move |t| id(t))),
        _ => Box::new(std::iter::empty()),
    }
}

/// `In-Reply-To`, then `References` from the newest, each once and bounded: only the
/// newest [`MAX_REFERENCES`] are looked at, so a mail with 300,000 ids costs no more
/// than one with a hundred.
fn answers(message: &Message<'_>) -> Vec<String> {
    let mut out = Bounded::new(MAX_IN_REPLY_TO + MAX_REFERENCES);
    let in_reply_to = ids(message.in_reply_to()).take(MAX_IN_REPLY_TO);
    let references = ids(message.references()).rev().take(MAX_REFERENCES);
    for id in in_reply_to.chain(references) {
        out.push(id);
    }
    out.list
}

/// RFC 3834's `Auto-Submitted`, and the headers and subjects responders use instead.
fn automatic(message: &Message<'_>) -> Option<String> {
    let header = |name: &str| {
        message
            .header(name)
            .and_then(HeaderValue::as_text)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if let Some(value) = header("Auto-Submitted")
        && !value.starts_with("no")
    {
        return Some(format!("Auto-Submitted: {value}"));
    }
    if let Some(value) = header("Precedence")
        && matches!(value.as_str(), "bulk" | "junk" | "list" | "auto_reply")
    {
        return Some(format!("Precedence: {value}"));
    }
    for name in ["X-Autoreply", "X-Autorespond", "X-Autoresponder"] {
        if header(name).is_some() {
            return Some(name.to_string());
        }
    }
    let subject = message.subject().unwrap_or_default().to_lowercase();
    const SUBJECTS: [&str; 8] = [
        "automatic reply:",
        "auto-reply:",
        "autoreply:",
        "out of office",
        "automatische antwort:",
        "abwesenheitsnotiz",
        "réponse automatique",
        "respuesta automática",
    ];
    SUBJECTS
        .iter()
        .find(|s| subject.starts_with(*s))
        .map(|s| format!("subject \"{s}\""))
}

/// The failed recipients, for a `multipart/report; report-type=delivery-status`.
fn bounced(message: &Message<'_>) -> Option<Vec<dsn::Failed>> {
    let root = message.content_type()?;
    let is_report = root.ctype().eq_ignore_ascii_case("multipart")
        && root
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && root
            .attribute("report-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"));
    if !is_report {
        return None;
    }
    let failed = message
        .parts
        .iter()
        .filter(|part| {
            part.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("message")
                    && ct.subtype().is_some_and(|s| {
                        s.eq_ignore_ascii_case("delivery-status")
                            || s.eq_ignore_ascii_case("global-delivery-status")
                    })
            })
        })
        .flat_map(|part| {
            let text = match part.text_contents() {
                Some(text) => text.to_string(),
                None => String::from_utf8_lossy(status_bytes(part)).into_owned(),
            };
            dsn::failed(&text)
        })
        .collect();
    Some(failed)
}

/// A `message/delivery-status` part's bytes: mail-parser may read it as a nested message
/// (its first block looks like headers); then its raw text is what we want.
fn status_bytes<'a>(part: &'a mail_parser::MessagePart<'_>) -> &'a [u8] {
    match &part.body {
        mail_parser::PartType::Message(inner) => inner.raw_message(),
        _ => part.contents(),
    }
}

/// Calendar answers from any `text/calendar` or `application/ics` part, each once and
/// at most [`MAX_CALENDAR_ANSWERS`]; and why the mail is set aside, when a part is a
/// calendar message mentord does not take.
fn calendar(message: &Message<'_>) -> (Vec<itip::Answer>, Option<String>) {
    let mut answers = Vec::new();
    let mut seen = HashSet::new();
    let mut refused = None;
    for part in message.parts.iter().filter(|part| {
        part.content_type().is_some_and(|ct| {
            let sub = ct.subtype().unwrap_or_default();
            (ct.ctype().eq_ignore_ascii_case("text") && sub.eq_ignore_ascii_case("calendar"))
                || (ct.ctype().eq_ignore_ascii_case("application")
                    && sub.eq_ignore_ascii_case("ics"))
        })
    }) {
        let text = match part.text_contents() {
            Some(text) => text.to_string(),
            None => String::from_utf8_lossy(part.contents()).into_owned(),
        };
        if refused.is_none() {
            refused = itip::refused(&text);
        }
        // The same object often comes twice: inline and as an attachment.
        for answer in itip::answers(&text) {
            if answers.len() >= MAX_CALENDAR_ANSWERS {
                break;
            }
            if seen.insert(answer.clone()) {
                answers.push(answer);
            }
        }
    }
    (answers, refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply deep in a long thread: mentord's Message-ID is the newest of thousands of
    /// `References`, and is still found, among a bounded few.
    #[test]
    fn the_newest_reference_is_kept_among_many() {
        let old: Vec<String> = (0..50_000).map(|i| format!("<old-{i}@x.org>")).collect();
        let raw = format!(
            "From: alan@example.org\r\nTo: mentoring@example.org\r\nIn-Reply-To: <answered@x.org>\r\n\
             References: {} <ours@mentord.example.org>\r\nSubject: Re\r\n\r\nHello\r\n",
            old.join(" ")
        );
        let incoming = read(raw.as_bytes());
        assert_eq!(incoming.answers[0], "<answered@x.org>");
        assert_eq!(incoming.answers[1], "<ours@mentord.example.org>");
        assert_eq!(incoming.answers[2], "<old-49999@x.org>");
        assert_eq!(incoming.answers.len(), 1 + MAX_REFERENCES);
    }

    /// Ids and addresses repeated are kept once, in order.
    #[test]
    fn repeats_are_kept_once() {
        let raw = "From: alan@example.org\r\nTo: A <a@x.org>, b@x.org, A@X.ORG\r\nCc: b@x.org\r\n\
                   Delivered-To: a@x.org\r\nDelivered-To: mentoring+t@x.org\r\n\
                   In-Reply-To: <one@x>\r\nReferences: <two@x> <one@x> <two@x>\r\n\r\nHi\r\n";
        let incoming = read(raw.as_bytes());
        assert_eq!(
            incoming.recipients,
            vec!["a@x.org", "b@x.org", "mentoring+t@x.org"]
        );
        assert_eq!(incoming.answers, vec!["<one@x>", "<two@x>"]);
    }

    /// Two `From:` headers, or one naming two people: the first address is the sender
    /// (as DMARC judges it), and the mail is set aside.
    #[test]
    fn more_than_one_sender_is_a_problem() {
        for head in [
            "From: mallory@evil.example\r\nFrom: alan@example.org\r\n",
            "From: mallory@evil.example, alan@example.org\r\n",
        ] {
            let raw = format!("{head}To: m@x.org\r\nSubject: Re\r\n\r\nHi\r\n");
            let incoming = read(raw.as_bytes());
            assert_eq!(incoming.from.as_deref(), Some("mallory@evil.example"));
            assert_eq!(
                incoming.problem.as_deref(),
                Some("it has more than one From: address (2); a mail speaks for one person")
            );
        }
        let one = read(b"From: Alan <ALAN@example.org>\r\nTo: m@x.org\r\n\r\nHi\r\n");
        assert_eq!(one.from.as_deref(), Some("alan@example.org"));
        assert_eq!(one.problem, None);
    }
}
