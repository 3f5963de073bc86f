//! The recycling mechanism's systems: end-of-life flow, collection, capacity and offers before
//! the refined clearing; scrap use and the consumption history after it; its metrics (see
//! [`super`] for the rule).

use bevy_ecs::prelude::*;

use super::market::{SecondaryOffer, SecondaryOffers};
use super::{
    RECYCLED_OUTPUT, RECYCLING_CAPACITY, RecyclingState, SCRAP_COLLECTED, SCRAP_GENERATED,
    SCRAP_RECYCLED, SCRAP_STOCK,
};
use crate::model::components::{MineralIdx, NationIdx, Stage};
use crate::model::resources::{
    Clock, Demand, MetricRow, Metrics, PriceExpectations, Prices, commodity,
};

/// End-of-life flow `EOL = Σ_a C_{t−a} f(a)`, collection `κ EOL` into the scrap stock, capacity
/// adjustment, and one offer per recycler `min(K Δt, r S)` at its cash cost
/// ([`crate::model::schedule::Hook::Orders`]).
pub fn offer(
    clock: Res<Clock>,
    prices: Res<Prices>,
    expectations: Res<PriceExpectations>,
    mut state: ResMut<RecyclingState>,
    mut offers: ResMut<SecondaryOffers>,
) {
    let dt = clock.dt_years();
    let year = clock.year();
    let RecyclingState {
        recyclers,
        kernels,
        adjustment_years,
        ..
    } = &mut *state;
    let t = adjustment_years.max(1e-9);
    let step_share = 1.0 - (-dt / t).exp();
    offers.offers.clear();
    offers.sold_t.clear();
    for r in recyclers.iter_mut() {
        let eol: f64 = kernels[r.kernel]
            .iter()
            .zip(&r.history)
            .map(|(f, h)| f.iter().zip(h).map(|(w, c)| w * c).sum::<f64>())
            .sum();
        r.generated_t = eol.max(0.0);
        r.collected_t = r.rate_at(year) * r.generated_t;
        let carried_t = r.scrap_stock_t;
        r.scrap_stock_t += r.collected_t;
        // Capacity follows the scrap it could process while recycling pays at the price the
        // nation expects to pay (the world reference price before any clearing).
        let c_ref = commodity(MineralIdx(r.mineral), Stage::Refined);
        let expected = expectations
            .buyer_usd_per_t
            .get(c_ref)
            .and_then(|row| row.get(usize::from(r.nation)))
            .copied()
            .or_else(|| prices.usd_per_t.get(c_ref).copied())
            .unwrap_or(0.0);
        if expected > r.unit_opex_usd_per_t {
            let target = r.recovery * (r.collected_t / dt + carried_t / t);
            if target > r.capacity_t_per_yr {
                r.capacity_t_per_yr += (target - r.capacity_t_per_yr) * step_share;
            }
        }
        offers.offers.push(SecondaryOffer {
            nation: NationIdx(r.nation),
            mineral: MineralIdx(r.mineral),
            quantity_t: (r.capacity_t_per_yr * dt)
                .min(r.recovery * r.scrap_stock_t)
                .max(0.0),
            reservation_usd_per_t: r.unit_opex_usd_per_t,
        });
    }
    offers.sold_t = vec![0.0; offers.offers.len()];
}

/// Book what the clearing sold: scrap used = sold / recovery leaves the stock; then this step's
/// use joins the consumption history ([`crate::model::schedule::Hook::Settle`]).
pub fn settle(
    clock: Res<Clock>,
    demand: Res<Demand>,
    offers: Res<SecondaryOffers>,
    mut state: ResMut<RecyclingState>,
) {
    let dt = clock.dt_years();
    let RecyclingState {
        recyclers, shares, ..
    } = &mut *state;
    for (k, r) in recyclers.iter_mut().enumerate() {
        let sold = offers.sold_t.get(k).copied().unwrap_or(0.0).max(0.0);
        let used = (sold / r.recovery).min(r.scrap_stock_t);
        r.output_t = sold;
        r.scrap_stock_t = (r.scrap_stock_t - used).max(0.0);
        let c = demand
            .use_t_per_yr
            .get(usize::from(r.mineral))
            .and_then(|row| row.get(usize::from(r.nation)))
            .copied()
            .unwrap_or(0.0)
            .max(0.0)
            * dt;
        for (h, s) in r.history.iter_mut().zip(&shares[r.kernel]) {
            h.push_front(s * c);
            h.pop_back();
        }
    }
}

/// Metrics `scrap_generated`, `scrap_collected`, `scrap_recycled`, `recycled_output` (t/yr),
/// `scrap_stock` (t) and `recycling_capacity` (t/yr) per nation and mineral
/// ([`crate::model::schedule::Hook::Observe`]).
pub fn record(clock: Res<Clock>, state: Res<RecyclingState>, mut metrics: ResMut<Metrics>) {
    let spy = 1.0 / clock.dt_years();
    for r in &state.recyclers {
        let row = |metric: &'static str, stage: Option<Stage>, value: f64| MetricRow {
            step: clock.step,
            metric,
            mineral: Some(MineralIdx(r.mineral)),
            stage,
            nation: Some(NationIdx(r.nation)),
            partner: None,
            value,
        };
        let refined = Some(Stage::Refined);
        metrics.rows.extend([
            row(SCRAP_GENERATED, None, r.generated_t * spy),
            row(SCRAP_COLLECTED, None, r.collected_t * spy),
            row(SCRAP_RECYCLED, None, r.output_t / r.recovery * spy),
            row(RECYCLED_OUTPUT, refined, r.output_t * spy),
            row(SCRAP_STOCK, None, r.scrap_stock_t),
            row(RECYCLING_CAPACITY, refined, r.capacity_t_per_yr),
        ]);
    }
}
