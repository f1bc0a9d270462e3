//! Parsers for the friendly values a coordinator writes, one file per kind: lengths and
//! moments (`time`: `"45m"`, `"10:00"`, quiet hours), cadences (`cadence`: `"2 weeks"`,
//! `"2nd tue"`), text, names and ids (`text`), and what mail is sent with (`mail`:
//! addresses, the Reply-To pattern, send rates). Each returns a [`ValueError`] that says
//! what is wrong and how to fix it; the loader adds the location.

mod cadence;
mod mail;
mod text;
mod time;

pub(crate) use crate::diagnostic::invalid;
pub(crate) use crate::diagnostic::{ValueError, closest};
pub(crate) use cadence::{Every, OnDay, parse_every, parse_on_item};
pub use mail::Rate;
pub(crate) use mail::{check_email, parse_rate, parse_reply_to};
pub(crate) use text::{check_id, check_name, check_text, hidden};
pub use time::QuietHours;
pub(crate) use time::{
    parse_duration, parse_positive_duration, parse_quiet_hours, parse_time_of_day,
};

#[cfg(test)]
mod tests {
    use jiff::civil::Time;

    use super::*;

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
