//! The settings a pair inherits from `[defaults]` and may override: cadence, time,
//! duration, lead times, review rhythm, quiet hours. Read once per level, merged per pair,
//! with built-in defaults that follow the practice in MENTORING.md.

use jiff::SignedDuration;
use jiff::civil::Time;

use super::model::Zone;
use super::reader::{self, Table, Value};
use super::values::{
    Every, OnDay, QuietDays, QuietHours, ValueError, invalid, parse_duration, parse_every,
    parse_on_item, parse_positive_duration, parse_quiet_day, parse_quiet_hours, parse_time_of_day,
};
use super::zones::Zones;
use crate::cron::Cron;
use crate::diagnostic::{Diagnostics, Span};
use crate::recurrence::{ByDay, Freq, Rule, check_combination, parse_rrule};

/// A value with the span it came from, so a later check can point at it.
#[derive(Debug, Clone)]
pub(crate) struct Located<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// Keys that `[defaults]` and a pair share.
pub(crate) const SHARED_KEYS: &[&str] = &[
    "every",
    "on",
    "at",
    "rrule",
    "timezone",
    "duration",
    "location",
    "agenda_before",
    "reminder_before",
    "followup_after",
    "review_every",
    "review_grace",
    "checkin_every",
    "quiet_hours",
    "quiet_days",
    "cancel_notice",
];

/// One level of settings as written; `None` means not given at this level.
/// `Some(None)` on a switchable setting means `"off"`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Settings {
    pub(crate) every: Option<Located<Every>>,
    pub(crate) on: Option<Located<Vec<OnDay>>>,
    pub(crate) rrule: Option<Located<Rule>>,
    pub(crate) at: Option<Time>,
    /// Where `at` is written, for warnings about the hour it gives.
    pub(crate) at_span: Option<Span>,
    pub(crate) timezone: Option<Zone>,
    pub(crate) duration: Option<SignedDuration>,
    pub(crate) location: Option<String>,
    pub(crate) agenda_before: Option<Option<SignedDuration>>,
    pub(crate) reminder_before: Option<Option<SignedDuration>>,
    pub(crate) followup_after: Option<Option<SignedDuration>>,
    pub(crate) review_every: Option<Option<i32>>,
    pub(crate) review_grace: Option<i32>,
    pub(crate) checkin_every: Option<Option<i32>>,
    pub(crate) quiet_hours: Option<Option<QuietHours>>,
    pub(crate) quiet_days: Option<QuietDays>,
    pub(crate) cancel_notice: Option<SignedDuration>,
}

/// Built-in defaults: a fortnightly 45-minute meeting at 10:00, the agenda prompt two
/// days ahead, the mentor's reminder one day ahead, a follow-up two hours after, a review
/// every quarter with two weeks' grace, and no mail between 21:00 and 07:00.
pub(crate) mod builtin {
    use super::*;
    pub(crate) const EVERY: Every = Every::Weeks(2);
    pub(crate) const AT: Time = Time::constant(10, 0, 0, 0);
    pub(crate) const DURATION: SignedDuration = SignedDuration::from_mins(45);
    pub(crate) const AGENDA_BEFORE: SignedDuration = SignedDuration::from_hours(48);
    pub(crate) const REMINDER_BEFORE: SignedDuration = SignedDuration::from_hours(24);
    pub(crate) const FOLLOWUP_AFTER: SignedDuration = SignedDuration::from_hours(2);
    pub(crate) const REVIEW_EVERY_DAYS: i32 = 90;
    pub(crate) const REVIEW_GRACE_DAYS: i32 = 14;
    /// A check-in every four weeks: often enough to notice drift, rare enough not to nag.
    pub(crate) const CHECKIN_EVERY_DAYS: i32 = 28;
    pub(crate) const QUIET_HOURS: QuietHours = QuietHours {
        begin: Time::constant(21, 0, 0, 0),
        end: Time::constant(7, 0, 0, 0),
    };
    pub(crate) const DIGEST: &str = "0 8 * * MON";
    pub(crate) const CANCEL_NOTICE: SignedDuration = SignedDuration::from_hours(24);
}

impl Settings {
    /// Reads the shared keys from `table`, reporting bad values.
    pub(crate) fn read(
        table: &mut Table<'_, '_>,
        zones: &mut Zones,
        diags: &mut Diagnostics,
    ) -> Settings {
        let mut s = Settings::default();
        if let Some(v) = table.get("every") {
            s.every = located(v, "every", "\"2 weeks\"", diags, parse_every);
        }
        if let Some(v) = table.get("on") {
            s.on = read_on(v, diags);
        }
        if let Some(v) = table.get("rrule") {
            s.rrule = read_rrule(v, diags);
        }
        if let Some(v) = table.get("at") {
            s.at = reader::parsed(v, "at", "\"10:00\"", diags, parse_time_of_day);
            s.at_span = Some(diags.absolute(v.span()));
        }
        if let Some(v) = table.get("timezone") {
            s.timezone = zones.read(v, "timezone", diags);
        }
        if let Some(v) = table.get("duration") {
            s.duration = reader::parsed(v, "duration", "\"45m\"", diags, |t| {
                let d = parse_duration(t)?;
                if d.is_zero() {
                    return Err(invalid(
                        format!("a meeting of \"{t}\" never happens"),
                        "give the meeting a length, e.g. \"45m\" or \"1h\"",
                    ));
                }
                if d > SignedDuration::from_hours(24) {
                    return Err(invalid(
                        format!("a meeting of \"{t}\" is longer than a day"),
                        "meetings here last at most 24h; write e.g. \"45m\" or \"1h30m\"",
                    ));
                }
                Ok(d)
            });
        }
        if let Some(v) = table.get("location") {
            s.location = reader::parsed(v, "location", "\"Video call\"", diags, |t| {
                super::values::check_text(t).map(|()| t.to_string())
            });
        }
        s.agenda_before = switchable(
            table.get("agenda_before"),
            "agenda_before",
            diags,
            parse_positive_duration,
        );
        s.reminder_before = switchable(
            table.get("reminder_before"),
            "reminder_before",
            diags,
            parse_positive_duration,
        );
        s.followup_after = switchable(
            table.get("followup_after"),
            "followup_after",
            diags,
            parse_duration,
        );
        s.review_every = switchable(table.get("review_every"), "review_every", diags, parse_days);
        if let Some(v) = table.get("review_grace") {
            s.review_grace = reader::parsed(v, "review_grace", "\"14d\"", diags, parse_days);
        }
        s.checkin_every = switchable(
            table.get("checkin_every"),
            "checkin_every",
            diags,
            parse_checkin_days,
        );
        s.quiet_hours = switchable(
            table.get("quiet_hours"),
            "quiet_hours",
            diags,
            parse_quiet_hours,
        );
        if let Some(v) = table.get("quiet_days") {
            s.quiet_days = quiet_days(v, diags);
        }
        if let Some(v) = table.get("cancel_notice") {
            s.cancel_notice = reader::parsed(v, "cancel_notice", "\"24h\"", diags, parse_duration);
        }
        s
    }

    /// This level's value where given, else `fallback`'s.
    pub(crate) fn over(&self, fallback: &Settings) -> Settings {
        Settings {
            every: self.every.clone().or_else(|| fallback.every.clone()),
            on: self.on.clone().or_else(|| fallback.on.clone()),
            rrule: self.rrule.clone().or_else(|| fallback.rrule.clone()),
            at: self.at.or(fallback.at),
            at_span: self.at_span.clone().or(fallback.at_span.clone()),
            timezone: self.timezone.clone().or_else(|| fallback.timezone.clone()),
            duration: self.duration.or(fallback.duration),
            location: self.location.clone().or_else(|| fallback.location.clone()),
            agenda_before: self.agenda_before.or(fallback.agenda_before),
            reminder_before: self.reminder_before.or(fallback.reminder_before),
            followup_after: self.followup_after.or(fallback.followup_after),
            review_every: self.review_every.or(fallback.review_every),
            review_grace: self.review_grace.or(fallback.review_grace),
            checkin_every: self.checkin_every.or(fallback.checkin_every),
            quiet_hours: self.quiet_hours.or(fallback.quiet_hours),
            quiet_days: self.quiet_days.or(fallback.quiet_days),
            cancel_notice: self.cancel_notice.or(fallback.cancel_notice),
        }
    }

    pub(crate) fn sets_cadence(&self) -> bool {
        self.every.is_some() || self.on.is_some() || self.rrule.is_some()
    }

    /// The recurrence rule this level describes. `defaults` supplies what a pair that
    /// overrides only part of a friendly cadence (say `on`) leaves out.
    pub(crate) fn cadence(&self, defaults: Option<&Settings>) -> Result<Rule, (Span, ValueError)> {
        if let Some(rrule) = &self.rrule {
            if let Some(conflict) = self
                .every
                .as_ref()
                .map(|e| &e.span)
                .or(self.on.as_ref().map(|o| &o.span))
            {
                return Err((
                    conflict.clone(),
                    invalid(
                        "both `rrule` and `every`/`on` are set",
                        "describe the cadence one way: either `rrule`, or `every` with `on`",
                    ),
                ));
            }
            return Ok(rrule.value.clone());
        }
        let inherited = defaults.filter(|d| d.rrule.is_none());
        let every = self
            .every
            .clone()
            .or_else(|| inherited.and_then(|d| d.every.clone()));
        let on = self
            .on
            .clone()
            .or_else(|| inherited.and_then(|d| d.on.clone()));
        friendly_rule(every.as_ref(), on.as_ref())
    }
}

/// Turns `every` + `on` into a rule; an absent `on` means the weekday (or day of the
/// month) of the pair's first possible date, as RFC 5545 does with `DTSTART`.
fn friendly_rule(
    every: Option<&Located<Every>>,
    on: Option<&Located<Vec<OnDay>>>,
) -> Result<Rule, (Span, ValueError)> {
    let cadence = every.map_or(builtin::EVERY, |e| e.value);
    let (freq, interval) = match cadence {
        Every::Days(n) => (Freq::Daily, n),
        Every::Weeks(n) => (Freq::Weekly, n),
        Every::Months(n) => (Freq::Monthly, n),
    };
    let mut rule = Rule::new(freq, interval);
    let Some(on) = on else {
        return Ok(rule);
    };
    let every_text = match cadence {
        Every::Days(1) => "day".to_string(),
        Every::Days(n) => format!("{n} days"),
        Every::Weeks(1) => "week".to_string(),
        Every::Weeks(n) => format!("{n} weeks"),
        Every::Months(1) => "month".to_string(),
        Every::Months(n) => format!("{n} months"),
    };
    for item in &on.value {
        let conflict = |what: &str, help: &str| {
            Err((
                on.span.clone(),
                invalid(
                    format!("`on` = {what} does not fit `every` = \"{every_text}\""),
                    help,
                ),
            ))
        };
        match (*item, freq) {
            (OnDay::Weekday(d), Freq::Daily | Freq::Weekly) => {
                rule.by_day.push(ByDay { nth: 0, weekday: d })
            }
            (OnDay::Weekday(_), _) => {
                return conflict(
                    "a plain weekday",
                    "with a monthly cadence say which one, e.g. \"2nd tue\" or \"last fri\"",
                );
            }
            (OnDay::NthWeekday(nth, d), Freq::Monthly) => {
                rule.by_day.push(ByDay { nth, weekday: d })
            }
            (OnDay::NthWeekday(..), _) => {
                return conflict(
                    "an nth weekday",
                    "\"2nd tue\" needs `every = \"month\"`; for weekly meetings write just \"tue\"",
                );
            }
            (OnDay::MonthDay(d), Freq::Monthly) => rule.by_month_day.push(d),
            (OnDay::MonthDay(_), _) => {
                return conflict(
                    "a day of the month",
                    "a day of the month needs `every = \"month\"`; for weekly meetings name a weekday",
                );
            }
        }
    }
    if !rule.by_day.is_empty() && !rule.by_month_day.is_empty() {
        return Err((
            on.span.clone(),
            invalid(
                "`on` mixes weekdays and days of the month",
                "use either \"2nd tue\"-style days or day numbers, not both",
            ),
        ));
    }
    check_combination(&rule).map_err(|e| (on.span.clone(), e))?;
    Ok(rule)
}

fn located<T>(
    value: &Value<'_>,
    key: &str,
    example: &str,
    diags: &mut Diagnostics,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<Located<T>> {
    reader::parsed(value, key, example, diags, parse).map(|v| Located {
        value: v,
        span: diags.absolute(value.span()),
    })
}

/// `on = "tue"`, `on = "tue, thu"` or `on = ["tue", "thu"]`.
fn read_on(value: &Value<'_>, diags: &mut Diagnostics) -> Option<Located<Vec<OnDay>>> {
    let items = reader::list(value, "on", "\"tue\"", true, diags, |v, diags| {
        reader::parsed(v, "on", "\"tue\"", diags, |text| {
            text.split(',')
                .map(parse_on_item)
                .collect::<Result<Vec<_>, _>>()
        })
    })?;
    let days: Vec<OnDay> = items.into_iter().flatten().collect();
    if days.iter().enumerate().any(|(i, d)| days[..i].contains(d)) {
        diags
            .error(value.span(), "`on` names the same day twice")
            .help("give each day once, e.g. `on = \"tue, thu\"`");
        return None;
    }
    if days.is_empty() {
        diags
            .error(value.span(), "`on` names no day")
            .help("write e.g. `on = \"tue\"`, or leave `on` out to use the start date's weekday");
        return None;
    }
    Some(Located {
        value: days,
        span: diags.absolute(value.span()),
    })
}

fn read_rrule(value: &Value<'_>, diags: &mut Diagnostics) -> Option<Located<Rule>> {
    let text = reader::string(value, "rrule", "\"FREQ=WEEKLY;INTERVAL=2;BYDAY=TU\"", diags)?;
    match parse_rrule(text) {
        Ok(rule) => Some(Located {
            value: rule,
            span: diags.absolute(value.span()),
        }),
        Err((range, error)) => {
            reader::report(
                diags,
                reader::span_within(value, text, range),
                "rrule",
                error,
            );
            None
        }
    }
}

/// A setting that is a value or `"off"`: `Some(None)` is off.
/// `quiet_days = ["sat", "sun"]` (`[]` for none). Every day of the week cannot be quiet:
/// nothing could ever be sent.
fn quiet_days(value: &Value<'_>, diags: &mut Diagnostics) -> Option<QuietDays> {
    let example = "[\"sat\", \"sun\"]";
    let days = reader::list(value, "quiet_days", example, false, diags, |v, diags| {
        reader::parsed(v, "quiet_days", "\"sat\"", diags, parse_quiet_day)
    })?;
    let days = days.into_iter().fold(QuietDays::default(), QuietDays::with);
    let every_day = (0..7)
        .filter_map(|i| jiff::civil::Weekday::from_monday_zero_offset(i).ok())
        .all(|day| days.contains(day));
    if every_day {
        diags
            .error(value.span(), "every day of the week is a quiet day")
            .help("nothing could ever be sent: leave at least one working day, e.g. [\"sat\", \"sun\"]");
        return None;
    }
    Some(days)
}

fn switchable<T>(
    value: Option<&Value<'_>>,
    key: &str,
    diags: &mut Diagnostics,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Option<Option<T>> {
    let value = value?;
    if reader::is_off(value) {
        return Some(None);
    }
    reader::parsed(value, key, "\"...\" or \"off\"", diags, parse).map(Some)
}

/// Whole days, written as a duration: `"90d"`, `"12w"`.
fn parse_days(text: &str) -> Result<i32, ValueError> {
    whole_days(
        text,
        "reviews are counted in days: write e.g. \"90d\" or \"12w\"",
    )
}

/// `text` as whole days; `help` says how to write them where they are not.
fn whole_days(text: &str, help: &str) -> Result<i32, ValueError> {
    let seconds = parse_positive_duration(text)?.as_secs();
    if seconds % 86_400 != 0 {
        return Err(invalid(
            format!("\"{text}\" is not a whole number of days"),
            help,
        ));
    }
    Ok((seconds / 86_400) as i32)
}

/// The days between check-ins: whole days, at least a week (a question every few days
/// would be nagging, MENTORING.md).
fn parse_checkin_days(text: &str) -> Result<i32, ValueError> {
    let days = whole_days(
        text,
        "check-ins are counted in days: write e.g. \"4 weeks\" or \"30d\"",
    )?;
    if days < 7 {
        return Err(invalid(
            format!("a check-in every {days} days would nag"),
            "ask at most once a week: write e.g. \"4 weeks\" or \"30d\", or \"off\"",
        ));
    }
    Ok(days)
}

/// The coordinator digest schedule: a cron expression or `"off"`.
pub(crate) fn read_digest(value: &Value<'_>, diags: &mut Diagnostics) -> Option<Option<Cron>> {
    if reader::is_off(value) {
        return Some(None);
    }
    let text = reader::string(value, "digest", "\"0 8 * * MON\"", diags)?;
    match Cron::parse(text) {
        Ok(cron) if cron.firings_per_hour() > 1 => {
            let minutes = text.trim_start();
            let start = text.len() - minutes.len();
            let end = start + minutes.find(char::is_whitespace).unwrap_or(minutes.len());
            diags
                .error(
                    reader::span_within(value, text, start..end),
                    format!(
                        "`digest`: \"{text}\" sends a digest {} times an hour",
                        cron.firings_per_hour()
                    ),
                )
                .help("a digest comes at most hourly: give one minute, e.g. \"0 8 * * MON\" (Mondays at 08:00) or \"0 * * * *\" (every hour)");
            None
        }
        Ok(cron) => Some(Some(cron)),
        Err((range, error)) => {
            reader::report(
                diags,
                reader::span_within(value, text, range),
                "digest",
                error,
            );
            None
        }
    }
}
