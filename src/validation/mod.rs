//! Backtests: does the model respond to a known historical shock the way the market did?
//!
//! A backtest is a scenario that starts before a documented episode (the cobalt boom and bust of
//! 2017–19, China's graphite export licences of December 2023, the nickel price fall of 2022–24)
//! plus an *expectations file* (`validation/<name>.expect.ron`) listing qualitative checks on the
//! model's response, each with the observation it encodes, its source and the tolerance allowed.
//! The checks are deliberately qualitative ("the price at least doubles within 18 months", "exports
//! in the first month fall below half"): the scenarios are stylised (one mineral, few nations), so
//! what a backtest can falsify is the *direction and rough size* of a response, not its level.
//!
//! Every check is evaluated on every seed of an ensemble; a check passes the ensemble when at least
//! `min_share` of seeds pass it (quoting one seed would be meaningless, see the project standards).
//! A check the model is known to fail stays in the file with `known_failing: Some("reason")`, so
//! a fix and a new failure both show up: the integration test asserts the set of failing checks
//! equals the set marked known-failing.
//!
//! The expectations language (all in the file; nothing is hard-coded here):
//! - `series`: named time series read from a run — a metric of `metrics.csv` (summed over the
//!   listed nations / partners, or over every nation except some) or bilateral flows of
//!   `flows.csv` (summed over exporters and importers, annualised).
//! - `checks`: `left op factor × right`, where `left` and `right` are statistics (`max`, `min`,
//!   `mean`, `first`, `last`, `argmax`, `argmin` — the last two give the decimal year) of a series
//!   over a window `[from, to)` of decimal years, or a constant `(value: x)`.
//! - `references`: observed points drawn on the figures (with their source).
//!
//! A step is dated by its start: step `t` of a run starting in `Y` with `k` steps a year is year
//! `Y + t / k`, and its metrics are the state after that step.

pub mod command;
pub mod figures;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::components::Stage;
use crate::scenario::load::deserialize_str;
use crate::scenario::{ScenarioError, load_file};
use crate::sim::RunResult;

/// Default number of seeds of the ensemble.
fn default_seeds() -> u32 {
    10
}
/// Default first seed.
fn default_first_seed() -> u64 {
    1
}
/// Default share of seeds that must pass a check.
fn default_min_share() -> f64 {
    0.8
}
fn default_factor() -> f64 {
    1.0
}

/// An expectations file.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The episode's name (`cobalt_2017`).
    pub name: String,
    /// What happened, in a sentence or two.
    #[serde(default)]
    pub episode: String,
    /// The scenario file, relative to this file.
    pub scenario: String,
    /// Number of seeds of the ensemble (default 10).
    #[serde(default = "default_seeds")]
    pub seeds: u32,
    /// First seed; the ensemble runs seeds `first_seed .. first_seed + seeds` (default 1).
    #[serde(default = "default_first_seed")]
    pub first_seed: u64,
    /// Share of seeds that must pass a check for it to pass the ensemble (default 0.8).
    #[serde(default = "default_min_share")]
    pub min_share: f64,
    /// Named series read from each run.
    pub series: BTreeMap<String, SeriesSpec>,
    /// The checks.
    pub checks: Vec<Check>,
    /// Observed points drawn on the figures.
    #[serde(default)]
    pub references: Vec<Reference>,
}

/// Where a series comes from.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SeriesSpec {
    /// A metric of `metrics.csv`, summed over the matching rows of each step.
    Metric {
        /// Metric name (`price`, `production`, `capacity`, ...; docs/output-format.md).
        metric: String,
        /// Mineral id.
        mineral: String,
        /// Stage (`ore` or `refined`).
        stage: String,
        /// Nations summed; empty = the row without a nation (world rows such as the open-market
        /// price), unless `except` is given.
        #[serde(default)]
        nations: Vec<String>,
        /// If non-empty: sum over every nation except these (`nations` must then be empty).
        #[serde(default)]
        except: Vec<String>,
        /// Partners summed; empty = any partner.
        #[serde(default)]
        partners: Vec<String>,
        /// Axis description for figures (`Cobalt price, refined`).
        label: String,
        /// Unit for figures (`USD/t`).
        unit: String,
        /// If given, each seed's series is divided by its own mean over `[from, to)` (a ratio to
        /// a reference period; observed points are then ratios too).
        #[serde(default)]
        relative_to: Option<(f64, f64)>,
    },
    /// Bilateral flows of `flows.csv`, t/yr (tonnes of the step × steps per year), summed.
    Flow {
        /// Mineral id.
        mineral: String,
        /// Stages summed (`ore`, `refined`).
        stages: Vec<String>,
        /// Exporters.
        from: Vec<String>,
        /// Importers; empty = every nation other than the exporter.
        #[serde(default)]
        to: Vec<String>,
        /// Axis description for figures.
        label: String,
        /// Unit for figures (`t/yr`).
        unit: String,
        /// If given, each seed's series is divided by its own mean over `[from, to)` (a ratio to
        /// a reference period; observed points are then ratios too).
        #[serde(default)]
        relative_to: Option<(f64, f64)>,
    },
}

impl SeriesSpec {
    /// Axis description with unit.
    pub fn axis_label(&self) -> String {
        match self {
            SeriesSpec::Metric { label, unit, .. } | SeriesSpec::Flow { label, unit, .. } => {
                format!("{label} ({unit})")
            }
        }
    }
}

/// A statistic of a series.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    /// Largest value in the window.
    Max,
    /// Smallest value.
    Min,
    /// Mean over the steps of the window.
    Mean,
    /// Value at the first step of the window.
    First,
    /// Value at the last step of the window.
    Last,
    /// Year of the (first) largest value.
    Argmax,
    /// Year of the (first) smallest value.
    Argmin,
}

/// One side of a check.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Operand {
    /// A statistic of a series over `[from, to)`.
    Stat {
        /// Series name (a key of `series`).
        series: String,
        /// Statistic.
        stat: Stat,
        /// Window start, decimal year (inclusive).
        from: f64,
        /// Window end, decimal year (exclusive).
        to: f64,
    },
    /// A constant.
    Value {
        /// The number.
        value: f64,
    },
}

/// Comparison.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum Op {
    /// `left >= factor × right`.
    #[serde(rename = ">=")]
    Ge,
    /// `left <= factor × right`.
    #[serde(rename = "<=")]
    Le,
}

/// One expectation: `left op factor × right`, evaluated per seed.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Stable id (`boom`, `bust`).
    pub id: String,
    /// The claim in words.
    pub claim: String,
    /// What was observed, with numbers.
    pub observed: String,
    /// Where the observation comes from.
    pub source: String,
    /// How the threshold was loosened from the observation, and why.
    pub tolerance: String,
    /// Left side.
    pub left: Operand,
    /// Comparison.
    pub op: Op,
    /// Factor applied to the right side (default 1).
    #[serde(default = "default_factor")]
    pub factor: f64,
    /// Right side.
    pub right: Operand,
    /// `Some(reason)` if the current model is known to fail this check.
    #[serde(default)]
    pub known_failing: Option<String>,
}

/// An observed point drawn on a series' figure.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// Series name.
    pub series: String,
    /// Decimal year.
    pub year: f64,
    /// Value in the series' unit.
    pub value: f64,
    /// Short label (`LME peak`).
    pub label: String,
    /// Source.
    pub source: String,
}

/// Errors of loading or running a backtest (bad input: exit 2).
#[derive(Debug)]
pub enum BacktestError {
    /// The expectations file cannot be read.
    Io(PathBuf, std::io::Error),
    /// Syntax or type error in the expectations file, or in its scenario.
    Scenario(ScenarioError),
    /// A consistency problem in the expectations file.
    Invalid(String),
    /// A run produced a non-finite value.
    Run(String),
}

impl std::fmt::Display for BacktestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BacktestError::Io(p, e) => write!(f, "cannot read `{}`: {e}", p.display()),
            BacktestError::Scenario(e) => write!(f, "{e}"),
            BacktestError::Invalid(m) | BacktestError::Run(m) => f.write_str(m),
        }
    }
}

impl From<ScenarioError> for BacktestError {
    fn from(e: ScenarioError) -> Self {
        BacktestError::Scenario(e)
    }
}

/// A loaded expectations file with its path.
#[derive(Clone, Debug)]
pub struct Backtest {
    /// The file.
    pub path: PathBuf,
    /// Its contents.
    pub spec: Expectations,
}

/// Load and check an expectations file.
pub fn load(path: &Path) -> Result<Backtest, BacktestError> {
    let text = std::fs::read_to_string(path).map_err(|e| BacktestError::Io(path.into(), e))?;
    let doc = deserialize_str::<Expectations>(&text, &path.display().to_string())?;
    let spec = doc.value;
    let bad = |m: String| Err(BacktestError::Invalid(format!("{}: {m}", path.display())));
    if spec.seeds == 0 {
        return bad("`seeds` must be at least 1".into());
    }
    if !(spec.min_share > 0.0 && spec.min_share <= 1.0) {
        return bad("`min_share` must be in (0, 1]".into());
    }
    for (name, s) in &spec.series {
        match s {
            SeriesSpec::Metric {
                stage,
                nations,
                except,
                relative_to,
                ..
            } => {
                if relative_to.is_some_and(|(a, b)| a >= b) {
                    return bad(format!("series `{name}`: `relative_to` window is empty"));
                }
                if parse_stage(stage).is_none() {
                    return bad(format!(
                        "series `{name}`: stage must be \"ore\" or \"refined\""
                    ));
                }
                if !nations.is_empty() && !except.is_empty() {
                    return bad(format!(
                        "series `{name}`: give `nations` or `except`, not both"
                    ));
                }
            }
            SeriesSpec::Flow {
                stages,
                from,
                relative_to,
                ..
            } => {
                if relative_to.is_some_and(|(a, b)| a >= b) {
                    return bad(format!("series `{name}`: `relative_to` window is empty"));
                }
                if stages.is_empty() || stages.iter().any(|s| parse_stage(s).is_none()) {
                    return bad(format!(
                        "series `{name}`: `stages` must list \"ore\" and/or \"refined\""
                    ));
                }
                if from.is_empty() {
                    return bad(format!("series `{name}`: `from` must name an exporter"));
                }
            }
        }
    }
    let mut ids = std::collections::BTreeSet::new();
    for c in &spec.checks {
        if !ids.insert(c.id.as_str()) {
            return bad(format!("check id `{}` appears twice", c.id));
        }
        if !c.factor.is_finite() {
            return bad(format!("check `{}`: `factor` must be finite", c.id));
        }
        for side in [&c.left, &c.right] {
            if let Operand::Stat {
                series, from, to, ..
            } = side
            {
                if !spec.series.contains_key(series) {
                    return bad(format!(
                        "check `{}` names series `{series}`, which `series` does not define",
                        c.id
                    ));
                }
                if from >= to {
                    return bad(format!("check `{}`: window [{from}, {to}) is empty", c.id));
                }
            }
        }
    }
    for r in &spec.references {
        if !spec.series.contains_key(&r.series) {
            return bad(format!(
                "reference `{}` names series `{}`, which `series` does not define",
                r.label, r.series
            ));
        }
    }
    Ok(Backtest {
        path: path.to_path_buf(),
        spec,
    })
}

fn parse_stage(s: &str) -> Option<Stage> {
    match s {
        "ore" => Some(Stage::Ore),
        "refined" => Some(Stage::Refined),
        _ => None,
    }
}

/// A series of one run: `(year, value)` per step.
pub type SeriesPath = Vec<(f64, f64)>;

/// One step of a series over the ensemble: `(year, p05, p50, p95, seeds with a value)`.
pub type BandRow = (f64, f64, f64, f64, usize);

/// Read a series from a run. Metric series skip steps without a matching row; flow series are 0
/// at steps without a flow.
pub fn extract(result: &RunResult, spec: &SeriesSpec) -> SeriesPath {
    let path = extract_raw(result, spec);
    let (SeriesSpec::Metric { relative_to, .. } | SeriesSpec::Flow { relative_to, .. }) = spec;
    match relative_to {
        None => path,
        Some((from, to)) => match stat(&path, Stat::Mean, *from, *to) {
            Some(base) if base != 0.0 && base.is_finite() => {
                path.into_iter().map(|(y, v)| (y, v / base)).collect()
            }
            // No reference: no series (every check on it fails).
            _ => Vec::new(),
        },
    }
}

fn extract_raw(result: &RunResult, spec: &SeriesSpec) -> SeriesPath {
    let reg = &result.registry;
    let k = f64::from(result.steps_per_year.max(1));
    let year = |step: u32| f64::from(result.start_year) + f64::from(step) / k;
    let nation_id = |i: usize| reg.nations.get(i).map(String::as_str);
    let mineral_id = |i: usize| reg.minerals.get(i).map(String::as_str);
    let mut sums: Vec<Option<f64>> = vec![None; result.steps as usize];
    match spec {
        SeriesSpec::Metric {
            metric,
            mineral,
            stage,
            nations,
            except,
            partners,
            ..
        } => {
            let stage = parse_stage(stage);
            for row in &result.metrics {
                if row.metric != metric
                    || row.stage != stage
                    || row.mineral.and_then(|m| mineral_id(usize::from(m.0)))
                        != Some(mineral.as_str())
                {
                    continue;
                }
                let nation = row.nation.and_then(|n| nation_id(usize::from(n.0)));
                let nation_ok = if !except.is_empty() {
                    nation.is_some_and(|n| !except.iter().any(|e| e == n))
                } else if nations.is_empty() {
                    nation.is_none()
                } else {
                    nation.is_some_and(|n| nations.iter().any(|e| e == n))
                };
                let partner = row.partner.and_then(|n| nation_id(usize::from(n.0)));
                let partner_ok =
                    partners.is_empty() || partner.is_some_and(|p| partners.iter().any(|e| e == p));
                if nation_ok
                    && partner_ok
                    && let Some(slot) = sums.get_mut(row.step as usize)
                {
                    *slot = Some(slot.unwrap_or(0.0) + row.value);
                }
            }
        }
        SeriesSpec::Flow {
            mineral,
            stages,
            from,
            to,
            ..
        } => {
            let stages: Vec<Stage> = stages.iter().filter_map(|s| parse_stage(s)).collect();
            sums.fill(Some(0.0));
            for row in &result.flows {
                let f = nation_id(usize::from(row.from.0));
                let t = nation_id(usize::from(row.to.0));
                let ok = mineral_id(usize::from(row.mineral.0)) == Some(mineral.as_str())
                    && stages.contains(&row.stage)
                    && f.is_some_and(|f| from.iter().any(|e| e == f))
                    && row.from != row.to
                    && (to.is_empty() || t.is_some_and(|t| to.iter().any(|e| e == t)));
                if ok && let Some(slot) = sums.get_mut(row.step as usize) {
                    *slot = Some(slot.unwrap_or(0.0) + row.quantity_t * k);
                }
            }
        }
    }
    sums.into_iter()
        .enumerate()
        .filter_map(|(t, v)| v.map(|v| (year(t as u32), v)))
        .collect()
}

/// A statistic of a path over `[from, to)`; `None` if the window holds no step.
pub fn stat(path: &[(f64, f64)], stat: Stat, from: f64, to: f64) -> Option<f64> {
    let w: Vec<(f64, f64)> = path
        .iter()
        .copied()
        .filter(|(y, _)| *y >= from - 1e-9 && *y < to - 1e-9)
        .collect();
    let first = *w.first()?;
    Some(match stat {
        Stat::Max => w.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max),
        Stat::Min => w.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
        Stat::Mean => w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64,
        Stat::First => first.1,
        Stat::Last => w.last().map_or(first.1, |p| p.1),
        Stat::Argmax => {
            w.iter()
                .fold(first, |a, p| if p.1 > a.1 { *p } else { a })
                .0
        }
        Stat::Argmin => {
            w.iter()
                .fold(first, |a, p| if p.1 < a.1 { *p } else { a })
                .0
        }
    })
}

/// The result of one check on one seed.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedOutcome {
    /// Left side's value.
    pub left: Option<f64>,
    /// `factor × right`.
    pub right: Option<f64>,
    /// Whether the check holds (false if a window was empty).
    pub pass: bool,
}

fn operand(op: &Operand, paths: &BTreeMap<String, SeriesPath>) -> Option<f64> {
    match op {
        Operand::Value { value } => Some(*value),
        Operand::Stat {
            series,
            stat: s,
            from,
            to,
        } => paths.get(series).and_then(|p| stat(p, *s, *from, *to)),
    }
}

/// Evaluate one check on one run's series.
pub fn evaluate(check: &Check, paths: &BTreeMap<String, SeriesPath>) -> SeedOutcome {
    let left = operand(&check.left, paths);
    let right = operand(&check.right, paths).map(|r| check.factor * r);
    let pass = match (left, right) {
        (Some(l), Some(r)) => match check.op {
            Op::Ge => l >= r,
            Op::Le => l <= r,
        },
        _ => false,
    };
    SeedOutcome { left, right, pass }
}

/// One check over the ensemble.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// The check.
    pub check: Check,
    /// Per seed, in seed order.
    pub seeds: Vec<SeedOutcome>,
    /// Seeds passing.
    pub passed: usize,
    /// Whether the ensemble passes (share of seeds passing >= `min_share`).
    pub pass: bool,
}

impl CheckResult {
    /// Median over seeds of the left side and of `factor × right` (seeds with empty windows
    /// skipped).
    pub fn medians(&self) -> (Option<f64>, Option<f64>) {
        let l: Vec<f64> = self.seeds.iter().filter_map(|s| s.left).collect();
        let r: Vec<f64> = self.seeds.iter().filter_map(|s| s.right).collect();
        (quantile(&l, 0.5), quantile(&r, 0.5))
    }
}

/// The outcome of a backtest.
#[derive(Clone, Debug)]
pub struct BacktestResult {
    /// The expectations.
    pub spec: Expectations,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Series per seed: `paths[series][seed index]`.
    pub paths: BTreeMap<String, Vec<SeriesPath>>,
    /// Checks, in file order.
    pub checks: Vec<CheckResult>,
}

impl BacktestResult {
    /// Ids of checks that fail the ensemble.
    pub fn failing(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.check.id.clone())
            .collect()
    }

    /// Ids of checks marked known-failing.
    pub fn known_failing(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.check.known_failing.is_some())
            .map(|c| c.check.id.clone())
            .collect()
    }

    /// Checks whose outcome differs from what the file says (a known failure that now passes, or
    /// a failure not marked known).
    pub fn surprises(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.pass == c.check.known_failing.is_some())
            .map(|c| c.check.id.clone())
            .collect()
    }

    /// `backtest.csv`: one row per check.
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "backtest,check,claim,source,seeds_passed,n,share,min_share,pass,known_failing,median_left,median_right\n",
        );
        let n = self.seeds.len();
        for c in &self.checks {
            let (l, r) = c.medians();
            let fmt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
            let fields = [
                self.spec.name.clone(),
                c.check.id.clone(),
                c.check.claim.clone(),
                c.check.source.clone(),
                c.passed.to_string(),
                n.to_string(),
                format!("{}", c.passed as f64 / n.max(1) as f64),
                format!("{}", self.spec.min_share),
                c.pass.to_string(),
                c.check.known_failing.clone().unwrap_or_default(),
                fmt(l),
                fmt(r),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            let _ = writeln!(out, "{}", line.join(","));
        }
        out
    }

    /// `series.csv`: per series and step, the 5/50/95 % quantiles over seeds.
    pub fn series_csv(&self) -> String {
        let mut out = String::from("backtest,series,year,n,p05,p50,p95\n");
        for (name, band) in self.bands() {
            for (y, lo, mid, hi, n) in band {
                let _ = writeln!(
                    out,
                    "{},{},{y},{n},{lo},{mid},{hi}",
                    csv_field(&self.spec.name),
                    csv_field(&name)
                );
            }
        }
        out
    }

    /// Per series: `(year, p05, p50, p95, n)` over seeds, for years present in any seed.
    pub fn bands(&self) -> BTreeMap<String, Vec<BandRow>> {
        let mut out = BTreeMap::new();
        for (name, per_seed) in &self.paths {
            let mut by_year: BTreeMap<i64, (f64, Vec<f64>)> = BTreeMap::new();
            for path in per_seed {
                for (y, v) in path {
                    // Key by the year in 1e-6 units so equal steps of different seeds meet.
                    let key = (y * 1e6).round() as i64;
                    by_year.entry(key).or_insert((*y, Vec::new())).1.push(*v);
                }
            }
            let band = by_year
                .into_values()
                .map(|(y, vs)| {
                    (
                        y,
                        quantile(&vs, 0.05).unwrap_or(f64::NAN),
                        quantile(&vs, 0.5).unwrap_or(f64::NAN),
                        quantile(&vs, 0.95).unwrap_or(f64::NAN),
                        vs.len(),
                    )
                })
                .collect();
            out.insert(name.clone(), band);
        }
        out
    }

    /// A plain-text table for the terminal.
    pub fn table(&self) -> String {
        let n = self.seeds.len();
        let mut out = format!(
            "backtest `{}` ({} seeds, a check passes if >= {:.0}% of seeds pass):\n",
            self.spec.name,
            n,
            100.0 * self.spec.min_share
        );
        for c in &self.checks {
            let verdict = match (c.pass, c.check.known_failing.is_some()) {
                (true, false) => "pass",
                (false, true) => "FAIL (known)",
                (false, false) => "FAIL (unexpected)",
                (true, true) => "pass (marked known-failing: update the file)",
            };
            let _ = writeln!(
                out,
                "  {:<28} {:>3}/{:<3} {verdict}",
                c.check.id, c.passed, n
            );
        }
        out
    }
}

/// Quote a CSV field when needed (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Quantile by linear interpolation between order statistics (type 7); `None` if empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let h = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
}

/// Run a backtest over its ensemble (`seeds` overrides the file's count). Runs in parallel; the
/// result does not depend on the number of threads (each seed's run is independent and results
/// are kept in seed order).
pub fn run(bt: &Backtest, seeds: Option<u32>) -> Result<BacktestResult, BacktestError> {
    let spec = &bt.spec;
    let n = seeds.unwrap_or(spec.seeds).max(1);
    let dir = bt.path.parent().unwrap_or(Path::new("."));
    let scenario_path = dir.join(&spec.scenario);
    // Load once first so that a bad scenario is one error, not one per seed.
    load_file(&scenario_path, &[])?;
    let seed_list: Vec<u64> = (0..u64::from(n)).map(|i| spec.first_seed + i).collect();
    let runs: Vec<Result<BTreeMap<String, SeriesPath>, BacktestError>> = seed_list
        .par_iter()
        .map(|seed| {
            let loaded = load_file(&scenario_path, &[format!("run.seed={seed}")])?;
            let result = crate::sim::try_run(loaded.scenario.resolved()).map_err(|e| {
                BacktestError::Run(format!("{} (seed {seed}): {e}", scenario_path.display()))
            })?;
            Ok(spec
                .series
                .iter()
                .map(|(name, s)| (name.clone(), extract(&result, s)))
                .collect())
        })
        .collect();
    let mut per_seed = Vec::with_capacity(runs.len());
    for r in runs {
        per_seed.push(r?);
    }
    let checks = spec
        .checks
        .iter()
        .map(|check| {
            let seeds: Vec<SeedOutcome> = per_seed.iter().map(|p| evaluate(check, p)).collect();
            let passed = seeds.iter().filter(|s| s.pass).count();
            let pass = passed as f64 >= spec.min_share * seeds.len() as f64 - 1e-9;
            CheckResult {
                check: check.clone(),
                seeds,
                passed,
                pass,
            }
        })
        .collect();
    let mut paths: BTreeMap<String, Vec<SeriesPath>> = BTreeMap::new();
    for p in per_seed {
        for (name, path) in p {
            paths.entry(name).or_default().push(path);
        }
    }
    Ok(BacktestResult {
        spec: spec.clone(),
        seeds: seed_list,
        paths,
        checks,
    })
}

/// Every expectations file (`*.expect.ron`) in a folder, sorted by name.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, BacktestError> {
    let entries = std::fs::read_dir(dir).map_err(|e| BacktestError::Io(dir.into(), e))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".expect.ron"))
        })
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_over_windows() {
        let p: Vec<(f64, f64)> = vec![(2020.0, 1.0), (2020.5, 3.0), (2021.0, 2.0), (2021.5, 0.5)];
        assert_eq!(stat(&p, Stat::Max, 2020.0, 2022.0), Some(3.0));
        assert_eq!(stat(&p, Stat::Argmax, 2020.0, 2022.0), Some(2020.5));
        assert_eq!(stat(&p, Stat::Min, 2021.0, 2022.0), Some(0.5));
        assert_eq!(stat(&p, Stat::Mean, 2020.0, 2021.0), Some(2.0));
        assert_eq!(stat(&p, Stat::First, 2020.5, 2022.0), Some(3.0));
        assert_eq!(stat(&p, Stat::Last, 2020.0, 2021.5), Some(2.0));
        assert_eq!(stat(&p, Stat::Max, 2030.0, 2031.0), None);
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[1.0, 2.0], 0.5), Some(1.5));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
