//! `mentord report [--from DATE] [--until DATE] [--csv | --html FILE]`: the program's
//! record for a period ([`crate::report`]): per pair and in total, meetings planned,
//! held, cancelled (late), agenda and action-item rates, check-ins, reviews on time, and
//! each pair's health today. Reads the store without changing it (safe beside a running
//! daemon).

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use jiff::Timestamp;
use jiff::civil::Date;

use super::{exit, time};
use crate::program::Program;
use crate::report::{self, Evidence, Report};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First day of the period (YYYY-MM-DD, in the program's zone); default the program's start.
    #[arg(long)]
    from: Option<String>,
    /// Last day of the period, included; default today.
    #[arg(long)]
    until: Option<String>,
    /// Print one CSV row per pair, for a spreadsheet.
    #[arg(long, conflicts_with = "html")]
    csv: bool,
    /// Write the report as an HTML page with charts (no script) to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

impl ReportArgs {
    pub fn execute(&self, config: &Path) -> anyhow::Result<u8> {
        let program = super::load(config)?;
        let now = time::now()?;
        let zone = &program.zone.tz;
        let today = zone.to_datetime(now).date();
        let day = |text: &Option<String>, default: Date| -> anyhow::Result<Date> {
            match text {
                None => Ok(default),
                Some(text) => text
                    .parse()
                    .with_context(|| format!("\"{text}\" is not a date; write YYYY-MM-DD")),
            }
        };
        let (first, last) = match (day(&self.from, program.start), day(&self.until, today)) {
            (Ok(first), Ok(last)) => (first, last),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("error: {e:#}");
                return Ok(exit::USAGE);
            }
        };
        if last < first {
            eprintln!("error: --until ({last}) is before --from ({first})");
            return Ok(exit::USAGE);
        }
        let from = time::start_of(first, zone)?;
        let until = time::start_of(last.tomorrow()?, zone)?;
        let report = read(&program, from, until, now)?;
        let period = format!("{first} – {last}");
        if let Some(path) = &self.html {
            let page = report::html::render(&report, &program.name, &period)?;
            std::fs::write(path, page)
                .with_context(|| format!("while writing {}", path.display()))?;
            println!(
                "{}: the report for {period} in {}",
                config.display(),
                path.display()
            );
            return Ok(exit::OK);
        }
        let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
        let written = if self.csv {
            report::csv::write(&mut out, &report)
        } else {
            write_text(&mut out, &program, &report, &period)
        };
        match written.and_then(|()| out.flush()) {
            Ok(()) => Ok(exit::OK),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(exit::OK),
            Err(e) => Err(e.into()),
        }
    }
}

/// The report of `[from, until)` from the program's store, health as of `now`; a
/// program whose daemon never ran has an empty record.
fn read(
    program: &Program,
    from: Timestamp,
    until: Timestamp,
    now: Timestamp,
) -> anyhow::Result<Report> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let evidence = runtime.block_on(async {
        match crate::store::Store::open_read_only(&program.store.location).await? {
            Some(store) => {
                Evidence::read(&store, from, until, now)
                    .await?
                    .with_checkin_months(&store, &program.zone.tz, from, until)
                    .await
            }
            None => Ok(Evidence::default()),
        }
    })?;
    Ok(report::build(program, &evidence, from, until, now))
}

fn write_text(
    out: &mut impl Write,
    program: &Program,
    report: &Report,
    period: &str,
) -> io::Result<()> {
    let t = report.totals();
    let pct = |v: Option<f64>| {
        v.map(|v| format!("{:.0}%", v * 100.0))
            .unwrap_or_else(|| "-".into())
    };
    writeln!(out, "{}: {period}", crate::inert::visible(&program.name))?;
    writeln!(
        out,
        "{} pairs: {} meetings planned, {} held, {} cancelled ({} late); agenda {}, action items {}; check-ins {} (mean {}); reviews on time {}/{}; health: {} good, {} watch, {} at risk",
        t.pairs,
        t.planned,
        t.held,
        t.cancelled,
        t.cancelled_late,
        pct(t.agenda_rate()),
        pct(t.action_item_rate()),
        t.checkins,
        t.checkin_mean
            .map(|m| format!("{m:.1}"))
            .unwrap_or_else(|| "-".into()),
        t.reviews_on_time,
        t.reviews_due,
        t.good,
        t.watch,
        t.at_risk,
    )?;
    writeln!(out)?;
    let width = report
        .pairs
        .iter()
        .map(|p| p.pair.len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "{:width$}  {:>7}  {:>4}  {:>9}  {:>6}  {:>7}  {:>7}  {:>7}  health",
        "pair", "planned", "held", "cancelled", "agenda", "actions", "checkin", "reviews"
    )?;
    for p in &report.pairs {
        let health = if p.health.reasons.is_empty() {
            p.health.level.as_str().to_string()
        } else {
            format!(
                "{}: {}",
                p.health.level.as_str(),
                p.health.reasons.join("; ")
            )
        };
        writeln!(
            out,
            "{:width$}  {:>7}  {:>4}  {:>9}  {:>6}  {:>7}  {:>7}  {:>7}  {}",
            p.pair,
            p.planned,
            p.held,
            format!("{} ({})", p.cancelled, p.cancelled_late),
            pct(p.agenda_rate()),
            pct(p.action_item_rate()),
            p.checkin_mean
                .map(|m| format!("{m:.1}"))
                .unwrap_or_else(|| "-".into()),
            format!("{}/{}", p.reviews_on_time, p.reviews_due),
            crate::inert::visible(&health),
        )?;
    }
    Ok(())
}
