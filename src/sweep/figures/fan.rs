//! Fan charts: how an outcome spreads over the replicates of a design point, year by year — the
//! median (`p50`) as a line and the 5–95 % range (`p05`–`p95`) as a band.
//!
//! Each design point gets its own small panel (Tufte's small multiples), all on shared axes, with
//! its parameter values above it: overlapping bands of several points in one panel cannot be told
//! apart once replicates are noisy. At most [`MAX_POINTS`] panels fit a double-column figure, so a
//! larger design draws a subset that spans the outcome's range: the points are ranked by their
//! median in the outcome's last year (ties by point id) and the lowest, the highest and evenly
//! spaced ranks between them are drawn, in point-id order.

use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{OutcomeAxis, outcome_axis};
use super::data::SweepData;
use crate::output::figures::chart::stem;
use crate::output::figures::frame::{self, Axis};
use crate::output::figures::render::{DrawResult, Layout, err, font, px};
use crate::output::figures::style::{self, Width, okabe_ito};
use crate::output::tables::push_field;

/// Figure id (file-name prefix).
pub const ID: &str = "fan";

/// Most design points drawn in one fan chart.
pub const MAX_POINTS: usize = 6;

/// Most lines of a panel label; longer labels are shortened (see [`label_lines`]).
const MAX_LABEL_LINES: usize = 3;

/// Characters kept of a parameter name that has to be shortened for its panel label.
const SHORT_NAME: usize = 8;

/// Colour of bands and medians (Okabe–Ito blue).
const COLOUR: RGBColor = okabe_ito::BLUE;

/// Medians get a dot per year when an outcome has at most this many years.
const MAX_DOTTED_YEARS: usize = 12;

/// Half the width of an error bar's cap (pt).
const CAP_PT: f64 = 2.5;

/// Largest gap (years) between recorded years that a band may span: a yearly outcome's
/// consecutive years (or a series' quarters) are joined, anything sparser is drawn as error bars.
const MAX_JOINED_GAP: f64 = 1.0 + 1e-9;

/// Opacity of a band.
const BAND_ALPHA: f64 = 0.18;

/// One design point's fan.
#[derive(Clone, Debug, PartialEq)]
pub struct Fan {
    /// Design point.
    pub point: usize,
    /// `name = value` of each parameter (the panel label).
    pub pairs: Vec<String>,
    /// `(year, n, p05, p50, p95)` in raw units, in year order.
    pub rows: Vec<(f64, u64, f64, f64, f64)>,
}

/// A fan chart of one outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct FanChart {
    /// File name without extension.
    pub stem: String,
    /// The outcome's axis.
    pub axis: OutcomeAxis,
    /// Parameter names (data CSV header).
    pub parameters: Vec<String>,
    /// Parameter values of each drawn point (data CSV).
    pub values: Vec<Vec<String>>,
    /// Fans, in point id order.
    pub fans: Vec<Fan>,
}

/// The points to draw: all of them up to [`MAX_POINTS`], else a spread by final median.
fn pick(finals: &[(usize, f64)]) -> Vec<usize> {
    let mut ranked = finals.to_vec();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = if ranked.len() <= MAX_POINTS {
        ranked.iter().map(|(p, _)| *p).collect()
    } else {
        let last = (ranked.len() - 1) as f64;
        (0..MAX_POINTS)
            .map(|i| {
                let rank = (i as f64 * last / (MAX_POINTS - 1) as f64).round() as usize;
                ranked[rank].0
            })
            .collect()
    };
    chosen.sort_unstable();
    chosen.dedup();
    chosen
}

/// One fan chart per outcome that has summary rows.
pub fn charts(d: &SweepData) -> Vec<FanChart> {
    let mut out = Vec::new();
    for (index, outcome) in d.outcomes.iter().enumerate() {
        let Some(last_year) = d.last_year(index) else {
            continue;
        };
        let finals: Vec<(usize, f64)> = d
            .outcome_rows(index)
            .filter(|r| r.year == last_year)
            .map(|r| (r.point, r.p50))
            .collect();
        let chosen = pick(&finals);
        let fans: Vec<Fan> = chosen
            .iter()
            .map(|&point| {
                let mut rows: Vec<(f64, u64, f64, f64, f64)> = d
                    .outcome_rows(index)
                    .filter(|r| r.point == point)
                    .map(|r| (r.year, r.n, r.p05, r.p50, r.p95))
                    .collect();
                rows.sort_by(|a, b| a.0.total_cmp(&b.0));
                Fan {
                    point,
                    pairs: d.point_pairs(point),
                    rows,
                }
            })
            .collect();
        let max = fans
            .iter()
            .flat_map(|f| &f.rows)
            .map(|r| r.4.abs().max(r.2.abs()))
            .fold(0.0, f64::max);
        out.push(FanChart {
            stem: stem(ID, &[&outcome.name]),
            axis: outcome_axis(outcome, &d.settings, max),
            parameters: d.parameters.clone(),
            values: chosen.iter().map(|&p| d.points[p].clone()).collect(),
            fans,
        });
    }
    out
}

impl FanChart {
    /// Print size: double column, room for a grid of panels.
    pub fn width(&self) -> Width {
        Width::Double
    }

    /// Whether the outcome's years are adjacent recorded years (drawn as a band), rather than
    /// one year or sparse years (drawn as a median with a 5–95 % error bar per year). Every
    /// drawn point must have at least two years, none more than a year apart.
    pub fn continuous(&self) -> bool {
        !self.fans.is_empty()
            && self.fans.iter().all(|f| {
                f.rows.len() > 1 && f.rows.windows(2).all(|w| w[1].0 - w[0].0 <= MAX_JOINED_GAP)
            })
    }

    /// `point_id,<parameters>,year,n,p05,p50,p95,unit`, one row per drawn point and year.
    pub fn data_csv(&self) -> String {
        let mut out = String::from("point_id,");
        for p in &self.parameters {
            push_field(&mut out, p);
            out.push(',');
        }
        out.push_str("year,n,p05,p50,p95,unit\n");
        for (fan, values) in self.fans.iter().zip(&self.values) {
            for (year, n, p05, p50, p95) in &fan.rows {
                let _ = write!(out, "{},", fan.point);
                for v in values {
                    push_field(&mut out, v);
                    out.push(',');
                }
                let _ = write!(out, "{year},{n},{p05},{p50},{p95},");
                push_field(&mut out, &self.axis.raw_unit);
                out.push('\n');
            }
        }
        out
    }

    /// Draw the chart: a grid of panels (up to three columns), each with its point's band and
    /// median line and the point's parameter values above it; shared axes, described once.
    pub fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let layout = Layout::new();
        root.fill(&WHITE).map_err(err)?;
        let (w, h) = root.dim_in_pixel();
        let (w, h) = (w as i32 - 2 * layout.margin, h as i32 - 2 * layout.margin);
        let inner = root.margin(layout.margin, layout.margin, layout.margin, layout.margin);

        let d = self.axis.scale.divisor;
        let all = self.fans.iter().flat_map(|f| &f.rows);
        let lo = all.clone().map(|r| r.2 / d).fold(f64::INFINITY, f64::min);
        let hi = all
            .clone()
            .map(|r| r.4 / d)
            .fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let first = all.clone().map(|r| r.0).fold(f64::INFINITY, f64::min);
        let last = all.map(|r| r.0).fold(f64::NEG_INFINITY, f64::max);
        let (first, last) = if first.is_finite() {
            (first, last)
        } else {
            (0.0, 1.0)
        };

        let n = self.fans.len().max(1);
        let cols = if n == 4 { 2 } else { n.min(3) } as i32;
        let rows = (n as i32 + cols - 1) / cols;
        let y = Axis::numeric(
            lo,
            hi,
            if rows > 1 { 3 } else { 5 },
            self.axis.scale.percent,
            self.axis.label(),
        );
        // Error bars keep half a year clear of the frame so their caps are not cut.
        let pad = if self.continuous() { 0.0 } else { 0.5 };
        let x = Axis::years(first - pad, last + pad, (12 / cols as usize).max(3));

        // Strips for the two descriptions, drawn once for the whole grid.
        let y_desc = self.axis.label();
        let label_h = px(style::LABEL_PT * 1.3);
        let left_strip = label_h + px(3.0);
        let bottom_strip = label_h + px(2.0);
        let y_ticks = frame::y_tick_area(root, &y)?;
        // Room between panels for half of one panel's last year label and half of the next
        // panel's first, so they never touch.
        let right = frame::widest(root, &x.labels)? + px(4.0);
        // Panels after the first keep a thin strip for their axis line and tick marks.
        let bare = layout.tick + 1;
        let plot_w = (w - left_strip - y_ticks - (cols - 1) * bare - cols * right) / cols;
        let first_w = y_ticks + plot_w + right;
        let other_w = bare + plot_w + right;
        let panel_h = (h - bottom_strip) / rows;
        let labels: Vec<Vec<String>> = self
            .fans
            .iter()
            .map(|f| label_lines(root, f, plot_w + right / 2))
            .collect::<Result<_, _>>()?;
        let line_h = px(style::TICK_PT * 1.3);
        let lines = labels.iter().map(Vec::len).max().unwrap_or(1) as i32;
        let caption_h = lines * line_h + px(3.0);

        let line = px(style::LINE_PT * 1.2).max(1) as u32;
        let mut plot_rows = (i32::MAX, i32::MIN);
        for (i, f) in self.fans.iter().enumerate() {
            let (r, c) = (i as i32 / cols, i as i32 % cols);
            let x0 = left_strip
                + if c == 0 {
                    0
                } else {
                    first_w + (c - 1) * other_w
                };
            let width = if c == 0 { first_w } else { other_w };
            let area = inner.clone().shrink((x0, r * panel_h), (width, panel_h));
            let mut chart = frame::panel(root, &area, &x, &y, c == 0, caption_h, right)?;
            let (xs, ys) = chart.plotting_area().get_pixel_range();
            plot_rows = (plot_rows.0.min(ys.start), plot_rows.1.max(ys.end));

            if self.continuous() {
                let mut outline: Vec<(f64, f64)> = f.rows.iter().map(|r| (r.0, r.4 / d)).collect();
                outline.extend(f.rows.iter().rev().map(|r| (r.0, r.2 / d)));
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        outline,
                        COLOUR.mix(BAND_ALPHA).filled(),
                    )))
                    .map_err(err)?;
                chart
                    .draw_series(LineSeries::new(
                        f.rows.iter().map(|r| (r.0, r.3 / d)),
                        COLOUR.stroke_width(line),
                    ))
                    .map_err(err)?;
                // With few years, dots show which years were observed (the line only joins them).
                if f.rows.len() <= MAX_DOTTED_YEARS {
                    chart
                        .draw_series(
                            f.rows
                                .iter()
                                .map(|r| Circle::new((r.0, r.3 / d), px(1.6), COLOUR.filled())),
                        )
                        .map_err(err)?;
                }
            } else {
                // Sparse or single years: nothing was recorded between them, so each year is a
                // median dot with a capped 5–95 % error bar, never a band joining them.
                let span = f64::from((xs.end - xs.start).max(1));
                let cap = f64::from(px(CAP_PT)) * (x.hi - x.lo) / span;
                for r in &f.rows {
                    let (lo_v, hi_v) = (r.2 / d, r.4 / d);
                    let bars = [
                        vec![(r.0, lo_v), (r.0, hi_v)],
                        vec![(r.0 - cap, lo_v), (r.0 + cap, lo_v)],
                        vec![(r.0 - cap, hi_v), (r.0 + cap, hi_v)],
                    ];
                    chart
                        .draw_series(
                            bars.into_iter()
                                .map(|b| PathElement::new(b, COLOUR.stroke_width(line))),
                        )
                        .map_err(err)?;
                    chart
                        .draw_series(std::iter::once(Circle::new(
                            (r.0, r.3 / d),
                            px(2.2),
                            COLOUR.filled(),
                        )))
                        .map_err(err)?;
                }
            }

            // The panel's label, its last line just above the plot (it may reach into the gap
            // before the next panel).
            let above = ys.start - px(3.0) - (labels[i].len() as i32 - 1) * line_h;
            for (k, text) in labels[i].iter().enumerate() {
                root.draw(&Text::new(
                    text.clone(),
                    (xs.start, above + k as i32 * line_h),
                    font(style::TICK_PT).pos(Pos::new(HPos::Left, VPos::Bottom)),
                ))
                .map_err(err)?;
            }
        }

        // The descriptions: y centred on the plotting rows, "Year" centred under the columns.
        let base = inner.get_base_pixel();
        let (y_font_pt, _) = (fit(root, &y_desc, plot_rows.1 - plot_rows.0)?, ());
        root.draw(&Text::new(
            y_desc,
            (base.0, (plot_rows.0 + plot_rows.1) / 2),
            font(y_font_pt)
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err)?;
        let plots_left = base.0 + left_strip + y_ticks;
        let plots_right = base.0 + left_strip + first_w + (cols - 1) * other_w - right;
        root.draw(&Text::new(
            x.desc.clone(),
            ((plots_left + plots_right) / 2, base.1 + h),
            font(style::LABEL_PT).pos(Pos::new(HPos::Center, VPos::Bottom)),
        ))
        .map_err(err)?;
        Ok(())
    }
}

/// A panel's label as lines that fit `room` pixels: its parameter values as `name = value`
/// pairs joined by "; ", as many to a line as fit, in at most [`MAX_LABEL_LINES`] lines. When the
/// full names do not fit, names are shortened to [`SHORT_NAME`] characters (with "…"); a line
/// still too wide is cut with "…". Only a point without parameters is labelled by its id.
fn label_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    f: &Fan,
    room: i32,
) -> Result<Vec<String>, String> {
    if f.pairs.is_empty() {
        return Ok(vec![format!("Point {}", f.point)]);
    }
    let tick = font(style::TICK_PT);
    let width = |t: &str| {
        root.estimate_text_size(t, &tick)
            .map(|(w, _)| w as i32)
            .map_err(err)
    };
    let wrap = |pairs: &[String]| -> Result<Vec<String>, String> {
        let mut lines: Vec<String> = Vec::new();
        for (k, pair) in pairs.iter().enumerate() {
            let piece = if k + 1 < pairs.len() {
                format!("{pair};")
            } else {
                pair.clone()
            };
            let joined = lines.last().map(|l| format!("{l} {piece}"));
            match joined {
                Some(j) if width(&j)? <= room => {
                    if let Some(last) = lines.last_mut() {
                        *last = j;
                    }
                }
                _ => lines.push(piece),
            }
        }
        Ok(lines)
    };
    let fits = |lines: &[String]| -> Result<bool, String> {
        if lines.len() > MAX_LABEL_LINES {
            return Ok(false);
        }
        for l in lines {
            if width(l)? > room {
                return Ok(false);
            }
        }
        Ok(true)
    };
    let full = wrap(&f.pairs)?;
    if fits(&full)? {
        return Ok(full);
    }
    let short: Vec<String> = f.pairs.iter().map(|p| shorten_name(p)).collect();
    let mut lines = wrap(&short)?;
    if lines.len() > MAX_LABEL_LINES {
        lines.truncate(MAX_LABEL_LINES);
        if let Some(last) = lines.last_mut() {
            last.push_str(" …");
        }
    }
    for line in &mut lines {
        while width(line)? > room && line.chars().count() > 1 {
            let mut kept: String = line.chars().collect::<Vec<_>>()
                [..line.chars().count().saturating_sub(2)]
                .iter()
                .collect();
            kept = kept.trim_end().to_string();
            kept.push('…');
            *line = kept;
        }
    }
    Ok(lines)
}

/// `name = value` with the name cut to [`SHORT_NAME`] characters plus "…" when longer.
fn shorten_name(pair: &str) -> String {
    let Some((name, value)) = pair.split_once(" = ") else {
        return pair.to_string();
    };
    if name.chars().count() <= SHORT_NAME {
        return pair.to_string();
    }
    let cut: String = name.chars().take(SHORT_NAME).collect();
    format!("{cut}… = {value}")
}

/// The type size (pt) at which `text` fits `room` pixels: 8 pt, or smaller down to 6 pt.
fn fit<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
    room: i32,
) -> Result<f64, String> {
    let (tw, _) = root
        .estimate_text_size(text, &font(style::LABEL_PT))
        .map_err(err)?;
    let room = f64::from(room.max(1));
    Ok(if f64::from(tw) > 0.97 * room {
        (style::LABEL_PT * 0.97 * room / f64::from(tw)).max(6.0)
    } else {
        style::LABEL_PT
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_design_draws_a_spread_of_points_by_final_median() {
        let finals: Vec<(usize, f64)> = (0..20).map(|p| (p, -(p as f64))).collect();
        // Medians fall with the id: rank 0 is point 19, rank 19 is point 0.
        let picked = pick(&finals);
        assert_eq!(picked.len(), MAX_POINTS);
        assert_eq!(picked.first(), Some(&0));
        assert_eq!(picked.last(), Some(&19));
        let small: Vec<(usize, f64)> = (0..4).map(|p| (p, 1.0)).collect();
        assert_eq!(pick(&small), vec![0, 1, 2, 3]);
    }
}
