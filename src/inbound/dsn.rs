//! Delivery status notifications (RFC 3464): which addresses a report says failed.
//! A report is a `multipart/report; report-type=delivery-status` whose
//! `message/delivery-status` part holds one block of fields for the message and one per
//! recipient (`Final-Recipient`, `Action`, `Status`, `Diagnostic-Code`).

/// A recipient the report says mail could not reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// Lower case.
    pub address: String,
    /// `5.1.1 (smtp; 550 5.1.1 user unknown)`: the status and the server's words.
    pub status: String,
}

/// The most failed recipients read from one report: mentord sends each message to one
/// person, so a report about its mail names one or a few; the rest of a report naming
/// hundreds of thousands (each then looked up among the program's people) is left.
const MAX_FAILED: usize = 100;

/// The failed recipients in a `message/delivery-status` body, at most [`MAX_FAILED`].
/// `delayed`, `delivered`, `relayed` and `expanded` recipients are not failures.
pub fn failed(status_part: &str) -> Vec<Failed> {
    let mut out = Vec::new();
    // Blocks are separated by blank lines; the first is about the message.
    let text = status_part.replace("\r\n", "\n");
    for block in text.split("\n\n") {
        let fields = fields(block);
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let Some(action) = get("Action") else {
            continue;
        };
        if !action.trim().eq_ignore_ascii_case("failed") {
            continue;
        }
        let Some(recipient) = get("Final-Recipient").or_else(|| get("Original-Recipient")) else {
            continue;
        };
        // `rfc822; someone@example.org`
        let address = recipient
            .split_once(';')
            .map_or(recipient, |(_, a)| a)
            .trim()
            .trim_matches(['<', '>'])
            .to_ascii_lowercase();
        if !address.contains('@') {
            continue;
        }
        let mut status = get("Status").unwrap_or("5.0.0").trim().to_string();
        if let Some(diagnostic) = get("Diagnostic-Code") {
            status = format!("{status} ({})", diagnostic.trim());
        }
        out.push(Failed {
            address,
            status: status.chars().take(300).collect(),
        });
        if out.len() == MAX_FAILED {
            break;
        }
    }
    out
}

/// The `Message-ID`s of the message a report returns (its `message/rfc822` or
/// `text/rfc822-headers` part): every `Message-ID:` line in `raw` after its own header,
/// at most [`MAX_RETURNED`], read from the first [`RETURNED_SCAN`] bytes. What proves
/// that a report is about mail mentord sent.
pub fn returned_message_ids(raw: &[u8], header_end: usize) -> Vec<String> {
    let body = &raw[header_end.min(raw.len())..];
    let body = &body[..body.len().min(RETURNED_SCAN)];
    let mut out = Vec::new();
    for line in body.split(|&b| b == b'\n') {
        let Some((name, value)) = line
            .iter()
            .position(|&b| b == b':')
            .map(|i| line.split_at(i))
        else {
            continue;
        };
        if !name.trim_ascii().eq_ignore_ascii_case(b"message-id") {
            continue;
        }
        let value = String::from_utf8_lossy(&value[1..]);
        let id = value.trim().trim_matches(['<', '>']);
        if !id.is_empty() && id.len() <= 250 {
            let id = format!("<{id}>");
            if !out.contains(&id) {
                out.push(id);
            }
        }
        if out.len() == MAX_RETURNED {
            break;
        }
    }
    out
}

/// How many returned Message-IDs a report is searched by, and how far into it.
pub const MAX_RETURNED: usize = 8;
pub const RETURNED_SCAN: usize = 1024 * 1024;

/// `Name: value` fields, continuation lines joined: a report's blocks, and a mail's
/// header section (where `Authentication-Results` is read).
pub(super) fn fields(block: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_postfix_report() {
        let report = "Reporting-MTA: dns; mail.example.org\r\nX-Postfix-Queue-ID: 4A1B2\r\n\
            Arrival-Date: Tue, 12 Jan 2027 09:00:01 +0100 (CET)\r\n\r\n\
            Final-Recipient: rfc822; Alan@Example.org\r\nOriginal-Recipient: rfc822;alan@example.org\r\n\
            Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.example.org\r\n\
            Diagnostic-Code: smtp; 550 5.1.1 <alan@example.org>: Recipient address\r\n rejected: User unknown\r\n";
        assert_eq!(
            failed(report),
            vec![Failed {
                address: "alan@example.org".into(),
                status: "5.1.1 (smtp; 550 5.1.1 <alan@example.org>: Recipient address rejected: User unknown)".into(),
            }]
        );
    }

    #[test]
    fn a_delay_is_not_a_bounce() {
        let report = "Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b.org\nAction: delayed\nStatus: 4.4.1\n";
        assert!(failed(report).is_empty());
    }

    #[test]
    fn a_report_naming_thousands_gives_a_few() {
        let block = |i: usize| format!("Final-Recipient: rfc822; p{i}@b.org\nAction: failed\n");
        let report: Vec<String> = (0..50_000).map(block).collect();
        let report = format!("Reporting-MTA: dns; x\n\n{}", report.join("\n"));
        let got = failed(&report);
        assert_eq!(got.len(), MAX_FAILED);
        assert_eq!(got[0].address, "p0@b.org");
    }
}
