//! The sweep file (RON): its schema, its validation, and the plan it resolves to.
//!
//! A sweep file names a base scenario, the parameters to vary (by `--set` paths), a design,
//! replicates, a seed and the outcomes to keep (docs/design.md §3.4). It is read with the scenario
//! loader's machinery, so syntax and type errors carry file, line, column and field path; the
//! semantic checks below list every problem at once, each located in the sweep file. Resolving a
//! valid file gives a [`Plan`]: the base scenario parsed once, and the design points as the exact
//! `--set` values each run applies.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SweepError;
use super::design;
use super::outcome::{self, Outcome};
use crate::scenario::load::{self, Document, Parsed};
use crate::scenario::{Problem, ScenarioError, ron_tree};

/// A sweep file as written.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// Name; the default output folder is `output/<name>/`.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Base scenario file, relative to the sweep file.
    pub base: String,
    /// Fixed `--set` overrides applied to the base before any parameter (e.g. a longer horizon).
    #[serde(default)]
    pub sets: Vec<String>,
    /// Sweep seed: replicate `r` has seed `derive_seed(seed, r)` at every design point (common
    /// random numbers, the default) or run `i` has `derive_seed(seed, i)` (`seeds: independent`);
    /// random designs and the bootstrap also derive from it.
    pub seed: u64,
    /// How runs get their seeds: `common` (default) or `independent`.
    #[serde(default)]
    pub seeds: Seeds,
    /// Runs per design point, each with its own seed. Default 1.
    #[serde(default = "one")]
    pub replicates: u32,
    /// Parameters to vary.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    /// How points are chosen.
    pub design: Design,
    /// What to keep from each run.
    pub outcomes: Vec<Outcome>,
    /// Cap on the size of `design.csv`, in MB (10^6 bytes): a sweep whose design would be larger
    /// stops before writing anything. Default [`DEFAULT_MAX_DESIGN_MB`].
    #[serde(default = "default_max_design_mb")]
    pub max_design_mb: u64,
}

fn one() -> u32 {
    1
}

/// Default of [`SweepFile::max_design_mb`]: 1 GB, about 10 million runs of a few parameters.
pub const DEFAULT_MAX_DESIGN_MB: u64 = 1_000;

fn default_max_design_mb() -> u64 {
    DEFAULT_MAX_DESIGN_MB
}

/// How the runs of a sweep get their seeds.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Seeds {
    /// Common random numbers (default): replicate `r` has the seed `derive_seed(seed, r)` at
    /// every design point, so differences between points are not blurred by different draws
    /// (Law 2015, Simulation Modeling and Analysis, 5th ed., §11.2).
    #[default]
    Common,
    /// Every run its own seed, `derive_seed(seed, run_id)` (orechain before 0.x: see CHANGELOG).
    Independent,
}

/// One varied parameter: a `--set` path and either a range or a list of levels.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// `--set` path, e.g. `nations.CHL.governance.regulatory_stability`.
    pub path: String,
    /// Column name in the outputs; default = the path.
    #[serde(default)]
    pub name: Option<String>,
    /// Lower end of a continuous range (inclusive).
    #[serde(default)]
    pub min: Option<f64>,
    /// Upper end of a continuous range (inclusive for grids, exclusive for sampled designs).
    #[serde(default)]
    pub max: Option<f64>,
    /// Round range values to whole numbers (every integer of `min..=max` equally likely).
    #[serde(default)]
    pub integer: bool,
    /// Discrete levels (numbers, strings, booleans or any RON value). Sampled designs pick level
    /// `floor(u * count)` for a unit coordinate `u`.
    #[serde(default)]
    pub levels: Vec<serde_json::Value>,
}

/// The experimental design.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Design {
    /// Full factorial over every parameter's levels (a range gives `points_per_range` evenly
    /// spaced values from `min` to `max`).
    Grid {
        /// Values per range parameter (at least 2).
        #[serde(default)]
        points_per_range: Option<u32>,
    },
    /// Independent uniform draws.
    Random {
        /// Design points.
        points: u32,
    },
    /// Latin hypercube (each of `points` strata of every parameter sampled once).
    LatinHypercube {
        /// Design points.
        points: u32,
    },
    /// Saltelli design on a Sobol' sequence: `base_points * (parameters + 2)` points, and
    /// first- and total-order Sobol' indices in `sensitivity.csv`.
    Sobol {
        /// Base rows `n` (a power of two is best).
        base_points: u32,
        /// Bootstrap resamples for the confidence intervals (default 1000; 0 = none).
        #[serde(default)]
        resamples: Option<u32>,
        /// Confidence level of the intervals (default 0.95).
        #[serde(default)]
        conf_level: Option<f64>,
    },
    /// Morris (1991) elementary-effects screening: `trajectories` one-at-a-time trajectories on a
    /// `levels`-level grid, `trajectories * (parameters + 1)` points, and μ, μ*, σ per parameter
    /// in `morris.csv`.
    Morris {
        /// Trajectories `r`.
        trajectories: u32,
        /// Grid levels `p` (even, at least 2; 4 is usual).
        levels: u32,
        /// Bootstrap resamples for the μ* intervals (default 1000; 0 = none).
        #[serde(default)]
        resamples: Option<u32>,
        /// Confidence level of the intervals (default 0.95).
        #[serde(default)]
        conf_level: Option<f64>,
    },
    /// Explicit points from a CSV file (relative to the sweep file): a header naming every
    /// parameter (by name) and one row per point.
    Csv {
        /// CSV file.
        file: String,
    },
    /// Lever attribution: the full factorial (`2^k` points, `k` ≤ [`MAX_LEVERS`]) of named
    /// levers, each on (its `sets` applied) or off, with `attribution.csv` (main effects,
    /// two-way interactions, Shapley values) over the replicates. Takes no `parameters`.
    Levers {
        /// The levers, in column order.
        levers: Vec<Lever>,
        /// Confidence level of the intervals over replicates (default 0.95).
        #[serde(default)]
        conf_level: Option<f64>,
    },
}

/// Most levers a `levers` design may have (256 points).
pub const MAX_LEVERS: usize = 8;

/// A lever: a name and the `--set` overrides that switch it on.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Lever {
    /// Column name (as a parameter name).
    pub name: String,
    /// `--set PATH=VALUE` overrides applied, after the sweep's `sets`, when the lever is on.
    pub sets: Vec<String>,
}

impl Design {
    /// Lower-case kind, as in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Design::Grid { .. } => "grid",
            Design::Random { .. } => "random",
            Design::LatinHypercube { .. } => "latin_hypercube",
            Design::Sobol { .. } => "sobol",
            Design::Morris { .. } => "morris",
            Design::Csv { .. } => "csv",
            Design::Levers { .. } => "levers",
        }
    }
}

/// One parameter value of a design point.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// A number (written with shortest round-trip formatting).
    Number(f64),
    /// A string (quoted for `--set`, bare in CSV).
    Text(String),
    /// Any other RON value, as RON text (booleans, options, lists).
    Ron(String),
}

impl ParamValue {
    /// The value as a CSV cell (before quoting).
    pub fn csv_text(&self) -> String {
        match self {
            ParamValue::Number(x) => x.to_string(),
            ParamValue::Text(s) | ParamValue::Ron(s) => s.clone(),
        }
    }

    /// The value as the right-hand side of `--set PATH=VALUE`.
    pub fn set_text(&self) -> String {
        match self {
            ParamValue::Number(x) => x.to_string(),
            ParamValue::Text(s) => ron_tree::print_ron(&serde_json::Value::String(s.clone()))
                .trim()
                .to_string(),
            ParamValue::Ron(s) => s.clone(),
        }
    }

    fn from_json(value: &serde_json::Value) -> ParamValue {
        match value {
            serde_json::Value::Number(n) => n
                .as_f64()
                .map_or_else(|| ParamValue::Ron(n.to_string()), ParamValue::Number),
            serde_json::Value::String(s) => ParamValue::Text(s.clone()),
            other => ParamValue::Ron(ron_tree::print_ron(other).trim().to_string()),
        }
    }

    /// Read a cell of an explicit design CSV: a number, `true`/`false`, or else a string.
    pub fn from_csv_cell(cell: &str) -> ParamValue {
        let cell = cell.trim();
        match cell.parse::<f64>() {
            Ok(x) if x.is_finite() => ParamValue::Number(x),
            _ if cell == "true" || cell == "false" => ParamValue::Ron(cell.to_string()),
            _ => ParamValue::Text(cell.to_string()),
        }
    }
}

/// A validated sweep, ready to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The sweep file as written.
    pub file: SweepFile,
    /// Path of the sweep file.
    pub sweep_path: PathBuf,
    /// Text of the sweep file (copied into the output folder).
    pub sweep_text: String,
    /// Path of the base scenario.
    pub base_path: PathBuf,
    /// The base scenario, parsed once, with the fixed `sets` applied.
    pub base: Parsed,
    /// The resolved base scenario as RON (every field explicit, fixed sets applied).
    pub base_resolved: String,
    /// Output column name of each parameter.
    pub names: Vec<String>,
    /// `--set` path of each parameter.
    pub paths: Vec<String>,
    /// Design points: one value per parameter.
    pub points: Vec<Vec<ParamValue>>,
    /// Text of an explicit design CSV (hashed into the design), if any.
    pub design_csv_text: Option<String>,
}

impl Plan {
    /// Replicates per point.
    pub fn replicates(&self) -> u64 {
        u64::from(self.file.replicates)
    }

    /// Total runs: points × replicates.
    pub fn total_runs(&self) -> u64 {
        self.points.len() as u64 * self.replicates()
    }

    /// `(point_id, replicate)` of a run: runs are numbered point by point.
    pub fn locate(&self, run_id: u64) -> (u64, u64) {
        (run_id / self.replicates(), run_id % self.replicates())
    }

    /// The `--set` arguments of a design point (without the seed).
    pub fn point_sets(&self, point_id: u64) -> Vec<String> {
        let point = &self.points[point_id as usize];
        if let Design::Levers { levers, .. } = &self.file.design {
            return levers
                .iter()
                .zip(point)
                .filter(|(_, on)| **on == ParamValue::Number(1.0))
                .flat_map(|(lever, _)| lever.sets.iter().cloned())
                .collect();
        }
        self.paths
            .iter()
            .zip(point)
            .map(|(path, value)| format!("{path}={}", value.set_text()))
            .collect()
    }
}

/// Column names the outputs use themselves; a parameter may not take one.
const RESERVED_NAMES: &[&str] = &[
    "run_id",
    "point_id",
    "replicate",
    "seed",
    "outcome",
    "year",
    "value",
    "n",
    "mean",
    "sd",
    "p05",
    "p50",
    "p95",
    "message",
];

/// Read, validate and resolve a sweep file.
pub fn load_plan(sweep_path: &Path) -> Result<Plan, SweepError> {
    // The scenario reader refuses devices, FIFOs and files over its size limit (`/dev/zero`
    // would otherwise fill memory).
    let text = load::read_scenario_text(sweep_path).map_err(|e| {
        SweepError::BadInput(format!(
            "cannot read sweep file `{}`: {}",
            sweep_path.display(),
            one_line(&e)
        ))
    })?;
    let doc: Document<SweepFile> = load::deserialize_str(&text, &sweep_path.display().to_string())?;
    let dir = sweep_path.parent().unwrap_or(Path::new("."));
    let mut problems = Problems::new(&doc);
    check_fields(&doc.value, &mut problems);

    let base_path = dir.join(&doc.value.base);
    let parsed = load::parse_file_named_at(
        &base_path,
        load::locate_path(&doc.tree, "base", &doc.sources),
    )?;
    let base = match parsed.with_sets(&doc.value.sets) {
        Ok(base) => base,
        Err(e @ (ScenarioError::Set { .. } | ScenarioError::Invalid { .. })) => {
            problems.push("sets", one_line(&e));
            return Err(problems.into_error());
        }
        Err(e) => return Err(e.into()),
    };
    let loaded = base.load(&[])?;
    let base_resolved = loaded.resolved_ron();
    check_paths(&doc.value, &base, &mut problems);

    let design_csv_text = match &doc.value.design {
        Design::Csv { file } => match load::read_scenario_text(&dir.join(file)) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push("design.file", one_line(&e));
                None
            }
        },
        _ => None,
    };
    // The outcomes must name series the model writes: checked on a run of the base scenario.
    let probe = crate::sim::run(loaded.scenario.resolved());
    let (start, end) = {
        let run = &loaded.scenario.scenario().run;
        (run.start_year, run.end_year)
    };
    for (i, o) in doc.value.outcomes.iter().enumerate() {
        if let Some(years) = &o.years
            && let Some(bad) = years.iter().find(|y| !(start..=end).contains(*y))
        {
            problems.push(
                &format!("outcomes.{i}.years"),
                format!("year {bad} is outside the base scenario's horizon {start}..={end}"),
            );
        }
        if !outcome::has_rows(o, &probe) {
            problems.push(&format!("outcomes.{i}"), describe_missing_series(o, &probe));
        }
    }
    if !problems.is_empty() {
        return Err(problems.into_error());
    }
    if let Design::Levers { levers, .. } = &doc.value.design {
        for (i, lever) in levers.iter().enumerate() {
            if let Err(e @ (ScenarioError::Set { .. } | ScenarioError::Invalid { .. })) =
                base.load(&lever.sets)
            {
                problems.push(&format!("design.levers.{i}.sets"), one_line(&e));
            }
        }
        if !problems.is_empty() {
            return Err(problems.into_error());
        }
    }
    let names: Vec<String> = match &doc.value.design {
        Design::Levers { levers, .. } => levers.iter().map(|l| l.name.clone()).collect(),
        _ => doc.value.parameters.iter().map(param_name).collect(),
    };
    let points = build_points(
        &doc.value,
        &names,
        design_csv_text.as_deref(),
        &mut problems,
    );
    if matches!(doc.value.design, Design::Csv { .. })
        && (points.len() as u64).saturating_mul(u64::from(doc.value.replicates)) > MAX_RUNS
    {
        problems.push(
            "replicates",
            format!(
                "{} points × {} replicates is more than {MAX_RUNS} runs",
                points.len(),
                doc.value.replicates
            ),
        );
    }
    if !problems.is_empty() {
        return Err(problems.into_error());
    }
    let paths = match &doc.value.design {
        Design::Levers { levers, .. } => levers
            .iter()
            .map(|l| format!("lever: {}", l.sets.join("; ")))
            .collect(),
        _ => doc
            .value
            .parameters
            .iter()
            .map(|p| p.path.clone())
            .collect(),
    };
    Ok(Plan {
        file: doc.value,
        sweep_path: sweep_path.to_path_buf(),
        sweep_text: text,
        base_path,
        base,
        base_resolved,
        names,
        paths,
        points,
        design_csv_text,
    })
}

/// The output name of a parameter.
fn param_name(p: &Parameter) -> String {
    p.name.clone().unwrap_or_else(|| p.path.clone())
}

/// A scenario error as one line (for `failures.csv` and located sweep problems).
pub fn one_line(e: &ScenarioError) -> String {
    match e {
        ScenarioError::Invalid { problems } => problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

/// Semantic problems collected with their locations in the sweep file.
struct Problems<'a> {
    doc: &'a Document<SweepFile>,
    list: Vec<Problem>,
}

impl<'a> Problems<'a> {
    fn new(doc: &'a Document<SweepFile>) -> Self {
        Problems {
            doc,
            list: Vec::new(),
        }
    }

    fn push(&mut self, path: &str, message: String) {
        // Clipped here so that no message, whatever it quotes (a parameter name, a metric, a CSV
        // header), can grow with the input.
        self.list.push(Problem {
            path: load::clip_for_message(path, 320),
            message: load::clip_for_message(&message, 960),
            location: load::locate_path(&self.doc.tree, path, &self.doc.sources),
        });
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn into_error(self) -> SweepError {
        SweepError::Invalid(self.list)
    }
}

fn check_fields(s: &SweepFile, problems: &mut Problems<'_>) {
    // The same rule as scenario names: the name becomes `output/<name>/` (and a Slurm job name),
    // so `..`, `/`, hidden names and shell metacharacters are refused before anything is written.
    use crate::scenario::validate::{MAX_NAME_CHARS, is_plain_folder_name};
    if !is_plain_folder_name(&s.name) {
        problems.push(
            "name",
            format!(
                "`{}` is not a plain folder name: use letters, digits, `_`, `-` and `.` (not \
                 first); it names the output folder",
                crate::scenario::error::clip(&s.name.escape_default().to_string(), 80)
            ),
        );
    } else if s.name.chars().count() > MAX_NAME_CHARS {
        problems.push(
            "name",
            format!(
                "is {} chars long; at most {MAX_NAME_CHARS} are allowed",
                s.name.chars().count()
            ),
        );
    }
    if s.replicates == 0 {
        problems.push("replicates", "must be at least 1".into());
    }
    for (i, set) in s.sets.iter().enumerate() {
        if set.split('=').next().map(str::trim) == Some("run.seed") {
            problems.push(
                &format!("sets.{i}"),
                "the sweep derives every run's seed from `seed`; remove this set".into(),
            );
        }
    }
    let mut names: Vec<String> = Vec::new();
    for (i, p) in s.parameters.iter().enumerate() {
        let at = format!("parameters.{i}");
        let name = param_name(p);
        if p.path.trim() == "run.seed" {
            problems.push(
                &format!("{at}.path"),
                "the seed is not a parameter: use `replicates` (each run gets its own seed)".into(),
            );
        }
        if name.is_empty() || name.contains(['\n', '\r', '"']) {
            problems.push(
                &format!("{at}.name"),
                "must be non-empty, without quotes or line breaks".into(),
            );
        } else if RESERVED_NAMES.contains(&name.as_str()) {
            problems.push(
                &format!("{at}.name"),
                format!("`{name}` is an output column; choose another name"),
            );
        } else if names.contains(&name) {
            problems.push(&at, format!("a second parameter is named `{name}`"));
        }
        names.push(name);
        let has_range = p.min.is_some() || p.max.is_some();
        match (has_range, p.levels.is_empty()) {
            (true, false) => {
                problems.push(&at, "give either `min`/`max` or `levels`, not both".into())
            }
            (false, true) => problems.push(&at, "needs `min` and `max`, or `levels`".into()),
            (true, true) => match (p.min, p.max) {
                // The span must be finite too: `min + u (max - min)` must not overflow.
                (Some(lo), Some(hi)) if lo < hi && (hi - lo).is_finite() => {
                    if p.integer && (lo.fract() != 0.0 || hi.fract() != 0.0) {
                        problems.push(&at, "an `integer` range needs whole `min` and `max`".into());
                    }
                }
                (Some(_), Some(_)) => {
                    problems.push(
                        &at,
                        "needs finite `min` < `max` with a finite `max - min`".into(),
                    );
                }
                _ => problems.push(&at, "needs both `min` and `max`".into()),
            },
            (false, false) => {
                if p.integer {
                    problems.push(&format!("{at}.integer"), "applies to ranges only".into());
                }
            }
        }
    }
    let k = s.parameters.len();
    match &s.design {
        Design::Grid { points_per_range } => {
            let needs = s.parameters.iter().any(|p| p.levels.is_empty());
            match points_per_range {
                Some(n) if *n < 2 => {
                    problems.push("design.points_per_range", "must be at least 2".into());
                }
                None if needs => problems.push(
                    "design",
                    "a grid over a `min`/`max` parameter needs `points_per_range` (or give `levels`)"
                        .into(),
                ),
                _ => {}
            }
        }
        Design::Random { points } | Design::LatinHypercube { points } => {
            if *points == 0 {
                problems.push("design.points", "must be at least 1".into());
            }
            if k == 0 {
                problems.push(
                    "parameters",
                    "a sampled design needs at least one parameter".into(),
                );
            }
        }
        Design::Sobol {
            base_points,
            resamples,
            conf_level,
        } => {
            if *base_points == 0 {
                problems.push("design.base_points", "must be at least 1".into());
            }
            check_bootstrap(*resamples, *conf_level, problems);
            if k == 0 || k > design::MAX_SALTELLI_PARAMETERS {
                problems.push(
                    "parameters",
                    format!(
                        "a Sobol' design needs 1 to {} parameters, found {k}",
                        design::MAX_SALTELLI_PARAMETERS
                    ),
                );
            }
        }
        Design::Morris {
            trajectories,
            levels,
            resamples,
            conf_level,
        } => {
            if *trajectories == 0 {
                problems.push("design.trajectories", "must be at least 1".into());
            }
            if *levels < 2 || levels % 2 != 0 || *levels > MAX_MORRIS_LEVELS {
                problems.push(
                    "design.levels",
                    format!("must be an even number from 2 to {MAX_MORRIS_LEVELS}, found {levels}"),
                );
            }
            check_bootstrap(*resamples, *conf_level, problems);
            if k == 0 {
                problems.push(
                    "parameters",
                    "a Morris design needs at least one parameter".into(),
                );
            }
        }
        Design::Csv { .. } => {
            if k == 0 {
                problems.push(
                    "parameters",
                    "an explicit design names its parameters here".into(),
                );
            }
        }
        Design::Levers { levers, conf_level } => {
            if k > 0 {
                problems.push(
                    "parameters",
                    "a levers design takes no parameters: its levers are its factors".into(),
                );
            }
            if levers.is_empty() || levers.len() > MAX_LEVERS {
                problems.push(
                    "design.levers",
                    format!("needs 1 to {MAX_LEVERS} levers, found {}", levers.len()),
                );
            }
            check_bootstrap(None, *conf_level, problems);
            let mut seen: Vec<&str> = Vec::new();
            for (i, lever) in levers.iter().enumerate() {
                let name = lever.name.as_str();
                if name.is_empty() || name.contains(['\n', '\r', '"', ',']) {
                    problems.push(
                        &format!("design.levers.{i}.name"),
                        "must be non-empty, without quotes, commas or line breaks".into(),
                    );
                } else if RESERVED_NAMES.contains(&name) || seen.contains(&name) {
                    problems.push(
                        &format!("design.levers.{i}.name"),
                        format!("`{name}` is taken (an output column or another lever)"),
                    );
                }
                seen.push(name);
                if lever.sets.is_empty() {
                    problems.push(
                        &format!("design.levers.{i}.sets"),
                        "a lever needs at least one `--set` override".into(),
                    );
                }
            }
        }
    }
    check_size(s, problems);
    if s.outcomes.is_empty() {
        problems.push("outcomes", "name at least one outcome to keep".into());
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, o) in s.outcomes.iter().enumerate() {
        let valid = !o.name.is_empty()
            && o.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            problems.push(
                &format!("outcomes.{i}.name"),
                "use letters, digits, `_`, `-` and `.` only".into(),
            );
        } else if seen.contains(&o.name.as_str()) {
            problems.push(
                &format!("outcomes.{i}.name"),
                format!("a second outcome is named `{}`", o.name),
            );
        }
        seen.push(&o.name);
    }
}

/// Most bootstrap resamples: each costs one pass over the outputs per outcome and year.
pub const MAX_RESAMPLES: u32 = 100_000;

fn check_bootstrap(resamples: Option<u32>, conf_level: Option<f64>, problems: &mut Problems<'_>) {
    if resamples.is_some_and(|b| b > MAX_RESAMPLES) {
        problems.push(
            "design.resamples",
            format!("at most {MAX_RESAMPLES} bootstrap resamples"),
        );
    }
    if conf_level.is_some_and(|c| !(c > 0.0 && c < 1.0)) {
        problems.push(
            "design.conf_level",
            "must be strictly between 0 and 1 (e.g. 0.95)".into(),
        );
    }
}

/// Most design points a sweep may have: the points are held in memory (about 32 bytes per
/// parameter value), and a million points is already weeks of baseline runs on one machine.
pub const MAX_DESIGN_POINTS: u64 = 1_000_000;
/// Most runs (points × replicates) a sweep may have: `design.csv` has a line per run.
pub const MAX_RUNS: u64 = 100_000_000;

/// The design's size must fit [`MAX_DESIGN_POINTS`] and [`MAX_RUNS`], checked before any point
/// is built (a grid's size is the product of its axes, which overflows quickly).
fn check_size(s: &SweepFile, problems: &mut Problems<'_>) {
    let k = s.parameters.len() as u64;
    let points: Option<u64> = match &s.design {
        Design::Grid { points_per_range } => s.parameters.iter().try_fold(1u64, |n, p| {
            let axis = if p.levels.is_empty() {
                u64::from(points_per_range.unwrap_or(2))
            } else {
                p.levels.len() as u64
            };
            n.checked_mul(axis)
        }),
        Design::Random { points } | Design::LatinHypercube { points } => Some(u64::from(*points)),
        Design::Sobol { base_points, .. } => u64::from(*base_points).checked_mul(k + 2),
        Design::Morris { trajectories, .. } => u64::from(*trajectories).checked_mul(k + 1),
        // Counted when the CSV is read.
        Design::Csv { .. } => Some(0),
        Design::Levers { levers, .. } => Some(1u64 << levers.len().min(MAX_LEVERS)),
    };
    match points {
        Some(n) if n <= MAX_DESIGN_POINTS => {
            if n.saturating_mul(u64::from(s.replicates)) > MAX_RUNS {
                problems.push(
                    "replicates",
                    format!(
                        "{n} points × {} replicates is more than {MAX_RUNS} runs",
                        s.replicates
                    ),
                );
            }
        }
        _ => problems.push(
            "design",
            format!(
                "the design has {} points; a sweep may have at most {MAX_DESIGN_POINTS}",
                points.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string())
            ),
        ),
    }
}

/// Each parameter path must name a scenario field: try setting it on the base.
fn check_paths(s: &SweepFile, base: &Parsed, problems: &mut Problems<'_>) {
    for (i, p) in s.parameters.iter().enumerate() {
        let probe = match (p.levels.first(), p.min) {
            (Some(level), _) => ParamValue::from_json(level),
            (None, Some(lo)) => ParamValue::Number(lo),
            (None, None) => continue,
        };
        let set = format!("{}={}", p.path, probe.set_text());
        if let Err(e @ ScenarioError::Set { .. }) = base.load(std::slice::from_ref(&set)) {
            let message = match &e {
                ScenarioError::Set { message, .. } => message.clone(),
                _ => one_line(&e),
            };
            problems.push(&format!("parameters.{i}.path"), message);
        }
    }
}

/// Map a unit coordinate to a parameter value.
fn from_unit(p: &Parameter, u: f64) -> ParamValue {
    if !p.levels.is_empty() {
        let n = p.levels.len();
        let i = ((u * n as f64) as usize).min(n - 1);
        return ParamValue::from_json(&p.levels[i]);
    }
    let (lo, hi) = (p.min.unwrap_or(0.0), p.max.unwrap_or(1.0));
    if p.integer {
        // Every integer of lo..=hi gets an equal share of the unit interval.
        let count = hi - lo + 1.0;
        ParamValue::Number((lo + (u * count).floor()).min(hi))
    } else {
        ParamValue::Number(lo + u * (hi - lo))
    }
}

/// The value of grid coordinate `x` in `[0, 1]` of a Morris design: `min + x (max - min)` for a
/// range (rounded for an integer one), the level of index `round(x (count - 1))` for levels.
fn morris_value(p: &Parameter, x: f64) -> ParamValue {
    if !p.levels.is_empty() {
        let n = p.levels.len();
        let i = ((x * (n - 1) as f64).round() as usize).min(n - 1);
        return ParamValue::from_json(&p.levels[i]);
    }
    let (lo, hi) = (p.min.unwrap_or(0.0), p.max.unwrap_or(1.0));
    let v = lo + x * (hi - lo);
    ParamValue::Number(if p.integer {
        v.round()
    } else {
        format!("{v:.11e}").parse().unwrap_or(v)
    })
}

/// Most grid levels a Morris design may have.
pub const MAX_MORRIS_LEVELS: u32 = 1000;

/// A grid value, rounded to 12 significant digits so that `0.1 + 2 * 0.1` prints as `0.3`.
fn grid_value(lo: f64, hi: f64, i: u32, n: u32, integer: bool) -> f64 {
    let x = lo + (hi - lo) * f64::from(i) / f64::from(n - 1);
    if integer {
        return x.round();
    }
    format!("{x:.11e}").parse().unwrap_or(x)
}

fn build_points(
    s: &SweepFile,
    names: &[String],
    csv_text: Option<&str>,
    problems: &mut Problems<'_>,
) -> Vec<Vec<ParamValue>> {
    let k = s.parameters.len();
    let from_units = |units: Vec<Vec<f64>>| -> Vec<Vec<ParamValue>> {
        units
            .into_iter()
            .map(|u| {
                s.parameters
                    .iter()
                    .zip(u)
                    .map(|(p, u)| from_unit(p, u))
                    .collect()
            })
            .collect()
    };
    match &s.design {
        Design::Grid { points_per_range } => {
            let n = points_per_range.unwrap_or(2);
            let axes: Vec<Vec<ParamValue>> = s
                .parameters
                .iter()
                .map(|p| {
                    if p.levels.is_empty() {
                        let (lo, hi) = (p.min.unwrap_or(0.0), p.max.unwrap_or(1.0));
                        let mut values: Vec<ParamValue> = (0..n)
                            .map(|i| ParamValue::Number(grid_value(lo, hi, i, n, p.integer)))
                            .collect();
                        values.dedup();
                        values
                    } else {
                        p.levels.iter().map(ParamValue::from_json).collect()
                    }
                })
                .collect();
            let counts: Vec<usize> = axes.iter().map(Vec::len).collect();
            design::grid_indices(&counts)
                .into_iter()
                .map(|idx| {
                    idx.iter()
                        .zip(&axes)
                        .map(|(&i, axis)| axis[i].clone())
                        .collect()
                })
                .collect()
        }
        Design::Random { points } => from_units(design::random_points(k, *points as usize, s.seed)),
        Design::LatinHypercube { points } => {
            from_units(design::latin_hypercube_points(k, *points as usize, s.seed))
        }
        Design::Sobol { base_points, .. } => {
            from_units(design::saltelli_points(k, *base_points as usize))
        }
        Design::Morris {
            trajectories,
            levels,
            ..
        } => design::morris_points(k, *trajectories as usize, *levels as usize, s.seed)
            .into_iter()
            .map(|x| {
                s.parameters
                    .iter()
                    .zip(x)
                    .map(|(p, x)| morris_value(p, x))
                    .collect()
            })
            .collect(),
        Design::Csv { .. } => read_csv_points(csv_text.unwrap_or(""), names, problems),
        // The full factorial, the first lever varying slowest; 1 = on.
        Design::Levers { levers, .. } => design::grid_indices(&vec![2; levers.len()])
            .into_iter()
            .map(|idx| {
                idx.into_iter()
                    .map(|on| ParamValue::Number(on as f64))
                    .collect()
            })
            .collect(),
    }
}

/// Whether a CSV header looks like parameter names (short names of letters, digits, spaces, `_`,
/// `.`, `-`). Only such a header is quoted in messages: `design.file` may name any readable file
/// (`/etc/passwd`), and a message must not become a way to print its first line.
fn plain_header(header: &[String]) -> bool {
    header.len() <= 64
        && header.iter().all(|h| {
            (1..=64).contains(&h.len())
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ' '))
        })
}

/// The header in a message: its names if they look like parameter names, else only its size.
fn describe_header(header: &[String]) -> String {
    if plain_header(header) {
        format!("its header is: {}", header.join(","))
    } else {
        format!(
            "its first line has {} comma-separated cells that are not parameter names; it is not \
             shown",
            header.len()
        )
    }
}

/// Most bad lines of a design CSV listed one by one; the rest are counted.
const MAX_LISTED_CSV_LINES: u64 = 20;

/// Points of an explicit design CSV: header = parameter names (any order), one row per point.
fn read_csv_points(
    text: &str,
    names: &[String],
    problems: &mut Problems<'_>,
) -> Vec<Vec<ParamValue>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_string()).collect(),
        Err(e) => {
            problems.push("design.file", format!("cannot read the CSV header: {e}"));
            return Vec::new();
        }
    };
    let mut columns = Vec::with_capacity(names.len());
    for name in names {
        match header.iter().position(|h| h == name) {
            Some(c) => columns.push(c),
            None => problems.push(
                "design.file",
                format!(
                    "the CSV has no column `{}` ({})",
                    load::clip_for_message(name, 80),
                    describe_header(&header)
                ),
            ),
        }
    }
    if let Some(extra) = header.iter().find(|h| !names.contains(h))
        && plain_header(&header)
    {
        problems.push(
            "design.file",
            format!(
                "the CSV column `{}` is not a parameter of this sweep",
                load::clip_for_message(extra, 80)
            ),
        );
    }
    if columns.len() != names.len() {
        return Vec::new();
    }
    let mut points = Vec::new();
    // Bad lines are listed up to a cap and then counted: a million of them must give a message
    // of a few KB, not hundreds of MB.
    let mut bad_lines: u64 = 0;
    let mut bad = |problems: &mut Problems<'_>, message: String| {
        bad_lines += 1;
        if bad_lines <= MAX_LISTED_CSV_LINES {
            problems.push("design.file", message);
        }
    };
    for (row, record) in reader.records().enumerate() {
        if points.len() as u64 >= MAX_DESIGN_POINTS {
            problems.push(
                "design.file",
                format!("the CSV has more than {MAX_DESIGN_POINTS} design points"),
            );
            break;
        }
        match record {
            Ok(r) if r.len() == header.len() => points.push(
                columns
                    .iter()
                    .map(|&c| ParamValue::from_csv_cell(&r[c]))
                    .collect(),
            ),
            Ok(r) => bad(
                problems,
                format!(
                    "CSV line {} has {} cells, the header {}",
                    row + 2,
                    r.len(),
                    header.len()
                ),
            ),
            Err(e) => bad(
                problems,
                format!(
                    "CSV line {}: {}",
                    row + 2,
                    load::clip_for_message(&e.to_string(), 200)
                ),
            ),
        }
    }
    if bad_lines > MAX_LISTED_CSV_LINES {
        problems.push(
            "design.file",
            format!(
                "… and {} more bad CSV lines not listed ({bad_lines} in all)",
                bad_lines - MAX_LISTED_CSV_LINES
            ),
        );
    }
    if points.is_empty() {
        problems.push("design.file", "the CSV has no design points".into());
    }
    points
}

/// Why an outcome matches nothing in the base run, with what it could have named.
fn describe_missing_series(o: &Outcome, probe: &crate::sim::RunResult) -> String {
    let mut metrics: Vec<&str> = probe.metrics.iter().map(|r| r.metric).collect();
    metrics.sort_unstable();
    metrics.dedup();
    if !metrics.contains(&o.metric.as_str()) {
        let mut scored: Vec<(usize, &str)> = metrics
            .iter()
            .map(|m| (load::edit_distance(m, &o.metric), *m))
            .collect();
        scored.sort_unstable();
        return format!(
            "the model writes no metric `{}`; metrics are: {}",
            o.metric,
            scored
                .iter()
                .map(|(_, m)| *m)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let reg = &probe.registry;
    let name = |list: &[String], i: Option<usize>| {
        i.and_then(|i| list.get(i).cloned()).unwrap_or_default()
    };
    let mut series: Vec<String> = probe
        .metrics
        .iter()
        .filter(|r| r.metric == o.metric)
        .map(|r| {
            let mut s = String::new();
            let _ = write!(
                s,
                "(mineral: \"{}\", stage: \"{}\", nation: \"{}\", partner: \"{}\")",
                load::clip_for_message(
                    &name(&reg.minerals, r.mineral.map(|m| usize::from(m.0))),
                    80
                ),
                r.stage.map_or("", |s| s.as_str()),
                load::clip_for_message(&name(&reg.nations, r.nation.map(|n| usize::from(n.0))), 80),
                load::clip_for_message(
                    &name(&reg.nations, r.partner.map(|n| usize::from(n.0))),
                    80
                ),
            );
            s
        })
        .collect();
    series.sort_unstable();
    series.dedup();
    let shown: Vec<&str> = series.iter().take(8).map(String::as_str).collect();
    format!(
        "no `{}` series in a run of the base scenario matches these filters (an omitted filter \
         matches an empty cell); series include: {}{}",
        o.metric,
        shown.join(", "),
        if series.len() > shown.len() {
            ", ..."
        } else {
            ""
        }
    )
}
