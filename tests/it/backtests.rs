//! Backtests shipped with the tool (issue 17): each `validation/*.expect.ron` runs over its ensemble
//! of seeds, and the set of checks that fail must be exactly the set its file marks
//! `known_failing` — so a model change that fixes a known failure, or breaks a passing check, fails
//! this test until the file and `docs/validation.md` are updated. The harness itself must be able
//! to fail: an impossible expectation evaluates to fail, and a loosened one to pass.

use std::collections::BTreeSet;

use crate::common::*;
use orechain::validation::{self, Check, Op, Operand, Stat};

const EXPECTED: [&str; 3] = [
    "cobalt_2017.expect.ron",
    "graphite_2023.expect.ron",
    "nickel_2022.expect.ron",
];

fn results() -> Vec<validation::BacktestResult> {
    let dir = repo("validation");
    let files = validation::discover(&dir).expect("validation/ is readable");
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.file_name()
                .expect("backtest test step")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, EXPECTED, "the shipped backtests");
    validation::command::run_all(&files, None).expect("every backtest loads and runs")
}

#[test]
fn failing_checks_are_exactly_the_known_failing_ones() {
    let mut report = String::new();
    let mut bad = Vec::new();
    for r in results() {
        assert!(
            r.seeds.len() >= 10,
            "{}: an ensemble of >= 10 seeds",
            r.spec.name
        );
        assert!(
            r.checks.len() >= 3,
            "{}: at least three checks",
            r.spec.name
        );
        for c in &r.checks {
            assert!(
                !c.check.source.trim().is_empty(),
                "{}/{}: a source",
                r.spec.name,
                c.check.id
            );
        }
        let failing: BTreeSet<String> = r.failing().into_iter().collect();
        let known: BTreeSet<String> = r.known_failing().into_iter().collect();
        report.push_str(&r.table());
        if failing != known {
            bad.push(format!(
                "{}: failing {failing:?}, marked known_failing {known:?}",
                r.spec.name
            ));
        }
    }
    assert!(bad.is_empty(), "{}\n{report}", bad.join("\n"));
}

#[test]
fn each_backtest_has_a_passing_check_and_the_ensemble_varies() {
    for r in results() {
        assert!(
            r.checks.iter().any(|c| c.pass),
            "{}: at least one check passes",
            r.spec.name
        );
        // The seeds differ (random outages), so the ensemble is not one run repeated.
        let varies = r
            .bands()
            .values()
            .flatten()
            .any(|(_, p05, _, p95, _)| p95 > p05);
        assert!(varies, "{}: some series differs across seeds", r.spec.name);
    }
}

/// A check with a window over the whole cobalt run.
fn price_check(op: Op, factor: f64) -> Check {
    Check {
        id: "synthetic".into(),
        claim: String::new(),
        observed: String::new(),
        source: "test".into(),
        tolerance: String::new(),
        left: Operand::Stat {
            series: "price".into(),
            stat: Stat::Max,
            from: 2016.0,
            to: 2020.0,
        },
        op,
        factor,
        right: Operand::Stat {
            series: "price".into(),
            stat: Stat::Min,
            from: 2016.0,
            to: 2020.0,
        },
        known_failing: None,
    }
}

#[test]
fn the_harness_can_fail() {
    let mut bt = validation::load(&repo("validation").join("cobalt_2017.expect.ron"))
        .expect("backtest test step");
    bt.spec.checks = vec![
        // The peak price can never be below the trough: impossible, must fail on every seed.
        {
            let mut c = price_check(Op::Le, 1.0);
            c.id = "impossible".into();
            c.factor = 0.5;
            c
        },
        // Always true.
        {
            let mut c = price_check(Op::Ge, 1.0);
            c.id = "trivial".into();
            c
        },
        // A window outside the run: no data, so it fails (never passes by default).
        {
            let mut c = price_check(Op::Ge, 0.0);
            c.id = "empty_window".into();
            c.left = Operand::Stat {
                series: "price".into(),
                stat: Stat::Max,
                from: 2030.0,
                to: 2031.0,
            };
            c
        },
    ];
    let r = validation::run(&bt, Some(3)).expect("backtest test step");
    let by_id = |id: &str| {
        r.checks
            .iter()
            .find(|c| c.check.id == id)
            .expect("backtest test step")
    };
    assert_eq!(by_id("impossible").passed, 0);
    assert!(!by_id("impossible").pass);
    assert_eq!(by_id("trivial").passed, 3);
    assert!(by_id("trivial").pass);
    assert!(!by_id("empty_window").pass);
    assert_eq!(
        r.surprises(),
        vec!["impossible".to_string(), "empty_window".to_string()]
    );
}

#[test]
fn cli_writes_the_table_and_figures_and_flags_surprises() {
    let tmp = tmp();
    let out = tmp.path().join("bt");
    let file = repo("validation").join("graphite_2023.expect.ron");
    let o = orechain(
        &[
            "backtest",
            file.to_str().expect("backtest test step"),
            "-n",
            "3",
            "-o",
            out.to_str().expect("backtest test step"),
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("backtest.csv")).expect("backtest test step");
    assert!(csv.starts_with("backtest,check,claim,source,seeds_passed,n,share,min_share,pass,"));
    assert_eq!(csv.lines().count(), 1 + 4);
    assert!(out.join("series.csv").is_file());
    assert!(out.join("figures/graphite_2023_exports.png").is_file());
    assert!(out.join("figures/graphite_2023_exports.svg").is_file());
    assert!(out.join("manifest.json").is_file());

    // A malformed expectations file: exit 2, a located message, no folder.
    let bad = tmp.path().join("bad.expect.ron");
    std::fs::write(&bad, "Expectations(name: \"x\", scenario: 3)").expect("backtest test step");
    let out2 = tmp.path().join("bt2");
    let o = orechain(
        &[
            "backtest",
            bad.to_str().expect("backtest test step"),
            "-o",
            out2.to_str().expect("backtest test step"),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.expect.ron"), "{err}");
    assert!(!out2.exists());
}

#[test]
fn inconsistent_expectation_files_are_rejected_with_the_reason() {
    let tmp = tmp();
    let write = |name: &str, body: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, body).expect("write a test file");
        p
    };
    let head = r#"Expectations(name: "x", scenario: "s.ron",
        series: {"p": (kind: "metric", metric: "price", mineral: "cobalt", stage: "refined", label: "P", unit: "USD/t")},"#;
    let check = |series: &str, from: f64, to: f64| {
        format!(
            r#"checks: [(id: "c", claim: "", observed: "", source: "s", tolerance: "",
            left: (series: "{series}", stat: "max", from: {from:?}, to: {to:?}), op: ">=", right: (value: 1.0))])"#
        )
    };
    let cases = [
        (
            "unknown_series.expect.ron",
            check("q", 2016.0, 2017.0),
            "series `q`",
        ),
        (
            "empty_window.expect.ron",
            check("p", 2017.0, 2016.0),
            "window",
        ),
    ];
    for (name, tail, expected) in cases {
        let p = write(name, &format!("{head}\n{tail}"));
        let err = validation::load(&p).expect_err("an inconsistent file is rejected");
        let msg = err.to_string();
        assert!(msg.contains(expected) && msg.contains(name), "{msg}");
    }
    // A type error carries the file, line and column (the scenario loader's error quality).
    let p = write(
        "typo.expect.ron",
        &format!(
            "{head}\n{}",
            check("p", 2016.0, 2017.0).replace("op: \">=\"", "op: \"=>\"")
        ),
    );
    let msg = validation::load(&p)
        .expect_err("a bad operator")
        .to_string();
    assert!(msg.contains("typo.expect.ron:"), "{msg}");
}
