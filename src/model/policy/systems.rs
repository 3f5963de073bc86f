//! Policy timeline: dated policies and shocks take effect and lapse (phase 1 of a step).
//!
//! When the set of policies in force changes, the trade rules are rebuilt from scratch from the
//! policies in force, in scenario order; this keeps overlapping policies simple to reason about
//! (the latest-listed tariff on a route wins; export controls accumulate) and costs nothing on the
//! many steps where nothing changes.

use bevy_ecs::prelude::*;

use crate::model::components::{
    AssetIdx, FirmIdx, MineralIdx, NationIdx, Outages, Ownership, Site,
};
use crate::model::events::{Event, Subject};
use crate::model::resources::{
    Clock, EventLog, EventRow, ExportControl, PolicyTimeline, Registry, TradeRules, commodity,
};
use crate::scenario::ControlMode;
use crate::scenario::resolve::{AssetMeasure, TradeMeasure};

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
            let policy = p.idx;
            let event = if now {
                Event::PolicyStart { policy }
            } else {
                Event::PolicyEnd { policy }
            };
            events
                .rows
                .push(EventRow::typed(step, Subject::default(), &event, &registry));
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
        if let Some(AssetMeasure::Outage {
            asset,
            capacity_lost,
        }) = &p.assets
        {
            let slot = &mut scheduled[*asset as usize];
            *slot = slot.max(*capacity_lost);
        }
    }
    // Nationalisations take effect once, when they start.
    let nationalisations: Vec<(NationIdx, usize, FirmIdx, f64)> = started
        .iter()
        .filter_map(|&i| match &timeline.policies[i].assets {
            Some(AssetMeasure::Nationalisation {
                nation,
                mineral,
                state_firm,
                share,
            }) => Some((
                NationIdx(*nation),
                usize::from(*mineral),
                FirmIdx(*state_firm),
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

/// The trade rules implied by the policies in force, from their resolved trade measures (no id
/// is looked up here: [`crate::scenario::resolve`] did that once).
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
    };
    for (p, _) in timeline
        .policies
        .iter()
        .zip(&timeline.active)
        .filter(|(_, a)| **a)
    {
        let Some(measure) = &p.trade else {
            continue;
        };
        match measure {
            TradeMeasure::ExportControl {
                exporter,
                mineral,
                stage,
                destinations,
                mode,
                quota_t_per_yr,
            } => {
                rules.export_controls.push(ExportControl {
                    licence_open_year: p.licence_open_year,
                    exporter: NationIdx(*exporter),
                    commodity: commodity(MineralIdx(*mineral), *stage),
                    destinations: destinations.iter().map(|&d| NationIdx(d)).collect(),
                    mode: *mode,
                    quota_t_per_step: if *mode == ControlMode::Quota {
                        quota_t_per_yr / f64::from(steps_per_year)
                    } else {
                        0.0
                    },
                });
            }
            TradeMeasure::Tariff {
                importer,
                mineral,
                stage,
                exporters,
                rate,
            } => {
                let row = &mut rules.tariff[commodity(MineralIdx(*mineral), *stage)];
                let base = usize::from(*importer) * n;
                if exporters.is_empty() {
                    for e in 0..n {
                        if e != usize::from(*importer) {
                            row[base + e] = *rate;
                        }
                    }
                } else {
                    for &e in exporters {
                        row[base + usize::from(e)] = *rate;
                    }
                }
            }
            TradeMeasure::ExportTax {
                exporter,
                mineral,
                stage,
                rate,
            } => {
                rules.export_tax[commodity(MineralIdx(*mineral), *stage)][usize::from(*exporter)] =
                    *rate;
            }
            TradeMeasure::LocalProcessingMandate {
                nation,
                minerals,
                ore_export_ban,
            } => {
                for &m in minerals {
                    let m = usize::from(m);
                    rules.local_processing_mandate[m][usize::from(*nation)] = true;
                    if *ore_export_ban {
                        rules.ore_export_ban[m][usize::from(*nation)] = true;
                    }
                }
            }
        }
    }
    rules
}
