//! Fuzz target `sweep`: arbitrary bytes → the sweep-file loader (`sweep::spec::load_plan`) → checks
//! on the plan it resolves to, and at most one short run of its first design point.
//!
//! Sweep files are written by hand and by scripts and name a base scenario, a design and outcomes;
//! whatever they hold must give a plan or a clear error, never a panic, a hang or an absurd
//! allocation (a design of 4·10⁹ points, a design CSV that is `/dev/zero`). The loader reads files,
//! so every input is written as `sweeps/fuzz.ron` into a fixed folder that holds the shipped base
//! scenarios (`tiny.ron`, `baseline.ron`, `finance_race.ron`) and the shipped design CSV, laid out
//! like `scenarios/`: the shipped sweep files, used as seeds, resolve there unchanged.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use orechain::sweep::spec::{ParamValue, load_plan};

/// Runs longer than this many steps are not run (the probe run of the base is enough).
const RUN_MAX_STEPS: u32 = 200;

/// The fuzzing folder, created once per process: `<tmp>/orechain-fuzz-sweep-<pid>/`.
fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("orechain-fuzz-sweep-{}", std::process::id()));
        let files: [(&str, &str); 5] = [
            ("tiny.ron", include_str!("../../scenarios/tiny.ron")),
            ("baseline.ron", include_str!("../../scenarios/baseline.ron")),
            ("finance_race.ron", include_str!("../../scenarios/finance_race.ron")),
            (
                "sweeps/finance_race_points.csv",
                include_str!("../../scenarios/sweeps/finance_race_points.csv"),
            ),
            ("sweeps/points.csv", "x,y\n0.1,a\n0.2,b\n"),
        ];
        std::fs::create_dir_all(dir.join("sweeps")).expect("fuzz folder: create");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("fuzz folder: write base files");
        }
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    // Lossy decoding lets the parser see every input (the loader refuses non-UTF-8 files earlier).
    let text = String::from_utf8_lossy(data);
    let path = folder().join("sweeps/fuzz.ron");
    std::fs::write(&path, text.as_bytes()).expect("fuzz folder: write the input");
    let Ok(plan) = load_plan(&path) else {
        return;
    };
    // A valid plan has points, one value per parameter, and counts that agree.
    assert!(!plan.points.is_empty(), "a valid sweep has no design points");
    assert_eq!(plan.names.len(), plan.paths.len());
    for point in &plan.points {
        assert_eq!(point.len(), plan.names.len(), "a point has the wrong arity");
        for value in point {
            if let ParamValue::Number(x) = value {
                assert!(x.is_finite(), "a design value is {x}");
            }
        }
    }
    assert_eq!(plan.total_runs(), plan.points.len() as u64 * plan.replicates());
    let last = plan.total_runs() - 1;
    assert_eq!(plan.locate(last).0, plan.points.len() as u64 - 1);
    // The first run: its sets must load (or fail with an error), and a short valid one must run.
    let sets = plan.point_sets(0);
    let Ok(loaded) = plan.base.load(&sets) else {
        return;
    };
    if loaded.scenario.steps() > RUN_MAX_STEPS {
        return;
    }
    let scenario = loaded.scenario.with_seed(orechain::sweep::exec::run_seed(&plan, 0));
    let result = match orechain::sim::try_run(scenario.resolved()) {
        Ok(result) => result,
        Err(e) => panic!("a valid run hit a non-finite value: {e}"),
    };
    // Extraction may refuse a non-finite outcome, but must not panic.
    let _ = orechain::sweep::outcome::extract(&plan.file.outcomes, &result);
});
