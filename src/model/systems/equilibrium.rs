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
//!   stalls, a Gauss–Seidel sweep of per-exporter bisections (Takayama & Judge 1971; Samuelson
//!   1952). Prices are bounded by the floor and ceiling guards: an exporter at the ceiling with
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
        let ratio = (v / p).powf(eta);
        let g = self.run_t + self.cover_t * ratio - self.stock_t;
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
                for o in orders {
                    let (b, db, r, dr) = o.at(p, smoothing);
                    x += b - r;
                    dx += db - dr;
                }
                if x <= 0.0 {
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
struct Supply {
    x: Vec<f64>,
    value: Vec<f64>,
    slope: Vec<f64>,
    /// Potential (all lots at full output), t.
    total: f64,
}

impl Supply {
    fn new(lots: &[(f64, f64)], w: f64) -> Self {
        // Events: (price, slope change, jump).
        let mut events: Vec<(f64, f64, f64)> = Vec::with_capacity(lots.len() * 2);
        let mut total = 0.0;
        for &(q, r) in lots {
            if q <= 0.0 {
                continue;
            }
            total += q;
            let width = 2.0 * w * r;
            if width > 0.0 {
                events.push((r * (1.0 - w), q / width, 0.0));
                events.push((r * (1.0 - w) + width, -q / width, 0.0));
            } else {
                events.push((r, 0.0, q));
            }
        }
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut x = Vec::with_capacity(events.len());
        let mut value = Vec::with_capacity(events.len());
        let mut slope = Vec::with_capacity(events.len());
        let (mut v, mut s, mut last) = (0.0, 0.0, f64::NEG_INFINITY);
        for (p, ds, jump) in events {
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
        Supply {
            x,
            value,
            slope,
            total,
        }
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
    buyers: &'a [Buyer],
    exporters: Vec<usize>,
    supply: Vec<Supply>,
    entries: Vec<Vec<Entry>>,
    /// Log-weight shift per buyer (keeps exponentials in range).
    shift: Vec<f64>,
}

/// Result of evaluating flows at prices.
struct Eval {
    flows: Vec<Vec<Flow>>,
    price: Vec<f64>,
    quantity: Vec<f64>,
    elasticity: Vec<f64>,
    sold: Vec<f64>,
}

impl Problem<'_> {
    /// Prices from log prices; exactly the guard at a bound.
    fn prices(&self, u: &[f64]) -> Vec<f64> {
        let lo = self.settings.floor_usd_per_t.ln();
        let hi = self.settings.ceiling_usd_per_t.ln();
        u.iter()
            .map(|&x| {
                if x >= hi {
                    self.settings.ceiling_usd_per_t
                } else if x <= lo {
                    self.settings.floor_usd_per_t
                } else {
                    x.exp()
                }
            })
            .collect()
    }

    fn eval(&self, p: &[f64], lambda: &[f64], premium: &[f64]) -> Eval {
        let sigma = self.settings.sigma;
        let mut flows = Vec::with_capacity(self.buyers.len());
        let mut price = vec![0.0; self.buyers.len()];
        let mut quantity = vec![0.0; self.buyers.len()];
        let mut elasticity = vec![0.0; self.buyers.len()];
        let mut sold = vec![0.0; self.exporters.len()];
        for (b, buyer) in self.buyers.iter().enumerate() {
            let entries = &self.entries[b];
            let mut row: Vec<Flow> = Vec::with_capacity(entries.len());
            let mut w_sum = 0.0;
            let mut v_sum = 0.0;
            for en in entries {
                let d = en.markup * p[en.e] + en.transport + en.quota.map_or(0.0, |k| lambda[k]);
                let d_tilde = (d - premium[b] * en.qualifying).max(1e-3 * d).max(1e-300);
                let lw = (en.ln_weight - sigma * d_tilde.ln() - self.shift[b]).clamp(-700.0, 700.0);
                let w = lw.exp();
                w_sum += w;
                v_sum += w * d;
                row.push(Flow {
                    d,
                    d_tilde,
                    share: w,
                    x: 0.0,
                });
            }
            if w_sum > 0.0 {
                let pb = v_sum / w_sum;
                let (xb, eta) = buyer.curve.at(pb, self.settings.smoothing);
                for f in &mut row {
                    f.share /= w_sum;
                    f.x = f.share * xb;
                }
                for (f, en) in row.iter().zip(entries) {
                    sold[en.e] += f.x;
                }
                price[b] = pb;
                quantity[b] = xb;
                elasticity[b] = eta;
            } else {
                let (xb, _) = buyer.curve.at(self.settings.ceiling_usd_per_t, 0.0);
                price[b] = self.settings.ceiling_usd_per_t;
                quantity[b] = xb;
            }
            flows.push(row);
        }
        Eval {
            flows,
            price,
            quantity,
            elasticity,
            sold,
        }
    }

    /// Excess supply of each exporter.
    fn excess(&self, p: &[f64], ev: &Eval) -> Vec<f64> {
        self.supply
            .iter()
            .zip(p)
            .zip(&ev.sold)
            .map(|((s, &p), sold)| s.at(p).0 - sold)
            .collect()
    }

    /// Jacobian of excess supply in log prices, `J[h][k] = ∂Z_h / ∂ln p_k`.
    fn jacobian(&self, p: &[f64], ev: &Eval) -> Vec<Vec<f64>> {
        let ne = self.exporters.len();
        let sigma = self.settings.sigma;
        let mut jac = vec![vec![0.0; ne]; ne];
        for (h, row) in jac.iter_mut().enumerate() {
            row[h] = self.supply[h].at(p[h]).1 * p[h];
        }
        for (b, entries) in self.entries.iter().enumerate() {
            let flows = &ev.flows[b];
            let pb = ev.price[b];
            if pb <= 0.0 {
                continue;
            }
            let eta = ev.elasticity[b];
            for (kk, ek) in entries.iter().enumerate() {
                let fk = flows[kk];
                let dd = ek.markup * p[ek.e];
                let e_k = dd / fk.d_tilde;
                // ∂ ln P_b / ∂ ln p_k
                let dlnp = fk.share * (dd - sigma * e_k * (fk.d - pb)) / pb;
                for (hh, eh) in entries.iter().enumerate() {
                    let fh = flows[hh];
                    if fh.x <= 0.0 {
                        continue;
                    }
                    let own = if hh == kk { 1.0 } else { 0.0 };
                    let dlnx = -sigma * e_k * (own - fk.share) + eta * dlnp;
                    jac[eh.e][ek.e] -= fh.x * dlnx;
                }
            }
        }
        jac
    }

    /// Residual with bound complementarity: zero for an exporter held at a bound that its
    /// excess pushes against.
    fn residual(&self, u: &[f64], z: &[f64], lo: f64, hi: f64) -> Vec<f64> {
        u.iter()
            .zip(z)
            .map(|(&u, &z)| {
                if (u >= hi && z < 0.0) || (u <= lo && z > 0.0) {
                    0.0
                } else {
                    z
                }
            })
            .collect()
    }

    fn merit(&self, r: &[f64]) -> f64 {
        r.iter()
            .zip(&self.supply)
            .map(|(r, s)| (r / s.total.max(1e-300)).powi(2))
            .sum()
    }

    /// Newton iteration on log producer prices for fixed quota shadow prices and premiums.
    fn newton(&self, u: &mut [f64], lambda: &[f64], premium: &[f64], budget: &mut u32) -> bool {
        let lo = self.settings.floor_usd_per_t.ln();
        let hi = self.settings.ceiling_usd_per_t.ln();
        let ne = u.len();
        let prices = |u: &[f64]| -> Vec<f64> { self.prices(u) };
        let mut p = prices(u);
        let mut ev = self.eval(&p, lambda, premium);
        let mut z = self.excess(&p, &ev);
        let mut r = self.residual(u, &z, lo, hi);
        let mut merit = self.merit(&r);
        loop {
            let worst = r
                .iter()
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
            let free: Vec<usize> = (0..ne)
                .filter(|&h| !((u[h] >= hi && z[h] < 0.0) || (u[h] <= lo && z[h] > 0.0)))
                .collect();
            let jac = self.jacobian(&p, &ev);
            let a: Vec<Vec<f64>> = free
                .iter()
                .map(|&i| free.iter().map(|&j| jac[i][j]).collect())
                .collect();
            let rhs: Vec<f64> = free.iter().map(|&i| -z[i]).collect();
            let mut improved = false;
            if let Some(step) = solve_linear(a, rhs) {
                let biggest = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
                let scale = if biggest > 1.0 { 1.0 / biggest } else { 1.0 };
                let mut t = scale;
                while t > 1e-6 {
                    let mut trial = u.to_vec();
                    for (k, &i) in free.iter().enumerate() {
                        trial[i] = (u[i] + t * step[k]).clamp(lo, hi);
                    }
                    let tp = prices(&trial);
                    let tev = self.eval(&tp, lambda, premium);
                    let tz = self.excess(&tp, &tev);
                    let tr = self.residual(&trial, &tz, lo, hi);
                    let tm = self.merit(&tr);
                    if tm < merit * (1.0 - 1e-4 * t) || tm == 0.0 {
                        u.copy_from_slice(&trial);
                        p = tp;
                        ev = tev;
                        z = tz;
                        r = tr;
                        merit = tm;
                        improved = true;
                        break;
                    }
                    t *= 0.5;
                }
            }
            if !improved {
                // Newton stalls where the Jacobian is (nearly) singular: along the common price
                // level when supply and demand are both inelastic (all lots running, fixed
                // orders). Move the level to where total excess supply is zero, then, if that did
                // not help, sweep per-exporter bisections (always progress on a monotone system).
                self.level_shift(u, lambda, premium);
                p = prices(u);
                ev = self.eval(&p, lambda, premium);
                z = self.excess(&p, &ev);
                r = self.residual(u, &z, lo, hi);
                let shifted = self.merit(&r);
                if shifted >= merit * (1.0 - 1e-4) {
                    self.bisection_sweep(u, lambda, premium);
                    p = prices(u);
                    ev = self.eval(&p, lambda, premium);
                    z = self.excess(&p, &ev);
                    r = self.residual(u, &z, lo, hi);
                }
                merit = self.merit(&r);
            }
        }
    }

    /// Shift every log price by a common `t` so that total excess supply is zero (bisection;
    /// total excess supply is non-decreasing in the common level). Prices stay within the guards.
    fn level_shift(&self, u: &mut [f64], lambda: &[f64], premium: &[f64]) {
        let lo = self.settings.floor_usd_per_t.ln();
        let hi = self.settings.ceiling_usd_per_t.ln();
        let base = u.to_vec();
        let total_at = |t: f64| {
            let trial: Vec<f64> = base.iter().map(|x| (x + t).clamp(lo, hi)).collect();
            let p = self.prices(&trial);
            let ev = self.eval(&p, lambda, premium);
            self.excess(&p, &ev).iter().sum::<f64>()
        };
        let down = lo - base.iter().fold(f64::INFINITY, |m, &x| m.min(x));
        let up = hi - base.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        let (mut a, mut b) = (down.min(0.0), up.max(0.0));
        if total_at(a) > 0.0 {
            b = a;
        } else if total_at(b) < 0.0 {
            a = b;
        } else {
            for _ in 0..32 {
                let m = 0.5 * (a + b);
                if total_at(m) > 0.0 {
                    b = m;
                } else {
                    a = m;
                }
            }
        }
        let t = 0.5 * (a + b);
        for (x, b) in u.iter_mut().zip(&base) {
            *x = (b + t).clamp(lo, hi);
        }
    }

    fn bisection_sweep(&self, u: &mut [f64], lambda: &[f64], premium: &[f64]) {
        let lo = self.settings.floor_usd_per_t.ln();
        let hi = self.settings.ceiling_usd_per_t.ln();
        for h in 0..u.len() {
            let z_at = |x: f64, u: &mut [f64]| {
                u[h] = x;
                let p = self.prices(u);
                let ev = self.eval(&p, lambda, premium);
                self.supply[h].at(p[h]).0 - ev.sold[h]
            };
            if z_at(hi, u) < 0.0 {
                u[h] = hi;
                continue;
            }
            if z_at(lo, u) > 0.0 {
                u[h] = lo;
                continue;
            }
            let (mut a, mut b) = (lo, hi);
            for _ in 0..36 {
                let m = 0.5 * (a + b);
                if z_at(m, u) > 0.0 {
                    b = m;
                } else {
                    a = m;
                }
            }
            u[h] = 0.5 * (a + b);
        }
    }

    /// Tonnes on the links of quota `k`.
    fn quota_flow(&self, ev: &Eval, k: usize) -> f64 {
        let mut total = 0.0;
        for (entries, flows) in self.entries.iter().zip(&ev.flows) {
            for (en, f) in entries.iter().zip(flows) {
                if en.quota == Some(k) {
                    total += f.x;
                }
            }
        }
        total
    }
}

/// Gaussian elimination with partial pivoting; `None` when (nearly) singular.
#[allow(clippy::needless_range_loop)]
fn solve_linear(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    let scale = a
        .iter()
        .flat_map(|r| r.iter())
        .fold(0.0f64, |m, x| m.max(x.abs()));
    if n == 0 {
        return Some(Vec::new());
    }
    if scale <= 0.0 || !scale.is_finite() {
        return None;
    }
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= 1e-13 * scale {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            if f != 0.0 {
                for k in col..n {
                    a[row][k] -= f * a[col][k];
                }
                b[row] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[i][k] * x[k];
        }
        x[i] = s / a[i][i];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
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
    let n = links.n;
    let w = settings.smoothing.clamp(1e-6, 0.999);
    let settings = SolverSettings {
        smoothing: w,
        sigma: settings.sigma.max(1e-6),
        ..*settings
    };
    // Exporters: nations with potential supply, in index order (the order only sequences the
    // arithmetic; the solution does not depend on it beyond the tolerance).
    // A lot that cannot run below the ceiling guard is not offered (it could never pay).
    let offered = |lot: &Lot| {
        lot.quantity_t > 0.0 && lot.reservation_usd_per_t * (1.0 - w) < settings.ceiling_usd_per_t
    };
    let mut potential = vec![0.0; n];
    for lot in lots.iter().filter(|l| offered(l)) {
        potential[usize::from(lot.host.0)] += lot.quantity_t;
    }
    // Float dust (e.g. 1e-15 t of feed stock left by a pro-rata split) is not an offer: an
    // exporter needs more than 1e-12 of the world's potential supply.
    let world_potential: f64 = potential.iter().sum();
    let exporters: Vec<usize> = (0..n)
        .filter(|&h| potential[h] > 1e-12 * world_potential)
        .collect();
    let mut position = vec![usize::MAX; n];
    for (e, &h) in exporters.iter().enumerate() {
        position[h] = e;
    }
    let mut per_exporter: Vec<Vec<(f64, f64)>> = vec![Vec::new(); exporters.len()];
    for lot in lots.iter().filter(|l| offered(l)) {
        let e = position[usize::from(lot.host.0)];
        if e != usize::MAX {
            per_exporter[e].push((lot.quantity_t, lot.reservation_usd_per_t.max(0.0)));
        }
    }
    let supply: Vec<Supply> = per_exporter.iter().map(|l| Supply::new(l, w)).collect();
    let world: f64 = potential.iter().sum();

    // Qualifying shares per (buyer with a rule, exporter), potential-weighted.
    let entries: Vec<Vec<Entry>> = buyers
        .iter()
        .map(|buyer| {
            let b = usize::from(buyer.nation.0);
            let mut qualifying = vec![0.0; exporters.len()];
            if let Some(rule) = &buyer.sourcing {
                for (lot, q) in lots.iter().zip(&rule.qualifies) {
                    let e = position[usize::from(lot.host.0)];
                    if *q && e != usize::MAX && offered(lot) {
                        qualifying[e] += lot.quantity_t;
                    }
                }
            }
            exporters
                .iter()
                .enumerate()
                .filter_map(|(e, &h)| {
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
                        ln_weight: (potential[h] / world).ln() + pref,
                        quota,
                        qualifying: qualifying[e] / potential[h],
                    })
                })
                .collect()
        })
        .collect();

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
    let shift: Vec<f64> = entries
        .iter()
        .map(|es| {
            es.iter()
                .map(|en| en.ln_weight - sigma * (en.markup * u[en.e].exp() + en.transport).ln())
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .map(|s| if s.is_finite() { s } else { 0.0 })
        .collect();
    let problem = Problem {
        settings,
        buyers,
        exporters,
        supply,
        entries,
        shift,
    };

    let n_quotas = links.quota_t.len();
    let mut lambda = vec![0.0; n_quotas];
    let mut premium: Vec<f64> = buyers
        .iter()
        .map(|b| b.sourcing.as_ref().map_or(0.0, |r| r.premium_usd_per_t))
        .collect();
    let mut budget = settings.max_iterations.max(1);
    let mut converged = problem.newton(&mut u, &lambda, &premium, &mut budget);
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
                .zip(&ev.flows[b])
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
        converged = problem.newton(&mut u, &lambda, &premium, &mut budget) && converged;
        if budget == 0 {
            converged = false;
            break;
        }
    }
    let iterations = settings.max_iterations.max(1) - budget;
    finish(
        &problem, lots, buyers, links, &u, &lambda, &premium, &position, iterations, converged,
    )
}

/// Flows, rationing, dispatch and reports at the solved prices.
#[allow(clippy::too_many_arguments)]
fn finish(
    problem: &Problem<'_>,
    lots: &[Lot],
    buyers: &[Buyer],
    links: &Links,
    u: &[f64],
    lambda: &[f64],
    premium: &[f64],
    position: &[usize],
    iterations: u32,
    converged: bool,
) -> Solution {
    let n = links.n;
    let w = problem.settings.smoothing;
    let p = problem.prices(u);
    let ev = problem.eval(&p, lambda, premium);
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
    let mut pairs = vec![0.0; n * n];
    let mut rent = vec![0.0; n];
    let any_rule = buyers.iter().any(|b| b.sourcing.is_some());
    let mut qualifying = if any_rule { vec![0.0; n] } else { Vec::new() };
    // Dispatched-weighted qualifying share per (buyer, exporter) for the report.
    let dispatched: Vec<f64> = lots
        .iter()
        .map(|lot| {
            let e = position[usize::from(lot.host.0)];
            if e == usize::MAX || lot.quantity_t <= 0.0 {
                0.0
            } else {
                lot.quantity_t * ramp(p[e], lot.reservation_usd_per_t.max(0.0), w).0 * lot_scale[e]
            }
        })
        .collect();
    let mut by_exporter = vec![0.0; problem.exporters.len()];
    for (lot, d) in lots.iter().zip(&dispatched) {
        let e = position[usize::from(lot.host.0)];
        if e != usize::MAX {
            by_exporter[e] += d;
        }
    }
    for (b, buyer) in buyers.iter().enumerate() {
        let bn = usize::from(buyer.nation.0);
        buyer_price[bn] = ev.price[b];
        demand[bn] += ev.quantity[b];
        let mut qual_share = vec![0.0; problem.exporters.len()];
        if let Some(rule) = &buyer.sourcing {
            for ((lot, d), q) in lots.iter().zip(&dispatched).zip(&rule.qualifies) {
                let e = position[usize::from(lot.host.0)];
                if *q && e != usize::MAX && by_exporter[e] > 0.0 {
                    qual_share[e] += d / by_exporter[e];
                }
            }
        }
        for (en, f) in problem.entries[b].iter().zip(&ev.flows[b]) {
            let h = problem.exporters[en.e];
            let x = f.x * ship_scale[en.e];
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
    let mut shipments = Vec::new();
    let (mut volume, mut value) = (0.0, 0.0);
    for h in 0..n {
        for b in 0..n {
            let t = pairs[h * n + b];
            if t > 0.0 {
                shipments.push(Shipment {
                    from: NationIdx(h as u16),
                    to: NationIdx(b as u16),
                    t,
                });
                volume += t;
                value += t * producer[h];
            }
        }
    }
    // Lots dispatched so that each exporter's lots sum to what it shipped.
    let mut shipped = vec![0.0; n];
    for s in &shipments {
        shipped[usize::from(s.from.0)] += s.t;
    }
    let dispatched_t: Vec<f64> = lots
        .iter()
        .zip(&dispatched)
        .map(|(lot, d)| {
            let e = position[usize::from(lot.host.0)];
            if e == usize::MAX || by_exporter[e] <= 0.0 {
                0.0
            } else {
                d * shipped[usize::from(lot.host.0)] / by_exporter[e]
            }
        })
        .collect();
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
    fn the_supply_curve_is_the_smoothed_staircase() {
        let s = Supply::new(&[(10.0, 100.0), (5.0, 200.0)], 0.1);
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
