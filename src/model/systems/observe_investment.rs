//! Observation of investment (phase 8, after the core metrics): money committed, incidents and
//! projects by life-cycle status.
//!
//! Money and incident rows are sparse — written only for the pairs with something to report in the
//! step — so a scenario without investment writes none. Project-status rows are complete: every
//! (commodity, host) with at least one prospect gets all five status counts every step.

use bevy_ecs::prelude::*;

use crate::model::metrics as metric;

use crate::model::components::{Lifecycle, NationIdx, Project, Site, Stage, Status};
use crate::model::resources::{Clock, InvestmentLedger, MetricRow, Metrics, commodity};

/// Project-status metrics and the statuses they count.
pub const PROJECT_METRICS: [(&str, Status); 5] = [
    (metric::PROJECTS_PERMITTING, Status::Permitting),
    (metric::PROJECTS_CONSTRUCTION, Status::Construction),
    (metric::PROJECTS_RAMP_UP, Status::RampUp),
    (metric::PROJECTS_OPERATING, Status::Operating),
    (metric::PROJECTS_CANCELLED, Status::Cancelled),
];

fn split(c: usize) -> (crate::model::components::MineralIdx, Stage) {
    (
        super::investment::mineral_of(c),
        if c.is_multiple_of(2) {
            Stage::Ore
        } else {
            Stage::Refined
        },
    )
}

/// Record `investment_usd`, `state_finance_usd`, `incidents` and `projects_*`, then clear the ledger.
pub fn record_investment_metrics(
    clock: Res<Clock>,
    mut ledger: ResMut<InvestmentLedger>,
    mut metrics: ResMut<Metrics>,
    projects: Query<(&Site, &Lifecycle), With<Project>>,
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
    for (&(c, host), &count) in &ledger.incidents {
        metrics
            .rows
            .push(row(metric::INCIDENTS, c, host, None, f64::from(count)));
    }
    ledger.investment_usd.clear();
    ledger.state_finance_usd.clear();
    ledger.incidents.clear();

    // Counts by (commodity, host); BTreeMap keys give the row order.
    let mut counts: std::collections::BTreeMap<(usize, NationIdx), [u32; 5]> =
        std::collections::BTreeMap::new();
    for (site, life) in &projects {
        let slot = counts
            .entry((commodity(site.mineral, site.stage), site.host))
            .or_insert([0; 5]);
        if let Some(i) = PROJECT_METRICS.iter().position(|(_, s)| *s == life.status) {
            slot[i] += 1;
        }
    }
    for (i, (metric, _)) in PROJECT_METRICS.iter().enumerate() {
        for (&(c, host), n) in &counts {
            metrics
                .rows
                .push(row(metric, c, host, None, f64::from(n[i])));
        }
    }
}
