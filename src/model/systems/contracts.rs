//! Offtakes served before the open market clears (`docs/ODD.md` §7.6.4): equity offtake (an
//! integrated firm's mines feed its own refineries first) and long-term offtake contracts
//! (scenario section `offtake`).
//!
//! Why: in the industry a large part of concentrate and refined product never meets the spot
//! market. Smelters and converters are fed by captive mines and by term contracts signed before a
//! project is financed (Crowson 2008, *Mineral Handbook*; Radetzki & Wårell 2021, *A Handbook of
//! Primary Commodities in the Global Economy*, ch. 5 on vertical integration and term contracts),
//! and DESIGN asks that offtake contracts be served first. The pass here takes those tonnes out of
//! both sides of the market — the seller's lot and the buyer's demand — before
//! [`super::equilibrium::solve`] runs, so the open market clears only the rest.
//!
//! Rules (all pro rata, so no result depends on how ids are spelled or ordered; ties split
//! evenly):
//! 1. **Contracts first.** Contract `k` on seller `i` claims `share_k · A_i` or `t_k · Δt`, where
//!    `A_i` is what the seller has this step. The claims are scaled by
//!    `min(1, A_i / Σ_k claim_k)` at the seller, by `min(1, N_b / Σ claims into b)` at the buyer
//!    (`N_b` the feed need of buyer *b*'s refineries for ore, its reference demand for refined
//!    product), and by `min(1, Q_q / Σ claims on links of quota q)` under an export quota.
//!    A ban (or a licence not yet granted, or an ore export ban) blocks the link: the contract
//!    delivers nothing and its tonnes go to the open market (controls bind contracts too).
//! 2. **Equity offtake** (ore, when `offtake.integrated`). Owner *f* with share `s_if` of mine
//!    *i* sends `s_if · A'_i` (after contracts) to its own refineries *j* with an open link and a
//!    delivered cost `c_i · m_ij + T_ij` at most their netback, split in proportion to
//!    `s_fj · N'_j`, and capped at `s_fj · N'_j` for each refinery (the firm's share of its
//!    feed need after contracts) and by any quota left.
//!
//! Contract tonnes are valued at the contract price `clamp(p_ref (1 − δ), floor, ceiling)` with
//! `p_ref` the world price of the last clearing; equity tonnes at the seller's producer price of
//! this clearing (an arm's-length transfer price, OECD Transfer Pricing Guidelines 2022 ch. I).

use crate::model::components::{AssetIdx, FirmIdx, NationIdx};
use crate::model::resources::{FlowKind, OfftakeFlow, Shipment};
use crate::model::rounding::{SNAP, snap};
use crate::model::systems::equilibrium::{Access, Buyer, Links, Lot, order_free_sum};
use crate::scenario::OfftakeKind;
use crate::scenario::offtake::ResolvedOfftake;

/// A seller as the offtake pass sees it: a mine (ore) or a refinery (refined product).
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// Asset.
    pub asset: AssetIdx,
    /// Host nation.
    pub host: NationIdx,
    /// Owners and their equity shares.
    pub owners: &'a [(FirmIdx, f64)],
    /// Tonnes it has this step.
    pub available_t: f64,
    /// Cash cost at the mine gate, USD/t (its reservation price).
    pub cost_usd_per_t: f64,
}

/// A buyer as the offtake pass sees it: a refinery's feed need (ore) or a consumer's demand
/// (refined product; `owners` empty).
#[derive(Clone, Copy, Debug)]
pub struct Sink<'a> {
    /// Buyer nation (the refinery's host, or the consumer).
    pub nation: NationIdx,
    /// Owners of the refinery (empty for a consumer).
    pub owners: &'a [(FirmIdx, f64)],
    /// Tonnes it takes at most this step.
    pub need_t: f64,
    /// What a tonne delivered is worth to it, USD/t (a refinery's netback).
    pub value_usd_per_t: f64,
}

/// What the pass decided.
#[derive(Clone, Debug, Default)]
pub struct Allocation {
    /// Tonnes taken from each source (same order as the sources).
    pub taken_t: Vec<f64>,
    /// Tonnes given to each sink (same order as the sinks).
    pub given_t: Vec<f64>,
    /// Tonnes per (source, sink, kind) with the contract price where one applies.
    pub pieces: Vec<Piece>,
    /// Quotas left for the open market, tonnes this step (by quota index).
    pub quota_left_t: Vec<f64>,
}

/// One pre-allocated delivery.
#[derive(Clone, Copy, Debug)]
pub struct Piece {
    /// Source index.
    pub source: usize,
    /// Sink index.
    pub sink: usize,
    /// Kind of flow.
    pub kind: FlowKind,
    /// Whether the buyer nation controls these tonnes (an explicit offtake; equity offtake of a
    /// stake already counts under its owner).
    pub controlled: bool,
    /// Tonnes this step.
    pub t: f64,
    /// Contract price, USD/t (`None` = the seller's producer price).
    pub price_usd_per_t: Option<f64>,
}

impl Allocation {
    fn empty(n_sources: usize, n_sinks: usize, links: &Links) -> Self {
        Allocation {
            taken_t: vec![0.0; n_sources],
            given_t: vec![0.0; n_sinks],
            pieces: Vec::new(),
            quota_left_t: links.quota_t.clone(),
        }
    }
    /// Whether anything was pre-allocated.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }
    /// The links the open market sees: quotas net of contracted tonnes (a clone only when a
    /// quota was used).
    pub fn open_links(&self, links: &Links) -> Option<Links> {
        if self.quota_left_t == links.quota_t {
            return None;
        }
        let mut l = links.clone();
        l.quota_t.clone_from(&self.quota_left_t);
        Some(l)
    }
}

/// Scale claims so that each group's total stays within its cap: `claim *= min(1, cap / Σ)`.
fn cap_groups(claims: &mut [f64], group: &[Option<usize>], cap: &[f64]) {
    // Group totals summed independently of the claims' order (ids).
    let mut terms: Vec<Vec<f64>> = vec![Vec::new(); cap.len()];
    for (c, g) in claims.iter().zip(group) {
        if let Some(g) = g {
            terms[*g].push(*c);
        }
    }
    let sum: Vec<f64> = terms.iter_mut().map(|t| order_free_sum(t)).collect();
    for (c, g) in claims.iter_mut().zip(group) {
        if let Some(g) = g
            && sum[*g] > cap[*g]
        {
            *c *= (cap[*g].max(0.0) / sum[*g]).clamp(0.0, 1.0);
        }
    }
}

/// Pre-allocate this step's offtakes of one commodity. `sources` and `sinks` are in asset (or
/// nation) order; `reference_usd_per_t` is the world price of the last clearing; `integrated`
/// switches on equity offtake to owners' refineries (ore only).
#[allow(clippy::too_many_arguments)]
pub fn allocate(
    offtake: &ResolvedOfftake,
    step: u32,
    dt_years: f64,
    sources: &[Source<'_>],
    sinks: &[Sink<'_>],
    links: &Links,
    reference_usd_per_t: f64,
    integrated: bool,
) -> Allocation {
    let mut out = Allocation::empty(sources.len(), sinks.len(), links);
    let n = links.n;
    let link = |from: NationIdx, to: NationIdx| usize::from(from.0) * n + usize::from(to.0);
    let quota_of = |from: NationIdx, to: NationIdx| match links.access[link(from, to)] {
        Access::Quota(q) => Some(q),
        _ => None,
    };
    let blocked = |from: NationIdx, to: NationIdx| links.access[link(from, to)] == Access::Blocked;

    // 1. Contracts. Sinks of each buyer nation form its pool, shared in proportion to need.
    // Every sum of this allocation is taken over its terms in an id-free order
    // (`order_free_sum`): the terms are collected first.
    let mut pool_terms: Vec<Vec<f64>> = vec![Vec::new(); n];
    for s in sinks {
        pool_terms[usize::from(s.nation.0)].push(s.need_t.max(0.0));
    }
    let pool_need: Vec<f64> = pool_terms.iter_mut().map(|t| order_free_sum(t)).collect();
    let mut taken_terms: Vec<Vec<f64>> = vec![Vec::new(); sources.len()];
    let mut given_terms: Vec<Vec<f64>> = vec![Vec::new(); sinks.len()];
    let mut quota_terms: Vec<Vec<f64>> = vec![Vec::new(); out.quota_left_t.len()];
    let mut claims: Vec<(usize, usize, &crate::scenario::offtake::ResolvedContract)> = Vec::new();
    let mut amount: Vec<f64> = Vec::new();
    for c in offtake.contracts.iter().filter(|c| c.active(step)) {
        let Ok(i) = sources.binary_search_by_key(&c.seller, |s| s.asset.0) else {
            continue;
        };
        let (from, to) = (sources[i].host, NationIdx(c.buyer));
        let avail = sources[i].available_t.max(0.0);
        if blocked(from, to) || pool_need[usize::from(to.0)] <= 0.0 || avail <= 0.0 {
            continue;
        }
        let claim = match (c.share, c.t_per_yr) {
            (Some(x), _) => x * avail,
            (None, Some(q)) => q * dt_years,
            (None, None) => 0.0,
        };
        claims.push((i, usize::from(c.buyer), c));
        amount.push(claim.min(avail));
    }
    if !claims.is_empty() {
        let by_source: Vec<Option<usize>> = claims.iter().map(|c| Some(c.0)).collect();
        let avail: Vec<f64> = sources.iter().map(|s| s.available_t.max(0.0)).collect();
        cap_groups(&mut amount, &by_source, &avail);
        let by_buyer: Vec<Option<usize>> = claims.iter().map(|c| Some(c.1)).collect();
        cap_groups(&mut amount, &by_buyer, &pool_need);
        let by_quota: Vec<Option<usize>> = claims
            .iter()
            .map(|c| quota_of(sources[c.0].host, NationIdx(c.1 as u16)))
            .collect();
        cap_groups(&mut amount, &by_quota, &out.quota_left_t);
        for ((i, b, c), d) in claims.iter().zip(&amount) {
            if *d <= 0.0 {
                continue;
            }
            taken_terms[*i].push(*d);
            if let Some(q) = quota_of(sources[*i].host, NationIdx(*b as u16)) {
                quota_terms[q].push(*d);
            }
            let kind = match c.kind {
                OfftakeKind::Equity => FlowKind::Equity,
                OfftakeKind::Contract => FlowKind::Contract,
            };
            let price = match c.kind {
                OfftakeKind::Equity => None,
                OfftakeKind::Contract => Some(c.price(reference_usd_per_t)),
            };
            for (j, s) in sinks.iter().enumerate() {
                if usize::from(s.nation.0) == *b && s.need_t > 0.0 {
                    let t = d * s.need_t / pool_need[*b];
                    given_terms[j].push(t);
                    out.pieces.push(Piece {
                        source: *i,
                        sink: j,
                        kind,
                        controlled: true,
                        t,
                        price_usd_per_t: price,
                    });
                }
            }
        }
        for (t, terms) in out.taken_t.iter_mut().zip(&mut taken_terms) {
            *t += order_free_sum(terms);
            terms.clear();
        }
        for (g, terms) in out.given_t.iter_mut().zip(&mut given_terms) {
            *g += order_free_sum(terms);
            terms.clear();
        }
        for (q, terms) in out.quota_left_t.iter_mut().zip(&mut quota_terms) {
            *q = (*q - order_free_sum(terms)).max(0.0);
            terms.clear();
        }
    }

    // 2. Equity offtake to owners' own refineries.
    if integrated {
        // (firm, sink, share) sorted by firm, then sink.
        let mut owned: Vec<(FirmIdx, usize, f64)> = sinks
            .iter()
            .enumerate()
            .flat_map(|(j, s)| s.owners.iter().map(move |(f, sh)| (*f, j, *sh)))
            .filter(|(_, _, sh)| *sh > 0.0)
            .collect();
        owned.sort_by_key(|a| (a.0, a.1));
        let need: Vec<f64> = sinks
            .iter()
            .zip(&out.given_t)
            .map(|(s, g)| snap(s.need_t - g, s.need_t).max(0.0))
            .collect();
        // Candidate pieces: (source, sink, position in `owned`, tonnes).
        let mut cand: Vec<(usize, usize, usize, f64)> = Vec::new();
        for (i, src) in sources.iter().enumerate() {
            let avail = (src.available_t - out.taken_t[i]).max(0.0);
            if avail <= 0.0 {
                continue;
            }
            for (f, share) in src.owners {
                let lo = owned.partition_point(|o| o.0 < *f);
                let hi = owned.partition_point(|o| o.0 <= *f);
                let eligible: Vec<usize> = (lo..hi)
                    .filter(|&k| {
                        let j = owned[k].1;
                        let s = &sinks[j];
                        let l = link(src.host, s.nation);
                        need[j] > 0.0
                            && !blocked(src.host, s.nation)
                            && src.cost_usd_per_t * links.markup[l] + links.transport_usd_per_t[l]
                                <= s.value_usd_per_t
                    })
                    .collect();
                let mut weights: Vec<f64> = eligible
                    .iter()
                    .map(|&k| owned[k].2 * need[owned[k].1])
                    .collect();
                let weight = order_free_sum(&mut weights);
                if weight <= 0.0 {
                    continue;
                }
                for k in eligible {
                    let j = owned[k].1;
                    let w = owned[k].2 * need[j];
                    cand.push((i, j, k, share * avail * w / weight));
                }
            }
        }
        if !cand.is_empty() {
            let mut amount: Vec<f64> = cand.iter().map(|c| c.3).collect();
            // Each firm's share of each refinery's remaining need.
            let by_owned: Vec<Option<usize>> = cand.iter().map(|c| Some(c.2)).collect();
            let caps: Vec<f64> = owned.iter().map(|o| o.2 * need[o.1]).collect();
            cap_groups(&mut amount, &by_owned, &caps);
            let by_quota: Vec<Option<usize>> = cand
                .iter()
                .map(|c| quota_of(sources[c.0].host, sinks[c.1].nation))
                .collect();
            cap_groups(&mut amount, &by_quota, &out.quota_left_t);
            for ((i, j, _, _), d) in cand.iter().zip(&amount) {
                if *d <= 0.0 {
                    continue;
                }
                taken_terms[*i].push(*d);
                given_terms[*j].push(*d);
                if let Some(q) = quota_of(sources[*i].host, sinks[*j].nation) {
                    quota_terms[q].push(*d);
                }
                out.pieces.push(Piece {
                    source: *i,
                    sink: *j,
                    kind: FlowKind::Equity,
                    controlled: false,
                    t: *d,
                    price_usd_per_t: None,
                });
            }
            for (t, terms) in out.taken_t.iter_mut().zip(&mut taken_terms) {
                *t += order_free_sum(terms);
            }
            for (g, terms) in out.given_t.iter_mut().zip(&mut given_terms) {
                *g += order_free_sum(terms);
            }
            for (q, terms) in out.quota_left_t.iter_mut().zip(&mut quota_terms) {
                *q = (*q - order_free_sum(terms)).max(0.0);
            }
        }
    }
    // Guard against rounding: never more than a source has or a sink needs; and a remainder below
    // `SNAP` of what a source has (or a sink needs) is rounding noise of the pro-rata shares (Σ
    // shares summed in another order), not tonnes: it is taken (given) too, so that no open-market
    // lot or demand of 10⁻¹⁶ t exists in one id order and not in another (the id-permutation
    // property test, tests/it/markets_v2.rs).
    for (t, s) in out.taken_t.iter_mut().zip(sources) {
        let a = s.available_t.max(0.0);
        *t = t.min(a);
        if *t > 0.0 && a - *t <= SNAP * a {
            *t = a;
        }
    }
    for (g, s) in out.given_t.iter_mut().zip(sinks) {
        let need = s.need_t.max(0.0);
        if *g > 0.0 && (need - *g).abs() <= SNAP * need {
            *g = need;
        }
    }
    // A quota filled by contracts scaled to it (`cap_groups`) leaves `Q − Σ d`, noise of `Q`:
    // the open market would ship that dust under a huge shadow price in one id order only.
    for (left, q) in out.quota_left_t.iter_mut().zip(&links.quota_t) {
        *left = snap(*left, *q).max(0.0);
    }
    out
}

/// The pieces as flows aggregated by (from, to, kind), sorted, valued at the contract price or
/// the seller host's producer price (`fallback_usd_per_t` where its host sold nothing on the
/// open market); and the controlled tonnes by (seller asset, buyer nation).
pub fn flows(
    alloc: &Allocation,
    sources: &[Source<'_>],
    sinks: &[Sink<'_>],
    producer_usd_per_t: &[f64],
    fallback_usd_per_t: f64,
) -> (Vec<OfftakeFlow>, Vec<(AssetIdx, NationIdx, f64)>) {
    let mut rows: Vec<OfftakeFlow> = alloc
        .pieces
        .iter()
        .map(|p| {
            let from = sources[p.source].host;
            let price = p.price_usd_per_t.unwrap_or_else(|| {
                producer_usd_per_t
                    .get(usize::from(from.0))
                    .copied()
                    .filter(|x| *x > 0.0)
                    .unwrap_or(fallback_usd_per_t)
            });
            OfftakeFlow {
                from,
                to: sinks[p.sink].nation,
                kind: p.kind,
                t: p.t,
                value_usd: p.t * price,
            }
        })
        .collect();
    // Pieces of one route and kind merged in an id-free order (by tonnes, then value).
    rows.sort_by(|a, b| {
        (a.from, a.to, a.kind)
            .cmp(&(b.from, b.to, b.kind))
            .then(a.t.total_cmp(&b.t))
            .then(a.value_usd.total_cmp(&b.value_usd))
    });
    let mut merged: Vec<OfftakeFlow> = Vec::with_capacity(rows.len());
    for r in rows {
        match merged.last_mut() {
            Some(m) if (m.from, m.to, m.kind) == (r.from, r.to, r.kind) => {
                m.t += r.t;
                m.value_usd += r.value_usd;
            }
            _ => merged.push(r),
        }
    }
    let mut control: Vec<(AssetIdx, NationIdx, f64)> = alloc
        .pieces
        .iter()
        .filter(|p| p.controlled)
        .map(|p| (sources[p.source].asset, sinks[p.sink].nation, p.t))
        .collect();
    control.sort_by_key(|a| (a.0, a.1));
    (merged, control)
}

/// Open-market shipments plus offtake flows: total tonnes by route, sorted by (from, to).
pub fn merge_shipments(open: &[Shipment], offtakes: &[OfftakeFlow]) -> Vec<Shipment> {
    let mut all: Vec<Shipment> = open.to_vec();
    all.extend(offtakes.iter().map(|f| Shipment {
        from: f.from,
        to: f.to,
        t: f.t,
    }));
    all.sort_by_key(|a| (a.from, a.to));
    let mut merged: Vec<Shipment> = Vec::with_capacity(all.len());
    for s in all {
        match merged.last_mut() {
            Some(m) if (m.from, m.to) == (s.from, s.to) => m.t += s.t,
            _ => merged.push(s),
        }
    }
    merged
}

/// Offtake contracts on refined product (`offtake.contracts` with a refinery as seller): the
/// refineries' lots and the consumers as sources and sinks, the allocation, and the lots and
/// buyers the open market sees (contracted tonnes out of both; a consumer's contracted tonnes
/// are price-inelastic, the rest keeps its demand curve with the reference quantity reduced by
/// them). `None` when no contract delivers.
#[allow(clippy::too_many_arguments)]
pub fn refined_contracts(
    offtake: &ResolvedOfftake,
    step: u32,
    dt_years: f64,
    lots: &[Lot],
    owners: &[&[(FirmIdx, f64)]],
    buyers: &[Buyer],
    links: &Links,
    reference_usd_per_t: f64,
) -> Option<(Allocation, Vec<Lot>, Vec<Buyer>)> {
    if offtake.contracts.is_empty() {
        return None;
    }
    let sources = lot_sources(lots, owners);
    let sinks = buyer_sinks(buyers);
    let alloc = allocate(
        offtake,
        step,
        dt_years,
        &sources,
        &sinks,
        links,
        reference_usd_per_t,
        false,
    );
    if alloc.is_empty() {
        return None;
    }
    let lots: Vec<Lot> = lots
        .iter()
        .zip(&alloc.taken_t)
        .map(|(l, t)| Lot {
            quantity_t: (l.quantity_t - t).max(0.0),
            ..*l
        })
        .collect();
    let buyers: Vec<Buyer> = buyers
        .iter()
        .zip(&alloc.given_t)
        .map(|(b, g)| {
            let mut b = b.clone();
            b.curve.without_use_t(*g);
            b
        })
        .collect();
    Some((alloc, lots, buyers))
}

/// Sources of a list of lots (for [`flows`] after a refined allocation).
pub fn lot_sources<'a>(lots: &[Lot], owners: &[&'a [(FirmIdx, f64)]]) -> Vec<Source<'a>> {
    lots.iter()
        .zip(owners)
        .map(|(l, o)| Source {
            asset: l.asset,
            host: l.host,
            owners: o,
            available_t: l.quantity_t,
            cost_usd_per_t: l.reservation_usd_per_t,
        })
        .collect()
}

/// Sinks of a list of consumers (for [`flows`] after a refined allocation).
pub fn buyer_sinks(buyers: &[Buyer]) -> Vec<Sink<'static>> {
    buyers
        .iter()
        .map(|b| Sink {
            nation: b.nation,
            owners: &[],
            need_t: b.curve.reference_use_t(),
            value_usd_per_t: f64::INFINITY,
        })
        .collect()
}

/// Share of each asset's (or prospect's) output covered by offtake contracts, by asset index,
/// 0..=1: a contract's `share`, or its `t_per_yr` over capacity × utilisation (prospects at
/// full utilisation). What lowers a covered project's discount rate (`docs/ODD.md` §7.6.4).
pub fn contract_cover(r: &crate::scenario::Resolved) -> Vec<f64> {
    let mut output = vec![0.0; r.asset_ids.len()];
    for a in &r.assets {
        output[a.idx as usize] = a.capacity_t_per_yr * a.utilisation;
    }
    for p in &r.prospects {
        output[p.idx as usize] = p.capacity_t_per_yr;
    }
    let mut cover = vec![0.0; r.asset_ids.len()];
    for c in &r.offtake.contracts {
        if c.kind != OfftakeKind::Contract {
            continue;
        }
        let i = c.seller as usize;
        let share = match (c.share, c.t_per_yr) {
            (Some(x), _) => x,
            (None, Some(q)) if output[i] > 0.0 => q / output[i],
            _ => 0.0,
        };
        cover[i] = (cover[i] + share).min(1.0);
    }
    cover
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::offtake::ResolvedContract;

    fn contract(seller: u32, buyer: u16, share: Option<f64>, t: Option<f64>) -> ResolvedContract {
        ResolvedContract {
            kind: OfftakeKind::Contract,
            seller,
            buyer,
            share,
            t_per_yr: t,
            start_step: 0,
            end_step: u32::MAX,
            discount: 0.1,
            floor_usd_per_t: 0.0,
            ceiling_usd_per_t: f64::INFINITY,
        }
    }

    #[test]
    fn oversubscribed_contracts_are_scaled_pro_rata_and_conserve_mass() {
        let offtake = ResolvedOfftake {
            integrated: false,
            contract_spread_cut: 0.0,
            contracts: vec![
                contract(0, 1, Some(0.6), None),
                contract(0, 2, None, Some(800.0)),
            ],
        };
        let sources = [Source {
            asset: AssetIdx(0),
            host: NationIdx(0),
            owners: &[],
            available_t: 100.0,
            cost_usd_per_t: 10.0,
        }];
        let sinks = [
            Sink {
                nation: NationIdx(1),
                owners: &[],
                need_t: 1000.0,
                value_usd_per_t: 50.0,
            },
            Sink {
                nation: NationIdx(2),
                owners: &[],
                need_t: 1000.0,
                value_usd_per_t: 50.0,
            },
        ];
        // Quarterly step: claims 60 and min(200, 100) on 100 available -> scaled by 100/160.
        let a = allocate(
            &offtake,
            0,
            0.25,
            &sources,
            &sinks,
            &Links::open(3),
            100.0,
            false,
        );
        assert!((a.taken_t[0] - 100.0).abs() < 1e-9);
        assert!((a.given_t[0] - 60.0 * 100.0 / 160.0).abs() < 1e-9);
        assert!((a.given_t[1] - 100.0 * 100.0 / 160.0).abs() < 1e-9);
        let (f, _) = flows(&a, &sources, &sinks, &[0.0; 3], 1.0);
        // Contract price 100 × (1 − 0.1).
        assert!((f[0].value_usd - 90.0 * f[0].t).abs() < 1e-9);
    }
}

#[cfg(test)]
mod stocked_buyer_tests {
    use crate::model::systems::equilibrium::{DemandCurve, StockOrderTerms, StockTerms};

    /// A consumer that holds stocks or a stockpile (a `Stocked` curve) can still receive a
    /// refined contract: its use is what the contract may fill, and the tonnes served come off
    /// its use, not off its stock adjustment or stockpile orders.
    #[test]
    fn a_stocked_buyers_use_is_what_a_contract_fills_and_reduces() {
        let use_curve = DemandCurve::ConstantElasticity {
            reference_t: 100.0,
            reference_usd_per_t: 1000.0,
            elasticity: -0.5,
            credit_usd_per_t: 0.0,
            floor_usd_per_t: 0.0,
        };
        let mut stocked = DemandCurve::Stocked {
            consumption: Box::new(use_curve.clone()),
            stock: StockTerms {
                target_t: 30.0,
                stock_t: 10.0,
                adjustment: 0.5,
                expected_usd_per_t: 0.0,
                elasticity: 0.0,
            },
            orders: vec![StockOrderTerms {
                buy_t: 5.0,
                buy_below_usd_per_t: 800.0,
                release_t: 5.0,
                release_above_usd_per_t: 1500.0,
            }],
        };
        assert_eq!(use_curve.reference_use_t(), 100.0);
        assert_eq!(stocked.reference_use_t(), 100.0);
        stocked.without_use_t(40.0);
        assert_eq!(stocked.reference_use_t(), 60.0);
        let DemandCurve::Stocked { stock, orders, .. } = &stocked else {
            panic!("still a stocked buyer");
        };
        assert_eq!(
            (stock.target_t, stock.stock_t, orders.len()),
            (30.0, 10.0, 1)
        );
        stocked.without_use_t(1000.0);
        assert_eq!(stocked.reference_use_t(), 0.0);
    }
}
