//! The sweep manifest: `manifest.json` of a sweep (or shard) folder, with everything needed to
//! reproduce the sweep and to check that a resumed run, or a set of shards, belongs to it.
//!
//! It is written when a sweep starts (`complete: false`) and rewritten when it ends, with the
//! SHA-256 of every output file. The design hash identifies a sweep: SHA-256 over `design.csv`
//! (run ids, seeds, parameter values), the resolved base scenario, the outcome definitions and
//! the replicate count — everything that decides the numbers except the engine, which is
//! compared separately (version and git hash).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::outcome::Outcome;
use crate::output::manifest::{BuildInfo, ManifestFile, build_info, sha256_hex};

/// File name of the manifest.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Largest manifest read (a real one is a few kB per output file).
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// A shard: runs whose id is congruent to `index` modulo `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based shard index (as `SLURM_ARRAY_TASK_ID` with `--array=0-(count-1)`).
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// Whether a run belongs to the shard.
    pub fn contains(&self, run_id: u64) -> bool {
        run_id % self.count == self.index
    }

    /// Runs of the shard among `total` runs.
    pub fn runs(&self, total: u64) -> u64 {
        total / self.count + u64::from(total % self.count > self.index)
    }
}

/// A parameter as recorded in the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestParameter {
    /// Column name.
    pub name: String,
    /// `--set` path.
    pub path: String,
}

/// `manifest.json` of a sweep, shard or merged folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepManifest {
    /// Always `"orechain"`.
    pub engine: String,
    /// Engine crate version.
    pub version: String,
    /// Git commit, compiler and dependency versions of the build.
    pub build: BuildInfo,
    /// Command line of the invocation that wrote this manifest.
    pub args: Vec<String>,
    /// Sweep name.
    pub name: String,
    /// Sweep file as given.
    pub sweep_path: String,
    /// SHA-256 of the sweep file's text (also copied as `sweep.ron`).
    pub sweep_sha256: String,
    /// Base scenario path (relative paths are relative to the sweep file).
    pub base_path: String,
    /// SHA-256 of the resolved base scenario (`scenario.ron`).
    pub base_sha256: String,
    /// Sweep seed; run seeds derive from it (`seeds` of the sweep file; listed in `design.csv`).
    pub seed: u64,
    /// Design kind (`grid`, `random`, `latin_hypercube`, `sobol`, `csv`).
    pub design: String,
    /// Identity of the sweep (see the module docs).
    pub design_hash: String,
    /// Parameters, in column order.
    pub parameters: Vec<ManifestParameter>,
    /// Outcomes, in index order.
    pub outcomes: Vec<Outcome>,
    /// Design points.
    pub points: u64,
    /// Replicates per point.
    pub replicates: u64,
    /// Runs in the whole sweep.
    pub total_runs: u64,
    /// The shard this folder holds, if any.
    pub shard: Option<Shard>,
    /// Shard folders merged into this one, if any.
    pub merged_from: Vec<String>,
    /// Runs this folder is responsible for.
    pub runs: u64,
    /// Of those, runs that finished.
    pub runs_ok: u64,
    /// Of those, runs that failed (see `failures.csv`).
    pub runs_failed: u64,
    /// Whether every run of this folder has finished and the tables are written.
    pub complete: bool,
    /// When the sweep was first started (RFC 3339 UTC).
    pub start_time: String,
    /// When this manifest was written.
    pub end_time: String,
    /// Wall time of the invocation that wrote this manifest, seconds.
    pub wall_time_s: f64,
    /// Output files with sizes and SHA-256 (once complete).
    pub files: Vec<ManifestFile>,
}

impl SweepManifest {
    /// A manifest with the engine and build filled in, the rest empty.
    pub fn new() -> Self {
        SweepManifest {
            engine: "orechain".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            build: build_info(),
            args: Vec::new(),
            name: String::new(),
            sweep_path: String::new(),
            sweep_sha256: String::new(),
            base_path: String::new(),
            base_sha256: String::new(),
            seed: 0,
            design: String::new(),
            design_hash: String::new(),
            parameters: Vec::new(),
            outcomes: Vec::new(),
            points: 0,
            replicates: 0,
            total_runs: 0,
            shard: None,
            merged_from: Vec::new(),
            runs: 0,
            runs_ok: 0,
            runs_failed: 0,
            complete: false,
            start_time: String::new(),
            end_time: String::new(),
            wall_time_s: 0.0,
            files: Vec::new(),
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            serde_json::json!({ "error": format!("could not serialise manifest: {e}") }).to_string()
        });
        s.push('\n');
        s
    }

    /// Read a folder's manifest.
    pub fn read(dir: &Path) -> Result<SweepManifest, String> {
        let path = dir.join(MANIFEST_FILE);
        let text = super::input::read_regular_text(&path, MAX_MANIFEST_BYTES)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            // serde's own message may quote the file's text; say where and what kind instead.
            let what = match e.classify() {
                serde_json::error::Category::Syntax => "it is not valid JSON",
                serde_json::error::Category::Eof => "it ends early",
                _ => "a field is missing or has the wrong type",
            };
            format!(
                "`{}` is not a sweep manifest: {what} (line {}, column {})",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }

    /// The engine identity two folders must share to be combined: version and git hash.
    pub fn engine_id(&self) -> String {
        format!("{} {}", self.version, self.build.git_hash)
    }
}

impl Default for SweepManifest {
    fn default() -> Self {
        Self::new()
    }
}

/// The design hash from its ingredients (`design.csv` enters by its SHA-256, so it can be hashed
/// while it is streamed to disk).
pub fn design_hash(
    design_csv_sha256: &str,
    base_resolved: &str,
    outcomes: &[Outcome],
    replicates: u64,
) -> String {
    let outcomes = serde_json::to_string(outcomes).unwrap_or_default();
    sha256_hex(format!("{design_csv_sha256}\0{base_resolved}\0{outcomes}\0{replicates}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_runs() {
        let total = 10;
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for run in 0..total {
            assert_eq!(shards.iter().filter(|s| s.contains(run)).count(), 1);
        }
        let sizes: Vec<u64> = shards.iter().map(|s| s.runs(total)).collect();
        assert_eq!(sizes, [4, 3, 3]);
    }
}
