//! Investment: state financiers place their budgets, firms spend their capital budgets, hosts
//! approve or reject (phase 3 of a step; docs/ODD.md §7.3).
//!
//! Why this shape: the question the model serves is how much money, on what terms, changes where
//! minerals are mined and refined. So finance is money — each financier's annual budget binds and
//! its instruments (loan, grant, equity, price floor, political-risk insurance) enter the
//! project's NPV as their cash value (adjusted present value, [`crate::model::finance::systems::financed_npv`]) —
//! and firms are investors with capital budgets, proposing as many projects as their budget and
//! NPV ranking allow rather than one a year.
//!
//! Once a year (the first step of each year): (0) a dry run of the firms' round (2) without
//! finance gives what firms build on their own, so that finance is additional — no offer on a
//! prospect a non-rival firm builds anyway, no package that leaves its firm short of its own
//! plans; (1) financiers, round by round, each pick the
//! open (prospect, firm) pair that maximises their objective per budget dollar among pairs whose
//! financed NPV is positive and that fit the firm's and the financier's budgets; each pick is
//! proposed and decided by the host at once. (2) Firms rank the remaining positive-NPV prospects by
//! NPV per dollar of capex perturbed by a Gumbel draw (a sequential logit choice) and claim them
//! in a draft while their capital budget lasts; each prospect goes to its highest key. Prospects are valued
//! on the terms the policies announced by now will set when the project starts producing, at the
//! netback of the best destination. Every proposal, approval and rejection is an event with its
//! numbers and reason; an approved project enters permitting and is advanced by
//! [`crate::model::capacity`]. A rejected prospect may be proposed again `investment.retry_years` later.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;

use crate::model::order::dense_order;
use rand::RngExt;

use crate::model::capacity::systems::{draw_stage_steps, learning_factor, mean_stage_years};
use crate::model::components::{
    Appraisal, AssetIdx, Capacity, Esg, FirmIdx, FirmProfile, Governance, Lifecycle, NationIdx,
    Ownership, Priorities, Project, Site, Stage, Status, UnitCost,
};
use crate::model::events::{Event, FinanceTerms, StateShare, Subject};
use crate::model::finance::systems::{
    CommodityShares, Package, ProjectCash, backs, financed_npv, host_alignment, own_outlay_usd,
    package_of, strategic_score,
};
use crate::model::host_terms::systems::MAX_EXPORT_TAX;
use crate::model::resources::{
    Clock, EventLog, EventRow, FinanceBudgets, HostRecord, HostTerms, InvestmentConfig,
    InvestmentLedger, LearningCurves, PolicyTimeline, PriceExpectations, Prices, ProducerPrices,
    Registry, SocialLicence, TradeRules, commodity,
};
use crate::model::rng::{Purpose, RngStreams};
use crate::scenario::resolve::kind_fits;
use crate::scenario::{FinanceObjective, FirmKind, InvestmentSettings};

/// The numbers an NPV is computed from (the closed form the tests check `value` against).
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
pub struct NpvInputs {
    /// Nameplate capacity, t/yr.
    pub capacity_t_per_yr: f64,
    /// Expected utilisation, 0..=1.
    pub utilisation: f64,
    /// Expected price net of royalty, export tax and (refineries) ore feed, USD/t.
    pub net_price_usd_per_t: f64,
    /// Cash cost including ESG compliance, USD/t.
    pub cost_usd_per_t: f64,
    /// Capex, USD, spent at the decision.
    pub capex_usd: f64,
    /// Discount rate per year.
    pub discount_rate: f64,
    /// Years from the decision until the asset earns its full margin.
    pub lead_years: f64,
    /// Years of operation valued.
    pub life_years: f64,
}

/// Expected NPV, USD: −capex + margin × capacity × utilisation × annuity(life) discounted over the
/// lead time.
#[cfg(test)]
pub fn npv_usd(i: &NpvInputs) -> f64 {
    let r = i.discount_rate;
    let cash = (i.net_price_usd_per_t - i.cost_usd_per_t) * i.capacity_t_per_yr * i.utilisation;
    let annuity = if r > 1e-9 {
        (1.0 - (1.0 + r).powf(-i.life_years)) / r
    } else {
        i.life_years
    };
    -i.capex_usd + cash * annuity * (1.0 + r).powf(-i.lead_years)
}

/// What a host weighs when it decides on a proposal.
#[derive(Clone, Copy, Debug)]
pub struct ApprovalInputs {
    /// Host's affinity to the investor's home, -1..=1 (1 for a domestic investor).
    pub affinity: f64,
    /// Investor ESG standard minus the host's minimum.
    pub esg_gap: f64,
    /// Share of capex co-financed by a state financier.
    pub finance_share: f64,
    /// Social licence of the investor's home in the host, 0..=1.
    pub licence: f64,
    /// Whether a local-processing mandate applies and the proposal does not meet it.
    pub mandate_unmet: bool,
}

/// Host approval probability: logistic of intercept + w_aff·affinity + w_esg·esg_gap +
/// w_fin·finance_share − w_lic·(1 − licence) − penalty·[mandate unmet]; with the reason a rejection
/// is blamed on (the most negative term, or "host discretion").
pub fn approval_probability(s: &InvestmentSettings, a: &ApprovalInputs) -> (f64, &'static str) {
    let terms = [
        (
            if a.mandate_unmet {
                -s.mandate_penalty
            } else {
                0.0
            },
            "no local-processing commitment under mandate",
        ),
        (
            s.approval_esg_weight * a.esg_gap.min(0.0),
            "investor ESG below host minimum",
        ),
        (
            -s.approval_licence_weight * (1.0 - a.licence),
            "lost social licence",
        ),
        (
            s.approval_affinity_weight * a.affinity.min(0.0),
            "low affinity to investor home",
        ),
    ];
    let z = s.approval_intercept
        + s.approval_affinity_weight * a.affinity
        + s.approval_esg_weight * a.esg_gap
        + s.approval_finance_weight * a.finance_share
        - s.approval_licence_weight * (1.0 - a.licence)
        - if a.mandate_unmet {
            s.mandate_penalty
        } else {
            0.0
        };
    let reason = terms
        .iter()
        .filter(|(v, _)| *v < 0.0)
        .min_by(|x, y| x.0.total_cmp(&y.0))
        .map_or("host discretion", |(_, r)| r);
    (1.0 / (1.0 + (-z).exp()), reason)
}

/// The market side of a prospect, the same for every firm: what a tonne nets and costs.
#[derive(Clone, Copy, Debug)]
struct Prepared {
    /// Capex after learning, USD.
    capex_usd: f64,
    /// Opex after learning, USD/t.
    opex_usd_per_t: f64,
    /// Expected price net of royalty, export tax and (refineries) ore feed, USD/t.
    net_price_usd_per_t: f64,
    /// Expected price of the output itself (what a price floor is set against), USD/t.
    product_usd_per_t: f64,
    /// Reference (scenario) price of the output, USD/t.
    reference_usd_per_t: f64,
    /// Whether a mine here commits to local processing.
    commits: bool,
    /// Whether a local-processing mandate will apply.
    mandate: bool,
    /// Years from decision to full output for an ordinary builder and for a state-backed one.
    lead_years: f64,
    lead_years_state: f64,
    /// Country-risk premium of the host, per year.
    country_risk_premium: f64,
    /// Output, t/yr (capacity × utilisation).
    output_t_per_yr: f64,
    /// Cut in the discount rate from offtake contracts covering the project, per year (§7.6.4).
    contract_rate_cut: f64,
}

/// A firm's valuation of one prospect, with or without a financier's package.
#[derive(Clone, Copy, Debug)]
struct Valuation {
    npv_usd: f64,
    /// What the package costs its financier, USD (0 without).
    cost_usd: f64,
    /// The firm's own outlay, USD.
    own_usd: f64,
    capex_usd: f64,
    discount_rate: f64,
    appraisal: Appraisal,
}

/// A prospect as seen at the decision.
#[derive(Clone, Debug)]
struct Candidate {
    idx: AssetIdx,
    site: Site,
    capacity: Capacity,
    project: Project,
}

/// Facts about the world at the start of the decision.
struct Snapshot {
    governance: Vec<crate::scenario::Governance>,
    priorities: Vec<crate::scenario::Priorities>,
    firms: Vec<Option<FirmProfile>>,
    /// Capacity shares by commodity.
    shares: Vec<CommodityShares>,
    /// Whether a refinery of the mineral is operating or in the pipeline in the host,
    /// `[mineral * n + host]`.
    refinery_present: Vec<bool>,
}

/// The expected net price of a site's output, USD/t, and the expected price of the output itself:
/// a mine nets the world ore price less the export tax τ (0 if it commits to processing in the
/// host, prohibitive under an ore export ban) and the royalty: E[p_ore] (1 − τ)(1 − royalty); a
/// refinery nets the netback of its best destination, E[p] × max(producer price ratio of the host,
/// buyer price ratio of the host), less its ore feed E[p_ore] × f / recovery, where f is 1, or
/// 1 − τ_ore when the host's own ore bears an export tax, or 1 − `ore_ban_feed_discount` under a
/// ban (export restrictions lower the host's ore price to export parity or below; OECD 2014).
#[derive(Clone, Copy, Debug)]
pub struct SiteTerms {
    /// Export tax on the host's ore, 0..=1 (before any ban).
    pub ore_export_tax: f64,
    /// Whether the host bans ore exports.
    pub ore_export_ban: bool,
    /// Royalty on ore.
    pub royalty: f64,
    /// Whether a mine here sells to local refining (no export tax).
    pub commits: bool,
    /// Whether the host has ore of the mineral to feed a refinery.
    pub host_has_ore: bool,
}

/// Expected prices a project reads: world expectations with the spatial structure of the last
/// clearing.
pub struct PriceView<'a> {
    /// Smoothed world and buyer prices.
    pub expectations: &'a PriceExpectations,
    /// Producer prices at the last clearing (the netback of each exporter).
    pub producer: &'a ProducerPrices,
    /// World prices at the last clearing.
    pub prices: &'a Prices,
}

impl PriceView<'_> {
    /// Expected netback of commodity `c` for a producer in `h`, USD/t: the smoothed world price ×
    /// the best of (producer price of `h` / world price at the last clearing — the netback of the
    /// best destination in the spatial equilibrium, Takayama & Judge 1971) and (expected buyer
    /// price in `h` / expected world price — selling at home).
    pub fn netback(&self, c: usize, h: usize) -> f64 {
        let world = self.expectations.usd_per_t[c];
        let now = self.prices.usd_per_t.get(c).copied().unwrap_or(world);
        let producer = self
            .producer
            .usd_per_t
            .get(c)
            .and_then(|r| r.get(h))
            .copied()
            .unwrap_or(now);
        let buyer = self
            .expectations
            .buyer_usd_per_t
            .get(c)
            .and_then(|r| r.get(h))
            .copied()
            .unwrap_or(world);
        let ratio_producer = if now > 0.0 { producer / now } else { 1.0 };
        let ratio_buyer = if world > 0.0 { buyer / world } else { 1.0 };
        world * ratio_producer.max(ratio_buyer)
    }

    /// Expected net price and product price of a site's output (see [`SiteTerms`]).
    pub fn net_price(
        &self,
        site: &Site,
        t: &SiteTerms,
        s: &InvestmentSettings,
        recovery: f64,
    ) -> (f64, f64) {
        let ore_c = commodity(site.mineral, Stage::Ore);
        let ore = self.expectations.usd_per_t[ore_c];
        match site.stage {
            Stage::Ore => {
                let tax = if t.commits {
                    0.0
                } else if t.ore_export_ban {
                    1.0
                } else {
                    t.ore_export_tax
                };
                (ore * (1.0 - tax) * (1.0 - t.royalty), ore)
            }
            Stage::Refined => {
                let c = commodity(site.mineral, Stage::Refined);
                let product = self.netback(c, usize::from(site.host.0));
                let feed = if !t.host_has_ore {
                    1.0
                } else if t.ore_export_ban {
                    1.0 - s.ore_ban_feed_discount
                } else {
                    1.0 - t.ore_export_tax
                };
                (product - ore * feed / recovery.max(1e-9), product)
            }
        }
    }
}

/// The host terms investors expect at a horizon: the policies announced by `step` that will be in
/// force at `horizon` (start ≤ horizon < end), resolved by the same rules as the policies in force.
fn expected_rules(
    timeline: &PolicyTimeline,
    registry: &Registry,
    steps_per_year: u32,
    step: u32,
    horizon: u32,
) -> TradeRules {
    let active = timeline
        .policies
        .iter()
        .map(|p| p.announced_step <= step && p.start_step <= horizon && horizon < p.end_step)
        .collect();
    let future = PolicyTimeline {
        policies: timeline.policies.clone(),
        active,
    };
    crate::model::policy::systems::rebuild_rules(&future, registry, steps_per_year)
}

/// Host terms of a site from trade rules and the host's own priorities (as in
/// [`crate::model::host_terms::systems::update_host_terms`]).
fn site_terms(
    rules: &TradeRules,
    prio: &crate::scenario::Priorities,
    site: &Site,
    commits: bool,
    host_has_ore: bool,
) -> (SiteTerms, bool) {
    let m = usize::from(site.mineral.0);
    let h = usize::from(site.host.0);
    let ore_c = commodity(site.mineral, Stage::Ore);
    let policy_tax = rules
        .export_tax
        .get(ore_c)
        .and_then(|r| r.get(h))
        .copied()
        .unwrap_or(0.0);
    let flag = |t: &Vec<Vec<bool>>| t.get(m).and_then(|r| r.get(h)).copied().unwrap_or(false);
    let mandate = prio.local_processing_mandate || flag(&rules.local_processing_mandate);
    (
        SiteTerms {
            ore_export_tax: (policy_tax + prio.ore_export_tax).clamp(0.0, MAX_EXPORT_TAX),
            ore_export_ban: flag(&rules.ore_export_ban),
            royalty: prio.royalty_rate,
            commits,
            host_has_ore,
        },
        mandate,
    )
}

/// Value a prepared prospect for a firm, with a financier's package or without (commercial).
fn value(
    s: &InvestmentSettings,
    p: &Prepared,
    firm: &FirmProfile,
    min_esg: f64,
    package: &Package,
) -> Valuation {
    let risk = if firm.state_backed {
        p.country_risk_premium * s.state_backed_risk_factor
    } else {
        p.country_risk_premium
    };
    let discount_rate = (firm.hurdle_rate + risk - p.contract_rate_cut).max(0.001);
    let cost = p.opex_usd_per_t * (1.0 + s.esg_cost_share * firm.esg.max(min_esg));
    let lead_years = if firm.state_backed {
        p.lead_years_state
    } else {
        p.lead_years
    };
    let cash = ProjectCash {
        capex_usd: p.capex_usd,
        cash_usd_per_yr: (p.net_price_usd_per_t - cost) * p.output_t_per_yr,
        output_t_per_yr: p.output_t_per_yr,
        product_usd_per_t: p.product_usd_per_t,
        discount_rate,
        country_risk_premium: risk,
        lead_years,
        life_years: s.asset_life_years,
        sigma: s.price_volatility,
    };
    let (npv_usd, cost_usd) = financed_npv(&cash, package);
    let insured = (discount_rate - package.insurance_cover * risk).max(0.001);
    Valuation {
        npv_usd,
        cost_usd,
        own_usd: own_outlay_usd(p.capex_usd, package),
        capex_usd: p.capex_usd,
        discount_rate: insured,
        appraisal: Appraisal {
            discount_rate: insured,
            capex_usd: p.capex_usd,
            cost_usd_per_t: cost,
            floor_usd_per_t: package.floor_usd_per_t,
            floor_years: package.floor_years,
            duration_factor: if firm.state_backed && lead_years < p.lead_years {
                s.state_backed_build_factor
            } else {
                1.0
            },
            deferred_steps: 0,
        },
    }
}

/// A standard Gumbel draw from a uniform `u` in [0, 1): adding Gumbel noise / sharpness to each
/// option's value and ranking gives the sequential logit (Plackett–Luce) order, whose first pick
/// is the logit choice P ∝ exp(sharpness × value) (McFadden 1974; the Gumbel-max trick).
fn gumbel(u: f64) -> f64 {
    let u = u.clamp(1e-12, 1.0 - 1e-12);
    -(-u.ln()).ln()
}

/// Logit choice among options `(value, item)`: P ∝ exp(sharpness × value), drawn with `u` in [0, 1).
#[cfg(test)]
fn logit_pick<T: Copy>(options: &[(f64, T)], sharpness: f64, u: f64) -> Option<T> {
    let top = options
        .iter()
        .map(|(v, _)| *v)
        .fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = options
        .iter()
        .map(|(v, _)| (sharpness * (v - top)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut target = u * total;
    for (w, (_, item)) in weights.iter().zip(options) {
        if target < *w {
            return Some(*item);
        }
        target -= w;
    }
    options.last().map(|(_, item)| *item)
}

/// The asset components the investment decision reads and writes.
type AssetData = (
    &'static AssetIdx,
    &'static Site,
    &'static Capacity,
    &'static mut Lifecycle,
    &'static mut Ownership,
    &'static mut UnitCost,
    &'static mut Esg,
    Option<&'static mut Project>,
);

type AssetRow<'a> = (
    &'a AssetIdx,
    &'a Site,
    &'a Capacity,
    Mut<'a, Lifecycle>,
    Mut<'a, Ownership>,
    Mut<'a, UnitCost>,
    Mut<'a, Esg>,
    Option<Mut<'a, Project>>,
);

/// One open (prospect, firm) pair with its commercial valuation.
#[derive(Clone, Copy, Debug)]
struct Pair {
    ci: usize,
    firm: FirmIdx,
    commercial: Valuation,
}

/// State financiers place their budgets, firms spend theirs, hosts decide (first step of each
/// year).
#[expect(
    clippy::too_many_arguments,
    reason = "a bevy system takes its resources as parameters"
)]
pub fn propose_projects(
    (clock, registry, streams, config): (
        Res<Clock>,
        Res<Registry>,
        Res<RngStreams>,
        Res<InvestmentConfig>,
    ),
    (expectations, terms, licence, learning): (
        Res<PriceExpectations>,
        Res<HostTerms>,
        Res<SocialLicence>,
        Res<LearningCurves>,
    ),
    (prices, producer, timeline): (Res<Prices>, Res<ProducerPrices>, Res<PolicyTimeline>),
    mut budgets: ResMut<FinanceBudgets>,
    mut ledger: ResMut<InvestmentLedger>,
    mut record: ResMut<HostRecord>,
    mut events: ResMut<EventLog>,
    nations: Query<(&NationIdx, &Governance, &Priorities)>,
    firms: Query<(&FirmIdx, &FirmProfile)>,
    mut assets: Query<AssetData>,
) {
    let s = &config.investment;
    if !s.enabled || !clock.step.is_multiple_of(clock.steps_per_year) {
        return;
    }
    let _ = &terms;
    let step = clock.step;
    let spy = clock.steps_per_year;
    let n = registry.n_nations();
    let nc = registry.n_minerals() * 2;

    let mut snapshot = Snapshot {
        governance: vec![crate::scenario::Governance::default(); n],
        priorities: vec![crate::scenario::Priorities::default(); n],
        firms: vec![None; registry.firms.len()],
        shares: vec![
            CommodityShares {
                located: vec![0.0; n],
                controlled: vec![0.0; n],
                total: 0.0,
            };
            nc
        ],
        refinery_present: vec![false; registry.n_minerals() * n],
    };
    for (idx, gov, prio) in &nations {
        snapshot.governance[usize::from(idx.0)] = gov.0.clone();
        snapshot.priorities[usize::from(idx.0)] = prio.0.clone();
    }
    for (idx, profile) in &firms {
        snapshot.firms[idx.0 as usize] = Some(profile.clone());
    }
    let view = PriceView {
        expectations: &expectations,
        producer: &producer,
        prices: &prices,
    };
    let mut rows: Vec<AssetRow<'_>> = assets.iter_mut().collect();
    // Query order is not stable: every sum and decision follows asset index order. The rows are
    // large (several `Mut`s), so they stay in place and are visited through a permutation.
    let order = dense_order(&rows, |row| row.0.0 as usize);
    let mut candidates = Vec::new();
    // Which assets are still prospects (a resource-base tranche waits for the one before it).
    let mut is_prospect = vec![false; registry.asset_keys.len()];
    // Expected operating cash flow of each firm's running assets, USD/yr (its equity share).
    let mut firm_cash = vec![0.0; registry.firms.len()];
    for &i in &order {
        let (idx, site, capacity, life, owners, cost, _, project) = &rows[i];
        let com = commodity(site.mineral, site.stage);
        match life.status {
            Status::Operating | Status::RampUp | Status::Suspended => {
                let sh = &mut snapshot.shares[com];
                sh.located[usize::from(site.host.0)] += capacity.t_per_yr;
                sh.total += capacity.t_per_yr;
                let m = usize::from(site.mineral.0);
                let price = expectations.usd_per_t[com];
                let feed = match site.stage {
                    Stage::Ore => 0.0,
                    Stage::Refined => {
                        expectations.usd_per_t[commodity(site.mineral, Stage::Ore)]
                            / registry.recovery.get(m).copied().unwrap_or(1.0).max(1e-9)
                    }
                };
                let margin = (price - feed - cost.opex_usd_per_t).max(0.0)
                    * capacity.t_per_yr
                    * capacity.utilisation;
                for (f, share) in &owners.0 {
                    let home = registry.firm_home[f.0 as usize];
                    sh.controlled[usize::from(home.0)] += capacity.t_per_yr * share;
                    if let Some(c) = firm_cash.get_mut(f.0 as usize) {
                        *c += margin * share;
                    }
                }
            }
            Status::Prospect => {
                if let Some(flag) = is_prospect.get_mut(idx.0 as usize) {
                    *flag = true;
                }
                if let Some(p) = project
                    && step >= p.available_step
                    && step >= p.retry_step
                {
                    candidates.push(Candidate {
                        idx: **idx,
                        site: **site,
                        capacity: **capacity,
                        project: (**p).clone(),
                    });
                }
            }
            _ => {}
        }
        if site.stage == Stage::Refined
            && matches!(
                life.status,
                Status::Permitting
                    | Status::Construction
                    | Status::RampUp
                    | Status::Operating
                    | Status::Suspended
            )
        {
            snapshot.refinery_present[usize::from(site.mineral.0) * n + usize::from(site.host.0)] =
                true;
        }
    }
    // A resource-base tranche opens once the tranche before it has been approved.
    candidates.retain(|c: &Candidate| {
        c.project
            .after
            .is_none_or(|a| !is_prospect.get(a.0 as usize).copied().unwrap_or(false))
    });
    // Budgets are reported even in a year with nothing to decide.
    let report_budgets = |budgets: &FinanceBudgets, ledger: &mut InvestmentLedger| {
        for fin in &budgets.financiers {
            let slot = ledger
                .finance_budget_usd
                .entry(fin.nation)
                .or_insert((0.0, 0.0));
            slot.0 += fin.annual_budget_usd;
            slot.1 += fin.remaining_usd.max(0.0);
        }
    };
    if candidates.is_empty() {
        report_budgets(&budgets, &mut ledger);
        return;
    }

    // Per-prospect terms, the same for every firm (hoisted out of the firm loop).
    let mut rules_at: BTreeMap<u32, TradeRules> = BTreeMap::new();
    let prepared: Vec<Prepared> = candidates
        .iter()
        .map(|c| {
            let h = usize::from(c.site.host.0);
            let m = usize::from(c.site.mineral.0);
            let gov = &snapshot.governance[h];
            let prio = &snapshot.priorities[h];
            let com = commodity(c.site.mineral, c.site.stage);
            let factor = learning_factor(&learning, com, c.site.host, s.learning_rate);
            let lead = |f: f64| {
                f * (mean_stage_years(Status::Permitting, c.site.stage, gov, s)
                    + mean_stage_years(Status::Construction, c.site.stage, gov, s))
                    + mean_stage_years(Status::RampUp, c.site.stage, gov, s) / 2.0
            };
            let lead_years = lead(1.0);
            let lead_years_state = if c.site.stage == Stage::Refined {
                lead(s.state_backed_build_factor)
            } else {
                lead_years
            };
            // The terms announced policies will set when production starts.
            let horizon = step + crate::model::capacity::systems::years_to_steps(lead_years, spy);
            let rules = rules_at
                .entry(horizon)
                .or_insert_with(|| expected_rules(&timeline, &registry, spy, step, horizon));
            let commits =
                c.project.local_processing_commitment || snapshot.refinery_present[m * n + h];
            let host_has_ore =
                snapshot.shares[commodity(c.site.mineral, Stage::Ore)].located[h] > 0.0;
            let (st, mandate) = site_terms(rules, prio, &c.site, commits, host_has_ore);
            let recovery = registry.recovery.get(m).copied().unwrap_or(1.0);
            let (net, product) = view.net_price(&c.site, &st, s, recovery);
            Prepared {
                capex_usd: c.project.capex_usd * factor,
                opex_usd_per_t: c.project.base_opex_usd_per_t * factor,
                net_price_usd_per_t: net,
                product_usd_per_t: product,
                reference_usd_per_t: prices
                    .reference_usd_per_t
                    .get(com)
                    .copied()
                    .unwrap_or(product),
                commits,
                mandate,
                lead_years,
                lead_years_state,
                country_risk_premium: s.max_country_risk_premium * (1.0 - gov.regulatory_stability),
                output_t_per_yr: c.capacity.t_per_yr * c.capacity.utilisation,
                contract_rate_cut: config
                    .contract_rate_cut
                    .get(c.idx.0 as usize)
                    .copied()
                    .unwrap_or(0.0),
            }
        })
        .collect();

    // Every open (prospect, firm) pair with its commercial valuation, in prospect then firm order.
    // The firms that may develop an open prospect are listed once per stage (O(F)); a prospect is
    // examined by at most `max_bidders_per_prospect` of them a year, drawn uniformly without
    // replacement (Floyd's algorithm) from a stream keyed by the prospect, so the pairs number
    // O(P × cap) rather than O(P × F).
    let invests = |f: FirmIdx| {
        config
            .firm_invests
            .get(f.0 as usize)
            .copied()
            .unwrap_or(false)
            && snapshot
                .firms
                .get(f.0 as usize)
                .is_some_and(Option::is_some)
    };
    let mut fitting: [Vec<FirmIdx>; 2] = [Vec::new(), Vec::new()];
    for (f, profile) in snapshot.firms.iter().enumerate() {
        let firm = FirmIdx(f as u32);
        let Some(profile) = profile else { continue };
        if !invests(firm) {
            continue;
        }
        for (k, stage) in [Stage::Ore, Stage::Refined].into_iter().enumerate() {
            if kind_fits(profile.kind, stage) {
                fitting[k].push(firm);
            }
        }
    }
    let cap = (s.max_bidders_per_prospect.max(1)) as usize;
    let mut pairs: Vec<Pair> = Vec::new();
    let mut listed: Vec<FirmIdx> = Vec::new();
    let mut drawn: Vec<usize> = Vec::with_capacity(cap);
    for (ci, c) in candidates.iter().enumerate() {
        let min_esg = snapshot.priorities[usize::from(c.site.host.0)].min_esg;
        listed.clear();
        if c.project.developers.is_empty() {
            let k = usize::from(c.site.stage == Stage::Refined);
            listed.extend_from_slice(&fitting[k]);
        } else {
            listed.extend(c.project.developers.iter().copied().filter(|&f| invests(f)));
        }
        drawn.clear();
        if listed.len() > cap {
            let mut rng = streams.stream(
                Purpose::Bidders,
                registry.asset_keys[c.idx.0 as usize],
                step,
            );
            for j in (listed.len() - cap)..listed.len() {
                let t = rng.random_range(0..=j);
                drawn.push(if drawn.contains(&t) { j } else { t });
            }
            drawn.sort_unstable();
        } else {
            drawn.extend(0..listed.len());
        }
        for &j in &drawn {
            let firm = listed[j];
            let Some(profile) = snapshot.firms[firm.0 as usize].as_ref() else {
                continue;
            };
            let commercial = value(s, &prepared[ci], profile, min_esg, &Package::default());
            pairs.push(Pair {
                ci,
                firm,
                commercial,
            });
        }
    }

    // Capital budgets: years of expected operating cash flow, at least the floor; state-backed
    // firms get the multiplier.
    let mut firm_budget: Vec<f64> = snapshot
        .firms
        .iter()
        .enumerate()
        .map(|(f, p)| {
            p.as_ref().map_or(0.0, |p| {
                let b = (s.capital_budget_years * firm_cash[f]).max(s.min_capital_budget_usd);
                if p.state_backed {
                    b * s.state_backed_budget_multiplier
                } else {
                    b
                }
            })
        })
        .collect();

    // The facts every decision of this round reads.
    let mut state_company = vec![None; n];
    for (f, profile) in snapshot.firms.iter().enumerate().rev() {
        if let Some(p) = profile
            && p.kind == FirmKind::StateCompany
        {
            state_company[usize::from(p.home.0)] = Some(FirmIdx(f as u32));
        }
    }
    let round = Round {
        step,
        steps_per_year: spy,
        settings: s,
        registry: &registry,
        snapshot: &snapshot,
        learning: &learning,
        licence: &licence,
        streams: &streams,
        state_company: &state_company,
    };
    let mut books = Books {
        budgets: &mut budgets,
        ledger: &mut ledger,
        record: &mut record,
        events: &mut events,
        decided: BTreeMap::new(),
        firm_budget: &mut firm_budget,
    };
    let mut taken = vec![false; candidates.len()];

    // (0) The counterfactual: what firms would build this year without any state finance. Each
    // firm's sequential-logit keys are drawn once and used both here and in the firms' own round
    // (2), so the dry run is the same choice with the money switched off (docs/ODD.md §7.3,
    // "Additionality").
    let keys = logit_keys(&pairs, &registry, &streams, step, s.choice_sharpness);
    let ballots = ballots(&pairs, &keys);
    let dry = firms_claim(&pairs, &ballots, books.firm_budget, &taken);

    // (1) Financiers: each financier's offers, ranked by its objective per budget dollar.
    let nf = books.budgets.financiers.len();
    let mut offers: Vec<Vec<(f64, usize, Valuation, Package)>> = vec![Vec::new(); nf];
    for (fi, list) in offers.iter_mut().enumerate() {
        let fin = &books.budgets.financiers[fi];
        for (pi, pair) in pairs.iter().enumerate() {
            let c = &candidates[pair.ci];
            let Some(profile) = snapshot.firms[pair.firm.0 as usize].as_ref() else {
                continue;
            };
            if !fin.strategic[usize::from(c.site.mineral.0)]
                || !backs(fin, &registry, s.ally_affinity, profile.home)
            {
                continue;
            }
            let p = &prepared[pair.ci];
            let weight = match fin.objective {
                FinanceObjective::SupplySecurity => strategic_score(
                    fin,
                    c.site.mineral,
                    c.site.host,
                    profile.home,
                    &snapshot.shares[commodity(c.site.mineral, c.site.stage)],
                ),
                FinanceObjective::HostAlignment => {
                    let h = usize::from(c.site.host.0);
                    host_alignment(
                        c.site.stage == Stage::Refined || p.commits,
                        snapshot.priorities[h].target_domestic_processing,
                        registry.affinity(c.site.host, fin.nation),
                    )
                }
            };
            if weight <= 0.0 {
                continue;
            }
            let package = package_of(fin, p.capex_usd, p.reference_usd_per_t);
            let min_esg = snapshot.priorities[usize::from(c.site.host.0)].min_esg;
            let v = value(s, p, profile, min_esg, &package);
            if v.npv_usd <= 0.0 || v.cost_usd <= 0.0 {
                continue;
            }
            // Additionality: a prospect some firm builds this year without finance is not
            // additional. If that firm is of the financier's rival, finance changes who controls
            // the capacity (not how much there is) and counts at `inframarginal_weight`;
            // otherwise the financier makes no offer.
            let additional = match dry.winner[pair.ci] {
                None => 1.0,
                Some(w) => {
                    let home = registry.firm_home[pairs[w].firm.0 as usize];
                    if fin.rival == Some(home) {
                        s.inframarginal_weight
                    } else {
                        continue;
                    }
                }
            };
            let objective = p.output_t_per_yr * weight * additional / v.cost_usd;
            if objective > 0.0 {
                list.push((objective, pi, v, package));
            }
        }
        // Best first; equal objectives keep prospect-then-firm order.
        list.sort_by(|a, b| b.0.total_cmp(&a.0));
    }
    let mut cursor = vec![0usize; nf];
    loop {
        // Each financier's best affordable pick this round.
        let mut picks: Vec<(usize, usize)> = Vec::new();
        for fi in 0..nf {
            let remaining = books.budgets.financiers[fi].remaining_usd;
            while let Some(&(_, pi, v, _)) = offers[fi].get(cursor[fi]) {
                let pair = &pairs[pi];
                let fits = !taken[pair.ci]
                    && v.cost_usd <= remaining
                    && dry.leaves_own_plans(pi, &pairs, v.own_usd, books.firm_budget);
                if fits {
                    picks.push((fi, cursor[fi]));
                    break;
                }
                cursor[fi] += 1;
            }
        }
        if picks.is_empty() {
            break;
        }
        // Two financiers after the same prospect: the firm takes the package worth more to it,
        // then the one that costs its financier less. Offers equal in both (the same terms) are
        // a syndicate: the financiers share the package and its cost evenly, so a tie is never
        // broken by financier id or list order (docs/ODD.md §7.3, "Allocation").
        picks.sort_by(|a, b| {
            let (va, vb) = (&offers[a.0][a.1], &offers[b.0][b.1]);
            pairs[va.1]
                .ci
                .cmp(&pairs[vb.1].ci)
                .then(vb.2.npv_usd.total_cmp(&va.2.npv_usd))
                .then(va.2.cost_usd.total_cmp(&vb.2.cost_usd))
        });
        let mut i = 0;
        while i < picks.len() {
            let (fi, k) = picks[i];
            let (_, pi, v, package) = offers[fi][k];
            let pair = pairs[pi];
            // The leading group of equal offers for this prospect.
            let mut j = i + 1;
            while j < picks.len() {
                let (fj, kj) = picks[j];
                let (_, pj, vj, _) = offers[fj][kj];
                if pairs[pj].ci != pair.ci || vj.npv_usd != v.npv_usd || vj.cost_usd != v.cost_usd {
                    break;
                }
                j += 1;
            }
            let syndicate: Vec<usize> = picks[i..j].iter().map(|&(f, _)| f).collect();
            // Skip the losing offers for the same prospect (their financiers try again next round).
            while j < picks.len() && {
                let (fj, kj) = picks[j];
                pairs[offers[fj][kj].1].ci == pair.ci
            } {
                j += 1;
            }
            i = j;
            for &f in &syndicate {
                cursor[f] += 1;
            }
            // Several financiers may have picked projects of the same firm this round: the
            // earlier decisions may have charged its budget since the pick.
            if taken[pair.ci] || !dry.leaves_own_plans(pi, &pairs, v.own_usd, books.firm_budget) {
                continue;
            }
            taken[pair.ci] = true;
            round.decide(
                &mut books,
                &candidates[pair.ci],
                &prepared[pair.ci],
                pair.firm,
                Some((&syndicate, package)),
                &v,
            );
        }
    }
    report_budgets(books.budgets, books.ledger);

    // (2) Firms: the draft of (0) over the prospects the financiers left, with the budgets they
    // left; each prospect won is proposed.
    let claims = firms_claim(&pairs, &ballots, books.firm_budget, &taken);
    for (ci, winner) in claims.winner.iter().enumerate() {
        let Some(pi) = *winner else { continue };
        let pair = pairs[pi];
        taken[ci] = true;
        round.decide(
            &mut books,
            &candidates[ci],
            &prepared[ci],
            pair.firm,
            None,
            &pair.commercial,
        );
    }
    let decided = books.decided;

    let retry_step = step + crate::model::capacity::systems::years_to_steps(s.retry_years, spy);
    for &i in &order {
        let (idx, _, _, life, owners, cost, esg, project) = &mut rows[i];
        let Some(decision) = decided.get(idx) else {
            continue;
        };
        let Some(project) = project else { continue };
        match decision {
            Decision::Rejected => project.retry_step = retry_step,
            Decision::Approved {
                sponsor,
                owners: new_owners,
                esg: new_esg,
                opex_usd_per_t,
                due_step,
                appraisal,
            } => {
                project.sponsor = Some(*sponsor);
                project.appraisal = Some(*appraisal);
                owners.0.clone_from(new_owners);
                esg.0 = *new_esg;
                cost.opex_usd_per_t = *opex_usd_per_t;
                **life = Lifecycle {
                    status: Status::Permitting,
                    since_step: step,
                    due_step: Some(*due_step),
                };
            }
        }
    }
}

/// Each open pair's sequential-logit key for its firm: NPV per dollar of capex plus a standard
/// Gumbel draw / `sharpness` (the draw alone at sharpness 0); `None` for a pair with commercial
/// NPV ≤ 0, which no firm proposes on its own. A firm's draws come from its `Proposal` stream
/// (firm, step) in prospect order, once a year, so the dry run and the firms' round see the same
/// keys.
fn logit_keys(
    pairs: &[Pair],
    registry: &Registry,
    streams: &RngStreams,
    step: u32,
    sharpness: f64,
) -> Vec<Option<f64>> {
    let mut by_firm: BTreeMap<FirmIdx, Vec<usize>> = BTreeMap::new();
    for (pi, pair) in pairs.iter().enumerate() {
        if pair.commercial.npv_usd > 0.0 {
            by_firm.entry(pair.firm).or_default().push(pi);
        }
    }
    let mut keys = vec![None; pairs.len()];
    for (firm, options) in &by_firm {
        let mut rng = streams.stream(Purpose::Proposal, registry.firm_keys[firm.0 as usize], step);
        for &pi in options {
            let v = &pairs[pi].commercial;
            let x = v.npv_usd / v.capex_usd.max(1.0);
            let g = gumbel(rng.random());
            keys[pi] = Some(if sharpness > 0.0 {
                x + g / sharpness
            } else {
                g
            });
        }
    }
    keys
}

/// What firms build on their own, as a draft: in each pass every firm bids for its best open
/// prospect (not `taken`, not already allotted) whose own outlay its remaining capital budget
/// covers; each prospect bid for goes to the highest key among its bidders, whose budget is
/// charged; the others keep their budgets and bid again in the next pass. A firm never spends
/// budget on a prospect it does not get.
struct Claims {
    /// Per prospect (candidate index), the winning pair, if any firm claims it.
    winner: Vec<Option<usize>>,
    /// Per pair, whether its firm won it.
    claimed: Vec<bool>,
    /// Per firm, the outlay of everything it won, USD.
    spend: Vec<f64>,
}

/// A firm in the draft: its options best first, how far it has looked, and its budget left.
struct Bidder<'a> {
    firm: usize,
    options: &'a [(f64, usize)],
    cursor: usize,
    left: f64,
}

/// Each firm's keyed pairs, best first (stable: equal keys keep prospect order), in firm order.
fn ballots(pairs: &[Pair], keys: &[Option<f64>]) -> Vec<(FirmIdx, Vec<(f64, usize)>)> {
    let mut by_firm: BTreeMap<FirmIdx, Vec<(f64, usize)>> = BTreeMap::new();
    for (pi, pair) in pairs.iter().enumerate() {
        if let Some(key) = keys[pi] {
            by_firm.entry(pair.firm).or_default().push((key, pi));
        }
    }
    by_firm
        .into_iter()
        .map(|(firm, mut options)| {
            options.sort_by(|a, b| b.0.total_cmp(&a.0));
            (firm, options)
        })
        .collect()
}

fn firms_claim(
    pairs: &[Pair],
    ballots: &[(FirmIdx, Vec<(f64, usize)>)],
    budgets: &[f64],
    taken: &[bool],
) -> Claims {
    let mut out = Claims {
        winner: vec![None; taken.len()],
        claimed: vec![false; pairs.len()],
        spend: vec![0.0; budgets.len()],
    };
    // Prospects already taken are closed from the start, so the bidders skip them.
    let mut bidders: Vec<Bidder<'_>> = ballots
        .iter()
        .map(|(firm, options)| {
            let f = firm.0 as usize;
            Bidder {
                firm: f,
                options,
                cursor: 0,
                left: budgets.get(f).copied().unwrap_or(0.0),
            }
        })
        .collect();
    let mut closed = taken.to_vec();
    // (prospect, key, pair, slot in `bidders`)
    let mut bids: Vec<(usize, f64, usize, usize)> = Vec::new();
    loop {
        bids.clear();
        for (slot, b) in bidders.iter_mut().enumerate() {
            while let Some(&(key, pi)) = b.options.get(b.cursor) {
                let ci = pairs[pi].ci;
                if !closed[ci] && pairs[pi].commercial.own_usd <= b.left {
                    bids.push((ci, key, pi, slot));
                    break;
                }
                b.cursor += 1;
            }
        }
        if bids.is_empty() {
            break;
        }
        // Per prospect, the highest key first.
        bids.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        let mut last = usize::MAX;
        for &(ci, _, pi, slot) in &bids {
            if ci == last {
                continue;
            }
            last = ci;
            closed[ci] = true;
            let b = &mut bidders[slot];
            let own = pairs[pi].commercial.own_usd;
            b.left -= own;
            out.spend[b.firm] += own;
            out.claimed[pi] = true;
            out.winner[ci] = Some(pi);
        }
    }
    out
}

impl Claims {
    /// Whether the firm of pair `pi` can pay `own_usd` for it and still fund, from its remaining
    /// `budgets`, everything else it claims on its own this year (financial additionality: a
    /// package must not displace the sponsor's own programme — the fungibility of finance,
    /// Feyzioglu, Swaroop & Zhu 1998; docs/ODD.md §7.3).
    fn leaves_own_plans(&self, pi: usize, pairs: &[Pair], own_usd: f64, budgets: &[f64]) -> bool {
        let f = pairs[pi].firm.0 as usize;
        let planned = self.spend.get(f).copied().unwrap_or(0.0)
            - if self.claimed[pi] {
                pairs[pi].commercial.own_usd
            } else {
                0.0
            };
        own_usd + planned <= budgets.get(f).copied().unwrap_or(0.0)
    }
}

/// The facts of one year's decision round that every proposal reads.
struct Round<'a> {
    step: u32,
    steps_per_year: u32,
    settings: &'a InvestmentSettings,
    registry: &'a Registry,
    snapshot: &'a Snapshot,
    learning: &'a LearningCurves,
    licence: &'a SocialLicence,
    streams: &'a RngStreams,
    /// The state company of each nation, if any.
    state_company: &'a [Option<FirmIdx>],
}

/// What a proposal's decision writes: budgets, the ledger, host records, events and decisions.
struct Books<'a> {
    budgets: &'a mut FinanceBudgets,
    ledger: &'a mut InvestmentLedger,
    record: &'a mut HostRecord,
    events: &'a mut EventLog,
    decided: BTreeMap<AssetIdx, Decision>,
    firm_budget: &'a mut [f64],
}

impl Round<'_> {
    /// Propose prospect `c` by `firm` (with financier `finance`'s package, if any) and let the host
    /// decide: logs the proposal and its outcome, commits the financier's and the firm's budgets on
    /// approval.
    fn decide(
        &self,
        books: &mut Books<'_>,
        c: &Candidate,
        p: &Prepared,
        firm: FirmIdx,
        finance: Option<(&[usize], Package)>,
        v: &Valuation,
    ) {
        let s = self.settings;
        let step = self.step;
        let registry = self.registry;
        let snapshot = self.snapshot;
        let Some(profile) = snapshot.firms[firm.0 as usize].as_ref() else {
            return;
        };
        let host = c.site.host;
        let who = Subject {
            asset: Some(c.idx),
            firm: Some(firm),
            nation: Some(host),
            partner: Some(profile.home),
        };
        let event = |e: &Event| EventRow::typed(step, who, e, registry);
        let finance_share = if v.capex_usd > 0.0 {
            ((v.capex_usd - v.own_usd) / v.capex_usd).clamp(0.0, 1.0)
        } else {
            0.0
        };
        // A syndicate's financiers by index, ascending (financiers are in id order).
        let syndicate = |fs: &[usize]| {
            let mut ids: Vec<u32> = fs
                .iter()
                .map(|&i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect();
            ids.sort_unstable();
            ids
        };
        books.events.rows.push(event(&Event::Proposal {
            npv_usd: v.npv_usd,
            capex_usd: v.capex_usd,
            discount_rate: v.discount_rate,
            finance: finance.map(|(fs, k)| FinanceTerms {
                financiers: syndicate(fs),
                cost_usd: v.cost_usd,
                loan_usd: k.loan_usd,
                grant_usd: k.grant_usd,
                equity_share: k.equity_share,
                floor_usd_per_t: k.floor_usd_per_t,
                insurance_cover: k.insurance_cover,
            }),
        }));
        let h = usize::from(host.0);
        let prio = &snapshot.priorities[h];
        let (p_approve, reason) = approval_probability(
            s,
            &ApprovalInputs {
                affinity: registry.affinity(host, profile.home),
                esg_gap: profile.esg - prio.min_esg,
                finance_share,
                licence: self.licence.get(host, profile.home),
                mandate_unmet: p.mandate && c.site.stage == Stage::Ore && !p.commits,
            },
        );
        let u: f64 = self
            .streams
            .stream(
                Purpose::Approval,
                registry.asset_keys[c.idx.0 as usize],
                step,
            )
            .random();
        if u >= p_approve {
            books
                .events
                .rows
                .push(event(&Event::Rejection { p_approve, reason }));
            books.decided.insert(c.idx, Decision::Rejected);
            return;
        }
        // State participation: the host's state company takes its mandated share.
        let mut owners = vec![(firm, 1.0)];
        let mut state_share = StateShare::None;
        if prio.state_participation_min > 0.0 {
            match self.state_company[h] {
                Some(state) if state != firm => {
                    owners = vec![
                        (firm, 1.0 - prio.state_participation_min),
                        (state, prio.state_participation_min),
                    ];
                    owners.sort_by_key(|(f, _)| *f);
                    state_share = StateShare::Share(prio.state_participation_min);
                }
                Some(_) => {}
                None => state_share = StateShare::Waived,
            }
        }
        let com = commodity(c.site.mineral, c.site.stage);
        let mut finance_paid = None;
        if let Some((fs, package)) = finance {
            // Each of the k financiers of a syndicate pays 1/k of the package's cost and takes
            // 1/k of its equity offtake; a nation counts the project once.
            let k = fs.len().max(1) as f64;
            let mut total = 0.0;
            let mut counted: Vec<NationIdx> = Vec::with_capacity(fs.len());
            for &i in fs {
                let fin = &mut books.budgets.financiers[i];
                let amount = (v.cost_usd / k).min(fin.remaining_usd);
                fin.remaining_usd -= amount;
                total += amount;
                let key = (com, fin.nation, host);
                *books.ledger.state_finance_usd.entry(key).or_insert(0.0) += amount;
                if !counted.contains(&fin.nation) {
                    counted.push(fin.nation);
                    *books.ledger.projects_financed.entry(key).or_insert(0) += 1;
                }
                if package.equity_share > 0.0 {
                    *books.ledger.offtake_t_per_yr.entry(key).or_insert(0.0) +=
                        package.equity_share * p.output_t_per_yr / k;
                }
            }
            finance_paid = Some((syndicate(fs), total));
        }
        if let Some(b) = books.firm_budget.get_mut(firm.0 as usize) {
            *b -= v.own_usd;
        }
        for (f, share) in &owners {
            *books
                .ledger
                .investment_usd
                .entry((com, host, registry.firm_home[f.0 as usize]))
                .or_insert(0.0) += v.capex_usd * share;
        }
        books.record.last_approval_step[h] = step;
        let mean = v.appraisal.duration_factor
            * mean_stage_years(Status::Permitting, c.site.stage, &snapshot.governance[h], s);
        let steps = draw_stage_steps(
            self.streams,
            registry.asset_keys[c.idx.0 as usize],
            step,
            mean,
            s.duration_cv,
            self.steps_per_year,
        );
        books.events.rows.push(event(&Event::Approval {
            p_approve,
            state_share,
            finance: finance_paid,
        }));
        books.events.rows.push(event(&Event::StageStart {
            stage: Status::Permitting,
            duration_steps: steps,
        }));
        let esg: f64 = owners
            .iter()
            .map(|(f, share)| snapshot.firms[f.0 as usize].as_ref().map_or(0.5, |p| p.esg) * share)
            .sum();
        let factor = learning_factor(self.learning, com, host, s.learning_rate);
        books.decided.insert(
            c.idx,
            Decision::Approved {
                sponsor: firm,
                owners,
                esg,
                opex_usd_per_t: c.project.base_opex_usd_per_t * factor,
                due_step: step + steps,
                appraisal: v.appraisal,
            },
        );
    }
}

/// The outcome of a proposal, applied to the asset after all decisions of the step.
enum Decision {
    Rejected,
    Approved {
        sponsor: FirmIdx,
        owners: Vec<(FirmIdx, f64)>,
        esg: f64,
        opex_usd_per_t: f64,
        due_step: u32,
        appraisal: Appraisal,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npv_of_a_perpetuity_like_project() {
        // 1000 t/yr × 100 USD/t margin = 100k/yr for 20 years at 10%, no lead: annuity 8.5136.
        let npv = npv_usd(&NpvInputs {
            capacity_t_per_yr: 1000.0,
            utilisation: 1.0,
            net_price_usd_per_t: 300.0,
            cost_usd_per_t: 200.0,
            capex_usd: 500_000.0,
            discount_rate: 0.1,
            lead_years: 0.0,
            life_years: 20.0,
        });
        assert!((npv - 351_356.4).abs() < 1.0, "npv {npv}");
    }

    #[test]
    fn approval_rises_with_alignment_and_blames_the_worst_term() {
        let s = InvestmentSettings::default();
        let base = ApprovalInputs {
            affinity: 0.0,
            esg_gap: 0.0,
            finance_share: 0.0,
            licence: 1.0,
            mandate_unmet: false,
        };
        let (p0, r0) = approval_probability(&s, &base);
        assert_eq!(r0, "host discretion");
        let friendly = ApprovalInputs {
            affinity: 0.8,
            finance_share: 0.5,
            ..base
        };
        assert!(approval_probability(&s, &friendly).0 > p0);
        let (p1, r1) = approval_probability(
            &s,
            &ApprovalInputs {
                mandate_unmet: true,
                ..base
            },
        );
        assert!(p1 < p0);
        assert_eq!(r1, "no local-processing commitment under mandate");
        let (_, r2) = approval_probability(
            &s,
            &ApprovalInputs {
                licence: 0.5,
                ..base
            },
        );
        assert_eq!(r2, "lost social licence");
    }

    #[test]
    fn an_announced_ore_export_ban_raises_a_refinery_value_before_it_takes_effect() {
        use crate::model::resources::ScheduledPolicy;
        let registry = Registry {
            nations: vec!["IDN".into()],
            minerals: vec!["nickel".into()],
            affinity: vec![1.0],
            ..Registry::default()
        };
        // A ban from step 16 (four years of quarters), announced at step 0.
        let timeline = PolicyTimeline {
            policies: vec![ScheduledPolicy {
                idx: 0,
                announced_step: 0,
                start_step: 16,
                end_step: u32::MAX,
                licence_open_step: 16,
                licence_open_year: 2028.0,
                trade: Some(
                    crate::scenario::resolve::TradeMeasure::LocalProcessingMandate {
                        nation: 0,
                        minerals: vec![0],
                        ore_export_ban: true,
                    },
                ),
                assets: None,
                sourcing: None,
                budget: None,
            }],
            active: vec![false],
        };
        let mut unannounced = timeline.clone();
        unannounced.policies[0].announced_step = 16;
        // A refinery decided at step 0 starts producing after the ban (horizon 20).
        let seen = expected_rules(&timeline, &registry, 4, 0, 20);
        let unseen = expected_rules(&unannounced, &registry, 4, 0, 20);
        assert!(seen.ore_export_ban[0][0] && !unseen.ore_export_ban[0][0]);
        // A horizon before the start does not see it either.
        assert!(!expected_rules(&timeline, &registry, 4, 0, 12).ore_export_ban[0][0]);
        // The refinery's net price rises by E[p_ore] × discount / recovery.
        let expectations = PriceExpectations {
            usd_per_t: vec![1000.0, 16000.0],
            buyer_usd_per_t: vec![vec![1000.0], vec![16000.0]],
        };
        let producer = ProducerPrices {
            usd_per_t: vec![vec![1000.0], vec![16000.0]],
            exporter: vec![vec![true], vec![true]],
        };
        let prices = Prices {
            usd_per_t: vec![1000.0, 16000.0],
            reference_usd_per_t: vec![1000.0, 16000.0],
        };
        let view = PriceView {
            expectations: &expectations,
            producer: &producer,
            prices: &prices,
        };
        let s = InvestmentSettings::default();
        let site = Site {
            host: NationIdx(0),
            mineral: crate::model::components::MineralIdx(0),
            stage: Stage::Refined,
        };
        let prio = crate::scenario::Priorities::default();
        let net = |rules: &TradeRules| {
            let (t, _) = site_terms(rules, &prio, &site, false, true);
            view.net_price(&site, &t, &s, 0.5).0
        };
        let gain = net(&seen) - net(&unseen);
        assert!(
            (gain - 1000.0 * s.ore_ban_feed_discount / 0.5).abs() < 1e-9,
            "{gain}"
        );
    }

    #[test]
    fn logit_pick_prefers_better_options_and_covers_all() {
        let options = [(0.1, 'a'), (0.5, 'b')];
        assert_eq!(logit_pick(&options, 0.0, 0.25), Some('a'));
        assert_eq!(logit_pick(&options, 0.0, 0.75), Some('b'));
        // Sharp choice: almost all mass on the best option.
        assert_eq!(logit_pick(&options, 100.0, 0.01), Some('b'));
    }
    fn pair(ci: usize, firm: u32, own_usd: f64) -> Pair {
        Pair {
            ci,
            firm: FirmIdx(firm),
            commercial: Valuation {
                npv_usd: 1.0,
                cost_usd: 0.0,
                own_usd,
                capex_usd: own_usd,
                discount_rate: 0.1,
                appraisal: Appraisal {
                    discount_rate: 0.1,
                    capex_usd: own_usd,
                    cost_usd_per_t: 0.0,
                    floor_usd_per_t: 0.0,
                    floor_years: 0.0,
                    duration_factor: 1.0,
                    deferred_steps: 0,
                },
            },
        }
    }

    /// Firms A (0) and B (1), prospects P0 and P1 at 100 each, budgets 100 each. Both rank P0
    /// first; A's key for it is higher. A draft gives P0 to A and P1 to B, and B is charged only
    /// for P1. (Charging every claim, won or lost — the rule before 2 December 2026 — left B
    /// unable to afford P1 after losing P0, so P1 went unbuilt.)
    #[test]
    fn a_firm_is_charged_only_for_what_it_wins_and_bids_again() {
        let pairs = [
            pair(0, 0, 100.0),
            pair(1, 0, 100.0),
            pair(0, 1, 100.0),
            pair(1, 1, 100.0),
        ];
        let keys = [Some(2.0), Some(1.0), Some(1.5), Some(0.5)];
        let c = firms_claim(
            &pairs,
            &ballots(&pairs, &keys),
            &[100.0, 100.0],
            &[false, false],
        );
        assert_eq!(c.winner, vec![Some(0), Some(3)]);
        assert_eq!(c.spend, vec![100.0, 100.0]);
        assert_eq!(c.claimed, vec![true, false, false, true]);
        // A prospect already taken (by a financier) is not bid for.
        let c = firms_claim(
            &pairs,
            &ballots(&pairs, &keys),
            &[100.0, 100.0],
            &[true, false],
        );
        assert_eq!(c.winner, vec![None, Some(1)]);
        assert_eq!(c.spend, vec![100.0, 0.0]);
    }

    /// Firm 0 plans P0 (300) on its own with a budget of 400. A package on another prospect with
    /// an own outlay of 100 leaves its plan whole; 101 would not. A package on P0 itself replaces
    /// the planned outlay of P0.
    #[test]
    fn a_package_must_leave_the_firm_its_own_plans() {
        let pairs = [pair(0, 0, 300.0), pair(1, 0, 500.0)];
        let c = firms_claim(
            &pairs,
            &ballots(&pairs, &[Some(1.0), None]),
            &[400.0],
            &[false, false],
        );
        assert_eq!(c.spend, vec![300.0]);
        assert!(c.leaves_own_plans(1, &pairs, 100.0, &[400.0]));
        assert!(!c.leaves_own_plans(1, &pairs, 101.0, &[400.0]));
        assert!(c.leaves_own_plans(0, &pairs, 400.0, &[400.0]));
        assert!(!c.leaves_own_plans(0, &pairs, 401.0, &[400.0]));
        // After an approved package charged 150 of its budget, a second one of 100 would not fit.
        assert!(!c.leaves_own_plans(1, &pairs, 100.0, &[250.0]));
    }
}
