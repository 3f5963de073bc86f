//! State finance (phase 3 of a step; a mechanism in its own folder, `docs/ODD.md` §3.1): the
//! budgets of state financiers, renewed once a year ([`systems`]), and the project-finance maths
//! (annuities, price floors, the strategic score) that investment and capacity read.
//!
//! Why a folder: the budgets ([`FinanceBudgets`]) are built from the scenario's financiers and
//! their nations' goals here, checked for non-finite values here, and renewed by the system here;
//! the yearly gate is a run condition in `schedule.rs`.

pub mod systems;

use bevy_ecs::prelude::*;

use super::components::NationIdx;
use super::mechanism::{Mechanism, NonFinite};
use super::metrics::MetricInfo;
use crate::scenario::Resolved;

/// One state financier's budget.
#[derive(Clone, Debug, Default)]
pub struct FinancierState {
    /// Nation whose goals it serves.
    pub nation: NationIdx,
    /// Annual budget from the scenario, USD.
    pub scenario_budget_usd: f64,
    /// Annual budget in force (a finance programme may change it), USD.
    pub annual_budget_usd: f64,
    /// Budget left this year, USD.
    pub remaining_usd: f64,
    /// Largest share of a project's capex it finances.
    pub max_share: f64,
    /// Interest-rate advantage it offers, per year.
    pub concessional_rate: f64,
    /// Whether unspent budget carries over.
    pub carry_over: bool,
    /// Minerals it considers strategic (by mineral index); all true when the nation lists none.
    pub strategic: Vec<bool>,
    /// The rival whose share of supply it wants to reduce, if any.
    pub rival: Option<NationIdx>,
    /// Loan tenor, years.
    pub loan_tenor_years: f64,
    /// Loan grace period, years.
    pub loan_grace_years: f64,
    /// Share of capex given as a grant.
    pub grant_share: f64,
    /// Share of equity taken (with offtake rights).
    pub equity_share: f64,
    /// Price floor as a multiple of the reference price (0 = none).
    pub price_floor_ratio: f64,
    /// Years of operation the floor covers.
    pub price_floor_years: f64,
    /// Share of the country-risk premium insured away.
    pub insurance_cover: f64,
    /// What it maximises per dollar.
    pub objective: crate::scenario::FinanceObjective,
}

/// All state financiers, in financier-id order.
#[derive(Clone, Debug, Default, Resource)]
pub struct FinanceBudgets {
    /// Financiers.
    pub financiers: Vec<FinancierState>,
}

/// The state-finance mechanism.
pub struct Finance;

impl Mechanism for Finance {
    fn install(&self, r: &Resolved, world: &mut World, _: &mut Schedule) {
        let financiers: Vec<FinancierState> = r
            .financiers
            .iter()
            .map(|f| {
                let goals = &r.nations[usize::from(f.nation)];
                FinancierState {
                    nation: NationIdx(f.nation),
                    scenario_budget_usd: f.annual_budget_usd,
                    annual_budget_usd: f.annual_budget_usd,
                    remaining_usd: 0.0,
                    max_share: f.max_share,
                    concessional_rate: f.concessional_rate,
                    carry_over: f.carry_over,
                    strategic: goals.strategic.clone(),
                    rival: goals.rival.map(NationIdx),
                    loan_tenor_years: f.loan_tenor_years,
                    loan_grace_years: f.loan_grace_years,
                    grant_share: f.grant_share,
                    equity_share: f.equity_share,
                    price_floor_ratio: f.price_floor_ratio,
                    price_floor_years: f.price_floor_years,
                    insurance_cover: f.insurance_cover,
                    objective: f.objective,
                }
            })
            .collect();
        world.insert_resource(FinanceBudgets { financiers });
    }

    fn metrics(&self) -> &'static [MetricInfo] {
        &[]
    }

    fn check_finite(&self, world: &World) -> Option<NonFinite> {
        let b = world.get_resource::<FinanceBudgets>()?;
        let ids = world
            .get_resource::<super::resources::Registry>()
            .map(|r| r.financiers.clone())
            .unwrap_or_default();
        for (i, f) in b.financiers.iter().enumerate() {
            for (quantity, value) in [
                ("annual_budget_usd", f.annual_budget_usd),
                ("remaining_budget_usd", f.remaining_usd),
            ] {
                if !value.is_finite() {
                    return Some(NonFinite {
                        quantity,
                        entity: format!("financier `{}`", ids.get(i).map_or("?", String::as_str)),
                        value,
                    });
                }
            }
        }
        None
    }
}
