//! Prices and expectations (phase 7 of a step). See `docs/ODD.md` §7.7.
//!
//! Prices are set by the equilibrium of the step just cleared ([`super::equilibrium`]); this
//! system records them and updates the expectations investment reads:
//!
//! - the **reference price** of each commodity ([`Prices::usd_per_t`], metric `price` without a
//!   nation): the volume-weighted producer price of the tonnes traded. Always defined: while
//!   nothing trades it keeps its last value. It replaces the "open-market" price, which had no
//!   meaning once export controls segmented every buyer;
//! - each **buyer's price** ([`BuyerPrices`]): the unit value it paid (wedges and transport
//!   included); nations that bought nothing carry the reference price;
//! - each **producer price** ([`ProducerPrices`]): what an exporter's sellers net; nations that
//!   offered nothing carry the reference price. Also the solver's warm start next step.
//!
//! Expectations are adaptive, `e′ = (1 − w) e + w p` with `w = market.expectation_weight`, for
//! the reference price and for every buyer price.

use bevy_ecs::prelude::*;

use crate::model::resources::{
    BuyerPrices, MarketConfig, MarketOutcome, PriceExpectations, Prices, ProducerPrices,
};

/// Record this step's equilibrium prices, then update the expectations.
pub fn update_prices(
    config: Res<MarketConfig>,
    outcome: Res<MarketOutcome>,
    mut prices: ResMut<Prices>,
    mut buyer_prices: ResMut<BuyerPrices>,
    mut producer_prices: ResMut<ProducerPrices>,
    mut expectations: ResMut<PriceExpectations>,
) {
    let s = &config.settings;
    for (c, market) in outcome.commodities.iter().enumerate() {
        let Some(&current) = prices.usd_per_t.get(c) else {
            continue;
        };
        let reference = market.transaction_usd_per_t.unwrap_or(current);
        prices.usd_per_t[c] = reference;
        let bp = &mut *buyer_prices;
        if let (Some(row), Some(flags)) = (bp.usd_per_t.get_mut(c), bp.buyer.get_mut(c)) {
            for (b, (price, flag)) in row.iter_mut().zip(flags.iter_mut()).enumerate() {
                let paid = market.buyer_usd_per_t.get(b).copied().unwrap_or(0.0);
                let bought = market.demand_t.get(b).copied().unwrap_or(0.0) > 0.0 && paid > 0.0;
                *flag = bought;
                *price = if bought { paid } else { reference };
            }
        }
        let pp = &mut *producer_prices;
        if let (Some(row), Some(flags)) = (pp.usd_per_t.get_mut(c), pp.exporter.get_mut(c)) {
            for (h, (price, flag)) in row.iter_mut().zip(flags.iter_mut()).enumerate() {
                let p = market.producer_usd_per_t.get(h).copied().unwrap_or(0.0);
                *flag = p > 0.0;
                *price = if p > 0.0 { p } else { reference };
            }
        }
    }
    let w = s.expectation_weight;
    for (e, p) in expectations.usd_per_t.iter_mut().zip(&prices.usd_per_t) {
        *e = (1.0 - w) * *e + w * p;
    }
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
