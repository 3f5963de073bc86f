//! Replicate tables read back from disk: every row key of the replicates' `metrics.csv` with one
//! value slot per replicate, per step and per calendar year.
//!
//! Each replicate's `metrics.csv` is written first and read back afterwards, one replicate at a
//! time, in replicate order, so memory holds the values of one row key across replicates (what
//! exact quantiles need) but never every replicate's rows as text. Reading in replicate order —
//! never in completion order — is what makes the summaries byte-identical whatever `-j`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use super::stats::{Paired, Stats};
use crate::app::AppError;
use crate::output::tables::push_field;

/// Metrics written only when non-zero (`docs/output-format.md`): a replicate without the row had
/// zero, so its slot is filled with 0 rather than left out.
pub const ZERO_WHEN_ABSENT: [&str; 3] = ["investment_usd", "state_finance_usd", "incidents"];

/// Whether a metric's absent rows mean zero.
pub fn zero_when_absent(metric: &str) -> bool {
    ZERO_WHEN_ABSENT.contains(&metric)
}

/// The identifying columns of a metrics row, without time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Series {
    /// Metric name.
    pub metric: String,
    /// Mineral id or empty.
    pub mineral: String,
    /// Stage or empty.
    pub stage: String,
    /// Nation or empty.
    pub nation: String,
    /// Partner or empty.
    pub partner: String,
}

impl Series {
    fn write(&self, out: &mut String) {
        for (i, f) in [
            &self.metric,
            &self.mineral,
            &self.stage,
            &self.nation,
            &self.partner,
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            push_field(out, f);
        }
    }
}

/// Time of a row: a step (with its year as written in `metrics.csv`) or a calendar year.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Time {
    /// Step number and the `year` cell's text.
    Step(u32, String),
    /// Calendar year.
    Year(i64),
}

/// Values of many row keys over replicates.
#[derive(Debug, Default)]
pub struct Table {
    replicates: usize,
    index: HashMap<(Time, Series), usize>,
    keys: Vec<(Time, Series)>,
    values: Vec<Vec<Option<f64>>>,
}

impl Table {
    /// An empty table for `replicates` slots per key.
    pub fn new(replicates: usize) -> Self {
        Table {
            replicates,
            ..Table::default()
        }
    }

    /// Set the value of a key for a replicate (keys are kept in order of first appearance).
    pub fn set(&mut self, time: Time, series: Series, replicate: usize, value: f64) {
        let key = (time, series);
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                let i = self.keys.len();
                self.index.insert(key.clone(), i);
                self.keys.push(key);
                self.values.push(vec![None; self.replicates]);
                i
            }
        };
        self.values[i][replicate] = Some(value);
    }

    /// Keys in output order: by time, then by first appearance (replicate order, then row order).
    pub fn ordered(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.keys.len()).collect();
        order.sort_by(|a, b| {
            let (ta, tb) = (&self.keys[*a].0, &self.keys[*b].0);
            let rank = |t: &Time| match t {
                Time::Step(s, _) => i64::from(*s),
                Time::Year(y) => *y,
            };
            rank(ta).cmp(&rank(tb)).then(a.cmp(b))
        });
        order
    }

    /// The key at an index.
    pub fn key(&self, i: usize) -> &(Time, Series) {
        &self.keys[i]
    }

    /// The values of a key across replicates, zeros filled in for [`ZERO_WHEN_ABSENT`] metrics.
    pub fn slots(&self, i: usize) -> Vec<Option<f64>> {
        let zero = zero_when_absent(&self.keys[i].1.metric);
        self.values[i]
            .iter()
            .map(|v| if zero { Some(v.unwrap_or(0.0)) } else { *v })
            .collect()
    }

    /// The slots of a key by its (time, series), if any replicate has it.
    pub fn lookup(&self, key: &(Time, Series)) -> Option<Vec<Option<f64>>> {
        self.index.get(key).map(|&i| self.slots(i))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Per-step and annual tables of a set of replicates.
#[derive(Debug)]
pub struct Tables {
    /// One key per (step, series).
    pub steps: Table,
    /// One key per (calendar year, series): the mean over the year's steps with a row, or the sum
    /// over the year's steps for [`ZERO_WHEN_ABSENT`] metrics (amounts per step).
    pub years: Table,
}

impl Tables {
    /// Empty tables for `replicates` replicates.
    pub fn new(replicates: usize) -> Self {
        Tables {
            steps: Table::new(replicates),
            years: Table::new(replicates),
        }
    }

    /// Read one replicate's `metrics.csv` into slot `replicate`.
    pub fn read_replicate(&mut self, path: &Path, replicate: usize) -> Result<(), AppError> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|e| AppError::BadInput(format!("cannot read `{shown}`: {e}")))?;
        self.read_replicate_from(std::io::BufReader::new(file), &shown, replicate)
    }

    /// [`Tables::read_replicate`] from any reader (the library API reads the CSV text of a run
    /// held in memory); `shown` names the source in messages.
    pub fn read_replicate_from(
        &mut self,
        source: impl std::io::Read,
        shown: &str,
        replicate: usize,
    ) -> Result<(), AppError> {
        let bad = |line: u64, m: String| AppError::BadInput(format!("{shown}:{line}: {m}"));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(source);
        let header = reader
            .headers()
            .map_err(|e| bad(1, format!("cannot read the header: {e}")))?
            .clone();
        let want = crate::output::tables::METRICS_HEADER;
        if header.iter().collect::<Vec<_>>().join(",") != want {
            return Err(bad(1, format!("expected the header `{want}`")));
        }
        // Annual accumulation of this replicate: (sum, count) per (year, series), in order.
        let mut annual: Vec<((i64, Series), (f64, u32))> = Vec::new();
        let mut annual_index: HashMap<(i64, Series), usize> = HashMap::new();
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Err(bad(line, format!("malformed row: {e}")));
                }
            }
            let line = record.position().map_or(0, |p| p.line());
            let f = |i: usize| record.get(i).unwrap_or("");
            let step: u32 = f(0)
                .parse()
                .map_err(|_| bad(line, "column `step` is not a step number".into()))?;
            let year: f64 = f(1)
                .parse()
                .map_err(|_| bad(line, "column `year` is not a number".into()))?;
            let value: f64 = f(7)
                .parse()
                .map_err(|_| bad(line, "column `value` is not a number".into()))?;
            if !(value.is_finite() && year.is_finite()) {
                return Err(bad(line, "a value is not finite".into()));
            }
            let series = Series {
                metric: f(2).to_string(),
                mineral: f(3).to_string(),
                stage: f(4).to_string(),
                nation: f(5).to_string(),
                partner: f(6).to_string(),
            };
            let cal = year.floor() as i64;
            let akey = (cal, series.clone());
            let ai = *annual_index.entry(akey.clone()).or_insert_with(|| {
                annual.push((akey, (0.0, 0)));
                annual.len() - 1
            });
            annual[ai].1.0 += value;
            annual[ai].1.1 += 1;
            self.steps
                .set(Time::Step(step, f(1).to_string()), series, replicate, value);
        }
        for ((year, series), (sum, count)) in annual {
            let v = if zero_when_absent(&series.metric) {
                sum
            } else {
                sum / f64::from(count)
            };
            self.years.set(Time::Year(year), series, replicate, v);
        }
        Ok(())
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

fn write_time(out: &mut String, t: &Time) {
    match t {
        Time::Step(s, y) => {
            let _ = write!(out, "{s},{y},");
        }
        Time::Year(y) => {
            let _ = write!(out, "{y},");
        }
    }
}

/// Header of `metrics_summary.csv`.
pub const SUMMARY_HEADER: &str =
    "step,year,metric,mineral,stage,nation,partner,n,mean,sd,p05,p50,p95";
/// Header of `metrics_annual.csv`.
pub const ANNUAL_HEADER: &str = "year,metric,mineral,stage,nation,partner,n,mean,sd,p05,p50,p95";

/// The summary CSV of a table: one row per key with `n,mean,sd,p05,p50,p95` over the replicates
/// that have a value (mean summed in replicate order; sd with divisor n − 1, empty for n = 1;
/// quantiles of type 7).
pub fn summary_csv(table: &Table, header: &str) -> String {
    let mut out = String::with_capacity(table.len() * 96 + 128);
    out.push_str(header);
    out.push('\n');
    for i in table.ordered() {
        let (time, series) = table.key(i);
        let values: Vec<f64> = table.slots(i).into_iter().flatten().collect();
        if values.is_empty() {
            continue;
        }
        let s = Stats::of(&values);
        write_time(&mut out, time);
        series.write(&mut out);
        let _ = writeln!(
            out,
            ",{},{},{},{},{},{}",
            s.n,
            s.mean,
            opt(s.sd),
            s.p05,
            s.p50,
            s.p95
        );
    }
    out
}

/// Header of `comparison.csv` (per step) after the time columns.
pub const COMPARISON_COLUMNS: &str = "metric,mineral,stage,nation,partner,n,mean_a,mean_b,mean_diff,sd_diff,p05_diff,p50_diff,p95_diff,ci95_low,ci95_high,excludes_zero";

/// The paired comparison of two tables whose slots are the same seeds in the same order: per key
/// present in both, the differences `b − a` over the seeds where both have a value.
/// Keys present in only one of the two are left out (the comparison counts them in the return).
pub fn comparison_csv(a: &Table, b: &Table, time_header: &str) -> (String, usize) {
    let mut out = String::with_capacity(b.len() * 160 + 256);
    out.push_str(time_header);
    out.push(',');
    out.push_str(COMPARISON_COLUMNS);
    out.push('\n');
    let mut unpaired = 0;
    for i in b.ordered() {
        let key = b.key(i);
        let Some(sa) = a.lookup(key) else {
            unpaired += 1;
            continue;
        };
        let sb = b.slots(i);
        let (mut va, mut vb, mut d) = (Vec::new(), Vec::new(), Vec::new());
        for (x, y) in sa.iter().zip(&sb) {
            if let (Some(x), Some(y)) = (x, y) {
                va.push(*x);
                vb.push(*y);
                d.push(y - x);
            }
        }
        if d.is_empty() {
            unpaired += 1;
            continue;
        }
        let p = Paired::of(&d);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        write_time(&mut out, &key.0);
        key.1.write(&mut out);
        let (lo, hi) = match p.ci95 {
            Some((lo, hi)) => (lo.to_string(), hi.to_string()),
            None => (String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            ",{},{},{},{},{},{},{},{},{lo},{hi},{}",
            p.stats.n,
            mean(&va),
            mean(&vb),
            p.stats.mean,
            opt(p.stats.sd),
            p.stats.p05,
            p.stats.p50,
            p.stats.p95,
            p.excludes_zero().map_or(String::new(), |e| e.to_string())
        );
    }
    // Keys only in `a`.
    unpaired += (0..a.len())
        .filter(|&i| b.lookup(a.key(i)).is_none())
        .count();
    (out, unpaired)
}
