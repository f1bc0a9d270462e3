//! The report as CSV (`mentord report --csv`, `simulate`'s `report.csv`): one row per
//! pair, the columns SPEC §7 names; names made inert for spreadsheets.

use std::io::{self, Write};

use super::Report;

/// The columns, in order.
pub const COLUMNS: [&str; 19] = [
    "pair",
    "mentor",
    "mentee",
    "status",
    "planned",
    "held",
    "cancelled",
    "cancelled_late",
    "agendas",
    "agenda_rate",
    "action_items",
    "action_item_rate",
    "checkins",
    "checkin_mean",
    "checkin_trend",
    "reviews_due",
    "reviews_on_time",
    "health",
    "reasons",
];

/// A ratio or mean with two decimals; empty when there is none.
pub fn decimal(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.2}")).unwrap_or_default()
}

pub fn write(out: impl Write, report: &Report) -> io::Result<()> {
    // The writer's errors keep their kind, so a closed pipe is still told apart.
    let kept = |e: csv::Error| match e.kind() {
        csv::ErrorKind::Io(io) => io::Error::new(io.kind(), e),
        _ => io::Error::other(e),
    };
    let mut out = csv::Writer::from_writer(out);
    out.write_record(COLUMNS).map_err(kept)?;
    for p in &report.pairs {
        let cells: [String; 19] = [
            p.pair.clone(),
            crate::inert::csv_cell(&p.mentor).into_owned(),
            crate::inert::csv_cell(&p.mentee).into_owned(),
            p.status.as_str().to_string(),
            p.planned.to_string(),
            p.held.to_string(),
            p.cancelled.to_string(),
            p.cancelled_late.to_string(),
            p.agendas.to_string(),
            decimal(p.agenda_rate()),
            p.action_items.to_string(),
            decimal(p.action_item_rate()),
            p.checkins.to_string(),
            decimal(p.checkin_mean),
            decimal(p.checkin_trend),
            p.reviews_due.to_string(),
            p.reviews_on_time.to_string(),
            p.health.level.as_str().to_string(),
            crate::inert::csv_cell(&p.health.reasons.join("; ")).into_owned(),
        ];
        out.write_record(&cells).map_err(kept)?;
    }
    out.flush()
}
