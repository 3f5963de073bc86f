//! Running one scenario: build the ECS world from a resolved scenario, step it, collect results.
//!
//! The world is built from [`crate::scenario::Resolved`] (ids already dense indices sorted by id,
//! dates already steps, defaults applied: [`crate::scenario::resolve`]), so spawn order and file
//! order never matter and nothing here looks up an id. This is the only loop over steps. Sweeps
//! call [`try_run_keeping`] once per run.
//!
//! Memory does not grow with the number of steps: systems append the rows of a step (metrics,
//! flows, events) to their logs, and [`Simulation::run_streaming`] hands them to a [`StepSink`]
//! after every step and empties the logs. `orechain run` streams them to its CSV files
//! ([`crate::output::tables::TableWriter`]); a sweep keeps only the metric rows its outcomes read.
//! The in-memory [`run`] (tests, benches) collects everything, as before.

pub mod guard;
pub mod timing;
/// The random streams live with the model that draws from them; re-exported for callers of
/// `orechain::sim::rng`.
pub use crate::model::rng;

use bevy_ecs::prelude::*;

use crate::model::components::*;
use crate::model::resources::*;
use crate::model::schedule::{build_schedule, install_mechanisms};
use crate::model::tables::NationPair;
use crate::scenario::Resolved;
use rng::{RngStreams, stable_key};

/// Whether a firm of this kind builds assets of this stage (defined with the scenario's kinds).
pub use crate::scenario::resolve::kind_fits;

/// Final state of one asset (a row of `assets.csv`).
#[derive(Clone, Debug, PartialEq)]
pub struct AssetFinal {
    /// Asset index.
    pub idx: AssetIdx,
    /// Host.
    pub host: NationIdx,
    /// Mineral.
    pub mineral: MineralIdx,
    /// Stage.
    pub stage: Stage,
    /// Status at the end.
    pub status: Status,
    /// Step the status began.
    pub status_since_step: u32,
    /// Nameplate capacity, t/yr.
    pub capacity_t_per_yr: f64,
    /// Utilisation.
    pub utilisation: f64,
    /// Opex, USD/t.
    pub unit_opex_usd_per_t: f64,
    /// ESG level.
    pub esg: f64,
    /// Owners and shares.
    pub owners: Vec<(FirmIdx, f64)>,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Ids behind the indices.
    pub registry: Registry,
    /// Steps run.
    pub steps: u32,
    /// Steps per year.
    pub steps_per_year: u32,
    /// Start year.
    pub start_year: i32,
    /// Seed used.
    pub seed: u64,
    /// Observations.
    pub metrics: Vec<MetricRow>,
    /// Events.
    pub events: Vec<EventRow>,
    /// Bilateral flows.
    pub flows: Vec<FlowRow>,
    /// Final asset states, in asset-index order.
    pub assets: Vec<AssetFinal>,
}

/// Receives the rows of each step as soon as the step is done (and checked).
pub trait StepSink {
    /// The rows step `step` produced, in the order the systems appended them. An error stops
    /// the run.
    fn step_rows(
        &mut self,
        registry: &Registry,
        step: u32,
        metrics: &[MetricRow],
        flows: &[FlowRow],
        events: &[EventRow],
    ) -> Result<(), String>;
}

/// Former name of [`RunError`], kept so callers written against it still compile.
pub type StreamError = RunError;

/// Why a run stopped: the error of the run layer (issue 13's error types per layer).
#[derive(Debug)]
pub enum RunError {
    /// A step produced a non-finite value.
    NonFinite(guard::NonFiniteValue),
    /// The sink refused the rows (a write failed, or a cap was reached).
    Sink(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::NonFinite(e) => write!(f, "{e}"),
            RunError::Sink(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RunError {}

/// A sink that keeps the metric rows passing a filter and drops everything else (what a sweep
/// needs for its outcomes).
pub struct KeepMetrics<F: Fn(&MetricRow) -> bool> {
    keep: F,
    /// The kept rows, in step order.
    pub rows: Vec<MetricRow>,
}

impl<F: Fn(&MetricRow) -> bool> StepSink for KeepMetrics<F> {
    fn step_rows(
        &mut self,
        _: &Registry,
        _: u32,
        metrics: &[MetricRow],
        _: &[FlowRow],
        _: &[EventRow],
    ) -> Result<(), String> {
        self.rows
            .extend(metrics.iter().filter(|r| (self.keep)(r)).cloned());
        Ok(())
    }
}

/// A world ready to step, with its schedule.
pub struct Simulation {
    /// The ECS world.
    pub world: World,
    schedule: Schedule,
}

impl Simulation {
    /// Build the world for a resolved scenario ([`crate::scenario::Validated::resolved`]: the
    /// only input the model accepts). `strict` makes schedule ambiguities an error (tests).
    pub fn new(scenario: &Resolved, strict: bool) -> Self {
        let mut world = build_world(scenario);
        let mut schedule = build_schedule(strict);
        install_mechanisms(scenario, &mut world, &mut schedule);
        Simulation { world, schedule }
    }

    /// Run one step (the clock's current step) and advance the clock.
    pub fn step(&mut self) {
        self.schedule.run(&mut self.world);
        self.world.resource_mut::<Clock>().step += 1;
    }

    /// Run one step, then check that everything it produced is finite ([`guard::check_step`]).
    pub fn step_checked(&mut self) -> Result<(), guard::NonFiniteValue> {
        let step = self.world.resource::<Clock>().step;
        self.step();
        guard::check_step(&mut self.world, step)
    }

    /// Run to the end with the non-finite guard after every step, and collect the results.
    pub fn run_to_end_checked(mut self) -> Result<RunResult, guard::NonFiniteValue> {
        while !self.finished() {
            self.step_checked()?;
        }
        Ok(self.into_result())
    }

    /// Whether every step has run.
    pub fn finished(&self) -> bool {
        let clock = self.world.resource::<Clock>();
        clock.step >= clock.total_steps
    }

    /// Run to the end, checking every step with the non-finite guard, and hand each step's rows
    /// to `sink` as soon as the step is done; the logs are emptied after every step, so memory
    /// does not grow with the number of steps. The result's row lists are empty.
    pub fn run_streaming(mut self, sink: &mut dyn StepSink) -> Result<RunResult, RunError> {
        while !self.finished() {
            let step = self.world.resource::<Clock>().step;
            self.step_checked().map_err(RunError::NonFinite)?;
            self.drain_into(sink, step).map_err(RunError::Sink)?;
        }
        Ok(self.into_result())
    }

    /// Hand the logged rows to `sink` and empty the logs (keeping their allocations).
    fn drain_into(&mut self, sink: &mut dyn StepSink, step: u32) -> Result<(), String> {
        let mut metrics = std::mem::take(&mut self.world.resource_mut::<Metrics>().rows);
        let mut flows = std::mem::take(&mut self.world.resource_mut::<FlowLog>().rows);
        let mut events = std::mem::take(&mut self.world.resource_mut::<EventLog>().rows);
        let done = sink.step_rows(
            self.world.resource::<Registry>(),
            step,
            &metrics,
            &flows,
            &events,
        );
        metrics.clear();
        flows.clear();
        events.clear();
        self.world.resource_mut::<Metrics>().rows = metrics;
        self.world.resource_mut::<FlowLog>().rows = flows;
        self.world.resource_mut::<EventLog>().rows = events;
        done
    }

    /// Run to the end and collect the results.
    pub fn run_to_end(mut self) -> RunResult {
        while !self.finished() {
            self.step();
        }
        self.into_result()
    }

    /// Initialise the schedule, reporting build errors (such as ambiguities in strict mode).
    pub fn check_schedule(&mut self) -> Result<(), String> {
        self.schedule
            .initialize(&mut self.world)
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }

    /// Collect the results (the world is consumed).
    pub fn into_result(mut self) -> RunResult {
        let clock = *self.world.resource::<Clock>();
        let seed = self.world.resource::<RngStreams>().seed;
        let mut assets: Vec<AssetFinal> = self
            .world
            .query::<(
                &AssetIdx,
                &Site,
                &Capacity,
                &Lifecycle,
                &UnitCost,
                &Esg,
                &Ownership,
                Option<&Project>,
            )>()
            .iter(&self.world)
            // Prospects never proposed (or rejected and still waiting) are not assets.
            .filter(|(.., life, _, _, _, project)| {
                project.is_none() || life.status != Status::Prospect
            })
            .map(|(idx, site, cap, life, cost, esg, owners, _)| AssetFinal {
                idx: *idx,
                host: site.host,
                mineral: site.mineral,
                stage: site.stage,
                status: life.status,
                status_since_step: life.since_step,
                capacity_t_per_yr: cap.t_per_yr,
                utilisation: cap.utilisation,
                unit_opex_usd_per_t: cost.opex_usd_per_t,
                esg: esg.0,
                owners: owners.0.clone(),
            })
            .collect();
        assets.sort_by_key(|a| a.idx);
        RunResult {
            registry: self.world.remove_resource::<Registry>().unwrap_or_default(),
            steps: clock.step,
            steps_per_year: clock.steps_per_year,
            start_year: clock.start_year,
            seed,
            metrics: std::mem::take(&mut self.world.resource_mut::<Metrics>().rows),
            events: std::mem::take(&mut self.world.resource_mut::<EventLog>().rows),
            flows: std::mem::take(&mut self.world.resource_mut::<FlowLog>().rows),
            assets,
        }
    }
}

/// Run a resolved scenario from start to end.
pub fn run(scenario: &Resolved) -> RunResult {
    Simulation::new(scenario, false).run_to_end()
}

/// Run a resolved scenario from start to end, stopping at the first step that produces a
/// non-finite value (what `orechain run` uses).
pub fn try_run(scenario: &Resolved) -> Result<RunResult, guard::NonFiniteValue> {
    Simulation::new(scenario, false).run_to_end_checked()
}

/// Run a resolved scenario, streaming each step's rows to `sink` (what `orechain run` uses):
/// stops at the first non-finite value or sink error.
pub fn try_run_streaming(
    scenario: &Resolved,
    sink: &mut dyn StepSink,
) -> Result<RunResult, RunError> {
    Simulation::new(scenario, false).run_streaming(sink)
}

/// Run a resolved scenario keeping only the metric rows that pass `keep` (in
/// [`RunResult::metrics`]; flows and events are dropped as the run goes): what a sweep needs for
/// its outcomes, in memory that does not grow with the run's other rows.
pub fn try_run_keeping(
    scenario: &Resolved,
    keep: impl Fn(&MetricRow) -> bool,
) -> Result<RunResult, RunError> {
    let mut sink = KeepMetrics {
        keep,
        rows: Vec::new(),
    };
    let mut result = try_run_streaming(scenario, &mut sink)?;
    result.metrics = sink.rows;
    Ok(result)
}

/// Build the registry: ids, keys and the static nation-pair tables, from the resolved scenario.
pub fn build_registry(r: &Resolved) -> Registry {
    let mut reg = Registry {
        mineral_units: r.minerals.iter().map(|m| m.unit.clone()).collect(),
        recovery: r.minerals.iter().map(|m| m.recovery).collect(),
        firm_keys: r.firm_ids.iter().map(|i| stable_key(i)).collect(),
        asset_keys: r.asset_ids.iter().map(|i| stable_key(i)).collect(),
        minerals: r.mineral_ids.clone(),
        nations: r.nation_ids.clone(),
        firms: r.firm_ids.clone(),
        assets: r.asset_ids.clone(),
        policies: r.policy_ids.clone(),
        financiers: r.financiers.iter().map(|f| f.id.clone()).collect(),
        firm_home: r.firms.iter().map(|f| NationIdx(f.home)).collect(),
        ..Registry::default()
    };
    let n = reg.n_nations();
    reg.affinity = vec![0.0; n * n];
    reg.fta = NationPair::new(n, false);
    reg.transport_usd_per_t = NationPair::new(n, r.market.default_transport_usd_per_t);
    let nation_of = |i: usize| NationIdx(u16::try_from(i).unwrap_or(u16::MAX));
    reg.entity_of_concern = r.nations.iter().map(|x| x.entity_of_concern).collect();
    for (a, nation) in r.nations.iter().enumerate() {
        for &(b, value) in &nation.affinity {
            reg.affinity[a * n + usize::from(b)] = value;
        }
        for &b in &nation.fta_partners {
            reg.fta[(nation_of(a), NationIdx(b))] = true;
            reg.fta[(NationIdx(b), nation_of(a))] = true;
        }
    }
    let explicit = |a: usize, b: usize| {
        r.nations[a]
            .affinity
            .binary_search_by_key(&(b as u16), |(o, _)| *o)
            .is_ok()
    };
    // Affinity given on one side only applies both ways; the diagonal is 1.
    for a in 0..n {
        for b in 0..n {
            if a == b {
                reg.affinity[a * n + b] = 1.0;
                reg.fta[(nation_of(a), nation_of(b))] = true;
                reg.transport_usd_per_t[(nation_of(a), nation_of(b))] =
                    r.market.domestic_transport_usd_per_t;
            } else if !explicit(a, b) && explicit(b, a) {
                reg.affinity[a * n + b] = reg.affinity[b * n + a];
            }
        }
    }
    for &(a, b, usd_per_t) in &r.transport {
        let (a, b) = (NationIdx(a), NationIdx(b));
        reg.transport_usd_per_t[(a, b)] = usd_per_t;
        reg.transport_usd_per_t[(b, a)] = usd_per_t;
    }
    // Preference terms by commodity; a term without mineral or stage applies to all of them.
    reg.preference = vec![vec![0.0; n * n]; reg.n_minerals() * 2];
    for t in &r.trade_preferences {
        let at = usize::from(t.from) * n + usize::from(t.to);
        for m in 0..reg.n_minerals() {
            if t.mineral.is_some_and(|x| usize::from(x) != m) {
                continue;
            }
            for st in [Stage::Ore, Stage::Refined] {
                if t.stage.is_some_and(|x| x != st) {
                    continue;
                }
                let c = commodity(MineralIdx(m as u16), st);
                reg.preference[c][at] += t.log_weight;
            }
        }
    }
    reg
}

/// Build the world from a resolved scenario: resources, then nations, firms and assets as
/// entities (in file order; no result depends on it).
pub fn build_world(r: &Resolved) -> World {
    let registry = build_registry(r);
    let mut world = World::new();
    let clock = Clock {
        step: 0,
        total_steps: r.steps,
        steps_per_year: r.run.steps_per_year,
        start_year: r.run.start_year,
    };

    for &i in &r.nation_file_order {
        let nation = &r.nations[usize::from(i)];
        world.spawn((
            NationIdx(i),
            Governance(nation.governance.clone()),
            Priorities(nation.priorities.clone()),
        ));
    }
    for &i in &r.firm_file_order {
        let firm = &r.firms[i as usize];
        world.spawn((
            FirmIdx(i),
            FirmProfile {
                home: NationIdx(firm.home),
                kind: firm.kind,
                state_backed: firm.state_backed,
                hurdle_rate: firm.hurdle_rate,
                esg: firm.esg,
            },
        ));
    }
    for asset in &r.assets {
        let mut entity = world.spawn((
            AssetIdx(asset.idx),
            Site {
                host: NationIdx(asset.host),
                mineral: MineralIdx(asset.mineral),
                stage: asset.stage,
            },
            Capacity {
                t_per_yr: asset.capacity_t_per_yr,
                utilisation: asset.utilisation,
            },
            Lifecycle {
                status: asset.status,
                since_step: 0,
                due_step: None,
            },
            Ownership(
                asset
                    .owners
                    .iter()
                    .map(|&(f, share)| (FirmIdx(f), share))
                    .collect(),
            ),
            UnitCost {
                opex_usd_per_t: asset.unit_opex_usd_per_t,
            },
            Esg(asset.esg),
            Outages::default(),
            Output::default(),
            PlantState::default(),
        ));
        if let Some(risk) = &asset.outage {
            entity.insert(OutageRisk {
                probability_per_step: risk.probability_per_step,
                capacity_lost: risk.capacity_lost,
                duration_steps: risk.duration_steps,
            });
        }
    }

    let mut prices = Prices::default();
    for m in &r.minerals {
        prices.reference_usd_per_t.push(m.ore_price_usd_per_t);
        prices.reference_usd_per_t.push(m.refined_price_usd_per_t);
    }
    prices.usd_per_t = prices.reference_usd_per_t.clone();
    insert_market_resources(&mut world, r, &registry, &prices);

    if r.investment.enabled {
        spawn_prospects(&mut world, r);
    }
    insert_investment_resources(&mut world, r, &registry);

    world.insert_resource(clock);
    world.insert_resource(RngStreams { seed: r.run.seed });
    world.insert_resource(prices);
    world.insert_resource(Metrics::default());
    world.insert_resource(EventLog::default());
    world.insert_resource(FlowLog::default());
    world.insert_resource(registry);
    world
}

/// Resources of the markets: parameters, demand trajectories, buyer prices (all at the world
/// price), expectations (at the reference price), empty feed stocks and outcome.
fn insert_market_resources(world: &mut World, r: &Resolved, registry: &Registry, prices: &Prices) {
    let n = registry.n_nations();
    let config = MarketConfig {
        settings: r.market.clone(),
        demand_elasticity: r.minerals.iter().map(|m| m.demand_elasticity).collect(),
        offtake: r.offtake.clone(),
    };
    let buyer_prices = BuyerPrices {
        usd_per_t: prices.usd_per_t.iter().map(|&p| vec![p; n]).collect(),
        buyer: vec![vec![false; n]; prices.usd_per_t.len()],
    };
    world.insert_resource(ProducerPrices {
        usd_per_t: prices.usd_per_t.iter().map(|&p| vec![p; n]).collect(),
        exporter: vec![vec![false; n]; prices.usd_per_t.len()],
    });
    world.insert_resource(config);
    world.insert_resource(buyer_prices.clone());
    world.insert_resource(PriceExpectations {
        usd_per_t: prices.usd_per_t.clone(),
        buyer_usd_per_t: buyer_prices.usd_per_t.clone(),
    });
    world.insert_resource(FeedStocks {
        ore_t: vec![0.0; registry.assets.len()],
    });
    world.insert_resource(MarketOutcome::default());
    world.insert_resource(crate::model::resources::StockOrders::default());
    world.insert_resource(crate::model::systems::utilisation::RestartCosts::default());
    world.insert_resource(crate::model::systems::utilisation::StretchAnchors::default());
}

/// Spawn every prospect as an asset entity in status `prospect`, carrying its [`Project`] terms.
fn spawn_prospects(world: &mut World, r: &Resolved) {
    for p in &r.prospects {
        world.spawn((
            AssetIdx(p.idx),
            Site {
                host: NationIdx(p.host),
                mineral: MineralIdx(p.mineral),
                stage: p.stage,
            },
            Capacity {
                t_per_yr: p.capacity_t_per_yr,
                utilisation: r.market.utilisation.prospect_utilisation,
            },
            Lifecycle {
                status: Status::Prospect,
                since_step: 0,
                due_step: None,
            },
            Ownership(Vec::new()),
            UnitCost {
                opex_usd_per_t: p.unit_opex_usd_per_t,
            },
            Esg(0.0),
            Outages::default(),
            Output::default(),
            PlantState::default(),
            Project {
                capex_usd: p.capex_usd,
                base_opex_usd_per_t: p.unit_opex_usd_per_t,
                developers: p.developers.iter().map(|&d| FirmIdx(d)).collect(),
                available_step: p.available_step,
                local_processing_commitment: p.local_processing_commitment,
                retry_step: 0,
                sponsor: None,
                appraisal: None,
                after: p.after.map(AssetIdx),
            },
        ));
    }
}

/// Resources of investment, finance, capacity growth, politics, incidents and sourcing rules.
fn insert_investment_resources(world: &mut World, r: &Resolved, registry: &Registry) {
    world.insert_resource(InvestmentConfig {
        investment: r.investment.clone(),
        operations: r.operations.clone(),
        politics: r.politics.clone(),
        firm_invests: r.firms.iter().map(|f| f.invests).collect(),
        contract_rate_cut: crate::model::systems::contracts::contract_cover(r)
            .iter()
            .map(|c| c * r.offtake.contract_spread_cut)
            .collect(),
    });
    let n = registry.n_nations();
    world.insert_resource(SocialLicence {
        value: vec![1.0; n * n],
        n,
    });
    world.insert_resource(InvestmentLedger::default());
}
