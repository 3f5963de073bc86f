//! Writing one run's result folder: what `orechain run` does after loading its scenario, callable
//! from the library without the command line ([`write_run`]).
//!
//! The folder is written atomically ([`super::folder::StagedDir`]): the tables stream into a
//! hidden staging folder as the steps complete (memory does not grow with the number of steps),
//! then `scenario.ron`, `assets.csv`, the figures (drawn from the `metrics.csv` just written,
//! exactly as `orechain plot` would), the Parquet copies and `manifest.json` are added, and the
//! staging folder is renamed into place. On any error the staging folder is removed and an
//! earlier folder at the destination is left as it was.
//!
//! Errors are [`WriteRunError`]; the command line maps them to its exit codes
//! ([`crate::command::AppError`]), so `orechain run` and a library caller get the same folder
//! and the same messages.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::figures::{self, FigureError};
use super::folder::{FolderError, OutputKind, StagedDir};
use super::manifest::{Manifest, ManifestFile, rfc3339_utc, sha256_hex};
use super::parquet::{self, TableFormat};
use super::tables;
use crate::scenario::Loaded;
use crate::sim::RunError;

/// How [`write_run`] writes a run folder (the `orechain run` flags that shape the folder).
#[derive(Clone, Debug)]
pub struct RunFolderOptions {
    /// Replace an existing folder orechain wrote (`--force`); a folder orechain did not write is
    /// never replaced.
    pub force: bool,
    /// Draw the figures (`figures/`); `false` is `--no-figures`.
    pub figures: bool,
    /// Table format (`--format`): CSV, or CSV plus Parquet copies of the large tables.
    pub format: TableFormat,
    /// Cap, in MB, on what the streamed tables may write (`--max-output-mb`).
    pub max_output_mb: u64,
    /// The command line recorded in the manifest (`args`); empty for a library caller.
    pub argv: Vec<String>,
    /// When the work began, for the manifest's start time and wall time; `None` = when
    /// [`write_run`] is called (the command line passes the time it started, before loading).
    pub started: Option<(SystemTime, Instant)>,
}

impl Default for RunFolderOptions {
    /// `orechain run`'s defaults: no `--force`, figures drawn, CSV, the default output cap.
    fn default() -> Self {
        RunFolderOptions {
            force: false,
            figures: true,
            format: TableFormat::Csv,
            max_output_mb: tables::DEFAULT_MAX_OUTPUT_MB,
            argv: Vec::new(),
            started: None,
        }
    }
}

/// A run folder written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenRun {
    /// The folder, in place.
    pub dir: PathBuf,
    /// Steps run.
    pub steps: u32,
    /// Seed used.
    pub seed: u64,
}

/// Why [`write_run`] failed. Nothing is left at the destination but what was there before.
#[derive(Debug)]
pub enum WriteRunError {
    /// The output folder cannot be used (before any work: an existing folder without `force`, a
    /// folder orechain did not write, a parent that is a file, no permission).
    Unusable(FolderError),
    /// The run stopped: a non-finite value, or the output cap (`cap_reached`).
    Run {
        /// What stopped it.
        error: RunError,
        /// Whether the tables reached `max_output_mb` (the caller's limit, not a failure of the
        /// model).
        cap_reached: bool,
    },
    /// The streamed tables could not be created or finished.
    Tables(std::io::Error),
    /// The figures could not be drawn.
    Figures(FigureError),
    /// A Parquet copy could not be written.
    Parquet(String),
    /// Writing a file or committing the folder failed.
    Folder(FolderError),
}

impl std::fmt::Display for WriteRunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteRunError::Unusable(e) | WriteRunError::Folder(e) => write!(f, "{e}"),
            WriteRunError::Run { error, .. } => write!(f, "{error}"),
            WriteRunError::Tables(e) => write!(f, "cannot write the run's tables: {e}"),
            WriteRunError::Figures(e) => write!(f, "cannot draw figures of this run: {e}"),
            WriteRunError::Parquet(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for WriteRunError {}

/// The Parquet copies of a run folder's streamed tables (`--format parquet`), written next to
/// them in `dir`; their manifest entries are named with `prefix` (a replicate's folder). Nothing
/// for [`TableFormat::Csv`].
pub fn parquet_copies(
    dir: &Path,
    prefix: &str,
    format: TableFormat,
) -> Result<Vec<ManifestFile>, String> {
    if format == TableFormat::Csv {
        return Ok(Vec::new());
    }
    ["events.csv", "flows.csv", "metrics.csv"]
        .iter()
        .map(|name| parquet::write_copy(dir, name, prefix, parquet::Unknown::Text))
        .collect()
}

/// Run a loaded scenario and write its result folder at `dir` (`metrics.csv`, `flows.csv`,
/// `events.csv`, `assets.csv`, `scenario.ron`, the figures unless turned off, and
/// `manifest.json`), as `orechain run` does: the same bytes for the same scenario and seed.
pub fn write_run(
    dir: &Path,
    loaded: &Loaded,
    options: &RunFolderOptions,
) -> Result<WrittenRun, WriteRunError> {
    let (started, clock) = options
        .started
        .unwrap_or_else(|| (SystemTime::now(), Instant::now()));
    let s = loaded.scenario.scenario();
    let staged =
        StagedDir::create(dir, options.force, OutputKind::Run).map_err(WriteRunError::Unusable)?;
    let calendar = tables::Calendar {
        start_year: s.run.start_year,
        steps_per_year: s.run.steps_per_year,
    };
    let mut writer = tables::TableWriter::create(
        staged.path(),
        calendar,
        loaded.scenario.steps(),
        options.max_output_mb,
    )
    .map_err(WriteRunError::Tables)?;
    let result = crate::sim::try_run_streaming(loaded.scenario.resolved(), &mut writer).map_err(
        |error| WriteRunError::Run {
            error,
            cap_reached: writer.cap_reached(),
        },
    )?;
    let mut entries = writer.finish().map_err(WriteRunError::Tables)?;

    let resolved = loaded.resolved_ron();
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("scenario.ron".into(), resolved.clone().into_bytes()),
        (
            "assets.csv".into(),
            tables::assets_csv(&result).into_bytes(),
        ),
    ];
    if options.figures {
        let settings = figures::data::Settings::from_scenario(s);
        let drawn = figures::render_run_file(&staged.path().join("metrics.csv"), &settings)
            .map_err(WriteRunError::Figures)?;
        files.extend(drawn.into_iter().map(|(n, b)| (format!("figures/{n}"), b)));
    }
    for (name, bytes) in &files {
        staged
            .write_file(name, bytes)
            .map_err(WriteRunError::Folder)?;
    }
    entries.extend(Manifest::entries_of(&files));
    entries
        .extend(parquet_copies(staged.path(), "", options.format).map_err(WriteRunError::Parquet)?);
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut manifest = Manifest::with_build_info();
    manifest.args = options.argv.clone();
    manifest.scenario_path = loaded.path.as_ref().map(|p| p.display().to_string());
    manifest.scenario_sha256 = sha256_hex(resolved.as_bytes());
    manifest.seed = result.seed;
    manifest.steps = result.steps;
    manifest.start_time = rfc3339_utc(started);
    manifest.end_time = rfc3339_utc(SystemTime::now());
    manifest.wall_time_s = clock.elapsed().as_secs_f64();
    manifest.files = entries;
    staged
        .write_file("manifest.json", manifest.to_json_pretty().as_bytes())
        .map_err(WriteRunError::Folder)?;
    let dir = staged.commit().map_err(WriteRunError::Folder)?;
    Ok(WrittenRun {
        dir,
        steps: result.steps,
        seed: result.seed,
    })
}
