//! Prices and expectations (phase 7 of a step). See `docs/ODD.md` §7.7.
//!
//! Each market segment's price responds to the balance of the step just cleared (a tâtonnement
//! step) and never falls below the reservation price of the dearest lot it needed (competitive
//! sellers do not sell below cash cost):
//!
//! `p' = clamp( max( p · exp(κ · (D − S) / max(D, S)), r_marginal ), floor · p_ref, ceiling · p_ref )`
//!
//! with `D` the segment's demand, `S` the supply it could reach, `κ` =
//! `market.price_adjustment_speed`. Under scarcity (`D > S`) the price rises geometrically towards
//! the ceiling; under surplus it falls towards the marginal cost of supply. A segmented (restricted)
//! market never has a price below the open market's: its sellers could sell there instead.

use bevy_ecs::prelude::*;

use crate::model::resources::{
    BuyerPrices, MarketConfig, MarketOutcome, PriceExpectations, Prices, SegmentOutcome,
};

/// The new price of a segment after one step.
pub fn next_price(
    price: f64,
    segment: &SegmentOutcome,
    speed: f64,
    floor_usd_per_t: f64,
    ceiling_usd_per_t: f64,
) -> f64 {
    let scale = segment.demand_t.max(segment.accessible_t);
    let excess = if scale > 0.0 {
        (segment.demand_t - segment.accessible_t) / scale
    } else {
        0.0
    };
    let mut next = price * (speed * excess).exp();
    if let Some(marginal) = segment.marginal_usd_per_t {
        next = next.max(marginal);
    }
    next.clamp(floor_usd_per_t, ceiling_usd_per_t.max(floor_usd_per_t))
}

/// Update the open-market price and every buyer's price from this step's clearing, then the
/// expectations.
pub fn update_prices(
    config: Res<MarketConfig>,
    outcome: Res<MarketOutcome>,
    mut prices: ResMut<Prices>,
    mut buyer_prices: ResMut<BuyerPrices>,
    mut expectations: ResMut<PriceExpectations>,
) {
    let s = &config.settings;
    for (c, market) in outcome.commodities.iter().enumerate() {
        let (Some(&reference), Some(&current)) =
            (prices.reference_usd_per_t.get(c), prices.usd_per_t.get(c))
        else {
            continue;
        };
        let floor = reference * s.price_floor_ratio;
        let ceiling = reference * s.price_ceiling_ratio;
        let world = market
            .segments
            .iter()
            .find(|seg| !seg.restricted)
            .map_or(current, |seg| {
                next_price(current, seg, s.price_adjustment_speed, floor, ceiling)
            });
        prices.usd_per_t[c] = world;
        let (Some(row), Some(flags)) = (
            buyer_prices.usd_per_t.get(c).cloned(),
            buyer_prices.segmented.get(c).cloned(),
        ) else {
            continue;
        };
        let mut new_row = vec![world; row.len()];
        let mut new_flags = vec![false; flags.len()];
        for seg in market.segments.iter().filter(|seg| seg.restricted) {
            // A segment's previous price: demand-weighted mean of what its members faced (they
            // faced the same price whenever they were in the same segment before).
            let mut weight = 0.0;
            let mut sum = 0.0;
            for &b in &seg.buyers {
                let b = usize::from(b.0);
                let d = market.demand_t.get(b).copied().unwrap_or(0.0);
                weight += d;
                sum += d * row[b];
            }
            let previous = if weight > 0.0 {
                sum / weight
            } else {
                seg.buyers
                    .iter()
                    .map(|&b| row[usize::from(b.0)])
                    .fold(world, f64::max)
            };
            let price = next_price(previous, seg, s.price_adjustment_speed, floor, ceiling)
                .max(world)
                .min(ceiling.max(world));
            for &b in &seg.buyers {
                new_row[usize::from(b.0)] = price;
                new_flags[usize::from(b.0)] = true;
            }
        }
        buyer_prices.usd_per_t[c] = new_row;
        buyer_prices.segmented[c] = new_flags;
    }
    let w = s.expectation_weight;
    for (e, p) in expectations.usd_per_t.iter_mut().zip(&prices.usd_per_t) {
        *e = (1.0 - w) * *e + w * p;
    }
    // The price a refinery in nation h expects to sell at is what h's buyers face: the world price
    // unless export controls segment h's market (a US refinery sells into the US segment).
    for (row, faced) in expectations
        .buyer_usd_per_t
        .iter_mut()
        .zip(&buyer_prices.usd_per_t)
    {
        for (e, p) in row.iter_mut().zip(faced) {
            *e = (1.0 - w) * *e + w * p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(demand: f64, accessible: f64, marginal: Option<f64>) -> SegmentOutcome {
        SegmentOutcome {
            demand_t: demand,
            accessible_t: accessible,
            served_t: demand.min(accessible),
            marginal_usd_per_t: marginal,
            ..SegmentOutcome::default()
        }
    }

    #[test]
    fn scarcity_raises_and_surplus_lowers_the_price_within_bounds() {
        let up = next_price(100.0, &segment(10.0, 5.0, Some(50.0)), 0.5, 25.0, 500.0);
        assert!((up - 100.0 * 0.25f64.exp()).abs() < 1e-9);
        let down = next_price(100.0, &segment(5.0, 10.0, Some(50.0)), 0.5, 25.0, 500.0);
        assert!((50.0..100.0).contains(&down));
        assert_eq!(
            next_price(490.0, &segment(10.0, 0.0, None), 2.0, 25.0, 500.0),
            500.0
        );
        assert_eq!(
            next_price(30.0, &segment(0.0, 10.0, None), 2.0, 25.0, 500.0),
            25.0
        );
    }

    #[test]
    fn the_price_never_falls_below_the_marginal_cost() {
        let p = next_price(100.0, &segment(5.0, 50.0, Some(95.0)), 1.0, 25.0, 500.0);
        assert_eq!(p, 95.0);
    }
}
