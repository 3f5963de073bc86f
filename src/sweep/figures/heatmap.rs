//! Heatmaps of two-parameter grids: the mean of an outcome over the replicates of each design
//! point, in the outcome's last year, as one coloured cell per (first parameter, second parameter)
//! pair, with a colour bar. Drawn for designs of exactly two parameters whose points fill a
//! rectangle: every `grid` design, and a `csv` design whose rows hold each pair of the two
//! parameters' distinct values exactly once (a full factorial given as a table). Numeric levels
//! of a `csv` design are drawn in ascending order, others in order of first appearance.
//!
//! The colour scale is viridis (van der Walt & Smith 2015, matplotlib's default): perceptually
//! uniform, readable in greyscale and for the common colour-vision deficiencies. It is
//! interpolated linearly between its values at 0, 0.1, ..., 1 (as R's `viridisLite::viridis(11)`
//! lists them). A cell whose runs all failed is drawn light grey with no value. When cells are
//! wide enough, each carries its value.

use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontTransform, RGBColor};

use super::axis::{OutcomeAxis, outcome_axis};
use super::data::SweepData;
use crate::output::figures::chart::stem;
use crate::output::figures::frame::{self, Axis};
use crate::output::figures::render::{DrawResult, Layout, err, font, px};
use crate::output::figures::style::{self, Width};
use crate::output::tables::push_field;

/// Figure id (file-name prefix).
pub const ID: &str = "heatmap";

/// viridis at 0, 0.1, ..., 1.
const VIRIDIS: [RGBColor; 11] = [
    RGBColor(0x44, 0x01, 0x54),
    RGBColor(0x48, 0x24, 0x75),
    RGBColor(0x41, 0x44, 0x87),
    RGBColor(0x35, 0x5F, 0x8D),
    RGBColor(0x2A, 0x78, 0x8E),
    RGBColor(0x21, 0x91, 0x8C),
    RGBColor(0x22, 0xA8, 0x84),
    RGBColor(0x44, 0xBF, 0x70),
    RGBColor(0x7A, 0xD1, 0x51),
    RGBColor(0xBD, 0xDF, 0x26),
    RGBColor(0xFD, 0xE7, 0x25),
];

/// Cells without a value.
const MISSING: RGBColor = RGBColor(0xEE, 0xEE, 0xEE);

/// The viridis colour of `t` in 0..1 (clamped).
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + f * (f64::from(q) - f64::from(p))).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Index of the first parameter's level (x).
    pub x: usize,
    /// Index of the second parameter's level (y).
    pub y: usize,
    /// Design point.
    pub point: usize,
    /// Replicates with a value, and their mean (raw units); `None` when none gave a value.
    pub mean: Option<(u64, f64)>,
}

/// A heatmap of one outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    /// File name without extension.
    pub stem: String,
    /// Parameter names (x, y).
    pub names: [String; 2],
    /// Levels of the first (x) and second (y) parameter, in design order.
    pub levels: [Vec<String>; 2],
    /// The year shown.
    pub year: f64,
    /// The outcome's axis (the colour bar).
    pub axis: OutcomeAxis,
    /// Cells, in point id order.
    pub cells: Vec<Cell>,
}

/// One heatmap per outcome, for a two-parameter grid (see [`grid_levels`]).
pub fn charts(d: &SweepData) -> Vec<Heatmap> {
    let Some(levels) = grid_levels(&d.design, &d.parameters, &d.points) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (index, outcome) in d.outcomes.iter().enumerate() {
        let Some(year) = d.last_year(index) else {
            continue;
        };
        // The last year's mean of each point, looked up once (grids can have thousands of points).
        let means: std::collections::BTreeMap<usize, (u64, f64)> = d
            .outcome_rows(index)
            .filter(|r| r.year == year)
            .map(|r| (r.point, (r.n, r.mean)))
            .collect();
        let cells: Vec<Cell> = d
            .points
            .iter()
            .enumerate()
            .map(|(point, values)| {
                let at = |a: usize| levels[a].iter().position(|l| *l == values[a]).unwrap_or(0);
                Cell {
                    x: at(0),
                    y: at(1),
                    point,
                    mean: means.get(&point).copied(),
                }
            })
            .collect();
        let max = cells
            .iter()
            .filter_map(|c| c.mean.map(|m| m.1.abs()))
            .fold(0.0, f64::max);
        out.push(Heatmap {
            stem: stem(ID, &[&outcome.name]),
            names: [d.parameters[0].clone(), d.parameters[1].clone()],
            levels: levels.clone(),
            year,
            axis: outcome_axis(outcome, &d.settings, max),
            cells,
        });
    }
    out
}

/// The two parameters' levels when the design's points fill a two-parameter grid, else `None`:
/// a `grid` design of two parameters, or a `csv` (or any other) design of two parameters whose
/// points hold each (x, y) pair of distinct values exactly once. Sobol' designs sample, so they are
/// never read as a grid.
pub fn grid_levels(
    design: &str,
    parameters: &[String],
    points: &[Vec<String>],
) -> Option<[Vec<String>; 2]> {
    if parameters.len() != 2 || design == "sobol" || points.is_empty() {
        return None;
    }
    let mut levels: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for point in points {
        if point.len() != 2 {
            return None;
        }
        for (axis, value) in levels.iter_mut().zip(point) {
            if !axis.contains(value) {
                axis.push(value.clone());
            }
        }
    }
    if design == "grid" {
        return Some(levels);
    }
    // A full grid: as many points as pairs, and no pair twice.
    if levels[0].len() * levels[1].len() != points.len() || levels.iter().any(|l| l.len() < 2) {
        return None;
    }
    let pairs: std::collections::BTreeSet<(&str, &str)> = points
        .iter()
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .collect();
    if pairs.len() != points.len() {
        return None;
    }
    for axis in &mut levels {
        let numbers: Option<Vec<f64>> = axis.iter().map(|v| v.parse::<f64>().ok()).collect();
        if let Some(numbers) = numbers
            && numbers.iter().all(|v| v.is_finite())
        {
            let mut order: Vec<usize> = (0..axis.len()).collect();
            order.sort_by(|&a, &b| numbers[a].total_cmp(&numbers[b]));
            *axis = order.into_iter().map(|i| axis[i].clone()).collect();
        }
    }
    Some(levels)
}

/// Relative luminance of an sRGB colour (WCAG 2.1), for choosing dark or light text on a cell.
fn luminance(c: RGBColor) -> f64 {
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c.0) + 0.7152 * lin(c.1) + 0.0722 * lin(c.2)
}

/// A value with three significant digits (cell annotations).
fn three_digits(v: f64, percent: bool) -> String {
    let magnitude = if v == 0.0 {
        0
    } else {
        v.abs().log10().floor() as i32
    };
    let decimals = (2 - magnitude).clamp(0, 4) as usize;
    style::format_tick(v, decimals, percent)
}

impl Heatmap {
    /// Print size: one column.
    pub fn width(&self) -> Width {
        Width::Single
    }

    /// `point_id,<x parameter>,<y parameter>,year,n,mean,unit`, one row per cell (empty `n` and
    /// `mean` for a cell without a value).
    pub fn data_csv(&self) -> String {
        let mut out = String::from("point_id,");
        for n in &self.names {
            push_field(&mut out, n);
            out.push(',');
        }
        out.push_str("year,n,mean,unit\n");
        for c in &self.cells {
            let _ = write!(out, "{},", c.point);
            push_field(&mut out, &self.levels[0][c.x]);
            out.push(',');
            push_field(&mut out, &self.levels[1][c.y]);
            let _ = write!(out, ",{},", self.year);
            if let Some((n, mean)) = c.mean {
                let _ = write!(out, "{n},{mean}");
            } else {
                out.push(',');
            }
            out.push(',');
            push_field(&mut out, &self.axis.raw_unit);
            out.push('\n');
        }
        out
    }

    /// Draw the cells, their values when they fit, and the colour bar on the right.
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let layout = Layout::new();
        root.fill(&WHITE).map_err(err)?;
        let (w, _) = root.dim_in_pixel();
        let inner = root.margin(layout.margin, layout.margin, layout.margin, layout.margin);

        let d = self.axis.scale.divisor;
        let percent = self.axis.scale.percent;
        let values: Vec<f64> = self
            .cells
            .iter()
            .filter_map(|c| c.mean.map(|m| m.1 / d))
            .collect();
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() {
            frame::spread(lo, hi)
        } else {
            (0.0, 1.0)
        };
        // The colour scale spans nice ticks around the data, so the bar's ends are labelled.
        let ticks = style::nice_ticks(lo, hi, 4);
        let (c_lo, c_hi) = (
            ticks.first().copied().unwrap_or(0.0),
            ticks.last().copied().unwrap_or(1.0),
        );
        let step = if ticks.len() > 1 {
            ticks[1] - ticks[0]
        } else {
            1.0
        };
        let decimals = style::decimals_for(step);
        let tick_labels: Vec<String> = ticks
            .iter()
            .map(|t| style::format_tick(*t, decimals, percent))
            .collect();
        let colour_of = |v: f64| {
            if c_hi > c_lo {
                viridis((v - c_lo) / (c_hi - c_lo))
            } else {
                viridis(0.5)
            }
        };

        // Colour bar strip on the right: bar, ticks, tick labels, rotated description.
        let bar_w = px(8.0);
        // The colour bar names the outcome, the statistic and the year.
        let label = self
            .axis
            .scale
            .label(&format!("{}, mean {}", self.axis.what, self.year));
        let (_, label_h) = root
            .estimate_text_size(&label, &font(style::LABEL_PT))
            .map_err(err)?;
        let bar_area = px(6.0)
            + bar_w
            + layout.tick
            + px(2.0)
            + frame::widest(root, &tick_labels)?
            + px(3.0)
            + label_h as i32;
        let (main, bar) = inner.split_horizontally(w as i32 - 2 * layout.margin - bar_area);

        let x = Axis::categories(&self.levels[0], self.names[0].clone());
        let y = Axis::categories(&self.levels[1], self.names[1].clone());
        let mut chart = frame::frame(root, &main, &x, &y, 0)?;
        let cell_px = {
            let (xs, ys) = chart.plotting_area().get_pixel_range();
            (
                (xs.end - xs.start) / self.levels[0].len().max(1) as i32,
                (ys.end - ys.start) / self.levels[1].len().max(1) as i32,
            )
        };
        for c in &self.cells {
            let (x0, y0) = (c.x as f64 - 0.5, c.y as f64 - 0.5);
            let fill = c.mean.map_or(MISSING, |m| colour_of(m.1 / d));
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, y0), (x0 + 1.0, y0 + 1.0)],
                    fill.filled(),
                )))
                .map_err(err)?;
            if let Some((_, mean)) = c.mean {
                let text = three_digits(mean / d, percent);
                let (tw, th) = root
                    .estimate_text_size(&text, &font(style::TICK_PT))
                    .map_err(err)?;
                if (tw as i32) + px(4.0) <= cell_px.0 && (th as i32) + px(2.0) <= cell_px.1 {
                    let ink = if luminance(fill) > 0.3 {
                        style::INK
                    } else {
                        WHITE
                    };
                    chart
                        .draw_series(std::iter::once(Text::new(
                            text,
                            (c.x as f64, c.y as f64),
                            font(style::TICK_PT)
                                .color(&ink)
                                .pos(Pos::new(HPos::Center, VPos::Center)),
                        )))
                        .map_err(err)?;
                }
            }
        }

        // The bar spans the plotting area's height.
        let (_, ys) = chart.plotting_area().get_pixel_range();
        let left = bar.get_base_pixel().0 - root.get_base_pixel().0 + px(6.0);
        let (top, bottom) = (ys.start, ys.end);
        let height = (bottom - top).max(1);
        let slices = height.min(200);
        for s in 0..slices {
            let y0 = bottom - height * s / slices;
            let y1 = bottom - height * (s + 1) / slices;
            let t = (f64::from(s) + 0.5) / f64::from(slices);
            root.draw(&Rectangle::new(
                [(left, y1), (left + bar_w, y0)],
                colour_of(c_lo + t * (c_hi - c_lo)).filled(),
            ))
            .map_err(err)?;
        }
        let ink = style::INK.stroke_width(px(style::AXIS_PT).max(1) as u32);
        root.draw(&Rectangle::new([(left, top), (left + bar_w, bottom)], ink))
            .map_err(err)?;
        let tick_font = font(style::TICK_PT).pos(Pos::new(HPos::Left, VPos::Center));
        for (t, text) in ticks.iter().zip(&tick_labels) {
            let frac = if c_hi > c_lo {
                (t - c_lo) / (c_hi - c_lo)
            } else {
                0.5
            };
            let y = bottom - (frac * f64::from(height)).round() as i32;
            root.draw(&PathElement::new(
                vec![(left + bar_w, y), (left + bar_w + layout.tick, y)],
                ink,
            ))
            .map_err(err)?;
            root.draw(&Text::new(
                text.clone(),
                (left + bar_w + layout.tick + px(2.0), y),
                tick_font.clone(),
            ))
            .map_err(err)?;
        }
        // Rotated description right of the tick labels, fitted to the bar's height.
        let (label_w, _) = root
            .estimate_text_size(&label, &font(style::LABEL_PT))
            .map_err(err)?;
        let pt = if f64::from(label_w) > 0.97 * f64::from(height) {
            (style::LABEL_PT * 0.97 * f64::from(height) / f64::from(label_w)).max(6.0)
        } else {
            style::LABEL_PT
        };
        let x_label =
            left + bar_w + layout.tick + px(2.0) + frame::widest(root, &tick_labels)? + px(3.0);
        root.draw(&Text::new(
            label,
            (x_label, (top + bottom) / 2),
            font(pt)
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0), VIRIDIS[0]);
        assert_eq!(viridis(1.0), VIRIDIS[10]);
        assert_eq!(viridis(2.0), VIRIDIS[10]);
        assert_eq!(viridis(0.5), VIRIDIS[5]);
        assert!(luminance(viridis(1.0)) > luminance(viridis(0.0)));
    }
}
