//! Components: the state carried by nation, firm and asset entities.
//!
//! Entities are identified by dense indices assigned in sorted-id order when the world is built
//! ([`NationIdx`], [`FirmIdx`], [`AssetIdx`], [`MineralIdx`]); the ids themselves live in
//! [`super::resources::Registry`]. Outputs and random streams use these, never `Entity` bits, so
//! results do not depend on spawn order.

use bevy_ecs::prelude::*;

pub use crate::scenario::{Stage, Status};

/// Dense index of a nation (position in the id-sorted nation list).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Component)]
pub struct NationIdx(pub u16);

/// Dense index of a mineral (position in the id-sorted mineral list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MineralIdx(pub u16);

/// Dense index of a firm (position in the id-sorted firm list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Component)]
pub struct FirmIdx(pub u32);

/// Dense index of an asset: position in the id-sorted list of assets and prospects together, so a
/// prospect keeps its index when it becomes an asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Component)]
pub struct AssetIdx(pub u32);

/// A nation's institutions, each 0..=1 (see `schema::Governance`). May change during a run.
#[derive(Clone, Debug, Component)]
pub struct Governance(pub crate::scenario::Governance);

/// A host nation's development priorities and fiscal terms. May change during a run (host politics).
#[derive(Clone, Debug, Component)]
pub struct Priorities(pub crate::scenario::Priorities);

/// A firm's profile.
#[derive(Clone, Debug, Component)]
pub struct FirmProfile {
    /// Home nation.
    pub home: NationIdx,
    /// What it does.
    pub kind: crate::scenario::FirmKind,
    /// State-backed or private.
    pub state_backed: bool,
    /// Hurdle rate per year.
    pub hurdle_rate: f64,
    /// ESG standard 0..=1.
    pub esg: f64,
}

/// Where an asset is and what it handles.
#[derive(Clone, Copy, Debug, Component)]
pub struct Site {
    /// Host nation.
    pub host: NationIdx,
    /// Mineral.
    pub mineral: MineralIdx,
    /// Stage: mine (`Ore`) or refinery (`Refined`).
    pub stage: Stage,
}

/// Capacity of an asset.
#[derive(Clone, Copy, Debug, Component)]
pub struct Capacity {
    /// Nameplate capacity, t/yr.
    pub t_per_yr: f64,
    /// Normal utilisation, 0..=1.
    pub utilisation: f64,
}

/// Life-cycle status and how long the asset has been in it.
#[derive(Clone, Copy, Debug, Component)]
pub struct Lifecycle {
    /// Current status.
    pub status: Status,
    /// Step at which the current status began.
    pub since_step: u32,
    /// Step at which the current stage is due to end (permitting, construction, ramp-up), if any.
    pub due_step: Option<u32>,
}

/// Owners of an asset: firm and equity share, sorted by firm index; shares sum to 1.
#[derive(Clone, Debug, Component)]
pub struct Ownership(pub Vec<(FirmIdx, f64)>);

/// Cash operating cost of an asset, USD per tonne of output.
#[derive(Clone, Copy, Debug, Component)]
pub struct UnitCost {
    /// USD/t.
    pub opex_usd_per_t: f64,
}

/// ESG level of an asset, 0..=1.
#[derive(Clone, Copy, Debug, Component)]
pub struct Esg(pub f64);

/// Random outage risk of an asset (from the scenario).
#[derive(Clone, Copy, Debug, Component)]
pub struct OutageRisk {
    /// Probability per step that an outage starts.
    pub probability_per_step: f64,
    /// Share of capacity lost.
    pub capacity_lost: f64,
    /// Duration in steps.
    pub duration_steps: u32,
}

/// Capacity currently lost to outages, each cause tracked separately; the largest applies.
#[derive(Clone, Copy, Debug, Default, Component)]
pub struct Outages {
    /// Loss from dated `outage` policies in force, 0..=1.
    pub scheduled_loss: f64,
    /// Loss from a random outage or incident in progress, 0..=1.
    pub random_loss: f64,
    /// Steps left of the random outage.
    pub random_steps_left: u32,
    /// Loss from a labour or environmental incident in progress, 0..=1.
    pub incident_loss: f64,
    /// Steps left of the incident.
    pub incident_steps_left: u32,
}

impl Outages {
    /// Share of capacity available this step.
    pub fn available(&self) -> f64 {
        1.0 - self
            .scheduled_loss
            .max(self.random_loss)
            .max(self.incident_loss)
    }
}

/// What an asset produced this step, tonnes (of ore for a mine, refined for a refinery).
#[derive(Clone, Copy, Debug, Default, Component)]
pub struct Output {
    /// Tonnes produced this step.
    pub t: f64,
    /// Tonnes the asset could have produced this step (capacity × utilisation × availability).
    pub potential_t: f64,
    /// Further tonnes it can produce this step above `potential_t`, at a rising marginal cost, up
    /// to its technical maximum utilisation (`market.utilisation.technical_max`,
    /// `docs/ODD.md` §7.6.6).
    pub stretch_t: f64,
}

/// The terms of a candidate project (a scenario prospect). Stays on the asset after approval as its
/// project record.
#[derive(Clone, Debug, Component)]
pub struct Project {
    /// Capital cost before the host's learning curve, USD.
    pub capex_usd: f64,
    /// Cash operating cost before the host's learning curve, USD/t.
    pub base_opex_usd_per_t: f64,
    /// Firms allowed to develop it, sorted; empty = any firm of a fitting kind.
    pub developers: Vec<FirmIdx>,
    /// First step at which it may be proposed.
    pub available_step: u32,
    /// Whether a mine here commits to refining in the host by itself.
    pub local_processing_commitment: bool,
    /// First step at which it may be proposed again after a rejection.
    pub retry_step: u32,
    /// Firm that proposed it (after approval: the developer).
    pub sponsor: Option<FirmIdx>,
    /// The terms it was approved on, for the real-option review while it is being built
    /// (`systems::capacity`); `None` before approval and for projects given in the scenario.
    pub appraisal: Option<Appraisal>,
    /// For a resource-base tranche, the tranche before it: this one may be proposed only once that
    /// one has left the prospect state.
    pub after: Option<AssetIdx>,
}

/// What an approved project was appraised on: read each step while it is in permitting or
/// construction to value finishing it (docs/ODD.md §7.3.4).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Appraisal {
    /// Discount rate of the developer (after insurance), per year.
    pub discount_rate: f64,
    /// Capex after learning, USD.
    pub capex_usd: f64,
    /// Cash cost including ESG compliance, USD/t.
    pub cost_usd_per_t: f64,
    /// Price floor on the output, USD/t (0 = none).
    pub floor_usd_per_t: f64,
    /// Years of operation the floor covers.
    pub floor_years: f64,
    /// Multiplier on the mean durations of its stages (builder type).
    pub duration_factor: f64,
    /// Steps it has been deferred without interruption.
    pub deferred_steps: u32,
}

/// Short-run operating state of an asset (`docs/ODD.md` §7.6.6): running, idle (care and
/// maintenance) or restarting after an idle spell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Component)]
pub struct PlantState {
    /// Consecutive steps, while running, at which its price was below its cash cost.
    pub loss_steps: u32,
    /// Whether it is idle (produces nothing until restarted).
    pub idle: bool,
    /// While restarting: the step of its first output again.
    pub restart_step: Option<u32>,
}

impl PlantState {
    /// Whether it may produce at `step` (not idle, not waiting out a restart delay).
    pub fn runs(&self, step: u32) -> bool {
        !self.idle && self.restart_step.is_none_or(|s| step >= s)
    }
}
