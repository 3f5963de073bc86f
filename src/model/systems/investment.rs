//! Investment: firms evaluate candidate projects, state financiers offer co-finance, hosts approve or
//! reject (phase 3 of a step).
//!
//! Once a year (the first step of each year) every investing firm values each prospect open to it by
//! expected NPV and proposes at most one, picked by a logit choice among the positive options; when
//! several firms pick the same prospect the one with the best NPV per dollar of capex proposes it.
//! The host then approves with a probability rising in its alignment with the proposal. Every
//! proposal, approval and rejection is an event with its numbers and reason; an approved project
//! enters permitting and is advanced by [`super::capacity`]. A rejected prospect may be proposed again
//! `investment.retry_years` later.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;

use crate::model::order::dense_order;
use rand::RngExt;

use super::capacity::{draw_stage_steps, learning_factor, mean_stage_years};
use super::finance::{
    CommodityShares, FinanceRequest, backs, best_offer, offer_from, strategic_score,
};
use crate::model::components::{
    AssetIdx, Capacity, Esg, FirmIdx, FirmProfile, Governance, Lifecycle, MineralIdx, NationIdx,
    Ownership, Priorities, Project, Site, Stage, Status, UnitCost,
};
use crate::model::resources::{
    Clock, EventLog, EventRow, FinanceBudgets, HostRecord, HostTerms, InvestmentConfig,
    InvestmentLedger, LearningCurves, PriceExpectations, Registry, SocialLicence, commodity,
};
use crate::model::rng::{Purpose, RngStreams};
use crate::scenario::resolve::kind_fits;
use crate::scenario::{FirmKind, InvestmentSettings};

/// The numbers an NPV is computed from.
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

/// A firm's valuation of one prospect.
#[derive(Clone, Copy, Debug)]
struct Valuation {
    npv_usd: f64,
    capex_usd: f64,
    discount_rate: f64,
    offer: Option<(usize, f64)>,
    commits: bool,
    mandate: bool,
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

/// Everything [`value_prospect`] reads besides the firm and the prospect.
struct Context<'a> {
    settings: &'a InvestmentSettings,
    registry: &'a Registry,
    snapshot: &'a Snapshot,
    expectations: &'a PriceExpectations,
    terms: &'a HostTerms,
    learning: &'a LearningCurves,
    budgets: &'a FinanceBudgets,
    recovery: &'a [f64],
}

/// Value a prospect for a firm. With `financier` set only that financier may co-finance it (a
/// sponsored proposal); otherwise the best offer among all financiers is taken.
fn value_prospect(
    ctx: &Context<'_>,
    firm: &FirmProfile,
    c: &Candidate,
    financier: Option<usize>,
) -> Valuation {
    let s = ctx.settings;
    let n = ctx.registry.n_nations();
    let host = c.site.host;
    let h = usize::from(host.0);
    let m = usize::from(c.site.mineral.0);
    let gov = &ctx.snapshot.governance[h];
    let prio = &ctx.snapshot.priorities[h];
    let com = commodity(c.site.mineral, c.site.stage);
    let factor = learning_factor(ctx.learning, com, host, s.learning_rate);
    let capex_usd = c.project.capex_usd * factor;
    let flag = |t: &Vec<Vec<bool>>| t.get(m).and_then(|r| r.get(h)).copied().unwrap_or(false);
    let mandate = flag(&ctx.terms.local_processing_mandate);
    let commits = c.project.local_processing_commitment || ctx.snapshot.refinery_present[m * n + h];
    let ore_price = ctx.expectations.usd_per_t[commodity(c.site.mineral, Stage::Ore)];
    let net_price_usd_per_t = match c.site.stage {
        Stage::Ore => {
            // Ore that stays in the host escapes the export tax; a ban takes all its value.
            let tax = if commits {
                0.0
            } else if flag(&ctx.terms.ore_export_ban) {
                1.0
            } else {
                // The same export tax the ore market applies (`HostTerms`, docs/ODD.md §7.6).
                ctx.terms
                    .export_tax
                    .get(com)
                    .and_then(|r| r.get(h))
                    .copied()
                    .unwrap_or(0.0)
            };
            // Buyers pay p / (1 − t), so a seller nets (1 − t) of the delivered price; the
            // royalty is levied on what it nets (as in the mine's reservation price in trade).
            ore_price * (1.0 - tax) * (1.0 - prio.royalty_rate)
        }
        // A refinery sells into its host's market: the expected price the host's buyers pay
        // (`BuyerPrices`: higher when export controls cut the host off), or the reference price
        // for a host that buys none.
        Stage::Refined => {
            let product = ctx
                .expectations
                .buyer_usd_per_t
                .get(com)
                .and_then(|row| row.get(h))
                .copied()
                .unwrap_or(ctx.expectations.usd_per_t[com]);
            product - ore_price / ctx.recovery[m].max(1e-9)
        }
    };
    let opex = c.project.base_opex_usd_per_t * factor;
    let esg_cost = opex * s.esg_cost_share * firm.esg.max(prio.min_esg);
    let request = FinanceRequest {
        mineral: c.site.mineral,
        host,
        investor_home: firm.home,
        capex_usd,
    };
    let offer = match financier {
        None => best_offer(
            ctx.budgets,
            ctx.registry,
            s.ally_affinity,
            &request,
            &ctx.snapshot.shares[com],
        ),
        Some(i) => offer_from(
            &ctx.budgets.financiers[i],
            ctx.registry,
            s.ally_affinity,
            &request,
            &ctx.snapshot.shares[com],
        )
        .map(|share| (i, share)),
    };
    let concession = offer.map_or(0.0, |(i, share)| {
        ctx.budgets.financiers[i].concessional_rate * share
    });
    let discount_rate = (firm.hurdle_rate
        + s.max_country_risk_premium * (1.0 - gov.regulatory_stability)
        - concession)
        .max(0.001);
    let lead_years = mean_stage_years(Status::Permitting, c.site.stage, gov, s)
        + mean_stage_years(Status::Construction, c.site.stage, gov, s)
        + mean_stage_years(Status::RampUp, c.site.stage, gov, s) / 2.0;
    let npv = npv_usd(&NpvInputs {
        capacity_t_per_yr: c.capacity.t_per_yr,
        utilisation: c.capacity.utilisation,
        net_price_usd_per_t,
        cost_usd_per_t: opex + esg_cost,
        capex_usd,
        discount_rate,
        lead_years,
        life_years: s.asset_life_years,
    });
    Valuation {
        npv_usd: npv,
        capex_usd,
        discount_rate,
        offer,
        commits,
        mandate,
    }
}

/// Whether a firm may develop a prospect.
fn open_to(project: &Project, site: &Site, firm: FirmIdx, profile: &FirmProfile) -> bool {
    if project.developers.is_empty() {
        kind_fits(profile.kind, site.stage)
    } else {
        project.developers.binary_search(&firm).is_ok()
    }
}

/// Logit choice among options `(value, item)`: P ∝ exp(sharpness × value), drawn with `u` in [0, 1).
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

/// Firms propose, financiers offer finance, hosts decide (first step of each year).
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
    let step = clock.step;
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
    let mut rows: Vec<AssetRow<'_>> = assets.iter_mut().collect();
    // Query order is not stable: every sum and decision follows asset index order. The rows are
    // large (several `Mut`s), so they stay in place and are visited through a permutation.
    let order = dense_order(&rows, |row| row.0.0 as usize);
    let mut candidates = Vec::new();
    for &i in &order {
        let (idx, site, capacity, life, owners, _, _, project) = &rows[i];
        let com = commodity(site.mineral, site.stage);
        match life.status {
            Status::Operating | Status::RampUp | Status::Suspended => {
                let sh = &mut snapshot.shares[com];
                sh.located[usize::from(site.host.0)] += capacity.t_per_yr;
                sh.total += capacity.t_per_yr;
                for (f, share) in &owners.0 {
                    let home = registry.firm_home[f.0 as usize];
                    sh.controlled[usize::from(home.0)] += capacity.t_per_yr * share;
                }
            }
            Status::Prospect => {
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
    if candidates.is_empty() {
        return;
    }

    // The facts every valuation and decision of this round reads.
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
        steps_per_year: clock.steps_per_year,
        settings: s,
        registry: &registry,
        snapshot: &snapshot,
        expectations: &expectations,
        terms: &terms,
        learning: &learning,
        recovery: &config.recovery,
        licence: &licence,
        streams: &streams,
        state_company: &state_company,
    };
    // Each firm picks at most one positive-NPV prospect; the best claim per prospect wins.
    let mut claims: BTreeMap<usize, (f64, FirmIdx)> = BTreeMap::new();
    {
        let ctx = round.context(&budgets);
        for (f, profile) in snapshot.firms.iter().enumerate() {
            let Some(profile) = profile else { continue };
            if !config.firm_invests.get(f).copied().unwrap_or(false) {
                continue;
            }
            let firm = FirmIdx(f as u32);
            let options: Vec<(f64, usize)> = candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| open_to(&c.project, &c.site, firm, profile))
                .filter_map(|(i, c)| {
                    let v = value_prospect(&ctx, profile, c, None);
                    (v.npv_usd > 0.0).then(|| (v.npv_usd / v.capex_usd.max(1.0), i))
                })
                .collect();
            if options.is_empty() {
                continue;
            }
            let u: f64 = streams
                .stream(Purpose::Proposal, registry.firm_keys[f], step)
                .random();
            let Some(pick) = logit_pick(&options, s.choice_sharpness, u) else {
                continue;
            };
            let value = options
                .iter()
                .find(|(_, i)| *i == pick)
                .map_or(0.0, |(v, _)| *v);
            let better = claims.get(&pick).is_none_or(|(best, _)| value > *best);
            if better {
                claims.insert(pick, (value, firm));
            }
        }
    }

    // Proposals in asset order: finance is allocated as projects are approved.
    let mut books = Books {
        budgets: &mut budgets,
        ledger: &mut ledger,
        record: &mut record,
        events: &mut events,
        decided: BTreeMap::new(),
    };
    for (&ci, &(_, firm)) in &claims {
        round.decide(&mut books, &candidates[ci], firm, None);
    }

    // Sponsorship: financiers with budget left put further prospects to eligible firms.
    let mut taken = vec![false; candidates.len()];
    for &ci in claims.keys() {
        taken[ci] = true;
    }
    for fi in 0..books.budgets.financiers.len() {
        for _ in 0..s.max_sponsored_per_financier_per_year {
            if books.budgets.financiers[fi].remaining_usd <= 0.0 {
                break;
            }
            let Some((ci, firm)) = round.best_sponsorship(
                books.budgets,
                fi,
                &candidates,
                &taken,
                &config.firm_invests,
            ) else {
                break;
            };
            taken[ci] = true;
            round.decide(&mut books, &candidates[ci], firm, Some(fi));
        }
    }
    let decided = books.decided;

    let retry_step = step + super::capacity::years_to_steps(s.retry_years, clock.steps_per_year);
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
            } => {
                project.sponsor = Some(*sponsor);
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

/// The facts of one year's decision round that every proposal reads.
struct Round<'a> {
    step: u32,
    steps_per_year: u32,
    settings: &'a InvestmentSettings,
    registry: &'a Registry,
    snapshot: &'a Snapshot,
    expectations: &'a PriceExpectations,
    terms: &'a HostTerms,
    learning: &'a LearningCurves,
    recovery: &'a [f64],
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
}

impl Round<'_> {
    fn context<'b>(&'b self, budgets: &'b FinanceBudgets) -> Context<'b> {
        Context {
            settings: self.settings,
            registry: self.registry,
            snapshot: self.snapshot,
            expectations: self.expectations,
            terms: self.terms,
            learning: self.learning,
            budgets,
            recovery: self.recovery,
        }
    }

    /// The (prospect, firm) a financier sponsors next: among prospects not yet taken this year and
    /// investing firms it backs that may develop them, the highest strategic score × NPV / capex
    /// with NPV (at the financier's concession) positive. Ties go to the lower prospect, then firm,
    /// index.
    fn best_sponsorship(
        &self,
        budgets: &FinanceBudgets,
        fi: usize,
        candidates: &[Candidate],
        taken: &[bool],
        firm_invests: &[bool],
    ) -> Option<(usize, FirmIdx)> {
        let fin = &budgets.financiers[fi];
        let ctx = self.context(budgets);
        let mut best: Option<(f64, usize, FirmIdx)> = None;
        for (ci, c) in candidates.iter().enumerate() {
            if taken[ci] {
                continue;
            }
            let com = commodity(c.site.mineral, c.site.stage);
            for (f, profile) in self.snapshot.firms.iter().enumerate() {
                let Some(profile) = profile else { continue };
                let firm = FirmIdx(f as u32);
                if !firm_invests.get(f).copied().unwrap_or(false)
                    || !backs(
                        fin,
                        self.registry,
                        self.settings.ally_affinity,
                        profile.home,
                    )
                    || !open_to(&c.project, &c.site, firm, profile)
                {
                    continue;
                }
                let score = strategic_score(
                    fin,
                    c.site.mineral,
                    c.site.host,
                    profile.home,
                    &self.snapshot.shares[com],
                );
                if score <= 0.0 {
                    continue;
                }
                let v = value_prospect(&ctx, profile, c, Some(fi));
                if v.npv_usd <= 0.0 || v.offer.is_none() {
                    continue;
                }
                let value = score * v.npv_usd / v.capex_usd.max(1.0);
                if best.is_none_or(|(b, _, _)| value > b) {
                    best = Some((value, ci, firm));
                }
            }
        }
        best.map(|(_, ci, firm)| (ci, firm))
    }

    /// Propose prospect `c` by `firm` (sponsored by financier `sponsor`, if any) and let the host
    /// decide: logs the proposal and its outcome, commits finance and investment on approval.
    fn decide(&self, books: &mut Books<'_>, c: &Candidate, firm: FirmIdx, sponsor: Option<usize>) {
        let s = self.settings;
        let step = self.step;
        let registry = self.registry;
        let snapshot = self.snapshot;
        let Some(profile) = snapshot.firms[firm.0 as usize].as_ref() else {
            return;
        };
        let v = value_prospect(&self.context(books.budgets), profile, c, sponsor);
        let host = c.site.host;
        let event = |kind: &'static str, detail: String| EventRow {
            step,
            kind,
            asset: Some(c.idx),
            firm: Some(firm),
            nation: Some(host),
            partner: Some(profile.home),
            detail,
        };
        if v.npv_usd <= 0.0 {
            books.events.rows.push(event(
                "withdrawal",
                format!(
                    "npv_usd={:.0}; reason=finance no longer available",
                    v.npv_usd
                ),
            ));
            return;
        }
        let finance_share = v.offer.map_or(0.0, |(_, share)| share);
        let finance_text = v.offer.map_or("none".to_string(), |(i, share)| {
            format!("{}:{share:.3}", books.budgets.financiers[i].id)
        });
        let sponsor_text = sponsor.map_or(String::new(), |i| {
            format!("; sponsor={}", books.budgets.financiers[i].id)
        });
        books.events.rows.push(event(
            "proposal",
            format!(
                "npv_usd={:.0}; capex_usd={:.0}; discount_rate={:.4}; finance={finance_text}{sponsor_text}",
                v.npv_usd, v.capex_usd, v.discount_rate
            ),
        ));
        let h = usize::from(host.0);
        let prio = &snapshot.priorities[h];
        let (p_approve, reason) = approval_probability(
            s,
            &ApprovalInputs {
                affinity: registry.affinity(host, profile.home),
                esg_gap: profile.esg - prio.min_esg,
                finance_share,
                licence: self.licence.get(host, profile.home),
                mandate_unmet: v.mandate && c.site.stage == Stage::Ore && !v.commits,
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
            books.events.rows.push(event(
                "rejection",
                format!("p_approve={p_approve:.3}; reason={reason}"),
            ));
            books.decided.insert(c.idx, Decision::Rejected);
            return;
        }
        // State participation: the host's state company takes its mandated share.
        let mut owners = vec![(firm, 1.0)];
        let mut participation = String::new();
        if prio.state_participation_min > 0.0 {
            match self.state_company[h] {
                Some(state) if state != firm => {
                    owners = vec![
                        (firm, 1.0 - prio.state_participation_min),
                        (state, prio.state_participation_min),
                    ];
                    owners.sort_by_key(|(f, _)| *f);
                    participation = format!("; state_share={}", prio.state_participation_min);
                }
                Some(_) => {}
                None => participation = "; state_share=waived (no state company)".to_string(),
            }
        }
        let mut finance_detail = String::new();
        if let Some((i, share)) = v.offer {
            let fin = &mut books.budgets.financiers[i];
            let amount = (share * v.capex_usd).min(fin.remaining_usd);
            fin.remaining_usd -= amount;
            *books
                .ledger
                .state_finance_usd
                .entry((commodity(c.site.mineral, c.site.stage), fin.nation, host))
                .or_insert(0.0) += amount;
            finance_detail = format!("; finance={}:{amount:.0}", fin.id);
        }
        for (f, share) in &owners {
            *books
                .ledger
                .investment_usd
                .entry((
                    commodity(c.site.mineral, c.site.stage),
                    host,
                    registry.firm_home[f.0 as usize],
                ))
                .or_insert(0.0) += v.capex_usd * share;
        }
        books.record.last_approval_step[h] = step;
        let mean = mean_stage_years(Status::Permitting, c.site.stage, &snapshot.governance[h], s);
        let steps = draw_stage_steps(
            self.streams,
            registry.asset_keys[c.idx.0 as usize],
            step,
            mean,
            s.duration_cv,
            self.steps_per_year,
        );
        books.events.rows.push(event(
            "approval",
            format!("p_approve={p_approve:.3}{participation}{finance_detail}"),
        ));
        books
            .events
            .rows
            .push(event("permitting_start", format!("duration_steps={steps}")));
        let esg: f64 = owners
            .iter()
            .map(|(f, share)| snapshot.firms[f.0 as usize].as_ref().map_or(0.5, |p| p.esg) * share)
            .sum();
        let factor = learning_factor(
            self.learning,
            commodity(c.site.mineral, c.site.stage),
            host,
            s.learning_rate,
        );
        books.decided.insert(
            c.idx,
            Decision::Approved {
                sponsor: firm,
                owners,
                esg,
                opex_usd_per_t: c.project.base_opex_usd_per_t * factor,
                due_step: step + steps,
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
    },
}

/// Mineral of a commodity index (inverse of [`commodity`]).
pub fn mineral_of(c: usize) -> MineralIdx {
    MineralIdx((c / 2) as u16)
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
    fn logit_pick_prefers_better_options_and_covers_all() {
        let options = [(0.1, 'a'), (0.5, 'b')];
        assert_eq!(logit_pick(&options, 0.0, 0.25), Some('a'));
        assert_eq!(logit_pick(&options, 0.0, 0.75), Some('b'));
        // Sharp choice: almost all mass on the best option.
        assert_eq!(logit_pick(&options, 100.0, 0.01), Some('b'));
    }
}
