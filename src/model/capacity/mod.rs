//! Capacity growth (phase 4 of a step; a mechanism in its own folder, `docs/ODD.md` §3.1):
//! the project life cycle, stage durations and learning by doing ([`systems`]).
//!
//! Why a folder: the learning curves ([`LearningCurves`]) start from the capacity the scenario
//! gives, are advanced when projects complete and are read by investment; they are built here,
//! next to the life-cycle maths (`years_to_steps`, `draw_stage_steps`, `learning_factor`) that
//! investment and politics also use.

pub mod systems;

use bevy_ecs::prelude::*;

use super::components::{MineralIdx, Status};
use super::mechanism::{Mechanism, NonFinite};
use super::metrics::MetricInfo;
use super::resources::commodity;
use crate::scenario::Resolved;

/// Learning by doing per host nation and commodity: cumulative capacity built and its base.
#[derive(Clone, Debug, Default, Resource)]
pub struct LearningCurves {
    /// Cumulative capacity (start capacity + completed projects), t/yr, `[commodity * n + host]`.
    pub cumulative_t_per_yr: Vec<f64>,
    /// Base of the curve: capacity at the start, or the first completed project where there was
    /// none; 0 = nothing built yet (factor 1).
    pub base_t_per_yr: Vec<f64>,
    /// Number of nations.
    pub n: usize,
}

/// The capacity-growth mechanism.
pub struct CapacityGrowth;

impl Mechanism for CapacityGrowth {
    fn install(&self, r: &Resolved, world: &mut World, _: &mut Schedule) {
        let n = r.nations.len();
        let nc = r.minerals.len() * 2;
        let mut learning = LearningCurves {
            cumulative_t_per_yr: vec![0.0; nc * n],
            base_t_per_yr: vec![0.0; nc * n],
            n,
        };
        // In asset-id order (the sums do not depend on the file's order).
        let mut assets: Vec<&crate::scenario::resolve::ResolvedAsset> = r.assets.iter().collect();
        assets.sort_by_key(|a| a.idx);
        for a in assets {
            if !matches!(
                a.status,
                Status::Operating | Status::RampUp | Status::Suspended
            ) {
                continue;
            }
            let i = commodity(MineralIdx(a.mineral), a.stage) * n + usize::from(a.host);
            learning.cumulative_t_per_yr[i] += a.capacity_t_per_yr;
        }
        learning
            .base_t_per_yr
            .clone_from(&learning.cumulative_t_per_yr);
        world.insert_resource(learning);
    }

    fn metrics(&self) -> &'static [MetricInfo] {
        &[]
    }

    fn check_finite(&self, _: &World) -> Option<NonFinite> {
        None
    }
}
