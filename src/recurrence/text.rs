//! RRULE text: parsing (with the bytes at fault for every error) and writing.

use std::fmt;
use std::ops::Range;

use jiff::civil::{Date, Weekday};

use super::{ByDay, Freq, Rule, Until};
use crate::diagnostic::{ValueError, invalid};

const WEEKDAY_CODES: [(&str, Weekday); 7] = [
    ("MO", Weekday::Monday),
    ("TU", Weekday::Tuesday),
    ("WE", Weekday::Wednesday),
    ("TH", Weekday::Thursday),
    ("FR", Weekday::Friday),
    ("SA", Weekday::Saturday),
    ("SU", Weekday::Sunday),
];

pub fn weekday_code(weekday: Weekday) -> &'static str {
    WEEKDAY_CODES
        .iter()
        .find(|(_, d)| *d == weekday)
        .map(|(code, _)| *code)
        .unwrap_or("MO")
}

/// An RRULE parse error: the bytes of the rule text at fault, and what is wrong.
pub type RuleError = (Range<usize>, ValueError);

/// Parses RRULE text such as `FREQ=WEEKLY;INTERVAL=2;BYDAY=TU` (an `RRULE:` prefix is allowed).
pub fn parse_rrule(text: &str) -> Result<Rule, RuleError> {
    let prefix = if text.len() >= 6 && text[..6].eq_ignore_ascii_case("RRULE:") {
        6
    } else {
        0
    };
    let mut freq = None;
    let mut rule = Rule::new(Freq::Weekly, 1);
    let mut seen: Vec<String> = Vec::new();
    let mut offset = prefix;
    for part in text[prefix..].split(';') {
        let at = offset;
        offset += part.len() + 1;
        if part.trim().is_empty() {
            continue;
        }
        let whole = at..at + part.len();
        let fail = |message: String, help: &str| Err((whole.clone(), invalid(message, help)));
        let Some((name, value)) = part.split_once('=') else {
            return fail(
                format!("\"{part}\" is not NAME=VALUE"),
                "separate parts with ';', e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            );
        };
        let name = name.trim().to_ascii_uppercase();
        let value_at = at + part.find('=').map_or(0, |i| i + 1);
        let value_range = value_at..at + part.len();
        let value = value.trim();
        if seen.contains(&name) {
            return fail(format!("{name} appears twice"), "give each part once");
        }
        seen.push(name.clone());
        let parsed = match name.as_str() {
            "FREQ" => parse_freq(value).map(|f| freq = Some(f)),
            "INTERVAL" => parse_number(value, 1, 1000).map(|n| rule.interval = n as u32),
            "COUNT" => parse_number(value, 1, 100_000).map(|n| rule.count = Some(n as u32)),
            "UNTIL" => parse_until(value).map(|u| rule.until = Some(u)),
            "WKST" => parse_code(value).map(|d| rule.week_start = d),
            "BYDAY" => {
                rule.by_day = parse_list(&name, value, value_at, parse_by_day)?;
                Ok(())
            }
            "BYMONTHDAY" => {
                rule.by_month_day = parse_list(&name, value, value_at, |v| {
                    parse_number(v, -31, 31)
                        .and_then(|n| if n == 0 { Err(zero_day()) } else { Ok(n as i8) })
                })?;
                Ok(())
            }
            "BYMONTH" => {
                rule.by_month = parse_list(&name, value, value_at, |v| {
                    parse_number(v, 1, 12).map(|n| n as i8)
                })?;
                Ok(())
            }
            "BYHOUR" | "BYMINUTE" | "BYSECOND" => {
                return fail(
                    format!("{name} is not used: a meeting's time of day comes from `at`"),
                    "remove it from the rule and set `at = \"HH:MM\"`",
                );
            }
            "BYSETPOS" | "BYWEEKNO" | "BYYEARDAY" => {
                return fail(
                    format!("{name} is not supported in meeting cadences"),
                    "use FREQ with INTERVAL, BYDAY (e.g. 2TU, -1FR), BYMONTHDAY and BYMONTH",
                );
            }
            _ => {
                return fail(
                    format!("unknown RRULE part \"{name}\""),
                    "parts are FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT, UNTIL, WKST",
                );
            }
        };
        if let Err(e) = parsed {
            return Err((value_range, e));
        }
    }
    let all = prefix..text.len();
    let Some(freq) = freq else {
        return Err((
            all,
            invalid(
                "the rule has no FREQ",
                "start with FREQ=WEEKLY (or DAILY, MONTHLY, YEARLY)",
            ),
        ));
    };
    rule.freq = freq;
    check_combination(&rule).map_err(|e| (all, e))?;
    Ok(rule)
}

fn zero_day() -> ValueError {
    invalid(
        "day 0 does not exist",
        "days run 1..31, or -1 for the last day",
    )
}

fn parse_freq(value: &str) -> Result<Freq, ValueError> {
    match value.to_ascii_uppercase().as_str() {
        "DAILY" => Ok(Freq::Daily),
        "WEEKLY" => Ok(Freq::Weekly),
        "MONTHLY" => Ok(Freq::Monthly),
        "YEARLY" => Ok(Freq::Yearly),
        "HOURLY" | "MINUTELY" | "SECONDLY" => Err(invalid(
            format!("FREQ={value} is more often than a meeting can be"),
            "use DAILY, WEEKLY, MONTHLY or YEARLY",
        )),
        _ => Err(invalid(
            format!("unknown FREQ \"{value}\""),
            "use DAILY, WEEKLY, MONTHLY or YEARLY",
        )),
    }
}

fn parse_number(value: &str, min: i64, max: i64) -> Result<i64, ValueError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            invalid(
                format!("\"{value}\" is not a number from {min} to {max}"),
                "write a whole number in range",
            )
        })
}

fn parse_code(value: &str) -> Result<Weekday, ValueError> {
    let upper = value.to_ascii_uppercase();
    WEEKDAY_CODES
        .iter()
        .find(|(code, _)| *code == upper)
        .map(|(_, d)| *d)
        .ok_or_else(|| {
            invalid(
                format!("\"{value}\" is not a weekday code"),
                "use MO, TU, WE, TH, FR, SA or SU",
            )
        })
}

fn parse_by_day(value: &str) -> Result<ByDay, ValueError> {
    let bad = || {
        invalid(
            format!("{value:?} is not a BYDAY day"),
            "use two-letter codes MO, TU, WE, TH, FR, SA, SU, with an optional ordinal: TU, 2TU, -1FR",
        )
    };
    let split = value.len().saturating_sub(2);
    if !value.is_char_boundary(split) {
        return Err(bad());
    }
    let (nth, code) = value.split_at(split);
    let weekday = parse_code(code).map_err(|_| bad())?;
    let nth = if nth.is_empty() {
        0
    } else {
        let n = parse_number(nth.trim_start_matches('+'), -5, 5).map_err(|_| bad())?;
        if n == 0 {
            return Err(invalid(
                format!("{value:?} has ordinal 0"),
                "use 1..5 or -1..-5",
            ));
        }
        n as i8
    };
    Ok(ByDay { nth, weekday })
}

fn parse_until(value: &str) -> Result<Until, ValueError> {
    let help = "write UNTIL=YYYYMMDD or UNTIL=YYYYMMDDTHHMMSSZ (UTC)";
    let bad = || invalid(format!("\"{value}\" is not an UNTIL date"), help);
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let date_part = value.get(..8).filter(|d| digits(d)).ok_or_else(bad)?;
    let date = Date::new(
        date_part[..4].parse().map_err(|_| bad())?,
        date_part[4..6].parse().map_err(|_| bad())?,
        date_part[6..8].parse().map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    match &value[8..] {
        "" => Ok(Until::Date(date)),
        rest => {
            let time = rest
                .strip_prefix('T')
                .and_then(|t| t.strip_suffix('Z'))
                .filter(|t| t.len() == 6 && digits(t))
                .ok_or_else(|| {
                    invalid(
                        format!("UNTIL \"{value}\" must be in UTC"),
                        "end it with Z, e.g. 20270630T220000Z",
                    )
                })?;
            let dt = date
                .at(
                    time[..2].parse().map_err(|_| bad())?,
                    time[2..4].parse().map_err(|_| bad())?,
                    time[4..].parse().map_err(|_| bad())?,
                    0,
                )
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .map_err(|_| bad())?;
            Ok(Until::Instant(dt.timestamp()))
        }
    }
}

/// A comma list of part `name`; an error names the bytes of the bad item (`at` is where
/// `value` starts). An item given twice is refused: that bounds every list (a BYDAY of
/// 10,000 days was accepted and copied into every invite) without a limit to learn.
fn parse_list<T: PartialEq>(
    name: &str,
    value: &str,
    at: usize,
    item: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<Vec<T>, RuleError> {
    let mut out = Vec::new();
    let mut offset = at;
    for raw in value.split(',') {
        let range = offset..offset + raw.len();
        let parsed = item(raw.trim()).map_err(|e| (range.clone(), e))?;
        if out.contains(&parsed) {
            return Err((
                range,
                invalid(
                    format!("{} appears twice in {name}", raw.trim()),
                    "give each value once",
                ),
            ));
        }
        out.push(parsed);
        offset += raw.len() + 1;
    }
    Ok(out)
}

/// Combinations RFC 5545 forbids or that this subset does not expand.
pub fn check_combination(rule: &Rule) -> Result<(), ValueError> {
    let has_nth = rule.by_day.iter().any(|d| d.nth != 0);
    match rule.freq {
        Freq::Daily | Freq::Weekly if has_nth => Err(invalid(
            "BYDAY ordinals like 2TU only make sense with FREQ=MONTHLY or YEARLY",
            "drop the number, or use FREQ=MONTHLY",
        )),
        Freq::Weekly if !rule.by_month_day.is_empty() => Err(invalid(
            "BYMONTHDAY cannot be combined with FREQ=WEEKLY",
            "use BYDAY with WEEKLY, or FREQ=MONTHLY with BYMONTHDAY",
        )),
        Freq::Yearly if has_nth && rule.by_month.is_empty() => Err(invalid(
            "a BYDAY ordinal with FREQ=YEARLY needs BYMONTH here",
            "add BYMONTH, e.g. FREQ=YEARLY;BYMONTH=3;BYDAY=2TU",
        )),
        _ if rule.count.is_some() && rule.until.is_some() => Err(invalid(
            "COUNT and UNTIL cannot both be given",
            "keep one of them",
        )),
        _ => Ok(()),
    }
}

/// Writes the rule as RRULE text (without the `RRULE:` name), keeping it minimal.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let freq = match self.freq {
            Freq::Daily => "DAILY",
            Freq::Weekly => "WEEKLY",
            Freq::Monthly => "MONTHLY",
            Freq::Yearly => "YEARLY",
        };
        write!(f, "FREQ={freq}")?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        match self.until {
            Some(Until::Date(d)) => write!(f, ";UNTIL={}", d.strftime("%Y%m%d"))?,
            Some(Until::Instant(t)) => write!(f, ";UNTIL={}", t.strftime("%Y%m%dT%H%M%SZ"))?,
            None => {}
        }
        if let Some(count) = self.count {
            write!(f, ";COUNT={count}")?;
        }
        let join = |items: Vec<String>| items.join(",");
        if !self.by_month.is_empty() {
            write!(
                f,
                ";BYMONTH={}",
                join(self.by_month.iter().map(i8::to_string).collect())
            )?;
        }
        if !self.by_month_day.is_empty() {
            let days = self.by_month_day.iter().map(i8::to_string).collect();
            write!(f, ";BYMONTHDAY={}", join(days))?;
        }
        if !self.by_day.is_empty() {
            let days = self
                .by_day
                .iter()
                .map(|d| match d.nth {
                    0 => weekday_code(d.weekday).to_string(),
                    n => format!("{n}{}", weekday_code(d.weekday)),
                })
                .collect();
            write!(f, ";BYDAY={}", join(days))?;
        }
        if self.week_start != Weekday::Monday {
            write!(f, ";WKST={}", weekday_code(self.week_start))?;
        }
        Ok(())
    }
}
