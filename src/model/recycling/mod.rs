//! Secondary supply: end-of-life flows, collection and recycling (a mechanism in its own folder;
//! `docs/ODD.md` §7.6.5).
//!
//! Why: about 4.6 Mt of the world's ~27 Mt of refined copper in 2024 was refined from scrap
//! (ICSG, `data/recycling_2024.csv`), and battery recycling will return lithium, nickel and cobalt
//! as the first large cohorts of electric vehicles retire; a nation that collects and refines its
//! own scrap buys less refined material abroad. The mechanism is a dynamic material-flow model
//! (Müller 2006; Glöser, Soulier & Tercero Espinoza 2013) feeding recyclers that sell in the
//! refined market:
//!
//! - end-of-life flow of nation n, mineral m at step t: `EOL_t = Σ_u Σ_{a≥1} s_u C_{t−a} f_u(a)`,
//!   with `C` the nation's consumption (use) per step, `s_u` the share of end use u and `f_u(a)`
//!   the probability that its products retire `a` steps after use (a normal lifetime truncated at
//!   0, discretised per step; [`kernel`]). Consumption before the start year is back-cast per end
//!   use as `s_u C_{−k} = s_u C_0 (1 + g_u)^{−k Δt}` (`backcast_growth_per_yr`);
//! - collection: `Q_t = κ_{n,m}(t) EOL_t` (`collection_rate`, a trajectory per nation and mineral:
//!   the policy lever); the rest is lost to secondary refining (landfill, dissipation, direct
//!   melt or scrap export, which the model does not trace);
//! - a scrap stock `S` (collected, not yet processed) and recycling capacity `K`: the recycler
//!   offers `min(K Δt, r S)` refined tonnes at its cash cost `c` (`unit_opex_usd_per_t`) in its
//!   nation's refined market, where it is dispatched like any refinery lot (the recycling supply
//!   curve); selling `y` uses `y / r` of scrap (recovery `r`);
//! - capacity follows the scrap it could process, `K* = r (Q / Δt + S / T)`, by partial adjustment
//!   `K ← K + max(0, K* − K)(1 − e^{−Δt/T})` while the price the nation expects exceeds `c` (the
//!   flexible accelerator of Koyck 1954 / Jorgenson 1963 with time constant `T`,
//!   `capacity_adjustment_years`); capacity is never retired.
//!
//! Recycled material counts as processed in the recycler's nation for sourcing rules. The folder
//! owns its parameters ([`crate::scenario::recycling::ResolvedRecycling`]), its state
//! ([`RecyclingState`]), its systems ([`systems`]), its market hook ([`market`]), its metrics and
//! its non-finite check; [`Recycling`] installs them.

pub mod market;
pub mod systems;

use std::collections::VecDeque;

use bevy_ecs::prelude::*;

use super::components::{MineralIdx, NationIdx, Stage};
use super::mechanism::{Mechanism, NonFinite};
use super::metrics::MetricInfo;
use super::resources::{ObservedPairs, Registry, commodity};
use super::schedule::Hook;
use crate::model::demand::systems::trajectory_at;
use crate::model::finance::systems::normal_cdf;
use crate::scenario::Resolved;

/// Metric: end-of-life material generated (t/yr).
pub const SCRAP_GENERATED: &str = "scrap_generated";
/// Metric: end-of-life material collected for secondary refining (t/yr).
pub const SCRAP_COLLECTED: &str = "scrap_collected";
/// Metric: scrap processed by recyclers (t/yr).
pub const SCRAP_RECYCLED: &str = "scrap_recycled";
/// Metric: refined material sold by recyclers (t/yr).
pub const RECYCLED_OUTPUT: &str = "recycled_output";
/// Metric: collected scrap awaiting processing (t, end of step).
pub const SCRAP_STOCK: &str = "scrap_stock";
/// Metric: recycling capacity (t/yr of refined output).
pub const RECYCLING_CAPACITY: &str = "recycling_capacity";

const METRICS: &[MetricInfo] = &[
    MetricInfo {
        name: SCRAP_GENERATED,
        unit: "t/yr",
        by: "mineral, nation (where the products were used)",
        doc: "material in products reaching end of life (dynamic MFA: past use × lifetime kernel)",
    },
    MetricInfo {
        name: SCRAP_COLLECTED,
        unit: "t/yr",
        by: "mineral, nation",
        doc: "end-of-life material collected for secondary refining (collection rate × generated)",
    },
    MetricInfo {
        name: SCRAP_RECYCLED,
        unit: "t/yr",
        by: "mineral, nation (recycler)",
        doc: "scrap processed by the nation's recyclers (recycled output / recovery)",
    },
    MetricInfo {
        name: RECYCLED_OUTPUT,
        unit: "t/yr",
        by: "mineral, `refined`, nation (recycler)",
        doc: "refined material from scrap sold in the refined market (secondary supply)",
    },
    MetricInfo {
        name: SCRAP_STOCK,
        unit: "t",
        by: "mineral, nation",
        doc: "collected scrap not yet processed at the end of the step",
    },
    MetricInfo {
        name: RECYCLING_CAPACITY,
        unit: "t/yr",
        by: "mineral, `refined`, nation",
        doc: "refined output capacity of the nation's recyclers",
    },
];

/// One nation's recycling of one mineral.
#[derive(Clone, Debug, PartialEq)]
pub struct Recycler {
    /// Nation index.
    pub nation: u16,
    /// Mineral index.
    pub mineral: u16,
    /// Position of the mineral's end-use kernels in [`RecyclingState::kernels`].
    pub kernel: usize,
    /// Collection-rate points (empty: `default_rate`).
    pub collection: Vec<(f64, f64)>,
    /// Collection rate without a trajectory.
    pub default_rate: f64,
    /// Refined t per t scrap.
    pub recovery: f64,
    /// Cash cost, USD/t refined.
    pub unit_opex_usd_per_t: f64,
    /// Capacity, t/yr refined.
    pub capacity_t_per_yr: f64,
    /// Collected scrap awaiting processing, t.
    pub scrap_stock_t: f64,
    /// Consumption of past steps by end use (`s_u C`), t per step, most recent first (each as
    /// long as its end use's kernel).
    pub history: Vec<VecDeque<f64>>,
    /// This step's end-of-life flow, t.
    pub generated_t: f64,
    /// This step's collection, t.
    pub collected_t: f64,
    /// This step's recycled output, t.
    pub output_t: f64,
}

impl Recycler {
    /// Collection rate at a decimal year.
    pub fn rate_at(&self, year: f64) -> f64 {
        if self.collection.is_empty() {
            self.default_rate
        } else {
            trajectory_at(&self.collection, year).clamp(0.0, 1.0)
        }
    }
}

/// State of every recycler of the scenario.
#[derive(Clone, Debug, Default, Resource)]
pub struct RecyclingState {
    /// Recyclers, sorted by (nation, mineral): every consumer of every modelled mineral.
    pub recyclers: Vec<Recycler>,
    /// Lifetime kernels per modelled mineral and end use: `kernels[k][u][a − 1]` = probability
    /// that a product of end use u retires `a` steps after use.
    pub kernels: Vec<Vec<Vec<f64>>>,
    /// End-use shares per modelled mineral, same order as `kernels`.
    pub shares: Vec<Vec<f64>>,
    /// Capacity time constant, years.
    pub adjustment_years: f64,
}

/// The discretised lifetime kernel of end uses `(share, mean years, sd years)` with steps of
/// `dt` years: `f[a − 1] = Σ_u s_u [F_u((a + ½)Δt) − F_u((a − ½)Δt)]` for `a ≥ 1`, with `F_u` the
/// normal distribution truncated at 0; retirements within half a step of use fall in `a = 1`,
/// and the tail beyond mean + 6 sd in the last element, so `Σ f = Σ s_u` exactly.
pub fn kernel(end_uses: &[(f64, f64, f64)], dt: f64) -> Vec<f64> {
    let horizon = end_uses
        .iter()
        .map(|&(_, mean, sd)| mean + 6.0 * sd)
        .fold(0.0, f64::max);
    let len = ((horizon / dt).ceil() as usize).max(1);
    let mut f = vec![0.0; len];
    for &(share, mean, sd) in end_uses {
        let below_zero = normal_cdf(-mean / sd);
        let mass = (1.0 - below_zero).max(1e-300);
        let cdf = |years: f64| {
            if years <= 0.0 {
                0.0
            } else {
                ((normal_cdf((years - mean) / sd) - below_zero) / mass).clamp(0.0, 1.0)
            }
        };
        let mut assigned = 0.0;
        for (i, slot) in f.iter_mut().enumerate() {
            let a = (i + 1) as f64;
            let upper = if i + 1 == len {
                1.0
            } else {
                cdf((a + 0.5) * dt)
            };
            let p = (upper - assigned).max(0.0);
            *slot += share * p;
            assigned = assigned.max(upper);
        }
    }
    f
}

/// The recycling mechanism.
pub struct Recycling;

impl Mechanism for Recycling {
    fn install(&self, resolved: &Resolved, world: &mut World, schedule: &mut Schedule) {
        let r = &resolved.recycling;
        if r.minerals.is_empty() {
            return;
        }
        let spy = f64::from(resolved.run.steps_per_year.max(1));
        let dt = 1.0 / spy;
        let start = f64::from(resolved.run.start_year);
        let kernels: Vec<Vec<Vec<f64>>> = r
            .minerals
            .iter()
            .map(|m| {
                m.end_uses
                    .iter()
                    .map(|&(_, mean, sd, _)| kernel(&[(1.0, mean, sd)], dt))
                    .collect()
            })
            .collect();
        let mut recyclers = Vec::new();
        for (n, nation) in resolved.nations.iter().enumerate() {
            for (k, m) in r.minerals.iter().enumerate() {
                let Some((_, points)) = nation.demand.iter().find(|(mi, _)| *mi == m.mineral)
                else {
                    continue;
                };
                let n = n as u16;
                let c0 = trajectory_at(points, start).max(0.0) * dt;
                let history = m
                    .end_uses
                    .iter()
                    .zip(&kernels[k])
                    .map(|(&(share, _, _, g), f)| {
                        (1..=f.len())
                            .map(|back| share * c0 * (1.0 + g).powf(-(back as f64) * dt))
                            .collect()
                    })
                    .collect();
                let find = |list: &[(u16, u16, f64)]| {
                    list.iter()
                        .find(|p| p.0 == n && p.1 == m.mineral)
                        .map_or(0.0, |p| p.2)
                };
                recyclers.push(Recycler {
                    nation: n,
                    mineral: m.mineral,
                    kernel: k,
                    collection: r
                        .collection
                        .iter()
                        .find(|c| c.0 == n && c.1 == m.mineral)
                        .map(|c| c.2.clone())
                        .unwrap_or_default(),
                    default_rate: m.collection_rate,
                    recovery: m.recovery,
                    unit_opex_usd_per_t: m.unit_opex_usd_per_t,
                    capacity_t_per_yr: find(&r.plants),
                    scrap_stock_t: 0.0,
                    history,
                    generated_t: 0.0,
                    collected_t: 0.0,
                    output_t: 0.0,
                });
            }
        }
        recyclers.sort_by_key(|r| (r.nation, r.mineral));
        // A recycler's nation supplies its refined market: it gets location and import-dependence
        // rows like a refinery host (docs/output-format.md, `import_dependence`).
        if let Some(mut pairs) = world.get_resource_mut::<ObservedPairs>() {
            for r in &recyclers {
                let c = commodity(MineralIdx(r.mineral), Stage::Refined);
                if let Some(hosts) = pairs.hosts.get_mut(c)
                    && let Err(at) = hosts.binary_search(&NationIdx(r.nation))
                {
                    hosts.insert(at, NationIdx(r.nation));
                }
            }
        }
        world.insert_resource(RecyclingState {
            recyclers,
            kernels,
            shares: r
                .minerals
                .iter()
                .map(|m| m.end_uses.iter().map(|u| u.0).collect())
                .collect(),
            adjustment_years: r.capacity_adjustment_years,
        });
        world.insert_resource(market::SecondaryOffers::default());
        schedule.add_systems((
            systems::offer.in_set(Hook::Orders),
            systems::settle.in_set(Hook::Settle),
            // Mechanisms record in the order of `MECHANISMS` (both write `Metrics`).
            systems::record
                .in_set(Hook::Observe)
                .after(super::stockpile::systems::record),
        ));
    }

    fn metrics(&self) -> &'static [MetricInfo] {
        METRICS
    }

    fn check_finite(&self, world: &World) -> Option<NonFinite> {
        let state = world.get_resource::<RecyclingState>()?;
        let registry = world.get_resource::<Registry>()?;
        let name = |list: &[String], i: u16| {
            list.get(usize::from(i))
                .cloned()
                .unwrap_or_else(|| "?".into())
        };
        state.recyclers.iter().find_map(|r| {
            let bad = [
                ("scrap_stock_t", r.scrap_stock_t),
                ("recycling_capacity_t_per_yr", r.capacity_t_per_yr),
                ("scrap_generated_t", r.generated_t),
                ("recycled_output_t", r.output_t),
            ]
            .into_iter()
            .find(|(_, v)| !v.is_finite())
            .or_else(|| {
                r.history
                    .iter()
                    .flatten()
                    .find(|v| !v.is_finite())
                    .map(|&v| ("consumption_history_t", v))
            })?;
            Some(NonFinite {
                quantity: bad.0,
                entity: format!(
                    "nation `{}`, mineral `{}`",
                    name(&registry.nations, r.nation),
                    name(&registry.minerals, r.mineral)
                ),
                value: bad.1,
            })
        })
    }
}

#[cfg(test)]
mod tests;
