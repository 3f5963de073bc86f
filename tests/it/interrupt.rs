//! Ctrl-C (issue 10): a sweep stops gracefully, saves its journal and resumes to identical results;
//! an interrupted `run` leaves no hidden staging folder. SIGINT is sent with `kill -INT`.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{bin, orechain, outcome, read, repo, signal, tmp, wait_until};

/// 30 points × 4 replicates = 120 runs of 37 years over tiny.ron: long enough to interrupt.
fn long_sweep(dir: &Path) -> String {
    let text = format!(
        r#"Sweep(
    name: "long",
    base: "{}",
    sets: ["run.end_year=2060"],
    seed: 7,
    replicates: 4,
    parameters: [
        (path: "assets.atacama.outage.probability_per_step", name: "outage_p", min: 0.0, max: 0.6),
    ],
    design: (kind: "latin_hypercube", points: 30),
    outcomes: [
        (name: "chl_prod", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL"),
    ],
)
"#,
        repo("scenarios/tiny.ron").display()
    );
    let path = dir.join("long.ron");
    std::fs::write(&path, text).expect("the sweep file can be written");
    path.to_str().expect("utf-8 path").to_string()
}

#[test]
fn sigint_stops_a_sweep_with_its_journal_saved_and_resume_gives_identical_results() {
    let t = tmp();
    let sweep = long_sweep(t.path());
    let dir = t.path().join("stopped");
    let journal = dir.join("journal.tsv");
    let mut child = Command::new(bin())
        .args(["sweep", &sweep, "-o", "stopped", "-j", "1", "--no-figures"])
        .current_dir(t.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sweep starts");
    wait_until(&mut child, "three runs were journaled", || {
        std::fs::read_to_string(&journal).is_ok_and(|j| j.matches('\n').count() >= 3)
    });
    signal(&child, "INT");
    let out = child.wait_with_output().expect("the sweep is reaped");
    let (code, _, err) = outcome(&out);
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(err.contains("--resume"), "{err}");

    // The journal holds whole lines only, fewer than all runs; the manifest says incomplete.
    let text = read(&journal);
    assert!(text.ends_with('\n'), "a torn journal line: {text:?}");
    let saved = text.lines().count();
    assert!((3..120).contains(&saved), "{saved} runs journaled");
    let manifest = read(&dir.join("manifest.json"));
    assert!(manifest.contains("\"complete\": false"), "{manifest}");
    assert!(!dir.join("results.csv").exists());

    let resumed = orechain(
        &["sweep", &sweep, "-o", "stopped", "--resume", "--no-figures"],
        t.path(),
    );
    let (code, _, err) = outcome(&resumed);
    assert_eq!(code, 0, "{err}");
    let whole = orechain(&["sweep", &sweep, "-o", "whole", "--no-figures"], t.path());
    let (code, _, err) = outcome(&whole);
    assert_eq!(code, 0, "{err}");
    for file in ["results.csv", "summary.csv", "failures.csv"] {
        let a = std::fs::read(t.path().join("whole").join(file)).expect("uninterrupted output");
        let b = std::fs::read(dir.join(file)).expect("resumed output");
        assert!(a == b, "{file} differs after Ctrl-C and --resume");
    }
    assert!(read(&dir.join("manifest.json")).contains("\"complete\": true"));
}

#[test]
fn sigint_during_a_run_removes_its_staging_folder() {
    let t = tmp();
    // The built-in baseline to 2060: seconds in a debug build.
    let mut child = Command::new(bin())
        .args([
            "run",
            "--no-figures",
            "--set",
            "run.end_year=2060",
            "-o",
            "out/r",
        ])
        .current_dir(t.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the run starts");
    let parent = t.path().join("out");
    let staging = || -> Vec<String> {
        std::fs::read_dir(&parent)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(".r.partial-"))
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_until(&mut child, "the staging folder existed", || {
        !staging().is_empty()
    });
    signal(&child, "INT");
    let out = child.wait_with_output().expect("the run is reaped");
    let (code, _, err) = outcome(&out);
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(staging(), Vec::<String>::new(), "a staging folder is left");
    assert!(
        !parent.join("r").exists(),
        "an interrupted run left an output folder"
    );
}
