//! Quote headers: the line a client writes above the history it quotes, in every
//! built-in language, also when Gmail wraps it over two or three lines.
//!
//! | client | example |
//! |---|---|
//! | Gmail en | On Tue, Jan 26, 2027 at 10:00 AM X <x@example.org> wrote: |
//! | Gmail de | Am Di., 26. Jan. 2027 um 10:00 Uhr schrieb X <x@example.org>: |
//! | Apple Mail de | Am 26.01.2027 um 10:00 schrieb X <x@example.org>: |
//! | Gmail fr | Le mar. 26 janv. 2027 à 10:00, X <x@example.org> a écrit : |
//! | Gmail es | El mar, 26 ene 2027 a las 10:00, X (<x@example.org>) escribió: |
//! | Gmail pt | Em ter., 26 de jan. de 2027 às 10:00, X <x@example.org> escreveu: |
//! | Gmail ja | 2027年1月26日(火) 10:00 X <x@example.org>: |
//! | Apple Mail ja | 2027/01/26 10:00、X <x@example.org>のメール: |
//! | Thunderbird ja | 2027/01/26 10:00 に X さんは書きました: |
//!
//! A quote header is recognised by its shape, never by one word: an opening word, a
//! writing verb and a date or time; or (Japanese and other date-first forms) a line that
//! starts with a year-first date, has a time, and ends in an address in angle brackets or
//! a Japanese "wrote". Name-first forms without a date ("X wrote:") only count when a
//! quote follows (see `trim::mark_name_first`).

use super::dates::{has_numeric_date, has_time, has_year, starts_with_year_first_date};
use super::fold;
use super::words::{
    JAPANESE_QUOTE_ENDINGS, NAME_FIRST_DATED, NAME_FIRST_ENDINGS, QUOTE_HEADER_OPENINGS,
    QUOTE_HEADER_VERBS,
};

/// Longest quote header we try to recognise (after joining wrapped lines); keeps the
/// look-ahead bounded.
pub(super) const MAX_QUOTE_HEADER_LEN: usize = 600;

/// Lines a wrapped quote header may span (Gmail wraps at 78 columns; a long name and
/// address take three).
const MAX_QUOTE_HEADER_LINES: usize = 3;

/// If a quote header starts at `at`, how many lines it spans.
pub(super) fn quote_header_lines(lines: &[&str], at: usize) -> Option<usize> {
    let first = lines[at].trim();
    if first.len() > MAX_QUOTE_HEADER_LEN {
        return None;
    }
    let folded_start = fold(&first.chars().take(8).collect::<String>());
    let opens_in_words = QUOTE_HEADER_OPENINGS
        .iter()
        .any(|o| folded_start.starts_with(o));
    if !opens_in_words && !starts_with_year_first_date(first) {
        return None;
    }
    let mut joined = String::new();
    for (n, line) in lines[at..].iter().take(MAX_QUOTE_HEADER_LINES).enumerate() {
        let line = line.trim();
        if n > 0 && (line.is_empty() || line.starts_with('>')) {
            return None;
        }
        if joined.len() + line.len() > MAX_QUOTE_HEADER_LEN {
            return None;
        }
        if n > 0 {
            joined.push(' ');
        }
        joined.push_str(line);
        // Every quote header ends in a colon; most lines do not, and need no folding.
        if !line.ends_with([':', '：']) {
            continue;
        }
        let text = fold(&joined);
        let found = if opens_in_words {
            is_worded_quote_header(&text)
        } else {
            is_date_first_quote_header(&text)
        };
        if found {
            return Some(n + 1);
        }
    }
    None
}

/// "On … wrote:", "Am … schrieb …:", "Le … a écrit :", "El … escribió:", "Em …
/// escreveu:": the verb, and a date with its year or in digits ("26.01.27"), so that
/// "Am Montag um 10:00 schrieb mir die Sommerschule:" stays text.
fn is_worded_quote_header(text: &str) -> bool {
    let Some(body) = text.strip_suffix(':') else {
        return false;
    };
    (has_year(body) || has_numeric_date(body))
        && QUOTE_HEADER_VERBS.iter().any(|v| body.contains(v))
}

/// "2027年1月26日(火) 10:00 X <x@example.org>:", "2027/01/26 10:00 に X
/// さんは書きました:": starts with a year-first date (checked by the caller), has a
/// time, and ends in an address or a Japanese "wrote".
fn is_date_first_quote_header(text: &str) -> bool {
    let Some(body) = text.strip_suffix(':') else {
        return false;
    };
    let body = body.trim_end();
    has_time(body)
        && (ends_in_address(body) || JAPANESE_QUOTE_ENDINGS.iter().any(|e| body.ends_with(e)))
}

/// "… <x@example.org>": the last `<…>` holds an `@`.
fn ends_in_address(body: &str) -> bool {
    let Some(inner) = body.strip_suffix('>') else {
        return false;
    };
    inner
        .rsplit_once('<')
        .is_some_and(|(_, address)| address.contains('@'))
}

/// A name-first quote header: "Grace Hopper <g@x> wrote:", "X さんは書きました:",
/// "X <x@y> schrieb am Di., 26. Jan. 2027 um 10:00 Uhr:". Only trusted when a quote
/// follows; the caller checks that.
pub(super) fn is_name_first_quote_header(line: &str) -> bool {
    let trimmed = line.trim();
    if trimmed.len() > MAX_QUOTE_HEADER_LEN {
        return false;
    }
    let text = fold(trimmed);
    let Some(body) = text.strip_suffix(':') else {
        return false;
    };
    let body = body.trim_end();
    NAME_FIRST_ENDINGS.iter().any(|v| body.ends_with(v))
        || (has_time(body) && NAME_FIRST_DATED.iter().any(|v| body.contains(v)))
}
