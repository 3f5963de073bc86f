//! The `offtake` section of a scenario: equity offtake (owners take their share of a mine's output
//! to their own refineries first) and long-term offtake contracts between a buyer nation's firms
//! and a mine or refinery, with a contract price formula (`docs/ODD.md` §7.6.4).
//!
//! Why a section of its own: offtakes are served before the open market clears and lower the
//! financing cost of the projects they cover, so they touch trade, `flows.csv`, `share_control` and
//! investment; keeping their schema, checks and resolution in one file keeps those edits local.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::error::{Location, Problem};
use super::schema::Scenario;

/// Equity offtake and long-term offtake contracts.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OfftakeSettings {
    /// Whether each owner's equity share of a mine's output goes first to the owner's own
    /// refineries of that mineral, up to their feed need, when the ore is worth more to them than
    /// it costs to deliver (default `false`, so a scenario opts in; `docs/ODD.md` §7.6.4).
    pub integrated: bool,
    /// Cut in a project's discount rate per unit share of its output covered by offtake contracts,
    /// per year (default 0.015 = 150 basis points at full cover, range 0..=0.1; ASSUMPTION within
    /// the range project lenders grant offtake-backed over merchant projects, Gatti 2018 ch. 3 and
    /// 6; `docs/ODD.md` §7.6.4).
    pub contract_spread_cut: f64,
    /// Offtake contracts and equity offtake rights.
    pub contracts: Vec<OfftakeContract>,
}

impl Default for OfftakeSettings {
    fn default() -> Self {
        Self {
            integrated: false,
            contract_spread_cut: 0.015,
            contracts: Vec::new(),
        }
    }
}

/// How an offtake came about; the `kind` of its rows in `flows.csv`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum OfftakeKind {
    /// An equity offtake right: a stake's share of the output taken home (valued at the
    /// seller's producer price, as an arm's-length transfer).
    Equity,
    /// A long-term purchase contract at the contract price formula.
    Contract,
}

/// One offtake: `seller` delivers `share` of its output (or `t_per_yr`) to `buyer` between `start`
/// and `end`, before the open market clears.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OfftakeContract {
    /// Id (for messages; results never depend on it).
    pub id: String,
    /// `equity` (an offtake right attached to a stake) or `contract` (default).
    #[serde(default = "default_kind")]
    pub kind: OfftakeKind,
    /// Selling asset or prospect id: a mine (ore goes to the buyer's refineries) or a refinery
    /// (refined product goes to the buyer's consumers).
    pub seller: String,
    /// Buyer nation: where the tonnes go.
    pub buyer: String,
    /// Buying firm, if named (documentation; the buyer nation decides control).
    #[serde(default)]
    pub firm: Option<String>,
    /// Share of the seller's available output, 0..=1 (exactly one of `share`, `t_per_yr`).
    #[serde(default)]
    pub share: Option<f64>,
    /// Tonnes per year (exactly one of `share`, `t_per_yr`).
    #[serde(default)]
    pub t_per_yr: Option<f64>,
    /// First decimal year of deliveries (default: the start).
    #[serde(default)]
    pub start: Option<f64>,
    /// Decimal year deliveries stop (default: never).
    #[serde(default)]
    pub end: Option<f64>,
    /// Contract price = reference price × (1 − discount), USD/t; the reference is the world price
    /// of the last clearing (default 0 = at the reference; negative = a premium; range -1..1).
    #[serde(default)]
    pub discount: f64,
    /// Floor of the contract price, USD/t (default none).
    #[serde(default)]
    pub floor_usd_per_t: Option<f64>,
    /// Ceiling of the contract price, USD/t (default none).
    #[serde(default)]
    pub ceiling_usd_per_t: Option<f64>,
}

fn default_kind() -> OfftakeKind {
    OfftakeKind::Contract
}

/// One contract resolved to indices and steps.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedContract {
    /// Kind.
    pub kind: OfftakeKind,
    /// Seller asset index.
    pub seller: u32,
    /// Buyer nation index.
    pub buyer: u16,
    /// Share of the seller's available output (when given).
    pub share: Option<f64>,
    /// Tonnes per year (when given).
    pub t_per_yr: Option<f64>,
    /// First step of deliveries.
    pub start_step: u32,
    /// First step without deliveries (`u32::MAX` = never ends).
    pub end_step: u32,
    /// Discount on the reference price.
    pub discount: f64,
    /// Price floor, USD/t (0 = none).
    pub floor_usd_per_t: f64,
    /// Price ceiling, USD/t (infinite = none).
    pub ceiling_usd_per_t: f64,
}

impl ResolvedContract {
    /// Whether the contract delivers at `step`.
    pub fn active(&self, step: u32) -> bool {
        step >= self.start_step && step < self.end_step
    }
    /// The contract price given the reference price, USD/t.
    pub fn price(&self, reference_usd_per_t: f64) -> f64 {
        (reference_usd_per_t * (1.0 - self.discount))
            .min(self.ceiling_usd_per_t)
            .max(self.floor_usd_per_t)
    }
}

/// The offtake section resolved to indices and steps.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedOfftake {
    /// Equity offtake to owners' own refineries.
    pub integrated: bool,
    /// Discount-rate cut per unit of contract cover, per year.
    pub contract_spread_cut: f64,
    /// Contracts in file order.
    pub contracts: Vec<ResolvedContract>,
}

impl Default for ResolvedOfftake {
    fn default() -> Self {
        let s = OfftakeSettings::default();
        Self {
            integrated: s.integrated,
            contract_spread_cut: s.contract_spread_cut,
            contracts: Vec::new(),
        }
    }
}

fn problem(path: String, message: String) -> Problem {
    Problem {
        path: super::error::clip(&path, 320).into_owned(),
        message: super::error::clip(&message, 960).into_owned(),
        location: Location::Unknown,
    }
}

/// Check the section: known ids, one volume, ranges, dates in order. Paths name contracts by id
/// (`offtake.contracts.<id>.share`).
pub fn check(s: &Scenario) -> Vec<Problem> {
    let mut out = Vec::new();
    let o = &s.offtake;
    let cut = o.contract_spread_cut;
    if !(cut.is_finite() && (0.0..=0.1).contains(&cut)) {
        out.push(problem(
            "offtake.contract_spread_cut".into(),
            format!("must be between 0 and 0.1 per year, found {cut}"),
        ));
    }
    let assets: BTreeSet<&str> = s
        .assets
        .iter()
        .map(|a| a.id.as_str())
        .chain(s.prospects.iter().map(|p| p.id.as_str()))
        .collect();
    let nations: BTreeSet<&str> = s.nations.iter().map(|n| n.id.as_str()).collect();
    let firms: BTreeSet<&str> = s.firms.iter().map(|f| f.id.as_str()).collect();
    let mut seen = BTreeSet::new();
    for c in &o.contracts {
        let p = format!("offtake.contracts.{}", c.id);
        let clip = |t: &str| super::error::clip(t, 80).into_owned();
        if !seen.insert(c.id.as_str()) {
            out.push(problem(
                format!("{p}.id"),
                format!("duplicate contract id `{}`", clip(&c.id)),
            ));
        }
        if !assets.contains(c.seller.as_str()) {
            out.push(problem(
                format!("{p}.seller"),
                format!("unknown asset or prospect `{}`", clip(&c.seller)),
            ));
        }
        if !nations.contains(c.buyer.as_str()) {
            out.push(problem(
                format!("{p}.buyer"),
                format!("unknown nation `{}`", clip(&c.buyer)),
            ));
        }
        if let Some(f) = &c.firm
            && !firms.contains(f.as_str())
        {
            out.push(problem(
                format!("{p}.firm"),
                format!("unknown firm `{}`", clip(f)),
            ));
        }
        match (c.share, c.t_per_yr) {
            (Some(x), None) => {
                if !(x.is_finite() && x > 0.0 && x <= 1.0) {
                    out.push(problem(
                        format!("{p}.share"),
                        format!("must be in (0, 1], found {x}"),
                    ));
                }
            }
            (None, Some(q)) => {
                if !(q.is_finite() && q > 0.0 && q <= super::validate::MAX_QUANTITY) {
                    out.push(problem(
                        format!("{p}.t_per_yr"),
                        format!("must be a positive quantity of t/yr, found {q}"),
                    ));
                }
            }
            _ => out.push(problem(
                format!("{p}.share"),
                "give exactly one of `share` (of the seller's output) and `t_per_yr`".into(),
            )),
        }
        for (field, year) in [("start", c.start), ("end", c.end)] {
            if let Some(y) = year
                && !(y.is_finite() && (1900.0..=3000.0).contains(&y))
            {
                out.push(problem(
                    format!("{p}.{field}"),
                    format!("must be a year between 1900 and 3000, found {y}"),
                ));
            }
        }
        if let (Some(a), Some(b)) = (c.start, c.end)
            && b <= a
        {
            out.push(problem(
                format!("{p}.end"),
                format!("must be after start ({a}), found {b}"),
            ));
        }
        if !(c.discount.is_finite() && c.discount > -1.0 && c.discount < 1.0) {
            out.push(problem(
                format!("{p}.discount"),
                format!("must be in (-1, 1), found {}", c.discount),
            ));
        }
        for (field, v) in [
            ("floor_usd_per_t", c.floor_usd_per_t),
            ("ceiling_usd_per_t", c.ceiling_usd_per_t),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && (0.0..=super::validate::MAX_USD).contains(&v))
            {
                out.push(problem(
                    format!("{p}.{field}"),
                    format!("must be a non-negative price in USD/t, found {v}"),
                ));
            }
        }
        if let (Some(f), Some(c2)) = (c.floor_usd_per_t, c.ceiling_usd_per_t)
            && f > c2
        {
            out.push(problem(
                format!("{p}.ceiling_usd_per_t"),
                format!("must be at least the floor ({f}), found {c2}"),
            ));
        }
    }
    out
}

/// Resolve the section (ids are known: [`check`] ran first). `asset_ids`/`nation_ids` are the
/// sorted id lists the dense indices refer to.
pub fn resolve(
    s: &Scenario,
    asset_ids: &[String],
    nation_ids: &[String],
    step_of: &dyn Fn(f64) -> u32,
) -> ResolvedOfftake {
    let find = |ids: &[String], id: &str| ids.binary_search_by(|x| x.as_str().cmp(id)).ok();
    let contracts = s
        .offtake
        .contracts
        .iter()
        .filter_map(|c| {
            Some(ResolvedContract {
                kind: c.kind,
                seller: find(asset_ids, &c.seller)? as u32,
                buyer: find(nation_ids, &c.buyer)? as u16,
                share: c.share,
                t_per_yr: c.t_per_yr,
                start_step: c.start.map_or(0, step_of),
                end_step: c.end.map_or(u32::MAX, step_of),
                discount: c.discount,
                floor_usd_per_t: c.floor_usd_per_t.unwrap_or(0.0),
                ceiling_usd_per_t: c.ceiling_usd_per_t.unwrap_or(f64::INFINITY),
            })
        })
        .collect();
    ResolvedOfftake {
        integrated: s.offtake.integrated,
        contract_spread_cut: s.offtake.contract_spread_cut,
        contracts,
    }
}
