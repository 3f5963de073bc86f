//! Resources: world-wide state — the clock, the id registry, the policy state, prices, and the logs
//! that become the output CSVs.

use bevy_ecs::prelude::*;

use super::components::{AssetIdx, FirmIdx, MineralIdx, NationIdx, Stage};
use super::tables::NationPair;

/// Simulated time.
#[derive(Clone, Copy, Debug, Resource)]
pub struct Clock {
    /// Current step, 0-based.
    pub step: u32,
    /// Total steps in the run.
    pub total_steps: u32,
    /// Steps per year.
    pub steps_per_year: u32,
    /// Calendar year of step 0.
    pub start_year: i32,
}

impl Clock {
    /// Decimal year at the start of the current step (`2024.25` = 1 April 2024 when quarterly).
    pub fn year(&self) -> f64 {
        self.year_of(self.step)
    }
    /// Decimal year at the start of a step.
    pub fn year_of(&self, step: u32) -> f64 {
        f64::from(self.start_year) + f64::from(step) / f64::from(self.steps_per_year)
    }
    /// Calendar year containing the current step.
    pub fn calendar_year(&self) -> i32 {
        self.start_year + i32::try_from(self.step / self.steps_per_year).unwrap_or(i32::MAX)
    }
    /// Length of a step in years.
    pub fn dt_years(&self) -> f64 {
        1.0 / f64::from(self.steps_per_year)
    }
    /// The first step at or after a decimal year (clamped to `0..=total_steps`; the one rule
    /// is [`crate::scenario::resolve::step_at`]).
    pub fn step_at(&self, year: f64) -> u32 {
        crate::scenario::resolve::step_at(
            self.start_year,
            self.steps_per_year,
            self.total_steps,
            year,
        )
    }
}

/// Stable ids of everything, indexed by the dense indices, plus derived static tables.
#[derive(Clone, Debug, Default, Resource)]
pub struct Registry {
    /// Mineral ids, sorted.
    pub minerals: Vec<String>,
    /// Mineral units (`t Li`, ...), by mineral index.
    pub mineral_units: Vec<String>,
    /// Refining recovery (refined t per ore t fed, 0 < r <= 1), by mineral index: the one copy,
    /// read by the market (trade, utilisation) and by investment and capacity.
    pub recovery: Vec<f64>,
    /// Nation ids, sorted.
    pub nations: Vec<String>,
    /// Firm ids, sorted.
    pub firms: Vec<String>,
    /// Home nation of each firm.
    pub firm_home: Vec<NationIdx>,
    /// Asset ids (assets and prospects), sorted.
    pub assets: Vec<String>,
    /// Policy ids, in scenario order (labels of policy events; by `ScheduledPolicy::idx`).
    pub policies: Vec<String>,
    /// State financier ids, sorted (labels of finance events; by financier index).
    pub financiers: Vec<String>,
    /// Stable key of each firm id.
    pub firm_keys: Vec<u64>,
    /// Stable key of each asset id.
    pub asset_keys: Vec<u64>,
    /// Affinity matrix, row-major `[from * n + to]`, -1..=1, 1 on the diagonal.
    pub affinity: Vec<f64>,
    /// Whether a free-trade agreement links two nations (symmetric).
    pub fta: NationPair<bool>,
    /// Transport cost, USD/t, by (from, to).
    pub transport_usd_per_t: NationPair<f64>,
    /// Whether firms of a nation are entities of concern.
    pub entity_of_concern: Vec<bool>,
    /// Calibrated log preference terms β of the origin choice (`docs/ODD.md` §7.6), by
    /// `[commodity][exporter * n + importer]` (`scenario.trade_preferences`; 0 where none).
    pub preference: Vec<Vec<f64>>,
}

impl Registry {
    /// Number of nations.
    pub fn n_nations(&self) -> usize {
        self.nations.len()
    }
    /// Number of minerals.
    pub fn n_minerals(&self) -> usize {
        self.minerals.len()
    }
    /// Index of a nation id.
    pub fn nation(&self, id: &str) -> Option<NationIdx> {
        self.nations
            .binary_search_by(|n| n.as_str().cmp(id))
            .ok()
            .map(|i| NationIdx(i as u16))
    }
    /// Index of a mineral id.
    pub fn mineral(&self, id: &str) -> Option<MineralIdx> {
        self.minerals
            .binary_search_by(|n| n.as_str().cmp(id))
            .ok()
            .map(|i| MineralIdx(i as u16))
    }
    /// Index of a firm id.
    pub fn firm(&self, id: &str) -> Option<FirmIdx> {
        self.firms
            .binary_search_by(|n| n.as_str().cmp(id))
            .ok()
            .map(|i| FirmIdx(i as u32))
    }
    /// Index of an asset id.
    pub fn asset(&self, id: &str) -> Option<AssetIdx> {
        self.assets
            .binary_search_by(|n| n.as_str().cmp(id))
            .ok()
            .map(|i| AssetIdx(i as u32))
    }
    /// Affinity of `from` towards `to`.
    pub fn affinity(&self, from: NationIdx, to: NationIdx) -> f64 {
        self.affinity[usize::from(from.0) * self.n_nations() + usize::from(to.0)]
    }
    /// Transport cost between two nations, USD/t.
    pub fn transport(&self, from: NationIdx, to: NationIdx) -> f64 {
        self.transport_usd_per_t[(from, to)]
    }
    /// Whether two nations share a free-trade agreement (always true for a nation with itself).
    pub fn fta(&self, a: NationIdx, b: NationIdx) -> bool {
        self.fta[(a, b)]
    }
}

/// Index of a commodity (mineral × stage) in dense per-commodity tables: `mineral * 2 + stage`
/// (the layout is spelled once, in [`crate::model::tables::Commodity::index`]).
pub fn commodity(mineral: MineralIdx, stage: Stage) -> usize {
    crate::model::tables::Commodity { mineral, stage }.index()
}

/// A dated policy, resolved to indices and steps: the resolved policy itself (its announcement,
/// start, end and licence steps, and its measures in indices).
pub use crate::scenario::resolve::ResolvedPolicy as ScheduledPolicy;

/// State owned by mechanism folders (`src/model/<mechanism>/`), re-exported here so that paths
/// written before the move (`crate::model::resources::X`) keep working.
pub use super::capacity::LearningCurves;
pub use super::finance::{FinanceBudgets, FinancierState};
pub use super::policy::PolicyTimeline;
pub use super::politics::HostRecord;
pub use super::sourcing::{SourcingRule, SourcingRules};

/// An export control in force, resolved to indices.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportControl {
    /// Decimal year the first licences are granted (licence-delay mode; the policy's start
    /// otherwise): resolved from the policy when the rules are built.
    pub licence_open_year: f64,
    /// Exporter.
    pub exporter: NationIdx,
    /// Commodity index ([`commodity`]).
    pub commodity: usize,
    /// Destinations affected (sorted); empty = all other nations.
    pub destinations: Vec<NationIdx>,
    /// Mode.
    pub mode: crate::scenario::ControlMode,
    /// Quota, t per step (mode quota).
    pub quota_t_per_step: f64,
}

impl ExportControl {
    /// Whether this control covers shipments to `to`.
    pub fn covers(&self, to: NationIdx) -> bool {
        to != self.exporter
            && (self.destinations.is_empty() || self.destinations.binary_search(&to).is_ok())
    }
}

/// Trade rules in force this step, rebuilt by the policy system whenever the set of active
/// policies changes.
#[derive(Clone, Debug, Default, Resource)]
pub struct TradeRules {
    /// Export controls in force.
    pub export_controls: Vec<ExportControl>,
    /// Tariff rate by `[commodity][importer * n + exporter]`.
    pub tariff: Vec<Vec<f64>>,
    /// Export tax rate by `[commodity][exporter]`.
    pub export_tax: Vec<Vec<f64>>,
    /// Ore export ban by `[mineral][nation]` (local-processing mandates with a ban).
    pub ore_export_ban: Vec<Vec<bool>>,
    /// Local-processing mandate by `[mineral][nation]`.
    pub local_processing_mandate: Vec<Vec<bool>>,
}

/// Prices, USD/t, per commodity ([`commodity`]): the world reference price of each commodity,
/// the volume-weighted producer price of the tonnes traded at the last clearing (always defined:
/// it keeps its last value while nothing trades). Read by investment and reported as `price`.
#[derive(Clone, Debug, Default, Resource)]
pub struct Prices {
    /// Current reference (volume-weighted transaction) price.
    pub usd_per_t: Vec<f64>,
    /// Scenario (step-0) price; the guards are multiples of it.
    pub reference_usd_per_t: Vec<f64>,
}

/// Producer price of each exporter at the last clearing, USD/t, by `[commodity][nation]`: what
/// its sellers net (after export taxes). Nations that offered nothing carry the world price.
#[derive(Clone, Debug, Default, Resource)]
pub struct ProducerPrices {
    /// Producer price, USD/t.
    pub usd_per_t: Vec<Vec<f64>>,
    /// Whether the nation offered supply at the last clearing.
    pub exporter: Vec<Vec<bool>>,
}

/// Host terms of every (nation, commodity), the one source of truth read by trade and
/// investment (`docs/ODD.md` §7.6): rebuilt each step after host politics from the trade rules
/// (dated policies) and the hosts' priorities.
#[derive(Clone, Debug, Default, Resource)]
pub struct HostTerms {
    /// Export tax rate `[commodity][nation]`, 0..1: the dated `export_tax` policies plus, for ore,
    /// the host's own `ore_export_tax` (summed, capped at 0.95; a rate at the cap is prohibitive).
    pub export_tax: Vec<Vec<f64>>,
    /// Ore export ban `[mineral][nation]`.
    pub ore_export_ban: Vec<Vec<bool>>,
    /// Local-processing mandate `[mineral][nation]`: the host's priority or a dated policy.
    pub local_processing_mandate: Vec<Vec<bool>>,
    /// Royalty rate on ore `[nation]`.
    pub royalty: Vec<f64>,
}

/// One observation: a row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRow {
    /// Step.
    pub step: u32,
    /// Metric name (stable, documented in `docs/output-format.md`).
    pub metric: &'static str,
    /// Mineral, if applicable.
    pub mineral: Option<MineralIdx>,
    /// Stage, if applicable.
    pub stage: Option<Stage>,
    /// Nation, if applicable.
    pub nation: Option<NationIdx>,
    /// Partner nation, if applicable.
    pub partner: Option<NationIdx>,
    /// Value (finite).
    pub value: f64,
}

/// All observations of a run, in recording order.
#[derive(Clone, Debug, Default, Resource)]
pub struct Metrics {
    /// Rows.
    pub rows: Vec<MetricRow>,
}

/// One event: a row of `events.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// Step.
    pub step: u32,
    /// Kind (`policy_start`, `policy_end`, `outage`, `proposal`, `approval`, ...).
    pub kind: &'static str,
    /// Asset, if any.
    pub asset: Option<AssetIdx>,
    /// Firm, if any.
    pub firm: Option<FirmIdx>,
    /// Nation, if any.
    pub nation: Option<NationIdx>,
    /// Partner nation, if any.
    pub partner: Option<NationIdx>,
    /// Free text (reason, policy id, numbers).
    pub detail: String,
}

/// All events of a run, in the order they happened.
#[derive(Clone, Debug, Default, Resource)]
pub struct EventLog {
    /// Rows.
    pub rows: Vec<EventRow>,
}

/// One bilateral flow: a row of `flows.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowRow {
    /// Step.
    pub step: u32,
    /// Mineral.
    pub mineral: MineralIdx,
    /// Stage.
    pub stage: Stage,
    /// Exporting (producing) nation.
    pub from: NationIdx,
    /// Importing (consuming or refining) nation.
    pub to: NationIdx,
    /// Tonnes this step.
    pub quantity_t: f64,
    /// Value at the seller's price (the contract price for contract flows), USD.
    pub value_usd: f64,
    /// How the tonnes were traded: open market, equity offtake or offtake contract.
    pub kind: FlowKind,
}

/// How a flow was traded (`kind` column of `flows.csv`, `docs/ODD.md` §7.6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlowKind {
    /// Cleared on the open market.
    Open,
    /// Equity offtake: an owner's share taken to its own refineries or home market first.
    Equity,
    /// A long-term offtake contract, at the contract price.
    Contract,
}

impl FlowKind {
    /// Spelling in `flows.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Open => "open",
            FlowKind::Equity => "equity",
            FlowKind::Contract => "contract",
        }
    }
}

/// Tonnes delivered under offtakes on one route this step (served before the open market).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OfftakeFlow {
    /// Seller's host.
    pub from: NationIdx,
    /// Buyer nation.
    pub to: NationIdx,
    /// Equity or contract.
    pub kind: FlowKind,
    /// Tonnes this step.
    pub t: f64,
    /// Value, USD (contract price, or the seller's producer price for equity offtake).
    pub value_usd: f64,
}

/// All flows of a run.
#[derive(Clone, Debug, Default, Resource)]
pub struct FlowLog {
    /// Rows.
    pub rows: Vec<FlowRow>,
}

/// Which (commodity, nation) pairs get location and control rows in `metrics.csv`: those that can
/// ever host or control an asset of the commodity, so every series is complete (zeros included)
/// without writing rows for every nation of the world.
#[derive(Clone, Debug, Default, Resource)]
pub struct ObservedPairs {
    /// Host nations per commodity, sorted.
    pub hosts: Vec<Vec<NationIdx>>,
    /// Controlling (owner home) nations per commodity, sorted.
    pub controllers: Vec<Vec<NationIdx>>,
}

/// Market parameters the trade and price systems read every step: the scenario's
/// [`crate::scenario::MarketSettings`] plus per-mineral demand elasticity, by mineral index
/// (recovery is in the [`Registry`], shared with investment).
#[derive(Clone, Debug, Default, Resource)]
pub struct MarketConfig {
    /// Market-wide settings (friend-shoring, transport defaults, price dynamics).
    pub settings: crate::scenario::MarketSettings,
    /// Price elasticity of refined demand, by mineral (<= 0).
    pub demand_elasticity: Vec<f64>,
    /// Equity offtake and offtake contracts (`docs/ODD.md` §7.6.4).
    pub offtake: crate::scenario::offtake::ResolvedOfftake,
}

/// Each nation's demand trajectory for each refined mineral (from `Nation.demand`), by
/// `[mineral][nation]`; an empty list means the nation does not consume the mineral.
#[derive(Clone, Debug, Default, Resource)]
pub struct DemandSchedule {
    /// `(decimal year, t/yr)` points sorted by year.
    pub points: Vec<Vec<Vec<(f64, f64)>>>,
    /// Consumer nations of each mineral (those with a trajectory), sorted.
    pub consumers: Vec<Vec<NationIdx>>,
}

/// Demand for refined minerals this step, after the price response, by `[mineral][nation]`.
#[derive(Clone, Debug, Default, Resource)]
pub struct Demand {
    /// Demand at the reference price from the trajectory, t/yr.
    pub reference_t_per_yr: Vec<Vec<f64>>,
    /// Demand at the price the nation paid at this step's clearing, t/yr.
    pub t_per_yr: Vec<Vec<f64>>,
    /// Sourcing credit per tonne consumed the nation earned last step, USD/t (§7.6.1).
    pub credit_usd_per_t: Vec<Vec<f64>>,
    /// Refined stock held by the nation's consumers at the end of the step, t (§7.6.3). State:
    /// purchases − use = stock change.
    pub stock_t: Vec<Vec<f64>>,
    /// Refined tonnes the nation's consumers used this step, t/yr (purchases plus stock drawn).
    pub use_t_per_yr: Vec<Vec<f64>>,
}

/// One price-triggered stock order in the refined market of this step (`docs/ODD.md` §7.6.3):
/// how a mechanism that holds stock (a strategic stockpile) trades in the same equilibrium as
/// consumers. Mechanisms push orders before the clearing; the clearing fills them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StockOrder {
    /// Buyer nation whose purchases the order adds to (or releases into).
    pub nation: NationIdx,
    /// Mineral (refined stage).
    pub mineral: MineralIdx,
    /// Most it buys this step, t.
    pub buy_t: f64,
    /// Buys while the price the nation pays is below this, USD/t.
    pub buy_below_usd_per_t: f64,
    /// Most it releases this step, t.
    pub release_t: f64,
    /// Releases while the price the nation pays is above this, USD/t.
    pub release_above_usd_per_t: f64,
}

/// This step's stock orders and what the clearing did with them.
#[derive(Clone, Debug, Default, Resource)]
pub struct StockOrders {
    /// Orders, in the order mechanisms pushed them (emptied at the start of the trade phase).
    pub orders: Vec<StockOrder>,
    /// Net tonnes each order took from the market this step (bought − released), same order.
    pub filled_t: Vec<f64>,
}

/// The price each buyer nation pays, USD/t, by `[commodity][nation]`: its unit value (delivered
/// prices averaged over its purchases, tariffs, export taxes, transport and quota rents
/// included) at the last clearing. Nations that did not buy carry the world price.
#[derive(Clone, Debug, Default, Resource)]
pub struct BuyerPrices {
    /// Price paid, USD/t.
    pub usd_per_t: Vec<Vec<f64>>,
    /// Whether the nation was a buyer of the commodity at the last clearing (gets a `price` row).
    pub buyer: Vec<Vec<bool>>,
}

/// Adaptive price expectations, USD/t, per commodity: `e <- (1 - w) e + w p` each step with
/// `w = market.expectation_weight`. Read by investment decisions.
#[derive(Clone, Debug, Default, Resource)]
pub struct PriceExpectations {
    /// Expected world (open-market) price, USD/t, per commodity ([`commodity`]).
    pub usd_per_t: Vec<f64>,
    /// Expected price each buyer nation faces ([`BuyerPrices`]), USD/t, by `[commodity][nation]`,
    /// smoothed with the same weight. Equal to the world expectation for a nation never in a
    /// segmented market; what a refinery project in that nation expects to sell at.
    pub buyer_usd_per_t: Vec<Vec<f64>>,
}

/// Ore held by refineries as feed stock, tonnes, by asset index (zero for mines). State: conserved
/// (ore received − ore used = stock change) and recorded as the `feed_stock` metric.
#[derive(Clone, Debug, Default, Resource)]
pub struct FeedStocks {
    /// Tonnes of ore in stock, by [`AssetIdx`].
    pub ore_t: Vec<f64>,
}

/// A bilateral shipment of one clearing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shipment {
    /// Host nation of the selling assets.
    pub from: NationIdx,
    /// Buyer nation.
    pub to: NationIdx,
    /// Tonnes this step.
    pub t: f64,
}

/// The final clearing of one commodity this step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommodityOutcome {
    /// Producer price by nation, USD/t (0 where nothing was offered).
    pub producer_usd_per_t: Vec<f64>,
    /// Unit-value price paid by each buyer, USD/t (0 for non-buyers).
    pub buyer_usd_per_t: Vec<f64>,
    /// Volume-weighted producer price of the tonnes traded, USD/t (`None` when nothing traded).
    pub transaction_usd_per_t: Option<f64>,
    /// Quota rent on each exporter's capped links this step, USD.
    pub quota_rent_usd: Vec<f64>,
    /// Shipments, sorted by (from, to): all tonnes moved, open market and offtakes together.
    pub shipments: Vec<Shipment>,
    /// Open-market shipments only, sorted by (from, to).
    pub open_shipments: Vec<Shipment>,
    /// Offtake flows served before the open market, sorted by (from, to, kind).
    pub offtakes: Vec<OfftakeFlow>,
    /// Tonnes under explicit offtakes (`offtake.contracts`) by (seller asset, buyer nation), t
    /// this step: control of these tonnes moves to the buyer nation in `share_control`.
    pub controlled_offtake_t: Vec<(AssetIdx, NationIdx, f64)>,
    /// Demand by buyer nation, t this step.
    pub demand_t: Vec<f64>,
    /// Tonnes received by buyer nation this step.
    pub received_t: Vec<f64>,
    /// For ore: ore used by the refineries of each nation this step, t.
    pub ore_used_t: Vec<f64>,
    /// For refined: tonnes received by each buyer nation this step that qualify under its sourcing
    /// rule in force (empty when no buyer has one; 0 for buyers without one).
    pub qualifying_t: Vec<f64>,
    /// For refined: qualifying tonnes that earn the rule's premium, min(qualifying, required share ×
    /// received), by buyer nation (empty when no buyer has a rule).
    pub credited_t: Vec<f64>,
}

/// What the markets did this step, per commodity ([`commodity`]); read by the price and
/// observation systems.
#[derive(Clone, Debug, Default, Resource)]
pub struct MarketOutcome {
    /// Per commodity.
    pub commodities: Vec<CommodityOutcome>,
}

/// Scenario settings the investment, capacity, operations and politics systems read, plus per-firm
/// and per-mineral facts they need that are not components.
#[derive(Clone, Debug, Default, Resource)]
pub struct InvestmentConfig {
    /// Investment and project life cycle.
    pub investment: crate::scenario::InvestmentSettings,
    /// Incidents and social licence.
    pub operations: crate::scenario::OperationsSettings,
    /// Host politics.
    pub politics: crate::scenario::PoliticsSettings,
    /// Whether each firm proposes projects (`firms.*.invests`), by firm index.
    pub firm_invests: Vec<bool>,
    /// Cut in a project's discount rate from its offtake-contract cover, per year, by asset
    /// index (`offtake.contract_spread_cut` × covered share; `docs/ODD.md` §7.6.4).
    pub contract_rate_cut: Vec<f64>,
}

/// Social licence of each investor home in each host, 0..=1 (1 = full acceptance), row-major
/// `[host * n + home]`. Incidents lower it; it recovers over time.
#[derive(Clone, Debug, Default, Resource)]
pub struct SocialLicence {
    /// Licence values.
    pub value: Vec<f64>,
    /// Number of nations.
    pub n: usize,
}

impl SocialLicence {
    /// Licence of firms from `home` in `host`.
    pub fn get(&self, host: NationIdx, home: NationIdx) -> f64 {
        self.value[usize::from(host.0) * self.n + usize::from(home.0)]
    }
}

/// Money committed and incidents during the current step, for the observation phase (cleared there).
#[derive(Clone, Debug, Default, Resource)]
pub struct InvestmentLedger {
    /// Capex committed, USD: (commodity, host, investor home) -> amount.
    pub investment_usd: std::collections::BTreeMap<(usize, NationIdx, NationIdx), f64>,
    /// State finance committed, USD: (commodity, financier nation, host) -> amount.
    pub state_finance_usd: std::collections::BTreeMap<(usize, NationIdx, NationIdx), f64>,
    /// Incidents started: (commodity, host) -> count.
    pub incidents: std::collections::BTreeMap<(usize, NationIdx), u32>,
    /// Projects financed: (commodity, financier nation, host) -> count.
    pub projects_financed: std::collections::BTreeMap<(usize, NationIdx, NationIdx), u32>,
    /// Offtake secured by financier equity, t/yr: (commodity, financier nation, host) -> amount.
    pub offtake_t_per_yr: std::collections::BTreeMap<(usize, NationIdx, NationIdx), f64>,
    /// State-finance budget and what is left of it after the year's allocation, USD, by financier
    /// nation (written in the first step of a year).
    pub finance_budget_usd: std::collections::BTreeMap<NationIdx, (f64, f64)>,
}
