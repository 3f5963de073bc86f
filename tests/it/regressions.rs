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
