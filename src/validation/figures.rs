//! Backtest figures (`orechain backtest`): one per series of an expectations file — the median over
//! seeds with the 5–95 % band, and the observed reference points of the file as black diamonds, so
//! a reader sees at once where the model's ensemble sits against what happened. Same rules as the
//! run figures (print size, embedded font, colour-blind-safe colours, no title, legend outside the
//! data, SVG + PNG + data CSV).

use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::BacktestResult;
use crate::output::figures::frame::{self, Axis};
use crate::output::figures::render::{DrawResult, Drawing, err, font, png_of, px, svg_of};
use crate::output::figures::style::{self, Width, okabe_ito};
use crate::output::tables::push_field;

const COLOUR: RGBColor = okabe_ito::BLUE;
const BAND_ALPHA: f64 = 0.2;

/// One backtest figure.
#[derive(Clone, Debug, PartialEq)]
pub struct BacktestChart {
    /// File name without extension: `<backtest>_<series>`.
    pub stem: String,
    /// Y-axis description with unit.
    pub y_desc: String,
    /// Share axis (drawn in %).
    pub percent: bool,
    /// Seeds.
    pub n: usize,
    /// `(year, p05, p50, p95)`.
    pub band: Vec<(f64, f64, f64, f64)>,
    /// Observed points `(year, value, label)`.
    pub observed: Vec<(f64, f64, String)>,
}

impl BacktestChart {
    /// The numbers drawn: `series,year,value,unit` rows (`p05`, `p50`, `p95`, `observed`).
    pub fn data_csv(&self) -> String {
        let mut out = String::from("series,year,value,label\n");
        for (y, lo, mid, hi) in &self.band {
            for (name, v) in [("p05", lo), ("p50", mid), ("p95", hi)] {
                let _ = writeln!(out, "{name},{y},{v},");
            }
        }
        for (y, v, label) in &self.observed {
            let _ = write!(out, "observed,{y},{v},");
            push_field(&mut out, label);
            out.push('\n');
        }
        out
    }
}

/// The figures of a backtest.
pub fn charts(r: &BacktestResult) -> Vec<BacktestChart> {
    let bands = r.bands();
    r.spec
        .series
        .iter()
        .map(|(name, spec)| {
            let percent = matches!(spec, super::SeriesSpec::Metric { unit, .. } if unit == "share");
            BacktestChart {
                stem: format!("{}_{}", r.spec.name, name),
                y_desc: if percent {
                    spec.axis_label().replace("(share)", "(%)")
                } else {
                    spec.axis_label()
                },
                percent,
                n: r.seeds.len(),
                band: bands
                    .get(name)
                    .map(|b| b.iter().map(|x| (x.0, x.1, x.2, x.3)).collect())
                    .unwrap_or_default(),
                observed: r
                    .spec
                    .references
                    .iter()
                    .filter(|x| &x.series == name)
                    .map(|x| (x.year, x.value, x.label.clone()))
                    .collect(),
            }
        })
        .collect()
}

/// Draw every figure of a backtest: `<stem>.svg`, `.png`, `.csv`.
pub fn draw(
    r: &BacktestResult,
) -> Result<Vec<(String, Vec<u8>)>, crate::output::figures::FigureError> {
    crate::output::figures::ensure_font()?;
    let mut out = Vec::new();
    for c in charts(r) {
        let fail = |e: String| {
            crate::output::figures::FigureError::Render(format!("figure `{}`: {e}", c.stem))
        };
        out.push((format!("{}.svg", c.stem), svg_of(&c).map_err(fail)?));
        out.push((format!("{}.png", c.stem), png_of(&c).map_err(fail)?));
        out.push((format!("{}.csv", c.stem), c.data_csv().into_bytes()));
    }
    Ok(out)
}

impl Drawing for BacktestChart {
    fn width(&self) -> Width {
        Width::Single
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        root.fill(&WHITE).map_err(err)?;
        let margin = px(6.0);
        let inner = root.margin(margin, margin, margin, margin);
        let scale = if self.percent { 100.0 } else { 1.0 };
        let values = self
            .band
            .iter()
            .flat_map(|b| [b.1, b.3])
            .chain(self.observed.iter().map(|o| o.1))
            .filter(|v| v.is_finite())
            .map(|v| v * scale);
        let lo = values.clone().fold(f64::INFINITY, f64::min);
        let hi = values.fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() {
            (lo.min(0.0), hi)
        } else {
            (0.0, 1.0)
        };
        let years = self
            .band
            .iter()
            .map(|b| b.0)
            .chain(self.observed.iter().map(|o| o.0));
        let first = years.clone().fold(f64::INFINITY, f64::min);
        let last = years.fold(f64::NEG_INFINITY, f64::max);
        let (first, last) = if first.is_finite() {
            (first, last + 1.0 / 12.0)
        } else {
            (0.0, 1.0)
        };
        let (div, unit_note) = if !self.percent && hi >= 1.0e6 {
            (1.0e6, " million")
        } else if !self.percent && hi >= 1.0e4 {
            (1.0e3, " thousand")
        } else {
            (1.0, "")
        };
        let desc = if unit_note.is_empty() {
            self.y_desc.clone()
        } else {
            // "Price (USD/t)" -> "Price (thousand USD/t)".
            match self.y_desc.rfind('(') {
                Some(i) => format!(
                    "{}({} {}",
                    &self.y_desc[..i],
                    unit_note.trim(),
                    &self.y_desc[i + 1..]
                ),
                None => format!("{}, {}", self.y_desc, unit_note.trim()),
            }
        };
        let y = Axis::numeric(lo / div, hi * 1.05 / div, 5, false, desc);
        let x = Axis::years(first, last, 6);

        // Legend strip at the top, outside the data.
        let legend_h = px(style::TICK_PT * 1.6);
        let (w, _) = inner.dim_in_pixel();
        let (legend, plot) = inner.split_vertically(legend_h);
        let tick = font(style::TICK_PT);
        // The legend starts where the plotting area does (about the width of the y labels).
        let mut cursor = px(26.0);
        let swatch = px(10.0);
        let mid = legend_h / 2;
        // Median line.
        legend
            .draw(&PathElement::new(
                vec![(cursor, mid), (cursor + swatch, mid)],
                COLOUR.stroke_width(px(style::LINE_PT * 1.2).max(1) as u32),
            ))
            .map_err(err)?;
        cursor += swatch + px(2.0);
        let label = format!("median of {} seeds", self.n);
        legend
            .draw(&Text::new(
                label.clone(),
                (cursor, mid),
                tick.pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
        cursor += legend.estimate_text_size(&label, &tick).map_err(err)?.0 as i32 + px(6.0);
        legend
            .draw(&Rectangle::new(
                [(cursor, mid - px(3.0)), (cursor + swatch, mid + px(3.0))],
                COLOUR.mix(BAND_ALPHA).filled(),
            ))
            .map_err(err)?;
        cursor += swatch + px(2.0);
        let label = "5–95% of seeds".to_string();
        legend
            .draw(&Text::new(
                label.clone(),
                (cursor, mid),
                tick.pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
        cursor += legend.estimate_text_size(&label, &tick).map_err(err)?.0 as i32 + px(6.0);
        if !self.observed.is_empty() && cursor + swatch < w as i32 {
            legend
                .draw(&Polygon::new(
                    diamond((cursor + swatch / 2, mid), px(2.6)),
                    BLACK.filled(),
                ))
                .map_err(err)?;
            cursor += swatch + px(1.0);
            legend
                .draw(&Text::new(
                    "observed",
                    (cursor, mid),
                    tick.pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .map_err(err)?;
        }

        let mut chart = frame::frame(root, &plot, &x, &y, px(4.0))?;
        let s = scale / div;
        if self.band.len() > 1 {
            let mut outline: Vec<(f64, f64)> = self.band.iter().map(|b| (b.0, b.3 * s)).collect();
            outline.extend(self.band.iter().rev().map(|b| (b.0, b.1 * s)));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    COLOUR.mix(BAND_ALPHA).filled(),
                )))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                self.band.iter().map(|b| (b.0, b.2 * s)),
                COLOUR.stroke_width(px(style::LINE_PT * 1.2).max(1) as u32),
            ))
            .map_err(err)?;
        let r = px(2.6);
        for (yr, v, _) in &self.observed {
            let (cx, cy) = chart.backend_coord(&(*yr, v * s));
            root.draw(&Polygon::new(diamond((cx, cy), r), BLACK.filled()))
                .map_err(err)?;
        }
        Ok(())
    }
}

fn diamond((x, y): (i32, i32), r: i32) -> Vec<(i32, i32)> {
    vec![(x, y - r), (x + r, y), (x, y + r), (x - r, y)]
}
