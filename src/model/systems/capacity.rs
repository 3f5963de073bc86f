//! Capacity growth: approved projects move through permitting, construction and ramp-up to
//! operation (phase 4 of a step), with durations, delays and cancellations drawn from seeded streams,
//! and learning by doing that lowers the cost of later builds in a host.
//!
//! The life cycle is monotone: permitting → construction → ramp-up → operating, or cancelled from
//! permitting or construction; nothing ever goes back. Every transition is an event, so capacity
//! growth can be followed project by project in `events.csv`.

use bevy_ecs::prelude::*;

use crate::model::order::counting_sort;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::model::components::{
    AssetIdx, Capacity, Governance, Lifecycle, NationIdx, Ownership, Site, Stage, Status,
};
use crate::model::resources::{
    Clock, EventLog, EventRow, InvestmentConfig, LearningCurves, Registry, SocialLicence, commodity,
};
use crate::model::rng::{Purpose, RngStreams};
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
    nations: Query<(&NationIdx, &Governance)>,
    mut assets: Query<(&AssetIdx, &Site, &Capacity, &Ownership, &mut Lifecycle)>,
) {
    let s = &config.investment;
    let step = clock.step;
    let spy = clock.steps_per_year;
    let dt = clock.dt_years();
    let mut governance = vec![crate::scenario::Governance::default(); registry.n_nations()];
    for (idx, gov) in &nations {
        governance[usize::from(idx.0)] = gov.0.clone();
    }
    let rows: Vec<_> = assets
        .iter_mut()
        .filter(|(.., life)| {
            matches!(
                life.status,
                Status::Permitting | Status::Construction | Status::RampUp
            )
        })
        .collect();
    // Query order is not stable: events and learning sums follow asset index order.
    let rows = counting_sort(rows, |(idx, ..)| idx.0 as usize);
    for (idx, site, capacity, owners, mut life) in rows {
        let key = registry.asset_keys[idx.0 as usize];
        let gov = &governance[usize::from(site.host.0)];
        let event = |kind: &'static str, detail: String| EventRow {
            step,
            kind,
            asset: Some(*idx),
            firm: owners.0.first().map(|(f, _)| *f),
            nation: Some(site.host),
            partner: None,
            detail,
        };
        // A stage given in the scenario without a timer gets its duration when the run starts.
        let Some(due) = life.due_step else {
            let mean = mean_stage_years(life.status, site.stage, gov, s);
            life.due_step =
                Some(step + draw_stage_steps(&streams, key, step, mean, s.duration_cv, spy));
            continue;
        };
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
                events.rows.push(event(
                    "cancellation",
                    format!("stage={}", life.status.as_str()),
                ));
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
                events.rows.push(event(
                    "delay",
                    format!("stage={}; extra_steps={extra}", life.status.as_str()),
                ));
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
            events.rows.push(event(
                "completion",
                format!("capacity_t_per_yr={}", capacity.t_per_yr),
            ));
        } else {
            let mean = mean_stage_years(next, site.stage, gov, s);
            let steps = draw_stage_steps(&streams, key, step, mean, s.duration_cv, spy);
            *life = Lifecycle {
                status: next,
                since_step: step,
                due_step: Some(step + steps),
            };
            let kind = if next == Status::Construction {
                "construction_start"
            } else {
                "ramp_up_start"
            };
            events
                .rows
                .push(event(kind, format!("duration_steps={steps}")));
        }
    }
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
    fn steps_round_and_never_vanish() {
        assert_eq!(years_to_steps(0.01, 4), 1);
        assert_eq!(years_to_steps(1.3, 4), 5);
    }
}
