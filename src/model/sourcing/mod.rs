//! Sourcing rules of consumer nations (phase 2 of a step; a mechanism in its own folder,
//! `docs/ODD.md` §3.1 and §7.6.1).
//!
//! Why a folder: the rules are rebuilt from the policy timeline every step and read by the trade
//! model; their state ([`SourcingRules`]), the system that updates them ([`systems`]) and their
//! installation live together. [`Sourcing`] installs the rules in force at the start year; it is
//! installed after [`super::policy::Policy`], whose timeline it reads.

pub mod systems;

use bevy_ecs::prelude::*;

use super::components::NationIdx;
use super::mechanism::{Mechanism, NonFinite};
use super::metrics::MetricInfo;
use super::policy::PolicyTimeline;
use super::resources::Registry;
use super::tables::NationPair;
use crate::scenario::Resolved;

/// A consumer's sourcing rule in force, resolved to indices.
#[derive(Clone, Debug, PartialEq)]
pub struct SourcingRule {
    /// Policy index (the policy's id is a label in the registry).
    pub policy: u32,
    /// Consumer nation applying it.
    pub consumer: NationIdx,
    /// Minerals covered, by mineral index.
    pub minerals: Vec<bool>,
    /// Qualifying share required at the current step (stepwise by year), 0..=1.
    pub required_share: f64,
    /// Premium a qualifying tonne earns, USD/t.
    pub premium_usd_per_t: f64,
    /// Whether supply controlled by entities of concern is excluded.
    pub exclude_entities_of_concern: bool,
}

/// Sourcing rules in force this step and the FTA links agreements add (rebuilt every step by
/// `systems::sourcing::update_sourcing_rules`). The trade model asks it whether a supply qualifies.
#[derive(Clone, Debug, Default, Resource)]
pub struct SourcingRules {
    /// Rules in force, in scenario order (for one consumer and mineral the last one listed applies).
    pub rules: Vec<SourcingRule>,
    /// FTA status granted by agreements in force, by (nation, partner).
    pub fta_granted: NationPair<bool>,
}

/// The sourcing-rule mechanism.
pub struct Sourcing;

impl Mechanism for Sourcing {
    fn install(&self, resolved: &Resolved, world: &mut World, _: &mut Schedule) {
        let rules = systems::build_sourcing_rules(
            world.resource::<PolicyTimeline>(),
            world.resource::<Registry>(),
            f64::from(resolved.run.start_year),
        );
        world.insert_resource(rules);
    }

    fn metrics(&self) -> &'static [MetricInfo] {
        &[]
    }

    fn check_finite(&self, _: &World) -> Option<NonFinite> {
        None
    }
}
