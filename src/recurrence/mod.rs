//! Recurrence rules: the RFC 5545 `RRULE` subset that meeting cadences need, parsed from
//! text or built from a friendly cadence, and expanded to dates.
//!
//! Expansion works on civil dates only; the schedule puts the meeting's wall-clock time
//! on each date in the meeting's zone afterwards. Expansion can start at any date
//! without walking from the series start (unless the rule has `COUNT`), which is what
//! lets the schedule stream a year of 50,000 pairs week by week.
//!
//! Supported parts: `FREQ` (DAILY, WEEKLY, MONTHLY, YEARLY), `INTERVAL`, `BYDAY` (with
//! ordinals for MONTHLY and YEARLY-with-BYMONTH), `BYMONTHDAY`, `BYMONTH`, `COUNT`,
//! `UNTIL`, `WKST`. Parts that would move the time of day (`BYHOUR`, …) or that no
//! mentoring cadence needs (`BYSETPOS`, `BYWEEKNO`, `BYYEARDAY`) are refused with a
//! clear message rather than silently misread.

use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// A `BYDAY` entry: `nth == 0` means every such weekday in the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByDay {
    pub nth: i8,
    pub weekday: Weekday,
}

/// Where a series stops, as written in the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// `UNTIL=20270630`: the last date that may hold a meeting.
    Date(Date),
    /// `UNTIL=20270630T220000Z`: the last instant a meeting may start.
    Instant(Timestamp),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub freq: Freq,
    pub interval: u32,
    pub by_day: Vec<ByDay>,
    pub by_month_day: Vec<i8>,
    pub by_month: Vec<i8>,
    pub count: Option<u32>,
    pub until: Option<Until>,
    pub week_start: Weekday,
}

impl Rule {
    pub fn new(freq: Freq, interval: u32) -> Rule {
        Rule {
            freq,
            interval,
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_month: Vec::new(),
            count: None,
            until: None,
            week_start: Weekday::Monday,
        }
    }

    /// Dates of the series anchored at `anchor` (its first possible date), from `from` on.
    ///
    /// The interval's phase counts from the period (day, week, month, year) holding the
    /// anchor, as RFC 5545 counts from `DTSTART`. `COUNT` is applied; `UNTIL` is not
    /// (the schedule compares it with instants).
    pub fn dates(&self, anchor: Date, from: Date) -> Dates<'_> {
        let anchor_period = self.period_start(anchor);
        let from = from.max(anchor);
        let period = if self.count.is_some() {
            0
        } else {
            let index = self.periods_between(anchor_period, self.period_start(from));
            let interval = i64::from(self.interval);
            index.div_euclid(interval) * interval
        };
        Dates {
            rule: self,
            anchor,
            anchor_period,
            from,
            period,
            buffer: Vec::new(),
            position: 0,
            emitted: 0,
            empty_periods: 0,
            done: false,
        }
    }

    fn period_start(&self, date: Date) -> Date {
        match self.freq {
            Freq::Daily => date,
            Freq::Weekly => {
                let back = date.weekday().since(self.week_start);
                date.checked_sub(i64::from(back).days()).unwrap_or(date)
            }
            Freq::Monthly => date.first_of_month(),
            Freq::Yearly => date.first_of_year(),
        }
    }

    fn periods_between(&self, start: Date, later: Date) -> i64 {
        match self.freq {
            Freq::Daily => i64::from((later - start).get_days()),
            Freq::Weekly => i64::from((later - start).get_days()).div_euclid(7),
            Freq::Monthly => {
                (i64::from(later.year()) - i64::from(start.year())) * 12 + i64::from(later.month())
                    - i64::from(start.month())
            }
            Freq::Yearly => i64::from(later.year()) - i64::from(start.year()),
        }
    }

    fn nth_period(&self, anchor_period: Date, index: i64) -> Option<Date> {
        let span = match self.freq {
            Freq::Daily => index.days(),
            Freq::Weekly => (index * 7).days(),
            Freq::Monthly => index.months(),
            Freq::Yearly => index.years(),
        };
        anchor_period.checked_add(span).ok()
    }

    /// Every date of one period that the rule selects, sorted.
    fn period_dates(&self, start: Date, anchor: Date, out: &mut Vec<Date>) {
        out.clear();
        match self.freq {
            Freq::Daily => {
                if self.month_allowed(start)
                    && self.month_day_allowed(start)
                    && self.weekday_allowed(start)
                {
                    out.push(start);
                }
            }
            Freq::Weekly => {
                let anchor_day = [anchor.weekday()];
                let days = self.by_day.iter().map(|d| d.weekday);
                let days: &mut dyn Iterator<Item = Weekday> = if self.by_day.is_empty() {
                    &mut anchor_day.into_iter()
                } else {
                    &mut days.into_iter()
                };
                for weekday in days {
                    let offset = weekday.since(self.week_start);
                    if let Ok(date) = start.checked_add(i64::from(offset).days())
                        && self.month_allowed(date)
                    {
                        out.push(date);
                    }
                }
            }
            Freq::Monthly => {
                if self.month_allowed(start) {
                    self.month_dates(start, anchor, out);
                }
            }
            Freq::Yearly => {
                // Without BYMONTH, BYDAY or BYMONTHDAY select across the whole year
                // (RFC 5545: YEARLY;BYDAY=MO is every Monday); with neither, the
                // anchor's month and day repeat.
                const ALL_MONTHS: [i8; 12] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
                let anchor_month = [anchor.month()];
                let months = if !self.by_month.is_empty() {
                    &self.by_month[..]
                } else if !self.by_day.is_empty() || !self.by_month_day.is_empty() {
                    &ALL_MONTHS[..]
                } else {
                    &anchor_month[..]
                };
                for &month in months {
                    if let Ok(first) = Date::new(start.year(), month, 1) {
                        self.month_dates(first, anchor, out);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    fn month_dates(&self, first: Date, anchor: Date, out: &mut Vec<Date>) {
        let days_in_month = first.days_in_month();
        if !self.by_month_day.is_empty() {
            for &day in &self.by_month_day {
                let day = if day < 0 {
                    days_in_month + 1 + day
                } else {
                    day
                };
                if (1..=days_in_month).contains(&day)
                    && let Ok(date) = first.with().day(day).build()
                    && self.weekday_allowed(date)
                {
                    out.push(date);
                }
            }
        } else if !self.by_day.is_empty() {
            for by_day in &self.by_day {
                let mut date = first.nth_weekday_of_month(1, by_day.weekday).ok();
                let mut nth = 1;
                while let Some(d) = date.filter(|d| d.month() == first.month()) {
                    if by_day.nth == 0 || nth_matches(by_day.nth, nth, d) {
                        out.push(d);
                    }
                    nth += 1;
                    date = d.checked_add(7.days()).ok();
                }
            }
        } else {
            let day = anchor.day();
            if day <= days_in_month
                && let Ok(date) = first.with().day(day).build()
            {
                out.push(date);
            }
        }
    }

    fn month_allowed(&self, date: Date) -> bool {
        self.by_month.is_empty() || self.by_month.contains(&date.month())
    }

    fn month_day_allowed(&self, date: Date) -> bool {
        let from_end = date.day() - date.days_in_month() - 1;
        self.by_month_day.is_empty()
            || self
                .by_month_day
                .iter()
                .any(|&d| d == date.day() || d == from_end)
    }

    /// `BYDAY` as a filter (DAILY, or with `BYMONTHDAY`): weekday and, if given, ordinal.
    fn weekday_allowed(&self, date: Date) -> bool {
        if self.by_day.is_empty() {
            return true;
        }
        let nth_from_start = (date.day() - 1) / 7 + 1;
        self.by_day.iter().any(|d| {
            d.weekday == date.weekday() && (d.nth == 0 || nth_matches(d.nth, nth_from_start, date))
        })
    }
}

/// Whether the `position`-th such weekday of its month (from the start) is the `nth`.
fn nth_matches(nth: i8, position: i8, date: Date) -> bool {
    if nth > 0 {
        nth == position
    } else {
        let from_end = (date.days_in_month() - date.day()) / 7 + 1;
        -nth == from_end
    }
}

/// Dates of a series in increasing order; see [`Rule::dates`].
#[derive(Debug)]
pub struct Dates<'r> {
    rule: &'r Rule,
    anchor: Date,
    anchor_period: Date,
    from: Date,
    period: i64,
    buffer: Vec<Date>,
    position: usize,
    emitted: u32,
    empty_periods: u32,
    done: bool,
}

/// A rule that selects nothing for this many periods in a row selects nothing at all
/// (e.g. `BYMONTH=2;BYMONTHDAY=30`); stop instead of looping.
const MAX_EMPTY_PERIODS: u32 = 2_000;

impl Iterator for Dates<'_> {
    type Item = Date;

    fn next(&mut self) -> Option<Date> {
        loop {
            if self.done {
                return None;
            }
            while self.position < self.buffer.len() {
                let date = self.buffer[self.position];
                self.position += 1;
                if date < self.anchor {
                    continue;
                }
                if let Some(count) = self.rule.count {
                    if self.emitted >= count {
                        self.done = true;
                        return None;
                    }
                    self.emitted += 1;
                }
                if date >= self.from {
                    return Some(date);
                }
            }
            let Some(start) = self.rule.nth_period(self.anchor_period, self.period) else {
                self.done = true;
                return None;
            };
            let mut buffer = std::mem::take(&mut self.buffer);
            self.rule.period_dates(start, self.anchor, &mut buffer);
            self.buffer = buffer;
            self.position = 0;
            self.period += i64::from(self.rule.interval);
            if self.buffer.is_empty() {
                self.empty_periods += 1;
                if self.empty_periods > MAX_EMPTY_PERIODS {
                    self.done = true;
                }
            } else {
                self.empty_periods = 0;
            }
        }
    }
}

mod text;

pub use text::{RuleError, check_combination, parse_rrule, weekday_code};

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn expand(rule: &str, anchor: Date, from: Date, n: usize) -> Vec<String> {
        let rule = parse_rrule(rule).unwrap();
        rule.dates(anchor, from)
            .take(n)
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn lists_hold_each_value_once() {
        let days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
        let huge = format!("FREQ=WEEKLY;BYDAY={}", days.repeat(1500).join(","));
        let (range, error) = parse_rrule(&huge).unwrap_err();
        assert_eq!(&huge[range], "MO");
        assert_eq!(error.message, "MO appears twice in BYDAY");
        let all_ordinals: Vec<String> = (1..=5)
            .chain(-5..=-1)
            .flat_map(|n| days.iter().map(move |d| format!("{n}{d}")))
            .chain(days.iter().map(|d| d.to_string()))
            .collect();
        let rule = format!("FREQ=MONTHLY;BYDAY={}", all_ordinals.join(","));
        assert_eq!(parse_rrule(&rule).unwrap().by_day.len(), 77);
        assert!(parse_rrule("FREQ=YEARLY;BYMONTH=3,3").is_err());
        assert!(parse_rrule("FREQ=MONTHLY;BYDAY=2TU,+2TU").is_err());
    }

    #[test]
    fn weekly_every_other_tuesday_keeps_phase_after_seek() {
        let anchor = date(2027, 1, 11);
        let all = expand("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", anchor, anchor, 4);
        assert_eq!(
            all,
            ["2027-01-12", "2027-01-26", "2027-02-09", "2027-02-23"]
        );
        let later = expand(
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            anchor,
            date(2027, 1, 27),
            2,
        );
        assert_eq!(later, ["2027-02-09", "2027-02-23"]);
    }

    #[test]
    fn monthly_ordinals_and_month_days() {
        let anchor = date(2027, 1, 1);
        assert_eq!(
            expand("FREQ=MONTHLY;BYDAY=2TU", anchor, anchor, 3),
            ["2027-01-12", "2027-02-09", "2027-03-09"]
        );
        assert_eq!(
            expand("FREQ=MONTHLY;BYDAY=-1FR", anchor, anchor, 2),
            ["2027-01-29", "2027-02-26"]
        );
        assert_eq!(
            expand("FREQ=MONTHLY;BYMONTHDAY=31", anchor, anchor, 3),
            ["2027-01-31", "2027-03-31", "2027-05-31"]
        );
        assert_eq!(
            expand("FREQ=MONTHLY;BYMONTHDAY=-1", anchor, anchor, 2),
            ["2027-01-31", "2027-02-28"]
        );
    }

    #[test]
    fn count_counts_from_the_anchor_even_when_seeking() {
        let anchor = date(2027, 1, 4);
        assert_eq!(
            expand("FREQ=WEEKLY;COUNT=3", anchor, date(2027, 1, 12), 10),
            ["2027-01-18"]
        );
    }

    /// Regression: YEARLY without BYMONTH was expanded in the start month only.
    #[test]
    fn yearly_without_bymonth_spans_the_year() {
        let anchor = date(2027, 1, 11);
        assert_eq!(
            expand("FREQ=YEARLY;BYMONTHDAY=15", anchor, anchor, 3),
            ["2027-01-15", "2027-02-15", "2027-03-15"]
        );
        let mondays = expand("FREQ=YEARLY;BYDAY=MO", anchor, anchor, 60);
        assert_eq!(mondays.len(), 60);
        assert_eq!(mondays[3], "2027-02-01");
        assert_eq!(
            expand("FREQ=YEARLY", anchor, anchor, 2),
            ["2027-01-11", "2028-01-11"]
        );
    }

    #[test]
    fn impossible_rule_ends_instead_of_looping() {
        let anchor = date(2027, 1, 1);
        assert!(expand("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", anchor, anchor, 1).is_empty());
    }

    #[test]
    fn parse_errors_point_into_the_rule() {
        let cases = [
            ("FREQ=WEEKLY;BYDAY=XX", 18..20, "not a BYDAY day"),
            (
                "FREQ=WEEKLY;BYDAY=TU,FRI",
                21..24,
                "\"FRI\" is not a BYDAY day",
            ),
            ("FREQ=WEEKLY;BYDAY=TUE", 18..21, "\"TUE\""),
            ("FREQ=HOURLY", 5..11, "more often"),
            ("INTERVAL=2", 0..10, "no FREQ"),
            ("FREQ=WEEKLY;BYHOUR=9", 12..20, "comes from `at`"),
            ("FREQ=WEEKLY;BYDAY=2TU", 0..21, "ordinals"),
            ("FREQ=WEEKLY;FREQ=DAILY;BYDAY=TU", 12..22, "twice"),
            ("FREQ=WEEKLY;UNTIL=20270630T100000", 18..33, "UTC"),
            ("FREQ=WEEKLY;COUNT=2;UNTIL=20270101", 0..34, "both"),
            ("FREQ=MONTHLY;BYMONTHDAY=0", 24..25, "day 0"),
            ("FREQ=WEEKLY;bogus", 12..17, "NAME=VALUE"),
            ("FREQ=WEEKLY;INTERVAL=two;BYDAY=TU", 21..24, "not a number"),
        ];
        for (text, range, message) in cases {
            let (at, err) = parse_rrule(text).unwrap_err();
            assert_eq!(at, range, "{text}");
            assert!(err.message.contains(message), "{text}: {}", err.message);
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            "FREQ=MONTHLY;BYDAY=2TU",
            "FREQ=WEEKLY;UNTIL=20270630T215959Z;BYDAY=MO,TH",
            "FREQ=YEARLY;COUNT=3;BYMONTH=3;BYDAY=-1SU",
        ] {
            let rule = parse_rrule(text).unwrap();
            assert_eq!(rule.to_string(), text);
        }
    }
}
