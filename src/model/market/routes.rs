//! Link tables of every commodity for the market solver ([`super::equilibrium`]), kept from one
//! step to the next (used by [`super::trade`]).
//!
//! A link `h → b` carries the wedges of the delivered price
//! `d_hb = p_h · (1 + τ_bh) / (1 − t_h) + T_hb` (`docs/ODD.md` §7.6): the importer's tariff τ, the
//! exporter's export tax t from the [`HostTerms`] (the same numbers investment reads), transport T,
//! and the log preference term `β_hb`: the calibrated term (`trade_preferences`), plus
//! `σ · φ · affinity_bh / p_ref` for friend-shoring (at the reference price, equivalent to a
//! discount of φ · affinity USD/t), plus the log of the open share for a licence that opens during
//! the step. Access: export bans and ore export bans block links, a licence delay blocks them until
//! the first licences are granted (dated by the real start date plus the delay; in the step in
//! which that date falls the link is open for the remaining share of the step), quotas cap them.
//! Tables are rebuilt only when an input changes; every number is computed by the same expression
//! either way.

use crate::model::components::{MineralIdx, NationIdx, Stage};
use crate::model::resources::{HostTerms, Registry, TradeRules, commodity};
use crate::model::systems::equilibrium::{Access, Links};
use crate::scenario::ControlMode;

/// The link tables of every commodity, and what they were built from.
#[derive(Debug, Default)]
pub struct RouteTables {
    /// Tables by commodity ([`commodity`]).
    links: Vec<Links>,
    /// Open share of each export control's links this step (0 = blocked, 1 = open), in rule
    /// order, as the tables were built.
    open_share: Vec<f64>,
    /// Export taxes the tables were built with.
    export_tax: Vec<Vec<f64>>,
    /// Ore export bans the tables were built with.
    ore_export_ban: Vec<Vec<bool>>,
}

/// What the link tables depend on.
pub struct RouteInputs<'a> {
    /// Nations, transport, affinity and preference terms.
    pub registry: &'a Registry,
    /// Trade rules in force.
    pub rules: &'a TradeRules,
    /// Whether the rules, the registry or the market settings may have changed since the last
    /// refresh (Bevy change detection; a false positive only costs a rebuild).
    pub rules_changed: bool,
    /// Decimal year at the start of the step and the step length in years.
    pub year: f64,
    /// Step length, years.
    pub dt_years: f64,
    /// Host terms (export taxes, ore export bans).
    pub host_terms: &'a HostTerms,
    /// Friend-shoring preference, USD/t per unit of affinity.
    pub friend_shoring_usd_per_t: f64,
    /// Armington elasticity σ.
    pub sigma: f64,
    /// Reference price of each commodity, USD/t.
    pub reference_usd_per_t: &'a [f64],
}

impl RouteTables {
    /// Bring the tables up to date for this step.
    pub fn refresh(&mut self, inputs: &RouteInputs) {
        let registry = inputs.registry;
        let n = registry.n_nations();
        let n_commodities = registry.n_minerals() * 2;
        let open_share: Vec<f64> = inputs
            .rules
            .export_controls
            .iter()
            .map(|control| match control.mode {
                ControlMode::Ban => 0.0,
                ControlMode::Quota => 1.0,
                ControlMode::LicenceDelay => {
                    let open_year = control.licence_open_year;
                    let end = inputs.year + inputs.dt_years;
                    if open_year <= inputs.year {
                        1.0
                    } else if open_year >= end {
                        0.0
                    } else {
                        (end - open_year) / inputs.dt_years
                    }
                }
            })
            .collect();
        let stale = inputs.rules_changed
            || self.links.len() != n_commodities
            || self.links.first().is_some_and(|l| l.n != n)
            || open_share != self.open_share
            || inputs.host_terms.export_tax != self.export_tax
            || inputs.host_terms.ore_export_ban != self.ore_export_ban;
        if !stale {
            return;
        }
        self.open_share = open_share;
        self.export_tax = inputs.host_terms.export_tax.clone();
        self.ore_export_ban = inputs.host_terms.ore_export_ban.clone();
        self.links = (0..n_commodities)
            .map(|c| build_links(n, inputs, &self.open_share, c))
            .collect();
    }

    /// The link tables of commodity `c`, as of the last [`Self::refresh`].
    pub fn links(&self, c: usize) -> &Links {
        &self.links[c]
    }
}

fn nation(i: usize) -> NationIdx {
    NationIdx(i as u16)
}

/// The mineral and stage of commodity index `c` (inverse of [`commodity`]).
fn split(c: usize) -> (MineralIdx, Stage) {
    let mineral = MineralIdx((c / 2) as u16);
    let stage = if commodity(mineral, Stage::Ore) == c {
        Stage::Ore
    } else {
        Stage::Refined
    };
    (mineral, stage)
}

/// The links of commodity `c`.
fn build_links(n: usize, inputs: &RouteInputs, open_share: &[f64], c: usize) -> Links {
    let (mineral, stage) = split(c);
    let registry = inputs.registry;
    let rules = inputs.rules;
    let mut links = Links::open(n);
    let reference = inputs.reference_usd_per_t.get(c).copied().unwrap_or(0.0);
    let preference = registry.preference.get(c);
    for h in 0..n {
        let tax = inputs
            .host_terms
            .export_tax
            .get(c)
            .and_then(|t| t.get(h))
            .copied()
            .unwrap_or(0.0)
            .clamp(0.0, 0.95);
        for b in 0..n {
            let at = h * n + b;
            links.transport_usd_per_t[at] = registry.transport(nation(h), nation(b));
            let mut beta = preference.and_then(|p| p.get(at)).copied().unwrap_or(0.0);
            if reference > 0.0 && h != b {
                beta += inputs.sigma
                    * inputs.friend_shoring_usd_per_t
                    * registry.affinity(nation(b), nation(h))
                    / reference;
            }
            links.ln_preference[at] = beta;
            if h != b {
                let tariff = rules
                    .tariff
                    .get(c)
                    .and_then(|t| t.get(b * n + h))
                    .copied()
                    .unwrap_or(0.0)
                    .max(0.0);
                links.markup[at] = (1.0 + tariff) / (1.0 - tax);
            }
        }
    }
    for (control, &open) in rules
        .export_controls
        .iter()
        .zip(open_share)
        .filter(|(x, _)| x.commodity == c)
    {
        let quota = (control.mode == ControlMode::Quota).then(|| {
            links.quota_t.push(control.quota_t_per_step.max(0.0));
            links.quota_t.len() - 1
        });
        for b in (0..n).filter(|&b| control.covers(nation(b))) {
            let at = usize::from(control.exporter.0) * n + b;
            if links.access[at] == Access::Blocked {
                continue;
            }
            if open <= 0.0 {
                links.access[at] = Access::Blocked;
            } else if let Some(k) = quota {
                // A link under two quotas keeps the first (scenario order).
                if links.access[at] == Access::Open {
                    links.access[at] = Access::Quota(k);
                }
            } else if open < 1.0 {
                links.ln_preference[at] += open.ln();
            }
        }
    }
    if stage == Stage::Ore
        && let Some(bans) = inputs.host_terms.ore_export_ban.get(usize::from(mineral.0))
    {
        for (h, _) in bans.iter().enumerate().filter(|(_, ban)| **ban) {
            for b in (0..n).filter(|&b| b != h) {
                links.access[h * n + b] = Access::Blocked;
            }
        }
    }
    links
}
