//! The commands behind the CLI: each returns a `Result` whose error knows its exit code.
//!
//! `main` only parses arguments, calls [`run_cli`] and maps the error to an exit code; everything a
//! user can get wrong is an [`AppError::BadInput`] (exit 2), never a panic.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use crate::cli::{Cli, Command, GenerateArgs, MergeArgs, RunArgs, SweepArgs};
use crate::output::figures::{self, FigureError};
use crate::output::folder::{FolderError, StagedDir};
use crate::output::manifest::{Manifest, rfc3339_utc, sha256_hex};
use crate::output::tables;
use crate::scenario::{self, DEFAULT_SCENARIO, DEFAULT_SCENARIO_NAME, Loaded, ScenarioError};

/// An error with its exit code.
#[derive(Debug)]
pub enum AppError {
    /// Bad scenario, arguments, or an existing output without `--force` (exit 2).
    BadInput(String),
    /// Anything else (exit 1).
    Internal(String),
    /// Stopped by Ctrl-C after saving what was done (exit 130, [`crate::interrupt`]).
    Interrupted(String),
}

impl AppError {
    /// Process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::BadInput(_) => 2,
            AppError::Internal(_) => 1,
            AppError::Interrupted(_) => crate::interrupt::EXIT_INTERRUPTED,
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::BadInput(m) | AppError::Internal(m) | AppError::Interrupted(m) => {
                f.write_str(m.trim_end())
            }
        }
    }
}

impl From<ScenarioError> for AppError {
    fn from(e: ScenarioError) -> Self {
        match e {
            ScenarioError::Io { .. }
            | ScenarioError::Syntax { .. }
            | ScenarioError::Type { .. }
            | ScenarioError::ExtendsCycle { .. }
            | ScenarioError::Set { .. }
            | ScenarioError::Invalid { .. } => AppError::BadInput(e.to_string()),
        }
    }
}

impl From<FigureError> for AppError {
    fn from(e: FigureError) -> Self {
        match e {
            FigureError::Input(m) => AppError::BadInput(m),
            FigureError::Render(m) => AppError::Internal(format!("cannot draw figures: {m}")),
        }
    }
}

impl From<FolderError> for AppError {
    fn from(e: FolderError) -> Self {
        match e {
            FolderError::Exists { .. } => AppError::BadInput(e.to_string()),
            FolderError::Io { .. } => AppError::Internal(e.to_string()),
        }
    }
}

impl From<crate::sweep::SweepError> for AppError {
    fn from(e: crate::sweep::SweepError) -> Self {
        use crate::sweep::SweepError;
        match e {
            SweepError::Scenario(e) => e.into(),
            SweepError::Invalid(_) | SweepError::BadInput(_) => AppError::BadInput(e.to_string()),
            SweepError::Internal(_) => AppError::Internal(e.to_string()),
            SweepError::Interrupted(m) => AppError::Interrupted(m),
        }
    }
}

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
        Command::Backtest(args) => crate::validation::command::run(&args, argv),
    }
}

/// Load the scenario a `run` names (or the built-in default), with `--seed` and `--set` applied.
pub fn load_for_run(
    scenario: Option<&Path>,
    seed: Option<u64>,
    sets: &[String],
) -> Result<Loaded, ScenarioError> {
    let mut all_sets = sets.to_vec();
    if let Some(seed) = seed {
        all_sets.push(format!("run.seed={seed}"));
    }
    match scenario {
        Some(path) => scenario::load_file(path, &all_sets),
        None => scenario::load_str(DEFAULT_SCENARIO, DEFAULT_SCENARIO_NAME, &all_sets),
    }
}

/// `orechain run`: returns the output folder.
pub fn run_command(args: &RunArgs, argv: Vec<String>) -> Result<PathBuf, AppError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let loaded = load_for_run(args.scenario.as_deref(), args.seed, &args.sets)?;
    let s = loaded.scenario.scenario();
    let out_dir = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&s.name));
    // A folder that cannot be used (a parent is a file, no permission) is the user's to fix and is
    // found before any work is done: exit 2. Failures later, while writing, are exit 1.
    let staged = StagedDir::create(&out_dir, args.force).map_err(|e| match e {
        FolderError::Io { .. } => AppError::BadInput(format!(
            "cannot use the output folder `{}`: {e}",
            out_dir.display()
        )),
        FolderError::Exists { .. } => AppError::from(e),
    })?;

    // A non-finite value stops the run (exit 1); the staging folder is removed on drop.
    let result =
        crate::sim::try_run(&loaded.scenario).map_err(|e| AppError::Internal(e.to_string()))?;

    let resolved = loaded.resolved_ron();
    let internal = |e: tables::NonFinite| AppError::Internal(e.to_string());
    let metrics_csv = tables::metrics_csv(&result).map_err(internal)?;
    let drawn = if args.no_figures {
        Vec::new()
    } else {
        // Drawn from the CSV text just produced, exactly as `orechain plot` would from the folder.
        let settings = figures::data::Settings::from_scenario(s);
        figures::render_run_csv(&metrics_csv, &settings)
            .map_err(|e| AppError::Internal(format!("cannot draw figures of this run: {e}")))?
    };
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("scenario.ron".into(), resolved.clone().into_bytes()),
        ("metrics.csv".into(), metrics_csv.into_bytes()),
        (
            "flows.csv".into(),
            tables::flows_csv(&result).map_err(internal)?.into_bytes(),
        ),
        (
            "events.csv".into(),
            tables::events_csv(&result).into_bytes(),
        ),
        (
            "assets.csv".into(),
            tables::assets_csv(&result).into_bytes(),
        ),
    ];
    files.extend(drawn.into_iter().map(|(n, b)| (format!("figures/{n}"), b)));
    for (name, bytes) in &files {
        staged.write_file(name, bytes)?;
    }
    let mut manifest = Manifest::with_build_info();
    manifest.args = argv;
    manifest.scenario_path = loaded.path.as_ref().map(|p| p.display().to_string());
    manifest.scenario_sha256 = sha256_hex(resolved.as_bytes());
    manifest.seed = result.seed;
    manifest.steps = result.steps;
    manifest.start_time = rfc3339_utc(started);
    manifest.end_time = rfc3339_utc(SystemTime::now());
    manifest.wall_time_s = clock.elapsed().as_secs_f64();
    manifest.files = Manifest::entries_of(&files);
    staged.write_file("manifest.json", manifest.to_json_pretty().as_bytes())?;
    let final_dir = staged.commit()?;
    println!(
        "orechain: ran `{}` ({} steps, seed {}) in {:.3} s -> {}",
        s.name,
        result.steps,
        result.seed,
        clock.elapsed().as_secs_f64(),
        final_dir.display()
    );
    Ok(final_dir)
}

/// `orechain plot`: redraw every figure of a finished result folder from its CSVs.
///
/// The new figures are written into a staging folder and swapped in for `DIR/figures/` as a whole
/// (so stale figures of families no longer drawn disappear, and a failure leaves the old figures
/// intact). `manifest.json` is left as the run wrote it. Returns the figures folder.
pub fn plot_command(dir: &Path) -> Result<PathBuf, AppError> {
    let clock = Instant::now();
    let drawn = figures::render_folder(dir)?;
    let staged = StagedDir::create(&dir.join("figures"), true)?;
    for (name, bytes) in &drawn {
        staged.write_file(name, bytes)?;
    }
    let final_dir = staged.commit()?;
    println!(
        "orechain: drew {} figures in {:.3} s -> {}",
        drawn.iter().filter(|(n, _)| n.ends_with(".svg")).count(),
        clock.elapsed().as_secs_f64(),
        final_dir.display()
    );
    Ok(final_dir)
}

/// `orechain validate`: check every file, report all problems, fail if any file is bad.
pub fn validate_command(files: &[PathBuf]) -> Result<(), AppError> {
    let mut failures = Vec::new();
    for file in files {
        match scenario::load_file(file, &[]) {
            Ok(loaded) => println!(
                "{}: ok (`{}`, {} steps)",
                file.display(),
                loaded.scenario.scenario().name,
                loaded.scenario.steps()
            ),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(AppError::BadInput(failures.join("\n")))
    }
}

/// `orechain generate`: write a synthetic scenario.
pub fn generate_command(args: &GenerateArgs) -> Result<(), AppError> {
    use crate::scenario::synthetic::{SyntheticSize, synthetic};
    if args.output.exists() && !args.force {
        return Err(AppError::BadInput(format!(
            "`{}` already exists; pass --force to replace it",
            args.output.display()
        )));
    }
    if args.nations > 60_000 || args.assets > 10_000_000 || args.firms > 10_000_000 {
        return Err(AppError::BadInput(
            "at most 60,000 nations and 10,000,000 assets or firms".into(),
        ));
    }
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
    println!(
        "orechain: wrote `{}` ({} assets)",
        args.output.display(),
        scenario.assets.len()
    );
    Ok(())
}

/// `orechain sweep`: run (or resume) a sweep. Runs that failed are listed in `failures.csv` and
/// make the exit code 1 once every other run has finished and the tables are written.
pub fn sweep_command(args: &SweepArgs, argv: Vec<String>) -> Result<(), AppError> {
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
            crate::sweep::shard::slurm_script(&plan, &exe, &out, args.tasks, cpus)?
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
    };
    let report = crate::sweep::run_sweep(&plan, &options)?;
    let part = shard.map_or(String::new(), |s| format!(" shard {}/{}", s.index, s.count));
    println!(
        "orechain: sweep `{}`{part}: {} runs ({} run now, {} failed) in {:.3} s -> {}",
        plan.file.name,
        report.runs,
        report.executed,
        report.failed,
        report.wall_time_s,
        report.out_dir.display()
    );
    runs_failed(&report)
}

/// `orechain merge`: join shard folders. Failed runs make the exit code 1, as for a sweep.
pub fn merge_command(args: &MergeArgs, argv: Vec<String>) -> Result<(), AppError> {
    let report = crate::sweep::merge::merge(
        &args.shards,
        &args.output,
        args.force,
        !args.no_figures,
        argv,
    )?;
    println!(
        "orechain: merged {} shard(s): {} runs ({} failed) -> {}",
        args.shards.len(),
        report.runs,
        report.failed,
        report.out_dir.display()
    );
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
