//! `mentord import` and `mentord status --csv` through the real binary: the example
//! sheets rebuild the example program; a 5,000-person sheet with ten broken rows names
//! each by its line; what exports really look like (a byte order mark, quotes, `;`,
//! Windows-1252); a million rows, refused early.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

mod common;

use common::mentord;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn import(people: &Path, pairs: Option<&Path>) -> Run {
    let mut cmd = mentord();
    cmd.arg("import").arg("--people").arg(people);
    if let Some(pairs) = pairs {
        cmd.arg("--pairs").arg(pairs);
    }
    let output = cmd.output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The example program's `[program]` and `[defaults]`: everything before its people.
fn example_head() -> String {
    let text = std::fs::read_to_string(format!("{ROOT}/config/mentord.toml")).unwrap();
    let end = text.find("\n[people.").unwrap();
    text[..=end].to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn check(config: &Path) -> Run {
    let output = mentord()
        .arg("-c")
        .arg(config)
        .arg("check")
        .output()
        .unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn plan_json(config: &Path) -> String {
    let output = mentord()
        .arg("-c")
        .arg(config)
        .args(["plan", "--from", "2027-01-04", "--days", "120", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_example_sheets_rebuild_the_example_program() {
    let dir = tempfile::tempdir().unwrap();
    let run = import(
        Path::new(&format!("{ROOT}/config/people.csv")),
        Some(Path::new(&format!("{ROOT}/config/pairs.csv"))),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("ok: 12 people, 6 pairs"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(
            "goals = [\"Lead one design review by March\", \"Ship the on-call runbook by April\"]"
        ),
        "{}",
        run.stdout
    );
    let rebuilt = write(
        dir.path(),
        "mentord.toml",
        &format!("{}{}", example_head(), run.stdout),
    );
    let checked = check(&rebuilt);
    assert_eq!(checked.code, Some(0), "{}", checked.stderr);
    assert!(
        checked
            .stdout
            .contains("12 people, 6 pairs (5 active, 1 paused), 6 time zones"),
        "{}",
        checked.stdout
    );
    // Not only valid: the same program. Four months of its plan match the original's.
    let original_dir = tempfile::tempdir().unwrap();
    let original = original_dir.path().join("mentord.toml");
    std::fs::copy(format!("{ROOT}/config/mentord.toml"), &original).unwrap();
    assert_eq!(plan_json(&rebuilt), plan_json(&original));
}

/// Ten broken rows among 5,000 people and 2,500 pairs, each with what it must say.
#[test]
fn a_large_sheet_names_each_broken_row_by_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let zones = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", ""];
    let mut people = vec!["id,name,email,timezone,quiet_hours".to_string()];
    for i in 0..5000 {
        people.push(format!(
            "p{i},\"Person {i}, Jr.\",p{i}@example.org,{},",
            zones[i % zones.len()]
        ));
    }
    let mut pairs = vec!["mentor,mentee,start,goals,at,every,on,duration".to_string()];
    for i in 0..2500 {
        // The last pair's mentee is p1 (p4998 mentors p1 too), so p4999 is in no pair.
        let mentee = if i == 2499 { 1 } else { 2 * i + 1 };
        pairs.push(format!(
            "p{},p{mentee},2027-02-01,Goal one; Goal two,{:02}:30,2 weeks,tue,45m",
            2 * i,
            9 + i % 8
        ));
    }
    // (sheet, line, what the line becomes, what the error must say). Line n is
    // people[n - 1]: the header is line 1.
    let broken: [(&str, usize, String, &str); 10] = [
        (
            "people",
            15,
            "p13,P 13,p13@example.org,Berlin,".into(),
            "unknown time zone \"Berlin\"",
        ),
        (
            "people",
            101,
            "p99,P 99,p99-at-example.org,,".into(),
            "is not an email address",
        ),
        (
            "people",
            1002,
            "p1000,P 1000,P7@Example.org,,".into(),
            "is also the address on line 9",
        ),
        (
            "people",
            5001,
            "p11,P 4999,p4999@example.org,,".into(),
            "is also the id on line 13",
        ),
        (
            "people",
            4001,
            "p3999,P 3999,p3999@example.org,,25:00-07:00".into(),
            "`quiet_hours`",
        ),
        (
            "pairs",
            3,
            "p2,nobody,2027-02-01,,10:00,,,".into(),
            "unknown person \"nobody\"",
        ),
        (
            "pairs",
            500,
            "p996,p997,2027-02-30,,10:00,,,".into(),
            "\"2027-02-30\" is not a date",
        ),
        ("pairs", 1200, "p2396,p2397,,,25:00,,,".into(), "`at`"),
        (
            "pairs",
            2000,
            "p3996,p3997,,,10:00,fortnightly-ish,,".into(),
            "`every`",
        ),
        (
            "pairs",
            2501,
            "p4998,p4998,,,10:00,,,".into(),
            "both mentor and mentee",
        ),
    ];
    for (sheet, line, text, _) in &broken {
        let rows = if *sheet == "people" {
            &mut people
        } else {
            &mut pairs
        };
        rows[line - 1] = text.clone();
    }
    let people_csv = write(dir.path(), "people.csv", &(people.join("\n") + "\n"));
    let pairs_csv = write(dir.path(), "pairs.csv", &(pairs.join("\r\n") + "\r\n"));
    let started = Instant::now();
    let run = import(&people_csv, Some(&pairs_csv));
    let took = started.elapsed();
    eprintln!("import of 5,000 people and 2,500 pairs with ten broken rows: {took:?}");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stdout, "", "nothing on stdout when a row is invalid");
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains(": error: "))
        .collect();
    for (sheet, line, _, says) in &broken {
        let at = format!("{}/{sheet}.csv:{line}: error: ", dir.path().display());
        let found: Vec<&&str> = errors.iter().filter(|e| e.starts_with(&at)).collect();
        assert_eq!(found.len(), 1, "{at} once in:\n{}", run.stderr);
        assert!(
            found[0].contains(says),
            "{at} says {says:?}:\n{}",
            run.stderr
        );
    }
    assert_eq!(errors.len(), 10, "{}", run.stderr);
    assert!(
        run.stderr
            .ends_with("10 errors in 10 rows; nothing was printed\n"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| l.starts_with("  = help: "))
            .count(),
        10,
        "every error has a help line:\n{}",
        run.stderr
    );
}

/// The same sizes without the broken rows: the output, behind the example's head,
/// passes `check`.
#[test]
fn a_large_sheet_that_is_good_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    // Ada is the example head's coordinator.
    let mut people = vec![
        "Name,Email,Time zone".to_string(),
        "Ada Lovelace,ada@example.org,".into(),
    ];
    for i in 0..5000 {
        people.push(format!("Person {i},person.{i}@example.org,Asia/Tokyo"));
    }
    let mut pairs = vec!["mentor,mentee,goals".to_string()];
    for i in 0..2500 {
        // By address and by name: the sheet has no ids, they are derived.
        pairs.push(format!(
            "person.{}@example.org,Person {},A; B",
            2 * i,
            2 * i + 1
        ));
    }
    let people_csv = write(dir.path(), "people.csv", &(people.join("\n") + "\n"));
    let pairs_csv = write(dir.path(), "pairs.csv", &(pairs.join("\n") + "\n"));
    let run = import(&people_csv, Some(&pairs_csv));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("[people.\"person.4999\"]\n"),
        "derived ids"
    );
    assert!(
        run.stdout
            .contains("mentor = \"person.0\"\nmentee = \"person.1\"\ngoals = [\"A\", \"B\"]\n")
    );
    let config = write(
        dir.path(),
        "mentord.toml",
        &format!("{}{}", example_head(), run.stdout),
    );
    let checked = check(&config);
    assert_eq!(checked.code, Some(0), "{}", checked.stderr);
    assert!(
        checked.stdout.contains("5001 people, 2500 pairs"),
        "{}",
        checked.stdout
    );
}

#[test]
fn exports_with_a_byte_order_mark_quotes_and_semicolons_are_read() {
    let dir = tempfile::tempdir().unwrap();
    // Excel's "CSV UTF-8" in a German locale: a BOM, `;` between fields, CRLF.
    let people = write(
        dir.path(),
        "people.csv",
        "\u{feff} Name ; E-Mail ;Time Zone;ID\r\n\
         \"Hopper; Grace \"\"Amazing\"\"\";grace@example.org;America/New_York;\r\n\
         Alan Turing;alan@example.org;;\r\n\
         \"Ada\r\nLovelace\";ada@example.org;;ada\r\n",
    );
    let pairs = write(
        dir.path(),
        "pairs.csv",
        "mentor,mentee,goals,location\n\
         grace,Alan Turing,\" Lead a review by March;Ship the runbook; ;\",\"Room 4, \"\"Lovelace\"\"\"\n",
    );
    let run = import(&people, Some(&pairs));
    // A name with a line break is refused by the loader, on the row's first line.
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("people.csv:4: error: `name`"),
        "{}",
        run.stderr
    );
    let people = write(
        dir.path(),
        "people.csv",
        "\u{feff} Name ; E-Mail ;Time Zone;ID\r\n\
         \"Hopper; Grace \"\"Amazing\"\"\";grace@example.org;America/New_York;\r\n\
         Alan Turing;alan@example.org;;\r\n\
         Ada Lovelace;ada@example.org;;ada\r\n",
    );
    let run = import(&people, Some(&pairs));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let expected = "\
[people.grace]
name = \"Hopper; Grace \\\"Amazing\\\"\"
email = \"grace@example.org\"
timezone = \"America/New_York\"

[people.alan]
name = \"Alan Turing\"
email = \"alan@example.org\"

[people.ada]
name = \"Ada Lovelace\"
email = \"ada@example.org\"

[[pairs]]
mentor = \"grace\"
mentee = \"alan\"
location = \"Room 4, \\\"Lovelace\\\"\"
goals = [\"Lead a review by March\", \"Ship the runbook\"]
";
    assert!(run.stdout.ends_with(expected), "{}", run.stdout);
}

#[test]
fn header_problems_and_unreadable_sheets() {
    let dir = tempfile::tempdir().unwrap();
    let people = write(
        dir.path(),
        "people.csv",
        "name,mail address,timezone\nAda,ada@example.org,UTC\n",
    );
    let run = import(&people, None);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("people.csv:1: error: unknown column \"mail address\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("people.csv:1: error: the header has no \"email\" column"),
        "{}",
        run.stderr
    );
    let run = import(&dir.path().join("missing.csv"), None);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
    let run = import(dir.path(), None);
    assert_eq!(run.code, Some(2), "a folder is a wrong path");
    let good = write(dir.path(), "good.csv", "name,email\nAda,ada@example.org\n");
    let run = import(&good, Some(&dir.path().join("nope.csv")));
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stdout, "");
}

#[test]
fn status_csv_has_the_pair_table_rows() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mentord.toml");
    std::fs::copy(format!("{ROOT}/config/mentord.toml"), &config).unwrap();
    let output = mentord()
        .arg("-c")
        .arg(&config)
        .args(["status", "--csv"])
        .env("MENTORD_NOW", "2027-01-10T12:00:00+01:00")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut reader = csv::Reader::from_reader(output.stdout.as_slice());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "pair",
            "status",
            "next_meeting",
            "review",
            "review_due",
            "last_sent",
            "failures",
            "agenda_in",
            "mentor_rsvp",
            "mentee_rsvp",
            "bouncing",
            "mentor",
            "mentee",
            "attention",
            "health",
            "health_reasons"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(&rows[0][0], "grace-alan");
    assert_eq!(&rows[0][1], "active");
    assert_eq!(&rows[0][2], "Tue 2027-01-12 16:00");
    assert_eq!((&rows[0][3], &rows[0][4]), ("upcoming", "2027-04-12"));
    assert_eq!(&rows[5][1], "paused");
    assert_eq!(&rows[5][6], "0");
}

/// A people sheet of a million rows (40 MB) took 1.69 GB and 8 s, then printed 85 MB of
/// TOML that `mentord check` refuses (a program file may be 64 MB): the whole file and
/// several copies of every row were held. Now the sheet is read a row at a time and
/// refused as soon as its rows cannot fit in a program file, with how many rows there
/// are and the limit, and nothing on stdout.
#[test]
fn a_million_rows_are_refused_early_with_the_limit_and_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(file, "name,email").unwrap();
    for i in 0..1_000_000 {
        writeln!(file, "Person {i},person.{i}@example.org").unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let run = import(&path, None);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stdout, "", "nothing is printed for a refused sheet");
    let said = run.stderr.lines().next().unwrap();
    // The row past the limit: about 790,000 rows of 85 bytes of TOML fill 64 MB.
    let line: u64 = said
        .strip_prefix(&format!("{}:", path.display()))
        .and_then(|rest| rest.split(':').next())
        .and_then(|line| line.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!((700_000..900_000).contains(&line), "{said}");
    assert!(
        said.ends_with(
            "error: more rows than a program file can hold: 1000000 people make more than \
             the 64 MB of TOML a program file may be, and the rows from this one on do not fit"
        ),
        "{said}"
    );
    assert!(
        run.stderr
            .contains("`mentord check` refuses a program file over 64 MB"),
        "{}",
        run.stderr
    );
}

/// "José Müller", "François Œuvre" and "Zoë" as Windows-1252 writes them.
const LATIN: &[u8] =
    b"Name;E-Mail;Time zone\r\nJos\xe9 M\xfcller;jose@example.org;Europe/Madrid\r\n\
    Fran\xe7ois \x8cuvre;francois@example.org;Europe/Paris\r\nZo\xeb;zoe@example.org;\r\n";

/// A sheet saved as plain "CSV" by Excel in Western Europe is Windows-1252: every row
/// with an accent was refused as "not valid UTF-8", under a first error that the sheet
/// "has no people". Now it is read as Windows-1252, with a note saying so.
#[test]
fn a_windows_1252_sheet_is_read_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    std::fs::write(&path, LATIN).unwrap();
    let run = import(&path, None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    for expected in [
        "[people.jose]\nname = \"José Müller\"\n",
        "[people.francois]\nname = \"François Œuvre\"\n",
        "[people.zoe]\nname = \"Zoë\"\n",
    ] {
        assert!(run.stdout.contains(expected), "{}", run.stdout);
    }
    let note = format!(
        "{}:2:4: note: the file is not UTF-8 (the byte 0xE9 here); it was read as \
         Windows-1252 (Latin-1)",
        path.display()
    );
    assert!(run.stderr.starts_with(&note), "{}", run.stderr);
    assert!(run.stderr.contains("ok: 3 people"), "{}", run.stderr);
    assert!(!run.stderr.contains("no people"), "{}", run.stderr);
}

/// A sheet that mixes UTF-8 and other bytes is neither encoding: it is refused at its
/// first byte that is not UTF-8, by line and column, not as "no people".
#[test]
fn a_sheet_mixing_utf8_and_other_bytes_is_refused_where_it_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    let mut mixed = "name,email\nZoë,zoe@example.org\n".as_bytes().to_vec();
    mixed.extend_from_slice(b"Jos\xe9,jose@example.org\n");
    std::fs::write(&path, mixed).unwrap();
    let run = import(&path, None);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with(&format!(
            "{}:3: error: the file is not UTF-8: the byte 0xE9 at column 4 is not",
            path.display()
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("CSV UTF-8"), "{}", run.stderr);
    assert!(!run.stderr.contains("no people"), "{}", run.stderr);
}
