//! Lengths and moments a coordinator writes: durations (`"45m"`, `"1h30m"`), times of day
//! (`"10:00"`), weekdays, and quiet hours (`"21:00-07:00"`).

use jiff::SignedDuration;
use jiff::civil::{Time, Weekday};

use crate::diagnostic::{ValueError, invalid};

/// The longest lead or lag we accept; keeps every later arithmetic far from overflow.
const MAX_DURATION_SECS: i64 = 3650 * 86_400;

/// `"45m"`, `"1h30m"`, `"48h"`, `"90d"`, `"2w"`: a positive length of time.
pub(crate) fn parse_duration(text: &str) -> Result<SignedDuration, ValueError> {
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
pub(crate) fn parse_positive_duration(text: &str) -> Result<SignedDuration, ValueError> {
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
pub(crate) fn parse_time_of_day(text: &str) -> Result<Time, ValueError> {
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
pub(crate) fn parse_weekday(text: &str) -> Option<Weekday> {
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

/// `"21:00-07:00"`: no prompt or reminder lands between these local times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub begin: Time,
    pub end: Time,
}

pub(crate) fn parse_quiet_hours(text: &str) -> Result<QuietHours, ValueError> {
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

#[cfg(test)]
mod tests {
    use jiff::civil::Time;

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
}
