//! The report tab of the coordinator's page (SPEC §7), behind its basic auth:
//! `GET /report?from=DATE&until=DATE` is [`crate::report::html::render`]'s page (totals,
//! SVG charts, the pairs; no script) with a line on top to go back, change the period
//! and download it; `GET /report.csv` the same period as `mentord report --csv`, as a
//! download. Dates are days in the program's zone, both included; by default the
//! program's start to today (or its first day, before it starts). One report is computed at a time (the page's turn to
//! render): a year of 50,000 pairs takes about a second.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::civil::Date;
use serde::Deserialize;

use super::Shared;
use super::page::{admit, unavailable};
use super::page_html::{escape, guarded, page};
use crate::report::{self, Evidence};

/// The longest period a report covers, in days (ten years).
const MAX_DAYS: i32 = 3661;

/// How long a request waits for its turn to compute.
const TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// `?from=YYYY-MM-DD&until=YYYY-MM-DD`.
#[derive(Debug, Default, Deserialize)]
pub struct Period {
    from: Option<String>,
    until: Option<String>,
}

/// GET `/report`.
pub async fn html(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(period): Query<Period>,
) -> Response {
    respond(&shared, peer, &headers, &period, false).await
}

/// GET `/report.csv`.
pub async fn csv(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(period): Query<Period>,
) -> Response {
    respond(&shared, peer, &headers, &period, true).await
}

/// The period's first and last day, or what is wrong with it.
fn days(period: &Period, start: Date, today: Date) -> Result<(Date, Date), String> {
    let day = |text: &Option<String>, default: Date| match text.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => text.parse::<Date>().map_err(|_| {
            format!(
                "“{}” is not a date; write YYYY-MM-DD.",
                crate::inert::visible(&text.chars().take(40).collect::<String>())
            )
        }),
    };
    let first = day(&period.from, start)?;
    // Before the program starts, its first day.
    let last = day(&period.until, today.max(first))?;
    if last < first {
        return Err(format!(
            "The period ends ({last}) before it starts ({first})."
        ));
    }
    if (last - first).get_days() > MAX_DAYS {
        return Err("A report covers at most ten years.".to_string());
    }
    Ok((first, last))
}

async fn respond(
    shared: &Shared,
    peer: SocketAddr,
    headers: &HeaderMap,
    period: &Period,
    as_csv: bool,
) -> Response {
    if let Some(refused) = admit(shared, peer, headers) {
        return refused;
    }
    let program = shared.program();
    let zone = program.zone.tz.clone();
    let Ok(now) = crate::clock::now() else {
        return unavailable();
    };
    let today = zone.to_datetime(now).date();
    let (first, last) = match days(period, program.start, today) {
        Ok(days) => days,
        Err(why) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Which period?",
                &format!(
                    "<p>{}</p><p><a href=\"/report\">The whole program</a></p>",
                    escape(&why)
                ),
            );
        }
    };
    let Ok(Ok(_turn)) = tokio::time::timeout(TURN_WAIT, shared.report_cache.turn()).await else {
        let mut busy = page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "<p>A report is being computed; try again in a moment.</p>",
        );
        busy.headers_mut()
            .insert("retry-after", HeaderValue::from_static("5"));
        return busy;
    };
    let read = async {
        let from = crate::clock::start_of(first, &zone)?;
        let until = crate::clock::start_of(last.tomorrow()?, &zone)?;
        let evidence = Evidence::read(&shared.store, from, until, now)
            .await?
            .with_checkin_months(&shared.store, &program.zone.tz, from, until)
            .await?;
        let program = program.clone();
        let made = tokio::task::spawn_blocking(move || {
            let record = report::build(&program, &evidence, from, until, now);
            let period = format!("{first} – {last}");
            if as_csv {
                let mut out = Vec::new();
                report::csv::write(&mut out, &record)?;
                anyhow::Ok(out)
            } else {
                let html = report::html::render(&record, &program.name, &period)?;
                Ok(with_links(&html, first, last).into_bytes())
            }
        })
        .await??;
        anyhow::Ok(made)
    };
    let body = match read.await {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the report could not be made");
            return unavailable();
        }
    };
    let response = if as_csv {
        let disposition = format!("attachment; filename=\"report-{first}-{last}.csv\"");
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response()
    } else {
        (StatusCode::OK, Html(body)).into_response()
    };
    guarded(response)
}

/// The report's page with a line on top: back to the page, the period as a form (no
/// script), the CSV of the same period.
fn with_links(html: &str, first: Date, last: Date) -> String {
    let bar = format!(
        "<body>\n<nav style=\"display:flex;flex-wrap:wrap;gap:1em;align-items:center;margin-bottom:1em\">\
         <a href=\"/\">← the coordinator's page</a>\
         <form method=\"get\" action=\"/report\" style=\"display:flex;gap:.4em;align-items:center\">\
         <label>from <input type=\"date\" name=\"from\" value=\"{first}\"></label>\
         <label>until <input type=\"date\" name=\"until\" value=\"{last}\"></label>\
         <button type=\"submit\">Show</button></form>\
         <a href=\"/report.csv?from={first}&amp;until={last}\" download>Download as CSV</a></nav>"
    );
    html.replacen("<body>", &bar, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(from: &str, until: &str) -> Period {
        Period {
            from: Some(from.into()),
            until: Some(until.into()),
        }
    }

    #[test]
    fn a_period_is_two_days_in_order_at_most_ten_years_apart() {
        let start = Date::constant(2027, 1, 4);
        let today = Date::constant(2027, 6, 1);
        assert_eq!(days(&Period::default(), start, today), Ok((start, today)));
        assert_eq!(
            days(&period("2027-02-01", "2027-02-28"), start, today),
            Ok((Date::constant(2027, 2, 1), Date::constant(2027, 2, 28)))
        );
        assert!(days(&period("2027-03-01", "2027-02-01"), start, today).is_err());
        assert!(
            days(&period("<script>", ""), start, today)
                .unwrap_err()
                .contains("not a date")
        );
        assert!(days(&period("2000-01-01", "2027-01-01"), start, today).is_err());
        // Before the program starts.
        let early = Date::constant(2026, 12, 1);
        assert_eq!(days(&Period::default(), start, early), Ok((start, start)));
    }
}
