//! The scenario schema: every field a scenario file may contain, with its unit, default and valid range.
//!
//! These structs are what the loader deserialises into (after `extends` and `--set` have been applied
//! to the syntax tree). They are "raw" in the ripgrep sense: types are checked here, cross-references
//! and ranges are checked by [`crate::scenario::validate`], which turns a `Scenario` into a
//! [`crate::scenario::Validated`] the rest of the program trusts. Every struct denies unknown fields so a
//! typo is an error, never a silently ignored setting. Enum-like values are lower-case strings
//! (`stage: "ore"`), the same spelling the output CSVs use.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A whole scenario: the world at the start year plus everything scheduled to happen to it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Another scenario file this one inherits from, relative to this file. Resolved by the loader;
    /// always `None` in a resolved scenario.
    #[serde(default)]
    pub extends: Option<String>,
    /// Short machine-friendly name; the default output folder is `output/<name>/`.
    pub name: String,
    /// Free text describing what the scenario represents and where its numbers come from.
    #[serde(default)]
    pub description: String,
    /// Horizon, time step and seed.
    pub run: RunSettings,
    /// Market-wide parameters (price dynamics, friend-shoring, transport).
    #[serde(default)]
    pub market: MarketSettings,
    /// Traded minerals. Each trades at two stages, `ore` and `refined`.
    pub minerals: Vec<Mineral>,
    /// Nations (ISO 3166 alpha-3 ids).
    pub nations: Vec<Nation>,
    /// Firms that own assets and propose projects.
    #[serde(default)]
    pub firms: Vec<Firm>,
    /// Mines and refineries that exist (in any status) at the start.
    #[serde(default)]
    pub assets: Vec<Asset>,
    /// Candidate projects (deposits and refinery sites) firms may propose to build.
    #[serde(default)]
    pub prospects: Vec<Prospect>,
    /// Geological endowment and generic refinery sites per nation × mineral × deposit type, from
    /// which generic projects (tranches of rising cost) are generated (docs/ODD.md §7.3.6).
    #[serde(default)]
    pub resource_base: Vec<ResourceBase>,
    /// State financiers (policy banks, export-credit and development agencies).
    #[serde(default)]
    pub financiers: Vec<Financier>,
    /// Investment and project life-cycle parameters.
    #[serde(default)]
    pub investment: InvestmentSettings,
    /// Operations: incidents and social licence.
    #[serde(default)]
    pub operations: OperationsSettings,
    /// Host politics: rules by which hosts adapt their priorities.
    #[serde(default)]
    pub politics: PoliticsSettings,
    /// Bilateral transport costs that differ from `market.default_transport_usd_per_t`.
    #[serde(default)]
    pub transport: Vec<TransportCost>,
    /// Calibrated bilateral preference terms of the origin choice (`docs/ODD.md` §7.6): log
    /// shifters of the Armington weight of exporter `from` in importer `to`'s purchases.
    #[serde(default)]
    pub trade_preferences: Vec<TradePreference>,
    /// Dated policies and shocks.
    #[serde(default)]
    pub policies: Vec<Policy>,
    /// Strategic stockpiles of refined material (mechanism `src/model/stockpile/`; schema entry
    /// in [`super::stockpile`]).
    #[serde(default)]
    pub stockpiles: Vec<super::stockpile::Stockpile>,
    /// Secondary supply: end-of-life flows, collection and recyclers (mechanism
    /// `src/model/recycling/`; schema entry in [`super::recycling`]).
    #[serde(default)]
    pub recycling: super::recycling::Recycling,
    /// Equity offtake and long-term offtake contracts (`docs/ODD.md` §7.6.4).
    #[serde(default)]
    pub offtake: super::offtake::OfftakeSettings,
    /// Which figures to draw and which nations to highlight.
    #[serde(default)]
    pub output: OutputSettings,
}

/// Horizon, time step and seed of a run.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    /// First simulated year (step 0 is 1 January of it).
    pub start_year: i32,
    /// Last simulated year (inclusive): a run has `(end_year - start_year + 1) * steps_per_year` steps.
    pub end_year: i32,
    /// Steps per year; 4 = quarterly (default), 12 = monthly, 1 = annual. Range 1..=52.
    #[serde(default = "default_steps_per_year")]
    pub steps_per_year: u32,
    /// Master seed of the run; every random stream derives from it. `--seed` overrides it.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_steps_per_year() -> u32 {
    4
}
fn default_seed() -> u64 {
    1
}

/// Market-wide parameters.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MarketSettings {
    /// Friend-shoring weight (USD/t per unit of affinity): how much more a buyer will pay per tonne
    /// to buy from a supplier with affinity 1 instead of 0. 0 = buyers look at delivered cost only.
    pub friend_shoring_usd_per_t: f64,
    /// Transport cost between two different nations when no `transport` entry names the pair (USD/t).
    pub default_transport_usd_per_t: f64,
    /// Transport cost inside one nation (USD/t).
    pub domestic_transport_usd_per_t: f64,
    /// Deprecated and ignored since markets clear within the step (docs/ODD.md §7.6, CHANGELOG):
    /// accepted (range 0..=2) so existing scenario files still load.
    pub price_adjustment_speed: f64,
    /// Armington elasticity of substitution between origins, σ (dimensionless, > 0; default 8:
    /// GTAP's trade elasticity for non-ferrous metals, Hertel et al. 2007). Larger makes buyers
    /// more sensitive to differences in delivered prices (σ → ∞ is the homogeneous-good limit).
    pub armington_elasticity: f64,
    /// Half-width of the band over which each lot's supply ramps from 0 to its quantity, as a
    /// share of its reservation price (default 0.05, range (0, 1)): makes supply continuous so
    /// the equilibrium is unique and equal-cost lots run at equal rates.
    pub supply_smoothing: f64,
    /// Convergence tolerance of the market solver: largest excess supply of an exporter as a
    /// share of its potential supply (default 1e-11, range (0, 1e-3]); tight so that results
    /// do not depend on the order in which the solver visits nations (to 1e-9).
    pub solver_tolerance: f64,
    /// Iteration cap of the market solver per commodity and pass (default 200, range 1..=10000).
    pub solver_max_iterations: u32,
    /// Lower bound of every price as a multiple of its reference price (0 < floor < 1).
    pub price_floor_ratio: f64,
    /// Upper bound of every price as a multiple of its reference price (> 1).
    pub price_ceiling_ratio: f64,
    /// Weight of the latest price in firms' adaptive price expectations per step (0..=1).
    pub expectation_weight: f64,
    /// Feed-stock target of every refinery, weeks of its available capacity (default 4, range
    /// 0..=52; ASSUMPTION: smelters and converters hold a few weeks of concentrate, see
    /// `docs/ODD.md` §7.6.2). Refineries bid for the ore to run at capacity plus this cover less
    /// the stock they hold, so stocks are built in surplus and drawn in deficit.
    pub feed_stock_cover_weeks: f64,
    /// Elasticity of refineries' feed-stock target to the ratio netback / ore price (default 0 =
    /// a fixed target, range 0..=10): the supply-of-storage curve of Working (1949), stocks
    /// built when ore is cheap relative to what it is worth to the plant and drawn when it is
    /// dear. Positive values make the derived ore demand strictly decreasing but, with a
    /// one-step lag in the netback, produce inventory cycles (stock-outs every few years at
    /// annual steps); a sensitivity knob, not a calibrated default (`docs/ODD.md` §7.6.2).
    pub feed_stock_price_elasticity: f64,
    /// Refined stock target of every consumer nation, weeks of its expected use (its demand
    /// trajectory; default 0 = consumers hold no stock and use equals purchases, the model before
    /// inventories; range 0..=52). The baseline sets 2.5 (`data/parameters.csv`
    /// `consumer_stock_cover`: SMM's May 2024 lithium carbonate stock survey, visible copper stocks
    /// in days of consumption; `docs/ODD.md` §7.6.3); `scenarios/stockpile.ron` uses 6.
    pub consumer_stock_cover_weeks: f64,
    /// Adjustment time of consumer stocks, weeks (default 13, range (0, 520]): each step
    /// consumers buy the share `α = 1 − exp(−Δt / T)` of the gap between their target and their
    /// stock (partial adjustment; Lovell 1961; the stock-adjustment reading of competitive
    /// storage, Williams & Wright 1991). ASSUMPTION: a quarter.
    pub consumer_stock_adjustment_weeks: f64,
    /// Elasticity of consumers' stock target to expected / current price (default 1, range
    /// 0..=10): stocks are built when the price is below its expected level and drawn when above
    /// (competitive storage: Deaton & Laroque 1992). 0 = a fixed target. ASSUMPTION.
    pub consumer_stock_price_elasticity: f64,
    /// Short-run supply of plants: rising marginal cost above the calibrated utilisation, and
    /// idling and restart (`docs/ODD.md` §7.6.6).
    pub utilisation: UtilisationSettings,
}

/// How plants' output responds to price in the short run (`docs/ODD.md` §7.6.6): each plant
/// runs at its calibrated utilisation `u0` at its cash cost and can run harder, up to
/// `technical_max`, at a marginal cost rising linearly (Howitt 1995, positive mathematical
/// programming) from the 2024 price; a plant whose price stays below its cash cost for
/// `idle_after_steps` steps idles (care and maintenance) and restarts, after
/// `restart_delay_steps`, once the price covers its cash cost plus its amortised restart cost
/// (Dixit 1989; Moel & Tufano 2002).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UtilisationSettings {
    /// Calibrated (normal) utilisation of an asset built from a prospect, share of nameplate
    /// (default 0.85, range (0, 1]; the default of `assets[].utilisation`, which the 2024 asset
    /// table fills from plant data where known).
    pub prospect_utilisation: f64,
    /// Technical maximum utilisation, share of nameplate (default 0.95, range (0, 1]; ASSUMPTION:
    /// the practical maximum of continuously run mines, smelters and converters, allowing for
    /// planned maintenance; plants with `u0` at or above it have no headroom).
    pub technical_max: f64,
    /// Premium of the marginal cost at the technical maximum over the marginal cost at `u0`,
    /// share (default 0.5, range (0, 10]; ASSUMPTION, a sensitivity knob): the marginal cost
    /// rises linearly from `M0` (the 2024 price or the top of the plant's cash-cost band,
    /// whichever is higher) at `u0` to `M0 · (1 + premium)` at `technical_max`.
    pub stretch_premium: f64,
    /// Consecutive steps with the price below cash cost after which a plant idles (default 4 =
    /// one year at quarterly steps, range 1..=1000; ASSUMPTION, closures respond to sustained
    /// losses, not a single bad quarter: Moel & Tufano 2002).
    pub idle_after_steps: u32,
    /// Steps between the decision to restart an idle plant and its first output (default 2 =
    /// half a year at quarterly steps, range 0..=1000; ASSUMPTION from restarts of mines and
    /// refineries held in care and maintenance, which typically take 6–12 months).
    pub restart_delay_steps: u32,
    /// Cost of restarting an idle plant, in years of its cash operating cost at calibrated
    /// output (default 0.25, range 0..=10; ASSUMPTION): `R = restart_cost_years · c · u0 ·
    /// nameplate`, USD.
    pub restart_cost_years: f64,
    /// Years of calibrated output over which a restart must recover its cost (default 2, range
    /// (0, 100]): a plant restarts when its price covers `c · (1 + restart_cost_years /
    /// restart_payback_years)`.
    pub restart_payback_years: f64,
}

impl Default for UtilisationSettings {
    fn default() -> Self {
        Self {
            prospect_utilisation: 0.85,
            technical_max: 0.95,
            stretch_premium: 0.5,
            idle_after_steps: 4,
            restart_delay_steps: 2,
            restart_cost_years: 0.25,
            restart_payback_years: 2.0,
        }
    }
}

impl Default for MarketSettings {
    fn default() -> Self {
        Self {
            friend_shoring_usd_per_t: 0.0,
            default_transport_usd_per_t: 80.0,
            domestic_transport_usd_per_t: 10.0,
            price_adjustment_speed: 0.5,
            armington_elasticity: 8.0,
            supply_smoothing: 0.05,
            solver_tolerance: 1e-11,
            solver_max_iterations: 200,
            price_floor_ratio: 0.25,
            price_ceiling_ratio: 5.0,
            expectation_weight: 0.2,
            feed_stock_cover_weeks: 4.0,
            feed_stock_price_elasticity: 0.0,
            consumer_stock_cover_weeks: 0.0,
            consumer_stock_adjustment_weeks: 13.0,
            consumer_stock_price_elasticity: 1.0,
            utilisation: UtilisationSettings::default(),
        }
    }
}

/// A traded mineral.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mineral {
    /// Id used in outputs (`lithium`, `copper`, ...).
    pub id: String,
    /// Unit of quantities, for humans and figure labels (e.g. `t Li`, `t Cu`, `t REO`). A label,
    /// not a conversion: checked against a vocabulary ([`super::validate::check_unit`]).
    #[serde(default = "default_unit")]
    pub unit: String,
    /// Reference price of ore (concentrate), USD per tonne of contained element at step 0.
    pub ore_price_usd_per_t: f64,
    /// Reference price of refined product, USD per tonne of contained element at step 0.
    pub refined_price_usd_per_t: f64,
    /// Refined tonnes obtained per tonne of ore fed to a refinery (0 < r <= 1). Default 0.95.
    #[serde(default = "default_recovery")]
    pub recovery: f64,
    /// Price elasticity of demand for the refined product (<= 0). Default -0.3.
    #[serde(default = "default_elasticity")]
    pub demand_elasticity: f64,
}

fn default_unit() -> String {
    "t".to_string()
}
fn default_recovery() -> f64 {
    0.95
}
fn default_elasticity() -> f64 {
    -0.3
}

/// Quality of a nation's institutions, each 0 (worst) ..= 1 (best).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Governance {
    /// Predictability of rules for investors: lowers the country-risk premium and delays. Default 0.5.
    pub regulatory_stability: f64,
    /// Roads, power, water, ports: shortens construction and ramp-up. Default 0.5.
    pub infrastructure: f64,
    /// Enforcement of labour standards: lowers strike and accident rates. Default 0.5.
    pub labour_enforcement: f64,
    /// Enforcement of environmental standards: lowers spills and protests. Default 0.5.
    pub environmental_enforcement: f64,
}

impl Default for Governance {
    fn default() -> Self {
        Self {
            regulatory_stability: 0.5,
            infrastructure: 0.5,
            labour_enforcement: 0.5,
            environmental_enforcement: 0.5,
        }
    }
}

/// What a nation's state finance pursues (used by its financiers).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StateFinance {
    /// Minerals the state considers strategic (empty = all).
    pub strategic_minerals: Vec<String>,
    /// Nation whose share of supply the state wants to reduce (e.g. `CHN` for USA/JPN), if any.
    pub rival: Option<String>,
}

/// A host nation's development priorities and fiscal terms.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Priorities {
    /// Share of the nation's ore output it wants refined at home (0..=1). Default 0.
    pub target_domestic_processing: f64,
    /// Royalty on the value of ore mined, share of revenue (0..=1). Default 0.05.
    pub royalty_rate: f64,
    /// Ad-valorem tax on ore exports (0..=1). Default 0.
    pub ore_export_tax: f64,
    /// Whether new mine projects must commit to local refining to be approved. Default false.
    pub local_processing_mandate: bool,
    /// Minimum equity share the host's state company must hold in new projects (0..=1). Default 0.
    pub state_participation_min: f64,
    /// Minimum investor ESG standard the host requires (0..=1). Default 0.
    pub min_esg: f64,
}

impl Default for Priorities {
    fn default() -> Self {
        Self {
            target_domestic_processing: 0.0,
            royalty_rate: 0.05,
            ore_export_tax: 0.0,
            local_processing_mandate: false,
            state_participation_min: 0.0,
            min_esg: 0.0,
        }
    }
}

/// One nation's demand for one refined mineral over time.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DemandTrajectory {
    /// Mineral id.
    pub mineral: String,
    /// `(year, tonnes per year)` points, interpolated linearly in between and held flat outside.
    pub points: Vec<(f64, f64)>,
}

/// A nation: host of assets, home of firms, consumer of refined minerals.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Nation {
    /// ISO 3166 alpha-3 code (`CHN`, `USA`, `CHL`, ...), or `ROW` for an aggregate rest of world.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Political bloc, for grouping in figures (`china`, `us_allies`, `latam`, `other`).
    #[serde(default)]
    pub bloc: String,
    /// Institutions.
    #[serde(default)]
    pub governance: Governance,
    /// Strategic goals of state finance.
    #[serde(default)]
    pub state_finance: StateFinance,
    /// Development priorities and fiscal terms as a host.
    #[serde(default)]
    pub priorities: Priorities,
    /// Political affinity to other nations, -1 (hostile) ..= 1 (close ally); missing pairs are 0.
    /// Affinity to itself is always 1.
    #[serde(default)]
    pub affinity: BTreeMap<String, f64>,
    /// Nations this one has a free-trade agreement with (symmetric: listing it on one side is enough).
    #[serde(default)]
    pub fta_partners: Vec<String>,
    /// Whether firms headquartered here count as "foreign entities of concern" under sourcing rules.
    #[serde(default)]
    pub entity_of_concern: bool,
    /// Demand for refined minerals.
    #[serde(default)]
    pub demand: Vec<DemandTrajectory>,
}

/// What a firm does.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum FirmKind {
    /// Mines only.
    Miner,
    /// Refines only.
    Refiner,
    /// Both.
    Integrated,
    /// A host nation's state company (holds mandated participation).
    StateCompany,
}

/// A firm.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Firm {
    /// Stable id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Home nation: decides "control" in `share_control`.
    pub home: String,
    /// Miner, refiner, integrated or state company.
    pub kind: FirmKind,
    /// Whether the state backs the firm (lower hurdle, access to its state's financiers).
    #[serde(default)]
    pub state_backed: bool,
    /// Real annual hurdle rate for new projects (0..=1). Default 0.10.
    #[serde(default = "default_hurdle")]
    pub hurdle_rate: f64,
    /// ESG standard the firm applies to its assets (0..=1). Default 0.5.
    #[serde(default = "default_half")]
    pub esg: f64,
    /// Whether the firm proposes new projects at all. Default true.
    #[serde(default = "default_true")]
    pub invests: bool,
}

fn default_hurdle() -> f64 {
    0.10
}
fn default_half() -> f64 {
    0.5
}
fn default_true() -> bool {
    true
}

/// Supply-chain stage of a commodity.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Mined concentrate, tonnes of contained element.
    Ore,
    /// Refined product (battery or industrial grade), tonnes of contained element.
    Refined,
}

impl Stage {
    /// Lower-case name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Ore => "ore",
            Stage::Refined => "refined",
        }
    }
}

/// Life-cycle status of an asset.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Identified, not yet proposed.
    Prospect,
    /// Approved, in permitting.
    Permitting,
    /// Under construction.
    Construction,
    /// Producing below capacity while ramping up.
    RampUp,
    /// Producing.
    Operating,
    /// Temporarily not producing (outage, strike, protest).
    Suspended,
    /// Permanently closed.
    Closed,
    /// Abandoned before operation.
    Cancelled,
}

impl Status {
    /// Lower-case name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Prospect => "prospect",
            Status::Permitting => "permitting",
            Status::Construction => "construction",
            Status::RampUp => "ramp_up",
            Status::Operating => "operating",
            Status::Suspended => "suspended",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }
}

/// Random outages of an operating asset.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutageRisk {
    /// Probability per step that an outage starts (0..=1).
    pub probability_per_step: f64,
    /// Share of capacity lost while the outage lasts (0..=1).
    pub capacity_lost: f64,
    /// Duration of an outage in steps (>= 1). Default 1.
    #[serde(default = "default_one_u32")]
    pub duration_steps: u32,
}

fn default_one_u32() -> u32 {
    1
}

/// A mine or refinery.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// Stable id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Host nation id.
    pub host: String,
    /// Mineral id.
    pub mineral: String,
    /// `ore` for a mine, `refined` for a refinery.
    pub stage: Stage,
    /// Status at the start. Default `operating`.
    #[serde(default = "default_status")]
    pub status: Status,
    /// Nameplate capacity, tonnes of contained element per year (>= 0).
    pub capacity_t_per_yr: f64,
    /// Share of capacity used in normal operation (0..=1). Default 0.85.
    #[serde(default = "default_utilisation")]
    pub utilisation: f64,
    /// Cash operating cost per tonne of output, USD/t (>= 0); for refineries excluding the ore feed.
    #[serde(default)]
    pub unit_opex_usd_per_t: f64,
    /// Owners: firm id -> equity share; shares sum to 1.
    pub owners: BTreeMap<String, f64>,
    /// ESG level of the asset (0..=1); default: the capacity-weighted owners' standard.
    #[serde(default)]
    pub esg: Option<f64>,
    /// Random outages; none by default.
    #[serde(default)]
    pub outage: Option<OutageRisk>,
}

fn default_status() -> Status {
    Status::Operating
}
fn default_utilisation() -> f64 {
    0.85
}

/// A candidate project: a deposit or refinery site that firms may propose to build.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Prospect {
    /// Stable id (becomes the asset id once proposed).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Host nation id.
    pub host: String,
    /// Mineral id.
    pub mineral: String,
    /// `ore` (deposit) or `refined` (refinery site).
    pub stage: Stage,
    /// Capacity when built, t/yr.
    pub capacity_t_per_yr: f64,
    /// Capital cost before the host's learning curve, USD.
    pub capex_usd: f64,
    /// Cash operating cost, USD/t.
    pub unit_opex_usd_per_t: f64,
    /// Firms allowed to develop it (empty = any firm of a fitting kind).
    #[serde(default)]
    pub developers: Vec<String>,
    /// First year it may be proposed. Default: the start year.
    #[serde(default)]
    pub available_from: Option<f64>,
    /// Whether a mine proposal here commits to refining in the host (relevant under a mandate).
    #[serde(default)]
    pub local_processing_commitment: bool,
}

/// A resource base: what one nation can still develop of one mineral from one deposit type (or,
/// at stage `refined`, a class of generic refinery sites), with its cost curve. It generates
/// `max_tranches` generic projects at most (fewer when the resource holds fewer); tranche k costs
/// (1 + `depletion_cost_rise` × x_k) times the first, x_k the share of the resource committed before
/// it (docs/ODD.md §7.3.6; `src/scenario/resource_base.rs`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResourceBase {
    /// Host nation id.
    pub nation: String,
    /// Mineral id.
    pub mineral: String,
    /// Deposit type (`brine`, `hard_rock`, `laterite`, `porphyry`, ... or `refinery`): lower-case
    /// letters, digits and `_`; part of the generated ids.
    pub deposit_type: String,
    /// `ore` (a deposit) or `refined` (generic refinery sites).
    pub stage: Stage,
    /// Resource, t of contained content (USGS reserves or measured and indicated resources); `None`
    /// for refinery sites (no depletion: x_k = k / max_tranches).
    #[serde(default)]
    pub resource_t: Option<f64>,
    /// Cash cost of the first tranche, USD/t.
    pub unit_opex_usd_per_t: f64,
    /// Capital intensity of the first tranche, USD per t/yr of capacity.
    pub capex_usd_per_t_per_yr: f64,
    /// Relative rise of cash cost and capital intensity when the whole resource is committed
    /// (g; 1 = doubles), 0..=10. Default 0.
    #[serde(default)]
    pub depletion_cost_rise: f64,
    /// Capacity of one generic project, t/yr.
    pub project_t_per_yr: f64,
    /// Most tranches generated, 0..=1000. Default 10.
    #[serde(default = "default_max_tranches")]
    pub max_tranches: u32,
    /// Development rate of the base: how many of its tranches may be proposed and approved in one
    /// year, projects/yr, 1..=100. Tranche k opens once tranche k − m has been approved (m this
    /// value), so at most m tranches of the base are open in a year's round. Default 1 (one project a
    /// year). Source for the baseline's value: data/district_build_rates.csv (docs/ODD.md §7.3.6).
    #[serde(default = "default_tranches_per_year")]
    pub tranches_per_year: u32,
    /// First year the first tranche may be proposed. Default: the start year.
    #[serde(default)]
    pub available_from: Option<f64>,
    /// Where the numbers come from (free text).
    #[serde(default)]
    pub source: String,
}

fn default_max_tranches() -> u32 {
    10
}

fn default_tranches_per_year() -> u32 {
    1
}

/// A state financier (policy bank, export-credit or development agency).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Financier {
    /// Stable id (`CDB`, `JBIC`, `DFC`, ...).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Nation whose goals it serves.
    pub nation: String,
    /// Budget available per year, USD.
    pub annual_budget_usd: f64,
    /// Share of a project's capex it will finance at most (0..=1). Default 0.5.
    #[serde(default = "default_half")]
    pub max_share: f64,
    /// Interest-rate advantage it offers over the commercial rate, per year (0..=1). Default 0.03.
    #[serde(default = "default_concession")]
    pub concessional_rate: f64,
    /// Whether unspent budget carries over to the next year. Default false.
    #[serde(default)]
    pub carry_over: bool,
    /// Loan tenor, years from the decision (0..=50). Default 12 (ASSUMPTION: JBIC and DFC project
    /// loans to mines run 10–15 years, e.g. JBIC's Quebrada Blanca 2 loan, data/finance.csv).
    #[serde(default = "default_tenor")]
    pub loan_tenor_years: f64,
    /// Grace period of the loan (interest only), years, at most the tenor. Default 3 (ASSUMPTION:
    /// the construction period).
    #[serde(default = "default_grace")]
    pub loan_grace_years: f64,
    /// Share of capex given as a grant or capex subsidy (0..=1). Default 0. (US DoD grant of 20 M
    /// USD to Electra's cobalt refinery, data/finance.csv.)
    #[serde(default)]
    pub grant_share: f64,
    /// Share of the project's equity the financier takes (0..=1), with the offtake right to that
    /// share of output (recorded, not yet routed in trade). Default 0. (JOGMEC equity stakes.)
    #[serde(default)]
    pub equity_share: f64,
    /// Price floor guaranteed on the project's output, as a multiple of the commodity's reference
    /// (scenario) price, 0 = none (0..=10). Default 0. The 2025 US DoD–MP Materials agreement set an
    /// NdPr floor of 110 USD/kg for ten years, about 1.8× the then market price.
    #[serde(default)]
    pub price_floor_ratio: f64,
    /// Years of operation the price floor covers (0..=50). Default 10 (DoD–MP Materials 2025).
    #[serde(default = "default_floor_years")]
    pub price_floor_years: f64,
    /// Share of the country-risk premium removed by the financier's political-risk insurance on the
    /// firm's own outlay (0..=1). Default 0. (DFC and MIGA political-risk insurance.)
    #[serde(default)]
    pub insurance_cover: f64,
    /// What the financier maximises per dollar of budget: `supply_security` (capacity secured for
    /// its nation and allies, weighted by the rival's share) or `host_alignment` (capacity weighted by
    /// the host's priorities and affinity, the reading of China's policy banks). Default
    /// `supply_security`.
    #[serde(default)]
    pub objective: FinanceObjective,
}

/// A state financier's objective (docs/ODD.md §7.3.1).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FinanceObjective {
    /// Supply secured for its nation and allies per dollar (DFC, JBIC, JOGMEC).
    #[default]
    SupplySecurity,
    /// Alignment with the host's priorities per dollar (China Development Bank, China Exim).
    HostAlignment,
}

fn default_concession() -> f64 {
    0.03
}
fn default_tenor() -> f64 {
    12.0
}
fn default_grace() -> f64 {
    3.0
}
fn default_floor_years() -> f64 {
    10.0
}

/// Investment and project life-cycle parameters.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InvestmentSettings {
    /// Whether firms propose new projects at all. Default true.
    pub enabled: bool,
    /// Mean permitting time of a mine with average governance, years. Source: parameters.csv (S&P).
    pub mine_permitting_years: f64,
    /// Mean construction time of a mine, years.
    pub mine_construction_years: f64,
    /// Mean permitting time of a refinery, years.
    pub refinery_permitting_years: f64,
    /// Mean construction time of a refinery, years. Source: parameters.csv `refinery_build` (3.5).
    pub refinery_construction_years: f64,
    /// Ramp-up time to full capacity, years. Source: parameters.csv `refinery_ramp_up` (1.25).
    pub ramp_up_years: f64,
    /// Asset life used in NPV, years.
    pub asset_life_years: f64,
    /// Country-risk premium at regulatory stability 0, per year (linear to 0 at stability 1).
    pub max_country_risk_premium: f64,
    /// Cancellation hazard per year while permitting or building, at regulatory stability 0.
    pub max_cancellation_hazard_per_yr: f64,
    /// Learning rate: capex and opex fall by this share per doubling of cumulative capacity in the host.
    pub learning_rate: f64,
    /// Coefficient of variation of every stage duration (lognormal), dimensionless, 0..=3. Default
    /// 0.35 (ASSUMPTION: parameters.csv `refinery_build` spans 2–5 y around 3.5 y).
    pub duration_cv: f64,
    /// How strongly governance stretches durations: mean × (1 + effect × (0.5 − x)), x = regulatory
    /// stability for permitting, infrastructure for construction and ramp-up; 0..=2. Default 1.
    pub governance_duration_effect: f64,
    /// Delay hazard per year while permitting or building, at regulatory stability 0 (linear to 0 at
    /// stability 1). Default 0.3: at stability 0.5 about 60% of 6-year projects see a delay
    /// (parameters.csv `projects_delayed_share`, ERM 2023).
    pub max_delay_hazard_per_yr: f64,
    /// Mean length of one delay, years (lognormal with `duration_cv`). Default 0.5 (ASSUMPTION).
    pub delay_mean_years: f64,
    /// ESG compliance cost as a share of opex per unit of the ESG standard applied, 0..=1. The
    /// standard applied is max(firm ESG, host minimum). Default 0.1 (ASSUMPTION).
    pub esg_cost_share: f64,
    /// Sharpness of the logit choice among positive-NPV options, per unit of NPV/capex; 0 = uniform.
    /// Default 10.
    pub choice_sharpness: f64,
    /// Log-odds of host approval for a neutral proposal (affinity 0, ESG at the minimum, no finance,
    /// full social licence). Default 1.0 (ASSUMPTION).
    pub approval_intercept: f64,
    /// Log-odds per unit of host affinity to the investor's home. Default 1.5.
    pub approval_affinity_weight: f64,
    /// Log-odds per unit of investor ESG above the host's minimum. Default 2.0.
    pub approval_esg_weight: f64,
    /// Log-odds per unit of capex share co-financed by a state financier. Default 2.0.
    pub approval_finance_weight: f64,
    /// Log-odds per unit of social licence lost by the investor's home in the host. Default 3.0.
    pub approval_licence_weight: f64,
    /// Log-odds penalty for a mine proposal without a local-processing commitment where a mandate
    /// is in force. Default 3.0.
    pub mandate_penalty: f64,
    /// Years before a rejected prospect may be proposed again. Default 2.
    pub retry_years: f64,
    /// Least affinity of a financier's nation to a firm's home for the financier to back the firm
    /// (its own nation's firms always qualify), -1..=1. Default 0.5.
    pub ally_affinity: f64,
    /// Years of a firm's expected operating cash flow it may commit to new projects in a year (its
    /// capital budget), 0..=50. Default 3 (ASSUMPTION: a year's commitments are paid over about three
    /// years of construction).
    pub capital_budget_years: f64,
    /// Least capital budget of an investing firm, USD per year (a firm without operating assets can
    /// still raise this much). Default 1.5e9 (ASSUMPTION: the annual capex of a mid-size miner).
    pub min_capital_budget_usd: f64,
    /// Multiplier on the country-risk premium for state-backed firms, 0..=1. Default 0.5
    /// (ASSUMPTION; Kaplan 2021, Bräutigam & Gallagher 2014: state-backed lenders and firms accept
    /// higher political risk).
    pub state_backed_risk_factor: f64,
    /// Multiplier on the capital budget of state-backed firms, 1..=20. Default 2 (ASSUMPTION; Kaplan
    /// 2021: patient capital from policy banks).
    pub state_backed_budget_multiplier: f64,
    /// Weight a financier gives to a prospect that a firm of its rival builds this year without
    /// finance (finance then changes who controls the capacity, not how much there is), 0..=1.
    /// Default 0.25 (ASSUMPTION). A prospect that a non-rival firm builds without finance gets no
    /// offer at all (the US BUILD Act 2018 requires DFC support to be additional to private
    /// capital; docs/ODD.md §7.3, "Additionality"). Until 2 December 2026 this weighed every pair
    /// with positive commercial NPV.
    pub inframarginal_weight: f64,
    /// Annual volatility of log prices used to value price floors (Black 1976), 0..=3. Default 0.3
    /// (ASSUMPTION: battery-metal prices moved by 30–80% a year in 2021–2024, data/parameters.csv).
    pub price_volatility: f64,
    /// Discount of the host's ore price to the world price that a refinery project expects under an
    /// ore export ban in its host, 0..=1. Default 0.3 (ASSUMPTION; OECD 2014, Fliess et al.: export
    /// restrictions depress domestic raw-material prices, an implicit subsidy to local processing).
    pub ore_ban_feed_discount: f64,
    /// Years a project in permitting or construction may stay deferred (value of finishing negative)
    /// before it is cancelled, 0..=20. Default 2 (ASSUMPTION).
    pub max_deferral_years: f64,
    /// Multiplier on the permitting and construction time of refinery projects built by a
    /// state-backed firm (the Chinese EPC model), 0.05..=2. Default 0.5: Chinese-built refineries
    /// in Indonesia were contracted or built in 1.5–2 years (HPAL contract term 24 months; RKEF NPI
    /// lines about 18 months) against 3.5 years for refinery construction in general
    /// (data/stage_durations.csv, from the data branch; data/parameters.csv `refinery_build`).
    pub state_backed_build_factor: f64,
    /// Most firms that examine one prospect in a year (the bidders of a licensing round), 1..=10^6.
    /// Where more firms may develop it, this many are drawn uniformly without replacement each year
    /// (a new draw every year). Default 32: more than the developers of any prospect in the shipped
    /// scenarios (at most 5 listed; at most 25 local firms for a resource-base tranche), so it binds
    /// only in large synthetic worlds, where it keeps investment O(P log P + F) a year instead of
    /// O(P × F) (docs/ODD.md §7.3; search and matching with a finite number of bidders, e.g.
    /// Milgrom 2004, *Putting Auction Theory to Work*).
    pub max_bidders_per_prospect: u32,
}

impl Default for InvestmentSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            mine_permitting_years: 4.0,
            mine_construction_years: 3.0,
            refinery_permitting_years: 1.5,
            refinery_construction_years: 3.5,
            ramp_up_years: 1.25,
            asset_life_years: 20.0,
            max_country_risk_premium: 0.08,
            max_cancellation_hazard_per_yr: 0.10,
            learning_rate: 0.10,
            duration_cv: 0.35,
            governance_duration_effect: 1.0,
            max_delay_hazard_per_yr: 0.3,
            delay_mean_years: 0.5,
            esg_cost_share: 0.1,
            choice_sharpness: 10.0,
            approval_intercept: 1.0,
            approval_affinity_weight: 1.5,
            approval_esg_weight: 2.0,
            approval_finance_weight: 2.0,
            approval_licence_weight: 3.0,
            mandate_penalty: 3.0,
            retry_years: 2.0,
            ally_affinity: 0.5,
            capital_budget_years: 3.0,
            min_capital_budget_usd: 1.5e9,
            state_backed_risk_factor: 0.5,
            state_backed_budget_multiplier: 2.0,
            inframarginal_weight: 0.25,
            price_volatility: 0.3,
            ore_ban_feed_discount: 0.3,
            max_deferral_years: 2.0,
            state_backed_build_factor: 0.5,
            max_bidders_per_prospect: 32,
        }
    }
}

/// Host politics: yearly rules by which hosts tighten or loosen their terms.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PoliticsSettings {
    /// Whether hosts adapt their priorities at all. Default true (inactive anyway for hosts without a
    /// processing target or mandate).
    pub enabled: bool,
    /// A host tightens when its domestic processing lags its target by more than this, share 0..=1.
    /// Default 0.1.
    pub lag_threshold: f64,
    /// Ore prices count as high when the expected ore price is at least this multiple of its
    /// reference price, > 0. Default 1.0.
    pub high_price_ratio: f64,
    /// Change of the ore export tax per tightening or loosening, 0..=1. Default 0.05.
    pub export_tax_step: f64,
    /// Highest ore export tax a host sets by itself, 0..=1. Default 0.3.
    pub max_ore_export_tax: f64,
    /// Years without an approved project (since the last change of terms) after which a host
    /// loosens, > 0. Default 3.
    pub drought_years: f64,
}

impl Default for PoliticsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            lag_threshold: 0.1,
            high_price_ratio: 1.0,
            export_tax_step: 0.05,
            max_ore_export_tax: 0.3,
            drought_years: 3.0,
        }
    }
}

/// Operations: incidents and social licence.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OperationsSettings {
    /// Incident probability per asset-year at ESG 0 and enforcement 0.
    pub max_incident_rate_per_yr: f64,
    /// Share of capacity lost during an incident.
    pub incident_capacity_lost: f64,
    /// Incident duration, steps.
    pub incident_duration_steps: u32,
    /// Drop in the host's acceptance of projects from the owner's home after one incident (0..=1).
    pub social_licence_loss: f64,
    /// Recovery of social licence per year.
    pub social_licence_recovery_per_yr: f64,
}

impl Default for OperationsSettings {
    fn default() -> Self {
        Self {
            max_incident_rate_per_yr: 0.0,
            incident_capacity_lost: 0.5,
            incident_duration_steps: 1,
            social_licence_loss: 0.1,
            social_licence_recovery_per_yr: 0.05,
        }
    }
}

/// Transport cost between two nations (both directions).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TransportCost {
    /// One end.
    pub from: String,
    /// Other end.
    pub to: String,
    /// USD per tonne shipped.
    pub usd_per_t: f64,
}

/// A calibrated bilateral preference term (`docs/ODD.md` §7.6).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TradePreference {
    /// Exporting nation.
    pub from: String,
    /// Importing nation.
    pub to: String,
    /// Mineral it applies to (all minerals when absent).
    #[serde(default)]
    pub mineral: Option<String>,
    /// Stage it applies to (both when absent).
    #[serde(default)]
    pub stage: Option<Stage>,
    /// Log shifter β added to the Armington weight of `from` in `to`'s purchases (dimensionless;
    /// +1 multiplies the share ratio by e at equal delivered prices).
    pub log_weight: f64,
}

/// A date: a decimal year (`2026.0`, `2025.75`) or an ISO date string (`"2025-09-30"`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum When {
    /// Decimal year; `2026.0` is 1 January 2026.
    Year(f64),
    /// `YYYY-MM-DD`.
    Date(String),
}

/// A dated policy or shock. `start` is when it takes effect; `end` (exclusive) when it lapses.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Stable id.
    pub id: String,
    /// Takes effect at the first step on or after this date.
    pub start: When,
    /// Lapses at the first step on or after this date; `None` = never.
    #[serde(default)]
    pub end: Option<When>,
    /// When it was announced (on or before `start`): from this date investors value projects on
    /// the terms it will set. `None` = announced when it takes effect.
    #[serde(default)]
    pub announced: Option<When>,
    /// What it does.
    pub action: PolicyAction,
}

/// What a policy does. Written as `action: (kind: "export_control", ...)`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyAction {
    /// Export control by an exporter on one commodity towards a set of destinations.
    ExportControl {
        /// Exporting nation.
        exporter: String,
        /// Mineral id.
        mineral: String,
        /// Stage controlled.
        stage: Stage,
        /// Destinations affected; empty = every other nation.
        #[serde(default)]
        destinations: Vec<String>,
        /// `ban`, `quota` or `licence_delay`.
        mode: ControlMode,
        /// Quota on total exports to the destinations, t/yr (mode `quota`).
        #[serde(default)]
        quota_t_per_yr: f64,
        /// Licence delay, steps (mode `licence_delay`): shipments arrive that many steps late.
        #[serde(default)]
        delay_steps: u32,
    },
    /// Ad-valorem tariff by an importer.
    Tariff {
        /// Importing nation.
        importer: String,
        /// Mineral id.
        mineral: String,
        /// Stage.
        stage: Stage,
        /// Exporters it applies to; empty = all foreign.
        #[serde(default)]
        exporters: Vec<String>,
        /// Rate on the value shipped (0..=5).
        rate: f64,
    },
    /// Ad-valorem export tax.
    ExportTax {
        /// Exporting nation.
        exporter: String,
        /// Mineral id.
        mineral: String,
        /// Stage.
        stage: Stage,
        /// Rate on the value shipped (0..=5).
        rate: f64,
    },
    /// A dated outage of one asset (a flood, a strike, a blockade).
    Outage {
        /// Asset id.
        asset: String,
        /// Share of capacity lost while in force (0..=1).
        capacity_lost: f64,
    },
    /// A consumer's sourcing rule rewarding supply extracted or processed at home or in FTA partners
    /// and excluding entities of concern (the IRA 30D pattern).
    SourcingRule {
        /// Consumer nation applying it.
        consumer: String,
        /// Minerals covered; empty = all.
        #[serde(default)]
        minerals: Vec<String>,
        /// Required qualifying share by year: `(year, share)` points, stepwise (latest year <= now).
        required_share: Vec<(f64, f64)>,
        /// Premium a qualifying tonne earns, USD/t (the credit passed through to the buyer).
        premium_usd_per_t: f64,
        /// Whether supply controlled by entities of concern is excluded.
        #[serde(default)]
        exclude_entities_of_concern: bool,
    },
    /// An agreement under which `partner` counts as an FTA partner of `nation` (e.g. US–Japan CMA).
    FtaAgreement {
        /// Nation granting FTA status.
        nation: String,
        /// Nation treated as FTA partner.
        partner: String,
    },
    /// A host's local-processing mandate or ore export ban.
    LocalProcessingMandate {
        /// Host nation.
        nation: String,
        /// Minerals covered; empty = all.
        #[serde(default)]
        minerals: Vec<String>,
        /// Whether unprocessed ore exports are banned outright.
        #[serde(default)]
        ore_export_ban: bool,
    },
    /// The host's state takes a majority (or the given share) of assets of a mineral.
    Nationalisation {
        /// Host nation.
        nation: String,
        /// Mineral id.
        mineral: String,
        /// Firm that receives the equity (a state company).
        state_firm: String,
        /// Equity share taken from the other owners pro rata (0..=1).
        share: f64,
    },
    /// A change in a financier's annual budget (a finance programme).
    FinanceProgramme {
        /// Financier id.
        financier: String,
        /// New annual budget, USD.
        annual_budget_usd: f64,
    },
}

/// How an export control acts.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ControlMode {
    /// No exports to the destinations.
    Ban,
    /// Exports capped at `quota_t_per_yr`.
    Quota,
    /// Exports delayed by `delay_steps`.
    LicenceDelay,
}

/// Ids of the figure families a run draws: the valid values of `output.figures`. Listed here, with
/// the scenario field they validate, so validation does not reach up into the output layer;
/// `tests/it/layers.rs` checks the list equals the families `crate::output::figures` draws.
pub const FIGURE_IDS: &[&str] = &[
    "share",
    "capacity",
    "production",
    "hhi",
    "price",
    "unmet_demand",
    "import_dependence",
    "domestic_processing",
    "value_added",
    "investment_by_host",
    "investment_by_source",
    "state_finance",
    "incidents",
];

/// Figures and highlighting.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSettings {
    /// Figure family ids to draw (`share`, `capacity`, `price`, ...; see docs/output-format.md);
    /// empty = all.
    pub figures: Vec<String>,
    /// Nations drawn in their own colour (China always is; others are grouped as "Other");
    /// empty = the six largest nations of each chart.
    pub highlight_nations: Vec<String>,
    /// Consumer nations whose import dependence is charted; empty = the four largest consumers
    /// of each mineral (by total consumption, else demand).
    pub consumers: Vec<String>,
}
