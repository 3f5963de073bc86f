//! `orechain merge`: join the shard folders of a sweep into exactly what one machine would have
//! written.
//!
//! The shards must come from the same sweep (same design hash and engine), none may be missing or
//! given twice, and each must be complete. The merged tables are written by the same code as a
//! single-machine sweep, reading the shards' journals through one index, so `results.csv` is
//! byte-identical to a `-j N` run and `summary.csv` (and `sensitivity.csv`) are recomputed over all
//! runs. The merged folder appears atomically.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::journal::{IndexError, JOURNAL_FILE, JournalIndex};
use super::manifest::{MANIFEST_FILE, SweepManifest};
use super::summary::{Tables, write_tables};
use super::{
    BASE_COPY, DESIGN_FILE, FIGURES_DIR, POINTS_FILE, SALIB_FILE, SWEEP_COPY, SweepError,
    SweepReport, draw_figures, list_outputs,
};
use crate::output::folder::StagedDir;
use crate::output::manifest::rfc3339_utc;

fn bad(m: String) -> SweepError {
    SweepError::BadInput(m)
}

/// Read and check the shards; returns them sorted by shard index.
fn check_shards(dirs: &[PathBuf]) -> Result<Vec<(PathBuf, SweepManifest)>, SweepError> {
    if dirs.is_empty() {
        return Err(bad("merge needs at least one shard folder".into()));
    }
    let mut shards = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let m = SweepManifest::read(dir).map_err(bad)?;
        if m.shard.is_none() {
            return Err(bad(format!(
                "`{}` is not a shard folder (it was written without --shard)",
                dir.display()
            )));
        }
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
    }
    let count = first.shard.map_or(1, |s| s.count);
    let mut by_index: Vec<Option<&PathBuf>> = vec![None; count as usize];
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
        if let Some(other) = by_index[shard.index as usize] {
            return Err(bad(format!(
                "shard {} of {count} is given twice: `{}` and `{}`",
                shard.index,
                other.display(),
                dir.display()
            )));
        }
        by_index[shard.index as usize] = Some(dir);
    }
    let missing: Vec<String> = by_index
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_none())
        .map(|(i, _)| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "missing shard(s) {} of {count} of sweep `{}`",
            missing.join(", "),
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
    shards.sort_by_key(|(_, m)| m.shard.map_or(0, |s| s.index));
    Ok(shards)
}

/// Merge shard folders into `out`, with the sweep's figures unless `figures` is false.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    force: bool,
    figures: bool,
    args: Vec<String>,
) -> Result<SweepReport, SweepError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let shards = check_shards(dirs)?;
    let (first_dir, first) = &shards[0];
    let staged = StagedDir::create(out, force).map_err(|e| match e {
        crate::output::folder::FolderError::Exists { .. } => bad(e.to_string()),
        other => SweepError::Internal(other.to_string()),
    })?;
    let internal = |e: crate::output::folder::FolderError| SweepError::Internal(e.to_string());
    for name in [SWEEP_COPY, BASE_COPY, DESIGN_FILE, POINTS_FILE, SALIB_FILE] {
        let from = first_dir.join(name);
        let bytes = std::fs::read(&from)
            .map_err(|e| SweepError::Internal(format!("cannot read `{}`: {e}", from.display())))?;
        staged.write_file(name, &bytes).map_err(internal)?;
    }
    let journals: Vec<PathBuf> = shards.iter().map(|(d, _)| d.join(JOURNAL_FILE)).collect();
    let index = JournalIndex::open(&journals, first.total_runs).map_err(|e| match e {
        IndexError::Duplicate(_) => bad(format!("the shards overlap: {e}")),
        IndexError::Malformed(_) => SweepError::Internal(e.to_string()),
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
