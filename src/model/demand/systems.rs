//! Demand for refined minerals (first system of the trade phase).
//!
//! Each consumer nation has a demand trajectory at reference prices (`Nation.demand`: `(year, t/yr)`
//! points, linear in between, flat outside). In the market clearing ([`crate::model::systems::equilibrium`])
//! consumers answer the price they pay this step with a constant elasticity ε
//! (`Mineral.demand_elasticity`, default −0.3):
//!
//! `D_b(t) = D⁰_b(t) · (max(P_b − credit_b, f · p_ref) / p_ref)^ε`
//!
//! Elasticity sources: `parameters.csv` (cobalt −0.28, copper −0.5). A consumer with a sourcing
//! rule in force reacts to the price net of the credit it earned last step, per tonne consumed
//! (`docs/ODD.md` §7.6.1): the credit is passed through to its buyers. This system computes `D⁰`
//! and the credit.

use bevy_ecs::prelude::*;

use crate::model::components::{MineralIdx, NationIdx, Stage};
use crate::model::resources::{
    Clock, Demand, DemandSchedule, MarketConfig, MarketOutcome, SourcingRules, StockOrders,
    commodity,
};
use crate::model::systems::equilibrium::{
    Buyer, DemandCurve, Solution, StockOrderTerms, StockTerms, stocked_plan,
};

/// Value of a piecewise-linear trajectory at a decimal year; flat before the first and after the
/// last point; 0 for an empty trajectory.
pub fn trajectory_at(points: &[(f64, f64)], year: f64) -> f64 {
    let Some(first) = points.first() else {
        return 0.0;
    };
    if year <= first.0 {
        return first.1;
    }
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if year <= b.0 {
            let span = b.0 - a.0;
            if span <= 0.0 {
                return b.1;
            }
            return a.1 + (b.1 - a.1) * (year - a.0) / span;
        }
    }
    points.last().map_or(0.0, |p| p.1)
}

/// Demand at a price: `reference · (price / reference_price)^elasticity`; the reference demand
/// when either price is not positive. The clearing evaluates the demand curve itself (its
/// `DemandCurve`); this states the response for the tests.
#[cfg(test)]
pub fn price_response(reference_t: f64, price: f64, reference_price: f64, elasticity: f64) -> f64 {
    if price > 0.0 && reference_price > 0.0 {
        reference_t * (price / reference_price).powf(elasticity)
    } else {
        reference_t
    }
}

/// Sourcing credit per tonne consumed: `premium × credited / received` of the last clearing, for a
/// consumer whose rule is still in force (0 otherwise).
fn credit_per_tonne(
    sourcing: &SourcingRules,
    last: &MarketOutcome,
    mineral: MineralIdx,
    consumer: usize,
) -> f64 {
    let c = commodity(mineral, Stage::Refined);
    let Some(rule) = sourcing.rule(NationIdx(consumer as u16), mineral) else {
        return 0.0;
    };
    let Some(market) = last.commodities.get(c) else {
        return 0.0;
    };
    let credited = market.credited_t.get(consumer).copied().unwrap_or(0.0);
    let received = market.received_t.get(consumer).copied().unwrap_or(0.0);
    if received > 0.0 {
        rule.premium_usd_per_t * credited / received
    } else {
        0.0
    }
}

/// Compute this step's reference demand (the trajectory) and sourcing credit of every consumer
/// nation. The demand at the price, [`Demand::t_per_yr`], is set by the market clearing
/// ([`crate::model::systems::trade`]), where consumers answer this step's price.
///
/// It also empties last step's stock orders ([`StockOrders`]; mechanisms push this step's after
/// it) and, at step 0, opens every consumer's refined stock at its target
/// (`market.consumer_stock_cover_weeks` of its reference demand), so the first step is a steady
/// state.
pub fn update_demand(
    clock: Res<Clock>,
    schedule: Res<DemandSchedule>,
    sourcing: Res<SourcingRules>,
    last: Res<MarketOutcome>,
    config: Res<MarketConfig>,
    mut orders: ResMut<StockOrders>,
    mut demand: ResMut<Demand>,
) {
    orders.orders.clear();
    orders.filled_t.clear();
    let year = clock.year();
    let n_minerals = schedule.points.len();
    demand.reference_t_per_yr.resize(n_minerals, Vec::new());
    demand.credit_usd_per_t.resize(n_minerals, Vec::new());
    if demand.stock_t.len() != n_minerals {
        let cover_years = config.settings.consumer_stock_cover_weeks / 52.0;
        demand.stock_t = (0..n_minerals)
            .map(|m| {
                let mut row = vec![0.0; schedule.points[m].len()];
                for &b in &schedule.consumers[m] {
                    let b = usize::from(b.0);
                    row[b] = cover_years * trajectory_at(&schedule.points[m][b], year).max(0.0);
                }
                row
            })
            .collect();
    }
    demand.use_t_per_yr.resize(n_minerals, Vec::new());
    for m in 0..n_minerals {
        let mineral = MineralIdx(m as u16);
        let n = schedule.points[m].len();
        let mut reference = vec![0.0; n];
        let mut credit = vec![0.0; n];
        for &b in &schedule.consumers[m] {
            let b = usize::from(b.0);
            reference[b] = trajectory_at(&schedule.points[m][b], year).max(0.0);
            credit[b] = credit_per_tonne(&sourcing, &last, mineral, b);
        }
        demand.reference_t_per_yr[m] = reference;
        demand.credit_usd_per_t[m] = credit;
    }
}

/// Consumer stocks and stock orders as the refined market sees them this step (§7.6.3).
pub struct StockSetup<'a> {
    /// Target cover, years of expected use.
    pub cover_years: f64,
    /// Share of the gap to the target closed per step, `1 − exp(−Δt / T)`.
    pub adjustment: f64,
    /// Elasticity of the target to expected / current price.
    pub elasticity: f64,
    /// This step's stock orders (all minerals).
    pub orders: &'a [StockOrder],
}

use crate::model::resources::StockOrder;

impl StockSetup<'_> {
    /// Wrap consumer `b`'s use curve with its stock and its stock orders for `mineral`;
    /// unchanged when it holds no stock target and has no orders (then purchases are use).
    /// `reference_t_per_yr` is its trajectory (expected use), `stock_t` its stock,
    /// `expected_usd_per_t` its expected price.
    pub fn curve(
        &self,
        use_curve: DemandCurve,
        mineral: MineralIdx,
        b: NationIdx,
        reference_t_per_yr: f64,
        stock_t: f64,
        expected_usd_per_t: f64,
    ) -> DemandCurve {
        let orders: Vec<StockOrderTerms> = self
            .orders
            .iter()
            .filter(|o| o.nation == b && o.mineral == mineral)
            .map(|o| StockOrderTerms {
                buy_t: o.buy_t.max(0.0),
                buy_below_usd_per_t: o.buy_below_usd_per_t,
                release_t: o.release_t.max(0.0),
                release_above_usd_per_t: o.release_above_usd_per_t,
            })
            .collect();
        let target_t = self.cover_years * reference_t_per_yr;
        if target_t <= 0.0 && stock_t <= 0.0 && orders.is_empty() {
            return use_curve;
        }
        DemandCurve::Stocked {
            consumption: Box::new(use_curve),
            stock: StockTerms {
                target_t,
                stock_t,
                adjustment: self.adjustment,
                expected_usd_per_t,
                elasticity: self.elasticity,
            },
            orders,
        }
    }
}

/// Book a refined clearing for the consumers (§7.6.3): what each used, its stock at the end of
/// the step, and what each stock order bought or released. With `R` received and the plan
/// `(c, a, b_k, r_k)` at the price paid, a shortfall `X − R` (rationing at the ceiling guard) first
/// cuts the stockpiles' buying, then is drawn from the consumer's stock; use is
/// `min(c, S + R + Σ r_k − Σ b_k)`, and `S' = S + R + Σ r_k − Σ b_k − use`, so
/// `R = ΔS + Σ (b_k − r_k) + use` exactly. Returns nothing; writes `demand.stock_t[m]`,
/// `demand.use_t_per_yr[m]`, `demand.t_per_yr[m]` (use wanted at the price, t/yr) and appends the
/// fill of each of this mineral's orders in `filled_t` (same position as the order in `list`).
#[allow(clippy::too_many_arguments)]
pub fn settle_consumers(
    buyers: &[Buyer],
    solution: &Solution,
    smoothing: f64,
    dt: f64,
    m: usize,
    mineral: MineralIdx,
    demand: &mut Demand,
    list: &[StockOrder],
    filled_t: &mut Vec<f64>,
) {
    let n = solution.received_t.len();
    let mut stock = demand.stock_t.get(m).cloned().unwrap_or_default();
    stock.resize(n, 0.0);
    let mut used = vec![0.0; n];
    let mut wanted: Vec<f64> = solution.demand_t.clone();
    wanted.resize(n, 0.0);
    let mut fills: Vec<(NationIdx, Vec<f64>)> = Vec::new();
    for buyer in buyers {
        let b = usize::from(buyer.nation.0);
        let received = solution.received_t.get(b).copied().unwrap_or(0.0);
        let price = solution.buyer_usd_per_t.get(b).copied().unwrap_or(0.0);
        let Some(plan) = stocked_plan(&buyer.curve, price, smoothing) else {
            used[b] = received;
            continue;
        };
        let planned = solution.demand_t.get(b).copied().unwrap_or(0.0);
        let bought: f64 = plan.bought_t.iter().sum();
        let released: f64 = plan.released_t.iter().sum();
        let cut = (planned - received).clamp(0.0, bought);
        let keep = if bought > 0.0 {
            1.0 - cut / bought
        } else {
            1.0
        };
        let available = (stock[b] + received + released - bought * keep).max(0.0);
        let use_t = plan.use_t.min(available).max(0.0);
        stock[b] = available - use_t;
        used[b] = use_t;
        wanted[b] = plan.use_t;
        fills.push((
            buyer.nation,
            plan.bought_t
                .iter()
                .zip(&plan.released_t)
                .map(|(bt, r)| bt * keep - r)
                .collect(),
        ));
    }
    // Each order's fill, by its position in the list (a buyer's orders enter its curve in the
    // order they were pushed).
    filled_t.resize(list.len(), 0.0);
    let mut next = vec![0usize; n];
    for (k, o) in list.iter().enumerate() {
        if o.mineral != mineral {
            continue;
        }
        let b = usize::from(o.nation.0);
        filled_t[k] = fills
            .iter()
            .find(|(nation, _)| *nation == o.nation)
            .and_then(|(_, f)| f.get(next[b]).copied())
            .unwrap_or(0.0);
        next[b] += 1;
    }
    if demand.stock_t.len() <= m {
        demand.stock_t.resize(m + 1, Vec::new());
    }
    if demand.use_t_per_yr.len() <= m {
        demand.use_t_per_yr.resize(m + 1, Vec::new());
    }
    if demand.t_per_yr.len() <= m {
        demand.t_per_yr.resize(m + 1, Vec::new());
    }
    demand.stock_t[m] = stock;
    demand.use_t_per_yr[m] = used.iter().map(|u| u / dt).collect();
    demand.t_per_yr[m] = wanted.iter().map(|d| d / dt).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trajectory_interpolates_and_holds_flat() {
        let p = [(2024.0, 100.0), (2026.0, 200.0)];
        assert_eq!(trajectory_at(&p, 2020.0), 100.0);
        assert_eq!(trajectory_at(&p, 2025.0), 150.0);
        assert_eq!(trajectory_at(&p, 2030.0), 200.0);
        assert_eq!(trajectory_at(&[], 2030.0), 0.0);
    }

    #[test]
    fn demand_falls_when_price_rises() {
        let base = price_response(100.0, 10.0, 10.0, -0.3);
        let high = price_response(100.0, 20.0, 10.0, -0.3);
        assert_eq!(base, 100.0);
        assert!((high - 100.0 * 2f64.powf(-0.3)).abs() < 1e-9);
        assert_eq!(price_response(100.0, 20.0, 10.0, 0.0), 100.0);
    }
}
