//! Tidy CSV tables of a run: `metrics.csv`, `flows.csv`, `events.csv`, `assets.csv`.
//!
//! Columns are contracts (see `docs/output-format.md`). Empty cells mean "not applicable". Numbers
//! are written with Rust's shortest round-trip formatting, so the same run gives the same bytes and
//! a reader gets back the exact `f64`. A non-finite value is refused with an error naming the row,
//! never written.

use std::fmt::Write as _;

use crate::model::components::Stage;
use crate::model::resources::Registry;
use crate::sim::RunResult;

/// Header of `metrics.csv`.
pub const METRICS_HEADER: &str = "step,year,metric,mineral,stage,nation,partner,value";
/// Header of `flows.csv`.
pub const FLOWS_HEADER: &str = "step,year,mineral,stage,from,to,quantity,value_usd";
/// Header of `events.csv`.
pub const EVENTS_HEADER: &str = "step,year,kind,asset,firm,nation,partner,detail";
/// Header of `assets.csv`.
pub const ASSETS_HEADER: &str = "asset,host,mineral,stage,status,status_since_step,capacity_t_per_yr,utilisation,unit_opex_usd_per_t,esg,owners";

/// A value that may not be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NonFinite {
    /// File.
    pub file: &'static str,
    /// What the row describes.
    pub what: String,
}

impl std::fmt::Display for NonFinite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "non-finite value in {}: {}", self.file, self.what)
    }
}

impl std::error::Error for NonFinite {}

/// Append a CSV field, quoting it if it contains a comma, quote or newline.
pub fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Decimal year of a step.
pub fn year_of(result: &RunResult, step: u32) -> f64 {
    f64::from(result.start_year) + f64::from(step) / f64::from(result.steps_per_year)
}

fn opt_name(list: &[String], idx: Option<usize>) -> &str {
    idx.and_then(|i| list.get(i)).map_or("", String::as_str)
}

fn stage_name(stage: Option<Stage>) -> &'static str {
    stage.map_or("", Stage::as_str)
}

/// `metrics.csv`.
pub fn metrics_csv(result: &RunResult) -> Result<String, NonFinite> {
    let r: &Registry = &result.registry;
    let mut out = String::with_capacity(result.metrics.len() * 48 + 64);
    out.push_str(METRICS_HEADER);
    out.push('\n');
    // `step,year,` of each step, formatted once: the metrics file has thousands of rows per step
    // and formatting is most of the cost of writing it.
    let mut prefixes: Vec<String> = Vec::new();
    for row in &result.metrics {
        let mineral = opt_name(&r.minerals, row.mineral.map(|m| usize::from(m.0)));
        let nation = opt_name(&r.nations, row.nation.map(|n| usize::from(n.0)));
        let partner = opt_name(&r.nations, row.partner.map(|n| usize::from(n.0)));
        if !row.value.is_finite() {
            return Err(NonFinite {
                file: "metrics.csv",
                what: format!(
                    "metric `{}` (mineral `{mineral}`, nation `{nation}`, partner `{partner}`) at step {} is {}",
                    row.metric, row.step, row.value
                ),
            });
        }
        let step = row.step as usize;
        if prefixes.len() <= step {
            prefixes.extend(
                (prefixes.len()..=step).map(|s| format!("{s},{},", year_of(result, s as u32))),
            );
        }
        out.push_str(&prefixes[step]);
        for field in [row.metric, mineral, stage_name(row.stage), nation, partner] {
            out.push_str(field);
            out.push(',');
        }
        let _ = writeln!(out, "{}", row.value);
    }
    Ok(out)
}

/// `flows.csv`.
pub fn flows_csv(result: &RunResult) -> Result<String, NonFinite> {
    let r = &result.registry;
    let mut out = String::with_capacity(result.flows.len() * 48 + 64);
    out.push_str(FLOWS_HEADER);
    out.push('\n');
    for f in &result.flows {
        if !(f.quantity_t.is_finite() && f.value_usd.is_finite()) {
            return Err(NonFinite {
                file: "flows.csv",
                what: format!(
                    "flow at step {}: {} t, {} USD",
                    f.step, f.quantity_t, f.value_usd
                ),
            });
        }
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            f.step,
            year_of(result, f.step),
            r.minerals[usize::from(f.mineral.0)],
            f.stage.as_str(),
            r.nations[usize::from(f.from.0)],
            r.nations[usize::from(f.to.0)],
            f.quantity_t,
            f.value_usd
        );
    }
    Ok(out)
}

/// `events.csv`.
pub fn events_csv(result: &RunResult) -> String {
    let r = &result.registry;
    let mut out = String::with_capacity(result.events.len() * 64 + 64);
    out.push_str(EVENTS_HEADER);
    out.push('\n');
    for e in &result.events {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},",
            e.step,
            year_of(result, e.step),
            e.kind,
            opt_name(&r.assets, e.asset.map(|a| a.0 as usize)),
            opt_name(&r.firms, e.firm.map(|f| f.0 as usize)),
            opt_name(&r.nations, e.nation.map(|n| usize::from(n.0))),
            opt_name(&r.nations, e.partner.map(|n| usize::from(n.0))),
        );
        push_field(&mut out, &e.detail);
        out.push('\n');
    }
    out
}

/// `assets.csv`: final state of every asset, in id order.
pub fn assets_csv(result: &RunResult) -> String {
    let r = &result.registry;
    let mut out = String::with_capacity(result.assets.len() * 96 + 128);
    out.push_str(ASSETS_HEADER);
    out.push('\n');
    for a in &result.assets {
        let owners: Vec<String> = a
            .owners
            .iter()
            .map(|(f, s)| format!("{}:{}", r.firms[f.0 as usize], s))
            .collect();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            r.assets[a.idx.0 as usize],
            r.nations[usize::from(a.host.0)],
            r.minerals[usize::from(a.mineral.0)],
            a.stage.as_str(),
            a.status.as_str(),
            a.status_since_step,
            a.capacity_t_per_yr,
            a.utilisation,
            a.unit_opex_usd_per_t,
            a.esg,
            owners.join(";")
        );
    }
    out
}
