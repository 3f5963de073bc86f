//! The stockpile's systems: orders before the refined clearing, settlement after it, and its
//! metric (see [`super`] for the rule).

use bevy_ecs::prelude::*;

use super::{STOCKPILE, Stockpiles};
use crate::model::components::{MineralIdx, NationIdx, Stage};
use crate::model::resources::{Clock, MetricRow, Metrics, StockOrder, StockOrders};

/// Push one order per stockpile ([`crate::model::schedule::Hook::Orders`]): buy up to
/// `min(max_buy · Δt, capacity − level)` below the buy trigger, release up to
/// `min(max_release · Δt, level)` above the release trigger.
pub fn place_orders(
    clock: Res<Clock>,
    mut state: ResMut<Stockpiles>,
    mut orders: ResMut<StockOrders>,
) {
    let dt = clock.dt_years();
    state.first_order = orders.orders.len();
    for (p, &level) in state.params.iter().zip(&state.level_t) {
        orders.orders.push(StockOrder {
            nation: NationIdx(p.nation),
            mineral: MineralIdx(p.mineral),
            buy_t: (p.max_buy_t_per_yr * dt).min(p.capacity_t - level).max(0.0),
            buy_below_usd_per_t: p.buy_below_usd_per_t,
            release_t: (p.max_release_t_per_yr * dt).min(level).max(0.0),
            release_above_usd_per_t: p.release_above_usd_per_t,
        });
    }
}

/// Book what the clearing filled ([`crate::model::schedule::Hook::Settle`]): level += bought −
/// released (the clamp only removes float dust; orders never exceed room or fill).
pub fn settle(orders: Res<StockOrders>, mut state: ResMut<Stockpiles>) {
    let first = state.first_order;
    let Stockpiles {
        params, level_t, ..
    } = &mut *state;
    for (k, (p, level)) in params.iter().zip(level_t.iter_mut()).enumerate() {
        let fill = orders.filled_t.get(first + k).copied().unwrap_or(0.0);
        *level = (*level + fill).clamp(0.0, p.capacity_t);
    }
}

/// Metric `stockpile` (t, end of step) per holder and mineral
/// ([`crate::model::schedule::Hook::Observe`]).
pub fn record(clock: Res<Clock>, state: Res<Stockpiles>, mut metrics: ResMut<Metrics>) {
    for (p, &level) in state.params.iter().zip(&state.level_t) {
        metrics.rows.push(MetricRow {
            step: clock.step,
            metric: STOCKPILE,
            mineral: Some(MineralIdx(p.mineral)),
            stage: Some(Stage::Refined),
            nation: Some(NationIdx(p.nation)),
            partner: None,
            value: level,
        });
    }
}
