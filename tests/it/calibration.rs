//! The shipped baseline reproduces every 2024 country share in the calibration data (issue 8):
//! mine output shares from `mine_production.csv` (USGS MCS 2025, 2024e) and refining shares from
//! `refining.csv` (IEA, May 2025), within 2 percentage points, as `share_location` at step 0.
//!
//! The data are read at test time from `data/` in the repository (relative to `CARGO_MANIFEST_DIR`),
//! so a corrected data file is checked against the scenario without editing this test. A missing or
//! unreadable data file fails the test: it never skips.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;

/// Allowed gap between the scenario's step-0 share and the data, in share points (2 percentage points).
const TOLERANCE: f64 = 0.02;

/// A CSV with a header, as maps from column name to cell. The data files quote no fields before the
/// columns we read, so splitting on commas is enough for them; later columns may be ragged.
fn records(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = read(path);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("the data file has a header")
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

fn number(row: &BTreeMap<String, String>, column: &str) -> Option<f64> {
    row.get(column).filter(|v| !v.trim().is_empty()).map(|v| {
        v.trim()
            .parse()
            .unwrap_or_else(|e| panic!("`{v}` in column {column} is not a number: {e}"))
    })
}

/// (mineral, stage, country, share in the data) for every country row with a 2024 figure.
fn targets(data: &Path) -> Vec<(String, &'static str, String, f64)> {
    let mut out = Vec::new();
    let mines = records(&data.join("mine_production.csv"));
    let world: BTreeMap<String, f64> = mines
        .iter()
        .filter(|r| r["country"] == "WORLD")
        .filter_map(|r| Some((r["mineral"].clone(), number(r, "production_2024e")?)))
        .collect();
    for r in mines.iter().filter(|r| r["country"] != "WORLD") {
        if let Some(t) = number(r, "production_2024e") {
            let w = world[&r["mineral"]];
            out.push((r["mineral"].clone(), "ore", r["country"].clone(), t / w));
        }
    }
    for r in records(&data.join("refining.csv")) {
        if r["country"] == "WORLD" {
            continue;
        }
        if let Some(share) = number(&r, "share_2024") {
            out.push((r["mineral"].clone(), "refined", r["country"].clone(), share));
        }
    }
    out
}

#[test]
fn step_zero_reproduces_every_2024_mining_and_refining_share() {
    let data = repo("data");
    for file in ["mine_production.csv", "refining.csv"] {
        assert!(
            data.join(file).is_file(),
            "calibration data file {} is missing",
            data.join(file).display()
        );
    }
    let targets = targets(&data);
    // Guard against a silently empty comparison (e.g. renamed columns): the data have 40+ rows.
    assert!(
        targets.len() >= 40,
        "only {} target rows read",
        targets.len()
    );

    let dir = tmp();
    let s = repo("scenarios/baseline.ron");
    let (code, _, err) = outcome(&orechain(
        &["run", s.to_str().expect("utf-8"), "-o", "b", "--no-figures"],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&dir.path().join("b/metrics.csv"));

    let mut misses = Vec::new();
    for (mineral, stage, country, want) in &targets {
        // A country with output in the data but no row in the run has share 0.
        let got = metric(&rows, 0, "share_location", mineral, stage, country).unwrap_or(0.0);
        if (got - want).abs() > TOLERANCE {
            misses.push(format!(
                "{mineral} {stage} {country}: data {want:.4}, step 0 {got:.4}"
            ));
        }
    }
    assert!(
        misses.is_empty(),
        "{} of {} shares off by more than {TOLERANCE}:\n{}",
        misses.len(),
        targets.len(),
        misses.join("\n")
    );
}
