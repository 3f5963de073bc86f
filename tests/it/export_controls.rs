//! Issue 14 must-show: `export_controls.ron` against the baseline has the right static incidence
//! in the baseline's own world. With capacity frozen (`investment.enabled = false` in both arms,
//! same seed, so both runs have the same plants and the same outages), in 2027 — the lithium
//! quota's first year, the second year of the graphite and rare-earth bans — the targeted buyers
//! (USA, JPN) pay more and consume less of each controlled mineral, China's sellers net less
//! (producer price) and China's buyers pay less (delivered unit value), and the lithium quota binds
//! at exactly its 10,000 t/yr with a rent. With investment on, the lithium result turns after
//! 2028 through the investment response (docs/ODD.md §7.6, "Incidence in the baseline"); this
//! test pins the static part.

use orechain::sim::{RunResult, run};
use orechain::types::Stage;

fn frozen(file: &str) -> RunResult {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sets = [
        "investment.enabled=false".to_string(),
        "run.end_year=2027".to_string(),
    ];
    let loaded = orechain::scenario::load_file(&root.join("scenarios").join(file), &sets)
        .unwrap_or_else(|e| panic!("{file} loads: {e:?}"));
    run(loaded.scenario.resolved())
}

/// Mean over 2027's steps of `metric` (refined stage) for `mineral` and `nation`.
fn mean_2027(r: &RunResult, metric: &str, mineral: &str, nation: &str) -> f64 {
    let m = r.registry.mineral(mineral).expect("mineral");
    let n = r.registry.nation(nation).expect("nation");
    let spy = r.steps_per_year;
    let first = (2027 - r.start_year) as u32 * spy;
    let v: Vec<f64> = r
        .metrics
        .iter()
        .filter(|x| {
            x.metric == metric
                && x.mineral == Some(m)
                && x.stage == Some(Stage::Refined)
                && x.nation == Some(n)
                && x.partner.is_none()
                && (first..first + spy).contains(&x.step)
        })
        .map(|x| x.value)
        .collect();
    assert_eq!(
        v.len(),
        spy as usize,
        "{metric} {mineral} {nation}: one row a step"
    );
    v.iter().sum::<f64>() / v.len() as f64
}

/// Tonnes of refined `mineral` China shipped to the US and Japan in 2027.
fn china_to_targets_2027(r: &RunResult, mineral: &str) -> f64 {
    let m = r.registry.mineral(mineral).expect("mineral");
    let chn = r.registry.nation("CHN").expect("CHN");
    let targets = [
        r.registry.nation("USA").expect("USA"),
        r.registry.nation("JPN").expect("JPN"),
    ];
    let first = (2027 - r.start_year) as u32 * r.steps_per_year;
    r.flows
        .iter()
        .filter(|f| {
            f.mineral == m
                && f.stage == Stage::Refined
                && f.from == chn
                && targets.contains(&f.to)
                && (first..first + r.steps_per_year).contains(&f.step)
        })
        .map(|f| f.quantity_t)
        .sum()
}

#[test]
fn export_controls_raise_the_targets_prices_and_lower_chinas_with_capacity_frozen() {
    let base = frozen("baseline.ron");
    let ctrl = frozen("export_controls.ron");
    let mut wrong = Vec::new();
    for mineral in ["graphite", "rare_earths", "lithium"] {
        let diff = |metric: &str, nation: &str| {
            mean_2027(&ctrl, metric, mineral, nation) - mean_2027(&base, metric, mineral, nation)
        };
        for target in ["USA", "JPN"] {
            let (dp, dq) = (diff("price", target), diff("consumption", target));
            if dp <= 0.0 || dq >= 0.0 {
                wrong.push(format!(
                    "{mineral} {target}: price {dp:+.1}, consumption {dq:+.1}"
                ));
            }
        }
        let (dp, dpp) = (diff("price", "CHN"), diff("producer_price", "CHN"));
        if dp >= 0.0 || dpp >= 0.0 {
            wrong.push(format!(
                "{mineral} CHN: price {dp:+.1}, producer price {dpp:+.1}"
            ));
        }
    }
    assert!(wrong.is_empty(), "wrong incidence: {wrong:?}");
    // The lithium quota binds: exactly 10,000 t/yr reach the US and Japan from China, against
    // more than twice that without it, and China earns a rent on it.
    let (with, without) = (
        china_to_targets_2027(&ctrl, "lithium"),
        china_to_targets_2027(&base, "lithium"),
    );
    assert!(
        (with - 10_000.0).abs() < 1e-6 * 10_000.0,
        "quota flow {with}"
    );
    assert!(without > 20_000.0, "flow without the quota {without}");
    assert!(
        mean_2027(&ctrl, "quota_rent_usd", "lithium", "CHN") > 0.0,
        "no quota rent"
    );
}
