//! Every shipped scenario and sweep loads and runs (issue 8): the scenario library is also a smoke
//! test. Files are discovered by listing `scenarios/` and `scenarios/sweeps/`, so a new file is
//! covered without editing this test, and none can rot unnoticed.

use std::path::PathBuf;

use orechain::scenario::load_file;
use orechain::sim::Simulation;
use orechain::sweep::spec::load_plan;
use orechain::types::Metrics;

use crate::common::repo;

/// The `.ron` files directly in a repository folder, sorted.
fn ron_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo(dir))
        .expect("the folder exists")
        .map(|entry| entry.expect("a readable folder entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
}

/// Steps every smoke run takes: one year at quarterly resolution.
const SMOKE_STEPS: usize = 4;

/// Build the scenario's world, run a few steps, and return how many metric rows were recorded.
fn run_a_few_steps(scenario: &orechain::scenario::validate::Validated) -> usize {
    let mut sim = Simulation::new(scenario.resolved(), true);
    for _ in 0..SMOKE_STEPS {
        if sim.finished() {
            break;
        }
        sim.step();
    }
    sim.world.resource::<Metrics>().rows.len()
}

#[test]
fn every_shipped_scenario_loads_and_runs_a_few_steps() {
    let files = ron_files("scenarios");
    // The library of issue 8 must be there (a rename would otherwise silently shrink the test).
    for name in [
        "baseline.ron",
        "finance_race.ron",
        "value_added_mandates.ron",
        "export_controls.ron",
        "standards_and_conflict.ron",
        "midstream_latam.ron",
        "trilateral.ron",
    ] {
        assert!(
            files.iter().any(|f| f.ends_with(name)),
            "scenarios/{name} is missing"
        );
    }
    for file in &files {
        let loaded = load_file(file, &[])
            .unwrap_or_else(|e| panic!("{} does not load:\n{e}", file.display()));
        let rows = run_a_few_steps(&loaded.scenario);
        assert!(rows > 0, "{} recorded no metrics", file.display());
    }
}

#[test]
fn every_shipped_sweep_validates_and_its_first_point_runs() {
    let files = ron_files("scenarios/sweeps");
    assert!(
        files.iter().any(|f| f.ends_with("finance_race.ron")),
        "scenarios/sweeps/finance_race.ron is missing"
    );
    for file in &files {
        let plan = load_plan(file)
            .unwrap_or_else(|e| panic!("sweep {} does not validate:\n{e}", file.display()));
        assert!(plan.total_runs() > 0, "{} has no runs", file.display());
        let sets = plan.point_sets(0);
        let loaded = plan
            .base
            .load(&sets)
            .unwrap_or_else(|e| panic!("{} point 0 does not load:\n{e}", file.display()));
        let rows = run_a_few_steps(&loaded.scenario);
        assert!(rows > 0, "{} point 0 recorded no metrics", file.display());
    }
}
