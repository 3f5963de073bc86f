//! What every command shares: the error that knows its exit code ([`AppError`]), loading the
//! scenario a run names, the `--format` check, Parquet copies and opening an output folder's
//! staging folder.
//!
//! It sits below the commands (`ensemble`, `validation`, `compare`, `report`) and the dispatch
//! (`app`), so that they use it without using each other upwards (`tests/it/layers.rs`);
//! [`crate::app`] re-exports it under its old paths.

use std::path::Path;

use crate::output::figures::FigureError;
use crate::output::folder::{FolderError, OutputKind, StagedDir};
use crate::output::parquet::{self, TableFormat};
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
            | ScenarioError::ExtendsTooDeep { .. }
            | ScenarioError::NotAScenario { .. }
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
            FolderError::Exists { .. } | FolderError::NotOrechain { .. } => {
                AppError::BadInput(e.to_string())
            }
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

/// `--format parquet` on a build without the `parquet` feature: a usage error (exit 2) before any
/// work is done.
pub fn check_format(format: TableFormat) -> Result<(), AppError> {
    if format == TableFormat::Parquet && !parquet::SUPPORTED {
        return Err(AppError::BadInput(parquet::UNSUPPORTED.to_string()));
    }
    Ok(())
}

/// The Parquet copies of a run folder's streamed tables (`--format parquet`), written next to
/// them in `dir`; their manifest entries are named with `prefix` (a replicate's folder). The
/// library's [`crate::output::run::parquet_copies`] with the command's error.
pub fn parquet_copies(
    dir: &Path,
    prefix: &str,
    format: TableFormat,
) -> Result<Vec<crate::output::manifest::ManifestFile>, AppError> {
    crate::output::run::parquet_copies(dir, prefix, format).map_err(AppError::Internal)
}

/// Opens the staging folder of a result folder of `kind` at `out_dir`. A folder that cannot be
/// used (a parent is a file, no permission) is the user's to fix: exit 2, as is an existing folder
/// without `--force` or one orechain did not write.
pub fn stage_output(
    out_dir: &std::path::Path,
    force: bool,
    kind: OutputKind,
) -> Result<StagedDir, AppError> {
    StagedDir::create(out_dir, force, kind).map_err(|e| folder_unusable(out_dir, e))
}

/// The command's error for [`crate::output::run::write_run`] writing to `out_dir` (what `orechain
/// run` and [`crate::api::write_run`] report).
pub fn write_run_error(
    out_dir: &std::path::Path,
    e: crate::output::run::WriteRunError,
) -> AppError {
    use crate::output::run::WriteRunError;
    match e {
        // A folder that cannot be used (a parent is a file, no permission) is the user's to fix
        // and is found before any work is done: exit 2. Failures later, while writing, are exit
        // 1; the output cap is the user's limit (exit 2).
        WriteRunError::Unusable(e) => folder_unusable(out_dir, e),
        WriteRunError::Run {
            error,
            cap_reached: true,
        } => AppError::BadInput(error.to_string()),
        WriteRunError::Folder(e) => AppError::from(e),
        e @ (WriteRunError::Run { .. }
        | WriteRunError::Tables(_)
        | WriteRunError::Figures(_)
        | WriteRunError::Parquet(_)) => AppError::Internal(e.to_string()),
    }
}

/// The command's error for an output folder that cannot be opened (exit 2: the user's to fix).
fn folder_unusable(out_dir: &std::path::Path, e: FolderError) -> AppError {
    match e {
        FolderError::Io { .. } => AppError::BadInput(format!(
            "cannot use the output folder `{}`: {e}",
            out_dir.display()
        )),
        FolderError::Exists { .. } | FolderError::NotOrechain { .. } => AppError::from(e),
    }
}
