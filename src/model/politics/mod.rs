//! Host politics (phase 2 of a step; a mechanism in its own folder, `docs/ODD.md` §3.1): hosts
//! tighten or loosen their terms once a year ([`systems`]).
//!
//! Why a folder: the host's memory ([`HostRecord`]) is read by politics and written by
//! investment; it is installed here, with the system that uses it. The yearly gate is a run
//! condition in `schedule.rs` ([`super::schedule`]), not an early return.

pub mod systems;

use bevy_ecs::prelude::*;

use super::mechanism::{Mechanism, NonFinite};
use super::metrics::MetricInfo;
use crate::scenario::Resolved;

/// Per-host memory of host politics and investment.
#[derive(Clone, Debug, Default, Resource)]
pub struct HostRecord {
    /// Step of the last approved project per host (or of the start).
    pub last_approval_step: Vec<u32>,
    /// Step of the host's last change of terms (or of the start).
    pub last_change_step: Vec<u32>,
}

/// The host-politics mechanism.
pub struct Politics;

impl Mechanism for Politics {
    fn install(&self, resolved: &Resolved, world: &mut World, _: &mut Schedule) {
        let n = resolved.nations.len();
        world.insert_resource(HostRecord {
            last_approval_step: vec![0; n],
            last_change_step: vec![0; n],
        });
    }

    fn metrics(&self) -> &'static [MetricInfo] {
        &[]
    }

    fn check_finite(&self, _: &World) -> Option<NonFinite> {
        None
    }
}
