//! Sensitivity bars: the first- and total-order Sobol' indices of every parameter for one outcome
//! in its last year, from `sensitivity.csv` (Sobol' designs only).
//!
//! Bars run horizontally, one pair per parameter in column order from the top, so parameter names
//! of any length read without rotation (the usual layout of tornado and Sobol' charts). The first
//! order `S1` is the share of the outcome's variance a parameter explains alone, the total order
//! `ST` includes its interactions; a gap between the two bars shows interaction. Estimates can
//! fall slightly below 0 or above 1 by sampling error; the axis then extends to show them.
//! Whiskers show the bootstrap confidence interval of each index (`first_order_conf`,
//! `total_order_conf`), so an index whose whisker crosses zero reads as unresolved.

use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::outcome_axis;
use super::data::SweepData;
use crate::output::figures::chart::stem;
use crate::output::figures::frame::{self, Axis};
use crate::output::figures::render::{DrawResult, Layout, err, font, px};
use crate::output::figures::style::{self, Width, okabe_ito};
use crate::output::tables::push_field;

/// Figure id (file-name prefix).
pub const ID: &str = "sensitivity";

/// First-order bars.
const FIRST: RGBColor = okabe_ito::BLUE;
/// Total-order bars.
const TOTAL: RGBColor = okabe_ito::ORANGE;

/// Sobol' indices of one outcome in one year.
#[derive(Clone, Debug, PartialEq)]
pub struct SensitivityChart {
    /// File name without extension.
    pub stem: String,
    /// Outcome name (data CSV).
    pub outcome: String,
    /// What the outcome is (axis description).
    pub what: String,
    /// The year.
    pub year: f64,
    /// One bar pair per parameter, in parameter column order.
    pub bars: Vec<Bar>,
}

/// The indices of one parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Parameter name.
    pub parameter: String,
    /// First-order index.
    pub first: f64,
    /// Total-order index.
    pub total: f64,
    /// Half-width of the first-order interval.
    pub first_conf: Option<f64>,
    /// Half-width of the total-order interval.
    pub total_conf: Option<f64>,
}

impl Bar {
    /// Lowest and highest value the bar and its whisker reach.
    fn span(&self) -> (f64, f64) {
        let f = self.first_conf.unwrap_or(0.0);
        let t = self.total_conf.unwrap_or(0.0);
        (
            (self.first - f).min(self.total - t),
            (self.first + f).max(self.total + t),
        )
    }
}

/// One chart per outcome with indices.
pub fn charts(d: &SweepData) -> Vec<SensitivityChart> {
    let mut out = Vec::new();
    for (index, outcome) in d.outcomes.iter().enumerate() {
        let Some(year) = d
            .sensitivity
            .iter()
            .filter(|r| r.outcome == index)
            .map(|r| r.year)
            .max_by(f64::total_cmp)
        else {
            continue;
        };
        let mut rows: Vec<_> = d
            .sensitivity
            .iter()
            .filter(|r| r.outcome == index && r.year == year)
            .collect();
        rows.sort_by_key(|r| r.parameter);
        out.push(SensitivityChart {
            stem: stem(ID, &[&outcome.name]),
            outcome: outcome.name.clone(),
            what: outcome_axis(outcome, &d.settings, 1.0).what,
            year,
            bars: rows
                .iter()
                .map(|r| Bar {
                    parameter: d.parameters[r.parameter].clone(),
                    first: r.first,
                    total: r.total,
                    first_conf: r.first_conf,
                    total_conf: r.total_conf,
                })
                .collect(),
        });
    }
    out
}

impl SensitivityChart {
    /// Print size: one column.
    pub fn width(&self) -> Width {
        Width::Single
    }

    /// `outcome,year,parameter,first_order,total_order,first_order_conf,total_order_conf`, one
    /// row per parameter.
    pub fn data_csv(&self) -> String {
        let mut out = String::from(
            "outcome,year,parameter,first_order,total_order,first_order_conf,total_order_conf\n",
        );
        let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
        for b in &self.bars {
            push_field(&mut out, &self.outcome);
            let _ = write!(out, ",{},", self.year);
            push_field(&mut out, &b.parameter);
            let _ = writeln!(
                out,
                ",{},{},{},{}",
                b.first,
                b.total,
                opt(b.first_conf),
                opt(b.total_conf)
            );
        }
        out
    }

    /// Draw the bars (first order above total order within a parameter's row) and the legend.
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let layout = Layout::new();
        root.fill(&WHITE).map_err(err)?;
        let (_, h) = root.dim_in_pixel();
        let inner = root.margin(layout.margin, layout.margin, layout.margin, layout.margin);
        let legend_h = layout.legend_row + layout.margin;
        let (plot, legend) = inner.split_vertically(h as i32 - 2 * layout.margin - legend_h);

        let lo = self.bars.iter().map(|b| b.span().0).fold(0.0f64, f64::min);
        let hi = self.bars.iter().map(|b| b.span().1).fold(1.0f64, f64::max);
        let x = Axis::numeric(
            lo,
            hi,
            5,
            false,
            format!("Sobol' index of {}, {}", lower_first(&self.what), self.year),
        );
        // Categories from the top: the first parameter gets the highest y.
        let names: Vec<String> = self
            .bars
            .iter()
            .rev()
            .map(|b| b.parameter.clone())
            .collect();
        let y = Axis::categories(&names, "Parameter".into());
        let mut chart = frame::frame(root, &plot, &x, &y, px(8.0))?;
        let n = self.bars.len();
        let whisker = style::INK.stroke_width(px(style::AXIS_PT).max(1) as u32);
        for (i, b) in self.bars.iter().enumerate() {
            let row = (n - 1 - i) as f64;
            for (offset, value, conf, colour) in [
                (0.0, b.first, b.first_conf, FIRST),
                (-0.36, b.total, b.total_conf, TOTAL),
            ] {
                let top = row + 0.36 + offset;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(0.0, top), (value, top - 0.34)],
                        colour.filled(),
                    )))
                    .map_err(err)?;
                if let Some(c) = conf.filter(|c| *c > 0.0) {
                    // The interval as a whisker with end caps, centred in the bar.
                    let mid = top - 0.17;
                    let cap = 0.09;
                    for path in [
                        vec![(value - c, mid), (value + c, mid)],
                        vec![(value - c, mid - cap), (value - c, mid + cap)],
                        vec![(value + c, mid - cap), (value + c, mid + cap)],
                    ] {
                        chart
                            .draw_series(std::iter::once(PathElement::new(path, whisker)))
                            .map_err(err)?;
                    }
                }
            }
        }
        if lo < 0.0 {
            // The zero line, so that negative estimates read as such.
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                    style::INK.stroke_width(px(style::AXIS_PT).max(1) as u32),
                )))
                .map_err(err)?;
        }

        let text = font(style::TICK_PT).pos(Pos::new(HPos::Left, VPos::Center));
        let y = layout.margin + layout.legend_row / 2;
        let half = layout.legend_row / 4;
        let mut x = 0;
        let mut entries = vec![
            ("First order (S1)", Some(FIRST)),
            ("Total order (ST)", Some(TOTAL)),
        ];
        if self.bars.iter().any(|b| b.first_conf.is_some()) {
            entries.push(("Bootstrap interval", None));
        }
        for (label, colour) in entries {
            match colour {
                Some(colour) => legend
                    .draw(&Rectangle::new(
                        [(x, y - half), (x + layout.swatch, y + half)],
                        colour.filled(),
                    ))
                    .map_err(err)?,
                None => {
                    for path in [
                        vec![(x, y), (x + layout.swatch, y)],
                        vec![(x, y - half), (x, y + half)],
                        vec![(x + layout.swatch, y - half), (x + layout.swatch, y + half)],
                    ] {
                        legend.draw(&PathElement::new(path, whisker)).map_err(err)?;
                    }
                }
            }
            legend
                .draw(&Text::new(
                    label,
                    (x + layout.swatch + px(3.0), y),
                    text.clone(),
                ))
                .map_err(err)?;
            let (tw, _) = root
                .estimate_text_size(label, &font(style::TICK_PT))
                .map_err(err)?;
            x += layout.swatch + px(3.0) + tw as i32 + layout.legend_gap;
        }
        Ok(())
    }
}

/// `CHN share ...` stays; `Lithium refining HHI` becomes `lithium refining HHI` mid-sentence.
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && b.is_lowercase() => a
            .to_lowercase()
            .chain(std::iter::once(b))
            .chain(chars)
            .collect(),
        _ => s.to_string(),
    }
}
