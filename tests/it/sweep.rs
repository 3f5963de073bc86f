//! `orechain sweep`: byte-identical results across thread counts and kill-and-resume, failures
//! recorded, sweep-file errors located, folders protected.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{bin, orechain, outcome, read, repo, tmp};

/// A sweep file over tiny.ron written into `dir`; `body` holds parameters, design and outcomes.
fn sweep_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let base = repo("scenarios/tiny.ron");
    let text = format!(
        "Sweep(\n    name: \"{name}\",\n    base: \"{}\",\n{body}\n)\n",
        base.display()
    );
    let path = dir.join(format!("{name}.ron"));
    std::fs::write(&path, text).expect("the sweep file can be written");
    path
}

/// 30 points × 4 replicates = 120 runs of 37 years: long enough to kill mid-way.
const LONG_SWEEP: &str = r#"
    sets: ["run.end_year=2060"],
    seed: 99,
    replicates: 4,
    parameters: [
        (path: "assets.atacama.outage.probability_per_step", name: "outage_p", min: 0.0, max: 0.6),
        (path: "assets.atacama.capacity_t_per_yr", name: "capacity", levels: [80000.0, 120000.0]),
    ],
    design: (kind: "latin_hypercube", points: 30),
    outcomes: [
        (name: "chl_prod", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL"),
        (name: "hhi_q", metric: "hhi", mineral: "lithium", stage: "refined", aggregate: "series",
         years: [2030, 2060]),
    ],"#;

fn journal_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("journal.tsv"))
        .map(|t| t.matches('\n').count())
        .unwrap_or(0)
}

#[test]
fn results_are_byte_identical_for_j1_j2_and_after_kill_and_resume() {
    let t = tmp();
    let sweep = sweep_file(t.path(), "long", LONG_SWEEP);
    let sweep = sweep.to_str().expect("utf-8 path");
    let run = |dir: &str, extra: &[&str]| {
        let mut args = vec!["sweep", sweep, "-o", dir];
        args.extend_from_slice(extra);
        let out = orechain(&args, t.path());
        let (code, _, err) = outcome(&out);
        assert_eq!(code, 0, "{err}");
    };
    run("j1", &["-j", "1"]);
    run("j2", &["-j", "2"]);

    // Kill a sweep once a few runs are journaled, then resume it.
    let killed = t.path().join("killed");
    let mut child = Command::new(bin())
        .args(["sweep", sweep, "-o", "killed", "-j", "1"])
        .current_dir(t.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the sweep starts");
    let mut finished = false;
    while journal_lines(&killed) < 5 {
        if child.try_wait().expect("wait").is_some() {
            finished = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    if finished {
        // On a machine fast enough to finish before the first poll, leave what a kill would:
        // five journaled runs and a torn sixth line.
        let journal = read(&killed.join("journal.tsv"));
        let kept: String = journal.split_inclusive('\n').take(5).collect();
        let torn = &journal[kept.len()..kept.len() + 7];
        std::fs::write(killed.join("journal.tsv"), format!("{kept}{torn}")).expect("write");
    } else {
        child.kill().expect("the sweep can be killed");
    }
    child.wait().expect("the sweep is reaped");
    if !finished {
        let done = journal_lines(&killed);
        assert!(
            done < 120,
            "the kill came after the last run ({done} journaled)"
        );
        assert!(!killed.join("results.csv").exists());
    }
    run("killed", &["--resume", "-j", "1"]);
    let report = std::fs::read_to_string(killed.join("manifest.json")).expect("manifest");
    assert!(report.contains("\"complete\": true"), "{report}");

    for file in ["results.csv", "summary.csv", "failures.csv", "design.csv"] {
        let a = std::fs::read(t.path().join("j1").join(file)).expect("j1 output");
        let b = std::fs::read(t.path().join("j2").join(file)).expect("j2 output");
        let c = std::fs::read(killed.join(file)).expect("resumed output");
        assert!(a == b, "{file} differs between -j 1 and -j 2");
        assert!(a == c, "{file} differs after kill and resume");
    }
    // 120 runs × (37 yearly values + 8 quarterly values), in run order.
    let results = read(&t.path().join("j1/results.csv"));
    assert_eq!(results.lines().count(), 1 + 120 * (37 + 8));
    let first_ids: Vec<&str> = results
        .lines()
        .skip(1)
        .step_by(45)
        .take(3)
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    assert_eq!(first_ids, ["0", "1", "2"]);
}

#[test]
fn the_shipped_tiny_grid_writes_every_documented_file() {
    let t = tmp();
    let out = orechain(
        &[
            "sweep",
            repo("scenarios/sweeps/tiny_grid.ron")
                .to_str()
                .expect("utf-8"),
            "-o",
            "grid",
        ],
        t.path(),
    );
    let (code, stdout, err) = outcome(&out);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("24 runs"), "{stdout}");
    let dir = t.path().join("grid");
    let design = read(&dir.join("design.csv"));
    assert_eq!(
        design.lines().next(),
        Some("run_id,point_id,replicate,seed,chl_stability,outage_p")
    );
    assert_eq!(design.lines().count(), 25);
    // Grid: first parameter slowest; the range gives its two ends.
    assert!(design.contains("\n4,1,0,"), "{design}");
    let points = read(&dir.join("points.csv"));
    assert_eq!(
        points.lines().collect::<Vec<_>>(),
        [
            "point_id,chl_stability,outage_p",
            "0,0.3,0.05",
            "1,0.3,0.4",
            "2,0.5,0.05",
            "3,0.5,0.4",
            "4,0.7,0.05",
            "5,0.7,0.4"
        ]
    );
    let summary = read(&dir.join("summary.csv"));
    assert_eq!(
        summary.lines().next(),
        Some("point_id,chl_stability,outage_p,outcome,year,n,mean,sd,p05,p50,p95")
    );
    assert!(summary.contains("\n0,0.3,0.05,chn_refined_share,2026,4,"));
    assert_eq!(read(&dir.join("failures.csv")).lines().count(), 1);
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&dir.join("manifest.json"))).expect("manifest is JSON");
    assert_eq!(manifest["total_runs"], 24);
    assert_eq!(manifest["runs_ok"], 24);
    assert_eq!(manifest["design"], "grid");
    assert_eq!(manifest["complete"], true);
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    for f in [
        "results.csv",
        "summary.csv",
        "design.csv",
        "sweep.ron",
        "scenario.ron",
    ] {
        assert!(files.contains(&f), "{f} missing from {files:?}");
    }
    // The resolved base scenario carries the fixed set and reproduces a run.
    assert!(read(&dir.join("scenario.ron")).contains("end_year: 2030"));
}

#[test]
fn a_failing_design_point_is_recorded_and_the_sweep_finishes_with_exit_1() {
    let t = tmp();
    let sweep = sweep_file(
        t.path(),
        "bad_point",
        r#"
    seed: 1,
    replicates: 2,
    parameters: [
        (path: "nations.CHL.governance.regulatory_stability", name: "stab", levels: [0.5, 1.5]),
    ],
    design: (kind: "grid"),
    outcomes: [(name: "prod", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL")],"#,
    );
    let out = orechain(
        &["sweep", sweep.to_str().expect("utf-8"), "-o", "o"],
        t.path(),
    );
    let (code, _, err) = outcome(&out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("2 of 4 runs failed"), "{err}");
    let failures = read(&t.path().join("o/failures.csv"));
    let rows: Vec<&str> = failures.lines().collect();
    assert_eq!(rows[0], "run_id,point_id,replicate,seed,stab,message");
    assert_eq!(rows.len(), 3);
    assert!(rows[1].starts_with("2,1,0,"), "{failures}");
    assert!(
        rows[1].contains("regulatory_stability: must be between 0 and 1, found 1.5"),
        "{failures}"
    );
    // The good point is complete.
    let summary = read(&t.path().join("o/summary.csv"));
    assert!(summary.lines().skip(1).all(|l| l.starts_with("0,0.5,")));
}

#[test]
fn sweep_file_errors_are_located_and_exit_2() {
    let t = tmp();
    let cases = [
        (
            "typo",
            "    seed: 1,\n    replicats: 2,\n    design: (kind: \"grid\"),\n    outcomes: [],",
            vec!["typo.ron:5:5", "replicats"],
        ),
        (
            "bad_path",
            "    seed: 1,\n    parameters: [(path: \"nations.CHL.governance.stability\", min: 0.1, max: 0.9)],\n    design: (kind: \"random\", points: 3),\n    outcomes: [(name: \"h\", metric: \"hhi\", mineral: \"lithium\", stage: \"ore\")],",
            vec![
                "bad_path.ron:5",
                "parameters.0.path",
                "nations.CHL.governance.regulatory_stability",
            ],
        ),
        (
            "bad_metric",
            "    seed: 1,\n    design: (kind: \"grid\"),\n    outcomes: [(name: \"h\", metric: \"hhhi\", mineral: \"lithium\", stage: \"ore\"), (name: \"h\", metric: \"hhi\", nation: \"CHL\")],",
            vec![
                "no metric `hhhi`; metrics are: hhi",
                "a second outcome is named `h`",
                "no `hhi` series",
                "3 problem",
            ],
        ),
        (
            "bad_morris",
            "    seed: 1,\n    parameters: [(path: \"assets.atacama.capacity_t_per_yr\", min: 5.0, max: 6.0)],\n    design: (kind: \"morris\", trajectories: 0, levels: 3),\n    outcomes: [(name: \"h\", metric: \"hhi\", mineral: \"lithium\", stage: \"ore\")],",
            vec![
                "design.trajectories: must be at least 1",
                "design.levels: must be an even number from 2 to 1000, found 3",
                "2 problem",
            ],
        ),
    ];
    for (name, body, expected) in cases {
        let sweep = sweep_file(t.path(), name, body);
        let out = orechain(&["sweep", sweep.to_str().expect("utf-8")], t.path());
        let (code, _, err) = outcome(&out);
        assert_eq!(code, 2, "{name}: {err}");
        for e in expected {
            assert!(err.contains(e), "{name}: `{e}` not in:\n{err}");
        }
        assert!(!t.path().join("output").exists(), "{name} wrote output");
    }
}

#[test]
fn an_occupied_folder_needs_resume_or_force_and_resume_checks_the_sweep() {
    let t = tmp();
    let body = |seed: u32| {
        format!(
            "    seed: {seed},\n    design: (kind: \"grid\"),\n    replicates: 2,\n    outcomes: [(name: \"h\", metric: \"hhi\", mineral: \"lithium\", stage: \"ore\")],"
        )
    };
    let a = sweep_file(t.path(), "a", &body(1));
    let a = a.to_str().expect("utf-8");
    let (code, _, err) = outcome(&orechain(&["sweep", a, "-o", "o"], t.path()));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = outcome(&orechain(&["sweep", a, "-o", "o"], t.path()));
    assert_eq!(code, 2);
    assert!(err.contains("--resume") && err.contains("--force"), "{err}");
    let (code, stdout, err) = outcome(&orechain(&["sweep", a, "-o", "o", "--resume"], t.path()));
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("0 run now"), "{stdout}");
    let b = sweep_file(t.path(), "b", &body(2));
    let b = b.to_str().expect("utf-8");
    let (code, _, err) = outcome(&orechain(&["sweep", b, "-o", "o", "--resume"], t.path()));
    assert_eq!(code, 2);
    assert!(err.contains("holds a different sweep"), "{err}");
    let (code, _, err) = outcome(&orechain(&["sweep", b, "-o", "o", "--force"], t.path()));
    assert_eq!(code, 0, "{err}");
    // --force never deletes a folder that is not an orechain output.
    std::fs::create_dir(t.path().join("mine")).expect("mkdir");
    std::fs::write(t.path().join("mine/notes.txt"), "keep").expect("write");
    let (code, _, err) = outcome(&orechain(&["sweep", b, "-o", "mine", "--force"], t.path()));
    assert_eq!(code, 2);
    assert!(err.contains("refusing to replace"), "{err}");
    assert!(t.path().join("mine/notes.txt").exists());
}

#[test]
fn a_sobol_sweep_writes_first_and_total_order_indices() {
    let t = tmp();
    let sweep = sweep_file(
        t.path(),
        "sobol",
        r#"
    seed: 3,
    parameters: [
        (path: "assets.atacama.capacity_t_per_yr", name: "cap", min: 50000.0, max: 150000.0),
        (path: "assets.usa_refinery.unit_opex_usd_per_t", name: "opex", min: 2000.0, max: 4000.0),
    ],
    design: (kind: "sobol", base_points: 64),
    outcomes: [(name: "cap", metric: "capacity", mineral: "lithium", stage: "ore", nation: "CHL", years: [2024])],"#,
    );
    let (code, _, err) = outcome(&orechain(
        &["sweep", sweep.to_str().expect("utf-8"), "-o", "s"],
        t.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let points = read(&t.path().join("s/points.csv"));
    assert_eq!(points.lines().count(), 1 + 64 * 4);
    let sens = read(&t.path().join("s/sensitivity.csv"));
    let rows: Vec<Vec<&str>> = sens
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2, "{sens}");
    // CHL's ore capacity is Atacama's capacity, whatever the US refinery's opex: all of its
    // variance is the first parameter's (S = ST = 1), none the second's (exactly 0, since
    // f(AB) = f(A) for it). 64 base rows leave a few per cent of sampling error on the first.
    assert_eq!((rows[0][2], rows[1][2]), ("cap", "opex"));
    let index = |r: usize, c: usize| -> f64 { rows[r][c].parse().expect("number") };
    assert!(
        (index(0, 3) - 1.0).abs() < 0.1 && (index(0, 4) - 1.0).abs() < 0.1,
        "{sens}"
    );
    assert!(index(1, 3) == 0.0 && index(1, 4) == 0.0, "{sens}");
    // Bootstrap intervals (1000 resamples, 95%): for f = cap the first-order terms
    // (f(B) - f0)(f(AB) - f(A)) have sd ≈ 1.34 V, so ±1.96 · 1.34 / sqrt(64) ≈ ±0.33 for `cap`
    // (the bootstrap treats the quasi-random rows as independent, as SALib does, so it
    // overstates the error of a Sobol' sample); exactly zero for `opex` (every resample gives
    // 0); and the indices are resolved.
    assert_eq!(
        sens.lines().next(),
        Some(
            "outcome,year,parameter,first_order,total_order,first_order_conf,total_order_conf,warning"
        )
    );
    assert!(index(0, 5) > 0.15 && index(0, 5) < 0.5, "{sens}");
    assert!(index(0, 6) > 0.1 && index(0, 6) < 0.5, "{sens}");
    assert!(index(1, 5) == 0.0 && index(1, 6) == 0.0, "{sens}");
    assert_eq!((rows[0][7], rows[1][7]), ("", ""), "{sens}");
}

#[test]
fn noisy_sobol_indices_are_flagged_in_the_file_and_on_stderr() {
    // An outcome that no parameter moves but the seed does: with independent seeds the Sobol'
    // indices are seed noise and must be flagged; with common random numbers (one replicate,
    // the same seed at every point) the outcome is constant and has no indices at all.
    let t = tmp();
    let body = |seeds: &str| {
        format!(
            r#"
    seed: 5,
    seeds: {seeds},
    sets: ["run.end_year=2030", "assets.atacama.outage.probability_per_step=0.3"],
    parameters: [
        // Inert by rounding to whole steps (an asset's opex is not: it sets its owner's capital
        // budget, docs/ODD.md §7.3).
        (path: "investment.retry_years", name: "opex", min: 2.0, max: 2.0001),
        (path: "nations.CHL.governance.regulatory_stability", name: "stab", min: 0.5, max: 0.5001),
    ],
    design: (kind: "sobol", base_points: 32, resamples: 200),
    outcomes: [(name: "prod", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL", years: [2030])],"#
        )
    };
    let run = |name: &str, seeds: &str| {
        let sweep = sweep_file(t.path(), name, &body(seeds));
        let out = orechain(
            &["sweep", sweep.to_str().expect("utf-8"), "-o", name],
            t.path(),
        );
        let (code, _, err) = outcome(&out);
        assert_eq!(code, 0, "{err}");
        (read(&t.path().join(name).join("sensitivity.csv")), err)
    };
    let (sens, err) = run("independent", "independent");
    assert!(sens.lines().count() == 3, "{sens}");
    assert!(
        sens.lines()
            .skip(1)
            .all(|l| l.contains("interaction_or_noise")),
        "{sens}"
    );
    assert!(
        err.contains("warning: the Sobol' indices of 1 of 1 outcome-years"),
        "{err}"
    );
    let (sens, err) = run("common", "common");
    assert_eq!(sens.lines().count(), 1, "{sens}");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn shards_merge_into_the_single_machine_results_and_bad_sets_are_refused() {
    let t = tmp();
    let grid = repo("scenarios/sweeps/tiny_grid.ron");
    let grid = grid.to_str().expect("utf-8");
    let ok = |args: &[&str]| {
        let (code, stdout, err) = outcome(&orechain(args, t.path()));
        assert_eq!(code, 0, "{args:?}: {err}");
        stdout
    };
    ok(&["sweep", grid, "-o", "one", "-j", "2"]);
    ok(&["sweep", grid, "--shard", "0/3", "-o", "s0"]);
    ok(&["sweep", grid, "--shard", "2/3", "-o", "s2"]);
    // K and N from a Slurm job array's environment.
    let out = Command::new(bin())
        .args(["sweep", grid, "--shard", "-o", "s1"])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .current_dir(t.path())
        .output()
        .expect("runs");
    let (code, stdout, err) = outcome(&out);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("shard 1/3: 8 runs"), "{stdout}");

    let stdout = ok(&["merge", "s2", "s0", "s1", "-o", "merged"]);
    assert!(stdout.contains("merged 3 shard(s): 24 runs"), "{stdout}");
    for file in ["results.csv", "summary.csv", "failures.csv", "design.csv"] {
        let a = std::fs::read(t.path().join("one").join(file)).expect("single-machine output");
        let b = std::fs::read(t.path().join("merged").join(file)).expect("merged output");
        assert!(
            a == b,
            "{file} differs between one machine and merged shards"
        );
    }
    // The figures too (issue 7): same names, same bytes.
    let figures = |dir: &str| -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(t.path().join(dir).join("figures"))
            .expect("figures folder")
            .map(|e| {
                let p = e.expect("dir entry").path();
                let name = p.file_name().expect("name").to_string_lossy().into_owned();
                (name, std::fs::read(&p).expect("readable"))
            })
            .collect();
        out.sort();
        out
    };
    let (one, merged) = (figures("one"), figures("merged"));
    assert!(one.iter().any(|(n, _)| n == "fan_chn_refined_share.svg"));
    assert_eq!(
        one.iter().map(|f| &f.0).collect::<Vec<_>>(),
        merged.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, a), (_, b)) in one.iter().zip(&merged) {
        assert!(
            a == b,
            "figure {name} differs between one machine and merged shards"
        );
    }
    // A shard has no figures, and plotting one says what to do instead.
    assert!(!t.path().join("s0/figures").exists());
    let (code, _, err) = outcome(&orechain(&["plot", "s0"], t.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("merge the shards"), "{err}");

    let refused = |args: &[&str], needle: &str| {
        let (code, _, err) = outcome(&orechain(args, t.path()));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: `{needle}` not in {err}");
    };
    refused(
        &["merge", "s0", "s1", "-o", "m1"],
        "missing shard(s) 2 of 3 of sweep `tiny_grid`",
    );
    refused(
        &["merge", "s0", "s1", "s1", "s2", "-o", "m2"],
        "given twice",
    );
    // A shard of another sweep (another seed) does not mix in.
    let other = std::fs::read_to_string(repo("scenarios/sweeps/tiny_grid.ron"))
        .expect("read")
        .replace("seed: 2024", "seed: 2025")
        .replace(
            "\"../tiny.ron\"",
            &format!("{:?}", repo("scenarios/tiny.ron")),
        );
    std::fs::write(t.path().join("other.ron"), other).expect("write");
    ok(&["sweep", "other.ron", "--shard", "2/3", "-o", "x2"]);
    refused(
        &["merge", "s0", "s1", "x2", "-o", "m3"],
        "the shards come from different sweeps",
    );
    refused(&["merge", "one", "-o", "m4"], "not a shard folder");
    refused(
        &["sweep", grid, "--shard", "3/3", "-o", "bad"],
        "numbered 0 to N-1",
    );
    for m in ["m1", "m2", "m3", "m4"] {
        assert!(!t.path().join(m).exists(), "{m} was written");
    }
}

#[test]
fn the_slurm_script_submits_an_array_and_a_dependent_merge() {
    let t = tmp();
    let grid = repo("scenarios/sweeps/tiny_grid.ron");
    let out = orechain(
        &[
            "sweep",
            grid.to_str().expect("utf-8"),
            "--slurm-script",
            "--tasks",
            "8",
            "-j",
            "4",
            "-o",
            "cluster",
        ],
        t.path(),
    );
    let (code, script, err) = outcome(&out);
    assert_eq!(code, 0, "{err}");
    for needle in [
        "#!/bin/bash",
        "#SBATCH --array=0-7",
        "#SBATCH --cpus-per-task=4",
        "--shard -j",
        "--resume",
        "--dependency=afterok:$array_job",
        "merge \"$SHARDS\"/shard-* -o \"$OUT\"",
    ] {
        assert!(script.contains(needle), "`{needle}` not in:\n{script}");
    }
    let cluster = t.path().join("cluster");
    assert!(
        script.contains(&format!("OUT='{}'", cluster.display())),
        "{script}"
    );
    assert!(!cluster.exists(), "--slurm-script only prints");
}

#[test]
fn the_salib_problem_gives_the_bounds_of_what_salib_would_draw() {
    // SALib samples each parameter uniformly within its bounds: for levels that is the level
    // index in [0, count) (value = levels[floor(x)]), for an integer range [min, max + 1)
    // (value = floor(x)); before issue 17 both were written as [0, 1] or [min, max].
    let t = tmp();
    let sweep = sweep_file(
        t.path(),
        "bounds",
        r#"
    seed: 1,
    sets: ["run.end_year=2025"],
    parameters: [
        (path: "assets.atacama.capacity_t_per_yr", name: "cap", min: 50000.0, max: 150000.0),
        (path: "assets.atacama.outage.duration_steps", name: "steps", min: 1.0, max: 4.0, integer: true),
        (path: "assets.atacama.outage.probability_per_step", name: "p", levels: [0.0, 0.2, 0.4]),
    ],
    design: (kind: "sobol", base_points: 2),
    outcomes: [(name: "h", metric: "hhi", mineral: "lithium", stage: "ore")],"#,
    );
    let (code, _, err) = outcome(&orechain(
        &[
            "sweep",
            sweep.to_str().expect("utf-8"),
            "-o",
            "s",
            "--no-figures",
        ],
        t.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let problem: serde_json::Value =
        serde_json::from_str(&read(&t.path().join("s/salib_problem.json"))).expect("json");
    assert_eq!(
        problem["bounds"],
        serde_json::json!([[50000.0, 150000.0], [1.0, 5.0], [0.0, 3.0]])
    );
    assert_eq!(
        problem["orechain_parameters"][2]["levels"],
        serde_json::json!([0.0, 0.2, 0.4])
    );
    // Every level value in points.csv is one of the levels: the index maps back.
    let points = read(&t.path().join("s/points.csv"));
    for line in points.lines().skip(1) {
        let p = line.rsplit(',').next().expect("cell");
        assert!(["0", "0.2", "0.4"].contains(&p), "{line}");
    }
}

#[test]
fn a_levers_design_attributes_a_known_effect_to_its_lever() {
    // Two levers on tiny.ron: `cap` raises Atacama's capacity from 100,000 to 130,000 t/yr,
    // `opex` changes the US refinery's cost, which does not move CHL's ore capacity. With common
    // random numbers every replicate sees exactly +30,000 from `cap`: main effect, effect alone
    // and Shapley value 30,000 with sd 0; `opex` and the interaction 0; Shapley values sum to
    // the bundle.
    let t = tmp();
    let sweep = sweep_file(
        t.path(),
        "levers",
        r#"
    seed: 8,
    sets: ["run.end_year=2026"],
    replicates: 3,
    design: (kind: "levers", levers: [
        (name: "cap", sets: ["assets.atacama.capacity_t_per_yr=130000.0"]),
        (name: "opex", sets: ["assets.usa_refinery.unit_opex_usd_per_t=2500.0"]),
    ]),
    outcomes: [
        (name: "cap", metric: "capacity", mineral: "lithium", stage: "ore", nation: "CHL", aggregate: "last", years: [2026]),
        (name: "prod", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL", years: [2026]),
    ],"#,
    );
    let (code, _, err) = outcome(&orechain(
        &[
            "sweep",
            sweep.to_str().expect("utf-8"),
            "-o",
            "s",
            "--no-figures",
        ],
        t.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let design = read(&t.path().join("s/design.csv"));
    assert_eq!(design.lines().count(), 1 + 4 * 3, "{design}");
    // Common random numbers: replicate r has the same seed at every point.
    let seeds: Vec<Vec<&str>> = (0..3)
        .map(|r| {
            design
                .lines()
                .skip(1)
                .filter(|l| l.split(',').nth(2) == Some(&r.to_string()))
                .map(|l| l.split(',').nth(3).expect("seed"))
                .collect()
        })
        .collect();
    for s in &seeds {
        assert!(s.len() == 4 && s.iter().all(|x| *x == s[0]), "{design}");
    }
    assert_ne!(seeds[0][0], seeds[1][0]);
    let text = read(&t.path().join("s/attribution.csv"));
    assert_eq!(
        text.lines().next(),
        Some("outcome,year,term,levers,n,mean,sd,ci_low,ci_high")
    );
    let row = |term: &str, levers: &str| -> Vec<f64> {
        let prefix = format!("cap,2026,{term},{levers},");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {text}"));
        line[prefix.len()..]
            .split(',')
            .map(|c| c.parse().expect("number"))
            .collect()
    };
    for (term, levers, want) in [
        ("bundle", "", 30000.0),
        ("main", "cap", 30000.0),
        ("alone", "cap", 30000.0),
        ("shapley", "cap", 30000.0),
        ("main", "opex", 0.0),
        ("shapley", "opex", 0.0),
        ("interaction", "cap:opex", 0.0),
    ] {
        let r = row(term, levers);
        assert_eq!(r, vec![3.0, want, 0.0, want, want], "{term} {levers}");
    }
    // Efficiency holds for the stochastic outcome too, replicate by replicate and so on average.
    let prod = |term: &str, levers: &str| -> f64 {
        let prefix = format!("prod,2026,{term},{levers},");
        let line = text.lines().find(|l| l.starts_with(&prefix)).expect("row");
        line[prefix.len()..]
            .split(',')
            .nth(1)
            .expect("mean")
            .parse()
            .expect("number")
    };
    let sum = prod("shapley", "cap") + prod("shapley", "opex");
    assert!((sum - prod("bundle", "")).abs() < 1e-6 * prod("bundle", "").abs().max(1.0));
}

#[test]
fn a_morris_sweep_writes_elementary_effects() {
    let t = tmp();
    let sweep = sweep_file(
        t.path(),
        "morris",
        r#"
    seed: 5,
    replicates: 2,
    parameters: [
        (path: "assets.atacama.capacity_t_per_yr", name: "cap", min: 50000.0, max: 150000.0),
        (path: "assets.usa_refinery.unit_opex_usd_per_t", name: "opex", min: 2000.0, max: 4000.0),
    ],
    design: (kind: "morris", trajectories: 5, levels: 4, resamples: 50),
    outcomes: [(name: "cap", metric: "capacity", mineral: "lithium", stage: "ore", nation: "CHL", years: [2024])],"#,
    );
    let (code, _, err) = outcome(&orechain(
        &["sweep", sweep.to_str().expect("utf-8"), "-o", "m"],
        t.path(),
    ));
    assert_eq!(code, 0, "{err}");
    // r (k + 1) = 5 × 3 design points.
    let points = read(&t.path().join("m/points.csv"));
    assert_eq!(points.lines().count(), 1 + 5 * 3, "{points}");
    let morris = read(&t.path().join("m/morris.csv"));
    let rows: Vec<Vec<&str>> = morris
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        morris.lines().next(),
        Some("outcome,year,parameter,mu,mu_star,sigma,mu_star_conf")
    );
    assert_eq!(rows.len(), 2, "{morris}");
    assert_eq!((rows[0][2], rows[1][2]), ("cap", "opex"));
    let v = |r: usize, c: usize| -> f64 { rows[r][c].parse().expect("number") };
    // CHL's ore capacity is Atacama's capacity: every elementary effect of `cap` is its range
    // (100,000 t/yr), so μ = μ* = 100,000 and σ = 0 (interval 0); `opex` has no effect at all.
    assert!(
        (v(0, 3) - 1e5).abs() < 1e-6 && (v(0, 4) - 1e5).abs() < 1e-6,
        "{morris}"
    );
    assert!(v(0, 5).abs() < 1e-6 && v(0, 6).abs() < 1e-6, "{morris}");
    assert!(
        v(1, 3) == 0.0 && v(1, 4) == 0.0 && v(1, 5) == 0.0,
        "{morris}"
    );
}
