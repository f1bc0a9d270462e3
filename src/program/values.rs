//! Parsers for the friendly values a coordinator writes: durations (`"45m"`), times of
//! day (`"10:00"`), cadences (`"2 weeks"`, `"2nd tue"`), quiet hours, email addresses,
//! send rates. Each returns a [`ValueError`] that says what is wrong and how to fix it;
//! the loader adds the location.

use jiff::SignedDuration;
use jiff::civil::{Time, Weekday};

pub(crate) use crate::diagnostic::invalid;
pub use crate::diagnostic::{ValueError, closest, edit_distance};

/// The longest lead or lag we accept; keeps every later arithmetic far from overflow.
const MAX_DURATION_SECS: i64 = 3650 * 86_400;

/// `"45m"`, `"1h30m"`, `"48h"`, `"90d"`, `"2w"`: a positive length of time.
pub fn parse_duration(text: &str) -> Result<SignedDuration, ValueError> {
    let help = "write a number and a unit, e.g. \"45m\", \"1h30m\", \"48h\", \"14d\" or \"2w\"";
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(invalid("empty duration", help));
    }
    if trimmed.starts_with('-') {
        return Err(invalid(
            format!("negative duration \"{text}\""),
            "durations count forward: leave out the minus sign",
        ));
    }
    let mut total: i64 = 0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid(
                format!("cannot read \"{text}\" as a duration"),
                help,
            ));
        }
        let number: i64 = rest[..digits]
            .parse()
            .map_err(|_| invalid(format!("\"{text}\" is too long"), help))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        let seconds = match unit.to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 7 * 86_400,
            "" => {
                return Err(invalid(
                    format!("\"{text}\" has a number without a unit"),
                    help,
                ));
            }
            other => {
                return Err(invalid(
                    format!("unknown unit \"{other}\" in \"{text}\""),
                    "units are s, m (minutes), h, d and w; months vary in length, so write days",
                ));
            }
        };
        total = number
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .filter(|&t| t <= MAX_DURATION_SECS)
            .ok_or_else(|| invalid(format!("\"{text}\" is too long"), "keep it under 10 years"))?;
        rest = &rest[unit_len..];
    }
    Ok(SignedDuration::from_secs(total))
}

/// A duration that must be longer than zero.
pub fn parse_positive_duration(text: &str) -> Result<SignedDuration, ValueError> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err(invalid(
            format!("\"{text}\" is zero"),
            "give a length longer than zero, or \"off\" where the setting can be switched off",
        ));
    }
    Ok(duration)
}

/// `"10:00"` or `"9:30"`, 24-hour clock.
pub fn parse_time_of_day(text: &str) -> Result<Time, ValueError> {
    let help = "write a 24-hour time as HH:MM, e.g. \"09:30\" or \"16:00\"";
    let (h, m) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| invalid(format!("\"{text}\" is not a time of day"), help))?;
    let parse = |s: &str| -> Option<i8> {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (Some(hour), Some(minute)) = (parse(h), parse(m)) else {
        return Err(invalid(format!("\"{text}\" is not a time of day"), help));
    };
    if hour > 23 || minute > 59 {
        return Err(invalid(
            format!("\"{text}\" is not a time on the clock"),
            "hours run 00-23 and minutes 00-59",
        ));
    }
    Time::new(hour, minute, 0, 0).map_err(|_| invalid(format!("\"{text}\" is not a time"), help))
}

/// `"mon"`, `"Tuesday"`, `"thu"`.
pub fn parse_weekday(text: &str) -> Option<Weekday> {
    let lower = text.trim().to_ascii_lowercase();
    let day = match lower.as_str() {
        "mo" | "mon" | "monday" => Weekday::Monday,
        "tu" | "tue" | "tues" | "tuesday" => Weekday::Tuesday,
        "we" | "wed" | "wednesday" => Weekday::Wednesday,
        "th" | "thu" | "thur" | "thurs" | "thursday" => Weekday::Thursday,
        "fr" | "fri" | "friday" => Weekday::Friday,
        "sa" | "sat" | "saturday" => Weekday::Saturday,
        "su" | "sun" | "sunday" => Weekday::Sunday,
        _ => return None,
    };
    Some(day)
}

/// The unit of a friendly cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Days(u32),
    Weeks(u32),
    Months(u32),
}

/// `"week"`, `"2 weeks"`, `"month"`, `"3 months"`, `"day"`, `"fortnight"`.
pub fn parse_every(text: &str) -> Result<Every, ValueError> {
    let help = "write e.g. \"week\", \"2 weeks\", \"month\" or \"3 months\"";
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower.strip_prefix("every ").unwrap_or(&lower).trim();
    if lower == "fortnight" || lower == "other week" {
        return Ok(Every::Weeks(2));
    }
    let (count, unit) = match lower.split_once(char::is_whitespace) {
        Some((n, unit)) => {
            let n: u32 = n
                .parse()
                .map_err(|_| invalid(format!("cannot read \"{text}\" as a cadence"), help))?;
            (n, unit.trim())
        }
        None => (1, lower),
    };
    if count == 0 {
        return Err(invalid(format!("\"{text}\" never repeats"), help));
    }
    if count > 52 {
        return Err(invalid(
            format!("\"{text}\" is too far apart for a mentoring cadence"),
            help,
        ));
    }
    match unit {
        "day" | "days" => Ok(Every::Days(count)),
        "week" | "weeks" => Ok(Every::Weeks(count)),
        "month" | "months" => Ok(Every::Months(count)),
        _ => Err(invalid(format!("unknown cadence unit in \"{text}\""), help)),
    }
}

/// One item of `on`: a weekday, an nth weekday of the month, or a day of the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDay {
    Weekday(Weekday),
    /// 1..=5 counts from the start of the month, -1 is the last.
    NthWeekday(i8, Weekday),
    MonthDay(i8),
}

/// `"tue"`, `"2nd tue"`, `"last fri"`, `"15"`, `"15th"`, `"last day"`.
pub fn parse_on_item(text: &str) -> Result<OnDay, ValueError> {
    let help = "write a weekday (\"tue\"), or for a monthly cadence \"2nd tue\", \"last fri\" or a day of the month like \"15\"";
    let lower = text.trim().to_ascii_lowercase();
    if let Some(day) = parse_weekday(&lower) {
        return Ok(OnDay::Weekday(day));
    }
    if lower == "last day" {
        return Ok(OnDay::MonthDay(-1));
    }
    let unsuffixed = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| lower.strip_suffix(s))
        .unwrap_or(&lower);
    if let Ok(day) = unsuffixed.parse::<i8>() {
        if !(1..=31).contains(&day) {
            return Err(invalid(
                format!("\"{text}\" is not a day of the month"),
                "days of the month run 1-31",
            ));
        }
        return Ok(OnDay::MonthDay(day));
    }
    let Some((nth, day)) = lower.split_once(char::is_whitespace) else {
        return Err(invalid(format!("cannot read \"{text}\" as a day"), help));
    };
    let weekday =
        parse_weekday(day).ok_or_else(|| invalid(format!("\"{day}\" is not a weekday"), help))?;
    let nth = match nth {
        "1st" | "first" => 1,
        "2nd" | "second" => 2,
        "3rd" | "third" => 3,
        "4th" | "fourth" => 4,
        "5th" | "fifth" => 5,
        "last" => -1,
        "2nd-last" | "second-last" => -2,
        _ => {
            return Err(invalid(
                format!("cannot read \"{nth}\" as 1st..5th or last"),
                help,
            ));
        }
    };
    Ok(OnDay::NthWeekday(nth, weekday))
}

/// `"21:00-07:00"`: no prompt or reminder lands between these local times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub begin: Time,
    pub end: Time,
}

pub fn parse_quiet_hours(text: &str) -> Result<QuietHours, ValueError> {
    let (begin, end) = text.split_once('-').ok_or_else(|| {
        invalid(
            format!("\"{text}\" is not a range of hours"),
            "write \"HH:MM-HH:MM\", e.g. \"21:00-07:00\", or \"off\"",
        )
    })?;
    let begin = parse_time_of_day(begin)?;
    let end = parse_time_of_day(end)?;
    if begin == end {
        return Err(invalid(
            format!("quiet hours \"{text}\" begin and end at the same time"),
            "give a real range such as \"21:00-07:00\", or \"off\"",
        ));
    }
    Ok(QuietHours { begin, end })
}

/// A deliberately plain check of an email address: what reaches a `To:` header and a
/// calendar `mailto:` must be one address, no display name, no spaces, no controls.
pub fn check_email(text: &str) -> Result<(), ValueError> {
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

/// The longest name (of a person, the organizer or the program): names reach mail
/// subjects, and a longer one is a mistake (a pasted paragraph), not a name.
pub const MAX_NAME_CHARS: usize = 200;

/// The longest other line of text (a location, a goal, a kind).
pub const MAX_TEXT_CHARS: usize = 1000;

/// Text that reaches a mail header or a calendar line: one line, no controls, nothing
/// invisible, at most [`MAX_TEXT_CHARS`]. Joiners (U+200C, U+200D) and tag characters
/// are allowed here: emoji sequences and some scripts need them.
/// `[mail] reply_to`: an address with `{token}` once in its local part, which stays
/// within 64 octets with the token in place.
pub fn parse_reply_to(text: &str) -> Result<String, ValueError> {
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

pub fn check_text(text: &str) -> Result<(), ValueError> {
    check_line(text, false)?;
    check_length(text, MAX_TEXT_CHARS, "shorten it")
}

/// A name: as [`check_text`], without tag characters or stray joiners (two names must
/// not look alike yet differ), and at most [`MAX_NAME_CHARS`]. A joiner (U+200C ZWNJ,
/// U+200D ZWJ) between two letters of a script that writes with them stays: Persian
/// and many Indic names are spelled with one (`مهدی‌زاده`).
pub fn check_name(text: &str) -> Result<(), ValueError> {
    check_line(text, false)?;
    let chars: Vec<char> = text.chars().collect();
    let script_letter = |c: Option<&char>| c.is_some_and(|c| c.is_alphabetic() && !c.is_ascii());
    for (i, &c) in chars.iter().enumerate() {
        let joiner = matches!(c, '\u{200C}' | '\u{200D}');
        let in_word = joiner
            && script_letter(chars.get(i.wrapping_sub(1)))
            && script_letter(chars.get(i + 1));
        if (joiner && !in_word) || hidden(c, true).is_some() && !joiner {
            let hidden = hidden(c, true).unwrap_or(Hidden::Invisible);
            return Err(invalid(
                format!("contains U+{:04X}, {}", c as u32, hidden.what()),
                hidden.help(),
            ));
        }
    }
    check_length(
        text,
        MAX_NAME_CHARS,
        "shorten it: names appear in mail subjects and calendar invites",
    )
}

fn check_length(text: &str, max: usize, help: &str) -> Result<(), ValueError> {
    let chars = text.chars().count();
    if chars > max {
        return Err(invalid(
            format!("is {chars} characters long, more than the {max} allowed"),
            help,
        ));
    }
    Ok(())
}

fn check_line(text: &str, strict: bool) -> Result<(), ValueError> {
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(invalid(
            format!("contains the control character U+{:04X}", c as u32),
            "keep it on one line without control characters; it reaches mail headers and calendar lines",
        ));
    }
    match text.chars().find_map(|c| hidden(c, strict).map(|h| (c, h))) {
        None => Ok(()),
        Some((c, hidden)) => Err(invalid(
            format!("contains U+{:04X}, {}", c as u32, hidden.what()),
            hidden.help(),
        )),
    }
}

/// A character that cannot be seen but changes what text means or how it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    LineBreak,
    Direction,
    Invisible,
}

impl Hidden {
    pub fn what(self) -> &'static str {
        match self {
            Hidden::LineBreak => "a line or paragraph separator",
            Hidden::Direction => "a character that changes the direction of text",
            Hidden::Invisible => "an invisible character",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Hidden::LineBreak => "keep it on one line; it reaches mail headers and calendar lines",
            Hidden::Direction => {
                "remove it (it often comes with pasted text): it makes text show in another order than it is written"
            }
            Hidden::Invisible => {
                "remove it (it often comes with pasted text): it cannot be seen, so two different texts would look the same"
            }
        }
    }
}

/// Whether `c` is a hidden character; `strict` adds the joiners and tag characters
/// that names and addresses do without.
pub fn hidden(c: char, strict: bool) -> Option<Hidden> {
    match c {
        '\u{2028}' | '\u{2029}' => Some(Hidden::LineBreak),
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Some(Hidden::Direction),
        '\u{00AD}'
        | '\u{034F}'
        | '\u{115F}'
        | '\u{1160}'
        | '\u{17B4}'
        | '\u{17B5}'
        | '\u{180E}'
        | '\u{200B}'
        | '\u{2060}'..='\u{2064}'
        | '\u{206A}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}' => Some(Hidden::Invisible),
        '\u{200C}' | '\u{200D}' | '\u{E0000}'..='\u{E007F}' if strict => Some(Hidden::Invisible),
        _ => None,
    }
}

/// Ids name pairs and people in the store and in file names: keep them to a safe alphabet.
pub fn check_id(text: &str) -> Result<(), ValueError> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !text.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            format!("\"{text}\" is not a usable id"),
            "use 1-64 ASCII letters, digits, '-', '_' or '.', not starting with '.'",
        ))
    }
}

/// `"10/s"`, `"600/m"`, `"1000/h"`: messages per second.
/// `[mail] rate`: a pace, a rolling day's budget, or both separated by a comma
/// (`"10/s"`, `"2000/day"`, `"10/s, 2000/day"`).
pub fn parse_rate(text: &str) -> Result<super::Rate, ValueError> {
    let help = "write a count per unit, e.g. \"10/s\", \"300/m\" or \"5000/h\" for a pace, \"2000/day\" for a relay's daily budget, or both: \"10/s, 2000/day\"";
    let mut rate = super::Rate::default();
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
    fn durations() {
        let cases = [
            ("45m", Some(45 * 60)),
            ("1h30m", Some(5400)),
            ("48h", Some(48 * 3600)),
            ("90d", Some(90 * 86_400)),
            ("2w", Some(14 * 86_400)),
            ("2 hours", Some(7200)),
            ("0m", Some(0)),
            ("-5m", None),
            ("5", None),
            ("5 months", None),
            ("", None),
            ("h", None),
            ("99999999999999999999d", None),
            ("4000d", None),
        ];
        for (text, want) in cases {
            let got = parse_duration(text).ok().map(|d| d.as_secs());
            assert_eq!(got, want, "{text}");
        }
        assert!(parse_positive_duration("0h").is_err());
    }

    #[test]
    fn times_of_day() {
        assert_eq!(
            parse_time_of_day("10:00").unwrap(),
            Time::constant(10, 0, 0, 0)
        );
        assert_eq!(
            parse_time_of_day("9:05").unwrap(),
            Time::constant(9, 5, 0, 0)
        );
        for bad in [
            "25:00", "10:60", "10", "ten", "10:0x", "-1:00", "10:000", "",
        ] {
            assert!(parse_time_of_day(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cadences() {
        assert_eq!(parse_every("week").unwrap(), Every::Weeks(1));
        assert_eq!(parse_every("2 weeks").unwrap(), Every::Weeks(2));
        assert_eq!(parse_every("every 3 months").unwrap(), Every::Months(3));
        assert_eq!(parse_every("fortnight").unwrap(), Every::Weeks(2));
        assert!(parse_every("0 weeks").is_err());
        assert!(parse_every("2 years").is_err());
        assert!(parse_every("weekly-ish").is_err());
    }

    #[test]
    fn on_items() {
        assert_eq!(
            parse_on_item("tue").unwrap(),
            OnDay::Weekday(Weekday::Tuesday)
        );
        assert_eq!(
            parse_on_item("2nd tue").unwrap(),
            OnDay::NthWeekday(2, Weekday::Tuesday)
        );
        assert_eq!(
            parse_on_item("last Friday").unwrap(),
            OnDay::NthWeekday(-1, Weekday::Friday)
        );
        assert_eq!(parse_on_item("15th").unwrap(), OnDay::MonthDay(15));
        assert!(parse_on_item("32").is_err());
        assert!(parse_on_item("6th tue").is_err());
        assert!(parse_on_item("2nd blursday").is_err());
    }

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

    #[test]
    fn texts_and_names() {
        for good in [
            "Grace Hopper",
            "Анна Каренина",
            "👩\u{200d}💻 on call",
            "❤\u{fe0f}",
        ] {
            assert!(check_text(good).is_ok(), "{good}");
        }
        for good in ["Grace Hopper", "Zoë d'Árc-Łukasz", "李小龙", "محمد"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        let cases = [
            ("Ada\u{2028}Lovelace", Hidden::LineBreak),
            ("Ada \u{202e}ecalevoL", Hidden::Direction),
            ("\u{2067}Ada\u{2069}", Hidden::Direction),
            ("A\u{200b}da", Hidden::Invisible),
            ("\u{feff}Ada", Hidden::Invisible),
            ("Lo\u{ad}ve\u{ad}lace", Hidden::Invisible),
        ];
        for (bad, hidden_kind) in cases {
            for check in [check_text, check_name] {
                let error = check(bad).unwrap_err();
                assert!(
                    error.message.contains(hidden_kind.what()),
                    "{bad:?}: {error:?}"
                );
            }
        }
        assert!(check_name("A\u{200d}da").is_err());
        assert!(check_name("\u{200c}Ada").is_err());
        // A Persian surname written with its zero-width non-joiner.
        assert!(check_name("مهدی\u{200c}زاده").is_ok());
        assert!(check_name(&"x".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(check_name(&"ü".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(check_text(&"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
    }

    #[test]
    fn quiet_hours_and_rates() {
        let q = parse_quiet_hours("21:00-07:00").unwrap();
        assert_eq!(q.begin, Time::constant(21, 0, 0, 0));
        assert!(parse_quiet_hours("21:00-21:00").is_err());
        assert!(parse_quiet_hours("late").is_err());
        assert_eq!(parse_rate("10/s").unwrap().per_second, Some(10.0));
        assert_eq!(parse_rate("120/m").unwrap().per_second, Some(2.0));
        let both = parse_rate("10/s, 2000/day").unwrap();
        assert_eq!((both.per_second, both.per_day), (Some(10.0), Some(2000)));
        let daily = parse_rate("2000/day").unwrap();
        assert_eq!((daily.per_second, daily.per_day), (None, Some(2000)));
        assert!(parse_rate("10/s, 20/s").is_err());
        assert!(parse_rate("1/d, 2/day").is_err());
        assert!(parse_rate("0/day").is_err());
        assert!(parse_rate("10/s,").is_err());
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("ten").is_err());
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("timezne", ["timezone", "name"]), Some("timezone"));
        assert_eq!(closest("zzz", ["timezone", "name"]), None);
    }
}
