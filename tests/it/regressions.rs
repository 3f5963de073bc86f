//! Regression tests for inputs that once crashed, hung or misbehaved, each named after its issue.
//! Inputs found by the fuzzer (`fuzz/`, issue 10) are kept here verbatim.

use crate::common::*;

/// Run a scenario text through `validate`; returns (exit code, stderr).
fn validate_text(text: &str) -> (i32, String) {
    let dir = tmp();
    let file = dir.path().join("case.ron");
    std::fs::write(&file, text).expect("write");
    let (code, _, err) = outcome(&orechain(
        &["validate", file.to_str().expect("utf-8")],
        dir.path(),
    ));
    (code, err)
}

#[test]
fn issue10_nationalisation_keeps_control_shares_summing_to_one() {
    // Found by the invariant property test: equity handed to a state firm whose home controlled
    // nothing of the commodity vanished from share_control.
    let dir = tmp();
    let text = read(&repo("scenarios/tiny.ron")).replacen(
        "    policies: [",
        "    policies: [\n        (id: \"nat\", start: 2025.0, action: (kind: \"nationalisation\", \
         nation: \"CHL\", mineral: \"lithium\", state_firm: \"albemarle\", share: 0.6)),",
        1,
    );
    let file = dir.path().join("nat.ron");
    std::fs::write(&file, text).expect("write");
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            file.to_str().expect("utf-8"),
            "-o",
            "out",
            "--no-figures",
        ],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&dir.path().join("out/metrics.csv"));
    for step in 0..12 {
        let sum: f64 = rows
            .iter()
            .filter(|r| {
                r[0] == step.to_string()
                    && r[2] == "share_control"
                    && r[3] == "lithium"
                    && r[4] == "ore"
            })
            .map(|r| r[7].parse::<f64>().expect("a number"))
            .sum();
        assert!((sum - 1.0).abs() < 1e-9, "step {step}: sum {sum}");
    }
    let usa = metric(&rows, 8, "share_control", "lithium", "ore", "USA").expect("USA row");
    assert!((usa - 0.6).abs() < 1e-9, "USA controls {usa}");
}

#[test]
fn issue10_huge_nation_count_is_refused_not_allocated() {
    // 1,001 nations would need 2 million nation-pair cells per table; the limit is 1,000 nations.
    let nations: Vec<String> = (0..1001).map(|i| format!("(id: \"N{i}\")")).collect();
    let text = format!(
        "(name: \"many\", run: (start_year: 2024, end_year: 2024),\n minerals: [(id: \"m\", \
         ore_price_usd_per_t: 1.0, refined_price_usd_per_t: 2.0)],\n nations: [{}])",
        nations.join(", ")
    );
    let (code, err) = validate_text(&text);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("has 1001 nations; at most 1000 are allowed"),
        "{err}"
    );
}

#[test]
fn issue10_pair_tables_too_large_are_refused() {
    // 600 nations × 100 minerals: 72 million tariff cells.
    let nations: Vec<String> = (0..600).map(|i| format!("(id: \"N{i}\")")).collect();
    let minerals: Vec<String> = (0..100)
        .map(|i| format!("(id: \"m{i}\", ore_price_usd_per_t: 1.0, refined_price_usd_per_t: 2.0)"))
        .collect();
    let text = format!(
        "(name: \"wide\", run: (start_year: 2024, end_year: 2024),\n minerals: [{}],\n nations: [{}])",
        minerals.join(", "),
        nations.join(", ")
    );
    let (code, err) = validate_text(&text);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cells of nation-pair tables"), "{err}");
}

#[test]
fn issue10_extends_dev_zero_is_refused_not_read_forever() {
    let (code, err) = validate_text("(extends: \"/dev/zero\", name: \"z\")");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn issue10_unknown_set_path_of_128_kb_answers_at_once() {
    // The nearest-path suggestion is an edit distance per valid path: bounded, it stays cheap.
    let dir = tmp();
    let tiny = repo("scenarios/tiny.ron");
    let set = format!("{}=1", "q".repeat(100_000));
    let (code, _, err) = outcome(&orechain(
        &["validate", tiny.to_str().expect("utf-8")],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            tiny.to_str().expect("utf-8"),
            "-o",
            "out",
            "--set",
            &set,
        ],
        dir.path(),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no such field `qqqq"), "{err}");
    assert!(err.len() < 4096, "{} bytes", err.len());
    assert!(!dir.path().join("out").exists());
}

/// Run `orechain sweep` on a sweep-file text (written next to a copy of tiny.ron); returns
/// (exit code, stderr) and checks that no output folder was created.
fn sweep_text(body: &str) -> (i32, String) {
    let dir = tmp();
    std::fs::copy(repo("scenarios/tiny.ron"), dir.path().join("tiny.ron")).expect("copy tiny");
    let file = dir.path().join("case.ron");
    std::fs::write(&file, body).expect("write");
    let (code, _, err) = outcome(&orechain(
        &["sweep", file.to_str().expect("utf-8"), "-o", "out"],
        dir.path(),
    ));
    assert!(
        !dir.path().join("out").exists(),
        "a refused sweep made a folder"
    );
    (code, err)
}

/// A sweep file over tiny.ron with the given parameters, design and replicates.
fn sweep_with(parameters: &str, design: &str, replicates: u64) -> String {
    format!(
        r#"Sweep(name: "s", base: "tiny.ron", seed: 1, replicates: {replicates},
    parameters: [{parameters}], design: {design},
    outcomes: [(name: "p", metric: "production", mineral: "lithium", stage: "ore", nation: "CHL")])"#
    )
}

#[test]
fn issue10_sweep_design_csv_dev_zero_is_refused_not_read_forever() {
    let (code, err) = sweep_text(&sweep_with(
        r#"(path: "run.end_year", name: "y", levels: [2030])"#,
        r#"(kind: "csv", file: "/dev/zero")"#,
        1,
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("design.file") && err.contains("not a regular file"),
        "{err}"
    );
}

#[test]
fn issue10_sweep_file_dev_zero_is_refused_not_read_forever() {
    let dir = tmp();
    let (code, _, err) = outcome(&orechain(&["sweep", "/dev/zero"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn issue10_sweep_designs_too_large_are_refused_not_allocated() {
    // 4·10⁹ random points, a grid of 1000⁴ points, and 2·10⁹ runs from replicates.
    let p =
        r#"(path: "assets.atacama.outage.probability_per_step", name: "p", min: 0.0, max: 0.5)"#;
    let cases = [
        (sweep_with(p, r#"(kind: "random", points: 4000000000)"#, 1), "design"),
        (
            sweep_with(
                &(0..4)
                    .map(|i| {
                        format!(
                            r#"(path: "assets.atacama.outage.probability_per_step", name: "p{i}", min: 0.0, max: 0.5)"#
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                r#"(kind: "grid", points_per_range: 1000)"#,
                1,
            ),
            "design",
        ),
        (sweep_with(p, r#"(kind: "random", points: 1000)"#, 2_000_000), "replicates"),
    ];
    for (text, field) in cases {
        let (code, err) = sweep_text(&text);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(field), "{err}");
        assert!(
            err.contains("at most") || err.contains("more than"),
            "{err}"
        );
    }
}

#[test]
fn issue10_sweep_range_with_infinite_span_is_refused() {
    // max − min overflows to infinity: every design value would be NaN or infinite.
    let (code, err) = sweep_text(&sweep_with(
        r#"(path: "assets.atacama.outage.probability_per_step", name: "p", min: -1e308, max: 1e308)"#,
        r#"(kind: "random", points: 4)"#,
        1,
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("finite `max - min`"), "{err}");
}

#[test]
fn issue10_generate_end_year_2024_writes_a_valid_scenario() {
    let dir = tmp();
    let (code, _, err) = outcome(&orechain(
        &[
            "generate",
            "--end-year",
            "2024",
            "--nations",
            "4",
            "--firms",
            "4",
            "--assets",
            "12",
            "-o",
            "g.ron",
        ],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = outcome(&orechain(&["validate", "g.ron"], dir.path()));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok"), "{out}");
}
