//! Quiet days (SPEC §4, issue 24): a prompt, reminder or nudge due on one of the
//! recipient's `quiet_days` moves to the last working day before it, at the same time
//! of day. The story: many of the example year's agenda prompts landed on a weekend in
//! the mentee's zone (a Tuesday meeting's 48-hour prompt is a Sunday); a coordinator
//! who writes `quiet_days = ["sat", "sun"]` gets them on the Friday before, through
//! `plan` and the daemon alike.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use jiff::Timestamp;
use jiff::civil::Weekday;

/// The agenda prompts, reminders and nudges of `plan --json` for a year, by (kind, pair,
/// recipient, meeting or nth nudge): the recipient's local time and the UTC instant.
type Planned =
    std::collections::BTreeMap<(String, String, String, String), (jiff::ZonedDateTime, Timestamp)>;

fn planned(config: &std::path::Path) -> Planned {
    let output = common::mentord()
        .arg("-c")
        .arg(config)
        .args(["plan", "--from", "2027-01-11", "--days", "365", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let mut out = Planned::new();
    let mut nth = std::collections::HashMap::new();
    for r in rows {
        let kind = r["kind"].as_str().unwrap_or_default().to_string();
        if !matches!(
            kind.as_str(),
            "agenda_prompt" | "mentor_reminder" | "review_nudge"
        ) {
            continue;
        }
        let zone = r["zone"].as_str().unwrap();
        let at: Timestamp = r["at"].as_str().unwrap().parse().unwrap();
        let pair = r["pair"].as_str().unwrap().to_string();
        let to = r["to"].to_string();
        let which = match r["meeting"].as_str() {
            Some(meeting) => meeting.to_string(),
            None => {
                let n = nth
                    .entry((kind.clone(), pair.clone(), to.clone()))
                    .or_insert(0);
                *n += 1;
                format!("#{n}")
            }
        };
        let local = at.to_zoned_datetime(jiff::tz::TimeZone::get(zone).unwrap());
        out.insert((kind, pair, to, which), (local, at));
    }
    out
}

fn on_weekend(local: &jiff::ZonedDateTime) -> bool {
    matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday)
}

#[test]
fn weekend_prompts_move_to_the_working_day_before() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let before = planned(std::path::Path::new(common::example()));
    let weekend_prompts = before
        .iter()
        .filter(|((kind, ..), (local, _))| kind == "agenda_prompt" && on_weekend(local))
        .count();
    assert!(
        weekend_prompts > 10,
        "{weekend_prompts} prompts on a weekend"
    );

    let quiet = write(
        "quiet.toml",
        common::example_with(&[(
            "quiet_hours = \"21:00-07:00\"\n",
            "quiet_hours = \"21:00-07:00\"\nquiet_days = [\"sat\", \"sun\"]\n",
        )]),
    );
    let after = planned(&quiet);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "nothing lost or added"
    );
    let still: Vec<_> = after.values().filter(|(l, _)| on_weekend(l)).collect();
    assert!(still.is_empty(), "{still:?}");
    // Each moved one went to the Friday before: a prompt at the same time of day; a
    // reminder that quiet hours had pushed into Saturday morning goes on Friday evening,
    // when they begin.
    let (mut moved, mut same_time) = (0, 0);
    for (((kind, ..), (was, was_at)), (now, now_at)) in before.iter().zip(after.values()) {
        if on_weekend(was) {
            moved += 1;
            assert_eq!(now.weekday(), Weekday::Friday, "{kind} {was} -> {now}");
            assert!(now_at < was_at, "{kind} {was} -> {now}");
            if kind == "agenda_prompt" {
                assert_eq!(now.time(), was.time(), "{kind} {was} -> {now}");
                same_time += 1;
            }
        } else {
            assert_eq!(now_at, was_at, "{kind} on a working day stays");
        }
    }
    assert_eq!(same_time, weekend_prompts);
    assert!(moved > weekend_prompts, "reminders moved too");

    // Every day quiet is refused at its line.
    let all = write(
        "all.toml",
        common::example_with(&[(
            "quiet_hours = \"21:00-07:00\"\n",
            "quiet_hours = \"21:00-07:00\"\nquiet_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\n",
        )]),
    );
    let output = common::mentord()
        .arg("-c")
        .arg(&all)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("every day of the week is a quiet day"),
        "{said}"
    );
    assert!(said.contains(":27:"), "{said}");
}
