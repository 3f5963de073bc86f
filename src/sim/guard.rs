//! Non-finite guard: after each step, check that everything the step produced is a finite number.
//!
//! A NaN or infinity that enters the state (a division by a zero demand, an overflowing product of
//! extreme parameters) spreads silently through sums and prices and ends as a column of NaN in
//! every file. The CSV writers refuse such values, but only after the whole run, and can only name
//! the row. This guard stops the run at the first step where a value stops being finite and says
//! what it was: the metric or state variable, the entity's id and the step. It reads the rows the
//! step appended (metrics and flows), world and buyer prices, price expectations, feed stocks,
//! the numeric state of every asset and, through
//! [`crate::model::mechanism::Mechanism::check_finite`], the state of every installed mechanism
//! (demand and consumer stocks, financier budgets, stockpiles, recycling, ...), so its cost is
//! linear in the entities (and nations × commodities), like a step.

use std::fmt;

use bevy_ecs::prelude::*;

use crate::model::components::{AssetIdx, Capacity, Esg, Outages, Output, Ownership, UnitCost};
use crate::model::resources::{
    BuyerPrices, FeedStocks, FlowLog, Metrics, PriceExpectations, Prices, ProducerPrices, Registry,
};
use crate::model::schedule::MECHANISMS;
use crate::model::tables::Commodity;

/// A value that stopped being finite: what it is, whose it is, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct NonFiniteValue {
    /// Metric or state variable (`production`, `capacity_t_per_yr`, `price_usd_per_t`, ...).
    pub quantity: String,
    /// The entity it belongs to, by id (`asset atacama`, `mineral lithium, stage ore, nation CHL`).
    pub entity: String,
    /// Step at which it was found.
    pub step: u32,
    /// The value (NaN or ±inf).
    pub value: f64,
}

impl fmt::Display for NonFiniteValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the run stopped at step {}: `{}` of {} became {} (a non-finite value is never \
             written; please report this with the scenario)",
            self.step, self.quantity, self.entity, self.value
        )
    }
}

impl std::error::Error for NonFiniteValue {}

fn name(list: &[String], i: usize) -> &str {
    list.get(i).map_or("?", String::as_str)
}

/// Check the rows step `step` appended and the state it left. Returns the first non-finite value,
/// in a fixed order (metrics, flows, prices, then assets by index) so the report is deterministic.
pub fn check_step(world: &mut World, step: u32) -> Result<(), NonFiniteValue> {
    let registry = world.resource::<Registry>();
    let bad = |quantity: &str, entity: String, value: f64| NonFiniteValue {
        quantity: quantity.to_string(),
        entity,
        step,
        value,
    };
    // Rows are appended step by step, so this step's rows are the tail with its step number.
    let metrics = &world.resource::<Metrics>().rows;
    if let Some(row) = metrics
        .iter()
        .rev()
        .take_while(|r| r.step == step)
        .filter(|r| !r.value.is_finite())
        .last()
    {
        let mut entity = Vec::new();
        if let Some(m) = row.mineral {
            entity.push(format!(
                "mineral `{}`",
                name(&registry.minerals, m.0.into())
            ));
        }
        if let Some(s) = row.stage {
            entity.push(format!("stage `{}`", s.as_str()));
        }
        if let Some(n) = row.nation {
            entity.push(format!("nation `{}`", name(&registry.nations, n.0.into())));
        }
        if let Some(n) = row.partner {
            entity.push(format!("partner `{}`", name(&registry.nations, n.0.into())));
        }
        if entity.is_empty() {
            entity.push("the world".into());
        }
        return Err(bad(
            &format!("metric {}", row.metric),
            entity.join(", "),
            row.value,
        ));
    }
    let flows = &world.resource::<FlowLog>().rows;
    if let Some(f) = flows
        .iter()
        .rev()
        .take_while(|f| f.step == step)
        .filter(|f| !(f.quantity_t.is_finite() && f.value_usd.is_finite()))
        .last()
    {
        let (quantity, value) = if f.quantity_t.is_finite() {
            ("flow value_usd", f.value_usd)
        } else {
            ("flow quantity", f.quantity_t)
        };
        return Err(bad(
            quantity,
            format!(
                "mineral `{}`, stage `{}`, from `{}` to `{}`",
                name(&registry.minerals, f.mineral.0.into()),
                f.stage.as_str(),
                name(&registry.nations, f.from.0.into()),
                name(&registry.nations, f.to.0.into())
            ),
            value,
        ));
    }
    let commodity_name = |c: usize| {
        let c = Commodity::of_index(c);
        format!(
            "mineral `{}`, stage `{}`",
            name(&registry.minerals, c.mineral.0.into()),
            c.stage.as_str()
        )
    };
    if let Some(prices) = world.get_resource::<Prices>()
        && let Some((c, &p)) = prices
            .usd_per_t
            .iter()
            .enumerate()
            .find(|(_, p)| !p.is_finite())
    {
        return Err(bad("price_usd_per_t", commodity_name(c), p));
    }
    if let Some(e) = world.get_resource::<PriceExpectations>()
        && let Some((c, &p)) = e.usd_per_t.iter().enumerate().find(|(_, p)| !p.is_finite())
    {
        return Err(bad("expected_price_usd_per_t", commodity_name(c), p));
    }
    if let Some(e) = world.get_resource::<PriceExpectations>() {
        for (c, row) in e.buyer_usd_per_t.iter().enumerate() {
            if let Some((n, &p)) = row.iter().enumerate().find(|(_, p)| !p.is_finite()) {
                let who = format!(
                    "{}, buyer `{}`",
                    commodity_name(c),
                    name(&registry.nations, n)
                );
                return Err(bad("expected_buyer_price_usd_per_t", who, p));
            }
        }
    }
    if let Some(b) = world.get_resource::<BuyerPrices>() {
        for (c, row) in b.usd_per_t.iter().enumerate() {
            if let Some((n, &p)) = row.iter().enumerate().find(|(_, p)| !p.is_finite()) {
                let who = format!(
                    "{}, buyer `{}`",
                    commodity_name(c),
                    name(&registry.nations, n)
                );
                return Err(bad("buyer_price_usd_per_t", who, p));
            }
        }
    }
    if let Some(b) = world.get_resource::<ProducerPrices>() {
        for (c, row) in b.usd_per_t.iter().enumerate() {
            if let Some((n, &p)) = row.iter().enumerate().find(|(_, p)| !p.is_finite()) {
                let who = format!(
                    "{}, exporter `{}`",
                    commodity_name(c),
                    name(&registry.nations, n)
                );
                return Err(bad("producer_price_usd_per_t", who, p));
            }
        }
    }
    if let Some(f) = world.get_resource::<FeedStocks>()
        && let Some((a, &t)) = f.ore_t.iter().enumerate().find(|(_, t)| !t.is_finite())
    {
        let who = format!("asset `{}`", name(&registry.assets, a));
        return Err(bad("feed_stock_t", who, t));
    }
    // Installed mechanisms check their own state (crate::model::mechanism).
    for m in MECHANISMS {
        if let Some(found) = m.check_finite(world) {
            return Err(bad(found.quantity, found.entity, found.value));
        }
    }
    let asset_names = registry.assets.clone();
    let mut first: Option<(AssetIdx, &'static str, f64)> = None;
    let mut assets = world.query::<(
        &AssetIdx,
        &Capacity,
        &Output,
        &Outages,
        &UnitCost,
        &Esg,
        &Ownership,
    )>();
    for (idx, cap, output, outages, cost, esg, owners) in assets.iter(world) {
        let values = [
            ("capacity_t_per_yr", cap.t_per_yr),
            ("utilisation", cap.utilisation),
            ("output_t", output.t),
            ("potential_output_t", output.potential_t),
            ("scheduled_outage_loss", outages.scheduled_loss),
            ("random_outage_loss", outages.random_loss),
            ("unit_opex_usd_per_t", cost.opex_usd_per_t),
            ("esg", esg.0),
        ];
        let found = values
            .into_iter()
            .chain(owners.0.iter().map(|(_, s)| ("owner_share", *s)))
            .find(|(_, v)| !v.is_finite());
        // Query order is not stable: keep the lowest asset index so the report is deterministic.
        if let Some((quantity, value)) = found
            && first.is_none_or(|(i, _, _)| *idx < i)
        {
            first = Some((*idx, quantity, value));
        }
    }
    match first {
        Some((idx, quantity, value)) => Err(bad(
            quantity,
            format!("asset `{}`", name(&asset_names, idx.0 as usize)),
            value,
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;
    use crate::sim::Simulation;

    const TINY: &str = include_str!("../../scenarios/tiny.ron");

    #[test]
    fn a_nan_capacity_stops_the_run_naming_asset_quantity_and_step() {
        let loaded = load_str(TINY, "tiny.ron", &[]).expect("tiny loads");
        let mut sim = Simulation::new(loaded.scenario.resolved(), false);
        sim.step_checked().expect("step 0 is finite");
        let mut q = sim.world.query::<(&AssetIdx, &mut Capacity)>();
        let registry_assets = sim.world.resource::<Registry>().assets.clone();
        let atacama = registry_assets
            .iter()
            .position(|a| a == "atacama")
            .expect("tiny has atacama");
        for (idx, mut cap) in q.iter_mut(&mut sim.world) {
            if idx.0 as usize == atacama {
                cap.t_per_yr = f64::NAN;
            }
        }
        let err = sim.step_checked().expect_err("NaN capacity is caught");
        let text = err.to_string();
        assert_eq!(err.step, 1);
        // Production of CHL ore is the first thing the NaN reaches.
        assert!(text.contains("step 1"), "{text}");
        assert!(text.contains("NaN"), "{text}");
        assert!(
            text.contains("CHL") || text.contains("atacama"),
            "names the entity: {text}"
        );
    }

    #[test]
    fn an_infinite_price_is_named() {
        let loaded = load_str(TINY, "tiny.ron", &[]).expect("tiny loads");
        let mut sim = Simulation::new(loaded.scenario.resolved(), false);
        sim.step_checked().expect("step 0 is finite");
        // As if the price update of step 0 had overflowed.
        sim.world.resource_mut::<Prices>().usd_per_t[1] = f64::INFINITY;
        let err = check_step(&mut sim.world, 0).expect_err("inf price is caught");
        assert_eq!(err.quantity, "price_usd_per_t");
        assert!(err.entity.contains("lithium") && err.entity.contains("refined"));
        assert_eq!(err.step, 0);
    }

    #[test]
    fn a_nan_feed_stock_names_the_refinery() {
        let loaded = load_str(TINY, "tiny.ron", &[]).expect("tiny loads");
        let mut sim = Simulation::new(loaded.scenario.resolved(), false);
        sim.step_checked().expect("step 0 is finite");
        let refinery = sim
            .world
            .resource::<Registry>()
            .assets
            .iter()
            .position(|a| a == "usa_refinery")
            .expect("tiny has usa_refinery");
        sim.world.resource_mut::<FeedStocks>().ore_t[refinery] = f64::NAN;
        let err = check_step(&mut sim.world, 0).expect_err("NaN stock is caught");
        assert_eq!(err.quantity, "feed_stock_t");
        assert_eq!(err.entity, "asset `usa_refinery`");
    }

    #[test]
    fn a_finite_run_passes_every_step() {
        let loaded = load_str(TINY, "tiny.ron", &[]).expect("tiny loads");
        let result = crate::sim::try_run(loaded.scenario.resolved()).expect("tiny is finite");
        assert_eq!(result.steps, 12);
    }
}
