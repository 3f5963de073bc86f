//! Morris elementary-effects screening (`design: (kind: "morris", ...)`, `morris.csv`).
//!
//! A Morris design ([`super::design::morris_points`]) is `r` trajectories of `k + 1` points on
//! the unit grid; consecutive points differ in one factor `i` by `±Δ`. The elementary effect of
//! that step is `EE_i = (f(x') - f(x)) / (x'_i - x_i)` in unit coordinates, i.e. the change of
//! the outcome per full range of the parameter (Morris 1991, Technometrics 33:161). Over the `r`
//! trajectories:
//!
//! - `μ_i = mean EE_i` (Morris 1991),
//! - `μ*_i = mean |EE_i|` (Campolongo, Cariboni & Saltelli 2007, Environ. Model. Softw.
//!   22:1509), which effects of opposite sign cannot cancel,
//! - `σ_i = sd EE_i` (divisor `r - 1`; empty for `r = 1`): nonlinearity or interactions.
//!
//! The interval of `μ*` is the bootstrap over trajectories, as SALib's `morris.analyze` does:
//! the `r` trajectories are resampled with replacement `B` times, and the half-width is
//! `z_{(1+c)/2} · sd_B(μ*)`. The resamples come from a ChaCha8 stream seeded by the sweep seed
//! and the tag `morris_bootstrap`, restarted for every outcome and year, so the intervals are a
//! function of the sweep file and the outputs only.

use rand::RngExt;

use super::sensitivity::{Bootstrap, sample_sd};

/// Output file of a Morris design.
pub const MORRIS_FILE: &str = "morris.csv";

/// Morris measures of one parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measures {
    /// Mean elementary effect.
    pub mu: f64,
    /// Mean absolute elementary effect.
    pub mu_star: f64,
    /// Standard deviation of the elementary effects (`None` for one trajectory).
    pub sigma: Option<f64>,
    /// Half-width of the bootstrap interval of `μ*` (`None` without resamples).
    pub mu_star_conf: Option<f64>,
}

/// The elementary effects `ee[t][i]` of every trajectory `t` and factor `i`, from the unit
/// design `x` (trajectory by trajectory, `k + 1` points each) and its outputs `y`. `None` when
/// the layout does not fit or a step does not move exactly one factor.
pub fn elementary_effects(k: usize, x: &[Vec<f64>], y: &[f64]) -> Option<Vec<Vec<f64>>> {
    let stride = k + 1;
    if k == 0 || x.is_empty() || x.len() != y.len() || !x.len().is_multiple_of(stride) {
        return None;
    }
    let mut out = Vec::with_capacity(x.len() / stride);
    for (xt, yt) in x.chunks_exact(stride).zip(y.chunks_exact(stride)) {
        let mut ee = vec![f64::NAN; k];
        for s in 0..k {
            let moved: Vec<usize> = (0..k).filter(|&i| xt[s + 1][i] != xt[s][i]).collect();
            let [i] = moved[..] else {
                return None;
            };
            ee[i] = (yt[s + 1] - yt[s]) / (xt[s + 1][i] - xt[s][i]);
        }
        if ee.iter().any(|e| !e.is_finite()) {
            return None;
        }
        out.push(ee);
    }
    Some(out)
}

fn mu_star(ee: &[Vec<f64>], pick: impl Iterator<Item = usize> + Clone, i: usize) -> f64 {
    let n = pick.clone().count() as f64;
    pick.map(|t| ee[t][i].abs()).sum::<f64>() / n
}

/// μ, μ*, σ and the μ* interval of every factor (module docs).
pub fn measures(ee: &[Vec<f64>], k: usize, boot: &Bootstrap) -> Vec<Measures> {
    let r = ee.len();
    let mut rng = boot.rng(b"morris_bootstrap");
    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(boot.resamples as usize); k];
    let mut pick = vec![0usize; r];
    for _ in 0..boot.resamples {
        for slot in pick.iter_mut() {
            *slot = rng.random_range(0..r);
        }
        for (i, d) in draws.iter_mut().enumerate() {
            d.push(mu_star(ee, pick.iter().copied(), i));
        }
    }
    let z = boot.z();
    (0..k)
        .map(|i| {
            let e: Vec<f64> = ee.iter().map(|t| t[i]).collect();
            Measures {
                mu: e.iter().sum::<f64>() / r as f64,
                mu_star: mu_star(ee, 0..r, i),
                sigma: sample_sd(&e),
                mu_star_conf: sample_sd(&draws[i]).map(|sd| z * sd),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::design::{morris_points, morris_step};

    #[test]
    fn trajectories_move_one_factor_by_delta_on_the_grid() {
        let (k, r, p) = (3, 20, 4);
        let x = morris_points(k, r, p, 7);
        assert_eq!(x.len(), r * (k + 1));
        let delta = morris_step(p);
        for t in x.chunks_exact(k + 1) {
            for s in 0..k {
                let d: Vec<f64> = (0..k).map(|i| t[s + 1][i] - t[s][i]).collect();
                assert_eq!(d.iter().filter(|v| **v != 0.0).count(), 1, "{t:?}");
                assert!(d.iter().any(|v| (v.abs() - delta).abs() < 1e-12), "{t:?}");
            }
            assert!(t.iter().flatten().all(|v| (0.0..=1.0).contains(v)));
        }
        assert_eq!(x, morris_points(k, r, p, 7));
        assert_ne!(x, morris_points(k, r, p, 8));
    }

    #[test]
    fn a_linear_function_has_its_known_elementary_effects() {
        // f = 3 a - 2 b + 0 c on ranges a ∈ [10, 20], b ∈ [0, 5], c ∈ [1, 2]: every elementary
        // effect of a is 3 × 10 = 30, of b is -2 × 5 = -10, of c is 0; so μ* = |coef| × range,
        // σ = 0, and every bootstrap resample gives the same μ* (interval 0).
        let (k, r, p) = (3, 10, 4);
        let x = morris_points(k, r, p, 1);
        let (lo, width, coef) = ([10.0, 0.0, 1.0], [10.0, 5.0, 1.0], [3.0, -2.0, 0.0]);
        let y: Vec<f64> = x
            .iter()
            .map(|u| (0..k).map(|i| coef[i] * (lo[i] + u[i] * width[i])).sum())
            .collect();
        let ee = elementary_effects(k, &x, &y).expect("a valid layout");
        let boot = Bootstrap {
            resamples: 100,
            conf_level: 0.95,
            seed: 1,
        };
        let m = measures(&ee, k, &boot);
        for i in 0..k {
            let expect = coef[i] * width[i];
            assert!((m[i].mu - expect).abs() < 1e-9, "{m:?}");
            assert!((m[i].mu_star - expect.abs()).abs() < 1e-9, "{m:?}");
            assert!(m[i].sigma.expect("r > 1") < 1e-9, "{m:?}");
            assert!(m[i].mu_star_conf.expect("resamples") < 1e-9, "{m:?}");
        }
    }

    #[test]
    fn effects_of_opposite_sign_cancel_in_mu_but_not_in_mu_star() {
        // f = (a - 0.5)^2 on the unit range: the effects have both signs.
        let x = morris_points(1, 50, 4, 3);
        let y: Vec<f64> = x.iter().map(|u| (u[0] - 0.5).powi(2)).collect();
        let ee = elementary_effects(1, &x, &y).expect("a valid layout");
        let boot = Bootstrap {
            resamples: 200,
            conf_level: 0.95,
            seed: 2,
        };
        let m = measures(&ee, 1, &boot)[0];
        // Steps are 0 ↔ 2/3 or 1/3 ↔ 1: EE = ±1/3 exactly.
        assert!((m.mu_star - 1.0 / 3.0).abs() < 1e-9, "{m:?}");
        assert!(m.mu.abs() < m.mu_star, "{m:?}");
        assert!(m.sigma.expect("r > 1") > 0.2, "{m:?}");
    }
}
