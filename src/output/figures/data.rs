//! The data behind the figures: `metrics.csv` read back from a finished run, and the scenario's
//! output settings. Reading the files a run wrote (rather than the in-memory result) is what lets
//! `orechain plot DIR` redraw every figure without re-running, and guarantees a run's figures and a
//! later `plot` of the same folder agree byte for byte.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::FigureError;
use crate::scenario::schema::Scenario;

/// One row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// 0-based step.
    pub step: u32,
    /// Decimal year at the start of the step.
    pub year: f64,
    /// Metric name.
    pub metric: String,
    /// Mineral id or empty.
    pub mineral: String,
    /// `ore`, `refined` or empty.
    pub stage: String,
    /// Nation id or empty.
    pub nation: String,
    /// Partner nation id or empty.
    pub partner: String,
    /// Value in the metric's unit.
    pub value: f64,
}

/// The columns `metrics.csv` must have (in any order; extra columns are ignored).
const COLUMNS: [&str; 8] = [
    "step", "year", "metric", "mineral", "stage", "nation", "partner", "value",
];

/// All rows of a run's `metrics.csv`, plus the step → year grid.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    rows: Vec<Row>,
    steps: BTreeMap<u32, f64>,
    /// Row indices of each metric, in file order: a figure asks for one metric at a time, and a
    /// scan of every row per request (dozens per run, ~10⁵ rows) was most of building them.
    by_metric: HashMap<String, Vec<usize>>,
}

/// Most time points a figure draws. A longer run is drawn at every `k`-th step
/// ([`Horizon::stride`]): a print-size chart has fewer pixels than that across, and reading only
/// those steps keeps `plot`'s memory flat in the number of steps.
pub const MAX_FIGURE_STEPS: u64 = 1_000;

/// Metrics recorded per step and drawn as calendar-year totals (investment, state finance,
/// incidents): when a long run is thinned, their rows are summed into the drawn steps.
pub const SUMMED_METRICS: [&str; 3] = ["investment_usd", "state_finance_usd", "incidents"];

/// Largest year span a figure's axis may have when the run's horizon is unknown (no
/// `scenario.ron`): a run has at most 100,000 steps and at least one per year.
pub const MAX_YEAR_SPAN: f64 = 100_000.0;

/// The run's calendar, from its scenario: which steps exist and what year each one is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Horizon {
    /// First year.
    pub start_year: i32,
    /// Last year (inclusive).
    pub end_year: i32,
    /// Steps per year.
    pub steps_per_year: u32,
}

impl Horizon {
    /// Steps of the run.
    pub fn steps(&self) -> u64 {
        ((i64::from(self.end_year) - i64::from(self.start_year) + 1).max(0) as u64)
            * u64::from(self.steps_per_year)
    }

    /// Decimal year of a step, exactly as the run writes it.
    pub fn year(&self, step: u32) -> f64 {
        f64::from(self.start_year) + f64::from(step) / f64::from(self.steps_per_year.max(1))
    }

    /// Every how many steps a figure keeps one (1 up to [`MAX_FIGURE_STEPS`] steps).
    pub fn stride(&self) -> u32 {
        u32::try_from(self.steps().div_ceil(MAX_FIGURE_STEPS).max(1)).unwrap_or(u32::MAX)
    }
}

impl Metrics {
    /// Parse the text of `metrics.csv`; `file` names it in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Self, FigureError> {
        Self::read(text.as_bytes(), file, None)
    }

    /// Read `metrics.csv` from `input`, row by row. With the run's `horizon` (from its
    /// `scenario.ron`), every row's step and year must be ones the run has (a year edited to 1e9
    /// is an error, not an axis a billion years long) and only every [`Horizon::stride`]-th step
    /// is kept. Without it, years must be consistent per step and span at most
    /// [`MAX_YEAR_SPAN`].
    pub fn read(
        input: impl std::io::Read,
        file: &str,
        horizon: Option<Horizon>,
    ) -> Result<Self, FigureError> {
        let bad = |line: u64, msg: String| FigureError::Input(format!("{file}:{line}: {msg}"));
        let stride = horizon.map_or(1, |h| h.stride());
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(input);
        let header = reader
            .headers()
            .map_err(|e| bad(1, format!("cannot read the header: {e}")))?
            .clone();
        let mut index = [0usize; 8];
        for (slot, name) in index.iter_mut().zip(COLUMNS) {
            *slot = header.iter().position(|h| h == name).ok_or_else(|| {
                bad(
                    1,
                    format!("missing column `{name}` (expected {})", COLUMNS.join(",")),
                )
            })?;
        }
        let mut rows = Vec::new();
        let mut steps = BTreeMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                bad(line, format!("malformed row: {e}"))
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let field = |i: usize| record.get(index[i]).unwrap_or("");
            let number = |i: usize| -> Result<f64, FigureError> {
                let v: f64 = field(i).trim().parse().map_err(|_| {
                    bad(
                        line,
                        format!("column `{}`: `{}` is not a number", COLUMNS[i], field(i)),
                    )
                })?;
                if v.is_finite() {
                    Ok(v)
                } else {
                    Err(bad(line, format!("column `{}` is not finite", COLUMNS[i])))
                }
            };
            let step: u32 = field(0).trim().parse().map_err(|_| {
                bad(
                    line,
                    format!("column `step`: `{}` is not a step number", field(0)),
                )
            })?;
            let year = number(1)?;
            match horizon {
                Some(h) => {
                    if u64::from(step) >= h.steps() {
                        return Err(bad(
                            line,
                            format!(
                                "step {step} is beyond this run's {} steps ({}–{}, {} per year, \
                                 from scenario.ron)",
                                h.steps(),
                                h.start_year,
                                h.end_year,
                                h.steps_per_year
                            ),
                        ));
                    }
                    if year != h.year(step) {
                        return Err(bad(
                            line,
                            format!(
                                "column `year` does not match step {step}, which is year {} of \
                                 this run (from scenario.ron); the file was edited",
                                h.year(step)
                            ),
                        ));
                    }
                }
                None => {
                    if year.abs() > MAX_YEAR_SPAN * 10.0 {
                        return Err(bad(
                            line,
                            format!(
                                "column `year` is outside ±{}; the file was edited",
                                MAX_YEAR_SPAN * 10.0
                            ),
                        ));
                    }
                    if steps.get(&step).is_some_and(|&y: &f64| y != year) {
                        return Err(bad(
                            line,
                            format!("column `year` differs from other rows of step {step}"),
                        ));
                    }
                }
            }
            // Thinning: a step between drawn steps is dropped, except the amounts drawn as
            // totals, which are added to the drawn step that starts their block (so totals over
            // the run are kept; a block's amount is shown in the year of its first step).
            let (step, year) = if step.is_multiple_of(stride) {
                (step, year)
            } else if SUMMED_METRICS.contains(&field(2)) {
                let block = step - step % stride;
                (block, horizon.map_or(year, |h| h.year(block)))
            } else {
                continue;
            };
            let value = number(7)?;
            steps.entry(step).or_insert(year);
            rows.push(Row {
                step,
                year,
                metric: field(2).to_string(),
                mineral: field(3).to_string(),
                stage: field(4).to_string(),
                nation: field(5).to_string(),
                partner: field(6).to_string(),
                value,
            });
        }
        if rows.is_empty() {
            return Err(bad(1, "no data rows".into()));
        }
        let metrics = Metrics::indexed(rows, steps);
        let (first, last) = metrics.year_range();
        if last - first > MAX_YEAR_SPAN || first > last {
            return Err(FigureError::Input(format!(
                "{file}: the years run from {first} to {last}, which no run spans (at most \
                 {MAX_YEAR_SPAN} years, increasing with the step); the file was edited"
            )));
        }
        Ok(metrics)
    }

    /// Metrics from rows already in memory (e.g. a quantile of every row over an ensemble's
    /// replicates); the step → year grid is taken from the rows.
    pub fn from_rows(rows: Vec<Row>) -> Self {
        let mut steps = BTreeMap::new();
        for r in &rows {
            steps.entry(r.step).or_insert(r.year);
        }
        Metrics::indexed(rows, steps)
    }

    fn indexed(rows: Vec<Row>, steps: BTreeMap<u32, f64>) -> Self {
        let mut by_metric: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            match by_metric.get_mut(r.metric.as_str()) {
                Some(v) => v.push(i),
                None => {
                    by_metric.insert(r.metric.clone(), vec![i]);
                }
            }
        }
        Metrics {
            rows,
            steps,
            by_metric,
        }
    }

    /// Every step with its year, in step order.
    pub fn steps(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.steps.iter().map(|(s, y)| (*s, *y))
    }

    /// Year of the first and the last step.
    pub fn year_range(&self) -> (f64, f64) {
        let first = self.steps.values().next().copied().unwrap_or(0.0);
        let last = self.steps.values().next_back().copied().unwrap_or(first);
        (first, last)
    }

    /// Rows of one metric.
    pub fn rows<'a>(&'a self, metric: &'a str) -> impl Iterator<Item = &'a Row> + 'a {
        self.by_metric
            .get(metric)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(move |&i| &self.rows[i])
    }

    /// Whether any row of the metric exists.
    pub fn has(&self, metric: &str) -> bool {
        self.rows(metric).next().is_some()
    }

    /// Distinct (mineral, stage) pairs of a metric, sorted.
    pub fn commodities(&self, metric: &str) -> Vec<(String, String)> {
        let set: BTreeSet<(String, String)> = self
            .rows(metric)
            .map(|r| (r.mineral.clone(), r.stage.clone()))
            .collect();
        set.into_iter().collect()
    }

    /// Values of a metric on the step grid, keyed by `key(row)`, for rows passing `keep`. Missing
    /// steps are `None`. Several rows with the same key and step are summed (in file order, so the
    /// sum is deterministic).
    pub fn grid(
        &self,
        metric: &str,
        keep: impl Fn(&Row) -> bool,
        key: impl Fn(&Row) -> String,
    ) -> Grid {
        let position: BTreeMap<u32, usize> = self
            .steps
            .keys()
            .enumerate()
            .map(|(i, s)| (*s, i))
            .collect();
        let mut out: Grid = BTreeMap::new();
        for r in self.rows(metric).filter(|r| keep(r)) {
            let series = out
                .entry(key(r))
                .or_insert_with(|| vec![None; position.len()]);
            if let Some(&i) = position.get(&r.step) {
                series[i] = Some(series[i].unwrap_or(0.0) + r.value);
            }
        }
        out
    }

    /// The years of the step grid, in step order.
    pub fn years(&self) -> Vec<f64> {
        self.steps.values().copied().collect()
    }
}

/// Values on the step grid by series key (`None` where a step has no row).
pub type Grid = BTreeMap<String, Vec<Option<f64>>>;

/// What the scenario's `output` section says, plus the mineral units for axis labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// Figure ids to draw; empty = all.
    pub figures: Vec<String>,
    /// Nations drawn on their own in share charts (China always is); empty = the largest.
    pub highlight_nations: Vec<String>,
    /// Consumers whose import dependence is drawn; empty = the largest consumers.
    pub consumers: Vec<String>,
    /// Unit of each mineral (`t Li`), by mineral id.
    pub mineral_units: BTreeMap<String, String>,
    /// Price ceiling in USD/t by `mineral|stage`: the reference price × `market.price_ceiling_ratio`.
    pub price_ceilings: BTreeMap<String, f64>,
    /// `market.price_ceiling_ratio` (for the ceiling's legend text).
    pub price_ceiling_ratio: f64,
    /// The run's calendar (unknown when a folder has no `scenario.ron`).
    pub horizon: Option<Horizon>,
}

impl Settings {
    /// The settings of a scenario.
    pub fn from_scenario(s: &Scenario) -> Self {
        Settings {
            figures: s.output.figures.clone(),
            highlight_nations: s.output.highlight_nations.clone(),
            consumers: s.output.consumers.clone(),
            mineral_units: s
                .minerals
                .iter()
                .map(|m| (m.id.clone(), m.unit.clone()))
                .collect(),
            price_ceilings: s
                .minerals
                .iter()
                .flat_map(|m| {
                    let r = s.market.price_ceiling_ratio;
                    // The ore guard is at least what the refined guard is worth in ore
                    // (docs/ODD.md §7.6.2), as in the market clearing.
                    let ore =
                        (m.ore_price_usd_per_t * r).max(m.recovery * m.refined_price_usd_per_t * r);
                    [
                        (format!("{}|ore", m.id), ore),
                        (format!("{}|refined", m.id), m.refined_price_usd_per_t * r),
                    ]
                })
                .collect(),
            price_ceiling_ratio: s.market.price_ceiling_ratio,
            horizon: Some(Horizon {
                start_year: s.run.start_year,
                end_year: s.run.end_year,
                steps_per_year: s.run.steps_per_year,
            }),
        }
    }

    /// Whether the figure family `id` is wanted.
    pub fn wants(&self, id: &str) -> bool {
        self.figures.is_empty() || self.figures.iter().any(|f| f == id)
    }

    /// The unit of a mineral (`t` when the scenario does not say).
    pub fn mineral_unit(&self, mineral: &str) -> &str {
        self.mineral_units
            .get(mineral)
            .map(String::as_str)
            .unwrap_or("t")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_reports_bad_numbers_with_line() {
        let ok = "step,year,metric,mineral,stage,nation,partner,value\n\
                  0,2024,capacity,lithium,ore,CHL,,100\n\
                  1,2024.25,capacity,lithium,ore,CHL,,110\n";
        let m = Metrics::parse(ok, "metrics.csv").expect("valid metrics parse");
        assert_eq!(m.years(), vec![2024.0, 2024.25]);
        let g = m.grid("capacity", |_| true, |r| r.nation.clone());
        assert_eq!(g["CHL"], vec![Some(100.0), Some(110.0)]);

        let bad = "step,year,metric,mineral,stage,nation,partner,value\n\
                   0,2024,capacity,lithium,ore,CHL,,abc\n";
        let e = Metrics::parse(bad, "metrics.csv").expect_err("a non-number is an error");
        assert!(e.to_string().contains("metrics.csv:2"), "{e}");
        let e = Metrics::parse("a,b\n1,2\n", "metrics.csv").expect_err("wrong header");
        assert!(e.to_string().contains("missing column `step`"), "{e}");
    }

    #[test]
    fn long_runs_are_thinned_keeping_totals_and_edited_years_are_refused() {
        // 2000 steps: every second step is drawn.
        let h = Horizon {
            start_year: 2024,
            end_year: 2523,
            steps_per_year: 4,
        };
        assert_eq!((h.steps(), h.stride()), (2000, 2));
        let mut text = String::from("step,year,metric,mineral,stage,nation,partner,value\n");
        for step in 0..2000u32 {
            let year = h.year(step);
            text.push_str(&format!("{step},{year},capacity,lithium,ore,CHL,,1\n"));
            text.push_str(&format!(
                "{step},{year},investment_usd,lithium,ore,CHL,USA,10\n"
            ));
        }
        let m = Metrics::read(text.as_bytes(), "metrics.csv", Some(h)).expect("reads");
        assert_eq!(m.years().len(), 1000);
        let capacity = m.grid("capacity", |_| true, |r| r.nation.clone());
        assert_eq!(capacity["CHL"].len(), 1000);
        let invested: f64 = m.grid("investment_usd", |_| true, |r| r.nation.clone())["CHL"]
            .iter()
            .map(|v| v.unwrap_or(0.0))
            .sum();
        assert_eq!(invested, 20_000.0, "every step's amount is kept");

        let edited = text.replacen("1,2024.25,capacity", "1,1e9,capacity", 1);
        let e = Metrics::read(edited.as_bytes(), "metrics.csv", Some(h)).expect_err("edited");
        assert!(e.to_string().contains("does not match step 1"), "{e}");
        let e = Metrics::read(edited.as_bytes(), "metrics.csv", None).expect_err("no horizon");
        assert!(e.to_string().contains("year"), "{e}");
    }
}
