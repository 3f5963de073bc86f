//! Mechanisms as plug-ins: one folder per mechanism, one line to install it.
//!
//! Why: a mechanism added by editing the world builder, the guard, the metric list and the
//! schedule costs ten central files and makes each of them longer; here a mechanism folder
//! (`src/model/<name>/`, e.g. [`super::stockpile`]) owns its parameters (read from the
//! [`Resolved`] scenario), its state (resources or components), its systems, its metric entries
//! and its non-finite checks, and implements [`Mechanism`]. The schedule lists installed
//! mechanisms in [`super::schedule::MECHANISMS`]; world building
//! ([`super::schedule::install_mechanisms`]), the metric catalogue
//! ([`super::metrics::catalogue`]) and the non-finite guard (`crate::sim::guard`) are assembled
//! from that list. A mechanism's systems join the step through the hook sets of
//! [`super::schedule::Hook`], so `schedule.rs` stays the one place that orders a step.
//! `docs/ODD.md` ("How to add a mechanism") walks through the stockpile as the worked example.

use bevy_ecs::prelude::*;

use super::metrics::MetricInfo;
use crate::scenario::Resolved;

/// A state variable of a mechanism that stopped being finite (the guard adds the step).
#[derive(Clone, Debug, PartialEq)]
pub struct NonFinite {
    /// State variable (`stockpile_t`, ...).
    pub quantity: &'static str,
    /// Whose it is, by id (`nation `USA`, mineral `cobalt``).
    pub entity: String,
    /// The value.
    pub value: f64,
}

/// A mechanism that installs itself into a world and a schedule.
pub trait Mechanism: Sync {
    /// Insert the mechanism's state into `world` from the resolved scenario and add its systems
    /// to `schedule` in the [`super::schedule::Hook`] sets. Called once, after the core world is
    /// built; must be cheap and do nothing observable when the scenario does not use it.
    fn install(&self, resolved: &Resolved, world: &mut World, schedule: &mut Schedule);
    /// The metrics its systems write, in the order of `docs/output-format.md`'s table (after the
    /// core metrics).
    fn metrics(&self) -> &'static [MetricInfo];
    /// The first non-finite value of its state, in a fixed order.
    fn check_finite(&self, world: &World) -> Option<NonFinite>;
}
