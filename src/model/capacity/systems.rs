//! Capacity growth: approved projects move through permitting, construction and ramp-up to
//! operation (phase 4 of a step), with durations, delays and cancellations drawn from seeded streams,
//! and learning by doing that lowers the cost of later builds in a host.
//!
//! The life cycle is monotone: permitting → construction → ramp-up → operating, or cancelled from
//! permitting or construction; nothing ever goes back. Every transition is an event, so capacity
//! growth can be followed project by project in `events.csv`.
//!
//! Projects are real options (Dixit & Pindyck 1994, ch. 5; Brennan & Schwartz 1985): every step a
//! project in permitting or construction is re-valued at the current price expectations — the
//! value of finishing it is the present value of its operating margin less the capex still to be
//! spent. While that value is negative the project is deferred (its timer stops; `deferral`);
//! when it turns positive again it resumes (`resumption`); a project deferred longer than
//! `investment.max_deferral_years` is cancelled (`cancellation`, reason `value of finishing
//! negative`). Sunk capex does not count, so a nearly finished project survives a price fall that
//! cancels one just started, and a low-cost project survives one that cancels a marginal project.

use bevy_ecs::prelude::*;

use crate::model::order::by_unique_key;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::model::components::{
    AssetIdx, Capacity, Governance, Lifecycle, NationIdx, Ownership, Project, Site, Stage, Status,
};
use crate::model::events::{CancelCause, Event, Subject};
use crate::model::finance::systems::{annuity, floor_value_usd};
use crate::model::resources::{
    Clock, EventLog, EventRow, HostTerms, InvestmentConfig, LearningCurves, PriceExpectations,
    Prices, ProducerPrices, Registry, SocialLicence, commodity,
};
use crate::model::rng::{Purpose, RngStreams};
use crate::model::systems::investment::{PriceView, SiteTerms};
use crate::model::tables::PerMineralNation;
use crate::scenario::InvestmentSettings;

/// Mean duration of a life-cycle stage in a host, years: the configured mean (for average
/// governance, 0.5) × (1 + effect × (0.5 − x)), with x the host's regulatory stability for permitting
/// and its infrastructure for construction and ramp-up; the multiplier is at least 0.05.
pub fn mean_stage_years(
    status: Status,
    stage: Stage,
    gov: &crate::scenario::Governance,
    s: &InvestmentSettings,
) -> f64 {
    let (base, x) = match (status, stage) {
        (Status::Permitting, Stage::Ore) => (s.mine_permitting_years, gov.regulatory_stability),
        (Status::Permitting, Stage::Refined) => {
            (s.refinery_permitting_years, gov.regulatory_stability)
        }
        (Status::Construction, Stage::Ore) => (s.mine_construction_years, gov.infrastructure),
        (Status::Construction, Stage::Refined) => {
            (s.refinery_construction_years, gov.infrastructure)
        }
        (Status::RampUp, _) => (s.ramp_up_years, gov.infrastructure),
        _ => return 0.0,
    };
    base * (1.0 + s.governance_duration_effect * (0.5 - x)).max(0.05)
}

/// A standard normal draw (Box–Muller).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // 1 - u is in (0, 1], so the logarithm is finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A lognormal draw with the given mean and coefficient of variation (mean exactly preserved:
/// σ² = ln(1 + cv²), μ = ln(mean) − σ²/2).
pub fn draw_lognormal(rng: &mut ChaCha8Rng, mean: f64, cv: f64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    if cv <= 0.0 {
        return mean;
    }
    let sigma2 = (1.0 + cv * cv).ln();
    mean * (sigma2.sqrt() * standard_normal(rng) - sigma2 / 2.0).exp()
}

/// Whole steps of a duration in years: rounded, at least one step.
pub fn years_to_steps(years: f64, steps_per_year: u32) -> u32 {
    let steps = (years * f64::from(steps_per_year)).round();
    if steps >= 1.0 {
        steps.min(f64::from(u32::MAX / 2)) as u32
    } else {
        1
    }
}

/// Draw the length in steps of a stage that starts now.
pub fn draw_stage_steps(
    streams: &RngStreams,
    key: u64,
    step: u32,
    mean_years: f64,
    cv: f64,
    steps_per_year: u32,
) -> u32 {
    let mut rng = streams.stream(Purpose::Duration, key, step);
    years_to_steps(draw_lognormal(&mut rng, mean_years, cv), steps_per_year)
}

/// Capex and opex multiplier from learning by doing in a host:
/// (cumulative / base)^log2(1 − learning rate), 1 before anything has been built.
pub fn learning_factor(curves: &LearningCurves, c: usize, host: NationIdx, rate: f64) -> f64 {
    let i = c * curves.n + usize::from(host.0);
    let base = curves.base_t_per_yr[i];
    if base <= 0.0 || rate <= 0.0 {
        return 1.0;
    }
    (curves.cumulative_t_per_yr[i] / base)
        .max(1.0)
        .powf((1.0 - rate).log2())
}

/// Equity-weighted social licence of an asset's owners' homes in its host (1 without owners).
pub fn owners_licence(
    licence: &SocialLicence,
    registry: &Registry,
    host: NationIdx,
    owners: &Ownership,
) -> f64 {
    if owners.0.is_empty() {
        return 1.0;
    }
    owners
        .0
        .iter()
        .map(|(f, share)| licence.get(host, registry.firm_home[f.0 as usize]) * share)
        .sum()
}

fn next_status(status: Status) -> Option<Status> {
    match status {
        Status::Permitting => Some(Status::Construction),
        Status::Construction => Some(Status::RampUp),
        Status::RampUp => Some(Status::Operating),
        _ => None,
    }
}

/// The asset components the life-cycle step reads and writes.
type ProjectData = (
    &'static AssetIdx,
    &'static Site,
    &'static Capacity,
    &'static Ownership,
    &'static mut Lifecycle,
    Option<&'static mut Project>,
);

/// Advance every project in permitting, construction or ramp-up by one step.
#[expect(
    clippy::too_many_arguments,
    reason = "a bevy system takes its resources as parameters"
)]
pub fn advance_projects(
    clock: Res<Clock>,
    registry: Res<Registry>,
    streams: Res<RngStreams>,
    config: Res<InvestmentConfig>,
    licence: Res<SocialLicence>,
    mut learning: ResMut<LearningCurves>,
    mut events: ResMut<EventLog>,
    (expectations, prices, producer, terms): (
        Res<PriceExpectations>,
        Res<Prices>,
        Res<ProducerPrices>,
        Res<HostTerms>,
    ),
    nations: Query<(&NationIdx, &Governance)>,
    mut assets: Query<ProjectData>,
) {
    let s = &config.investment;
    let step = clock.step;
    let spy = clock.steps_per_year;
    let dt = clock.dt_years();
    let n = registry.n_nations();
    let mut governance = vec![crate::scenario::Governance::default(); n];
    for (idx, gov) in &nations {
        governance[usize::from(idx.0)] = gov.0.clone();
    }
    // Whether each host mines each mineral (for a refinery's expected ore feed).
    let mut has_ore = PerMineralNation::new(registry.n_minerals(), n, false);
    for (_, site, _, _, life, _) in &assets {
        if site.stage == Stage::Ore && life.status == Status::Operating {
            has_ore[(site.mineral, site.host)] = true;
        }
    }
    let view = PriceView {
        expectations: &expectations,
        producer: &producer,
        prices: &prices,
    };
    let rows = assets.iter_mut().filter(|(.., life, _)| {
        matches!(
            life.status,
            Status::Permitting | Status::Construction | Status::RampUp
        )
    });
    // Query order is not stable: events and learning sums follow asset index order.
    let rows = by_unique_key(rows, registry.assets.len(), |(idx, ..)| idx.0 as usize);
    for (idx, site, capacity, owners, mut life, mut project) in rows {
        let key = registry.asset_keys[idx.0 as usize];
        let gov = &governance[usize::from(site.host.0)];
        let who = Subject {
            asset: Some(*idx),
            firm: owners.0.first().map(|(f, _)| *f),
            nation: Some(site.host),
            partner: None,
        };
        let event = |e: Event| EventRow::typed(step, who, &e, &registry);
        // A stage given in the scenario without a timer gets its duration when the run starts.
        let Some(due) = life.due_step else {
            let mean = mean_stage_years(life.status, site.stage, gov, s);
            life.due_step =
                Some(step + draw_stage_steps(&streams, key, step, mean, s.duration_cv, spy));
            continue;
        };
        // Real-option review of a project in permitting or construction.
        if matches!(life.status, Status::Permitting | Status::Construction)
            && let Some(project) = project.as_deref_mut()
            && let Some(appraisal) = project.appraisal.as_mut()
        {
            let h = usize::from(site.host.0);
            let m = usize::from(site.mineral.0);
            let ore_c = commodity(site.mineral, Stage::Ore);
            let site_terms = SiteTerms {
                ore_export_tax: terms
                    .export_tax
                    .get(ore_c)
                    .and_then(|r| r.get(h))
                    .copied()
                    .unwrap_or(0.0),
                ore_export_ban: terms
                    .ore_export_ban
                    .get(m)
                    .and_then(|r| r.get(h))
                    .copied()
                    .unwrap_or(false),
                royalty: terms.royalty.get(h).copied().unwrap_or(0.0),
                commits: project.local_processing_commitment,
                host_has_ore: has_ore[(site.mineral, site.host)],
            };
            let recovery = registry.recovery.get(m).copied().unwrap_or(1.0);
            let (net, product) = view.net_price(site, &site_terms, s, recovery);
            let finish = finishing_value(
                appraisal,
                life.status,
                life.since_step,
                due,
                step,
                spy,
                FinishingMarket {
                    net_usd_per_t: net,
                    product_usd_per_t: product,
                    output_t_per_yr: capacity.t_per_yr * capacity.utilisation,
                    construction_years: mean_stage_years(Status::Construction, site.stage, gov, s)
                        * appraisal.duration_factor,
                    ramp_up_years: mean_stage_years(Status::RampUp, site.stage, gov, s),
                },
                s,
            );
            if finish < 0.0 {
                appraisal.deferred_steps += 1;
                if f64::from(appraisal.deferred_steps) * dt > s.max_deferral_years {
                    events.rows.push(event(Event::Cancellation {
                        stage: life.status,
                        cause: CancelCause::NegativeValue { value_usd: finish },
                    }));
                    *life = Lifecycle {
                        status: Status::Cancelled,
                        since_step: step,
                        due_step: None,
                    };
                    continue;
                }
                if appraisal.deferred_steps == 1 {
                    events.rows.push(event(Event::Deferral {
                        stage: life.status,
                        value_usd: finish,
                    }));
                }
                // The timer stops while deferred.
                life.due_step = Some(due + 1);
                continue;
            }
            if appraisal.deferred_steps > 0 {
                events.rows.push(event(Event::Resumption {
                    stage: life.status,
                    deferred_steps: appraisal.deferred_steps,
                    value_usd: finish,
                }));
                appraisal.deferred_steps = 0;
            }
        }
        if matches!(life.status, Status::Permitting | Status::Construction)
            && step > life.since_step
        {
            let conflict = 2.0 - owners_licence(&licence, &registry, site.host, owners);
            let exposure = (1.0 - gov.regulatory_stability) * conflict;
            let p_cancel = 1.0 - (-s.max_cancellation_hazard_per_yr * exposure * dt).exp();
            let p_delay = 1.0 - (-s.max_delay_hazard_per_yr * exposure * dt).exp();
            let mut rng = streams.stream(Purpose::Hazard, key, step);
            let u_cancel: f64 = rng.random();
            let u_delay: f64 = rng.random();
            if u_cancel < p_cancel {
                events.rows.push(event(Event::Cancellation {
                    stage: life.status,
                    cause: CancelCause::Hazard,
                }));
                *life = Lifecycle {
                    status: Status::Cancelled,
                    since_step: step,
                    due_step: None,
                };
                continue;
            }
            if u_delay < p_delay {
                let extra = years_to_steps(
                    draw_lognormal(&mut rng, s.delay_mean_years, s.duration_cv),
                    spy,
                );
                life.due_step = Some(due + extra);
                events.rows.push(event(Event::Delay {
                    stage: life.status,
                    extra_steps: extra,
                }));
                continue;
            }
        }
        if step < due {
            continue;
        }
        let Some(next) = next_status(life.status) else {
            continue;
        };
        if next == Status::Operating {
            *life = Lifecycle {
                status: next,
                since_step: step,
                due_step: None,
            };
            let i = commodity(site.mineral, site.stage) * learning.n + usize::from(site.host.0);
            learning.cumulative_t_per_yr[i] += capacity.t_per_yr;
            if learning.base_t_per_yr[i] <= 0.0 {
                learning.base_t_per_yr[i] = capacity.t_per_yr;
            }
            events.rows.push(event(Event::Completion {
                capacity_t_per_yr: capacity.t_per_yr,
            }));
        } else {
            // The builder's speed applies to permitting and construction, not to ramp-up.
            let factor = match (next, project.as_deref()) {
                (Status::Construction, Some(p)) => p.appraisal.map_or(1.0, |a| a.duration_factor),
                _ => 1.0,
            };
            let mean = factor * mean_stage_years(next, site.stage, gov, s);
            let steps = draw_stage_steps(&streams, key, step, mean, s.duration_cv, spy);
            *life = Lifecycle {
                status: next,
                since_step: step,
                due_step: Some(step + steps),
            };
            events.rows.push(event(Event::StageStart {
                stage: next,
                duration_steps: steps,
            }));
        }
    }
}

/// The market a project under way would sell into.
#[derive(Clone, Copy, Debug)]
pub struct FinishingMarket {
    /// Expected net price, USD/t.
    pub net_usd_per_t: f64,
    /// Expected price of the output, USD/t.
    pub product_usd_per_t: f64,
    /// Output once running, t/yr.
    pub output_t_per_yr: f64,
    /// Mean construction time for this builder and host, years.
    pub construction_years: f64,
    /// Mean ramp-up time, years.
    pub ramp_up_years: f64,
}

#[expect(
    clippy::too_many_arguments,
    reason = "the life-cycle facts and the market are read from different components"
)]
/// Value of finishing a project in permitting or construction, USD: −(capex still to spend) +
/// (margin × output) a(r, life) (1+r)^−T + floor value, with T the expected years to full output.
/// Capex is spent evenly over construction: all of it is still to spend in permitting, the share
/// of construction time left during construction.
pub fn finishing_value(
    a: &crate::model::components::Appraisal,
    status: Status,
    since_step: u32,
    due_step: u32,
    step: u32,
    steps_per_year: u32,
    market: FinishingMarket,
    s: &InvestmentSettings,
) -> f64 {
    let spy = f64::from(steps_per_year.max(1));
    let left_years = f64::from(due_step.saturating_sub(step)) / spy;
    let (capex_left, lead) = match status {
        Status::Permitting => (
            a.capex_usd,
            left_years + market.construction_years + market.ramp_up_years / 2.0,
        ),
        _ => {
            let total = f64::from(due_step.saturating_sub(since_step)).max(1.0);
            let share_left = f64::from(due_step.saturating_sub(step)) / total;
            (
                a.capex_usd * share_left.clamp(0.0, 1.0),
                left_years + market.ramp_up_years / 2.0,
            )
        }
    };
    let r = a.discount_rate.max(0.001);
    let cash = (market.net_usd_per_t - a.cost_usd_per_t) * market.output_t_per_yr;
    -capex_left
        + cash * annuity(r, s.asset_life_years) * (1.0 + r).powf(-lead)
        + floor_value_usd(
            market.output_t_per_yr,
            market.product_usd_per_t,
            a.floor_usd_per_t,
            s.price_volatility,
            r,
            lead,
            a.floor_years,
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rng::stable_key;

    fn sample_mean(mean: f64, cv: f64, n: u32) -> f64 {
        let streams = RngStreams { seed: 11 };
        let total: f64 = (0..n)
            .map(|i| {
                let mut rng = streams.stream(Purpose::Duration, stable_key("p"), i);
                draw_lognormal(&mut rng, mean, cv)
            })
            .sum();
        total / f64::from(n)
    }

    #[test]
    fn lognormal_draws_have_the_configured_mean() {
        for (mean, cv) in [(3.5, 0.35), (1.25, 0.35), (0.852, 0.5), (4.0, 1.0)] {
            let m = sample_mean(mean, cv, 20_000);
            assert!(
                (m / mean - 1.0).abs() < 0.05,
                "sample mean {m} vs configured {mean}"
            );
        }
    }

    #[test]
    fn weaker_governance_lengthens_stages() {
        let s = InvestmentSettings::default();
        let strong = crate::scenario::Governance {
            regulatory_stability: 0.9,
            infrastructure: 0.9,
            ..Default::default()
        };
        let average = crate::scenario::Governance::default();
        for status in [Status::Permitting, Status::Construction, Status::RampUp] {
            let a = mean_stage_years(status, Stage::Refined, &average, &s);
            let b = mean_stage_years(status, Stage::Refined, &strong, &s);
            assert!(b < a, "{status:?}: {b} should be below {a}");
        }
        // Average governance gives the configured mean (parameters.csv refinery_build 3.5 y).
        assert_eq!(
            mean_stage_years(Status::Construction, Stage::Refined, &average, &s),
            3.5
        );
    }

    #[test]
    fn learning_lowers_cost_by_the_rate_per_doubling() {
        let curves = LearningCurves {
            cumulative_t_per_yr: vec![400.0],
            base_t_per_yr: vec![100.0],
            n: 1,
        };
        let f = learning_factor(&curves, 0, NationIdx(0), 0.1);
        assert!((f - 0.81).abs() < 1e-12, "two doublings at 10%: {f}");
    }

    #[test]
    fn a_price_collapse_during_construction_cancels_the_marginal_project_and_spares_the_low_cost_one()
     {
        // Two refineries half-way through a 3-year construction (quarterly steps), 10 kt/yr at
        // utilisation 1, capex 300 M USD, 10% rate, 20-year life, no floor. The expected net
        // price collapses from 15,000 to 6,000 USD/t. Closed form: value = −150 M + (p − c) × 10 kt ×
        // a(0.1, 20) × 1.1^−(1.5 + 0.625), a(0.1, 20) = 8.5136.
        let s = InvestmentSettings::default();
        let appraisal = |cost: f64| crate::model::components::Appraisal {
            discount_rate: 0.1,
            capex_usd: 300e6,
            cost_usd_per_t: cost,
            floor_usd_per_t: 0.0,
            floor_years: 0.0,
            duration_factor: 1.0,
            deferred_steps: 0,
        };
        let market = |net: f64| FinishingMarket {
            net_usd_per_t: net,
            product_usd_per_t: net,
            output_t_per_yr: 10_000.0,
            construction_years: 3.0,
            ramp_up_years: 1.25,
        };
        let value = |cost: f64, net: f64| {
            finishing_value(
                &appraisal(cost),
                Status::Construction,
                0,
                12,
                6,
                4,
                market(net),
                &s,
            )
        };
        let closed = |cost: f64, net: f64| {
            -150e6 + (net - cost) * 10_000.0 * 8.513_564 * 1.1f64.powf(-(1.5 + 0.625))
        };
        for (cost, net) in [(5_500.0, 6_000.0), (3_000.0, 6_000.0), (5_500.0, 15_000.0)] {
            assert!((value(cost, net) - closed(cost, net)).abs() < 1e3);
        }
        // Before the collapse both are worth finishing; after it the marginal one is not.
        assert!(value(5_500.0, 15_000.0) > 0.0 && value(3_000.0, 15_000.0) > 0.0);
        assert!(value(5_500.0, 6_000.0) < 0.0, "marginal project survives");
        assert!(value(3_000.0, 6_000.0) > 0.0, "low-cost project cancelled");
        // Sunk capex does not count: the marginal project nearly finished is still worth finishing.
        let late = finishing_value(
            &appraisal(5_500.0),
            Status::Construction,
            0,
            12,
            11,
            4,
            market(6_000.0),
            &s,
        );
        assert!(late > 0.0, "{late}");
    }

    #[test]
    fn steps_round_and_never_vanish() {
        assert_eq!(years_to_steps(0.01, 4), 1);
        assert_eq!(years_to_steps(1.3, 4), 5);
    }
}
