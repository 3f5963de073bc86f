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
    /// Check scenario files and report every problem; writes nothing.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write a synthetic scenario of a given size (for scale tests and benchmarks).
    Generate(GenerateArgs),
    /// Redraw every figure of a finished run or sweep folder from its CSVs, without re-running;
    /// replaces RESULT_DIR/figures/ as a whole.
    Plot {
        /// A run output folder (with metrics.csv and scenario.ron) or a complete sweep or merged
        /// folder (with summary.csv and manifest.json).
        #[arg(value_name = "RESULT_DIR")]
        dir: PathBuf,
    },
    /// Run a parameter sweep: every design point × replicate of a sweep file, in parallel.
    Sweep(SweepArgs),
    /// Join the shard folders of a sweep into what one machine would have written.
    Merge(MergeArgs),
    /// Run backtests (validation/*.expect.ron) over an ensemble of seeds and report each check.
    Backtest(crate::validation::command::BacktestArgs),
}

/// Arguments of `orechain generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Nations.
    #[arg(long, default_value_t = 30)]
    pub nations: usize,
    /// Firms.
    #[arg(long, default_value_t = 100)]
    pub firms: usize,
    /// Assets (mines and refineries).
    #[arg(long, default_value_t = 1000)]
    pub assets: usize,
    /// Candidate projects.
    #[arg(long, default_value_t = 0)]
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
}
