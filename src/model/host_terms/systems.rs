//! Host terms: the one table of export taxes, ore export bans, mandates and royalties that both
//! trade ([`crate::model::systems::trade`]) and investment ([`crate::model::systems::investment`]) read (`docs/ODD.md` §7.6).
//!
//! Why one table: the dated `export_tax` policies and a host's own `ore_export_tax` (which host
//! politics may change) used to be summed in trade and maxed in investment, so a project was
//! valued on terms its mine would not face. Rebuilt every step after host politics (phase 2), so
//! investment (phase 3) and trade (phase 6) see the same numbers.

use bevy_ecs::prelude::*;

use crate::model::components::{MineralIdx, NationIdx, Priorities, Stage};
use crate::model::resources::{HostTerms, Registry, TradeRules, commodity};

/// Highest export tax rate the market handles (a tax at the cap is prohibitive: the delivered
/// price is 20 times the producer price).
pub const MAX_EXPORT_TAX: f64 = 0.95;

/// Rebuild [`HostTerms`] from the trade rules in force and the hosts' priorities.
pub fn update_host_terms(
    registry: Res<Registry>,
    rules: Res<TradeRules>,
    nations: Query<(&NationIdx, &Priorities)>,
    mut terms: ResMut<HostTerms>,
) {
    let n = registry.n_nations();
    let n_minerals = registry.n_minerals();
    let mut ore_tax = vec![0.0; n];
    let mut own_mandate = vec![false; n];
    let mut royalty = vec![0.0; n];
    for (idx, p) in &nations {
        let i = usize::from(idx.0);
        if i < n {
            ore_tax[i] = p.0.ore_export_tax;
            own_mandate[i] = p.0.local_processing_mandate;
            royalty[i] = p.0.royalty_rate;
        }
    }
    let mut export_tax = vec![vec![0.0; n]; n_minerals * 2];
    let mut ban = vec![vec![false; n]; n_minerals];
    let mut mandate = vec![vec![false; n]; n_minerals];
    for m in 0..n_minerals {
        let mineral = MineralIdx(m as u16);
        for stage in [Stage::Ore, Stage::Refined] {
            let c = commodity(mineral, stage);
            for h in 0..n {
                let policy = rules
                    .export_tax
                    .get(c)
                    .and_then(|t| t.get(h))
                    .copied()
                    .unwrap_or(0.0);
                let own = if stage == Stage::Ore { ore_tax[h] } else { 0.0 };
                export_tax[c][h] = (policy + own).clamp(0.0, MAX_EXPORT_TAX);
            }
        }
        for h in 0..n {
            ban[m][h] = rules
                .ore_export_ban
                .get(m)
                .and_then(|r| r.get(h))
                .copied()
                .unwrap_or(false);
            mandate[m][h] = own_mandate[h]
                || rules
                    .local_processing_mandate
                    .get(m)
                    .and_then(|r| r.get(h))
                    .copied()
                    .unwrap_or(false);
        }
    }
    let next = HostTerms {
        export_tax,
        ore_export_ban: ban,
        local_processing_mandate: mandate,
        royalty,
    };
    if terms.export_tax != next.export_tax
        || terms.ore_export_ban != next.ore_export_ban
        || terms.local_processing_mandate != next.local_processing_mandate
        || terms.royalty != next.royalty
    {
        *terms = next;
    }
}
