//! Parameter sweeps: many runs of one base scenario over a design of parameter values.
//!
//! A sweep file ([`spec`]) names a base scenario, parameters by `--set` path, a design
//! ([`design`]), replicates, a seed and the outcomes to keep ([`outcome`]). [`run_sweep`] writes
//! the inputs of the sweep into its folder, runs every (point × replicate) in parallel
//! ([`exec`]), appending each finished run to a journal ([`journal`]), and then writes the final
//! tables in run order ([`summary`], [`sensitivity`]), the figures
//! ([`figures`], drawn from those tables) and the manifest ([`manifest`]).
//!
//! The final tables are a function of the journal's content only, so they are byte-identical for
//! any thread count, completion order, kill-and-resume, or set of shards ([`shard`], [`merge`]). Memory does
//! not grow with the number of runs beyond 16 bytes of journal index per run.

pub mod analysis;
pub mod atomic;
pub mod attribution;
pub mod design;
pub mod exec;
pub mod figures;
pub use crate::output::input;
pub mod journal;
pub mod lock;
pub use crate::output::sweep_manifest as manifest;
pub mod merge;
pub mod morris;
pub use crate::output::outcome;
pub mod sensitivity;
pub mod shard;
pub mod spec;
pub mod summary;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::output::folder::{self, OutputKind};
use crate::output::manifest::{Manifest, rfc3339_utc, sha256_hex};
use crate::output::tables::push_field;
use crate::scenario::{Problem, ScenarioError};
use atomic::AtomicFile;
use journal::{IndexError, JOURNAL_FILE, JournalIndex, JournalWriter, Torn};
use lock::SweepLock;
use manifest::{MANIFEST_FILE, ManifestParameter, Shard, SweepManifest};
use spec::Plan;

/// Copy of the sweep file in the output folder.
pub const SWEEP_COPY: &str = "sweep.ron";
/// The resolved base scenario in the output folder.
pub const BASE_COPY: &str = "scenario.ron";
/// One row per run: ids, seed, parameter values.
pub const DESIGN_FILE: &str = "design.csv";
/// One row per design point (the design matrix `X`).
pub const POINTS_FILE: &str = "points.csv";
/// The SALib problem definition.
pub const SALIB_FILE: &str = "salib_problem.json";
/// Parquet copy of `results.csv` (`--format parquet`).
pub const RESULTS_PARQUET: &str = "results.parquet";

/// Write the Parquet copy of a complete sweep's `results.csv` into `dir` (`--format parquet`), or
/// remove a copy left by an earlier completion (`--format csv`), so a copy never outlives the
/// table it was made from.
pub fn results_parquet(
    dir: &Path,
    format: crate::output::parquet::TableFormat,
) -> Result<(), SweepError> {
    use crate::output::parquet;
    let path = dir.join(RESULTS_PARQUET);
    if format == parquet::TableFormat::Csv {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error("remove", &path, e)),
            _ => Ok(()),
        };
    }
    parquet::write_copy(dir, summary::RESULTS_FILE, "", parquet::Unknown::Infer)
        .map(|_| ())
        .map_err(SweepError::Internal)
}

/// Folder of the sweep's figures.
pub const FIGURES_DIR: &str = "figures";

/// Everything that can stop a sweep.
#[derive(Debug)]
pub enum SweepError {
    /// The base scenario (or the sweep file's syntax or types) is wrong.
    Scenario(ScenarioError),
    /// Semantic problems in the sweep file, all of them, located.
    Invalid(Vec<Problem>),
    /// Other bad input (arguments, an occupied output folder, shards that do not fit).
    BadInput(String),
    /// Anything else (I/O).
    Internal(String),
    /// Ctrl-C stopped the sweep; the journal and an incomplete manifest are saved. The message
    /// says how to resume.
    Interrupted(String),
}

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepError::Scenario(e) => write!(f, "{e}"),
            SweepError::Invalid(problems) => {
                writeln!(f, "the sweep file has {} problem(s):", problems.len())?;
                crate::scenario::error::write_bounded(f, problems)
            }
            SweepError::BadInput(m) | SweepError::Internal(m) | SweepError::Interrupted(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for SweepError {}

impl From<ScenarioError> for SweepError {
    fn from(e: ScenarioError) -> Self {
        SweepError::Scenario(e)
    }
}

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// Output folder.
    pub out_dir: PathBuf,
    /// Worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    /// Continue the sweep already in `out_dir`.
    pub resume: bool,
    /// Replace an existing output folder.
    pub force: bool,
    /// Run only this shard.
    pub shard: Option<Shard>,
    /// Draw the sweep's figures into `figures/` when it completes (never for a shard).
    pub figures: bool,
    /// Command line, for the manifest.
    pub args: Vec<String>,
    /// `--format parquet`: a Parquet copy of `results.csv` when the sweep completes.
    pub format: crate::output::parquet::TableFormat,
}

/// What a sweep did.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepReport {
    /// Output folder.
    pub out_dir: PathBuf,
    /// Runs this folder is responsible for.
    pub runs: u64,
    /// Runs that finished.
    pub ok: u64,
    /// Runs that failed.
    pub failed: u64,
    /// Runs executed by this invocation (the rest were journaled before a resume).
    pub executed: u64,
    /// Wall time of this invocation, seconds.
    pub wall_time_s: f64,
}

fn io_error(what: &str, path: &Path, e: impl fmt::Display) -> SweepError {
    SweepError::Internal(format!("cannot {what} `{}`: {e}", path.display()))
}

/// Stream `design.csv` (header and one row per run) to `out`, returning its SHA-256. A design
/// larger than the sweep file's `max_design_mb` is refused as soon as it passes the cap (the first
/// call, with `out = None`, runs before anything is written).
fn design_rows(plan: &Plan, mut out: Option<&mut AtomicFile>) -> Result<String, SweepError> {
    let cap_mb = plan.file.max_design_mb;
    let cap = cap_mb.saturating_mul(1_000_000);
    let mut bytes = 0u64;
    let mut hasher = Sha256::new();
    let mut line = String::from("run_id,point_id,replicate,seed");
    for name in &plan.names {
        line.push(',');
        push_field(&mut line, name);
    }
    line.push('\n');
    let mut emit = |line: &str| -> Result<(), SweepError> {
        bytes += line.len() as u64;
        if bytes > cap {
            return Err(SweepError::BadInput(format!(
                "design.csv of this sweep would be larger than its cap of {cap_mb} MB \
                 ({} runs of {} parameter(s)); use fewer points or replicates, or raise the cap \
                 with `max_design_mb: N` in the sweep file",
                plan.total_runs(),
                plan.names.len()
            )));
        }
        hasher.update(line.as_bytes());
        if let Some(out) = out.as_deref_mut() {
            out.write_str(line)
                .map_err(|e| SweepError::Internal(format!("cannot write design.csv: {e}")))?;
        }
        Ok(())
    };
    emit(&line)?;
    for run_id in 0..plan.total_runs() {
        let (point, replicate) = plan.locate(run_id);
        line.clear();
        line.push_str(&format!(
            "{run_id},{point},{replicate},{}",
            exec::run_seed(plan, run_id)
        ));
        for value in &plan.points[point as usize] {
            line.push(',');
            push_field(&mut line, &value.csv_text());
        }
        line.push('\n');
        emit(&line)?;
    }
    let digest = hasher.finalize();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// `points.csv` and `salib_problem.json`: the design matrix and its SALib problem definition.
fn write_design_matrix(plan: &Plan, dir: &Path) -> Result<(), SweepError> {
    let path = dir.join(POINTS_FILE);
    let mut f = AtomicFile::create(&path).map_err(|e| io_error("write", &path, e))?;
    let mut line = String::from("point_id");
    for name in &plan.names {
        line.push(',');
        push_field(&mut line, name);
    }
    line.push('\n');
    f.write_str(&line)
        .map_err(|e| io_error("write", &path, e))?;
    for (id, point) in plan.points.iter().enumerate() {
        line.clear();
        line.push_str(&id.to_string());
        for value in point {
            line.push(',');
            push_field(&mut line, &value.csv_text());
        }
        line.push('\n');
        f.write_str(&line)
            .map_err(|e| io_error("write", &path, e))?;
    }
    f.commit().map_err(|e| io_error("write", &path, e))?;

    let problem = salib_problem(plan);
    let text = serde_json::to_string_pretty(&problem).unwrap_or_default() + "\n";
    crate::output::folder::write_atomic(&dir.join(SALIB_FILE), text.as_bytes())
        .map_err(|e| SweepError::Internal(e.to_string()))
}

/// The SALib problem of a plan. SALib reads `num_vars`, `names` and `bounds`, and samples each
/// parameter uniformly within its bounds; orechain maps a unit coordinate `u` to a value as
/// [`spec`] documents, so the bounds are those of the quantity SALib would draw:
/// - a range: `[min, max]`, the value itself;
/// - an `integer` range: `[min, max + 1]`, the value being `floor(x)` (every integer equally
///   likely, as in orechain);
/// - `levels`: `[0, count]`, the value being `levels[floor(x)]` (the level index; `points.csv`
///   holds the level itself). `orechain_parameters` lists the levels so that a SALib sample can
///   be mapped back.
pub fn salib_problem(plan: &Plan) -> serde_json::Value {
    let mut bounds = Vec::new();
    let mut described = Vec::new();
    for (p, name) in plan.file.parameters.iter().zip(&plan.names) {
        let (lo, hi) = (p.min.unwrap_or(0.0), p.max.unwrap_or(1.0));
        if !p.levels.is_empty() {
            bounds.push([0.0, p.levels.len() as f64]);
            described.push(serde_json::json!({
                "name": name,
                "kind": "levels",
                "levels": p.levels,
                "value": "levels[floor(x)]",
            }));
        } else if p.integer {
            bounds.push([lo, hi + 1.0]);
            described.push(serde_json::json!({
                "name": name, "kind": "integer", "value": "floor(x)",
            }));
        } else {
            bounds.push([lo, hi]);
            described.push(serde_json::json!({"name": name, "kind": "range", "value": "x"}));
        }
    }
    if let spec::Design::Levers { .. } = plan.file.design {
        // A lever is a two-level factor: off (0) or on (1).
        for name in &plan.names {
            bounds.push([0.0, 2.0]);
            described.push(serde_json::json!({
                "name": name, "kind": "levels", "levels": [0, 1], "value": "levels[floor(x)]",
            }));
        }
    }
    serde_json::json!({
        "num_vars": plan.names.len(),
        "names": plan.names,
        "bounds": bounds,
        "orechain_design": plan.file.design.kind(),
        "orechain_parameters": described,
        "orechain_note": "Rows of points.csv are the design matrix X in point_id order (parameter \
            values, not SALib's x: see orechain_parameters for levels and integers); for a \
            sobol design they follow SALib's saltelli layout with calc_second_order=False. \
            Y = the `mean` column of summary.csv for one outcome and year, in point_id order. \
            tests/salib/check.py feeds them to SALib.analyze.sobol.analyze.",
    })
}

/// Make `dir` ready: fresh (created, or replaced with `--force` if orechain wrote it) or resumed
/// (same sweep), and locked ([`lock`]) before anything in it changes. Returns the previous
/// manifest when resuming, and the lock, held until the sweep ends. A fresh folder gets orechain's
/// marker first ([`folder::MARKER_FILE`]); a folder without it is never resumed into or replaced.
fn prepare_folder(
    opts: &SweepOptions,
    design_hash: &str,
) -> Result<(Option<SweepManifest>, SweepLock), SweepError> {
    let dir = &opts.out_dir;
    let shown = || folder::shown(dir);
    // A kill between the renames of an earlier --force leaves the folder hidden: put it back.
    folder::recover(dir);
    let occupied = std::fs::symlink_metadata(dir).is_ok()
        && !std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
    let not_ours = |reason: String| {
        SweepError::BadInput(
            folder::FolderError::NotOrechain {
                path: dir.clone(),
                reason,
            }
            .to_string(),
        )
    };
    if occupied && opts.resume {
        match folder::read_marker(dir) {
            Ok(OutputKind::Sweep | OutputKind::Shard) => {}
            Ok(kind) => {
                return Err(SweepError::BadInput(format!(
                    "cannot resume in `{}`: it holds an orechain {} folder, not a sweep",
                    shown(),
                    kind.as_str()
                )));
            }
            Err(reason) => {
                return Err(SweepError::BadInput(format!(
                    "cannot resume in `{}`: {reason}, so it is not a sweep folder orechain wrote; \
                     choose another folder with -o",
                    shown()
                )));
            }
        }
    }
    let before_manifest = occupied
        && std::fs::symlink_metadata(dir.join(MANIFEST_FILE)).is_err()
        && folder::check_replaceable(dir).is_ok();
    if occupied && opts.resume && !before_manifest {
        let read = || {
            SweepManifest::read(dir).map_err(|e| {
                SweepError::BadInput(format!("cannot resume in `{}`: {e}", dir.display()))
            })
        };
        // A folder without a sweep manifest gets no lock file (it may be anyone's folder), but
        // a sweep that has just started holds its lock before it writes its manifest; the
        // manifest is read again under the lock, as the process that held it may have
        // rewritten it.
        if let Err(e) = read() {
            SweepLock::check_free(dir)?;
            return Err(e);
        }
        let held = SweepLock::acquire(dir)?;
        let previous = read()?;
        if previous.design_hash != design_hash {
            return Err(SweepError::BadInput(format!(
                "`{}` holds a different sweep (design hash {}…, this sweep {}…): the sweep file, \
                 its base scenario or its design changed. Pass --force to start again, or choose \
                 another folder with -o",
                dir.display(),
                &previous.design_hash[..previous.design_hash.len().min(12)],
                &design_hash[..12]
            )));
        }
        if previous.shard != opts.shard {
            let describe = |s: Option<manifest::Shard>| {
                s.map_or("the whole sweep (no shard)".to_string(), |s| {
                    format!("shard {}/{}", s.index, s.count)
                })
            };
            return Err(SweepError::BadInput(format!(
                "`{}` holds {} of this sweep, not {}",
                dir.display(),
                describe(previous.shard),
                describe(opts.shard)
            )));
        }
        let engine = SweepManifest::new().engine_id();
        if previous.engine_id() != engine {
            return Err(SweepError::BadInput(format!(
                "`{}` was started by engine {}, this is {}: a resumed sweep would mix results \
                 of two engines. Pass --force to start again",
                dir.display(),
                previous.engine_id(),
                engine
            )));
        }
        atomic::remove_leftovers(dir).map_err(|e| io_error("clean", dir, e))?;
        return Ok((Some(previous), held));
    }
    if occupied {
        // Killed before its first manifest, nothing ran: --resume starts it afresh.
        let restart = opts.force || (opts.resume && before_manifest);
        if !restart {
            return Err(SweepError::BadInput(format!(
                "output folder `{}` already exists and is not empty; pass --resume to continue \
                 the sweep in it, --force to replace it, or choose another folder with -o",
                dir.display()
            )));
        }
        folder::check_replaceable(dir).map_err(not_ours)?;
        SweepLock::check_free(dir)?;
        folder::set_aside_and_remove(dir).map_err(|e| SweepError::Internal(e.to_string()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    let kind = if opts.shard.is_some() {
        OutputKind::Shard
    } else {
        OutputKind::Sweep
    };
    folder::write_marker(dir, kind).map_err(|e| SweepError::Internal(e.to_string()))?;
    Ok((None, SweepLock::acquire(dir)?))
}

/// The manifest of a plan, without run counts, times or files.
fn plan_manifest(plan: &Plan, design_hash: &str) -> SweepManifest {
    let mut m = SweepManifest::new();
    m.name = plan.file.name.clone();
    m.sweep_path = plan.sweep_path.display().to_string();
    m.sweep_sha256 = sha256_hex(plan.sweep_text.as_bytes());
    m.base_path = plan.file.base.clone();
    m.base_sha256 = sha256_hex(plan.base_resolved.as_bytes());
    m.seed = plan.file.seed;
    m.design = plan.file.design.kind().into();
    m.design_hash = design_hash.into();
    m.parameters = plan
        .names
        .iter()
        .zip(&plan.paths)
        .map(|(name, path)| ManifestParameter {
            name: name.clone(),
            path: path.clone(),
        })
        .collect();
    m.outcomes = plan.file.outcomes.clone();
    m.points = plan.points.len() as u64;
    m.replicates = plan.replicates();
    m.total_runs = plan.total_runs();
    m
}

/// The output files present in a folder, for the manifest.
pub fn list_outputs(dir: &Path) -> Result<Vec<crate::output::manifest::ManifestFile>, SweepError> {
    let names = [
        SWEEP_COPY,
        BASE_COPY,
        DESIGN_FILE,
        POINTS_FILE,
        SALIB_FILE,
        JOURNAL_FILE,
        summary::RESULTS_FILE,
        RESULTS_PARQUET,
        summary::FAILURES_FILE,
        summary::SUMMARY_FILE,
        summary::SENSITIVITY_FILE,
        attribution::ATTRIBUTION_FILE,
        morris::MORRIS_FILE,
    ];
    let mut present: Vec<String> = names
        .into_iter()
        .filter(|n| dir.join(n).is_file())
        .map(str::to_string)
        .collect();
    let figures = dir.join(FIGURES_DIR);
    if figures.is_dir() {
        let mut drawn: Vec<String> = std::fs::read_dir(&figures)
            .map_err(|e| io_error("list", &figures, e))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| format!("{FIGURES_DIR}/{}", e.file_name().to_string_lossy()))
            .collect();
        drawn.sort();
        present.extend(drawn);
    }
    let present: Vec<&str> = present.iter().map(String::as_str).collect();
    Manifest::file_entries(dir, &present).map_err(|e| io_error("hash outputs in", dir, e))
}

fn write_manifest(dir: &Path, m: &SweepManifest) -> Result<(), SweepError> {
    crate::output::folder::write_atomic(&dir.join(MANIFEST_FILE), m.to_json_pretty().as_bytes())
        .map_err(|e| SweepError::Internal(e.to_string()))
}

/// The sweep's figures, drawn from the tables just written in `dir`.
pub fn draw_figures(dir: &Path, m: &SweepManifest) -> Result<Vec<(String, Vec<u8>)>, SweepError> {
    figures::render_sweep(dir, m)
        .map_err(|e| SweepError::Internal(format!("cannot draw the sweep's figures: {e}")))
}

/// Draw the figures into `dir/figures/`, replacing that folder as a whole (as `orechain plot`
/// does).
fn write_figures(dir: &Path, m: &SweepManifest) -> Result<(), SweepError> {
    let drawn = draw_figures(dir, m)?;
    let folder_error = |e: crate::output::folder::FolderError| SweepError::Internal(e.to_string());
    let staged = crate::output::folder::StagedDir::create_figures(&dir.join(FIGURES_DIR))
        .map_err(folder_error)?;
    for (name, bytes) in &drawn {
        staged.write_file(name, bytes).map_err(folder_error)?;
    }
    staged.commit().map_err(folder_error)?;
    Ok(())
}

/// After Ctrl-C: the journal is synced (by [`exec::execute`]); record the sweep as incomplete in
/// its manifest and say how to resume. The tables are not written: `--resume` writes them from
/// the whole journal.
fn interrupted(
    plan: &Plan,
    opts: &SweepOptions,
    m: &mut SweepManifest,
    executed: u64,
    todo: u64,
    clock: Instant,
) -> SweepError {
    let dir = opts.out_dir.as_path();
    m.complete = false;
    m.end_time = rfc3339_utc(SystemTime::now());
    m.wall_time_s = clock.elapsed().as_secs_f64();
    let saved = list_outputs(dir)
        .map(|files| m.files = files)
        .and_then(|()| write_manifest(dir, m));
    let mut resume = format!(
        "orechain sweep {} -o {} --resume",
        shell_word(&plan.sweep_path.display().to_string()),
        shell_word(&dir.display().to_string())
    );
    if let Some(s) = opts.shard {
        resume.push_str(&format!(" --shard {}/{}", s.index, s.count));
    }
    let mut message = format!(
        "interrupted: {executed} run(s) finished now and are in the journal, {} left; resume with\n  \
         {resume}",
        todo - executed
    );
    if let Err(e) = saved {
        message.push_str(&format!("\n(the manifest could not be updated: {e})"));
    }
    SweepError::Interrupted(message)
}

/// `word` quoted for a POSIX shell when it holds anything but plain path characters.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ':'));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A journal that cannot be read: a damaged line is the user's to fix (exit 2), never copied
/// into the tables.
fn journal_error(e: IndexError) -> SweepError {
    match e {
        IndexError::Malformed(m) => SweepError::BadInput(format!(
            "cannot resume from the journal: {m}. Its lines are written only by orechain; remove \
             the damaged line (that run is then executed again) or start again with --force"
        )),
        IndexError::Duplicate(_) => SweepError::BadInput(format!(
            "cannot resume from the journal: {e}; start again with --force"
        )),
    }
}

/// On `--resume`: the folder's `design.csv` must be exactly the design this sweep file generates
/// (the tables are written from it, so a truncated or edited copy would silently drop or mislabel
/// runs).
fn check_design_unchanged(dir: &Path, design_sha: &str) -> Result<(), SweepError> {
    let path = dir.join(DESIGN_FILE);
    let on_disk = input::sha256_file(&path).map_err(|e| {
        SweepError::BadInput(format!(
            "cannot resume in `{}`: cannot read `{}`: {e}",
            dir.display(),
            path.display()
        ))
    })?;
    if on_disk != design_sha {
        return Err(SweepError::BadInput(format!(
            "cannot resume in `{}`: `{}` was changed since the sweep started (its SHA-256 is \
             {}…, the design of this sweep file is {}…). Restore it, or start again with --force",
            dir.display(),
            path.display(),
            &on_disk[..12],
            &design_sha[..12]
        )));
    }
    Ok(())
}

/// Run a sweep (or one shard of it) into `opts.out_dir`, resuming if asked.
pub fn run_sweep(plan: &Plan, opts: &SweepOptions) -> Result<SweepReport, SweepError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let dir = opts.out_dir.as_path();
    let design_sha = design_rows(plan, None)?;
    let hash = manifest::design_hash(
        &design_sha,
        &plan.base_resolved,
        &plan.file.outcomes,
        plan.replicates(),
    );
    let (previous, _lock) = prepare_folder(opts, &hash)?;
    if previous.is_some() {
        check_design_unchanged(dir, &design_sha)?;
    }
    let mut m = plan_manifest(plan, &hash);
    m.args = opts.args.clone();
    m.shard = opts.shard;
    m.start_time = previous
        .as_ref()
        .map_or_else(|| rfc3339_utc(started), |p| p.start_time.clone());
    let total = plan.total_runs();
    m.runs = opts.shard.map_or(total, |s| s.runs(total));
    if previous.is_none() {
        // The manifest comes first (right after the marker): from here on a killed sweep can be
        // resumed, and a resume writes whichever input below is still missing.
        m.end_time = rfc3339_utc(SystemTime::now());
        write_manifest(dir, &m)?;
    }
    let missing = |name: &str| std::fs::symlink_metadata(dir.join(name)).is_err();
    let write = |name: &str, bytes: &[u8]| {
        crate::output::folder::write_atomic(&dir.join(name), bytes)
            .map_err(|e| SweepError::Internal(e.to_string()))
    };
    if missing(SWEEP_COPY) {
        write(SWEEP_COPY, plan.sweep_text.as_bytes())?;
    }
    if missing(BASE_COPY) {
        write(BASE_COPY, plan.base_resolved.as_bytes())?;
    }
    if missing(DESIGN_FILE) {
        let path = dir.join(DESIGN_FILE);
        let mut f = AtomicFile::create(&path).map_err(|e| io_error("write", &path, e))?;
        design_rows(plan, Some(&mut f))?;
        f.commit().map_err(|e| io_error("write", &path, e))?;
    }
    if missing(POINTS_FILE) || missing(SALIB_FILE) {
        write_design_matrix(plan, dir)?;
    }

    let journal_path = dir.join(JOURNAL_FILE);
    let journals = [journal_path.clone()];
    let index = JournalIndex::open(&journals, total, Torn::Cut).map_err(journal_error)?;
    let in_shard = |run_id: u64| opts.shard.is_none_or(|s| s.contains(run_id));
    let todo = (0..total).filter(|&r| in_shard(r) && !index.has(r)).count() as u64;
    let writer =
        JournalWriter::open(&journal_path).map_err(|e| io_error("open", &journal_path, e))?;
    let graceful = crate::interrupt::Graceful::enter();
    let executed = exec::execute(
        plan,
        (0..total)
            .into_par_iter()
            .filter(|&r| in_shard(r) && !index.has(r)),
        todo,
        opts.jobs,
        writer,
    )?;
    drop(index);
    if crate::interrupt::requested() {
        return Err(interrupted(plan, opts, &mut m, executed, todo, clock));
    }
    // From here on Ctrl-C ends the process at once (the tables are rebuilt on resume).
    drop(graceful);

    let index = JournalIndex::open(&journals, total, Torn::Cut).map_err(journal_error)?;
    let names: Vec<String> = plan.file.outcomes.iter().map(|o| o.name.clone()).collect();
    let totals = summary::write_tables(
        &summary::Tables {
            design_csv: &dir.join(DESIGN_FILE),
            outcome_names: &names,
            index: &index,
            include: &in_shard,
            summary: opts.shard.is_none(),
            analysis: &analysis::Analysis::of(&plan.file),
            total_runs: total,
        },
        dir,
    )?;
    if totals.missing > 0 {
        return Err(SweepError::Internal(format!(
            "{} run(s) have no journal line after the sweep",
            totals.missing
        )));
    }
    if opts.shard.is_none() {
        results_parquet(dir, opts.format)?;
    }
    if opts.figures && opts.shard.is_none() {
        write_figures(dir, &m)?;
    }
    m.runs_ok = totals.ok;
    m.runs_failed = totals.failed;
    m.complete = true;
    m.end_time = rfc3339_utc(SystemTime::now());
    m.wall_time_s = clock.elapsed().as_secs_f64();
    m.files = list_outputs(dir)?;
    write_manifest(dir, &m)?;
    Ok(SweepReport {
        out_dir: dir.to_path_buf(),
        runs: m.runs,
        ok: totals.ok,
        failed: totals.failed,
        executed,
        wall_time_s: m.wall_time_s,
    })
}
