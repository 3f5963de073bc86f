//! Operations: random outages strike operating assets, then assets produce (phase 5 of a step).
//!
//! Production here is the *potential* output: capacity × utilisation × availability × ramp-up factor
//! for the step. The trade phase decides how much of it is actually produced and sold (a refinery
//! needs ore; a mine whose ore finds no buyer stockpiles or idles) and writes that back into
//! [`Output::t`].

use bevy_ecs::prelude::*;
use rand::RngExt;

use crate::model::components::{
    AssetIdx, Capacity, Lifecycle, OutageRisk, Outages, Output, Status,
};
use crate::model::resources::{Clock, EventLog, EventRow, Registry};
use crate::sim::rng::{Purpose, RngStreams};

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
        events.rows.push(EventRow {
            step: clock.step,
            kind: "outage",
            asset: Some(idx),
            firm: None,
            nation: None,
            partner: None,
            detail: format!("capacity_lost={lost}; duration_steps={duration}"),
        });
    }
}

/// Potential output of every asset this step.
pub fn produce(
    clock: Res<Clock>,
    mut assets: Query<(&Capacity, &Lifecycle, &Outages, &mut Output)>,
) {
    let dt = clock.dt_years();
    for (capacity, life, outages, mut output) in &mut assets {
        let factor = match life.status {
            Status::Operating => 1.0,
            Status::RampUp => ramp_up_factor(life, clock.step),
            _ => 0.0,
        };
        let potential =
            capacity.t_per_yr * capacity.utilisation * dt * outages.available() * factor;
        output.potential_t = potential;
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
