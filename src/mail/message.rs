//! One outgoing message and its RFC 5322 / MIME form.
//!
//! Layout (the one every major client reads as an invite, see the issue's notes):
//!
//! ```text
//! multipart/mixed
//! ├── multipart/alternative
//! │   ├── text/plain; charset=utf-8            (quoted-printable)
//! │   ├── text/html; charset=utf-8             (quoted-printable)
//! │   └── text/calendar; method=REQUEST; charset=UTF-8   (base64)
//! └── application/ics; name=invite.ics         (attachment, base64)
//! ```
//!
//! Mail without a calendar part is just the `multipart/alternative`. The calendar part's
//! `method` always equals the object's `METHOD` (Outlook refuses a mismatch), it is
//! base64-encoded (quoted-printable was seen to lose CRLFs), and it is never `inline`
//! with a Content-ID (Thunderbird then shows no invite). Every body is normalised to
//! CRLF before encoding, so no bare LF and no lone dot can reach the SMTP DATA stream.

use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use jiff::Timestamp;
use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue, Headers,
};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};

use super::header;
use crate::ics::Method;

/// A mail's subject and body as its template rendered them ([`crate::render`]): the
/// text/plain part and the text/html part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The calendar object a message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub method: Method,
    pub uid: String,
    pub sequence: u32,
    pub ics: String,
    /// The token in this copy's `ORGANIZER` address (a personal series): the store
    /// finds the copy by it when the calendar answers.
    pub organizer_token: Option<String>,
}

/// A message ready to be written or sent.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Kind, pair, occurrence, sequence, recipient: unique per message.
    pub key: crate::vocab::DeliveryKey,
    pub message_id: String,
    pub from: crate::program::Mailbox,
    /// One recipient: a mail never shows one person's address to another pair.
    pub to: crate::program::Mailbox,
    pub date: Timestamp,
    pub body: Rendered,
    pub calendar: Option<Calendar>,
    /// Where replies go, when mentord reads them (`[mail] reply_to`).
    pub reply_to: Option<ReplyTo>,
    /// For optional mail with `[http] public_url`: the one-click unsubscribe link (RFC
    /// 8058) and a `mailto:` alternative, as `List-Unsubscribe` gives them.
    pub unsubscribe: Option<Unsubscribe>,
}

/// `List-Unsubscribe: <https://…/u/TOKEN>, <mailto:…>` and `List-Unsubscribe-Post:
/// List-Unsubscribe=One-Click`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub https: String,
    pub mailto: String,
}

/// A header whose value is ASCII written by mentord itself (URLs, a fixed phrase).
#[derive(Debug, Clone)]
struct Raw(&'static str, String);

impl Raw {
    fn header(&self) -> HeaderValue {
        HeaderValue::new(HeaderName::new_from_ascii_str(self.0), self.1.clone())
    }
}

/// A Reply-To address and the token in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    pub address: String,
    pub token: String,
}

/// `Auto-Submitted: auto-generated` (RFC 3834): vacation responders stay quiet.
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

/// Gives header `name` the encoded value `encoded`, keeping its place and raw value.
fn replace(headers: &mut Headers, name: &'static str, encoded: String) {
    let raw = headers.get_raw(name).unwrap_or_default().to_string();
    headers.insert_raw(HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str(name),
        raw,
        encoded,
    ));
}

/// Every line ending as CRLF.
pub fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    for line in text.split_inclusive('\n') {
        let line = line.trim_end_matches(['\n', '\r']);
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

/// `text` with CRLF line endings, encoded: the bytes lettre's
/// `Body::new_with_encoding` makes, without its passes over the text to choose an
/// encoding (both of these accept any content) and to find bare line feeds (`crlf`
/// left none). Composing is most of a first start's work.
fn encoded(text: &str, encoding: ContentTransferEncoding) -> Body {
    let normalised = crlf(text);
    match encoding {
        ContentTransferEncoding::QuotedPrintable => {
            Body::dangerous_pre_encoded(quoted_printable::encode(normalised), encoding)
        }
        ContentTransferEncoding::Base64 => {
            use email_encoding::body::base64;
            let mut out = String::with_capacity(base64::encoded_len(normalised.len()));
            match base64::encode(normalised.as_bytes(), &mut out) {
                Ok(()) => Body::dangerous_pre_encoded(out.into_bytes(), encoding),
                Err(_) => Body::new(normalised),
            }
        }
        _ => Body::new_with_encoding(normalised.clone(), encoding)
            .unwrap_or_else(|_| Body::new(normalised)),
    }
}

impl Outgoing {
    /// A MIME boundary derived from the Message-ID, so the same message is the same
    /// bytes whoever composes it (the daemon, `simulate`, a second daemon). `=_` cannot
    /// occur in quoted-printable or base64 text, so no part can contain it.
    fn boundary(&self, part: &str) -> String {
        let digest = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("{part}\n{}", self.message_id).as_bytes(),
        );
        format!("=_{part}_{}", digest.simple())
    }

    /// The message in RFC 5322 form, as written to an `.eml` file or sent.
    pub fn to_eml(&self) -> anyhow::Result<Vec<u8>> {
        // lettre keeps these as the headers' raw values; a line break in a name would make
        // it panic (its Display fails), so it gets the one-line text the headers show.
        let mailbox = |mailbox: &crate::program::Mailbox| -> anyhow::Result<Mailbox> {
            let email = &mailbox.email;
            Ok(Mailbox::new(
                Some(header::one_line(&mailbox.name)),
                email
                    .parse()
                    .with_context(|| format!("address {email:?}"))?,
            ))
        };
        let date =
            SystemTime::UNIX_EPOCH + Duration::from_secs(self.date.as_second().max(0) as u64);
        let builder = lettre::Message::builder()
            .from(mailbox(&self.from)?)
            .to(mailbox(&self.to)?)
            .subject(header::one_line(&self.body.subject))
            .date(date)
            .message_id(Some(self.message_id.clone()))
            .header(AutoSubmitted);
        let builder = match &self.reply_to {
            Some(reply_to) => builder.reply_to(Mailbox::new(
                Some(header::one_line(&self.from.name)),
                reply_to
                    .address
                    .parse()
                    .with_context(|| format!("reply address {:?}", reply_to.address))?,
            )),
            None => builder,
        };
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(encoded(
                &self.body.text,
                ContentTransferEncoding::QuotedPrintable,
            ));
        let html = SinglePart::builder()
            .header(ContentType::TEXT_HTML)
            .body(encoded(
                &self.body.html,
                ContentTransferEncoding::QuotedPrintable,
            ));
        let mut alternative = MultiPart::alternative()
            .boundary(self.boundary("alt"))
            .singlepart(text)
            .singlepart(html);
        let mut message = match &self.calendar {
            None => builder.multipart(alternative),
            Some(calendar) => {
                let method = calendar.method.as_str();
                let content_type =
                    ContentType::parse(&format!("text/calendar; method={method}; charset=UTF-8"))
                        .context("calendar content type")?;
                // The same calendar twice: inline for the clients that read it there,
                // attached for the others.
                let ics = encoded(&calendar.ics, ContentTransferEncoding::Base64);
                alternative = alternative
                    .singlepart(SinglePart::builder().header(content_type).body(ics.clone()));
                let attachment_type = ContentType::parse("application/ics; name=\"invite.ics\"")
                    .context("attachment content type")?;
                let attachment = Attachment::new("invite.ics".into()).body(ics, attachment_type);
                builder.multipart(
                    MultiPart::mixed()
                        .boundary(self.boundary("mix"))
                        .multipart(alternative)
                        .singlepart(attachment),
                )
            }
        }
        .context("while building the message")?;
        // lettre built the envelope from these; their text is now written so that it reads
        // back literally and folds (see `header`).
        let headers = message.headers_mut();
        let subject = header::unstructured("Subject", &self.body.subject);
        replace(headers, "Subject", subject);
        let from = header::mailbox("From", &self.from.name, &self.from.email);
        replace(headers, "From", from);
        let to = header::mailbox("To", &self.to.name, &self.to.email);
        replace(headers, "To", to);
        if let Some(reply_to) = &self.reply_to {
            let value = header::mailbox("Reply-To", &self.from.name, &reply_to.address);
            replace(headers, "Reply-To", value);
        }
        if let Some(unsubscribe) = &self.unsubscribe {
            headers.insert_raw(
                Raw(
                    "List-Unsubscribe",
                    format!("<{}>, <{}>", unsubscribe.https, unsubscribe.mailto),
                )
                .header(),
            );
            headers.insert_raw(
                Raw("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()).header(),
            );
        }
        Ok(message.formatted())
    }
}

#[cfg(test)]
mod tests {
    use lettre::message::Body;
    use lettre::message::header::ContentTransferEncoding;

    use super::{crlf, encoded};

    /// `encoded` skips lettre's passes, not its bytes: a message composed again (by
    /// another daemon, by `simulate`) must be the same message.
    #[test]
    fn bodies_are_encoded_as_lettre_encodes_them() {
        let long = "word ".repeat(40);
        let texts = [
            "",
            "one line",
            "Hi Ada,\n\nyour next meeting is on Tue 12 Jan.\n",
            "trailing space \nand tab\t\r\nand a lone\rCR\n",
            "Zoë and Jürgen = «déjà vu» – 東京 🙂\n",
            long.as_str(),
            "BEGIN:VCALENDAR\r\nDESCRIPTION:a very long line that a calendar folds but base64 does not care about at all, none of it\r\nEND:VCALENDAR\r\n",
            ".\n..leading dots\n",
        ];
        for text in texts {
            for encoding in [
                ContentTransferEncoding::QuotedPrintable,
                ContentTransferEncoding::Base64,
            ] {
                let lettre = Body::new_with_encoding(crlf(text), encoding).expect("encodes");
                let ours = encoded(text, encoding);
                assert_eq!(ours.encoding(), lettre.encoding());
                assert_eq!(
                    String::from_utf8_lossy(ours.as_ref()),
                    String::from_utf8_lossy(lettre.as_ref()),
                    "{encoding:?} of {text:?}"
                );
            }
        }
    }
}
