//! Dates and times as quote headers and header blocks write them, found without regex:
//! a year ("2027"), a time ("9:00", "10:00"), a date that starts with its year
//! ("2027年1月26日", "2027/01/26", "2027-01-26"). Each is one pass over the bytes.

/// A four-digit year 1900–2099 standing alone (not inside a longer number).
pub(super) fn has_year(text: &str) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(3)).any(|i| is_year_at(bytes, i))
}

fn is_year_at(bytes: &[u8], i: usize) -> bool {
    let digits = bytes[i..i + 4].iter().all(u8::is_ascii_digit);
    let century = matches!(&bytes[i..i + 2], b"19" | b"20");
    let before = i == 0 || !bytes[i - 1].is_ascii_digit();
    let after = bytes.get(i + 4).is_none_or(|b| !b.is_ascii_digit());
    digits && century && before && after
}

/// A time of day: one or two digits, a colon, two digits ("9:00", "10:00:12").
pub(super) fn has_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, b)| {
        *b == b':'
            && i >= 1
            && bytes[i - 1].is_ascii_digit()
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_digit)
            && !(i >= 3 && bytes[i - 2].is_ascii_digit() && bytes[i - 3].is_ascii_digit())
    })
}

/// A date in digits with three parts: "26.01.27", "1/26/27", "26/01/2027", "2027-01-26".
pub(super) fn has_numeric_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits_at = |i: usize| bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut i = 0;
    while i < bytes.len() {
        let first = digits_at(i);
        if first == 0 || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            i += first.max(1);
            continue;
        }
        if numeric_date_from(bytes, i, first, &digits_at) {
            return true;
        }
        i += first;
    }
    false
}

/// Three groups of 1–4 digits from `i` (the first `first` long), one separator of
/// `.`, `/` or `-` between them.
fn numeric_date_from(
    bytes: &[u8],
    i: usize,
    first: usize,
    digits_at: &dyn Fn(usize) -> usize,
) -> bool {
    let mut at = i + first;
    if first > 4 {
        return false;
    }
    for _ in 0..2 {
        let separator = bytes
            .get(at)
            .is_some_and(|b| matches!(b, b'.' | b'/' | b'-'));
        if !separator {
            return false;
        }
        let n = if at + 1 < bytes.len() {
            digits_at(at + 1)
        } else {
            0
        };
        if n == 0 || n > 4 {
            return false;
        }
        at += 1 + n;
    }
    true
}

/// Starts with a year-first date: "2027年1月26日", "2027/01/26", "2027-01-26",
/// "2027.01.26" (Japanese clients, Thunderbird in ISO style).
pub(super) fn starts_with_year_first_date(text: &str) -> bool {
    let mut rest = text;
    for (width, separators) in [
        (4, &["年", "/", "-", "."][..]),
        (2, &["月", "/", "-", "."][..]),
    ] {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let fits = if width == 4 {
            digits == 4
        } else {
            (1..=2).contains(&digits)
        };
        if !fits {
            return false;
        }
        rest = &rest[digits..];
        let Some(after) = separators.iter().find_map(|s| rest.strip_prefix(s)) else {
            return false;
        };
        rest = after;
    }
    rest.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_times_and_dates() {
        assert!(has_year("Montag, 11. Januar 2027 09:00"));
        assert!(!has_year("12027 and 202"));
        assert!(has_time("9:00 AM") && has_time("à 10:00,"));
        assert!(!has_time("Nota: 3 puntos") && !has_time("12:3") && !has_time("2027:00"));
        assert!(has_numeric_date("Am 26.01.27 um 10:00") && has_numeric_date("On 1/26/27"));
        assert!(has_numeric_date("2027-01-26 10:00"));
        assert!(!has_numeric_date("Em 26/01 às 10:00") && !has_numeric_date("v1.2 and 3-4"));
        assert!(starts_with_year_first_date("2027年1月26日(火) 10:00"));
        assert!(starts_with_year_first_date("2027/01/26 10:00、"));
        assert!(starts_with_year_first_date("2026-06-29 14:16 に"));
        assert!(!starts_with_year_first_date("2027 goals"));
        assert!(!starts_with_year_first_date("1. item"));
    }
}
