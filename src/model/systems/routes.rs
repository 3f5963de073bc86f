//! Route tables of every commodity, kept from one step to the next (used by [`super::trade`]).
//!
//! The cost a buyer perceives on a route is `price · (tariff + export tax) + transport −
//! friend_shoring · affinity` (`docs/ODD.md` §7.6). Of its inputs only the buyer's price moves every
//! step. Transport and affinity are fixed for the run; access, quotas and ad-valorem rates change
//! only when the trade rules are rebuilt (a policy starts or ends), when a licence delay runs out,
//! or, for ore, when a host changes its ore export tax. Rebuilding the full `nations²` tables of
//! every commodity each step cost about 45 % of a baseline run, so [`RouteTables`] keeps them and
//! rebuilds each part only when its inputs change. Every number is computed by the same
//! expression, in the same order, as a full rebuild would, so the results are identical.

use crate::model::components::{MineralIdx, NationIdx, Stage};
use crate::model::resources::{PolicyTimeline, Registry, TradeRules, commodity};
use crate::model::systems::trade::{Access, Routes};
use crate::scenario::ControlMode;

/// The route tables of every commodity, and what they were built from.
#[derive(Debug, Default)]
pub struct RouteTables {
    /// Number of nations the tables are built for (0 = not built yet).
    n: usize,
    /// `transport(exporter, buyer)`, USD/t, by `[exporter * n + buyer]`. Fixed for the run.
    transport: Vec<f64>,
    /// `friend_shoring · affinity(buyer, exporter)`, USD/t, by `[exporter * n + buyer]`. Fixed.
    friend_shoring: Vec<f64>,
    /// Each export control's first step with licences flowing (controls in rule order).
    licence_open_step: Vec<u32>,
    /// Whether each export control blocks its routes, as the access tables were built.
    blocked: Vec<bool>,
    /// The ore export tax of each host, as the ad-valorem rates were built.
    ore_export_tax: Vec<f64>,
    /// Tables by commodity ([`commodity`]); route costs are refreshed by [`Self::price`].
    routes: Vec<Routes>,
    /// Ad-valorem rate of each route (tariff + export tax [+ ore export tax]) by commodity.
    ad_valorem: Vec<Vec<f64>>,
}

/// What the route tables depend on, besides the buyer prices.
pub struct RouteInputs<'a> {
    /// Nations, transport and affinity.
    pub registry: &'a Registry,
    /// Trade rules in force.
    pub rules: &'a TradeRules,
    /// Whether the rules, the registry or the market settings may have changed since the last
    /// refresh (Bevy change detection; a false positive only costs a rebuild).
    pub rules_changed: bool,
    /// Policies (for the licence opening steps of export controls).
    pub timeline: &'a PolicyTimeline,
    /// Current step.
    pub step: u32,
    /// Ore export tax of each host nation (a rate).
    pub ore_export_tax: &'a [f64],
    /// Friend-shoring preference, USD/t per unit of affinity.
    pub friend_shoring_usd_per_t: f64,
}

impl RouteTables {
    /// Bring access, quotas and ad-valorem rates up to date for this step: rebuild what depends on
    /// an input that changed since the last call.
    pub fn refresh(&mut self, inputs: &RouteInputs) {
        let registry = inputs.registry;
        let n = registry.n_nations();
        let n_commodities = registry.n_minerals() * 2;
        let rebuild_all = inputs.rules_changed || self.n != n || self.routes.len() != n_commodities;
        if rebuild_all {
            self.n = n;
            let pairs = || (0..n).flat_map(move |h| (0..n).map(move |b| (h, b)));
            self.transport = pairs()
                .map(|(h, b)| registry.transport(nation(h), nation(b)))
                .collect();
            self.friend_shoring = pairs()
                .map(|(h, b)| {
                    inputs.friend_shoring_usd_per_t * registry.affinity(nation(b), nation(h))
                })
                .collect();
            self.licence_open_step = inputs
                .rules
                .export_controls
                .iter()
                .map(|control| {
                    inputs
                        .timeline
                        .policies
                        .iter()
                        .find(|p| p.id == control.policy)
                        .map_or(0, |p| p.licence_open_step)
                })
                .collect();
        }
        let blocked: Vec<bool> = inputs
            .rules
            .export_controls
            .iter()
            .zip(&self.licence_open_step)
            .map(|(control, &open)| match control.mode {
                ControlMode::Ban => true,
                ControlMode::LicenceDelay => inputs.step < open,
                ControlMode::Quota => false,
            })
            .collect();
        if rebuild_all || blocked != self.blocked {
            self.blocked = blocked;
            self.routes = (0..n_commodities)
                .map(|c| access_tables(n, inputs.rules, &self.blocked, c))
                .collect();
        }
        if rebuild_all || inputs.ore_export_tax != self.ore_export_tax.as_slice() {
            self.ore_export_tax = inputs.ore_export_tax.to_vec();
            self.ad_valorem = (0..n_commodities)
                .map(|c| ad_valorem_rates(n, inputs.rules, &self.ore_export_tax, c))
                .collect();
        }
    }

    /// Set the route costs of commodity `c` for these buyer prices (USD/t by buyer nation).
    /// Call [`Self::refresh`] first in each step.
    pub fn price(&mut self, c: usize, buyer_price: &[f64]) {
        let n = self.n;
        let routes = &mut self.routes[c];
        let ad_valorem = &self.ad_valorem[c];
        for h in 0..n {
            let row = h * n..(h + 1) * n;
            let inputs = ad_valorem[row.clone()]
                .iter()
                .zip(&self.transport[row.clone()])
                .zip(&self.friend_shoring[row.clone()]);
            for (b, (cost, ((ad_valorem, transport), friend_shoring))) in routes.cost_usd_per_t[row]
                .iter_mut()
                .zip(inputs)
                .enumerate()
            {
                // A buyer without a price keeps a zero cost, as a fresh table has.
                *cost = match buyer_price.get(b) {
                    Some(&price) => price * ad_valorem + transport - friend_shoring,
                    None => 0.0,
                };
            }
        }
    }

    /// The route tables of commodity `c`, as of the last [`Self::refresh`] and [`Self::price`].
    pub fn routes(&self, c: usize) -> &Routes {
        &self.routes[c]
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

/// Access and quotas of commodity `c`, with zero costs: export controls (`blocked[i]` says whether
/// control `i` closes its routes this step; a licence delay blocks them until `delay_steps` steps
/// after the policy's start date, the time to obtain the first licence, see
/// [`crate::model::resources::ScheduledPolicy::licence_open_step`]) and ore export bans.
fn access_tables(n: usize, rules: &TradeRules, blocked: &[bool], c: usize) -> Routes {
    let (mineral, stage) = split(c);
    let mut routes = Routes::open(n);
    for (control, &blocked) in rules
        .export_controls
        .iter()
        .zip(blocked)
        .filter(|(x, _)| x.commodity == c)
    {
        if control.mode == ControlMode::LicenceDelay && !blocked {
            // Licences are flowing: the route is open.
            continue;
        }
        let quota = routes.quota_t.len();
        if !blocked {
            routes.quota_t.push(control.quota_t_per_step.max(0.0));
        }
        for b in 0..n {
            let to = nation(b);
            if !control.covers(to) {
                continue;
            }
            let at = usize::from(control.exporter.0) * n + b;
            routes.access[at] = match (routes.access[at], blocked) {
                (_, true) | (Access::Blocked, _) => Access::Blocked,
                (Access::Quota(k), false) => Access::Quota(k),
                (Access::Open, false) => Access::Quota(quota),
            };
        }
    }
    if stage == Stage::Ore
        && let Some(bans) = rules.ore_export_ban.get(usize::from(mineral.0))
    {
        for (h, _) in bans.iter().enumerate().filter(|(_, ban)| **ban) {
            for b in (0..n).filter(|&b| b != h) {
                routes.access[h * n + b] = Access::Blocked;
            }
        }
    }
    routes
}

/// Ad-valorem rate of each route of commodity `c`, by `[exporter * n + buyer]`: the buyer's tariff
/// on the exporter plus the exporter's export tax, plus its ore export tax for ore. Zero at home.
fn ad_valorem_rates(n: usize, rules: &TradeRules, ore_export_tax: &[f64], c: usize) -> Vec<f64> {
    let (_, stage) = split(c);
    let mut rates = vec![0.0; n * n];
    for h in 0..n {
        for b in (0..n).filter(|&b| b != h) {
            let mut ad_valorem = 0.0;
            ad_valorem += rules
                .tariff
                .get(c)
                .and_then(|t| t.get(b * n + h))
                .copied()
                .unwrap_or(0.0);
            ad_valorem += rules
                .export_tax
                .get(c)
                .and_then(|t| t.get(h))
                .copied()
                .unwrap_or(0.0);
            if stage == Stage::Ore {
                ad_valorem += ore_export_tax.get(h).copied().unwrap_or(0.0);
            }
            rates[h * n + b] = ad_valorem;
        }
    }
    rates
}
