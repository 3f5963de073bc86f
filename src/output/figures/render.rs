//! Drawing a [`Figure`] with plotters, once for SVG and once for PNG, from the same code path.
//!
//! Layout, top to bottom: the panels (side by side, each with its own axes), then the legend in
//! its own strip below them, flowed into as many rows as it needs. The legend is measured before
//! anything is drawn and the panels get what is left, so it can never cover data. There is no
//! title: captions belong to the paper.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontDesc, FontStyle, FontTransform, RGBColor};

use super::bitmap_text::CrispText;
use super::chart::{Band, Figure, Kind, LegendEntry};
use super::style::{self, Width};

/// Drawing failed inside plotters (an internal error: the inputs were already checked).
pub(crate) type DrawResult = Result<(), String>;

pub(crate) fn font(points: f64) -> TextStyle<'static> {
    FontDesc::new(style::family(), style::font_pt(points), FontStyle::Normal).color(&style::INK)
}

pub(crate) fn px(points: f64) -> i32 {
    style::pt(points).round() as i32
}

/// Anything drawn at a print size onto a plotters drawing area: a run [`Figure`], or one of the
/// sweep figures. Both files of a figure come from the one `draw`, so the SVG and the PNG agree.
pub(crate) trait Drawing {
    /// Print size.
    fn width(&self) -> Width;
    /// Draw onto `root` (already sized to [`Drawing::width`]), painting the whole canvas first
    /// (the PNG canvas starts zeroed, that is black).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

impl Drawing for Figure {
    fn width(&self) -> Width {
        self.width
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        draw(root, self, &[])
    }
}

/// A line figure with 5–95 % bands around its (median) lines: ensemble and comparison figures.
struct Banded<'a>(&'a Figure, &'a [Band]);

impl Drawing for Banded<'_> {
    fn width(&self) -> Width {
        self.0.width
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        draw(root, self.0, self.1)
    }
}

/// A figure with bands as SVG (see [`svg`]).
pub fn svg_banded(fig: &Figure, bands: &[Band]) -> Result<Vec<u8>, String> {
    svg_of(&Banded(fig, bands))
}

/// A figure with bands as PNG (see [`png`]).
pub fn png_banded(fig: &Figure, bands: &[Band]) -> Result<Vec<u8>, String> {
    png_of(&Banded(fig, bands))
}

/// The figure as SVG text, sized in inches (with a pixel `viewBox` at 300 per inch) so that it
/// imports at print size.
pub fn svg(fig: &Figure) -> Result<Vec<u8>, String> {
    svg_of(fig)
}

/// The figure as a PNG at 300 dpi (the resolution is recorded in the file's `pHYs` chunk).
pub fn png(fig: &Figure) -> Result<Vec<u8>, String> {
    png_of(fig)
}

/// Any drawing as SVG, sized in inches.
pub(crate) fn svg_of<D: Drawing>(fig: &D) -> Result<Vec<u8>, String> {
    let (w, h) = fig.width().pixels();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (w, h)).into_drawing_area();
        fig.draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let (wi, hi) = fig.width().inches();
    let text = text.replacen(
        &format!("width=\"{w}\" height=\"{h}\""),
        &format!("width=\"{wi}in\" height=\"{hi}in\""),
        1,
    );
    Ok(text.into_bytes())
}

/// Any drawing as a PNG at 300 dpi.
pub(crate) fn png_of<D: Drawing>(fig: &D) -> Result<Vec<u8>, String> {
    let (w, h) = fig.width().pixels();
    // Zeroed (fresh pages from the allocator, no fill pass): `draw` paints the whole canvas
    // white first anyway.
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let font = ab_glyph::FontRef::try_from_slice(style::DEJAVU_SANS)
            .map_err(|e| format!("the embedded font cannot be read: {e}"))?;
        let backend = CrispText::new(BitMapBackend::with_buffer(&mut rgb, (w, h)), &font);
        let root = backend.into_drawing_area();
        fig.draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    encode_png(&rgb, w, h)
}

/// The PNG header every figure carries: 8-bit RGB, png's `Fast` compression with the Paeth filter
/// on every row, and a 300 dpi pHYs chunk. `encode_png` writes its own IDAT after this header;
/// its test compares against png's encoder configured here too.
fn figure_encoder<'a, W: std::io::Write>(out: W, w: u32, h: u32) -> png::Encoder<'a, W> {
    let mut encoder = png::Encoder::new(out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::FilterType::Paeth);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::NonAdaptive);
    // 300 dpi = 11 811 pixels per metre.
    let ppm = (style::DPI / 0.0254).round() as u32;
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: ppm,
        yppu: ppm,
        unit: png::Unit::Meter,
    }));
    encoder
}

/// RGB8 pixels → PNG bytes, deterministic (fixed filter and compression).
///
/// Compression is the `png` crate's `Fast` level, which runs `fdeflate` (a single-pass deflate
/// specialised for filtered image rows) instead of zlib level 6: the figures are mostly flat
/// white with thin lines, and encoding costs about a tenth of what it did (issue 19: deflate was
/// 68 % of the figures' CPU) for files about 1.8 times larger (baseline: 8.8 MB for 88 PNGs
/// against 5.0 MB). The `Paeth` filter, fixed for every row (no adaptive choice), gave the
/// smallest files of the fixed filters with `Fast` (Sub 11.5 MB, Up 14.9 MB, none 224 MB).
/// Neither the compressor nor the filter depends on threads or timing, so the bytes are
/// deterministic.
///
/// The image data are filtered here ([`paeth_row`], which skips rows equal to the row above)
/// and compressed with `fdeflate` row by row, exactly as png 0.17's `write_image_data` does for
/// `Compression::Fast` with a fixed Paeth filter, so the bytes are the same as png's
/// (test `encode_png_is_png_crate_fast_paeth`); png writes the header, `pHYs` and `IEND`.
fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let row = w as usize * 3;
    if rgb.len() != row * h as usize {
        return Err(format!(
            "{} bytes of pixels for a {w} × {h} image",
            rgb.len()
        ));
    }
    let zlib = (|| -> std::io::Result<Vec<u8>> {
        let mut compressor = fdeflate::Compressor::new(std::io::Cursor::new(Vec::new()))?;
        let zeros = vec![0u8; row];
        let mut prev: &[u8] = &zeros;
        let mut current = vec![0u8; row + 1];
        current[0] = 4; // Paeth
        for line in rgb.chunks_exact(row) {
            paeth_row(prev, line, &mut current[1..]);
            compressor.write_data(&current)?;
            prev = line;
        }
        let compressed = compressor.finish()?.into_inner();
        if compressed.len()
            > fdeflate::StoredOnlyCompressor::<()>::compressed_size((row + 1) * h as usize)
        {
            // png's fallback: stored blocks of unfiltered rows (never the case for a figure).
            let mut stored = fdeflate::StoredOnlyCompressor::new(std::io::Cursor::new(Vec::new()))?;
            for line in rgb.chunks_exact(row) {
                stored.write_data(&[0])?;
                stored.write_data(line)?;
            }
            return Ok(stored.finish()?.into_inner());
        }
        Ok(compressed)
    })()
    .map_err(|e| e.to_string())?;

    let mut out = Vec::with_capacity(zlib.len() + 128);
    {
        let encoder = figure_encoder(&mut out, w, h);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        // png splits IDAT at 2^31 - 1 bytes; a figure's data are far smaller.
        for chunk in zlib.chunks((u32::MAX >> 1) as usize) {
            writer
                .write_chunk(png::chunk::IDAT, chunk)
                .map_err(|e| e.to_string())?;
        }
        writer.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The PNG Paeth predictor (PNG specification, 9.4): of left `a`, above `b` and upper left `c`,
/// the one closest to `a + b - c`, ties to `a`, then `b`. Written branch-free as in stb_image
/// (which png also uses) so that the row loop vectorises.
#[inline(always)]
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let thresh = i16::from(c) * 3 - (i16::from(a) + i16::from(b));
    let lo = a.min(b);
    let hi = a.max(b);
    let t0 = if i16::from(hi) <= thresh { lo } else { c };
    if thresh <= i16::from(lo) { hi } else { t0 }
}

/// One row of 8-bit RGB filtered with Paeth into `out`, given the row above (`prev`; zeros for
/// the first row). A row equal to the one above (white space, flat areas) filters to zeros:
/// its predictor is always the byte above.
fn paeth_row(prev: &[u8], line: &[u8], out: &mut [u8]) {
    const BPP: usize = 3;
    let n = line.len();
    if line == prev {
        out[..n].fill(0);
        return;
    }
    let head = BPP.min(n);
    for i in 0..head {
        out[i] = line[i].wrapping_sub(prev[i]);
    }
    if n <= BPP {
        return;
    }
    let m = n - BPP;
    let (x, a) = (&line[BPP..], &line[..m]);
    let (b, c) = (&prev[BPP..n], &prev[..m]);
    let out = &mut out[BPP..n];
    for k in 0..m {
        out[k] = x[k].wrapping_sub(paeth(a[k], b[k], c[k]));
    }
}

/// Sizes of the fixed parts of the layout, in pixels.
pub(crate) struct Layout {
    pub(crate) margin: i32,
    pub(crate) tick: i32,
    pub(crate) swatch: i32,
    pub(crate) legend_gap: i32,
    pub(crate) legend_row: i32,
}

impl Layout {
    pub(crate) fn new() -> Self {
        Layout {
            margin: px(4.0),
            tick: px(2.5),
            swatch: px(14.0),
            legend_gap: px(9.0),
            legend_row: px(style::TICK_PT * 1.5),
        }
    }
}

pub(crate) fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Draw the whole figure onto `root`.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
    bands: &[Band],
) -> DrawResult {
    let layout = Layout::new();
    root.fill(&WHITE).map_err(err)?;
    let (w, h) = root.dim_in_pixel();
    let inner = root.margin(layout.margin, layout.margin, layout.margin, layout.margin);

    // Legend first: measure, flow into rows, reserve its strip.
    let mut entries = fig.legend();
    if !bands.is_empty() {
        entries.push(LegendEntry {
            label: "Median; band: 5–95 % of seeds".into(),
            colour: style::OTHER,
            dashed: false,
            emphasis: false,
            band: true,
        });
    }
    let rows = flow_legend(root, &entries, w as i32 - 2 * layout.margin, &layout)?;
    let legend_h = if entries.is_empty() {
        0
    } else {
        rows.len() as i32 * layout.legend_row + layout.margin
    };
    let plot_h = h as i32 - 2 * layout.margin - legend_h;
    let (plots, legend) = inner.split_vertically(plot_h);

    // Y axis: scaled values, nice ticks shared by all panels.
    let band_hi = bands
        .iter()
        .flat_map(|b| &b.points)
        .fold(f64::NEG_INFINITY, |m, (_, _, hi)| m.max(*hi));
    let max_raw = fig.y_max.unwrap_or_else(|| fig.data_max()).max(band_hi);
    let max = max_raw / fig.scale.divisor;
    let min = fig
        .panels
        .iter()
        .flat_map(|p| &p.series)
        .flat_map(|s| &s.points)
        .map(|(_, v)| v / fig.scale.divisor)
        .chain(
            bands
                .iter()
                .flat_map(|b| &b.points)
                .map(|(_, lo, _)| lo / fig.scale.divisor),
        )
        .fold(0.0f64, f64::min);
    let mut y_ticks = style::nice_ticks(min, if max > 0.0 { max } else { 1.0 }, 5);
    // A line running along the top tick (a price at its ceiling) gets a tick of headroom.
    if fig.kind == Kind::Lines
        && fig.y_max.is_none()
        && max > 0.0
        && y_ticks.last().is_some_and(|t| max >= 0.98 * t)
    {
        y_ticks = style::nice_ticks(min, max * 1.06, 5);
    }
    let y_step = if y_ticks.len() > 1 {
        y_ticks[1] - y_ticks[0]
    } else {
        1.0
    };
    // Headroom so that lines at the top (or, for line charts, the bottom) tick are not cut in half
    // by the plotting area's edge.
    let y_first = y_ticks[0];
    let y_last = *y_ticks.last().unwrap_or(&1.0);
    let pad = 0.03 * (y_last - y_first);
    let (y_lo, y_hi) = match fig.kind {
        Kind::Lines => (y_first - pad, y_last + pad),
        Kind::StackedArea | Kind::StackedBars => (y_first, y_last + pad),
    };
    let decimals = style::decimals_for(y_step);
    let percent = fig.scale.percent;
    let y_fmt = move |v: &f64| style::format_tick(*v, decimals, percent);

    // Y label area: widest tick label + tick + gap (+ the rotated description on the first panel).
    let tick_font = font(style::TICK_PT);
    let x_area = px(style::TICK_PT * 1.3) + px(style::LABEL_PT * 1.3) + 2 * layout.tick + px(3.0);
    // The rotated y description must fit the axis height: long ones step down to 6 pt.
    let caption_h = if fig.panels.iter().any(|p| p.label.is_some()) {
        px(style::LABEL_PT * 1.6)
    } else {
        px(5.0)
    };
    let axis_h = f64::from((plot_h - x_area - caption_h).max(1));
    let (full_w, _) = root
        .estimate_text_size(&fig.y_label(), &font(style::LABEL_PT))
        .map_err(err)?;
    let label_pt = if f64::from(full_w) > 0.97 * axis_h {
        (style::LABEL_PT * 0.97 * axis_h / f64::from(full_w)).max(6.0)
    } else {
        style::LABEL_PT
    };
    let label_font = font(label_pt);
    let mut widest = 0;
    for t in &y_ticks {
        let (tw, _) = root
            .estimate_text_size(&y_fmt(t), &tick_font)
            .map_err(err)?;
        widest = widest.max(tw as i32);
    }
    let (_, desc_h) = root
        .estimate_text_size(&fig.y_label(), &label_font)
        .map_err(err)?;
    let y_area_plain = widest + 2 * layout.tick + px(3.0);
    let y_area_first = y_area_plain + desc_h as i32 + px(3.0);
    let right = px(8.0);

    // X axis.
    let (first, last) = x_extent(fig);
    let max_year_ticks = match (fig.width, fig.panels.len()) {
        (Width::Double, 1) => 12,
        _ => 6,
    };
    let x_ticks: Vec<f64> =
        style::year_ticks(first.ceil() as i32, last.floor() as i32, max_year_ticks)
            .into_iter()
            .map(f64::from)
            .collect();
    let (x_lo, x_hi) = match fig.kind {
        Kind::StackedBars => (first - 0.6, last + 0.6),
        _ if last > first => (first, last),
        _ => (first - 0.5, first + 0.5),
    };
    let x_fmt = |v: &f64| format!("{}", v.round() as i64);

    // Panels: equal plotting widths even though only the first carries the y description.
    let (pw, _) = plots.dim_in_pixel();
    let n = fig.panels.len().max(1) as i32;
    let plot_w = (pw as i32 - y_area_first - (n - 1) * y_area_plain - n * right) / n;
    let mut areas = Vec::new();
    let mut rest = plots;
    for i in 0..n {
        if i == n - 1 {
            areas.push(rest.clone());
        } else {
            let width = if i == 0 { y_area_first } else { y_area_plain } + plot_w + right;
            let (a, b) = rest.split_horizontally(width);
            areas.push(a);
            rest = b;
        }
    }

    for (i, (panel, area)) in fig.panels.iter().zip(&areas).enumerate() {
        let mut builder = ChartBuilder::on(area);
        builder
            .margin_right(right)
            .x_label_area_size(x_area)
            .y_label_area_size(if i == 0 { y_area_first } else { y_area_plain });
        match &panel.label {
            Some(label) => {
                builder.caption(label, font(style::LABEL_PT));
            }
            None => {
                builder.margin_top(px(5.0));
            }
        }
        let mut chart = builder
            .build_cartesian_2d(
                Ticked::new(x_lo, x_hi, x_ticks.clone()),
                Ticked::new(y_lo, y_hi, y_ticks.clone()),
            )
            .map_err(err)?;
        let mut mesh = chart.configure_mesh();
        mesh.disable_x_mesh()
            .bold_line_style(style::GRID.stroke_width(px(0.4).max(1) as u32))
            .light_line_style(TRANSPARENT)
            .axis_style(style::INK.stroke_width(px(style::AXIS_PT).max(1) as u32))
            .label_style(tick_font.clone())
            .axis_desc_style(font(style::LABEL_PT))
            .set_all_tick_mark_size(layout.tick)
            .x_labels(x_ticks.len().max(2))
            .y_labels(y_ticks.len().max(2))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .x_desc("Year");
        mesh.draw().map_err(err)?;
        if i == 0 {
            // The y description is drawn here rather than by plotters so that a long one can be
            // set smaller without shrinking "Year" with it.
            let (_, ys) = chart.plotting_area().get_pixel_range();
            let x = area.get_base_pixel().0;
            root.draw(&Text::new(
                fig.y_label(),
                (x, (ys.start + ys.end) / 2),
                label_font
                    .transform(FontTransform::Rotate270)
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            ))
            .map_err(err)?;
        }

        let d = fig.scale.divisor;
        // Bands first, under every line: the series' colour, mostly transparent.
        for band in bands.iter().filter(|b| b.panel == i) {
            let Some(s) = panel.series.iter().find(|s| s.key == band.key) else {
                continue;
            };
            let mut outline: Vec<(f64, f64)> =
                band.points.iter().map(|(x, _, hi)| (*x, hi / d)).collect();
            outline.extend(band.points.iter().rev().map(|(x, lo, _)| (*x, lo / d)));
            if outline.len() > 2 {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        outline,
                        s.colour.mix(0.18).filled(),
                    )))
                    .map_err(err)?;
            }
        }
        match fig.kind {
            Kind::Lines => {
                // "Other" first and emphasised lines (China) last, so the lines that matter are on
                // top where they cross.
                let mut order: Vec<_> = panel.series.iter().collect();
                order.sort_by_key(|s| (s.key != "other", s.emphasis));
                for s in order {
                    let width = px(if s.emphasis {
                        style::EMPHASIS_LINE_PT
                    } else {
                        style::LINE_PT
                    });
                    let shape = s.colour.stroke_width(width as u32);
                    let points: Vec<(f64, f64)> =
                        s.points.iter().map(|(x, v)| (*x, v / d)).collect();
                    if s.dashed {
                        chart
                            .draw_series(DashedLineSeries::new(points, px(4.0), px(2.5), shape))
                            .map_err(err)?;
                    } else {
                        chart
                            .draw_series(LineSeries::new(points, shape))
                            .map_err(err)?;
                    }
                }
            }
            Kind::StackedArea => {
                let xs: Vec<f64> = panel
                    .series
                    .first()
                    .map(|s| s.points.iter().map(|(x, _)| *x).collect())
                    .unwrap_or_default();
                let mut lower = vec![0.0; xs.len()];
                for s in &panel.series {
                    let upper: Vec<f64> = lower
                        .iter()
                        .zip(&s.points)
                        .map(|(lo, (_, v))| lo + v.max(0.0) / d)
                        .collect();
                    let mut outline: Vec<(f64, f64)> =
                        xs.iter().copied().zip(upper.iter().copied()).collect();
                    outline.extend(xs.iter().copied().zip(lower.iter().copied()).rev());
                    chart
                        .draw_series(std::iter::once(Polygon::new(outline, s.colour.filled())))
                        .map_err(err)?;
                    lower = upper;
                }
            }
            Kind::StackedBars => {
                let mut base: Vec<(f64, f64)> = Vec::new();
                for s in &panel.series {
                    let mut bars = Vec::new();
                    for (x, v) in &s.points {
                        let key = base.iter().position(|(bx, _)| bx == x);
                        let lo = key.map_or(0.0, |k| base[k].1);
                        let hi = lo + v.max(0.0) / d;
                        match key {
                            Some(k) => base[k].1 = hi,
                            None => base.push((*x, hi)),
                        }
                        if hi > lo {
                            bars.push(Rectangle::new(
                                [(x - 0.35, lo), (x + 0.35, hi)],
                                s.colour.filled(),
                            ));
                        }
                    }
                    chart.draw_series(bars).map_err(err)?;
                }
            }
        }
    }

    draw_legend(&legend, &entries, &rows, fig.kind, &layout)
}

/// A linear f64 axis whose ticks are exactly the given values (plotters' own f64 axes choose
/// their ticks themselves, which can put a tick at 2024.5 on a year axis).
#[derive(Clone, Debug)]
pub(crate) struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ticked {
    pub(crate) fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> Self {
        Ticked { lo, hi, ticks }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    /// Same arithmetic as plotters' `RangedCoordf64::map`.
    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span == 0.0 {
            return (limit.1 - limit.0) / 2;
        }
        let logic = (v - self.lo) / span;
        let actual = limit.1 - limit.0;
        if actual > 0 {
            limit.0 + (f64::from(actual) * logic + 1e-3).floor() as i32
        } else {
            limit.0 + (f64::from(actual) * logic - 1e-3).ceil() as i32
        }
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// First and last x value (years) over all series; whole years for bar charts.
fn x_extent(fig: &Figure) -> (f64, f64) {
    let xs = fig
        .panels
        .iter()
        .flat_map(|p| &p.series)
        .flat_map(|s| &s.points)
        .map(|(x, _)| *x);
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) }
}

/// Legend entries grouped into rows that fit `width`: each row is a list of (entry index, x offset).
pub(crate) fn flow_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    width: i32,
    layout: &Layout,
) -> Result<Vec<Vec<(usize, i32)>>, String> {
    let tick_font = font(style::TICK_PT);
    let mut rows: Vec<Vec<(usize, i32)>> = Vec::new();
    let mut x = 0;
    for (i, e) in entries.iter().enumerate() {
        let (tw, _) = root.estimate_text_size(&e.label, &tick_font).map_err(err)?;
        let w = layout.swatch + px(3.0) + tw as i32;
        if rows.is_empty() || (x > 0 && x + w > width) {
            rows.push(Vec::new());
            x = 0;
        }
        if let Some(row) = rows.last_mut() {
            row.push((i, x));
        }
        x += w + layout.legend_gap;
    }
    Ok(rows)
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    rows: &[Vec<(usize, i32)>],
    kind: Kind,
    layout: &Layout,
) -> DrawResult {
    let tick_font = font(style::TICK_PT).pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let y = layout.margin + r as i32 * layout.legend_row + layout.legend_row / 2;
        for (i, x) in row {
            let e = &entries[*i];
            let x = *x;
            match kind {
                Kind::Lines if e.band => {
                    let half = layout.legend_row / 4;
                    area.draw(&Rectangle::new(
                        [(x, y - half), (x + layout.swatch, y + half)],
                        e.colour.mix(0.35).filled(),
                    ))
                    .map_err(err)?;
                }
                Kind::Lines => {
                    let width = px(if e.emphasis {
                        style::EMPHASIS_LINE_PT
                    } else {
                        style::LINE_PT
                    });
                    let shape = e.colour.stroke_width(width as u32);
                    if e.dashed {
                        let dash = layout.swatch / 3;
                        for k in [0, 2] {
                            area.draw(&PathElement::new(
                                vec![(x + k * dash, y), (x + (k + 1) * dash, y)],
                                shape,
                            ))
                            .map_err(err)?;
                        }
                    } else {
                        area.draw(&PathElement::new(
                            vec![(x, y), (x + layout.swatch, y)],
                            shape,
                        ))
                        .map_err(err)?;
                    }
                }
                Kind::StackedArea | Kind::StackedBars => {
                    let half = layout.legend_row / 4;
                    area.draw(&Rectangle::new(
                        [(x, y - half), (x + layout.swatch, y + half)],
                        swatch_fill(e.colour),
                    ))
                    .map_err(err)?;
                }
            }
            area.draw(&Text::new(
                e.label.clone(),
                (x + layout.swatch + px(3.0), y),
                tick_font.clone(),
            ))
            .map_err(err)?;
        }
    }
    Ok(())
}

fn swatch_fill(c: RGBColor) -> ShapeStyle {
    c.filled()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// What `encode_png` wrote before it filtered the rows itself: png's own encoder.
    fn png_crate(rgb: &[u8], w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let encoder = figure_encoder(&mut out, w, h);
            let mut writer = encoder.write_header().expect("png encodes");
            writer.write_image_data(rgb).expect("png encodes");
            writer.finish().expect("png encodes");
        }
        out
    }

    #[test]
    fn encode_png_is_png_crate_fast_paeth() {
        let mut rng = ChaCha8Rng::seed_from_u64(19);
        let mut images = 0;
        for case in 0..240 {
            let w = [1, 2, 3, 15, 16, 17, 47, 100, 333][case % 9];
            let h = 1 + case % 23;
            let mut rgb = vec![255u8; w * h * 3];
            match case % 4 {
                // Noise: nothing equals the row above (and the stored fallback is taken).
                0 => rgb.iter_mut().for_each(|b| *b = rng.random_range(0..=255)),
                // A figure: white with a few flat-coloured rectangles and scattered pixels.
                _ => {
                    for _ in 0..rng.random_range(0..6) {
                        let (x0, y0) = (rng.random_range(0..w), rng.random_range(0..h));
                        let (x1, y1) = (rng.random_range(x0..w) + 1, rng.random_range(y0..h) + 1);
                        let c: [u8; 3] = [rng.random(), rng.random(), rng.random()];
                        for y in y0..y1 {
                            for x in x0..x1 {
                                rgb[(y * w + x) * 3..][..3].copy_from_slice(&c);
                            }
                        }
                    }
                    for _ in 0..rng.random_range(0..w * h / 4 + 1) {
                        let k = rng.random_range(0..rgb.len());
                        rgb[k] = rng.random();
                    }
                }
            }
            let (w, h) = (w as u32, h as u32);
            assert_eq!(
                encode_png(&rgb, w, h).expect("encodes"),
                png_crate(&rgb, w, h),
                "case {case}: {w} × {h}"
            );
            images += 1;
        }
        assert_eq!(images, 240);
        assert!(encode_png(&[0; 5], 2, 1).is_err());
    }

    #[test]
    fn paeth_row_is_the_specification() {
        let mut rng = ChaCha8Rng::seed_from_u64(20);
        for case in 0..2000 {
            let n = 3 * (1 + case % 70);
            // Few levels (ties between predictors) or any byte.
            let byte = |rng: &mut ChaCha8Rng| -> u8 {
                if case % 3 == 0 {
                    rng.random()
                } else {
                    rng.random_range(0..4) * 60
                }
            };
            let prev: Vec<u8> = (0..n).map(|_| byte(&mut rng)).collect();
            let mut line = prev.clone();
            for _ in 0..(case % 5) * (1 + case % 7) {
                let k = rng.random_range(0..n);
                line[k] = byte(&mut rng);
            }
            let mut out = vec![1u8; n];
            paeth_row(&prev, &line, &mut out);
            for i in 0..n {
                // The specification's predictor, with a = c = 0 left of the first pixel.
                let (a, c) = if i >= 3 {
                    (line[i - 3], prev[i - 3])
                } else {
                    (0, 0)
                };
                let b = prev[i];
                let p = i32::from(a) + i32::from(b) - i32::from(c);
                let (pa, pb, pc) = (
                    (p - i32::from(a)).abs(),
                    (p - i32::from(b)).abs(),
                    (p - i32::from(c)).abs(),
                );
                let pred = if pa <= pb && pa <= pc {
                    a
                } else if pb <= pc {
                    b
                } else {
                    c
                };
                assert_eq!(out[i], line[i].wrapping_sub(pred), "case {case} byte {i}");
            }
        }
    }
}
