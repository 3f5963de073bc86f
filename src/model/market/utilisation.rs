//! Short-run supply of plants: how hard a mine or refinery runs, and when it idles or restarts
//! (`docs/ODD.md` §7.6.6).
//!
//! Why: with output fixed at nameplate × calibrated utilisation, a plant's only price response
//! was all-or-nothing dispatch at its cash cost, so a tight market could not call forth more
//! output at a higher cost, and a plant under water kept offering its capacity for ever. Here:
//!
//! - **Rising marginal cost above the calibrated utilisation.** A plant offers its calibrated
//!   output `u0 · K` (`K` nameplate × availability × ramp-up for the step) at its cash cost `c`
//!   (the solver's band ± `w` around it; for a refinery ± `w` of its conversion cost), and the
//!   headroom up to the technical maximum `ū · K` as **one** lot whose supply band is its
//!   marginal cost, rising linearly from `M0` to `M0 (1 + α)`: the calibration of positive
//!   mathematical programming (Howitt 1995), in which the observed output is optimal at the
//!   observed price, so the marginal cost at `u0` is at least the 2024 price `P0` (for a
//!   refinery the 2024 conversion margin `P0_ref − P0_ore / r`) and at least the top of the
//!   calibrated output's band: `M0 = max(P0, c + w c)`. A linear ramp is exactly the supply of
//!   a linear marginal cost, so one lot represents the curve without discretisation
//!   ([`headroom_lot`]).
//! - **Idling and restart with hysteresis.** A running plant whose price stays below the lower
//!   edge of its band, `p < C (1 − w)` (`C` the cash cost, ore included for a refinery), for `k`
//!   consecutive steps idles (care and
//!   maintenance: no output). An idle plant restarts when its price covers its cash cost plus
//!   the amortised restart cost, `p ≥ C + ρ c / H` with `R = ρ · c · u0 · nameplate` the
//!   restart cost (USD, reported as `restart_cost_usd`), and produces again `d` steps later. The
//!   gap between the exit and re-entry triggers is the band of inaction of Dixit (1989);
//!   Moel & Tufano (2002) find mine closures persistent and driven by sustained low prices and
//!   high costs, which the `k`-step rule stands for.

use bevy_ecs::prelude::*;

use crate::model::components::{
    AssetIdx, Capacity, Lifecycle, NationIdx, Output, PlantState, Site, Stage, Status, UnitCost,
};
use crate::model::events::{Event, Subject};
use crate::model::metrics as metric;
use crate::model::order::by_unique_key;
use crate::model::resources::{
    Clock, EventLog, EventRow, HostTerms, MarketConfig, MarketOutcome, MetricRow, Metrics,
    ObservedPairs, Prices, Registry, commodity,
};
use crate::model::systems::equilibrium::Lot;
use crate::model::tables::{Commodity, PerCommodityNation};
use crate::scenario::UtilisationSettings;

/// Marginal cost at the start of a plant's headroom, `M0 = max(P0, c_top)`: `anchor` the 2024
/// price `P0` (for a refinery its conversion margin) and `band_top` the top of the band on which
/// the calibrated output runs (`c + w c`), in the same units (before any ore cost).
pub fn headroom_start(anchor: f64, band_top: f64) -> f64 {
    anchor.max(band_top).max(0.0)
}

/// The headroom lot of a plant (`docs/ODD.md` §7.6.6): `quantity_t` of its `headroom_t` tonnes
/// above calibrated output, offered along the marginal cost `M0 (1 + α x / H)` from `M0` at
/// x = 0 to `M0 (1 + α q / H)` at x = q (the ramp of the solver's supply band is then exactly
/// the linear marginal cost), plus `extra_usd_per_t` on every tonne (a refinery's ore per tonne
/// of output). `None` when there is nothing to offer.
pub fn headroom_lot(
    asset: AssetIdx,
    host: NationIdx,
    quantity_t: f64,
    headroom_t: f64,
    m0: f64,
    premium: f64,
    extra_usd_per_t: f64,
) -> Lot {
    let q = quantity_t.clamp(0.0, headroom_t.max(0.0));
    let rise = if headroom_t > 0.0 {
        m0 * premium * q / headroom_t
    } else {
        0.0
    };
    Lot {
        asset,
        host,
        quantity_t: q,
        reservation_usd_per_t: m0 + extra_usd_per_t + 0.5 * rise,
        half_band_usd_per_t: Some(0.5 * rise),
    }
}

/// Marginal cost of running `run_t` of a plant's `headroom_t` tonnes, `M0 (1 + α x / H)`.
pub fn marginal_cost(m0: f64, premium: f64, run_t: f64, headroom_t: f64) -> f64 {
    if headroom_t > 0.0 {
        m0 * (1.0 + premium * (run_t / headroom_t).clamp(0.0, 1.0))
    } else {
        m0
    }
}

/// Restart cost of a plant, USD: `ρ · c · u0 · nameplate`.
pub fn restart_cost_usd(u: &UtilisationSettings, opex_usd_per_t: f64, capacity: &Capacity) -> f64 {
    u.restart_cost_years * opex_usd_per_t * capacity.utilisation * capacity.t_per_yr
}

/// Anchors `P0` of the rising marginal cost by `[commodity][nation]` (host), USD/t: the
/// scenario's 2024 calibrated prices (`minerals[].ore_price_usd_per_t`, `refined_price_usd_per_t`,
/// the prices at which the 2024 asset table's output is observed). For ore, the 2024 ore price;
/// for refined product, the 2024 conversion margin `P_ref − P_ore / r`. Not the model's step-0
/// prices: where step 0 clears away from the data (copper's ore price, with refining the
/// bottleneck, falls to the mines' cost at step 0), PMP on those prices would build the
/// distortion into the supply curve. Set after step 0 (no headroom is offered at the
/// calibration step, so step-0 shares are the 2024 data); the same for every host.
#[derive(Clone, Debug, Default, Resource)]
pub struct StretchAnchors {
    /// USD/t by `[commodity][nation]`.
    pub usd_per_t: Vec<Vec<f64>>,
}

impl StretchAnchors {
    /// Whether the calibration step has set them (headroom is offered only from step 1 on).
    pub fn ready(&self) -> bool {
        !self.usd_per_t.is_empty()
    }

    /// Anchor of commodity `c` in host `h`, USD/t (0 if unknown).
    pub fn get(&self, c: usize, h: NationIdx) -> f64 {
        self.usd_per_t
            .get(c)
            .and_then(|v| v.get(usize::from(h.0)))
            .copied()
            .unwrap_or(0.0)
    }

    /// Set at the end of the calibration step, from the scenario prices.
    fn calibrate(&mut self, prices: &Prices, recovery: &[f64], n: usize) {
        let nc = prices.reference_usd_per_t.len();
        let reference = |c: usize| prices.reference_usd_per_t.get(c).copied().unwrap_or(0.0);
        self.usd_per_t = vec![vec![0.0; n]; nc];
        for m in 0..nc / 2 {
            let (c_ore, c_ref) = (2 * m, 2 * m + 1);
            let r = recovery.get(m).copied().unwrap_or(1.0).max(1e-9);
            let margin = (reference(c_ref) - reference(c_ore) / r).max(0.0);
            self.usd_per_t[c_ore] = vec![reference(c_ore); n];
            self.usd_per_t[c_ref] = vec![margin; n];
        }
    }
}

/// Restart costs paid this step, USD, by `[commodity][nation]` (host).
#[derive(Clone, Debug, Default, Resource)]
pub struct RestartCosts {
    /// USD by `[commodity * n_nations + host]`.
    pub usd: Vec<f64>,
}

/// The price a plant's sellers net this step and its cash cost per tonne of output, USD/t:
/// `(p, c)` with `p` the host's producer price (the world transaction price net of the host's
/// export tax if the host sold nothing) net of the royalty for a mine, and `c` the conversion
/// cost plus the ore the host's plants paid per tonne of output for a refinery.
fn price_and_cash_cost(
    site: &Site,
    opex_usd_per_t: f64,
    outcome: &MarketOutcome,
    prices: &Prices,
    host_terms: &HostTerms,
    recovery: f64,
) -> (f64, f64) {
    let h = usize::from(site.host.0);
    let c = commodity(site.mineral, site.stage);
    let world = |c: usize| -> f64 {
        outcome
            .commodities
            .get(c)
            .and_then(|o| o.transaction_usd_per_t)
            .or_else(|| prices.usd_per_t.get(c).copied())
            .unwrap_or(0.0)
    };
    let tax = host_terms
        .export_tax
        .get(c)
        .and_then(|v| v.get(h))
        .copied()
        .unwrap_or(0.0);
    let producer = outcome
        .commodities
        .get(c)
        .and_then(|o| o.producer_usd_per_t.get(h))
        .copied()
        .filter(|p| *p > 0.0)
        .unwrap_or_else(|| world(c) * (1.0 - tax));
    match site.stage {
        Stage::Ore => {
            let royalty = host_terms.royalty.get(h).copied().unwrap_or(0.0);
            (producer * (1.0 - royalty), opex_usd_per_t)
        }
        Stage::Refined => {
            let c_ore = commodity(site.mineral, Stage::Ore);
            let ore = outcome
                .commodities
                .get(c_ore)
                .and_then(|o| o.buyer_usd_per_t.get(h))
                .copied()
                .filter(|p| *p > 0.0)
                .unwrap_or_else(|| world(c_ore));
            (producer, opex_usd_per_t + ore / recovery.max(1e-9))
        }
    }
}

/// After the markets clear: count each running plant's steps below cash cost, idle those below
/// it for `market.utilisation.idle_after_steps` steps, restart idle plants whose price covers
/// cash cost plus the amortised restart cost, and log `idle` / `restart` events.
#[expect(
    clippy::too_many_arguments,
    reason = "a bevy system takes its resources as parameters"
)]
pub fn update_plant_states(
    clock: Res<Clock>,
    registry: Res<Registry>,
    config: Res<MarketConfig>,
    host_terms: Res<HostTerms>,
    prices: Res<Prices>,
    outcome: Res<MarketOutcome>,
    mut costs: ResMut<RestartCosts>,
    mut anchors: ResMut<StretchAnchors>,
    mut events: ResMut<EventLog>,
    mut assets: Query<(
        &AssetIdx,
        &Site,
        &Capacity,
        &Lifecycle,
        &UnitCost,
        &mut PlantState,
    )>,
) {
    let u = &config.settings.utilisation;
    let w = config.settings.supply_smoothing;
    let n = registry.n_nations();
    costs.usd.clear();
    costs.usd.resize(registry.n_minerals() * 2 * n, 0.0);
    let step = clock.step;
    if !anchors.ready() {
        anchors.calibrate(&prices, &registry.recovery, n);
    }
    // A restart that is due, for every plant (each its own, in any order).
    for (.., mut state) in &mut assets {
        if state.restart_step.is_some_and(|s| step >= s) {
            state.restart_step = None;
        }
    }
    // Query order is not stable: decide and log in asset index order. Only operating plants
    // decide, so only their rows are put in that order.
    let rows = by_unique_key(
        assets
            .iter_mut()
            .filter(|(_, _, _, life, ..)| life.status == Status::Operating),
        registry.assets.len(),
        |(idx, ..)| idx.0 as usize,
    );
    for (idx, site, capacity, _, cost, mut state) in rows {
        let recovery = registry
            .recovery
            .get(usize::from(site.mineral.0))
            .copied()
            .unwrap_or(1.0);
        let (price, cash) = price_and_cash_cost(
            site,
            cost.opex_usd_per_t,
            &outcome,
            &prices,
            &host_terms,
            recovery,
        );
        let at = Subject {
            asset: Some(*idx),
            nation: Some(site.host),
            ..Subject::default()
        };
        match decide(&mut state, u, w, step, price, cash, cost.opex_usd_per_t) {
            Decision::None => {}
            Decision::Idle => events.rows.push(EventRow::typed(
                step,
                at,
                &Event::Idle {
                    price_usd_per_t: price,
                    cash_cost_usd_per_t: cash,
                    loss_steps: u.idle_after_steps,
                },
                &registry,
            )),
            Decision::Restart { first_output_step } => {
                let paid = restart_cost_usd(u, cost.opex_usd_per_t, capacity);
                costs.usd[commodity(site.mineral, site.stage) * n + usize::from(site.host.0)] +=
                    paid;
                events.rows.push(EventRow::typed(
                    step,
                    at,
                    &Event::Restart {
                        price_usd_per_t: price,
                        cash_cost_usd_per_t: cash,
                        restart_cost_usd: paid,
                        first_output_step,
                    },
                    &registry,
                ));
            }
        }
    }
}

/// What a plant decided at the end of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing changed.
    None,
    /// A running plant idles.
    Idle,
    /// An idle plant restarts; it produces again from `first_output_step`.
    Restart {
        /// First step with output.
        first_output_step: u32,
    },
}

/// The idle / restart rule for one operating plant at the end of `step`, given the price it
/// nets `price` and its cash cost `cash` per tonne (USD/t) and its own operating cost `opex`
/// (the base of the restart cost): a running plant counts consecutive steps with
/// `price < cash (1 − w)` and idles at `idle_after_steps`; an idle plant restarts when
/// `price ≥ cash + opex · restart_cost_years / restart_payback_years`, producing again
/// `restart_delay_steps` steps after the next.
pub fn decide(
    state: &mut PlantState,
    u: &UtilisationSettings,
    w: f64,
    step: u32,
    price: f64,
    cash: f64,
    opex: f64,
) -> Decision {
    if state.idle {
        // Restart threshold: cash cost plus the restart cost amortised over the payback years
        // of calibrated output, ρ c / H per tonne.
        let amortised = opex * u.restart_cost_years / u.restart_payback_years;
        if price >= cash + amortised {
            let first_output_step = step + 1 + u.restart_delay_steps;
            *state = PlantState {
                loss_steps: 0,
                idle: false,
                restart_step: Some(first_output_step),
            };
            return Decision::Restart { first_output_step };
        }
        return Decision::None;
    }
    if !state.runs(step) {
        return Decision::None;
    }
    // Below its cash cost by more than w of it. For a refinery the cash cost includes the ore,
    // paid at last step's netback (the quotational period, §7.6.2): in a falling market the
    // realised margin lags the conversion cost by the price change over one step, which this
    // tolerance absorbs (with w of the conversion cost only, both plants of `tiny.ron` idled
    // together in a long decline).
    if price < cash * (1.0 - w) {
        state.loss_steps += 1;
    } else {
        state.loss_steps = 0;
    }
    if state.loss_steps >= u.idle_after_steps {
        *state = PlantState {
            loss_steps: 0,
            idle: true,
            restart_step: None,
        };
        return Decision::Idle;
    }
    Decision::None
}

/// Record `idle_capacity` (annualised calibrated output of idle and restarting plants) and
/// `restart_cost_usd` for every observed (commodity, host).
pub fn record_utilisation_metrics(
    clock: Res<Clock>,
    registry: Res<Registry>,
    pairs: Res<ObservedPairs>,
    costs: Res<RestartCosts>,
    mut metrics: ResMut<Metrics>,
    assets: Query<(
        &AssetIdx,
        &Site,
        &Capacity,
        &Lifecycle,
        &PlantState,
        &Output,
    )>,
) {
    let n = registry.n_nations();
    let nc = registry.n_minerals() * 2;
    let mut idle = PerCommodityNation::new(nc, n, 0.0);
    // Only idle operating plants add to a sum: only their rows are put in index order.
    let rows = by_unique_key(
        assets.iter().filter(|(_, _, _, life, state, _)| {
            life.status == Status::Operating && !state.runs(clock.step)
        }),
        registry.assets.len(),
        |(idx, ..)| idx.0 as usize,
    );
    for (_, site, capacity, ..) in rows {
        let com = Commodity {
            mineral: site.mineral,
            stage: site.stage,
        };
        idle[(com, site.host)] += capacity.t_per_yr * capacity.utilisation;
    }
    for c in 0..nc {
        let com = Commodity::of_index(c);
        let Commodity { mineral, stage } = com;
        let row = |metric: &'static str, nation: NationIdx, value: f64| MetricRow {
            step: clock.step,
            metric,
            mineral: Some(mineral),
            stage: Some(stage),
            nation: Some(nation),
            partner: None,
            value,
        };
        for &h in &pairs.hosts[c] {
            let v = idle[(com, h)];
            metrics.rows.push(row(metric::IDLE_CAPACITY, h, v));
        }
        for &h in &pairs.hosts[c] {
            let v = costs
                .usd
                .get(c * n + usize::from(h.0))
                .copied()
                .unwrap_or(0.0);
            metrics.rows.push(row(metric::RESTART_COST_USD, h, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::systems::equilibrium::{Buyer, DemandCurve, Links, SolverSettings, solve};

    /// One plant (calibrated output 800 t per step at cash cost 100, headroom 150 t to
    /// ū = 0.95 of nameplate 1000, u0 = 0.8, premium α = 0.5, w = 0.05) sells to one buyer with
    /// a fixed order. Below its calibrated output it runs on its band at cost: 700 t clear at
    /// 95 + 700 / 800 · 10 = 103.75. An order of 870 t runs it at u = 0.87 at the price equal to
    /// the linear marginal cost there: M0 = max(P0 = 100, 100 · 1.05) = 105 and
    /// p = 105 (1 + 0.5 · 70 / 150) = 129.5.
    #[test]
    fn a_shortage_runs_the_plant_above_its_calibrated_utilisation_at_its_marginal_cost() {
        let (w, premium) = (0.05, 0.5);
        let m0 = headroom_start(100.0, 100.0 * (1.0 + w));
        assert_eq!(m0, 105.0);
        let lots = vec![
            Lot {
                asset: AssetIdx(0),
                host: NationIdx(0),
                quantity_t: 800.0,
                reservation_usd_per_t: 100.0,
                half_band_usd_per_t: None,
            },
            headroom_lot(AssetIdx(0), NationIdx(0), 150.0, 150.0, m0, premium, 0.0),
        ];
        let settings = SolverSettings {
            sigma: 4.0,
            smoothing: w,
            tolerance: 1e-12,
            max_iterations: 200,
            floor_usd_per_t: 1.0,
            ceiling_usd_per_t: 10_000.0,
        };
        let order = |t: f64| Buyer {
            nation: NationIdx(1),
            curve: DemandCurve::ConstantElasticity {
                reference_t: t,
                reference_usd_per_t: 100.0,
                elasticity: 0.0,
                credit_usd_per_t: 0.0,
                floor_usd_per_t: 1.0,
            },
            sourcing: None,
        };
        let links = Links::open(2);
        let slack = solve(&lots, &[order(700.0)], &links, &settings, &[100.0, 100.0]);
        let p = slack.producer_usd_per_t[0];
        assert!((p - 103.75).abs() < 1e-6, "{p}");
        assert_eq!(slack.dispatched_t[1], 0.0);
        let short = solve(&lots, &[order(870.0)], &links, &settings, &[100.0, 100.0]);
        let p = short.producer_usd_per_t[0];
        let run: f64 = short.dispatched_t.iter().sum();
        assert!((run - 870.0).abs() < 1e-6, "{run}");
        let mc = marginal_cost(m0, premium, 70.0, 150.0);
        assert!((mc - 129.5).abs() < 1e-12);
        assert!((p - mc).abs() < 1e-6, "{p} vs {mc}");
        // A feed-limited headroom lot (100 of 150 t) is the first part of the same curve.
        let part = headroom_lot(AssetIdx(0), NationIdx(0), 100.0, 150.0, m0, premium, 20.0);
        let top = part.reservation_usd_per_t + part.half_band_usd_per_t.unwrap_or(0.0);
        assert!((top - (marginal_cost(m0, premium, 100.0, 150.0) + 20.0)).abs() < 1e-9);
    }

    fn settings() -> UtilisationSettings {
        UtilisationSettings {
            idle_after_steps: 4,
            restart_delay_steps: 2,
            restart_cost_years: 0.25,
            restart_payback_years: 2.0,
            ..UtilisationSettings::default()
        }
    }

    /// One plant (cash cost 100, w = 0.05, k = 4, delay 2, ρ = 0.25, H = 2) facing a price path:
    /// it runs while the price covers its cash cost, rides out three steps below it, idles at the
    /// fourth consecutive step below 95, stays idle at prices between its cash cost and the
    /// restart threshold 100 (1 + 0.25 / 2) = 112.5 (hysteresis), restarts at 115 and produces
    /// again two steps after the next.
    #[test]
    fn a_plant_idles_after_k_steps_below_cash_cost_and_restarts_after_its_delay() {
        let u = settings();
        let mut state = PlantState::default();
        let path = [
            120.0, 90.0, 90.0, 90.0, 120.0, // a three-step dip: no idling
            90.0, 94.0, 90.0, 80.0, // four steps below 95: idle at step 8
            105.0, 112.0, // above cash cost, below the restart threshold: stays idle
            115.0, // restart decided at step 11, output from step 14
            120.0, 120.0, 120.0,
        ];
        let mut decisions = Vec::new();
        let mut running = Vec::new();
        for (step, price) in path.iter().enumerate() {
            let step = step as u32;
            running.push(state.runs(step));
            let d = decide(&mut state, &u, 0.05, step, *price, 100.0, 100.0);
            if d != Decision::None {
                decisions.push((step, d));
            }
        }
        assert_eq!(
            decisions,
            vec![
                (8, Decision::Idle),
                (
                    11,
                    Decision::Restart {
                        first_output_step: 14
                    }
                ),
            ]
        );
        // Produces through step 8 (the idle decision is taken after the step's market), nothing
        // from step 9 to 13, again from step 14.
        let expected: Vec<bool> = (0..path.len() as u32).map(|s| s <= 8 || s >= 14).collect();
        assert_eq!(running, expected);
        // The restart cost: ρ · c · u0 · nameplate = 0.25 · 100 · 0.8 · 1000.
        let cap = Capacity {
            t_per_yr: 1000.0,
            utilisation: 0.8,
        };
        assert!((restart_cost_usd(&u, 100.0, &cap) - 20_000.0).abs() < 1e-9);
    }
}
