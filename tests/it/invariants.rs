//! Model invariants over generated scenarios (issue 10), with proptest.
//!
//! Random small worlds (nations, minerals, firms, assets in every status, random outages, dated
//! policies of several kinds, demand) are built as scenario values, validated, and stepped to the
//! end. After every step the test checks what must hold whatever the parameters: every value is
//! finite (the guard passes), capacities and production are non-negative, location and control
//! shares lie in [0, 1] and sum to 1 per commodity and step, HHI lies in [1/n, 1], output never
//! exceeds potential output, owner shares sum to 1, asset life cycles only move forward (no
//! project goes back from construction or operation to permitting; closed and cancelled are final),
//! and refined mass balances: refined output + recycled output = purchases = use + the change of
//! consumer stocks and strategic stockpiles (generated worlds include stockpiles and recycling),
//! and scrap balances: collected <= generated, Δ scrap stock = collected − recycled.
//!
//! Scenarios are generated as JSON values and deserialised, so fields other modules add to the
//! schema later (all with defaults) do not break the generator.

use std::collections::BTreeMap;

use orechain::scenario::{Scenario, validate};
use orechain::sim::Simulation;
use orechain::types::{AssetIdx, Lifecycle, Output, Ownership, Status};
use orechain::types::{Clock, Metrics};
use proptest::prelude::*;
use serde_json::{Value, json};

const STATUSES: [&str; 8] = [
    "prospect",
    "permitting",
    "construction",
    "ramp_up",
    "operating",
    "suspended",
    "closed",
    "cancelled",
];

#[derive(Clone, Debug)]
struct AssetSpec {
    host: usize,
    mineral: usize,
    refined: bool,
    status: usize,
    capacity: f64,
    utilisation: f64,
    owners: Vec<(usize, f64)>,
    outage: Option<(f64, f64, u32)>,
}

/// Recycling of one mineral in a generated world (see `Spec::recycling`).
type RecyclingSpec = (usize, f64, f64, f64, f64, f64, f64, f64, f64);

#[derive(Clone, Debug)]
enum PolicySpec {
    Outage {
        asset: usize,
        lost: f64,
    },
    Nationalisation {
        nation: usize,
        mineral: usize,
        firm: usize,
        share: f64,
    },
    ExportControl {
        exporter: usize,
        mineral: usize,
        refined: bool,
        mode: usize,
    },
    Tariff {
        importer: usize,
        mineral: usize,
        rate: f64,
    },
    Mandate {
        nation: usize,
        ban: bool,
    },
    Fta {
        nation: usize,
        partner: usize,
    },
}

#[derive(Clone, Debug)]
struct Spec {
    start_year: i32,
    years: i32,
    steps_per_year: u32,
    seed: u64,
    nations: usize,
    minerals: usize,
    firms: Vec<usize>,
    assets: Vec<AssetSpec>,
    /// Policy, start and length as fractions of the horizon.
    policies: Vec<(PolicySpec, f64, Option<f64>)>,
    demand: Vec<(usize, usize, f64)>,
    /// Prospects: host, mineral, refined, capacity t/yr, capex USD.
    prospects: Vec<(usize, usize, bool, f64, f64)>,
    /// Strategic stockpiles: nation, mineral, capacity t, opening fill share, buy trigger as a
    /// multiple of the refined reference price (release at 1.5 times that).
    stockpiles: Vec<(usize, usize, f64, f64, f64)>,
    /// Recycling (docs/ODD.md §7.6.5): mineral, end-use share, lifetime mean and sd (years),
    /// back-cast growth, collection rate, recovery, recycling capacity of every consumer (t/yr),
    /// cash cost as a multiple of the refined reference price.
    recycling: Vec<RecyclingSpec>,
}

fn quantity() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), 0.0..1e6_f64, 1e6..1e12_f64, Just(1e12),]
}

fn unit() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), 0.0..=1.0_f64, Just(1.0)]
}

fn asset_spec() -> impl Strategy<Value = AssetSpec> {
    (
        (0..100usize, 0..100usize, any::<bool>(), 0..STATUSES.len()),
        (quantity(), unit()),
        prop::collection::vec((0..100usize, 0.01..1.0_f64), 1..4),
        prop::option::of((unit(), unit(), 1..10u32)),
    )
        .prop_map(
            |((host, mineral, refined, status), (capacity, utilisation), owners, outage)| {
                AssetSpec {
                    host,
                    mineral,
                    refined,
                    status,
                    capacity,
                    utilisation,
                    owners,
                    outage,
                }
            },
        )
}

fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    prop_oneof![
        (0..100usize, unit()).prop_map(|(asset, lost)| PolicySpec::Outage { asset, lost }),
        (0..100usize, 0..100usize, 0..100usize, unit()).prop_map(
            |(nation, mineral, firm, share)| PolicySpec::Nationalisation {
                nation,
                mineral,
                firm,
                share
            }
        ),
        (0..100usize, 0..100usize, any::<bool>(), 0..3usize).prop_map(
            |(exporter, mineral, refined, mode)| PolicySpec::ExportControl {
                exporter,
                mineral,
                refined,
                mode
            }
        ),
        (0..100usize, 0..100usize, 0.0..5.0_f64).prop_map(|(importer, mineral, rate)| {
            PolicySpec::Tariff {
                importer,
                mineral,
                rate,
            }
        }),
        (0..100usize, any::<bool>()).prop_map(|(nation, ban)| PolicySpec::Mandate { nation, ban }),
        (0..100usize, 0..100usize)
            .prop_map(|(nation, partner)| PolicySpec::Fta { nation, partner }),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (
            1990..2100i32,
            1..4i32,
            prop_oneof![Just(1u32), Just(4), Just(12), Just(52)],
            any::<u64>(),
        ),
        (1..6usize, 1..3usize),
        prop::collection::vec(0..100usize, 1..5),
        prop::collection::vec(asset_spec(), 0..10),
        prop::collection::vec(
            (policy_spec(), 0.0..1.0_f64, prop::option::of(0.01..1.0_f64)),
            0..6,
        ),
        prop::collection::vec((0..100usize, 0..100usize, quantity()), 0..6),
        prop::collection::vec(
            (
                0..100usize,
                0..100usize,
                any::<bool>(),
                1.0..1e6_f64,
                1e6..1e10_f64,
            ),
            0..4,
        ),
        prop::collection::vec(
            (0..100usize, 0..100usize, 1.0..1e6_f64, unit(), 0.2..3.0_f64),
            0..3,
        ),
        prop::collection::vec(
            (
                0..100usize,
                0.05..1.0_f64,
                0.3..30.0_f64,
                0.1..10.0_f64,
                -0.2..0.6_f64,
                0.0..1.0_f64,
                0.1..1.0_f64,
                0.0..1e6_f64,
                0.05..2.0_f64,
            ),
            0..3,
        ),
    )
        .prop_map(
            |(
                (start_year, years, steps_per_year, seed),
                (nations, minerals),
                firms,
                assets,
                policies,
                demand,
                prospects,
                stockpiles,
                recycling,
            )| Spec {
                start_year,
                years,
                steps_per_year,
                seed,
                nations,
                minerals,
                firms,
                assets,
                policies,
                demand,
                prospects,
                stockpiles,
                recycling,
            },
        )
}

const MODES: [&str; 3] = ["ban", "quota", "licence_delay"];
const FIRM_KINDS: [&str; 4] = ["miner", "refiner", "integrated", "state_company"];

fn nation_id(i: usize) -> String {
    format!("N{i}")
}
fn mineral_id(i: usize) -> String {
    format!("m{i}")
}
fn firm_id(i: usize) -> String {
    format!("f{i}")
}
fn asset_id(i: usize) -> String {
    format!("a{i}")
}
fn stage(refined: bool) -> &'static str {
    if refined { "refined" } else { "ore" }
}

/// The scenario a spec describes, as a JSON value in the schema's shape.
fn scenario_json(s: &Spec) -> Value {
    let n = s.nations;
    let m = s.minerals;
    let f = s.firms.len();
    let minerals: Vec<Value> = (0..m)
        .map(|i| {
            json!({"id": mineral_id(i), "ore_price_usd_per_t": 1000.0 * (i + 1) as f64,
                   "refined_price_usd_per_t": 3000.0 * (i + 1) as f64})
        })
        .collect();
    let mut demand: BTreeMap<usize, BTreeMap<usize, f64>> = BTreeMap::new();
    for &(nation, mineral, t) in &s.demand {
        demand.entry(nation % n).or_default().insert(mineral % m, t);
    }
    let nations: Vec<Value> = (0..n)
        .map(|i| {
            let d: Vec<Value> = demand
                .get(&i)
                .map(|per| {
                    per.iter()
                        .map(|(mineral, t)| {
                            json!({"mineral": mineral_id(*mineral),
                                   "points": [[f64::from(s.start_year), t]]})
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({"id": nation_id(i), "entity_of_concern": i == 0, "demand": d})
        })
        .collect();
    let firms: Vec<Value> = s
        .firms
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            json!({"id": firm_id(i), "home": nation_id(i % n),
                   "kind": FIRM_KINDS[kind % FIRM_KINDS.len()]})
        })
        .collect();
    let assets: Vec<Value> = s
        .assets
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut weights: BTreeMap<usize, f64> = BTreeMap::new();
            for &(firm, w) in &a.owners {
                *weights.entry(firm % f).or_default() += w;
            }
            let total: f64 = weights.values().sum();
            let mut owners = serde_json::Map::new();
            for (firm, w) in &weights {
                owners.insert(firm_id(*firm), json!(w / total));
            }
            let mut asset = json!({
                "id": asset_id(i), "host": nation_id(a.host % n), "mineral": mineral_id(a.mineral % m),
                "stage": stage(a.refined), "status": STATUSES[a.status],
                "capacity_t_per_yr": a.capacity, "utilisation": a.utilisation, "owners": owners,
            });
            if let Some((p, lost, d)) = a.outage {
                asset["outage"] =
                    json!({"probability_per_step": p, "capacity_lost": lost, "duration_steps": d});
            }
            asset
        })
        .collect();
    let horizon = f64::from(s.years);
    let start = f64::from(s.start_year);
    let policies: Vec<Value> = s
        .policies
        .iter()
        .enumerate()
        .filter_map(|(i, (p, from, len))| {
            let action = match p {
                PolicySpec::Outage { asset, lost } => {
                    if s.assets.is_empty() {
                        return None;
                    }
                    json!({"kind": "outage", "asset": asset_id(asset % s.assets.len()),
                           "capacity_lost": lost})
                }
                PolicySpec::Nationalisation {
                    nation,
                    mineral,
                    firm,
                    share,
                } => json!({"kind": "nationalisation", "nation": nation_id(nation % n),
                            "mineral": mineral_id(mineral % m), "state_firm": firm_id(firm % f),
                            "share": share}),
                PolicySpec::ExportControl {
                    exporter,
                    mineral,
                    refined,
                    mode,
                } => json!({"kind": "export_control", "exporter": nation_id(exporter % n),
                            "mineral": mineral_id(mineral % m), "stage": stage(*refined),
                            "mode": MODES[*mode],
                            "quota_t_per_yr": 1000.0, "delay_steps": 2}),
                PolicySpec::Tariff {
                    importer,
                    mineral,
                    rate,
                } => json!({"kind": "tariff", "importer": nation_id(importer % n),
                            "mineral": mineral_id(mineral % m), "stage": "refined", "rate": rate}),
                PolicySpec::Mandate { nation, ban } => json!({"kind": "local_processing_mandate",
                            "nation": nation_id(nation % n), "ore_export_ban": ban}),
                PolicySpec::Fta { nation, partner } => json!({"kind": "fta_agreement",
                            "nation": nation_id(nation % n), "partner": nation_id(partner % n)}),
            };
            let begin = start + from * horizon;
            let mut policy = json!({"id": format!("p{i}"), "start": begin, "action": action});
            if let Some(len) = len {
                policy["end"] = json!(begin + len * horizon);
            }
            Some(policy)
        })
        .collect();
    let prospects: Vec<Value> = s
        .prospects
        .iter()
        .enumerate()
        .map(|(i, &(host, mineral, refined, capacity, capex))| {
            json!({"id": format!("q{i}"), "host": nation_id(host % n),
                   "mineral": mineral_id(mineral % m), "stage": stage(refined),
                   "capacity_t_per_yr": capacity, "capex_usd": capex,
                   "unit_opex_usd_per_t": 500.0})
        })
        .collect();
    // Stockpiles only where the nation consumes the mineral, one per (nation, mineral).
    let mut held = std::collections::BTreeSet::new();
    let stockpiles: Vec<Value> = s
        .stockpiles
        .iter()
        .enumerate()
        .filter_map(|(i, &(nation, mineral, capacity, fill, k))| {
            let (nation, mineral) = (nation % n, mineral % m);
            let consumes = demand
                .get(&nation)
                .is_some_and(|d| d.contains_key(&mineral));
            (consumes && held.insert((nation, mineral))).then(|| {
                let refined = 3000.0 * (mineral + 1) as f64;
                json!({"id": format!("s{i}"), "nation": nation_id(nation),
                       "mineral": mineral_id(mineral), "capacity_t": capacity,
                       "initial_t": capacity * fill, "buy_below_usd_per_t": refined * k,
                       "release_above_usd_per_t": refined * k * 1.5,
                       "max_buy_t_per_yr": capacity, "max_release_t_per_yr": capacity})
            })
        })
        .collect();
    // Recycling of at most one entry per mineral; plants and a collection trajectory for every
    // consumer of it.
    let mut recycled = std::collections::BTreeSet::new();
    let mut rec_minerals = Vec::new();
    let mut plants = Vec::new();
    let mut collection = Vec::new();
    for &(mineral, share, mean, sd, growth, rate, recovery, capacity, cost) in &s.recycling {
        let mineral = mineral % m;
        if !recycled.insert(mineral) {
            continue;
        }
        let refined = 3000.0 * (mineral + 1) as f64;
        rec_minerals.push(
            json!({"mineral": mineral_id(mineral), "backcast_growth_per_yr": growth,
            "collection_rate": rate, "recovery": recovery, "unit_opex_usd_per_t": refined * cost,
            "end_uses": [{"id": "u", "share": share, "lifetime_mean_years": mean,
                          "lifetime_sd_years": sd}]}),
        );
        for (nation, per) in &demand {
            if per.contains_key(&mineral) {
                plants.push(
                    json!({"nation": nation_id(*nation), "mineral": mineral_id(mineral),
                                   "capacity_t_per_yr": capacity}),
                );
                if nation % 2 == 0 {
                    collection.push(json!({"nation": nation_id(*nation),
                        "mineral": mineral_id(mineral),
                        "points": [[f64::from(s.start_year), rate],
                                   [f64::from(s.start_year) + horizon, 1.0 - rate]]}));
                }
            }
        }
    }
    json!({
        "name": "generated",
        "run": {"start_year": s.start_year, "end_year": s.start_year + s.years - 1,
                "steps_per_year": s.steps_per_year, "seed": s.seed},
        "minerals": minerals, "nations": nations, "firms": firms, "assets": assets,
        "prospects": prospects, "policies": policies, "stockpiles": stockpiles,
        "recycling": {"minerals": rec_minerals, "plants": plants, "collection": collection},
    })
}

/// Rank of a status on the life-cycle path; suspended ranks with operating (it may resume).
fn rank(status: Status) -> u8 {
    match status {
        Status::Prospect => 0,
        Status::Permitting => 1,
        Status::Construction => 2,
        Status::RampUp => 3,
        Status::Operating | Status::Suspended => 4,
        Status::Closed | Status::Cancelled => 5,
    }
}

const TOLERANCE: f64 = 1e-9;

/// The recovery of a mineral's recycling in the generated scenario (the first entry for it).
fn s_recovery(spec: &Spec, mineral: u16) -> f64 {
    spec.recycling
        .iter()
        .find(|r| r.0 % spec.minerals == usize::from(mineral))
        .map_or(1.0, |r| r.6)
}

fn spec_steps_per_year(spec: &Spec) -> u32 {
    spec.steps_per_year
}

fn check(spec: &Spec) -> Result<(), TestCaseError> {
    let value = scenario_json(spec);
    let scenario: Scenario = serde_json::from_value(value.clone())
        .map_err(|e| TestCaseError::fail(format!("generated scenario does not parse: {e}")))?;
    let validated = validate(scenario).map_err(|problems| {
        TestCaseError::fail(format!(
            "generated scenario is invalid: {problems:?}\n{value}"
        ))
    })?;
    let mut sim = Simulation::new(validated.resolved(), false);
    let mut last: BTreeMap<AssetIdx, (Status, u32)> = BTreeMap::new();
    let mut rows_seen = 0;
    let mut last_balance: BTreeMap<u16, [f64; 5]> = BTreeMap::new();
    let mut last_scrap: BTreeMap<(u16, Option<u16>), [f64; 5]> = BTreeMap::new();
    while !sim.finished() {
        let step = sim.world.resource::<Clock>().step;
        sim.step_checked()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;

        // Per-asset state.
        let mut q = sim
            .world
            .query::<(&AssetIdx, &Lifecycle, &Output, &Ownership)>();
        for (idx, life, output, owners) in q.iter(&sim.world) {
            prop_assert!(output.t >= 0.0 && output.potential_t >= 0.0);
            // Up to the technical maximum: calibrated potential plus headroom (ODD §7.6.4).
            prop_assert!(
                output.t <= (output.potential_t + output.stretch_t) * (1.0 + TOLERANCE) + TOLERANCE
            );
            let sum: f64 = owners.0.iter().map(|(_, s)| *s).sum();
            prop_assert!(
                owners
                    .0
                    .iter()
                    .all(|(_, s)| (0.0..=1.0 + TOLERANCE).contains(s)),
                "owner share out of [0, 1]: {:?}",
                owners.0
            );
            // A prospect nobody has proposed yet has no owners; anything else is owned in full.
            if life.status != Status::Prospect {
                prop_assert!(
                    (sum - 1.0).abs() < 1e-6,
                    "owner shares of {idx:?} ({:?}) sum to {sum}",
                    life.status
                );
            }
            prop_assert!(life.since_step <= step);
            if let Some(&(before, since)) = last.get(idx) {
                prop_assert!(
                    rank(life.status) >= rank(before),
                    "asset {idx:?} went back from {before:?} to {:?} at step {step}",
                    life.status
                );
                prop_assert!(
                    !matches!(before, Status::Closed | Status::Cancelled) || life.status == before,
                    "asset {idx:?} left {before:?}"
                );
                prop_assert!(life.since_step >= since);
            }
            last.insert(*idx, (life.status, life.since_step));
        }

        // This step's metric rows.
        let rows = &sim.world.resource::<Metrics>().rows[rows_seen..];
        rows_seen += rows.len();
        // Mass balance of the refined stage per mineral: refined output + recycled output =
        // purchases, and purchases = use + Δ consumer stocks + Δ strategic stockpiles
        // (docs/ODD.md §7.6.3); scrap: collected <= generated, Δ scrap stock = collected −
        // recycled, recycled output = recovery × scrap recycled (§7.6.5).
        let mut balance: BTreeMap<u16, [f64; 5]> = BTreeMap::new();
        let mut scrap: BTreeMap<(u16, Option<u16>), [f64; 5]> = BTreeMap::new();
        for row in rows {
            let Some(mineral) = row.mineral else { continue };
            let slot = match row.metric {
                "scrap_generated" => 0,
                "scrap_collected" => 1,
                "scrap_recycled" => 2,
                "recycled_output" => 3,
                "scrap_stock" => 4,
                _ => continue,
            };
            prop_assert!(row.value >= 0.0, "{} is {}", row.metric, row.value);
            scrap
                .entry((mineral.0, row.nation.map(|n| n.0)))
                .or_insert([0.0; 5])[slot] += row.value;
        }
        let spy = f64::from(spec_steps_per_year(spec));
        for (key, [generated, collected, processed, output, stock]) in &scrap {
            let scale = generated + collected + processed + stock + 1.0;
            prop_assert!(collected <= &(generated * (1.0 + 1e-12) + 1e-9));
            let recovery = s_recovery(spec, key.0);
            prop_assert!((output - recovery * processed).abs() <= 1e-9 * scale);
            if let Some([_, _, _, _, stock0]) = last_scrap.get(key) {
                let gap = stock - stock0 - (collected - processed) / spy;
                prop_assert!(
                    gap.abs() <= 1e-7 * scale,
                    "{key:?} step {step}: Δ scrap stock − (collected − recycled) = {gap} t"
                );
            } else {
                let gap = stock - (collected - processed) / spy;
                prop_assert!(
                    gap.abs() <= 1e-7 * scale,
                    "{key:?} step {step}: opening {gap}"
                );
            }
        }
        last_scrap = scrap;
        for row in rows {
            let (Some(mineral), Some(stage)) = (row.mineral, row.stage) else {
                continue;
            };
            let slot = match (row.metric, stage.as_str()) {
                ("production" | "recycled_output", "refined") => 0,
                ("purchases", _) => 1,
                ("consumption", _) => 2,
                ("consumer_stock", _) => 3,
                ("stockpile", _) => 4,
                _ => continue,
            };
            balance.entry(mineral.0).or_insert([0.0; 5])[slot] += row.value;
        }
        for (mineral, [made, bought, used, stock, pile]) in &balance {
            let scale = made.abs() + bought.abs() + used.abs() + stock.abs() + pile.abs() + 1.0;
            prop_assert!(
                (made - bought).abs() / spy <= 1e-7 * scale,
                "mineral {mineral} step {step}: refined output {made} t/yr but purchases {bought} t/yr"
            );
            if let Some([_, _, _, stock0, pile0]) = last_balance.get(mineral) {
                let gap = bought / spy - used / spy - (stock - stock0) - (pile - pile0);
                prop_assert!(
                    gap.abs() <= 1e-7 * scale,
                    "mineral {mineral} step {step}: purchases − use − Δ stocks = {gap} t\n{value}"
                );
            }
        }
        last_balance = balance;
        let mut location: BTreeMap<(u16, String), f64> = BTreeMap::new();
        let mut control: BTreeMap<(u16, String), f64> = BTreeMap::new();
        for row in rows {
            prop_assert_eq!(row.step, step);
            prop_assert!(row.value.is_finite());
            let key = (
                row.mineral.map_or(u16::MAX, |m| m.0),
                row.stage.map_or("", |s| s.as_str()).to_string(),
            );
            match row.metric {
                "capacity" | "production" => prop_assert!(
                    row.value >= 0.0,
                    "{} is {} at step {step}",
                    row.metric,
                    row.value
                ),
                "share_location" | "share_control" => {
                    prop_assert!(
                        (-TOLERANCE..=1.0 + TOLERANCE).contains(&row.value),
                        "{} is {}",
                        row.metric,
                        row.value
                    );
                    let map = if row.metric == "share_location" {
                        &mut location
                    } else {
                        &mut control
                    };
                    *map.entry(key).or_default() += row.value;
                }
                "hhi" => prop_assert!(
                    row.value >= 1.0 / spec.nations as f64 - TOLERANCE
                        && row.value <= 1.0 + TOLERANCE,
                    "hhi is {}",
                    row.value
                ),
                _ => {}
            }
        }
        for (what, sums) in [("location", &location), ("control", &control)] {
            for (key, sum) in sums {
                prop_assert!(
                    (sum - 1.0).abs() < 1e-9,
                    "{what} shares of {key:?} sum to {sum} at step {step}\n{value}"
                );
            }
        }
        prop_assert_eq!(
            location.keys().collect::<Vec<_>>(),
            control.keys().collect::<Vec<_>>(),
            "location and control shares cover different commodities at step {}",
            step
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn issue10_invariants_hold_in_generated_worlds(spec in spec()) {
        check(&spec)?;
    }
}
