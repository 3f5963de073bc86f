//! Output safety of `orechain run` (issue 10): an unusable output folder is a clear error (exit 2)
//! before any work, and a failed run never touches earlier results nor leaves staging folders.

use std::path::Path;

use crate::common::*;

/// Every file of a folder with its bytes, sorted by name.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("folder is readable")
        .map(|e| {
            let e = e.expect("entry is readable");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("file is readable"),
            )
        })
        .collect();
    v.sort();
    v
}

fn hidden_entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("folder is readable")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn issue10_output_under_a_regular_file_is_a_clear_error() {
    let dir = tmp();
    std::fs::write(dir.path().join("notes.txt"), "my notes").expect("write");
    let tiny = repo("scenarios/tiny.ron");
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            tiny.to_str().expect("utf-8"),
            "--no-figures",
            "-o",
            "notes.txt/out",
        ],
        dir.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot use the output folder `notes.txt/out`"),
        "{err}"
    );
    assert!(err.contains("Not a directory"), "{err}");
    assert_eq!(read(&dir.path().join("notes.txt")), "my notes");
    assert_eq!(
        snapshot(dir.path()).len(),
        1,
        "nothing but notes.txt may exist"
    );
}

#[test]
fn issue10_a_refused_forced_run_leaves_earlier_results_intact() {
    let dir = tmp();
    let tiny = repo("scenarios/tiny.ron");
    let t = tiny.to_str().expect("utf-8");
    let (code, _, err) = outcome(&orechain(
        &["run", t, "--no-figures", "-o", "results"],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let before = snapshot(&dir.path().join("results"));
    assert!(before.len() >= 6);

    // A bad scenario, a bad --set and a bad seed all fail before the folder is touched, --force or not.
    let bad = repo("tests/data/malformed/negative_capacity.ron");
    for args in [
        vec![
            "run",
            bad.to_str().expect("utf-8"),
            "--no-figures",
            "-o",
            "results",
            "--force",
        ],
        vec![
            "run",
            t,
            "--no-figures",
            "-o",
            "results",
            "--force",
            "--set",
            "run.steps_per_year=0",
        ],
        vec!["run", t, "--no-figures", "-o", "results", "--seed", "5"],
    ] {
        let (code, _, err) = outcome(&orechain(&args, dir.path()));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(
            snapshot(&dir.path().join("results")),
            before,
            "{args:?} changed the earlier results"
        );
        assert!(hidden_entries(dir.path()).is_empty(), "staging folder left");
    }
}

#[test]
fn issue10_output_that_is_an_existing_file_is_not_overwritten_without_force() {
    let dir = tmp();
    std::fs::write(dir.path().join("out"), "precious").expect("write");
    let tiny = repo("scenarios/tiny.ron");
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            tiny.to_str().expect("utf-8"),
            "--no-figures",
            "-o",
            "out",
        ],
        dir.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(read(&dir.path().join("out")), "precious");
    assert!(hidden_entries(dir.path()).is_empty(), "staging folder left");
}
