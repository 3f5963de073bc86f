//! Dated policies and shocks (phase 1 of a step; a mechanism in its own folder, `docs/ODD.md`
//! §3.1).
//!
//! Why a folder: the policy timeline is the state every other mechanism's rules are rebuilt
//! from (trade rules here, sourcing rules, host terms); keeping its state, its system
//! ([`systems`]) and its installation together means a new kind of dated measure is added here
//! and in the scenario schema, not in the world builder. [`Policy`] installs the timeline (all
//! policies off at the start) and the trade rules of that empty set.

pub mod systems;

use bevy_ecs::prelude::*;

use super::mechanism::{Mechanism, NonFinite};
use super::metrics::MetricInfo;
use super::resources::{Registry, ScheduledPolicy};
use crate::scenario::Resolved;

/// The policy timeline and which policies are in force.
#[derive(Clone, Debug, Default, Resource)]
pub struct PolicyTimeline {
    /// All dated policies in scenario order.
    pub policies: Vec<ScheduledPolicy>,
    /// Whether each policy is in force this step.
    pub active: Vec<bool>,
}

/// The dated-policy mechanism.
pub struct Policy;

impl Mechanism for Policy {
    fn install(&self, resolved: &Resolved, world: &mut World, _: &mut Schedule) {
        let policies: Vec<ScheduledPolicy> = resolved.policies.clone();
        let active = vec![false; policies.len()];
        let timeline = PolicyTimeline { policies, active };
        let rules = systems::rebuild_rules(
            &timeline,
            world.resource::<Registry>(),
            resolved.run.steps_per_year,
        );
        world.insert_resource(timeline);
        world.insert_resource(rules);
    }

    fn metrics(&self) -> &'static [MetricInfo] {
        &[]
    }

    fn check_finite(&self, _: &World) -> Option<NonFinite> {
        None
    }
}
