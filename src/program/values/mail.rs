//! What mail is sent with: a plain email address, the `[mail] reply_to` pattern with its
//! `{token}`, and the `[mail] rate` (a pace and a rolling day's budget).

use super::text::hidden;
use crate::diagnostic::{ValueError, invalid};

/// `[mail] rate`: a pace (`"10/s"`, `"300/m"`, `"5000/h"`) and a rolling day's budget
/// (`"2000/day"`), either or both (`"10/s, 2000/day"`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rate {
    /// Messages per second, over all of a daemon's sessions.
    pub per_second: Option<f64>,
    /// Messages in any 24 hours, over every daemon on the store.
    pub per_day: Option<u32>,
}

/// A deliberately plain check of an email address: what reaches a `To:` header and a
/// calendar `mailto:` must be one address, no display name, no spaces, no controls.
pub(crate) fn check_email(text: &str) -> Result<(), ValueError> {
    let help = "write a plain address like \"name@example.org\" (no display name, no spaces)";
    let bad = |what: &str| {
        Err(invalid(
            format!("{text:?} is not an email address: {what}"),
            help,
        ))
    };
    if text.chars().any(|c| c.is_control()) {
        return Err(invalid(
            format!("{text:?} is not an email address: it contains a control character"),
            "remove the line break or control character; an address is one line with no spaces",
        ));
    }
    if let Some(c) = text.chars().find(|&c| hidden(c, true).is_some()) {
        return Err(invalid(
            format!(
                "{text:?} is not an email address: it contains the invisible character U+{:04X}",
                c as u32
            ),
            "retype the address: with an invisible character it looks like another address",
        ));
    }
    if let (Some(open), Some(close)) = (text.find('<'), text.rfind('>'))
        && open < close
    {
        return Err(invalid(
            format!("{text:?} has a display name"),
            format!(
                "write only the address, {:?}; the person's name goes in `name`",
                &text[open + 1..close]
            ),
        ));
    }
    if text.chars().any(char::is_whitespace) {
        return bad("it contains a space");
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return bad("it has no @");
    };
    if local.contains('@') {
        return bad("it has more than one @");
    }
    if local.is_empty() || domain.is_empty() {
        return bad("the part before or after @ is empty");
    }
    if local.len() > 64 || text.len() > 254 {
        return bad("it is longer than an address may be");
    }
    const SPECIAL: &str = "()<>[]\\,;:\"@";
    if local.chars().any(|c| SPECIAL.contains(c)) {
        return bad("the part before @ has a character mail servers refuse");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return bad("dots may not start, end or repeat in the part before @");
    }
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    if !labels_ok {
        return bad("the domain is not a host name");
    }
    Ok(())
}

/// `[mail] reply_to`: an address with `{token}` once in its local part, which stays
/// within 64 octets with the token in place.
pub(crate) fn parse_reply_to(text: &str) -> Result<String, ValueError> {
    let help =
        "write an address with {token} in its local part, e.g. \"mentoring+{token}@example.org\"";
    let Some((local, domain)) = text.rsplit_once('@') else {
        return Err(invalid(format!("\"{text}\" is not an address"), help));
    };
    if local.matches("{token}").count() != 1 || domain.contains("{token}") {
        return Err(invalid(
            format!("\"{text}\" must hold {{token}} once, before the @"),
            help,
        ));
    }
    let filled = local.replace("{token}", &"x".repeat(crate::vocab::token::LEN));
    if filled.len() > 64 {
        return Err(invalid(
            format!(
                "with the {}-letter token its local part is {} octets; an address allows 64",
                crate::vocab::token::LEN,
                filled.len()
            ),
            "shorten the part before the @",
        ));
    }
    check_email(&format!("{filled}@{domain}"))?;
    Ok(text.to_string())
}

/// `[mail] rate`: a pace, a rolling day's budget, or both separated by a comma
/// (`"10/s"`, `"2000/day"`, `"10/s, 2000/day"`).
pub(crate) fn parse_rate(text: &str) -> Result<Rate, ValueError> {
    let help = "write a count per unit, e.g. \"10/s\", \"300/m\" or \"5000/h\" for a pace, \"2000/day\" for a relay's daily budget, or both: \"10/s, 2000/day\"";
    let mut rate = Rate::default();
    for part in text.split(',') {
        let (count, unit) = part
            .split_once('/')
            .ok_or_else(|| invalid(format!("\"{}\" is not a rate", part.trim()), help))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| invalid(format!("\"{}\" is not a rate", part.trim()), help))?;
        if count == 0 {
            return Err(invalid(
                format!("rate \"{}\" would never send", part.trim()),
                help,
            ));
        }
        let per = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            "d" | "day" => {
                if rate.per_day.replace(count).is_some() {
                    return Err(invalid(format!("\"{text}\" gives two daily budgets"), help));
                }
                continue;
            }
            _ => {
                return Err(invalid(
                    format!("unknown unit in rate \"{}\"", part.trim()),
                    help,
                ));
            }
        };
        if rate.per_second.replace(f64::from(count) / per).is_some() {
            return Err(invalid(format!("\"{text}\" gives two paces"), help));
        }
    }
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in [
            "a@example.org",
            "first.last+tag@mail.example.co.uk",
            "ü@bücher.de",
            "x@localhost",
        ] {
            assert!(check_email(good).is_ok(), "{good}");
        }
        for bad in [
            "no-at",
            "@example.org",
            "a@",
            "a b@example.org",
            "a@exa mple.org",
            "Ada <ada@example.org>",
            "a@example.org\r\nBcc: x@y.z",
            "a..b@example.org",
            "a@-example.org",
            "a@example..org",
            "e\u{200b}3@example.org",
            "ada\u{202e}gro@example.org",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
