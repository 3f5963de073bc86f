//! Byte-identity harness (issue 13): the CSVs of every shipped scenario and sweep, hashed with
//! SHA-256 and compared against `tests/fixtures/fingerprints.tsv`, recorded before a refactor.
//!
//! A refactor that claims "no change in results" proves it by keeping this test green. A change
//! that moves results on purpose re-records the file in one command and names the change in
//! CHANGELOG.md (the diff of the fixture shows which files moved):
//!
//! ```text
//! ORECHAIN_RECORD_FINGERPRINTS=1 cargo test --release --test it fingerprints
//! ```
//!
//! To record from the commit before a refactor, build that commit's binary and name it in
//! `ORECHAIN_FINGERPRINT_BIN` while recording; then check the refactored tree without it.
//!
//! Cases:
//! - every `scenarios/*.ron` and every backtest scenario `validation/*.ron` (not the
//!   `.expect.ron` files): `orechain run --no-figures` at its own horizon and seed;
//! - every sweep file in `scenarios/sweeps/` and `scenarios/bench/` (a RON file with a `base`
//!   field), shrunk so CI stays fast: at most [`MAX_REPLICATES`] replicates, and sampled designs
//!   cut to [`MAX_SAMPLED_POINTS`] points (Sobol' base rows to [`MAX_SOBOL_BASE`], Morris
//!   trajectories to [`MAX_MORRIS_TRAJECTORIES`]); grid, CSV and lever designs run in full. The
//!   shrunk sweep is written to a temporary folder with its `base` and CSV design made absolute.
//!
//! Every `.csv` in each output folder is hashed; a new or missing file is a difference too.
//! New scenarios or sweeps have no fingerprint until recorded, so the test fails until they are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::common::*;

/// The recorded fingerprints, relative to the repository.
const FIXTURE: &str = "tests/fixtures/fingerprints.tsv";
/// Environment variable that makes the test write the fixture instead of comparing.
const RECORD_VAR: &str = "ORECHAIN_RECORD_FINGERPRINTS";
/// Environment variable naming another `orechain` binary to run (to record from a build of an
/// earlier commit: `ORECHAIN_FINGERPRINT_BIN=/path/to/old/orechain ORECHAIN_RECORD_FINGERPRINTS=1`).
const BIN_VAR: &str = "ORECHAIN_FINGERPRINT_BIN";
/// Replicates kept per design point of a shrunk sweep.
const MAX_REPLICATES: u64 = 2;
/// Points kept by a shrunk `random` or `latin_hypercube` design.
const MAX_SAMPLED_POINTS: u64 = 6;
/// Base rows kept by a shrunk `sobol` design.
const MAX_SOBOL_BASE: u64 = 4;
/// Trajectories kept by a shrunk `morris` design.
const MAX_MORRIS_TRAJECTORIES: u64 = 3;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every `.csv` below `dir`, by path relative to `dir` (with `/`), hashed.
fn hash_csvs(dir: &Path, rel: &str, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name")
            .to_string();
        let sub = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if path.is_dir() {
            hash_csvs(&path, &sub, out);
        } else if name.ends_with(".csv") {
            let bytes = std::fs::read(&path).expect("readable output");
            out.insert(sub, sha256_hex(&bytes));
        }
    }
}

/// Sorted `.ron` files of a repository folder.
fn ron_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .expect("utf-8 file name")
        .to_string()
}

/// Cap an unsigned integer field of a JSON object.
fn cap(obj: &mut serde_json::Map<String, serde_json::Value>, key: &str, max: u64) {
    if let Some(v) = obj.get(key).and_then(serde_json::Value::as_u64) {
        obj.insert(key.to_string(), serde_json::Value::from(v.min(max)));
    }
}

/// Write a shrunk copy of a sweep file into `dir` and return its path.
fn shrink_sweep(sweep: &Path, dir: &Path) -> PathBuf {
    use orechain::scenario::ron_tree::{parse, print_ron, to_json};
    let text = read(sweep);
    let tree = parse(&text, 0).unwrap_or_else(|e| panic!("{}: {e:?}", sweep.display()));
    let mut json = to_json(&tree);
    let obj = json.as_object_mut().expect("a sweep file is a struct");
    let parent = sweep.parent().expect("a sweep file has a folder");
    let absolute = |rel: &str| {
        parent
            .join(rel)
            .to_str()
            .expect("utf-8 repository path")
            .to_string()
    };
    let base = obj["base"].as_str().expect("base is a string").to_string();
    obj.insert("base".into(), absolute(&base).into());
    cap(obj, "replicates", MAX_REPLICATES);
    let design = obj
        .get_mut("design")
        .and_then(serde_json::Value::as_object_mut)
        .expect("design is a struct");
    match design["kind"].as_str().expect("design kind") {
        "random" | "latin_hypercube" => cap(design, "points", MAX_SAMPLED_POINTS),
        "sobol" => cap(design, "base_points", MAX_SOBOL_BASE),
        "morris" => cap(design, "trajectories", MAX_MORRIS_TRAJECTORIES),
        "csv" => {
            let file = design["file"].as_str().expect("csv file").to_string();
            design.insert("file".into(), absolute(&file).into());
        }
        _ => {}
    }
    let out = dir.join(format!("{}.ron", stem(sweep)));
    std::fs::write(&out, format!("Sweep{}", print_ron(&json))).expect("write shrunk sweep");
    out
}

/// Run every case and hash its CSVs: `case/file` → SHA-256.
fn fingerprints() -> BTreeMap<String, String> {
    let dir = tmp();
    let mut all = BTreeMap::new();
    let mut cases: Vec<(String, Vec<String>)> = Vec::new();
    let backtest_scenarios = ron_files("validation")
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".expect.ron"));
    for (prefix, scenario) in ron_files("scenarios")
        .into_iter()
        .map(|p| ("", p))
        .chain(backtest_scenarios.map(|p| ("validation/", p)))
    {
        let name = stem(&scenario);
        let out = dir
            .path()
            .join(format!("run-{}{name}", prefix.replace('/', "-")));
        cases.push((
            format!("run/{prefix}{name}"),
            vec![
                "run".into(),
                scenario.to_str().expect("utf-8").into(),
                "-o".into(),
                out.to_str().expect("utf-8").into(),
                "--no-figures".into(),
            ],
        ));
    }
    for folder in ["scenarios/sweeps", "scenarios/bench"] {
        for sweep in ron_files(folder) {
            let name = stem(&sweep);
            let shrunk = shrink_sweep(&sweep, dir.path());
            let out = dir.path().join(format!("sweep-{name}"));
            cases.push((
                format!("sweep/{}/{name}", folder.trim_start_matches("scenarios/")),
                vec![
                    "sweep".into(),
                    shrunk.to_str().expect("utf-8").into(),
                    "-o".into(),
                    out.to_str().expect("utf-8").into(),
                    "--no-figures".into(),
                    "-j".into(),
                    "2".into(),
                ],
            ));
        }
    }
    // The binary under test, or another one (a build of the commit before a refactor) to record
    // the fixture from.
    let binary = std::env::var_os(BIN_VAR).map_or_else(bin, PathBuf::from);
    for (case, args) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = std::process::Command::new(&binary)
            .args(&args)
            .current_dir(dir.path())
            .output()
            .expect("the orechain binary runs");
        let (code, _, err) = outcome(&out);
        assert_eq!(
            code,
            0,
            "{case}: `orechain {}` failed: {err}",
            args.join(" ")
        );
        let out = PathBuf::from(args[3]);
        let mut hashes = BTreeMap::new();
        hash_csvs(&out, "", &mut hashes);
        assert!(!hashes.is_empty(), "{case} wrote no CSV");
        for (file, hash) in hashes {
            all.insert(format!("{case}/{file}"), hash);
        }
    }
    all
}

fn render(prints: &BTreeMap<String, String>) -> String {
    let mut text = String::from(
        "# SHA-256 of every CSV written by the shipped scenarios and (shrunk) sweeps.\n\
         # Checked by tests/it/fingerprints.rs. Re-record deliberately, after a change that moves\n\
         # results on purpose (and name it in CHANGELOG.md):\n\
         #   ORECHAIN_RECORD_FINGERPRINTS=1 cargo test --release --test it fingerprints\n",
    );
    for (file, hash) in prints {
        text.push_str(&format!("{file}\t{hash}\n"));
    }
    text
}

fn parse_fixture(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (file, hash) = l.split_once('\t').expect("`file<TAB>sha256` lines");
            (file.to_string(), hash.to_string())
        })
        .collect()
}

#[test]
fn every_shipped_scenario_and_sweep_writes_the_recorded_csvs() {
    let now = fingerprints();
    let fixture = repo(FIXTURE);
    if std::env::var_os(RECORD_VAR).is_some() {
        std::fs::create_dir_all(fixture.parent().expect("fixture folder")).expect("mkdir");
        std::fs::write(&fixture, render(&now)).expect("write fixture");
        eprintln!("recorded {} fingerprints in {FIXTURE}", now.len());
        return;
    }
    let recorded =
        parse_fixture(&std::fs::read_to_string(&fixture).unwrap_or_else(|e| {
            panic!("cannot read {FIXTURE} ({e}); record it with {RECORD_VAR}=1")
        }));
    let mut diffs = Vec::new();
    for (file, hash) in &now {
        match recorded.get(file) {
            None => diffs.push(format!("new (not recorded): {file}")),
            Some(h) if h != hash => diffs.push(format!("changed: {file}")),
            Some(_) => {}
        }
    }
    for file in recorded.keys().filter(|f| !now.contains_key(*f)) {
        diffs.push(format!("missing (recorded, not written): {file}"));
    }
    assert!(
        diffs.is_empty(),
        "CSV outputs differ from {FIXTURE}:\n  {}\nIf the change is intended, re-record with \
         `{RECORD_VAR}=1 cargo test --release --test it fingerprints` and name it in CHANGELOG.md.",
        diffs.join("\n  ")
    );
}

#[test]
fn the_fixture_parser_sees_a_changed_hash() {
    // The comparison can fail: a fixture rendered from one map and read back equals it, and a
    // changed hash is told apart.
    let mut a = BTreeMap::new();
    a.insert("run/x/metrics.csv".to_string(), sha256_hex(b"a"));
    let back = parse_fixture(&render(&a));
    assert_eq!(back, a);
    let mut b = a.clone();
    b.insert("run/x/metrics.csv".to_string(), sha256_hex(b"b"));
    assert_ne!(back, b);
}
