//! Every sentence right (issue 25 item 5), each as a new user met it, through the real
//! binary on a copy of the example.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::{check, example_first_invites, example_with, read_eml};

// Vint lives in Kolkata, where clocks never change; his meetings are at 11:30 in Berlin.
// His invite told him "for a few weeks a year it is an hour earlier or later", when in
// fact from Berlin's summer time on (28 March) every meeting is at 15:00 instead of
// 16:00 for him. Frances, in Berlin, meets Dennis at 09:00 Sydney time: Sunday 23:00
// for her in January, Monday 01:00 from April — two hours and another day, not "an
// hour". Each must read what happens in their own zone, from the zones' rules.
#[test]
fn the_invite_says_what_the_clocks_do_in_your_zone() {
    let dir = tempfile::tempdir().unwrap();
    let out = example_first_invites(dir.path());
    let vint = read_eml(&out.join("00008-invite-barbara-vint.eml"));
    let text = vint["text"].as_str().unwrap();
    assert!(
        text.contains(
            "that is Tuesday 16:00 your time (Asia/Kolkata). From 28 March it is 15:00 your \
             time instead of 16:00, as the meeting's zone (Europe/Berlin) changes its clocks \
             and yours does not."
        ),
        "{text}"
    );
    assert!(!text.contains("a few weeks a year"), "{text}");
    let frances = read_eml(&out.join("00009-invite-frances-dennis.eml"));
    let text = frances["text"].as_str().unwrap();
    assert!(
        text.contains(
            "that is Sunday 23:00 your time (Europe/Berlin). From 29 March to 3 April it is \
             Monday 00:00 your time instead of Sunday 23:00, and from 4 April it is Monday \
             01:00 your time"
        ),
        "{text}"
    );
}

// Frances, in Berlin, meets Dennis at 09:00 Sydney time: 23:00 on a Sunday for her, and
// 01:00 on Monday once the clocks change. `check` said nothing. It now warns (the file
// still loads: some pairs agree to such hours), at the pair's `at`, with the line and
// column an editor jumps to.
#[test]
fn check_warns_of_a_meeting_outside_the_waking_day() {
    let dir = tempfile::tempdir().unwrap();
    let text = example_with(&[]);
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, &text).unwrap();
    let at = text
        .find("at = \"09:00\"                        # Sunday")
        .unwrap();
    let line = text[..at].lines().count() + 1;
    let (code, stderr) = check(&config);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "mentord.toml:{line}:6: warning: pair \"frances-dennis\" meets at 23:00 to 23:45 \
             on Sunday 10 January 2027 for Frances Allen (Europe/Berlin), outside 07:00–22:00"
        )),
        "{stderr}"
    );
    // Dennis's 09:00 in Sydney, and every other pair, are within the day.
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
}
