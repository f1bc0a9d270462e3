//! Whether the receiving mail server vouches for a mail's sender: its
//! `Authentication-Results` header (RFC 8601) with `dmarc=pass` for the `From:` domain.
//!
//! Only the server named by `[inbound] authserv_id` is trusted, and only the topmost
//! header carrying its name: that server adds its header above everything the mail
//! brought, and a well-run one removes headers that claim its name on the way in (RFC
//! 8601 §5). A forger can write any header below it; none of them is read. Pure, linear
//! in the header section, never failing.

/// Whether the topmost `Authentication-Results` of `authserv_id` in `raw`'s headers says
/// `dmarc=pass` for `from_domain` (compared without case; a result that names no
/// `header.from` is about the `From:` domain by definition, RFC 7489 §11.2).
pub fn dmarc_pass(raw: &[u8], authserv_id: &str, from_domain: &str) -> bool {
    let head = &raw[..super::read::header_end(raw)];
    let Some(value) = super::dsn::fields(&String::from_utf8_lossy(head))
        .into_iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("authentication-results"))
        .map(|(_, value)| without_comments(&value))
        .find(|value| serving(value).is_some_and(|id| id.eq_ignore_ascii_case(authserv_id)))
    else {
        return false;
    };
    value.split(';').skip(1).any(|result| {
        let mut words = result.split_whitespace();
        let passed =
            words
                .next()
                .and_then(|w| w.split_once('='))
                .is_some_and(|(method, verdict)| {
                    method.eq_ignore_ascii_case("dmarc") && verdict.eq_ignore_ascii_case("pass")
                });
        let about = words
            .filter_map(|w| w.split_once('='))
            .find(|(property, _)| property.eq_ignore_ascii_case("header.from"))
            .map(|(_, domain)| domain.trim_matches('"'));
        passed && about.is_none_or(|domain| domain.eq_ignore_ascii_case(from_domain))
    })
}

/// The authserv-id an `Authentication-Results` value starts with (a version may follow).
fn serving(value: &str) -> Option<&str> {
    value.split(';').next()?.split_whitespace().next()
}

/// `value` without RFC 5322 comments (parentheses, nested, with `\` escapes), which
/// may hold anything, a `dmarc=pass` included.
fn without_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let (mut depth, mut escaped) = (0usize, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if depth > 0 => escaped = true,
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str) -> Vec<u8> {
        format!("{headers}From: Alan <alan@example.org>\r\nSubject: hi\r\n\r\nbody\r\n")
            .into_bytes()
    }

    #[test]
    fn the_trusted_servers_topmost_verdict_counts() {
        let cases = [
            (
                "Authentication-Results: mx.example.org;\r\n dkim=pass header.d=example.org;\r\n dmarc=pass (p=reject) header.from=example.org\r\n",
                true,
            ),
            // A version after the authserv-id, and no header.from.
            (
                "Authentication-Results: MX.example.org 1; dmarc=pass\r\n",
                true,
            ),
            // Another server's word is not ours to trust.
            (
                "Authentication-Results: mx.elsewhere.example; dmarc=pass header.from=example.org\r\n",
                false,
            ),
            // Failed, or about another domain.
            (
                "Authentication-Results: mx.example.org; dmarc=fail header.from=example.org\r\n",
                false,
            ),
            (
                "Authentication-Results: mx.example.org; dmarc=pass header.from=forger.example\r\n",
                false,
            ),
            // A pass inside a comment is no pass.
            (
                "Authentication-Results: mx.example.org; dmarc=none (dmarc=pass) header.from=example.org\r\n",
                false,
            ),
            // The forger's header sits below the server's own: the topmost one decides.
            (
                "Authentication-Results: mx.example.org; dmarc=fail header.from=example.org\r\n\
                 Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n",
                false,
            ),
            ("", false),
        ];
        for (headers, expected) in cases {
            assert_eq!(
                dmarc_pass(&mail(headers), "mx.example.org", "example.org"),
                expected,
                "{headers}"
            );
        }
    }
}
