//! Markets and trade: mines sell ore to refineries, refineries sell refined product to consumer
//! nations (phase 6 of a step). See `docs/ODD.md` §7.6 for the equations.
//!
//! Each commodity clears as a spatial price equilibrium within the step
//! ([`super::equilibrium::solve`]): exporters' producer prices adjust until each sells what its
//! buyers want, buyers spread their purchases over the origins they may buy from by an
//! Armington share in the delivered price (tariffs, export taxes, transport and quota rents
//! included), and demand answers the price paid. Export controls are link constraints (a ban
//! removes links, a quota caps them at a shadow price), never a clearing order.
//!
//! The chain clears in three passes per mineral: a tentative refined equilibrium with refinery
//! capacity (refineries' cash cost includes the ore price their host paid last step) tells
//! refineries how much ore to buy; the ore market clears on those orders; refined product is made
//! from feed stock plus ore received and the refined market clears again with what exists, at
//! cash costs that include this step's ore price. Ore a refinery received but did not use stays
//! in its feed stock ([`FeedStocks`]), so mass is conserved exactly.

use bevy_ecs::prelude::*;
use std::borrow::Cow;

use crate::model::order::{AssetOrder, AssetsMoved};
use crate::model::rounding::snap;
use crate::model::systems::demand::{StockSetup, settle_consumers};
use crate::model::systems::equilibrium::{
    Buyer, DemandCurve, Lot, PlantBid, Solution, SolveScratch, SolverSettings, SourcingTerms,
    order_free_sum, plant_takes, solve_with,
};
use crate::model::systems::routes::{RouteInputs, RouteTables};
use crate::model::systems::utilisation::{
    StretchAnchors, headroom_lot, headroom_start, marginal_cost,
};

use crate::model::components::UnitCost;
use crate::model::components::{
    AssetIdx, FirmIdx, MineralIdx, NationIdx, Output, Ownership, Site, Stage,
};
use crate::model::recycling::market::{SecondaryOffers, extend_buyers};
use crate::model::resources::{
    BuyerPrices, Clock, CommodityOutcome, Demand, DemandSchedule, FeedStocks, HostTerms,
    MarketConfig, MarketOutcome, PolicyTimeline, PriceExpectations, Prices, ProducerPrices,
    Registry, SourcingRules, StockOrders, TradeRules, commodity,
};
use crate::model::systems::contracts;

/// One asset as the trade system sees it this step.
struct Seller<'a> {
    idx: AssetIdx,
    site: Site,
    opex_usd_per_t: f64,
    potential_t: f64,
    /// Further tonnes it can run this step up to its technical maximum, at a rising marginal
    /// cost (`docs/ODD.md` §7.6.6).
    stretch_t: f64,
    /// Owners' home nations with their equity shares (refineries only; for sourcing rules).
    owner_homes: Vec<(NationIdx, f64)>,
    /// Owners and their equity shares (only when offtakes are in play, §7.6.4).
    owners: &'a [(FirmIdx, f64)],
}

/// The sourcing terms of a consumer with a rule in force for `mineral` (`docs/ODD.md` §7.6.1):
/// its premium, required share and which refinery lots qualify (processed at home or in an FTA
/// partner; not controlled by entities of concern when the rule excludes them). Extraction origin
/// is not traced: the refinery's host stands for both. The refined lots are each plant's
/// calibrated output followed by each plant's headroom (§7.6.6), so the flags repeat.
fn sourcing_terms(
    sourcing: &SourcingRules,
    registry: &Registry,
    mineral: MineralIdx,
    buyer: NationIdx,
    refineries: &[&Seller],
) -> Option<SourcingTerms> {
    let rule = sourcing.rule(buyer, mineral)?;
    let flags: Vec<bool> = refineries
        .iter()
        .map(|s| {
            sourcing.qualifies(registry, buyer, mineral, &[s.site.host], &s.owner_homes)
                == Some(true)
        })
        .collect();
    let qualifies = flags.iter().chain(&flags).copied().collect();
    Some(SourcingTerms {
        premium_usd_per_t: rule.premium_usd_per_t,
        required_share: rule.required_share,
        qualifies,
    })
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

/// A solution as the outcome of a commodity.
fn to_outcome(sol: Solution) -> CommodityOutcome {
    CommodityOutcome {
        producer_usd_per_t: sol.producer_usd_per_t,
        buyer_usd_per_t: sol.buyer_usd_per_t,
        transaction_usd_per_t: sol.transaction_usd_per_t,
        quota_rent_usd: sol.quota_rent_usd,
        shipments: sol.shipments,
        open_shipments: Vec::new(),
        offtakes: Vec::new(),
        controlled_offtake_t: Vec::new(),
        demand_t: sol.demand_t,
        received_t: sol.received_t,
        ore_used_t: Vec::new(),
        qualifying_t: sol.qualifying_t,
        credited_t: Vec::new(),
    }
}

/// Add pre-allocated offtakes to a commodity's outcome: flows by kind, total shipments, tonnes
/// received and demanded by each buyer nation, controlled tonnes (docs/ODD.md §7.6.4).
fn record_offtakes(
    outcome: &mut CommodityOutcome,
    alloc: &contracts::Allocation,
    sources: &[contracts::Source<'_>],
    sinks: &[contracts::Sink<'_>],
    fallback_usd_per_t: f64,
) {
    let (flows, control) = contracts::flows(
        alloc,
        sources,
        sinks,
        &outcome.producer_usd_per_t,
        fallback_usd_per_t,
    );
    for f in &flows {
        let b = usize::from(f.to.0);
        if outcome.received_t.len() <= b {
            outcome.received_t.resize(b + 1, 0.0);
        }
        if outcome.demand_t.len() <= b {
            outcome.demand_t.resize(b + 1, 0.0);
        }
        outcome.received_t[b] += f.t;
        outcome.demand_t[b] += f.t;
    }
    outcome.open_shipments = std::mem::take(&mut outcome.shipments);
    outcome.shipments = contracts::merge_shipments(&outcome.open_shipments, &flows);
    outcome.offtakes = flows;
    outcome.controlled_offtake_t = control;
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
    host_terms: Res<HostTerms>,
    (prices, buyer_prices, producer_prices): (Res<Prices>, Res<BuyerPrices>, Res<ProducerPrices>),
    schedule: Res<DemandSchedule>,
    sourcing: Res<SourcingRules>,
    mut demand: ResMut<Demand>,
    mut stocks: ResMut<FeedStocks>,
    mut outcome: ResMut<MarketOutcome>,
    (expectations, mut orders, mut recycled): (
        Res<PriceExpectations>,
        ResMut<StockOrders>,
        Option<ResMut<SecondaryOffers>>,
    ),
    (mut route_tables, mut asset_order, moved, mut removed, mut scratch): (
        Local<RouteTables>,
        Local<AssetOrder>,
        AssetsMoved,
        RemovedComponents<AssetIdx>,
        Local<SolveScratch>,
    ),
    anchors: Res<StretchAnchors>,
    mut assets: Query<(&AssetIdx, &Site, &UnitCost, &Ownership, &mut Output)>,
) {
    let n = registry.n_nations();
    let dt = clock.dt_years();
    let settings = &config.settings;
    let offtake = &config.offtake;
    let offtakes_on = offtake.integrated || !offtake.contracts.is_empty();
    // Grouped by commodity, in asset order within each: a commodity's sellers are one slice.
    let changed = !moved.is_empty() || removed.read().next().is_some();
    asset_order.refresh(
        changed,
        assets
            .iter()
            .map(|(idx, site, ..)| (idx.0 as usize, commodity(site.mineral, site.stage))),
    );
    let sellers_in_query_order = assets
        .iter()
        .map(|(idx, site, cost, owners, output)| Seller {
            idx: *idx,
            site: *site,
            opex_usd_per_t: cost.opex_usd_per_t,
            potential_t: output.potential_t.max(0.0),
            stretch_t: output.stretch_t.max(0.0),
            owner_homes: if site.stage == Stage::Refined && !sourcing.rules.is_empty() {
                owners
                    .0
                    .iter()
                    .map(|(firm, share)| (registry.firm_home[firm.0 as usize], *share))
                    .collect()
            } else {
                Vec::new()
            },
            owners: if offtakes_on { &owners.0 } else { &[] },
        });
    let sellers: Vec<Seller> = asset_order.arrange(sellers_in_query_order, |s| s.idx.0 as usize);
    let of_commodity =
        |c: usize| -> Vec<&Seller> { sellers[asset_order.range(c)].iter().collect() };
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
        year: clock.year(),
        dt_years: dt,
        host_terms: &host_terms,
        friend_shoring_usd_per_t: settings.friend_shoring_usd_per_t,
        sigma: settings.armington_elasticity,
        reference_usd_per_t: &prices.reference_usd_per_t,
    });
    // Guards: floor and ceiling as multiples of the reference price; the ore ceiling is at
    // least what the refined ceiling is worth in ore (recovery × refined ceiling), so the guard
    // never caps an ore price below the netback refiners can pay (docs/ODD.md §7.7).
    let solver = |c: usize| {
        let reference = prices.reference_usd_per_t.get(c).copied().unwrap_or(1.0);
        let mut ceiling = reference * settings.price_ceiling_ratio;
        if c.is_multiple_of(2) {
            let m = c / 2;
            let recovery = registry.recovery.get(m).copied().unwrap_or(1.0);
            let refined = prices
                .reference_usd_per_t
                .get(c + 1)
                .copied()
                .unwrap_or(0.0);
            ceiling = ceiling.max(recovery * refined * settings.price_ceiling_ratio);
        }
        SolverSettings {
            sigma: settings.armington_elasticity,
            smoothing: settings.supply_smoothing,
            tolerance: settings.solver_tolerance,
            max_iterations: settings.solver_max_iterations,
            floor_usd_per_t: (reference * settings.price_floor_ratio).max(1e-9),
            ceiling_usd_per_t: ceiling.max(2e-9),
        }
    };
    // Last step's producer prices, borrowed (a copy only when there are none yet).
    let warm = |c: usize| -> Cow<'_, [f64]> {
        match producer_prices.usd_per_t.get(c) {
            Some(row) => Cow::Borrowed(row.as_slice()),
            None => Cow::Owned(vec![prices.usd_per_t.get(c).copied().unwrap_or(0.0); n]),
        }
    };
    demand.t_per_yr.resize(registry.n_minerals(), Vec::new());
    // Consumer stocks and stockpile orders (docs/ODD.md §7.6.3): partial adjustment towards
    // `market.consumer_stock_cover_weeks` of expected use, closing 1 − exp(−Δt / T) of the gap
    // per step with T = `market.consumer_stock_adjustment_weeks`.
    let stock_orders = std::mem::take(&mut orders.orders);
    let stock_setup = StockSetup {
        cover_years: settings.consumer_stock_cover_weeks / 52.0,
        adjustment: 1.0 - (-dt * 52.0 / settings.consumer_stock_adjustment_weeks.max(1e-9)).exp(),
        elasticity: settings.consumer_stock_price_elasticity,
        orders: &stock_orders,
    };

    // Short-run supply (docs/ODD.md §7.6.6): each plant offers its calibrated output at its cash
    // cost and its headroom up to the technical maximum as one lot along its rising marginal
    // cost. No headroom at the calibration step (step 0): plants run at their 2024 utilisation
    // there, and its prices anchor the rising part of the curve.
    let premium = settings.utilisation.stretch_premium;
    let w = settings.supply_smoothing;
    let headroom = |s: &Seller| if anchors.ready() { s.stretch_t } else { 0.0 };

    for m in 0..registry.n_minerals() {
        let mineral = MineralIdx(m as u16);
        let (c_ore, c_ref) = (
            commodity(mineral, Stage::Ore),
            commodity(mineral, Stage::Refined),
        );
        let recovery = registry.recovery.get(m).copied().unwrap_or(1.0);
        let ore_paid_last: Cow<'_, [f64]> = match buyer_prices.usd_per_t.get(c_ore) {
            Some(row) => Cow::Borrowed(row.as_slice()),
            None => Cow::Owned(vec![prices.usd_per_t.get(c_ore).copied().unwrap_or(0.0); n]),
        };
        let refineries = of_commodity(c_ref);
        let mines = of_commodity(c_ore);

        // Refined buyers: consumers with a constant-elasticity demand around their trajectory.
        let reference_price = prices
            .reference_usd_per_t
            .get(c_ref)
            .copied()
            .unwrap_or(0.0);
        let elasticity = config.demand_elasticity.get(m).copied().unwrap_or(0.0);
        let refined_buyers: Vec<Buyer> = schedule
            .consumers
            .get(m)
            .map(|list| {
                list.iter()
                    .map(|&b| {
                        let bi = usize::from(b.0);
                        let cell = |v: &Vec<Vec<f64>>| {
                            v.get(m).and_then(|r| r.get(bi)).copied().unwrap_or(0.0)
                        };
                        let use_curve = DemandCurve::ConstantElasticity {
                            reference_t: cell(&demand.reference_t_per_yr) * dt,
                            reference_usd_per_t: reference_price,
                            elasticity,
                            credit_usd_per_t: cell(&demand.credit_usd_per_t),
                            floor_usd_per_t: reference_price * settings.price_floor_ratio,
                        };
                        let expected = expectations
                            .buyer_usd_per_t
                            .get(c_ref)
                            .and_then(|r| r.get(bi))
                            .copied()
                            .unwrap_or(reference_price);
                        Buyer {
                            nation: b,
                            curve: stock_setup.curve(
                                use_curve,
                                mineral,
                                b,
                                cell(&demand.reference_t_per_yr),
                                cell(&demand.stock_t),
                                expected,
                            ),
                            sourcing: sourcing_terms(&sourcing, &registry, mineral, b, &refineries),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        // A refinery's lot: its cash cost is its conversion cost plus the ore it uses, at
        // `ore_usd_per_t` per tonne of ore, with its supply band ± w on the conversion cost (the
        // ore is a pass-through: a band on the full cost would let a copper smelter's margin
        // rise by w × the copper price before it runs in full).
        let refinery_lot = |s: &Seller, quantity_t: f64, ore_usd_per_t: f64| Lot {
            asset: s.idx,
            host: s.site.host,
            quantity_t,
            reservation_usd_per_t: s.opex_usd_per_t + ore_usd_per_t / recovery,
            half_band_usd_per_t: Some(w * s.opex_usd_per_t),
        };
        // Its headroom lot: up to `quantity_t` tonnes above calibrated output along the marginal
        // conversion cost from M0 = max(2024 margin, top of its band), plus the ore.
        let refinery_m0 = |s: &Seller| {
            headroom_start(
                anchors.get(c_ref, s.site.host),
                s.opex_usd_per_t * (1.0 + w),
            )
        };
        let refinery_headroom = |s: &Seller, quantity_t: f64, ore_usd_per_t: f64| {
            headroom_lot(
                s.idx,
                s.site.host,
                quantity_t,
                headroom(s),
                refinery_m0(s),
                premium,
                ore_usd_per_t / recovery,
            )
        };
        let nr = refineries.len();
        let refined_links = route_tables.links(c_ref);

        // Pass A: a tentative refined equilibrium with refinery capacity, plants ranked by their
        // conversion cost alone, tells each plant what it can expect to sell this step. The ore
        // cost is left out here: the ore market (pass B) rations ore by netback, and with ore
        // priced at the netback a plant's full cash cost sits at the refined price by
        // construction, which would make the tentative dispatch a knife edge.
        let lots_a: Vec<Lot> = refineries
            .iter()
            .map(|s| refinery_lot(s, s.potential_t, 0.0))
            .collect();
        // The headroom carries its full marginal cost at the ore price the host paid last step:
        // a plant runs harder only when the refined price would cover it.
        let headroom_a: Vec<Lot> = refineries
            .iter()
            .map(|s| {
                let ore_last = ore_paid_last
                    .get(usize::from(s.site.host.0))
                    .copied()
                    .unwrap_or(0.0);
                refinery_headroom(s, headroom(s), ore_last)
            })
            .collect();
        // Offtake contracts on refined product are served first (docs/ODD.md §7.6.4): the
        // tentative pass clears only what they leave, and contracted tonnes are part of each
        // plant's run.
        let refinery_owners: Vec<&[(FirmIdx, f64)]> = refineries.iter().map(|s| s.owners).collect();
        let refined_reference = prices.usd_per_t.get(c_ref).copied().unwrap_or(0.0);
        let pre_a = contracts::refined_contracts(
            offtake,
            clock.step,
            dt,
            &lots_a,
            &refinery_owners,
            &refined_buyers,
            refined_links,
            refined_reference,
        );
        let contracted_a: Vec<f64> = pre_a
            .as_ref()
            .map_or_else(|| vec![0.0; refineries.len()], |p| p.0.taken_t.clone());
        let (lots_a, buyers_a) = match &pre_a {
            Some((_, lots, buyers)) => (lots.as_slice(), buyers.as_slice()),
            None => (lots_a.as_slice(), refined_buyers.as_slice()),
        };
        // Recycled material joins both refined clearings as lots of the recyclers' nations
        // (docs/ODD.md §7.6.5), appended after the plants' lots and headroom; it counts as
        // processed where it is recycled.
        let recycled_lots = recycled
            .as_deref()
            .map(|r| r.lots(mineral))
            .unwrap_or_default();
        let recycled_qualifies = |b: NationIdx, h: NationIdx| {
            sourcing.qualifies(&registry, b, mineral, &[h], &[(h, 1.0)]) == Some(true)
        };
        let lots_a: Vec<Lot> = lots_a
            .iter()
            .chain(&headroom_a)
            .chain(recycled_lots.iter().map(|(_, l)| l))
            .copied()
            .collect();
        let with_recycled_a = extend_buyers(buyers_a, &recycled_lots, recycled_qualifies);
        let buyers_a = with_recycled_a.as_deref().unwrap_or(buyers_a);
        let tentative = solve_with(
            &mut scratch,
            &lots_a,
            buyers_a,
            refined_links,
            &solver(c_ref),
            &warm(c_ref),
        );
        // Feed-stock target of each plant: `market.feed_stock_cover_weeks` of its available
        // capacity; opening stocks at their targets, so the first step is a steady state.
        let cover_steps = settings.feed_stock_cover_weeks / 52.0 / dt;
        if clock.step == 0 {
            for s in &refineries {
                stocks.ore_t[s.idx.0 as usize] = s.potential_t / recovery * cover_steps;
            }
        }

        // Pass B: ore market. Each refinery host bids for its plants' ore with a derived demand
        // (docs/ODD.md §7.6.2): plant j wants the ore for its tentative output plus its stock
        // target less its stock while the delivered ore price is below its netback
        // v_j = r · (p_h − c_j), what a tonne of ore is worth to it at its host's refined producer
        // price of the last step p_h (the quotational period of formula pricing) less its
        // conversion cost c_j. When ore is scarce the ore price rises to the marginal plant's
        // netback (the mine captures the rent, the margin stays at the conversion cost); when
        // refining is short the plants cannot take the ore on offer, the ore price falls to what
        // clears the mines and the margin widens.
        // Each host's plants in plant order, one flat list (a counting sort by host):
        // `by_host(h)` is the slice of host `h`.
        let mut host_start = vec![0usize; n + 1];
        for r in &refineries {
            host_start[usize::from(r.site.host.0) + 1] += 1;
        }
        for h in 0..n {
            host_start[h + 1] += host_start[h];
        }
        let mut host_members = vec![0usize; refineries.len()];
        {
            let mut next = host_start.clone();
            for (j, r) in refineries.iter().enumerate() {
                let at = &mut next[usize::from(r.site.host.0)];
                host_members[*at] = j;
                *at += 1;
            }
        }
        let by_host = |h: usize| &host_members[host_start[h]..host_start[h + 1]];
        let current_refined = prices.usd_per_t.get(c_ref).copied().unwrap_or(0.0);
        let refined_last = warm(c_ref);
        let netback: Vec<f64> = refineries
            .iter()
            .map(|s| {
                let h = usize::from(s.site.host.0);
                let p = refined_last
                    .get(h)
                    .copied()
                    .filter(|p| *p > 0.0)
                    .unwrap_or(current_refined);
                (recovery * (p - s.opex_usd_per_t)).max(0.0)
            })
            .collect();
        let mut ore_buyers: Vec<NationIdx> = refineries.iter().map(|s| s.site.host).collect();
        ore_buyers.sort();
        ore_buyers.dedup();
        // Each plant bids for the ore of its calibrated output and stock target at its netback;
        // a plant whose headroom the tentative pass ran bids, after all of its host's plants'
        // first bids, for that ore at the netback of the run's mean marginal cost,
        // r (p_h − MC(x / 2)), with no stock target. `bid_plant` names the plant of each bid.
        let mut bid_plant: Vec<Vec<usize>> = Vec::with_capacity(ore_buyers.len());
        let ore_bids: Vec<Buyer> = ore_buyers
            .iter()
            .map(|&b| {
                let members = by_host(usize::from(b.0));
                // Room for every plant's headroom bid too: no regrowth while they are pushed.
                let mut bids: Vec<PlantBid> = Vec::with_capacity(2 * members.len());
                bids.extend(members.iter().map(|&j| {
                    let s = refineries[j];
                    PlantBid {
                        run_t: (tentative.dispatched_t[j] + contracted_a[j]).min(s.potential_t)
                            / recovery,
                        cover_t: s.potential_t / recovery * cover_steps,
                        stock_t: stocks.ore_t[s.idx.0 as usize],
                        netback_usd_per_t: netback[j],
                    }
                }));
                let mut plants = Vec::with_capacity(2 * members.len());
                plants.extend_from_slice(members);
                for &j in members {
                    let run = tentative.dispatched_t[nr + j];
                    if run <= 0.0 {
                        continue;
                    }
                    let s = refineries[j];
                    let refined_h = netback[j] / recovery + s.opex_usd_per_t;
                    let mc = marginal_cost(refinery_m0(s), premium, 0.5 * run, headroom(s));
                    bids.push(PlantBid {
                        run_t: run / recovery,
                        cover_t: 0.0,
                        stock_t: 0.0,
                        netback_usd_per_t: (recovery * (refined_h - mc)).max(0.0),
                    });
                    plants.push(j);
                }
                bid_plant.push(plants);
                Buyer {
                    nation: b,
                    curve: DemandCurve::Plants {
                        bids,
                        stock_elasticity: settings.feed_stock_price_elasticity,
                    },
                    sourcing: None,
                }
            })
            .collect();
        let ore_lots: Vec<Lot> = mines
            .iter()
            .map(|s| {
                let royalty = host_terms
                    .royalty
                    .get(usize::from(s.site.host.0))
                    .copied()
                    .unwrap_or(0.0);
                let netback = 1.0 - royalty;
                let (quantity_t, reservation) = if netback > 0.0 {
                    (s.potential_t, s.opex_usd_per_t / netback)
                } else {
                    (0.0, 0.0)
                };
                Lot {
                    asset: s.idx,
                    host: s.site.host,
                    quantity_t,
                    reservation_usd_per_t: reservation,
                    half_band_usd_per_t: None,
                }
            })
            .collect();
        // A mine's headroom: along the marginal cost from M0 = max(its host's 2024 ore price,
        // the top of its band), both in producer-price terms (grossed up for the royalty).
        let ore_headroom: Vec<Lot> = mines
            .iter()
            .zip(&ore_lots)
            .map(|(s, l)| {
                let h = if l.quantity_t > 0.0 { headroom(s) } else { 0.0 };
                let m0 = headroom_start(
                    anchors.get(c_ore, s.site.host),
                    l.reservation_usd_per_t * (1.0 + w),
                );
                headroom_lot(s.idx, s.site.host, h, h, m0, premium, 0.0)
            })
            .collect();
        // Equity offtake and ore contracts are served first (docs/ODD.md §7.6.4): their tonnes
        // leave the mines' lots, and a plant's bid counts ore pre-delivered as stock on hand.
        let (mut ore_lots, mut ore_bids) = (ore_lots, ore_bids);
        let ore_links = route_tables.links(c_ore);
        let mut plant_need = vec![0.0; refineries.len()];
        for buyer in &ore_bids {
            if let DemandCurve::Plants { bids, .. } = &buyer.curve {
                for (k, &j) in by_host(usize::from(buyer.nation.0)).iter().enumerate() {
                    let b = &bids[k];
                    let target = b.run_t + b.cover_t;
                    plant_need[j] = snap(target - b.stock_t, target + b.stock_t).max(0.0);
                }
            }
        }
        let mine_sources: Vec<contracts::Source<'_>> = mines
            .iter()
            .zip(&ore_lots)
            .map(|(s, l)| contracts::Source {
                asset: s.idx,
                host: s.site.host,
                owners: s.owners,
                available_t: l.quantity_t,
                cost_usd_per_t: l.reservation_usd_per_t,
            })
            .collect();
        let plant_sinks: Vec<contracts::Sink<'_>> = refineries
            .iter()
            .enumerate()
            .map(|(j, s)| contracts::Sink {
                nation: s.site.host,
                owners: s.owners,
                need_t: plant_need[j],
                value_usd_per_t: netback[j],
            })
            .collect();
        let ore_pre = offtakes_on.then(|| {
            contracts::allocate(
                offtake,
                clock.step,
                dt,
                &mine_sources,
                &plant_sinks,
                ore_links,
                prices.usd_per_t.get(c_ore).copied().unwrap_or(0.0),
                offtake.integrated,
            )
        });
        let ore_pre = ore_pre.filter(|a| !a.is_empty());
        let reduced_ore_links = ore_pre.as_ref().and_then(|a| a.open_links(ore_links));
        if let Some(a) = &ore_pre {
            for (l, t) in ore_lots.iter_mut().zip(&a.taken_t) {
                l.quantity_t = (l.quantity_t - t).max(0.0);
            }
            for buyer in &mut ore_bids {
                let hs = usize::from(buyer.nation.0);
                if let DemandCurve::Plants { bids, .. } = &mut buyer.curve {
                    for (k, &j) in by_host(hs).iter().enumerate() {
                        bids[k].stock_t += a.given_t[j];
                    }
                }
            }
        }
        let nm = ore_lots.len();
        ore_lots.extend(ore_headroom);
        let ore = solve_with(
            &mut scratch,
            &ore_lots,
            &ore_bids,
            reduced_ore_links.as_ref().unwrap_or(ore_links),
            &solver(c_ore),
            &warm(c_ore),
        );
        for (i, (s, q)) in mines.iter().zip(&ore.dispatched_t[..nm]).enumerate() {
            let pre = ore_pre.as_ref().map_or(0.0, |a| a.taken_t[i]);
            actual[s.idx.0 as usize] = *q + ore.dispatched_t[nm + i] + pre;
        }

        // Share each host's ore among its plants in proportion to what each takes at the price
        // the host paid. Every member gets its proportional share, the total added in an id-free
        // order (no "last member takes the remainder", which made a plant's feed depend on the
        // refineries' order); mass is exact to rounding (~1e-16 relative).
        let mut got = vec![0.0; refineries.len()];
        for (buyer, members) in ore_bids.iter().zip(&bid_plant) {
            let DemandCurve::Plants {
                bids,
                stock_elasticity,
            } = &buyer.curve
            else {
                continue;
            };
            let hs = usize::from(buyer.nation.0);
            let takes = plant_takes(
                bids,
                ore.buyer_usd_per_t[hs],
                settings.supply_smoothing,
                *stock_elasticity,
            );
            let total = order_free_sum(&mut takes.clone());
            let received = ore.received_t[hs];
            for (k, &j) in members.iter().enumerate() {
                if total > 0.0 {
                    got[j] += received * takes[k] / total;
                } else if k + 1 == members.len() && received > 0.0 {
                    // Nothing is taken at the host's price but ore arrived (rounding of the
                    // solver): spread it evenly, id-free.
                    for &jj in members {
                        got[jj] += received / members.len() as f64;
                    }
                }
            }
        }
        if let Some(a) = &ore_pre {
            for (g, pre) in got.iter_mut().zip(&a.given_t) {
                *g += pre;
            }
        }

        // Pass C: refined product from feed stock plus ore received, at this step's ore price.
        let ore_paid: Vec<f64> = (0..n)
            .map(|h| {
                if ore.buyer_usd_per_t[h] > 0.0 {
                    ore.buyer_usd_per_t[h]
                } else {
                    ore_paid_last[h]
                }
            })
            .collect();
        // Feed on hand is valued at the lower of what the host paid for ore and the plant's
        // netback, what the ore is worth to it (the lower of cost and net realisable value of
        // inventories, IAS 2 §9): ore bought above the netback (its bid ramps off over the band
        // above it) is a sunk loss and does not stop the plant from converting it, which with
        // bands on the conversion cost it otherwise would whenever the ore price overshoots.
        let feed_value = |j: usize, s: &Seller| {
            let paid = ore_paid[usize::from(s.site.host.0)];
            if netback[j] > 0.0 {
                paid.min(netback[j])
            } else {
                paid
            }
        };
        let lots_c: Vec<Lot> = refineries
            .iter()
            .zip(&got)
            .enumerate()
            .map(|(j, (s, g))| {
                let feed = stocks.ore_t[s.idx.0 as usize] + g;
                refinery_lot(s, s.potential_t.min(recovery * feed), feed_value(j, s))
            })
            .collect();
        // The headroom this step's feed allows, after the calibrated output.
        let headroom_c: Vec<Lot> = refineries
            .iter()
            .zip(&got)
            .enumerate()
            .map(|(j, (s, g))| {
                let feed = stocks.ore_t[s.idx.0 as usize] + g;
                refinery_headroom(s, recovery * feed - s.potential_t, feed_value(j, s))
            })
            .collect();
        // Refined offtake contracts again, on what the plants can make now.
        let pre_c = contracts::refined_contracts(
            offtake,
            clock.step,
            dt,
            &lots_c,
            &refinery_owners,
            &refined_buyers,
            refined_links,
            refined_reference,
        );
        let reduced_refined_links = pre_c.as_ref().and_then(|p| p.0.open_links(refined_links));
        let (lots_open, buyers_open) = match &pre_c {
            Some((_, lots, buyers)) => (lots.as_slice(), buyers.as_slice()),
            None => (lots_c.as_slice(), refined_buyers.as_slice()),
        };
        let primary_lots = lots_open.len() + headroom_c.len();
        let lots_open: Vec<Lot> = lots_open
            .iter()
            .chain(&headroom_c)
            .chain(recycled_lots.iter().map(|(_, l)| l))
            .copied()
            .collect();
        let with_recycled_c = extend_buyers(buyers_open, &recycled_lots, recycled_qualifies);
        let buyers_open = with_recycled_c.as_deref().unwrap_or(buyers_open);
        let refined = solve_with(
            &mut scratch,
            &lots_open,
            buyers_open,
            reduced_refined_links.as_ref().unwrap_or(refined_links),
            &solver(c_ref),
            &refined_last,
        );
        if let Some(r) = recycled.as_deref_mut() {
            r.record(
                &recycled_lots,
                refined.dispatched_t.get(primary_lots..).unwrap_or(&[]),
            );
        }
        let contracted_c: Vec<f64> = pre_c
            .as_ref()
            .map_or_else(|| vec![0.0; refineries.len()], |p| p.0.taken_t.clone());
        let mut ore_used = vec![0.0; n];
        for (j, (((s, g), y), pre)) in refineries
            .iter()
            .zip(&got)
            .zip(&refined.dispatched_t[..nr])
            .zip(&contracted_c)
            .enumerate()
        {
            let y = &(y + refined.dispatched_t[nr + j] + pre);
            let slot = &mut stocks.ore_t[s.idx.0 as usize];
            let used = (y / recovery).min(*slot + g);
            // Feed kept: a difference of large numbers, snapped (crate::model::rounding).
            *slot = snap(*slot + g - used, *slot + g).max(0.0);
            ore_used[usize::from(s.site.host.0)] += used;
            actual[s.idx.0 as usize] = *y;
        }
        settle_consumers(
            &refined_buyers,
            &refined,
            settings.supply_smoothing,
            dt,
            m,
            mineral,
            &mut demand,
            &stock_orders,
            &mut orders.filled_t,
        );
        let mut ore_outcome = to_outcome(ore);
        ore_outcome.ore_used_t = ore_used;
        if let Some(a) = &ore_pre {
            let fallback = prices.usd_per_t.get(c_ore).copied().unwrap_or(0.0);
            record_offtakes(&mut ore_outcome, a, &mine_sources, &plant_sinks, fallback);
        }
        // What the solve asked for (use plus consumers' stock building and stock orders), kept to
        // tell the offtake tonnes `record_offtakes` adds to the outcome's demand.
        let solved_demand_t = refined.demand_t.clone();
        let mut refined_outcome = to_outcome(refined);
        if let Some((a, _, _)) = &pre_c {
            record_offtakes(
                &mut refined_outcome,
                a,
                &contracts::lot_sources(&lots_c, &refinery_owners),
                &contracts::buyer_sinks(&refined_buyers),
                refined_reference,
            );
        }
        // `demand` is use wanted at the price (docs/ODD.md §7.6.3), as `settle_consumers` wrote
        // it, plus the tonnes delivered by offtakes outside the solve. A buyer without stocks
        // wants what it asked the solve for, so its row is the outcome's demand unchanged; a
        // buyer with stocks or stock orders asked for more or less than its use, and that
        // difference is not unmet (or over-met) demand.
        let wanted = &mut demand.t_per_yr[m];
        wanted.resize(refined_outcome.demand_t.len(), 0.0);
        for ((w, o), s) in wanted
            .iter_mut()
            .zip(&refined_outcome.demand_t)
            .zip(&solved_demand_t)
        {
            *w = if *w == *s / dt {
                o / dt
            } else {
                *w + (o - s) / dt
            };
        }
        credit_qualifying_tonnes(&sourcing, mineral, &mut refined_outcome);
        outcome.commodities[c_ore] = ore_outcome;
        outcome.commodities[c_ref] = refined_outcome;
    }
    orders.orders = stock_orders;
    for (idx, _, _, _, mut output) in &mut assets {
        output.t = actual.get(idx.0 as usize).copied().unwrap_or(0.0);
    }
}
