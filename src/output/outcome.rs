//! Outcomes: which numbers of a run a sweep keeps, and how they are read from its metrics.
//!
//! A sweep keeps a few series, not whole output folders: an outcome names a metric of
//! `metrics.csv` and filters its columns exactly (an omitted filter matches an empty cell, as for
//! `hhi`, which has no nation), then reduces the steps of each calendar year to one number (the
//! mean over the year's steps, or the value at its last step) or keeps every step (`series`).

use serde::{Deserialize, Serialize};

use crate::model::resources::MetricRow;
use crate::scenario::Stage;
use crate::sim::RunResult;

/// How the steps of a calendar year become a value.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Mean over the steps of the year that have a value (default). For flow metrics, which are
    /// annualised per step, this is the year's rate; for stocks, the year's average level.
    #[default]
    Mean,
    /// The value at the last step of the year that has one (e.g. capacity at year end).
    Last,
    /// Every step, with the decimal year of the step (`2030.25` = second quarter of 2030).
    Series,
}

/// One outcome of a sweep file.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Name in `results.csv` and `summary.csv` (letters, digits, `_`, `-`, `.`); unique.
    pub name: String,
    /// Metric name as in `metrics.csv` (e.g. `share_location`, `hhi`, `production`).
    pub metric: String,
    /// Mineral id; omitted = rows with no mineral.
    #[serde(default)]
    pub mineral: Option<String>,
    /// Stage (`ore` or `refined`); omitted = rows with no stage.
    #[serde(default)]
    pub stage: Option<Stage>,
    /// Nation id; omitted = rows with no nation.
    #[serde(default)]
    pub nation: Option<String>,
    /// Partner nation id; omitted = rows with no partner.
    #[serde(default)]
    pub partner: Option<String>,
    /// Calendar years to keep; omitted = every year of the run.
    #[serde(default)]
    pub years: Option<Vec<i32>>,
    /// `mean` (default), `last` or `series`.
    #[serde(default)]
    pub aggregate: Aggregate,
}

/// One kept number of one run: outcome index, the year as written, the value.
#[derive(Clone, Debug, PartialEq)]
pub struct OutcomeValue {
    /// Index into the sweep's outcome list.
    pub outcome: usize,
    /// Calendar year (`2030`) or, for `series`, the decimal year of the step (`2030.25`).
    pub year: String,
    /// The value (finite).
    pub value: f64,
}

/// The run's metric rows that match an outcome's metric and filters, in step order.
fn matching_rows<'a>(
    outcome: &'a Outcome,
    result: &'a RunResult,
) -> impl Iterator<Item = &'a MetricRow> + 'a {
    let reg = &result.registry;
    // An id the run does not know matches nothing (`Some(None)`); an omitted filter matches an
    // empty cell (`None`).
    let mineral = outcome.mineral.as_deref().map(|id| reg.mineral(id));
    let nation = outcome.nation.as_deref().map(|id| reg.nation(id));
    let partner = outcome.partner.as_deref().map(|id| reg.nation(id));
    result.metrics.iter().filter(move |row| {
        row.metric == outcome.metric
            && row.stage == outcome.stage
            && match mineral {
                None => row.mineral.is_none(),
                Some(m) => m.is_some() && row.mineral == m,
            }
            && match nation {
                None => row.nation.is_none(),
                Some(n) => n.is_some() && row.nation == n,
            }
            && match partner {
                None => row.partner.is_none(),
                Some(p) => p.is_some() && row.partner == p,
            }
    })
}

/// Whether an outcome matches at least one row of a run (used to check a sweep file against a
/// run of its base scenario).
pub fn has_rows(outcome: &Outcome, result: &RunResult) -> bool {
    matching_rows(outcome, result).next().is_some()
}

/// Read every outcome from a run, in outcome order then time order. A year without any matching
/// row gives no value. Fails with a message if a kept value is NaN or infinite.
pub fn extract(outcomes: &[Outcome], result: &RunResult) -> Result<Vec<OutcomeValue>, String> {
    let spy = result.steps_per_year.max(1);
    let calendar_year = |step: u32| result.start_year + (step / spy) as i32;
    let mut out = Vec::new();
    for (index, outcome) in outcomes.iter().enumerate() {
        let wanted = |year: i32| outcome.years.as_ref().is_none_or(|ys| ys.contains(&year));
        let check = |year: &str, value: f64| {
            if value.is_finite() {
                Ok(())
            } else {
                Err(format!(
                    "outcome `{}` is {value} in {year} (non-finite values are not kept)",
                    outcome.name
                ))
            }
        };
        let mut year_acc: Option<(i32, f64, u32, f64)> = None; // (year, sum, count, last)
        let flush = |acc: Option<(i32, f64, u32, f64)>,
                     out: &mut Vec<OutcomeValue>|
         -> Result<(), String> {
            if let Some((year, sum, count, last)) = acc {
                let value = match outcome.aggregate {
                    Aggregate::Last => last,
                    _ => sum / f64::from(count),
                };
                let year = year.to_string();
                check(&year, value)?;
                out.push(OutcomeValue {
                    outcome: index,
                    year,
                    value,
                });
            }
            Ok(())
        };
        for row in matching_rows(outcome, result) {
            let year = calendar_year(row.step);
            if !wanted(year) {
                continue;
            }
            if outcome.aggregate == Aggregate::Series {
                let year = crate::output::tables::year_of(result, row.step).to_string();
                check(&year, row.value)?;
                out.push(OutcomeValue {
                    outcome: index,
                    year,
                    value: row.value,
                });
                continue;
            }
            match &mut year_acc {
                Some((y, sum, count, last)) if *y == year => {
                    *sum += row.value;
                    *count += 1;
                    *last = row.value;
                }
                _ => {
                    flush(year_acc.take(), &mut out)?;
                    year_acc = Some((year, row.value, 1, row.value));
                }
            }
        }
        flush(year_acc.take(), &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::components::{MineralIdx, NationIdx};
    use crate::model::resources::Registry;

    fn result(values: &[(u32, f64)]) -> RunResult {
        let registry = Registry {
            minerals: vec!["li".into()],
            nations: vec!["AAA".into(), "BBB".into()],
            ..Default::default()
        };
        let mut metrics = Vec::new();
        for &(step, value) in values {
            for nation in 0..2u16 {
                metrics.push(MetricRow {
                    step,
                    metric: "share_location",
                    mineral: Some(MineralIdx(0)),
                    stage: Some(Stage::Ore),
                    nation: Some(NationIdx(nation)),
                    partner: None,
                    value: value + f64::from(nation),
                });
            }
        }
        RunResult {
            registry,
            steps: 8,
            steps_per_year: 4,
            start_year: 2024,
            seed: 1,
            metrics,
            events: Vec::new(),
            flows: Vec::new(),
            assets: Vec::new(),
        }
    }

    fn outcome(aggregate: Aggregate, years: Option<Vec<i32>>) -> Outcome {
        Outcome {
            name: "s".into(),
            metric: "share_location".into(),
            mineral: Some("li".into()),
            stage: Some(Stage::Ore),
            nation: Some("AAA".into()),
            partner: None,
            years,
            aggregate,
        }
    }

    #[test]
    fn mean_last_and_series_reduce_a_year_as_documented() {
        let r = result(&[(0, 1.0), (1, 2.0), (2, 3.0), (3, 6.0), (4, 10.0), (7, 20.0)]);
        let got = extract(&[outcome(Aggregate::Mean, None)], &r).expect("finite");
        let pairs: Vec<(&str, f64)> = got.iter().map(|v| (v.year.as_str(), v.value)).collect();
        assert_eq!(pairs, [("2024", 3.0), ("2025", 15.0)]);
        let got = extract(&[outcome(Aggregate::Last, Some(vec![2025]))], &r).expect("finite");
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].year.as_str(), got[0].value), ("2025", 20.0));
        let got = extract(&[outcome(Aggregate::Series, Some(vec![2025]))], &r).expect("finite");
        let pairs: Vec<(&str, f64)> = got.iter().map(|v| (v.year.as_str(), v.value)).collect();
        assert_eq!(pairs, [("2025", 10.0), ("2025.75", 20.0)]);
    }

    #[test]
    fn filters_are_exact_and_unknown_ids_match_nothing() {
        let r = result(&[(0, 1.0)]);
        let mut o = outcome(Aggregate::Mean, None);
        o.nation = Some("BBB".into());
        assert_eq!(extract(&[o.clone()], &r).expect("finite")[0].value, 2.0);
        o.nation = Some("ZZZ".into());
        assert!(!has_rows(&o, &r));
        o.nation = None;
        assert!(
            !has_rows(&o, &r),
            "an omitted nation matches only empty cells"
        );
    }

    #[test]
    fn a_non_finite_outcome_is_an_error_naming_it() {
        let r = result(&[(0, f64::NAN)]);
        let err = extract(&[outcome(Aggregate::Mean, None)], &r).expect_err("NaN");
        assert!(err.contains("outcome `s` is NaN in 2024"), "{err}");
    }
}
