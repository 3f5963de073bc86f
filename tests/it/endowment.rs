//! Supply from endowment (issue 15, docs/ODD.md §7.3.6): under IEA NZE demand
//! (`scenarios/nze_demand.ron`) refined capacity of every mineral keeps growing through 2040 where it
//! is needed (refining tight or demand unmet; docs/ODD.md §7.6.6), and the
//! generic projects that carry it cost more tranche by tranche. Ensemble of seeds, medians.

use std::collections::BTreeMap;

use crate::common::*;
use orechain::scenario::{Stage, load_file};
use orechain::sim::{RunResult, run};

const SEEDS: u64 = 8;

/// A value by (mineral, year).
type ByYear = BTreeMap<(String, i32), f64>;

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// First year whose refined-capacity growth (over the year before) is checked.
const GROWTH_FROM: i32 = 2026;

/// One year of one mineral's ensemble medians: refined capacity at the year's end, refining
/// utilisation (production / available capacity) and unmet share of demand.
#[derive(Clone, Copy, Debug)]
struct YearCheck {
    year: i32,
    capacity: f64,
    utilisation: f64,
    unmet: f64,
}

/// The years (after the first of `path`, consecutive years) in which refined capacity did not grow
/// although it was needed: refining at or above 90 % of available capacity, or unmet demand at or
/// above 2 % (docs/ODD.md §7.3.6, issue 15 must-show).
fn growth_violations(path: &[YearCheck]) -> Vec<YearCheck> {
    path.windows(2)
        .filter(|w| {
            w[1].capacity <= w[0].capacity && (w[1].utilisation >= 0.9 || w[1].unmet >= 0.02)
        })
        .map(|w| w[1])
        .collect()
}

#[test]
fn growth_check_flags_a_flat_year_only_when_capacity_is_needed() {
    let y = |year, capacity, utilisation, unmet| YearCheck {
        year,
        capacity,
        utilisation,
        unmet,
    };
    // Flat in 2027 with refining tight: flagged; flat in 2028 with idle refining: exempt; flat in
    // 2029 with 3 % unmet: flagged; falling in 2030 while tight: flagged; growing: never flagged.
    let path = [
        y(2026, 100.0, 0.95, 0.0),
        y(2027, 100.0, 0.95, 0.0),
        y(2028, 100.0, 0.80, 0.01),
        y(2029, 100.0, 0.80, 0.03),
        y(2030, 99.0, 0.92, 0.0),
        y(2031, 101.0, 0.99, 0.05),
    ];
    let years: Vec<i32> = growth_violations(&path).iter().map(|c| c.year).collect();
    assert_eq!(years, vec![2027, 2029, 2030]);
}

/// World refined capacity by (mineral, year) at the last step of each year, refined unmet demand /
/// demand by (mineral, year), and refining utilisation by (mineral, year): production / available
/// capacity (at the technical maximum, docs/ODD.md §7.6.6).
fn capacity_and_unmet(r: &RunResult) -> (ByYear, ByYear, ByYear) {
    let spy = 4;
    let mut cap = BTreeMap::new();
    let mut unmet = BTreeMap::new();
    let mut demand = BTreeMap::new();
    let mut produced = BTreeMap::new();
    let mut available = BTreeMap::new();
    for m in &r.metrics {
        let (Some(mi), Some(Stage::Refined), Some(_)) = (m.mineral, m.stage, m.nation) else {
            continue;
        };
        let name = r.registry.minerals[usize::from(mi.0)].clone();
        let year = 2024 + (m.step / spy) as i32;
        match m.metric {
            "capacity" if m.step % spy == spy - 1 => {
                *cap.entry((name, year)).or_insert(0.0) += m.value;
            }
            "unmet_demand" => *unmet.entry((name, year)).or_insert(0.0) += m.value,
            "demand" => *demand.entry((name, year)).or_insert(0.0) += m.value,
            "production" => *produced.entry((name, year)).or_insert(0.0) += m.value,
            "available_capacity" => *available.entry((name, year)).or_insert(0.0) += m.value,
            _ => {}
        }
    }
    let utilisation = produced
        .into_iter()
        .map(|(k, q)| {
            let a: f64 = available.get(&k).copied().unwrap_or(0.0);
            (k, if a > 0.0 { q / a } else { 1.0 })
        })
        .collect();
    let share = unmet
        .into_iter()
        .map(|(k, u)| {
            let d: f64 = demand.get(&k).copied().unwrap_or(0.0);
            (k, if d > 0.0 { u / d } else { 0.0 })
        })
        .collect();
    (cap, share, utilisation)
}

#[test]
fn under_nze_demand_refined_capacity_of_every_mineral_keeps_growing_at_a_rising_cost() {
    let loaded = load_file(&repo("scenarios/nze_demand.ron"), &[]).expect("nze_demand.ron loads");
    let minerals = [
        "cobalt",
        "copper",
        "graphite",
        "lithium",
        "nickel",
        "rare_earths",
    ];
    let years = [2030, 2033, 2036, 2040];
    let mut caps: BTreeMap<(String, i32), Vec<f64>> = BTreeMap::new();
    let mut unmet: BTreeMap<(String, i32), Vec<f64>> = BTreeMap::new();
    let mut utilisation: BTreeMap<(String, i32), Vec<f64>> = BTreeMap::new();
    // Every generated tranche: id -> (mineral, cash cost before learning / first tranche's, t/yr).
    let scenario = loaded.scenario.scenario();
    let tranches = orechain::scenario::resource_base::tranches(scenario);
    let first: BTreeMap<String, f64> = tranches
        .iter()
        .filter(|t| t.after.is_none())
        .map(|t| (t.id[..t.id.len() - 3].to_string(), t.unit_opex_usd_per_t))
        .collect();
    let terms: BTreeMap<&str, (String, f64, f64)> = tranches
        .iter()
        .map(|t| {
            let c0 = first[&t.id[..t.id.len() - 3]];
            (
                t.id.as_str(),
                (
                    t.mineral.clone(),
                    t.unit_opex_usd_per_t / c0,
                    t.capacity_t_per_yr,
                ),
            )
        })
        .collect();
    // mineral -> [(early relative cost × t, t), (late ..., t)], summed over seeds.
    let mut cost: BTreeMap<String, [(f64, f64); 2]> = BTreeMap::new();
    for seed in 1..=SEEDS {
        let r = run(loaded.scenario.clone().with_seed(seed).resolved());
        let (cap, share, used) = capacity_and_unmet(&r);
        // The ceiling guard never binds on a world refined price: shortage is priced, not rationed.
        let ratio = scenario.market.price_ceiling_ratio;
        let mut first: BTreeMap<u16, f64> = BTreeMap::new();
        for m in &r.metrics {
            let (Some(mi), Some(Stage::Refined), None, "price") =
                (m.mineral, m.stage, m.nation, m.metric)
            else {
                continue;
            };
            let p0 = *first.entry(mi.0).or_insert(m.value);
            assert!(
                m.value < 0.999 * ratio * p0,
                "seed {seed}: {} refined price at its ceiling guard at step {}",
                r.registry.minerals[usize::from(mi.0)],
                m.step
            );
        }
        for (k, v) in cap {
            caps.entry(k).or_default().push(v);
        }
        for (k, v) in used {
            utilisation.entry(k).or_default().push(v);
        }
        for (k, v) in share {
            unmet.entry(k).or_default().push(v);
        }
        // Rising cost: the cash cost before learning of the generic capacity approved in 2031-2040
        // (capacity-weighted, relative to each base's first tranche) exceeds that of 2024-2030.
        let mut generic = 0;
        for e in r.events.iter().filter(|e| e.kind == "approval") {
            let Some(a) = e.asset else { continue };
            let id = &r.registry.assets[a.0 as usize];
            let Some(t) = terms.get(id.as_str()) else {
                continue;
            };
            generic += 1;
            let late = usize::from(2024 + (e.step / 4) as i32 > 2030);
            let slot = cost.entry(t.0.clone()).or_insert([(0.0, 0.0); 2]);
            slot[late].0 += t.1 * t.2;
            slot[late].1 += t.2;
        }
        assert!(
            generic > 50,
            "seed {seed}: only {generic} generic approvals under NZE"
        );
    }
    for m in minerals {
        let med: Vec<f64> = years
            .iter()
            .map(|&y| median(caps[&(m.to_string(), y)].clone()))
            .collect();
        eprintln!(
            "{m}: median refined capacity 2030/2033/2036/2040 {:?}; median unmet share 2030/2035/2040 {:.3}/{:.3}/{:.3}",
            med,
            median(unmet[&(m.to_string(), 2030)].clone()),
            median(unmet[&(m.to_string(), 2035)].clone()),
            median(unmet[&(m.to_string(), 2040)].clone())
        );
        // Refined capacity grows wherever it is needed, checked every year 2026-2040: with
        // utilisation responding to price (issue 14) a mineral whose binding stage is ore (cobalt
        // under NZE: mines at 98-100 % of their technical maximum from 2026, recycled supply
        // growing) serves its demand from existing refineries. So a year in which the median
        // capacity does not grow must have refining below 90 % of its available capacity and unmet
        // demand below 2 % (medians over seeds).
        let path: Vec<YearCheck> = (GROWTH_FROM - 1..=2040)
            .map(|y| {
                let k = (m.to_string(), y);
                YearCheck {
                    year: y,
                    capacity: median(caps[&k].clone()),
                    utilisation: median(utilisation[&k].clone()),
                    unmet: median(unmet[&k].clone()),
                }
            })
            .collect();
        let exempt: Vec<String> = path
            .windows(2)
            .filter(|w| w[1].capacity <= w[0].capacity)
            .map(|w| format!("{} (refining {:.2})", w[1].year, w[1].utilisation))
            .collect();
        eprintln!("{m}: years without growth (exempt: idle refining, no shortage) {exempt:?}");
        let bad = growth_violations(&path);
        assert!(
            bad.is_empty(),
            "{m}: refined capacity stopped growing with refining >= 90 % of available capacity or unmet >= 2 % in {:?}",
            bad.iter()
                .map(|c| (c.year, c.capacity, c.utilisation, c.unmet))
                .collect::<Vec<_>>()
        );
    }
    // Generic capacity approved late sits higher up its base's cost curve than that approved early.
    for (m, [(e, et), (l, lt)]) in &cost {
        let (early, late) = (e / et.max(1e-9), l / lt.max(1e-9));
        eprintln!(
            "{m}: relative cost of approved generic capacity 2024-30 {early:.3}, 2031-40 {late:.3}"
        );
        if *et > 0.0 && *lt > 0.0 {
            assert!(
                late > early,
                "{m}: generic capacity did not get dearer ({early:.3} -> {late:.3})"
            );
        }
    }
    // Unmet demand stays below 2% (median over seeds) every year 2024-2040 for every mineral: with
    // the ceiling a numerical guard far above the clearing price (`market.price_ceiling_ratio`
    // 20, docs/ODD.md §7.6), shortage shows as price and the demand response, not as rationing.
    // (At 5x the guard bound and rationed graphite, rare earths and lithium in 2030-34.) Nothing
    // here is exempted for export controls: in NZE no control rations a consumer by 2% either.
    for m in minerals {
        for y in 2024..=2040 {
            let u = median(unmet[&(m.to_string(), y)].clone());
            assert!(u < 0.02, "{m} {y}: median unmet demand {u:.3}");
        }
    }
}
