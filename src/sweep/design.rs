//! Experimental designs: which points of the parameter space a sweep runs.
//!
//! Every design first produces points in the unit hypercube `[0, 1)^k` (or, for a grid or an
//! explicit CSV, the values themselves); [`super::spec`] maps unit coordinates to parameter values.
//! Random draws come from one ChaCha8 stream seeded by the sweep seed and a fixed tag, so a design
//! is a pure function of the sweep file: the same on every machine, for every shard.
//!
//! - Latin hypercube (McKay, Beckman & Conover 1979): each of the `n` equal strata of every
//!   dimension holds exactly one point; strata are paired across dimensions by independent random
//!   permutations, and the point sits uniformly at random inside its stratum.
//! - Sobol' sequence (Sobol' 1967) with the direction numbers of Joe & Kuo (2008),
//!   `new-joe-kuo-6.21201`, in the Bratley & Fox (1988) construction, natural (not Gray-code)
//!   order. The first point (all zeros) is skipped, as in Saltelli et al. (2010).
//! - Saltelli's scheme (Saltelli 2002; Saltelli et al. 2010) for first- and total-order Sobol'
//!   indices: from a `2k`-dimensional Sobol' sequence take `A` (first `k` columns) and `B` (last
//!   `k`), and for every base row `j` emit `A_j`, then `AB_j^(i)` (`A_j` with column `i` taken from
//!   `B_j`) for `i = 1..k`, then `B_j`: `n (k + 2)` points, in the order SALib's
//!   `sobol.analyze(..., calc_second_order=False)` expects its model outputs.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Joe & Kuo (2008) direction numbers, file `new-joe-kuo-6.21201`, dimensions 2 to 41: for each,
/// the degree `s` of the primitive polynomial, its coefficients `a` (inner bits), and the initial
/// odd numbers `m_1..m_s`. Dimension 1 is van der Corput's sequence and needs none. Forty
/// dimensions carry a Saltelli design of up to 20 parameters.
const JOE_KUO: &[(u32, u32, &[u32])] = &[
    (1, 0, &[1]),
    (2, 1, &[1, 3]),
    (3, 1, &[1, 3, 1]),
    (3, 2, &[1, 1, 1]),
    (4, 1, &[1, 1, 3, 3]),
    (4, 4, &[1, 3, 5, 13]),
    (5, 2, &[1, 1, 5, 5, 17]),
    (5, 4, &[1, 1, 5, 5, 5]),
    (5, 7, &[1, 1, 7, 11, 19]),
    (5, 11, &[1, 1, 5, 1, 1]),
    (5, 13, &[1, 1, 1, 3, 11]),
    (5, 14, &[1, 3, 5, 5, 31]),
    (6, 1, &[1, 3, 3, 9, 7, 49]),
    (6, 13, &[1, 1, 1, 15, 21, 21]),
    (6, 16, &[1, 3, 1, 13, 27, 49]),
    (6, 19, &[1, 1, 1, 15, 7, 5]),
    (6, 22, &[1, 3, 1, 15, 13, 25]),
    (6, 25, &[1, 1, 5, 5, 19, 61]),
    (7, 1, &[1, 3, 7, 11, 23, 15, 103]),
    (7, 4, &[1, 3, 7, 13, 13, 15, 69]),
    (7, 7, &[1, 1, 3, 13, 7, 35, 63]),
    (7, 8, &[1, 3, 5, 9, 1, 25, 53]),
    (7, 14, &[1, 3, 1, 13, 9, 35, 107]),
    (7, 19, &[1, 3, 1, 5, 27, 61, 31]),
    (7, 21, &[1, 1, 5, 11, 19, 41, 61]),
    (7, 28, &[1, 3, 5, 3, 3, 13, 69]),
    (7, 31, &[1, 1, 7, 13, 1, 19, 1]),
    (7, 32, &[1, 3, 7, 5, 13, 19, 59]),
    (7, 37, &[1, 1, 3, 9, 25, 29, 41]),
    (7, 41, &[1, 3, 5, 13, 23, 1, 55]),
    (7, 42, &[1, 3, 7, 3, 13, 59, 17]),
    (7, 50, &[1, 3, 1, 3, 5, 53, 69]),
    (7, 55, &[1, 1, 5, 5, 23, 33, 13]),
    (7, 56, &[1, 1, 7, 7, 1, 61, 123]),
    (7, 59, &[1, 1, 7, 9, 13, 61, 49]),
    (7, 62, &[1, 3, 3, 5, 3, 55, 33]),
    (8, 14, &[1, 3, 1, 15, 31, 13, 49, 245]),
    (8, 21, &[1, 3, 5, 15, 31, 59, 63, 97]),
    (8, 22, &[1, 3, 1, 11, 11, 11, 77, 249]),
    (8, 38, &[1, 3, 1, 11, 27, 43, 71, 9]),
];

/// Bits of precision of the Sobol' generator (points are multiples of 2^-32).
const SOBOL_BITS: usize = 32;

/// Most dimensions the built-in Sobol' table supports.
pub const MAX_SOBOL_DIMENSIONS: usize = JOE_KUO.len() + 1;

/// Most parameters a Saltelli (Sobol'-index) design supports: it needs two dimensions each.
pub const MAX_SALTELLI_PARAMETERS: usize = MAX_SOBOL_DIMENSIONS / 2;

/// Direction numbers `v_j` (scaled to 32 bits) of one dimension (0-based).
fn directions(dimension: usize) -> [u32; SOBOL_BITS] {
    let mut v = [0u32; SOBOL_BITS];
    if dimension == 0 {
        for (j, slot) in v.iter_mut().enumerate() {
            *slot = 1 << (SOBOL_BITS - 1 - j);
        }
        return v;
    }
    let (s, a, m) = JOE_KUO[dimension - 1];
    let s = s as usize;
    for j in 0..SOBOL_BITS {
        v[j] = if j < s {
            m[j] << (SOBOL_BITS - 1 - j)
        } else {
            // Bratley & Fox recurrence: v_j = a_1 v_{j-1} ^ ... ^ a_{s-1} v_{j-s+1} ^ v_{j-s} ^ (v_{j-s} >> s).
            let mut x = v[j - s] ^ (v[j - s] >> s);
            for k in 1..s {
                if (a >> (s - 1 - k)) & 1 == 1 {
                    x ^= v[j - k];
                }
            }
            x
        };
    }
    v
}

/// Points `first..first + n` of the `dims`-dimensional Sobol' sequence, in natural order, as rows.
/// `dims` must be at most [`MAX_SOBOL_DIMENSIONS`] (checked by the sweep file's validation).
pub fn sobol_points(dims: usize, first: u64, n: usize) -> Vec<Vec<f64>> {
    let table: Vec<[u32; SOBOL_BITS]> = (0..dims).map(directions).collect();
    let scale = 1.0 / (1u64 << SOBOL_BITS) as f64;
    (0..n as u64)
        .map(|offset| {
            let index = first + offset;
            table
                .iter()
                .map(|v| {
                    let mut x = 0u32;
                    let mut bits = index;
                    let mut j = 0;
                    while bits > 0 && j < SOBOL_BITS {
                        if bits & 1 == 1 {
                            x ^= v[j];
                        }
                        bits >>= 1;
                        j += 1;
                    }
                    f64::from(x) * scale
                })
                .collect()
        })
        .collect()
}

/// Saltelli's sample for first- and total-order indices of `k` parameters from `n` base rows:
/// `n (k + 2)` unit points laid out `A_j, AB_j^(1..k), B_j` per base row (see the module docs).
pub fn saltelli_points(k: usize, n: usize) -> Vec<Vec<f64>> {
    let base = sobol_points(2 * k, 1, n);
    let mut out = Vec::with_capacity(n * (k + 2));
    for row in &base {
        let (a, b) = row.split_at(k);
        out.push(a.to_vec());
        for i in 0..k {
            let mut ab = a.to_vec();
            ab[i] = b[i];
            out.push(ab);
        }
        out.push(b.to_vec());
    }
    out
}

/// The design's random generator: ChaCha8 seeded by the sweep seed and the tag `design`, so
/// designs never share draws with runs (whose seeds come from `derive_seed`).
fn design_rng(seed: u64) -> ChaCha8Rng {
    let mut bytes = [0u8; 32];
    bytes[0..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..14].copy_from_slice(b"design");
    ChaCha8Rng::from_seed(bytes)
}

/// `n` points uniformly at random in `[0, 1)^k`.
pub fn random_points(k: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = design_rng(seed);
    (0..n)
        .map(|_| (0..k).map(|_| rng.random::<f64>()).collect())
        .collect()
}

/// A Latin hypercube of `n` points in `[0, 1)^k`: in every dimension, each interval
/// `[s/n, (s+1)/n)` holds exactly one point.
pub fn latin_hypercube_points(k: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = design_rng(seed);
    let mut points = vec![vec![0.0; k]; n];
    for dim in 0..k {
        // Fisher–Yates shuffle of the strata.
        let mut strata: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = rng.random_range(0..=i);
            strata.swap(i, j);
        }
        for (point, stratum) in points.iter_mut().zip(strata) {
            let u: f64 = rng.random();
            // Clamp guards the rounding of (s + u) / n up to the next stratum's edge.
            let x = (stratum as f64 + u) / n as f64;
            let upper = (stratum as f64 + 1.0) / n as f64;
            point[dim] = if x >= upper { x.next_down() } else { x };
        }
    }
    points
}

/// Morris (1991) one-at-a-time trajectories: `r` trajectories of `k + 1` points each on the
/// `p`-level grid `{0, 1/(p-1), ..., 1}` of `[0, 1]^k`, with the standard step
/// `Δ = p / (2 (p - 1))` (`p` even). Per trajectory, every factor `i` gets a base value `x*_i`
/// drawn uniformly from `{0, 1/(p-1), ..., 1 - Δ}` and a direction: it starts at `x*_i` or at
/// `x*_i + Δ` with probability 1/2 each, and the factors move by `±Δ`, one at a time, in a
/// uniformly random order (Morris 1991, Technometrics 33:161, the `B*` construction). The
/// points are listed trajectory by trajectory.
pub fn morris_points(k: usize, r: usize, p: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = design_rng(seed);
    let grid = (p - 1) as f64;
    let mut out = Vec::with_capacity(r * (k + 1));
    for _ in 0..r {
        // Grid index of each factor's start, and whether it moves up (from `x*`) or down.
        let mut start = Vec::with_capacity(k);
        let mut up = Vec::with_capacity(k);
        for _ in 0..k {
            let base = rng.random_range(0..p / 2);
            let rises = rng.random::<bool>();
            start.push(if rises { base } else { base + p / 2 });
            up.push(rises);
        }
        let mut x: Vec<f64> = start.iter().map(|&j| j as f64 / grid).collect();
        // Fisher–Yates shuffle of the order in which the factors move.
        let mut order: Vec<usize> = (0..k).collect();
        for i in (1..k).rev() {
            let j = rng.random_range(0..=i);
            order.swap(i, j);
        }
        out.push(x.clone());
        for i in order {
            // Δ is `p/2` grid steps; values stay exact multiples of 1/(p-1).
            let j = if up[i] {
                start[i] + p / 2
            } else {
                start[i] - p / 2
            };
            x[i] = j as f64 / grid;
            out.push(x.clone());
        }
    }
    out
}

/// The Morris step `Δ = p / (2 (p - 1))` for `p` (even) grid levels.
pub fn morris_step(p: usize) -> f64 {
    p as f64 / (2.0 * (p - 1) as f64)
}

/// The full factorial of `levels[i]` counts: every combination of level indices, the first
/// parameter varying slowest (like `itertools.product`).
pub fn grid_indices(levels: &[usize]) -> Vec<Vec<usize>> {
    let total: usize = levels.iter().product();
    let mut out = Vec::with_capacity(total);
    for mut flat in 0..total {
        let mut idx = vec![0; levels.len()];
        for (slot, &count) in idx.iter_mut().zip(levels).rev() {
            *slot = flat % count;
            flat /= count;
        }
        out.push(idx);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sobol_first_points_match_the_published_sequence() {
        // Natural-order Sobol' points 1..=4 in dimensions 1-3 with Joe & Kuo's numbers. SciPy's
        // `qmc.Sobol(3, scramble=False)` gives the same points in Gray-code order: 0, (0.5, 0.5,
        // 0.5), (0.75, 0.25, 0.25), (0.25, 0.75, 0.75), (0.375, 0.375, 0.625) = p[1] xor p[3].
        let p = sobol_points(3, 1, 4);
        assert_eq!(p[0], [0.5, 0.5, 0.5]);
        assert_eq!(p[1], [0.25, 0.75, 0.75]);
        assert_eq!(p[2], [0.75, 0.25, 0.25]);
        assert_eq!(p[3], [0.125, 0.625, 0.375]);
    }

    #[test]
    fn sobol_is_stratified_in_every_dimension() {
        // A (0, m, 1)-net property per dimension: the first 2^m points (from 0) hit every
        // interval [i/2^m, (i+1)/2^m) once, for every one of the 41 dimensions.
        let m = 8;
        let points = sobol_points(MAX_SOBOL_DIMENSIONS, 0, 1 << m);
        for dim in 0..MAX_SOBOL_DIMENSIONS {
            let mut hit = vec![false; 1 << m];
            for p in &points {
                let cell = (p[dim] * f64::from(1 << m)) as usize;
                assert!(!hit[cell], "dimension {dim}: cell {cell} hit twice");
                hit[cell] = true;
            }
        }
    }

    #[test]
    fn latin_hypercube_hits_each_stratum_once_per_dimension() {
        for (k, n) in [(1, 1), (3, 10), (5, 97), (2, 1000)] {
            let points = latin_hypercube_points(k, n, 42);
            assert_eq!(points.len(), n);
            for dim in 0..k {
                let mut count = vec![0; n];
                for p in &points {
                    assert!((0.0..1.0).contains(&p[dim]));
                    count[(p[dim] * n as f64).floor() as usize] += 1;
                }
                assert!(
                    count.iter().all(|&c| c == 1),
                    "k={k} n={n} dim={dim}: strata counts {count:?}"
                );
            }
        }
    }

    #[test]
    fn designs_are_pure_functions_of_the_seed() {
        assert_eq!(
            latin_hypercube_points(3, 20, 5),
            latin_hypercube_points(3, 20, 5)
        );
        assert_ne!(
            latin_hypercube_points(3, 20, 5),
            latin_hypercube_points(3, 20, 6)
        );
        assert_eq!(random_points(2, 10, 9), random_points(2, 10, 9));
    }

    #[test]
    fn grid_is_row_major_with_the_first_parameter_slowest() {
        assert_eq!(
            grid_indices(&[2, 3]),
            vec![
                vec![0, 0],
                vec![0, 1],
                vec![0, 2],
                vec![1, 0],
                vec![1, 1],
                vec![1, 2]
            ]
        );
        assert_eq!(grid_indices(&[]), vec![Vec::<usize>::new()]);
    }

    #[test]
    fn saltelli_layout_is_a_ab_b() {
        let k = 3;
        let pts = saltelli_points(k, 4);
        assert_eq!(pts.len(), 4 * (k + 2));
        for j in 0..4 {
            let row = &pts[j * (k + 2)..(j + 1) * (k + 2)];
            let (a, b) = (&row[0], &row[k + 1]);
            for i in 0..k {
                for c in 0..k {
                    let expected = if c == i { b[c] } else { a[c] };
                    assert_eq!(row[1 + i][c], expected);
                }
            }
        }
    }
}
