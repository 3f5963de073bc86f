//! `orechain validate` (issue 2): syntax, type and semantic errors carry file, line, column, field
//! path and what was expected, exit 2; all semantic problems are listed at once.

use crate::common::*;

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write scenario");
    p
}

#[test]
fn shipped_scenarios_validate() {
    let dir = tmp();
    for f in ["scenarios/tiny.ron", "scenarios/baseline.ron"] {
        let (code, out, err) = outcome(&orechain(
            &["validate", repo(f).to_str().expect("utf-8")],
            dir.path(),
        ));
        assert_eq!(code, 0, "{f}: {err}");
        assert!(out.contains("ok"), "{out}");
    }
}

#[test]
fn typo_in_field_name_reports_location_path_and_expected_fields() {
    let dir = tmp();
    let text = crate::common::read(&repo("scenarios/tiny.ron")).replace(
        "governance: (regulatory_stability: 0.7",
        "governance: (regulatory_stabilty: 0.7",
    );
    let p = write(dir.path(), "typo.ron", &text);
    let line = text
        .lines()
        .position(|l| l.contains("regulatory_stabilty"))
        .expect("typo present")
        + 1;
    let (code, _, err) = outcome(&orechain(&["validate", "typo.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("typo.ron:{line}:")),
        "no file:line in: {err}"
    );
    assert!(
        err.contains("nations.CHL.governance.regulatory_stabilty"),
        "no field path in: {err}"
    );
    assert!(err.contains("unknown field `regulatory_stabilty`"), "{err}");
    assert!(
        err.contains("regulatory_stability"),
        "expected fields not listed: {err}"
    );
    assert!(!p.with_extension("").join("metrics.csv").exists());
}

#[test]
fn three_semantic_errors_are_all_listed() {
    let dir = tmp();
    let text = crate::common::read(&repo("scenarios/tiny.ron"))
        // 1. unknown host nation
        .replace(
            "(id: \"atacama\", host: \"CHL\"",
            "(id: \"atacama\", host: \"XXX\"",
        )
        // 2. owner shares that do not sum to 1
        .replace(
            "owners: {\"sqm\": 0.8, \"tianqi\": 0.2}",
            "owners: {\"sqm\": 0.8, \"tianqi\": 0.3}",
        )
        // 3. negative capacity
        .replace("capacity_t_per_yr: 30000.0", "capacity_t_per_yr: -30000.0");
    write(dir.path(), "bad.ron", &text);
    let (code, _, err) = outcome(&orechain(&["validate", "bad.ron"], dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("3 problem(s)"), "{err}");
    assert!(
        err.contains("assets.atacama.host: unknown nation `XXX`"),
        "{err}"
    );
    assert!(
        err.contains("assets.atacama.owners: owner shares must sum to 1"),
        "{err}"
    );
    assert!(
        err.contains("assets.usa_refinery.capacity_t_per_yr: must be a non-negative quantity"),
        "{err}"
    );
    // Each problem points into the file.
    assert_eq!(err.matches("bad.ron:").count(), 3, "{err}");
}

#[test]
fn syntax_error_has_line_and_column() {
    let dir = tmp();
    write(
        dir.path(),
        "broken.ron",
        "Scenario(\n    name: \"x\"\n    run: (start_year: 2024),\n)\n",
    );
    let (code, _, err) = outcome(&orechain(&["validate", "broken.ron"], dir.path()));
    assert_eq!(code, 2);
    assert!(err.contains("broken.ron:3:5"), "{err}");
    assert!(err.contains("syntax error"), "{err}");
}

#[test]
fn wrong_type_names_field_and_expectation() {
    let dir = tmp();
    let text = crate::common::read(&repo("scenarios/tiny.ron"))
        .replace("steps_per_year: 4", "steps_per_year: \"four\"");
    write(dir.path(), "types.ron", &text);
    let (code, _, err) = outcome(&orechain(&["validate", "types.ron"], dir.path()));
    assert_eq!(code, 2);
    assert!(err.contains("run.steps_per_year"), "{err}");
    assert!(err.contains("expected u32"), "{err}");
}

#[test]
fn extends_overrides_and_cycles_are_errors() {
    let dir = tmp();
    std::fs::copy(repo("scenarios/tiny.ron"), dir.path().join("tiny.ron")).expect("copy");
    write(
        dir.path(),
        "variant.ron",
        "(extends: \"tiny.ron\", name: \"variant\", nations: [(id: \"CHL\", governance: (regulatory_stability: 0.2))])",
    );
    let out = dir.path().join("out");
    let (code, _, err) = outcome(&orechain(
        &[
            "run",
            "variant.ron",
            "-o",
            out.to_str().expect("utf-8"),
            "--no-figures",
        ],
        dir.path(),
    ));
    assert_eq!(code, 0, "{err}");
    let resolved = read(&out.join("scenario.ron"));
    assert!(
        resolved.contains("regulatory_stability: 0.2"),
        "override lost"
    );
    assert!(
        resolved.contains("infrastructure: 0.6"),
        "inherited value lost"
    );
    assert!(resolved.contains("name: \"variant\""));

    write(dir.path(), "a.ron", "(extends: \"b.ron\", name: \"a\")");
    write(dir.path(), "b.ron", "(extends: \"a.ron\", name: \"b\")");
    let (code, _, err) = outcome(&orechain(&["validate", "a.ron"], dir.path()));
    assert_eq!(code, 2);
    assert!(err.contains("cycle"), "{err}");
}
