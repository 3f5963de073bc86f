//! Host politics: host nations adapt their terms to how their development goals are going (phase 2
//! of a step).
//!
//! Once a year (the first step of each year, from the second year on) each host compares its domestic
//! processing with its target. When it lags by more than `politics.lag_threshold` while ore prices
//! are high (expected ore price ≥ `politics.high_price_ratio` × reference), the host tightens: it
//! first imposes a local-processing mandate, then raises its ore export tax by
//! `politics.export_tax_step` up to `politics.max_ore_export_tax`. When no project has been approved
//! in the host for `politics.drought_years` since its last change of terms, it loosens in the reverse
//! order. One change per host and year; each is an event. This follows the pattern of Indonesia's
//! nickel ore export ban and the Chilean and Bolivian lithium strategies (docs/design.md §1).
//!
//! Domestic processing here is the capacity ratio min(1, refining capacity / mine capacity) of a
//! mineral in the host — the share of its ore its own refineries could take — so the rule does not
//! depend on how the ore market cleared.

use bevy_ecs::prelude::*;

use crate::model::events::{Event, Subject, TermsChange};
use crate::model::order::counting_sort;

use crate::model::components::{
    AssetIdx, Capacity, Lifecycle, MineralIdx, NationIdx, Priorities, Site, Stage, Status,
};
use crate::model::resources::{
    Clock, EventLog, EventRow, HostRecord, InvestmentConfig, PriceExpectations, Prices, Registry,
    commodity,
};
use crate::model::tables::PerMineralNation;

/// Domestic processing by (mineral, host): min(1, refining capacity / mine capacity), `None`
/// where the host has no mine capacity of the mineral.
pub fn domestic_processing<'a>(
    n_minerals: usize,
    n: usize,
    assets: impl Iterator<Item = (&'a Site, &'a Capacity, &'a Lifecycle)>,
) -> PerMineralNation<Option<f64>> {
    let mut ore = PerMineralNation::new(n_minerals, n, 0.0);
    let mut refined = PerMineralNation::new(n_minerals, n, 0.0);
    for (site, cap, life) in assets {
        if !matches!(
            life.status,
            Status::Operating | Status::RampUp | Status::Suspended
        ) {
            continue;
        }
        let i = (site.mineral, site.host);
        match site.stage {
            Stage::Ore => ore[i] += cap.t_per_yr,
            Stage::Refined => refined[i] += cap.t_per_yr,
        }
    }
    let mut out = PerMineralNation::new(n_minerals, n, None);
    for m in 0..n_minerals {
        let m = MineralIdx(u16::try_from(m).unwrap_or(u16::MAX));
        for (h, (o, r)) in ore.row(m).iter().zip(refined.row(m)).enumerate() {
            out[(m, NationIdx(u16::try_from(h).unwrap_or(u16::MAX)))] =
                (*o > 0.0).then(|| (r / o).min(1.0));
        }
    }
    out
}

/// Tighten or loosen host terms by the scenario's rules.
#[expect(
    clippy::too_many_arguments,
    reason = "a bevy system takes its resources as parameters"
)]
pub fn adapt_host_policies(
    clock: Res<Clock>,
    registry: Res<Registry>,
    config: Res<InvestmentConfig>,
    expectations: Res<PriceExpectations>,
    prices: Res<Prices>,
    mut record: ResMut<HostRecord>,
    mut events: ResMut<EventLog>,
    mut nations: Query<(&NationIdx, &mut Priorities)>,
    assets: Query<(&AssetIdx, &Site, &Capacity, &Lifecycle)>,
) {
    // Runs on the first step of each year from the second year on, with politics and investment
    // enabled (run conditions in `schedule.rs`).
    let p = &config.politics;
    let step = clock.step;
    let n = registry.n_nations();
    let nm = registry.n_minerals();
    // Float sums in asset index order.
    let rows: Vec<_> = assets.iter().collect();
    let rows = counting_sort(rows, |(idx, ..)| idx.0 as usize);
    let dp = domestic_processing(nm, n, rows.into_iter().map(|(_, s, c, l)| (s, c, l)));
    let mut hosts: Vec<_> = nations.iter_mut().collect();
    hosts.sort_unstable_by_key(|(idx, _)| **idx);
    let drought_steps =
        crate::model::capacity::systems::years_to_steps(p.drought_years, clock.steps_per_year);
    for (idx, mut prio) in hosts {
        let h = usize::from(idx.0);
        let target = prio.0.target_domestic_processing;
        // The mineral lagging most while its ore price is high.
        let mut worst: Option<(f64, usize, f64)> = None;
        for m in 0..nm {
            let Some(share) = dp[(MineralIdx(m as u16), *idx)] else {
                continue;
            };
            let c = commodity(crate::model::components::MineralIdx(m as u16), Stage::Ore);
            let high =
                expectations.usd_per_t[c] >= p.high_price_ratio * prices.reference_usd_per_t[c];
            let lag = target - share;
            if high && lag > p.lag_threshold && worst.is_none_or(|(l, _, _)| lag > l) {
                worst = Some((lag, m, share));
            }
        }
        let who = Subject {
            nation: Some(*idx),
            ..Subject::default()
        };
        let event = |e: Event| EventRow::typed(step, who, &e, &registry);
        if let Some((_, m, share)) = worst {
            let change = if !prio.0.local_processing_mandate {
                prio.0.local_processing_mandate = true;
                Some(TermsChange::MandateOn)
            } else if prio.0.ore_export_tax < p.max_ore_export_tax {
                prio.0.ore_export_tax =
                    (prio.0.ore_export_tax + p.export_tax_step).min(p.max_ore_export_tax);
                Some(TermsChange::OreExportTax(prio.0.ore_export_tax))
            } else {
                None
            };
            if let Some(change) = change {
                events.rows.push(event(Event::HostTighten {
                    change,
                    mineral: MineralIdx(m as u16),
                    domestic_processing: share,
                    target,
                }));
                record.last_change_step[h] = step;
            }
            continue;
        }
        let quiet_since = record.last_approval_step[h].max(record.last_change_step[h]);
        if step - quiet_since < drought_steps {
            continue;
        }
        let change = if prio.0.ore_export_tax > 0.0 {
            prio.0.ore_export_tax = (prio.0.ore_export_tax - p.export_tax_step).max(0.0);
            Some(TermsChange::OreExportTax(prio.0.ore_export_tax))
        } else if prio.0.local_processing_mandate {
            prio.0.local_processing_mandate = false;
            Some(TermsChange::MandateOff)
        } else {
            None
        };
        if let Some(change) = change {
            let years = f64::from(step - quiet_since) / f64::from(clock.steps_per_year);
            events.rows.push(event(Event::HostLoosen {
                change,
                years_without_approval: years,
            }));
            record.last_change_step[h] = step;
        }
    }
}
