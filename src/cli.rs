//! Command-line interface (clap derive). Parsing only; the commands live in [`crate::app`].

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// orechain — agent-based simulation of critical-mineral supply chains.
#[derive(Debug, Parser)]
#[command(name = "orechain", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one scenario and write its output folder.
    Run(RunArgs),
    /// Check scenario files and sweep files (recognised by their `base` field) and report every
    /// problem; writes nothing.
    Validate {
        /// Scenario or sweep files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write a synthetic scenario of a given size (for scale tests and benchmarks).
    Generate(GenerateArgs),
    /// Redraw every figure of a finished run or sweep folder from its CSVs, without re-running;
    /// replaces RESULT_DIR/figures/ as a whole.
    Plot {
        /// A run output folder (with metrics.csv and scenario.ron), an ensemble folder (with
        /// replicates.csv), or a complete sweep or merged folder (with summary.csv and
        /// manifest.json).
        #[arg(value_name = "RESULT_DIR")]
        dir: PathBuf,
    },
    /// Run a parameter sweep: every design point × replicate of a sweep file, in parallel.
    Sweep(SweepArgs),
    /// Join the shard folders of a sweep into what one machine would have written.
    Merge(MergeArgs),
    /// Compare two ensembles (folders, or scenario files run with the same seeds): paired
    /// differences B − A per metric row with 95 % intervals, comparison.csv and figures.
    Compare(CompareArgs),
    /// Write RESULT_DIR/report.html: a self-contained page (figures embedded, key tables,
    /// the scenario's question and levers, provenance) for a run, ensemble or compare folder.
    Report {
        /// A run, ensemble (`run --replicates`) or compare folder.
        #[arg(value_name = "RESULT_DIR")]
        dir: PathBuf,
    },
    /// Run backtests (validation/*.expect.ron) over an ensemble of seeds and report each check.
    Backtest(BacktestArgs),
}

/// Arguments of `orechain generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Nations (2 to 1,000, the loader's limit).
    #[arg(long, default_value_t = 30, value_parser = count)]
    pub nations: usize,
    /// Firms (1 to 100,000).
    #[arg(long, default_value_t = 100, value_parser = count)]
    pub firms: usize,
    /// Assets (mines and refineries); assets + prospects at most 500,000.
    #[arg(long, default_value_t = 1000, value_parser = count)]
    pub assets: usize,
    /// Candidate projects.
    #[arg(long, default_value_t = 0, value_parser = count)]
    pub prospects: usize,
    /// Last simulated year (runs start in 2024).
    #[arg(long, default_value_t = 2040)]
    pub end_year: i32,
    /// Generator seed (also the scenario's run seed).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

/// A count: a whole number, also written as `1e7`, so that such a size reaches the documented
/// caps of `generate` (and is refused by them, naming the cap) rather than a parse error.
fn count(text: &str) -> Result<usize, String> {
    if let Ok(n) = text.trim().parse::<usize>() {
        return Ok(n);
    }
    match text.trim().parse::<f64>() {
        // `as` saturates: 1e30 becomes usize::MAX, which every cap refuses.
        Ok(x) if x.is_finite() && x >= 0.0 && x.fract() == 0.0 => Ok(x as usize),
        _ => Err(format!(
            "expected a whole number, found `{}`",
            crate::scenario::error::clip(text, 40)
        )),
    }
}

/// Arguments of `orechain merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Shard folders (written by `orechain sweep --shard K/N`), in any order.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Output folder.
    #[arg(short = 'o', long = "output", required = true)]
    pub output: PathBuf,
    /// Replace an existing output folder.
    #[arg(long)]
    pub force: bool,
    /// Skip the sweep figures.
    #[arg(long)]
    pub no_figures: bool,
    /// Table format: `csv` (default), or `parquet` to also write a Parquet copy of the merged
    /// results.csv (needs a build with `--features parquet`).
    #[arg(long, value_enum, default_value_t = crate::output::parquet::TableFormat::Csv)]
    pub format: crate::output::parquet::TableFormat,
}

/// Arguments of `orechain sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Sweep file (RON), e.g. `scenarios/sweeps/tiny_grid.ron`.
    pub sweep: PathBuf,
    /// Output folder [default: output/<sweep name>/].
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Worker threads [default: one per core].
    #[arg(short = 'j', long = "jobs", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Continue the sweep in the output folder: runs already in its journal are not run again.
    #[arg(long)]
    pub resume: bool,
    /// Replace an existing output folder.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Run one shard: `K/N` runs the runs whose id is K modulo N (K = 0..N-1). Without a value,
    /// K and N come from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT.
    #[arg(long, value_name = "K/N", num_args = 0..=1, default_missing_value = "slurm")]
    pub shard: Option<String>,
    /// Print a bash script that submits the sweep as a Slurm job array plus a dependent merge
    /// job (`-o` is the merged folder, `-j` the cores per task), and exit.
    #[arg(long, conflicts_with_all = ["resume", "force", "shard"])]
    pub slurm_script: bool,
    /// Skip the sweep figures (fan charts, heatmaps, sensitivity bars) drawn when the sweep
    /// completes; `orechain plot DIR` draws them later.
    #[arg(long)]
    pub no_figures: bool,
    /// Array tasks (shards) for --slurm-script.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    pub tasks: u64,
    /// Table format: `csv` (default), or `parquet` to also write a Parquet copy of results.csv
    /// when the sweep completes (needs a build with `--features parquet`).
    #[arg(long, value_enum, default_value_t = crate::output::parquet::TableFormat::Csv)]
    pub format: crate::output::parquet::TableFormat,
}

/// Arguments of `orechain run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (RON). Without it, the built-in default scenario runs.
    pub scenario: Option<PathBuf>,
    /// Output folder [default: output/<scenario name>/].
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Seed (overrides `run.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override a scenario value: `--set nations.CHL.governance.regulatory_stability=0.4`
    /// (list elements by id). Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Skip the figures.
    #[arg(long)]
    pub no_figures: bool,
    /// Replace an existing, non-empty output folder.
    #[arg(long)]
    pub force: bool,
    /// Run an ensemble of N replicates, seeds derived from the run seed, and write per-seed
    /// tables, metrics_summary.csv and median-and-band figures (docs/output-format.md).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub replicates: Option<u32>,
    /// Worker threads for --replicates [default: one per core].
    #[arg(short = 'j', long = "jobs", requires = "replicates", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Cap, in MB, on what the run's tables (metrics.csv, flows.csv, events.csv) may write; a
    /// run that would write more stops with an error before filling the disk.
    #[arg(long, value_name = "MB", default_value_t = crate::output::tables::DEFAULT_MAX_OUTPUT_MB)]
    pub max_output_mb: u64,
    /// Table format: `csv` (default), or `parquet` to also write Parquet copies of
    /// metrics.csv, flows.csv and events.csv (needs a build with `--features parquet`).
    #[arg(long, value_enum, default_value_t = crate::output::parquet::TableFormat::Csv)]
    pub format: crate::output::parquet::TableFormat,
}

/// Arguments of `orechain compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// A (the reference, e.g. the baseline): an ensemble folder or a scenario file.
    #[arg(value_name = "A")]
    pub a: PathBuf,
    /// B (the alternative): an ensemble folder or a scenario file; differences are B − A.
    #[arg(value_name = "B")]
    pub b: PathBuf,
    /// Output folder [default: output/compare-<A name>-<B name>/].
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Replicates when A and B are scenario files.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(2..=10000))]
    pub replicates: u32,
    /// Run seed of both scenarios when A and B are scenario files [default: A's `run.seed`].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads [default: one per core].
    #[arg(short = 'j', long = "jobs", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Skip the figures.
    #[arg(long)]
    pub no_figures: bool,
    /// Replace an existing output folder.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `orechain backtest`.
#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// Expectation files (`*.expect.ron`) or folders holding them [default: validation/].
    pub files: Vec<PathBuf>,
    /// Seeds per backtest (overrides each file's `seeds`).
    #[arg(short = 'n', long = "seeds")]
    pub seeds: Option<u32>,
    /// Output folder [default: output/backtest/].
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Skip the figures.
    #[arg(long)]
    pub no_figures: bool,
    /// Replace an existing output folder made by orechain.
    #[arg(long)]
    pub force: bool,
}
