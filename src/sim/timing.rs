//! Wall-clock time of each part of a step, for benches (issue 15's investment bench).
//!
//! [`Simulation::new_timed`] builds the usual world and schedule and adds marker systems that
//! stamp [`Instant::now`] at the boundaries between the phases, and between the systems of the
//! investment phase. The markers touch only their own resource ([`StepMarks`]), so they neither
//! conflict with nor reorder the model's systems: a timed run gives byte-identical outputs. A
//! criterion bench sums the intervals it cares about with `iter_custom`, so what it reports is the
//! time of those systems alone, with the rest of the step (the market clearing, above all) timed
//! separately instead of mixed in.

use std::time::{Duration, Instant};

use bevy_ecs::prelude::*;

use super::Simulation;
use crate::model::schedule::Phase;
use crate::model::systems;
use crate::scenario::Resolved;

/// The boundaries stamped in a step, in schedule order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
enum Mark {
    /// Before the policy phase (start of the step).
    Start,
    /// After politics, before the finance budgets are refreshed.
    InvestmentStart,
    /// After `refresh_finance_budgets`, before `propose_projects`.
    AfterBudgets,
    /// After the investment phase (proposals, valuation, financier picks, host decisions).
    AfterProposals,
    /// After the capacity phase (project life cycle, real options, cancellations, learning).
    AfterCapacity,
    /// After operations (outages, incidents, production), before demand and the markets.
    TradeStart,
    /// After the trade phase (demand, stock orders, market clearing, settlement).
    AfterTrade,
    /// After the observe phase (end of the step).
    End,
}

const MARKS: usize = Mark::End as usize + 1;

/// The instants stamped in the last step.
#[derive(Resource, Clone, Copy, Debug)]
pub struct StepMarks([Instant; MARKS]);

/// Where one timed step spent its time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepTimes {
    /// `refresh_finance_budgets` (financiers' yearly budgets).
    pub budgets: Duration,
    /// `propose_projects`: candidates, valuation at the best netback, firms' and financiers' picks,
    /// host approval.
    pub proposals: Duration,
    /// `advance_projects`: the life cycle of every project, real-option deferral, resumption and
    /// cancellation, learning.
    pub projects: Duration,
    /// The trade phase: demand, stock orders, every market's clearing, settlement.
    pub market: Duration,
    /// The whole step, markers included.
    pub step: Duration,
}

impl StepTimes {
    /// Every system of the investment phase and of the project life cycle.
    pub fn investment(&self) -> Duration {
        self.budgets + self.proposals + self.projects
    }

    /// Add another step's times.
    pub fn add(&mut self, o: &StepTimes) {
        self.budgets += o.budgets;
        self.proposals += o.proposals;
        self.projects += o.projects;
        self.market += o.market;
        self.step += o.step;
    }
}

fn stamp<const M: usize>(mut marks: ResMut<StepMarks>) {
    marks.0[M] = Instant::now();
}

impl Simulation {
    /// Build the world for a scenario with phase markers in its schedule (benches only; see the
    /// module documentation). Outputs are those of [`Simulation::new`].
    pub fn new_timed(scenario: &Resolved) -> Self {
        let mut sim = Simulation::new(scenario, false);
        sim.world
            .insert_resource(StepMarks([Instant::now(); MARKS]));
        let s = &mut sim.schedule;
        s.add_systems(stamp::<{ Mark::Start as usize }>.before(Phase::Policy));
        s.add_systems(
            stamp::<{ Mark::InvestmentStart as usize }>
                .after(Phase::Politics)
                .before(systems::finance::refresh_finance_budgets),
        );
        s.add_systems(
            stamp::<{ Mark::AfterBudgets as usize }>
                .after(systems::finance::refresh_finance_budgets)
                .before(systems::investment::propose_projects),
        );
        s.add_systems(
            stamp::<{ Mark::AfterProposals as usize }>
                .after(Phase::Investment)
                .before(Phase::Capacity),
        );
        s.add_systems(
            stamp::<{ Mark::AfterCapacity as usize }>
                .after(Phase::Capacity)
                .before(Phase::Operations),
        );
        s.add_systems(
            stamp::<{ Mark::TradeStart as usize }>
                .after(Phase::Operations)
                .before(Phase::Trade),
        );
        s.add_systems(
            stamp::<{ Mark::AfterTrade as usize }>
                .after(Phase::Trade)
                .before(Phase::Prices),
        );
        s.add_systems(stamp::<{ Mark::End as usize }>.after(Phase::Observe));
        sim
    }

    /// Run one step of a world built with [`Simulation::new_timed`] and say where its time went.
    ///
    /// # Panics
    /// If the world was built with [`Simulation::new`] (no markers).
    pub fn step_timed(&mut self) -> StepTimes {
        self.step();
        let m = self.world.resource::<StepMarks>().0;
        let between = |a: Mark, b: Mark| m[b as usize].duration_since(m[a as usize]);
        StepTimes {
            budgets: between(Mark::InvestmentStart, Mark::AfterBudgets),
            proposals: between(Mark::AfterBudgets, Mark::AfterProposals),
            projects: between(Mark::AfterProposals, Mark::AfterCapacity),
            market: between(Mark::TradeStart, Mark::AfterTrade),
            step: between(Mark::Start, Mark::End),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::synthetic::{SyntheticSize, synthetic};
    use crate::scenario::validate;

    #[test]
    fn timed_steps_change_no_output_and_cover_the_investment_systems() {
        let scenario = validate(synthetic(SyntheticSize {
            nations: 8,
            firms: 40,
            assets: 400,
            prospects: 60,
            seed: 5,
            end_year: 2026,
        }))
        .expect("synthetic scenarios are valid");
        let mut plain = Simulation::new(scenario.resolved(), false);
        let mut timed = Simulation::new_timed(scenario.resolved());
        let mut sum = StepTimes::default();
        while !plain.finished() {
            plain.step();
            let t = timed.step_timed();
            assert!(t.investment() + t.market <= t.step);
            sum.add(&t);
        }
        assert!(timed.finished());
        assert!(sum.proposals > Duration::ZERO && sum.market > Duration::ZERO);
        let (a, b) = (plain.into_result(), timed.into_result());
        // Bit-for-bit: `PartialEq` on the rows compares every float exactly.
        assert!(!a.metrics.is_empty() && !a.flows.is_empty() && !a.events.is_empty());
        assert!(a.metrics == b.metrics, "metric rows differ");
        assert!(a.flows == b.flows, "flow rows differ");
        assert!(a.events == b.events, "event rows differ");
    }
}
