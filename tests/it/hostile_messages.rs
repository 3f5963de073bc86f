//! Hostile inputs and paper cuts of issue 18 (items 11–18): every message bounded, control
//! characters escaped, no file content echoed, honest wording ("forms a cycle" only for cycles,
//! "integer too large" for integers), `--set` errors named after the `--set`, checked units,
//! `validate` on sweep files, `generate` within the loader's limits, dated items beyond the horizon.

use std::path::Path;

use crate::common::*;

/// Messages stay this short whatever the input (a few KB, never the input's size).
const SHORT: usize = 8 * 1024;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write input file");
}

fn tiny_text() -> String {
    read(&repo("scenarios/tiny.ron"))
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

// ---------------------------------------------------------------------------------------------
// 11. Messages
// ---------------------------------------------------------------------------------------------

#[test]
fn issue18_a_megabyte_number_literal_gives_a_short_message() {
    let dir = tmp();
    let digits = "9".repeat(1 << 20);
    // An integer with a million digits where a seed (u64) goes.
    let text = tiny_text().replacen("seed: ", &format!("seed: {digits}, x: "), 1);
    write(dir.path(), "int.ron", &text);
    let (code, _, err) = outcome(&orechain(&["validate", "int.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.len() < SHORT, "{} bytes", err.len());
    assert!(err.contains("integer too large"), "{err}");
    assert!(err.contains("more chars)"), "the literal is clipped: {err}");
    assert!(!err.contains("non-finite"), "{err}");
    // A float literal with a million digits where a quantity goes.
    let text = tiny_text().replacen(
        "capacity_t_per_yr: 100000.0",
        &format!("capacity_t_per_yr: 1.{digits}e999999"),
        1,
    );
    write(dir.path(), "float.ron", &text);
    let (code, _, err) = outcome(&orechain(&["validate", "float.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.len() < SHORT, "{} bytes", err.len());
    assert!(err.contains("non-finite number `1.99"), "{err}");
    assert!(err.contains('…'), "{err}");
}

#[test]
fn issue18_a_u64_overflow_says_integer_too_large_for_the_field() {
    let dir = tmp();
    let text = tiny_text().replacen("seed: ", "seed: 99999999999999999999999, x: ", 1);
    write(dir.path(), "s.ron", &text);
    let (code, _, err) = outcome(&orechain(&["validate", "s.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("integer too large for `run.seed` (max 18446744073709551615)"),
        "{err}"
    );
    assert!(
        !err.contains("non-finite") && !err.contains("floating point"),
        "{err}"
    );
    // The same through --set, reported against the argument.
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            path_str(&repo("scenarios/tiny.ron")),
            "--set",
            "run.start_year=99999999999",
            "-o",
            "o",
        ],
        dir.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("in --set run.start_year=99999999999")
            && err.contains("integer too large for `run.start_year` (max 2147483647)"),
        "{err}"
    );
}

#[test]
fn issue18_a_million_bad_design_rows_give_a_bounded_message() {
    let dir = tmp();
    let base = repo("scenarios/tiny.ron");
    write(
        dir.path(),
        "sweep.ron",
        &format!(
            r#"Sweep(name: "bad_rows", base: "{}", seed: 1, replicates: 1,
  parameters: [(path: "nations.CHL.governance.regulatory_stability", name: "s", min: 0.1, max: 0.9)],
  design: (kind: "csv", file: "points.csv"),
  outcomes: [(name: "p", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL")])"#,
            path_str(&base)
        ),
    );
    // A header and a million lines with one cell too many.
    let mut csv = String::from("s\n");
    for _ in 0..1_000_000 {
        csv.push_str("0.5,1\n");
    }
    write(dir.path(), "points.csv", &csv);
    for cmd in ["sweep", "validate"] {
        let argv: &[&str] = if cmd == "sweep" {
            &[cmd, "sweep.ron", "-o", "out"]
        } else {
            &[cmd, "sweep.ron"]
        };
        let (code, _, err) = outcome(&orechain(argv, dir.path()));
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(err.len() < SHORT, "{cmd}: {} bytes", err.len());
        assert!(err.contains("CSV line 2: "), "{cmd}: {err}");
        assert!(
            err.contains("… and 999980 more bad CSV lines not listed (1000000 in all)"),
            "{cmd}: {err}"
        );
        assert!(
            !dir.path().join("out").exists(),
            "{cmd} wrote an output folder"
        );
    }
}

#[test]
fn issue18_a_deep_acyclic_extends_chain_is_not_called_a_cycle() {
    let dir = tmp();
    let n = 40;
    for i in 0..n {
        write(
            dir.path(),
            &format!("d{i}.ron"),
            &format!("(extends: \"d{}.ron\")", i + 1),
        );
    }
    write(dir.path(), &format!("d{n}.ron"), &tiny_text());
    let (code, _, err) = outcome(&orechain(&["validate", "d0.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`extends` chain deeper than 32 files"),
        "the cap is named: {err}"
    );
    assert!(!err.contains("cycle:"), "{err}");
    assert!(err.len() < SHORT, "{} bytes", err.len());
    // A chain within the cap loads; a real cycle is still called one.
    let (code, _, err) = outcome(&orechain(&["validate", "d10.ron"], dir.path()));
    assert_eq!(code, 0, "{err}");
    write(dir.path(), "c1.ron", "(extends: \"c2.ron\")");
    write(dir.path(), "c2.ron", "(extends: \"c1.ron\")");
    let (code, _, err) = outcome(&orechain(&["validate", "c1.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`extends` forms a cycle"), "{err}");
}

#[test]
fn issue18_control_characters_from_ids_and_paths_are_escaped() {
    let dir = tmp();
    // An id with an escape sequence (would turn the terminal red) and a bidi override.
    let text = tiny_text().replacen("\"CHL\"", "\"C\u{1b}[31mH\u{202e}L\"", 1);
    write(dir.path(), "ctl.ron", &text);
    let (code, _, err) = outcome(&orechain(&["validate", "ctl.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "{err:?}"
    );
    assert!(err.contains("C\\u{1b}[31mH\\u{202e}L"), "{err}");
    // A path with control characters, in a `cannot read` message and an `extends`.
    let bad = "no\u{1b}]0;pwned\u{7}\r.ron";
    let (code, _, err) = outcome(&orechain(&["run", bad, "-o", "o"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{7}') && !err.contains('\r'),
        "{err:?}"
    );
    assert!(err.contains("no\\u{1b}]0;pwned\\u{7}\\r.ron"), "{err}");
    write(dir.path(), "ext.ron", &format!("(extends: \"{bad}\")"));
    let (code, _, err) = outcome(&orechain(&["validate", "ext.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\r'), "{err:?}");
    // The success line quotes the path too.
    let ok = "ok\u{1b}[2J.ron";
    write(dir.path(), ok, &tiny_text());
    let (code, out, err) = outcome(&orechain(&["validate", ok], dir.path()));
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains('\u{1b}') && out.contains("ok\\u{1b}[2J.ron"),
        "{out:?}"
    );
}

#[test]
fn issue18_extends_to_a_non_scenario_file_echoes_none_of_it() {
    let dir = tmp();
    write(
        dir.path(),
        "secret.txt",
        "root:x:0:0:SECRET-TOKEN-123:/root:/bin/bash\nmore SECRET lines\n",
    );
    write(
        dir.path(),
        "v.ron",
        "(\n  extends: \"secret.txt\", name: \"v\")",
    );
    for cmd in ["validate", "run"] {
        let (code, out, err) = outcome(&orechain(&[cmd, "v.ron"], dir.path()));
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(
            !err.contains("SECRET") && !out.contains("SECRET"),
            "{cmd}: {err}"
        );
        assert!(!err.contains("root"), "{cmd}: {err}");
        assert!(
            err.contains(
                "v.ron:2:12: `extends`: `secret.txt` is not a scenario file: syntax error"
            ),
            "{cmd}: {err}"
        );
        assert!(err.contains(" at 1:5 "), "the position is given: {err}");
    }
    // A sweep's `base` and its design CSV may name any file too.
    let outcomes = r#"outcomes: [(name: "p", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL")]"#;
    write(
        dir.path(),
        "base.ron",
        &format!(
            "Sweep(name: \"b\", base: \"secret.txt\", seed: 1, replicates: 1,\n parameters: [(path: \"run.seed\", levels: [1])], design: (kind: \"grid\"), {outcomes})"
        ),
    );
    let tiny = repo("scenarios/tiny.ron");
    write(
        dir.path(),
        "design.ron",
        &format!(
            "Sweep(name: \"d\", base: \"{}\", seed: 1, replicates: 1,\n parameters: [(path: \"nations.CHL.governance.regulatory_stability\", name: \"s\", min: 0.1, max: 0.9)],\n design: (kind: \"csv\", file: \"secret.txt\"), {outcomes})",
            path_str(&tiny)
        ),
    );
    for (file, fragment) in [
        (
            "base.ron",
            "base.ron:1:18: `base`: `secret.txt` is not a scenario file",
        ),
        (
            "design.ron",
            "the CSV has no column `s` (its first line has 1 comma-separated cells",
        ),
    ] {
        for cmd in ["validate", "sweep"] {
            let (code, out, err) = outcome(&orechain(&[cmd, file], dir.path()));
            assert_eq!(code, 2, "{cmd} {file}: {err}");
            assert!(
                !err.contains("SECRET") && !out.contains("SECRET"),
                "{cmd} {file}: {err}"
            );
            assert!(!err.contains("root"), "{cmd} {file}: {err}");
            assert!(err.contains(fragment), "{cmd} {file}: {err}");
        }
    }
    if Path::new("/etc/passwd").is_file() {
        write(dir.path(), "p.ron", "(extends: \"/etc/passwd\")");
        let (code, _, err) = outcome(&orechain(&["validate", "p.ron"], dir.path()));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("is not a scenario file"), "{err}");
        assert!(!err.contains("root:") && !err.contains("/bin/"), "{err}");
    }
}

#[test]
fn issue18_output_names_of_221_to_255_bytes_work() {
    let dir = tmp();
    let tiny = repo("scenarios/tiny.ron");
    for len in [221, 240, 255] {
        let name = "r".repeat(len - 4) + "ésu"; // multi-byte chars near the cut
        assert_eq!(name.len(), len);
        let (code, _, err) = outcome(&orechain(
            &["run", path_str(&tiny), "-o", &name, "--no-figures"],
            dir.path(),
        ));
        assert_eq!(code, 0, "{len} bytes: {err}");
        assert!(dir.path().join(&name).join("metrics.csv").is_file());
        // --force over it stages and swaps with shortened names too.
        let (code, _, err) = outcome(&orechain(
            &[
                "run",
                path_str(&tiny),
                "-o",
                &name,
                "--no-figures",
                "--force",
            ],
            dir.path(),
        ));
        assert_eq!(code, 0, "{len} bytes, --force: {err}");
    }
    let hidden: Vec<String> = std::fs::read_dir(dir.path())
        .expect("readable")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "left behind: {hidden:?}");
}

#[test]
fn issue18_no_rust_debug_text_in_user_messages() {
    // A sweep folder of one shard resumed as the whole sweep: the message names the shards in
    // words, not `Some(Shard { index: 0, count: 2 })`.
    let dir = tmp();
    let sweep = repo("scenarios/sweeps/tiny_grid.ron");
    let (code, _, err) = outcome(&orechain(
        &[
            "sweep",
            path_str(&sweep),
            "-o",
            "s",
            "--shard",
            "0/2",
            "--no-figures",
            "-j",
            "1",
        ],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = outcome(&orechain(
        &[
            "sweep",
            path_str(&sweep),
            "-o",
            "s",
            "--resume",
            "--no-figures",
            "-j",
            "1",
        ],
        dir.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("holds shard 0/2 of this sweep, not the whole sweep (no shard)"),
        "{err}"
    );
    assert!(!err.contains("Some(") && !err.contains("None"), "{err}");
    // And in the source: no `{:?}` formatting outside tests in the modules that build messages.
    // (Allowed: the shortest round-trip text of an f64, which is what `{f:?}` prints.)
    let mut files = vec![repo("src/app.rs"), repo("src/cli.rs"), repo("src/main.rs")];
    for dir in ["src/sweep", "src/scenario"] {
        for e in std::fs::read_dir(repo(dir)).expect("source folder") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                // A module's own folder (`scenario/ron_tree/`): its files too.
                for e in std::fs::read_dir(&path).expect("source folder") {
                    files.push(e.expect("entry").path());
                }
            } else {
                files.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for f in files {
        let text = read(&f);
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (i, line) in code.lines().enumerate() {
            if line.contains(":?}") && !line.contains("format!(\"{f:?}\")") {
                found.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "Debug formatting in messages:\n{}",
        found.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 12. Dated items beyond the horizon
// ---------------------------------------------------------------------------------------------

#[test]
fn issue18_end_year_2035_on_the_baseline_runs() {
    let dir = tmp();
    let base = repo("scenarios/baseline.ron");
    // The baseline has prospects available from 2036 on: beyond a 2035 horizon they simply never
    // become available.
    assert!(read(&base).contains("available_from: Some(2037.0)"));
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            path_str(&base),
            "--set",
            "run.end_year=2035",
            "-o",
            "o",
            "--no-figures",
        ],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let resolved = read(&dir.path().join("o/scenario.ron"));
    assert!(resolved.contains("end_year: 2035"), "{resolved}");
    // The resolved scenario (with those prospects) reproduces.
    let (code, _, err) = outcome(&orechain(&["validate", "o/scenario.ron"], dir.path()));
    assert_eq!(code, 0, "{err}");
    // A policy starting after the horizon never takes effect: same tables as without it.
    let text = tiny_text().replacen(
        "policies: [",
        "policies: [(id: \"late\", start: 2090.0, action: (kind: \"outage\", asset: \"atacama\", capacity_lost: 0.9)),",
        1,
    );
    assert!(text.contains("\"late\""), "tiny.ron has a policies list");
    write(dir.path(), "late.ron", &text);
    for (file, out) in [
        ("late.ron", "a"),
        (path_str(&repo("scenarios/tiny.ron")), "b"),
    ] {
        let (code, _, err) = outcome(&orechain(
            &["run", file, "-o", out, "--no-figures"],
            dir.path(),
        ));
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(
        read(&dir.path().join("a/metrics.csv")),
        read(&dir.path().join("b/metrics.csv"))
    );
    // A date that is no year at all is still refused.
    let text = tiny_text().replacen("policies: [", "policies: [(id: \"never\", start: 99999.0, action: (kind: \"outage\", asset: \"atacama\", capacity_lost: 0.9)),", 1);
    write(dir.path(), "never.ron", &text);
    let (code, _, err) = outcome(&orechain(&["validate", "never.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("policies.never.start: date 99999 is after 9999"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// 13. Overrides in `extends` files must match an inherited id
// ---------------------------------------------------------------------------------------------

#[test]
fn issue18_a_misspelt_override_id_is_an_unknown_id_with_a_suggestion() {
    let dir = tmp();
    let tiny = repo("scenarios/tiny.ron");
    write(
        dir.path(),
        "v.ron",
        &format!(
            "(extends: \"{}\", name: \"v\",\n  nations: [\n    (id: \"CHI\", governance: (regulatory_stability: 0.3, infrastructure: 0.5, labour_enforcement: 0.5, environmental_enforcement: 0.5)),\n  ],\n  assets: [(id: \"atacamma\", capacity_t_per_yr: 5.0)],\n)",
            path_str(&tiny)
        ),
    );
    let (code, _, err) = outcome(&orechain(&["validate", "v.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("v.ron:3:10: nations.CHI: unknown id `CHI`, did you mean `CHL`?"),
        "{err}"
    );
    assert!(
        err.contains("v.ron:5:17: assets.atacamma: unknown id `atacamma`, did you mean `atacama`?"),
        "{err}"
    );
    assert!(!err.contains("missing field"), "{err}");
    // The same change with the right id works, and so does a complete new element.
    let text = read(&dir.path().join("v.ron"))
        .replace("\"CHI\"", "\"CHL\"")
        .replace("\"atacamma\"", "\"atacama\"");
    write(dir.path(), "ok.ron", &text);
    let (code, _, err) = outcome(&orechain(&["validate", "ok.ron"], dir.path()));
    assert_eq!(code, 0, "{err}");
    let tiny_text = tiny_text();
    let chl_line = tiny_text
        .lines()
        .skip_while(|l| !l.contains("(id: \"CHL\""))
        .take_while(|l| !l.trim_start().starts_with("(id: \"CHN\""))
        .collect::<Vec<_>>()
        .join("\n");
    let new_nation = chl_line
        .replace("\"CHL\"", "\"ARG\"")
        .replace("\"Chile\"", "\"Argentina\"");
    write(
        dir.path(),
        "new.ron",
        &format!(
            "(extends: \"{}\", name: \"n\", nations: [{}])",
            path_str(&tiny),
            new_nation.trim_end().trim_end_matches(',')
        ),
    );
    let (code, _, err) = outcome(&orechain(&["validate", "new.ron"], dir.path()));
    assert_eq!(code, 0, "a complete new nation is accepted: {err}");
}

#[test]
fn issue18_a_misspelt_financier_gets_unknown_id_not_missing_field() {
    let dir = tmp();
    let base = repo("scenarios/baseline.ron");
    write(
        dir.path(),
        "f.ron",
        &format!(
            "(extends: \"{}\", name: \"f\", financiers: [(id: \"jbci\", annual_budget_usd: 1e9)])",
            path_str(&base)
        ),
    );
    let (code, _, err) = outcome(&orechain(&["validate", "f.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("financiers.jbci: unknown id `jbci`, did you mean `jbic`?"),
        "{err}"
    );
    assert!(!err.contains("missing field"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// 14. `--set` errors name the `--set`
// ---------------------------------------------------------------------------------------------

#[test]
fn issue18_set_value_errors_name_the_set_argument() {
    let dir = tmp();
    let base = repo("scenarios/baseline.ron");
    let set = "nations.CHL.governance.regulatory_stability=abc";
    let (code, _, err) = outcome(&orechain(
        &["run", path_str(&base), "--set", set, "-o", "o"],
        dir.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("in --set {set}: ")), "{err}");
    assert!(err.contains("expected a number"), "{err}");
    assert!(
        !err.contains("baseline.ron:"),
        "not at the file's line: {err}"
    );
    // A value of the right type but out of range: also the --set, not the file.
    let set = "nations.CHL.governance.regulatory_stability=2";
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            path_str(&base),
            "--set",
            "run.seed=3",
            "--set",
            set,
            "-o",
            "o",
        ],
        dir.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "in --set {set}: nations.CHL.governance.regulatory_stability: must be between 0 and 1"
        )),
        "{err}"
    );
    assert!(!err.contains("baseline.ron:"), "{err}");
    // A semantic problem of a --set value names the argument too.
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            path_str(&base),
            "--set",
            "run.steps_per_year=0",
            "-o",
            "o",
        ],
        dir.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("in --set run.steps_per_year=0: run.steps_per_year"),
        "{err}"
    );
    assert!(!dir.path().join("o").exists());
}

// ---------------------------------------------------------------------------------------------
// 15. Units are a checked vocabulary
// ---------------------------------------------------------------------------------------------

#[test]
fn issue18_a_mineral_unit_cannot_relabel_quantities() {
    let dir = tmp();
    let base = repo("scenarios/baseline.ron");
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            path_str(&base),
            "--set",
            "minerals.lithium.unit=\"t LCE\"",
            "-o",
            "o",
        ],
        dir.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("minerals.lithium.unit: unit `t LCE` is not the unit of lithium quantities")
            && err.contains("`t Li`"),
        "{err}"
    );
    assert!(!dir.path().join("o").exists());
    // The canonical unit and the generic `t` are accepted; anything else is not.
    for ok in ["t Li", "t"] {
        let text = tiny_text().replace("unit: \"t Li\"", &format!("unit: \"{ok}\""));
        write(dir.path(), "u.ron", &text);
        let (code, _, err) = outcome(&orechain(&["validate", "u.ron"], dir.path()));
        assert_eq!(code, 0, "{ok}: {err}");
    }
    let text = tiny_text().replace("unit: \"t Li\"", "unit: \"kg LCE\"");
    write(dir.path(), "u.ron", &text);
    let (code, _, err) = outcome(&orechain(&["validate", "u.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is not the unit of lithium quantities"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// 16. `validate` checks sweep files
// ---------------------------------------------------------------------------------------------

#[test]
fn issue18_validate_recognises_and_checks_sweep_files() {
    let dir = tmp();
    let sweep = repo("scenarios/sweeps/tiny_grid.ron");
    let (code, out, err) = outcome(&orechain(&["validate", path_str(&sweep)], dir.path()));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("ok (sweep `tiny_grid`, 6 design points, 24 runs)"),
        "{out}"
    );
    // An invalid sweep: a parameter path that does not exist and zero replicates.
    let text = read(&sweep)
        .replace(
            "base: \"../tiny.ron\"",
            &format!("base: \"{}\"", path_str(&repo("scenarios/tiny.ron"))),
        )
        .replace("replicates: 4", "replicates: 0")
        .replace(
            "assets.atacama.outage.probability_per_step",
            "assets.atacama.outage.probability",
        );
    write(dir.path(), "bad.ron", &text);
    let (code, _, err) = outcome(&orechain(&["validate", "bad.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the sweep file has"), "{err}");
    let line = text
        .lines()
        .position(|l| l.contains("replicates: 0"))
        .expect("edited")
        + 1;
    assert!(
        err.contains(&format!("bad.ron:{line}:")) && err.contains("replicates: must be at least 1"),
        "{err}"
    );
    assert!(err.contains("assets.atacama.outage.probability"), "{err}");
    assert!(!err.contains("unknown field `base`"), "{err}");
    // Scenario and sweep files mixed: each checked as what it is, all errors reported.
    let (code, out, err) = outcome(&orechain(
        &["validate", path_str(&repo("scenarios/tiny.ron")), "bad.ron"],
        dir.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(out.contains("tiny.ron: ok"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// 17. `generate` stays within the loader's limits
// ---------------------------------------------------------------------------------------------

#[test]
fn issue18_generate_refuses_sizes_the_loader_cannot_take() {
    let dir = tmp();
    for (args, fragment) in [
        (
            vec!["--nations", "60000"],
            "--nations 60000: the scenario loader allows at most 1000 nations",
        ),
        (
            vec!["--nations", "0"],
            "--nations 0: at least 2 nations are needed",
        ),
        (vec!["--nations", "1"], "--nations 1: at least 2 nations"),
        (
            vec!["--assets", "1e7"],
            "--assets 10000000 --prospects 0: at most 500000 assets and prospects",
        ),
        (
            vec!["--assets", "1e30"],
            "at most 500000 assets and prospects",
        ),
        (
            vec!["--firms", "0"],
            "--firms 0: between 1 and 100000 firms",
        ),
        (
            vec!["--end-year", "2000"],
            "--end-year 2000: between 2024 and",
        ),
    ] {
        let mut argv = vec!["generate", "-o", "g.ron"];
        argv.extend(args.iter().copied());
        let (code, _, err) = outcome(&orechain(&argv, dir.path()));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(fragment), "{args:?}: {err}");
        assert!(!dir.path().join("g.ron").exists(), "{args:?} wrote a file");
    }
    // The largest nation count generates a file the loader accepts.
    let (code, _, err) = outcome(&orechain(
        &[
            "generate",
            "--nations",
            "1000",
            "--firms",
            "20",
            "--assets",
            "100",
            "--end-year",
            "2024",
            "-o",
            "g.ron",
        ],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = outcome(&orechain(&["validate", "g.ron"], dir.path()));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("g.ron: ok"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// 17–18. Docs: every command is in the README's command list
// ---------------------------------------------------------------------------------------------

#[test]
fn issue18_readme_lists_every_command() {
    let dir = tmp();
    let (code, help, err) = outcome(&orechain(&["--help"], dir.path()));
    assert_eq!(code, 0, "{err}");
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 6, "{help}");
    let readme = read(&repo("README.md"));
    let block = readme
        .split("## Commands")
        .nth(1)
        .and_then(|s| s.split("```").nth(1))
        .expect("README has a Commands block");
    for c in commands {
        assert!(
            block.contains(&format!("orechain {c} ")) || block.contains(&format!("orechain {c}\n")),
            "README's command list lacks `{c}`"
        );
    }
}
