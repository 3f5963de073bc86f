//! The final tables of a sweep: `results.csv`, `failures.csv`, `summary.csv`, `sensitivity.csv`.
//!
//! They are written by streaming `design.csv` (which lists runs in run-id order) and fetching each
//! run's journal line, so their bytes depend only on the journal's content, never on the order in
//! which runs finished, the thread count, a kill-and-resume, or the shards the runs came from.
//! Memory holds one design point's values at a time (for its quantiles), plus, for a Sobol'
//! design, one mean per design point and outcome-year (for the indices).
//!
//! Statistics per design point, outcome and year, over the replicates that gave a value:
//! `n`; `mean` (summed in run order); `sd`, the sample standard deviation (divisor `n - 1`, empty
//! when `n = 1`); `p05`, `p50`, `p95`, quantiles by linear interpolation between order statistics
//! (Hyndman & Fan 1996 type 7, the default of R and NumPy).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;

use super::SweepError;
use super::analysis::{self, Analysis};
use super::atomic::AtomicFile;
use super::journal::{Entry, JournalIndex};
use crate::output::tables::push_field;

/// File names.
pub const RESULTS_FILE: &str = "results.csv";
/// Failed runs.
pub const FAILURES_FILE: &str = "failures.csv";
/// Per-point statistics.
pub const SUMMARY_FILE: &str = "summary.csv";
/// Sobol' indices.
pub const SENSITIVITY_FILE: &str = "sensitivity.csv";

/// What to write.
pub struct Tables<'a> {
    /// `design.csv` of the sweep.
    pub design_csv: &'a Path,
    /// Outcome names, by outcome index.
    pub outcome_names: &'a [String],
    /// Where each run's journal line is.
    pub index: &'a JournalIndex,
    /// Which runs belong in these tables (a shard's, or all).
    pub include: &'a dyn Fn(u64) -> bool,
    /// Also write `summary.csv` and the design's analysis tables ([`analysis`]).
    pub summary: bool,
    /// The design's analysis ([`Analysis::of`] the sweep file).
    pub analysis: &'a Analysis,
    /// Runs of the sweep: `design.csv` must list exactly runs `0..total_runs` in order.
    pub total_runs: u64,
}

/// Counts of what the tables hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Runs that finished.
    pub ok: u64,
    /// Runs that failed.
    pub failed: u64,
    /// Included runs without a journal line (not run yet).
    pub missing: u64,
}

/// A year as written, ordered by its numeric value.
#[derive(Clone, Debug, PartialEq)]
pub struct Year(pub String);

impl Eq for Year {}
impl Ord for Year {
    fn cmp(&self, other: &Self) -> Ordering {
        let a = self.0.parse::<f64>().unwrap_or(f64::INFINITY);
        let b = other.0.parse::<f64>().unwrap_or(f64::INFINITY);
        a.total_cmp(&b).then_with(|| self.0.cmp(&other.0))
    }
}
impl PartialOrd for Year {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

type Key = (usize, Year);

fn internal(what: &str) -> impl Fn(std::io::Error) -> SweepError + '_ {
    move |e| SweepError::Internal(format!("{what}: {e}"))
}

/// Write the tables into `out_dir`, each atomically.
pub fn write_tables(t: &Tables<'_>, out_dir: &Path) -> Result<Totals, SweepError> {
    let file = super::input::open_regular(t.design_csv).map_err(|e| {
        SweepError::BadInput(format!("cannot read `{}`: {e}", t.design_csv.display()))
    })?;
    let mut design = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(std::io::BufReader::new(file));
    let damaged = |what: String| {
        SweepError::BadInput(format!(
            "`{}` is damaged: {what}; it must list runs 0 to {} in order, as the sweep wrote it",
            t.design_csv.display(),
            t.total_runs.saturating_sub(1)
        ))
    };
    let mut expected_run = 0u64;
    let header = design
        .headers()
        .map_err(|e| SweepError::Internal(format!("cannot read design.csv: {e}")))?
        .clone();
    let params: Vec<&str> = header.iter().skip(4).collect();
    let mut param_header = String::new();
    for p in &params {
        push_field(&mut param_header, p);
        param_header.push(',');
    }

    let io = internal("cannot write the sweep tables");
    let mut results = AtomicFile::create(&out_dir.join(RESULTS_FILE)).map_err(&io)?;
    let mut failures = AtomicFile::create(&out_dir.join(FAILURES_FILE)).map_err(&io)?;
    results
        .write_str(&format!(
            "run_id,point_id,replicate,seed,{param_header}outcome,year,value\n"
        ))
        .map_err(&io)?;
    failures
        .write_str(&format!(
            "run_id,point_id,replicate,seed,{param_header}message\n"
        ))
        .map_err(&io)?;
    let mut summary = if t.summary {
        let mut f = AtomicFile::create(&out_dir.join(SUMMARY_FILE)).map_err(&io)?;
        f.write_str(&format!(
            "point_id,{param_header}outcome,year,n,mean,sd,p05,p50,p95\n"
        ))
        .map_err(&io)?;
        Some(f)
    } else {
        None
    };

    let mut reader = t.index.reader().map_err(&io)?;
    let mut totals = Totals::default();
    let mut point: Option<(String, String)> = None; // (point_id, param cells as CSV)
    let mut values: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    let mut means: BTreeMap<Key, Vec<Option<f64>>> = BTreeMap::new();
    let mut runs: BTreeMap<Key, Vec<Option<f64>>> = BTreeMap::new();
    let mut point_count = 0usize;
    let mut record = csv::StringRecord::new();
    let mut line = String::new();
    loop {
        let more = design
            .read_record(&mut record)
            .map_err(|e| damaged(format!("row {}: {e}", expected_run + 2)))?;
        let (run_id, point_id) = if more {
            let run_id: u64 = record
                .get(0)
                .and_then(|f| f.parse().ok())
                .filter(|&r| r == expected_run && r < t.total_runs)
                .ok_or_else(|| {
                    damaged(format!(
                        "row {} does not hold run {expected_run}",
                        expected_run + 2
                    ))
                })?;
            expected_run += 1;
            (Some(run_id), record.get(1).unwrap_or("").to_string())
        } else {
            if expected_run != t.total_runs {
                return Err(damaged(format!(
                    "it lists {expected_run} run(s), the sweep has {}",
                    t.total_runs
                )));
            }
            (None, String::new())
        };
        // A new design point (or the end): summarise the previous one.
        if point.as_ref().is_none_or(|(p, _)| *p != point_id) {
            if let Some((pid, cells)) = point.take() {
                if let Some(f) = summary.as_mut() {
                    write_point_summary(f, &pid, &cells, t.outcome_names, &values).map_err(&io)?;
                }
                if t.analysis.needs_point_means() {
                    for (key, v) in &values {
                        let slot = means.entry(key.clone()).or_default();
                        slot.resize(point_count, None);
                        slot[point_count - 1] = Some(mean(v));
                    }
                }
                values.clear();
            }
            if run_id.is_some() {
                let mut cells = String::new();
                for p in record.iter().skip(4) {
                    push_field(&mut cells, p);
                    cells.push(',');
                }
                point = Some((point_id, cells));
                point_count += 1;
            }
        }
        let Some(run_id) = run_id else { break };
        if !(t.include)(run_id) {
            continue;
        }
        let cells = point.as_ref().map_or("", |(_, c)| c.as_str());
        let prefix = format!(
            "{},{},{},{},{cells}",
            run_id,
            record.get(1).unwrap_or(""),
            record.get(2).unwrap_or(""),
            record.get(3).unwrap_or("")
        );
        match reader.get(run_id).map_err(&io)? {
            None => totals.missing += 1,
            Some(Entry::Fail(message)) => {
                totals.failed += 1;
                line.clear();
                line.push_str(&prefix);
                push_field(&mut line, &message);
                line.push('\n');
                failures.write_str(&line).map_err(&io)?;
            }
            Some(Entry::Ok(rows)) => {
                totals.ok += 1;
                for (outcome, year, value) in rows {
                    let name = t.outcome_names.get(outcome).ok_or_else(|| {
                        SweepError::BadInput(format!(
                            "journal: run {run_id} has outcome {outcome}, the sweep has {}",
                            t.outcome_names.len()
                        ))
                    })?;
                    line.clear();
                    line.push_str(&prefix);
                    line.push_str(name);
                    line.push(',');
                    line.push_str(&year);
                    line.push(',');
                    line.push_str(&value);
                    line.push('\n');
                    results.write_str(&line).map_err(&io)?;
                    if t.summary {
                        let x: f64 = value.parse().map_err(|_| {
                            SweepError::BadInput(format!(
                                "journal: run {run_id}: a value is not a number"
                            ))
                        })?;
                        if t.analysis.needs_run_values() {
                            let slot = runs.entry((outcome, Year(year.clone()))).or_default();
                            let at = run_id as usize;
                            if slot.len() <= at {
                                slot.resize(at + 1, None);
                            }
                            slot[at] = Some(x);
                        }
                        values.entry((outcome, Year(year))).or_default().push(x);
                    }
                }
            }
        }
    }
    results.commit().map_err(&io)?;
    failures.commit().map_err(&io)?;
    if let Some(f) = summary {
        f.commit().map_err(&io)?;
    }
    if t.summary {
        let warnings = analysis::write(
            t.analysis,
            out_dir,
            &params,
            t.outcome_names,
            &means,
            &runs,
            point_count,
        )
        .map_err(&io)?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(totals)
}

fn write_point_summary(
    f: &mut AtomicFile,
    point_id: &str,
    cells: &str,
    names: &[String],
    values: &BTreeMap<Key, Vec<f64>>,
) -> std::io::Result<()> {
    for ((outcome, year), v) in values {
        let stats = Stats::of(v);
        let sd = stats.sd.map_or(String::new(), |s| s.to_string());
        f.write_str(&format!(
            "{point_id},{cells}{},{},{},{},{sd},{},{},{}\n",
            names[*outcome], year.0, stats.n, stats.mean, stats.p05, stats.p50, stats.p95
        ))?;
    }
    Ok(())
}

/// Summary statistics of one sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Sample size.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (`None` for n < 2).
    pub sd: Option<f64>,
    /// 5th percentile (type 7).
    pub p05: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

impl Stats {
    /// Statistics of a non-empty sample.
    pub fn of(v: &[f64]) -> Stats {
        let n = v.len();
        let m = mean(v);
        let sd = (n > 1).then(|| {
            let ss: f64 = v.iter().map(|x| (x - m) * (x - m)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        Stats {
            n,
            mean: m,
            sd,
            p05: quantile(&sorted, 0.05),
            p50: quantile(&sorted, 0.5),
            p95: quantile(&sorted, 0.95),
        }
    }
}

/// Quantile `p` of sorted values, Hyndman & Fan type 7: `h = (n - 1) p`, interpolate between
/// the order statistics around `h`.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_type_7() {
        // R: quantile(1:10, c(.05, .5, .95)) = 1.45 5.50 9.55
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = Stats::of(&v);
        assert!((s.p05 - 1.45).abs() < 1e-12);
        assert!((s.p50 - 5.5).abs() < 1e-12);
        assert!((s.p95 - 9.55).abs() < 1e-12);
        assert_eq!(s.mean, 5.5);
        // sd(1:10) = 3.0276503540974917
        assert!((s.sd.expect("n > 1") - 3.027_650_354_097_491_7).abs() < 1e-12);
        let one = Stats::of(&[4.0]);
        assert_eq!((one.n, one.sd, one.p05, one.p95), (1, None, 4.0, 4.0));
    }
}
