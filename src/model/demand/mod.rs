//! Demand for refined minerals (phase 6 of a step; a mechanism in its own folder, `docs/ODD.md`
//! §3.1): demand trajectories at reference prices, the consumers' price response and their
//! stocks ([`systems`]).
//!
//! Why a folder: the demand schedule is built from the nations' `demand` points here, and the
//! demand state ([`Demand`]: demand, use and consumer stocks) is checked for non-finite values
//! here, next to the system that sets it.

pub mod systems;

use bevy_ecs::prelude::*;

use super::components::NationIdx;
use super::mechanism::{Mechanism, NonFinite};
use super::metrics::MetricInfo;
use super::resources::{Demand, DemandSchedule, Registry};
use crate::scenario::Resolved;

/// The demand mechanism.
pub struct DemandCurves;

impl Mechanism for DemandCurves {
    fn install(&self, r: &Resolved, world: &mut World, _: &mut Schedule) {
        let n = r.nations.len();
        let nm = r.minerals.len();
        let mut schedule = DemandSchedule {
            points: vec![vec![Vec::new(); n]; nm],
            consumers: vec![Vec::new(); nm],
        };
        for &b in &r.nation_file_order {
            for (m, points) in &r.nations[usize::from(b)].demand {
                schedule.points[usize::from(*m)][usize::from(b)] = points.clone();
                schedule.consumers[usize::from(*m)].push(NationIdx(b));
            }
        }
        for list in &mut schedule.consumers {
            list.sort();
            list.dedup();
        }
        world.insert_resource(schedule);
        world.insert_resource(Demand::default());
    }

    fn metrics(&self) -> &'static [MetricInfo] {
        &[]
    }

    fn check_finite(&self, world: &World) -> Option<NonFinite> {
        let registry = world.get_resource::<Registry>()?;
        let d = world.get_resource::<Demand>()?;
        let name = |list: &[String], i: usize| list.get(i).map_or("?", String::as_str).to_string();
        for (quantity, table) in [
            ("demand_t_per_yr", &d.t_per_yr),
            ("consumer_stock_t", &d.stock_t),
            ("use_t_per_yr", &d.use_t_per_yr),
        ] {
            for (m, row) in table.iter().enumerate() {
                if let Some((n, &value)) = row.iter().enumerate().find(|(_, t)| !t.is_finite()) {
                    return Some(NonFinite {
                        quantity,
                        entity: format!(
                            "mineral `{}`, nation `{}`",
                            name(&registry.minerals, m),
                            name(&registry.nations, n)
                        ),
                        value,
                    });
                }
            }
        }
        None
    }
}
