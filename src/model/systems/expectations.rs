//! Price expectations: firms expect prices adaptively, e ← e + w (p − e) each step, with
//! w = `market.expectation_weight` (phase 7, after prices update). Investment values projects at
//! these expectations, so a price spike moves investment only as far as it persists.

use bevy_ecs::prelude::*;

use crate::model::resources::{InvestmentConfig, PriceExpectations, Prices};

/// Move every commodity's expected price towards its current price.
pub fn update_price_expectations(
    config: Res<InvestmentConfig>,
    prices: Res<Prices>,
    mut expectations: ResMut<PriceExpectations>,
) {
    let w = config.expectation_weight;
    for (e, p) in expectations.usd_per_t.iter_mut().zip(&prices.usd_per_t) {
        *e += w * (p - *e);
    }
}
