//! Strategic stockpiles of refined material (a mechanism in its own folder; `docs/ODD.md` §7.6.3
//! and "How to add a mechanism").
//!
//! Why: governments hold reserves of critical materials (the US National Defense Stockpile,
//! JOGMEC's rare-metal stockpile, China's state reserve bureau) and buy or release them against
//! the market; a reserve matters for prices only if it trades in the same market as everyone
//! else. A stockpile here is a price-triggered stock order of its nation in the refined market
//! ([`crate::model::resources::StockOrder`]): it buys up to `min(max_buy · Δt, capacity − level)`
//! while the price the nation pays is below its buy trigger and releases up to
//! `min(max_release · Δt, level)` while the price is above its release trigger, each switching
//! over the band ± `w` (`market.supply_smoothing`) around its trigger. The order enters the
//! nation's demand curve in the in-step equilibrium (`DemandCurve::Stocked`), so a release lowers
//! the price every buyer pays and buying raises it — the buffer-stock scheme of Newbery & Stiglitz
//! (1981, ch. 30) and of Williams & Wright (1991, ch. 14), with triggers as a price band.
//!
//! The folder owns its parameters ([`crate::scenario::stockpile::ResolvedStockpile`], from the
//! scenario's `stockpiles` section), its state ([`Stockpiles`]), its systems ([`systems`]), its
//! metric (`stockpile`) and its non-finite check; [`Stockpile`] installs them.

pub mod systems;

use bevy_ecs::prelude::*;

use super::mechanism::{Mechanism, NonFinite};
use super::metrics::MetricInfo;
use super::resources::Registry;
use super::schedule::Hook;
use crate::scenario::Resolved;
use crate::scenario::stockpile::ResolvedStockpile;

/// Metric: refined material held in a nation's strategic stockpile (t, end of step).
pub const STOCKPILE: &str = "stockpile";

const METRICS: &[MetricInfo] = &[MetricInfo {
    name: STOCKPILE,
    unit: "t",
    by: "mineral, `refined`, nation (holder)",
    doc: "refined material held in the nation's strategic stockpile at the end of the step",
}];

/// State of every stockpile of the scenario.
#[derive(Clone, Debug, Default, Resource)]
pub struct Stockpiles {
    /// Parameters, sorted by (nation, mineral).
    pub params: Vec<ResolvedStockpile>,
    /// Fill, t, same order.
    pub level_t: Vec<f64>,
    /// Position of the first of this step's orders in `StockOrders::orders`.
    pub first_order: usize,
}

/// The stockpile mechanism.
pub struct Stockpile;

impl Mechanism for Stockpile {
    fn install(&self, resolved: &Resolved, world: &mut World, schedule: &mut Schedule) {
        if resolved.stockpiles.is_empty() {
            return;
        }
        world.insert_resource(Stockpiles {
            params: resolved.stockpiles.clone(),
            level_t: resolved.stockpiles.iter().map(|s| s.initial_t).collect(),
            first_order: 0,
        });
        schedule.add_systems((
            systems::place_orders.in_set(Hook::Orders),
            systems::settle.in_set(Hook::Settle),
            systems::record.in_set(Hook::Observe),
        ));
    }

    fn metrics(&self) -> &'static [MetricInfo] {
        METRICS
    }

    fn check_finite(&self, world: &World) -> Option<NonFinite> {
        let state = world.get_resource::<Stockpiles>()?;
        let registry = world.get_resource::<Registry>()?;
        let name = |list: &[String], i: u16| {
            list.get(usize::from(i))
                .cloned()
                .unwrap_or_else(|| "?".into())
        };
        state
            .params
            .iter()
            .zip(&state.level_t)
            .find(|(_, l)| !l.is_finite())
            .map(|(p, &value)| NonFinite {
                quantity: "stockpile_t",
                entity: format!(
                    "nation `{}`, mineral `{}`",
                    name(&registry.nations, p.nation),
                    name(&registry.minerals, p.mineral)
                ),
                value,
            })
    }
}

#[cfg(test)]
mod tests;
