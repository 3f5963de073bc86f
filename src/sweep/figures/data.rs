//! The data behind the sweep figures, read back from a finished sweep folder: the parameters and
//! outcomes of its manifest, the design matrix (`points.csv`), the per-point statistics
//! (`summary.csv`) and, for a Sobol' design, the indices (`sensitivity.csv`).
//!
//! Only tables whose bytes are the same for a single-machine sweep, a resumed one and a merge of
//! shards are read (never the journal, the manifest's times or its command line), so all three
//! draw the same figure bytes.

use std::path::Path;

use crate::output::figures::FigureError;
use crate::output::figures::data::Settings;
use crate::sweep::manifest::SweepManifest;
use crate::sweep::outcome::Outcome;

/// One row of `summary.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// Design point (row of `points.csv`).
    pub point: usize,
    /// Outcome index in [`SweepData::outcomes`].
    pub outcome: usize,
    /// Year (calendar year, or the decimal year of a step for `series` outcomes).
    pub year: f64,
    /// Replicates that gave a value.
    pub n: u64,
    /// Mean over replicates.
    pub mean: f64,
    /// 5th percentile.
    pub p05: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

/// One row of `sensitivity.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct SensitivityRow {
    /// Outcome index.
    pub outcome: usize,
    /// Year.
    pub year: f64,
    /// Parameter index (column order of `points.csv`).
    pub parameter: usize,
    /// First-order index.
    pub first: f64,
    /// Total-order index.
    pub total: f64,
    /// Half-width of the first-order interval (empty in files of orechain before intervals).
    pub first_conf: Option<f64>,
    /// Half-width of the total-order interval.
    pub total_conf: Option<f64>,
}

/// Everything the sweep figures are drawn from.
#[derive(Clone, Debug)]
pub struct SweepData {
    /// Design kind (`grid`, `sobol`, ...).
    pub design: String,
    /// Parameter names, in column order.
    pub parameters: Vec<String>,
    /// Parameter `--set` paths, in column order.
    pub paths: Vec<String>,
    /// Outcomes, in index order.
    pub outcomes: Vec<Outcome>,
    /// Parameter values of each design point as written in `points.csv`, by point id.
    pub points: Vec<Vec<String>>,
    /// `summary.csv`, in file order (point, then outcome, then year).
    pub summary: Vec<SummaryRow>,
    /// `sensitivity.csv` (empty when the folder has none).
    pub sensitivity: Vec<SensitivityRow>,
    /// Mineral units of the base scenario (for axis units).
    pub settings: Settings,
}

fn input(m: String) -> FigureError {
    FigureError::Input(m)
}

/// A CSV file's header and its records, each with its line number.
type CsvText = (Vec<String>, Vec<(u64, Vec<String>)>);

/// Read a CSV file fully: header and records, with the file name in every error.
fn read_csv(path: &Path) -> Result<CsvText, FigureError> {
    // Only a regular file: a FIFO would block `plot` forever.
    let file = crate::sweep::input::open_regular(path)
        .map_err(|e| input(format!("cannot read `{}`: {e}", path.display())))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(std::io::BufReader::new(file));
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| input(format!("{}:1: cannot read the header: {e}", path.display())))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            input(format!("{}:{line}: malformed row: {e}", path.display()))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok((header, rows))
}

/// Check a header against the expected columns.
fn expect_header(path: &Path, header: &[String], want: &[&str]) -> Result<(), FigureError> {
    if header.iter().map(String::as_str).eq(want.iter().copied()) {
        Ok(())
    } else {
        Err(input(format!(
            "{}:1: expected the header `{}`, found `{}`",
            path.display(),
            want.join(","),
            header.join(",")
        )))
    }
}

impl SweepData {
    /// Read a complete sweep (or merged) folder, given its manifest.
    pub fn read(dir: &Path, manifest: &SweepManifest) -> Result<SweepData, FigureError> {
        let summary_path = dir.join(crate::sweep::summary::SUMMARY_FILE);
        if !summary_path.is_file() {
            let hint = if manifest.shard.is_some() {
                " (it is a shard folder: merge the shards with `orechain merge`, then plot the \
                 merged folder)"
            } else {
                " (the sweep has not finished: complete it with `orechain sweep ... --resume`)"
            };
            return Err(input(format!(
                "`{}` has no summary.csv{hint}",
                dir.display()
            )));
        }
        let parameters: Vec<String> = manifest.parameters.iter().map(|p| p.name.clone()).collect();
        let paths: Vec<String> = manifest.parameters.iter().map(|p| p.path.clone()).collect();
        let k = parameters.len();

        let points_path = dir.join(crate::sweep::POINTS_FILE);
        let (header, rows) = read_csv(&points_path)?;
        let mut want = vec!["point_id"];
        want.extend(parameters.iter().map(String::as_str));
        expect_header(&points_path, &header, &want)?;
        let mut points = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            if row.first().map(String::as_str) != Some(points.len().to_string().as_str()) {
                return Err(input(format!(
                    "{}:{line}: point ids must run 0, 1, 2, ...",
                    points_path.display()
                )));
            }
            points.push(row[1..].to_vec());
        }

        let outcome_index = |name: &str, path: &Path, line: u64| {
            manifest
                .outcomes
                .iter()
                .position(|o| o.name == name)
                .ok_or_else(|| {
                    input(format!(
                        "{}:{line}: outcome `{name}` is not in the manifest",
                        path.display()
                    ))
                })
        };
        let number =
            |text: &str, column: &str, path: &Path, line: u64| -> Result<f64, FigureError> {
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        input(format!(
                            "{}:{line}: column `{column}`: `{text}` is not a finite number",
                            path.display()
                        ))
                    })
            };

        let (header, rows) = read_csv(&summary_path)?;
        let mut want = vec!["point_id"];
        want.extend(parameters.iter().map(String::as_str));
        want.extend(["outcome", "year", "n", "mean", "sd", "p05", "p50", "p95"]);
        expect_header(&summary_path, &header, &want)?;
        let mut summary = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            let at = |i: usize| row[i].as_str();
            let point: usize = at(0)
                .parse()
                .ok()
                .filter(|p| *p < points.len())
                .ok_or_else(|| {
                    input(format!(
                        "{}:{line}: `{}` is not a point id of points.csv",
                        summary_path.display(),
                        at(0)
                    ))
                })?;
            let p = &summary_path;
            summary.push(SummaryRow {
                point,
                outcome: outcome_index(at(k + 1), p, line)?,
                year: number(at(k + 2), "year", p, line)?,
                n: number(at(k + 3), "n", p, line)? as u64,
                mean: number(at(k + 4), "mean", p, line)?,
                p05: number(at(k + 6), "p05", p, line)?,
                p50: number(at(k + 7), "p50", p, line)?,
                p95: number(at(k + 8), "p95", p, line)?,
            });
        }

        let sens_path = dir.join(crate::sweep::summary::SENSITIVITY_FILE);
        let mut sensitivity = Vec::new();
        if sens_path.is_file() {
            let (header, rows) = read_csv(&sens_path)?;
            // Folders written before the intervals have the first five columns only.
            let with_ci = header.len() > 5;
            let mut want = vec!["outcome", "year", "parameter", "first_order", "total_order"];
            if with_ci {
                want.extend(["first_order_conf", "total_order_conf", "warning"]);
            }
            expect_header(&sens_path, &header, &want)?;
            for (line, row) in rows {
                let p = &sens_path;
                let optional = |column: usize, what: &str| match row.get(column).map(|c| c.trim()) {
                    None | Some("") => Ok(None),
                    Some(c) => number(c, what, p, line).map(Some),
                };
                let parameter = parameters
                    .iter()
                    .position(|n| *n == row[2])
                    .ok_or_else(|| {
                        input(format!(
                            "{}:{line}: parameter `{}` is not in the manifest",
                            p.display(),
                            row[2]
                        ))
                    })?;
                sensitivity.push(SensitivityRow {
                    outcome: outcome_index(&row[0], p, line)?,
                    year: number(&row[1], "year", p, line)?,
                    parameter,
                    first: number(&row[3], "first_order", p, line)?,
                    total: number(&row[4], "total_order", p, line)?,
                    first_conf: optional(5, "first_order_conf")?,
                    total_conf: optional(6, "total_order_conf")?,
                });
            }
        }

        let scenario_path = dir.join(crate::sweep::BASE_COPY);
        let settings = if scenario_path.is_file() {
            let loaded = crate::scenario::load_file(&scenario_path, &[]).map_err(|e| {
                input(format!(
                    "cannot read the mineral units from `{}`:\n{e}",
                    scenario_path.display()
                ))
            })?;
            Settings::from_scenario(loaded.scenario.scenario())
        } else {
            Settings::default()
        };

        Ok(SweepData {
            design: manifest.design.clone(),
            parameters,
            paths,
            outcomes: manifest.outcomes.clone(),
            points,
            summary,
            sensitivity,
            settings,
        })
    }

    /// Summary rows of one outcome.
    pub fn outcome_rows(&self, outcome: usize) -> impl Iterator<Item = &SummaryRow> + '_ {
        self.summary.iter().filter(move |r| r.outcome == outcome)
    }

    /// The last year an outcome has a row for (any point).
    pub fn last_year(&self, outcome: usize) -> Option<f64> {
        self.outcome_rows(outcome)
            .map(|r| r.year)
            .max_by(f64::total_cmp)
    }

    /// `name = value` for each parameter of a point (panel labels). Numbers are shown to four
    /// significant digits (whole numbers in full); the data CSVs have them exactly.
    pub fn point_pairs(&self, point: usize) -> Vec<String> {
        self.parameters
            .iter()
            .zip(&self.points[point])
            .map(|(n, v)| format!("{n} = {}", grouped(&short_number(v))))
            .collect()
    }
}

/// A plain number with its integer digits grouped by thousands (`2000` → `2,000`,
/// `-12500.5` → `-12,500.5`); anything else (levels such as `high`, exponents) unchanged.
pub fn grouped(text: &str) -> String {
    if text.parse::<f64>().is_err() || text.contains(['e', 'E']) {
        return text.to_string();
    }
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    if int.len() < 4 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return text.to_string();
    }
    let mut out = String::from(sign);
    for (k, ch) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A number as written, cut to four significant digits when that is shorter (`69014.67` →
/// `69015`, `0.23456789` → `0.2346`); anything else unchanged.
pub fn short_number(text: &str) -> String {
    let Ok(v) = text.parse::<f64>() else {
        return text.to_string();
    };
    if !v.is_finite() || v == 0.0 {
        return text.to_string();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 12) as usize;
    let short = format!("{v:.decimals$}");
    // Drop trailing zeros of the fraction: 0.5000 → 0.5.
    let short = if short.contains('.') {
        short
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        short
    };
    if short.len() < text.len() {
        short
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_are_cut_to_four_significant_digits() {
        assert_eq!(short_number("69014.67123"), "69015");
        assert_eq!(short_number("0.23456789"), "0.2346");
        assert_eq!(short_number("0.05"), "0.05");
        assert_eq!(short_number("120000"), "120000");
        assert_eq!(short_number("high"), "high");
    }

    #[test]
    fn label_numbers_are_grouped_by_thousands() {
        assert_eq!(grouped("2000"), "2,000");
        assert_eq!(grouped("120000"), "120,000");
        assert_eq!(grouped("-12500.5"), "-12,500.5");
        assert_eq!(grouped("999"), "999");
        assert_eq!(grouped("0.05"), "0.05");
        assert_eq!(grouped("1e5"), "1e5");
        assert_eq!(grouped("high"), "high");
    }
}
