//! The order of one step, declared in one place.
//!
//! Each phase of docs/design.md §2.3 is a [`Phase`] system set; the sets are chained here and nowhere
//! else, so the order of a step can be read off this file. Systems join a phase with
//! `.in_set(Phase::X)` and, inside a phase, are chained explicitly. The executor is single-threaded:
//! runs are parallelised across scenarios with rayon, not inside one.

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings, SingleThreadedExecutor};

use super::mechanism::Mechanism;
use super::resources::{Clock, InvestmentConfig};
use super::{capacity, demand, finance, host_terms, observe, policy, politics, sourcing, systems};
use crate::scenario::Resolved;

/// Installed mechanisms (`src/model/<name>/`, see [`super::mechanism`]): the one line a new
/// mechanism adds here. World building (after the core world of registry, clock, entities and
/// markets), the metric catalogue and the non-finite guard are assembled from this list, in this
/// order: the policy timeline before the sourcing rules built from it, and the core observers
/// (whose catalogue entries come first in `docs/output-format.md`) before the mechanisms with
/// metrics of their own.
pub const MECHANISMS: &[&dyn Mechanism] = &[
    &policy::Policy,
    &sourcing::Sourcing,
    &politics::Politics,
    &host_terms::HostTermsTable,
    &finance::Finance,
    &capacity::CapacityGrowth,
    &demand::DemandCurves,
    &observe::Observe,
    &super::stockpile::Stockpile,
    &super::recycling::Recycling,
];

/// Where a mechanism's systems join a step (inside the phases, ordered here).
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hook {
    /// Trade phase, after this step's demand is set and before the markets clear: push stock
    /// orders ([`super::resources::StockOrders`]).
    Orders,
    /// Trade phase, after the markets clear: book fills.
    Settle,
    /// Observe phase, after the core observers: record the mechanism's metrics.
    Observe,
}

/// Install every mechanism of [`MECHANISMS`] into a built world and its schedule.
pub fn install_mechanisms(resolved: &Resolved, world: &mut World, schedule: &mut Schedule) {
    for m in MECHANISMS {
        m.install(resolved, world, schedule);
    }
}

/// Run condition: the first step of a year (yearly systems run then; docs/design.md §2.3).
pub fn first_step_of_year(clock: Res<Clock>) -> bool {
    clock.step.is_multiple_of(clock.steps_per_year)
}

/// Run condition: not the first step of the run.
pub fn after_first_step(clock: Res<Clock>) -> bool {
    clock.step != 0
}

/// Run condition: investment is enabled (`investment.enabled`).
pub fn investment_enabled(config: Res<InvestmentConfig>) -> bool {
    config.investment.enabled
}

/// Run condition: host politics is enabled (`politics.enabled`).
pub fn politics_enabled(config: Res<InvestmentConfig>) -> bool {
    config.politics.enabled
}

/// Phases of one step, in order.
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// 1. Dated policies and shocks take effect or lapse.
    Policy,
    /// 2. Host nations adapt their priorities.
    Politics,
    /// 3. Firms and financiers propose projects; hosts decide.
    Investment,
    /// 4. Projects advance through permitting, construction and ramp-up.
    Capacity,
    /// 5. Incidents and outages; assets produce.
    Operations,
    /// 6. Ore and refined markets clear; refineries convert ore.
    Trade,
    /// 7. Prices and expectations update.
    Prices,
    /// 8. Metrics are recorded.
    Observe,
}

/// Build the step schedule. `strict` turns ambiguity detection into an error (used in tests).
pub fn build_schedule(strict: bool) -> Schedule {
    let mut schedule = Schedule::default();
    schedule.set_executor(SingleThreadedExecutor::new());
    schedule.set_build_settings(ScheduleBuildSettings {
        ambiguity_detection: if strict {
            LogLevel::Error
        } else {
            LogLevel::Ignore
        },
        ..Default::default()
    });
    schedule.configure_sets(
        (
            Phase::Policy,
            Phase::Politics,
            Phase::Investment,
            Phase::Capacity,
            Phase::Operations,
            Phase::Trade,
            Phase::Prices,
            Phase::Observe,
        )
            .chain(),
    );
    schedule.add_systems(policy::systems::apply_policy_timeline.in_set(Phase::Policy));
    schedule.add_systems(
        (
            sourcing::systems::update_sourcing_rules,
            politics::systems::adapt_host_policies
                .run_if(politics_enabled)
                .run_if(investment_enabled)
                .run_if(after_first_step)
                .run_if(first_step_of_year),
            host_terms::systems::update_host_terms,
        )
            .chain()
            .in_set(Phase::Politics),
    );
    schedule.add_systems(
        (
            finance::systems::refresh_finance_budgets
                .run_if(investment_enabled)
                .run_if(first_step_of_year),
            systems::investment::propose_projects,
        )
            .chain()
            .in_set(Phase::Investment),
    );
    schedule.add_systems(capacity::systems::advance_projects.in_set(Phase::Capacity));
    schedule.add_systems(
        (
            systems::operations::strike_outages,
            systems::operations::strike_incidents,
            systems::operations::produce,
        )
            .chain()
            .in_set(Phase::Operations),
    );
    schedule.add_systems(
        (
            demand::systems::update_demand,
            systems::trade::clear_markets,
            systems::utilisation::update_plant_states,
        )
            .chain()
            .in_set(Phase::Trade),
    );
    schedule.configure_sets((
        Hook::Orders
            .in_set(Phase::Trade)
            .after(demand::systems::update_demand)
            .before(systems::trade::clear_markets),
        Hook::Settle
            .in_set(Phase::Trade)
            .after(systems::trade::clear_markets),
        Hook::Observe
            .in_set(Phase::Observe)
            .after(systems::utilisation::record_utilisation_metrics),
    ));
    schedule.add_systems(systems::prices::update_prices.in_set(Phase::Prices));
    schedule.add_systems(
        (
            observe::production::record_metrics,
            observe::markets::record_market_metrics,
            observe::investment::record_investment_metrics,
            systems::utilisation::record_utilisation_metrics,
        )
            .chain()
            .in_set(Phase::Observe),
    );
    schedule
}
