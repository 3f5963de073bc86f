//! The resolve stage: a validated scenario turned into what the model runs on — dense indices
//! instead of ids, steps instead of dates, and every default applied once, here.
//!
//! Ids are sorted (byte order) before they get indices, so neither spawn order nor the order of
//! entries in the file changes any index. [`resolve`] runs once at the end of validation
//! ([`super::validate`]), so a [`super::Validated`] scenario always carries its [`Resolved`] form
//! and world building cannot meet an unknown id: the model has no `unwrap_or` fallbacks and no
//! `let … else { continue }` over ids.
//!
//! The defaults applied here (and nowhere else):
//! - an asset without `esg` gets the ownership-weighted mean of its owners' firm ESG levels;
//! - a policy without `end` never lapses (`end_step = u32::MAX`);
//! - a licence-delay export control grants its first licences `delay_steps / steps_per_year`
//!   years after its real start date (which may precede the run); other policies at their start;
//! - a prospect without `available_from` is available from step 0;
//! - each `resource_base` entry becomes its generic projects (tranches), appended to the prospects
//!   ([`super::resource_base`]);
//! - a financier's nation without `strategic_minerals` counts every mineral as strategic;
//! - a `minerals: []` of a local-processing mandate covers every mineral; an empty
//!   `destinations` / `exporters` list of a trade measure stays empty (it means "every other
//!   nation", which the trade rules expand).
//!
//! A policy's action becomes an index form the mechanisms apply without looking up an id: trade
//! measures ([`TradeMeasure`]), asset measures (outages, nationalisations: [`AssetMeasure`]),
//! sourcing rules and FTA agreements ([`SourcingMeasure`]) and finance programmes
//! ([`BudgetMeasure`]). The action as written is not kept; the policy's id is kept apart, in
//! [`Resolved::policy_ids`], as the label of its events.
//!
//! Indices are plain integers here (the scenario layer sits below the model); the model wraps
//! them in its index types (`NationIdx`, `FirmIdx`, ...) when it builds the world.

use super::error::{Location, Problem, clip};
use super::schema::*;
use super::validate::when_to_year;

/// The first step at or after a decimal year, for a run starting at `start_year` with
/// `steps_per_year` steps a year and `total_steps` steps (clamped to `0..=total_steps`). The one
/// place dates become steps (`Clock::step_at` calls it).
pub fn step_at(start_year: i32, steps_per_year: u32, total_steps: u32, year: f64) -> u32 {
    let steps = ((year - f64::from(start_year)) * f64::from(steps_per_year) - 1e-9).ceil();
    if steps <= 0.0 {
        0
    } else {
        (steps as u32).min(total_steps)
    }
}

/// Whether a firm of this kind builds assets of this stage.
pub fn kind_fits(kind: FirmKind, stage: Stage) -> bool {
    matches!(
        (kind, stage),
        (FirmKind::Integrated | FirmKind::StateCompany, _)
            | (FirmKind::Miner, Stage::Ore)
            | (FirmKind::Refiner, Stage::Refined)
    )
}

/// A mineral's parameters, by mineral index.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedMineral {
    /// Unit of tonnage (`t Li`, ...).
    pub unit: String,
    /// Reference ore price, USD/t.
    pub ore_price_usd_per_t: f64,
    /// Reference refined price, USD/t.
    pub refined_price_usd_per_t: f64,
    /// Refined t per ore t.
    pub recovery: f64,
    /// Price elasticity of refined demand.
    pub demand_elasticity: f64,
}

/// A nation, by nation index.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedNation {
    /// Governance levels.
    pub governance: Governance,
    /// Host priorities.
    pub priorities: Priorities,
    /// Whether firms of this nation are entities of concern.
    pub entity_of_concern: bool,
    /// Explicit affinities `(other nation, value)`, sorted by index.
    pub affinity: Vec<(u16, f64)>,
    /// FTA partners, as written (indices).
    pub fta_partners: Vec<u16>,
    /// Demand trajectories `(mineral, (year, t/yr) points sorted by year)`, in file order.
    pub demand: Vec<(u16, Vec<(f64, f64)>)>,
    /// Minerals its state financiers treat as strategic, by mineral index (all when the scenario
    /// lists none).
    pub strategic: Vec<bool>,
    /// Rival nation of its state finance.
    pub rival: Option<u16>,
}

/// A firm, by firm index.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedFirm {
    /// Home nation.
    pub home: u16,
    /// Kind.
    pub kind: FirmKind,
    /// State backing.
    pub state_backed: bool,
    /// Hurdle rate.
    pub hurdle_rate: f64,
    /// ESG level.
    pub esg: f64,
    /// Whether it proposes projects.
    pub invests: bool,
}

/// An existing asset, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedAsset {
    /// Asset index.
    pub idx: u32,
    /// Host nation.
    pub host: u16,
    /// Mineral.
    pub mineral: u16,
    /// Stage.
    pub stage: Stage,
    /// Status at the start.
    pub status: Status,
    /// Nameplate capacity, t/yr.
    pub capacity_t_per_yr: f64,
    /// Utilisation.
    pub utilisation: f64,
    /// Opex, USD/t.
    pub unit_opex_usd_per_t: f64,
    /// Owners and equity shares, by firm index.
    pub owners: Vec<(u32, f64)>,
    /// ESG level (default: ownership-weighted mean of the owners' ESG).
    pub esg: f64,
    /// Random outage risk.
    pub outage: Option<OutageRisk>,
}

/// A prospect, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedProspect {
    /// Asset index.
    pub idx: u32,
    /// Host nation.
    pub host: u16,
    /// Mineral.
    pub mineral: u16,
    /// Stage.
    pub stage: Stage,
    /// Nameplate capacity, t/yr.
    pub capacity_t_per_yr: f64,
    /// Capex, USD.
    pub capex_usd: f64,
    /// Opex, USD/t.
    pub unit_opex_usd_per_t: f64,
    /// Firms allowed to develop it (sorted, deduplicated; empty = any firm of a fitting kind).
    pub developers: Vec<u32>,
    /// First step it may be proposed.
    pub available_step: u32,
    /// Whether developing it commits to local processing.
    pub local_processing_commitment: bool,
    /// A resource-base tranche: the tranche that must have left the prospect state before this one
    /// may be proposed (docs/ODD.md §7.3.6).
    pub after: Option<u32>,
}

/// A state financier, sorted by id.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedFinancier {
    /// Id (for events).
    pub id: String,
    /// Nation.
    pub nation: u16,
    /// Annual budget, USD.
    pub annual_budget_usd: f64,
    /// Largest share of a project's capex it lends.
    pub max_share: f64,
    /// Concessional rate.
    pub concessional_rate: f64,
    /// Whether unspent budget carries over.
    pub carry_over: bool,
    /// Loan tenor, years.
    pub loan_tenor_years: f64,
    /// Loan grace period, years.
    pub loan_grace_years: f64,
    /// Grant share of capex.
    pub grant_share: f64,
    /// Equity share taken.
    pub equity_share: f64,
    /// Price floor as a ratio of the reference price.
    pub price_floor_ratio: f64,
    /// Years the price floor lasts.
    pub price_floor_years: f64,
    /// Political-risk insurance cover.
    pub insurance_cover: f64,
    /// The financier's objective.
    pub objective: crate::scenario::FinanceObjective,
}

/// What a trade measure does, in indices (the trade rules are rebuilt from these while the
/// model runs, without looking at an id).
#[derive(Clone, Debug, PartialEq)]
pub enum TradeMeasure {
    /// An export control.
    ExportControl {
        /// Exporter.
        exporter: u16,
        /// Mineral.
        mineral: u16,
        /// Stage.
        stage: Stage,
        /// Destinations, sorted and deduplicated; empty = every other nation.
        destinations: Vec<u16>,
        /// Mode.
        mode: ControlMode,
        /// Quota, t/yr.
        quota_t_per_yr: f64,
    },
    /// A tariff.
    Tariff {
        /// Importer.
        importer: u16,
        /// Mineral.
        mineral: u16,
        /// Stage.
        stage: Stage,
        /// Exporters it applies to, in file order; empty = every foreign exporter.
        exporters: Vec<u16>,
        /// Ad-valorem rate.
        rate: f64,
    },
    /// An export tax.
    ExportTax {
        /// Exporter.
        exporter: u16,
        /// Mineral.
        mineral: u16,
        /// Stage.
        stage: Stage,
        /// Ad-valorem rate.
        rate: f64,
    },
    /// A local-processing mandate.
    LocalProcessingMandate {
        /// Host.
        nation: u16,
        /// Minerals covered (every mineral when the scenario lists none).
        minerals: Vec<u16>,
        /// Whether ore exports are banned.
        ore_export_ban: bool,
    },
}

/// What a policy does to assets, in indices.
#[derive(Clone, Debug, PartialEq)]
pub enum AssetMeasure {
    /// A dated outage of one asset.
    Outage {
        /// Asset.
        asset: u32,
        /// Share of capacity lost while in force.
        capacity_lost: f64,
    },
    /// The host's state takes equity in every asset of a mineral it hosts.
    Nationalisation {
        /// Host.
        nation: u16,
        /// Mineral.
        mineral: u16,
        /// Firm receiving the equity.
        state_firm: u32,
        /// Equity share taken.
        share: f64,
    },
}

/// What a sourcing-related policy does, in indices (the sourcing rules are rebuilt from these
/// while the model runs, without looking at an id).
#[derive(Clone, Debug, PartialEq)]
pub enum SourcingMeasure {
    /// A consumer's sourcing rule (the IRA 30D pattern).
    Rule {
        /// Consumer nation applying it.
        consumer: u16,
        /// Minerals covered (every mineral when the scenario lists none).
        minerals: Vec<u16>,
        /// Required qualifying share by year: `(year, share)` points, as written.
        required_share: Vec<(f64, f64)>,
        /// Premium a qualifying tonne earns, USD/t.
        premium_usd_per_t: f64,
        /// Whether supply controlled by entities of concern is excluded.
        exclude_entities_of_concern: bool,
    },
    /// `partner` counts as an FTA partner of `nation`.
    FtaAgreement {
        /// Nation granting FTA status.
        nation: u16,
        /// Nation treated as FTA partner.
        partner: u16,
    },
}

/// A finance programme: a new annual budget for one state financier, in indices.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetMeasure {
    /// Financier, by its index in [`Resolved::financiers`] (sorted by id).
    pub financier: u32,
    /// New annual budget, USD.
    pub annual_budget_usd: f64,
}

/// A calibrated preference term of the origin choice (`scenario.trade_preferences`).
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedPreference {
    /// Exporter.
    pub from: u16,
    /// Importer.
    pub to: u16,
    /// Mineral it applies to; `None` = every mineral.
    pub mineral: Option<u16>,
    /// Stage it applies to; `None` = both.
    pub stage: Option<Stage>,
    /// Log weight β.
    pub log_weight: f64,
}

/// A dated policy, in scenario order.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedPolicy {
    /// Policy index: its position in [`Resolved::policies`] and in [`Resolved::policy_ids`]
    /// (the id is a label of the events, looked up at the edge).
    pub idx: u32,
    /// Step from which investors see it (its announcement; its start when not announced).
    pub announced_step: u32,
    /// First step in force.
    pub start_step: u32,
    /// First step no longer in force (`u32::MAX` = never ends).
    pub end_step: u32,
    /// First step whose start is at or after the first licences of a licence-delay control
    /// (`start_step`'s date otherwise).
    pub licence_open_step: u32,
    /// Decimal year the first licences are granted (the start date otherwise).
    pub licence_open_year: f64,
    /// The trade measure it imposes, if it is one.
    pub trade: Option<TradeMeasure>,
    /// What it does to assets, if it is an outage or a nationalisation.
    pub assets: Option<AssetMeasure>,
    /// The sourcing rule or FTA agreement it imposes, if it is one.
    pub sourcing: Option<SourcingMeasure>,
    /// The financier budget it sets, if it is a finance programme.
    pub budget: Option<BudgetMeasure>,
}

/// A scenario resolved to indices and steps: the input of world building.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// Mineral ids, sorted: index = position.
    pub mineral_ids: Vec<String>,
    /// Nation ids, sorted.
    pub nation_ids: Vec<String>,
    /// Firm ids, sorted.
    pub firm_ids: Vec<String>,
    /// Asset ids (assets and prospects), sorted.
    pub asset_ids: Vec<String>,
    /// Steps in the run.
    pub steps: u32,
    /// Minerals by index.
    pub minerals: Vec<ResolvedMineral>,
    /// Nations by index.
    pub nations: Vec<ResolvedNation>,
    /// Nation indices in scenario order (spawn order).
    pub nation_file_order: Vec<u16>,
    /// Firms by index.
    pub firms: Vec<ResolvedFirm>,
    /// Firm indices in scenario order (spawn order).
    pub firm_file_order: Vec<u32>,
    /// Existing assets, in file order.
    pub assets: Vec<ResolvedAsset>,
    /// Prospects, in file order.
    pub prospects: Vec<ResolvedProspect>,
    /// State financiers, sorted by id.
    pub financiers: Vec<ResolvedFinancier>,
    /// Transport costs `(from, to, USD/t)`, in file order (applied both ways, later wins).
    pub transport: Vec<(u16, u16, f64)>,
    /// Trade preferences, in file order.
    pub trade_preferences: Vec<ResolvedPreference>,
    /// Policies in scenario order.
    pub policies: Vec<ResolvedPolicy>,
    /// Policy ids in scenario order (labels of the `policy_start` / `policy_end` events).
    pub policy_ids: Vec<String>,
    /// `(mineral, state firm)` of every nationalisation, in scenario order.
    pub nationalisations: Vec<(u16, u32)>,
    /// Run settings (seed included).
    pub run: RunSettings,
    /// Market settings.
    pub market: MarketSettings,
    /// Investment settings.
    pub investment: InvestmentSettings,
    /// Operations settings.
    pub operations: OperationsSettings,
    /// Politics settings.
    pub politics: PoliticsSettings,
    /// Strategic stockpiles, sorted by (nation, mineral).
    pub stockpiles: Vec<super::stockpile::ResolvedStockpile>,
    /// Secondary supply (end-of-life model, collection, recyclers), sorted by index.
    pub recycling: super::recycling::ResolvedRecycling,
    /// Equity offtake and offtake contracts (`docs/ODD.md` §7.6.4).
    pub offtake: super::offtake::ResolvedOfftake,
}

impl Resolved {
    /// The first step at or after a decimal year.
    pub fn step_at(&self, year: f64) -> u32 {
        step_at(
            self.run.start_year,
            self.run.steps_per_year,
            self.steps,
            year,
        )
    }
}

/// Sorted ids with lookups that record a problem when an id is unknown.
struct Ids<'a, 's> {
    /// Sorted, without duplicates: an id's index is its rank.
    ids: Vec<String>,
    /// Id -> rank. Hashed: at 10^5 assets a binary search over the string ids per reference
    /// was most of resolution's time (`memcmp`).
    rank: std::collections::HashMap<&'s str, usize, super::validate::IdHash>,
    what: &'static str,
    problems: &'a std::cell::RefCell<Vec<Problem>>,
}

impl Ids<'_, '_> {
    /// The index of `id`; if it is unknown, a problem at `path` (formatted only then).
    fn index(&self, path: std::fmt::Arguments<'_>, id: &str) -> Option<usize> {
        let found = self.rank.get(id).copied();
        if found.is_none() {
            self.problems.borrow_mut().push(problem(
                path.to_string(),
                format!(
                    "unknown {} `{id}` (internal: validation let it through)",
                    self.what
                ),
            ));
        }
        found
    }
}

/// The ids of one list: sorted as `String`s sort (byte order), duplicates dropped, ranked.
fn ids_of<'a, 's>(
    what: &'static str,
    mut it: Vec<&'s str>,
    problems: &'a std::cell::RefCell<Vec<Problem>>,
) -> Ids<'a, 's> {
    it.sort_unstable();
    it.dedup();
    let rank = it.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    Ids {
        ids: it.iter().map(|id| (*id).to_string()).collect(),
        rank,
        what,
        problems,
    }
}

fn problem(path: String, message: String) -> Problem {
    Problem {
        path: clip(&path, 320).into_owned(),
        message: clip(&message, 960).into_owned(),
        location: Location::Unknown,
    }
}

/// Number of steps of a run's settings (0 if it does not fit a `u32`).
pub fn steps_of(run: &RunSettings) -> u32 {
    u32::try_from(
        (i64::from(run.end_year) - i64::from(run.start_year) + 1) * i64::from(run.steps_per_year),
    )
    .unwrap_or(0)
}

/// The resolved form of a validated scenario (computed once, when it was validated).
pub fn resolve(scenario: &super::Validated) -> Resolved {
    scenario.resolved().clone()
}

/// Resolve a scenario. Called by [`super::validate`] after its checks; an `Err` here means the
/// checks let an unknown reference through, and is reported as a problem of the scenario.
pub fn resolve_checked(s: &Scenario) -> Result<Resolved, Vec<Problem>> {
    let problems = std::cell::RefCell::new(Vec::new());
    let ids = |what, it| ids_of(what, it, &problems);
    let minerals = ids(
        "mineral",
        s.minerals.iter().map(|m| m.id.as_str()).collect(),
    );
    let nations = ids("nation", s.nations.iter().map(|n| n.id.as_str()).collect());
    let firms = ids("firm", s.firms.iter().map(|f| f.id.as_str()).collect());
    let generated = super::resource_base::tranches(s);
    let assets = ids(
        "asset",
        s.assets
            .iter()
            .map(|a| a.id.as_str())
            .chain(s.prospects.iter().map(|p| p.id.as_str()))
            .chain(generated.iter().map(|t| t.id.as_str()))
            .collect(),
    );
    // Paths are `format_args!`: formatted only for a problem, not for each of ~10^6 references.
    let nation = |p: std::fmt::Arguments<'_>, id: &str| nations.index(p, id).map(|i| i as u16);
    let mineral = |p: std::fmt::Arguments<'_>, id: &str| minerals.index(p, id).map(|i| i as u16);
    let firm = |p: std::fmt::Arguments<'_>, id: &str| firms.index(p, id).map(|i| i as u32);
    let asset = |p: std::fmt::Arguments<'_>, id: &str| assets.index(p, id).map(|i| i as u32);
    let steps = steps_of(&s.run);
    let step_of = |year: f64| step_at(s.run.start_year, s.run.steps_per_year, steps, year);
    let nm = minerals.ids.len();

    let mut resolved_minerals = Vec::with_capacity(nm);
    for id in &minerals.ids {
        if let Some(m) = s.minerals.iter().find(|m| &m.id == id) {
            resolved_minerals.push(ResolvedMineral {
                unit: m.unit.clone(),
                ore_price_usd_per_t: m.ore_price_usd_per_t,
                refined_price_usd_per_t: m.refined_price_usd_per_t,
                recovery: m.recovery,
                demand_elasticity: m.demand_elasticity,
            });
        }
    }

    let mut by_nation: Vec<Option<ResolvedNation>> = vec![None; nations.ids.len()];
    let mut nation_file_order = Vec::with_capacity(s.nations.len());
    for n in &s.nations {
        let p = super::validate::ElementPath("nations", &n.id);
        let Some(i) = nation(format_args!("{p}"), &n.id) else {
            continue;
        };
        nation_file_order.push(i);
        let mut affinity: Vec<(u16, f64)> = n
            .affinity
            .iter()
            .filter_map(|(o, v)| nation(format_args!("{p}.affinity"), o).map(|o| (o, *v)))
            .collect();
        affinity.sort_by_key(|(o, _)| *o);
        let fta_partners = n
            .fta_partners
            .iter()
            .filter_map(|o| nation(format_args!("{p}.fta_partners"), o))
            .collect();
        let demand = n
            .demand
            .iter()
            .filter_map(|d| {
                let m = mineral(format_args!("{p}.demand"), &d.mineral)?;
                let mut points = d.points.clone();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Some((m, points))
            })
            .collect();
        let goals = &n.state_finance;
        let strategic = if goals.strategic_minerals.is_empty() {
            vec![true; nm]
        } else {
            let mut v = vec![false; nm];
            for m in &goals.strategic_minerals {
                if let Some(m) = mineral(format_args!("{p}.state_finance.strategic_minerals"), m) {
                    v[usize::from(m)] = true;
                }
            }
            v
        };
        let rival = goals
            .rival
            .as_deref()
            .and_then(|r| nation(format_args!("{p}.state_finance.rival"), r));
        by_nation[usize::from(i)] = Some(ResolvedNation {
            governance: n.governance.clone(),
            priorities: n.priorities.clone(),
            entity_of_concern: n.entity_of_concern,
            affinity,
            fta_partners,
            demand,
            strategic,
            rival,
        });
    }

    let mut by_firm: Vec<Option<ResolvedFirm>> = vec![None; firms.ids.len()];
    let mut firm_file_order = Vec::with_capacity(s.firms.len());
    for f in &s.firms {
        let p = super::validate::ElementPath("firms", &f.id);
        if let (Some(i), Some(home)) = (
            firm(format_args!("{p}"), &f.id),
            nation(format_args!("{p}.home"), &f.home),
        ) {
            firm_file_order.push(i);
            by_firm[i as usize] = Some(ResolvedFirm {
                home,
                kind: f.kind,
                state_backed: f.state_backed,
                hurdle_rate: f.hurdle_rate,
                esg: f.esg,
                invests: f.invests,
            });
        }
    }

    let mut resolved_assets = Vec::with_capacity(s.assets.len());
    for a in &s.assets {
        let p = super::validate::ElementPath("assets", &a.id);
        let (Some(idx), Some(host), Some(m)) = (
            asset(format_args!("{p}"), &a.id),
            nation(format_args!("{p}.host"), &a.host),
            mineral(format_args!("{p}.mineral"), &a.mineral),
        ) else {
            continue;
        };
        // Owners in id order (= index order): the default ESG sums in this order.
        let mut owners = Vec::with_capacity(a.owners.len());
        let mut weighted_esg = 0.0;
        for (f, share) in &a.owners {
            if let Some(fi) = firm(format_args!("{p}.owners"), f) {
                owners.push((fi, *share));
                if let Some(firm) = &by_firm[fi as usize] {
                    weighted_esg += firm.esg * share;
                }
            }
        }
        owners.sort_by_key(|(f, _)| *f);
        resolved_assets.push(ResolvedAsset {
            idx,
            host,
            mineral: m,
            stage: a.stage,
            status: a.status,
            capacity_t_per_yr: a.capacity_t_per_yr,
            utilisation: a.utilisation,
            unit_opex_usd_per_t: a.unit_opex_usd_per_t,
            owners,
            esg: a.esg.unwrap_or(weighted_esg),
            outage: a.outage.clone(),
        });
    }

    let mut resolved_prospects = Vec::with_capacity(s.prospects.len());
    for pr in &s.prospects {
        let p = super::validate::ElementPath("prospects", &pr.id);
        let (Some(idx), Some(host), Some(m)) = (
            asset(format_args!("{p}"), &pr.id),
            nation(format_args!("{p}.host"), &pr.host),
            mineral(format_args!("{p}.mineral"), &pr.mineral),
        ) else {
            continue;
        };
        let mut developers: Vec<u32> = pr
            .developers
            .iter()
            .filter_map(|d| firm(format_args!("{p}.developers"), d))
            .collect();
        developers.sort();
        developers.dedup();
        resolved_prospects.push(ResolvedProspect {
            idx,
            host,
            mineral: m,
            stage: pr.stage,
            capacity_t_per_yr: pr.capacity_t_per_yr,
            capex_usd: pr.capex_usd,
            unit_opex_usd_per_t: pr.unit_opex_usd_per_t,
            developers,
            available_step: pr.available_from.map_or(0, step_of),
            local_processing_commitment: pr.local_processing_commitment,
            after: None,
        });
    }
    // Generic projects of the resource base, after the listed prospects (resource_base.rs).
    for (i, t) in generated.iter().enumerate() {
        let p = format!("resource_base.{i}");
        let (Some(idx), Some(host), Some(m)) = (
            asset(format_args!("{p}"), &t.id),
            nation(format_args!("{p}.nation"), &t.host),
            mineral(format_args!("{p}.mineral"), &t.mineral),
        ) else {
            continue;
        };
        let developers: Vec<u32> = t
            .developers
            .iter()
            .filter_map(|d| firm(format_args!("{p}.developers"), d))
            .collect();
        resolved_prospects.push(ResolvedProspect {
            idx,
            host,
            mineral: m,
            stage: t.stage,
            capacity_t_per_yr: t.capacity_t_per_yr,
            capex_usd: t.capex_usd,
            unit_opex_usd_per_t: t.unit_opex_usd_per_t,
            developers: {
                let mut d = developers;
                d.sort_unstable();
                d
            },
            available_step: t.available_from.map_or(0, step_of),
            local_processing_commitment: false,
            after: t.after.as_ref().and_then(|a| asset(format_args!("{p}"), a)),
        });
    }

    let mut financiers: Vec<ResolvedFinancier> = s
        .financiers
        .iter()
        .filter_map(|f| {
            Some(ResolvedFinancier {
                id: f.id.clone(),
                nation: nation(format_args!("financiers.{}.nation", f.id), &f.nation)?,
                annual_budget_usd: f.annual_budget_usd,
                max_share: f.max_share,
                concessional_rate: f.concessional_rate,
                carry_over: f.carry_over,
                loan_tenor_years: f.loan_tenor_years,
                loan_grace_years: f.loan_grace_years,
                grant_share: f.grant_share,
                equity_share: f.equity_share,
                price_floor_ratio: f.price_floor_ratio,
                price_floor_years: f.price_floor_years,
                insurance_cover: f.insurance_cover,
                objective: f.objective,
            })
        })
        .collect();
    financiers.sort_by(|a, b| a.id.cmp(&b.id));

    let transport = s
        .transport
        .iter()
        .filter_map(|t| {
            Some((
                nation(format_args!("transport.from"), &t.from)?,
                nation(format_args!("transport.to"), &t.to)?,
                t.usd_per_t,
            ))
        })
        .collect();
    let trade_preferences = s
        .trade_preferences
        .iter()
        .filter_map(|t| {
            let m = match &t.mineral {
                Some(m) => Some(mineral(format_args!("trade_preferences.mineral"), m)?),
                None => None,
            };
            Some(ResolvedPreference {
                from: nation(format_args!("trade_preferences.from"), &t.from)?,
                to: nation(format_args!("trade_preferences.to"), &t.to)?,
                mineral: m,
                stage: t.stage,
                log_weight: t.log_weight,
            })
        })
        .collect();

    let mut policies = Vec::with_capacity(s.policies.len());
    let mut policy_ids = Vec::with_capacity(s.policies.len());
    let mut nationalisations = Vec::new();
    for pol in &s.policies {
        let p = format!("policies.{}", pol.id);
        let start = match when_to_year(&pol.start) {
            Ok(y) => y,
            Err(e) => {
                problems.borrow_mut().push(problem(format!("{p}.start"), e));
                continue;
            }
        };
        let end_step = match pol.end.as_ref().map(when_to_year) {
            None => u32::MAX,
            Some(Ok(y)) => step_of(y),
            Some(Err(e)) => {
                problems.borrow_mut().push(problem(format!("{p}.end"), e));
                continue;
            }
        };
        let a = format!("{p}.action");
        let licence_open_year = match &pol.action {
            PolicyAction::ExportControl {
                mode: ControlMode::LicenceDelay,
                delay_steps,
                ..
            } => start + f64::from(*delay_steps) / f64::from(s.run.steps_per_year),
            _ => start,
        };
        let trade = match &pol.action {
            PolicyAction::ExportControl {
                exporter,
                mineral: m,
                stage,
                destinations,
                mode,
                quota_t_per_yr,
                ..
            } => {
                let mut dest: Vec<u16> = destinations
                    .iter()
                    .filter_map(|d| nation(format_args!("{a}.destinations"), d))
                    .collect();
                dest.sort();
                dest.dedup();
                match (
                    nation(format_args!("{a}.exporter"), exporter),
                    mineral(format_args!("{a}.mineral"), m),
                ) {
                    (Some(exporter), Some(mineral)) => Some(TradeMeasure::ExportControl {
                        exporter,
                        mineral,
                        stage: *stage,
                        destinations: dest,
                        mode: *mode,
                        quota_t_per_yr: *quota_t_per_yr,
                    }),
                    _ => None,
                }
            }
            PolicyAction::Tariff {
                importer,
                mineral: m,
                stage,
                exporters,
                rate,
            } => {
                let exporters: Vec<u16> = exporters
                    .iter()
                    .filter_map(|e| nation(format_args!("{a}.exporters"), e))
                    .collect();
                match (
                    nation(format_args!("{a}.importer"), importer),
                    mineral(format_args!("{a}.mineral"), m),
                ) {
                    (Some(importer), Some(mineral)) => Some(TradeMeasure::Tariff {
                        importer,
                        mineral,
                        stage: *stage,
                        exporters,
                        rate: *rate,
                    }),
                    _ => None,
                }
            }
            PolicyAction::ExportTax {
                exporter,
                mineral: m,
                stage,
                rate,
            } => match (
                nation(format_args!("{a}.exporter"), exporter),
                mineral(format_args!("{a}.mineral"), m),
            ) {
                (Some(exporter), Some(mineral)) => Some(TradeMeasure::ExportTax {
                    exporter,
                    mineral,
                    stage: *stage,
                    rate: *rate,
                }),
                _ => None,
            },
            PolicyAction::LocalProcessingMandate {
                nation: host,
                minerals: list,
                ore_export_ban,
            } => {
                let covered: Vec<u16> = if list.is_empty() {
                    (0..nm as u16).collect()
                } else {
                    list.iter()
                        .filter_map(|m| mineral(format_args!("{a}.minerals"), m))
                        .collect()
                };
                nation(format_args!("{a}.nation"), host).map(|nation| {
                    TradeMeasure::LocalProcessingMandate {
                        nation,
                        minerals: covered,
                        ore_export_ban: *ore_export_ban,
                    }
                })
            }
            PolicyAction::Nationalisation { .. }
            | PolicyAction::Outage { .. }
            | PolicyAction::SourcingRule { .. }
            | PolicyAction::FtaAgreement { .. }
            | PolicyAction::FinanceProgramme { .. } => None,
        };
        let assets = match &pol.action {
            PolicyAction::Outage {
                asset: id,
                capacity_lost,
            } => asset(format_args!("{a}.asset"), id).map(|asset| AssetMeasure::Outage {
                asset,
                capacity_lost: *capacity_lost,
            }),
            PolicyAction::Nationalisation {
                nation: host,
                mineral: m,
                state_firm,
                share,
            } => match (
                nation(format_args!("{a}.nation"), host),
                mineral(format_args!("{a}.mineral"), m),
                firm(format_args!("{a}.state_firm"), state_firm),
            ) {
                (Some(nation), Some(mineral), Some(state_firm)) => {
                    nationalisations.push((mineral, state_firm));
                    Some(AssetMeasure::Nationalisation {
                        nation,
                        mineral,
                        state_firm,
                        share: *share,
                    })
                }
                _ => None,
            },
            _ => None,
        };
        let sourcing = match &pol.action {
            PolicyAction::SourcingRule {
                consumer,
                minerals: list,
                required_share,
                premium_usd_per_t,
                exclude_entities_of_concern,
            } => {
                let covered: Vec<u16> = if list.is_empty() {
                    (0..nm as u16).collect()
                } else {
                    list.iter()
                        .filter_map(|m| mineral(format_args!("{a}.minerals"), m))
                        .collect()
                };
                nation(format_args!("{a}.consumer"), consumer).map(|consumer| {
                    SourcingMeasure::Rule {
                        consumer,
                        minerals: covered,
                        required_share: required_share.clone(),
                        premium_usd_per_t: *premium_usd_per_t,
                        exclude_entities_of_concern: *exclude_entities_of_concern,
                    }
                })
            }
            PolicyAction::FtaAgreement {
                nation: granting,
                partner,
            } => match (
                nation(format_args!("{a}.nation"), granting),
                nation(format_args!("{a}.partner"), partner),
            ) {
                (Some(nation), Some(partner)) => {
                    Some(SourcingMeasure::FtaAgreement { nation, partner })
                }
                _ => None,
            },
            _ => None,
        };
        let budget = match &pol.action {
            PolicyAction::FinanceProgramme {
                financier,
                annual_budget_usd,
            } => {
                let found = financiers
                    .binary_search_by(|f| f.id.as_str().cmp(financier))
                    .ok()
                    .and_then(|i| u32::try_from(i).ok());
                if found.is_none() {
                    problems.borrow_mut().push(problem(
                        format!("{a}.financier"),
                        format!(
                            "unknown financier `{financier}` (internal: validation let it through)"
                        ),
                    ));
                }
                found.map(|financier| BudgetMeasure {
                    financier,
                    annual_budget_usd: *annual_budget_usd,
                })
            }
            _ => None,
        };
        // Investors see a policy from its announcement (issue 15), never after it starts.
        let announced_step = pol
            .announced
            .as_ref()
            .and_then(|a| when_to_year(a).ok())
            .map_or(step_of(start), |y| step_of(y).min(step_of(start)));
        policy_ids.push(pol.id.clone());
        policies.push(ResolvedPolicy {
            idx: u32::try_from(policies.len()).unwrap_or(u32::MAX),
            announced_step,
            start_step: step_of(start),
            end_step,
            licence_open_step: step_of(licence_open_year),
            licence_open_year,
            trade,
            assets,
            sourcing,
            budget,
        });
    }

    let resolved_nations: Vec<ResolvedNation> = by_nation.into_iter().flatten().collect();
    let resolved_firms: Vec<ResolvedFirm> = by_firm.into_iter().flatten().collect();
    let (mineral_ids, nation_ids, firm_ids, asset_ids) =
        (minerals.ids, nations.ids, firms.ids, assets.ids);
    let problems = problems.into_inner();
    if !problems.is_empty()
        || resolved_nations.len() != nation_ids.len()
        || resolved_firms.len() != firm_ids.len()
        || resolved_minerals.len() != nm
    {
        let mut problems = problems;
        if problems.is_empty() {
            problems.push(problem(
                String::new(),
                "internal: duplicate ids reached the resolve stage".to_string(),
            ));
        }
        return Err(problems);
    }
    let stockpiles = super::stockpile::resolve(&s.stockpiles, &nation_ids, &mineral_ids);
    let offtake = super::offtake::resolve(s, &asset_ids, &nation_ids, &step_of);
    let recycling = super::recycling::resolve(&s.recycling, &nation_ids, &mineral_ids);
    Ok(Resolved {
        mineral_ids,
        nation_ids,
        firm_ids,
        asset_ids,
        steps,
        minerals: resolved_minerals,
        nations: resolved_nations,
        nation_file_order,
        firms: resolved_firms,
        firm_file_order,
        assets: resolved_assets,
        prospects: resolved_prospects,
        financiers,
        transport,
        trade_preferences,
        policies,
        policy_ids,
        nationalisations,
        run: s.run.clone(),
        market: s.market.clone(),
        investment: s.investment.clone(),
        operations: s.operations.clone(),
        politics: s.politics.clone(),
        stockpiles,
        offtake,
        recycling,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Scenario {
        crate::scenario::load_str(include_str!("../../scenarios/tiny.ron"), "tiny.ron", &[])
            .expect("tiny.ron loads")
            .scenario
            .scenario()
            .clone()
    }

    #[test]
    fn ids_are_sorted_and_file_order_is_kept_apart() {
        let s = tiny();
        let r = resolve_checked(&s).expect("tiny resolves");
        let mut sorted_nations = r.nation_ids.clone();
        sorted_nations.sort();
        assert_eq!(r.nation_ids, sorted_nations);
        let file: Vec<&str> = r
            .nation_file_order
            .iter()
            .map(|&i| r.nation_ids[usize::from(i)].as_str())
            .collect();
        let written: Vec<&str> = s.nations.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(file, written);
        // Every firm's home is the index of its home id.
        for f in &s.firms {
            let i = r.firm_ids.binary_search(&f.id).expect("firm indexed");
            assert_eq!(r.nation_ids[usize::from(r.firms[i].home)], f.home);
        }
    }

    #[test]
    fn default_esg_is_the_ownership_weighted_mean() {
        let mut s = tiny();
        // Two owners with different ESG levels, asset ESG left to the default.
        s.firms[0].esg = 0.9;
        s.firms[1].esg = 0.3;
        let (a, b) = (s.firms[0].id.clone(), s.firms[1].id.clone());
        s.assets[0].esg = None;
        s.assets[0].owners = [(a, 0.25), (b, 0.75)].into_iter().collect();
        let r = resolve_checked(&s).expect("resolves");
        let asset = &r.assets[0];
        assert!((asset.esg - (0.9 * 0.25 + 0.3 * 0.75)).abs() < 1e-12);
        // An explicit ESG is kept.
        s.assets[0].esg = Some(0.1);
        assert_eq!(resolve_checked(&s).expect("resolves").assets[0].esg, 0.1);
    }

    #[test]
    fn an_unknown_reference_is_a_located_problem_not_a_default() {
        let mut s = tiny();
        s.firms[0].home = "ATLANTIS".into();
        let problems = resolve_checked(&s).expect_err("unknown home");
        assert!(
            problems
                .iter()
                .any(|p| p.path.ends_with(".home") && p.message.contains("ATLANTIS")),
            "{problems:?}"
        );
    }

    #[test]
    fn an_outage_policy_resolves_to_its_asset_index() {
        let r = resolve_checked(&tiny()).expect("resolves");
        let outage = r
            .policies
            .iter()
            .find_map(|p| match &p.assets {
                Some(AssetMeasure::Outage { asset, .. }) => Some(*asset),
                _ => None,
            })
            .expect("tiny.ron has an outage policy");
        assert_eq!(r.asset_ids[outage as usize], "chn_refinery");
    }
}
