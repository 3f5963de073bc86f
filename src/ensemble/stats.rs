//! Statistics over replicates: the sample summary (n, mean, sd, type-7 quantiles — shared with
//! the sweep summaries, [`crate::sweep::summary::Stats`]) and Student's t quantile for the 95 %
//! interval of a mean paired difference.
//!
//! The t quantile is computed, not tabulated: the t CDF is written with the regularized incomplete
//! beta function, `F(t; ν) = 1 − ½ I_{ν/(ν+t²)}(ν/2, ½)` for `t ≥ 0` (Abramowitz & Stegun 1964,
//! 26.7.1), evaluated by its continued fraction (Press et al. 2007, *Numerical Recipes*, 3rd ed.,
//! §6.4) with `ln Γ` from Lanczos' approximation (§6.1), and inverted by bisection.

pub use crate::sweep::summary::{Stats, quantile};

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9 coefficients; relative error below 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(π x).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Regularized incomplete beta `I_x(a, b)`.
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// CDF of Student's t with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// Quantile `p` (0.5 ≤ p < 1) of Student's t with `df ≥ 1` degrees of freedom, by bisection on
/// [`t_cdf`] to 1e-12.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while t_cdf(hi, df) < p && hi < 1e12 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// `t_quantile(0.975, df)` for a whole number of degrees of freedom, remembered per thread: a
/// comparison asks for it once per row with the same few `df`, and the bisection costs thousands
/// of continued-fraction evaluations. The value is the same bits as a fresh call.
pub fn t975(df: usize) -> f64 {
    thread_local! {
        static CACHE: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() <= df {
            c.resize(df + 1, f64::NAN);
        }
        if c[df].is_nan() {
            c[df] = t_quantile(0.975, df as f64);
        }
        c[df]
    })
}

/// A paired-difference summary: the sample statistics of the differences and the 95 % t
/// interval of their mean (`None` for fewer than two pairs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paired {
    /// Statistics of the differences.
    pub stats: Stats,
    /// 95 % interval of the mean difference: `mean ± t(0.975, n−1) · sd / √n`.
    pub ci95: Option<(f64, f64)>,
}

impl Paired {
    /// Summary of a non-empty sample of differences.
    pub fn of(diffs: &[f64]) -> Paired {
        let stats = Stats::of(diffs);
        let ci95 = stats.sd.map(|sd| {
            let n = stats.n as f64;
            let half = t975(stats.n - 1) * sd / n.sqrt();
            (stats.mean - half, stats.mean + half)
        });
        Paired { stats, ci95 }
    }

    /// Whether the 95 % interval lies entirely on one side of zero.
    pub fn excludes_zero(&self) -> Option<bool> {
        self.ci95.map(|(lo, hi)| lo > 0.0 || hi < 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // R: qt(0.975, c(1, 2, 9, 19, 29)); df 1000 from the Cornish–Fisher expansion to 1/ν³
        let cases = [
            (1.0, 12.706_204_736_174_7),
            (2.0, 4.302_652_729_749_46),
            (9.0, 2.262_157_162_798_2),
            (19.0, 2.093_024_054_408_26),
            (29.0, 2.045_229_642_132_7),
            (1000.0, 1.962_339_081),
        ];
        for (df, want) in cases {
            let got = t_quantile(0.975, df);
            assert!((got - want).abs() < 1e-8, "df {df}: {got} vs {want}");
        }
        assert!((t_cdf(0.0, 5.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn type_7_quantiles_by_hand() {
        // Sorted 1, 2, 4, 8, 16 (n = 5): h = (n − 1) p.
        // p05: h = 0.2 → 1 + 0.2 (2 − 1) = 1.2; p50: h = 2 → 4; p95: h = 3.8 → 8 + 0.8 · 8 = 14.4.
        let s = Stats::of(&[16.0, 4.0, 1.0, 8.0, 2.0]);
        assert!((s.p05 - 1.2).abs() < 1e-12);
        assert_eq!(s.p50, 4.0);
        assert!((s.p95 - 14.4).abs() < 1e-12);
        assert_eq!(s.mean, 6.2);
        // sd: Σ(x − 6.2)² = 27.04 + 17.64 + 4.84 + 3.24 + 96.04 = 148.8; /4 = 37.2.
        assert!((s.sd.expect("n > 1") - 37.2f64.sqrt()).abs() < 1e-12);
        // Two values: p05 = a + 0.05 (b − a).
        assert!((quantile(&[10.0, 20.0], 0.05) - 10.5).abs() < 1e-12);
    }

    #[test]
    fn paired_interval_is_a_t_interval() {
        // Differences 1, 2, 3: mean 2, sd 1, half width t(0.975, 2) / √3.
        let p = Paired::of(&[1.0, 2.0, 3.0]);
        let half = 4.302_652_729_749_46 / 3f64.sqrt();
        let (lo, hi) = p.ci95.expect("n = 3");
        assert!((lo - (2.0 - half)).abs() < 1e-9 && (hi - (2.0 + half)).abs() < 1e-9);
        assert_eq!(p.excludes_zero(), Some(false));
        assert_eq!(Paired::of(&[0.0, 0.0]).excludes_zero(), Some(false));
        assert_eq!(Paired::of(&[1.0, 1.1, 0.9]).excludes_zero(), Some(true));
        assert_eq!(Paired::of(&[1.0]).ci95, None);
    }
}
