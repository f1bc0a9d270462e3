//! The coordinator's page, `GET /` (docs/serving.md): the program at a glance, every pair, failed
//! deliveries, bouncing addresses, set-aside mail and the daemons. It shows
//! [`crate::status::report`], the model `mentord status` prints, so the two never
//! disagree: metadata only, never agenda or action-item text.
//!
//! Behind HTTP basic auth: user "coordinator", the password from `[http] password_env`
//! or `password_file`; without one there is no page. Guessing it is slow: after five
//! wrong passwords a client waits, longer after each ([`super::signin`]). The report
//! reads every series in the store (seconds for 50,000 pairs), so one is kept for a few
//! seconds and shared by every request, with each pair's health and what search and the
//! sorted columns look up ([`super::page_index`]); a page lists 100 pairs, found with `q`
//! (pair id, name or email address; case and accents ignored) and `attention=1` (only
//! pairs that need the coordinator), sorted with `sort` and `dir` (worst health first
//! by default), so no page is a megabyte table. Each pair links to its own page
//! ([`super::pair_page`]); pairs the digest flagged have its snooze and handled buttons
//! ([`super::coordinator`]).
//! Rendered from `templates/page/index.html` (compiled in, HTML auto-escaped).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{AutoEscape, Environment, Value};
use serde::{Deserialize, Serialize};

use super::Shared;
pub(super) use super::page_cache::{Snapshot, current};
use super::page_html::{guarded, page};
use super::page_index::{self, Said, Sort};
use super::signin;
use crate::status::{self, PairLine, Tally};

/// Pairs on one page.
pub const PER_PAGE: usize = 100;

/// Bouncing addresses listed (the count says how many there are in all).
const BOUNCES_SHOWN: usize = 100;

const TEMPLATE: &str = "page/index.html";
/// The page of one pair ([`super::pair_page`]), in the same environment.
pub(super) const PAIR_TEMPLATE: &str = "page/pair.html";

/// Pairs listed by name under "need attention" (the tile says how many in all).
const NEEDING_SHOWN: usize = 20;

/// How long a request waits for its turn to render.
const RENDER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// `?page=N&q=TEXT&attention=1&sort=COLUMN&dir=asc|desc`; anything unreadable counts as
/// absent.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
    q: Option<String>,
    attention: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

/// The response that refuses a request that is not the coordinator's: no page without a password, and
/// a wrong or missing one is refused ([`signin::refusal`]). Every coordinator's route
/// starts here.
pub(super) fn admit(shared: &Shared, peer: SocketAddr, headers: &HeaderMap) -> Option<Response> {
    let Some(password) = &shared.password else {
        return Some(page(
            StatusCode::NOT_FOUND,
            "No coordinator's page",
            "<p>This mentoring program has no password for its coordinator's page. Set \
             <code>password_env</code> or <code>password_file</code> in <code>[http]</code> \
             and restart mentord; until then, <code>mentord status</code> shows the same.</p>",
        ));
    };
    signin::refusal(&shared.guesses, peer, headers, password)
}

/// The page that says the store did not answer.
pub(super) fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        "<p>The store did not answer just now; try again in a minute. <code>mentord \
         status</code> and the daemon's log say more.</p>",
    )
}

/// GET `/`.
pub async fn index(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let started = Instant::now();
    if let Some(refused) = admit(&shared, peer, &headers) {
        return refused;
    }
    let program = shared.program();
    let report = match current(&shared, &program).await {
        Ok(report) => report,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the coordinator's page could not read the store");
            return unavailable();
        }
    };
    // One page is rendered at a time: a flood of page requests (the load check sent
    // 2,000 a second) then takes at most one core, and the daemon keeps the other for
    // sending. A request that cannot get its turn within two seconds is told to retry.
    let Ok(Ok(_turn)) = tokio::time::timeout(RENDER_WAIT, shared.report_cache.turn()).await else {
        let mut busy = page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "<p>The page is being shown to many at once; try again in a moment.</p>",
        );
        busy.headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("2"));
        return busy;
    };
    let zone = program.zone.name.to_string();
    let html = tokio::task::spawn_blocking(move || render(&report, &zone, &query)).await;
    let html = match html {
        Ok(Ok(html)) => html,
        Ok(Err(e)) => {
            tracing::error!(error = %format!("{e:#}"), "the coordinator's page did not render");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>The page did not render; the daemon's log says why.</p>",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "the coordinator's page did not render");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>The page did not render; the daemon's log says why.</p>",
            );
        }
    };
    let mut response = guarded((StatusCode::OK, Html(html)).into_response());
    if let Ok(timing) = HeaderValue::from_str(&format!(
        "page;dur={:.1}",
        started.elapsed().as_secs_f64() * 1000.0
    )) {
        response.headers_mut().insert("server-timing", timing);
    }
    response
}

/// A pair's line on the page: its status line, its health and the coordinator's say.
#[derive(Debug, Serialize)]
struct Row<'r> {
    #[serde(flatten)]
    line: &'r PairLine,
    /// `good`, `watch`, `at risk`; none for a pair the report does not know.
    health: Option<&'static str>,
    /// `good`, `watch`, `risk`: the CSS class.
    health_class: &'static str,
    /// In words, names made inert.
    reasons: Vec<String>,
    /// The link to the pair's own page.
    href: String,
    /// The digest's snooze and handled buttons: the pair needs the coordinator and they
    /// have not answered yet.
    buttons: bool,
    said: Option<&'r Said>,
}

/// A column's header link: sorts by it, the other way when it is the sort already.
#[derive(Debug, Serialize)]
struct Header {
    href: String,
    /// `▲` or `▼` on the column sorted by.
    mark: &'static str,
}

/// What the template shows: the report's lists cut to a page.
#[derive(Debug, Serialize)]
struct View<'r> {
    program: &'r str,
    now: &'r str,
    zone: &'r str,
    tally: Tally,
    pairs_total: usize,
    pending: u64,
    sent: u64,
    failed: u64,
    last_sent: Option<&'r str>,
    bouncing: usize,
    set_aside_total: i64,
    /// The pairs of this page, and where they are among those that match.
    pairs: Vec<Row<'r>>,
    /// Header links by column: health, pair, next, review, last.
    sort: std::collections::HashMap<&'static str, Header>,
    matched: usize,
    first: usize,
    last: usize,
    page: usize,
    pages: usize,
    previous: Option<String>,
    next: Option<String>,
    q: &'r str,
    attention: bool,
    failures: &'r [crate::store::Failure],
    bounces: &'r [crate::store::Bounce],
    set_aside: &'r [crate::store::SetAside],
    kept: &'r [status::KeptLine],
    kept_total: i64,
    delivery: Option<&'r status::DeliveryLine>,
    /// The pairs that need attention, all of them (a page of pairs may show few).
    needing: Vec<Needing<'r>>,
    daemons: &'r [status::DaemonLine],
    daemon_cannot_write: bool,
    no_daemon: bool,
    /// Mail `deliver` handed off that waits to be taken in.
    mail_waiting: Option<&'r status::WaitingLine>,
}

/// A pair that needs attention, with the link that finds it.
#[derive(Debug, Serialize)]
struct Needing<'r> {
    pair: &'r str,
    attention: &'r [&'static str],
    link: String,
}

/// Where the page's links keep the reader: search, filter, sort.
#[derive(Debug, Clone, Copy)]
struct Place<'q> {
    q: &'q str,
    attention: bool,
    sort: Sort,
    descending: bool,
}

impl Place<'_> {
    /// `?page=N`, keeping the filter and the sort (the default sort is left out).
    fn link(&self, page: usize) -> String {
        let mut link = page_link(self.q, self.attention, page);
        if self.sort != Sort::default() || self.descending {
            link.push_str("&sort=");
            link.push_str(self.sort.as_str());
            if self.descending {
                link.push_str("&dir=desc");
            }
        }
        link
    }
}

/// The page for `query`.
fn render(snapshot: &Snapshot, zone: &str, query: &PageQuery) -> anyhow::Result<String> {
    let report = &snapshot.report;
    let index = &snapshot.index;
    let q = page_index::bounded(query.q.as_deref().unwrap_or_default());
    let attention = query.attention.as_deref() == Some("1");
    let sort = query
        .sort
        .as_deref()
        .and_then(Sort::parse)
        .unwrap_or_default();
    let descending = query.dir.as_deref() == Some("desc");
    let place = Place {
        q,
        attention,
        sort,
        descending,
    };
    let needle = page_index::fold(q);
    let matching: Vec<usize> = index
        .ordered(sort, descending)
        .filter(|&i| !attention || !report.pairs[i].attention.is_empty())
        .filter(|&i| index.matches(i, &needle))
        .collect();
    let pages = matching.len().div_ceil(PER_PAGE).max(1);
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let from = (page - 1) * PER_PAGE;
    let shown = &matching[from..matching.len().min(from + PER_PAGE)];
    let rows = shown
        .iter()
        .map(|&i| {
            let line = &report.pairs[i];
            let entry = &index.entries[i];
            let health = entry.health.as_ref();
            Row {
                line,
                health: health.map(|h| h.level.as_str()),
                health_class: match health.map(|h| h.level) {
                    Some(crate::report::Level::AtRisk) => "risk",
                    Some(crate::report::Level::Watch) => "watch",
                    _ => "good",
                },
                reasons: health
                    .map(|h| h.reasons.iter().map(|r| crate::inert::shown(r)).collect())
                    .unwrap_or_default(),
                href: format!("/pairs/{}", encode(&line.pair)),
                buttons: entry.said.is_none()
                    && health.is_some_and(|h| h.level != crate::report::Level::Good),
                said: entry.said.as_ref(),
            }
        })
        .collect();
    let headers = Sort::ALL
        .into_iter()
        .map(|column| {
            let current = column == sort;
            let header = Place {
                sort: column,
                descending: current && !descending,
                ..place
            };
            let mark = match (current, descending) {
                (false, _) => "",
                (true, false) => " ▲",
                (true, true) => " ▼",
            };
            (
                column.as_str(),
                Header {
                    href: header.link(1),
                    mark,
                },
            )
        })
        .collect();
    let view = View {
        program: &report.program,
        now: &report.now,
        zone,
        tally: report.tally(),
        pairs_total: report.pairs.len(),
        pending: report.pending,
        sent: report.sent,
        failed: report.failed,
        last_sent: report.last_sent.as_deref(),
        bouncing: report.bounces.len(),
        set_aside_total: report.set_aside_total,
        pairs: rows,
        sort: headers,
        matched: matching.len(),
        first: if shown.is_empty() { 0 } else { from + 1 },
        last: from + shown.len(),
        page,
        pages,
        previous: (page > 1).then(|| place.link(page - 1)),
        next: (page < pages).then(|| place.link(page + 1)),
        q,
        attention,
        failures: &report.failures,
        bounces: &report.bounces[..report.bounces.len().min(BOUNCES_SHOWN)],
        set_aside: &report.set_aside,
        kept: &report.kept,
        kept_total: report.kept_total,
        delivery: report.delivery.as_ref(),
        needing: report
            .pairs
            .iter()
            // On the unfiltered page only: a search shows what it found.
            .filter(|line| q.is_empty() && !attention && !line.attention.is_empty())
            .take(NEEDING_SHOWN)
            .map(|line| Needing {
                pair: &line.pair,
                attention: &line.attention,
                link: page_link(&line.pair, false, 1),
            })
            .collect(),
        daemons: &report.daemons,
        daemon_cannot_write: report.daemon_cannot_write,
        no_daemon: !report.daemons.iter().any(|d| d.alive),
        mail_waiting: report.mail_waiting.as_ref(),
    };
    let template = templates().get_template(TEMPLATE)?;
    Ok(template.render(Value::from(minijinja::value::Serde(&view)))?)
}

/// `text` percent-encoded for a URL's query or path segment.
pub(super) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `?page=N`, keeping the filter.
fn page_link(q: &str, attention: bool, page: usize) -> String {
    let mut link = format!("?page={page}");
    if !q.is_empty() {
        link.push_str("&q=");
        link.push_str(&encode(q));
    }
    if attention {
        link.push_str("&attention=1");
    }
    link
}

/// The page's templates, compiled in, every value HTML-escaped.
pub(super) fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        // A broken built-in template fails the unit tests below; at run time the
        // lookup then says which template is missing.
        for (name, source) in [
            (TEMPLATE, include_str!("../../templates/page/index.html")),
            (
                PAIR_TEMPLATE,
                include_str!("../../templates/page/pair.html"),
            ),
        ] {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(error = %e, template = name, "a coordinator's page template does not compile");
            }
        }
        env
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::status::{DaemonLine, Report};

    fn line(i: usize, attention: Vec<&'static str>) -> PairLine {
        PairLine {
            pair: format!("mentor{i}-mentee{i}"),
            mentor: format!("Mentor {i}"),
            mentee: format!("Mentee <{i}>"),
            status: "active",
            next_meeting: Some("Tue 2027-01-12 10:00".into()),
            review: "upcoming",
            review_due: Some("2027-04-12".into()),
            last_sent: None,
            failures: 0,
            agenda_in: false,
            mentor_rsvp: Some("ACCEPTED (series)".into()),
            mentee_rsvp: None,
            bouncing: Vec::new(),
            mentor_checkin: None,
            mentee_checkin: None,
            health: "good",
            health_reasons: Vec::new(),
            attention,
            retrying: 0,
            unsubscribed: Vec::new(),
            cancelled: Vec::new(),
        }
    }

    fn status_report(pairs: usize) -> Report {
        Report {
            daily_budget: None,
            program_error: None,
            program: "Mentoring <2027>".into(),
            now: "Mon 2027-01-11 09:00".into(),
            pairs: (0..pairs)
                .map(|i| {
                    line(
                        i,
                        if i % 10 == 0 {
                            vec!["no agenda"]
                        } else {
                            vec![]
                        },
                    )
                })
                .collect(),
            pending: 3,
            sent: 4,
            failed: 0,
            last_sent: None,
            failures: Vec::new(),
            daemons: vec![DaemonLine {
                id: "d1".into(),
                host: "host".into(),
                pid: 7,
                mail: "file".into(),
                started: "Mon 2027-01-11 08:00".into(),
                last_heartbeat: "Mon 2027-01-11 09:00".into(),
                alive: true,
                holding: 0,
                program_lock: false,
                paused_until: Some("Mon 2027-01-11 09:05".into()),
                pause_reason: Some("connection refused".into()),
            }],
            bounces: Vec::new(),
            set_aside: Vec::new(),
            set_aside_total: 0,
            kept: Vec::new(),
            kept_total: 0,
            delivery: None,
            daemon_cannot_write: false,
            mail_waiting: None,
        }
    }

    fn query(page: &str, q: &str, attention: bool) -> PageQuery {
        PageQuery {
            page: Some(page.into()),
            q: Some(q.into()),
            attention: attention.then(|| "1".into()),
            sort: None,
            dir: None,
        }
    }

    fn report(pairs: usize) -> Snapshot {
        Snapshot::bare(status_report(pairs))
    }

    #[test]
    fn a_page_holds_a_hundred_pairs_and_links_on() {
        let html = render(&report(250), "UTC", &query("", "", false)).unwrap();
        assert_eq!(html.matches("<tr class=\"pair").count(), PER_PAGE);
        assert!(html.contains("href=\"?page=2\""), "{html}");
        let last = render(&report(250), "UTC", &query("3", "", false)).unwrap();
        assert_eq!(last.matches("<tr class=\"pair").count(), 50);
        assert!(last.contains("href=\"?page=2\""));
        assert!(!last.contains("?page=4"));
        // Past the end: the last page.
        let past = render(&report(250), "UTC", &query("99", "", false)).unwrap();
        assert_eq!(past, last);
    }

    #[test]
    fn filters_keep_their_links() {
        let html = render(&report(250), "UTC", &query("1", "mentor1", false)).unwrap();
        // mentor1, mentor10..19, mentor100..199
        assert_eq!(html.matches("<tr class=\"pair").count(), PER_PAGE);
        assert!(html.contains("href=\"?page=2&amp;q=mentor1\""), "{html}");
        let html = render(&report(250), "UTC", &query("1", "", true)).unwrap();
        assert_eq!(html.matches("<tr class=\"pair").count(), 25);
        let html = render(&report(250), "UTC", &query("1", "MENTEE <7>", false)).unwrap();
        assert_eq!(html.matches("<tr class=\"pair").count(), 1);
        assert!(html.contains("value=\"MENTEE &lt;7&gt;\""));
    }

    #[test]
    fn columns_sort_both_ways_and_links_keep_the_sort() {
        let mut by_next = query("1", "", false);
        by_next.sort = Some("next".into());
        let mut snapshot = status_report(3);
        snapshot.pairs[0].next_meeting = Some("Fri 2027-01-15 10:00".into());
        snapshot.pairs[2].next_meeting = None;
        let snapshot = Snapshot::bare(snapshot);
        let html = render(&snapshot, "UTC", &by_next).unwrap();
        let at = |id: &str| html.find(&format!("id=\"pair-{id}\"")).unwrap();
        assert!(at("mentor1-mentee1") < at("mentor0-mentee0"));
        assert!(at("mentor0-mentee0") < at("mentor2-mentee2"));
        // The header of the column sorted by turns it around; the others sort upwards.
        assert!(
            html.contains("href=\"?page=1&amp;sort=next&amp;dir=desc\""),
            "{html}"
        );
        assert!(html.contains("href=\"?page=1&amp;sort=pair\""), "{html}");
        by_next.dir = Some("desc".into());
        let html = render(&snapshot, "UTC", &by_next).unwrap();
        let at = |id: &str| html.find(&format!("id=\"pair-{id}\"")).unwrap();
        assert!(at("mentor0-mentee0") < at("mentor1-mentee1"));
    }

    #[test]
    fn health_is_shown_with_its_reasons_inert() {
        let status = status_report(3);
        let health = crate::report::Health {
            level: crate::report::Level::AtRisk,
            reasons: vec!["mail to Eve\u{202E}gnp.exe bounces <b>".to_string()],
        };
        let sources = crate::serve::page_index::Sources {
            health: [("mentor2-mentee2", &health)].into_iter().collect(),
            ..Default::default()
        };
        let index = crate::serve::page_index::Index::new(
            &status.pairs,
            &sources,
            jiff::Timestamp::UNIX_EPOCH,
            |t| t.to_string(),
        );
        let snapshot = Snapshot {
            report: status,
            index,
            records: Default::default(),
        };
        let html = render(&snapshot, "UTC", &PageQuery::default()).unwrap();
        // Worst first, with its buttons.
        let first = html.find("<tr class=\"pair").unwrap();
        assert!(html[first..].starts_with("<tr class=\"pair\" id=\"pair-mentor2-mentee2\""));
        assert!(html.contains("at risk"));
        assert!(
            html.contains("Eve&lt;U+202E&gt;gnp.exe bounces &lt;b&gt;"),
            "{html}"
        );
        assert!(!html.contains('\u{202E}'));
        assert!(html.contains("&#x2f;pairs&#x2f;mentor2-mentee2/snooze"));
        assert_eq!(html.matches("Snooze 2 weeks").count(), 1);
    }

    #[test]
    fn values_are_escaped() {
        let html = render(&report(3), "UTC", &PageQuery::default()).unwrap();
        assert!(html.contains("Mentoring &lt;2027&gt;"));
        assert!(
            html.contains("href=\"&#x2f;pairs&#x2f;mentor1-mentee1\""),
            "{html}"
        );
        assert!(html.contains("Mentee &lt;1&gt;"));
        assert!(!html.contains("<2027>"));
        assert!(html.contains("connection refused"));
    }
}
