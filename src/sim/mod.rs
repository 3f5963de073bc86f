//! Running one scenario: build the ECS world from a validated scenario, step it, collect results.
//!
//! This is the only place that turns scenario ids into dense indices (sorted by id, so spawn order
//! and file order never matter) and the only loop over steps. Sweeps call [`try_run_keeping`] once
//! per run.
//!
//! Memory does not grow with the number of steps: systems append the rows of a step (metrics,
//! flows, events) to their logs, and [`Simulation::run_streaming`] hands them to a [`StepSink`]
//! after every step and empties the logs. `orechain run` streams them to its CSV files
//! ([`crate::output::tables::TableWriter`]); a sweep keeps only the metric rows its outcomes read.
//! The in-memory [`run`] (tests, benches) collects everything, as before.

pub mod guard;
pub mod rng;

use bevy_ecs::prelude::*;

use crate::model::components::*;
use crate::model::resources::*;
use crate::model::schedule::build_schedule;
use crate::scenario::validate::when_to_year;
use crate::scenario::{FirmKind, Validated};
use rng::{RngStreams, stable_key};

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

/// Why a streamed run stopped.
#[derive(Debug)]
pub enum StreamError {
    /// A step produced a non-finite value.
    NonFinite(guard::NonFiniteValue),
    /// The sink refused the rows (a write failed, or a cap was reached).
    Sink(String),
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamError::NonFinite(e) => write!(f, "{e}"),
            StreamError::Sink(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StreamError {}

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
    /// Build the world for a scenario. `strict` makes schedule ambiguities an error (tests).
    pub fn new(scenario: &Validated, strict: bool) -> Self {
        let world = build_world(scenario);
        Simulation {
            world,
            schedule: build_schedule(strict),
        }
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
    pub fn run_streaming(mut self, sink: &mut dyn StepSink) -> Result<RunResult, StreamError> {
        while !self.finished() {
            let step = self.world.resource::<Clock>().step;
            self.step_checked().map_err(StreamError::NonFinite)?;
            self.drain_into(sink, step).map_err(StreamError::Sink)?;
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

/// Run a validated scenario from start to end.
pub fn run(scenario: &Validated) -> RunResult {
    Simulation::new(scenario, false).run_to_end()
}

/// Run a validated scenario from start to end, stopping at the first step that produces a
/// non-finite value (what `orechain run` uses).
pub fn try_run(scenario: &Validated) -> Result<RunResult, guard::NonFiniteValue> {
    Simulation::new(scenario, false).run_to_end_checked()
}

/// Run a validated scenario, streaming each step's rows to `sink` (what `orechain run` uses):
/// stops at the first non-finite value or sink error.
pub fn try_run_streaming(
    scenario: &Validated,
    sink: &mut dyn StepSink,
) -> Result<RunResult, StreamError> {
    Simulation::new(scenario, false).run_streaming(sink)
}

/// Run a validated scenario keeping only the metric rows that pass `keep` (in
/// [`RunResult::metrics`]; flows and events are dropped as the run goes): what a sweep needs for
/// its outcomes, in memory that does not grow with the run's other rows.
pub fn try_run_keeping(
    scenario: &Validated,
    keep: impl Fn(&MetricRow) -> bool,
) -> Result<RunResult, StreamError> {
    let mut sink = KeepMetrics {
        keep,
        rows: Vec::new(),
    };
    let mut result = try_run_streaming(scenario, &mut sink)?;
    result.metrics = sink.rows;
    Ok(result)
}

fn sorted_ids<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<String> = ids.map(str::to_string).collect();
    v.sort();
    v
}

/// Build the registry: ids, keys and the static nation-pair tables.
pub fn build_registry(scenario: &Validated) -> Registry {
    let s = scenario.scenario();
    let minerals = sorted_ids(s.minerals.iter().map(|m| m.id.as_str()));
    let nations = sorted_ids(s.nations.iter().map(|n| n.id.as_str()));
    let firms = sorted_ids(s.firms.iter().map(|f| f.id.as_str()));
    let assets = sorted_ids(
        s.assets
            .iter()
            .map(|a| a.id.as_str())
            .chain(s.prospects.iter().map(|p| p.id.as_str())),
    );
    let mut reg = Registry {
        mineral_units: minerals
            .iter()
            .map(|id| {
                s.minerals
                    .iter()
                    .find(|m| &m.id == id)
                    .map(|m| m.unit.clone())
                    .unwrap_or_default()
            })
            .collect(),
        nation_keys: nations.iter().map(|i| stable_key(i)).collect(),
        firm_keys: firms.iter().map(|i| stable_key(i)).collect(),
        asset_keys: assets.iter().map(|i| stable_key(i)).collect(),
        minerals,
        nations,
        firms,
        assets,
        ..Registry::default()
    };
    let n = reg.n_nations();
    let by_index = firms_by_index(scenario, &reg);
    reg.firm_home = by_index
        .iter()
        .map(|f| f.and_then(|f| reg.nation(&f.home)).unwrap_or(NationIdx(0)))
        .collect();
    reg.affinity = vec![0.0; n * n];
    reg.fta = vec![false; n * n];
    reg.transport_usd_per_t = vec![s.market.default_transport_usd_per_t; n * n];
    reg.entity_of_concern = vec![false; n];
    for nation in &s.nations {
        let Some(a) = reg.nation(&nation.id) else {
            continue;
        };
        let a = usize::from(a.0);
        reg.entity_of_concern[a] = nation.entity_of_concern;
        for (other, value) in &nation.affinity {
            if let Some(b) = reg.nation(other) {
                reg.affinity[a * n + usize::from(b.0)] = *value;
            }
        }
        for partner in &nation.fta_partners {
            if let Some(b) = reg.nation(partner) {
                let b = usize::from(b.0);
                reg.fta[a * n + b] = true;
                reg.fta[b * n + a] = true;
            }
        }
    }
    // Affinity given on one side only applies both ways; the diagonal is 1.
    for a in 0..n {
        for b in 0..n {
            if a == b {
                reg.affinity[a * n + b] = 1.0;
                reg.fta[a * n + b] = true;
                reg.transport_usd_per_t[a * n + b] = s.market.domestic_transport_usd_per_t;
            } else if !explicit_affinity(s, &reg, a, b) && explicit_affinity(s, &reg, b, a) {
                reg.affinity[a * n + b] = reg.affinity[b * n + a];
            }
        }
    }
    for t in &s.transport {
        if let (Some(a), Some(b)) = (reg.nation(&t.from), reg.nation(&t.to)) {
            let (a, b) = (usize::from(a.0), usize::from(b.0));
            reg.transport_usd_per_t[a * n + b] = t.usd_per_t;
            reg.transport_usd_per_t[b * n + a] = t.usd_per_t;
        }
    }
    // Preference terms by commodity; a term without mineral or stage applies to all of them.
    reg.preference = vec![vec![0.0; n * n]; reg.n_minerals() * 2];
    for t in &s.trade_preferences {
        let (Some(a), Some(b)) = (reg.nation(&t.from), reg.nation(&t.to)) else {
            continue;
        };
        let at = usize::from(a.0) * n + usize::from(b.0);
        for (m, id) in reg.minerals.iter().enumerate() {
            if t.mineral.as_ref().is_some_and(|x| x != id) {
                continue;
            }
            for stage in [Stage::Ore, Stage::Refined] {
                if t.stage.is_some_and(|x| x != stage) {
                    continue;
                }
                let c = commodity(crate::model::components::MineralIdx(m as u16), stage);
                reg.preference[c][at] += t.log_weight;
            }
        }
    }
    reg
}

/// The scenario's firm behind each firm index (ids are unique after validation), found by
/// binary search so building a world stays `O(F log F)` with many firms.
fn firms_by_index<'a>(
    scenario: &'a Validated,
    reg: &Registry,
) -> Vec<Option<&'a crate::scenario::Firm>> {
    let mut by_index = vec![None; reg.firms.len()];
    for f in &scenario.scenario().firms {
        if let Some(i) = reg.firm(&f.id) {
            by_index[i.0 as usize] = Some(f);
        }
    }
    by_index
}

fn explicit_affinity(s: &crate::scenario::Scenario, reg: &Registry, a: usize, b: usize) -> bool {
    s.nations
        .iter()
        .find(|n| n.id == reg.nations[a])
        .is_some_and(|n| n.affinity.contains_key(&reg.nations[b]))
}

/// Build the world: resources, then nations, firms and assets as entities.
pub fn build_world(scenario: &Validated) -> World {
    let s = scenario.scenario();
    let registry = build_registry(scenario);
    let mut world = World::new();
    let clock = Clock {
        step: 0,
        total_steps: scenario.steps(),
        steps_per_year: s.run.steps_per_year,
        start_year: s.run.start_year,
    };

    for nation in &s.nations {
        if let Some(idx) = registry.nation(&nation.id) {
            world.spawn((
                idx,
                Governance(nation.governance.clone()),
                Priorities(nation.priorities.clone()),
            ));
        }
    }
    for firm in &s.firms {
        if let (Some(idx), Some(home)) = (registry.firm(&firm.id), registry.nation(&firm.home)) {
            world.spawn((
                idx,
                FirmProfile {
                    home,
                    kind: firm.kind,
                    state_backed: firm.state_backed,
                    hurdle_rate: firm.hurdle_rate,
                    esg: firm.esg,
                },
            ));
        }
    }
    let by_index = firms_by_index(scenario, &registry);
    let firm_esg = |id: &str| {
        registry
            .firm(id)
            .and_then(|i| by_index[i.0 as usize])
            .map_or(0.5, |f| f.esg)
    };
    for asset in &s.assets {
        let (Some(idx), Some(host), Some(mineral)) = (
            registry.asset(&asset.id),
            registry.nation(&asset.host),
            registry.mineral(&asset.mineral),
        ) else {
            continue;
        };
        let mut owners: Vec<(FirmIdx, f64)> = asset
            .owners
            .iter()
            .filter_map(|(f, share)| registry.firm(f).map(|i| (i, *share)))
            .collect();
        owners.sort_by_key(|(f, _)| *f);
        let esg = asset.esg.unwrap_or_else(|| {
            asset
                .owners
                .iter()
                .map(|(f, share)| firm_esg(f) * share)
                .sum()
        });
        let mut entity = world.spawn((
            idx,
            Site {
                host,
                mineral,
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
            Ownership(owners),
            UnitCost {
                opex_usd_per_t: asset.unit_opex_usd_per_t,
            },
            Esg(esg),
            Outages::default(),
            Output::default(),
        ));
        if let Some(risk) = &asset.outage {
            entity.insert(OutageRisk {
                probability_per_step: risk.probability_per_step,
                capacity_lost: risk.capacity_lost,
                duration_steps: risk.duration_steps,
            });
        }
    }

    let policies: Vec<ScheduledPolicy> = s
        .policies
        .iter()
        .enumerate()
        .map(|(order, p)| ScheduledPolicy {
            order,
            id: p.id.clone(),
            start_step: when_to_year(&p.start).map_or(u32::MAX, |y| clock.step_at(y)),
            end_step: p
                .end
                .as_ref()
                .and_then(|e| when_to_year(e).ok())
                .map_or(u32::MAX, |y| clock.step_at(y)),
            licence_open_step: licence_open_step(p, &clock),
            licence_open_year: licence_open_year(p, &clock),
            action: p.action.clone(),
        })
        .collect();
    let announcements = PolicyAnnouncements {
        step: s
            .policies
            .iter()
            .zip(&policies)
            .map(|(p, sp)| {
                p.announced
                    .as_ref()
                    .and_then(|a| when_to_year(a).ok())
                    .map_or(sp.start_step, |y| clock.step_at(y).min(sp.start_step))
            })
            .collect(),
    };
    let active = vec![false; policies.len()];
    let timeline = PolicyTimeline { policies, active };
    let rules =
        crate::model::systems::policy::rebuild_rules(&timeline, &registry, clock.steps_per_year);

    let mut prices = Prices::default();
    for id in &registry.minerals {
        if let Some(m) = s.minerals.iter().find(|m| &m.id == id) {
            prices.reference_usd_per_t.push(m.ore_price_usd_per_t);
            prices.reference_usd_per_t.push(m.refined_price_usd_per_t);
        }
    }
    prices.usd_per_t = prices.reference_usd_per_t.clone();
    insert_market_resources(&mut world, scenario, &registry, &prices);

    if s.investment.enabled {
        spawn_prospects(&mut world, scenario, &registry, &clock);
    }
    insert_investment_resources(&mut world, scenario, &registry, &timeline);

    world.insert_resource(observed_pairs(scenario, &registry));
    world.insert_resource(clock);
    world.insert_resource(RngStreams { seed: s.run.seed });
    world.insert_resource(timeline);
    world.insert_resource(announcements);
    world.insert_resource(rules);
    world.insert_resource(prices);
    world.insert_resource(Metrics::default());
    world.insert_resource(EventLog::default());
    world.insert_resource(FlowLog::default());
    world.insert_resource(registry);
    world
}

/// When the first licences of a licence-delay export control are granted: `delay_steps` after the
/// policy's real start date, which may lie before the run (a regime in force since 2023 has long
/// been granting licences by 2024).
fn licence_open_step(policy: &crate::scenario::Policy, clock: &Clock) -> u32 {
    let start = when_to_year(&policy.start).map_or(f64::INFINITY, |y| y);
    match &policy.action {
        crate::scenario::PolicyAction::ExportControl {
            mode: crate::scenario::ControlMode::LicenceDelay,
            delay_steps,
            ..
        } => clock.step_at(start + f64::from(*delay_steps) / f64::from(clock.steps_per_year)),
        _ => clock.step_at(start),
    }
}

/// The decimal year the first licences of a licence-delay control are granted (the policy's real
/// start plus the delay, a delay step being a quarter with quarterly steps); the start otherwise.
/// The market opens the links for the part of the step after this date (`docs/ODD.md` §7.6).
fn licence_open_year(policy: &crate::scenario::Policy, clock: &Clock) -> f64 {
    let start = when_to_year(&policy.start).map_or(f64::INFINITY, |y| y);
    match &policy.action {
        crate::scenario::PolicyAction::ExportControl {
            mode: crate::scenario::ControlMode::LicenceDelay,
            delay_steps,
            ..
        } => start + f64::from(*delay_steps) / f64::from(clock.steps_per_year),
        _ => start,
    }
}

/// Hosts: nations hosting an asset or prospect of the commodity. Controllers: homes of current
/// owners, prospect developers, firms of a kind that may develop the commodity's stage, and
/// state firms that a nationalisation of the mineral gives equity to.
fn observed_pairs(scenario: &Validated, reg: &Registry) -> ObservedPairs {
    let s = scenario.scenario();
    let nc = reg.n_minerals() * 2;
    let mut hosts = vec![Vec::new(); nc];
    let mut controllers = vec![Vec::new(); nc];
    let key = |mineral: &str, stage| reg.mineral(mineral).map(|m| commodity(m, stage));
    for a in &s.assets {
        if let (Some(c), Some(h)) = (key(&a.mineral, a.stage), reg.nation(&a.host)) {
            hosts[c].push(h);
            for f in a.owners.keys() {
                if let Some(fi) = reg.firm(f) {
                    controllers[c].push(reg.firm_home[fi.0 as usize]);
                }
            }
        }
    }
    // Without investment prospects never become assets, so they add no series.
    let prospects = if s.investment.enabled {
        s.prospects.as_slice()
    } else {
        &[]
    };
    // Homes of the firms that may develop an open prospect of each stage, found once (not once
    // per prospect, which would be `O(P × F)`).
    let open_homes = |stage: Stage| -> Vec<NationIdx> {
        let mut homes: Vec<NationIdx> = s
            .firms
            .iter()
            .filter(|f| kind_fits(f.kind, stage))
            .filter_map(|f| reg.nation(&f.home))
            .collect();
        homes.sort();
        homes.dedup();
        homes
    };
    let open_homes = [open_homes(Stage::Ore), open_homes(Stage::Refined)];
    let by_index = firms_by_index(scenario, reg);
    for p in prospects {
        if let (Some(c), Some(h)) = (key(&p.mineral, p.stage), reg.nation(&p.host)) {
            hosts[c].push(h);
            if p.developers.is_empty() {
                let stage = usize::from(p.stage == Stage::Refined);
                controllers[c].extend_from_slice(&open_homes[stage]);
            } else {
                for d in &p.developers {
                    if let Some(h) = reg
                        .firm(d)
                        .and_then(|i| by_index[i.0 as usize])
                        .and_then(|f| reg.nation(&f.home))
                    {
                        controllers[c].push(h);
                    }
                }
            }
        }
    }
    // A nationalisation hands equity to its state firm during the run: that firm's home controls
    // supply from then on, so it needs control rows too (else control shares stop summing to 1).
    for p in &s.policies {
        if let crate::scenario::PolicyAction::Nationalisation {
            mineral,
            state_firm,
            ..
        } = &p.action
            && let (Some(m), Some(f)) = (reg.mineral(mineral), reg.firm(state_firm))
        {
            let home = reg.firm_home[f.0 as usize];
            controllers[commodity(m, Stage::Ore)].push(home);
            controllers[commodity(m, Stage::Refined)].push(home);
        }
    }
    for list in hosts.iter_mut().chain(controllers.iter_mut()) {
        list.sort();
        list.dedup();
    }
    ObservedPairs { hosts, controllers }
}

/// Whether a firm of this kind builds assets of this stage.
pub fn kind_fits(kind: FirmKind, stage: Stage) -> bool {
    matches!(
        (kind, stage),
        (FirmKind::Integrated | FirmKind::StateCompany, _)
            | (FirmKind::Miner, Stage::Ore)
            | (FirmKind::Refiner, Stage::Refined)
    )
}

/// Resources of the markets: parameters, demand trajectories, buyer prices (all at the world
/// price), expectations (at the reference price), empty feed stocks and outcome.
fn insert_market_resources(
    world: &mut World,
    scenario: &Validated,
    registry: &Registry,
    prices: &Prices,
) {
    let s = scenario.scenario();
    let n = registry.n_nations();
    let mineral = |id: &str| s.minerals.iter().find(|m| m.id == id);
    let config = MarketConfig {
        settings: s.market.clone(),
        recovery: registry
            .minerals
            .iter()
            .map(|id| mineral(id).map_or(1.0, |m| m.recovery))
            .collect(),
        demand_elasticity: registry
            .minerals
            .iter()
            .map(|id| mineral(id).map_or(0.0, |m| m.demand_elasticity))
            .collect(),
    };
    let mut schedule = DemandSchedule {
        points: vec![vec![Vec::new(); n]; registry.n_minerals()],
        consumers: vec![Vec::new(); registry.n_minerals()],
    };
    for nation in &s.nations {
        let Some(b) = registry.nation(&nation.id) else {
            continue;
        };
        for d in &nation.demand {
            if let Some(m) = registry.mineral(&d.mineral) {
                let mut points = d.points.clone();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                schedule.points[usize::from(m.0)][usize::from(b.0)] = points;
                schedule.consumers[usize::from(m.0)].push(b);
            }
        }
    }
    for list in &mut schedule.consumers {
        list.sort();
        list.dedup();
    }
    let buyer_prices = BuyerPrices {
        usd_per_t: prices.usd_per_t.iter().map(|&p| vec![p; n]).collect(),
        buyer: vec![vec![false; n]; prices.usd_per_t.len()],
    };
    world.insert_resource(ProducerPrices {
        usd_per_t: prices.usd_per_t.iter().map(|&p| vec![p; n]).collect(),
        exporter: vec![vec![false; n]; prices.usd_per_t.len()],
    });
    world.insert_resource(HostTerms::default());
    world.insert_resource(config);
    world.insert_resource(schedule);
    world.insert_resource(Demand::default());
    world.insert_resource(buyer_prices.clone());
    world.insert_resource(PriceExpectations {
        usd_per_t: prices.usd_per_t.clone(),
        buyer_usd_per_t: buyer_prices.usd_per_t.clone(),
    });
    world.insert_resource(FeedStocks {
        ore_t: vec![0.0; registry.assets.len()],
    });
    world.insert_resource(MarketOutcome::default());
}

/// Spawn every prospect as an asset entity in status `prospect`, carrying its [`Project`] terms.
fn spawn_prospects(world: &mut World, scenario: &Validated, registry: &Registry, clock: &Clock) {
    let s = scenario.scenario();
    for p in &s.prospects {
        let (Some(idx), Some(host), Some(mineral)) = (
            registry.asset(&p.id),
            registry.nation(&p.host),
            registry.mineral(&p.mineral),
        ) else {
            continue;
        };
        let mut developers: Vec<FirmIdx> = p
            .developers
            .iter()
            .filter_map(|d| registry.firm(d))
            .collect();
        developers.sort();
        developers.dedup();
        world.spawn((
            idx,
            Site {
                host,
                mineral,
                stage: p.stage,
            },
            Capacity {
                t_per_yr: p.capacity_t_per_yr,
                utilisation: PROSPECT_UTILISATION,
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
            Project {
                capex_usd: p.capex_usd,
                base_opex_usd_per_t: p.unit_opex_usd_per_t,
                developers,
                available_step: p.available_from.map_or(0, |y| clock.step_at(y)),
                local_processing_commitment: p.local_processing_commitment,
                retry_step: 0,
                sponsor: None,
                appraisal: None,
            },
        ));
    }
}

/// Utilisation of an asset built from a prospect: the scenario default for assets (0.85).
pub const PROSPECT_UTILISATION: f64 = 0.85;

/// Resources of investment, finance, capacity growth, politics, incidents and sourcing rules.
fn insert_investment_resources(
    world: &mut World,
    scenario: &Validated,
    registry: &Registry,
    timeline: &PolicyTimeline,
) {
    let s = scenario.scenario();
    let n = registry.n_nations();
    let nc = registry.n_minerals() * 2;
    let mut learning = LearningCurves {
        cumulative_t_per_yr: vec![0.0; nc * n],
        base_t_per_yr: vec![0.0; nc * n],
        n,
    };
    let mut assets: Vec<&crate::scenario::Asset> = s.assets.iter().collect();
    assets.sort_by(|a, b| a.id.cmp(&b.id));
    for a in assets {
        if !matches!(
            a.status,
            Status::Operating | Status::RampUp | Status::Suspended
        ) {
            continue;
        }
        if let (Some(m), Some(h)) = (registry.mineral(&a.mineral), registry.nation(&a.host)) {
            let i = commodity(m, a.stage) * n + usize::from(h.0);
            learning.cumulative_t_per_yr[i] += a.capacity_t_per_yr;
        }
    }
    learning
        .base_t_per_yr
        .clone_from(&learning.cumulative_t_per_yr);

    let mut financiers: Vec<FinancierState> = s
        .financiers
        .iter()
        .filter_map(|f| {
            let nation = registry.nation(&f.nation)?;
            let goals = s
                .nations
                .iter()
                .find(|x| x.id == f.nation)
                .map(|x| x.state_finance.clone())
                .unwrap_or_default();
            let strategic = if goals.strategic_minerals.is_empty() {
                vec![true; registry.n_minerals()]
            } else {
                let mut v = vec![false; registry.n_minerals()];
                for m in goals
                    .strategic_minerals
                    .iter()
                    .filter_map(|m| registry.mineral(m))
                {
                    v[usize::from(m.0)] = true;
                }
                v
            };
            Some(FinancierState {
                id: f.id.clone(),
                nation,
                scenario_budget_usd: f.annual_budget_usd,
                annual_budget_usd: f.annual_budget_usd,
                remaining_usd: 0.0,
                max_share: f.max_share,
                concessional_rate: f.concessional_rate,
                carry_over: f.carry_over,
                strategic,
                rival: goals.rival.as_deref().and_then(|r| registry.nation(r)),
                loan_tenor_years: f.loan_tenor_years,
                loan_grace_years: f.loan_grace_years,
                grant_share: f.grant_share,
                equity_share: f.equity_share,
                price_floor_ratio: f.price_floor_ratio,
                price_floor_years: f.price_floor_years,
                insurance_cover: f.insurance_cover,
                objective: f.objective,
            })
        })
        .collect();
    financiers.sort_by(|a, b| a.id.cmp(&b.id));

    let firm_invests = firms_by_index(scenario, registry)
        .iter()
        .map(|f| f.is_some_and(|f| f.invests))
        .collect();
    let recovery = registry
        .minerals
        .iter()
        .map(|id| {
            s.minerals
                .iter()
                .find(|m| &m.id == id)
                .map_or(1.0, |m| m.recovery)
        })
        .collect();
    world.insert_resource(InvestmentConfig {
        investment: s.investment.clone(),
        operations: s.operations.clone(),
        politics: s.politics.clone(),
        firm_invests,
        recovery,
    });
    world.insert_resource(SocialLicence {
        value: vec![1.0; n * n],
        n,
    });
    world.insert_resource(learning);
    world.insert_resource(FinanceBudgets { financiers });
    world.insert_resource(HostRecord {
        last_approval_step: vec![0; n],
        last_change_step: vec![0; n],
    });
    world.insert_resource(InvestmentLedger::default());
    world.insert_resource(crate::model::systems::sourcing::build_sourcing_rules(
        timeline,
        registry,
        f64::from(s.run.start_year),
    ));
}
