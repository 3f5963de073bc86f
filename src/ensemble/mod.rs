//! Ensembles: one scenario run under N seeds, summarised per metric row, so that every number
//! quoted from the model is a distribution over seeds (median and 5–95 % range), never one draw.
//!
//! `orechain run SCENARIO --replicates N` runs replicate `r` (0-based) with seed
//! `derive_seed(run seed, r)` — the SplitMix64 derivation sweeps use for their runs
//! ([`crate::sim::rng::derive_seed`]) — so two ensembles of scenarios with the same `run.seed` (or
//! `--seed`) use the same seeds and pair replicate by replicate (common random numbers, what
//! `orechain compare` relies on). Replicates run in parallel (`-j`), each writes its tables to
//! `replicates/seed-<seed>/` as soon as it finishes and drops them; the summaries are then computed
//! by reading the replicates back in replicate order ([`table`]), so the folder is byte-identical
//! whatever `-j` and memory never holds all replicates' rows. The folder layout is documented in
//! `docs/output-format.md` (Ensembles).

pub mod figures;
pub mod stats;
pub mod table;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use rayon::prelude::*;

use crate::cli::RunArgs;
use crate::command::AppError;
use crate::output::figures::data::Settings;
use crate::output::folder::{OutputKind, StagedDir};
use crate::output::manifest::{Manifest, ManifestFile, rfc3339_utc, sha256_hex};
use crate::output::tables;
use crate::scenario::Loaded;
use crate::sim::rng::derive_seed;

/// Most replicates one ensemble may have.
pub const MAX_REPLICATES: u32 = 10_000;

/// The seeds of an ensemble of `n` replicates of a scenario whose run seed is `base`:
/// `derive_seed(base, r)` for `r = 0..n` (distinct: SplitMix64's mixer is a bijection).
pub fn seeds(base: u64, n: u32) -> Vec<u64> {
    (0..u64::from(n)).map(|r| derive_seed(base, r)).collect()
}

/// Folder of a replicate, relative to the ensemble folder.
pub fn replicate_dir(seed: u64) -> String {
    format!("replicates/seed-{seed}")
}

/// Header of `replicates.csv`.
pub const REPLICATES_HEADER: &str = "replicate,seed,folder";

/// The leading `//` comment block of a scenario file (its QUESTION / LEVERS / READ notes), with
/// the `//` and one following space removed; empty when the file starts with anything else.
pub fn leading_comments(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("//") else {
            break;
        };
        out.push_str(rest.strip_prefix(' ').unwrap_or(rest).trim_end());
        out.push('\n');
    }
    out
}

/// The notes of a loaded scenario: the leading comments of its file (or of the built-in default).
pub fn scenario_notes(loaded: &Loaded) -> String {
    match &loaded.path {
        Some(p) => std::fs::read_to_string(p)
            .map(|t| leading_comments(&t))
            .unwrap_or_default(),
        None => leading_comments(crate::scenario::DEFAULT_SCENARIO),
    }
}

/// Read `replicates.csv` of an ensemble folder: `(replicate, seed)` in replicate order.
pub fn read_replicates(dir: &Path) -> Result<Vec<u64>, AppError> {
    let path = dir.join("replicates.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        AppError::BadInput(format!(
            "`{}` is not an ensemble folder (cannot read replicates.csv: {e})",
            dir.display()
        ))
    })?;
    let mut lines = text.lines();
    if lines.next() != Some(REPLICATES_HEADER) {
        return Err(AppError::BadInput(format!(
            "{}:1: expected the header `{REPLICATES_HEADER}`",
            path.display()
        )));
    }
    let mut seeds = Vec::new();
    for (i, line) in lines.enumerate() {
        let mut cells = line.split(',');
        let (r, s) = (cells.next(), cells.next());
        let seed = match (r.map(str::parse::<usize>), s.map(str::parse::<u64>)) {
            (Some(Ok(r)), Some(Ok(seed))) if r == i => seed,
            _ => {
                return Err(AppError::BadInput(format!(
                    "{}:{}: expected `{i},<seed>,{}` (replicates numbered from 0 in order)",
                    path.display(),
                    i + 2,
                    "<folder>"
                )));
            }
        };
        seeds.push(seed);
    }
    if seeds.is_empty() {
        return Err(AppError::BadInput(format!(
            "{}: no replicates",
            path.display()
        )));
    }
    Ok(seeds)
}

/// Read the per-seed metrics of an ensemble folder into tables whose slot `i` is `order[i]`'s
/// seed (every seed of `order` must be a replicate of the folder).
///
/// Replicates are parsed in parallel, a few per thread at a time, and merged in replicate order
/// (the tables, and the first error reported, are those of a serial read whatever the number of
/// threads); memory holds the parsed rows of at most one batch.
pub fn read_tables(dir: &Path, order: &[u64]) -> Result<table::Tables, AppError> {
    let mut t = table::Tables::new(order.len());
    let batch = 2 * rayon::current_num_threads().max(1);
    for (b, seeds) in order.chunks(batch).enumerate() {
        let parsed: Vec<Result<table::ParsedReplicate, AppError>> = seeds
            .par_iter()
            .map(|seed| {
                table::parse_replicate_file(&dir.join(replicate_dir(*seed)).join("metrics.csv"))
            })
            .collect();
        for (k, p) in parsed.into_iter().enumerate() {
            t.absorb(&p?, b * batch + k);
        }
    }
    Ok(t)
}

/// Run one replicate and write its tables into the staging folder; returns their manifest entries.
fn run_replicate(
    loaded: &Loaded,
    seed: u64,
    staged: &StagedDir,
    format: crate::output::parquet::TableFormat,
) -> Result<Vec<ManifestFile>, AppError> {
    let scenario = loaded.scenario.clone().with_seed(seed);
    let result = crate::sim::try_run(scenario.resolved())
        .map_err(|e| AppError::Internal(format!("replicate with seed {seed}: {e}")))?;
    let internal = |e: tables::NonFinite| AppError::Internal(format!("seed {seed}: {e}"));
    let dir = replicate_dir(seed);
    let files: Vec<(String, Vec<u8>)> = vec![
        (
            format!("{dir}/metrics.csv"),
            tables::metrics_csv(&result).map_err(internal)?.into_bytes(),
        ),
        (
            format!("{dir}/flows.csv"),
            tables::flows_csv(&result).map_err(internal)?.into_bytes(),
        ),
        (
            format!("{dir}/events.csv"),
            tables::events_csv(&result).into_bytes(),
        ),
        (
            format!("{dir}/assets.csv"),
            tables::assets_csv(&result).into_bytes(),
        ),
    ];
    for (name, bytes) in &files {
        staged.write_file(name, bytes)?;
    }
    let mut entries = Manifest::entries_of(&files);
    entries.extend(crate::command::parquet_copies(
        &staged.path().join(&dir),
        &format!("{dir}/"),
        format,
    )?);
    Ok(entries)
}

/// What an ensemble run needs besides the scenario.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of replicates.
    pub replicates: u32,
    /// Worker threads (`None` = one per core).
    pub jobs: Option<usize>,
    /// Skip the figures.
    pub figures: bool,
    /// Replace an existing output folder.
    pub force: bool,
    /// Command line, for the manifest.
    pub args: Vec<String>,
    /// Print a line when done (off for the ensembles `compare` runs inside its own folder).
    pub announce: bool,
    /// `--format parquet`: also a Parquet copy of each replicate's streamed tables.
    pub format: crate::output::parquet::TableFormat,
}

/// Run an ensemble of a loaded scenario into `out_dir`; returns the final folder.
pub fn run_ensemble(loaded: &Loaded, out_dir: &Path, opts: &Options) -> Result<PathBuf, AppError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    if opts.replicates == 0 || opts.replicates > MAX_REPLICATES {
        return Err(AppError::BadInput(format!(
            "--replicates must be between 1 and {MAX_REPLICATES}"
        )));
    }
    let s = loaded.scenario.scenario();
    let staged = crate::command::stage_output(out_dir, opts.force, OutputKind::Ensemble)?;
    let seeds = seeds(s.run.seed, opts.replicates);
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(j) = opts.jobs {
        builder = builder.num_threads(j);
    }
    let pool = builder
        .build()
        .map_err(|e| AppError::Internal(format!("cannot start worker threads: {e}")))?;
    let written: Vec<Result<Vec<ManifestFile>, AppError>> = pool.install(|| {
        seeds
            .par_iter()
            .map(|seed| run_replicate(loaded, *seed, &staged, opts.format))
            .collect()
    });
    let mut entries: Vec<ManifestFile> = Vec::new();
    for w in written {
        entries.extend(w?);
    }

    // Read back in replicate order: the summaries do not depend on completion order.
    let tables = read_tables(staged.path(), &seeds)?;
    let resolved = loaded.resolved_ron();
    let mut replicates_csv = format!("{REPLICATES_HEADER}\n");
    for (r, seed) in seeds.iter().enumerate() {
        replicates_csv.push_str(&format!("{r},{seed},{}\n", replicate_dir(*seed)));
    }
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("scenario.ron".into(), resolved.clone().into_bytes()),
        ("replicates.csv".into(), replicates_csv.into_bytes()),
        (
            "metrics_summary.csv".into(),
            table::summary_csv(&tables.steps, table::SUMMARY_HEADER).into_bytes(),
        ),
        (
            "metrics_annual.csv".into(),
            table::summary_csv(&tables.years, table::ANNUAL_HEADER).into_bytes(),
        ),
    ];
    let notes = scenario_notes(loaded);
    if !notes.is_empty() {
        files.push(("scenario_notes.txt".into(), notes.into_bytes()));
    }
    if opts.figures {
        let drawn = figures::render(&tables.steps, &Settings::from_scenario(s)).map_err(|e| {
            AppError::Internal(format!("cannot draw the figures of this ensemble: {e}"))
        })?;
        files.extend(drawn.into_iter().map(|(n, b)| (format!("figures/{n}"), b)));
    }
    drop(tables);
    for (name, bytes) in &files {
        staged.write_file(name, bytes)?;
    }
    entries.extend(Manifest::entries_of(&files));
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut manifest = Manifest::with_build_info();
    manifest.args = opts.args.clone();
    manifest.scenario_path = loaded.path.as_ref().map(|p| p.display().to_string());
    manifest.scenario_sha256 = sha256_hex(resolved.as_bytes());
    manifest.seed = s.run.seed;
    manifest.steps = loaded.scenario.steps();
    manifest.start_time = rfc3339_utc(started);
    manifest.end_time = rfc3339_utc(SystemTime::now());
    manifest.wall_time_s = clock.elapsed().as_secs_f64();
    manifest.files = entries;
    staged.write_file("manifest.json", manifest.to_json_pretty().as_bytes())?;
    let final_dir = staged.commit()?;
    if !opts.announce {
        return Ok(final_dir);
    }
    println!(
        "orechain: ran `{}` × {} replicates (seeds derived from {}) in {:.3} s -> {}",
        s.name,
        opts.replicates,
        s.run.seed,
        clock.elapsed().as_secs_f64(),
        final_dir.display()
    );
    Ok(final_dir)
}

/// `orechain run SCENARIO --replicates N`.
pub fn run_command(
    args: &RunArgs,
    replicates: u32,
    argv: Vec<String>,
) -> Result<PathBuf, AppError> {
    crate::command::check_format(args.format)?;
    let loaded = crate::command::load_for_run(args.scenario.as_deref(), args.seed, &args.sets)?;
    let out_dir = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&loaded.scenario.scenario().name));
    let opts = Options {
        replicates,
        jobs: args.jobs.map(usize::from),
        figures: !args.no_figures,
        force: args.force,
        args: argv,
        announce: true,
        format: args.format,
    };
    run_ensemble(&loaded, &out_dir, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_the_sweep_derivation_and_distinct() {
        let s = seeds(7, 50);
        assert_eq!(s[0], derive_seed(7, 0));
        assert_eq!(s[49], derive_seed(7, 49));
        let set: std::collections::BTreeSet<u64> = s.iter().copied().collect();
        assert_eq!(set.len(), 50);
    }

    #[test]
    fn leading_comments_stop_at_the_first_other_line() {
        let text = "// a.ron — title\n//\n// QUESTION  why?\nScenario(\n// not this\n";
        assert_eq!(leading_comments(text), "a.ron — title\n\nQUESTION  why?\n");
        assert_eq!(leading_comments("Scenario()\n"), "");
    }
}
