//! `orechain merge`: join the shard folders of a sweep into exactly what one machine would have
//! written.
//!
//! The shards must come from the same sweep (same design hash and engine), none may be missing or
//! given twice, and each must be complete. The merged tables are written by the same code as a
//! single-machine sweep, reading the shards' journals through one index, so `results.csv` is
//! byte-identical to a `-j N` run and `summary.csv` (and `sensitivity.csv`) are recomputed over all
//! runs. The merged folder appears atomically.
//!
//! Merge never writes into or removes its inputs: before anything is read, the output path and
//! every shard path are canonicalised (symlinks resolved; a missing output resolved through its
//! nearest existing ancestor) and an output equal to a shard, inside a shard, or containing a
//! shard is refused (exit 2) — with or without `--force`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::journal::{IndexError, JOURNAL_FILE, JournalIndex, Torn};
use super::lock::SweepLock;
use super::manifest::{self, MANIFEST_FILE, SweepManifest};
use super::spec::MAX_RUNS;
use super::summary::{Tables, write_tables};
use super::{
    BASE_COPY, DESIGN_FILE, FIGURES_DIR, POINTS_FILE, SALIB_FILE, SWEEP_COPY, SweepError,
    SweepReport, draw_figures, input, list_outputs,
};
use crate::output::folder::{FolderError, OutputKind, StagedDir, shown};
use crate::output::manifest::rfc3339_utc;

fn bad(m: String) -> SweepError {
    SweepError::BadInput(m)
}

/// `path` made absolute with every symlink resolved; the part that does not exist yet is
/// appended lexically (`..` in it removes the previous component).
fn resolve(path: &Path) -> Result<PathBuf, SweepError> {
    let absolute = std::path::absolute(path)
        .map_err(|e| bad(format!("cannot resolve `{}`: {e}", shown(path))))?;
    let mut base = absolute.as_path();
    let mut rest: Vec<std::path::Component<'_>> = Vec::new();
    loop {
        match std::fs::canonicalize(base) {
            Ok(mut resolved) => {
                for part in rest.iter().rev() {
                    match part {
                        std::path::Component::ParentDir => {
                            resolved.pop();
                        }
                        std::path::Component::Normal(p) => resolved.push(p),
                        _ => {}
                    }
                }
                return Ok(resolved);
            }
            Err(_) => match (base.parent(), base.components().next_back()) {
                (Some(parent), Some(last)) => {
                    rest.push(last);
                    base = parent;
                }
                _ => return Err(bad(format!("cannot resolve `{}`", shown(path)))),
            },
        }
    }
}

/// Refuse an output that is a shard, lies inside one, or contains one: merge must never write
/// into or remove its inputs.
fn check_paths(dirs: &[PathBuf], out: &Path) -> Result<(), SweepError> {
    let out_resolved = resolve(out)?;
    // Where the rename happens (a symlink at `out` is replaced, not followed).
    let out_lexical = match (out.parent(), out.file_name()) {
        (Some(parent), Some(name)) => resolve(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        })?
        .join(name),
        _ => out_resolved.clone(),
    };
    for dir in dirs {
        let input = resolve(dir)?;
        for target in [&out_resolved, &out_lexical] {
            let problem = if *target == input {
                Some("is one of the shards being merged")
            } else if input.starts_with(target) {
                Some("contains the shard")
            } else if target.starts_with(&input) {
                Some("lies inside the shard")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(bad(format!(
                    "the merge output `{}` {problem} `{}`: merge never writes into or removes \
                     its inputs; choose an output folder outside every shard with -o",
                    shown(out),
                    shown(dir)
                )));
            }
        }
    }
    Ok(())
}

/// Files of a shard whose SHA-256 its manifest must record and merge checks (the journal and
/// design are what the merged tables are made of; the others are copied).
const VERIFIED: [&str; 6] = [
    DESIGN_FILE,
    JOURNAL_FILE,
    SWEEP_COPY,
    BASE_COPY,
    POINTS_FILE,
    SALIB_FILE,
];

/// Largest resolved scenario read back from a shard.
const MAX_SCENARIO_BYTES: u64 = 256 << 20;

/// Check that a shard's files are the ones its manifest records (SHA-256), and that its
/// `design.csv` and `scenario.ron` give its design hash. Returns the SHA-256 of `design.csv`.
fn verify_shard(dir: &Path, m: &SweepManifest) -> Result<String, SweepError> {
    let mut design_sha = String::new();
    for name in VERIFIED {
        let Some(entry) = m.files.iter().find(|f| f.path == name) else {
            return Err(bad(format!(
                "the manifest of shard `{}` records no SHA-256 for {name}, so the shard cannot \
                 be checked; run the shard again",
                dir.display()
            )));
        };
        let path = dir.join(name);
        let sha = input::sha256_file(&path)
            .map_err(|e| bad(format!("cannot read `{}`: {e}", path.display())))?;
        if sha != entry.sha256 {
            return Err(bad(format!(
                "`{}` is not the file its shard wrote: its SHA-256 is {}…, the shard's manifest \
                 records {}…. The shard was changed after it finished; run it again",
                path.display(),
                &sha[..12],
                &entry.sha256[..entry.sha256.len().min(12)]
            )));
        }
        if name == DESIGN_FILE {
            design_sha = sha;
        }
    }
    let base_path = dir.join(BASE_COPY);
    let base = input::read_regular_text(&base_path, MAX_SCENARIO_BYTES)
        .map_err(|e| bad(format!("cannot read `{}`: {e}", base_path.display())))?;
    let hash = manifest::design_hash(&design_sha, &base, &m.outcomes, m.replicates);
    if hash != m.design_hash {
        return Err(bad(format!(
            "the design of shard `{}` does not give its manifest's design hash: its manifest \
             was edited; run the shard again",
            dir.display()
        )));
    }
    Ok(design_sha)
}

/// Up to ten indices in `0..count` that `present` lacks, and how many are missing in all.
fn missing_shards(present: &BTreeMap<u64, &PathBuf>, count: u64) -> String {
    let missing = count - present.len() as u64;
    // Present indices are all below `count`, so at most `present.len() + 10` steps.
    let listed: Vec<String> = (0..count)
        .filter(|i| !present.contains_key(i))
        .take(10)
        .map(|i| i.to_string())
        .collect();
    if missing > listed.len() as u64 {
        format!(
            "{} and {} more",
            listed.join(", "),
            missing - listed.len() as u64
        )
    } else {
        listed.join(", ")
    }
}

/// Read and check the shards; returns them sorted by shard index. Nothing here allocates in
/// proportion to a number a manifest states: shard counts and run counts are checked first.
fn check_shards(dirs: &[PathBuf]) -> Result<Vec<(PathBuf, SweepManifest)>, SweepError> {
    if dirs.is_empty() {
        return Err(bad("merge needs at least one shard folder".into()));
    }
    let mut shards = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let m = SweepManifest::read(dir).map_err(bad)?;
        let Some(shard) = m.shard else {
            return Err(bad(format!(
                "`{}` is not a shard folder (it was written without --shard)",
                dir.display()
            )));
        };
        if shard.count == 0 || shard.index >= shard.count {
            return Err(bad(format!(
                "the manifest of `{}` says shard {} of {}: shards are numbered 0 to count - 1; \
                 the manifest is damaged",
                dir.display(),
                shard.index,
                shard.count
            )));
        }
        if m.total_runs > MAX_RUNS {
            return Err(bad(format!(
                "the manifest of `{}` says the sweep has {} runs; a sweep has at most {MAX_RUNS}: \
                 the manifest is damaged",
                dir.display(),
                m.total_runs
            )));
        }
        // A shard still being written (a `--resume` in progress) is not merged.
        SweepLock::check_free(dir)?;
        shards.push((dir.clone(), m));
    }
    let (first_dir, first) = &shards[0];
    for (dir, m) in &shards[1..] {
        if m.design_hash != first.design_hash {
            return Err(bad(format!(
                "the shards come from different sweeps: `{}` is sweep `{}` (design hash {}…), \
                 `{}` is sweep `{}` (design hash {}…)",
                first_dir.display(),
                first.name,
                &first.design_hash[..first.design_hash.len().min(12)],
                dir.display(),
                m.name,
                &m.design_hash[..m.design_hash.len().min(12)]
            )));
        }
        if m.engine_id() != first.engine_id() {
            return Err(bad(format!(
                "the shards were run by different engines: `{}` by {}, `{}` by {}",
                first_dir.display(),
                first.engine_id(),
                dir.display(),
                m.engine_id()
            )));
        }
        if m.total_runs != first.total_runs {
            return Err(bad(format!(
                "`{}` says the sweep has {} runs, `{}` says {}: a manifest is damaged",
                first_dir.display(),
                first.total_runs,
                dir.display(),
                m.total_runs
            )));
        }
    }
    let count = first.shard.map_or(1, |s| s.count);
    let mut by_index: BTreeMap<u64, &PathBuf> = BTreeMap::new();
    for (dir, m) in &shards {
        let Some(shard) = m.shard else { continue };
        if shard.count != count {
            return Err(bad(format!(
                "`{}` is shard {} of {}, `{}` of {}: the shards were cut differently",
                dir.display(),
                shard.index,
                shard.count,
                first_dir.display(),
                count
            )));
        }
        if let Some(other) = by_index.insert(shard.index, dir) {
            return Err(bad(format!(
                "shard {} of {count} is given twice: `{}` and `{}`",
                shard.index,
                other.display(),
                dir.display()
            )));
        }
    }
    if by_index.len() as u64 != count {
        return Err(bad(format!(
            "missing shard(s) {} of {count} of sweep `{}`",
            missing_shards(&by_index, count),
            first.name
        )));
    }
    for (dir, m) in &shards {
        if !m.complete {
            let shard = m.shard.map_or(0, |s| s.index);
            return Err(bad(format!(
                "shard {shard} of {count} in `{}` is incomplete; finish it with `orechain sweep \
                 {} --shard {shard}/{count} -o {} --resume`",
                dir.display(),
                m.sweep_path,
                dir.display()
            )));
        }
    }
    // Every shard's files must be what its manifest records, and every shard must hold the same
    // design (merge writes the tables from one copy of it).
    let mut first_design: Option<(String, &PathBuf)> = None;
    for (dir, m) in &shards {
        let sha = verify_shard(dir, m)?;
        match &first_design {
            None => first_design = Some((sha, dir)),
            Some((sha0, dir0)) if *sha0 != sha => {
                return Err(bad(format!(
                    "`{}` and `{}` hold different design.csv files: the shards are not of one \
                     sweep",
                    dir0.join(DESIGN_FILE).display(),
                    dir.join(DESIGN_FILE).display()
                )));
            }
            Some(_) => {}
        }
    }
    shards.sort_by_key(|(_, m)| m.shard.map_or(0, |s| s.index));
    Ok(shards)
}

/// Merge shard folders into `out`, with the sweep's figures unless `figures` is false, and a
/// Parquet copy of `results.csv` with `TableFormat::Parquet`.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    force: bool,
    figures: bool,
    args: Vec<String>,
    format: crate::output::parquet::TableFormat,
) -> Result<SweepReport, SweepError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    check_paths(dirs, out)?;
    let shards = check_shards(dirs)?;
    let (first_dir, first) = &shards[0];
    let staged = StagedDir::create(out, force, OutputKind::Merge).map_err(|e| match e {
        FolderError::Exists { .. } | FolderError::NotOrechain { .. } => bad(e.to_string()),
        other => SweepError::Internal(other.to_string()),
    })?;
    let internal = |e: FolderError| SweepError::Internal(e.to_string());
    for name in [SWEEP_COPY, BASE_COPY, DESIGN_FILE, POINTS_FILE, SALIB_FILE] {
        let from = first_dir.join(name);
        // Checked against the shard's manifest by `check_shards`; streamed (a design may be
        // large).
        let cannot = |e: std::io::Error| {
            SweepError::Internal(format!("cannot copy `{}`: {e}", from.display()))
        };
        let mut reader = input::open_regular(&from).map_err(cannot)?;
        let mut writer = std::fs::File::create(staged.path().join(name)).map_err(cannot)?;
        std::io::copy(&mut reader, &mut writer).map_err(cannot)?;
    }
    let journals: Vec<PathBuf> = shards.iter().map(|(d, _)| d.join(JOURNAL_FILE)).collect();
    // Read-only: a merge never writes into its inputs (a torn line is an error, not cut).
    let index =
        JournalIndex::open(&journals, first.total_runs, Torn::Reject).map_err(|e| match e {
            IndexError::Duplicate(_) => bad(format!("the shards overlap: {e}")),
            IndexError::Malformed(_) => bad(format!("a shard's journal is damaged: {e}")),
        })?;
    let names: Vec<String> = first.outcomes.iter().map(|o| o.name.clone()).collect();
    let analysis = super::analysis::Analysis::of_folder(staged.path())?;
    let totals = write_tables(
        &Tables {
            design_csv: &staged.path().join(DESIGN_FILE),
            outcome_names: &names,
            index: &index,
            include: &|_| true,
            summary: true,
            analysis: &analysis,
            total_runs: first.total_runs,
        },
        staged.path(),
    )?;
    if totals.missing > 0 {
        return Err(SweepError::Internal(format!(
            "the shards' journals lack {} run(s) although every shard says it is complete",
            totals.missing
        )));
    }
    let mut m = first.clone();
    m.build = SweepManifest::new().build;
    m.args = args;
    m.shard = None;
    m.merged_from = shards
        .iter()
        .map(|(d, _)| d.display().to_string())
        .collect();
    m.runs = m.total_runs;
    m.runs_ok = totals.ok;
    m.runs_failed = totals.failed;
    m.complete = true;
    m.start_time = shards
        .iter()
        .map(|(_, s)| s.start_time.clone())
        .min()
        .unwrap_or_else(|| rfc3339_utc(started));
    m.end_time = rfc3339_utc(SystemTime::now());
    super::results_parquet(staged.path(), format)?;
    if figures {
        for (name, bytes) in draw_figures(staged.path(), &m)? {
            staged
                .write_file(&format!("{FIGURES_DIR}/{name}"), &bytes)
                .map_err(internal)?;
        }
    }
    m.wall_time_s = clock.elapsed().as_secs_f64();
    m.files = list_outputs(staged.path())?;
    staged
        .write_file(MANIFEST_FILE, m.to_json_pretty().as_bytes())
        .map_err(internal)?;
    let out_dir = staged.commit().map_err(internal)?;
    Ok(SweepReport {
        out_dir,
        runs: m.runs,
        ok: totals.ok,
        failed: totals.failed,
        executed: 0,
        wall_time_s: m.wall_time_s,
    })
}
