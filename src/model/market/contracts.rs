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
//! Rules (pro rata or by cost, so no result depends on how ids are spelled or ordered; ties
//! split evenly):
//! 1. **Contracts first.** Contract `k` on seller `i` claims `share_k · A_i` or `t_k · Δt`, where
//!    `A_i` is what the seller has this step. The claims are scaled by
//!    `min(1, A_i / Σ_k claim_k)` at the seller, by `min(1, N_b / Σ claims into b)` at the buyer
//!    (`N_b` the feed need of buyer *b*'s refineries for ore, its reference demand for refined
//!    product), and by `min(1, Q_q / Σ claims on links of quota q)` under an export quota.
//!    A ban (or a licence not yet granted, or an ore export ban) blocks the link: the contract
//!    delivers nothing and its tonnes go to the open market (controls bind contracts too).
//! 2. **Equity offtake** (ore, when `offtake.integrated`), least-cost first. Owner *f* with
//!    share `s_if` of mine *i* has `q_if = s_if · A'_i` (after contracts) for its own refineries
//!    *j* with an open link and a delivered cost `c_i · m_ij + T_ij` at most their netback; each
//!    refinery has room `s_fj · N'_j` (the firm's share of its feed need after contracts). The
//!    firm's (mine, plant) pairs are served in order of delivered cost; pairs with exactly equal
//!    cost are filled together by water-filling (ties split evenly, never by id). What is left
//!    goes to the open market; a quota then scales the equity tonnes on its links pro rata.
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

/// Equity offtake (rule 2 of the module doc, `docs/ODD.md` §7.6.4): owner *f*'s share of each
/// mine's ore left after contracts, `q_if = s_if · A'_i`, goes to *f*'s own refineries in order
/// of delivered cost `c_i · m_ij + T_ij` (the cost the open market's delivered price is built
/// from: mine cash cost grossed up by the link's tariff and export-tax markup, plus transport),
/// each up to the room `R_fj = s_fj · N'_j` (the firm's share of the plant's remaining feed
/// need), over links that are open and where that cost is at most the plant's netback. Pairs of
/// one firm are served cheapest first; pairs with exactly equal cost are filled together by
/// water-filling (each supply split evenly over its tied plants with room left, a plant's room
/// shared in proportion to the claims on it, repeated until supplies or rooms run out), so no id
/// decides a tie. What is left of `q_if` goes to the open market; any quota then scales the
/// equity tonnes on its links pro rata.
fn equity_least_cost(
    sources: &[Source<'_>],
    sinks: &[Sink<'_>],
    links: &Links,
    out: &mut Allocation,
) {
    let n = links.n;
    let link = |from: NationIdx, to: NationIdx| usize::from(from.0) * n + usize::from(to.0);
    let quota_of = |from: NationIdx, to: NationIdx| match links.access[link(from, to)] {
        Access::Quota(q) => Some(q),
        _ => None,
    };
    // (firm, sink, share) sorted by firm, then sink.
    let mut owned: Vec<(FirmIdx, usize, f64)> = sinks
        .iter()
        .enumerate()
        .flat_map(|(j, s)| s.owners.iter().map(move |(f, sh)| (*f, j, *sh)))
        .filter(|(_, _, sh)| *sh > 0.0)
        .collect();
    if owned.is_empty() {
        return;
    }
    owned.sort_by_key(|a| (a.0, a.1));
    let need: Vec<f64> = sinks
        .iter()
        .zip(&out.given_t)
        .map(|(s, g)| snap(s.need_t - g, s.need_t).max(0.0))
        .collect();
    let room0: Vec<f64> = owned.iter().map(|o| o.2 * need[o.1]).collect();
    let mut room = room0.clone();
    // Supplies `q_if` (with their source) and candidate pairs (firm, delivered cost, supply,
    // position in `owned`).
    let mut supply: Vec<f64> = Vec::new();
    let mut supply_source: Vec<usize> = Vec::new();
    let mut pairs: Vec<(FirmIdx, f64, usize, usize)> = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let avail = (src.available_t - out.taken_t[i]).max(0.0);
        if avail <= 0.0 {
            continue;
        }
        for (f, share) in src.owners {
            if *share <= 0.0 {
                continue;
            }
            let lo = owned.partition_point(|o| o.0 < *f);
            let hi = owned.partition_point(|o| o.0 <= *f);
            let s = supply.len();
            let before = pairs.len();
            for (k, o) in owned.iter().enumerate().take(hi).skip(lo) {
                let sink = &sinks[o.1];
                let l = link(src.host, sink.nation);
                if room[k] <= 0.0 || links.access[l] == Access::Blocked {
                    continue;
                }
                let cost = src.cost_usd_per_t * links.markup[l] + links.transport_usd_per_t[l];
                if cost <= sink.value_usd_per_t {
                    pairs.push((*f, cost, s, k));
                }
            }
            if pairs.len() > before {
                supply.push(share * avail);
                supply_source.push(i);
            }
        }
    }
    if pairs.is_empty() {
        return;
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let supply0 = supply.clone();
    let mut amount = vec![0.0; pairs.len()];
    let mut g = 0;
    while g < pairs.len() {
        let mut h = g + 1;
        while h < pairs.len() && pairs[h].0 == pairs[g].0 && pairs[h].1 == pairs[g].1 {
            h += 1;
        }
        fill_tied(
            &pairs[g..h],
            &mut amount[g..h],
            (&mut supply, &supply0),
            (&mut room, &room0),
        );
        g = h;
    }
    let by_quota: Vec<Option<usize>> = pairs
        .iter()
        .map(|p| quota_of(sources[supply_source[p.2]].host, sinks[owned[p.3].1].nation))
        .collect();
    cap_groups(&mut amount, &by_quota, &out.quota_left_t);
    // Totals are added in an id-free order (`order_free_sum`), as in the solver: the terms are
    // kept as (index, tonnes) parts, one vector per total rather than one per index.
    let mut taken_terms: Vec<(usize, f64)> = Vec::with_capacity(pairs.len());
    let mut given_terms: Vec<(usize, f64)> = Vec::with_capacity(pairs.len());
    let mut quota_terms: Vec<(usize, f64)> = Vec::new();
    for (p, d) in pairs.iter().zip(&amount) {
        if *d <= 0.0 {
            continue;
        }
        let (i, j) = (supply_source[p.2], owned[p.3].1);
        taken_terms.push((i, *d));
        given_terms.push((j, *d));
        if let Some(q) = quota_of(sources[i].host, sinks[j].nation) {
            quota_terms.push((q, *d));
        }
        out.pieces.push(Piece {
            source: i,
            sink: j,
            kind: FlowKind::Equity,
            controlled: false,
            t: *d,
            price_usd_per_t: None,
        });
    }
    grouped_sums(&mut taken_terms, &mut out.taken_t, |t, sum| *t += sum);
    grouped_sums(&mut given_terms, &mut out.given_t, |g, sum| *g += sum);
    grouped_sums(&mut quota_terms, &mut out.quota_left_t, |q, sum| {
        *q = (*q - sum).max(0.0);
    });
}

/// For each index `i` of `totals`, `apply(&mut totals[i], Σ)` with `Σ` the sum of the parts
/// `(i, d)`, added in ascending order: bit for bit [`order_free_sum`] of index `i`'s terms
/// (and `order_free_sum` of no terms for an index without parts). Sorts `parts`.
fn grouped_sums(
    parts: &mut [(usize, f64)],
    totals: &mut [f64],
    mut apply: impl FnMut(&mut f64, f64),
) {
    // Equal (index, tonnes) parts are equal bit for bit: an unstable sort gives the same sums.
    parts.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let empty = order_free_sum(&mut []);
    let mut k = 0;
    for (i, total) in totals.iter_mut().enumerate() {
        let start = k;
        while k < parts.len() && parts[k].0 == i {
            k += 1;
        }
        let sum = if start == k {
            empty
        } else {
            parts[start..k].iter().map(|p| p.1).sum::<f64>()
        };
        apply(total, sum);
    }
}

/// Fill a group of equally cheap (supply, room) pairs `(_, _, s, k)` by water-filling: each
/// round, every supply with tonnes left claims `supply_s / n_s` on each of its `n_s` pairs whose
/// room is open, and a room smaller than the claims on it is shared in proportion to them. Each
/// round empties a supply or fills a room, so at most `len + 1` rounds run; remainders below
/// [`SNAP`] of the starting value are zero (summation-order noise, not tonnes).
fn fill_tied(
    group: &[(FirmIdx, f64, usize, usize)],
    amount: &mut [f64],
    (supply, supply0): (&mut [f64], &[f64]),
    (room, room0): (&mut [f64], &[f64]),
) {
    if let [(_, _, s, k)] = group {
        let d = supply[*s].min(room[*k]).max(0.0);
        amount[0] += d;
        supply[*s] = snap(supply[*s] - d, supply0[*s]).max(0.0);
        room[*k] = snap(room[*k] - d, room0[*k]).max(0.0);
        return;
    }
    // Scratch of the rounds, allocated once per group.
    let mut claim = vec![0.0; group.len()];
    let mut n_open: Vec<usize> = vec![0; group.len()];
    let mut on_room: Vec<(usize, f64)> = Vec::with_capacity(group.len());
    let mut room_sums: Vec<(usize, f64)> = Vec::with_capacity(group.len());
    let mut out_of: Vec<(usize, usize, f64)> = Vec::with_capacity(group.len());
    let mut parts: Vec<(usize, f64)> = Vec::with_capacity(group.len());
    for _ in 0..=group.len() {
        let open = |p: &(FirmIdx, f64, usize, usize)| supply[p.2] > 0.0 && room[p.3] > 0.0;
        // Open pairs of each supply, counted once per supply (the first pair of the supply in
        // the group holds the count).
        for (a, p) in group.iter().enumerate() {
            n_open[a] = match group[..a].iter().position(|q| q.2 == p.2) {
                Some(first) => n_open[first],
                None => group[a..].iter().filter(|q| q.2 == p.2 && open(q)).count(),
            };
        }
        let mut any = false;
        for (a, p) in group.iter().enumerate() {
            claim[a] = 0.0;
            if open(p) {
                claim[a] = supply[p.2] / n_open[a] as f64;
                any = true;
            }
        }
        if !any {
            break;
        }
        // The claims on each room, summed in ascending order (as `order_free_sum`): sorted by
        // (room, claim), each room's run added in order. Equal (room, claim) keys are equal
        // numbers, so the sort's treatment of ties cannot change a sum.
        on_room.clear();
        on_room.extend(group.iter().zip(&claim).map(|(p, c)| (p.3, *c)));
        on_room.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        room_sums.clear();
        room_sums.extend(
            on_room
                .chunk_by(|a, b| a.0 == b.0)
                .map(|run| (run[0].0, run.iter().map(|c| c.1).sum::<f64>())),
        );
        // What each supply and room gives up this round, added in an id-free order.
        out_of.clear();
        for (a, p) in group.iter().enumerate() {
            let at = room_sums.partition_point(|r| r.0 < p.3);
            let on_k = room_sums[at].1;
            let scale = if on_k > room[p.3] {
                room[p.3] / on_k
            } else {
                1.0
            };
            let d = claim[a] * scale;
            if d <= 0.0 {
                continue;
            }
            amount[a] += d;
            out_of.push((p.2, p.3, d));
        }
        subtract_grouped(supply, out_of.iter().map(|o| (o.0, o.2)), &mut parts);
        subtract_grouped(room, out_of.iter().map(|o| (o.1, o.2)), &mut parts);
        for p in group {
            supply[p.2] = snap(supply[p.2], supply0[p.2]).max(0.0);
            room[p.3] = snap(room[p.3], room0[p.3]).max(0.0);
        }
    }
}

/// `target[i] -= Σ d` over the `(i, d)` parts, each group's terms added in ascending order (as
/// [`order_free_sum`]), so the result does not depend on the order the parts come in.
fn subtract_grouped(
    target: &mut [f64],
    new_parts: impl Iterator<Item = (usize, f64)>,
    parts: &mut Vec<(usize, f64)>,
) {
    parts.clear();
    parts.extend(new_parts);
    parts.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    for run in parts.chunk_by(|a, b| a.0 == b.0) {
        target[run[0].0] -= run.iter().map(|p| p.1).sum::<f64>();
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
    // Each pool's needs as (nation, tonnes) parts of one vector (bit for bit `order_free_sum`
    // per nation, without a vector per nation grown one push at a time).
    let mut pool_parts: Vec<(usize, f64)> = sinks
        .iter()
        .map(|s| (usize::from(s.nation.0), s.need_t.max(0.0)))
        .collect();
    let mut pool_need = vec![0.0; n];
    grouped_sums(&mut pool_parts, &mut pool_need, |t, sum| *t = sum);
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

    // 2. Equity offtake to owners' own refineries, least-cost first.
    if integrated {
        equity_least_cost(sources, sinks, links, &mut out);
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

#[cfg(test)]
mod equity_tests {
    //! Least-cost equity offtake (`docs/ODD.md` §7.6.4) in a small world with closed forms:
    //! nation 0 hosts the mines, nations 1 and 2 the plants of one owner `f`; transport from
    //! nation 0 is 10 USD/t to nation 1 and `far` USD/t to nation 2; mine cash cost 100 USD/t.
    use super::*;

    const F: FirmIdx = FirmIdx(3);

    fn links(far: f64) -> Links {
        let mut l = Links::open(3);
        l.transport_usd_per_t[1] = 10.0;
        l.transport_usd_per_t[2] = far;
        l
    }

    fn mine(asset: u32, t: f64, owners: &[(FirmIdx, f64)]) -> Source<'_> {
        Source {
            asset: AssetIdx(asset),
            host: NationIdx(0),
            owners,
            available_t: t,
            cost_usd_per_t: 100.0,
        }
    }

    fn plant(nation: u16, need: f64, value: f64, owners: &[(FirmIdx, f64)]) -> Sink<'_> {
        Sink {
            nation: NationIdx(nation),
            owners,
            need_t: need,
            value_usd_per_t: value,
        }
    }

    fn run(sources: &[Source<'_>], sinks: &[Sink<'_>], links: &Links) -> Allocation {
        allocate(
            &ResolvedOfftake::default(),
            0,
            1.0,
            sources,
            sinks,
            links,
            1000.0,
            true,
        )
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn the_near_plant_is_filled_first_and_the_rest_goes_far_then_to_the_open_market() {
        let own = [(F, 1.0)];
        // Mines of 60 t and 40 t; near plant needs 70 t, far plant 100 t (far costs 100 USD/t).
        let sources = [mine(0, 60.0, &own), mine(1, 40.0, &own)];
        let sinks = [plant(1, 70.0, 1000.0, &own), plant(2, 100.0, 1000.0, &own)];
        let a = run(&sources, &sinks, &links(100.0));
        // Near first: 70 t (both mines tie on it: 42 + 28, in proportion to their tonnes);
        // far takes the other 30 t; nothing left for the open market.
        assert!(close(a.given_t[0], 70.0), "near {}", a.given_t[0]);
        assert!(close(a.given_t[1], 30.0), "far {}", a.given_t[1]);
        assert!(close(a.taken_t[0], 60.0) && close(a.taken_t[1], 40.0));
        let near_from_0: f64 = a
            .pieces
            .iter()
            .filter(|p| p.source == 0 && p.sink == 0)
            .map(|p| p.t)
            .sum();
        assert!(close(near_from_0, 42.0), "near from mine 0 {near_from_0}");
        // The far plant's netback (150) is below the delivered cost (100 + 100): it gets no
        // equity ore, and the 30 t the near plant cannot use stay on the open market.
        let sinks = [plant(1, 70.0, 1000.0, &own), plant(2, 100.0, 150.0, &own)];
        let a = run(&sources, &sinks, &links(100.0));
        assert!(close(a.given_t[0], 70.0) && a.given_t[1] == 0.0);
        assert!(close(a.taken_t[0] + a.taken_t[1], 70.0));
        // A half owner of the near plant has room for half its need only (35 t); the rest of its
        // ore goes to its far plant (65 t).
        let half = [(F, 0.5), (FirmIdx(9), 0.5)];
        let sinks = [plant(1, 70.0, 1000.0, &half), plant(2, 100.0, 1000.0, &own)];
        let a = run(&sources, &sinks, &links(100.0));
        assert!(close(a.given_t[0], 35.0) && close(a.given_t[1], 65.0));
    }

    #[test]
    fn equal_delivered_costs_split_evenly() {
        let own = [(F, 1.0)];
        let sources = [mine(0, 100.0, &own)];
        // Both plants 10 USD/t away, each with room for all: 50 / 50.
        let sinks = [plant(1, 100.0, 1000.0, &own), plant(2, 100.0, 1000.0, &own)];
        let a = run(&sources, &sinks, &links(10.0));
        assert!(close(a.given_t[0], 50.0) && close(a.given_t[1], 50.0));
        // Room 30 and 100: water-filling gives 30 and 70 (even split, the full plant's
        // excess to the other).
        let sinks = [plant(1, 30.0, 1000.0, &own), plant(2, 100.0, 1000.0, &own)];
        let a = run(&sources, &sinks, &links(10.0));
        assert!(close(a.given_t[0], 30.0), "{}", a.given_t[0]);
        assert!(close(a.given_t[1], 70.0), "{}", a.given_t[1]);
        // Room 30 and 40: both full, 30 t left for the open market.
        let sinks = [plant(1, 30.0, 1000.0, &own), plant(2, 40.0, 1000.0, &own)];
        let a = run(&sources, &sinks, &links(10.0));
        assert!(close(a.given_t[0], 30.0) && close(a.given_t[1], 40.0));
        assert!(close(a.taken_t[0], 70.0));
    }

    #[test]
    fn renaming_ids_changes_nothing() {
        // Two mines, two plants at equal and unequal distances, the owner and a co-owner; then
        // the same world with the mines, plants and firms renamed so that every order flips.
        for far in [10.0, 100.0] {
            let (f, g) = (FirmIdx(3), FirmIdx(7));
            let (f2, g2) = (FirmIdx(8), FirmIdx(2));
            let own_a = [(f, 0.7), (g, 0.3)];
            let own_b = [(f, 1.0)];
            let own_a2 = [(g2, 0.3), (f2, 0.7)];
            let own_b2 = [(f2, 1.0)];
            let plant_own = [(f, 1.0)];
            let plant_own2 = [(f2, 1.0)];
            let plant_g = [(f, 0.5), (g, 0.5)];
            let plant_g2 = [(g2, 0.5), (f2, 0.5)];
            let sources = [mine(0, 60.0, &own_a), mine(1, 45.0, &own_b)];
            let sinks = [
                plant(1, 50.0, 1000.0, &plant_g),
                plant(2, 80.0, 1000.0, &plant_own),
            ];
            // Renamed: the mines' and plants' orders swapped (asset ids follow the order),
            // firm indices reversed. Nations keep their roles (a nation id is a place).
            let sources2 = [mine(0, 45.0, &own_b2), mine(1, 60.0, &own_a2)];
            let sinks2 = [
                plant(2, 80.0, 1000.0, &plant_own2),
                plant(1, 50.0, 1000.0, &plant_g2),
            ];
            let a = run(&sources, &sinks, &links(far));
            let b = run(&sources2, &sinks2, &links(far));
            assert!(close(a.taken_t[0], b.taken_t[1]) && close(a.taken_t[1], b.taken_t[0]));
            assert!(close(a.given_t[0], b.given_t[1]) && close(a.given_t[1], b.given_t[0]));
            let piece = |x: &Allocation, i: usize, j: usize| -> f64 {
                x.pieces
                    .iter()
                    .filter(|p| p.source == i && p.sink == j)
                    .map(|p| p.t)
                    .sum()
            };
            for i in 0..2 {
                for j in 0..2 {
                    assert!(close(piece(&a, i, j), piece(&b, 1 - i, 1 - j)), "{i} {j}");
                }
            }
            assert!(a.given_t[0] > 0.0 && a.given_t[1] > 0.0);
        }
    }
}
