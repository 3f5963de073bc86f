//! Operations: random outages and labour or environmental incidents strike operating assets, then
//! assets produce (phase 5 of a step).
//!
//! Production here is the *potential* output: capacity × utilisation × availability × ramp-up factor
//! for the step. The trade phase decides how much of it is actually produced and sold (a refinery
//! needs ore; a mine whose ore finds no buyer stockpiles or idles) and writes that back into
//! [`Output::t`].

use bevy_ecs::prelude::*;

use crate::model::order::by_unique_key;
use rand::RngExt;

use crate::model::components::{
    AssetIdx, Capacity, Esg, Governance, Lifecycle, NationIdx, OutageRisk, Outages, Output,
    Ownership, PlantState, Site, Status,
};
use crate::model::events::{Event, IncidentKind, Subject};
use crate::model::resources::{
    Clock, EventLog, EventRow, InvestmentConfig, InvestmentLedger, MarketConfig, Registry,
    SocialLicence, commodity,
};
use crate::model::rng::{Purpose, RngStreams};

/// Start and end random outages of operating assets.
pub fn strike_outages(
    clock: Res<Clock>,
    registry: Res<Registry>,
    streams: Res<RngStreams>,
    mut events: ResMut<EventLog>,
    mut assets: Query<(&AssetIdx, &Lifecycle, &OutageRisk, &mut Outages)>,
) {
    let mut started = Vec::new();
    for (idx, life, risk, mut outages) in &mut assets {
        if outages.random_steps_left > 0 {
            outages.random_steps_left -= 1;
            if outages.random_steps_left == 0 {
                outages.random_loss = 0.0;
            }
            continue;
        }
        if !matches!(life.status, Status::Operating | Status::RampUp)
            || risk.probability_per_step <= 0.0
        {
            continue;
        }
        let mut rng = streams.stream(
            Purpose::Outage,
            registry.asset_keys[idx.0 as usize],
            clock.step,
        );
        if rng.random::<f64>() < risk.probability_per_step {
            // The outage covers this step and the next `duration - 1` steps.
            outages.random_loss = risk.capacity_lost;
            outages.random_steps_left = risk.duration_steps;
            started.push((*idx, risk.capacity_lost, risk.duration_steps));
        }
    }
    // Query order is not stable: sort before logging.
    started.sort_by_key(|(idx, _, _)| *idx);
    for (idx, lost, duration) in started {
        events.rows.push(EventRow::typed(
            clock.step,
            Subject {
                asset: Some(idx),
                ..Subject::default()
            },
            &Event::Outage {
                capacity_lost: lost,
                duration_steps: duration,
            },
            &registry,
        ));
    }
}

/// Incident probability per step of an asset: rate = `max_incident_rate_per_yr` × (1 − asset ESG)
/// × (1 − enforcement), enforcement the mean of the host's labour and environmental enforcement;
/// p = 1 − exp(−rate × dt).
pub fn incident_probability(max_rate_per_yr: f64, esg: f64, enforcement: f64, dt: f64) -> f64 {
    let rate = max_rate_per_yr * (1.0 - esg).clamp(0.0, 1.0) * (1.0 - enforcement).clamp(0.0, 1.0);
    1.0 - (-rate * dt).exp()
}

/// Labour and environmental incidents (strikes, protests, accidents) on operating and ramping-up
/// assets: each removes `operations.incident_capacity_lost` of capacity for
/// `operations.incident_duration_steps` steps and costs every owner's home social licence in the host
/// (`social_licence_loss` × equity share); licence recovers by `social_licence_recovery_per_yr`.
#[expect(
    clippy::too_many_arguments,
    reason = "a bevy system takes its resources as parameters"
)]
pub fn strike_incidents(
    clock: Res<Clock>,
    registry: Res<Registry>,
    streams: Res<RngStreams>,
    config: Res<InvestmentConfig>,
    mut licence: ResMut<SocialLicence>,
    mut ledger: ResMut<InvestmentLedger>,
    mut events: ResMut<EventLog>,
    nations: Query<(&NationIdx, &Governance)>,
    mut assets: Query<(&AssetIdx, &Site, &Lifecycle, &Esg, &Ownership, &mut Outages)>,
) {
    let o = &config.operations;
    let dt = clock.dt_years();
    if o.social_licence_recovery_per_yr > 0.0 {
        for v in licence.value.iter_mut().filter(|v| **v < 1.0) {
            *v = (*v + o.social_licence_recovery_per_yr * dt).min(1.0);
        }
    }
    if o.max_incident_rate_per_yr <= 0.0 {
        return;
    }
    // (labour, environmental) enforcement by nation.
    let mut enforcement = vec![(0.5, 0.5); registry.n_nations()];
    for (idx, gov) in &nations {
        enforcement[usize::from(idx.0)] =
            (gov.0.labour_enforcement, gov.0.environmental_enforcement);
    }
    // Query order is not stable: events and licence updates follow asset index order.
    let rows = by_unique_key(assets.iter_mut(), registry.assets.len(), |(idx, ..)| {
        idx.0 as usize
    });
    for (idx, site, life, esg, owners, mut outages) in rows {
        if outages.incident_steps_left > 0 {
            outages.incident_steps_left -= 1;
            if outages.incident_steps_left == 0 {
                outages.incident_loss = 0.0;
            }
            continue;
        }
        if !matches!(life.status, Status::Operating | Status::RampUp) {
            continue;
        }
        let h = usize::from(site.host.0);
        let (labour, environmental) = enforcement[h];
        let p = incident_probability(
            o.max_incident_rate_per_yr,
            esg.0,
            (labour + environmental) / 2.0,
            dt,
        );
        let mut rng = streams.stream(
            Purpose::Incident,
            registry.asset_keys[idx.0 as usize],
            clock.step,
        );
        if rng.random::<f64>() >= p {
            continue;
        }
        // Which kind: strikes weigh with weak labour enforcement, protests with weak environmental
        // enforcement, accidents with a low ESG level.
        let weights = [
            (IncidentKind::Strike, 1.0 - labour),
            (IncidentKind::Protest, 1.0 - environmental),
            (IncidentKind::Accident, 1.0 - esg.0),
        ];
        let total: f64 = weights.iter().map(|(_, w)| w.max(0.0)).sum();
        let mut target = rng.random::<f64>() * total;
        let mut kind = IncidentKind::Accident;
        for (k, w) in weights {
            if target < w.max(0.0) {
                kind = k;
                break;
            }
            target -= w.max(0.0);
        }
        outages.incident_loss = o.incident_capacity_lost;
        outages.incident_steps_left = o.incident_duration_steps;
        for (firm, share) in &owners.0 {
            let home = registry.firm_home[firm.0 as usize];
            let slot = &mut licence.value[h * registry.n_nations() + usize::from(home.0)];
            *slot = (*slot - o.social_licence_loss * share).max(0.0);
        }
        *ledger
            .incidents
            .entry((commodity(site.mineral, site.stage), site.host))
            .or_insert(0) += 1;
        events.rows.push(EventRow::typed(
            clock.step,
            Subject {
                asset: Some(*idx),
                firm: owners.0.first().map(|(f, _)| *f),
                nation: Some(site.host),
                partner: None,
            },
            &Event::Incident {
                kind,
                capacity_lost: o.incident_capacity_lost,
                duration_steps: o.incident_duration_steps,
            },
            &registry,
        ));
    }
}

/// Potential output of every asset this step: at its calibrated utilisation (`potential_t`) and
/// the further tonnes it can run up to the technical maximum (`stretch_t`, at a rising marginal
/// cost, `docs/ODD.md` §7.6.6). An idle or restarting plant has none.
pub fn produce(
    clock: Res<Clock>,
    config: Res<MarketConfig>,
    mut assets: Query<(&Capacity, &Lifecycle, &Outages, &PlantState, &mut Output)>,
) {
    let dt = clock.dt_years();
    let technical_max = config.settings.utilisation.technical_max;
    for (capacity, life, outages, state, mut output) in &mut assets {
        let factor = match life.status {
            Status::Operating => 1.0,
            Status::RampUp => ramp_up_factor(life, clock.step),
            _ => 0.0,
        };
        let factor = if state.runs(clock.step) { factor } else { 0.0 };
        let nameplate = capacity.t_per_yr * dt * outages.available() * factor;
        let potential = nameplate * capacity.utilisation;
        output.potential_t = potential;
        output.stretch_t = nameplate * (technical_max - capacity.utilisation).max(0.0);
        output.t = potential;
    }
}

/// Linear ramp from 0 at the start of ramp-up to 1 at its due step (midpoint of the step).
pub fn ramp_up_factor(life: &Lifecycle, step: u32) -> f64 {
    match life.due_step {
        Some(due) if due > life.since_step => {
            let span = f64::from(due - life.since_step);
            ((f64::from(step.saturating_sub(life.since_step)) + 0.5) / span).clamp(0.0, 1.0)
        }
        _ => 1.0,
    }
}
