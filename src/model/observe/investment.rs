//! Observation of investment (phase 8, after the core metrics): money committed, incidents and
//! projects by life-cycle status.
//!
//! Money and incident rows are sparse — written only for the pairs with something to report in the
//! step — so a scenario without investment writes none. Project-status rows are complete: every
//! (commodity, host) with at least one prospect gets all five status counts every step.

use bevy_ecs::prelude::*;

use crate::model::metrics as metric;
use crate::model::order::by_unique_key;

use crate::model::components::{
    AssetIdx, Capacity, Lifecycle, NationIdx, Ownership, Project, Site, Stage, Status,
};
use crate::model::resources::{Clock, InvestmentLedger, MetricRow, Metrics, Registry, commodity};

/// Project-status metrics and the statuses they count.
pub const PROJECT_METRICS: [(&str, Status); 5] = [
    (metric::PROJECTS_PERMITTING, Status::Permitting),
    (metric::PROJECTS_CONSTRUCTION, Status::Construction),
    (metric::PROJECTS_RAMP_UP, Status::RampUp),
    (metric::PROJECTS_OPERATING, Status::Operating),
    (metric::PROJECTS_CANCELLED, Status::Cancelled),
];

fn split(c: usize) -> (crate::model::components::MineralIdx, Stage) {
    let c = crate::model::tables::Commodity::of_index(c);
    (c.mineral, c.stage)
}

/// Record `investment_usd`, `state_finance_usd`, `projects_financed`, `offtake_secured_t_per_yr`,
/// `finance_budget_usd`, `finance_unspent_usd`, `incidents`, `projects_*` and (first step of each
/// year) `capacity_host_home`, then clear the ledger.
pub fn record_investment_metrics(
    clock: Res<Clock>,
    registry: Res<Registry>,
    mut ledger: ResMut<InvestmentLedger>,
    mut metrics: ResMut<Metrics>,
    projects: Query<(&Site, &Lifecycle), With<Project>>,
    assets: Query<(&AssetIdx, &Site, &Capacity, &Lifecycle, &Ownership)>,
) {
    let step = clock.step;
    let row =
        |metric: &'static str, c: usize, nation: NationIdx, partner: Option<NationIdx>, value| {
            let (mineral, stage) = split(c);
            MetricRow {
                step,
                metric,
                mineral: Some(mineral),
                stage: Some(stage),
                nation: Some(nation),
                partner,
                value,
            }
        };
    let ledger = &mut *ledger;
    for (&(c, host, home), &usd) in &ledger.investment_usd {
        metrics
            .rows
            .push(row(metric::INVESTMENT_USD, c, host, Some(home), usd));
    }
    for (&(c, nation, host), &usd) in &ledger.state_finance_usd {
        metrics
            .rows
            .push(row(metric::STATE_FINANCE_USD, c, nation, Some(host), usd));
    }
    for (&(c, nation, host), &count) in &ledger.projects_financed {
        metrics.rows.push(row(
            "projects_financed",
            c,
            nation,
            Some(host),
            f64::from(count),
        ));
    }
    for (&(c, nation, host), &t) in &ledger.offtake_t_per_yr {
        metrics
            .rows
            .push(row("offtake_secured_t_per_yr", c, nation, Some(host), t));
    }
    for (&nation, &(budget, unspent)) in &ledger.finance_budget_usd {
        for (metric, value) in [
            ("finance_budget_usd", budget),
            ("finance_unspent_usd", unspent),
        ] {
            metrics.rows.push(MetricRow {
                step,
                metric,
                mineral: None,
                stage: None,
                nation: Some(nation),
                partner: None,
                value,
            });
        }
    }
    ledger.projects_financed.clear();
    ledger.offtake_t_per_yr.clear();
    ledger.finance_budget_usd.clear();
    // Operating capacity by host and owners' home, once a year: who controls what where.
    if step.is_multiple_of(clock.steps_per_year.max(1)) {
        let mut by_pair: std::collections::BTreeMap<(usize, NationIdx, NationIdx), f64> =
            std::collections::BTreeMap::new();
        // Float sums in asset index order (query order follows the ECS's archetype layout).
        // Only assets that count are put in index order.
        let rows = by_unique_key(
            assets.iter().filter(|(_, _, _, life, _)| {
                matches!(
                    life.status,
                    Status::Operating | Status::RampUp | Status::Suspended
                )
            }),
            registry.assets.len(),
            |(idx, ..)| idx.0 as usize,
        );
        for (_, site, capacity, _, owners) in rows {
            for (f, share) in &owners.0 {
                let home = registry.firm_home[f.0 as usize];
                *by_pair
                    .entry((commodity(site.mineral, site.stage), site.host, home))
                    .or_insert(0.0) += capacity.t_per_yr * share;
            }
        }
        for (&(c, host, home), &t) in &by_pair {
            metrics
                .rows
                .push(row("capacity_host_home", c, host, Some(home), t));
        }
    }
    for (&(c, host), &count) in &ledger.incidents {
        metrics
            .rows
            .push(row(metric::INCIDENTS, c, host, None, f64::from(count)));
    }
    ledger.investment_usd.clear();
    ledger.state_finance_usd.clear();
    ledger.incidents.clear();

    // Counts by (commodity, host) in a dense table; rows in (commodity, host) order, only for
    // pairs with at least one project.
    let n_nations = registry.n_nations().max(1);
    let mut counts: Vec<Option<[u32; 5]>> = vec![None; registry.n_minerals() * 2 * n_nations];
    for (site, life) in &projects {
        let at = commodity(site.mineral, site.stage) * n_nations + usize::from(site.host.0);
        if at >= counts.len() {
            counts.resize(at + 1, None);
        }
        let slot = counts[at].get_or_insert([0; 5]);
        if let Some(i) = PROJECT_METRICS.iter().position(|(_, s)| *s == life.status) {
            slot[i] += 1;
        }
    }
    for (i, (metric, _)) in PROJECT_METRICS.iter().enumerate() {
        for (at, n) in counts.iter().enumerate() {
            if let Some(n) = n {
                let (c, host) = (at / n_nations, NationIdx((at % n_nations) as u16));
                metrics
                    .rows
                    .push(row(metric, c, host, None, f64::from(n[i])));
            }
        }
    }
}
