//! `plan --json`: one JSON array, one action object per line, streamed.
//!
//! ```json
//! {"at":"2027-01-10T09:00:00Z","kind":"agenda_prompt","pair":"grace-alan","to":["alan"],
//!  "zone":"America/New_York","local":"2027-01-10T04:00:00-05:00",
//!  "meeting":"2027-01-12T10:00:00+01:00","first":true}
//! ```
//!
//! `at` is the send (or meeting) time in UTC; `local` and `zone` are the same instant in
//! the recipient's zone (the meeting's zone for meetings and invites, the coordinator's
//! for digests and escalations). Meeting-related actions add `meeting` (its start, in
//! the meeting's zone) and `first`; review actions add `due` and `nudge` (1, 2; 3 is the
//! escalation). `pair` is `null` for digests. The array opens with the calendar changes
//! (`invite`, `invite_update`, `invite_cancel`, `occurrence_cancel`) at the window's
//! start, which add `method`, `sequence` and, for a cancelled meeting, `date`.
//!
//! A year of 50,000 pairs is millions of lines, and actions arrive in time order, which
//! hops between pairs at random. So each pair's unchanging part of a line (`"pair":…,
//! "to":[…],"zone":…`) is rendered once, up front, into one contiguous buffer: a line
//! then costs one look-up there instead of a walk through the pair, its people and
//! their strings.

use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::Range;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::plan_rows::ChangeRow;
use crate::program::{PersonIndex, Program, Zone};
use crate::schedule::{Action, Chunks, Recipient, Subject};

/// The pre-rendered audience fragments of every pair, and the zones they use.
struct Fragments {
    bytes: Vec<u8>,
    zones: Vec<TimeZone>,
    /// Per pair: for [`Recipient::Pair`, `Mentor`, `Mentee`, `Coordinator`], the byte
    /// range of its fragment and the index of the zone its local time is shown in.
    pairs: Vec<[(Range<u32>, u16); 4]>,
    meeting_zones: Vec<u16>,
    digest: (Range<u32>, u16),
}

impl Fragments {
    fn new(program: &Program) -> Fragments {
        let mut f = Fragments {
            bytes: Vec::with_capacity(program.pairs.len() * 300),
            zones: Vec::new(),
            pairs: Vec::with_capacity(program.pairs.len()),
            meeting_zones: Vec::with_capacity(program.pairs.len()),
            digest: (0..0, 0),
        };
        let mut zone_index: HashMap<String, u16> = HashMap::new();
        let mut zone_of = |f: &mut Fragments, zone: &Zone| -> u16 {
            *zone_index.entry(zone.name.to_string()).or_insert_with(|| {
                f.zones.push(zone.tz.clone());
                (f.zones.len() - 1) as u16
            })
        };
        let coordinator = program.coordinator;
        let coordinator_zone = zone_of(&mut f, &program.person(coordinator).zone);
        let range = f.push(
            program,
            None,
            &[coordinator],
            &program.person(coordinator).zone,
        );
        f.digest = (range, coordinator_zone);
        for pair in &program.pairs {
            let id = Some(pair.id.as_str());
            let meeting_zone = zone_of(&mut f, &pair.meeting.zone);
            let mentor_zone = zone_of(&mut f, &program.person(pair.mentor).zone);
            let mentee_zone = zone_of(&mut f, &program.person(pair.mentee).zone);
            let both = f.push(program, id, &[pair.mentor, pair.mentee], &pair.meeting.zone);
            let mentor = f.push(
                program,
                id,
                &[pair.mentor],
                &program.person(pair.mentor).zone,
            );
            let mentee = f.push(
                program,
                id,
                &[pair.mentee],
                &program.person(pair.mentee).zone,
            );
            let coord = f.push(
                program,
                id,
                &[coordinator],
                &program.person(coordinator).zone,
            );
            f.pairs.push([
                (both, meeting_zone),
                (mentor, mentor_zone),
                (mentee, mentee_zone),
                (coord, coordinator_zone),
            ]);
            f.meeting_zones.push(meeting_zone);
        }
        f
    }

    /// Appends `"pair":…,"to":[…],"zone":…` and returns its range.
    fn push(
        &mut self,
        program: &Program,
        pair: Option<&str>,
        to: &[PersonIndex],
        zone: &Zone,
    ) -> Range<u32> {
        let start = self.bytes.len() as u32;
        let out = &mut self.bytes;
        out.extend_from_slice(b"\"pair\":");
        match pair {
            Some(id) => write_json_string(out, id),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"to\":[");
        for (i, &person) in to.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_string(out, &program.person(person).id);
        }
        out.extend_from_slice(b"],\"zone\":");
        write_json_string(out, &zone.name);
        start..self.bytes.len() as u32
    }

    fn audience(&self, action: &Action) -> (&[u8], u16) {
        let (range, zone) = match action.pair {
            Some(pair) => {
                let slot = match action.to {
                    Recipient::Pair => 0,
                    Recipient::Mentor => 1,
                    Recipient::Mentee => 2,
                    Recipient::Coordinator => 3,
                };
                &self.pairs[pair as usize][slot]
            }
            None => &self.digest,
        };
        let bytes = &self.bytes[range.start as usize..range.end as usize];
        (bytes, *zone)
    }
}

/// Writes the actions as a JSON array, one object per line. The schedule runs on a
/// second thread, a batch ahead of the formatting.
pub(super) fn write(
    program: &Program,
    rows: &[ChangeRow],
    at: Timestamp,
    chunks: Chunks<'_>,
    out: &mut impl Write,
) -> io::Result<()> {
    let fragments = Fragments::new(program);
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Action>>(1);
        scope.spawn(move || {
            for chunk in chunks {
                if sender.send(chunk).is_err() {
                    break;
                }
            }
        });
        write_batches(
            program,
            &fragments,
            &changes(program, rows, at),
            receiver.into_iter(),
            out,
        )
    })
}

/// The calendar changes as the array's first objects, at the window's start, in the
/// zone of the pair's meetings (the program's for a pair no longer in the file).
fn changes(program: &Program, rows: &[ChangeRow], at: Timestamp) -> Vec<u8> {
    let meeting_zones: HashMap<&str, &Zone> = match rows {
        [] => HashMap::new(),
        _ => program
            .pairs
            .iter()
            .map(|p| (p.id.as_str(), &p.meeting.zone))
            .collect(),
    };
    let mut buf = Vec::new();
    for row in rows {
        let zone = meeting_zones
            .get(row.pair.as_str())
            .copied()
            .unwrap_or(&program.zone);
        buf.extend_from_slice(b"{\"at\":\"");
        write_instant(&mut buf, at, &TimeZone::UTC);
        buf.extend_from_slice(b"\",\"kind\":");
        write_json_string(&mut buf, row.kind.name());
        buf.extend_from_slice(b",\"pair\":");
        write_json_string(&mut buf, &row.pair);
        buf.extend_from_slice(b",\"to\":[");
        for (i, to) in row.to.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            write_json_string(&mut buf, to);
        }
        buf.extend_from_slice(b"],\"zone\":");
        write_json_string(&mut buf, &zone.name);
        buf.extend_from_slice(b",\"local\":\"");
        write_instant(&mut buf, at, &zone.tz);
        buf.extend_from_slice(
            format!(
                "\",\"method\":\"{}\",\"sequence\":{}",
                row.method, row.sequence
            )
            .as_bytes(),
        );
        if let Some(date) = row.date {
            buf.extend_from_slice(format!(",\"date\":\"{date}\"").as_bytes());
        }
        buf.extend_from_slice(b"}\n");
    }
    buf
}

/// Flushes the output buffer once it holds this much.
const FLUSH_AT: usize = 1 << 20;

fn write_batches(
    program: &Program,
    fragments: &Fragments,
    changes: &[u8],
    batches: impl Iterator<Item = Vec<Action>>,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
    buf.push(b'[');
    let mut first_line = true;
    for line in changes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        buf.extend_from_slice(if first_line { b"\n" } else { b",\n" });
        first_line = false;
        buf.extend_from_slice(line);
    }
    let zones = fragments.zones.len();
    let mut cache = Renderings {
        utc: Rendered::new(1),
        local: Rendered::new(zones),
        meeting: Rendered::new(zones),
    };
    for batch in batches {
        for group in batch.chunks(16) {
            // Actions in time order hop between pairs, so each fragment is a cache miss.
            // Touching the group's fragments first lets the CPU fetch them in parallel.
            let touched = group
                .iter()
                .map(|a| fragments.audience(a).0.first().copied().unwrap_or(0))
                .fold(0u8, u8::wrapping_add);
            std::hint::black_box(touched);
            for action in group {
                buf.extend_from_slice(if first_line { b"\n" } else { b",\n" });
                first_line = false;
                write_action(&mut buf, program, fragments, &mut cache, action);
            }
            if buf.len() >= FLUSH_AT {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    buf.extend_from_slice(if first_line { b"]\n" } else { b"\n]\n" });
    out.write_all(&buf)
}

/// The last rendering of an instant in each zone. Actions arrive in time order and
/// thousands share a time (every 10:00 meeting in Berlin on a Tuesday), so most
/// instants are rendered once and copied after.
struct Rendered {
    last: Vec<Option<(Timestamp, [u8; 25], u8)>>,
}

impl Rendered {
    fn new(zones: usize) -> Rendered {
        Rendered {
            last: vec![None; zones],
        }
    }

    fn write(&mut self, out: &mut Vec<u8>, at: Timestamp, zone_index: usize, zone: &TimeZone) {
        if let Some((t, bytes, len)) = &self.last[zone_index]
            && *t == at
        {
            out.extend_from_slice(&bytes[..*len as usize]);
            return;
        }
        let start = out.len();
        write_instant(out, at, zone);
        let written = &out[start..];
        if written.len() <= 25 {
            let mut bytes = [0u8; 25];
            bytes[..written.len()].copy_from_slice(written);
            self.last[zone_index] = Some((at, bytes, written.len() as u8));
        }
    }
}

/// Caches for the three instants of a line: `at` (UTC), `local`, `meeting`.
struct Renderings {
    utc: Rendered,
    local: Rendered,
    meeting: Rendered,
}

fn write_action(
    line: &mut Vec<u8>,
    program: &Program,
    fragments: &Fragments,
    cache: &mut Renderings,
    action: &Action,
) {
    line.extend_from_slice(b"{\"at\":\"");
    cache.utc.write(line, action.at, 0, &TimeZone::UTC);
    line.extend_from_slice(b"\",\"kind\":\"");
    line.extend_from_slice(action.kind.as_str().as_bytes());
    line.extend_from_slice(b"\",");
    let (audience, zone_index) = fragments.audience(action);
    line.extend_from_slice(audience);
    line.extend_from_slice(b",\"local\":\"");
    let zone_index = zone_index as usize;
    cache
        .local
        .write(line, action.at, zone_index, &fragments.zones[zone_index]);
    line.push(b'"');
    match action.subject {
        Subject::Meeting { start, first } => {
            line.extend_from_slice(b",\"meeting\":\"");
            match action.pair {
                Some(p) => {
                    let index = fragments.meeting_zones[p as usize] as usize;
                    cache
                        .meeting
                        .write(line, start, index, &fragments.zones[index]);
                }
                None => write_instant(line, start, &program.zone.tz),
            }
            line.extend_from_slice(if first {
                b"\",\"first\":true"
            } else {
                b"\",\"first\":false"
            });
        }
        Subject::Review { due, nudge } => {
            line.extend_from_slice(format!(",\"due\":\"{due}\",\"nudge\":{nudge}").as_bytes());
        }
        Subject::Checkin { on } => {
            line.extend_from_slice(format!(",\"on\":\"{on}\"").as_bytes());
        }
        Subject::Digest => {}
    }
    line.push(b'}');
}

fn write_json_string(out: &mut Vec<u8>, text: &str) {
    // Ids and zone names never need escaping; anything else goes through serde_json,
    // which escapes exactly what JSON requires.
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        let quoted = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
        out.extend_from_slice(quoted.as_bytes());
    }
}

/// RFC 3339 with the zone's offset at that instant (`Z` for UTC), written by hand:
/// this runs millions of times in a year's plan.
fn write_instant(out: &mut Vec<u8>, at: Timestamp, zone: &TimeZone) {
    let offset = zone.to_offset(at);
    let dt = offset.to_datetime(at);
    if !(0..=9999).contains(&dt.year()) {
        out.extend_from_slice(at.to_string().as_bytes());
        return;
    }
    write_datetime(out, dt);
    let seconds = offset.seconds();
    if seconds == 0 && zone.iana_name() == Some("UTC") {
        out.push(b'Z');
        return;
    }
    out.push(if seconds < 0 { b'-' } else { b'+' });
    let minutes = seconds.unsigned_abs() / 60;
    push_digits(out, minutes / 60, 2);
    out.push(b':');
    push_digits(out, minutes % 60, 2);
}

fn write_datetime(out: &mut Vec<u8>, dt: DateTime) {
    push_digits(out, dt.year() as u32, 4);
    out.push(b'-');
    push_digits(out, dt.month() as u32, 2);
    out.push(b'-');
    push_digits(out, dt.day() as u32, 2);
    out.push(b'T');
    push_digits(out, dt.hour() as u32, 2);
    out.push(b':');
    push_digits(out, dt.minute() as u32, 2);
    out.push(b':');
    push_digits(out, dt.second() as u32, 2);
}

fn push_digits(out: &mut Vec<u8>, mut value: u32, width: usize) {
    let mut buf = [b'0'; 4];
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_in_rfc3339() {
        let at: Timestamp = "2027-03-28T01:30:00Z".parse().unwrap();
        let cases = [
            ("UTC", "2027-03-28T01:30:00Z"),
            ("Europe/Berlin", "2027-03-28T03:30:00+02:00"),
            ("America/St_Johns", "2027-03-27T23:00:00-02:30"),
            ("Asia/Kathmandu", "2027-03-28T07:15:00+05:45"),
        ];
        for (zone, want) in cases {
            let mut out = Vec::new();
            write_instant(&mut out, at, &TimeZone::get(zone).unwrap());
            assert_eq!(String::from_utf8(out).unwrap(), want, "{zone}");
        }
    }
}
