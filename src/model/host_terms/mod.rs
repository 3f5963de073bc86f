//! Host terms (phase 2 of a step; a mechanism in its own folder, `docs/ODD.md` §3.1 and §7.6):
//! the one table of export taxes, bans, mandates and royalties per (nation, commodity) that trade
//! and investment both read, rebuilt every step by [`systems::update_host_terms`].

pub mod systems;

use bevy_ecs::prelude::*;

use super::mechanism::{Mechanism, NonFinite};
use super::metrics::MetricInfo;
use super::resources::HostTerms;
use crate::scenario::Resolved;

/// The host-terms mechanism.
pub struct HostTermsTable;

impl Mechanism for HostTermsTable {
    fn install(&self, _: &Resolved, world: &mut World, _: &mut Schedule) {
        // Filled by the first step's update, before anything reads it.
        world.insert_resource(HostTerms::default());
    }

    fn metrics(&self) -> &'static [MetricInfo] {
        &[]
    }

    fn check_finite(&self, _: &World) -> Option<NonFinite> {
        None
    }
}
