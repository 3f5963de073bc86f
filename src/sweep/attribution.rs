//! Lever attribution: what each named lever of a policy bundle contributes to an outcome, from
//! the full `2^k` factorial of levers on/off run with common random numbers.
//!
//! With `y(S)` the outcome when the levers in `S` are on (one replicate, so one seed at every
//! point: the differences below are paired by seed), for every replicate:
//!
//! - `bundle` = `y(K) − y(∅)`: the whole bundle against none of it;
//! - `alone` of lever `i` = `y({i}) − y(∅)`;
//! - `main` of `i` = the factorial main effect, the mean over the `2^(k−1)` sets `S ∌ i` of
//!   `y(S ∪ {i}) − y(S)` (Box, Hunter & Hunter 2005, Statistics for Experimenters, 2nd ed., §5.5);
//! - `interaction` of `i, j` = the mean over `S ∌ i, j` of
//!   `y(S ∪ {i, j}) − y(S ∪ {i}) − y(S ∪ {j}) + y(S)` (twice Box–Hunter–Hunter's half-difference
//!   convention, so that in `y = a x_i + b x_j + c x_i x_j` the interaction is `c`);
//! - `shapley` of `i` = `Σ_{S ∌ i} |S|! (k − |S| − 1)! / k! · (y(S ∪ {i}) − y(S))`, the Shapley
//!   (1953) value of the game `v(S) = y(S) − y(∅)`: the only split of the bundle effect that
//!   sums to it (efficiency), treats symmetric levers alike and gives a null lever 0; exact over
//!   the `2^k` coalitions (as Owen 2014, SIAM/ASA JUQ 2:245, uses it for variance shares).
//!
//! Each term is then summarised over the replicates: `n`, mean, sd (divisor `n − 1`) and the
//! interval `mean ± t_{(1+c)/2, n−1} · sd / sqrt(n)` (Student's t). A replicate with a failed run
//! at any point is left out of that outcome-year (pairing needs every point).

use std::collections::BTreeMap;
use std::path::Path;

use super::analysis::SeriesKey;
use super::atomic::AtomicFile;
use super::sensitivity::{sample_sd, student_t_quantile};
use crate::output::tables::push_field;

/// The attribution table.
pub const ATTRIBUTION_FILE: &str = "attribution.csv";

/// One attribution term of one replicate.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// `bundle`, `alone`, `main`, `interaction` or `shapley`.
    pub kind: &'static str,
    /// Lever indices the term is about (empty for the bundle).
    pub levers: Vec<usize>,
    /// Value.
    pub value: f64,
}

/// The point index of a coalition (bit `i` of `mask` = lever `i` on) in the design's order
/// (the full factorial with the first lever varying slowest).
pub fn point_of(mask: usize, k: usize) -> usize {
    (0..k)
        .filter(|i| mask >> i & 1 == 1)
        .map(|i| 1 << (k - 1 - i))
        .sum()
}

fn factorial(n: usize) -> f64 {
    (1..=n).map(|x| x as f64).product()
}

/// The terms of one replicate from `y[mask]` (coalition masks `0..2^k`).
pub fn terms(k: usize, y: &[f64]) -> Vec<Term> {
    let full = (1usize << k) - 1;
    let mut out = vec![Term {
        kind: "bundle",
        levers: Vec::new(),
        value: y[full] - y[0],
    }];
    for i in 0..k {
        let bit = 1 << i;
        out.push(Term {
            kind: "alone",
            levers: vec![i],
            value: y[bit] - y[0],
        });
        let (mut main, mut shapley) = (0.0, 0.0);
        for s in (0..=full).filter(|s| s & bit == 0) {
            let d = y[s | bit] - y[s];
            main += d;
            let size = s.count_ones() as usize;
            shapley += factorial(size) * factorial(k - size - 1) / factorial(k) * d;
        }
        out.push(Term {
            kind: "main",
            levers: vec![i],
            value: main / (1 << (k - 1)) as f64,
        });
        out.push(Term {
            kind: "shapley",
            levers: vec![i],
            value: shapley,
        });
    }
    for i in 0..k {
        for j in i + 1..k {
            let (bi, bj) = (1 << i, 1 << j);
            let contexts: Vec<usize> = (0..=full).filter(|s| s & (bi | bj) == 0).collect();
            let sum: f64 = contexts
                .iter()
                .map(|&s| y[s | bi | bj] - y[s | bi] - y[s | bj] + y[s])
                .sum();
            out.push(Term {
                kind: "interaction",
                levers: vec![i, j],
                value: sum / contexts.len() as f64,
            });
        }
    }
    out
}

/// Write `attribution.csv` from the per-run values (`values[key][run_id]`, runs numbered point by
/// point, `replicates` per point).
pub fn write_attribution(
    out_dir: &Path,
    levers: &[&str],
    names: &[String],
    values: &BTreeMap<SeriesKey, Vec<Option<f64>>>,
    replicates: usize,
    conf_level: f64,
) -> std::io::Result<()> {
    let k = levers.len();
    let mut f = AtomicFile::create(&out_dir.join(ATTRIBUTION_FILE))?;
    f.write_str("outcome,year,term,levers,n,mean,sd,ci_low,ci_high\n")?;
    for ((outcome, year), v) in values {
        let mut per_term: Vec<(Term, Vec<f64>)> = Vec::new();
        for r in 0..replicates {
            let y: Option<Vec<f64>> = (0..1usize << k)
                .map(|mask| v.get(point_of(mask, k) * replicates + r).copied().flatten())
                .collect();
            let Some(y) = y else { continue };
            for (t, term) in terms(k, &y).into_iter().enumerate() {
                if per_term.len() <= t {
                    per_term.push((term.clone(), Vec::new()));
                }
                per_term[t].1.push(term.value);
            }
        }
        for (term, xs) in per_term {
            let n = xs.len();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let sd = sample_sd(&xs);
            let half = sd.map(|sd| {
                student_t_quantile(0.5 + conf_level / 2.0, (n - 1) as f64) * sd / (n as f64).sqrt()
            });
            let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
            let mut cell = String::new();
            let label: Vec<&str> = term.levers.iter().map(|&i| levers[i]).collect();
            push_field(&mut cell, &label.join(":"));
            f.write_str(&format!(
                "{},{},{},{cell},{n},{mean},{},{},{}\n",
                names[*outcome],
                year.0,
                term.kind,
                opt(sd),
                opt(half.map(|h| mean - h)),
                opt(half.map(|h| mean + h)),
            ))?;
        }
    }
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// y(S) = Σ a_i [i ∈ S] + c [0 ∈ S][1 ∈ S] + d [0, 1, 2 ∈ S].
    fn synthetic(k: usize, a: &[f64], c: f64, d: f64) -> Vec<f64> {
        (0..1usize << k)
            .map(|s| {
                let on = |i: usize| (s >> i & 1) as f64;
                (0..k).map(|i| a[i] * on(i)).sum::<f64>()
                    + c * on(0) * on(1)
                    + d * on(0) * on(1) * on(2)
            })
            .collect()
    }

    fn get(t: &[Term], kind: &str, levers: &[usize]) -> f64 {
        t.iter()
            .find(|x| x.kind == kind && x.levers == levers)
            .map(|x| x.value)
            .expect("term")
    }

    #[test]
    fn effects_of_a_known_factorial_are_recovered() {
        let a = [1.0, 2.0, -0.5, 0.0];
        let (c, d) = (0.6, 0.3);
        let y = synthetic(4, &a, c, d);
        let t = terms(4, &y);
        let close = |x: f64, want: f64| assert!((x - want).abs() < 1e-12, "{x} vs {want}");
        close(get(&t, "bundle", &[]), 1.0 + 2.0 - 0.5 + c + d);
        // Main effect of 0: a0 + c/2 (lever 1 on in half the contexts) + d/4 (1 and 2 on in a
        // quarter).
        close(get(&t, "main", &[0]), 1.0 + c / 2.0 + d / 4.0);
        close(get(&t, "alone", &[0]), 1.0);
        close(get(&t, "main", &[3]), 0.0);
        close(get(&t, "interaction", &[0, 1]), c + d / 2.0);
        close(get(&t, "interaction", &[0, 3]), 0.0);
        close(get(&t, "interaction", &[2, 3]), 0.0);
        // Shapley: the pairwise surplus c split in halves, the triple d in thirds.
        close(get(&t, "shapley", &[0]), 1.0 + c / 2.0 + d / 3.0);
        close(get(&t, "shapley", &[2]), -0.5 + d / 3.0);
        close(get(&t, "shapley", &[3]), 0.0);
        // Efficiency: the Shapley values sum to the bundle.
        let sum: f64 = (0..4).map(|i| get(&t, "shapley", &[i])).sum();
        close(sum, get(&t, "bundle", &[]));
    }

    #[test]
    fn coalitions_map_to_the_factorial_order() {
        // k = 3, first lever slowest: point 4 = (1, 0, 0) = lever 0 alone = mask 1.
        assert_eq!(point_of(0b001, 3), 4);
        assert_eq!(point_of(0b100, 3), 1);
        assert_eq!(point_of(0b111, 3), 7);
    }

    #[test]
    fn intervals_over_replicates_are_t_intervals_paired_by_seed() {
        // Two levers, 4 replicates: each replicate shifts every point by the same seed effect
        // (common random numbers), which pairing removes; lever 0 adds 1 + e_r with
        // e = (-0.3, -0.1, 0.1, 0.3), so its main effect is 1 with sd 0.2582.
        let dir = tempfile::tempdir().expect("tmp");
        let (k, reps) = (2, 4);
        let e = [-0.3, -0.1, 0.1, 0.3];
        let mut runs = vec![None; (1 << k) * reps];
        for mask in 0..1usize << k {
            for r in 0..reps {
                let seed_level = 100.0 * r as f64;
                let y = seed_level + if mask & 1 == 1 { 1.0 + e[r] } else { 0.0 };
                runs[point_of(mask, k) * reps + r] = Some(y);
            }
        }
        let mut values = BTreeMap::new();
        values.insert((0usize, crate::sweep::summary::Year("2030".into())), runs);
        write_attribution(dir.path(), &["x", "z"], &["o".into()], &values, reps, 0.95)
            .expect("write");
        let text = std::fs::read_to_string(dir.path().join(ATTRIBUTION_FILE)).expect("read");
        let row = text
            .lines()
            .find(|l| l.starts_with("o,2030,main,x,"))
            .expect("row");
        let cells: Vec<f64> = row
            .split(',')
            .skip(4)
            .map(|c| c.parse().expect("num"))
            .collect();
        let sd = (0.2f64 / 3.0).sqrt();
        let half = 3.182_446_305 * sd / 2.0;
        assert_eq!(cells[0], 4.0);
        assert!(
            (cells[1] - 1.0).abs() < 1e-12 && (cells[2] - sd).abs() < 1e-12,
            "{row}"
        );
        assert!((cells[3] - (1.0 - half)).abs() < 1e-4, "{row}");
        assert!((cells[4] - (1.0 + half)).abs() < 1e-4, "{row}");
    }
}
