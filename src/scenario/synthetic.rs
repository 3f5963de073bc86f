//! Synthetic scenarios of any size, for scale tests and benchmarks.
//!
//! `orechain generate` and the criterion benches use this to build worlds with 10^3–10^5 assets that
//! exercise every mechanism (demand, mines and refineries of every mineral, affinities, FTAs,
//! export controls, outages). The numbers are arbitrary but plausible; the same arguments always give
//! the same scenario.

use std::collections::BTreeMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::schema::*;

/// Size of a synthetic world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntheticSize {
    /// Nations (≥ 2).
    pub nations: usize,
    /// Firms (≥ 1).
    pub firms: usize,
    /// Assets (mines and refineries together).
    pub assets: usize,
    /// Candidate projects.
    pub prospects: usize,
    /// Seed of the generator (also the run seed).
    pub seed: u64,
    /// Last simulated year (the run starts in 2024).
    pub end_year: i32,
}

const MINERALS: [(&str, &str, f64, f64); 6] = [
    ("cobalt", "t Co", 15_000.0, 22_000.0),
    ("copper", "t Cu", 7_000.0, 9_500.0),
    ("graphite", "t C", 600.0, 4_000.0),
    ("lithium", "t Li", 25_000.0, 53_000.0),
    ("nickel", "t Ni", 12_000.0, 16_000.0),
    ("rare_earths", "t REO", 20_000.0, 60_000.0),
];

/// Build a synthetic scenario (valid by construction).
pub fn synthetic(size: SyntheticSize) -> Scenario {
    let mut rng = ChaCha8Rng::seed_from_u64(size.seed);
    let n_nations = size.nations.max(2);
    let n_firms = size.firms.max(1);
    let nation_id = |i: usize| format!("N{i:05}");
    let minerals: Vec<Mineral> = MINERALS
        .iter()
        .map(|(id, unit, ore, refined)| Mineral {
            id: (*id).to_string(),
            unit: (*unit).to_string(),
            ore_price_usd_per_t: *ore,
            refined_price_usd_per_t: *refined,
            recovery: 0.9,
            demand_elasticity: -0.3,
        })
        .collect();
    // Supply per mineral: assets split evenly; demand sized to ~90% of refined capacity.
    let per_mineral_capacity = 1_000_000.0;
    let nations: Vec<Nation> = (0..n_nations)
        .map(|i| {
            let mut affinity = BTreeMap::new();
            for _ in 0..3 {
                let j = rng.random_range(0..n_nations);
                if j != i {
                    affinity.insert(nation_id(j), rng.random_range(-1.0..1.0));
                }
            }
            let fta_partners = if i + 1 < n_nations && rng.random_bool(0.3) {
                vec![nation_id(i + 1)]
            } else {
                Vec::new()
            };
            let demand = minerals
                .iter()
                .map(|m| {
                    let base = per_mineral_capacity * 0.9 / n_nations as f64;
                    DemandTrajectory {
                        mineral: m.id.clone(),
                        points: vec![(2024.0, base), (2035.0, base * rng.random_range(1.2..2.0))],
                    }
                })
                .collect();
            Nation {
                id: nation_id(i),
                name: String::new(),
                bloc: String::new(),
                governance: Governance {
                    regulatory_stability: rng.random_range(0.2..0.9),
                    infrastructure: rng.random_range(0.2..0.9),
                    labour_enforcement: rng.random_range(0.2..0.9),
                    environmental_enforcement: rng.random_range(0.2..0.9),
                },
                state_finance: StateFinance::default(),
                priorities: Priorities::default(),
                affinity,
                fta_partners,
                entity_of_concern: i == 0,
                demand,
            }
        })
        .collect();
    let firms: Vec<Firm> = (0..n_firms)
        .map(|i| Firm {
            id: format!("F{i:06}"),
            name: String::new(),
            home: nation_id(rng.random_range(0..n_nations)),
            kind: FirmKind::Integrated,
            state_backed: rng.random_bool(0.2),
            hurdle_rate: rng.random_range(0.06..0.14),
            esg: rng.random_range(0.2..0.9),
            invests: true,
        })
        .collect();
    let n_assets = size.assets.max(minerals.len() * 2);
    let per_commodity = n_assets as f64 / (minerals.len() * 2) as f64;
    let assets: Vec<Asset> = (0..n_assets)
        .map(|i| {
            let m = &minerals[i % minerals.len()];
            let stage = if (i / minerals.len()).is_multiple_of(2) {
                Stage::Ore
            } else {
                Stage::Refined
            };
            let cap_scale = if stage == Stage::Ore { 1.15 } else { 1.0 };
            let mut owners = BTreeMap::new();
            owners.insert(firms[rng.random_range(0..n_firms)].id.clone(), 1.0);
            Asset {
                id: format!("A{i:07}"),
                name: String::new(),
                host: nation_id(rng.random_range(0..n_nations)),
                mineral: m.id.clone(),
                stage,
                status: Status::Operating,
                capacity_t_per_yr: per_mineral_capacity * cap_scale / per_commodity
                    * rng.random_range(0.5..1.5),
                utilisation: 0.85,
                unit_opex_usd_per_t: if stage == Stage::Ore {
                    m.ore_price_usd_per_t * rng.random_range(0.4..0.9)
                } else {
                    (m.refined_price_usd_per_t - m.ore_price_usd_per_t) * rng.random_range(0.3..0.8)
                },
                owners,
                esg: None,
                outage: rng.random_bool(0.1).then_some(OutageRisk {
                    probability_per_step: 0.02,
                    capacity_lost: 0.5,
                    duration_steps: 2,
                }),
            }
        })
        .collect();
    let prospects: Vec<Prospect> = (0..size.prospects)
        .map(|i| {
            let m = &minerals[i % minerals.len()];
            let stage = if i % 2 == 0 {
                Stage::Ore
            } else {
                Stage::Refined
            };
            let capacity = per_mineral_capacity / per_commodity * rng.random_range(0.5..1.5);
            Prospect {
                id: format!("P{i:07}"),
                name: String::new(),
                host: nation_id(rng.random_range(0..n_nations)),
                mineral: m.id.clone(),
                stage,
                capacity_t_per_yr: capacity,
                capex_usd: capacity * m.refined_price_usd_per_t * rng.random_range(0.8..2.5),
                unit_opex_usd_per_t: m.ore_price_usd_per_t * 0.5,
                developers: Vec::new(),
                available_from: None,
                local_processing_commitment: rng.random_bool(0.3),
            }
        })
        .collect();
    let end_year = size.end_year.max(2024);
    // The control starts in 2026, or in the last year of a shorter horizon: a policy must start
    // inside the horizon for the scenario to validate.
    let policies = vec![Policy {
        id: "synthetic_control".into(),
        start: When::Year(f64::from(end_year.min(2026))),
        end: None,
        announced: None,
        action: PolicyAction::ExportControl {
            exporter: nation_id(0),
            mineral: "graphite".into(),
            stage: Stage::Refined,
            destinations: vec![nation_id(1)],
            mode: ControlMode::Ban,
            quota_t_per_yr: 0.0,
            delay_steps: 0,
        },
    }];
    Scenario {
        extends: None,
        name: format!("synthetic_{}n_{}f_{}a", n_nations, n_firms, n_assets),
        description: "Synthetic scenario for scale tests (orechain generate).".into(),
        run: RunSettings {
            start_year: 2024,
            end_year,
            steps_per_year: 4,
            seed: size.seed,
        },
        market: MarketSettings::default(),
        minerals,
        nations,
        firms,
        assets,
        prospects,
        resource_base: Vec::new(),
        financiers: Vec::new(),
        investment: InvestmentSettings::default(),
        operations: OperationsSettings::default(),
        politics: PoliticsSettings::default(),
        transport: Vec::new(),
        stockpiles: Vec::new(),
        recycling: Default::default(),
        trade_preferences: Vec::new(),
        policies,
        offtake: Default::default(),
        output: OutputSettings::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_scenarios_are_valid_and_deterministic() {
        let size = SyntheticSize {
            nations: 20,
            firms: 50,
            assets: 500,
            prospects: 40,
            seed: 3,
            end_year: 2026,
        };
        let a = synthetic(size);
        assert_eq!(a, synthetic(size));
        assert_eq!(a.assets.len(), 500);
        let v = crate::scenario::validate(a);
        assert!(v.is_ok(), "{:?}", v.err());
    }

    #[test]
    fn synthetic_scenarios_are_valid_for_every_short_horizon() {
        // Issue 10: `--end-year 2024` used to start the export control in 2026, after the horizon.
        for end_year in [2020, 2024, 2025, 2026, 2027, 2040] {
            let size = SyntheticSize {
                nations: 5,
                firms: 5,
                assets: 20,
                prospects: 2,
                seed: 1,
                end_year,
            };
            let v = crate::scenario::validate(synthetic(size));
            assert!(v.is_ok(), "end year {end_year}: {:?}", v.err());
        }
    }
}
