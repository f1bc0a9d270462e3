//! A kept mail as the coordinator reads it (`mentord inbox show`): its main headers,
//! its text (the text/plain body, else the HTML as text; nothing trimmed) and the names
//! of its attachments. Bounded: a kept mail may be 25 MB.

use mail_parser::{MessageParser, MimeHeaders};

/// The most text shown of one mail.
pub const MAX_SHOWN_TEXT: usize = 256 * 1024;

/// What `mentord inbox show` prints; outside text, still to be made inert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readable {
    /// `(name, value)` of From, To, Cc, Date, Subject, Message-ID, where present.
    pub headers: Vec<(&'static str, String)>,
    pub text: String,
    /// Whether the text was cut at [`MAX_SHOWN_TEXT`].
    pub cut: bool,
    pub attachments: Vec<String>,
}

/// Reads `raw` for a person, never failing.
pub fn readable(raw: &[u8]) -> Readable {
    let Some(message) = MessageParser::default().parse(raw) else {
        return Readable {
            text: String::from_utf8_lossy(&raw[..raw.len().min(MAX_SHOWN_TEXT)]).into_owned(),
            cut: raw.len() > MAX_SHOWN_TEXT,
            ..Readable::default()
        };
    };
    let addresses = |address: Option<&mail_parser::Address>| {
        address.map(|a| {
            a.iter()
                .take(50)
                .map(|m| match (&m.name, &m.address) {
                    (Some(name), Some(address)) => format!("{name} <{address}>"),
                    (None, Some(address)) => address.to_string(),
                    (Some(name), None) => name.to_string(),
                    (None, None) => String::new(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    let headers = [
        ("From", addresses(message.from())),
        ("To", addresses(message.to())),
        ("Cc", addresses(message.cc())),
        ("Date", message.date().map(|d| d.to_rfc3339())),
        ("Subject", message.subject().map(str::to_string)),
        (
            "Message-ID",
            message.message_id().map(|id| format!("<{id}>")),
        ),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.filter(|v| !v.is_empty()).map(|v| (name, v)))
    .collect();
    let mut text = super::body::whole_text(&message).unwrap_or_default();
    let cut = text.len() > MAX_SHOWN_TEXT;
    if cut {
        let mut end = MAX_SHOWN_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    let attachments = message
        .attachments()
        .take(100)
        .map(|part| {
            part.attachment_name()
                .unwrap_or("(no name)")
                .chars()
                .take(200)
                .collect()
        })
        .collect();
    Readable {
        headers,
        text,
        cut,
        attachments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_and_text() {
        let raw = b"From: Eve <eve@example.net>\r\nTo: mentoring@example.org\r\nSubject: Hello\r\n\
                    Message-ID: <m1@example.net>\r\n\r\nCan I join?\r\n> quoted\r\n";
        let mail = readable(raw);
        assert!(
            mail.headers
                .contains(&("From", "Eve <eve@example.net>".to_string()))
        );
        assert!(mail.headers.contains(&("Subject", "Hello".to_string())));
        // Nothing trimmed: the coordinator reads the whole mail.
        assert!(mail.text.contains("Can I join?") && mail.text.contains("> quoted"));
        assert!(!mail.cut);
    }

    #[test]
    fn garbage_is_shown_as_text() {
        let mail = readable(b"\xff\xfe not a mail");
        assert!(mail.headers.is_empty() || mail.text.contains("not a mail"));
    }
}
