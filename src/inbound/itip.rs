//! Calendar replies (iTIP `METHOD:REPLY`, RFC 5546): who answered what, for the series
//! or one meeting. Read leniently, as clients write them differently: Outlook leaves out
//! `ORGANIZER` and upper-cases addresses, Gmail writes `RECURRENCE-ID` in UTC, Outlook
//! names its zones in Windows terms. Lines are unfolded, names compared without case,
//! and anything not understood is skipped rather than refused.

use jiff::civil::{Date, DateTime};

/// One attendee's answer, for the whole series or one meeting of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Answer {
    pub uid: String,
    /// `None` for the series.
    pub recurrence: Option<RecurrenceId>,
    /// The attendee's address, lower case, without `mailto:`.
    pub attendee: String,
    pub partstat: PartStat,
}

/// Which meeting an answer is about, as the client wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecurrenceId {
    /// `…Z`: an instant.
    Utc(jiff::Timestamp),
    /// A local time (with a `TZID` we may not know, such as Outlook's Windows names): the
    /// meeting's local date is what identifies it.
    Local(DateTime),
    Date(Date),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartStat {
    Accepted,
    Declined,
    Tentative,
    /// NEEDS-ACTION, DELEGATED or anything else.
    Other,
}

impl PartStat {
    pub fn as_str(self) -> &'static str {
        match self {
            PartStat::Accepted => "accepted",
            PartStat::Declined => "declined",
            PartStat::Tentative => "tentative",
            PartStat::Other => "needs-action",
        }
    }
}

/// Why a calendar object is set aside for the coordinator, for the methods an attendee's
/// client sends that mentord does not take (RFC 5546 §3.2): `COUNTER` (Outlook's
/// "Propose new time") and `REFRESH` (asking for the invite again). `None` for any
/// other: a `REPLY` is read by [`answers`], the rest is no attendee's answer.
pub fn refused(ics: &str) -> Option<String> {
    let lines = unfold(ics);
    let method = method(&lines)?;
    if method.eq_ignore_ascii_case("COUNTER") {
        Some(
            "a calendar COUNTER (a proposed new time): mentord does not take proposals; \
             the coordinator changes times in the program file"
                .into(),
        )
    } else if method.eq_ignore_ascii_case("REFRESH") {
        Some(
            "a calendar REFRESH request (a client asking for the invite again): mentord \
             sends invites only when the program changes; the coordinator can answer it"
                .into(),
        )
    } else {
        None
    }
}

/// The object's `METHOD`, trimmed.
fn method(lines: &[String]) -> Option<&str> {
    lines.iter().find_map(|line| {
        let (name, _, value) = split(line);
        name.eq_ignore_ascii_case("METHOD").then(|| value.trim())
    })
}

/// The answers in a calendar object whose method is `REPLY`; empty for any other method.
pub fn answers(ics: &str) -> Vec<Answer> {
    let lines = unfold(ics);
    if !method(&lines).is_some_and(|m| m.eq_ignore_ascii_case("REPLY")) {
        return Vec::new();
    }
    let mut answers = Vec::new();
    let mut event: Option<Event> = None;
    for line in &lines {
        let (name, params, value) = split(line);
        let name = name.to_ascii_uppercase();
        match name.as_str() {
            "BEGIN" if value.trim().eq_ignore_ascii_case("VEVENT") => {
                event = Some(Event::default())
            }
            "END" if value.trim().eq_ignore_ascii_case("VEVENT") => {
                if let Some(done) = event.take() {
                    answers.extend(done.answers());
                }
            }
            _ => {
                if let Some(event) = event.as_mut() {
                    event.read(&name, params, value);
                }
            }
        }
    }
    answers
}

#[derive(Debug, Default)]
struct Event {
    uid: Option<String>,
    recurrence: Option<RecurrenceId>,
    attendees: Vec<(String, PartStat)>,
}

impl Event {
    fn read(&mut self, name: &str, params: &str, value: &str) {
        match name {
            "UID" => self.uid = Some(value.trim().to_string()),
            "RECURRENCE-ID" => self.recurrence = recurrence_id(params, value.trim()),
            "ATTENDEE" => {
                let address = value.trim();
                let address = address
                    .get(..7)
                    .filter(|scheme| scheme.eq_ignore_ascii_case("mailto:"))
                    .map_or(address, |_| &address[7..]);
                let partstat = param(params, "PARTSTAT").map_or(PartStat::Other, |p| {
                    match p.to_ascii_uppercase().as_str() {
                        "ACCEPTED" => PartStat::Accepted,
                        "DECLINED" => PartStat::Declined,
                        "TENTATIVE" => PartStat::Tentative,
                        _ => PartStat::Other,
                    }
                });
                self.attendees
                    .push((address.trim().to_ascii_lowercase(), partstat));
            }
            _ => {}
        }
    }

    fn answers(self) -> impl Iterator<Item = Answer> {
        let Event {
            uid,
            recurrence,
            attendees,
        } = self;
        attendees
            .into_iter()
            .filter_map(move |(attendee, partstat)| {
                Some(Answer {
                    uid: uid.clone()?,
                    recurrence,
                    attendee,
                    partstat,
                })
            })
    }
}

/// Content lines, unfolded (RFC 5545 §3.1): a line break followed by a space or tab
/// continues the line. Bare LF is accepted as well as CRLF.
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match raw.strip_prefix([' ', '\t']) {
            Some(rest) if !lines.is_empty() => {
                if let Some(last) = lines.last_mut() {
                    last.push_str(rest);
                }
            }
            _ => lines.push(raw.to_string()),
        }
    }
    lines
}

/// `NAME;PARAM=x;P2="y:z":value` → (`NAME`, `;PARAM=x;P2="y:z"`, `value`). The colon
/// that ends the parameters is the first one outside quotes.
fn split(line: &str) -> (&str, &str, &str) {
    let mut quoted = false;
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let Some(colon) = colon else {
        return (line, "", "");
    };
    let head = &line[..colon];
    let value = &line[colon + 1..];
    match head.find(';') {
        Some(semicolon) => (&head[..semicolon], &head[semicolon..], value),
        None => (head, "", value),
    }
}

/// A parameter's value (unquoted), by name without case.
fn param<'a>(params: &'a str, name: &str) -> Option<&'a str> {
    params.split(';').find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"'))
    })
}

fn recurrence_id(params: &str, value: &str) -> Option<RecurrenceId> {
    let date = |text: &str| -> Option<Date> {
        let (y, rest) = (text.get(..4)?, text.get(4..)?);
        let (m, d) = (rest.get(..2)?, rest.get(2..4)?);
        Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
    };
    let is_date = param(params, "VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
    if is_date || value.len() == 8 {
        return date(value).map(RecurrenceId::Date);
    }
    let (day, time) = value.split_once(['T', 't'])?;
    let day = date(day)?;
    let utc = time.ends_with(['Z', 'z']);
    let time = time.trim_end_matches(['Z', 'z']);
    let (h, rest) = (time.get(..2)?, time.get(2..)?);
    let (mi, s) = (rest.get(..2)?, rest.get(2..4).unwrap_or("00"));
    let local = day.at(h.parse().ok()?, mi.parse().ok()?, s.parse().ok()?, 0);
    // A zone the tz database knows makes the time an instant; another (Outlook's Windows
    // names) leaves the local date to identify the meeting.
    let zone = if utc {
        Some(jiff::tz::TimeZone::UTC)
    } else {
        param(params, "TZID").and_then(|name| jiff::tz::TimeZone::get(name).ok())
    };
    match zone {
        Some(zone) => {
            let instant = zone.to_ambiguous_timestamp(local).compatible().ok()?;
            Some(RecurrenceId::Utc(instant))
        }
        None => Some(RecurrenceId::Local(local)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outlook: no ORGANIZER, the address in capitals, a Windows zone name.
    #[test]
    fn reads_outlook_declining_one_meeting() {
        let ics = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\n\
            VERSION:2.0\r\nBEGIN:VEVENT\r\nATTENDEE;PARTSTAT=DECLINED;CN=Alan Turing:MAILTO:ALAN@\r\n \
            EXAMPLE.ORG\r\nRECURRENCE-ID;TZID=W. Europe Standard Time:20270126T100000\r\n\
            UID:abc@mentord\r\nSUMMARY;LANGUAGE=en-US:Declined: Mentoring\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(
            answers(ics),
            vec![Answer {
                uid: "abc@mentord".into(),
                recurrence: Some(RecurrenceId::Local(
                    jiff::civil::date(2027, 1, 26).at(10, 0, 0, 0)
                )),
                attendee: "alan@example.org".into(),
                partstat: PartStat::Declined,
            }]
        );
    }

    /// Gmail: RECURRENCE-ID in UTC, a quoted CN with a colon in it.
    #[test]
    fn reads_gmail_in_utc() {
        let ics = "BEGIN:VCALENDAR\nMETHOD:REPLY\nBEGIN:VEVENT\nRECURRENCE-ID:20270126T090000Z\n\
            ATTENDEE;CN=\"Turing: Alan\";PARTSTAT=TENTATIVE:mailto:alan@example.org\nUID:abc\n\
            END:VEVENT\nEND:VCALENDAR\n";
        let got = answers(ics);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].partstat, PartStat::Tentative);
        assert_eq!(
            got[0].recurrence,
            Some(RecurrenceId::Utc("2027-01-26T09:00:00Z".parse().unwrap()))
        );
    }

    /// A zone the tz database knows turns the local time into an instant: Tokyo's
    /// midnight of the 13th is Berlin's 16:00 of the 12th.
    #[test]
    fn a_known_tzid_gives_an_instant() {
        let ics = "BEGIN:VCALENDAR\nMETHOD:REPLY\nBEGIN:VEVENT\nUID:x\n\
            RECURRENCE-ID;TZID=Asia/Tokyo:20270113T000000\n\
            ATTENDEE;PARTSTAT=DECLINED:mailto:a@b.org\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(
            answers(ics)[0].recurrence,
            Some(RecurrenceId::Utc("2027-01-12T15:00:00Z".parse().unwrap()))
        );
    }

    /// Outlook's "Propose new time" and a client asking for the invite again: each
    /// named for what it is.
    #[test]
    fn counter_and_refresh_are_named() {
        let counter = "BEGIN:VCALENDAR\r\nMETHOD:COUNTER\r\nBEGIN:VEVENT\r\nUID:x\r\n\
            ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert!(answers(counter).is_empty());
        assert!(
            refused(counter)
                .unwrap()
                .contains("COUNTER (a proposed new time)")
        );
        let refresh = "BEGIN:VCALENDAR\nMETHOD: refresh\nBEGIN:VEVENT\nUID:x\nEND:VEVENT\n";
        assert!(refused(refresh).unwrap().contains("REFRESH request"));
        let reply = "BEGIN:VCALENDAR\nMETHOD:REPLY\nEND:VCALENDAR\n";
        assert_eq!(refused(reply), None);
        assert_eq!(refused("garbage"), None);
    }

    #[test]
    fn only_replies_count() {
        let request = "BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nUID:x\n\
            ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@b\nEND:VEVENT\nEND:VCALENDAR\n";
        assert!(answers(request).is_empty());
        assert!(answers("garbage\n\n:::;;;").is_empty());
        assert!(answers("METHOD:REPLY\nBEGIN:VEVENT\nRECURRENCE-ID:2\nEND:VEVENT").is_empty());
    }
}
