//! Fast `f64` formatting with exactly the text of Rust's `Display` (`{}`), for the CSV tables.
//!
//! `metrics.csv` holds tens of thousands of numbers per run and `core::fmt` spent most of the time
//! of writing it. The `ryu` crate finds the same shortest round-trip digits much faster, but lays
//! them out differently (`1.0`, `1e21`, `1e-7` where `Display` writes `1`, `1000000000000000000000`,
//! `0.0000001`). [`push_f64`] takes ryu's digits and decimal exponent and writes them the way
//! `Display` does: never an exponent, no trailing `.0`, `-0` for negative zero. The output format
//! of the tables therefore does not change; the tests compare both over many random values.

use std::fmt::Write as _;

/// log10(5).
const LOG10_5: f64 = 0.698_970_004_336_018_8;

/// Whether the shortest digits of `x` may end in a tie, where ryu and `Display` round differently
/// (ryu rounds half to even, `Display` half up: 838349955472.40625 is `…4062` in ryu and `…4063` in
/// `Display`). A tie needs an exact decimal expansion at most one digit longer than the shortest
/// digits, so at most 18 significant digits. `x = m · 2^e` with `m` odd: for `e < 0` the expansion
/// has as many digits as `m · 5^-e`; an integer below 2^53 is printed exactly by both.
fn may_be_a_tie(x: f64) -> bool {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    if m == 0 {
        return false;
    }
    let zeros = m.trailing_zeros();
    m >>= zeros;
    e += zeros as i32;
    if e >= 0 {
        return x.abs() >= 9_007_199_254_740_992.0;
    }
    // Digits of m · 5^-e, with a wide margin for rounding in the logarithms.
    (m as f64).log10() + f64::from(-e) * LOG10_5 < 20.0
}

/// Append `x` (finite) to `out` exactly as `write!(out, "{x}")` would.
pub fn push_f64(out: &mut String, x: f64) {
    if !x.is_finite() || may_be_a_tie(x) {
        // Non-finite values are not reached by the tables (they refuse them); ties are rare.
        let _ = write!(out, "{x}");
        return;
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(x);
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // Significant digits d1 d2 … and the position of the decimal point: value = 0.d1d2… × 10^point.
    let mut digits = [0u8; 40];
    let mut len = 0;
    let mut point = int_part.len() as i32 + exponent;
    for &d in int_part.as_bytes().iter().chain(frac_part.as_bytes()) {
        if len == 0 && d == b'0' {
            point -= 1; // a leading zero moves the point, it is not a digit
        } else {
            digits[len] = d;
            len += 1;
        }
    }
    while len > 0 && digits[len - 1] == b'0' {
        len -= 1;
    }
    if negative {
        out.push('-');
    }
    if len == 0 {
        out.push('0');
        return;
    }
    let digits = &digits[..len];
    // ryu writes ASCII digits only, so each byte is a char.
    let push_digits =
        |out: &mut String, ds: &[u8]| ds.iter().for_each(|&d| out.push(char::from(d)));
    if point <= 0 {
        out.push_str("0.");
        (0..-point).for_each(|_| out.push('0'));
        push_digits(out, digits);
    } else if (point as usize) < len {
        push_digits(out, &digits[..point as usize]);
        out.push('.');
        push_digits(out, &digits[point as usize..]);
    } else {
        push_digits(out, digits);
        (len..point as usize).for_each(|_| out.push('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same_as_display(x: f64) {
        let mut fast = String::new();
        push_f64(&mut fast, x);
        assert_eq!(fast, format!("{x}"), "bits {:#x}", x.to_bits());
    }

    #[test]
    fn special_values_match_display() {
        let cases = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.5,
            1e21,
            1e22,
            1e-7,
            1.5e300,
            -2.5e-300,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            f64::EPSILON,
            123456789012345680.0,
            9007199254740993.0,
            2024.25,
            f64::from_bits(0x4268_6631_a432_0d00), // 838349955472.40625, a tie
            2f64.powi(-25),
            1e15,
            1e16,
            1e17,
            0.000123,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for x in cases {
            same_as_display(x);
        }
    }

    #[test]
    fn every_power_of_ten_and_two_matches_display() {
        for e in -330..=310 {
            same_as_display(10f64.powi(e));
            same_as_display(-3.0 * 10f64.powi(e));
        }
        for e in -1074..=1023 {
            same_as_display(2f64.powi(e));
        }
    }

    #[test]
    fn integers_match_display() {
        for i in -2000..2000 {
            same_as_display(f64::from(i));
            same_as_display(f64::from(i) / 4.0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn random_bit_patterns_match_display(bits in any::<u64>()) {
            same_as_display(f64::from_bits(bits));
        }

        #[test]
        fn subnormals_match_display(bits in 0u64..(1u64 << 52), negative in any::<bool>()) {
            let x = f64::from_bits(bits);
            same_as_display(if negative { -x } else { x });
        }

        #[test]
        fn short_binary_fractions_match_display(i in any::<i64>(), k in 0i32..80) {
            // Few fractional bits: exact decimal expansions short enough to tie.
            same_as_display(i as f64 / 2f64.powi(k));
        }

        #[test]
        fn ordinary_magnitudes_match_display(x in -1e12f64..1e12) {
            same_as_display(x);
        }
    }
}
