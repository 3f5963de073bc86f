//! Markets and trade: mines sell ore to refineries, refineries sell refined product to consumer
//! nations (phase 6 of a step). See `docs/ODD.md` §7.6 for the equations.
//!
//! Each commodity clears as a *merit-order dispatch* of fixed quantities: demand is known (consumers
//! reacted to last step's price, see [`super::demand`]), sellers are asset "lots" offered at their
//! reservation price (the lowest price at which they cover cash cost), and the cheapest lots are
//! dispatched until demand is met. The price system ([`super::prices`]) then moves prices with the
//! outcome. Dispatch and routing are separated on purpose:
//!
//! 1. **Segments.** Buyers are grouped by *access*: the set of exporters closed to them (bans,
//!    licence delays, ore export bans) or capped (quotas). Buyers with full access form the open
//!    market; each other group is a segmented market with its own price. Restricted segments are
//!    dispatched first (a buyer with fewer options bids for what it can reach before the open
//!    market takes the rest), then the open market.
//! 2. **Dispatch.** Within a segment, lots it can reach are taken in order of reservation price
//!    until the segment's demand is met; short supply is rationed pro rata to demand. Before that,
//!    a buyer with a sourcing rule in force takes the qualifying lots it earns a premium on
//!    ([`Preference`]; `docs/ODD.md` §7.6.1) and ships them to itself.
//! 3. **Routing.** The dispatched tonnes of each host nation go to the segment's buyers by the
//!    least-cost method of the transportation problem: nation pairs in order of the cost a buyer
//!    perceives, `price · (tariff + export tax) + transport − friend_shoring · affinity`.
//!
//! Cost per clearing: sorting lots `O(n log n)`, one pass over the lots per segment
//! (`O(S · n)`, with `S` segments ≤ nations) and sorting nation pairs (`O(N² log N)`).
//!
//! The chain clears in three passes per mineral: a tentative refined clearing with refinery
//! capacity tells refineries how much ore to buy; the ore market clears; refined product is made
//! from feed stock plus ore received and the refined market clears again with what exists. Ore a
//! refinery received but did not use stays in its feed stock ([`FeedStocks`]), so mass is
//! conserved exactly.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;

use crate::model::order::counting_sort;
use crate::model::systems::routes::{RouteInputs, RouteTables};

use crate::model::components::UnitCost;
use crate::model::components::{
    AssetIdx, MineralIdx, NationIdx, Output, Ownership, Priorities, Site, Stage,
};
use crate::model::resources::{
    BuyerPrices, Clock, CommodityOutcome, Demand, DemandSchedule, FeedStocks, MarketConfig,
    MarketOutcome, PolicyTimeline, Prices, Registry, SegmentOutcome, Shipment, SourcingRules,
    TradeRules, commodity,
};

/// Tonnes below which a remainder counts as zero (float dust from pro-rata splits).
const DUST_T: f64 = 1e-9;

/// An offer to sell: the output one asset can deliver this step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lot {
    /// Selling asset.
    pub asset: AssetIdx,
    /// Its host nation (where the tonnes ship from).
    pub host: NationIdx,
    /// Tonnes available this step (>= 0).
    pub quantity_t: f64,
    /// Lowest price at which it sells, USD/t.
    pub reservation_usd_per_t: f64,
}

/// A buyer nation's demand this step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bid {
    /// Buyer nation.
    pub nation: NationIdx,
    /// Tonnes wanted this step (>= 0).
    pub demand_t: f64,
}

/// A buyer's preference for qualifying supply under a sourcing rule (`docs/ODD.md` §7.6.1): the
/// buyer takes qualifying lots up to `target_t` before the segment's merit-order dispatch, provided
/// their reservation price is at most the segment's reference price plus the premium.
#[derive(Clone, Debug, PartialEq)]
pub struct Preference {
    /// Buyer nation applying the rule.
    pub buyer: NationIdx,
    /// Tonnes of qualifying supply on which the premium is earned this step (>= 0).
    pub target_t: f64,
    /// Premium a qualifying tonne earns the buyer, USD/t (>= 0).
    pub premium_usd_per_t: f64,
    /// Whether each lot qualifies (same order and length as the lots).
    pub qualifies: Vec<bool>,
}

/// Whether a buyer may buy from an exporter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// No restriction.
    Open,
    /// Closed (export ban, licence not yet granted, ore export ban).
    Blocked,
    /// Capped by the quota with this index (shared by every buyer it covers).
    Quota(usize),
}

/// Route tables of one commodity, row-major `[exporter * n + buyer]`.
#[derive(Clone, Debug)]
pub struct Routes {
    /// Number of nations.
    pub n: usize,
    /// Access of each route.
    pub access: Vec<Access>,
    /// Cost a buyer perceives per tonne on the route, USD/t, on top of the common price.
    pub cost_usd_per_t: Vec<f64>,
    /// Quotas, tonnes this step, by quota index.
    pub quota_t: Vec<f64>,
}

impl Routes {
    /// Open routes with zero cost.
    pub fn open(n: usize) -> Self {
        Routes {
            n,
            access: vec![Access::Open; n * n],
            cost_usd_per_t: vec![0.0; n * n],
            quota_t: Vec::new(),
        }
    }
    fn at(&self, exporter: NationIdx, buyer: NationIdx) -> usize {
        usize::from(exporter.0) * self.n + usize::from(buyer.0)
    }
}

/// The restrictions a buyer faces: each exporter that is not open to it, and how.
type Signature = Vec<(NationIdx, Access)>;

/// The result of one clearing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cleared {
    /// Tonnes dispatched from each lot (same order as the input lots).
    pub dispatched_t: Vec<f64>,
    /// Segments, shipments, demand and receipts.
    pub outcome: CommodityOutcome,
}

/// Clear one commodity: dispatch lots to buyers segment by segment, then route. Deterministic for
/// any input order of lots (they are sorted by reservation price, then asset index).
pub fn clear(lots: &[Lot], bids: &[Bid], routes: &Routes) -> Cleared {
    clear_preferring(lots, bids, routes, &[])
}

/// [`clear`] with buyers' sourcing preferences: in each segment, buyers with a preference first take
/// the qualifying lots they earn a premium on (cheapest first), then the segment's remaining demand
/// is dispatched in merit order as usual. Fills [`CommodityOutcome::qualifying_t`] when there are
/// preferences.
pub fn clear_preferring(
    lots: &[Lot],
    bids: &[Bid],
    routes: &Routes,
    preferences: &[Preference],
) -> Cleared {
    let n = routes.n;
    let order = merit_order(lots);
    // Every exporter with a lot, even an empty one, so a segment does not dissolve in a step
    // where its blocked supplier happens to have nothing to sell.
    let mut present = vec![false; n];
    for lot in lots {
        present[usize::from(lot.host.0)] = true;
    }
    let hosts: Vec<NationIdx> = (0..n)
        .filter(|&h| present[h])
        .map(|h| NationIdx(h as u16))
        .collect();

    // Group buyers by the restrictions they face from the exporters present.
    let mut groups: BTreeMap<Signature, Vec<usize>> = BTreeMap::new();
    for (bi, bid) in bids.iter().enumerate() {
        let signature: Vec<(NationIdx, Access)> = hosts
            .iter()
            .map(|&h| (h, routes.access[routes.at(h, bid.nation)]))
            .filter(|(_, a)| *a != Access::Open)
            .collect();
        groups.entry(signature).or_default().push(bi);
    }
    let mut groups: Vec<(Signature, Vec<usize>)> = groups.into_iter().collect();
    // Restricted segments first, the most closed first; the open market (empty signature) last.
    groups.sort_by(|(a, _), (b, _)| {
        let blocked =
            |s: &[(NationIdx, Access)]| s.iter().filter(|(_, x)| *x == Access::Blocked).count();
        a.is_empty()
            .cmp(&b.is_empty())
            .then(blocked(b).cmp(&blocked(a)))
            .then(a.cmp(b))
    });

    let mut dispatched = vec![0.0; lots.len()];
    let mut quota_left = routes.quota_t.clone();
    let mut shipments: BTreeMap<(NationIdx, NationIdx), f64> = BTreeMap::new();
    let mut demand_by_nation = vec![0.0; n];
    let mut received = vec![0.0; n];
    let mut qualifying = if preferences.is_empty() {
        Vec::new()
    } else {
        vec![0.0; n]
    };
    let mut segments = Vec::with_capacity(groups.len());
    for (signature, members) in &groups {
        let Some(&first) = members.first() else {
            continue;
        };
        let probe = bids[first].nation;
        let segment_demand: f64 = members
            .iter()
            .map(|&i| bids[i].demand_t)
            .fold(0.0, |a, b| a + b);
        let tolerance = DUST_T * segment_demand.max(1.0);

        // Sourcing preferences of this segment's buyers (member position, preference), the
        // highest premium first (ties: buyer id): they take qualifying lots before the merit order.
        let mut preferred: Vec<(usize, &Preference)> = preferences
            .iter()
            .filter_map(|p| {
                let k = members.iter().position(|&i| bids[i].nation == p.buyer)?;
                Some((k, p))
            })
            .collect();
        preferred.sort_by(|a, b| {
            b.1.premium_usd_per_t
                .total_cmp(&a.1.premium_usd_per_t)
                .then(a.1.buyer.cmp(&b.1.buyer))
        });
        let mut earmarked = vec![0.0; members.len()];
        if preferred.iter().any(|(_, p)| p.target_t > tolerance) {
            let reference = merit_marginal(
                &order,
                lots,
                &dispatched,
                routes,
                probe,
                &quota_left,
                segment_demand,
            );
            for &(k, p) in &preferred {
                let buyer = p.buyer;
                let mut want = p.target_t.min(bids[members[k]].demand_t);
                for &li in &order {
                    if want <= tolerance {
                        break;
                    }
                    let lot = &lots[li];
                    if !p.qualifies[li]
                        || lot.reservation_usd_per_t > reference + p.premium_usd_per_t
                    {
                        continue;
                    }
                    let access = routes.access[routes.at(lot.host, probe)];
                    let reachable = match access {
                        Access::Open => lot.quantity_t - dispatched[li],
                        Access::Blocked => continue,
                        Access::Quota(q) => (lot.quantity_t - dispatched[li]).min(quota_left[q]),
                    };
                    let take = reachable.min(want);
                    if take <= 0.0 {
                        continue;
                    }
                    dispatched[li] += take;
                    if let Access::Quota(q) = access {
                        quota_left[q] -= take;
                    }
                    want -= take;
                    earmarked[k] += take;
                    *shipments.entry((lot.host, buyer)).or_insert(0.0) += take;
                    qualifying[usize::from(buyer.0)] += take;
                }
            }
        }
        let earmarked_total: f64 = earmarked.iter().fold(0.0, |a, b| a + b);

        // Merit-order dispatch of the rest of the segment's demand.
        let demand = segment_demand - earmarked_total;
        let mut quota_view = quota_left.clone();
        let mut accessible = 0.0;
        let mut served = 0.0;
        let mut marginal = None;
        let mut host_supply = vec![0.0; n];
        // Qualifying tonnes dispatched in the merit order, `[preference * n + host]`.
        let mut host_qualifying = vec![0.0; preferred.len() * n];
        for &li in &order {
            let lot = &lots[li];
            let remaining = lot.quantity_t - dispatched[li];
            if remaining <= 0.0 {
                continue;
            }
            let access = routes.access[routes.at(lot.host, probe)];
            let reachable = match access {
                Access::Open => remaining,
                Access::Blocked => continue,
                Access::Quota(k) => remaining.min(quota_view[k]).max(0.0),
            };
            if reachable <= 0.0 {
                continue;
            }
            accessible += reachable;
            if let Access::Quota(k) = access {
                quota_view[k] -= reachable;
            }
            let want = demand - served;
            if want > tolerance {
                let take = reachable.min(want);
                dispatched[li] += take;
                served += take;
                host_supply[usize::from(lot.host.0)] += take;
                for (j, (_, p)) in preferred.iter().enumerate() {
                    if p.qualifies[li] {
                        host_qualifying[j * n + usize::from(lot.host.0)] += take;
                    }
                }
                if let Access::Quota(k) = access {
                    quota_left[k] -= take;
                }
                marginal = Some(lot.reservation_usd_per_t);
            }
        }
        // Ration pro rata to the demand left after earmarks; the last buyer takes the remainder so
        // targets sum to `served`.
        let mut need: Vec<f64> = members
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                if demand > 0.0 {
                    (bids[i].demand_t - earmarked[k]).max(0.0) * served / demand
                } else {
                    0.0
                }
            })
            .collect();
        if let Some(last) = need.len().checked_sub(1) {
            let others: f64 = need[..last].iter().fold(0.0, |a, b| a + b);
            need[last] = (served - others).max(0.0);
        }
        let host_dispatched = host_supply.clone();
        let mut routed = BTreeMap::new();
        route_segment(
            members,
            bids,
            &mut need,
            &mut host_supply,
            routes,
            &mut routed,
        );
        // A buyer's qualifying tonnes from the merit order: each host's shipment to it times the
        // qualifying share of what that host dispatched.
        for (j, (_, p)) in preferred.iter().enumerate() {
            for (&(h, to), &t) in routed.iter().filter(|((_, to), _)| *to == p.buyer) {
                let hs = usize::from(h.0);
                if host_dispatched[hs] > 0.0 {
                    qualifying[usize::from(to.0)] +=
                        t * host_qualifying[j * n + hs] / host_dispatched[hs];
                }
            }
        }
        for (pair, t) in routed {
            *shipments.entry(pair).or_insert(0.0) += t;
        }
        for &i in members {
            demand_by_nation[usize::from(bids[i].nation.0)] += bids[i].demand_t;
        }
        let mut buyers: Vec<NationIdx> = members.iter().map(|&i| bids[i].nation).collect();
        buyers.sort();
        segments.push(SegmentOutcome {
            buyers,
            restricted: !signature.is_empty(),
            demand_t: segment_demand,
            accessible_t: accessible + earmarked_total,
            served_t: served + earmarked_total,
            marginal_usd_per_t: marginal,
        });
    }
    let shipments: Vec<Shipment> = shipments
        .into_iter()
        .filter(|(_, t)| *t > 0.0)
        .map(|((from, to), t)| {
            received[usize::from(to.0)] += t;
            Shipment { from, to, t }
        })
        .collect();
    Cleared {
        dispatched_t: dispatched,
        outcome: CommodityOutcome {
            segments,
            shipments,
            demand_t: demand_by_nation,
            received_t: received,
            ore_used_t: Vec::new(),
            qualifying_t: qualifying,
            credited_t: Vec::new(),
        },
    }
}

/// Reservation price of the lot that would meet `demand` in merit order from the lots a segment
/// can still reach (`probe` is one of its buyers), without dispatching anything; +inf when the
/// reachable supply falls short. The reference price of sourcing preferences.
fn merit_marginal(
    order: &[usize],
    lots: &[Lot],
    dispatched: &[f64],
    routes: &Routes,
    probe: NationIdx,
    quota_left: &[f64],
    demand: f64,
) -> f64 {
    let tolerance = DUST_T * demand.max(1.0);
    let mut quota_view = quota_left.to_vec();
    let mut reached = 0.0;
    for &li in order {
        let lot = &lots[li];
        let remaining = lot.quantity_t - dispatched[li];
        let reachable = match routes.access[routes.at(lot.host, probe)] {
            Access::Open => remaining,
            Access::Blocked => continue,
            Access::Quota(k) => {
                let r = remaining.min(quota_view[k]).max(0.0);
                quota_view[k] -= r;
                r
            }
        };
        if reachable <= 0.0 {
            continue;
        }
        reached += reachable;
        if reached >= demand - tolerance {
            return lot.reservation_usd_per_t;
        }
    }
    f64::INFINITY
}

/// Indices of the lots with something to sell, cheapest first (ties by asset index, then by
/// position). Sorted on plain integer keys: `(total-order key of the price, asset, position)` is
/// the order of `f64::total_cmp` then asset, and an unstable sort of unique keys gives the same
/// order as a stable sort, several times faster than comparing through the lots.
fn merit_order(lots: &[Lot]) -> Vec<usize> {
    let mut keyed: Vec<(i64, AssetIdx, u32)> = lots
        .iter()
        .enumerate()
        .filter(|(_, lot)| lot.quantity_t > 0.0)
        .map(|(i, lot)| {
            (
                total_order_key(lot.reservation_usd_per_t),
                lot.asset,
                i as u32,
            )
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(.., i)| i as usize).collect()
}

/// An integer that orders like `f64::total_cmp` (the transformation `total_cmp` itself uses).
fn total_order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// Least-cost routing of one segment's dispatched tonnes (by host) to its buyers' rations.
fn route_segment(
    members: &[usize],
    bids: &[Bid],
    need: &mut [f64],
    host_supply: &mut [f64],
    routes: &Routes,
    shipments: &mut BTreeMap<(NationIdx, NationIdx), f64>,
) {
    let sources: Vec<NationIdx> = (0..host_supply.len())
        .filter(|&h| host_supply[h] > 0.0)
        .map(|h| NationIdx(h as u16))
        .collect();
    // Pairs cheapest first, ties by exporter, buyer, then position: integer keys, so an unstable
    // sort gives the order of a stable sort by (cost, exporter, buyer) at a fraction of the cost.
    let mut pairs: Vec<(i64, NationIdx, NationIdx, usize)> =
        Vec::with_capacity(sources.len() * members.len());
    for &h in &sources {
        for (k, &i) in members.iter().enumerate() {
            let to = bids[i].nation;
            let cost = routes.cost_usd_per_t[routes.at(h, to)];
            pairs.push((total_order_key(cost), h, to, k));
        }
    }
    pairs.sort_unstable();
    let total: f64 = need.iter().fold(0.0, |a, b| a + b);
    let tolerance = DUST_T * total.max(1.0);
    let mut last_of_host: Vec<Option<NationIdx>> = vec![None; host_supply.len()];
    for &(_, h, _, k) in &pairs {
        let hs = usize::from(h.0);
        let q = host_supply[hs].min(need[k]);
        if q > tolerance {
            let to = bids[members[k]].nation;
            *shipments.entry((h, to)).or_insert(0.0) += q;
            host_supply[hs] -= q;
            need[k] -= q;
            last_of_host[hs] = Some(to);
        }
    }
    // Float dust left at a host joins its last shipment so every dispatched tonne ships.
    for &h in &sources {
        let hs = usize::from(h.0);
        if host_supply[hs] > 0.0 {
            let to = last_of_host[hs].unwrap_or(bids[members[0]].nation);
            *shipments.entry((h, to)).or_insert(0.0) += host_supply[hs];
            host_supply[hs] = 0.0;
        }
    }
}

/// One asset as the trade system sees it this step.
struct Seller {
    idx: AssetIdx,
    site: Site,
    opex_usd_per_t: f64,
    potential_t: f64,
    /// Owners' home nations with their equity shares (refineries only; for sourcing rules).
    owner_homes: Vec<(NationIdx, f64)>,
}

/// The sourcing preferences of a mineral's refined market (`docs/ODD.md` §7.6.1): one per consumer
/// with a rule in force, with its premium, target = required share × demand, and which refinery
/// lots qualify (processed at home or in an FTA partner; not controlled by entities of concern when
/// the rule excludes them). Extraction origin is not traced: the refinery's host stands for both.
fn sourcing_preferences(
    sourcing: &SourcingRules,
    registry: &Registry,
    mineral: MineralIdx,
    bids: &[Bid],
    refineries: &[&Seller],
) -> Vec<Preference> {
    bids.iter()
        .filter_map(|bid| {
            let rule = sourcing.rule(bid.nation, mineral)?;
            let qualifies = refineries
                .iter()
                .map(|s| {
                    sourcing.qualifies(
                        registry,
                        bid.nation,
                        mineral,
                        &[s.site.host],
                        &s.owner_homes,
                    ) == Some(true)
                })
                .collect();
            Some(Preference {
                buyer: bid.nation,
                target_t: rule.required_share * bid.demand_t,
                premium_usd_per_t: rule.premium_usd_per_t,
                qualifies,
            })
        })
        .collect()
}

/// Credited tonnes of each buyer with a rule: its qualifying tonnes up to required share ×
/// tonnes received (the qualifying material needed for all it consumes to earn the credit).
fn credit_qualifying_tonnes(
    sourcing: &SourcingRules,
    mineral: MineralIdx,
    outcome: &mut CommodityOutcome,
) {
    if outcome.qualifying_t.is_empty() {
        return;
    }
    outcome.credited_t = outcome
        .qualifying_t
        .iter()
        .zip(&outcome.received_t)
        .enumerate()
        .map(|(b, (q, received))| {
            let share = sourcing.required_share(NationIdx(b as u16), mineral);
            q.min(share * received)
        })
        .collect();
}

/// Clear the ore and refined markets of every mineral, set each asset's actual output and update
/// refinery feed stocks.
#[allow(clippy::too_many_arguments)]
pub fn clear_markets(
    clock: Res<Clock>,
    registry: Res<Registry>,
    config: Res<MarketConfig>,
    rules: Res<TradeRules>,
    timeline: Res<PolicyTimeline>,
    prices: Res<Prices>,
    buyer_prices: Res<BuyerPrices>,
    demand: Res<Demand>,
    schedule: Res<DemandSchedule>,
    sourcing: Res<SourcingRules>,
    mut stocks: ResMut<FeedStocks>,
    mut outcome: ResMut<MarketOutcome>,
    mut route_tables: Local<RouteTables>,
    nations: Query<(&NationIdx, &Priorities)>,
    mut assets: Query<(&AssetIdx, &Site, &UnitCost, &Ownership, &mut Output)>,
) {
    let n = registry.n_nations();
    let dt = clock.dt_years();
    let settings = &config.settings;
    let mut royalty = vec![0.0; n];
    let mut ore_export_tax = vec![0.0; n];
    for (idx, priorities) in &nations {
        royalty[usize::from(idx.0)] = priorities.0.royalty_rate;
        ore_export_tax[usize::from(idx.0)] = priorities.0.ore_export_tax;
    }
    let sellers: Vec<Seller> = assets
        .iter()
        .map(|(idx, site, cost, owners, output)| Seller {
            idx: *idx,
            site: *site,
            opex_usd_per_t: cost.opex_usd_per_t,
            potential_t: output.potential_t.max(0.0),
            owner_homes: if site.stage == Stage::Refined && !sourcing.rules.is_empty() {
                owners
                    .0
                    .iter()
                    .map(|(firm, share)| (registry.firm_home[firm.0 as usize], *share))
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect();
    // Grouped by commodity, in asset order within each: a commodity's sellers are one slice.
    let key = |s: &Seller| commodity(s.site.mineral, s.site.stage);
    let sellers = counting_sort(sellers, |s| s.idx.0 as usize);
    let sellers = counting_sort(sellers, key);
    let of_commodity = |c: usize| -> Vec<&Seller> {
        let start = sellers.partition_point(|s| key(s) < c);
        let end = sellers.partition_point(|s| key(s) <= c);
        sellers[start..end].iter().collect()
    };
    let n_assets = registry.assets.len().max(
        sellers
            .iter()
            .map(|s| s.idx.0 as usize + 1)
            .max()
            .unwrap_or(0),
    );
    stocks.ore_t.resize(n_assets, 0.0);
    let mut actual = vec![0.0; n_assets];
    let n_commodities = registry.n_minerals() * 2;
    outcome.commodities = vec![CommodityOutcome::default(); n_commodities];
    route_tables.refresh(&RouteInputs {
        registry: &registry,
        rules: &rules,
        rules_changed: rules.is_changed()
            || timeline.is_changed()
            || registry.is_changed()
            || config.is_changed(),
        timeline: &timeline,
        step: clock.step,
        ore_export_tax: &ore_export_tax,
        friend_shoring_usd_per_t: settings.friend_shoring_usd_per_t,
    });

    let price_row = |c: usize| -> Vec<f64> {
        buyer_prices
            .usd_per_t
            .get(c)
            .cloned()
            .unwrap_or_else(|| vec![prices.usd_per_t.get(c).copied().unwrap_or(0.0); n])
    };
    for m in 0..registry.n_minerals() {
        let mineral = MineralIdx(m as u16);
        let (c_ore, c_ref) = (
            commodity(mineral, Stage::Ore),
            commodity(mineral, Stage::Refined),
        );
        let recovery = config.recovery.get(m).copied().unwrap_or(1.0);
        let ceiling = |c: usize| {
            prices.reference_usd_per_t.get(c).copied().unwrap_or(0.0) * settings.price_ceiling_ratio
        };
        let ore_price = price_row(c_ore);
        let refined_price = price_row(c_ref);
        let refineries = of_commodity(c_ref);
        let mines = of_commodity(c_ore);

        // Refinery lots: opex plus the ore it needs at the ore price its host faces. A lot that
        // cannot pay even at the price ceiling is never offered.
        let refinery_lot = |s: &Seller, quantity_t: f64| Lot {
            asset: s.idx,
            host: s.site.host,
            quantity_t,
            reservation_usd_per_t: s.opex_usd_per_t
                + ore_price[usize::from(s.site.host.0)] / recovery,
        };
        let refined_bids: Vec<Bid> = schedule
            .consumers
            .get(m)
            .map(|list| {
                list.iter()
                    .map(|&b| Bid {
                        nation: b,
                        demand_t: demand
                            .t_per_yr
                            .get(m)
                            .and_then(|row| row.get(usize::from(b.0)))
                            .copied()
                            .unwrap_or(0.0)
                            * dt,
                    })
                    .collect()
            })
            .unwrap_or_default();
        route_tables.price(c_ref, &refined_price);
        route_tables.price(c_ore, &ore_price);
        let refined_routes = route_tables.routes(c_ref);
        let offer = |lot: Lot| {
            if lot.reservation_usd_per_t <= ceiling(c_ref) {
                lot
            } else {
                Lot {
                    quantity_t: 0.0,
                    ..lot
                }
            }
        };

        // Pass A: tentative refined clearing with refinery capacity.
        let lots_a: Vec<Lot> = refineries
            .iter()
            .map(|s| offer(refinery_lot(s, s.potential_t)))
            .collect();
        let preferences =
            sourcing_preferences(&sourcing, &registry, mineral, &refined_bids, &refineries);
        let tentative = clear_preferring(&lots_a, &refined_bids, refined_routes, &preferences);
        let need: Vec<f64> = refineries
            .iter()
            .zip(&tentative.dispatched_t)
            .map(|(s, y)| (y / recovery - stocks.ore_t[s.idx.0 as usize]).max(0.0))
            .collect();

        // Pass B: ore market; buyers are refinery host nations.
        let mut ore_need = vec![0.0; n];
        for (s, q) in refineries.iter().zip(&need) {
            ore_need[usize::from(s.site.host.0)] += q;
        }
        let mut ore_buyers: Vec<NationIdx> = refineries.iter().map(|s| s.site.host).collect();
        ore_buyers.sort();
        ore_buyers.dedup();
        let ore_bids: Vec<Bid> = ore_buyers
            .iter()
            .map(|&b| Bid {
                nation: b,
                demand_t: ore_need[usize::from(b.0)],
            })
            .collect();
        let ore_lots: Vec<Lot> = mines
            .iter()
            .map(|s| {
                let netback = 1.0 - royalty[usize::from(s.site.host.0)];
                let reservation = if netback > 0.0 {
                    s.opex_usd_per_t / netback
                } else {
                    f64::INFINITY
                };
                Lot {
                    asset: s.idx,
                    host: s.site.host,
                    quantity_t: if reservation <= ceiling(c_ore) {
                        s.potential_t
                    } else {
                        0.0
                    },
                    reservation_usd_per_t: reservation.min(f64::MAX),
                }
            })
            .collect();
        let ore_routes = route_tables.routes(c_ore);
        let ore = clear(&ore_lots, &ore_bids, ore_routes);
        for (s, q) in mines.iter().zip(&ore.dispatched_t) {
            actual[s.idx.0 as usize] = *q;
        }

        // Share each host's ore among its refineries pro rata to need (last takes the remainder).
        let mut got = vec![0.0; refineries.len()];
        let mut by_host: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (j, r) in refineries.iter().enumerate() {
            by_host[usize::from(r.site.host.0)].push(j);
        }
        for &h in &ore_buyers {
            let hs = usize::from(h.0);
            let members = &by_host[hs];
            let total_need = ore_need[hs];
            let received = ore.outcome.received_t[hs];
            let mut given = 0.0;
            for (k, &j) in members.iter().enumerate() {
                got[j] = if k + 1 == members.len() {
                    (received - given).max(0.0)
                } else if total_need > 0.0 {
                    received * need[j] / total_need
                } else {
                    0.0
                };
                given += got[j];
            }
        }

        // Pass C: refined product from feed stock plus ore received.
        let lots_c: Vec<Lot> = refineries
            .iter()
            .zip(&got)
            .map(|(s, g)| {
                let feed = stocks.ore_t[s.idx.0 as usize] + g;
                offer(refinery_lot(s, s.potential_t.min(recovery * feed)))
            })
            .collect();
        let mut refined = clear_preferring(&lots_c, &refined_bids, refined_routes, &preferences);
        credit_qualifying_tonnes(&sourcing, mineral, &mut refined.outcome);
        // Pass C offers only what the ore bought allows, which equals demand whenever ore was
        // plentiful; the supply a segment *could* have had is its refinery capacity (pass A)
        // unless ore ran short. Prices read this, so surplus refining capacity lowers prices.
        let ore_slack: f64 = ore
            .outcome
            .segments
            .iter()
            .map(|seg| (seg.accessible_t - seg.served_t).max(0.0))
            .fold(0.0, |a, b| a + b);
        for (seg, planned) in refined
            .outcome
            .segments
            .iter_mut()
            .zip(&tentative.outcome.segments)
        {
            seg.accessible_t = planned
                .accessible_t
                .min(seg.accessible_t + recovery * ore_slack)
                .max(seg.accessible_t);
        }
        let mut ore_used = vec![0.0; n];
        for ((s, g), y) in refineries.iter().zip(&got).zip(&refined.dispatched_t) {
            let slot = &mut stocks.ore_t[s.idx.0 as usize];
            let used = (y / recovery).min(*slot + g);
            *slot = (*slot + g - used).max(0.0);
            ore_used[usize::from(s.site.host.0)] += used;
            actual[s.idx.0 as usize] = *y;
        }
        let mut ore_outcome = ore.outcome;
        ore_outcome.ore_used_t = ore_used;
        outcome.commodities[c_ore] = ore_outcome;
        outcome.commodities[c_ref] = refined.outcome;
    }
    for (idx, _, _, _, mut output) in &mut assets {
        output.t = actual.get(idx.0 as usize).copied().unwrap_or(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lot(asset: u32, host: u16, q: f64, r: f64) -> Lot {
        Lot {
            asset: AssetIdx(asset),
            host: NationIdx(host),
            quantity_t: q,
            reservation_usd_per_t: r,
        }
    }

    #[test]
    fn the_integer_price_key_orders_like_total_cmp() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -0.0,
            0.0,
            1e-300,
            3.0,
            f64::MAX,
            f64::INFINITY,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(total_order_key(a).cmp(&total_order_key(b)), a.total_cmp(&b));
            }
        }
    }

    #[test]
    fn equal_prices_dispatch_in_asset_order() {
        let lots = [lot(2, 0, 10.0, 100.0), lot(1, 0, 10.0, 100.0)];
        let bids = [Bid {
            nation: NationIdx(1),
            demand_t: 15.0,
        }];
        let out = clear(&lots, &bids, &Routes::open(2));
        assert_eq!(out.dispatched_t, vec![5.0, 10.0]);
    }

    #[test]
    fn cheapest_lots_are_dispatched_first() {
        let lots = [lot(0, 0, 50.0, 300.0), lot(1, 0, 100.0, 100.0)];
        let bids = [Bid {
            nation: NationIdx(1),
            demand_t: 120.0,
        }];
        let out = clear(&lots, &bids, &Routes::open(2));
        assert_eq!(out.dispatched_t, vec![20.0, 100.0]);
        assert_eq!(out.outcome.segments[0].marginal_usd_per_t, Some(300.0));
        assert_eq!(out.outcome.received_t[1], 120.0);
    }

    #[test]
    fn a_blocked_buyer_forms_its_own_segment_and_gets_nothing() {
        let lots = [lot(0, 0, 100.0, 100.0)];
        let bids = [
            Bid {
                nation: NationIdx(0),
                demand_t: 40.0,
            },
            Bid {
                nation: NationIdx(1),
                demand_t: 30.0,
            },
        ];
        let mut routes = Routes::open(2);
        routes.access[1] = Access::Blocked; // exporter 0 -> buyer 1
        let out = clear(&lots, &bids, &routes);
        assert_eq!(out.outcome.segments.len(), 2);
        assert!(out.outcome.segments[0].restricted);
        assert_eq!(out.outcome.segments[0].served_t, 0.0);
        assert_eq!(out.outcome.received_t, vec![40.0, 0.0]);
    }

    #[test]
    fn a_quota_caps_shipments_to_the_covered_buyers() {
        let lots = [lot(0, 0, 100.0, 100.0)];
        let bids = [Bid {
            nation: NationIdx(1),
            demand_t: 30.0,
        }];
        let mut routes = Routes::open(2);
        routes.access[1] = Access::Quota(0);
        routes.quota_t = vec![10.0];
        let out = clear(&lots, &bids, &routes);
        assert_eq!(out.outcome.received_t[1], 10.0);
        assert_eq!(out.outcome.segments[0].accessible_t, 10.0);
    }

    /// Buyer 1 prefers lot 1 (host 1, qualifying) up to 30 t; the cheap lot 0 could serve all.
    fn preferred(premium: f64) -> Cleared {
        let lots = [lot(0, 0, 200.0, 100.0), lot(1, 1, 100.0, 150.0)];
        let bids = [
            Bid {
                nation: NationIdx(0),
                demand_t: 60.0,
            },
            Bid {
                nation: NationIdx(1),
                demand_t: 40.0,
            },
        ];
        let preference = Preference {
            buyer: NationIdx(1),
            target_t: 30.0,
            premium_usd_per_t: premium,
            qualifies: vec![false, true],
        };
        clear_preferring(&lots, &bids, &Routes::open(2), &[preference])
    }

    #[test]
    fn a_preference_takes_qualifying_lots_up_to_its_target_within_the_premium() {
        let out = preferred(60.0);
        // 30 t from the qualifying lot (150 <= 100 + 60), the other 70 t in merit order.
        assert_eq!(out.dispatched_t, vec![70.0, 30.0]);
        let flows: Vec<(u16, u16, f64)> = out
            .outcome
            .shipments
            .iter()
            .map(|s| (s.from.0, s.to.0, s.t))
            .collect();
        assert_eq!(flows, vec![(0, 0, 60.0), (0, 1, 10.0), (1, 1, 30.0)]);
        assert_eq!(out.outcome.qualifying_t, vec![0.0, 30.0]);
        // The market price is set by the merit order, not by the preferred lot.
        assert_eq!(out.outcome.segments[0].marginal_usd_per_t, Some(100.0));
        assert_eq!(out.outcome.segments[0].served_t, 100.0);
    }

    #[test]
    fn a_qualifying_lot_dearer_than_price_plus_premium_is_not_taken() {
        let out = preferred(40.0);
        assert_eq!(out.dispatched_t, vec![100.0, 0.0]);
        assert_eq!(out.outcome.qualifying_t, vec![0.0, 0.0]);
    }

    #[test]
    fn routing_prefers_the_cheaper_route() {
        // Two hosts, two buyers; each buyer is cheapest to serve from its own host.
        let lots = [lot(0, 0, 10.0, 100.0), lot(1, 1, 10.0, 100.0)];
        let bids = [
            Bid {
                nation: NationIdx(0),
                demand_t: 10.0,
            },
            Bid {
                nation: NationIdx(1),
                demand_t: 10.0,
            },
        ];
        let mut routes = Routes::open(2);
        routes.cost_usd_per_t = vec![1.0, 50.0, 50.0, 1.0];
        let out = clear(&lots, &bids, &routes);
        let flows: Vec<(u16, u16, f64)> = out
            .outcome
            .shipments
            .iter()
            .map(|s| (s.from.0, s.to.0, s.t))
            .collect();
        assert_eq!(flows, vec![(0, 0, 10.0), (1, 1, 10.0)]);
    }
}
