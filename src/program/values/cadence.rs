//! Friendly cadences: how often a pair meets (`"2 weeks"`, `"month"`) and on which days
//! (`"tue"`, `"2nd tue"`, `"last fri"`, `"15th"`).

use jiff::civil::Weekday;

use super::time::parse_weekday;
use crate::diagnostic::{ValueError, invalid};

/// The unit of a friendly cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Every {
    Days(u32),
    Weeks(u32),
    Months(u32),
}

/// `"week"`, `"2 weeks"`, `"month"`, `"3 months"`, `"day"`, `"fortnight"`.
pub(crate) fn parse_every(text: &str) -> Result<Every, ValueError> {
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
pub(crate) enum OnDay {
    Weekday(Weekday),
    /// 1..=5 counts from the start of the month, -1 is the last.
    NthWeekday(i8, Weekday),
    MonthDay(i8),
}

/// `"tue"`, `"2nd tue"`, `"last fri"`, `"15"`, `"15th"`, `"last day"`.
pub(crate) fn parse_on_item(text: &str) -> Result<OnDay, ValueError> {
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

#[cfg(test)]
mod tests {
    use jiff::civil::Weekday;

    use super::*;

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
}
