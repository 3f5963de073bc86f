//! Spatial price equilibrium of one commodity within one step (`docs/ODD.md` §7.6).
//!
//! Why: a merit order with least-cost routing gives corner solutions whose bilateral pattern
//! follows the order of ids, puts tariffs and export taxes outside prices, and lets export
//! controls "clear first". This module instead solves, each step, for the exporter (producer)
//! prices `p_h` at which every exporter sells what its buyers want:
//!
//! - **Supply.** Exporter *h* offers `S_h(p) = Σ_i q_i · F((p − r_i(1 − w)) / (2 w r_i))`, the
//!   merit-order staircase of its lots (`q_i` tonnes at reservation price `r_i`) smoothed over a
//!   band of ± `w` (`market.supply_smoothing`) around each reservation price, with `F` the ramp
//!   clamped to `[0, 1]`. Supply is then continuous and non-decreasing, lots with equal
//!   reservation prices run at the same rate (ties split evenly, never by id), and the
//!   equilibrium is unique. It is evaluated as a piecewise-linear function of `p` built once per
//!   solve (`O(n log n)` in lots, `O(log n)` per evaluation).
//! - **Delivered price.** Buyer *b* pays `d_hb = p_h · (1 + τ_bh) / (1 − t_h) + T_hb + λ_k` for
//!   a tonne from *h*: `τ` the importer's tariff, `t` the exporter's export tax (the seller nets
//!   `p_h`, the exporter's government keeps `p_h · t / (1 − t)`), `T` transport and `λ_k` the
//!   shadow price of the export quota covering the link, if any (the quota rent per tonne).
//!   At home `d_hh = p_h + T_hh`.
//! - **Origin choice (Armington / logit in log price).** The buyer spreads its tonnes over the
//!   origins it may buy from with shares `s_hb = a_hb d̃_hb^(−σ) / Σ_k a_kb d̃_kb^(−σ)`, with
//!   `ln a_hb = ln κ_h + β_hb`: `κ_h` the exporter's share of the potential supply offered this
//!   step (the "varieties" it offers, as in Krugman 1980), `β_hb` calibrated bilateral
//!   preference terms (plus friend-shoring and licence-delay terms), and `d̃` the delivered price
//!   less any sourcing-rule premium the buyer earns on that origin (`docs/ODD.md` §7.6.1).
//!   Armington (1969); Anderson, de Palma & Thisse (1992) for the logit reading; σ is
//!   `market.armington_elasticity`.
//! - **Demand.** Total tonnes respond to the buyer's unit-value price `P_b = Σ_h s_hb d_hb` with
//!   the buyer's demand curve (constant elasticity for consumers; fixed orders or a staircase of
//!   willingness to pay for refineries buying ore).
//! - **Equilibrium.** `Z_h(p) = S_h(p_h) − Σ_b s_hb X_b = 0` for every exporter, solved by Newton's
//!   method in log prices with the analytic Jacobian, a backtracking line search and, if Newton
//!   stalls, a shift of the common price level to zero total excess supply and, if that does not
//!   get Newton going, a Gauss–Seidel sweep of per-exporter root searches (Takayama & Judge 1971;
//!   Samuelson 1952). Prices are bounded by the floor and ceiling guards: an exporter at the ceiling with
//!   excess demand rations its buyers pro rata (the only rationing besides explicit controls);
//!   one at the floor with excess supply sells what is demanded. Quotas are link constraints
//!   `Σ_{covered} x_hb ≤ Q_k` with a shadow price `λ_k ≥ 0`, found by bisection in an outer
//!   loop (complementarity: `λ_k > 0` only when the cap binds).
//!
//! Cost per solve: `O(n log n)` for the supply curves, then per Newton iteration `O(L + E² B)`
//! with `L` open links, `E` exporters and `B` buyers, plus `O(E³)` for the linear solve
//! (`E ≤ N` nations), independent of the number of assets.

use crate::model::components::{AssetIdx, NationIdx};
use crate::model::resources::Shipment;
use crate::model::rounding::snap;
use std::borrow::Cow;
use std::cmp::Ordering;

/// An offer to sell: the output one asset can deliver this step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lot {
    /// Selling asset.
    pub asset: AssetIdx,
    /// Its host nation (where the tonnes ship from).
    pub host: NationIdx,
    /// Tonnes available this step (>= 0).
    pub quantity_t: f64,
    /// Price at which the lot is half dispatched (its cash cost), USD/t (>= 0).
    pub reservation_usd_per_t: f64,
    /// Half-width of the lot's supply band, USD/t: the lot runs from nothing at `r − h` to in
    /// full at `r + h` (clamped to `0 ≤ h ≤ r`). `None`: `w · r` with `w` the solver's smoothing.
    /// A refinery sets it on its conversion cost, not on its full cost, and a plant's headroom
    /// above its calibrated utilisation is one lot whose band is its rising marginal cost
    /// (`docs/ODD.md` §7.6.6).
    pub half_band_usd_per_t: Option<f64>,
}

impl Lot {
    /// Lower edge and width of the lot's supply band with smoothing `w`.
    fn band(&self, w: f64) -> (f64, f64) {
        let r = self.reservation_usd_per_t.max(0.0);
        let h = self.half_band_usd_per_t.map_or(w * r, |h| h.clamp(0.0, r));
        (r - h, 2.0 * h)
    }
}

/// How a buyer's total purchases respond to its price.
#[derive(Clone, Debug, PartialEq)]
pub enum DemandCurve {
    /// `X = reference_t · (max(P − credit, floor) / reference_price)^elasticity` (consumers).
    ConstantElasticity {
        /// Tonnes wanted this step at the reference price.
        reference_t: f64,
        /// Reference price, USD/t.
        reference_usd_per_t: f64,
        /// Elasticity (<= 0).
        elasticity: f64,
        /// Sourcing credit per tonne passed through to the buyer's customers, USD/t.
        credit_usd_per_t: f64,
        /// Lowest price the buyer reacts to, USD/t (the price floor).
        floor_usd_per_t: f64,
    },
    /// Derived demand of plants for their feed (`docs/ODD.md` §7.6.2):
    /// `X = Σ_j g_j(P) · (1 − F(P; v_j))` with `g_j(P) = max(0, run_j + cover_j · (v_j / P)^η −
    /// stock_j)`: plant `j` buys the feed to run this step plus its stock target less its stock
    /// while the price is below its netback `v_j` (in full up to `v_j`, ramping to zero at
    /// `v_j (1 + w)²`; `F` centred at `v_j (1 + w)`); the stock target rises
    /// as the price falls below the netback with elasticity `η` (the supply of storage, Working
    /// 1949; Kaldor 1939), which makes the demand strictly decreasing where stocks matter.
    Plants {
        /// One bid per plant.
        bids: Vec<PlantBid>,
        /// Elasticity `η` of the stock target to netback / price (>= 0).
        stock_elasticity: f64,
    },
    /// A consumer holding refined stocks (`docs/ODD.md` §7.6.3): purchases are use plus stock
    /// adjustment plus price-triggered stock orders,
    /// `X = max(0, c(P) + a(P) + Σ_k (b_k(P) − r_k(P)))`, with `c` the use (a
    /// [`DemandCurve::ConstantElasticity`]), `a` the partial adjustment of the consumer's
    /// stock towards its target ([`StockTerms`]) and `b_k`, `r_k` the buys and releases of
    /// strategic stockpiles ([`StockOrderTerms`]).
    Stocked {
        /// Use at the price (the consumer's demand curve without stocks).
        consumption: Box<DemandCurve>,
        /// The consumer's own stock.
        stock: StockTerms,
        /// Price-triggered stock orders of the buyer nation (strategic stockpiles).
        orders: Vec<StockOrderTerms>,
    },
}

impl DemandCurve {
    /// Tonnes of use the buyer wants this step at its reference price: the reference quantity of
    /// a consumer, also inside a [`DemandCurve::Stocked`] buyer (its stock adjustment and
    /// stockpile orders are not use); 0 for plants' derived demand.
    pub fn reference_use_t(&self) -> f64 {
        match self {
            DemandCurve::ConstantElasticity { reference_t, .. } => *reference_t,
            DemandCurve::Stocked { consumption, .. } => consumption.reference_use_t(),
            DemandCurve::Plants { .. } => 0.0,
        }
    }

    /// The same buyer with `t` tonnes of its use served elsewhere (a contract): the consumer's
    /// reference quantity reduced by `t` (not below 0), inside a stocked buyer too.
    pub fn without_use_t(&mut self, t: f64) {
        match self {
            DemandCurve::ConstantElasticity { reference_t, .. } => {
                *reference_t = (*reference_t - t).max(0.0);
            }
            DemandCurve::Stocked { consumption, .. } => consumption.without_use_t(t),
            DemandCurve::Plants { .. } => {}
        }
    }
}

/// A consumer's stock adjustment (`docs/ODD.md` §7.6.3):
/// `a(P) = max(α (S̄ (P_e / P)^η − S), −S)`: the consumer closes a share `α` of the gap between
/// its target and its stock `S` this step; the target is `S̄` (cover × expected use) at the
/// expected price `P_e` and rises when the price is below it, falls when above (the supply of
/// storage, Working 1949; competitive storage, Williams & Wright 1991, Deaton & Laroque 1992).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StockTerms {
    /// Target stock at the expected price, t.
    pub target_t: f64,
    /// Stock held, t.
    pub stock_t: f64,
    /// Share of the gap closed this step, 0..=1.
    pub adjustment: f64,
    /// Expected price, USD/t (<= 0: the target does not respond to the price).
    pub expected_usd_per_t: f64,
    /// Elasticity `η` of the target to expected / current price (>= 0).
    pub elasticity: f64,
}

impl StockTerms {
    /// Tonnes bought (negative: drawn) for the stock at price `p`, and the derivative in `p`.
    pub fn at(&self, p: f64) -> (f64, f64) {
        let (ratio, dratio) = if self.expected_usd_per_t > 0.0 && p > 0.0 && self.elasticity > 0.0 {
            let r = (self.expected_usd_per_t / p).powf(self.elasticity);
            (r, -self.elasticity * r / p)
        } else {
            (1.0, 0.0)
        };
        let a = self.adjustment * (self.target_t * ratio - self.stock_t);
        if a <= -self.stock_t {
            (-self.stock_t, 0.0)
        } else {
            (a, self.adjustment * self.target_t * dratio)
        }
    }
}

/// A price-triggered stock order (a strategic stockpile, `docs/ODD.md` §7.6.3): buy up to
/// `buy_t` while the price is below `buy_below_usd_per_t`, release up to `release_t` while it is
/// above `release_above_usd_per_t`; each switches over the band ± `w` (`market.supply_smoothing`)
/// around its trigger: `b(P) = buy_t (1 − F(P; p_buy))`, `r(P) = release_t F(P; p_release)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StockOrderTerms {
    /// Most it buys this step, t (>= 0).
    pub buy_t: f64,
    /// Buy trigger, USD/t.
    pub buy_below_usd_per_t: f64,
    /// Most it releases this step, t (>= 0).
    pub release_t: f64,
    /// Release trigger, USD/t.
    pub release_above_usd_per_t: f64,
}

impl StockOrderTerms {
    /// Bought and released at price `p`, with their derivatives in `p`: `(b, b', r, r')`.
    pub fn at(&self, p: f64, smoothing: f64) -> (f64, f64, f64, f64) {
        let (fb, dfb) = ramp(p, self.buy_below_usd_per_t, smoothing);
        let (fr, dfr) = ramp(p, self.release_above_usd_per_t, smoothing);
        (
            self.buy_t * (1.0 - fb),
            -self.buy_t * dfb,
            self.release_t * fr,
            self.release_t * dfr,
        )
    }
}

/// A stocked consumer's plan at one price: use, own-stock adjustment and each order's net
/// purchase (bought − released), t this step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StockedPlan {
    /// Use at the price, t.
    pub use_t: f64,
    /// Stock adjustment (negative: drawn), t.
    pub adjust_t: f64,
    /// Bought by each order, t.
    pub bought_t: Vec<f64>,
    /// Released by each order, t.
    pub released_t: Vec<f64>,
}

/// The plan of a [`DemandCurve::Stocked`] buyer at price `p` (`None` for other curves).
pub fn stocked_plan(curve: &DemandCurve, p: f64, smoothing: f64) -> Option<StockedPlan> {
    let DemandCurve::Stocked {
        consumption,
        stock,
        orders,
    } = curve
    else {
        return None;
    };
    let mut plan = StockedPlan {
        use_t: consumption.at(p, smoothing).0,
        adjust_t: stock.at(p).0,
        ..StockedPlan::default()
    };
    for o in orders {
        let (b, _, r, _) = o.at(p, smoothing);
        plan.bought_t.push(b);
        plan.released_t.push(r);
    }
    Some(plan)
}

/// One plant's bid for its feed (see [`DemandCurve::Plants`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlantBid {
    /// Feed to run at available capacity this step, t.
    pub run_t: f64,
    /// Stock target at price = netback, t.
    pub cover_t: f64,
    /// Feed stock held, t.
    pub stock_t: f64,
    /// Netback: what a tonne of feed is worth to the plant, USD/t (0 = does not buy).
    pub netback_usd_per_t: f64,
}

impl PlantBid {
    /// Tonnes wanted at price `p` and their derivative in `p`.
    fn at(&self, p: f64, smoothing: f64, eta: f64) -> (f64, f64) {
        let v = self.netback_usd_per_t;
        if v <= 0.0 || p <= 0.0 {
            return (0.0, 0.0);
        }
        let ratio = if eta == 0.0 { 1.0 } else { (v / p).powf(eta) };
        // A difference of large numbers (a need met by pre-delivered ore leaves ±10⁻¹⁶ t):
        // snapped to its terms (crate::model::rounding).
        let target = self.run_t + self.cover_t * ratio;
        let g = snap(target - self.stock_t, target + self.stock_t);
        if g <= 0.0 {
            return (0.0, 0.0);
        }
        let dg = -eta * self.cover_t * ratio / p;
        // The plant buys in full up to its netback (at zero margin it still runs) and stops over
        // the band above it: the ramp is centred at v (1 + w).
        let (f, df) = ramp(p, v * (1.0 + smoothing), smoothing);
        (g * (1.0 - f), dg * (1.0 - f) - g * df)
    }
}

impl DemandCurve {
    /// Tonnes wanted at price `p` and `d ln X / d ln P` there.
    fn at(&self, p: f64, smoothing: f64) -> (f64, f64) {
        match self {
            DemandCurve::ConstantElasticity {
                reference_t,
                reference_usd_per_t,
                elasticity,
                credit_usd_per_t,
                floor_usd_per_t,
            } => {
                if *reference_usd_per_t <= 0.0 || *elasticity == 0.0 {
                    return (*reference_t, 0.0);
                }
                let net = p - credit_usd_per_t;
                if net <= *floor_usd_per_t {
                    let x = reference_t * (floor_usd_per_t / reference_usd_per_t).powf(*elasticity);
                    return (x, 0.0);
                }
                let x = reference_t * (net / reference_usd_per_t).powf(*elasticity);
                (x, elasticity * p / net)
            }
            DemandCurve::Plants {
                bids,
                stock_elasticity,
            } => {
                let mut x = 0.0;
                let mut dx = 0.0;
                for bid in bids {
                    let (xj, dxj) = bid.at(p, smoothing, *stock_elasticity);
                    x += xj;
                    dx += dxj;
                }
                let elasticity = if x > 0.0 { dx * p / x } else { 0.0 };
                (x, elasticity)
            }
            DemandCurve::Stocked {
                consumption,
                stock,
                orders,
            } => {
                let (c, eps) = consumption.at(p, smoothing);
                let (a, da) = stock.at(p);
                let mut x = c + a;
                let mut dx = if p > 0.0 { eps * c / p } else { 0.0 } + da;
                let mut scale = c + a.abs();
                for o in orders {
                    let (b, db, r, dr) = o.at(p, smoothing);
                    x += b - r;
                    dx += db - dr;
                    scale += b + r;
                }
                // Use met from stock leaves purchases of ±10⁻¹³ t, a difference of large
                // numbers whose sign depends on the order of the solver's sums: snapped to its
                // terms (crate::model::rounding).
                if snap(x, scale) <= 0.0 {
                    return (0.0, 0.0);
                }
                (x, dx * p / x)
            }
        }
    }
}

/// Tonnes each plant of a [`DemandCurve::Plants`] takes at price `p` (before any rationing):
/// its share in its buyer's demand.
pub fn plant_takes(bids: &[PlantBid], p: f64, smoothing: f64, stock_elasticity: f64) -> Vec<f64> {
    bids.iter()
        .map(|b| b.at(p, smoothing, stock_elasticity).0)
        .collect()
}

/// Ramp over the band `[lo, lo + width]` (a step at `lo` when the width is 0), with its
/// derivative in `p`.
fn ramp_band(p: f64, lo: f64, width: f64) -> (f64, f64) {
    if width <= 0.0 {
        (if p >= lo { 1.0 } else { 0.0 }, 0.0)
    } else if p <= lo {
        (0.0, 0.0)
    } else if p >= lo + width {
        (1.0, 0.0)
    } else {
        ((p - lo) / width, 1.0 / width)
    }
}

/// Smoothed step `F(p; r)`: 0 below `r(1 − w)`, 1 above `r(1 + w)`, linear between; with its
/// derivative in `p`.
fn ramp(p: f64, r: f64, w: f64) -> (f64, f64) {
    let width = 2.0 * w * r;
    let lo = r * (1.0 - w);
    if width <= 0.0 {
        return (if p >= r { 1.0 } else { 0.0 }, 0.0);
    }
    if p <= lo {
        (0.0, 0.0)
    } else if p >= lo + width {
        (1.0, 0.0)
    } else {
        ((p - lo) / width, 1.0 / width)
    }
}

/// A buyer's sourcing rule as the market sees it (`docs/ODD.md` §7.6.1).
#[derive(Clone, Debug, PartialEq)]
pub struct SourcingTerms {
    /// Premium a qualifying tonne earns, USD/t.
    pub premium_usd_per_t: f64,
    /// Share of the buyer's purchases on which the premium is earned (0..=1).
    pub required_share: f64,
    /// Whether each lot qualifies for this buyer (same order and length as the lots).
    pub qualifies: Vec<bool>,
}

/// A buyer nation.
#[derive(Clone, Debug, PartialEq)]
pub struct Buyer {
    /// Buyer nation.
    pub nation: NationIdx,
    /// Its demand curve this step.
    pub curve: DemandCurve,
    /// Its sourcing rule in force, if any.
    pub sourcing: Option<SourcingTerms>,
}

/// Whether a buyer may buy from an exporter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// No restriction.
    Open,
    /// Closed (export ban, licence not yet granted, ore export ban).
    Blocked,
    /// Capped by the quota with this index (shared by every link it covers).
    Quota(usize),
}

/// Link tables of one commodity, row-major `[exporter * n + buyer]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Links {
    /// Number of nations.
    pub n: usize,
    /// Access of each link.
    pub access: Vec<Access>,
    /// Multiplier of the producer price in the delivered price, `(1 + τ_bh) / (1 − t_h)`.
    pub markup: Vec<f64>,
    /// Transport cost, USD/t.
    pub transport_usd_per_t: Vec<f64>,
    /// Log preference shifter `β_hb` (calibrated terms, friend-shoring, licence timing).
    pub ln_preference: Vec<f64>,
    /// Quotas, tonnes this step, by quota index.
    pub quota_t: Vec<f64>,
}

impl Links {
    /// Open links, no wedges, no transport, no preferences.
    pub fn open(n: usize) -> Self {
        Links {
            n,
            access: vec![Access::Open; n * n],
            markup: vec![1.0; n * n],
            transport_usd_per_t: vec![0.0; n * n],
            ln_preference: vec![0.0; n * n],
            quota_t: Vec::new(),
        }
    }
}

/// Numerical settings of a solve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SolverSettings {
    /// Armington elasticity σ (> 0).
    pub sigma: f64,
    /// Half-width of each lot's supply band as a share of its reservation price (0 < w < 1).
    pub smoothing: f64,
    /// Convergence: largest excess supply allowed, as a share of the exporter's potential supply.
    pub tolerance: f64,
    /// Iteration cap of the Newton iteration (and of the quota loop).
    pub max_iterations: u32,
    /// Price floor guard, USD/t (> 0).
    pub floor_usd_per_t: f64,
    /// Price ceiling guard, USD/t (> floor).
    pub ceiling_usd_per_t: f64,
}

/// The equilibrium of one commodity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Solution {
    /// Producer price by nation, USD/t (0 for nations that offer nothing).
    pub producer_usd_per_t: Vec<f64>,
    /// Unit-value price each buyer pays, USD/t (0 for non-buyers; the ceiling for a buyer cut off
    /// from every supplier).
    pub buyer_usd_per_t: Vec<f64>,
    /// Tonnes each buyer wants at its price, by nation.
    pub demand_t: Vec<f64>,
    /// Tonnes each buyer receives, by nation.
    pub received_t: Vec<f64>,
    /// Shipments with positive tonnes, sorted by (from, to).
    pub shipments: Vec<Shipment>,
    /// Tonnes dispatched from each lot (same order as the lots).
    pub dispatched_t: Vec<f64>,
    /// Shadow price of each quota, USD/t.
    pub quota_shadow_usd_per_t: Vec<f64>,
    /// Quota rent collected on each exporter's capped links this step, USD, by nation.
    pub quota_rent_usd: Vec<f64>,
    /// Qualifying tonnes received by each buyer with a sourcing rule (empty without rules).
    pub qualifying_t: Vec<f64>,
    /// Volume-weighted producer price of the tonnes sold, USD/t (`None` when nothing sold).
    pub transaction_usd_per_t: Option<f64>,
    /// Newton iterations used.
    pub iterations: u32,
    /// Whether the tolerance was met within the iteration cap.
    pub converged: bool,
}

/// Piecewise-linear supply curve: breakpoints `x`, value `S(x_k)` and slope on `[x_k, x_{k+1})`.
#[derive(Debug, Default)]
struct Supply {
    x: Vec<f64>,
    value: Vec<f64>,
    slope: Vec<f64>,
    /// Potential (all lots at full output), t.
    total: f64,
}

impl Supply {
    /// From `(tonnes, lower edge of the band, band width)` per lot; `events` is scratch.
    #[cfg(test)]
    fn new(lots: impl Iterator<Item = (f64, f64, f64)>, events: &mut Vec<(f64, f64, f64)>) -> Self {
        let mut supply = Supply::default();
        supply.fill(lots, events);
        supply
    }

    /// [`Supply::new`] into `self`, reusing its buffers (the same curve to the bit).
    fn fill(
        &mut self,
        lots: impl Iterator<Item = (f64, f64, f64)>,
        events: &mut Vec<(f64, f64, f64)>,
    ) {
        // Events: (price, slope change, jump).
        events.clear();
        let mut total = 0.0;
        for (q, lo, width) in lots {
            if q <= 0.0 {
                continue;
            }
            total += q;
            if width > 0.0 {
                events.push((lo, q / width, 0.0));
                events.push((lo + width, -q / width, 0.0));
            } else {
                events.push((lo, 0.0, q));
            }
        }
        // A total order on the events (not only on their prices): events at one price are
        // then summed in an order that does not depend on the order of the lots. Events equal
        // under it are equal bit for bit, so an unstable sort gives the same sequence.
        events.sort_unstable_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then(a.1.total_cmp(&b.1))
                .then(a.2.total_cmp(&b.2))
        });
        let Supply {
            x, value, slope, ..
        } = self;
        for v in [&mut *x, &mut *value, &mut *slope] {
            v.clear();
            v.reserve(events.len());
        }
        let (mut v, mut s, mut last) = (0.0, 0.0, f64::NEG_INFINITY);
        for &(p, ds, jump) in events.iter() {
            if p > last && last.is_finite() {
                v += s * (p - last);
            }
            if x.last().is_some_and(|&l: &f64| l == p) {
                s += ds;
                v += jump;
                *slope.last_mut().expect("non-empty") = s;
                *value.last_mut().expect("non-empty") = v;
            } else {
                s += ds;
                v += jump;
                x.push(p);
                value.push(v);
                slope.push(s);
            }
            last = p;
        }
        // Clean float dust after the last breakpoint: all lots at full output.
        if let (Some(v), Some(s)) = (value.last_mut(), slope.last_mut()) {
            *v = total;
            *s = 0.0;
        }
        self.total = total;
    }

    /// `S(p)` and `S'(p)`.
    fn at(&self, p: f64) -> (f64, f64) {
        let k = self.x.partition_point(|&x| x <= p);
        if k == 0 {
            return (0.0, 0.0);
        }
        let k = k - 1;
        let v = self.value[k] + self.slope[k] * (p - self.x[k]);
        (v.clamp(0.0, self.total), self.slope[k].max(0.0))
    }
}

/// One open link of a buyer.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Exporter position in the exporter list.
    e: usize,
    markup: f64,
    transport: f64,
    ln_weight: f64,
    quota: Option<usize>,
    /// Potential-weighted share of the exporter's lots that qualify for the buyer.
    qualifying: f64,
    /// `exp(ln_weight − shift_b)`, for the integer-σ fast path (set once the shift is known).
    weight: f64,
}

/// Per-entry state of an evaluation.
#[derive(Clone, Copy, Debug, Default)]
struct Flow {
    d: f64,
    d_tilde: f64,
    share: f64,
    x: f64,
}

struct Problem<'a> {
    settings: SolverSettings,
    buyers: &'a [Cow<'a, Buyer>],
    exporters: Vec<usize>,
    supply: Vec<Supply>,
    entries: Vec<Vec<Entry>>,
    /// Where each buyer's flows start in [`Eval::flows`] (one slot per entry, buyer by buyer;
    /// `start[b]..start[b + 1]`).
    start: Vec<usize>,
    /// For each exporter, its links as (buyer, entry position within the buyer's entries).
    links_of: Vec<Vec<(usize, usize)>>,
    /// Log-weight shift per buyer (keeps exponentials in range).
    shift: Vec<f64>,
    /// σ when it is a whole number up to 64: the Armington weight `a · d̃^(−σ)` is then taken by
    /// repeated multiplication instead of `exp(ln a − σ ln d̃)`.
    sigma_int: Option<i32>,
    /// `exp(−700)` and `exp(700)`: the range of weights the log path clamps to.
    weight_range: (f64, f64),
}

/// Result of evaluating flows at prices. Allocated once per solve and refilled in place
/// ([`Problem::eval_into`]): the solver allocates nothing per evaluation.
#[derive(Debug, Default)]
struct Eval {
    /// Flows of every open link, buyer by buyer (see [`Problem::start`]).
    flows: Vec<Flow>,
    price: Vec<f64>,
    quantity: Vec<f64>,
    elasticity: Vec<f64>,
    sold: Vec<f64>,
}

/// Reusable buffers of the Newton iteration: current point, trial point and linear system.
#[derive(Debug, Default)]
struct Work {
    p: Vec<f64>,
    ev: Eval,
    z: Vec<f64>,
    r: Vec<f64>,
    trial_u: Vec<f64>,
    trial_p: Vec<f64>,
    trial_ev: Eval,
    trial_z: Vec<f64>,
    trial_r: Vec<f64>,
    jac: Vec<f64>,
    free: Vec<usize>,
    a: Vec<f64>,
    rhs: Vec<f64>,
    /// Quota shadow prices and premiums of the last Newton call: `p` and `ev` are the
    /// evaluation at its final point with these.
    lambda_at: Vec<f64>,
    premium_at: Vec<f64>,
    /// Scratch of [`Problem::jacobian_into`]: a buyer's positive flows and column factors.
    jac_rows: Vec<(usize, f64)>,
    jac_cols: Vec<f64>,
}

/// `x^(−k)` for `k >= 1`, by the same sequence of squarings and products as `f64::powi`
/// (compiler-builtins' `__powidf2`: square-and-multiply from the lowest bit, then one reciprocal),
/// so the result is bit-for-bit that of `x.powi(-k)`; inlined, it saves the out-of-line call in the
/// innermost loop of every flow evaluation.
#[inline]
fn recip_powi(x: f64, k: i32) -> f64 {
    let mut a = x;
    let mut n = k.unsigned_abs();
    let mut product = 1.0;
    loop {
        if n & 1 != 0 {
            product *= a;
        }
        n >>= 1;
        if n == 0 {
            break;
        }
        a *= a;
    }
    1.0 / product
}

/// Root of a non-decreasing function on `[a, b]` with `f(a) <= 0 <= f(b)` by the Illinois
/// variant of regula falsi (Dowell & Jarratt 1971), with a bisection step whenever the bracket
/// failed to halve in three steps, so it never converges more slowly than bisection by more
/// than a factor of three. Stops when `|f| <= f_tol` or the bracket is narrower than `x_tol`;
/// returns the point with the smallest `|f|` seen (the mid-point of the final bracket if that
/// is closer).
fn illinois(
    mut a: f64,
    mut fa: f64,
    mut b: f64,
    mut fb: f64,
    x_tol: f64,
    f_tol: f64,
    mut f: impl FnMut(f64) -> f64,
) -> f64 {
    let (mut best, mut f_best) = if -fa < fb { (a, fa) } else { (b, fb) };
    let mut side = 0i8;
    let mut width_mark = b - a;
    let mut since_halved = 0;
    for _ in 0..200 {
        if f_best.abs() <= f_tol || b - a <= x_tol {
            break;
        }
        let mut x = if since_halved >= 3 || fb <= fa {
            0.5 * (a + b)
        } else {
            (a * fb - b * fa) / (fb - fa)
        };
        if !(x > a && x < b) {
            x = 0.5 * (a + b);
        }
        let fx = f(x);
        if fx.abs() < f_best.abs() {
            best = x;
            f_best = fx;
        }
        if fx > 0.0 {
            b = x;
            fb = fx;
            if side == 1 {
                fa *= 0.5;
            }
            side = 1;
        } else if fx < 0.0 {
            a = x;
            fa = fx;
            if side == -1 {
                fb *= 0.5;
            }
            side = -1;
        } else {
            return x;
        }
        if b - a <= 0.5 * width_mark {
            width_mark = b - a;
            since_halved = 0;
        } else {
            since_halved += 1;
        }
    }
    if f_best.abs() > f_tol && b - a <= x_tol {
        0.5 * (a + b)
    } else {
        best
    }
}

impl Problem<'_> {
    /// Price from a log price; exactly the guard at a bound.
    fn price(&self, x: f64, lo: f64, hi: f64) -> f64 {
        if x >= hi {
            self.settings.ceiling_usd_per_t
        } else if x <= lo {
            self.settings.floor_usd_per_t
        } else {
            x.exp()
        }
    }

    /// Prices from log prices; exactly the guard at a bound.
    fn prices(&self, u: &[f64]) -> Vec<f64> {
        let mut p = vec![0.0; u.len()];
        self.prices_into(u, &mut p);
        p
    }

    fn prices_into(&self, u: &[f64], p: &mut [f64]) {
        let lo = self.settings.floor_usd_per_t.ln();
        let hi = self.settings.ceiling_usd_per_t.ln();
        for (p, &x) in p.iter_mut().zip(u) {
            *p = self.price(x, lo, hi);
        }
    }

    /// An evaluation buffer of the right shape.
    fn new_eval(&self) -> Eval {
        let mut ev = Eval::default();
        self.reset_eval(&mut ev);
        ev
    }

    /// `ev` as [`Problem::new_eval`] makes it (zeroed, of the right shape), in its own buffers.
    fn reset_eval(&self, ev: &mut Eval) {
        fn zeroed<T: Clone>(v: &mut Vec<T>, len: usize, zero: T) {
            v.clear();
            v.resize(len, zero);
        }
        zeroed(
            &mut ev.flows,
            *self.start.last().unwrap_or(&0),
            Flow::default(),
        );
        zeroed(&mut ev.price, self.buyers.len(), 0.0);
        zeroed(&mut ev.quantity, self.buyers.len(), 0.0);
        zeroed(&mut ev.elasticity, self.buyers.len(), 0.0);
        zeroed(&mut ev.sold, self.exporters.len(), 0.0);
    }

    fn eval(&self, p: &[f64], lambda: &[f64], premium: &[f64]) -> Eval {
        let mut ev = self.new_eval();
        self.eval_into(p, lambda, premium, &mut ev);
        ev
    }

    /// The flows of buyer `b` in an evaluation.
    fn row<'e>(&self, ev: &'e Eval, b: usize) -> &'e [Flow] {
        &ev.flows[self.start[b]..self.start[b + 1]]
    }

    /// Delivered price, preference-adjusted price and unnormalised Armington weight of one link.
    #[inline]
    fn link(&self, b: usize, en: &Entry, p: f64, lambda: &[f64], premium: &[f64]) -> Flow {
        let d = en.markup * p + en.transport + en.quota.map_or(0.0, |k| lambda[k]);
        let d_tilde = (d - premium[b] * en.qualifying).max(1e-3 * d).max(1e-300);
        if let Some(k) = self.sigma_int {
            let w = en.weight * recip_powi(d_tilde, k);
            if w >= self.weight_range.0 && w <= self.weight_range.1 {
                return Flow {
                    d,
                    d_tilde,
                    share: w,
                    x: 0.0,
                };
            }
        }
        let lw = (en.ln_weight - self.settings.sigma * d_tilde.ln() - self.shift[b])
            .clamp(-700.0, 700.0);
        Flow {
            d,
            d_tilde,
            share: lw.exp(),
            x: 0.0,
        }
    }

    fn eval_into(&self, p: &[f64], lambda: &[f64], premium: &[f64], ev: &mut Eval) {
        ev.sold.fill(0.0);
        for (b, buyer) in self.buyers.iter().enumerate() {
            let entries = &self.entries[b];
            let row = &mut ev.flows[self.start[b]..self.start[b + 1]];
            let mut w_sum = 0.0;
            let mut v_sum = 0.0;
            for (f, en) in row.iter_mut().zip(entries) {
                *f = self.link(b, en, p[en.e], lambda, premium);
                w_sum += f.share;
                v_sum += f.share * f.d;
            }
            if w_sum > 0.0 {
                let pb = v_sum / w_sum;
                let (xb, eta) = buyer.curve.at(pb, self.settings.smoothing);
                for f in row.iter_mut() {
                    f.share /= w_sum;
                    f.x = f.share * xb;
                }
                for (f, en) in row.iter().zip(entries) {
                    ev.sold[en.e] += f.x;
                }
                ev.price[b] = pb;
                ev.quantity[b] = xb;
                ev.elasticity[b] = eta;
            } else {
                let (xb, _) = buyer.curve.at(self.settings.ceiling_usd_per_t, 0.0);
                ev.price[b] = self.settings.ceiling_usd_per_t;
                ev.quantity[b] = xb;
                ev.elasticity[b] = 0.0;
            }
        }
    }

    /// Excess supply of each exporter.
    fn excess_into(&self, p: &[f64], ev: &Eval, z: &mut [f64]) {
        for (((z, s), &p), sold) in z.iter_mut().zip(&self.supply).zip(p).zip(&ev.sold) {
            *z = s.at(p).0 - sold;
        }
    }

    /// Jacobian of excess supply in log prices, `jac[h * ne + k] = ∂Z_h / ∂ln p_k`.
    ///
    /// Per buyer, every cell `(h, k)` of its exporters receives one product `x_h · c_k` (a
    /// rank-one update) and the diagonal one more term. The buyer's column factors are scattered
    /// into a dense row `cols` (zero where it has no link; `x · 0 = +0` leaves a cell unchanged)
    /// and its positive flows gathered in `rows`, so the `O(E²)` update is a dense loop without
    /// branches or index loads. Each cell sees the same operations in the same order as a
    /// column-by-column update, so the result is the same to the bit.
    fn jacobian_into(
        &self,
        p: &[f64],
        ev: &Eval,
        jac: &mut [f64],
        rows: &mut Vec<(usize, f64)>,
        cols: &mut Vec<f64>,
    ) {
        let ne = self.exporters.len();
        let sigma = self.settings.sigma;
        jac.fill(0.0);
        for h in 0..ne {
            jac[h * ne + h] = self.supply[h].at(p[h]).1 * p[h];
        }
        cols.clear();
        cols.resize(ne, 0.0);
        for (b, entries) in self.entries.iter().enumerate() {
            let flows = self.row(ev, b);
            let pb = ev.price[b];
            if pb <= 0.0 {
                continue;
            }
            let eta = ev.elasticity[b];
            // ∂ ln x_hb / ∂ ln p_k = σ e_k (s_k − [h = k]) + η ∂ ln P_b / ∂ ln p_k: a rank-one
            // update of column k by the flows, plus the own-price term on the diagonal.
            rows.clear();
            for (ek, fk) in entries.iter().zip(flows) {
                let dd = ek.markup * p[ek.e];
                let e_k = dd / fk.d_tilde;
                // ∂ ln P_b / ∂ ln p_k
                let dlnp = fk.share * (dd - sigma * e_k * (fk.d - pb)) / pb;
                cols[ek.e] = sigma * e_k * fk.share + eta * dlnp;
                if fk.x > 0.0 {
                    rows.push((ek.e * ne, fk.x));
                }
            }
            for &(at, x) in rows.iter() {
                for (cell, &c_k) in jac[at..at + ne].iter_mut().zip(cols.iter()) {
                    *cell -= x * c_k;
                }
            }
            for (ek, fk) in entries.iter().zip(flows) {
                cols[ek.e] = 0.0;
                if fk.x > 0.0 {
                    let e_k = ek.markup * p[ek.e] / fk.d_tilde;
                    jac[ek.e * ne + ek.e] += fk.x * sigma * e_k;
                }
            }
        }
    }

    /// Residual with bound complementarity: zero for an exporter held at a bound that its
    /// excess pushes against.
    fn residual_into(&self, u: &[f64], z: &[f64], lo: f64, hi: f64, r: &mut [f64]) {
        for ((r, &u), &z) in r.iter_mut().zip(u).zip(z) {
            *r = if (u >= hi && z < 0.0) || (u <= lo && z > 0.0) {
                0.0
            } else {
                z
            };
        }
    }

    fn merit(&self, r: &[f64]) -> f64 {
        r.iter()
            .zip(&self.supply)
            .map(|(r, s)| (r / s.total.max(1e-300)).powi(2))
            .sum()
    }

    /// `w` zeroed and shaped for this problem, in its own buffers (kept between solves).
    fn reset_work(&self, w: &mut Work) {
        let ne = self.exporters.len();
        for v in [
            &mut w.p,
            &mut w.z,
            &mut w.r,
            &mut w.trial_u,
            &mut w.trial_p,
            &mut w.trial_z,
            &mut w.trial_r,
        ] {
            v.clear();
            v.resize(ne, 0.0);
        }
        w.jac.clear();
        w.jac.resize(ne * ne, 0.0);
        self.reset_eval(&mut w.ev);
        self.reset_eval(&mut w.trial_ev);
        w.free.clear();
        w.a.clear();
        w.rhs.clear();
        w.lambda_at.clear();
        w.premium_at.clear();
        w.jac_rows.clear();
        w.jac_cols.clear();
    }

    /// Prices, flows, excess and residual at `u` into the current point of `w`.
    fn point(&self, u: &[f64], lambda: &[f64], premium: &[f64], w: &mut Work) -> f64 {
        let lo = self.settings.floor_usd_per_t.ln();
        let hi = self.settings.ceiling_usd_per_t.ln();
        self.prices_into(u, &mut w.p);
        self.eval_into(&w.p, lambda, premium, &mut w.ev);
        self.excess_into(&w.p, &w.ev, &mut w.z);
        self.residual_into(u, &w.z, lo, hi, &mut w.r);
        self.merit(&w.r)
    }

    /// Newton iteration on log producer prices for fixed quota shadow prices and premiums.
    fn newton(
        &self,
        u: &mut [f64],
        lambda: &[f64],
        premium: &[f64],
        budget: &mut u32,
        w: &mut Work,
    ) -> bool {
        let lo = self.settings.floor_usd_per_t.ln();
        let hi = self.settings.ceiling_usd_per_t.ln();
        let ne = u.len();
        w.lambda_at.clear();
        w.lambda_at.extend_from_slice(lambda);
        w.premium_at.clear();
        w.premium_at.extend_from_slice(premium);
        let mut merit = self.point(u, lambda, premium, w);
        // Whether the last step was a level shift that did not lower the merit.
        let mut shifted_up = false;
        loop {
            let worst =
                w.r.iter()
                    .zip(&self.supply)
                    .map(|(r, s)| r.abs() / s.total.max(1e-300))
                    .fold(0.0, f64::max);
            if worst <= self.settings.tolerance {
                return true;
            }
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            // Free variables: not held at a bound.
            w.free.clear();
            w.free.extend(
                (0..ne)
                    .filter(|&h| !((u[h] >= hi && w.z[h] < 0.0) || (u[h] <= lo && w.z[h] > 0.0))),
            );
            self.jacobian_into(&w.p, &w.ev, &mut w.jac, &mut w.jac_rows, &mut w.jac_cols);
            w.a.clear();
            for &i in &w.free {
                w.a.extend(w.free.iter().map(|&j| w.jac[i * ne + j]));
            }
            w.rhs.clear();
            w.rhs.extend(w.free.iter().map(|&i| -w.z[i]));
            let mut improved = false;
            if solve_linear(&mut w.a, &mut w.rhs) {
                let step = &w.rhs;
                let biggest = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
                let scale = if biggest > 1.0 { 1.0 / biggest } else { 1.0 };
                let mut t = scale;
                while t > 1e-6 {
                    w.trial_u.copy_from_slice(u);
                    for (k, &i) in w.free.iter().enumerate() {
                        w.trial_u[i] = (u[i] + t * step[k]).clamp(lo, hi);
                    }
                    self.prices_into(&w.trial_u, &mut w.trial_p);
                    self.eval_into(&w.trial_p, lambda, premium, &mut w.trial_ev);
                    self.excess_into(&w.trial_p, &w.trial_ev, &mut w.trial_z);
                    self.residual_into(&w.trial_u, &w.trial_z, lo, hi, &mut w.trial_r);
                    let tm = self.merit(&w.trial_r);
                    if tm < merit * (1.0 - 1e-4 * t) || tm == 0.0 {
                        shifted_up = false;
                        u.copy_from_slice(&w.trial_u);
                        std::mem::swap(&mut w.p, &mut w.trial_p);
                        std::mem::swap(&mut w.ev, &mut w.trial_ev);
                        std::mem::swap(&mut w.z, &mut w.trial_z);
                        std::mem::swap(&mut w.r, &mut w.trial_r);
                        merit = tm;
                        improved = true;
                        break;
                    }
                    t *= 0.5;
                }
            }
            if !improved {
                // Newton stalls where the Jacobian is singular: along the common price level when
                // supply and demand are both inelastic (all lots running, fixed orders; the
                // columns of the Jacobian then sum to zero). Move the level to where total excess
                // supply is zero, which brings some exporter onto its supply band or some buyer
                // onto the elastic part of its demand, and continue Newton from there even if
                // the shift raised the merit. Only if Newton stalls again right after a shift,
                // sweep per-exporter root searches (always progress on a monotone system).
                if shifted_up {
                    self.sweep(u, lambda, premium, w);
                    merit = self.point(u, lambda, premium, w);
                    shifted_up = false;
                } else {
                    let before = merit;
                    self.level_shift(u, lambda, premium, w);
                    merit = self.point(u, lambda, premium, w);
                    shifted_up = merit >= before * (1.0 - 1e-4);
                }
            }
        }
    }

    /// Shift every log price by a common `t` so that total excess supply is zero (a bracketed
    /// root search; total excess supply is non-decreasing in the common level). Prices stay
    /// within the guards. Uses the trial buffers of `w`.
    fn level_shift(&self, u: &mut [f64], lambda: &[f64], premium: &[f64], w: &mut Work) {
        let lo = self.settings.floor_usd_per_t.ln();
        let hi = self.settings.ceiling_usd_per_t.ln();
        let potential: f64 = self.supply.iter().map(|s| s.total).sum();
        let mut total_at = |t: f64| {
            for (x, &b) in w.trial_u.iter_mut().zip(u.iter()) {
                *x = (b + t).clamp(lo, hi);
            }
            self.prices_into(&w.trial_u, &mut w.trial_p);
            self.eval_into(&w.trial_p, lambda, premium, &mut w.trial_ev);
            self.excess_into(&w.trial_p, &w.trial_ev, &mut w.trial_z);
            w.trial_z.iter().sum::<f64>()
        };
        let down = lo - u.iter().fold(f64::INFINITY, |m, &x| m.min(x));
        let up = hi - u.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        let (a, b) = (down.min(0.0), up.max(0.0));
        let fa = total_at(a);
        let t = if fa > 0.0 {
            a
        } else {
            let fb = total_at(b);
            if fb < 0.0 {
                b
            } else {
                // Newton polishes the result, so the level only has to reach the region where
                // total excess supply changes sign; but a shift that happens to land within the
                // convergence test must be as accurate as a Newton step would have made it.
                let x_tol = 1e-12;
                let f_tol = 1e-2 * self.settings.tolerance * potential;
                illinois(a, fa, b, fb, x_tol, f_tol, total_at)
            }
        };
        for x in u.iter_mut() {
            *x = (*x + t).clamp(lo, hi);
        }
    }

    /// Gauss–Seidel sweep: each exporter's log price in turn set to where its own excess supply
    /// is zero with the other prices held. Only the buyers linked to the exporter are
    /// re-evaluated, from their other links' weights summed once per exporter.
    fn sweep(&self, u: &mut [f64], lambda: &[f64], premium: &[f64], w: &mut Work) {
        let lo = self.settings.floor_usd_per_t.ln();
        let hi = self.settings.ceiling_usd_per_t.ln();
        let smoothing = self.settings.smoothing;
        // (buyer, position, other links' weight sum, their weighted delivered-price sum).
        let mut rest: Vec<(usize, usize, f64, f64)> = Vec::new();
        for h in 0..u.len() {
            self.prices_into(u, &mut w.p);
            rest.clear();
            for &(b, j) in &self.links_of[h] {
                let (mut w_sum, mut v_sum) = (0.0, 0.0);
                for (k, en) in self.entries[b].iter().enumerate() {
                    if k != j {
                        let f = self.link(b, en, w.p[en.e], lambda, premium);
                        w_sum += f.share;
                        v_sum += f.share * f.d;
                    }
                }
                rest.push((b, j, w_sum, v_sum));
            }
            let z_at = |x: f64| {
                let ph = self.price(x, lo, hi);
                let mut sold = 0.0;
                for &(b, j, w_rest, v_rest) in &rest {
                    let f = self.link(b, &self.entries[b][j], ph, lambda, premium);
                    let w_sum = w_rest + f.share;
                    if w_sum > 0.0 {
                        let pb = (v_rest + f.share * f.d) / w_sum;
                        let (xb, _) = self.buyers[b].curve.at(pb, smoothing);
                        sold += f.share / w_sum * xb;
                    }
                }
                self.supply[h].at(ph).0 - sold
            };
            let f_hi = z_at(hi);
            if f_hi < 0.0 {
                u[h] = hi;
                continue;
            }
            let f_lo = z_at(lo);
            if f_lo > 0.0 {
                u[h] = lo;
                continue;
            }
            let x_tol = (hi - lo) * 2f64.powi(-36);
            let f_tol = 1e-2 * self.settings.tolerance * self.supply[h].total;
            u[h] = illinois(lo, f_lo, hi, f_hi, x_tol, f_tol, z_at);
        }
    }

    /// Tonnes on the links of quota `k`.
    fn quota_flow(&self, ev: &Eval, k: usize) -> f64 {
        let mut total = 0.0;
        for (b, entries) in self.entries.iter().enumerate() {
            for (en, f) in entries.iter().zip(self.row(ev, b)) {
                if en.quota == Some(k) {
                    total += f.x;
                }
            }
        }
        total
    }
}

/// Gaussian elimination with partial pivoting on the row-major `n × n` matrix `a`; the
/// solution replaces `b`. `false` when (nearly) singular.
fn solve_linear(a: &mut [f64], b: &mut [f64]) -> bool {
    let n = b.len();
    if n == 0 {
        return true;
    }
    let scale = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if scale <= 0.0 || !scale.is_finite() {
        return false;
    }
    for col in 0..n {
        let Some(pivot) =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))
        else {
            return false;
        };
        if a[pivot * n + col].abs() <= 1e-13 * scale {
            return false;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(col * n + k, pivot * n + k);
            }
            b.swap(col, pivot);
        }
        for row in col + 1..n {
            let f = a[row * n + col] / a[col * n + col];
            if f != 0.0 {
                for k in col..n {
                    a[row * n + k] -= f * a[col * n + k];
                }
                b[row] -= f * b[col];
            }
        }
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    b.iter().all(|v| v.is_finite())
}

/// Sum of a multiset of numbers that does not depend on the order they come in (docs/ODD.md
/// §7.6, "Order independence"): the terms are summed in ascending order (`f64::total_cmp`), so
/// terms that compare equal are equal and their order cannot matter. Sorts `terms` in place
/// (unstably: terms equal under `f64::total_cmp` are equal bit for bit, so any sort gives the
/// same sequence).
pub fn order_free_sum(terms: &mut [f64]) -> f64 {
    terms.sort_unstable_by(f64::total_cmp);
    terms.iter().sum()
}

/// Lexicographic order of two keys of numbers (`f64::total_cmp` on each), shorter first on a
/// common prefix.
fn cmp_keys(a: &[f64], b: &[f64]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.len().cmp(&b.len()))
}

/// [`cmp_keys`] on two keys of the same length `N`, without the iterator adapters (the
/// comparison of every sort in a solve's setup).
#[inline]
fn cmp_array<const N: usize>(a: &[f64; N], b: &[f64; N]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = x.total_cmp(y);
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

/// The numbers of a demand curve as a sort key; the curve must be in canonical order
/// ([`canonical_curve`]).
fn curve_signature(curve: &DemandCurve, sig: &mut Vec<f64>) {
    match curve {
        DemandCurve::ConstantElasticity {
            reference_t,
            reference_usd_per_t,
            elasticity,
            credit_usd_per_t,
            floor_usd_per_t,
        } => sig.extend([
            0.0,
            *reference_t,
            *reference_usd_per_t,
            *elasticity,
            *credit_usd_per_t,
            *floor_usd_per_t,
        ]),
        DemandCurve::Plants {
            bids,
            stock_elasticity,
        } => {
            sig.extend([1.0, *stock_elasticity, bids.len() as f64]);
            sig.extend(bids.iter().flat_map(bid_key));
        }
        DemandCurve::Stocked {
            consumption,
            stock,
            orders,
        } => {
            sig.extend([
                2.0,
                stock.target_t,
                stock.stock_t,
                stock.adjustment,
                stock.expected_usd_per_t,
                stock.elasticity,
                orders.len() as f64,
            ]);
            sig.extend(orders.iter().flat_map(order_key));
            curve_signature(consumption, sig);
        }
    }
}

fn bid_key(b: &PlantBid) -> [f64; 4] {
    [b.netback_usd_per_t, b.run_t, b.cover_t, b.stock_t]
}

fn order_key(o: &StockOrderTerms) -> [f64; 4] {
    [
        o.buy_below_usd_per_t,
        o.release_above_usd_per_t,
        o.buy_t,
        o.release_t,
    ]
}

/// A demand curve with its plants' bids and stock orders sorted by their numbers, so that its
/// sums do not depend on the order in which the caller listed them. (Stable sorts: the bids of a
/// host come largely in runs, which the stable sort merges faster than an unstable one sorts.)
fn canonical_curve(curve: &mut DemandCurve) {
    match curve {
        DemandCurve::ConstantElasticity { .. } => {}
        DemandCurve::Plants { bids, .. } => {
            bids.sort_by(|a, b| cmp_array(&bid_key(a), &bid_key(b)));
        }
        DemandCurve::Stocked {
            consumption,
            orders,
            ..
        } => {
            orders.sort_by(|a, b| cmp_array(&order_key(a), &order_key(b)));
            canonical_curve(consumption);
        }
    }
}

/// Whether a demand curve is already in the order [`canonical_curve`] puts it in.
fn is_canonical(curve: &DemandCurve) -> bool {
    match curve {
        DemandCurve::ConstantElasticity { .. } => true,
        DemandCurve::Plants { bids, .. } => {
            bids.is_sorted_by(|a, b| cmp_array(&bid_key(a), &bid_key(b)).is_le())
        }
        DemandCurve::Stocked {
            consumption,
            orders,
            ..
        } => {
            orders.is_sorted_by(|a, b| cmp_array(&order_key(a), &order_key(b)).is_le())
                && is_canonical(consumption)
        }
    }
}

/// Buffers of [`solve_with`] kept between solves, so that a solve's setup allocates (almost)
/// nothing in steady state. Holds no state that carries over: every solve clears what it uses.
#[derive(Debug, Default)]
pub struct SolveScratch {
    /// Sort key of each lot, `[tonnes, lower band edge, band width]`.
    keys: Vec<[f64; 3]>,
    /// Each nation's lots with tonnes, in canonical order.
    lots_of: Vec<Vec<usize>>,
    /// One nation's lots with their keys, while they are sorted.
    keyed: Vec<([f64; 3], usize)>,
    /// Events of one supply curve.
    events: Vec<(f64, f64, f64)>,
    /// Every buyer's signature, one after the other (`sig_start[b]..sig_start[b + 1]`).
    sig: Vec<f64>,
    sig_start: Vec<usize>,
    /// Buyers in canonical order, by input position.
    buyer_order: Vec<usize>,
    /// The problem's exporters, supply curves, links and per-buyer shifts (see [`Problem`]).
    exporters: Vec<usize>,
    supply: Vec<Supply>,
    entries: Vec<Vec<Entry>>,
    start: Vec<usize>,
    links_of: Vec<Vec<(usize, usize)>>,
    shift: Vec<f64>,
    /// Inner vectors of `supply`, `entries` and `links_of` not in use by the current solve,
    /// kept with their capacity for a solve with more exporters or buyers.
    spare_supply: Vec<Supply>,
    spare_entries: Vec<Vec<Entry>>,
    spare_links: Vec<Vec<(usize, usize)>>,
    /// Newton's buffers.
    work: Work,
    /// `finish`'s tonnes per (exporter, buyer) nation pair (`n × n`, zero between solves) and
    /// tonnes dispatched per lot.
    pairs: Vec<f64>,
    dispatched: Vec<f64>,
}

/// `v` with exactly `len` elements: extra ones moved to `spare`, missing ones taken from it
/// (or new), so that inner buffers keep their capacity from solve to solve.
fn fit<T: Default>(v: &mut Vec<T>, spare: &mut Vec<T>, len: usize) {
    while v.len() > len {
        if let Some(x) = v.pop() {
            spare.push(x);
        }
    }
    while v.len() < len {
        v.push(spare.pop().unwrap_or_default());
    }
}

/// Solve the equilibrium of one commodity. `warm` holds starting producer prices by nation
/// (e.g. last step's; non-positive entries start at the geometric mean of the guards).
pub fn solve(
    lots: &[Lot],
    buyers: &[Buyer],
    links: &Links,
    settings: &SolverSettings,
    warm: &[f64],
) -> Solution {
    solve_with(
        &mut SolveScratch::default(),
        lots,
        buyers,
        links,
        settings,
        warm,
    )
}

/// [`solve`] with its setup buffers taken from (and left in) `scratch`; the solution is the same
/// to the bit whatever `scratch` held.
pub fn solve_with(
    scratch: &mut SolveScratch,
    lots: &[Lot],
    buyers: &[Buyer],
    links: &Links,
    settings: &SolverSettings,
    warm: &[f64],
) -> Solution {
    let SolveScratch {
        keys,
        lots_of,
        keyed,
        events,
        sig,
        sig_start,
        buyer_order,
        exporters: exporters_buf,
        supply: supply_buf,
        entries: entries_buf,
        start: start_buf,
        links_of: links_of_buf,
        shift: shift_buf,
        work: work_buf,
        spare_supply,
        spare_entries,
        spare_links,
        pairs,
        dispatched,
    } = scratch;
    let n = links.n;
    let w = settings.smoothing.clamp(1e-6, 0.999);
    let settings = SolverSettings {
        smoothing: w,
        sigma: settings.sigma.max(1e-6),
        ..*settings
    };
    // Canonical, id-free evaluation order (docs/ODD.md §7.6, "Order independence"): every sum,
    // the rows and pivots of the linear solves and every iteration run over lots, exporters and
    // buyers sorted by keys made of the numbers that enter the computation, never by index, so
    // renaming or reordering ids changes no bit of the solution. Elements with equal keys carry
    // equal numbers, so their relative order cannot change a sum either.
    // A lot that cannot run below the ceiling guard is not offered (it could never pay).
    let offered = |lot: &Lot| lot.quantity_t > 0.0 && lot.band(w).0 < settings.ceiling_usd_per_t;
    keys.clear();
    keys.extend(lots.iter().map(|lot| {
        let (lo, width) = lot.band(w);
        [lot.quantity_t, lo, width]
    }));
    let keys: &[[f64; 3]] = keys;
    let lot_key = |i: usize| keys[i];
    // Each nation's lots with tonnes, in canonical order.
    lots_of.truncate(n);
    lots_of.resize_with(n, Vec::new);
    for list in lots_of.iter_mut() {
        list.clear();
    }
    for (i, lot) in lots.iter().enumerate() {
        if lot.quantity_t > 0.0 {
            lots_of[usize::from(lot.host.0)].push(i);
        }
    }
    // Sorted by key, equal keys in index order (the order of a stable sort of the indices), as
    // (key, index) pairs side by side: no lookup per comparison, no merge buffer per list.
    for list in lots_of.iter_mut() {
        if list.len() < 2 {
            continue;
        }
        keyed.clear();
        keyed.extend(list.iter().map(|&i| (keys[i], i)));
        keyed.sort_unstable_by(|a, b| cmp_array(&a.0, &b.0).then(a.1.cmp(&b.1)));
        list.clear();
        list.extend(keyed.iter().map(|k| k.1));
    }
    let lots_of: &[Vec<usize>] = lots_of;
    let potential: Vec<f64> = lots_of
        .iter()
        .map(|list| {
            list.iter()
                .filter(|&&i| offered(&lots[i]))
                .map(|&i| lots[i].quantity_t)
                .sum()
        })
        .collect();
    // Float dust (e.g. 1e-15 t of feed stock left by a pro-rata split) is not an offer: an
    // exporter needs more than 1e-12 of the world's potential supply.
    let world: f64 = {
        let mut sorted = potential.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.iter().sum()
    };
    // Link attributes of (exporter h, buyer nation b): access (and quota cap), markup,
    // transport, preference; a closed link is only "closed".
    let link_key = |h: usize, b: usize| -> [f64; 5] {
        let at = h * n + b;
        let pref = links.ln_preference[at];
        match links.access[at] {
            Access::Blocked => [1.0, 0.0, 0.0, 0.0, 0.0],
            _ if !pref.is_finite() => [1.0, 0.0, 0.0, 0.0, 0.0],
            Access::Open => [
                0.0,
                0.0,
                links.markup[at],
                links.transport_usd_per_t[at],
                pref,
            ],
            Access::Quota(k) => [
                2.0,
                links.quota_t.get(k).copied().unwrap_or(0.0),
                links.markup[at],
                links.transport_usd_per_t[at],
                pref,
            ],
        }
    };
    // Exporters: nations with potential supply, sorted by potential, then their lots, then the
    // multiset of their links.
    let exporter_links = |h: usize| {
        let mut v: Vec<[f64; 5]> = buyers
            .iter()
            .map(|b| link_key(h, usize::from(b.nation.0)))
            .collect();
        v.sort_by(|a, b| cmp_keys(a, b));
        v
    };
    let mut exporters = std::mem::take(exporters_buf);
    exporters.clear();
    exporters.extend((0..n).filter(|&h| potential[h] > 1e-12 * world));
    exporters.sort_by(|&a, &b| {
        potential[a]
            .total_cmp(&potential[b])
            .then_with(|| lots_of[a].len().cmp(&lots_of[b].len()))
            .then_with(|| {
                lots_of[a]
                    .iter()
                    .zip(&lots_of[b])
                    .map(|(&i, &j)| cmp_keys(&lot_key(i), &lot_key(j)))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            })
            .then_with(|| {
                let (la, lb) = (exporter_links(a), exporter_links(b));
                la.iter()
                    .zip(&lb)
                    .map(|(x, y)| cmp_keys(x, y))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            })
    });
    let mut position = vec![usize::MAX; n];
    for (e, &h) in exporters.iter().enumerate() {
        position[h] = e;
    }
    let mut supply = std::mem::take(supply_buf);
    fit(&mut supply, spare_supply, exporters.len());
    for (s, &h) in supply.iter_mut().zip(&exporters) {
        let l = lots_of[h].iter().filter(|&&i| offered(&lots[i])).map(|&i| {
            let [q, lo, width] = lot_key(i);
            (q, lo, width)
        });
        s.fill(l, events);
    }
    // Buyers: each with its plants' bids and stock orders in canonical order (a copy only when
    // they are not in it already), sorted by their demand curve, their sourcing rule, then their
    // links from the exporters in canonical order.
    let canonical_buyers: Vec<Cow<'_, Buyer>> = buyers
        .iter()
        .map(|b| {
            if is_canonical(&b.curve) {
                Cow::Borrowed(b)
            } else {
                let mut buyer = b.clone();
                canonical_curve(&mut buyer.curve);
                Cow::Owned(buyer)
            }
        })
        .collect();
    sig.clear();
    sig_start.clear();
    sig_start.push(0);
    for b in &canonical_buyers {
        curve_signature(&b.curve, sig);
        match &b.sourcing {
            Some(r) => sig.extend([1.0, r.premium_usd_per_t, r.required_share]),
            None => sig.push(0.0),
        }
        for &h in &exporters {
            sig.extend(link_key(h, usize::from(b.nation.0)));
        }
        sig_start.push(sig.len());
    }
    let buyer_sig = |b: usize| &sig[sig_start[b]..sig_start[b + 1]];
    buyer_order.clear();
    buyer_order.extend(0..buyers.len());
    buyer_order.sort_by(|&a, &b| cmp_keys(buyer_sig(a), buyer_sig(b)));
    let mut slots: Vec<Option<Cow<'_, Buyer>>> = canonical_buyers.into_iter().map(Some).collect();
    let canonical_buyers: Vec<Cow<'_, Buyer>> = buyer_order
        .iter()
        .map(|&b| slots[b].take().expect("each buyer once"))
        .collect();
    let buyers = canonical_buyers.as_slice();

    // ln κ_h, once per exporter (the same value for every buyer's link from h).
    let ln_supply_share: Vec<f64> = exporters
        .iter()
        .map(|&h| (potential[h] / world).ln())
        .collect();
    // Qualifying shares per (buyer with a rule, exporter), potential-weighted.
    let mut entries = std::mem::take(entries_buf);
    fit(&mut entries, spare_entries, buyers.len());
    for (row, buyer) in entries.iter_mut().zip(buyers) {
        {
            let b = usize::from(buyer.nation.0);
            let mut qualifying = Vec::new();
            if let Some(rule) = &buyer.sourcing {
                qualifying.resize(exporters.len(), 0.0);
                for (e, &h) in exporters.iter().enumerate() {
                    for &i in &lots_of[h] {
                        if rule.qualifies.get(i) == Some(&true) && offered(&lots[i]) {
                            qualifying[e] += lots[i].quantity_t;
                        }
                    }
                }
            }
            // Capacity for every exporter: no regrowth while the links are collected.
            row.clear();
            row.reserve(exporters.len());
            row.extend(exporters.iter().enumerate().filter_map(|(e, &h)| {
                let at = h * n + b;
                let quota = match links.access[at] {
                    Access::Blocked => return None,
                    Access::Open => None,
                    Access::Quota(k) => Some(k),
                };
                let pref = links.ln_preference[at];
                if !pref.is_finite() {
                    return None;
                }
                Some(Entry {
                    e,
                    markup: links.markup[at],
                    transport: links.transport_usd_per_t[at],
                    ln_weight: ln_supply_share[e] + pref,
                    quota,
                    // 0 / potential = 0 exactly for a buyer without a rule.
                    qualifying: qualifying.get(e).copied().unwrap_or(0.0) / potential[h],
                    weight: 0.0,
                })
            }));
        }
    }

    let lo = settings.floor_usd_per_t.ln();
    let hi = settings.ceiling_usd_per_t.ln();
    let mut u: Vec<f64> = exporters
        .iter()
        .map(|&h| {
            let p = warm.get(h).copied().unwrap_or(0.0);
            if p > 0.0 && p.is_finite() {
                p.ln().clamp(lo, hi)
            } else {
                0.5 * (lo + hi)
            }
        })
        .collect();
    // Shift each buyer's log weights by their maximum at the starting prices.
    let sigma = settings.sigma;
    let start_price: Vec<f64> = u.iter().map(|x| x.exp()).collect();
    let mut shift = std::mem::take(shift_buf);
    shift.clear();
    shift.extend(
        entries
            .iter()
            .map(|es| {
                es.iter()
                    .map(|en| {
                        en.ln_weight - sigma * (en.markup * start_price[en.e] + en.transport).ln()
                    })
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .map(|s| if s.is_finite() { s } else { 0.0 }),
    );
    for (es, s) in entries.iter_mut().zip(&shift) {
        for en in es {
            en.weight = (en.ln_weight - s).exp();
        }
    }
    let sigma_int = (sigma.fract() == 0.0 && (1.0..=64.0).contains(&sigma)).then_some(sigma as i32);
    let mut start = std::mem::take(start_buf);
    start.clear();
    start.push(0);
    let mut links_of = std::mem::take(links_of_buf);
    fit(&mut links_of, spare_links, exporters.len());
    for list in links_of.iter_mut() {
        list.clear();
        list.reserve(entries.len());
    }
    for (b, es) in entries.iter().enumerate() {
        start.push(start[b] + es.len());
        for (j, en) in es.iter().enumerate() {
            links_of[en.e].push((b, j));
        }
    }
    let problem = Problem {
        settings,
        buyers,
        exporters,
        supply,
        entries,
        start,
        links_of,
        shift,
        sigma_int,
        weight_range: ((-700f64).exp(), 700f64.exp()),
    };
    let mut work = std::mem::take(work_buf);
    problem.reset_work(&mut work);

    let n_quotas = links.quota_t.len();
    let mut lambda = vec![0.0; n_quotas];
    let mut premium: Vec<f64> = buyers
        .iter()
        .map(|b| b.sourcing.as_ref().map_or(0.0, |r| r.premium_usd_per_t))
        .collect();
    let mut budget = settings.max_iterations.max(1);
    let mut converged = problem.newton(&mut u, &lambda, &premium, &mut budget, &mut work);
    let has_outer = n_quotas > 0 || buyers.iter().any(|b| b.sourcing.is_some());
    let mut rounds = 0;
    while has_outer && rounds < settings.max_iterations {
        rounds += 1;
        let p = problem.prices(&u);
        let mut changed = false;
        // Quota shadow prices: bisection on λ_k with prices held.
        for k in 0..n_quotas {
            let cap = links.quota_t[k].max(0.0);
            let flow_at = |l: f64, lambda: &mut Vec<f64>| {
                lambda[k] = l;
                problem.quota_flow(&problem.eval(&p, lambda, &premium), k)
            };
            let old = lambda[k];
            let mut trial = lambda.clone();
            let new = if flow_at(0.0, &mut trial) <= cap * (1.0 + settings.tolerance) {
                0.0
            } else {
                let mut b = settings.ceiling_usd_per_t.max(1.0);
                let mut tries = 0;
                while flow_at(b, &mut trial) > cap && tries < 60 {
                    b *= 2.0;
                    tries += 1;
                }
                let mut a = 0.0;
                for _ in 0..80 {
                    let m = 0.5 * (a + b);
                    if flow_at(m, &mut trial) > cap {
                        a = m;
                    } else {
                        b = m;
                    }
                }
                0.5 * (a + b)
            };
            lambda[k] = new;
            let scale = settings.floor_usd_per_t.max(1e-9);
            if (new - old).abs() > settings.tolerance * scale {
                changed = true;
            }
        }
        // Sourcing premiums: earned on qualifying tonnes up to the required share.
        let ev = problem.eval(&p, &lambda, &premium);
        for (b, buyer) in buyers.iter().enumerate() {
            let Some(rule) = &buyer.sourcing else {
                continue;
            };
            let qualifying: f64 = problem.entries[b]
                .iter()
                .zip(problem.row(&ev, b))
                .map(|(en, f)| f.x * en.qualifying)
                .sum();
            let target = rule.required_share * ev.quantity[b];
            let full = rule.premium_usd_per_t;
            let wanted = if qualifying > target && qualifying > 0.0 {
                full * target / qualifying
            } else {
                full
            };
            let next = 0.5 * premium[b] + 0.5 * wanted;
            if (next - premium[b]).abs() > settings.tolerance * full.max(1e-9) * 10.0 {
                changed = true;
            }
            premium[b] = next;
        }
        if !changed {
            break;
        }
        converged = problem.newton(&mut u, &lambda, &premium, &mut budget, &mut work) && converged;
        if budget == 0 {
            converged = false;
            break;
        }
    }
    let iterations = settings.max_iterations.max(1) - budget;
    // Newton returns with `work` evaluated at `u` (its last point). That evaluation is the one
    // `finish` needs unless the outer loop moved a quota shadow price or a premium after the last
    // Newton call; the arithmetic is the same either way, so re-using it changes no bit.
    let last = (work.lambda_at == lambda && work.premium_at == premium).then_some(&work);
    let solution = finish(
        &problem, lots, buyers, links, &u, &lambda, &premium, &position, lots_of, iterations,
        converged, last, pairs, dispatched,
    );
    // The problem's buffers back into the scratch, for the next solve.
    let Problem {
        exporters,
        supply,
        entries,
        start,
        links_of,
        shift,
        ..
    } = problem;
    *exporters_buf = exporters;
    *supply_buf = supply;
    *entries_buf = entries;
    *start_buf = start;
    *links_of_buf = links_of;
    *shift_buf = shift;
    *work_buf = work;
    solution
}

/// Flows, rationing, dispatch and reports at the solved prices.
#[allow(clippy::too_many_arguments)]
fn finish(
    problem: &Problem<'_>,
    lots: &[Lot],
    buyers: &[Cow<'_, Buyer>],
    links: &Links,
    u: &[f64],
    lambda: &[f64],
    premium: &[f64],
    position: &[usize],
    lots_of: &[Vec<usize>],
    iterations: u32,
    converged: bool,
    last: Option<&Work>,
    pairs: &mut Vec<f64>,
    dispatched: &mut Vec<f64>,
) -> Solution {
    let n = links.n;
    let w = problem.settings.smoothing;
    let fresh;
    let (p, ev) = match last {
        Some(work) => (&work.p, &work.ev),
        None => {
            let p = problem.prices(u);
            let ev = problem.eval(&p, lambda, premium);
            fresh = (p, ev);
            (&fresh.0, &fresh.1)
        }
    };
    // Each exporter ships min(S, E): rations its buyers pro rata when S < E (ceiling guard),
    // dispatches its lots pro rata to F when S > E (floor guard or float dust).
    let mut ship_scale = vec![1.0; p.len()];
    let mut lot_scale = vec![1.0; p.len()];
    for (e, s) in problem.supply.iter().enumerate() {
        let supplied = s.at(p[e]).0;
        let sold = ev.sold[e];
        if sold > supplied {
            ship_scale[e] = if sold > 0.0 { supplied / sold } else { 0.0 };
        } else if supplied > 0.0 {
            lot_scale[e] = sold / supplied;
        }
    }
    let mut producer = vec![0.0; n];
    for (e, &h) in problem.exporters.iter().enumerate() {
        producer[h] = p[e];
    }
    let mut buyer_price = vec![0.0; n];
    let mut demand = vec![0.0; n];
    let mut received = vec![0.0; n];
    // Zero on entry (left so by the last solve, or new); only exporter-buyer cells are written.
    pairs.resize(n * n, 0.0);
    let mut rent = vec![0.0; n];
    let any_rule = buyers.iter().any(|b| b.sourcing.is_some());
    let mut qualifying = if any_rule { vec![0.0; n] } else { Vec::new() };
    // Dispatched-weighted qualifying share per (buyer, exporter) for the report.
    dispatched.clear();
    dispatched.extend(lots.iter().map(|lot| {
        let e = position[usize::from(lot.host.0)];
        if e == usize::MAX || lot.quantity_t <= 0.0 {
            0.0
        } else {
            let (lo, width) = lot.band(w);
            lot.quantity_t * ramp_band(p[e], lo, width).0 * lot_scale[e]
        }
    }));
    let dispatched: &[f64] = dispatched;
    // Sums over lots in canonical order (see `solve`).
    let by_exporter: Vec<f64> = problem
        .exporters
        .iter()
        .map(|&h| lots_of[h].iter().map(|&i| dispatched[i]).sum())
        .collect();
    for (b, buyer) in buyers.iter().enumerate() {
        let bn = usize::from(buyer.nation.0);
        buyer_price[bn] = ev.price[b];
        demand[bn] += ev.quantity[b];
        let mut qual_share = Vec::new();
        if let Some(rule) = &buyer.sourcing {
            qual_share.resize(problem.exporters.len(), 0.0);
            for (e, &h) in problem.exporters.iter().enumerate() {
                if by_exporter[e] > 0.0 {
                    for &i in &lots_of[h] {
                        if rule.qualifies.get(i) == Some(&true) {
                            qual_share[e] += dispatched[i] / by_exporter[e];
                        }
                    }
                }
            }
        }
        for (en, f) in problem.entries[b].iter().zip(problem.row(ev, b)) {
            let h = problem.exporters[en.e];
            // A quota with nothing left (used up by offtake contracts) ships nothing: its
            // shadow price, bisected towards infinity, leaves flows of 10⁻¹⁵⁰ t whose presence
            // depends on the order of the sums; their limit is 0.
            let x = if en.quota.is_some_and(|k| links.quota_t[k] <= 0.0) {
                0.0
            } else {
                f.x * ship_scale[en.e]
            };
            pairs[h * n + bn] += x;
            received[bn] += x;
            if let Some(k) = en.quota {
                rent[h] += lambda[k] * x;
            }
            if any_rule && buyer.sourcing.is_some() {
                qualifying[bn] += x * qual_share[en.e];
            }
        }
    }
    let mut seen = vec![false; n];
    let buyer_nations: Vec<usize> = buyers
        .iter()
        .map(|b| usize::from(b.nation.0))
        .filter(|&b| !std::mem::replace(&mut seen[b], true))
        .collect();
    // Shipments by (exporter, buyer) nation index, ascending: only exporter-buyer cells can be
    // non-zero, so the rest of the `n × n` table is not read.
    let mut ascending = buyer_nations.clone();
    ascending.sort_unstable();
    let mut shipments = Vec::new();
    for (h, &e) in position.iter().enumerate().take(n) {
        if e == usize::MAX {
            continue;
        }
        for &b in &ascending {
            let t = pairs[h * n + b];
            if t > 0.0 {
                shipments.push(Shipment {
                    from: NationIdx(h as u16),
                    to: NationIdx(b as u16),
                    t,
                });
            }
        }
    }
    // Totals summed in canonical order (exporters, then buyers, as in `solve`). Lots are
    // dispatched so that each exporter's lots sum to what it shipped.
    let (mut volume, mut value) = (0.0, 0.0);
    let mut shipped = vec![0.0; n];
    for &h in &problem.exporters {
        for &b in &buyer_nations {
            let t = pairs[h * n + b];
            if t > 0.0 {
                volume += t;
                value += t * producer[h];
                shipped[h] += t;
            }
        }
    }
    let dispatched_t: Vec<f64> = lots
        .iter()
        .zip(dispatched)
        .map(|(lot, d)| {
            let e = position[usize::from(lot.host.0)];
            if e == usize::MAX || by_exporter[e] <= 0.0 {
                0.0
            } else {
                d * shipped[usize::from(lot.host.0)] / by_exporter[e]
            }
        })
        .collect();
    // The pair table zeroed again for the next solve (only these cells were written).
    for &h in &problem.exporters {
        for &b in &buyer_nations {
            pairs[h * n + b] = 0.0;
        }
    }
    Solution {
        producer_usd_per_t: producer,
        buyer_usd_per_t: buyer_price,
        demand_t: demand,
        received_t: received,
        shipments,
        dispatched_t,
        quota_shadow_usd_per_t: lambda.to_vec(),
        quota_rent_usd: rent,
        qualifying_t: qualifying,
        transaction_usd_per_t: (volume > 0.0).then(|| value / volume),
        iterations,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SolverSettings {
        SolverSettings {
            sigma: 4.0,
            smoothing: 0.05,
            tolerance: 1e-10,
            max_iterations: 200,
            floor_usd_per_t: 10.0,
            ceiling_usd_per_t: 10_000.0,
        }
    }

    fn lot(asset: u32, host: u16, q: f64, r: f64) -> Lot {
        Lot {
            asset: AssetIdx(asset),
            host: NationIdx(host),
            quantity_t: q,
            reservation_usd_per_t: r,
            half_band_usd_per_t: None,
        }
    }

    fn fixed(nation: u16, t: f64) -> Buyer {
        Buyer {
            nation: NationIdx(nation),
            curve: DemandCurve::ConstantElasticity {
                reference_t: t,
                reference_usd_per_t: 1000.0,
                elasticity: 0.0,
                credit_usd_per_t: 0.0,
                floor_usd_per_t: 10.0,
            },
            sourcing: None,
        }
    }

    #[test]
    fn the_inlined_negative_power_is_powi_to_the_bit() {
        let mut x = 0.37_f64;
        for _ in 0..2000 {
            // A spread of magnitudes: 1e-3 .. 1e6, irregular mantissas.
            x = (x * 7.123_456_789 + 0.011).fract();
            let d = 1e-3 + x * 10f64.powi((x * 9.0) as i32);
            for k in 1..=64 {
                assert_eq!(recip_powi(d, k).to_bits(), d.powi(-k).to_bits(), "{d}^-{k}");
            }
        }
    }

    #[test]
    fn the_supply_curve_is_the_smoothed_staircase() {
        let s = Supply::new(
            [(10.0, 90.0, 20.0), (5.0, 180.0, 40.0)].into_iter(),
            &mut Vec::new(),
        );
        assert_eq!(s.at(80.0).0, 0.0);
        assert!((s.at(100.0).0 - 5.0).abs() < 1e-12);
        assert!((s.at(150.0).0 - 10.0).abs() < 1e-12);
        assert!((s.at(200.0).0 - 12.5).abs() < 1e-12);
        assert_eq!(s.at(1e9).0, 15.0);
    }

    #[test]
    fn one_exporter_clears_at_the_point_on_its_supply_band() {
        // 100 t at r = 500 with ±5%: a fixed 60 t clears at 475 + 0.6·50 = 505.
        let out = solve(
            &[lot(0, 0, 100.0, 500.0)],
            &[fixed(1, 60.0)],
            &Links::open(2),
            &settings(),
            &[],
        );
        assert!(out.converged);
        assert!((out.producer_usd_per_t[0] - 505.0).abs() < 1e-6);
        assert!((out.received_t[1] - 60.0).abs() < 1e-9);
        assert!((out.dispatched_t[0] - 60.0).abs() < 1e-9);
    }

    #[test]
    fn equal_lots_share_evenly_whatever_their_ids() {
        let out = solve(
            &[lot(7, 0, 10.0, 100.0), lot(1, 0, 10.0, 100.0)],
            &[fixed(1, 15.0)],
            &Links::open(2),
            &settings(),
            &[],
        );
        assert!((out.dispatched_t[0] - 7.5).abs() < 1e-9);
        assert!((out.dispatched_t[1] - 7.5).abs() < 1e-9);
    }

    #[test]
    fn a_buyer_cut_off_from_every_supplier_gets_nothing_at_the_guard_price() {
        let mut links = Links::open(2);
        links.access[1] = Access::Blocked;
        let out = solve(
            &[lot(0, 0, 100.0, 500.0)],
            &[fixed(0, 10.0), fixed(1, 20.0)],
            &links,
            &settings(),
            &[],
        );
        assert_eq!(out.received_t[1], 0.0);
        assert_eq!(out.buyer_usd_per_t[1], 10_000.0);
        assert!((out.received_t[0] - 10.0).abs() < 1e-9);
    }

    #[test]
    fn demand_above_capacity_is_rationed_at_the_ceiling() {
        let out = solve(
            &[lot(0, 0, 10.0, 500.0)],
            &[fixed(1, 20.0)],
            &Links::open(2),
            &settings(),
            &[],
        );
        assert_eq!(out.producer_usd_per_t[0], 10_000.0);
        assert!((out.received_t[1] - 10.0).abs() < 1e-9);
        assert_eq!(out.demand_t[1], 20.0);
    }
}
