//! Hostile actions against output folders and the Slurm script (issue 18, items 1, 2, 3, 10): a
//! user's folders, files, symlinks and FIFOs survive `--force`; merge never touches its inputs; a
//! `..` sweep name writes nothing; shell metacharacters in names and paths are never executed by
//! `bash submit.sh`; SIGTERM and SIGHUP behave like Ctrl-C; a killed `--force` commit and a sweep
//! killed before its first manifest are recoverable.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{bin, orechain, outcome, read, repo, signal, tmp, wait_until};

/// Every path under `dir` (recursively, symlinks not followed) with the file bytes, sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("folder is readable") {
            let path = e.expect("entry").path();
            let rel = path
                .strip_prefix(dir)
                .expect("inside")
                .display()
                .to_string();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                out.push((rel + "/", Vec::new()));
                stack.push(path);
            } else if meta.is_file() {
                out.push((rel, std::fs::read(&path).expect("file is readable")));
            } else {
                out.push((rel, b"(special)".to_vec()));
            }
        }
    }
    out.sort();
    out
}

/// Names of every file or folder under `dir` whose name starts with `prefix`.
fn find_named(dir: &Path, prefix: &str) -> Vec<String> {
    tree(dir)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| {
            Path::new(p.trim_end_matches('/'))
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A small sweep over tiny.ron (2 points × 2 replicates), named `name`, base given absolutely.
fn small_sweep(dir: &Path, file: &str, name: &str) -> PathBuf {
    let text = format!(
        r#"Sweep(
    name: "{name}",
    base: "{}",
    sets: ["run.end_year=2027"],
    seed: 3,
    replicates: 2,
    parameters: [(path: "assets.atacama.outage.probability_per_step", name: "p", levels: [0.0, 0.2])],
    design: (kind: "grid"),
    outcomes: [(name: "chl", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL")],
)
"#,
        repo("scenarios/tiny.ron").display()
    );
    let path = dir.join(file);
    std::fs::write(&path, text).expect("the sweep file can be written");
    path
}

#[test]
fn issue18_force_replaces_only_a_folder_orechain_wrote_and_merge_never_touches_its_inputs() {
    let t = tmp();
    let root = t.path();
    let tiny = repo("scenarios/tiny.ron");
    let sweep = small_sweep(root, "small.ron", "small");
    let run = |out: &str| -> Vec<String> {
        [
            "run",
            s(&tiny),
            "--no-figures",
            "-o",
            out,
            "--force",
            "--set",
            "run.end_year=2026",
        ]
        .map(String::from)
        .to_vec()
    };
    let call = |args: &[String]| {
        outcome(&orechain(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            root,
        ))
    };

    // The decoys: a thesis folder, a browser extension with its own manifest.json, a file, a FIFO,
    // a symlink to the thesis folder, an orechain marker copied next to a foreign manifest.
    std::fs::create_dir_all(root.join("d/docs")).expect("mkdir");
    std::fs::write(root.join("d/docs/t.tex"), "my thesis").expect("write");
    std::fs::create_dir_all(root.join("ext")).expect("mkdir");
    std::fs::write(
        root.join("ext/manifest.json"),
        r#"{"manifest_version": 3, "name": "x"}"#,
    )
    .expect("write");
    std::fs::write(root.join("notes.txt"), "notes").expect("write");
    let fifo = Command::new("mkfifo")
        .arg(root.join("pipe"))
        .status()
        .expect("mkfifo runs");
    assert!(fifo.success());
    std::os::unix::fs::symlink(root.join("d"), root.join("link")).expect("symlink");
    let (code, _, err) = call(&run("real"));
    assert_eq!(code, 0, "{err}");
    std::fs::create_dir_all(root.join("forged")).expect("mkdir");
    std::fs::copy(
        root.join("real/.orechain-output"),
        root.join("forged/.orechain-output"),
    )
    .expect("copy marker");
    std::fs::copy(
        root.join("ext/manifest.json"),
        root.join("forged/manifest.json"),
    )
    .expect("copy manifest");
    let before = tree(root);

    for (out, reason) in [
        ("d", "marker"),
        ("ext", "marker"),
        ("notes.txt", "is a file"),
        ("pipe", "FIFO"),
        ("link", "symbolic link"),
        ("forged", "not an orechain run manifest"),
    ] {
        for args in [
            run(out),
            ["sweep", s(&sweep), "-o", out, "--force", "--no-figures"]
                .map(String::from)
                .to_vec(),
        ] {
            let (code, _, err) = call(&args);
            assert_eq!(code, 2, "{args:?}: {err}");
            assert!(err.contains("refusing to replace"), "{args:?}: {err}");
            assert!(err.contains(reason), "{args:?}: {err}");
            assert_eq!(tree(root), before, "{args:?} changed something");
        }
    }
    assert_eq!(read(&root.join("d/docs/t.tex")), "my thesis");
    // `generate --force` replaces a scenario file, never a folder, symlink or FIFO.
    for out in ["d", "link", "pipe"] {
        let (code, _, err) = outcome(&orechain(&["generate", "-o", out, "--force"], root));
        assert_eq!(code, 2, "{out}: {err}");
        assert!(err.contains("not a regular file"), "{err}");
        assert_eq!(tree(root), before, "generate -o {out} changed something");
    }

    // What orechain wrote is replaced: a run folder, a sweep folder.
    let (code, _, err) = call(&run("real"));
    assert_eq!(code, 0, "{err}");
    // `plot` replaces `figures/` only when it holds figures.
    std::fs::create_dir(root.join("real/figures")).expect("mkdir");
    std::fs::write(root.join("real/figures/notes.txt"), "mine").expect("write");
    let (code, _, err) = outcome(&orechain(&["plot", "real"], root));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a figure orechain draws"), "{err}");
    assert_eq!(read(&root.join("real/figures/notes.txt")), "mine");
    std::fs::remove_dir_all(root.join("real/figures")).expect("rm");
    let sweep_args = |out: &str, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["sweep", s(&sweep), "-o", out, "--no-figures"]
            .map(String::from)
            .to_vec();
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    for _ in 0..2 {
        let (code, _, err) = call(&sweep_args("sw", &["--force"]));
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(
        read(&root.join("sw/.orechain-output")).lines().nth(1),
        Some("kind: sweep")
    );

    // Merge: two shards under `parent/`; the output may not be, contain or lie inside a shard.
    for k in 0..2 {
        let (code, _, err) = call(&sweep_args(
            &format!("parent/s{k}"),
            &["--shard", &format!("{k}/2")],
        ));
        assert_eq!(code, 0, "{err}");
    }
    std::os::unix::fs::symlink(root.join("parent"), root.join("plink")).expect("symlink");
    let shards = tree(&root.join("parent"));
    for out in [
        "parent",
        "parent/s0",
        "parent/s1/sub",
        "plink",
        "plink/s0",
        "parent/../parent",
    ] {
        for force in [true, false] {
            let mut args = vec!["merge", "parent/s0", "parent/s1", "-o", out, "--no-figures"];
            if force {
                args.push("--force");
            }
            let (code, _, err) = outcome(&orechain(&args, root));
            assert_eq!(code, 2, "{args:?}: {err}");
            assert!(
                err.contains("merge never writes into or removes its inputs"),
                "{err}"
            );
            assert_eq!(
                tree(&root.join("parent")),
                shards,
                "{args:?} touched a shard"
            );
        }
    }
    // A merged folder is orechain's, so a second merge with --force replaces it.
    for _ in 0..2 {
        let (code, _, err) = outcome(&orechain(
            &[
                "merge",
                "parent/s0",
                "parent/s1",
                "-o",
                "merged",
                "--no-figures",
                "--force",
            ],
            root,
        ));
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(
        read(&root.join("merged/.orechain-output")).lines().nth(1),
        Some("kind: merge")
    );
    assert!(find_named(root, ".merged.").is_empty() && find_named(root, ".real.").is_empty());
}

#[test]
fn issue18_a_sweep_named_dotdot_is_refused_before_anything_is_written() {
    let t = tmp();
    let work = t.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    std::fs::write(work.join("keep.txt"), "keep").expect("write");
    for (i, name) in [
        "..",
        ".",
        "a/b",
        ".hidden",
        "x$(touch PWNED)",
        "tab\there",
        "",
    ]
    .into_iter()
    .enumerate()
    {
        let file = format!("bad{i}.ron");
        small_sweep(&work, &file, &name.replace('\t', "\\t"));
        let before = tree(t.path());
        for extra in [&[][..], &["--force"], &["--resume"], &["--slurm-script"]] {
            let mut args = vec!["sweep", file.as_str(), "--no-figures"];
            if extra.contains(&"--slurm-script") {
                args.pop();
            }
            args.extend_from_slice(extra);
            let (code, stdout, err) = outcome(&orechain(&args, &work));
            assert_eq!(code, 2, "{name:?} {extra:?}: {err}");
            assert!(err.contains("not a plain folder name"), "{name:?}: {err}");
            assert!(stdout.is_empty(), "{name:?}: printed {stdout}");
            assert_eq!(tree(t.path()), before, "{name:?} {extra:?} wrote something");
        }
    }
    assert!(find_named(t.path(), "PWNED").is_empty());
}

/// The stub `sbatch`: records its arguments (one per line) and the job script from stdin, prints
/// a job id, runs nothing.
const STUB_SBATCH: &str = r#"#!/bin/bash
n=$(( $(ls "$STUB_LOG" | grep -c '^args-') + 1 ))
printf '%s\n' "$@" > "$STUB_LOG/args-$n"
cat > "$STUB_LOG/job-$n.sh"
echo "$n"
"#;

#[test]
fn issue18_the_slurm_script_never_runs_text_from_names_or_paths() {
    let t = tmp();
    let root = t.path();
    // A sweep file in a folder whose name is a command substitution; its base beside it.
    let hostile_dir = root.join("sw $(touch PWNED_sweep) `touch PWNED_tick`");
    std::fs::create_dir(&hostile_dir).expect("mkdir");
    let sweep = small_sweep(&hostile_dir, "g.ron", "small");
    // -o full of metacharacters: $(), backticks, ;, quotes, $VAR, a Slurm % pattern.
    let out_name = "res $(touch PWNED1) `touch PWNED2`; touch PWNED3 'q' \"dq\" $HOME %j";
    let (code, script, err) = outcome(&orechain(
        &[
            "sweep",
            s(&sweep),
            "--slurm-script",
            "--tasks",
            "2",
            "-j",
            "1",
            "-o",
            out_name,
        ],
        root,
    ));
    assert_eq!(code, 0, "{err}");
    let submit = root.join("submit.sh");
    std::fs::write(&submit, &script).expect("write");

    let stub_dir = root.join("stub");
    let log = root.join("stub-log");
    std::fs::create_dir_all(&stub_dir).expect("mkdir");
    std::fs::create_dir_all(&log).expect("mkdir");
    let sbatch = stub_dir.join("sbatch");
    std::fs::write(&sbatch, STUB_SBATCH).expect("write");
    let mut perms = std::fs::metadata(&sbatch).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&sbatch, perms).expect("chmod");
    let path = format!(
        "{}:{}",
        stub_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let submitted = Command::new("bash")
        .arg(&submit)
        .current_dir(root)
        .env("PATH", &path)
        .env("STUB_LOG", &log)
        .output()
        .expect("bash runs");
    let (code, stdout, err) = outcome(&submitted);
    assert_eq!(code, 0, "{err}\n{script}");
    assert!(
        stdout.contains("array job 1 (2 tasks), merge job 2"),
        "{stdout}"
    );

    // sbatch got the literal paths as single arguments.
    let out_abs = root.join(out_name);
    let args1 = read(&log.join("args-1"));
    let args2 = read(&log.join("args-2"));
    let logs = format!("{}-shards/logs", out_abs.display()).replace('%', "%%");
    assert!(
        args1
            .lines()
            .any(|l| l == format!("--output={logs}/shard-%a.out")),
        "{args1}"
    );
    assert!(
        args2.lines().any(|l| l == "--dependency=afterok:1"),
        "{args2}"
    );
    assert!(
        args2
            .lines()
            .any(|l| l == format!("--output={logs}/merge.out")),
        "{args2}"
    );

    // Run the job scripts as Slurm would (two array tasks, then the merge), from another folder.
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    for task in ["0", "1"] {
        let job = Command::new("bash")
            .arg(log.join("job-1.sh"))
            .current_dir(&elsewhere)
            .env("SLURM_ARRAY_TASK_ID", task)
            .env("SLURM_ARRAY_TASK_COUNT", "2")
            .env("SLURM_CPUS_PER_TASK", "1")
            .output()
            .expect("bash runs");
        let (code, _, err) = outcome(&job);
        assert_eq!(code, 0, "task {task}: {err}");
    }
    let merge = Command::new("bash")
        .arg(log.join("job-2.sh"))
        .current_dir(&elsewhere)
        .output()
        .expect("bash runs");
    let (code, _, err) = outcome(&merge);
    assert_eq!(code, 0, "merge: {err}");
    assert!(
        out_abs.join("results.csv").is_file(),
        "no merged results at the literal path"
    );
    assert!(
        root.join(format!("{out_name}-shards"))
            .join("shard-1")
            .join("results.csv")
            .is_file()
    );
    assert!(
        find_named(root, "PWNED").is_empty(),
        "{:?}",
        find_named(root, "PWNED")
    );
    assert!(
        find_named(&elsewhere, "").is_empty(),
        "a job wrote into its working folder"
    );

    // A line break in a path cannot be carried safely: refused, nothing printed.
    let (code, stdout, err) = outcome(&orechain(
        &[
            "sweep",
            s(&sweep),
            "--slurm-script",
            "-o",
            "a\ntouch PWNED4",
        ],
        root,
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("control character"), "{err}");
    assert!(stdout.is_empty());
}

/// Hidden entries of `dir` starting with `prefix`.
fn hidden(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn issue18_sigterm_and_sighup_behave_like_ctrl_c_and_kills_are_recoverable() {
    let t = tmp();
    let root = t.path();
    // A run: SIGTERM or SIGHUP remove its staging folder.
    for sig in ["TERM", "HUP"] {
        let mut child = Command::new(bin())
            .args([
                "run",
                "--no-figures",
                "--set",
                "run.end_year=2060",
                "-o",
                "out/r",
            ])
            .current_dir(root)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the run starts");
        let parent = root.join("out");
        wait_until(&mut child, "the staging folder existed", || {
            !hidden(&parent, ".r.partial-").is_empty()
        });
        signal(&child, sig);
        let out = child.wait_with_output().expect("reaped");
        let (code, _, err) = outcome(&out);
        assert_eq!(code, 130, "SIG{sig}: {err}");
        assert!(
            hidden(&parent, ".r.").is_empty(),
            "SIG{sig} left a staging folder"
        );
        assert!(!parent.join("r").exists());
    }

    // A sweep: SIGTERM (Slurm preemption) saves the journal; --resume finishes it.
    let sweep = small_sweep(root, "long.ron", "long");
    let text = read(&sweep)
        .replace("run.end_year=2027", "run.end_year=2060")
        .replace("replicates: 2", "replicates: 40");
    std::fs::write(&sweep, text).expect("write");
    let journal = root.join("sw/journal.tsv");
    let mut child = Command::new(bin())
        .args(["sweep", s(&sweep), "-o", "sw", "-j", "1", "--no-figures"])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sweep starts");
    wait_until(&mut child, "two runs were journaled", || {
        std::fs::read_to_string(&journal).is_ok_and(|j| j.matches('\n').count() >= 2)
    });
    signal(&child, "TERM");
    let (code, _, err) = outcome(&child.wait_with_output().expect("reaped"));
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert!(read(&root.join("sw/manifest.json")).contains("\"complete\": false"));
    let (code, _, err) = outcome(&orechain(
        &["sweep", s(&sweep), "-o", "sw", "--resume", "--no-figures"],
        root,
    ));
    assert_eq!(code, 0, "{err}");
    assert!(read(&root.join("sw/manifest.json")).contains("\"complete\": true"));

    // A SIGKILL between the two renames of a --force commit: the previous result is only in a
    // hidden `.res.old-PID-N`, the finished new one in `.res.partial-PID-N`. Simulated with the
    // pid of a process that has exited; the next command on `res` restores the previous result.
    let tiny = repo("scenarios/tiny.ron");
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            s(&tiny),
            "--no-figures",
            "-o",
            out,
            "--set",
            "run.end_year=2026",
        ];
        args.extend_from_slice(extra);
        outcome(&orechain(&args, root))
    };
    let (code, _, err) = run("res", &[]);
    assert_eq!(code, 0, "{err}");
    let previous = tree(&root.join("res"));
    let mut gone = Command::new("true").spawn().expect("true runs");
    let dead = gone.id();
    gone.wait().expect("reaped");
    std::fs::rename(root.join("res"), root.join(format!(".res.old-{dead}-10"))).expect("mv");
    let (code, _, err) = run("scratch", &["--seed", "9"]);
    assert_eq!(code, 0, "{err}");
    std::fs::rename(
        root.join("scratch"),
        root.join(format!(".res.partial-{dead}-11")),
    )
    .expect("mv");
    // A hidden folder of the same pattern without orechain's marker is the user's: kept.
    let foreign = root.join(format!(".res.old-{dead}-12"));
    std::fs::create_dir(&foreign).expect("mkdir");
    std::fs::write(foreign.join("mine.txt"), "mine").expect("write");

    let (code, _, err) = run("res", &[]);
    assert_eq!(
        code, 2,
        "the restored result is not replaced without --force: {err}"
    );
    assert!(err.contains("restored"), "{err}");
    assert_eq!(
        tree(&root.join("res")),
        previous,
        "the previous result is back"
    );
    assert_eq!(hidden(root, ".res."), [format!(".res.old-{dead}-12")]);
    let (code, _, err) = run("res", &["--force"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(&foreign.join("mine.txt")), "mine");

    // A sweep killed before its first manifest (only its marker and a temporary manifest in the
    // folder) resumes — the Slurm requeue path always passes --resume — and can be forced.
    for extra in ["--resume", "--force"] {
        let dir = root.join("early");
        let (code, _, err) = outcome(&orechain(
            &[
                "sweep",
                s(&small_sweep(root, "early.ron", "early")),
                "-o",
                "early",
                "--shard",
                "0/2",
                "--no-figures",
            ],
            root,
        ));
        assert_eq!(code, 0, "{err}");
        for (name, _) in tree(&dir) {
            if name != ".orechain-output" {
                let p = dir.join(name.trim_end_matches('/'));
                if p.is_dir() {
                    std::fs::remove_dir_all(p).expect("rm");
                } else {
                    std::fs::remove_file(p).expect("rm");
                }
            }
        }
        std::fs::write(dir.join(".manifest.json.tmp-1-2"), "{\"tor").expect("write");
        let (code, _, err) = outcome(&orechain(
            &[
                "sweep",
                "early.ron",
                "-o",
                "early",
                "--shard",
                "0/2",
                "--no-figures",
                extra,
            ],
            root,
        ));
        assert_eq!(code, 0, "{extra}: {err}");
        assert!(
            read(&dir.join("manifest.json")).contains("\"complete\": true"),
            "{extra}"
        );
        assert!(dir.join("results.csv").is_file());
        std::fs::remove_dir_all(&dir).expect("rm");
    }
}
