//! A calendar feed read by the two independent parsers the feed tests compare with
//! `plan` (SPEC §9): Python's `icalendar` + `recurring-ical-events`, and ical.js
//! (`tests/ical/icaljs_check.mjs`). Each gives the meetings it expands, in order, as
//! (start, UID, SEQUENCE).

use jiff::Timestamp;

/// A meeting as a parser expands it: its start, UID and SEQUENCE.
pub type Meeting = (Timestamp, String, u32);

/// The feed's meetings from `from` to `until` (inclusive), by each parser: Python's
/// first, then ical.js's.
pub fn expanded_by_both(feed: &str, from: Timestamp, until: Timestamp) -> [Vec<Meeting>; 2] {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feed.ics");
    std::fs::write(&file, feed).unwrap();
    let python = std::process::Command::new(super::python())
        .args(["-c", PYTHON])
        .arg(&file)
        .arg(from.to_string())
        .arg(until.to_string())
        .output()
        .unwrap();
    let (node, icaljs) = super::icaljs();
    let node = std::process::Command::new(node)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/ical/icaljs_check.mjs"
        ))
        .arg(&file)
        .arg(from.to_string())
        .arg(until.to_string())
        .env("ICALJS_PATH", icaljs)
        .output()
        .unwrap();
    [rows(&python, "python"), rows(&node, "ical.js")]
}

fn rows(output: &std::process::Output, parser: &str) -> Vec<Meeting> {
    assert!(
        output.status.success(),
        "{parser}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<(String, String, u32)> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{parser}: {e}: {}", String::from_utf8_lossy(&output.stdout)));
    let mut meetings: Vec<Meeting> = rows
        .into_iter()
        .map(|(at, uid, seq)| (at.parse().unwrap(), uid, seq))
        .collect();
    meetings.sort();
    meetings
}

const PYTHON: &str = r#"
import datetime, json, sys
import icalendar, recurring_ical_events
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
assert str(cal.get("METHOD", "PUBLISH")) == "PUBLISH"
lo = datetime.datetime.fromisoformat(sys.argv[2])
hi = datetime.datetime.fromisoformat(sys.argv[3])
out = []
for e in recurring_ical_events.of(cal).between(lo, hi + datetime.timedelta(seconds=1)):
    start = e["DTSTART"].dt.astimezone(datetime.timezone.utc)
    out.append([start.strftime("%Y-%m-%dT%H:%M:%SZ"), str(e["UID"]), int(e.get("SEQUENCE", 0))])
print(json.dumps(out))
"#;
