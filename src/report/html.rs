//! The report as one HTML page for a steering committee (`mentord report --html FILE`,
//! the page's report tab): the totals in sentences, three charts drawn as SVG (meetings
//! held and cancelled by month, the pairs' health, the check-in mean by month) and the
//! table of pairs. No script, no outside resources: it opens anywhere, prints, and can
//! be mailed. Rendered by minijinja with HTML auto-escaping, so a name is never markup.

use minijinja::{Environment, Value, context};
use serde::Serialize;

use super::csv::decimal;
use super::{Level, Report};

const TEMPLATE: &str = include_str!("report.html");

/// Bars of one month: heights in chart units (the chart is 100 high).
#[derive(Debug, Serialize)]
struct Bar {
    label: String,
    x: u32,
    held: u32,
    held_y: u32,
    cancelled: u32,
    cancelled_y: u32,
    held_count: u32,
    cancelled_count: u32,
}

#[derive(Debug, Serialize)]
struct Point {
    label: String,
    x: u32,
    y: u32,
    mean: String,
}

#[derive(Debug, Serialize)]
struct Slice {
    label: &'static str,
    class: &'static str,
    count: u32,
    x: u32,
    width: u32,
}

#[derive(Debug, Serialize)]
struct Row {
    pair: String,
    mentor: String,
    mentee: String,
    planned: u32,
    held: u32,
    cancelled: u32,
    cancelled_late: u32,
    agenda_rate: String,
    action_item_rate: String,
    checkin_mean: String,
    checkin_trend: String,
    reviews: String,
    health: &'static str,
    class: &'static str,
    reasons: String,
}

fn percent(value: Option<f64>) -> String {
    value
        .map(|v| format!("{:.0} %", v * 100.0))
        .unwrap_or_else(|| "–".to_string())
}

fn class(level: Level) -> &'static str {
    match level {
        Level::Good => "good",
        Level::Watch => "watch",
        Level::AtRisk => "risk",
    }
}

/// The page, for `program` named `name`, its period written `period`.
pub fn render(report: &Report, name: &str, period: &str) -> anyhow::Result<String> {
    let totals = report.totals();
    const STEP: u32 = 40;
    let tallest = report
        .months
        .iter()
        .map(|m| m.held + m.cancelled)
        .max()
        .unwrap_or(0)
        .max(1);
    let bars: Vec<Bar> = report
        .months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let held = m.held * 100 / tallest;
            let cancelled = m.cancelled * 100 / tallest;
            Bar {
                label: m.month.clone(),
                x: i as u32 * STEP + 30,
                held,
                held_y: 110 - held,
                cancelled,
                cancelled_y: 110 - held - cancelled,
                held_count: m.held,
                cancelled_count: m.cancelled,
            }
        })
        .collect();
    let points: Vec<Point> = report
        .months
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let mean = m.checkin_mean()?;
            Some(Point {
                label: m.month.clone(),
                x: i as u32 * STEP + 40,
                // 1 at the bottom (y 110), 5 at the top (y 10).
                y: (110.0 - (mean - 1.0) * 25.0).round() as u32,
                mean: format!("{mean:.1}"),
            })
        })
        .collect();
    let line = points
        .iter()
        .map(|p| format!("{},{}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ");
    let all = totals.pairs.max(1);
    let mut x = 0;
    let slices: Vec<Slice> = [
        ("good", "good", totals.good),
        ("watch", "watch", totals.watch),
        ("at risk", "risk", totals.at_risk),
    ]
    .into_iter()
    .map(|(label, class, count)| {
        let width = count * 600 / all;
        let slice = Slice {
            label,
            class,
            count,
            x,
            width,
        };
        x += width;
        slice
    })
    .collect();
    let mut rows: Vec<Row> = report
        .pairs
        .iter()
        .map(|p| Row {
            pair: p.pair.clone(),
            mentor: crate::inert::shown(&p.mentor),
            mentee: crate::inert::shown(&p.mentee),
            planned: p.planned,
            held: p.held,
            cancelled: p.cancelled,
            cancelled_late: p.cancelled_late,
            agenda_rate: percent(p.agenda_rate()),
            action_item_rate: percent(p.action_item_rate()),
            checkin_mean: decimal(p.checkin_mean),
            checkin_trend: decimal(p.checkin_trend),
            reviews: format!("{} / {}", p.reviews_on_time, p.reviews_due),
            health: p.health.level.as_str(),
            class: class(p.health.level),
            reasons: p.health.reasons.join("; "),
        })
        .collect();
    // The pairs that need someone first.
    rows.sort_by_key(|r| match r.class {
        "risk" => 0,
        "watch" => 1,
        _ => 2,
    });
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)?;
    let page = env.get_template("report.html")?.render(context! {
        name => crate::inert::shown(name),
        period => period,
        totals => context! {
            pairs => totals.pairs,
            planned => totals.planned,
            held => totals.held,
            cancelled => totals.cancelled,
            cancelled_late => totals.cancelled_late,
            agenda_rate => percent(totals.agenda_rate()),
            action_item_rate => percent(totals.action_item_rate()),
            checkins => totals.checkins,
            checkin_mean => totals.checkin_mean.map(|m| format!("{m:.1}")),
            reviews_due => totals.reviews_due,
            reviews_on_time => totals.reviews_on_time,
            good => totals.good,
            watch => totals.watch,
            at_risk => totals.at_risk,
        },
        bars => Value::from(minijinja::value::Serde(&bars)),
        chart_width => report.months.len() as u32 * STEP + 40,
        points => Value::from(minijinja::value::Serde(&points)),
        line => line,
        slices => Value::from(minijinja::value::Serde(&slices)),
        rows => Value::from(minijinja::value::Serde(&rows)),
    })?;
    Ok(page)
}
