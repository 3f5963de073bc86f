//! Criterion benches on seeded scenes: a full baseline run, one step at increasing scale,
//! scenario load + validate (the baseline and a 10^4-asset synthetic world), a simulated year with
//! 10^3–10^4 prospects (the investment round), the investment phase alone (issue 15), every figure of a
//! baseline run, the CSV tables of a baseline run, `compare` of two ensembles, and a sweep of 200 baseline runs. Numbers of the latest measurement live in `benches/README.md`.

use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use orechain::output::figures::data::Settings;
use orechain::output::figures::render_run_csv;
use orechain::output::tables::{events_csv, flows_csv, metrics_csv};
use orechain::scenario::load::resolved_ron;
use orechain::scenario::synthetic::{SyntheticSize, synthetic};
use orechain::scenario::{Validated, load_file, load_str, validate};
use orechain::sim::{Simulation, run};
use orechain::sweep::exec::execute_run;
use orechain::sweep::spec::load_plan;
use orechain::sweep::{SweepOptions, run_sweep};

fn baseline_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/baseline.ron")
}

/// One full baseline run (2024–2040 quarterly), no output files.
fn bench_baseline_run(c: &mut Criterion) {
    let loaded = load_file(&baseline_path(), &[]).expect("baseline.ron loads");
    let mut group = c.benchmark_group("baseline");
    group.sample_size(30);
    group.bench_function("full_run", |b| {
        b.iter(|| black_box(run(loaded.scenario.resolved())))
    });
    group.finish();
}

/// Scenario load + validate (parse, extends, deserialise, validate).
fn bench_load(c: &mut Criterion) {
    let path = baseline_path();
    c.bench_function("load_validate_baseline", |b| {
        b.iter(|| black_box(load_file(&path, &[]).expect("baseline.ron loads")))
    });
}

/// One step of a warm world at 10^3, 10^4 and 10^5 assets; throughput in asset-steps.
fn bench_step_scale(c: &mut Criterion) {
    let mut group = c.benchmark_group("step_scale");
    group.sample_size(10);
    for assets in [1_000usize, 10_000, 100_000] {
        let scenario = synthetic(SyntheticSize {
            nations: 40,
            firms: (assets / 10).max(10),
            assets,
            prospects: 0,
            seed: 1,
            end_year: 2100,
        });
        let scenario = validate(scenario).expect("synthetic scenarios are valid");
        group.throughput(Throughput::Elements(assets as u64));
        group.bench_with_input(BenchmarkId::from_parameter(assets), &scenario, warm_step);
    }
    group.finish();
}

/// Time one step of a warm world: four steps already run, so caches and logs are populated.
fn warm_step(b: &mut criterion::Bencher<'_>, s: &Validated) {
    b.iter_batched(
        || {
            let mut sim = Simulation::new(s.resolved(), false);
            for _ in 0..4 {
                sim.step();
            }
            sim
        },
        |mut sim| {
            sim.step();
            sim
        },
        BatchSize::LargeInput,
    )
}

/// One step of a warm world of 10^4 assets with 40 and with 250 nations (every country plus
/// regions), issue 19's nations target: the 250-nation step within 3× the 40-nation one, world
/// building (`build_world`, timed separately as `nations_build`) at most quadratic in nations.
fn bench_nations(c: &mut Criterion) {
    let mut group = c.benchmark_group("nations_step");
    group.sample_size(10);
    let mut build = Vec::new();
    for nations in [40usize, 250] {
        let scenario = synthetic(SyntheticSize {
            nations,
            firms: 1_000,
            assets: 10_000,
            prospects: 0,
            seed: 1,
            end_year: 2100,
        });
        let scenario = validate(scenario).expect("synthetic scenarios are valid");
        group.bench_with_input(BenchmarkId::from_parameter(nations), &scenario, warm_step);
        build.push((nations, scenario));
    }
    group.finish();
    let mut group = c.benchmark_group("nations_build");
    group.sample_size(10);
    for (nations, scenario) in &build {
        group.bench_with_input(BenchmarkId::from_parameter(nations), scenario, |b, s| {
            b.iter(|| black_box(Simulation::new(s.resolved(), false)))
        });
    }
    group.finish();
}

/// One simulated year (four quarterly steps, the first of which runs the investment round) of a
/// warm world at 10^3, 10^4 and 10^5 assets with one prospect per ten assets (10^4 prospects at
/// 10^5 assets) and one firm per ten assets; throughput in asset-steps (assets × 4). Issue 15's
/// target: below 1 µs per asset-step at 10^5 assets.
fn bench_investment_year(c: &mut Criterion) {
    let mut group = c.benchmark_group("investment_year");
    group.sample_size(10);
    for assets in [1_000usize, 10_000, 100_000] {
        let scenario = synthetic(SyntheticSize {
            nations: 40,
            firms: (assets / 10).max(10),
            assets,
            prospects: assets / 10,
            seed: 1,
            end_year: 2100,
        });
        let scenario = validate(scenario).expect("synthetic scenarios are valid");
        group.throughput(Throughput::Elements(4 * assets as u64));
        group.bench_with_input(BenchmarkId::from_parameter(assets), &scenario, |b, s| {
            b.iter_batched(
                || {
                    // A warm world one year in: the next step is the start of a year.
                    let mut sim = Simulation::new(s.resolved(), false);
                    for _ in 0..4 {
                        sim.step();
                    }
                    sim
                },
                |mut sim| {
                    for _ in 0..4 {
                        sim.step();
                    }
                    sim
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// The investment phase alone (issue 15), at 10^4 and 10^5 assets with one prospect and one firm
/// per ten assets (10^4 prospects at 10^5 assets) and five state financiers offering every
/// instrument (concessional loan, grant, equity stake, price floor, political-risk insurance; the
/// synthetic generator has none). Each iteration builds a fresh world, warms it for one year (four
/// steps: caches filled, prices and expectations moving, the first round of projects under way),
/// then runs the second year and adds up the time of every system of investment and of the project
/// life cycle in its four steps — `refresh_finance_budgets`, `propose_projects` (candidates,
/// valuation, firms' and financiers' picks, host approval) and `advance_projects` (life cycle, real
/// options, deferral and cancellation, learning) — measured by phase markers
/// ([`Simulation::new_timed`]). The rest of the step (the market clearing above all, issue 19's
/// business) runs but is not counted; its time per asset-step is printed after the group, with
/// the split of the investment time. Throughput in asset-steps (assets × 4).
fn bench_investment_phase(c: &mut Criterion) {
    use orechain::scenario::schema::{FinanceObjective, Financier};
    use orechain::sim::timing::StepTimes;
    use orechain::types::{Lifecycle, Status};
    use std::time::Duration;
    let mut group = c.benchmark_group("investment_phase");
    group.sample_size(10);
    group.sampling_mode(criterion::SamplingMode::Flat);
    for assets in [10_000usize, 100_000] {
        let mut scenario = synthetic(SyntheticSize {
            nations: 40,
            firms: assets / 10,
            assets,
            prospects: assets / 10,
            seed: 1,
            end_year: 2100,
        });
        let nations: Vec<String> = scenario.nations.iter().map(|n| n.id.clone()).collect();
        scenario.financiers = (0..5)
            .map(|i| Financier {
                id: format!("FIN{i}"),
                name: String::new(),
                nation: nations[i * 7 % nations.len()].clone(),
                annual_budget_usd: 2.0e8 * (i + 1) as f64,
                max_share: 0.5,
                concessional_rate: 0.02,
                carry_over: i % 2 == 0,
                loan_tenor_years: 12.0,
                loan_grace_years: 3.0,
                grant_share: 0.05,
                equity_share: 0.1,
                price_floor_ratio: if i == 0 { 1.2 } else { 0.0 },
                price_floor_years: 10.0,
                insurance_cover: 0.5,
                objective: if i < 2 {
                    FinanceObjective::HostAlignment
                } else {
                    FinanceObjective::SupplySecurity
                },
            })
            .collect();
        let scenario = validate(scenario).expect("synthetic scenarios are valid");
        let mut total = StepTimes::default();
        let mut first = StepTimes::default();
        let mut years = 0u32;
        let mut open = 0usize;
        group.throughput(Throughput::Elements(4 * assets as u64));
        group.bench_with_input(BenchmarkId::from_parameter(assets), &scenario, |b, s| {
            b.iter_custom(|iters| {
                let mut measured = Duration::ZERO;
                for _ in 0..iters {
                    let mut sim = Simulation::new_timed(s.resolved());
                    for _ in 0..4 {
                        first.add(&sim.step_timed());
                    }
                    open += sim
                        .world
                        .query::<&Lifecycle>()
                        .iter(&sim.world)
                        .filter(|l| l.status == Status::Prospect)
                        .count();
                    for _ in 0..4 {
                        let t = sim.step_timed();
                        measured += t.investment();
                        total.add(&t);
                    }
                    years += 1;
                    black_box(&sim);
                }
                measured
            })
        });
        let per = |d: Duration| d.as_nanos() as f64 / (f64::from(years) * 4.0 * assets as f64);
        eprintln!(
            "investment_phase/{assets}: {years} measured years, {} prospects open at their start \
             (mean); ns per asset-step: investment {:.1} \
             (budgets {:.2}, proposals {:.1}, projects {:.1}), market {:.1}, whole step {:.1}",
            open / years.max(1) as usize,
            per(total.investment()),
            per(total.budgets),
            per(total.proposals),
            per(total.projects),
            per(total.market),
            per(total.step),
        );
        eprintln!(
            "investment_phase/{assets}: the warm-up year (all {} prospects open, not counted): \
             investment {:.1} (budgets {:.2}, proposals {:.1}, projects {:.1}), market {:.1}",
            assets / 10,
            per(first.investment()),
            per(first.budgets),
            per(first.proposals),
            per(first.projects),
            per(first.market),
        );
    }
    group.finish();
}

/// A sweep of 200 baseline runs (`scenarios/bench/sweep_200.ron`) on one worker thread: the runs
/// alone (each one's `--set` re-application, validation, simulation and outcome extraction, as a
/// worker does it), and the whole sweep command into a fresh temporary folder (journal, tables,
/// manifest). Runs/s with more threads is measured with the CLI (see `benches/README.md`).
fn bench_sweep(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/sweep_200.ron");
    let plan = load_plan(&path).expect("sweep_200.ron is a valid sweep");
    assert_eq!(plan.total_runs(), 200);
    let mut group = c.benchmark_group("sweep_200");
    group.sample_size(10);
    group.throughput(Throughput::Elements(plan.total_runs()));
    group.bench_function("runs_only", |b| {
        b.iter(|| {
            for run_id in 0..plan.total_runs() {
                black_box(execute_run(&plan, run_id));
            }
        })
    });
    group.bench_function("sweep_j1", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("a temporary folder"),
            |dir| {
                let opts = SweepOptions {
                    out_dir: dir.path().join("out"),
                    jobs: Some(1),
                    resume: false,
                    force: false,
                    shard: None,
                    figures: false,
                    args: Vec::new(),
                    format: Default::default(),
                };
                let report = run_sweep(&plan, &opts).expect("the sweep runs");
                assert_eq!(report.ok, 200);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// Loading a 10^4- and a 10^5-asset synthetic scenario from its RON text (parse, deserialise,
/// validate); issue 19's target is 0.3 s at 10^5 assets.
fn bench_load_synthetic(c: &mut Criterion) {
    let mut group = c.benchmark_group("load_synthetic");
    group.sample_size(10);
    for assets in [10_000usize, 100_000] {
        let scenario = synthetic(SyntheticSize {
            nations: 40,
            firms: assets / 10,
            assets,
            prospects: 0,
            seed: 1,
            end_year: 2026,
        });
        let text = resolved_ron(&scenario);
        drop(scenario);
        group.throughput(Throughput::Elements(assets as u64));
        group.bench_function(assets.to_string(), |b| {
            b.iter(|| black_box(load_str(&text, "synthetic.ron", &[]).expect("it loads")))
        });
    }
    group.finish();
}

/// Every figure of a baseline run (SVG, PNG and data CSV), drawn from its `metrics.csv` text as
/// `orechain run` and `plot` do (in parallel on rayon's pool).
fn bench_figures(c: &mut Criterion) {
    let loaded = load_file(&baseline_path(), &[]).expect("baseline.ron loads");
    let result = run(loaded.scenario.resolved());
    let metrics = metrics_csv(&result).expect("finite metrics");
    let settings = Settings::from_scenario(loaded.scenario.scenario());
    let mut group = c.benchmark_group("figures");
    group.sample_size(10);
    group.bench_function("baseline_all", |b| {
        b.iter(|| black_box(render_run_csv(&metrics, &settings).expect("figures draw")))
    });
    group.finish();
}

/// The CSV tables of a baseline run (`metrics.csv`, `flows.csv`, `events.csv`) as text.
fn bench_tables(c: &mut Criterion) {
    let loaded = load_file(&baseline_path(), &[]).expect("baseline.ron loads");
    let result = run(loaded.scenario.resolved());
    c.bench_function("tables_baseline", |b| {
        b.iter(|| {
            black_box(metrics_csv(&result).expect("finite"));
            black_box(flows_csv(&result).expect("finite"));
            black_box(events_csv(&result));
        })
    });
}

/// `orechain compare` without the files: 10 replicates each of the baseline and the trilateral
/// scenario (same seeds) read from their `metrics.csv` text into tables, then the per-step and
/// annual comparison CSVs (rows formatted in parallel on rayon's pool).
fn bench_compare(c: &mut Criterion) {
    use orechain::ensemble::table::{Tables, comparison_csv};
    let texts = |file: &str| -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let loaded = load_file(&path, &[]).expect("scenario loads");
        orechain::ensemble::seeds(7, 10)
            .into_iter()
            .map(|s| {
                let scenario = loaded.scenario.clone().with_seed(s);
                metrics_csv(&run(scenario.resolved())).expect("finite")
            })
            .collect()
    };
    let (a, b) = (
        texts("scenarios/baseline.ron"),
        texts("scenarios/trilateral.ron"),
    );
    let read = |texts: &[String]| {
        let mut t = Tables::new(texts.len());
        for (i, x) in texts.iter().enumerate() {
            t.read_replicate_from(x.as_bytes(), "metrics.csv", i)
                .expect("reads");
        }
        t
    };
    let mut group = c.benchmark_group("compare");
    group.sample_size(10);
    group.bench_function("read_10", |bch| bch.iter(|| black_box(read(&a))));
    let (ta, tb) = (read(&a), read(&b));
    group.bench_function("comparison_csv_10", |bch| {
        bch.iter(|| {
            black_box(comparison_csv(&ta.steps, &tb.steps, "step,year"));
            black_box(comparison_csv(&ta.years, &tb.years, "year"));
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_compare,
    bench_baseline_run,
    bench_load,
    bench_load_synthetic,
    bench_figures,
    bench_tables,
    bench_step_scale,
    bench_nations,
    bench_investment_year,
    bench_investment_phase,
    bench_sweep
);
criterion_main!(benches);
