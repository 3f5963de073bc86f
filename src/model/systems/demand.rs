//! Demand for refined minerals (first system of the trade phase).
//!
//! Each consumer nation has a demand trajectory at reference prices (`Nation.demand`: `(year, t/yr)`
//! points, linear in between, flat outside). In the market clearing ([`super::equilibrium`])
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
    Clock, Demand, DemandSchedule, MarketOutcome, SourcingRules, commodity,
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
/// when either price is not positive.
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
/// ([`super::trade`]), where consumers answer this step's price.
pub fn update_demand(
    clock: Res<Clock>,
    schedule: Res<DemandSchedule>,
    sourcing: Res<SourcingRules>,
    last: Res<MarketOutcome>,
    mut demand: ResMut<Demand>,
) {
    let year = clock.year();
    let n_minerals = schedule.points.len();
    demand.reference_t_per_yr.resize(n_minerals, Vec::new());
    demand.credit_usd_per_t.resize(n_minerals, Vec::new());
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
