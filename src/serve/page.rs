//! The coordinator's page, `GET /` (docs/serving.md): the program at a glance, every pair, failed
//! deliveries, bouncing addresses, set-aside mail and the daemons. It shows
//! [`crate::status::report`], the model `mentord status` prints, so the two never
//! disagree: metadata only, never agenda or action-item text.
//!
//! Behind HTTP basic auth: user "coordinator", the password from `[http] password_env`
//! or `password_file`; without one there is no page. Guessing it is slow: after five
//! wrong passwords a client waits, longer after each ([`super::signin`]). The report
//! reads every series in the store (seconds for 50,000 pairs), so one is kept for a few
//! seconds and shared by every request; a page lists 100 pairs, found with `q` (pair id
//! or name) and `attention=1` (only pairs that need the coordinator), so no page is a
//! megabyte table.
//! Rendered from `templates/page/index.html` (compiled in, HTML auto-escaped).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{AutoEscape, Environment, Value};
use serde::{Deserialize, Serialize};

use super::Shared;
use super::page_html::{guarded, page};
use super::signin;
use crate::program::Program;
use crate::status::{self, PairLine, Report, StoredState, Tally};

/// How long a computed report is shown before it is computed again, at least; a report
/// that took long is kept ten times as long as it took, so a browser refreshing the page
/// never keeps the daemon computing more than a tenth of the time.
const FRESH_FOR: Duration = Duration::from_secs(5);

/// Pairs on one page.
pub const PER_PAGE: usize = 100;

/// Bouncing addresses listed (the count says how many there are in all).
const BOUNCES_SHOWN: usize = 100;

const TEMPLATE: &str = "page/index.html";

/// Pairs listed by name under "need attention" (the tile says how many in all).
const NEEDING_SHOWN: usize = 20;

/// How long a request waits for its turn to render.
const RENDER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The last report computed, for the program it was computed for.
/// With it, the turn to render a page: one at a time.
pub struct ReportCache(tokio::sync::Mutex<Option<Cached>>, tokio::sync::Semaphore);

impl Default for ReportCache {
    fn default() -> Self {
        ReportCache(
            tokio::sync::Mutex::default(),
            tokio::sync::Semaphore::new(1),
        )
    }
}

impl ReportCache {
    /// Drops the report kept, so the next page shows what just changed.
    pub async fn forget(&self) {
        *self.0.lock().await = None;
    }
}

struct Cached {
    /// Until when it is shown.
    until: Instant,
    program: Arc<Program>,
    report: Arc<Report>,
}

impl std::fmt::Debug for ReportCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportCache").finish_non_exhaustive()
    }
}

/// `?page=N&q=TEXT&attention=1`; anything unreadable counts as absent.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
    q: Option<String>,
    attention: Option<String>,
}

/// GET `/`.
pub async fn index(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let started = Instant::now();
    let Some(password) = &shared.password else {
        return page(
            StatusCode::NOT_FOUND,
            "No coordinator's page",
            "<p>This mentoring program has no password for its coordinator's page. Set \
             <code>password_env</code> or <code>password_file</code> in <code>[http]</code> \
             and restart mentord; until then, <code>mentord status</code> shows the same.</p>",
        );
    };
    if let Some(refused) = signin::refusal(&shared.guesses, peer, &headers, password) {
        return refused;
    }
    let program = shared.program();
    let report = match current_report(&shared, &program).await {
        Ok(report) => report,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the coordinator's page could not read the store");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "<p>The store did not answer just now; try again in a minute. <code>mentord \
                 status</code> and the daemon's log say more.</p>",
            );
        }
    };
    // One page is rendered at a time: a flood of page requests (the load check sent
    // 2,000 a second) then takes at most one core, and the daemon keeps the other for
    // sending. A request that cannot get its turn within two seconds is told to retry.
    let Ok(Ok(_turn)) = tokio::time::timeout(RENDER_WAIT, shared.report_cache.1.acquire()).await
    else {
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

/// The report for `program`, at most [`FRESH_FOR`] old (longer when it is slow to
/// compute); computed by one request at a time (the others wait for it rather than each reading the store).
async fn current_report(shared: &Shared, program: &Arc<Program>) -> anyhow::Result<Arc<Report>> {
    let mut cached = shared.report_cache.0.lock().await;
    if let Some(c) = cached.as_ref()
        && Instant::now() < c.until
        && Arc::ptr_eq(&c.program, program)
    {
        return Ok(c.report.clone());
    }
    let started = Instant::now();
    let now = crate::clock::now()?;
    let state = StoredState::read(&shared.store, program.mail.daily_budget(), now).await?;
    // This process is the daemon: it holds the SQLite store's lock for its life. Never
    // ask the file (`store::lock::is_held`): opening and closing a descriptor of the
    // database here would drop every POSIX lock the process holds on it, SQLite's own
    // included, and the next client to close cleanly would then delete the WAL under us.
    let state = StoredState {
        held: matches!(program.store.location, crate::store::Location::Sqlite(_)),
        ..state
    };
    let for_report = program.clone();
    let report = Arc::new(
        tokio::task::spawn_blocking(move || status::report(&for_report, state, now)).await?,
    );
    let took = started.elapsed();
    *cached = Some(Cached {
        until: Instant::now() + FRESH_FOR.max(took * 10),
        program: program.clone(),
        report: report.clone(),
    });
    Ok(report)
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
    pairs: &'r [&'r PairLine],
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
}

/// A pair that needs attention, with the link that finds it.
#[derive(Debug, Serialize)]
struct Needing<'r> {
    pair: &'r str,
    attention: &'r [&'static str],
    link: String,
}

/// The page for `query`.
fn render(report: &Report, zone: &str, query: &PageQuery) -> anyhow::Result<String> {
    let q = query.q.as_deref().unwrap_or_default().trim();
    let attention = query.attention.as_deref() == Some("1");
    let needle = q.to_lowercase();
    let matching: Vec<&PairLine> = report
        .pairs
        .iter()
        .filter(|line| !attention || !line.attention.is_empty())
        .filter(|line| needle.is_empty() || matches(line, &needle))
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
    let link = |to: usize| page_link(q, attention, to);
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
        pairs: shown,
        matched: matching.len(),
        first: if shown.is_empty() { 0 } else { from + 1 },
        last: from + shown.len(),
        page,
        pages,
        previous: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
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
    };
    let template = templates().get_template(TEMPLATE)?;
    Ok(template.render(Value::from(minijinja::value::Serde(&view)))?)
}

/// Whether `needle` (lower case) is in the pair's id or one of its people's names.
fn matches(line: &PairLine, needle: &str) -> bool {
    [&line.pair, &line.mentor, &line.mentee]
        .into_iter()
        .any(|text| text.to_lowercase().contains(needle))
}

/// `?page=N`, keeping the filter.
fn page_link(q: &str, attention: bool, page: usize) -> String {
    let mut link = format!("?page={page}");
    if !q.is_empty() {
        link.push_str("&q=");
        for byte in q.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                link.push(char::from(byte));
            } else {
                link.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    if attention {
        link.push_str("&attention=1");
    }
    link
}

/// The page's template, compiled in, every value HTML-escaped.
fn templates() -> &'static Environment<'static> {
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
        if let Err(e) = env.add_template(TEMPLATE, include_str!("../../templates/page/index.html"))
        {
            tracing::error!(error = %e, "the coordinator's page template does not compile");
        }
        env
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::status::DaemonLine;

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

    fn report(pairs: usize) -> Report {
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
        }
    }

    fn query(page: &str, q: &str, attention: bool) -> PageQuery {
        PageQuery {
            page: Some(page.into()),
            q: Some(q.into()),
            attention: attention.then(|| "1".into()),
        }
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
    fn values_are_escaped() {
        let html = render(&report(3), "UTC", &PageQuery::default()).unwrap();
        assert!(html.contains("Mentoring &lt;2027&gt;"));
        assert!(html.contains("Mentee &lt;1&gt;"));
        assert!(!html.contains("<2027>"));
        assert!(html.contains("connection refused"));
    }
}
