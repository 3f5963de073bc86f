//! Issue 18, integrity: hostile inputs and actions on sweep folders, shards, journals and run
//! folders. Each test is named after the issue item it shows (4 merge bounds, 5 the folder lock,
//! 6 silent corruption, 7 streaming and caps, 8 `extends`, 9 plot years, 10 FIFOs).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin, orechain, outcome, read, repo, tmp};

/// A small sweep over tiny.ron: 3 points × 2 replicates = 6 runs.
fn small_sweep(dir: &Path) -> PathBuf {
    let text = format!(
        r#"Sweep(
    name: "small",
    base: "{}",
    seed: 5,
    replicates: 2,
    parameters: [
        (path: "assets.atacama.capacity_t_per_yr", name: "capacity", levels: [80000.0, 100000.0, 120000.0]),
    ],
    design: (kind: "grid"),
    outcomes: [
        (name: "chl_prod", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL"),
    ],
)
"#,
        repo("scenarios/tiny.ron").display()
    );
    let path = dir.join("small.ron");
    std::fs::write(&path, text).expect("write the sweep file");
    path
}

/// Run the binary in `cwd`, expecting `code`; returns stderr.
fn expect(args: &[&str], cwd: &Path, code: i32) -> String {
    let out = orechain(args, cwd);
    let (got, stdout, stderr) = outcome(&out);
    assert_eq!(
        got, code,
        "orechain {args:?}: expected exit {code}\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "a panic is never an answer: {stderr}"
    );
    assert!(stderr.len() < 2_000, "the message is bounded: {stderr}");
    stderr
}

/// A finished sweep of `small.ron` in `t/name`.
fn finished_sweep(t: &Path, name: &str) -> PathBuf {
    let sweep = small_sweep(t);
    expect(
        &[
            "sweep",
            sweep.to_str().expect("utf-8"),
            "-o",
            name,
            "--no-figures",
        ],
        t,
        0,
    );
    t.join(name)
}

/// Two finished shards of `small.ron`: `t/s0` and `t/s1`.
fn two_shards(t: &Path) -> (PathBuf, PathBuf) {
    let sweep = small_sweep(t);
    for (i, name) in [(0, "s0"), (1, "s1")] {
        expect(
            &[
                "sweep",
                sweep.to_str().expect("utf-8"),
                "--shard",
                &format!("{i}/2"),
                "-o",
                name,
            ],
            t,
            0,
        );
    }
    (t.join("s0"), t.join("s1"))
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_str(&read(&path)).expect("manifest JSON");
    edit(&mut m);
    std::fs::write(&path, serde_json::to_string_pretty(&m).expect("json")).expect("write");
}

/// Every file of a folder with its bytes (to show a folder was not touched).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        // The lock file records the PID of whoever last held the lock; everything else counts.
        .filter(|p| p.is_file() && !p.ends_with(".orechain-sweep.lock"))
        .map(|p| {
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                std::fs::read(&p).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

fn merge(t: &Path, dirs: &[&Path], out: &str, code: i32) -> String {
    let mut args = vec!["merge"];
    args.extend(dirs.iter().map(|d| d.to_str().expect("utf-8")));
    args.extend(["-o", out]);
    expect(&args, t, code)
}

// ---- 4. merge never panics on numbers a manifest states ----

#[test]
fn issue18_merge_refuses_a_shard_index_out_of_range() {
    let t = tmp();
    let (s0, s1) = two_shards(t.path());
    edit_manifest(&s1, |m| m["shard"]["index"] = 7.into());
    let err = merge(t.path(), &[&s0, &s1], "merged", 2);
    assert!(err.contains("says shard 7 of 2"), "{err}");
    assert!(!t.path().join("merged").exists());
}

#[test]
fn issue18_merge_refuses_total_runs_1e18_and_count_1e18() {
    let t = tmp();
    let (s0, s1) = two_shards(t.path());
    edit_manifest(&s0, |m| {
        m["total_runs"] = 1_000_000_000_000_000_000u64.into()
    });
    let err = merge(t.path(), &[&s0, &s1], "merged", 2);
    assert!(err.contains("1000000000000000000 runs"), "{err}");
    assert!(err.contains("at most"), "{err}");

    let (s0, s1) = {
        let t2 = t.path().join("again");
        std::fs::create_dir(&t2).expect("mkdir");
        two_shards(&t2)
    };
    for dir in [&s0, &s1] {
        edit_manifest(dir, |m| {
            m["shard"]["count"] = 1_000_000_000_000_000_000u64.into()
        });
    }
    let err = merge(t.path(), &[&s0, &s1], "merged", 2);
    // The missing shards are counted, never listed one by one (nor allocated).
    assert!(
        err.contains("missing shard(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 999999999999999988 more"),
        "{err}"
    );
}

// ---- 5. one process at a time in a sweep folder ----

/// Hold the folder's lock as another process would, with our PID in it.
fn hold_lock(dir: &Path) -> std::fs::File {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join(".orechain-sweep.lock"))
        .expect("open the lock file");
    f.try_lock().expect("the lock is free");
    writeln!(f, "{}", std::process::id()).expect("write the PID");
    f
}

#[test]
fn issue18_a_second_resume_is_refused_naming_the_lock_holder() {
    let t = tmp();
    let dir = finished_sweep(t.path(), "out");
    let sweep = t.path().join("small.ron");
    let before = snapshot(&dir);
    let held = hold_lock(&dir);
    let err = expect(
        &[
            "sweep",
            sweep.to_str().expect("utf-8"),
            "-o",
            "out",
            "--resume",
        ],
        t.path(),
        2,
    );
    assert!(
        err.contains(&format!(
            "in use by another orechain process (PID {})",
            std::process::id()
        )),
        "{err}"
    );
    // --force does not replace a folder in use either.
    let err = expect(
        &[
            "sweep",
            sweep.to_str().expect("utf-8"),
            "-o",
            "out",
            "--force",
        ],
        t.path(),
        2,
    );
    assert!(err.contains("in use"), "{err}");
    assert_eq!(snapshot(&dir), before, "a refused resume changes nothing");
    // Released (the holder ended): the folder is resumable again.
    drop(held);
    expect(
        &[
            "sweep",
            sweep.to_str().expect("utf-8"),
            "-o",
            "out",
            "--resume",
        ],
        t.path(),
        0,
    );
}

#[test]
fn issue18_two_real_resumes_at_once_the_second_is_refused_and_the_folder_stays_resumable() {
    let t = tmp();
    // Long runs so that the first sweep is still running when the second starts.
    let text = format!(
        r#"Sweep(name: "slow", base: "{}", sets: ["run.end_year=2100"], seed: 1, replicates: 200,
    design: (kind: "grid"),
    outcomes: [(name: "p", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL")])
"#,
        repo("scenarios/tiny.ron").display()
    );
    std::fs::write(t.path().join("slow.ron"), text).expect("write");
    let mut first = Command::new(bin())
        .args(["sweep", "slow.ron", "-o", "out", "-j", "1", "--no-figures"])
        .current_dir(t.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let pid = first.id();
    let lock = t.path().join("out/.orechain-sweep.lock");
    let start = Instant::now();
    while !read_or_empty(&lock).contains(&pid.to_string()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the sweep never locked"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = orechain(&["sweep", "slow.ron", "-o", "out", "--resume"], t.path());
    let (code, _, err) = outcome(&second);
    assert!(
        first.try_wait().expect("wait").is_none(),
        "the first sweep (200 runs of 77 years on one thread) is still running"
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("in use by another orechain process (PID {pid})")),
        "{err}"
    );
    assert!(
        first.wait().expect("wait").success(),
        "the first sweep finishes"
    );
    // Its process gone, the lock file is stale and is taken over.
    expect(&["sweep", "slow.ron", "-o", "out", "--resume"], t.path(), 0);
}

fn read_or_empty(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn issue18_a_stale_lock_of_a_dead_process_is_taken_over() {
    let t = tmp();
    let dir = finished_sweep(t.path(), "out");
    std::fs::write(dir.join(".orechain-sweep.lock"), "4194303\n").expect("stale lock");
    let sweep = t.path().join("small.ron");
    expect(
        &[
            "sweep",
            sweep.to_str().expect("utf-8"),
            "-o",
            "out",
            "--resume",
        ],
        t.path(),
        0,
    );
}

// ---- 6. no silent corruption ----

#[test]
fn issue18_resume_refuses_a_truncated_or_edited_design() {
    let t = tmp();
    let dir = finished_sweep(t.path(), "out");
    let sweep = t.path().join("small.ron");
    let design = read(&dir.join("design.csv"));
    let truncated: String = design.split_inclusive('\n').take(3).collect();
    std::fs::write(dir.join("design.csv"), truncated).expect("truncate");
    let results = std::fs::read(dir.join("results.csv")).expect("results");
    let err = expect(
        &[
            "sweep",
            sweep.to_str().expect("utf-8"),
            "-o",
            "out",
            "--resume",
        ],
        t.path(),
        2,
    );
    assert!(
        err.contains("design.csv` was changed since the sweep started"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.join("results.csv")).expect("results"),
        results
    );
    // An edited value (same row count) is caught the same way.
    std::fs::write(dir.join("design.csv"), design.replacen("80000", "80001", 1)).expect("edit");
    let err = expect(
        &[
            "sweep",
            sweep.to_str().expect("utf-8"),
            "-o",
            "out",
            "--resume",
        ],
        t.path(),
        2,
    );
    assert!(err.contains("was changed"), "{err}");
}

#[test]
fn issue18_resume_rejects_journal_lines_with_nan_empty_values_or_broken_quoting() {
    let t = tmp();
    let dir = finished_sweep(t.path(), "out");
    let sweep = t.path().join("small.ron");
    let journal = read(&dir.join("journal.tsv"));
    let first = journal.lines().next().expect("a line").to_string();
    let (head, last_value) = first.rsplit_once('|').expect("a value");
    assert!(last_value.parse::<f64>().is_ok());
    for bad in ["NaN", "", "1\"2", "inf", "1,2", "\"x"] {
        let damaged = journal.replacen(&first, &format!("{head}|{bad}"), 1);
        std::fs::write(dir.join("journal.tsv"), &damaged).expect("write");
        std::fs::remove_file(dir.join("results.csv")).expect("remove results");
        let err = expect(
            &[
                "sweep",
                sweep.to_str().expect("utf-8"),
                "-o",
                "out",
                "--resume",
            ],
            t.path(),
            2,
        );
        assert!(err.contains("line 1 is damaged"), "{bad:?}: {err}");
        assert!(!err.contains(head), "the line is not echoed: {err}");
        assert!(
            !dir.join("results.csv").exists(),
            "{bad:?}: never copied into results"
        );
        std::fs::write(dir.join("results.csv"), "").expect("placeholder");
    }
}

#[test]
fn issue18_merge_verifies_shard_hashes_and_never_writes_its_inputs() {
    let t = tmp();
    let (s0, s1) = two_shards(t.path());

    // An edited value in a shard's journal: the SHA-256 its manifest records no longer matches.
    let journal = read(&s1.join("journal.tsv"));
    let (head, _) = journal
        .lines()
        .next()
        .expect("line")
        .rsplit_once('|')
        .expect("value");
    let edited = journal.replacen(
        journal.lines().next().expect("line"),
        &format!("{head}|1"),
        1,
    );
    std::fs::write(s1.join("journal.tsv"), &edited).expect("edit");
    let s0_before = snapshot(&s0);
    let err = merge(t.path(), &[&s0, &s1], "merged", 2);
    assert!(
        err.contains("journal.tsv` is not the file its shard wrote"),
        "{err}"
    );

    // A torn line appended to an input journal: refused, and the input is not cut.
    std::fs::write(s1.join("journal.tsv"), &journal).expect("restore");
    let torn = format!("{journal}5\tok\t0|20");
    std::fs::write(s1.join("journal.tsv"), &torn).expect("torn");
    let err = merge(t.path(), &[&s0, &s1], "merged", 2);
    assert!(err.contains("journal.tsv"), "{err}");
    assert_eq!(
        read(&s1.join("journal.tsv")),
        torn,
        "merge never cuts an input"
    );
    std::fs::write(s1.join("journal.tsv"), &journal).expect("restore");

    // A different design.csv with its manifest updated to match: the design hash catches it.
    let design = read(&s1.join("design.csv"));
    let other = design.replacen("80000", "80001", 1);
    std::fs::write(s1.join("design.csv"), &other).expect("edit design");
    let sha = sha256_hex(other.as_bytes());
    edit_manifest(&s1, |m| {
        for f in m["files"].as_array_mut().expect("files") {
            if f["path"] == "design.csv" {
                f["sha256"] = sha.clone().into();
            }
        }
    });
    let err = merge(t.path(), &[&s0, &s1], "merged", 2);
    assert!(err.contains("design hash"), "{err}");
    std::fs::write(s1.join("design.csv"), &design).expect("restore");
    assert_eq!(s0_before, snapshot(&s0), "merge never writes its inputs");

    // Restored manifests merge fine, and the inputs are untouched.
    let s1_clean = {
        let t2 = t.path().join("again");
        std::fs::create_dir(&t2).expect("mkdir");
        two_shards(&t2)
    };
    let inputs = (snapshot(&s1_clean.0), snapshot(&s1_clean.1));
    merge(t.path(), &[&s1_clean.0, &s1_clean.1], "merged", 0);
    assert_eq!(inputs, (snapshot(&s1_clean.0), snapshot(&s1_clean.1)));
}

fn sha256_hex(bytes: &[u8]) -> String {
    orechain::output::manifest::sha256_hex(bytes)
}

#[test]
fn issue18_plot_refuses_an_unfinished_sweep() {
    let t = tmp();
    let dir = finished_sweep(t.path(), "out");
    edit_manifest(&dir, |m| m["complete"] = false.into());
    let err = expect(&["plot", "out"], t.path(), 2);
    assert!(err.contains("unfinished sweep"), "{err}");
    // Without results.csv (killed before its tables) it is still recognised as a sweep.
    std::fs::remove_file(dir.join("results.csv")).expect("remove");
    let err = expect(&["plot", "out"], t.path(), 2);
    assert!(err.contains("unfinished sweep"), "{err}");
}

// ---- 7. streaming and caps ----

#[test]
fn issue18_streamed_tables_are_the_in_memory_tables_byte_for_byte() {
    let t = tmp();
    let path = repo("scenarios/tiny.ron");
    let sets = ["run.end_year=2040".to_string()];
    expect(
        &[
            "run",
            path.to_str().expect("utf-8"),
            "--set",
            &sets[0],
            "-o",
            "run",
        ],
        t.path(),
        0,
    );
    let loaded = orechain::scenario::load_file(&path, &sets).expect("loads");
    let result = orechain::sim::run(loaded.scenario.resolved());
    use orechain::output::tables::{events_csv, flows_csv, metrics_csv};
    assert_eq!(
        read(&t.path().join("run/metrics.csv")),
        metrics_csv(&result).expect("finite")
    );
    assert_eq!(
        read(&t.path().join("run/flows.csv")),
        flows_csv(&result).expect("finite")
    );
    assert_eq!(read(&t.path().join("run/events.csv")), events_csv(&result));
    // The manifest records what was streamed.
    let manifest = read(&t.path().join("run/manifest.json"));
    let sha = sha256_hex(metrics_csv(&result).expect("finite").as_bytes());
    assert!(
        manifest.contains(&sha),
        "manifest lists metrics.csv's SHA-256"
    );
}

#[test]
fn issue18_a_run_over_the_output_cap_stops_naming_the_cap_and_leaves_no_folder() {
    let t = tmp();
    let path = repo("scenarios/tiny.ron");
    let err = expect(
        &[
            "run",
            path.to_str().expect("utf-8"),
            "--set",
            "run.end_year=2424",
            "--set",
            "run.steps_per_year=52",
            "--max-output-mb",
            "1",
            "-o",
            "big",
        ],
        t.path(),
        2,
    );
    assert!(err.contains("output cap of 1 MB"), "{err}");
    assert!(err.contains("--max-output-mb"), "{err}");
    assert!(!t.path().join("big").exists());
    let leftovers: Vec<_> = std::fs::read_dir(t.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        leftovers.is_empty(),
        "no staging folder left: {leftovers:?}"
    );
}

#[test]
fn issue18_a_design_over_its_cap_is_refused_before_anything_is_written() {
    let t = tmp();
    let text = format!(
        r#"Sweep(name: "huge", base: "{}", seed: 1, replicates: 1000, max_design_mb: 1,
    parameters: [(path: "assets.atacama.capacity_t_per_yr", min: 1.0, max: 2.0)],
    design: (kind: "random", points: 1000),
    outcomes: [(name: "p", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL")])
"#,
        repo("scenarios/tiny.ron").display()
    );
    std::fs::write(t.path().join("huge.ron"), text).expect("write");
    let err = expect(&["sweep", "huge.ron", "-o", "out"], t.path(), 2);
    assert!(err.contains("cap of 1 MB"), "{err}");
    assert!(err.contains("max_design_mb"), "{err}");
    assert!(!t.path().join("out").exists());
}

// ---- 8. extends cannot be set ----

#[test]
fn issue18_set_extends_is_refused() {
    let t = tmp();
    let path = repo("scenarios/tiny.ron");
    let err = expect(
        &[
            "run",
            path.to_str().expect("utf-8"),
            "--set",
            "extends=\"/etc/passwd\"",
            "-o",
            "out",
        ],
        t.path(),
        2,
    );
    assert!(
        err.contains("extends cannot be set from the command line"),
        "{err}"
    );
    assert!(!t.path().join("out").exists());
}

#[test]
fn issue18_a_sweep_parameter_on_extends_is_refused_at_load_time() {
    let t = tmp();
    let text = format!(
        r#"Sweep(name: "ext", base: "{}", seed: 1,
    parameters: [(path: "extends", levels: ["a.ron", "b.ron"])],
    design: (kind: "grid"),
    outcomes: [(name: "p", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL")])
"#,
        repo("scenarios/tiny.ron").display()
    );
    std::fs::write(t.path().join("ext.ron"), text).expect("write");
    let err = expect(&["sweep", "ext.ron", "-o", "out"], t.path(), 2);
    assert!(err.contains("parameters.0.path"), "{err}");
    assert!(err.contains("extends cannot be set"), "{err}");
    assert!(!t.path().join("out").exists());
}

// ---- 9. plot validates years ----

#[test]
fn issue18_plot_rejects_a_year_edited_to_1e9_or_1e7() {
    let t = tmp();
    let path = repo("scenarios/tiny.ron");
    expect(
        &[
            "run",
            path.to_str().expect("utf-8"),
            "--no-figures",
            "-o",
            "run",
        ],
        t.path(),
        0,
    );
    let metrics = read(&t.path().join("run/metrics.csv"));
    let second_row = metrics.lines().nth(2).expect("a row").to_string();
    let mut cells: Vec<&str> = second_row.split(',').collect();
    for year in ["1e9", "1e7", "1000000000"] {
        cells[1] = year;
        let edited = metrics.replacen(&second_row, &cells.join(","), 1);
        std::fs::write(t.path().join("run/metrics.csv"), edited).expect("edit");
        let err = expect(&["plot", "run"], t.path(), 2);
        assert!(err.contains("metrics.csv:3"), "{err}");
        assert!(err.contains("column `year` does not match step"), "{err}");
    }
    // Without scenario.ron (no horizon known), the span of years is capped instead.
    std::fs::remove_file(t.path().join("run/scenario.ron")).expect("remove");
    let err = expect(&["plot", "run"], t.path(), 2);
    assert!(err.contains("year"), "{err}");
}

// ---- 10. a FIFO never hangs resume or merge ----

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo failed");
}

/// Wait for a child at most a minute; a hang fails the test (and the child is killed).
fn finish_within_a_minute(mut child: Child) -> (i32, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            return (status.code().unwrap_or(-1), err);
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("orechain hung on a FIFO");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn(args: &[&str], cwd: &Path) -> Child {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start")
}

#[test]
fn issue18_a_fifo_journal_does_not_hang_resume_or_merge() {
    let t = tmp();
    let dir = finished_sweep(t.path(), "out");
    std::fs::remove_file(dir.join("journal.tsv")).expect("remove");
    mkfifo(&dir.join("journal.tsv"));
    let (code, err) = finish_within_a_minute(spawn(
        &["sweep", "small.ron", "-o", "out", "--resume"],
        t.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");

    let (s0, s1) = two_shards(t.path());
    std::fs::remove_file(s1.join("journal.tsv")).expect("remove");
    mkfifo(&s1.join("journal.tsv"));
    let (code, err) = finish_within_a_minute(spawn(
        &[
            "merge",
            s0.to_str().expect("utf-8"),
            s1.to_str().expect("utf-8"),
            "-o",
            "merged",
        ],
        t.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    // A FIFO manifest too.
    std::fs::remove_file(s0.join("manifest.json")).expect("remove");
    mkfifo(&s0.join("manifest.json"));
    let (code, err) = finish_within_a_minute(spawn(
        &[
            "merge",
            s0.to_str().expect("utf-8"),
            s1.to_str().expect("utf-8"),
            "-o",
            "merged2",
        ],
        t.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    // And a FIFO metrics.csv for plot.
    expect(
        &[
            "run",
            repo("scenarios/tiny.ron").to_str().expect("utf-8"),
            "--no-figures",
            "-o",
            "run",
        ],
        t.path(),
        0,
    );
    std::fs::remove_file(t.path().join("run/metrics.csv")).expect("remove");
    mkfifo(&t.path().join("run/metrics.csv"));
    let (code, err) = finish_within_a_minute(spawn(&["plot", "run"], t.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}
