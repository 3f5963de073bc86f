//! Policy timeline: dated policies and shocks take effect and lapse (phase 1 of a step).
//!
//! When the set of policies in force changes, the trade rules are rebuilt from scratch from the
//! policies in force, in scenario order; this keeps overlapping policies simple to reason about
//! (the latest-listed tariff on a route wins; export controls accumulate) and costs nothing on the
//! many steps where nothing changes.

use bevy_ecs::prelude::*;

use crate::model::components::{AssetIdx, FirmIdx, Outages, Ownership, Site};
use crate::model::resources::{
    Clock, EventLog, EventRow, ExportControl, PolicyTimeline, Registry, TradeRules, commodity,
};
use crate::scenario::{ControlMode, PolicyAction};

/// Switch policies on and off at the current step and rebuild the rules they imply.
pub fn apply_policy_timeline(
    clock: Res<Clock>,
    registry: Res<Registry>,
    mut timeline: ResMut<PolicyTimeline>,
    mut rules: ResMut<TradeRules>,
    mut events: ResMut<EventLog>,
    mut assets: Query<(&AssetIdx, &Site, &mut Outages, &mut Ownership)>,
) {
    let step = clock.step;
    let mut changed = false;
    let mut started = Vec::new();
    for i in 0..timeline.policies.len() {
        let p = &timeline.policies[i];
        let now = p.start_step <= step && step < p.end_step;
        if now != timeline.active[i] {
            changed = true;
            events.rows.push(EventRow {
                step,
                kind: if now { "policy_start" } else { "policy_end" },
                asset: None,
                firm: None,
                nation: None,
                partner: None,
                detail: p.id.clone(),
            });
            if now {
                started.push(i);
            }
            timeline.active[i] = now;
        }
    }
    if !changed {
        return;
    }
    *rules = rebuild_rules(&timeline, &registry, clock.steps_per_year);

    // Dated outages: the largest loss among outage policies in force applies to each asset.
    let mut scheduled = vec![0.0_f64; registry.assets.len()];
    for (p, _) in timeline
        .policies
        .iter()
        .zip(&timeline.active)
        .filter(|(_, a)| **a)
    {
        if let PolicyAction::Outage {
            asset,
            capacity_lost,
        } = &p.action
            && let Some(idx) = registry.asset(asset)
        {
            let slot = &mut scheduled[idx.0 as usize];
            *slot = slot.max(*capacity_lost);
        }
    }
    // Nationalisations take effect once, when they start.
    let nationalisations: Vec<(crate::model::components::NationIdx, usize, FirmIdx, f64)> = started
        .iter()
        .filter_map(|&i| match &timeline.policies[i].action {
            PolicyAction::Nationalisation {
                nation,
                mineral,
                state_firm,
                share,
            } => Some((
                registry.nation(nation)?,
                usize::from(registry.mineral(mineral)?.0),
                registry.firm(state_firm)?,
                *share,
            )),
            _ => None,
        })
        .collect();
    for (idx, site, mut outages, mut ownership) in &mut assets {
        let loss = scheduled[idx.0 as usize];
        if outages.scheduled_loss != loss {
            outages.scheduled_loss = loss;
        }
        for &(nation, mineral, state_firm, share) in &nationalisations {
            if site.host == nation && usize::from(site.mineral.0) == mineral {
                nationalise(&mut ownership, state_firm, share);
            }
        }
    }
}

/// Move `share` of an asset's equity to `state_firm`, taken from the other owners pro rata. If the
/// state already holds at least `share`, nothing changes.
pub fn nationalise(ownership: &mut Ownership, state_firm: FirmIdx, share: f64) {
    let held: f64 = ownership
        .0
        .iter()
        .filter(|(f, _)| *f == state_firm)
        .map(|(_, s)| s)
        .sum();
    if held >= share {
        return;
    }
    let others = 1.0 - held;
    let take = share - held;
    let keep = if others > 0.0 {
        (others - take) / others
    } else {
        0.0
    };
    let mut owners: Vec<(FirmIdx, f64)> = ownership
        .0
        .iter()
        .filter(|(f, _)| *f != state_firm)
        .map(|&(f, s)| (f, s * keep))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    owners.push((state_firm, share));
    owners.sort_by_key(|(f, _)| *f);
    ownership.0 = owners;
}

/// The trade rules implied by the policies in force.
pub fn rebuild_rules(
    timeline: &PolicyTimeline,
    registry: &Registry,
    steps_per_year: u32,
) -> TradeRules {
    let n = registry.n_nations();
    let commodities = registry.n_minerals() * 2;
    let mut rules = TradeRules {
        export_controls: Vec::new(),
        tariff: vec![vec![0.0; n * n]; commodities],
        export_tax: vec![vec![0.0; n]; commodities],
        ore_export_ban: vec![vec![false; n]; registry.n_minerals()],
        local_processing_mandate: vec![vec![false; n]; registry.n_minerals()],
        fta_agreements: Vec::new(),
    };
    let all_minerals: Vec<usize> = (0..registry.n_minerals()).collect();
    let minerals_of = |list: &[String]| -> Vec<usize> {
        if list.is_empty() {
            all_minerals.clone()
        } else {
            list.iter()
                .filter_map(|m| registry.mineral(m).map(|i| usize::from(i.0)))
                .collect()
        }
    };
    for (p, _) in timeline
        .policies
        .iter()
        .zip(&timeline.active)
        .filter(|(_, a)| **a)
    {
        match &p.action {
            PolicyAction::ExportControl {
                exporter,
                mineral,
                stage,
                destinations,
                mode,
                quota_t_per_yr,
                delay_steps,
            } => {
                let (Some(exporter), Some(mineral)) =
                    (registry.nation(exporter), registry.mineral(mineral))
                else {
                    continue;
                };
                let mut destinations: Vec<_> = destinations
                    .iter()
                    .filter_map(|d| registry.nation(d))
                    .collect();
                destinations.sort();
                destinations.dedup();
                rules.export_controls.push(ExportControl {
                    policy: p.id.clone(),
                    exporter,
                    commodity: commodity(mineral, *stage),
                    destinations,
                    mode: *mode,
                    quota_t_per_step: if *mode == ControlMode::Quota {
                        quota_t_per_yr / f64::from(steps_per_year)
                    } else {
                        0.0
                    },
                    delay_steps: *delay_steps,
                });
            }
            PolicyAction::Tariff {
                importer,
                mineral,
                stage,
                exporters,
                rate,
            } => {
                let (Some(importer), Some(mineral)) =
                    (registry.nation(importer), registry.mineral(mineral))
                else {
                    continue;
                };
                let row = &mut rules.tariff[commodity(mineral, *stage)];
                let base = usize::from(importer.0) * n;
                if exporters.is_empty() {
                    for e in 0..n {
                        if e != usize::from(importer.0) {
                            row[base + e] = *rate;
                        }
                    }
                } else {
                    for e in exporters.iter().filter_map(|e| registry.nation(e)) {
                        row[base + usize::from(e.0)] = *rate;
                    }
                }
            }
            PolicyAction::ExportTax {
                exporter,
                mineral,
                stage,
                rate,
            } => {
                if let (Some(exporter), Some(mineral)) =
                    (registry.nation(exporter), registry.mineral(mineral))
                {
                    rules.export_tax[commodity(mineral, *stage)][usize::from(exporter.0)] = *rate;
                }
            }
            PolicyAction::LocalProcessingMandate {
                nation,
                minerals,
                ore_export_ban,
            } => {
                if let Some(nation) = registry.nation(nation) {
                    for m in minerals_of(minerals) {
                        rules.local_processing_mandate[m][usize::from(nation.0)] = true;
                        if *ore_export_ban {
                            rules.ore_export_ban[m][usize::from(nation.0)] = true;
                        }
                    }
                }
            }
            PolicyAction::FtaAgreement { nation, partner } => {
                if let (Some(a), Some(b)) = (registry.nation(nation), registry.nation(partner)) {
                    rules.fta_agreements.push((a, b));
                }
            }
            PolicyAction::Outage { .. }
            | PolicyAction::SourcingRule { .. }
            | PolicyAction::Nationalisation { .. }
            | PolicyAction::FinanceProgramme { .. } => {}
        }
    }
    rules
}
