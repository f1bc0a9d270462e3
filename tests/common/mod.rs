//! What the integration tests share: the example program, edits of it, and the binary.

#![allow(dead_code)] // each test crate uses its own part

pub mod feeds;
pub mod http;
pub mod imap;
pub mod intake;
pub mod rfc2047;
pub mod virtual_daemon;

use std::path::Path;

/// The people and two pairs most tests of what comes back use: Grace mentors Alan,
/// Margaret mentors Linus, Ada coordinates.
pub const TWO_PAIRS: &str = r#"[people.ada]
name = "Ada Lovelace"
email = "ada@example.org"

[people.grace]
name = "Grace Hopper"
email = "grace@example.org"

[people.alan]
name = "Alan Turing"
email = "alan@example.org"

[people.margaret]
name = "Margaret Hamilton"
email = "margaret@example.org"

[people.linus]
name = "Linus Torvalds"
email = "linus@example.org"

[[pairs]]
mentor = "grace"
mentee = "alan"

[[pairs]]
mentor = "margaret"
mentee = "linus"
"#;

/// Writes `dir/mentord.toml`: a weekly program in UTC from 2030-01-07 (Tuesdays at
/// 10:00, nothing due for years), on a SQLite store and a file transport in `dir`, Ada
/// coordinating, with `rest` (more sections, people, pairs) after it; its path.
pub fn program_in_2030(dir: &Path, rest: &str) -> std::path::PathBuf {
    let text = format!(
        r#"[program]
name = "Trust"
timezone = "UTC"
start = 2030-01-07
coordinator = "ada"
organizer = {{ name = "Mentoring", email = "mentoring@example.org" }}

[defaults]
every = "week"
on = "tue"
at = "10:00"
duration = "30m"
quiet_hours = "off"
digest = "off"

[store]
url = "sqlite://{db}"

[mail]
transport = "file"
dir = "{outbox}"
reply_to = "mentoring+{{token}}@example.org"

{rest}"#,
        db = dir.join("mentord.db").display(),
        outbox = dir.join("outbox").display(),
    );
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// Writes `dir/mentord.toml`: program `name`, weekly in UTC from the day of `meeting`
/// (on its weekday, at its time), the two pairs, a SQLite store and a file transport in
/// `dir`, replies read through `reply_to`; `defaults` are more `[defaults]` lines and
/// `sections` more sections before the people. Its path.
pub fn program_meeting_at(
    dir: &Path,
    name: &str,
    meeting: jiff::Timestamp,
    defaults: &str,
    sections: &str,
) -> std::path::PathBuf {
    let zoned = meeting.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let text = format!(
        r#"[program]
name = "{name}"
timezone = "UTC"
start = {date}
coordinator = "ada"
organizer = {{ name = "Mentoring", email = "mentoring@example.org" }}

[defaults]
every = "week"
on = "{weekday}"
at = "{at}"
duration = "30m"
quiet_hours = "off"
digest = "off"
{defaults}
[store]
url = "sqlite://{db}"

[mail]
transport = "file"
dir = "{outbox}"
reply_to = "mentoring+{{token}}@example.org"

{sections}
{two_pairs}"#,
        date = zoned.date(),
        weekday = zoned.strftime("%a").to_string().to_lowercase(),
        at = zoned.strftime("%H:%M"),
        db = dir.join("mentord.db").display(),
        outbox = dir.join("outbox").display(),
        two_pairs = TWO_PAIRS,
    );
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// The example program as committed.
const EXAMPLE_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/mentord.toml");

/// The example program, copied once per test process into a folder of its own. The
/// README's first command runs the daemon on `config/mentord.toml` and leaves a store
/// and an outbox beside it; a test that read them (`plan` opens the store beside the
/// file) failed after it ("no entry found for key"). Tests never see that state.
pub fn example() -> &'static str {
    static COPY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mentord-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join("mentord.toml");
        std::fs::copy(EXAMPLE_SOURCE, &copy).unwrap();
        copy.to_string_lossy().into_owned()
    })
}

/// The real binary, without the environment that would change which file or clock it uses.
pub fn mentord() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("mentord").unwrap();
    cmd.env_remove("MENTORD_CONFIG").env_remove("MENTORD_NOW");
    cmd
}

/// `mentord -c CONFIG check`: its exit code and what it said on stderr.
pub fn check(config: &Path) -> (i32, String) {
    let output = mentord()
        .arg("-c")
        .arg(config)
        .arg("check")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `mentord -c CONFIG deliver` with `mail` on stdin, as a mail server's pipe hands it
/// over, and then what became of it: `deliver` only stores the mail, and `mentord
/// intake --wait ID` takes in what waits (or waits for a running daemon to) and says
/// the verdict. Its exit code (`deliver`'s, or `intake`'s when that failed) and what
/// both said (stderr).
pub fn deliver(config: &Path, mail: &[u8]) -> (i32, String) {
    deliver_with(config, mail, &[])
}

/// [`deliver`] with `envs` set for both commands (`MENTORD_NOW`).
pub fn deliver_with(config: &Path, mail: &[u8], envs: &[(&str, &str)]) -> (i32, String) {
    let output = mentord()
        .arg("-c")
        .arg(config)
        .arg("deliver")
        .envs(envs.iter().copied())
        .write_stdin(mail.to_vec())
        .output()
        .unwrap();
    let code = output.status.code().unwrap_or(-1);
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    let Some(id) = queued_id(&said) else {
        return (code, said);
    };
    let intake = mentord()
        .arg("-c")
        .arg(config)
        .args(["intake", "--wait", &id])
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let taken = intake.status.code().unwrap_or(-1);
    let said = format!("{said}{}", String::from_utf8_lossy(&intake.stderr));
    (if code == 0 { taken } else { code }, said)
}

/// The `#ID` `deliver` said it stored the mail as.
pub fn queued_id(said: &str) -> Option<String> {
    let start = said.find("(#")? + 2;
    let end = start + said[start..].find(')')?;
    Some(said[start..end].to_string())
}

/// A text replacement in the example program.
pub type Edit = (&'static str, &'static str);

/// Margaret and Linus (Thursdays) lose 11 February to a new skip date.
pub const SKIP_11_FEBRUARY: Edit = (
    "skip = [2027-03-26, 2027-04-05, 2027-05-24]",
    "skip = [2027-03-26, 2027-04-05, 2027-05-24, 2027-02-11]",
);
/// Radia and Ken pause.
pub const PAUSE_RADIA_KEN: Edit = (
    "[[pairs]]\nmentor = \"radia\"",
    "[[pairs]]\nstatus = \"paused\"\nmentor = \"radia\"",
);
/// Radia and Ken end.
pub const END_RADIA_KEN: Edit = (
    "[[pairs]]\nmentor = \"radia\"",
    "[[pairs]]\nstatus = \"ended\"\nmentor = \"radia\"",
);
/// Vint's address changes.
pub const NEW_VINT_ADDRESS: Edit = (
    "email = \"vint@example.org\"",
    "email = \"vint.cerf@example.org\"",
);
/// Barbara and Vint meet half an hour later.
pub const LATER_BARBARA_VINT: Edit = ("at = \"11:30\"", "at = \"12:00\"");

/// The example program's text with `edits` applied; each must match.
pub fn example_with(edits: &[Edit]) -> String {
    let mut text = std::fs::read_to_string(EXAMPLE_SOURCE).unwrap();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "the example no longer contains {from:?}"
        );
        text = text.replace(from, to);
    }
    text
}

/// The example's invites, simulated from 4 to 5 January 2027 into `dir/sim` (the
/// program written to `dir/mentord.toml`); the folder of the mail.
pub fn example_first_invites(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("mentord.toml");
    std::fs::write(&config, example_with(&[])).unwrap();
    let out = dir.join("sim");
    mentord()
        .arg("-c")
        .arg(&config)
        .args(["simulate", "--from", "2027-01-04", "--until", "2027-01-05"])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    out
}

/// Writes the example, with `templates = "mine"`, to `dir`, and the given overrides.
pub fn example_with_templates(dir: &Path, overrides: &[(&str, &str)]) -> std::path::PathBuf {
    let text = example_with(&[(
        "skip = [2027-03-26, 2027-04-05, 2027-05-24]    # Good Friday, Easter Monday, Whit Monday",
        "skip = [2027-03-26, 2027-04-05, 2027-05-24]\ntemplates = \"mine\"",
    )]);
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    std::fs::create_dir_all(dir.join("mine")).unwrap();
    for (name, body) in overrides {
        std::fs::write(dir.join("mine").join(name), body).unwrap();
    }
    config
}

/// Radia and Ken's pair leaves the file (the people stay).
pub const REMOVE_RADIA_KEN: Edit = (
    "[[pairs]]\nmentor = \"radia\"\nmentee = \"ken\"\nevery = \"month\"\non = \"2nd wed\"\n\
     at = \"17:30\"\nduration = \"1h\"\n\
     goals = [\"Present the network redesign at the April all-hands\"]\n\n",
    "",
);

/// One message as Python's `email` package reads it (`tests/ical/eml_check.py`, standard
/// library only): headers, decoded text, HTML and calendar parts. Fails the test on any
/// problem with the message's layout.
pub fn read_eml(file: &Path) -> serde_json::Value {
    let output = std::process::Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/ical/eml_check.py"
        ))
        .arg(file)
        .output()
        .unwrap();
    let mail: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "eml_check.py {}: {e}\n{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(
        mail["problems"],
        serde_json::json!([]),
        "{}",
        file.display()
    );
    mail
}
/// The tests' Python: the project's own virtual environment (`target/test-venv`), made
/// and filled by `tests/ical/setup.sh` on first use, never the machine's Python.
pub fn python() -> &'static Path {
    static READY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    READY.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let status = std::process::Command::new("bash")
            .arg(format!("{root}/tests/ical/setup.sh"))
            .status()
            .expect("run tests/ical/setup.sh");
        assert!(
            status.success(),
            "tests/ical/setup.sh failed: the tests need their checkers and servers"
        );
        std::path::PathBuf::from(format!("{root}/target/test-venv/bin/python3"))
    })
}

/// `node` with ical.js ready (tests/ical/setup.sh installs it into target/test-node):
/// the command, and the package's folder for `ICALJS_PATH`.
pub fn icaljs() -> (&'static str, std::path::PathBuf) {
    python();
    let root = env!("CARGO_MANIFEST_DIR");
    (
        "node",
        std::path::PathBuf::from(format!("{root}/target/test-node/node_modules/ical.js")),
    )
}

/// `mentord -c CONFIG run` as a child process, its log in `log`.
pub fn start_daemon(config: &Path, log: std::path::PathBuf) -> std::process::Child {
    start_daemon_logging(config, log, "warn")
}

/// [`start_daemon`], its log at `level` (`RUST_LOG`).
pub fn start_daemon_logging(
    config: &Path,
    log: std::path::PathBuf,
    level: &str,
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", level)
        .env_remove("MENTORD_NOW")
        .env_remove("MENTORD_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Daemons, killed if the test ends early.
pub struct Daemons(pub Vec<Option<std::process::Child>>);

impl Daemons {
    /// SIGTERM to each, and each must stop cleanly (exit 0).
    pub fn stop(&mut self) {
        for child in self.0.iter().flatten() {
            std::process::Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status()
                .unwrap();
        }
        for child in self.0.iter_mut() {
            if let Some(mut c) = child.take() {
                assert!(c.wait().unwrap().success(), "a daemon did not stop cleanly");
            }
        }
    }
}

/// Waits (up to 30 s) until the process has a handler for SIGTERM (Linux: `SigCgt`), so
/// a SIGTERM or SIGHUP does not just kill it (everything may be sent before it gets
/// that far).
pub fn wait_until_it_handles_sigterm(child: &std::process::Child) {
    let status = format!("/proc/{}/status", child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let caught = std::fs::read_to_string(&status)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap())
            .unwrap();
        if caught & (1 << (15 - 1)) != 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon never set up its signal handlers"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for child in self.0.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub mod postgres;
pub mod smtp;
