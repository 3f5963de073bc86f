//! The library API: what the command line does, callable from Rust (and, through the `python/`
//! crate, from Python) without a shell, a process or a CSV file in between.
//!
//! Why a separate layer: the CLI commands in [`crate::app`] write result folders and print; a
//! caller that analyses results in memory (pandas, the EMA Workbench, a notebook) wants the tables
//! themselves, errors as values that keep their location, and scenarios that can be re-loaded
//! with other overrides many times without re-reading the file. Everything here goes through the
//! same functions as the CLI, so the semantics cannot drift:
//!
//! - [`write_run`] is `orechain run FILE -o DIR`: it runs a scenario and writes its result folder
//!   ([`crate::output::run::write_run`], the function the CLI calls); [`resolve`] gives the
//!   resolved scenario the model is built from.
//! - [`load`] is `orechain run FILE --set …` up to the run: the same loader ([`Parsed::load`],
//!   [`crate::scenario::load_str`] for the built-in baseline), the same `--set` semantics and the
//!   same error messages; [`Scenario::with_sets`] adds overrides on top, as more `--set`
//!   arguments would.
//! - [`run`] runs one seed in memory and keeps every row; [`RunOutput::csv`] writes a table with
//!   the same functions as `orechain run` ([`crate::output::tables`]), so the text is
//!   byte-identical to the CLI's file for the same scenario and seed, and [`RunOutput::columns`]
//!   gives the same table as typed columns (what a data frame is built from, no text parsed).
//! - [`run_ensemble`] runs the seeds `orechain run --replicates N` runs
//!   ([`crate::ensemble::seeds`]), in parallel; [`summaries`] computes `metrics_summary.csv` and
//!   `metrics_annual.csv` in memory with the CLI's own summary code (byte-identical), and
//!   [`statistics`] one row of the annual table without the rest (what the EMA adapter reads).
//! - [`sweep`] and [`compare`] run the CLI's sweep and compare into a result folder (a sweep is
//!   resumable through its on-disk journal by design) and return where it is.
//!
//! Errors are [`Error`]: the CLI's message (control characters escaped, as `main` prints it), the
//! exit code the CLI would use, and the structured locations (file, line, column, field path) of
//! a scenario or sweep error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::app::AppError;
use crate::ensemble::table;
use crate::output::tables;
use crate::scenario::load::Parsed;
use crate::scenario::{self, Loaded, Location, ScenarioError};
use crate::sim::RunResult;
use crate::sweep::SweepError;

/// One place an error points at. Every field is optional: a `--set` error has a field path but no
/// file, an unreadable file has a file but no line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorLocation {
    /// File as given (or the built-in scenario's name).
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column (characters).
    pub column: Option<u32>,
    /// Field path, list elements named by id (`nations.CHL.governance.regulatory_stability`).
    pub path: Option<String>,
    /// The `--set` argument the problem comes from, if any.
    pub set: Option<String>,
}

/// Which kind of failure (the CLI's exit code follows from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad scenario, sweep file or argument (CLI exit 2).
    BadInput,
    /// Anything else (exit 1).
    Internal,
    /// Stopped by an interrupt (exit 130).
    Interrupted,
}

/// An error of the library API: the CLI's message, its kind, and where it points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Kind.
    pub kind: ErrorKind,
    /// The message `orechain` would print after `error: ` (control characters escaped).
    pub message: String,
    /// Locations, in the order the message lists them (empty when there is none).
    pub locations: Vec<ErrorLocation>,
}

impl Error {
    /// The CLI's exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::BadInput => 2,
            ErrorKind::Internal => 1,
            ErrorKind::Interrupted => crate::interrupt::EXIT_INTERRUPTED,
        }
    }

    fn bad(message: String) -> Self {
        Error {
            kind: ErrorKind::BadInput,
            message: scenario::error::escape_message(&message).into_owned(),
            locations: Vec::new(),
        }
    }

    fn internal(message: String) -> Self {
        Error {
            kind: ErrorKind::Internal,
            message: scenario::error::escape_message(&message).into_owned(),
            locations: Vec::new(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

fn place(location: &Location, path: Option<&str>) -> ErrorLocation {
    let mut out = ErrorLocation {
        path: path.map(str::to_string),
        ..ErrorLocation::default()
    };
    match location {
        Location::File {
            file, line, col, ..
        } => {
            out.file = Some(file.clone());
            out.line = Some(*line);
            out.column = Some(*col);
        }
        Location::Set { arg } => {
            out.set = Some(arg.clone());
        }
        Location::CommandLine | Location::Unknown => {}
    }
    out
}

/// The field path of a `--set PATH=VALUE` argument.
fn set_path(arg: &str) -> Option<String> {
    arg.split_once('=').map(|(p, _)| p.trim().to_string())
}

fn scenario_locations(e: &ScenarioError) -> Vec<ErrorLocation> {
    match e {
        ScenarioError::Io { path, .. } => vec![ErrorLocation {
            file: Some(path.display().to_string()),
            ..ErrorLocation::default()
        }],
        ScenarioError::Syntax { location, .. } => vec![place(location, None)],
        ScenarioError::Type { location, path, .. } => vec![place(location, Some(path))],
        ScenarioError::ExtendsCycle { .. } | ScenarioError::ExtendsTooDeep { .. } => Vec::new(),
        ScenarioError::NotAScenario { from, field, .. } => vec![place(from, Some(field))],
        ScenarioError::Set { arg, .. } => vec![ErrorLocation {
            path: set_path(arg),
            set: Some(arg.clone()),
            ..ErrorLocation::default()
        }],
        ScenarioError::Invalid { problems } => problems
            .iter()
            .map(|p| place(&p.location, Some(&p.path)))
            .collect(),
    }
}

impl From<ScenarioError> for Error {
    fn from(e: ScenarioError) -> Self {
        let locations = scenario_locations(&e);
        // Every scenario error is bad input: `AppError::from(ScenarioError)` maps them all to
        // exit 2.
        let kind = ErrorKind::BadInput;
        Error {
            kind,
            message: scenario::error::escape_message(e.to_string().trim_end()).into_owned(),
            locations,
        }
    }
}

impl From<AppError> for Error {
    fn from(e: AppError) -> Self {
        let kind = match e {
            AppError::BadInput(_) => ErrorKind::BadInput,
            AppError::Internal(_) => ErrorKind::Internal,
            AppError::Interrupted(_) => ErrorKind::Interrupted,
        };
        Error {
            kind,
            message: scenario::error::escape_message(&e.to_string()).into_owned(),
            locations: Vec::new(),
        }
    }
}

impl From<SweepError> for Error {
    fn from(e: SweepError) -> Self {
        let locations = match &e {
            SweepError::Scenario(s) => scenario_locations(s),
            SweepError::Invalid(problems) => problems
                .iter()
                .map(|p| place(&p.location, Some(&p.path)))
                .collect(),
            _ => Vec::new(),
        };
        let mut out = Error::from(AppError::from(e));
        out.locations = locations;
        out
    }
}

/// A loaded, validated scenario that remembers how it was loaded, so it can be re-loaded with more
/// overrides ([`Scenario::with_sets`]) without reading its files again.
#[derive(Clone, Debug)]
pub struct Scenario {
    loaded: Loaded,
    /// The file parsed once (`None` for the built-in baseline, which is parsed from memory).
    parsed: Option<Parsed>,
    sets: Vec<String>,
}

/// Load a scenario file (or the built-in baseline when `path` is `None`) with `--set`-style
/// overrides (`PATH=VALUE`, applied in order): what `orechain run [FILE] --set …` loads, with the
/// same errors.
pub fn load(path: Option<&Path>, sets: &[String]) -> Result<Scenario, Error> {
    let parsed = path.map(scenario::load::parse_file).transpose()?;
    Scenario::build(parsed, sets.to_vec())
}

impl Scenario {
    fn build(parsed: Option<Parsed>, sets: Vec<String>) -> Result<Scenario, Error> {
        let loaded = match &parsed {
            Some(p) => p.load(&sets)?,
            None => scenario::load_str(
                scenario::DEFAULT_SCENARIO,
                scenario::DEFAULT_SCENARIO_NAME,
                &sets,
            )?,
        };
        Ok(Scenario {
            loaded,
            parsed,
            sets,
        })
    }

    /// This scenario with more overrides applied after the ones it was loaded with (later ones
    /// win, as repeated `--set` arguments do).
    pub fn with_sets(&self, more: &[String]) -> Result<Scenario, Error> {
        let mut sets = self.sets.clone();
        sets.extend(more.iter().cloned());
        Scenario::build(self.parsed.clone(), sets)
    }

    /// The loaded scenario.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// The overrides applied, in order.
    pub fn sets(&self) -> &[String] {
        &self.sets
    }

    /// Scenario name.
    pub fn name(&self) -> &str {
        &self.loaded.scenario.scenario().name
    }

    /// `run.seed`.
    pub fn seed(&self) -> u64 {
        self.loaded.scenario.scenario().run.seed
    }

    /// Steps a run takes.
    pub fn steps(&self) -> u32 {
        self.loaded.scenario.steps()
    }

    /// The resolved scenario as RON (what `scenario.ron` of a run folder holds).
    pub fn resolved_ron(&self) -> String {
        self.loaded.resolved_ron()
    }

    /// The top file's path (`None` for the built-in baseline).
    pub fn path(&self) -> Option<&Path> {
        self.loaded.path.as_deref()
    }
}

/// The tables of a run: the file names `orechain run` writes, without `.csv`.
pub const TABLES: [&str; 4] = ["metrics", "flows", "events", "assets"];

/// One column of a table, typed as a data frame wants it.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Whole numbers (step numbers).
    Int(Vec<i64>),
    /// Numbers, exactly the `f64` the CSV's shortest round-trip text denotes.
    Float(Vec<f64>),
    /// Text, dictionary-encoded: row `i` is `labels[codes[i]]`, or an empty cell when
    /// `codes[i]` is negative.
    Text {
        /// Index into `labels` per row; −1 for an empty cell.
        codes: Vec<i32>,
        /// Distinct values.
        labels: Vec<String>,
    },
}

/// Dictionary encoding of a text column.
#[derive(Default)]
struct Interner {
    index: HashMap<String, i32>,
    labels: Vec<String>,
    codes: Vec<i32>,
}

impl Interner {
    fn push(&mut self, text: &str) {
        if text.is_empty() {
            self.codes.push(-1);
            return;
        }
        let code = match self.index.get(text) {
            Some(c) => *c,
            None => {
                let c = i32::try_from(self.labels.len()).unwrap_or(i32::MAX);
                self.index.insert(text.to_string(), c);
                self.labels.push(text.to_string());
                c
            }
        };
        self.codes.push(code);
    }

    fn column(self) -> Column {
        Column::Text {
            codes: self.codes,
            labels: self.labels,
        }
    }
}

/// A text column whose values index a registry list (nations, minerals): no hashing per row.
fn indexed(list: &[String], idx: impl Iterator<Item = Option<usize>>) -> Column {
    let codes = idx
        .map(|i| match i {
            Some(i) if i < list.len() => i32::try_from(i).unwrap_or(-1),
            _ => -1,
        })
        .collect();
    Column::Text {
        codes,
        labels: list.to_vec(),
    }
}

/// A run held in memory: every row of every table.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The rows.
    pub result: RunResult,
}

impl RunOutput {
    /// Seed the run used.
    pub fn seed(&self) -> u64 {
        self.result.seed
    }

    /// A table (`metrics`, `flows`, `events` or `assets`) as the CSV text `orechain run` writes
    /// to `<name>.csv`, byte for byte.
    pub fn csv(&self, table: &str) -> Result<String, Error> {
        let r = &self.result;
        let internal = |e: tables::NonFinite| Error::internal(e.to_string());
        match table {
            "metrics" => tables::metrics_csv(r).map_err(internal),
            "flows" => tables::flows_csv(r).map_err(internal),
            "events" => Ok(tables::events_csv(r)),
            "assets" => Ok(tables::assets_csv(r)),
            other => Err(unknown_table(other)),
        }
    }

    /// A table as typed columns, in the CSV's column order, with the values the CSV holds:
    /// reading `<name>.csv` with an exact number parser gives these values.
    pub fn columns(&self, table: &str) -> Result<Vec<(&'static str, Column)>, Error> {
        let r = &self.result;
        let reg = &r.registry;
        let cal = tables::Calendar {
            start_year: r.start_year,
            steps_per_year: r.steps_per_year,
        };
        let steps = |s: &mut dyn Iterator<Item = u32>| -> (Column, Column) {
            let steps: Vec<u32> = s.collect();
            let years = steps.iter().map(|s| cal.year(*s)).collect();
            (
                Column::Int(steps.into_iter().map(i64::from).collect()),
                Column::Float(years),
            )
        };
        let nation = |n: Option<crate::model::components::NationIdx>| n.map(|n| usize::from(n.0));
        Ok(match table {
            "metrics" => {
                let rows = &r.metrics;
                if let Some(bad) = rows.iter().find(|m| !m.value.is_finite()) {
                    return Err(Error::internal(format!(
                        "non-finite value in metrics.csv: metric `{}` at step {}",
                        bad.metric, bad.step
                    )));
                }
                let (step, year) = steps(&mut rows.iter().map(|m| m.step));
                let mut metric = Interner::default();
                let mut stage = Interner::default();
                for m in rows {
                    metric.push(m.metric);
                    stage.push(m.stage.map_or("", |s| s.as_str()));
                }
                vec![
                    ("step", step),
                    ("year", year),
                    ("metric", metric.column()),
                    (
                        "mineral",
                        indexed(
                            &reg.minerals,
                            rows.iter().map(|m| m.mineral.map(|x| usize::from(x.0))),
                        ),
                    ),
                    ("stage", stage.column()),
                    (
                        "nation",
                        indexed(&reg.nations, rows.iter().map(|m| nation(m.nation))),
                    ),
                    (
                        "partner",
                        indexed(&reg.nations, rows.iter().map(|m| nation(m.partner))),
                    ),
                    (
                        "value",
                        Column::Float(rows.iter().map(|m| m.value).collect()),
                    ),
                ]
            }
            "flows" => {
                let rows = &r.flows;
                if rows
                    .iter()
                    .any(|f| !(f.quantity_t.is_finite() && f.value_usd.is_finite()))
                {
                    return Err(Error::internal("non-finite value in flows.csv".into()));
                }
                let (step, year) = steps(&mut rows.iter().map(|f| f.step));
                let mut stage = Interner::default();
                let mut kind = Interner::default();
                for f in rows {
                    stage.push(f.stage.as_str());
                    kind.push(f.kind.as_str());
                }
                vec![
                    ("step", step),
                    ("year", year),
                    (
                        "mineral",
                        indexed(
                            &reg.minerals,
                            rows.iter().map(|f| Some(usize::from(f.mineral.0))),
                        ),
                    ),
                    ("stage", stage.column()),
                    (
                        "from",
                        indexed(&reg.nations, rows.iter().map(|f| nation(Some(f.from)))),
                    ),
                    (
                        "to",
                        indexed(&reg.nations, rows.iter().map(|f| nation(Some(f.to)))),
                    ),
                    (
                        "quantity",
                        Column::Float(rows.iter().map(|f| f.quantity_t).collect()),
                    ),
                    (
                        "value_usd",
                        Column::Float(rows.iter().map(|f| f.value_usd).collect()),
                    ),
                    ("kind", kind.column()),
                ]
            }
            "events" => {
                let rows = &r.events;
                let (step, year) = steps(&mut rows.iter().map(|e| e.step));
                let mut kind = Interner::default();
                let mut detail = Interner::default();
                for e in rows {
                    kind.push(e.kind);
                    detail.push(&e.detail);
                }
                vec![
                    ("step", step),
                    ("year", year),
                    ("kind", kind.column()),
                    (
                        "asset",
                        indexed(
                            &reg.assets,
                            rows.iter().map(|e| e.asset.map(|a| a.0 as usize)),
                        ),
                    ),
                    (
                        "firm",
                        indexed(
                            &reg.firms,
                            rows.iter().map(|e| e.firm.map(|f| f.0 as usize)),
                        ),
                    ),
                    (
                        "nation",
                        indexed(&reg.nations, rows.iter().map(|e| nation(e.nation))),
                    ),
                    (
                        "partner",
                        indexed(&reg.nations, rows.iter().map(|e| nation(e.partner))),
                    ),
                    ("detail", detail.column()),
                ]
            }
            "assets" => {
                let rows = &r.assets;
                let mut stage = Interner::default();
                let mut status = Interner::default();
                let mut owners = Interner::default();
                for a in rows {
                    stage.push(a.stage.as_str());
                    status.push(a.status.as_str());
                    let text: Vec<String> = a
                        .owners
                        .iter()
                        .map(|(f, s)| {
                            let firm = reg.firms.get(f.0 as usize).map_or("", String::as_str);
                            format!("{firm}:{s}")
                        })
                        .collect();
                    owners.push(&text.join(";"));
                }
                vec![
                    (
                        "asset",
                        indexed(&reg.assets, rows.iter().map(|a| Some(a.idx.0 as usize))),
                    ),
                    (
                        "host",
                        indexed(&reg.nations, rows.iter().map(|a| nation(Some(a.host)))),
                    ),
                    (
                        "mineral",
                        indexed(
                            &reg.minerals,
                            rows.iter().map(|a| Some(usize::from(a.mineral.0))),
                        ),
                    ),
                    ("stage", stage.column()),
                    ("status", status.column()),
                    (
                        "status_since_step",
                        Column::Int(
                            rows.iter()
                                .map(|a| i64::from(a.status_since_step))
                                .collect(),
                        ),
                    ),
                    (
                        "capacity_t_per_yr",
                        Column::Float(rows.iter().map(|a| a.capacity_t_per_yr).collect()),
                    ),
                    (
                        "utilisation",
                        Column::Float(rows.iter().map(|a| a.utilisation).collect()),
                    ),
                    (
                        "unit_opex_usd_per_t",
                        Column::Float(rows.iter().map(|a| a.unit_opex_usd_per_t).collect()),
                    ),
                    ("esg", Column::Float(rows.iter().map(|a| a.esg).collect())),
                    ("owners", owners.column()),
                ]
            }
            other => return Err(unknown_table(other)),
        })
    }
}

fn unknown_table(name: &str) -> Error {
    Error::bad(format!(
        "unknown table `{}`: expected one of {}",
        scenario::error::clip(name, 40),
        TABLES.join(", ")
    ))
}

/// Run a scenario once, in memory, with `seed` (or its `run.seed`): the run `orechain run [FILE]
/// --set … [--seed SEED]` makes, stopped by the same non-finite guard.
pub fn run(scenario: &Scenario, seed: Option<u64>) -> Result<RunOutput, Error> {
    let validated = match seed {
        Some(s) => scenario.loaded.scenario.clone().with_seed(s),
        None => scenario.loaded.scenario.clone(),
    };
    let result =
        crate::sim::try_run(validated.resolved()).map_err(|e| Error::internal(e.to_string()))?;
    Ok(RunOutput { result })
}

/// The scenario resolved to dense indices, steps and applied defaults: the only input the model
/// accepts ([`crate::sim::Simulation::new`]); computed once, when the scenario was validated.
pub fn resolve(scenario: &Scenario) -> &crate::scenario::Resolved {
    scenario.loaded.scenario.resolved()
}

/// How [`write_run`] writes a run folder (`--force`, `--no-figures`, `--format`,
/// `--max-output-mb`; the manifest's command line).
pub use crate::output::run::RunFolderOptions;

/// Run a scenario and write its result folder at `dir`, as `orechain run FILE -o DIR` does (the
/// same files and bytes for the same scenario and seed, written atomically); returns the folder.
/// The seed is the scenario's `run.seed` (set it with [`Scenario::with_sets`]).
pub fn write_run(
    dir: &Path,
    scenario: &Scenario,
    options: &RunFolderOptions,
) -> Result<PathBuf, Error> {
    crate::output::run::write_run(dir, &scenario.loaded, options)
        .map(|w| w.dir)
        .map_err(|e| Error::from(crate::command::write_run_error(dir, e)))
}

/// An ensemble held in memory: the runs of `orechain run --replicates N`.
#[derive(Clone, Debug)]
pub struct EnsembleOutput {
    /// The replicates, in replicate order (replicate `r` ran with `seeds[r]`).
    pub runs: Vec<RunOutput>,
    /// Seeds, in replicate order.
    pub seeds: Vec<u64>,
}

/// The summaries of an ensemble, as `orechain run --replicates N` writes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summaries {
    /// `metrics_summary.csv`, byte-identical to the CLI's.
    pub summary_csv: String,
    /// `metrics_annual.csv`, byte-identical to the CLI's.
    pub annual_csv: String,
}

impl EnsembleOutput {
    /// [`summaries`] of this ensemble.
    pub fn summaries(&self) -> Result<Summaries, Error> {
        summaries(&self.runs.iter().collect::<Vec<_>>())
    }

    /// [`statistics`] of this ensemble.
    pub fn statistics(&self, sel: &Selection) -> Option<crate::ensemble::stats::Stats> {
        statistics(&self.runs.iter().collect::<Vec<_>>(), sel)
    }
}

/// `metrics_summary.csv` and `metrics_annual.csv` of the replicates `runs` (in replicate order),
/// computed by the CLI's own code from their `metrics.csv` text, so byte-identical to the CLI's.
/// This is the expensive part of an ensemble; [`statistics`] is the cheap way to one row of the
/// annual table.
pub fn summaries(runs: &[&RunOutput]) -> Result<Summaries, Error> {
    let mut tables = table::Tables::new(runs.len());
    for (i, r) in runs.iter().enumerate() {
        let text = r.csv("metrics")?;
        let shown = format!("replicates/seed-{}/metrics.csv", r.seed());
        tables
            .read_replicate_from(text.as_bytes(), &shown, i)
            .map_err(Error::from)?;
    }
    Ok(Summaries {
        summary_csv: table::summary_csv(&tables.steps, table::SUMMARY_HEADER),
        annual_csv: table::summary_csv(&tables.years, table::ANNUAL_HEADER),
    })
}

/// Statistics over the replicates `runs` of one selected series in one calendar year: the
/// `n, mean, sd, p05, p50, p95` of its row in `metrics_annual.csv` ([`Selection`],
/// [`RunOutput::annual_value`]); `None` when no replicate has the row.
pub fn statistics(runs: &[&RunOutput], sel: &Selection) -> Option<crate::ensemble::stats::Stats> {
    let values: Vec<f64> = runs.iter().filter_map(|r| r.annual_value(sel)).collect();
    (!values.is_empty()).then(|| crate::ensemble::stats::Stats::of(&values))
}

/// One series of `metrics.csv` in one calendar year: a metric narrowed by mineral, stage, nation
/// and partner (`None` selects rows where that column is empty, as in the CSV).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Metric name.
    pub metric: String,
    /// Mineral id.
    pub mineral: Option<String>,
    /// Stage (`ore`, `refined`).
    pub stage: Option<String>,
    /// Nation id.
    pub nation: Option<String>,
    /// Partner nation id.
    pub partner: Option<String>,
    /// Calendar year.
    pub year: i64,
}

impl RunOutput {
    /// The selected series' value in its calendar year, as `metrics_annual.csv` aggregates it:
    /// the mean over the year's steps with a row, or the sum for metrics whose absent rows mean
    /// zero ([`table::zero_when_absent`], which are 0 in a year without a row). `None` when the
    /// run has no such row that year (for other metrics).
    pub fn annual_value(&self, sel: &Selection) -> Option<f64> {
        let r = &self.result;
        let reg = &r.registry;
        let cal = tables::Calendar {
            start_year: r.start_year,
            steps_per_year: r.steps_per_year,
        };
        fn name(list: &[String], i: Option<usize>) -> Option<&str> {
            i.and_then(|i| list.get(i)).map(String::as_str)
        }
        let (mut sum, mut count) = (0.0, 0u32);
        for m in &r.metrics {
            if m.metric != sel.metric
                || cal.year(m.step).floor() as i64 != sel.year
                || m.stage.map(|s| s.as_str()) != sel.stage.as_deref()
                || name(&reg.minerals, m.mineral.map(|x| usize::from(x.0)))
                    != sel.mineral.as_deref()
                || name(&reg.nations, m.nation.map(|x| usize::from(x.0))) != sel.nation.as_deref()
                || name(&reg.nations, m.partner.map(|x| usize::from(x.0))) != sel.partner.as_deref()
            {
                continue;
            }
            sum += m.value;
            count += 1;
        }
        if table::zero_when_absent(&sel.metric) {
            Some(sum)
        } else {
            (count > 0).then(|| sum / f64::from(count))
        }
    }
}

/// Run `replicates` seeds derived from `seed` (or the scenario's `run.seed`) as `orechain run
/// --replicates N` does, on `jobs` threads (`None`: one per core), in memory.
pub fn run_ensemble(
    scenario: &Scenario,
    seed: Option<u64>,
    replicates: u32,
    jobs: Option<usize>,
) -> Result<EnsembleOutput, Error> {
    if replicates == 0 || replicates > crate::ensemble::MAX_REPLICATES {
        return Err(Error::bad(format!(
            "replicates must be between 1 and {}",
            crate::ensemble::MAX_REPLICATES
        )));
    }
    let seeds = crate::ensemble::seeds(seed.unwrap_or(scenario.seed()), replicates);
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(j) = jobs {
        builder = builder.num_threads(j.max(1));
    }
    let pool = builder
        .build()
        .map_err(|e| Error::internal(format!("cannot start worker threads: {e}")))?;
    let runs: Vec<Result<RunOutput, Error>> = pool.install(|| {
        seeds
            .par_iter()
            .map(|s| {
                run(scenario, Some(*s)).map_err(|e| Error {
                    message: format!("replicate with seed {s}: {}", e.message),
                    ..e
                })
            })
            .collect()
    });
    let runs = runs.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(EnsembleOutput { runs, seeds })
}

/// Options of [`sweep`], as `orechain sweep`'s flags.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// Output folder [default: `output/<sweep name>/`].
    pub output: Option<PathBuf>,
    /// Worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    /// Continue the sweep in the output folder.
    pub resume: bool,
    /// Replace an existing output folder.
    pub force: bool,
    /// Draw the sweep figures.
    pub figures: bool,
}

/// What [`sweep`] did: the CLI's report (the folder holds `summary.csv`, `runs.csv`, …).
pub type SweepReport = crate::sweep::SweepReport;

/// Run a sweep file into a result folder, as `orechain sweep FILE` does. Runs that failed are
/// listed in `failures.csv` and counted in the report (the CLI then exits 1; here the caller
/// decides).
pub fn sweep(file: &Path, opts: &SweepOptions) -> Result<SweepReport, Error> {
    let plan = crate::sweep::spec::load_plan(file)?;
    let out_dir = opts
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&plan.file.name));
    let options = crate::sweep::SweepOptions {
        out_dir,
        jobs: opts.jobs,
        resume: opts.resume,
        force: opts.force,
        shard: None,
        figures: opts.figures,
        args: vec![
            "orechain (python)".into(),
            "sweep".into(),
            file.display().to_string(),
        ],
        format: Default::default(),
    };
    Ok(crate::sweep::run_sweep(&plan, &options)?)
}

/// Compare two ensemble folders or two scenario files, as `orechain compare A B` does; returns the
/// comparison folder (with `comparison.csv` and `comparison_annual.csv`).
pub fn compare(args: &crate::compare::CompareArgs) -> Result<PathBuf, Error> {
    // The CLI's argument parser enforces this range (`--replicates`, 2..=10000).
    if !(2..=crate::ensemble::MAX_REPLICATES).contains(&args.replicates) {
        return Err(Error::bad(format!(
            "compare needs between 2 and {} replicates, got {}",
            crate::ensemble::MAX_REPLICATES,
            args.replicates
        )));
    }
    let argv = vec![
        "orechain (python)".into(),
        "compare".into(),
        args.a.display().to_string(),
        args.b.display().to_string(),
    ];
    Ok(crate::compare::compare_command(args, argv)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_errors_carry_the_field_path() {
        let e = load(
            None,
            &["nations.CHL.governance.regulatory_stabilty=0.4".into()],
        )
        .expect_err("misspelt field");
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.locations[0].path.as_deref(),
            Some("nations.CHL.governance.regulatory_stabilty")
        );
        assert!(e.message.contains("regulatory_stability"), "{}", e.message);
    }

    #[test]
    fn invalid_values_carry_file_line_column_and_path() {
        let e = load(
            None,
            &["nations.CHL.governance.regulatory_stability=7".into()],
        )
        .expect_err("out of range");
        assert_eq!(e.kind, ErrorKind::BadInput);
        let l = &e.locations[0];
        assert_eq!(
            l.path.as_deref(),
            Some("nations.CHL.governance.regulatory_stability")
        );
        // The message is the CLI's, so it names the same location.
        assert!(e.message.contains("regulatory_stability"), "{}", e.message);
    }

    #[test]
    fn columns_match_the_csv_text() {
        let s = load(Some(Path::new("scenarios/tiny.ron")), &[]).expect("tiny loads");
        let out = run(&s, Some(3)).expect("runs");
        assert_eq!(out.seed(), 3);
        let text = out.csv("metrics").expect("csv");
        let cols = out.columns("metrics").expect("columns");
        let rows: Vec<&str> = text.lines().skip(1).collect();
        let Column::Float(values) = &cols[7].1 else {
            panic!("value is a float column")
        };
        let Column::Text { codes, labels } = &cols[2].1 else {
            panic!("metric is a text column")
        };
        assert_eq!(rows.len(), values.len());
        for (i, row) in rows.iter().enumerate() {
            let cells: Vec<&str> = row.split(',').collect();
            assert_eq!(cells[7].parse::<f64>().ok(), Some(values[i]), "row {i}");
            assert_eq!(cells[2], labels[codes[i] as usize], "row {i}");
        }
    }

    #[test]
    fn statistics_are_the_rows_of_metrics_annual() {
        let s = load(Some(Path::new("scenarios/tiny.ron")), &[]).expect("tiny loads");
        let e = run_ensemble(&s, Some(11), 3, Some(1)).expect("runs");
        let annual = e.summaries().expect("summaries").annual_csv;
        // Every row of the CLI's annual table is what `statistics` gives for its selection.
        let mut checked = 0;
        for line in annual.lines().skip(1) {
            let c: Vec<&str> = line.split(',').collect();
            let opt = |t: &str| (!t.is_empty()).then(|| t.to_string());
            let sel = Selection {
                year: c[0].parse().expect("year"),
                metric: c[1].to_string(),
                mineral: opt(c[2]),
                stage: opt(c[3]),
                nation: opt(c[4]),
                partner: opt(c[5]),
            };
            let st = e.statistics(&sel).expect("a row has values");
            assert_eq!(c[6], st.n.to_string(), "{line}");
            assert_eq!(c[7], st.mean.to_string(), "{line}");
            assert_eq!(c[10], st.p50.to_string(), "{line}");
            checked += 1;
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn write_run_writes_the_folder_the_cli_writes() {
        let s = load(
            Some(Path::new("scenarios/tiny.ron")),
            &["run.seed=3".into()],
        )
        .expect("loads");
        let dir =
            std::env::temp_dir().join(format!("orechain-api-write-run-{}", std::process::id()));
        let options = RunFolderOptions {
            figures: false,
            force: true,
            ..RunFolderOptions::default()
        };
        let written = write_run(&dir, &s, &options).expect("writes");
        let in_memory = run(&s, None).expect("runs");
        for table in TABLES {
            let file = std::fs::read_to_string(written.join(format!("{table}.csv"))).expect("read");
            assert_eq!(file, in_memory.csv(table).expect("csv"), "{table}");
        }
        assert!(written.join("manifest.json").is_file());
        assert!(!written.join("figures").exists());
        // Without `force`, an existing folder is the caller's to remove: bad input.
        let again = write_run(&dir, &s, &RunFolderOptions::default()).expect_err("exists");
        assert_eq!(again.kind, ErrorKind::BadInput);
        assert_eq!(resolve(&s).steps, s.steps());
        std::fs::remove_dir_all(&written).expect("cleanup");
    }

    #[test]
    fn with_sets_equals_loading_with_all_sets() {
        let a = load(None, &["run.end_year=2026".into()]).expect("loads");
        let b = a.with_sets(&["run.seed=9".into()]).expect("loads");
        let c = load(None, &["run.end_year=2026".into(), "run.seed=9".into()]).expect("loads");
        assert_eq!(b.resolved_ron(), c.resolved_ron());
        assert_eq!(b.seed(), 9);
    }
}
