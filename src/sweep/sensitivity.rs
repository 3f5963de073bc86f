//! Variance-based sensitivity: first- and total-order Sobol' indices from a Saltelli design.
//!
//! Given model outputs laid out as [`super::design::saltelli_points`] produces them
//! (`f(A_j), f(AB_j^(1)), ..., f(AB_j^(k)), f(B_j)` per base row `j`), the estimators are those
//! recommended by Saltelli et al. (2010, Comput. Phys. Commun. 181:259, table 2):
//!
//! - first order, Saltelli (2010) (b): `S_i = mean_j[ (f(B_j) - f0) (f(AB_j^(i)) - f(A_j)) ] / V`
//! - total order, Jansen (1999) (f): `ST_i = mean_j[ (f(A_j) - f(AB_j^(i)))^2 ] / (2 V)`
//!
//! with `V` the variance of all `f(A_j)` and `f(B_j)` together (population variance, as SALib
//! computes it). These are the estimators SALib's `sobol.analyze` uses, with one change: `f(B_j)`
//! in the first-order sum is centred by the sample mean `f0` of the `f(A_j)` and `f(B_j)`. This
//! leaves the estimator's expectation unchanged (`mean_j[f(AB_j^(i)) - f(A_j)]` has expectation
//! zero) but removes its dependence on the outputs' offset: uncentred, an output like a capacity
//! of 100,000 ± 30,000 t/yr gives a first-order noise of order `(mean / sd) / sqrt(n)`.
//!
//! Confidence intervals come from the bootstrap, as in SALib's `sobol.analyze` (Archer, Saltelli
//! & Sobol' 1997, J. Stat. Comput. Simul. 58:99): the `n` base rows (each with its `k + 2`
//! outputs) are resampled with replacement `B` times, the indices recomputed on every resample,
//! and the half-width of the interval is `z_{(1+c)/2} * sd_B` (the normal approximation with the
//! bootstrap standard deviation, divisor `B - 1`), `c` the confidence level. SALib's default is
//! `B = 100`; orechain's is [`DEFAULT_RESAMPLES`] = 1000, which puts the Monte Carlo error of the
//! half-width itself near `1/sqrt(2B)` ≈ 2%. The resamples are drawn from a ChaCha8 stream seeded
//! by the sweep seed and the tag `bootstrap`, restarted for every outcome and year, so the
//! intervals are a function of the sweep file and the outputs only (any thread count or shard).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Bootstrap resamples used when the sweep file does not say.
pub const DEFAULT_RESAMPLES: u32 = 1000;
/// Confidence level of the intervals when the sweep file does not say.
pub const DEFAULT_CONF_LEVEL: f64 = 0.95;

/// First- and total-order indices of one parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Indices {
    /// First-order index `S_i`: share of output variance explained by parameter `i` alone.
    pub first: f64,
    /// Total-order index `ST_i`: share explained by `i` including all its interactions.
    pub total: f64,
}

/// Sobol' indices of `k` parameters from outputs `y` in Saltelli order (`y.len() = n (k + 2)`).
/// Returns `None` when the layout does not fit or the outputs have no variance (indices are then
/// undefined, and no NaN may reach a file).
pub fn sobol_indices(k: usize, y: &[f64]) -> Option<Vec<Indices>> {
    let stride = k + 2;
    if k == 0 || y.is_empty() || !y.len().is_multiple_of(stride) {
        return None;
    }
    let rows: Vec<&[f64]> = y.chunks_exact(stride).collect();
    indices_of_rows(k, rows.iter().copied())
}

/// The estimators of the module docs over a sequence of base rows (each `k + 2` outputs long),
/// which may repeat rows (a bootstrap resample).
fn indices_of_rows<'a>(
    k: usize,
    rows: impl Iterator<Item = &'a [f64]> + Clone,
) -> Option<Vec<Indices>> {
    let (mut n, mut sum, mut sum_sq) = (0usize, 0.0, 0.0);
    for row in rows.clone() {
        n += 1;
        for v in [row[0], row[k + 1]] {
            sum += v;
            sum_sq += v * v;
        }
    }
    if n == 0 {
        return None;
    }
    let count = (2 * n) as f64;
    let mean = sum / count;
    let variance = (sum_sq / count - mean * mean).max(0.0);
    // A variance at rounding level of the mean is no variance: `sum_sq / count - mean^2`
    // cancels catastrophically for constant outputs far from zero.
    if !(variance > 0.0 && variance.is_finite()) || variance <= (mean * mean) * 1e-14 {
        return None;
    }
    let mut first = vec![0.0; k];
    let mut total = vec![0.0; k];
    for row in rows {
        let (fa, fb) = (row[0], row[k + 1]);
        for i in 0..k {
            let fab = row[1 + i];
            first[i] += (fb - mean) * (fab - fa);
            total[i] += (fa - fab) * (fa - fab);
        }
    }
    Some(
        first
            .into_iter()
            .zip(total)
            .map(|(first, total)| Indices {
                first: first / n as f64 / variance,
                total: total / (2.0 * n as f64) / variance,
            })
            .collect(),
    )
}

/// How the bootstrap intervals are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bootstrap {
    /// Resamples `B` (0 = no intervals).
    pub resamples: u32,
    /// Confidence level `c` in (0, 1).
    pub conf_level: f64,
    /// The sweep seed.
    pub seed: u64,
}

impl Bootstrap {
    /// `z_{(1+c)/2}`: the half-width of the interval in bootstrap standard deviations.
    pub fn z(&self) -> f64 {
        normal_quantile(0.5 + self.conf_level / 2.0)
    }

    /// The resampling stream: ChaCha8 seeded by the sweep seed and a tag, restarted per use.
    pub fn rng(&self, tag: &[u8]) -> ChaCha8Rng {
        let mut bytes = [0u8; 32];
        bytes[0..8].copy_from_slice(&self.seed.to_le_bytes());
        let tag = &tag[..tag.len().min(24)];
        bytes[8..8 + tag.len()].copy_from_slice(tag);
        ChaCha8Rng::from_seed(bytes)
    }
}

/// Indices with the half-widths of their confidence intervals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndicesCi {
    /// Point estimates (from all base rows).
    pub indices: Indices,
    /// Half-width of the first-order interval (`None` without resamples or when fewer than two
    /// resamples had variance).
    pub first_conf: Option<f64>,
    /// Half-width of the total-order interval.
    pub total_conf: Option<f64>,
}

/// Sobol' indices with bootstrap intervals (module docs). `None` as for [`sobol_indices`].
pub fn sobol_indices_ci(k: usize, y: &[f64], boot: &Bootstrap) -> Option<Vec<IndicesCi>> {
    let point = sobol_indices(k, y)?;
    let rows: Vec<&[f64]> = y.chunks_exact(k + 2).collect();
    let n = rows.len();
    let mut rng = boot.rng(b"bootstrap");
    let mut draws: Vec<Vec<Indices>> = Vec::with_capacity(boot.resamples as usize);
    let mut pick = vec![0usize; n];
    for _ in 0..boot.resamples {
        for slot in pick.iter_mut() {
            *slot = rng.random_range(0..n);
        }
        // A resample whose outputs are all equal has no indices; it is left out (SALib would
        // give NaN and propagate it).
        if let Some(d) = indices_of_rows(k, pick.iter().map(|&j| rows[j])) {
            draws.push(d);
        }
    }
    let z = boot.z();
    let conf = |values: &mut dyn Iterator<Item = f64>| -> Option<f64> {
        let v: Vec<f64> = values.collect();
        sample_sd(&v).map(|sd| z * sd)
    };
    Some(
        point
            .into_iter()
            .enumerate()
            .map(|(i, indices)| IndicesCi {
                indices,
                first_conf: conf(&mut draws.iter().map(|d| d[i].first)),
                total_conf: conf(&mut draws.iter().map(|d| d[i].total)),
            })
            .collect(),
    )
}

/// Sample standard deviation (divisor `n - 1`); `None` for fewer than two values.
pub fn sample_sd(v: &[f64]) -> Option<f64> {
    if v.len() < 2 {
        return None;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let ss: f64 = v.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (v.len() - 1) as f64).sqrt())
}

/// Quantile of the standard normal distribution: Acklam's (2003) rational approximation
/// (relative error below 1.2e-9 on (0, 1)). `p` outside (0, 1) gives ±infinity.
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Quantile of Student's t distribution with `df` degrees of freedom, for `p` > 0.5 (upper
/// tail): exact for `df` = 1 and 2, Hill's (1970, Commun. ACM 13:617, algorithm 396) expansion
/// beyond, the method of R's `qt` for non-integer df (error below 1e-5 at p = 0.975).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    let sign = if p < 0.5 { -1.0 } else { 1.0 };
    // Hill works with the two-tailed probability.
    let p2 = 2.0 * (1.0 - p.max(1.0 - p));
    if p2.is_nan() || p2 <= 0.0 {
        return sign * f64::INFINITY;
    }
    let n = df;
    let t = if n <= 1.0 {
        (std::f64::consts::FRAC_PI_2 * (1.0 - p2)).tan()
    } else if n <= 2.0 {
        (2.0 / (p2 * (2.0 - p2)) - 2.0).sqrt()
    } else {
        let a = 1.0 / (n - 0.5);
        let b = 48.0 / (a * a);
        let mut c = ((20700.0 * a / b - 98.0) * a - 16.0) * a + 96.36;
        let d = ((94.5 / (b + c) - 3.0) / b + 1.0) * (a * std::f64::consts::FRAC_PI_2).sqrt() * n;
        let x = d * p2;
        let mut y = x.powf(2.0 / n);
        if y > 0.05 + a {
            let x = normal_quantile(0.5 * p2);
            y = x * x;
            if n < 5.0 {
                c += 0.3 * (n - 4.5) * (x + 0.6);
            }
            c += (((0.05 * d * x - 5.0) * x - 7.0) * x - 2.0) * x + b;
            y = (((((0.4 * y + 6.3) * y + 36.0) * y + 94.5) / c - y - 3.0) / b + 1.0) * x;
            y = a * y * y;
            y = if y > 0.002 {
                y.exp() - 1.0
            } else {
                0.5 * y * y + y
            };
        } else {
            y = ((1.0 / (((n + 6.0) / (n * y) - 0.089 * d - 0.822) * (n + 2.0) * 3.0)
                + 0.5 / (n + 4.0))
                * y
                - 1.0)
                * (n + 1.0)
                / (n + 2.0)
                + 1.0 / y;
        }
        (n * y).sqrt()
    };
    sign * t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::design::saltelli_points;
    use std::f64::consts::PI;

    /// Ishigami & Homma (1990): f = sin x1 + a sin² x2 + b x3⁴ sin x1 on [-π, π]³.
    fn ishigami(x: &[f64], a: f64, b: f64) -> f64 {
        x[0].sin() + a * x[1].sin().powi(2) + b * x[2].powi(4) * x[0].sin()
    }

    #[test]
    fn ishigami_indices_match_the_analytic_values() {
        // Analytic indices for a = 7, b = 0.1 (Saltelli et al. 2008, Global Sensitivity
        // Analysis: The Primer, §4.7; SALib's test suite uses the same values).
        let (a, b) = (7.0, 0.1);
        let first = [0.3139, 0.4424, 0.0];
        let total = [0.5576, 0.4424, 0.2437];
        // n = 2^13 base rows = 40,960 evaluations. At this n the largest error we observe is
        // 1.1e-3 (S1 of x1); quasi-Monte Carlo errors of these estimators on Ishigami fall
        // roughly as 1/n (Saltelli et al. 2010, fig. 3), so 0.01 leaves a ninefold margin for
        // platform float differences while still failing a wrong estimator (swapped A/B, the
        // Sobol' 1993 first-order form, a missing factor 2 all miss by more than 0.05).
        let n = 1 << 13;
        let y: Vec<f64> = saltelli_points(3, n)
            .iter()
            .map(|u| {
                let x: Vec<f64> = u.iter().map(|u| -PI + 2.0 * PI * u).collect();
                ishigami(&x, a, b)
            })
            .collect();
        let got = sobol_indices(3, &y).expect("Ishigami has variance");
        for i in 0..3 {
            assert!(
                (got[i].first - first[i]).abs() < 0.01,
                "S{} = {} (expected {})",
                i + 1,
                got[i].first,
                first[i]
            );
            assert!(
                (got[i].total - total[i]).abs() < 0.01,
                "ST{} = {} (expected {})",
                i + 1,
                got[i].total,
                total[i]
            );
        }
    }

    #[test]
    fn quantiles_match_published_tables() {
        // Abramowitz & Stegun table 26.1 / 26.10.
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        assert!((normal_quantile(0.005) + 2.575_829_304).abs() < 1e-8);
        for (df, want) in [
            (1.0, 12.7062),
            (2.0, 4.3027),
            (3.0, 3.1824),
            (5.0, 2.5706),
            (19.0, 2.0930),
            (100.0, 1.9840),
        ] {
            let got = student_t_quantile(0.975, df);
            assert!(
                (got - want).abs() < 1e-4,
                "t(0.975, {df}) = {got}, table {want}"
            );
        }
    }

    #[test]
    fn bootstrap_intervals_cover_the_analytic_ishigami_indices_and_shrink_with_n() {
        // The intervals of a Monte Carlo estimate must cover the truth about 95% of the time
        // and shrink like 1/sqrt(n); a wrong bootstrap (rows resampled within, not across
        // base rows; a missing z) fails one or the other.
        let (a, b) = (7.0, 0.1);
        let first = [0.3139, 0.4424, 0.0];
        let total = [0.5576, 0.4424, 0.2437];
        let boot = Bootstrap {
            resamples: 500,
            conf_level: 0.95,
            seed: 1,
        };
        let width = |n: usize| -> f64 {
            let y: Vec<f64> = saltelli_points(3, n)
                .iter()
                .map(|u| {
                    let x: Vec<f64> = u.iter().map(|u| -PI + 2.0 * PI * u).collect();
                    ishigami(&x, a, b)
                })
                .collect();
            let got = sobol_indices_ci(3, &y, &boot).expect("variance");
            let mut w = 0.0;
            for i in 0..3 {
                let f = got[i].first_conf.expect("interval");
                let t = got[i].total_conf.expect("interval");
                assert!(
                    (got[i].indices.first - first[i]).abs() < 1.5 * f + 0.01,
                    "n={n} S{i}: {:?}",
                    got[i]
                );
                assert!(
                    (got[i].indices.total - total[i]).abs() < 1.5 * t + 0.01,
                    "n={n} ST{i}: {:?}",
                    got[i]
                );
                w += f + t;
            }
            w
        };
        let (w256, w4096) = (width(256), width(4096));
        // 16 times the rows: about a quarter of the width.
        assert!(
            w4096 < 0.4 * w256 && w4096 > 0.15 * w256,
            "{w256} -> {w4096}"
        );
    }

    #[test]
    fn bootstrap_is_a_function_of_the_seed() {
        let y: Vec<f64> = saltelli_points(2, 64)
            .iter()
            .map(|x| x[0] + x[0] * x[1])
            .collect();
        let boot = Bootstrap {
            resamples: 100,
            conf_level: 0.9,
            seed: 4,
        };
        assert_eq!(
            sobol_indices_ci(2, &y, &boot),
            sobol_indices_ci(2, &y, &boot)
        );
        let other = Bootstrap { seed: 5, ..boot };
        assert_ne!(
            sobol_indices_ci(2, &y, &boot),
            sobol_indices_ci(2, &y, &other)
        );
    }

    #[test]
    fn constant_outputs_have_no_indices() {
        assert_eq!(sobol_indices(2, &[1.0; 8]), None);
        assert_eq!(sobol_indices(2, &[1.0; 7]), None);
        assert_eq!(sobol_indices(0, &[]), None);
    }

    #[test]
    fn an_additive_model_has_equal_first_and_total_indices() {
        // f = x1 + 2 x2: S = ST = (1/5, 4/5) for uniform inputs.
        let y: Vec<f64> = saltelli_points(2, 1 << 12)
            .iter()
            .map(|x| x[0] + 2.0 * x[1])
            .collect();
        let got = sobol_indices(2, &y).expect("variance");
        for (g, want) in got.iter().zip([0.2, 0.8]) {
            assert!((g.first - want).abs() < 0.01, "{g:?}");
            assert!((g.total - want).abs() < 0.01, "{g:?}");
        }
    }
}
