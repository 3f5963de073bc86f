//! How recycled material enters the refined market: offers the mechanism posts before the
//! clearing, and the small hook `clear_markets` calls to add them to a refined clearing
//! (`docs/ODD.md` §7.6.5).
//!
//! Why a hook and not assets: a recycler buys no ore, so it must not join the refineries' ore
//! bids (pass B of `clear_markets`); it only sells refined material. Its offer is an ordinary
//! [`Lot`] of the recycler's nation at its cash cost, so it is dispatched by the same smoothed
//! merit order, ships on the same links (export controls, tariffs and transport apply) and is
//! bought by the same Armington buyers as primary refined material.

use bevy_ecs::prelude::*;

use crate::model::components::{AssetIdx, MineralIdx, NationIdx};
use crate::model::systems::equilibrium::{Buyer, Lot};

/// One recycler's offer of refined material this step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SecondaryOffer {
    /// Recycler's nation (where the material is refined and ships from).
    pub nation: NationIdx,
    /// Mineral (refined stage).
    pub mineral: MineralIdx,
    /// Most it can sell this step, t.
    pub quantity_t: f64,
    /// Cash cost, USD/t (the lot's reservation price).
    pub reservation_usd_per_t: f64,
}

/// This step's recycled offers and what the final refined clearing sold of each.
#[derive(Clone, Debug, Default, Resource)]
pub struct SecondaryOffers {
    /// Offers in the mechanism's order (sorted by nation, then mineral).
    pub offers: Vec<SecondaryOffer>,
    /// Tonnes sold this step, same order (written by `clear_markets`).
    pub sold_t: Vec<f64>,
}

/// The asset index recycled lots carry: the solver reads only a lot's host, quantity and
/// reservation, and recycled lots take no part in offtake contracts.
pub const RECYCLED_LOT: AssetIdx = AssetIdx(u32::MAX);

impl SecondaryOffers {
    /// The offers of `mineral` as lots, with their positions in [`Self::offers`].
    pub fn lots(&self, mineral: MineralIdx) -> Vec<(usize, Lot)> {
        self.offers
            .iter()
            .enumerate()
            .filter(|(_, o)| o.mineral == mineral && o.quantity_t > 0.0)
            .map(|(k, o)| {
                (
                    k,
                    Lot {
                        asset: RECYCLED_LOT,
                        host: o.nation,
                        quantity_t: o.quantity_t,
                        reservation_usd_per_t: o.reservation_usd_per_t,
                        // Its cash cost is all conversion (no ore bought): the default band.
                        half_band_usd_per_t: None,
                    },
                )
            })
            .collect()
    }

    /// Book what the clearing dispatched of `lots` (the positions and the dispatch of the
    /// appended lots, in the same order).
    pub fn record(&mut self, lots: &[(usize, Lot)], dispatched_t: &[f64]) {
        if self.sold_t.len() != self.offers.len() {
            self.sold_t = vec![0.0; self.offers.len()];
        }
        for ((k, lot), y) in lots.iter().zip(dispatched_t) {
            self.sold_t[*k] = y.clamp(0.0, lot.quantity_t);
        }
    }
}

/// The buyers of a refined clearing whose recycled lots are appended to its lots (the buyers
/// half of [`extend_clearing`], for callers that append the lots themselves): `None` when there
/// are no recycled lots or no buyer has a sourcing rule, when the buyers are unchanged.
pub fn extend_buyers(
    buyers: &[Buyer],
    recycled: &[(usize, Lot)],
    qualifies: impl Fn(NationIdx, NationIdx) -> bool,
) -> Option<Vec<Buyer>> {
    if recycled.is_empty() || buyers.iter().all(|b| b.sourcing.is_none()) {
        return None;
    }
    extend_clearing(&[], buyers, recycled, qualifies).map(|(_, buyers)| buyers)
}

/// A refined clearing's lots and buyers with the recycled lots appended (`None` when there are
/// none, so a scenario without recycling clears exactly as before). Recycled material counts as
/// processed in the recycler's nation for sourcing rules: `qualifies(buyer, recycler_nation)`
/// says whether a lot from that nation, owned from that nation, qualifies for the buyer.
pub fn extend_clearing(
    lots: &[Lot],
    buyers: &[Buyer],
    recycled: &[(usize, Lot)],
    qualifies: impl Fn(NationIdx, NationIdx) -> bool,
) -> Option<(Vec<Lot>, Vec<Buyer>)> {
    if recycled.is_empty() {
        return None;
    }
    let mut all = lots.to_vec();
    all.extend(recycled.iter().map(|(_, l)| *l));
    let buyers = buyers
        .iter()
        .map(|b| {
            let mut b = b.clone();
            if let Some(terms) = &mut b.sourcing {
                terms
                    .qualifies
                    .extend(recycled.iter().map(|(_, l)| qualifies(b.nation, l.host)));
            }
            b
        })
        .collect();
    Some((all, buyers))
}
