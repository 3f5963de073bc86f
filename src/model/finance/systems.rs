//! State finance: the annual budgets of state financiers (China's policy banks, JBIC/JOGMEC, DFC, ...)
//! and the strategic score by which they pick projects to co-finance.
//!
//! Budgets are the levers of research question Q1 ("how much concessional finance must the US and
//! Japan commit?"). A budget is renewed on the first step of each year: unspent money carries over if
//! the financier's `carry_over` is set and is lost otherwise. A `finance_programme` policy in force
//! replaces the scenario's annual budget from the next renewal on (the last one listed wins).

use bevy_ecs::prelude::*;

use crate::model::components::{MineralIdx, NationIdx};
use crate::model::events::{Event, Subject};
use crate::model::resources::{
    Clock, EventLog, EventRow, FinanceBudgets, FinancierState, PolicyTimeline, Registry,
};

/// Renew every financier's budget on the first step of a year.
pub fn refresh_finance_budgets(
    clock: Res<Clock>,
    registry: Res<Registry>,
    timeline: Res<PolicyTimeline>,
    mut budgets: ResMut<FinanceBudgets>,
    mut events: ResMut<EventLog>,
) {
    // Runs on the first step of each year with investment enabled (run conditions in
    // `schedule.rs`).
    for (i, fin) in budgets.financiers.iter_mut().enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        let annual = programme_budget(&timeline, i).unwrap_or(fin.scenario_budget_usd);
        if annual != fin.annual_budget_usd {
            let event = Event::FinanceBudget {
                financier: i,
                annual_budget_usd: annual,
                was_usd: fin.annual_budget_usd,
            };
            let who = Subject {
                nation: Some(fin.nation),
                ..Subject::default()
            };
            events
                .rows
                .push(EventRow::typed(clock.step, who, &event, &registry));
            fin.annual_budget_usd = annual;
        }
        let carried = if fin.carry_over {
            fin.remaining_usd
        } else {
            0.0
        };
        fin.remaining_usd = annual + carried;
    }
}

/// The annual budget a `finance_programme` in force sets for a financier (by index; the last
/// listed wins).
fn programme_budget(timeline: &PolicyTimeline, financier: u32) -> Option<f64> {
    timeline
        .policies
        .iter()
        .zip(&timeline.active)
        .filter(|(_, active)| **active)
        .filter_map(|(p, _)| match &p.budget {
            Some(b) if b.financier == financier => Some(b.annual_budget_usd),
            _ => None,
        })
        .next_back()
}

/// Capacity of one commodity by host (location) and by owners' home (control), t/yr, with the world
/// total: what financiers read to judge how much a project reduces a rival's share.
#[derive(Clone, Debug, Default)]
pub struct CommodityShares {
    /// Capacity located in each nation, by nation index.
    pub located: Vec<f64>,
    /// Capacity controlled by each nation's firms, by nation index.
    pub controlled: Vec<f64>,
    /// World capacity.
    pub total: f64,
}

/// Strategic score of a project for a financier, 0..=1: with a rival, the rival's larger share of
/// world capacity of the commodity (by location or control) — a project that is neither in the rival
/// nor by a firm of the rival dilutes that share; without a rival, 1 (secure supply for home
/// industry: every strategic project counts fully). Zero for projects in, or by firms of, the rival, and for non-strategic minerals.
pub fn strategic_score(
    fin: &FinancierState,
    mineral: MineralIdx,
    host: NationIdx,
    investor_home: NationIdx,
    shares: &CommodityShares,
) -> f64 {
    if !fin.strategic[usize::from(mineral.0)] {
        return 0.0;
    }
    match fin.rival {
        Some(rival) if rival == host || rival == investor_home => 0.0,
        Some(rival) if shares.total > 0.0 => {
            let r = usize::from(rival.0);
            shares.located[r].max(shares.controlled[r]) / shares.total
        }
        _ => 1.0,
    }
}

/// Present value of an annuity of 1 per year for `n` years at rate `r` (end-of-year payments).
pub fn annuity(r: f64, n: f64) -> f64 {
    if n <= 0.0 {
        0.0
    } else if r.abs() > 1e-9 {
        (1.0 - (1.0 + r).powf(-n)) / r
    } else {
        n
    }
}

/// Subsidy value of a loan, USD: principal minus the present value at the borrower's own rate
/// `firm_rate` of the debt service at `loan_rate` — interest only for `grace` years, then a level
/// annuity that repays the principal by `tenor` (adjusted present value, Myers 1974). Zero when the
/// loan rate equals the firm's rate; the whole principal for a grant-like loan never repaid.
pub fn loan_subsidy_usd(
    principal: f64,
    firm_rate: f64,
    loan_rate: f64,
    tenor: f64,
    grace: f64,
) -> f64 {
    if principal <= 0.0 {
        return 0.0;
    }
    let grace = grace.clamp(0.0, tenor);
    let repay_years = tenor - grace;
    let interest = principal * loan_rate * annuity(firm_rate, grace);
    let repayment = if repay_years <= 1e-9 {
        // Bullet repayment at the end of the grace period.
        principal * (1.0 + firm_rate).powf(-grace)
    } else {
        let payment = principal / annuity(loan_rate, repay_years);
        payment * annuity(firm_rate, repay_years) * (1.0 + firm_rate).powf(-grace)
    };
    principal - interest - repayment
}

/// Standard normal cumulative distribution (erfc from W. J. Cody's rational approximation as in
/// Numerical Recipes 3rd ed. §6.2.2, fractional error below 1.2e-7).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let erfc = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

/// Undiscounted value per tonne of a put struck at `floor` on a price whose expectation is
/// `forward` and whose log has standard deviation `sigma_sqrt_t` at the payment date (Black 1976):
/// F N(−d2) − P N(−d1). With no uncertainty it is max(F − P, 0).
pub fn put_usd_per_t(forward: f64, floor: f64, sigma_sqrt_t: f64) -> f64 {
    if floor <= 0.0 {
        return 0.0;
    }
    if forward <= 0.0 {
        return floor;
    }
    if sigma_sqrt_t <= 1e-12 {
        return (floor - forward).max(0.0);
    }
    let d1 = ((forward / floor).ln() + 0.5 * sigma_sqrt_t * sigma_sqrt_t) / sigma_sqrt_t;
    let d2 = d1 - sigma_sqrt_t;
    floor * normal_cdf(-d2) - forward * normal_cdf(-d1)
}

/// Present value, USD, of a price floor on `t_per_yr` tonnes a year for `years` years of operation
/// starting `lead` years from now, discounted at `r`: Σ_k put(forward, floor, σ√(lead + k)) ×
/// t_per_yr × (1 + r)^−(lead + k), k = 1..=years (whole years; a fractional last year counts in
/// proportion). What the guarantee is worth to the project and what it is expected to cost its
/// grantor.
pub fn floor_value_usd(
    t_per_yr: f64,
    forward: f64,
    floor: f64,
    sigma: f64,
    r: f64,
    lead: f64,
    years: f64,
) -> f64 {
    if floor <= 0.0 || years <= 0.0 || t_per_yr <= 0.0 {
        return 0.0;
    }
    let mut total = 0.0;
    let whole = years.ceil() as u32;
    for k in 1..=whole {
        let weight = (years - f64::from(k - 1)).min(1.0);
        let t = lead + f64::from(k);
        total += weight * put_usd_per_t(forward, floor, sigma * t.sqrt()) * (1.0 + r).powf(-t);
    }
    total * t_per_yr
}

/// A financier's instruments as offered to one project, in money (docs/ODD.md §7.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Package {
    /// Loan principal, USD.
    pub loan_usd: f64,
    /// Grant (capex subsidy), USD.
    pub grant_usd: f64,
    /// Financier's share of the project's equity (0..=1).
    pub equity_share: f64,
    /// Price floor on the output, USD/t (0 = none).
    pub floor_usd_per_t: f64,
    /// Years of operation the floor covers.
    pub floor_years: f64,
    /// Share of the country-risk premium insured away (0..=1).
    pub insurance_cover: f64,
    /// Loan rate below the firm's discount rate, per year.
    pub rate_cut: f64,
    /// Loan tenor and grace, years.
    pub tenor_years: f64,
    /// Grace, years.
    pub grace_years: f64,
}

/// The project facts a package is valued on.
#[derive(Clone, Copy, Debug)]
pub struct ProjectCash {
    /// Capex, USD.
    pub capex_usd: f64,
    /// Expected operating cash flow per year once running, USD/yr.
    pub cash_usd_per_yr: f64,
    /// Output sold, t/yr (capacity × utilisation).
    pub output_t_per_yr: f64,
    /// Expected price of the output the floor applies to, USD/t.
    pub product_usd_per_t: f64,
    /// Firm's discount rate without insurance, per year.
    pub discount_rate: f64,
    /// Part of the discount rate that is country-risk premium, per year.
    pub country_risk_premium: f64,
    /// Years from the decision to full output.
    pub lead_years: f64,
    /// Years of operation valued.
    pub life_years: f64,
    /// Price volatility for the floor (annual log sd).
    pub sigma: f64,
}

/// The proposing firm's NPV of a project financed with `package`, and what the package costs the
/// financier's budget, USD.
///
/// Adjusted present value (Myers 1974; Brealey, Myers & Allen ch. 19): with r the firm's rate net
/// of the insured share of the country-risk premium, NPV_project = −C + CF a(r, life) (1+r)^−T +
/// floor value + G + (L − PV_r(debt service)); a financier's equity share e is bought at fair value,
/// so the firm keeps (1 − e) of NPV_project. The budget pays the loan principal, the grant, the
/// equity (e of the equity need C − L − G), the floor's expected payout (its present value), and
/// the insured exposure (cover × the firm's own outlay, counted at face value as DFC counts its
/// insurance against its exposure cap).
pub fn financed_npv(p: &ProjectCash, k: &Package) -> (f64, f64) {
    let r = (p.discount_rate - k.insurance_cover * p.country_risk_premium).max(0.001);
    let ops = p.cash_usd_per_yr * annuity(r, p.life_years) * (1.0 + r).powf(-p.lead_years);
    let floor = floor_value_usd(
        p.output_t_per_yr,
        p.product_usd_per_t,
        k.floor_usd_per_t,
        p.sigma,
        r,
        p.lead_years,
        k.floor_years,
    );
    let loan = k.loan_usd.min(p.capex_usd);
    let grant = k.grant_usd.min(p.capex_usd - loan);
    let subsidy = loan_subsidy_usd(
        loan,
        r,
        (r - k.rate_cut).max(0.0),
        k.tenor_years,
        k.grace_years,
    );
    let project = -p.capex_usd + ops + floor + grant + subsidy;
    let equity_need = (p.capex_usd - loan - grant).max(0.0);
    let own = (1.0 - k.equity_share) * equity_need;
    let cost = loan + grant + k.equity_share * equity_need + floor + k.insurance_cover * own;
    ((1.0 - k.equity_share) * project, cost)
}

/// The firm's own outlay under a package, USD: its share of the equity need.
pub fn own_outlay_usd(capex_usd: f64, k: &Package) -> f64 {
    let loan = k.loan_usd.min(capex_usd);
    let grant = k.grant_usd.min(capex_usd - loan);
    (1.0 - k.equity_share) * (capex_usd - loan - grant).max(0.0)
}

/// The package a financier offers a project of capex `capex_usd` whose output's reference price
/// is `reference_usd_per_t`.
pub fn package_of(fin: &FinancierState, capex_usd: f64, reference_usd_per_t: f64) -> Package {
    Package {
        loan_usd: fin.max_share * capex_usd,
        grant_usd: fin.grant_share * capex_usd,
        equity_share: fin.equity_share,
        floor_usd_per_t: fin.price_floor_ratio * reference_usd_per_t,
        floor_years: fin.price_floor_years,
        insurance_cover: fin.insurance_cover,
        rate_cut: fin.concessional_rate,
        tenor_years: fin.loan_tenor_years,
        grace_years: fin.loan_grace_years,
    }
}

/// Host-priority alignment of a project for a financier, ≥ 1: (1 + the host's target domestic
/// processing share if the project processes in the host) × (1 + the host's affinity to the
/// financier's nation, if positive). Policy-bank lending follows what host governments ask for
/// (Kaplan 2021; Bräutigam & Gallagher 2014).
pub fn host_alignment(processes_in_host: bool, target_processing: f64, affinity: f64) -> f64 {
    let processing = if processes_in_host {
        target_processing.clamp(0.0, 1.0)
    } else {
        0.0
    };
    (1.0 + processing) * (1.0 + affinity.max(0.0))
}

/// Whether a financier backs firms of `investor_home`: its own nation's, and allies' (affinity of the
/// financier's nation to the firm's home at least `ally_affinity`).
pub fn backs(
    fin: &FinancierState,
    registry: &Registry,
    ally_affinity: f64,
    investor_home: NationIdx,
) -> bool {
    fin.nation == investor_home || registry.affinity(fin.nation, investor_home) >= ally_affinity
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fin(rival: Option<NationIdx>) -> FinancierState {
        FinancierState {
            nation: NationIdx(2),
            scenario_budget_usd: 1e9,
            annual_budget_usd: 1e9,
            remaining_usd: 1e9,
            max_share: 0.5,
            concessional_rate: 0.03,
            carry_over: false,
            strategic: vec![true],
            rival,
            ..FinancierState::default()
        }
    }

    #[test]
    fn rival_projects_score_zero_and_others_score_the_rival_share() {
        let shares = CommodityShares {
            located: vec![70.0, 30.0, 0.0],
            controlled: vec![80.0, 20.0, 0.0],
            total: 100.0,
        };
        let f = fin(Some(NationIdx(0)));
        assert_eq!(
            strategic_score(&f, MineralIdx(0), NationIdx(0), NationIdx(2), &shares),
            0.0
        );
        assert_eq!(
            strategic_score(&f, MineralIdx(0), NationIdx(1), NationIdx(0), &shares),
            0.0
        );
        assert_eq!(
            strategic_score(&f, MineralIdx(0), NationIdx(1), NationIdx(2), &shares),
            0.8
        );
    }

    #[test]
    fn a_loan_at_the_firms_rate_is_worth_nothing_and_an_interest_free_one_is() {
        assert!(loan_subsidy_usd(1e9, 0.1, 0.1, 12.0, 3.0).abs() < 1e-3);
        // Interest free, no grace, repaid evenly over 10 years at a 10% own rate:
        // subsidy = L (1 − a(0.1, 10) / 10) = L (1 − 0.614457).
        let s = loan_subsidy_usd(1e9, 0.1, 0.0, 10.0, 0.0);
        assert!((s / 1e9 - (1.0 - 6.144_567 / 10.0)).abs() < 1e-6, "{s}");
        // A bullet loan (tenor = grace) at 5% against 10%: L − 0.05 L a(0.1, 5) − L 1.1^−5.
        let b = loan_subsidy_usd(1.0, 0.1, 0.05, 5.0, 5.0);
        let expect = 1.0 - 0.05 * 3.790_787 - 1.1f64.powf(-5.0);
        assert!((b - expect).abs() < 1e-6, "{b} vs {expect}");
        // A cheaper loan is worth more.
        assert!(
            loan_subsidy_usd(1.0, 0.1, 0.04, 12.0, 3.0)
                > loan_subsidy_usd(1.0, 0.1, 0.07, 12.0, 3.0)
        );
    }

    #[test]
    fn normal_cdf_and_put_match_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
        // At the money: F (N(σ/2) − N(−σ/2)); σ√t = 0.2 → 0.0796557 F.
        assert!((put_usd_per_t(100.0, 100.0, 0.2) - 7.965_57).abs() < 1e-3);
        // No uncertainty: intrinsic value.
        assert_eq!(put_usd_per_t(80.0, 100.0, 0.0), 20.0);
        assert_eq!(put_usd_per_t(120.0, 100.0, 0.0), 0.0);
        // Put–call parity: put − call = F − P with the call from Black's formula.
        let (p, f, v): (f64, f64, f64) = (90.0, 100.0, 0.3);
        let d1 = ((p / f).ln() + 0.5 * v * v) / v;
        let call = p * normal_cdf(d1) - f * normal_cdf(d1 - v);
        assert!((put_usd_per_t(p, f, v) - call - (f - p)).abs() < 1e-5);
    }

    #[test]
    fn a_deep_floor_without_volatility_is_a_discounted_price_top_up() {
        // Floor 150 on an expected 100, 1000 t/yr, 2 years after a 1-year lead, r = 10%.
        let v = floor_value_usd(1000.0, 100.0, 150.0, 0.0, 0.1, 1.0, 2.0);
        let expect = 50_000.0 * (1.1f64.powf(-2.0) + 1.1f64.powf(-3.0));
        assert!((v - expect).abs() < 1e-6, "{v} vs {expect}");
    }

    fn cash() -> ProjectCash {
        ProjectCash {
            capex_usd: 1e9,
            cash_usd_per_yr: 1.0e8,
            output_t_per_yr: 10_000.0,
            product_usd_per_t: 20_000.0,
            discount_rate: 0.12,
            country_risk_premium: 0.04,
            lead_years: 4.0,
            life_years: 20.0,
            sigma: 0.3,
        }
    }

    #[test]
    fn each_instrument_enters_the_npv_as_its_money_value() {
        let p = cash();
        let (base, cost0) = financed_npv(&p, &Package::default());
        let closed = -1e9 + 1e8 * annuity(0.12, 20.0) * 1.12f64.powf(-4.0);
        assert!(
            (base - closed).abs() < 1e-3 && cost0 == 0.0,
            "{base} {closed}"
        );
        // A grant adds exactly its amount and costs exactly its amount.
        let grant = Package {
            grant_usd: 1e8,
            ..Package::default()
        };
        let (g, cg) = financed_npv(&p, &grant);
        assert!((g - base - 1e8).abs() < 1e-3 && (cg - 1e8).abs() < 1e-3);
        // Insurance lowers the rate by cover × premium: same as a firm with 2 points less.
        let ins = Package {
            insurance_cover: 0.5,
            ..Package::default()
        };
        let (i, ci) = financed_npv(&p, &ins);
        let at_10 = financed_npv(
            &ProjectCash {
                discount_rate: 0.10,
                ..p
            },
            &Package::default(),
        )
        .0;
        assert!((i - at_10).abs() < 1e-3 && (ci - 0.5e9).abs() < 1e-3);
        // Fair equity leaves the firm its share of the project's NPV.
        let eq = Package {
            equity_share: 0.25,
            ..Package::default()
        };
        let (e, ce) = financed_npv(&p, &eq);
        assert!((e - 0.75 * base).abs() < 1e-3 && (ce - 0.25e9).abs() < 1e-3);
        // A loan at 3 points below adds its subsidy and costs its principal.
        let loan = Package {
            loan_usd: 5e8,
            rate_cut: 0.03,
            tenor_years: 12.0,
            grace_years: 3.0,
            ..Package::default()
        };
        let (l, cl) = financed_npv(&p, &loan);
        let sub = loan_subsidy_usd(5e8, 0.12, 0.09, 12.0, 3.0);
        assert!((l - base - sub).abs() < 1e-3 && (cl - 5e8).abs() < 1e-3 && sub > 0.0);
        // A floor is worth its option value, which its grantor expects to pay.
        let floor = Package {
            floor_usd_per_t: 25_000.0,
            floor_years: 10.0,
            ..Package::default()
        };
        let (fv, cf) = financed_npv(&p, &floor);
        assert!(fv > base && ((fv - base) - cf).abs() < 1e-3);
    }

    #[test]
    fn alignment_rewards_processing_where_the_host_wants_it() {
        assert_eq!(host_alignment(false, 0.5, -0.2), 1.0);
        assert_eq!(host_alignment(true, 0.5, 0.0), 1.5);
        assert_eq!(host_alignment(true, 0.5, 1.0), 3.0);
    }
}
