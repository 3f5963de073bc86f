//! One rounding rule for quantities that are differences of large numbers.
//!
//! Why: the model must give the same numbers whatever the spelling or order of ids (the
//! id-permutation property test, `tests/it/markets_v2.rs`). Renaming ids reorders the sums
//! inside the pre-allocation of offtakes and inside the market solver, so a quantity computed as
//! a difference of two large numbers — what a mine has left after its contracts, what a plant
//! still needs after its equity ore, the feed a plant keeps after a run — comes out as exactly 0
//! in one order and as ±10⁻¹⁶ of its terms in another. Values agree to 10⁻¹⁵, but a test such
//! as `x > 0` turns the remainder into a row, a flag or a lot that exists in one order only, and
//! the remainder then grows through later steps. The rule: a remainder at most [`SNAP`] times
//! the scale of the quantities it came from is zero. `SNAP` = 10⁻⁹ is far above double-precision
//! noise (10⁻¹⁶ per operation, 10⁻¹³ after the solver's sums) and far below any tonnage the
//! model reports (outputs are compared to 10⁻⁹ relative).

/// Relative size below which a remainder is rounding noise of its scale.
pub const SNAP: f64 = 1e-9;

/// `x`, or exactly 0 when `|x| <= SNAP · |scale|`.
#[inline]
pub fn snap(x: f64, scale: f64) -> f64 {
    if x.abs() <= SNAP * scale.abs() {
        0.0
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remainders_of_their_scale_at_noise_level_are_zero_and_others_stay() {
        let (a, b, c) = (0.1, 0.2, 0.3);
        // (a + b) − c is 5.6e-17 in IEEE doubles, not 0.
        assert_ne!(a + b - c, 0.0);
        assert_eq!(snap(a + b - c, c), 0.0);
        assert_eq!(snap(-(a + b - c), c), 0.0);
        assert_eq!(snap(1e-6, 1.0), 1e-6);
        assert_eq!(snap(-1e-6, 1.0), -1e-6);
        assert_eq!(snap(0.0, 0.0), 0.0);
        assert_eq!(snap(1e-300, 0.0), 1e-300);
    }
}
