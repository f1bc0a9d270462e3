//! Every sentence right (issue 25 item 5), each as a new user met it, through the real
//! binary on a copy of the example.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::Path;

use common::{check, example_first_invites, example_with, mentord, read_eml};

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

// A coordinator of a program spread over the world ran `check` on 50,000 generated
// pairs: 23,000 of them meet outside 07:00–22:00 for someone, and `check` printed
// 184,000 lines of warnings, burying everything else it had to say (and taking over a
// second to print). The first ten pairs are shown in full; the others are counted in
// one warning at the first of them.
#[test]
fn check_counts_the_night_meetings_beyond_the_first_ten() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = example_with(&[]);
    for i in 0..14 {
        text.push_str(&format!(
            "\n[people.owl{i}]\nname = \"Owl {i}\"\nemail = \"owl{i}@example.org\"\n\
             \n[people.lark{i}]\nname = \"Lark {i}\"\nemail = \"lark{i}@example.org\"\n\
             \n[[pairs]]\nid = \"night-{i}\"\nmentor = \"owl{i}\"\nmentee = \"lark{i}\"\n\
             at = \"23:30\"\n"
        ));
    }
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, &text).unwrap();
    let (code, stderr) = check(&config);
    assert_eq!(code, 0, "{stderr}");
    // frances-dennis and night-0 … night-8 in full (each of the night pairs for both
    // of its people), the other five in one line, at the first of them.
    let full = stderr.matches("outside 07:00–22:00\n").count();
    assert_eq!(full, 1 + 9 * 2, "{stderr}");
    let line = text[..text.find("id = \"night-9\"").unwrap()]
        .lines()
        .count()
        + 1;
    assert!(
        stderr.contains(&format!(
            "mentord.toml:{}:6: warning: 5 more pairs meet outside 07:00–22:00 for one of \
             their people, the first of them \"night-9\"",
            line + 3
        )),
        "{stderr}"
    );
    assert_eq!(stderr.matches("warning:").count(), full + 1, "{stderr}");
}

/// The first mail of `kind` for `pair` that `simulate` wrote to `out`, as Python's
/// `email` reads it.
fn mail_of(out: &Path, kind: &str, pair: &str) -> serde_json::Value {
    let index: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    let entry = index
        .iter()
        .find(|e| e["kind"] == kind && e["pair"] == pair)
        .unwrap_or_else(|| panic!("no {kind} for {pair}"));
    read_eml(&out.join(entry["file"].as_str().unwrap()))
}

/// Its text.
fn text_of(out: &Path, kind: &str, pair: &str) -> String {
    mail_of(out, kind, pair)["text"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The example's mail from 4 to 12 January 2027 (its first meetings), simulated in
/// `dir`; the folder of the mail.
fn example_first_week(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("mentord.toml");
    std::fs::write(&config, example_with(&[])).unwrap();
    let out = dir.join("sim");
    simulate(&config, "2027-01-04", "2027-01-12", &out, &[]);
    out
}

fn simulate(config: &Path, from: &str, until: &str, out: &Path, extra: &[&str]) {
    let output = mentord()
        .arg("-c")
        .arg(config)
        .args(["simulate", "--from", from, "--until", until, "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

// The example reads no replies (no `reply_to`, no `[inbound]`): Alan sends his agenda to
// Grace himself. The day before their first meeting Grace's reminder said "Alan Turing
// has not sent an agenda yet", which mentord cannot know. It now says where the agenda
// comes from.
#[test]
fn without_reply_handling_the_reminder_claims_nothing_about_the_agenda() {
    let dir = tempfile::tempdir().unwrap();
    let out = example_first_week(dir.path());
    let text = text_of(&out, "mentor_reminder", "grace-alan");
    assert!(!text.contains("has not sent an agenda"), "{text}");
    assert!(
        text.contains("Alan Turing sends you the agenda directly: look for it in your inbox."),
        "{text}"
    );
}

// With replies read, the first agenda prompt ended with "— reply above this line —"
// but never asked for a reply. It now asks (the mentee's lines reach the mentor before
// they meet) above the line.
#[test]
fn the_first_agenda_prompt_asks_for_the_reply_its_line_is_for() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::program_in_2030(dir.path(), common::TWO_PAIRS);
    let out = dir.path().join("sim");
    simulate(&config, "2030-01-01", "2030-01-08", &out, &[]);
    let text = text_of(&out, "agenda_prompt", "grace-alan");
    let ask = text
        .find("Reply to this mail with a few lines")
        .unwrap_or_else(|| panic!("{text}"));
    let line = text.find("— reply above this line —").unwrap();
    assert!(ask < line, "{text}");
}

// Radia and Ken are paused the day their invites went out, before they ever met. Their
// cancel thanked them "for the time you gave each other"; it now says they had not met.
#[test]
fn a_pair_paused_before_meeting_is_not_thanked_for_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.toml");
    std::fs::write(&first, example_with(&[])).unwrap();
    let paused = dir.path().join("mentord.toml");
    std::fs::write(&paused, example_with(&[common::PAUSE_RADIA_KEN])).unwrap();
    let out = dir.path().join("sim");
    simulate(
        &paused,
        "2027-01-04",
        "2027-01-05",
        &out,
        &["--previous", first.to_str().unwrap()],
    );
    let text = text_of(&out, "invite_cancel", "radia-ken");
    assert!(!text.contains("the time you gave each other"), "{text}");
    assert!(text.contains("You had not met yet"), "{text}");
}

// Vint's prompt said "16:00 IST": Indian, Israel or Irish Standard Time? Subjects now name
// the zone as the rest of the mail does.
#[test]
fn subjects_name_the_zone_not_an_ambiguous_abbreviation() {
    let dir = tempfile::tempdir().unwrap();
    let out = example_first_week(dir.path());
    let mail = mail_of(&out, "agenda_prompt", "barbara-vint");
    assert_eq!(
        mail["subject"],
        "Your first meeting with Barbara Liskov: Tue 12 Jan, 16:00 (Asia/Kolkata)"
    );
}

// A mail server's admin reads `man mentord` to learn what `deliver`'s exit codes mean (75:
// try again later) and which environment variables it reads; the page had neither,
// nor one example.
#[test]
fn the_man_page_has_exit_codes_environment_and_examples() {
    let output = mentord().arg("man").output().unwrap();
    assert!(output.status.success());
    let page = String::from_utf8(output.stdout).unwrap();
    for wanted in [
        ".SH \"EXIT STATUS\"",
        "\\fB75\\fR",
        "EX_TEMPFAIL",
        ".SH ENVIRONMENT",
        "\\fBMENTORD_CONFIG\\fR",
        "\\fBMENTORD_NOW\\fR",
        "\\fBRUST_LOG\\fR",
        "MENTORD_SMTP_PASSWORD",
        ".SH EXAMPLES",
        "deliver\"\\fR",
    ] {
        assert!(page.contains(wanted), "{wanted} missing:\n{page}");
    }
}

// The mail server is down. The daemon's log said its next step was "a retry of mail that
// could not go" (also when nothing had failed) and ended in `next=Some(…)`, Rust's
// notation. It now says how many messages, since when and why, and writes the instant
// itself.
#[test]
fn the_log_says_which_mail_is_retried_and_why() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "{}\n[mail]\ntransport = \"smtp\"\nurl = \"smtp://127.0.0.1:{port}\"\ntls = \"none\"\n",
        example_with(&[])
    );
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    let log = run_until(&config, " delivered, ");
    let tick = log.lines().find(|l| l.contains(" delivered, ")).unwrap();
    assert!(tick.contains("next: retrying "), "{tick}");
    assert!(tick.contains(" that could not go since "), "{tick}");
    assert!(tick.contains("(Europe/Berlin): cannot connect"), "{tick}");
    assert!(!log.contains("a retry of mail"), "{log}");
    assert!(!log.contains("Some("), "{log}");
}

// Ada's invites went out; then Barbara and Vint agreed to meet every week, at 12:00, for
// an hour. `plan --from` a day in January listed "update (version 2)" at the start of
// that window: neither what changed nor when it goes (the daemon sends it at once, at
// its next reconcile). It now says both.
#[test]
fn plan_says_what_an_update_changes_and_that_it_goes_now() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mentord.toml");
    std::fs::write(&config, example_with(&[])).unwrap();
    run_until(&config, "10 delivered");
    std::fs::write(
        &config,
        example_with(&[(
            "at = \"11:30\"",
            "at = \"12:00\"\nevery = \"week\"\nduration = \"1h\"",
        )]),
    )
    .unwrap();
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .args(["plan", "--from", "2027-01-11", "--days", "3"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    let update = table
        .lines()
        .find(|l| l.contains("series update"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(update.starts_with("now (reconcile)"), "{table}");
    assert!(
        update.ends_with("update: every 2 weeks → every week, 11:30 → 12:00, 45 min → 1 h"),
        "{table}"
    );
    assert!(!table.contains("version"), "{table}");
}

/// Runs the daemon on `config`, its log at info, until the log says `text`; stops it
/// (it must exit cleanly) and returns the log.
fn run_until(config: &Path, text: &str) -> String {
    let log = config.with_file_name("daemon.log");
    let daemon = common::start_daemon_logging(config, log.clone(), "info");
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !read().contains(text) {
        assert!(std::time::Instant::now() < deadline, "{}", read());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    common::Daemons(vec![Some(daemon)]).stop();
    read()
}
