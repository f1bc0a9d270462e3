//! The coordinator's page (`GET /`, SPEC §6) through the real binary: `mentord run`
//! serves it behind basic auth, on the real clock, from a SQLite store and a file
//! transport. No password, no page; a wrong one gets 401 and nothing of the program;
//! the right one gets every pair, found with `?q=`, 100 to a page; and a real browser
//! (headless Chromium) draws it at phone and desk widths, with an action link's page
//! beside it. The coordinator's week on it (issue 24 item 9): each pair's health with
//! its reasons, search that ignores accents and finds addresses, columns that sort, a
//! page per pair with its history and none of what they wrote, the report tab and its
//! CSV, and the digest's snooze as a button. The screenshots stay in
//! `target/test-output/page/` to be looked at.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mentord::vocab::links::{Action, Claim, Signer};

const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "a test secret of at least thirty-two bytes, for links";

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Tomorrow at this minute (UTC): the pairs' first meeting, under 48 hours away.
fn meeting_tomorrow() -> Timestamp {
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let at = Timestamp::now()
        .checked_add(SignedDuration::from_hours(24))
        .unwrap();
    Timestamp::from_second(at.as_second() / 60 * 60).unwrap()
}

/// A weekly program in UTC meeting at `meeting`, with `[http]` on `port`; `pairs`
/// given as (mentor id, mentor name, mentee id, mentee name).
fn program(
    dir: &Path,
    port: u16,
    meeting: Timestamp,
    pairs: &[(String, String, String, String)],
) -> PathBuf {
    program_with(dir, port, meeting, pairs, "", "")
}

/// As [`program`], with more `[defaults]` and `[mail]` lines.
fn program_with(
    dir: &Path,
    port: u16,
    meeting: Timestamp,
    pairs: &[(String, String, String, String)],
    defaults: &str,
    mail: &str,
) -> PathBuf {
    let zoned = meeting.to_zoned_datetime(TimeZone::UTC);
    let mut text = format!(
        r#"[program]
name = "Page test program"
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
{mail}

[http]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
secret_env = "TEST_PAGE_SECRET"
password_env = "TEST_PAGE_PASSWORD"

[people.ada]
name = "Ada Lovelace"
email = "ada@example.org"
"#,
        date = zoned.date(),
        weekday = zoned.strftime("%a").to_string().to_lowercase(),
        at = zoned.strftime("%H:%M"),
        db = dir.join("mentord.db").display(),
        outbox = dir.join("outbox").display(),
    );
    let mut people = std::collections::BTreeSet::new();
    for (mentor, mentor_name, mentee, mentee_name) in pairs {
        for (id, name) in [(mentor, mentor_name), (mentee, mentee_name)] {
            if people.insert(id.clone()) {
                let _ = write!(
                    text,
                    "\n[people.{id}]\nname = \"{name}\"\nemail = \"{id}@example.org\"\n"
                );
            }
        }
    }
    for (mentor, _, mentee, _) in pairs {
        let _ = write!(
            text,
            "\n[[pairs]]\nmentor = \"{mentor}\"\nmentee = \"{mentee}\"\n"
        );
    }
    let config = dir.join("mentord.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// `mentord run` with the page's password and the links' secret in its environment.
fn start(config: &Path, dir: &Path) -> common::Daemons {
    let child: Child = Command::new(env!("CARGO_BIN_EXE_mentord"))
        .arg("-c")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .env("TEST_PAGE_PASSWORD", PASSWORD)
        .env("TEST_PAGE_SECRET", SECRET)
        .env_remove("MENTORD_NOW")
        .env_remove("MENTORD_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    common::Daemons(vec![Some(child)])
}

/// An HTTP/1.1 response: status, headers (names in lower case), body.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// GET `path`, as the coordinator with `password` if given.
fn get(port: u16, path: &str, password: Option<&str>) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(password) = password {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("coordinator:{password}"));
        let _ = write!(request, "Authorization: Basic {credentials}\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    assert!(
        !headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")),
        "this little client reads no chunks"
    );
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Waits (up to 60 s) until the daemon serves and its program is loaded.
fn wait_until_ready(port: u16, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = TcpStream::connect(("127.0.0.1", port)).is_ok()
            && get(port, "/readyz", None).status == 200;
        if ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon never got ready: {}",
            std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How many pair rows an HTML page has.
fn rows(html: &str) -> usize {
    html.matches("<tr class=\"pair").count()
}

fn small_pairs() -> Vec<(String, String, String, String)> {
    [
        ("grace", "Grace Hopper", "alan", "Alan Turing"),
        ("margaret", "Margaret Hamilton", "linus", "Linus Torvalds"),
        ("barbara", "Barbara Liskov", "vint", "Vint Cerf"),
    ]
    .iter()
    .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
    .collect()
}

#[test]
fn the_page_is_for_the_coordinator_only_and_shows_every_pair() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let meeting = meeting_tomorrow();
    let config = program(dir.path(), port, meeting, &small_pairs());
    // A stranger wrote to the program: the page lists the mail kept for the coordinator.
    let (code, said) = common::deliver(
        &config,
        b"From: someone@example.net\r\nTo: mentoring@example.org\r\nSubject: May I join?\r\n\
          Message-ID: <join@example.net>\r\n\r\nHello\r\n",
    );
    assert_eq!(code, 0, "{said}");
    let mut daemons = start(&config, dir.path());
    wait_until_ready(port, dir.path());

    let anonymous = get(port, "/", None);
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Basic realm=\"mentord\"")
    );

    let wrong = get(port, "/", Some("correct horse battery"));
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.header("www-authenticate"),
        Some("Basic realm=\"mentord\"")
    );
    for id in [
        "grace-alan",
        "margaret-linus",
        "barbara-vint",
        "Page test program",
    ] {
        assert!(!wrong.body.contains(id), "a wrong password saw {id}");
    }

    let page = get(port, "/", Some(PASSWORD));
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(rows(&page.body), 3, "{}", page.body);
    for id in [
        "grace-alan",
        "margaret-linus",
        "barbara-vint",
        "Grace Hopper",
        "Vint Cerf",
    ] {
        assert!(page.body.contains(id), "the page does not show {id}");
    }
    // The first meeting is tomorrow and no agenda is in: every pair needs attention.
    assert!(page.body.contains("no agenda"), "{}", page.body);

    let found = get(port, "/?q=hamilton", Some(PASSWORD));
    assert_eq!(rows(&found.body), 1);
    assert!(found.body.contains("margaret-linus"));
    assert!(!found.body.contains("grace-alan"));
    let none = get(port, "/?q=nobody", Some(PASSWORD));
    assert_eq!(rows(&none.body), 0);
    let by_id = get(port, "/?q=BARBARA-V", Some(PASSWORD));
    assert_eq!(rows(&by_id.body), 1);
    assert_eq!(rows(&get(port, "/?attention=1", Some(PASSWORD)).body), 3);

    // A real browser: the page at phone and desk widths, its DOM, and an action link.
    common::python(); // installs Chromium with the tests' other Debian packages
    let out = output_dir();
    let url = format!(
        "http://coordinator:{}@127.0.0.1:{port}/",
        PASSWORD.replace(' ', "%20")
    );
    let dom = browser(&["--dump-dom", &url]);
    assert_eq!(rows(&dom), 3, "the browser's DOM: {dom}");
    assert!(dom.contains("barbara-vint"));
    assert_eq!(dom.matches("<tr class=\"kept\">").count(), 1, "{dom}");
    assert!(dom.contains("May I join?") && dom.contains("action=\"/kept/1/handled\""));
    screenshot(&url, (390, 844), &out.join("page-phone.png"));
    screenshot(&url, (390, 2200), &out.join("page-phone-long.png"));
    screenshot(&url, (1280, 900), &out.join("page-desk.png"));

    let signer = Signer::new(SECRET.as_bytes(), &format!("http://127.0.0.1:{port}")).unwrap();
    let link = signer.link(&Claim {
        action: Action::CantMakeIt,
        person: "alan".into(),
        pair: "grace-alan".into(),
        subject: meeting.to_string(),
        expires: meeting.checked_add(SignedDuration::from_hours(1)).unwrap(),
    });
    let action = get(
        port,
        link.trim_start_matches(&format!("http://127.0.0.1:{port}")),
        None,
    );
    assert_eq!(action.status, 200, "{}", action.body);
    assert!(action.body.contains("Grace Hopper"));
    screenshot(&link, (390, 844), &out.join("action-phone.png"));

    daemons.stop();
}

#[test]
fn a_large_program_is_paged_a_hundred_pairs_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pairs: Vec<_> = (0..250)
        .map(|i| {
            (
                format!("mentor{i:03}"),
                format!("Mentor Number {i}"),
                format!("mentee{i:03}"),
                format!("Mentee Number {i}"),
            )
        })
        .collect();
    let config = program(dir.path(), port, meeting_tomorrow(), &pairs);
    let mut daemons = start(&config, dir.path());
    wait_until_ready(port, dir.path());

    let first = get(port, "/", Some(PASSWORD));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(rows(&first.body), 100);
    assert!(first.body.contains("href=\"?page=2\""), "no link to page 2");
    assert!(first.body.contains("mentor000-mentee000"));
    assert!(!first.body.contains("mentor100-mentee100"));
    assert!(
        first.body.len() < 200_000,
        "a page of 100 pairs is {} bytes",
        first.body.len()
    );
    let third = get(port, "/?page=3", Some(PASSWORD));
    assert_eq!(rows(&third.body), 50);
    assert!(third.body.contains("mentor249-mentee249"));
    assert!(third.body.contains("href=\"?page=2\""));
    let found = get(port, "/?q=number%2012", Some(PASSWORD));
    // 12, 120..129 as mentor and mentee: 11 pairs.
    assert_eq!(rows(&found.body), 11, "{}", found.body);

    daemons.stop();
}

/// The first Message-ID and Reply-To address of a mail of `kind` to `to` in `outbox`,
/// waited for (up to 30 s).
fn sent_to(outbox: &Path, kind: &str, to: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for entry in std::fs::read_dir(outbox).into_iter().flatten() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with(&format!("{kind}-")) {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let first = |list: Option<&mail_parser::Address<'_>>| {
                list.and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_string()
            };
            if first(message.to()) == to {
                return (
                    format!("<{}>", message.message_id().unwrap()),
                    first(message.reply_to()),
                );
            }
        }
        assert!(Instant::now() < deadline, "no {kind} to {to} within 30 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The pair ids of a page's rows, in order.
fn row_ids(html: &str) -> Vec<String> {
    html.split("<tr class=\"pair")
        .skip(1)
        .filter_map(|row| {
            let id = row.split_once("id=\"pair-")?.1;
            Some(id.split_once('"')?.0.to_string())
        })
        .collect()
}

/// Grace's mentee Alan has a mail bouncing, so grace-alan is at risk; Nguyễn Văn An
/// sends his agenda by reply. Ada, the coordinator, opens her page: grace-alan comes
/// first, "at risk" with its reason in words; she types `nguyen` (her keyboard has no
/// ễ) and finds An's pair, pastes an address and finds its pair; sorts by pair and back
/// by health; opens An's pair and sees that his agenda came, never what it says; opens
/// the report tab with its charts and downloads its CSV; and snoozes grace-alan with the
/// button beside it, which the digest then leaves out for two weeks. A page that could
/// not do these made her read every row of 300 (or 50,000), or open the store.
#[test]
fn the_coordinator_finds_the_pair_at_risk_reads_its_history_and_snoozes_it() {
    const AGENDA_WORDS: &str = "my promotion case and the salary talk";
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pairs: Vec<_> = [
        ("grace", "Grace Hopper", "alan", "Alan Turing"),
        ("margaret", "Margaret Hamilton", "an", "Nguyễn Văn An"),
        ("barbara", "Barbara Liskov", "vint", "Vint Cerf"),
    ]
    .iter()
    .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
    .collect();
    let config = program_with(
        dir.path(),
        port,
        meeting_tomorrow(),
        &pairs,
        "agenda_before = \"48h\"\nreminder_before = \"48h\"\n",
        "reply_to = \"mentoring+{token}@example.org\"\n",
    );
    let outbox = dir.path().join("outbox");
    let mut daemons = start(&config, dir.path());
    wait_until_ready(port, dir.path());

    // The prompts are late on the first start: they go at once.
    let (to_alan, _) = sent_to(&outbox, "agenda_prompt", "alan@example.org");
    let (to_an, reply_to) = sent_to(&outbox, "agenda_prompt", "an@example.org");
    assert!(reply_to.starts_with("mentoring+"), "{reply_to}");
    let bounce = format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: mentoring@example.org\r\nSubject: Undelivered Mail\r\n\
         Message-ID: <bounce-1@mx.example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; alan@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: mentoring@example.org\r\n\
         To: alan@example.org\r\nMessage-ID: {to_alan}\r\n\r\n--r--\r\n"
    );
    let (code, said) = common::deliver(&config, bounce.as_bytes());
    assert_eq!(code, 0, "{said}");
    let agenda = format!(
        "From: =?utf-8?b?{name}?= <an@example.org>\r\nTo: {reply_to}\r\nSubject: Re: agenda\r\n\
         Message-ID: <agenda-1@example.org>\r\nIn-Reply-To: {to_an}\r\nReferences: {to_an}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Let us talk about {AGENDA_WORDS}.\r\n",
        name = base64::engine::general_purpose::STANDARD.encode("Nguyễn Văn An"),
    );
    let (code, said) = common::deliver(&config, agenda.as_bytes());
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("taken in: agenda"), "{said}");

    // The page's report is kept a few seconds: wait for one that knows of the bounce.
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let page = get(port, "/", Some(PASSWORD));
        assert_eq!(page.status, 200, "{}", page.body);
        if page.body.contains("at risk") {
            break page;
        }
        assert!(Instant::now() < deadline, "no pair at risk: {}", page.body);
        std::thread::sleep(Duration::from_millis(500));
    };
    // Worst first by default, with the reason in words.
    assert_eq!(row_ids(&page.body)[0], "grace-alan", "{}", page.body);
    assert!(page.body.contains("mail to Alan bounces"), "{}", page.body);
    assert!(!page.body.contains(AGENDA_WORDS));

    // Search: without the accent, in capitals, by address.
    for q in ["nguyen", "NGUYEN%20van", "Nguy%E1%BB%85n"] {
        let found = get(port, &format!("/?q={q}"), Some(PASSWORD));
        assert_eq!(row_ids(&found.body), ["margaret-an"], "{q}: {}", found.body);
    }
    let by_address = get(port, "/?q=vint%40example.org", Some(PASSWORD));
    assert_eq!(row_ids(&by_address.body), ["barbara-vint"]);
    let by_address = get(port, "/?q=Margaret%40EXAMPLE.org", Some(PASSWORD));
    assert_eq!(row_ids(&by_address.body), ["margaret-an"]);

    // Sorting.
    let by_pair = get(port, "/?sort=pair", Some(PASSWORD));
    assert_eq!(
        row_ids(&by_pair.body),
        ["barbara-vint", "grace-alan", "margaret-an"]
    );
    let backwards = get(port, "/?sort=pair&dir=desc", Some(PASSWORD));
    assert_eq!(
        row_ids(&backwards.body),
        ["margaret-an", "grace-alan", "barbara-vint"]
    );
    let best_first = get(port, "/?sort=health&dir=desc", Some(PASSWORD));
    assert_eq!(row_ids(&best_first.body).last().unwrap(), "grace-alan");
    // The headers link the sorts; health (the default) links the plain page.
    assert!(
        by_pair.body.contains("<a href=\"?page=1\">Health</a>"),
        "{}",
        by_pair.body
    );
    assert!(
        by_pair
            .body
            .contains("<a href=\"?page=1&amp;sort=pair&amp;dir=desc\">Pair ▲</a>")
    );

    // A pair's page: its history, metadata only.
    let history = get(port, "/pairs/margaret-an", Some(PASSWORD));
    assert_eq!(history.status, 200, "{}", history.body);
    assert!(history.body.contains("agenda received"), "{}", history.body);
    assert!(history.body.contains("agenda prompt"), "{}", history.body);
    assert!(history.body.contains("Nguyễn Văn An"), "{}", history.body);
    assert!(!history.body.contains(AGENDA_WORDS), "{}", history.body);
    assert!(!history.body.contains("promotion"), "{}", history.body);
    let alan = get(port, "/pairs/grace-alan", Some(PASSWORD));
    assert!(alan.body.contains("at risk") && alan.body.contains("bounce"));
    assert_eq!(get(port, "/pairs/nobody-here", Some(PASSWORD)).status, 404);
    assert_eq!(get(port, "/pairs/margaret-an", None).status, 401);

    // The report tab and its CSV.
    let report = get(port, "/report", Some(PASSWORD));
    assert_eq!(report.status, 200, "{}", report.body);
    assert!(report.body.contains("<svg"), "{}", report.body);
    assert!(report.body.contains("href=\"/\""));
    assert!(!report.body.contains(AGENDA_WORDS));
    let csv = get(port, "/report.csv", Some(PASSWORD));
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(
        csv.header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    assert!(csv.body.starts_with("pair,mentor,mentee,"), "{}", csv.body);
    assert!(csv.body.contains("grace-alan") && csv.body.contains("at risk"));
    assert_eq!(get(port, "/report.csv", None).status, 401);
    assert_eq!(
        get(port, "/report?from=yesterday", Some(PASSWORD)).status,
        400
    );

    // A real browser draws them all.
    common::python(); // installs Chromium with the tests' other Debian packages
    let out = output_dir();
    let base = format!(
        "http://coordinator:{}@127.0.0.1:{port}",
        PASSWORD.replace(' ', "%20")
    );
    let dom = browser(&["--dump-dom", &format!("{base}/?q=nguyen")]);
    assert_eq!(row_ids(&dom), ["margaret-an"], "{dom}");
    let dom = browser(&["--dump-dom", &format!("{base}/")]);
    assert_eq!(row_ids(&dom)[0], "grace-alan", "{dom}");
    assert!(dom.contains("action=\"/pairs/grace-alan/snooze\""), "{dom}");
    screenshot(
        &format!("{base}/"),
        (1280, 900),
        &out.join("page-health.png"),
    );
    screenshot(
        &format!("{base}/pairs/margaret-an"),
        (1280, 900),
        &out.join("pair-history.png"),
    );
    screenshot(
        &format!("{base}/report"),
        (1280, 1400),
        &out.join("report-tab.png"),
    );
    let dom = browser(&["--dump-dom", &format!("{base}/report")]);
    assert!(dom.contains("<svg"), "{dom}");

    // Snooze, from another site: refused; from the page: done.
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("coordinator:{PASSWORD}"))
    );
    let origin = format!("http://127.0.0.1:{port}");
    let post = |origin: &str| {
        common::http::request(
            port,
            "POST",
            "/pairs/grace-alan/snooze",
            &[("Authorization", auth.as_str()), ("Origin", origin)],
            b"",
        )
    };
    assert_eq!(post("https://evil.example").status, 403);
    let pressed = post(&origin);
    assert_eq!(pressed.status, 303, "{}", pressed.body);
    let after = get(port, "/", Some(PASSWORD));
    assert!(after.body.contains("snoozed until"), "{}", after.body);
    assert!(!after.body.contains("action=\"/pairs/grace-alan/snooze\""));
    // A well pair has nothing to snooze.
    let well = common::http::request(
        port,
        "POST",
        "/pairs/barbara-vint/snooze",
        &[
            ("Authorization", auth.as_str()),
            ("Origin", origin.as_str()),
        ],
        b"",
    );
    assert_eq!(well.status, 200);
    assert!(well.body.contains("Nothing was changed"));
    daemons.stop();

    // The digest's list: grace-alan is snoozed for two weeks, and nothing else.
    let flags = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = mentord::store::Store::open_read_only(&dir.path().join("mentord.db"))
                .await
                .unwrap()
                .unwrap();
            store.flags().await.unwrap()
        });
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0].pair, "grace-alan");
    assert_eq!(flags[0].level, "at risk");
    #[allow(clippy::disallowed_methods)] // the daemon under test runs on the real clock
    let in_13_days = Timestamp::now()
        .checked_add(SignedDuration::from_hours(13 * 24))
        .unwrap();
    assert!(flags[0].snoozed_until.unwrap() > in_13_days, "{flags:?}");
}

/// `target/test-output/page/`, made if need be.
fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output/page");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Headless Chromium with `args`; its standard output.
fn browser(args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("run chromium (tests/ical/setup.sh installs it)");
    assert!(
        output.status.success(),
        "chromium {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A screenshot of `url` at `size` into `file`, which must be a PNG of that size with
/// something on it.
fn screenshot(url: &str, (width, height): (u32, u32), file: &Path) {
    let _ = std::fs::remove_file(file);
    browser(&[
        &format!("--screenshot={}", file.display()),
        &format!("--window-size={width},{height}"),
        url,
    ]);
    let png = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(
        &png[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is no PNG",
        file.display()
    );
    let dimension = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!(
        (dimension(16), dimension(20)),
        (width, height),
        "{}",
        file.display()
    );
    // A blank page compresses to a few hundred bytes; text and tables do not.
    assert!(
        png.len() > 10_000,
        "{} is nearly empty ({} bytes)",
        file.display(),
        png.len()
    );
}
