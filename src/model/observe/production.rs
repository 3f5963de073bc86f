//! Observation: record the metrics of the step (phase 8).
//!
//! Location metrics aggregate by host nation, control metrics by the home nation of each owner
//! weighted by its equity share. Rows are written for every (commodity, nation) pair in
//! [`ObservedPairs`] so each series is complete; shares and HHI are omitted at steps where world
//! production of the commodity is zero (they are undefined, and no NaN may reach a file).
//! Accumulation is into dense arrays indexed by stable indices, so the order in which the query
//! yields assets cannot change a sum's rounding... except through float addition order, which is
//! why assets are accumulated in stable-index order.

use bevy_ecs::prelude::*;

use crate::model::metrics as metric;

use crate::model::order::by_unique_key;
use crate::model::tables::{Commodity, PerCommodityNation};

use crate::model::components::{
    AssetIdx, Capacity, Lifecycle, NationIdx, Output, Ownership, Site, Status,
};
use crate::model::resources::{Clock, MarketOutcome, MetricRow, Metrics, ObservedPairs, Registry};

/// Whether an asset's capacity counts in the capacity metric.
fn counts_capacity(status: Status) -> bool {
    matches!(
        status,
        Status::Operating | Status::RampUp | Status::Suspended
    )
}

/// Record capacity, production, shares and HHI for the step.
pub fn record_metrics(
    clock: Res<Clock>,
    registry: Res<Registry>,
    pairs: Res<ObservedPairs>,
    outcome: Res<MarketOutcome>,
    mut metrics: ResMut<Metrics>,
    assets: Query<(&AssetIdx, &Site, &Capacity, &Lifecycle, &Output, &Ownership)>,
) {
    let n = registry.n_nations();
    let nc = registry.n_minerals() * 2;
    let spy = f64::from(clock.steps_per_year);
    let mut capacity = PerCommodityNation::new(nc, n, 0.0);
    let mut production = PerCommodityNation::new(nc, n, 0.0);
    let mut available = PerCommodityNation::new(nc, n, 0.0);
    let mut controlled = PerCommodityNation::new(nc, n, 0.0);
    // Stable order for float sums, for the rows that add something: an asset not counted in
    // capacity, with no output and nothing available adds only zeros (±0 leaves a sum that
    // starts at +0 unchanged), so it is left out before the rows are put in order.
    let rows = by_unique_key(
        assets.iter().filter(|(_, _, _, life, output, _)| {
            counts_capacity(life.status)
                || (output.potential_t + output.stretch_t) * spy != 0.0
                || output.t * spy > 0.0
        }),
        registry.assets.len(),
        |(idx, ..)| idx.0 as usize,
    );
    // Tonnes under explicit offtakes (docs/ODD.md §7.6.4): control of them moves from the
    // seller's owners to the buyer nation.
    let offtaken = |c: usize, asset: AssetIdx| -> &[(AssetIdx, NationIdx, f64)] {
        let Some(list) = outcome.commodities.get(c).map(|o| &o.controlled_offtake_t) else {
            return &[];
        };
        let lo = list.partition_point(|x| x.0 < asset);
        let hi = list.partition_point(|x| x.0 <= asset);
        &list[lo..hi]
    };
    for (idx, site, cap, life, output, owners) in rows {
        let com = Commodity {
            mineral: site.mineral,
            stage: site.stage,
        };
        let c = com.index();
        let h = site.host;
        if counts_capacity(life.status) {
            capacity[(com, h)] += cap.t_per_yr;
        }
        // At the technical maximum: calibrated output plus headroom (docs/ODD.md §7.6.6).
        available[(com, h)] += (output.potential_t + output.stretch_t) * spy;
        let annual = output.t * spy;
        if annual > 0.0 {
            production[(com, h)] += annual;
            let mut owned = annual;
            for (_, buyer, t) in offtaken(c, *idx) {
                let shifted = (t * spy).min(owned);
                controlled[(com, *buyer)] += shifted;
                owned -= shifted;
            }
            for (firm, share) in &owners.0 {
                let home = registry.firm_home[firm.0 as usize];
                controlled[(com, home)] += owned * share;
            }
        }
    }
    let step = clock.step;
    for c in 0..nc {
        let com = Commodity::of_index(c);
        let Commodity { mineral, stage } = com;
        let row = |metric: &'static str, nation: NationIdx, value: f64| MetricRow {
            step,
            metric,
            mineral: Some(mineral),
            stage: Some(stage),
            nation: Some(nation),
            partner: None,
            value,
        };
        let hosts = &pairs.hosts[c];
        for &h in hosts {
            metrics
                .rows
                .push(row(metric::CAPACITY, h, capacity[(com, h)]));
        }
        for &h in hosts {
            metrics
                .rows
                .push(row(metric::AVAILABLE_CAPACITY, h, available[(com, h)]));
        }
        for &h in hosts {
            metrics
                .rows
                .push(row(metric::PRODUCTION, h, production[(com, h)]));
        }
        let world: f64 = production.row(com).iter().sum();
        if world > 0.0 {
            let mut hhi = 0.0;
            for &h in hosts {
                let share = production[(com, h)] / world;
                hhi += share * share;
                metrics.rows.push(row(metric::SHARE_LOCATION, h, share));
            }
            for &h in &pairs.controllers[c] {
                metrics
                    .rows
                    .push(row(metric::SHARE_CONTROL, h, controlled[(com, h)] / world));
            }
            metrics.rows.push(MetricRow {
                step,
                metric: metric::HHI,
                mineral: Some(mineral),
                stage: Some(stage),
                nation: None,
                partner: None,
                value: hhi,
            });
        }
    }
}
