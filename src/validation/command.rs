//! `orechain backtest`: run expectation files over their ensembles and write a result folder.
//!
//! The folder holds `backtest.csv` (one row per check: seeds passed, share, verdict), `series.csv`
//! (5/50/95 % quantiles over seeds of every series, step by step), `figures/` (median and 5–95 %
//! band per series with the observed reference points) and `manifest.json`. It is written through
//! a staging folder, so a failure never leaves a half-written folder.
//!
//! Exit status: 0 when every check's outcome is what its file says (passes, or fails and is marked
//! `known_failing`), 1 when any differs (a new failure, or a known failure that now passes — update
//! the file and `docs/validation.md`), 2 for bad input.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::figures as fig;
pub use crate::cli::BacktestArgs;
use crate::command::AppError;
use crate::output::folder::OutputKind;
use crate::output::manifest::{Manifest, rfc3339_utc};

use super::{BacktestError, BacktestResult};

impl From<BacktestError> for AppError {
    fn from(e: BacktestError) -> Self {
        match e {
            BacktestError::Run(m) => AppError::Internal(m),
            other => AppError::BadInput(other.to_string()),
        }
    }
}

/// The expectation files named on the command line (folders expanded, sorted).
pub fn files_of(args: &[PathBuf]) -> Result<Vec<PathBuf>, BacktestError> {
    let default = [PathBuf::from("validation")];
    let args = if args.is_empty() { &default[..] } else { args };
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            out.extend(super::discover(a)?);
        } else {
            out.push(a.clone());
        }
    }
    if out.is_empty() {
        return Err(BacktestError::Invalid(
            "no expectation files (*.expect.ron) found".into(),
        ));
    }
    Ok(out)
}

/// Run every backtest; returns their results.
pub fn run_all(
    files: &[PathBuf],
    seeds: Option<u32>,
) -> Result<Vec<BacktestResult>, BacktestError> {
    files
        .iter()
        .map(|f| super::load(f).and_then(|bt| super::run(&bt, seeds)))
        .collect()
}

/// `orechain backtest`.
pub fn run(args: &BacktestArgs, argv: Vec<String>) -> Result<(), AppError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let files = files_of(&args.files)?;
    // Load all first: a bad file is reported before any work.
    for f in &files {
        super::load(f)?;
    }
    if args.seeds == Some(0) {
        return Err(AppError::BadInput("--seeds must be at least 1".into()));
    }
    let out_dir = args
        .output
        .clone()
        .unwrap_or_else(|| Path::new("output").join("backtest"));
    let staged = crate::command::stage_output(&out_dir, args.force, OutputKind::Backtest)?;
    let results = run_all(&files, args.seeds)?;
    let mut files_out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut csv = String::new();
    let mut series = String::new();
    for (i, r) in results.iter().enumerate() {
        let c = r.csv();
        let s = r.series_csv();
        // One header for the whole table.
        csv.push_str(if i == 0 {
            &c
        } else {
            c.split_once('\n').map_or("", |x| x.1)
        });
        series.push_str(if i == 0 {
            &s
        } else {
            s.split_once('\n').map_or("", |x| x.1)
        });
    }
    files_out.push(("backtest.csv".into(), csv.into_bytes()));
    files_out.push(("series.csv".into(), series.into_bytes()));
    if !args.no_figures {
        for r in &results {
            let drawn = fig::draw(r).map_err(|e| AppError::Internal(e.to_string()))?;
            files_out.extend(drawn.into_iter().map(|(n, b)| (format!("figures/{n}"), b)));
        }
    }
    for (name, bytes) in &files_out {
        staged.write_file(name, bytes)?;
    }
    let mut manifest = Manifest::with_build_info();
    manifest.args = argv;
    manifest.scenario_path = Some(
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
    );
    manifest.start_time = rfc3339_utc(started);
    manifest.end_time = rfc3339_utc(SystemTime::now());
    manifest.wall_time_s = clock.elapsed().as_secs_f64();
    manifest.files = Manifest::entries_of(&files_out);
    staged.write_file("manifest.json", manifest.to_json_pretty().as_bytes())?;
    let final_dir = staged.commit()?;
    let mut surprises = Vec::new();
    for r in &results {
        print!("{}", r.table());
        surprises.extend(
            r.surprises()
                .into_iter()
                .map(|c| format!("{}/{c}", r.spec.name)),
        );
    }
    println!(
        "orechain: {} backtest(s) in {:.2} s -> {}",
        results.len(),
        clock.elapsed().as_secs_f64(),
        final_dir.display()
    );
    if surprises.is_empty() {
        Ok(())
    } else {
        Err(AppError::Internal(format!(
            "{} check(s) differ from their expected outcome (update `known_failing` and docs/validation.md): {}",
            surprises.len(),
            surprises.join(", ")
        )))
    }
}
