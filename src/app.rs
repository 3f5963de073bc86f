//! The commands behind the CLI: each returns a `Result` whose error knows its exit code.
//!
//! `main` only parses arguments, calls [`run_cli`] and maps the error to an exit code; everything a
//! user can get wrong is an [`AppError::BadInput`] (exit 2), never a panic.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use crate::cli::{Cli, Command, GenerateArgs, MergeArgs, RunArgs, SweepArgs};
use crate::output::figures::{self, FigureError};
use crate::output::folder::StagedDir;
use crate::output::run::{RunFolderOptions, write_run};
use crate::scenario;

use crate::command::write_run_error;
pub use crate::command::{AppError, check_format, load_for_run, parquet_copies};

/// Run the parsed command line. `argv` is recorded in manifests.
pub fn run_cli(cli: Cli, argv: Vec<String>) -> Result<(), AppError> {
    // Ctrl-C: a sweep saves and stops, anything else removes its staging folders and exits 130.
    crate::interrupt::install();
    match cli.command {
        Command::Run(args) => run_command(&args, argv).map(|_| ()),
        Command::Validate { files } => validate_command(&files),
        Command::Generate(args) => generate_command(&args),
        Command::Plot { dir } => plot_command(&dir).map(|_| ()),
        Command::Sweep(args) => sweep_command(&args, argv),
        Command::Merge(args) => merge_command(&args, argv),
        Command::Compare(args) => crate::compare::compare_command(&args, argv).map(|_| ()),
        Command::Report { dir } => crate::report::report_command(&dir).map(|_| ()),
        Command::Backtest(args) => crate::validation::command::run(&args, argv),
    }
}

/// `orechain run`: returns the output folder.
pub fn run_command(args: &RunArgs, argv: Vec<String>) -> Result<PathBuf, AppError> {
    if let Some(n) = args.replicates {
        return crate::ensemble::run_command(args, n, argv);
    }
    let started = SystemTime::now();
    let clock = Instant::now();
    check_format(args.format)?;
    let loaded = load_for_run(args.scenario.as_deref(), args.seed, &args.sets)?;
    let s = loaded.scenario.scenario();
    let out_dir = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&s.name));
    let options = RunFolderOptions {
        force: args.force,
        figures: !args.no_figures,
        format: args.format,
        max_output_mb: args.max_output_mb,
        argv,
        started: Some((started, clock)),
    };
    let written =
        write_run(&out_dir, &loaded, &options).map_err(|e| write_run_error(&out_dir, e))?;
    say(&format!(
        "orechain: ran `{}` ({} steps, seed {}) in {:.3} s -> {}",
        s.name,
        written.steps,
        written.seed,
        clock.elapsed().as_secs_f64(),
        written.dir.display()
    ));
    Ok(written.dir)
}

/// `orechain plot`: redraw every figure of a finished result folder from its CSVs.
///
/// The new figures are written into a staging folder and swapped in for `DIR/figures/` as a whole
/// (so stale figures of families no longer drawn disappear, and a failure leaves the old figures
/// intact). `manifest.json` is left as the run wrote it. Returns the figures folder.
pub fn plot_command(dir: &Path) -> Result<PathBuf, AppError> {
    let clock = Instant::now();
    let drawn = render_folder(dir)?;
    let staged = StagedDir::create_figures(&dir.join("figures"))?;
    for (name, bytes) in &drawn {
        staged.write_file(name, bytes)?;
    }
    let final_dir = staged.commit()?;
    say(&format!(
        "orechain: drew {} figures in {:.3} s -> {}",
        drawn.iter().filter(|(n, _)| n.ends_with(".svg")).count(),
        clock.elapsed().as_secs_f64(),
        final_dir.display()
    ));
    Ok(final_dir)
}

/// What kind of result folder `orechain plot` was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FolderKind {
    /// A run folder (`metrics.csv`).
    Run,
    /// A sweep folder (`design.csv` and `results.csv`).
    Sweep,
    /// An ensemble folder (`replicates.csv`, from `orechain run --replicates`).
    Ensemble,
}

/// Tell a run folder from a sweep folder by the files in it.
pub fn folder_kind(dir: &Path) -> Result<FolderKind, FigureError> {
    if !dir.is_dir() {
        return Err(FigureError::Input(format!(
            "`{}` is not a folder",
            dir.display()
        )));
    }
    // A sweep folder has its design from the start; an unfinished one (no results.csv yet) is
    // recognised as a sweep so that `plot` can say it is unfinished.
    if dir.join("design.csv").is_file() && dir.join("manifest.json").is_file() {
        Ok(FolderKind::Sweep)
    } else if dir.join("replicates.csv").is_file() {
        Ok(FolderKind::Ensemble)
    } else if dir.join("metrics.csv").exists() {
        Ok(FolderKind::Run)
    } else {
        Err(FigureError::Input(format!(
            "`{}` is neither a run folder (no metrics.csv) nor a sweep folder (no design.csv and \
             results.csv)",
            dir.display()
        )))
    }
}

/// Every figure of a result folder, whatever its kind (run figures from [`figures`], sweep
/// figures from [`crate::sweep::figures`], ensemble figures from [`crate::ensemble::figures`]).
pub fn render_folder(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    match folder_kind(dir)? {
        FolderKind::Run => figures::render_run(dir),
        FolderKind::Sweep => crate::sweep::figures::render_sweep_folder(dir),
        FolderKind::Ensemble => crate::ensemble::figures::render_folder(dir),
    }
}

/// `orechain validate`: check every file, report all problems, fail if any file is bad. A sweep
/// file (a RON struct with a `base` field) is checked as `orechain sweep` would load it — its base
/// scenario, parameters, design and outcomes — without running anything but the probe run the
/// sweep loader uses to check its outcomes.
pub fn validate_command(files: &[PathBuf]) -> Result<(), AppError> {
    let mut failures = Vec::new();
    for file in files {
        let shown = file.display().to_string();
        let shown = crate::scenario::error::clip(&shown, 320);
        // A valid scenario (it cannot be a sweep file: a scenario has no `base` field) is read
        // once; anything else is told apart and reported as before.
        if let Some(loaded) = scenario::load::load_file_direct(file) {
            say(&format!(
                "{shown}: ok (`{}`, {} steps)",
                loaded.scenario.scenario().name,
                loaded.scenario.steps()
            ));
            continue;
        }
        if is_sweep_file(file) {
            match crate::sweep::spec::load_plan(file) {
                Ok(plan) => say(&format!(
                    "{shown}: ok (sweep `{}`, {} design points, {} runs)",
                    plan.file.name,
                    plan.points.len(),
                    plan.total_runs()
                )),
                Err(e) => failures.push(e.to_string()),
            }
            continue;
        }
        match scenario::load_file(file, &[]) {
            Ok(loaded) => say(&format!(
                "{shown}: ok (`{}`, {} steps)",
                loaded.scenario.scenario().name,
                loaded.scenario.steps()
            )),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(AppError::BadInput(failures.join("\n")))
    }
}

/// Whether a file is a sweep file: RON whose top-level struct has a `base` field (a scenario
/// never does). Anything unreadable or unparsable is left to the scenario loader to report.
fn is_sweep_file(path: &Path) -> bool {
    let Ok(text) = scenario::load::read_scenario_text(path) else {
        return false;
    };
    // Issue 19: only the top-level keys are read (values are checked and dropped, nothing is
    // built); anything the direct reader refuses is decided by the full parse, as before.
    if let Ok(keys) = scenario::ron_tree::from_str::<
        std::collections::BTreeMap<String, serde::de::IgnoredAny>,
    >(&text)
    {
        return keys.contains_key("base");
    }
    match scenario::ron_tree::parse(&text, 0) {
        Ok(tree) => match &tree.kind {
            scenario::ron_tree::NodeKind::Object(fields) => {
                fields.iter().any(|(k, _)| k.name == "base")
            }
            _ => false,
        },
        Err(_) => false,
    }
}

/// Print a line to stdout with terminal control characters escaped (it quotes paths and names).
fn say(line: &str) {
    println!("{}", crate::scenario::error::escape_message(line));
}

/// `orechain generate`: write a synthetic scenario.
pub fn generate_command(args: &GenerateArgs) -> Result<(), AppError> {
    use crate::scenario::synthetic::{SyntheticSize, synthetic};
    // --force replaces a scenario file, never a folder, symlink, device or FIFO (issue 18).
    if let Ok(meta) = std::fs::symlink_metadata(&args.output)
        && !meta.is_file()
    {
        return Err(AppError::BadInput(format!(
            "refusing to write `{}`: it exists and is not a regular file",
            crate::output::folder::shown(&args.output)
        )));
    }
    if args.output.exists() && !args.force {
        return Err(AppError::BadInput(format!(
            "`{}` already exists; pass --force to replace it",
            args.output.display()
        )));
    }
    check_generate_size(args)?;
    let scenario = synthetic(SyntheticSize {
        nations: args.nations,
        firms: args.firms,
        assets: args.assets,
        prospects: args.prospects,
        seed: args.seed,
        end_year: args.end_year,
    });
    let text = format!(
        "// Synthetic scenario: orechain generate --nations {} --firms {} --assets {} --prospects {} --end-year {} --seed {}\n// Every number is an ASSUMPTION generated for scale tests.\n{}",
        args.nations,
        args.firms,
        args.assets,
        args.prospects,
        args.end_year,
        args.seed,
        scenario::load::resolved_ron(&scenario)
    );
    crate::output::folder::write_atomic(&args.output, text.as_bytes())?;
    say(&format!(
        "orechain: wrote `{}` ({} assets)",
        args.output.display(),
        scenario.assets.len()
    ));
    Ok(())
}

/// Most nations `generate` writes: the loader's limit ([`crate::scenario::validate::MAX_NATIONS`]),
/// so every file it writes loads.
pub const GENERATE_MAX_NATIONS: usize = crate::scenario::validate::MAX_NATIONS;
/// Fewest nations `generate` writes: trade needs an exporter and an importer.
pub const GENERATE_MIN_NATIONS: usize = 2;
/// Most assets plus prospects `generate` writes. A generated asset is about 300 bytes of RON, so
/// 500,000 of them are ~150 MB, within the loader's 256 MiB file limit
/// ([`crate::scenario::load::MAX_FILE_BYTES`]) and a few GB of memory to generate and load.
pub const GENERATE_MAX_ASSETS: usize = 500_000;
/// Most firms `generate` writes (each is about 150 bytes of RON).
pub const GENERATE_MAX_FIRMS: usize = 100_000;

/// Refuse sizes `generate` cannot write as a loadable file, naming the limit (exit 2) — before
/// anything is built, so `--assets 10000000` is refused at once instead of exhausting memory.
fn check_generate_size(args: &GenerateArgs) -> Result<(), AppError> {
    let mut problems = Vec::new();
    if args.nations < GENERATE_MIN_NATIONS {
        problems.push(format!(
            "--nations {}: at least {GENERATE_MIN_NATIONS} nations are needed (an exporter and an \
             importer)",
            args.nations
        ));
    }
    if args.nations > GENERATE_MAX_NATIONS {
        problems.push(format!(
            "--nations {}: the scenario loader allows at most {GENERATE_MAX_NATIONS} nations",
            args.nations
        ));
    }
    if args.firms == 0 || args.firms > GENERATE_MAX_FIRMS {
        problems.push(format!(
            "--firms {}: between 1 and {GENERATE_MAX_FIRMS} firms",
            args.firms
        ));
    }
    if args.assets.saturating_add(args.prospects) > GENERATE_MAX_ASSETS {
        problems.push(format!(
            "--assets {} --prospects {}: at most {GENERATE_MAX_ASSETS} assets and prospects \
             together (a larger file would exceed the loader's {} byte limit)",
            args.assets,
            args.prospects,
            crate::scenario::load::MAX_FILE_BYTES
        ));
    }
    // Generated runs start in 2024 with 4 steps a year; the loader allows MAX_STEPS steps.
    let start: i64 = 2024;
    let last = start + i64::try_from(crate::scenario::validate::MAX_STEPS / 4).unwrap_or(0) - 1;
    if !(start..=last).contains(&i64::from(args.end_year)) {
        problems.push(format!(
            "--end-year {}: between {start} and {last} (runs start in {start}, 4 steps a year, \
             at most {} steps)",
            args.end_year,
            crate::scenario::validate::MAX_STEPS
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AppError::BadInput(format!(
            "cannot generate this scenario:\n  {}",
            problems.join("\n  ")
        )))
    }
}

/// `orechain sweep`: run (or resume) a sweep. Runs that failed are listed in `failures.csv` and
/// make the exit code 1 once every other run has finished and the tables are written.
pub fn sweep_command(args: &SweepArgs, argv: Vec<String>) -> Result<(), AppError> {
    check_format(args.format)?;
    let plan = crate::sweep::spec::load_plan(&args.sweep)?;
    let shard = args
        .shard
        .as_deref()
        .map(|spec| crate::sweep::shard::parse_shard(spec, |name| std::env::var(name).ok()))
        .transpose()?;
    let default_dir = PathBuf::from("output").join(&plan.file.name);
    if args.slurm_script {
        let exe = std::env::current_exe()
            .map_err(|e| AppError::Internal(format!("cannot locate the orechain binary: {e}")))?;
        let out = args.output.clone().unwrap_or(default_dir);
        let cpus = args.jobs.map_or(1, u64::from);
        print!(
            "{}",
            crate::sweep::shard::slurm_script(&plan, &exe, &out, args.tasks, cpus, args.format)?
        );
        return Ok(());
    }
    let out_dir = args.output.clone().unwrap_or_else(|| match shard {
        Some(s) => PathBuf::from("output")
            .join(format!("{}-shards", plan.file.name))
            .join(format!("shard-{}", s.index)),
        None => default_dir,
    });
    let options = crate::sweep::SweepOptions {
        out_dir,
        jobs: args.jobs.map(usize::from),
        resume: args.resume,
        force: args.force,
        shard,
        figures: !args.no_figures,
        args: argv,
        format: args.format,
    };
    let report = crate::sweep::run_sweep(&plan, &options)?;
    let part = shard.map_or(String::new(), |s| format!(" shard {}/{}", s.index, s.count));
    say(&format!(
        "orechain: sweep `{}`{part}: {} runs ({} run now, {} failed) in {:.3} s -> {}",
        plan.file.name,
        report.runs,
        report.executed,
        report.failed,
        report.wall_time_s,
        report.out_dir.display()
    ));
    runs_failed(&report)
}

/// `orechain merge`: join shard folders. Failed runs make the exit code 1, as for a sweep.
pub fn merge_command(args: &MergeArgs, argv: Vec<String>) -> Result<(), AppError> {
    check_format(args.format)?;
    let report = crate::sweep::merge::merge(
        &args.shards,
        &args.output,
        args.force,
        !args.no_figures,
        argv,
        args.format,
    )?;
    say(&format!(
        "orechain: merged {} shard(s): {} runs ({} failed) -> {}",
        args.shards.len(),
        report.runs,
        report.failed,
        report.out_dir.display()
    ));
    runs_failed(&report)
}

/// Exit code 1 when some runs of a sweep (or merged shards) failed; their messages are in
/// `failures.csv`.
fn runs_failed(report: &crate::sweep::SweepReport) -> Result<(), AppError> {
    if report.failed > 0 {
        return Err(AppError::Internal(format!(
            "{} of {} runs failed; see {}",
            report.failed,
            report.runs,
            report.out_dir.join("failures.csv").display()
        )));
    }
    Ok(())
}
