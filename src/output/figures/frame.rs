//! Axes for the sweep figures: a plotters chart whose two axes have exactly the given ticks and
//! tick labels (numbers, years or category names), drawn with the run figures' style (7 pt ticks,
//! 8 pt axis descriptions that step down to no less than 6 pt when too long for their axis, light
//! grid lines, no title).

use plotters::chart::ChartContext;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::output::figures::render::{Layout, Ticked, err, font, px};
use crate::output::figures::style;

/// One axis: its range, its ticks with their labels, and its description.
#[derive(Clone, Debug)]
pub struct Axis {
    /// Low end of the axis.
    pub lo: f64,
    /// High end.
    pub hi: f64,
    /// Tick positions.
    pub ticks: Vec<f64>,
    /// Tick labels, one per tick.
    pub labels: Vec<String>,
    /// Axis description (with unit).
    pub desc: String,
    /// Grid lines at the ticks.
    pub grid: bool,
}

impl Axis {
    /// A numeric axis over `[lo, hi]` (already scaled) with nice ticks, padded by 2 % so lines at
    /// the ends are not cut in half.
    pub fn numeric(lo: f64, hi: f64, target: usize, percent: bool, desc: String) -> Axis {
        let (lo, hi) = spread(lo, hi);
        let ticks = style::nice_ticks(lo, hi, target);
        let step = if ticks.len() > 1 {
            ticks[1] - ticks[0]
        } else {
            1.0
        };
        let decimals = style::decimals_for(step);
        let first = ticks.first().copied().unwrap_or(0.0);
        let last = ticks.last().copied().unwrap_or(1.0);
        let pad = 0.02 * (last - first);
        Axis {
            lo: first - pad,
            hi: last + pad,
            labels: ticks
                .iter()
                .map(|t| style::format_tick(*t, decimals, percent))
                .collect(),
            ticks,
            desc,
            grid: true,
        }
    }

    /// Categories at 0, 1, 2, ... with their names as tick labels.
    pub fn categories(names: &[String], desc: String) -> Axis {
        Axis {
            lo: -0.5,
            hi: names.len().max(1) as f64 - 0.5,
            ticks: (0..names.len()).map(|i| i as f64).collect(),
            labels: names.to_vec(),
            desc,
            grid: false,
        }
    }

    /// Years from `first` to `last` (decimal years allowed), whole-year ticks.
    pub fn years(first: f64, last: f64, max_ticks: usize) -> Axis {
        let ticks: Vec<f64> =
            style::year_ticks(first.ceil() as i32, last.floor() as i32, max_ticks)
                .into_iter()
                .map(f64::from)
                .collect();
        let (lo, hi) = if last > first {
            (first, last)
        } else {
            (first - 0.5, first + 0.5)
        };
        Axis {
            lo,
            hi,
            labels: ticks.iter().map(|t| format!("{}", *t as i64)).collect(),
            ticks,
            desc: "Year".into(),
            grid: false,
        }
    }

    /// The axis with only every k-th tick labelled, k the smallest that keeps labels of this
    /// size `(width or height, px)` `gap` apart along `length` px.
    fn thinned(&self, size: i32, gap: i32, length: i32) -> Axis {
        let n = self.ticks.len().max(1) as i32;
        let slot = (length / n).max(1);
        let k = ((size + gap + slot - 1) / slot).max(1) as usize;
        let mut out = self.clone();
        for (i, label) in out.labels.iter_mut().enumerate() {
            if i % k != 0 {
                label.clear();
            }
        }
        out
    }

    fn label_of(&self, v: f64) -> String {
        self.ticks
            .iter()
            .position(|t| *t == v)
            .and_then(|i| self.labels.get(i))
            .cloned()
            .unwrap_or_default()
    }
}

/// A range wide enough for ticks: a constant (`lo == hi`) gets ±10 % of its size (±1 for zero)
/// around it, so it sits mid-axis (or mid-colour bar) instead of at one end.
pub fn spread(lo: f64, hi: f64) -> (f64, f64) {
    if hi - lo > 1e-12 * lo.abs().max(hi.abs()) {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { 0.1 * lo.abs() };
        (lo - pad, hi + pad)
    }
}

/// A chart of two ticked axes.
pub type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Ticked, Ticked>>;

/// The type size (pt) at which `text` fits `room` pixels: 8 pt, or smaller down to 6 pt.
fn fitted_pt<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
    room: i32,
) -> Result<f64, String> {
    let (w, _) = root
        .estimate_text_size(text, &font(style::LABEL_PT))
        .map_err(err)?;
    let room = f64::from(room.max(1));
    Ok(if f64::from(w) > 0.97 * room {
        (style::LABEL_PT * 0.97 * room / f64::from(w)).max(6.0)
    } else {
        style::LABEL_PT
    })
}

/// Widest of some texts at tick size, pixels.
pub fn widest<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    texts: &[String],
) -> Result<i32, String> {
    let tick_font = font(style::TICK_PT);
    let mut widest = 0;
    for t in texts {
        let (w, _) = root.estimate_text_size(t, &tick_font).map_err(err)?;
        widest = widest.max(w as i32);
    }
    Ok(widest)
}

/// Draw axes filling `area` (tick labels and descriptions inside it) and return the chart, ready
/// for data. `right` is the empty margin kept right of the plotting area, pixels.
pub fn frame<'a, DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &'a DrawingArea<DB, Shift>,
    x: &Axis,
    y: &Axis,
    right: i32,
) -> Result<Chart<'a, DB>, String> {
    let layout = Layout::new();
    let (aw, ah) = area.dim_in_pixel();
    let top = px(5.0);
    let x_area = px(style::TICK_PT * 1.3) + px(style::LABEL_PT * 1.3) + 2 * layout.tick + px(3.0);
    let y_pt = fitted_pt(root, &y.desc, ah as i32 - x_area - top)?;
    let y_font = font(y_pt);
    let (_, desc_h) = root.estimate_text_size(&y.desc, &y_font).map_err(err)?;
    let y_area = widest(root, &y.labels)? + 2 * layout.tick + px(3.0) + desc_h as i32 + px(3.0);
    let x_pt = fitted_pt(root, &x.desc, aw as i32 - y_area - right)?;
    // Category names wider than their slot are labelled every k-th only (ticks stay).
    let x = &x.thinned(
        widest(root, &x.labels)?,
        px(4.0),
        aw as i32 - y_area - right,
    );
    let y = &y.thinned(px(style::TICK_PT * 1.2), px(1.0), ah as i32 - x_area - top);

    let mut chart = ChartBuilder::on(area)
        .margin_top(top)
        .margin_right(right)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(
            Ticked::new(x.lo, x.hi, x.ticks.clone()),
            Ticked::new(y.lo, y.hi, y.ticks.clone()),
        )
        .map_err(err)?;
    let x_fmt = |v: &f64| x.label_of(*v);
    let y_fmt = |v: &f64| y.label_of(*v);
    let mut mesh = chart.configure_mesh();
    mesh.bold_line_style(style::GRID.stroke_width(px(0.4).max(1) as u32))
        .light_line_style(TRANSPARENT)
        .axis_style(style::INK.stroke_width(px(style::AXIS_PT).max(1) as u32))
        .label_style(font(style::TICK_PT))
        .axis_desc_style(font(x_pt))
        .set_all_tick_mark_size(layout.tick)
        .x_labels(x.ticks.len().max(2))
        .y_labels(y.ticks.len().max(2))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_desc(x.desc.clone());
    if !x.grid {
        mesh.disable_x_mesh();
    }
    if !y.grid {
        mesh.disable_y_mesh();
    }
    mesh.draw().map_err(err)?;
    // The y description is drawn here (as in the run figures) so that a long one can be set
    // smaller without shrinking the x description with it.
    let (_, ys) = chart.plotting_area().get_pixel_range();
    let left = area.get_base_pixel().0;
    root.draw(&Text::new(
        y.desc.clone(),
        (left, (ys.start + ys.end) / 2),
        y_font
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(err)?;
    Ok(chart)
}

/// Height of the tick-label strip under an x axis, pixels.
pub fn x_tick_area() -> i32 {
    px(style::TICK_PT * 1.3) + 2 * Layout::new().tick
}

/// Width of the tick-label strip left of a y axis, pixels.
pub fn y_tick_area<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    y: &Axis,
) -> Result<i32, String> {
    Ok(widest(root, &y.labels)? + 2 * Layout::new().tick + px(3.0))
}

/// One panel of a grid of small multiples: axes with tick labels (y tick labels only when
/// `y_labels`), no descriptions (the figure draws those once), `top` pixels above the plotting
/// area for the panel's label, `right` pixels right of it.
pub fn panel<'a, DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &'a DrawingArea<DB, Shift>,
    x: &Axis,
    y: &Axis,
    y_labels: bool,
    top: i32,
    right: i32,
) -> Result<Chart<'a, DB>, String> {
    let layout = Layout::new();
    let mut chart = ChartBuilder::on(area)
        .margin_top(top)
        .margin_right(right)
        .x_label_area_size(x_tick_area())
        // Without labels, the strip is just wide enough for the axis line and its tick marks.
        .y_label_area_size(if y_labels {
            y_tick_area(root, y)?
        } else {
            layout.tick + 1
        })
        .build_cartesian_2d(
            Ticked::new(x.lo, x.hi, x.ticks.clone()),
            Ticked::new(y.lo, y.hi, y.ticks.clone()),
        )
        .map_err(err)?;
    let x_fmt = |v: &f64| x.label_of(*v);
    let y_fmt = |v: &f64| {
        if y_labels {
            y.label_of(*v)
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.bold_line_style(style::GRID.stroke_width(px(0.4).max(1) as u32))
        .light_line_style(TRANSPARENT)
        .axis_style(style::INK.stroke_width(px(style::AXIS_PT).max(1) as u32))
        .label_style(font(style::TICK_PT))
        .set_all_tick_mark_size(layout.tick)
        .x_labels(x.ticks.len().max(2))
        .y_labels(y.ticks.len().max(2))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt);
    if !x.grid {
        mesh.disable_x_mesh();
    }
    if !y.grid {
        mesh.disable_y_mesh();
    }
    mesh.draw().map_err(err)?;
    Ok(chart)
}
