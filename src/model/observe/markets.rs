//! Observation of markets (phase 8, after [`super::production::record_metrics`]): prices, demand,
//! consumption, unmet demand, purchases, consumer stocks, import dependence, domestic processing, value added, feed stocks,
//! and the bilateral flows of `flows.csv`. Formulas are in `docs/output-format.md`.
//!
//! Shares are omitted where their denominator is zero, so no NaN reaches a file. Quantities are
//! annualised (t/yr, USD/yr) like `production`, except the stock levels `feed_stock` and
//! `consumer_stock` (t).

use bevy_ecs::prelude::*;

use crate::model::metrics as metric;

use crate::model::order::{AssetOrder, AssetsMoved};

use crate::model::components::{AssetIdx, MineralIdx, NationIdx, Output, Ownership, Site, Stage};
use crate::model::resources::{
    BuyerPrices, Clock, CommodityOutcome, Demand, DemandSchedule, FeedStocks, FlowKind, FlowLog,
    FlowRow, MarketOutcome, MetricRow, Metrics, ObservedPairs, Prices, Registry, SourcingRules,
    commodity,
};

/// Record market metrics and flows of the step.
#[allow(clippy::too_many_arguments)]
pub fn record_market_metrics(
    clock: Res<Clock>,
    registry: Res<Registry>,
    pairs: Res<ObservedPairs>,
    outcome: Res<MarketOutcome>,
    prices: Res<Prices>,
    buyer_prices: Res<BuyerPrices>,
    demand: Res<Demand>,
    schedule: Res<DemandSchedule>,
    stocks: Res<FeedStocks>,
    sourcing: Res<SourcingRules>,
    mut metrics: ResMut<Metrics>,
    (mut flows, mut order, moved, mut removed): (
        ResMut<FlowLog>,
        Local<AssetOrder>,
        AssetsMoved,
        RemovedComponents<AssetIdx>,
    ),
    assets: Query<(&AssetIdx, &Site, &Output, &Ownership)>,
) {
    let n = registry.n_nations();
    let spy = f64::from(clock.steps_per_year);
    let step = clock.step;
    // Assets grouped by commodity, in index order within each (so every sum adds in index
    // order); each commodity's loops below read only its own slice, which keeps the step linear in
    // assets whatever the number of minerals.
    let changed = !moved.is_empty() || removed.read().next().is_some();
    order.refresh(
        changed,
        assets
            .iter()
            .map(|(idx, site, ..)| (idx.0 as usize, commodity(site.mineral, site.stage))),
    );
    let sorted: Vec<(&AssetIdx, &Site, &Output, &Ownership)> =
        order.arrange(assets.iter(), |(idx, ..)| idx.0 as usize);
    let of_commodity = |c: usize| &sorted[order.range(c)];

    for m in 0..registry.n_minerals() {
        let mineral = MineralIdx(m as u16);
        for stage in [Stage::Ore, Stage::Refined] {
            let c = commodity(mineral, stage);
            let Some(market) = outcome.commodities.get(c) else {
                continue;
            };
            let row = |metric: &'static str,
                       nation: Option<NationIdx>,
                       partner: Option<NationIdx>,
                       value: f64| MetricRow {
                step,
                metric,
                mineral: Some(mineral),
                stage: Some(stage),
                nation,
                partner,
                value,
            };
            let buyer_price = |b: NationIdx| {
                buyer_prices
                    .usd_per_t
                    .get(c)
                    .and_then(|r| r.get(usize::from(b.0)))
                    .copied()
                    .unwrap_or(prices.usd_per_t[c])
            };

            // Prices: the reference (volume-weighted transaction) price, each buyer's price, each
            // exporter's producer price, and quota rents where a quota binds.
            metrics
                .rows
                .push(row(metric::PRICE, None, None, prices.usd_per_t[c]));
            if let Some(flags) = buyer_prices.buyer.get(c) {
                for b in (0..n).filter(|&b| flags[b]) {
                    let b = NationIdx(b as u16);
                    metrics
                        .rows
                        .push(row(metric::PRICE, Some(b), None, buyer_price(b)));
                }
            }
            for (h, &p) in market.producer_usd_per_t.iter().enumerate() {
                if p > 0.0 {
                    metrics.rows.push(row(
                        metric::PRODUCER_PRICE,
                        Some(NationIdx(h as u16)),
                        None,
                        p,
                    ));
                }
            }
            for (h, &rent) in market.quota_rent_usd.iter().enumerate() {
                if rent > 0.0 {
                    metrics.rows.push(row(
                        metric::QUOTA_RENT_USD,
                        Some(NationIdx(h as u16)),
                        None,
                        rent * spy,
                    ));
                }
            }

            // Flows, valued at the seller's (producer) price.
            let producer = |h: NationIdx| {
                market
                    .producer_usd_per_t
                    .get(usize::from(h.0))
                    .copied()
                    .unwrap_or(0.0)
            };
            // Open-market rows at the producer price, offtake rows (docs/ODD.md §7.6.4) at
            // their contract or transfer value; sorted by (from, to, kind).
            let open = if market.offtakes.is_empty() {
                &market.shipments
            } else {
                &market.open_shipments
            };
            let mut rows: Vec<FlowRow> = open
                .iter()
                .map(|s| FlowRow {
                    step,
                    mineral,
                    stage,
                    from: s.from,
                    to: s.to,
                    quantity_t: s.t,
                    value_usd: s.t * producer(s.from),
                    kind: FlowKind::Open,
                })
                .chain(market.offtakes.iter().map(|f| FlowRow {
                    step,
                    mineral,
                    stage,
                    from: f.from,
                    to: f.to,
                    quantity_t: f.t,
                    value_usd: f.value_usd,
                    kind: f.kind,
                }))
                .collect();
            if !market.offtakes.is_empty() {
                rows.sort_by_key(|a| (a.from, a.to, a.kind));
            }
            flows.rows.extend(rows);

            match stage {
                Stage::Refined => {
                    record_consumers(
                        &mut metrics.rows,
                        &row,
                        market,
                        &demand,
                        schedule.consumers.get(m).map_or(&[][..], Vec::as_slice),
                        m,
                        spy,
                        &pairs.hosts[c],
                        &pairs.controllers[c],
                        &control_mix(of_commodity(c), &registry, mineral, stage),
                    );
                    record_sourcing(
                        &mut metrics.rows,
                        &row,
                        market,
                        &sourcing,
                        mineral,
                        schedule.consumers.get(m).map_or(&[][..], Vec::as_slice),
                        spy,
                    );
                    // Value added by refining: refined sales minus the ore used, at market prices.
                    let ore_c = commodity(mineral, Stage::Ore);
                    let ore_market = &outcome.commodities[ore_c];
                    let sales = sales_by_exporter(market, n, producer);
                    for &h in &pairs.hosts[c] {
                        let sales = sales[usize::from(h.0)];
                        let ore_price = buyer_prices
                            .usd_per_t
                            .get(ore_c)
                            .and_then(|r| r.get(usize::from(h.0)))
                            .copied()
                            .unwrap_or(prices.usd_per_t[ore_c]);
                        let used = ore_market
                            .ore_used_t
                            .get(usize::from(h.0))
                            .copied()
                            .unwrap_or(0.0);
                        metrics.rows.push(row(
                            metric::VALUE_ADDED_USD,
                            Some(h),
                            None,
                            (sales - used * ore_price) * spy,
                        ));
                    }
                    // Feed stock held by the refineries of each host (ore, t).
                    let mut stock = vec![0.0; n];
                    for (idx, site, ..) in of_commodity(c) {
                        if site.mineral == mineral && site.stage == Stage::Refined {
                            stock[usize::from(site.host.0)] +=
                                stocks.ore_t.get(idx.0 as usize).copied().unwrap_or(0.0);
                        }
                    }
                    for &h in &pairs.hosts[c] {
                        metrics.rows.push(MetricRow {
                            stage: Some(Stage::Ore),
                            ..row(metric::FEED_STOCK, Some(h), None, stock[usize::from(h.0)])
                        });
                    }
                }
                Stage::Ore => {
                    let mut mined = vec![0.0; n];
                    for (_, site, output, _) in of_commodity(c) {
                        if site.mineral == mineral && site.stage == Stage::Ore {
                            mined[usize::from(site.host.0)] += output.t;
                        }
                    }
                    let mut home_t = vec![0.0; n];
                    for s in market.shipments.iter().filter(|s| s.from == s.to) {
                        home_t[usize::from(s.from.0)] += s.t;
                    }
                    for &h in &pairs.hosts[c] {
                        let hs = usize::from(h.0);
                        let home = home_t[hs];
                        if mined[hs] > 0.0 {
                            metrics.rows.push(row(
                                metric::DOMESTIC_PROCESSING,
                                Some(h),
                                None,
                                (home / mined[hs]).min(1.0),
                            ));
                        }
                    }
                    let sales = sales_by_exporter(market, n, producer);
                    for &h in &pairs.hosts[c] {
                        let sales = sales[usize::from(h.0)];
                        metrics
                            .rows
                            .push(row(metric::VALUE_ADDED_USD, Some(h), None, sales * spy));
                    }
                }
            }
        }
    }
}

/// Qualifying share of consumption and the premium earned, for each consumer with a sourcing rule
/// in force for the mineral (§7.6.1); the share is omitted when it consumed nothing.
fn record_sourcing(
    rows: &mut Vec<MetricRow>,
    row: &dyn Fn(&'static str, Option<NationIdx>, Option<NationIdx>, f64) -> MetricRow,
    market: &CommodityOutcome,
    sourcing: &SourcingRules,
    mineral: MineralIdx,
    consumers: &[NationIdx],
    spy: f64,
) {
    for &b in consumers {
        let Some(rule) = sourcing.rule(b, mineral) else {
            continue;
        };
        let bi = usize::from(b.0);
        let received = market.received_t.get(bi).copied().unwrap_or(0.0);
        let qualifying = market.qualifying_t.get(bi).copied().unwrap_or(0.0);
        let credited = market.credited_t.get(bi).copied().unwrap_or(0.0);
        if received > 0.0 {
            rows.push(row(
                metric::QUALIFYING_SHARE,
                Some(b),
                None,
                (qualifying / received).clamp(0.0, 1.0),
            ));
        }
        rows.push(row(
            metric::SOURCING_PREMIUM_USD,
            Some(b),
            None,
            rule.premium_usd_per_t * credited * spy,
        ));
    }
}

/// Value of each exporter's shipments at its producer price (what its sellers net), USD this
/// step, summed in shipment order (one pass over the shipments, not one per host).
fn sales_by_exporter(
    market: &CommodityOutcome,
    n: usize,
    producer_price: impl Fn(NationIdx) -> f64,
) -> Vec<f64> {
    let mut sales = vec![0.0; n];
    for s in &market.shipments {
        sales[usize::from(s.from.0)] += s.t * producer_price(s.from);
    }
    sales
}

/// Share of each host's output of a commodity controlled by each home nation, `[host * n + home]`.
fn control_mix(
    sorted: &[(&AssetIdx, &Site, &Output, &Ownership)],
    registry: &Registry,
    mineral: MineralIdx,
    stage: Stage,
) -> Vec<f64> {
    let n = registry.n_nations();
    let mut mix = vec![0.0; n * n];
    let mut total = vec![0.0; n];
    for (_, site, output, owners) in sorted {
        if site.mineral != mineral || site.stage != stage || output.t <= 0.0 {
            continue;
        }
        let h = usize::from(site.host.0);
        total[h] += output.t;
        for (firm, share) in &owners.0 {
            let home = usize::from(registry.firm_home[firm.0 as usize].0);
            mix[h * n + home] += output.t * share;
        }
    }
    for h in 0..n {
        if total[h] > 0.0 {
            for k in 0..n {
                mix[h * n + k] /= total[h];
            }
        }
    }
    mix
}

/// Demand, consumption, unmet demand and import dependence of each consumer of a refined mineral.
#[allow(clippy::too_many_arguments)]
fn record_consumers(
    rows: &mut Vec<MetricRow>,
    row: &dyn Fn(&'static str, Option<NationIdx>, Option<NationIdx>, f64) -> MetricRow,
    market: &CommodityOutcome,
    demand: &Demand,
    consumers: &[NationIdx],
    mineral: usize,
    spy: f64,
    hosts: &[NationIdx],
    controllers: &[NationIdx],
    mix: &[f64],
) {
    let n = market.received_t.len();
    // Tonnes shipped on each route, `[from * n + to]` (one shipment per route at most).
    let mut shipped = vec![0.0; n * n];
    for s in &market.shipments {
        shipped[usize::from(s.from.0) * n + usize::from(s.to.0)] += s.t;
    }
    // The shipments to each importer, in shipment order (a stable counting sort by `to`), so
    // each sum below adds in that order: one pass over the shipments instead of one per
    // consumer (issue 19: that was O(nations³) per step).
    let mut start = vec![0usize; n + 1];
    for s in &market.shipments {
        start[usize::from(s.to.0) + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut next = start.clone();
    let mut inbound = vec![(0usize, 0.0f64); market.shipments.len()];
    for s in &market.shipments {
        let at = &mut next[usize::from(s.to.0)];
        inbound[*at] = (usize::from(s.from.0), s.t);
        *at += 1;
    }
    // The home nations with a share of each host's output (`mix` is sparse: a host's output is
    // owned by a few homes), in home order.
    let mut owners_start = vec![0usize; n + 1];
    let mut owners: Vec<(usize, f64)> = Vec::new();
    for h in 0..n {
        for k in 0..n {
            let share = mix.get(h * n + k).copied().unwrap_or(0.0);
            if share != 0.0 {
                owners.push((k, share));
            }
        }
        owners_start[h + 1] = owners.len();
    }
    let mut controlled = vec![0.0f64; n];
    for &b in consumers {
        let bi = usize::from(b.0);
        let wanted = demand
            .t_per_yr
            .get(mineral)
            .and_then(|r| r.get(bi))
            .copied()
            .unwrap_or(0.0);
        let bought = market.received_t.get(bi).copied().unwrap_or(0.0) * spy;
        // Use: purchases plus stock drawn (docs/ODD.md §7.6.3); purchases when not booked.
        let got = demand
            .use_t_per_yr
            .get(mineral)
            .and_then(|r| r.get(bi))
            .copied()
            .unwrap_or(bought);
        let stock = demand
            .stock_t
            .get(mineral)
            .and_then(|r| r.get(bi))
            .copied()
            .unwrap_or(0.0);
        rows.push(row(metric::DEMAND, Some(b), None, wanted));
        rows.push(row(metric::CONSUMPTION, Some(b), None, got));
        // Differences below a billionth of demand are float dust from pro-rata splits.
        let unmet = wanted - got;
        let unmet = if unmet > 1e-9 * wanted.max(1.0) {
            unmet
        } else {
            0.0
        };
        rows.push(row(metric::UNMET_DEMAND, Some(b), None, unmet));
        rows.push(row(metric::PURCHASES, Some(b), None, bought));
        rows.push(row(metric::CONSUMER_STOCK, Some(b), None, stock));
    }
    for &b in consumers {
        let received = market
            .received_t
            .get(usize::from(b.0))
            .copied()
            .unwrap_or(0.0);
        if received <= 0.0 {
            continue;
        }
        let bi = usize::from(b.0);
        for &h in hosts {
            rows.push(row(
                metric::IMPORT_DEPENDENCE,
                Some(b),
                Some(h),
                shipped[usize::from(h.0) * n + bi] / received,
            ));
        }
        // Tonnes of `b`'s purchases controlled by each home nation: for each home, the sum over
        // the shipments to `b` in shipment order of `t · mix[from, home]`, starting from 0.
        // Terms with a zero share are skipped, which leaves each sum unchanged (adding +0 to a
        // sum of non-negative terms changes nothing), so the numbers are those of summing
        // every term.
        controlled.fill(0.0);
        for &(from, t) in &inbound[start[bi]..start[bi + 1]] {
            for &(k, share) in &owners[owners_start[from]..owners_start[from + 1]] {
                controlled[k] += t * share;
            }
        }
        for &k in controllers {
            rows.push(row(
                metric::IMPORT_DEPENDENCE_CONTROL,
                Some(b),
                Some(k),
                controlled[usize::from(k.0)] / received,
            ));
        }
    }
}
