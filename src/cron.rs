//! Five-field cron expressions (`"0 8 * * MON"`) for operator schedules such as the
//! coordinator digest. Meetings are recurrence rules, not cron.
//!
//! Fields: minute, hour, day of month, month, day of week; each `*`, a number or name,
//! a range `a-b`, a step `*/n` or `a-b/n`, or a comma list. As in Vixie cron, when both
//! day of month and day of week are restricted, a day matching either one matches.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

use crate::diagnostic::{ValueError, invalid};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    month_days: u32,
    months: u16,
    weekdays: u8,
    month_days_restricted: bool,
    weekdays_restricted: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// A cron parse error: the bytes of the bad field within the text, and what is wrong.
pub type CronError = (std::ops::Range<usize>, ValueError);

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, CronError> {
        let fields: Vec<(usize, &str)> = text
            .split_whitespace()
            .map(|f| (f.as_ptr() as usize - text.as_ptr() as usize, f))
            .collect();
        if fields.len() != 5 {
            return Err((
                0..text.len(),
                invalid(
                    format!(
                        "a cron schedule has 5 fields, \"{text}\" has {}",
                        fields.len()
                    ),
                    "write minute hour day-of-month month day-of-week, e.g. \"0 8 * * MON\"",
                ),
            ));
        }
        let field = |i: usize, min: u32, max: u32, names: &[&str], base: u32| {
            let (offset, f) = fields[i];
            parse_field(f, min, max, names, base).map_err(|e| (offset..offset + f.len(), e))
        };
        let minutes = field(0, 0, 59, &[], 0)?;
        let hours = field(1, 0, 23, &[], 0)?;
        let month_days = field(2, 1, 31, &[], 0)?;
        let months = field(3, 1, 12, &MONTHS, 1)?;
        let mut weekdays = field(4, 0, 7, &DAYS, 0)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            minutes,
            hours: hours as u32,
            month_days: month_days as u32,
            months: months as u16,
            weekdays: (weekdays & 0x7f) as u8,
            month_days_restricted: !fields[2].1.starts_with('*'),
            weekdays_restricted: !fields[4].1.starts_with('*'),
        })
    }

    /// How many times an hour it fires in the hours it fires at all.
    pub fn firings_per_hour(&self) -> u32 {
        self.minutes.count_ones()
    }

    fn day_matches(&self, date: Date) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let by_month_day = self.month_days & (1 << date.day()) != 0;
        let by_weekday = self.weekdays & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        match (self.month_days_restricted, self.weekdays_restricted) {
            (true, true) => by_month_day || by_weekday,
            (true, false) => by_month_day,
            (false, true) => by_weekday,
            (false, false) => true,
        }
    }

    /// The first firing strictly after `after`, reading the fields as local time in `zone`.
    /// A firing inside a DST gap happens at the same instant the clock skipped to.
    pub fn next_after(&self, after: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let start = zone.to_datetime(after).date();
        let mut date = start.yesterday().unwrap_or(start);
        // Eight years covers every valid expression, including 29 February on a Monday.
        for _ in 0..(366 * 8) {
            if self.day_matches(date) {
                for hour in (0..24).filter(|h| self.hours & (1 << h) != 0) {
                    for minute in (0..60).filter(|m| self.minutes & (1 << m) != 0) {
                        let Ok(time) = Time::new(hour, minute, 0, 0) else {
                            continue;
                        };
                        let local = DateTime::from_parts(date, time);
                        if let Ok(instant) = zone.to_ambiguous_timestamp(local).compatible()
                            && instant > after
                        {
                            return Some(instant);
                        }
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

fn parse_field(
    field: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<u64, ValueError> {
    let help = "use numbers, names (MON, JAN), ranges a-b, steps */n and lists a,b";
    let value = |s: &str| -> Result<u32, ValueError> {
        let upper = s.to_ascii_uppercase();
        if let Some(i) = names.iter().position(|n| *n == upper) {
            return Ok(i as u32 + name_base);
        }
        s.parse::<u32>()
            .ok()
            .filter(|v| (min..=max).contains(v))
            .ok_or_else(|| invalid(format!("\"{s}\" is out of range {min}-{max}"), help))
    };
    let mut bits = 0u64;
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| invalid(format!("bad step \"{s}\""), help))?;
                (r, step)
            }
            None => (item, 1),
        };
        let (low, high) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if step > 1 { max } else { v })
        };
        if low > high {
            return Err(invalid(format!("range \"{range}\" runs backwards"), help));
        }
        for v in (low..=high).step_by(step as usize) {
            bits |= 1 << v;
        }
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(expr: &str, after: &str, zone: &str) -> String {
        let zone = TimeZone::get(zone).unwrap();
        let after: Timestamp = after.parse().unwrap();
        let t = Cron::parse(expr).unwrap().next_after(after, &zone).unwrap();
        t.to_zoned_datetime(zone).datetime().to_string()
    }

    #[test]
    fn firings() {
        // 2027-01-11 is a Monday.
        let cases = [
            (
                "0 8 * * MON",
                "2027-01-11T06:00:00Z",
                "Europe/Berlin",
                "2027-01-11T08:00:00",
            ),
            (
                "0 8 * * MON",
                "2027-01-11T07:00:00Z",
                "Europe/Berlin",
                "2027-01-18T08:00:00",
            ),
            (
                "30 9 1 * *",
                "2027-01-05T00:00:00Z",
                "UTC",
                "2027-02-01T09:30:00",
            ),
            (
                "0 */6 * * *",
                "2027-01-05T07:00:00Z",
                "UTC",
                "2027-01-05T12:00:00",
            ),
            (
                "0 9 * * 1-5",
                "2027-01-08T10:00:00Z",
                "UTC",
                "2027-01-11T09:00:00",
            ),
            (
                "0 9 13 * FRI",
                "2027-01-09T10:00:00Z",
                "UTC",
                "2027-01-13T09:00:00",
            ),
            (
                "0 0 29 2 *",
                "2027-03-01T00:00:00Z",
                "UTC",
                "2028-02-29T00:00:00",
            ),
            (
                "0 8 * * 7",
                "2027-01-11T00:00:00Z",
                "UTC",
                "2027-01-17T08:00:00",
            ),
            // 02:30 does not exist on 2027-03-28 in Berlin: it fires when the clock jumps.
            (
                "30 2 28 3 *",
                "2027-03-01T00:00:00Z",
                "Europe/Berlin",
                "2027-03-28T03:30:00",
            ),
        ];
        for (expr, after, zone, want) in cases {
            assert_eq!(next(expr, after, zone), want, "{expr} after {after}");
        }
    }

    #[test]
    fn errors() {
        for (expr, offset) in [
            ("0 8 * *", 0..7),
            ("61 8 * * MON", 0..2),
            ("0 24 * * *", 2..4),
            ("0 8 * * FUNDAY", 8..14),
            ("0 8 5-1 * *", 4..7),
            ("*/0 8 * * *", 0..3),
        ] {
            let (at, _) = Cron::parse(expr).unwrap_err();
            assert_eq!(at, offset, "{expr}");
        }
    }
}
