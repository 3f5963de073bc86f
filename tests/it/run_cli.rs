//! `orechain run`: the output folder, refusal to overwrite, `--force`, `--set`, `--seed`, and the
//! resolved scenario reproducing the run.

use crate::common::*;

#[test]
fn run_writes_every_file_and_refuses_to_overwrite() {
    let dir = tmp();
    let scenario = repo("scenarios/tiny.ron");
    let s = scenario.to_str().expect("utf-8");
    let (code, _, err) = outcome(&orechain(&["run", s, "--no-figures"], dir.path()));
    assert_eq!(code, 0, "{err}");
    let out = dir.path().join("output/tiny");
    for f in [
        "manifest.json",
        "scenario.ron",
        "metrics.csv",
        "flows.csv",
        "events.csv",
        "assets.csv",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&out.join("manifest.json"))).expect("manifest is JSON");
    assert_eq!(manifest["seed"], 7);
    assert_eq!(manifest["steps"], 12);
    assert_eq!(manifest["scenario_sha256"].as_str().map(str::len), Some(64));
    assert!(manifest["files"].as_array().is_some_and(|f| f.len() >= 5));

    let before = read(&out.join("metrics.csv"));
    let (code, _, err) = outcome(&orechain(
        &["run", s, "--no-figures", "--seed", "99"],
        dir.path(),
    ));
    assert_eq!(code, 2, "existing output must be refused");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        read(&out.join("metrics.csv")),
        before,
        "refused run must not touch results"
    );

    let (code, _, err) = outcome(&orechain(
        &["run", s, "--no-figures", "--seed", "99", "--force"],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&out.join("manifest.json"))).expect("manifest is JSON");
    assert_eq!(manifest["seed"], 99);
    // No staging folders left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("output"))
        .expect("output exists")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "staging folders left: {leftovers:?}");
}

#[test]
fn resolved_scenario_reproduces_the_csvs() {
    let dir = tmp();
    let s = repo("scenarios/tiny.ron");
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            s.to_str().expect("utf-8"),
            "-o",
            "first",
            "--no-figures",
            "--set",
            "nations.CHL.governance.infrastructure=0.9",
            "--seed",
            "11",
        ],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = outcome(&orechain(
        &["run", "first/scenario.ron", "-o", "second", "--no-figures"],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    for f in [
        "metrics.csv",
        "flows.csv",
        "events.csv",
        "assets.csv",
        "scenario.ron",
    ] {
        assert_eq!(
            read(&dir.path().join("first").join(f)),
            read(&dir.path().join("second").join(f)),
            "{f}"
        );
    }
    assert!(read(&dir.path().join("first/scenario.ron")).contains("infrastructure: 0.9"));
}

#[test]
fn unknown_set_path_lists_nearest_valid_paths() {
    let dir = tmp();
    let s = repo("scenarios/tiny.ron");
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            s.to_str().expect("utf-8"),
            "--set",
            "nations.CHL.governance.regulatory_stabilty=0.4",
        ],
        dir.path(),
    ));
    assert_eq!(code, 2);
    assert!(
        err.contains("nations.CHL.governance.regulatory_stability"),
        "{err}"
    );
    assert!(
        !dir.path().join("output").exists(),
        "nothing may be written on bad input"
    );
}

#[test]
fn set_with_a_bad_value_is_a_clear_error() {
    let dir = tmp();
    let s = repo("scenarios/tiny.ron");
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            s.to_str().expect("utf-8"),
            "--set",
            "nations.CHL.governance.regulatory_stability=1.7",
        ],
        dir.path(),
    ));
    assert_eq!(code, 2);
    assert!(
        err.contains("nations.CHL.governance.regulatory_stability: must be between 0 and 1"),
        "{err}"
    );
}

#[test]
fn run_without_a_scenario_uses_the_built_in_baseline() {
    let dir = tmp();
    let (code, out, err) = outcome(&orechain(
        &["run", "--no-figures", "-o", "default"],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("baseline"), "{out}");
    assert!(dir.path().join("default/metrics.csv").exists());
}

#[test]
fn missing_file_and_bad_arguments_exit_2() {
    let dir = tmp();
    let (code, _, err) = outcome(&orechain(&["run", "nope.ron"], dir.path()));
    assert_eq!(code, 2);
    assert!(err.contains("nope.ron"), "{err}");
    let (code, _, _) = outcome(&orechain(&["run", "--seed", "abc"], dir.path()));
    assert_eq!(code, 2);
    let (code, _, _) = outcome(&orechain(&["frobnicate"], dir.path()));
    assert_eq!(code, 2);
}

/// `--format parquet` on the default build (no `parquet` feature): exit 2 before any work, with
/// the rebuild command, and no output folder. (With the feature, tests/parquet/check.py reads the
/// copies back with pyarrow; `.ci/run` runs it.)
#[cfg(not(feature = "parquet"))]
#[test]
fn format_parquet_without_the_feature_is_a_usage_error() {
    let dir = tmp();
    for args in [
        &["run", "--format", "parquet", "-o", "out"][..],
        &[
            "run",
            "--format",
            "parquet",
            "--replicates",
            "2",
            "-o",
            "out",
        ][..],
        &[
            "sweep",
            "sweeps/none.ron",
            "--format",
            "parquet",
            "-o",
            "out",
        ][..],
        &["merge", "a", "b", "-o", "out", "--format", "parquet"][..],
    ] {
        let (code, _, err) = outcome(&orechain(args, dir.path()));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("--features parquet"), "{args:?}: {err}");
        assert!(!dir.path().join("out").exists(), "{args:?}");
    }
    let (code, _, err) = outcome(&orechain(&["run", "--format", "xml"], dir.path()));
    assert_eq!(code, 2);
    assert!(err.contains("csv") && err.contains("parquet"), "{err}");
}

#[test]
fn set_can_add_a_key_to_a_map_field() {
    let dir = tmp();
    let s = repo("scenarios/tiny.ron");
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            s.to_str().expect("utf-8"),
            "-o",
            "o",
            "--no-figures",
            "--set",
            "nations.USA.affinity.CHL=0.9",
        ],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    assert!(read(&dir.path().join("o/scenario.ron")).contains("CHL: 0.9"));
}

#[test]
fn generate_writes_a_valid_synthetic_scenario() {
    let dir = tmp();
    let (code, _, err) = outcome(&orechain(
        &[
            "generate",
            "--nations",
            "8",
            "--firms",
            "12",
            "--assets",
            "60",
            "--end-year",
            "2025",
            "-o",
            "syn.ron",
        ],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = outcome(&orechain(&["validate", "syn.ron"], dir.path()));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("8 steps"), "{out}");
    let (code, _, err) = outcome(&orechain(&["generate", "-o", "syn.ron"], dir.path()));
    assert_eq!(code, 2, "an existing file needs --force");
    assert!(err.contains("--force"), "{err}");
}

#[test]
fn seeds_above_i64_max_round_trip() {
    let dir = tmp();
    let s = repo("scenarios/tiny.ron");
    let seed = u64::MAX.to_string();
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            s.to_str().expect("utf-8"),
            "-o",
            "big",
            "--no-figures",
            "--seed",
            &seed,
        ],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = outcome(&orechain(
        &["run", "big/scenario.ron", "-o", "again", "--no-figures"],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        read(&dir.path().join("big/metrics.csv")),
        read(&dir.path().join("again/metrics.csv"))
    );
    assert!(read(&dir.path().join("big/scenario.ron")).contains(&format!("seed: {seed}")));
}
