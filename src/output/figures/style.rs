//! The look shared by every figure: print sizes, the embedded font, the colour-blind-safe palette
//! with one fixed colour per nation, axis ticks and number formats.
//!
//! Journals size figures in column widths: 3.5 in for a single column and 7 in for a double column,
//! at 300 dpi for bitmaps (Elsevier, Springer Nature and AEA author guidelines agree on these
//! numbers). Text is set in points at that final size, so a figure dropped into a paper at 100 %
//! reads like the paper's own captions (7–8 pt). Colours follow Okabe & Ito (2008), "Color
//! universal design", which stay distinguishable for the common forms of colour blindness; past its
//! seven colours, Paul Tol's "muted" scheme (Tol 2021, SRON/EPS/TN/09-002) extends the table.

use plotters::style::{FontFamily, FontStyle, RGBColor};

/// Dots per inch of the PNG files (and the scale of the SVG coordinate system).
pub const DPI: f64 = 300.0;

/// Name under which the embedded DejaVu Sans is registered with plotters. It is also the CSS
/// `font-family` written into the SVG files, so a viewer without DejaVu Sans falls back to its own
/// sans-serif face.
pub const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `assets/fonts/LICENSE`), embedded so that charts
/// look the same on every machine and no system font library is needed at build or run time.
pub(crate) static DEJAVU_SANS: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Register the embedded font with plotters (idempotent; cheap after the first call).
pub fn register_font() -> Result<(), String> {
    plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS)
        .map_err(|_| "the embedded DejaVu Sans font could not be parsed".to_string())
}

/// The font family to use in text styles.
pub fn family() -> FontFamily<'static> {
    FontFamily::Name(FONT_FAMILY)
}

/// Print width of a figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// One journal column: 3.5 in wide, 2.6 in tall (1050 × 780 px at 300 dpi).
    Single,
    /// Two journal columns: 7 in wide, 3.5 in tall (2100 × 1050 px at 300 dpi).
    Double,
}

impl Width {
    /// Width and height in inches.
    pub fn inches(self) -> (f64, f64) {
        match self {
            Width::Single => (3.5, 2.6),
            Width::Double => (7.0, 3.5),
        }
    }

    /// Width and height in pixels at [`DPI`].
    pub fn pixels(self) -> (u32, u32) {
        let (w, h) = self.inches();
        // Exact: both sizes are whole pixels at 300 dpi.
        ((w * DPI).round() as u32, (h * DPI).round() as u32)
    }

    /// The name used in documentation and the figure list.
    pub fn as_str(self) -> &'static str {
        match self {
            Width::Single => "single",
            Width::Double => "double",
        }
    }
}

/// Pixels for a length in points (1 pt = 1/72 in).
pub fn pt(points: f64) -> f64 {
    points * DPI / 72.0
}

/// plotters font size for a type size in points. plotters treats a font "size" as 1.24 em (its SVG
/// backend writes `font-size = size / 1.24`), so this is what gives the requested em size.
pub fn font_pt(points: f64) -> f64 {
    pt(points) * 1.24
}

/// Tick labels and legend entries, pt.
pub const TICK_PT: f64 = 7.0;
/// Axis descriptions and panel labels, pt.
pub const LABEL_PT: f64 = 8.0;
/// Data lines, pt (China's lines are drawn at [`EMPHASIS_LINE_PT`]).
pub const LINE_PT: f64 = 1.0;
/// Emphasised data lines (China, the world price), pt.
pub const EMPHASIS_LINE_PT: f64 = 1.8;
/// Axis lines, pt.
pub const AXIS_PT: f64 = 0.6;

/// Okabe–Ito colours (without black, which is kept for world aggregates).
pub mod okabe_ito {
    use plotters::style::RGBColor;
    /// Orange.
    pub const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
    /// Sky blue.
    pub const SKY_BLUE: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
    /// Bluish green.
    pub const BLUISH_GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
    /// Yellow.
    pub const YELLOW: RGBColor = RGBColor(0xF0, 0xE4, 0x42);
    /// Blue.
    pub const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
    /// Vermillion.
    pub const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
    /// Reddish purple.
    pub const REDDISH_PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
}

/// Paul Tol's "muted" colours, used past the Okabe–Ito ones.
const TOL_MUTED: [RGBColor; 9] = [
    RGBColor(0x33, 0x22, 0x88), // indigo
    RGBColor(0x88, 0xCC, 0xEE), // cyan
    RGBColor(0x44, 0xAA, 0x99), // teal
    RGBColor(0x11, 0x77, 0x33), // green
    RGBColor(0x99, 0x99, 0x33), // olive
    RGBColor(0xDD, 0xCC, 0x77), // sand
    RGBColor(0xCC, 0x66, 0x77), // rose
    RGBColor(0x88, 0x22, 0x55), // wine
    RGBColor(0xAA, 0x44, 0x99), // purple
];

/// World aggregates (the world price).
pub const WORLD: RGBColor = RGBColor(0, 0, 0);
/// "Other" (everything not drawn on its own).
pub const OTHER: RGBColor = RGBColor(0xAA, 0xAA, 0xAA);
/// Grid lines.
pub const GRID: RGBColor = RGBColor(0xE0, 0xE0, 0xE0);
/// Axes and text.
pub const INK: RGBColor = RGBColor(0x20, 0x20, 0x20);

/// Fixed colours of the nations that appear in the shipped scenarios, so that China is vermillion
/// and the United States blue in every chart of every run. Codes are ISO 3166 alpha-3.
const NATION_COLOURS: [(&str, RGBColor); 18] = [
    ("CHN", okabe_ito::VERMILLION),
    ("USA", okabe_ito::BLUE),
    ("JPN", okabe_ito::REDDISH_PURPLE),
    ("CHL", okabe_ito::BLUISH_GREEN),
    ("AUS", okabe_ito::ORANGE),
    ("ARG", okabe_ito::SKY_BLUE),
    ("BOL", TOL_MUTED[4]),
    ("PER", TOL_MUTED[7]),
    ("COD", TOL_MUTED[0]),
    ("IDN", TOL_MUTED[2]),
    ("KOR", TOL_MUTED[8]),
    ("EUU", TOL_MUTED[1]),
    ("DEU", TOL_MUTED[1]),
    ("CAN", TOL_MUTED[6]),
    ("BRA", TOL_MUTED[3]),
    ("ZAF", TOL_MUTED[5]),
    ("RUS", okabe_ito::YELLOW),
    ("IND", TOL_MUTED[5]),
];

/// Colours for nations not in the fixed table: a stable hash of the code picks one of the first
/// [`HASHED`] (strong, well-separated hues); the rest only resolve clashes within a chart.
const FALLBACK: [RGBColor; 15] = [
    // Strong, well-separated hues first (they are also the first picked to resolve a clash).
    okabe_ito::BLUISH_GREEN,
    okabe_ito::REDDISH_PURPLE,
    okabe_ito::ORANGE,
    TOL_MUTED[4], // olive
    TOL_MUTED[7], // wine
    TOL_MUTED[0], // indigo
    TOL_MUTED[2], // teal
    TOL_MUTED[6], // rose
    TOL_MUTED[3], // green
    TOL_MUTED[8], // purple
    okabe_ito::SKY_BLUE,
    okabe_ito::BLUE,
    TOL_MUTED[5], // sand
    TOL_MUTED[1], // cyan
    okabe_ito::YELLOW,
];

/// How many [`FALLBACK`] colours the hash chooses from.
const HASHED: u64 = 10;

/// FNV-1a: a hash that is the same on every machine and every Rust version (unlike `DefaultHasher`).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The colour of a nation: fixed for common codes, otherwise a deterministic pick by hash (two
/// uncommon nations may then share a colour; the legend still tells them apart by label).
pub fn nation_colour(code: &str) -> RGBColor {
    NATION_COLOURS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, colour)| *colour)
        .unwrap_or_else(|| FALLBACK[(fnv1a(code) % HASHED) as usize])
}

/// Colours for the nations drawn together in one chart: nations in the fixed table keep their
/// colour; a nation whose hashed colour is already taken in this chart gets the first fallback
/// colour still free (in chart order, so the result is deterministic). Nations outside the table
/// can therefore change colour between charts only when they would otherwise share one.
pub fn nation_colours(codes: &[String]) -> Vec<RGBColor> {
    let fixed = |code: &str| NATION_COLOURS.iter().any(|(c, _)| *c == code);
    let mut used: Vec<RGBColor> = codes
        .iter()
        .filter(|c| fixed(c))
        .map(|c| nation_colour(c))
        .collect();
    used.push(OTHER);
    codes
        .iter()
        .map(|code| {
            if fixed(code) {
                return nation_colour(code);
            }
            let mut colour = nation_colour(code);
            if used.contains(&colour) {
                colour = FALLBACK
                    .iter()
                    .copied()
                    .find(|c| !used.contains(c))
                    .unwrap_or(colour);
            }
            used.push(colour);
            colour
        })
        .collect()
}

/// The colour of a mineral (for charts that compare minerals).
pub fn mineral_colour(id: &str) -> RGBColor {
    match id {
        "lithium" => okabe_ito::SKY_BLUE,
        "copper" => okabe_ito::ORANGE,
        "cobalt" => okabe_ito::BLUE,
        "nickel" => okabe_ito::BLUISH_GREEN,
        "graphite" => RGBColor(0x55, 0x55, 0x55),
        "rare_earths" => okabe_ito::REDDISH_PURPLE,
        other => FALLBACK[(fnv1a(other) % HASHED) as usize],
    }
}

/// How the values of an axis are scaled and printed.
#[derive(Clone, Debug, PartialEq)]
pub struct Scale {
    /// Raw values are divided by this before plotting.
    pub divisor: f64,
    /// Unit shown in the axis label, after scaling (`%`, `kt Li/yr`, `USD bn`).
    pub unit: String,
    /// Tick labels get a `%` sign (values are shares 0..1 shown as 0..100).
    pub percent: bool,
}

impl Scale {
    /// Shares 0..1, shown as percent.
    pub fn percent() -> Self {
        Scale {
            divisor: 0.01,
            unit: "%".into(),
            percent: true,
        }
    }

    /// Plain numbers in `unit`.
    pub fn plain(unit: &str) -> Self {
        Scale {
            divisor: 1.0,
            unit: unit.into(),
            percent: false,
        }
    }

    /// Tonnes per year of a mineral whose scenario unit is `mineral_unit` (`t Li`, `t`): switches to
    /// kt or Mt when the largest value calls for it, so tick labels stay short.
    pub fn tonnes_per_year(max: f64, mineral_unit: &str) -> Self {
        let (divisor, prefix) = if max >= 1e6 {
            (1e6, "M")
        } else if max >= 1e3 {
            (1e3, "k")
        } else {
            (1.0, "")
        };
        let unit = match mineral_unit.strip_prefix('t') {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => format!("{prefix}t{rest}/yr"),
            _ if prefix.is_empty() => format!("{mineral_unit}/yr"),
            _ => format!(
                "{} {mineral_unit}/yr",
                if divisor == 1e6 {
                    "million"
                } else {
                    "thousand"
                }
            ),
        };
        Scale {
            divisor,
            unit,
            percent: false,
        }
    }

    /// US dollars: bn or m when the largest value calls for it.
    pub fn usd(max: f64, per: &str) -> Self {
        let (divisor, unit) = if max >= 1e9 {
            (1e9, "USD bn")
        } else if max >= 1e6 {
            (1e6, "USD m")
        } else {
            (1.0, "USD")
        };
        Scale {
            divisor,
            unit: format!("{unit}{per}"),
            percent: false,
        }
    }

    /// Prices in USD/t: thousand USD/t once prices reach five digits.
    pub fn usd_per_t(max: f64) -> Self {
        if max >= 1e4 {
            Scale {
                divisor: 1e3,
                unit: "thousand USD/t".into(),
                percent: false,
            }
        } else {
            Scale::plain("USD/t")
        }
    }

    /// The axis label: `what (unit)`.
    pub fn label(&self, what: &str) -> String {
        format!("{what} ({})", self.unit)
    }
}

/// Evenly spaced "nice" ticks (steps of 1, 2, 2.5 or 5 × 10^k) from `min` (≤ 0 here) to at least
/// `max`, at most about `target` of them. Returns the ticks; the axis runs from the first to the last.
pub fn nice_ticks(min: f64, max: f64, target: usize) -> Vec<f64> {
    let (min, max) = if max > min {
        (min, max)
    } else {
        (min, min + 1.0)
    };
    let raw = (max - min) / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (min / step).floor();
    let last = (max / step - 1e-9).ceil();
    let n = (last - first).max(1.0) as i64;
    // Round through the step's decimals so 3 × 0.2 is 0.6, not 0.6000000000000001.
    let decimals = decimals_for(step);
    (0..=n)
        .map(|i| {
            let v = (first + i as f64) * step;
            format!("{v:.decimals$}").parse().unwrap_or(v)
        })
        .collect()
}

/// Integer-year ticks between `first` and `last` (inclusive) at round years: the multiples of the
/// smallest step of 1, 2, 5, 10, 20, 50 or 100 years that gives at most `max_ticks` ticks
/// (2025, 2030, 2035, 2040 for a 2024–2040 run). A span with no multiple gets `first`.
pub fn year_ticks(first: i32, last: i32, max_ticks: usize) -> Vec<i32> {
    // Round years, computed arithmetically so the tick count stays bounded whatever years a
    // file holds: the smallest step of 1, 2, 5 × 10^k years giving at most `max_ticks` ticks.
    let last = last.max(first);
    let max_ticks = max_ticks.max(1) as i64;
    let (first64, last64) = (i64::from(first), i64::from(last));
    let mut magnitude: i64 = 1;
    loop {
        for m in [1, 2, 5] {
            let step = m * magnitude;
            let t0 = first64.div_euclid(step) * step
                + if first64.rem_euclid(step) == 0 {
                    0
                } else {
                    step
                };
            if t0 > last64 {
                // No multiple of this step in the span: the first year alone.
                return vec![first];
            }
            let count = (last64 - t0) / step + 1;
            if count <= max_ticks {
                return (0..count).map(|i| (t0 + i * step) as i32).collect();
            }
        }
        magnitude *= 10;
    }
}

/// Decimals needed to print ticks spaced by `step` without losing information.
pub fn decimals_for(step: f64) -> usize {
    if step <= 0.0 || step >= 1.0 || !step.is_finite() {
        return 0;
    }
    let mut d = 0;
    let mut s = step;
    while d < 6 && (s - s.round()).abs() > 1e-6 {
        s *= 10.0;
        d += 1;
    }
    d
}

/// A tick label: fixed decimals, thousands separated by commas, `-0` printed as `0`.
pub fn format_tick(value: f64, decimals: usize, percent: bool) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let is_zero = text.chars().all(|c| c == '0' || c == '.');
    let mut out = String::new();
    if value < 0.0 && !is_zero {
        out.push('-');
    }
    out.push_str(&grouped);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if percent {
        out.push('%');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_sizes_are_300_dpi_column_widths() {
        assert_eq!(Width::Single.pixels(), (1050, 780));
        assert_eq!(Width::Double.pixels(), (2100, 1050));
    }

    #[test]
    fn ticks_are_nice_and_cover_the_data() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(
            nice_ticks(0.0, 87.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(year_ticks(2024, 2040, 6), vec![2025, 2030, 2035, 2040]);
        assert_eq!(
            year_ticks(2024, 2040, 12),
            vec![2024, 2026, 2028, 2030, 2032, 2034, 2036, 2038, 2040]
        );
        assert_eq!(year_ticks(2024, 2026, 6), vec![2024, 2025, 2026]);
        assert_eq!(year_ticks(2031, 2034, 1), vec![2031]);
    }

    #[test]
    fn numbers_read_like_a_paper() {
        assert_eq!(format_tick(12000.0, 0, false), "12,000");
        assert_eq!(format_tick(40.0, 0, true), "40%");
        assert_eq!(format_tick(-0.0, 1, false), "0.0");
        assert_eq!(format_tick(2.5, decimals_for(0.5), false), "2.5");
        assert_eq!(Scale::tonnes_per_year(70_000.0, "t Li").unit, "kt Li/yr");
        assert_eq!(Scale::usd(3e9, "/yr").unit, "USD bn/yr");
    }

    #[test]
    fn nation_colours_are_fixed_and_deterministic() {
        assert_eq!(nation_colour("CHN"), okabe_ito::VERMILLION);
        assert_eq!(nation_colour("XYZ"), nation_colour("XYZ"));
        // MYS hashes to the United States' blue; in a chart with the USA it gets a free colour.
        let codes = ["USA".to_string(), "MYS".to_string()];
        let colours = nation_colours(&codes);
        assert_eq!(colours[0], okabe_ito::BLUE);
        assert_ne!(colours[1], colours[0]);
    }
}
