//! State finance: the annual budgets of state financiers (China's policy banks, JBIC/JOGMEC, DFC, ...)
//! and the strategic score by which they pick projects to co-finance.
//!
//! Budgets are the levers of research question Q1 ("how much concessional finance must the US and
//! Japan commit?"). A budget is renewed on the first step of each year: unspent money carries over if
//! the financier's `carry_over` is set and is lost otherwise. A `finance_programme` policy in force
//! replaces the scenario's annual budget from the next renewal on (the last one listed wins).

use bevy_ecs::prelude::*;

use crate::model::components::{MineralIdx, NationIdx};
use crate::model::resources::{
    Clock, EventLog, EventRow, FinanceBudgets, FinancierState, InvestmentConfig, PolicyTimeline,
    Registry,
};
use crate::scenario::PolicyAction;

/// Renew every financier's budget on the first step of a year.
pub fn refresh_finance_budgets(
    clock: Res<Clock>,
    config: Res<InvestmentConfig>,
    timeline: Res<PolicyTimeline>,
    mut budgets: ResMut<FinanceBudgets>,
    mut events: ResMut<EventLog>,
) {
    if !config.investment.enabled || !clock.step.is_multiple_of(clock.steps_per_year) {
        return;
    }
    for fin in &mut budgets.financiers {
        let annual = programme_budget(&timeline, &fin.id).unwrap_or(fin.scenario_budget_usd);
        if annual != fin.annual_budget_usd {
            events.rows.push(EventRow {
                step: clock.step,
                kind: "finance_budget",
                asset: None,
                firm: None,
                nation: Some(fin.nation),
                partner: None,
                detail: format!(
                    "financier={}; annual_budget_usd={annual}; was={}",
                    fin.id, fin.annual_budget_usd
                ),
            });
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

/// The annual budget a `finance_programme` in force sets for a financier (the last listed wins).
fn programme_budget(timeline: &PolicyTimeline, financier: &str) -> Option<f64> {
    timeline
        .policies
        .iter()
        .zip(&timeline.active)
        .filter(|(_, active)| **active)
        .filter_map(|(p, _)| match &p.action {
            PolicyAction::FinanceProgramme {
                financier: id,
                annual_budget_usd,
            } if id == financier => Some(*annual_budget_usd),
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

/// What a financier needs to know about a project to make an offer.
#[derive(Clone, Copy, Debug)]
pub struct FinanceRequest {
    /// Mineral.
    pub mineral: MineralIdx,
    /// Host nation.
    pub host: NationIdx,
    /// Home nation of the proposing firm.
    pub investor_home: NationIdx,
    /// Capex to finance (after learning), USD.
    pub capex_usd: f64,
}

/// The best finance offer for a project: the eligible financier offering the largest rate advantage
/// (concessional rate × share financed; ties to the lower financier index), with the share it would
/// finance. A financier backs firms of its own nation and of nations it has at least
/// `ally_affinity` towards, for projects with a positive strategic score, up to `max_share` × score of
/// capex and its remaining budget.
pub fn best_offer(
    budgets: &FinanceBudgets,
    registry: &Registry,
    ally_affinity: f64,
    request: &FinanceRequest,
    shares: &CommodityShares,
) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64, f64)> = None;
    for (i, fin) in budgets.financiers.iter().enumerate() {
        let Some(share) = offer_from(fin, registry, ally_affinity, request, shares) else {
            continue;
        };
        let advantage = fin.concessional_rate * share;
        if best.is_none_or(|(_, _, a)| advantage > a) {
            best = Some((i, share, advantage));
        }
    }
    best.map(|(i, share, _)| (i, share))
}

/// The share of capex one financier would finance, if it backs the project at all: the firm is of
/// its nation or an ally (affinity ≥ `ally_affinity`), it has budget left, and the project's
/// strategic score is positive; the share is `max_share` × score, capped by the remaining budget.
pub fn offer_from(
    fin: &FinancierState,
    registry: &Registry,
    ally_affinity: f64,
    request: &FinanceRequest,
    shares: &CommodityShares,
) -> Option<f64> {
    let FinanceRequest {
        mineral,
        host,
        investor_home,
        capex_usd,
    } = *request;
    if capex_usd <= 0.0
        || fin.remaining_usd <= 0.0
        || !backs(fin, registry, ally_affinity, investor_home)
    {
        return None;
    }
    // Finance scales with how much the project serves the goal: a refinery in a stage the rival
    // dominates gets more than a mine in a stage it does not.
    let score = strategic_score(fin, mineral, host, investor_home, shares);
    if score <= 0.0 {
        return None;
    }
    let share = (fin.max_share * score).min(fin.remaining_usd / capex_usd);
    (share > 0.0).then_some(share)
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
            id: "DFC".into(),
            nation: NationIdx(2),
            scenario_budget_usd: 1e9,
            annual_budget_usd: 1e9,
            remaining_usd: 1e9,
            max_share: 0.5,
            concessional_rate: 0.03,
            carry_over: false,
            strategic: vec![true],
            rival,
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
    fn offers_are_capped_by_share_and_budget() {
        let registry = Registry {
            nations: vec!["A".into(), "B".into(), "C".into()],
            affinity: vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            ..Registry::default()
        };
        let shares = CommodityShares {
            located: vec![1.0, 0.0, 0.0],
            controlled: vec![1.0, 0.0, 0.0],
            total: 1.0,
        };
        let mut budgets = FinanceBudgets {
            financiers: vec![fin(Some(NationIdx(0)))],
        };
        let offer = |b: &FinanceBudgets, home, capex| {
            best_offer(
                b,
                &registry,
                0.5,
                &FinanceRequest {
                    mineral: MineralIdx(0),
                    host: NationIdx(1),
                    investor_home: NationIdx(home),
                    capex_usd: capex,
                },
                &shares,
            )
        };
        assert_eq!(offer(&budgets, 2, 1e9), Some((0, 0.5)));
        assert_eq!(offer(&budgets, 2, 4e9), Some((0, 0.25)));
        // A firm from a nation the financier is not allied with gets nothing.
        assert_eq!(offer(&budgets, 1, 1e9), None);
        budgets.financiers[0].remaining_usd = 0.0;
        assert_eq!(offer(&budgets, 2, 1e9), None);
    }
}
