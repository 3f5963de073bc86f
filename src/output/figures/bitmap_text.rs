//! Correctly spaced text on the PNG figures.
//!
//! plotters 0.3.7 rasterises ab_glyph text by placing each glyph's ink box at the pen position,
//! dropping the glyph's left side bearing, so letters with a wide bearing drift left and words
//! look unevenly spaced ("US A"). [`CrispText`] wraps the bitmap backend and draws text the way
//! ab_glyph intends (glyphs positioned at the pen, ink offset by their own bounds, kerning
//! applied), with the same em size and anchor rules as the SVG backend (`font-size = size / 1.24`,
//! `dy` of 0.76 em / 0.5 ex / −0.5 ex), so the PNG reads like the SVG. Every other drawing call
//! goes straight to the wrapped backend, except polygons, thick lines and thick paths, which
//! [`super::polygon`] fills with the same pixels as plotters, faster.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// A drawing backend that draws text itself with `font` and delegates everything else.
pub struct CrispText<'f, B> {
    inner: B,
    font: &'f FontRef<'f>,
}

impl<'f, B> CrispText<'f, B> {
    /// Wrap `inner`, drawing all text in `font`.
    pub fn new(inner: B, font: &'f FontRef<'f>) -> Self {
        CrispText { inner, font }
    }
}

/// DejaVu Sans x-height / em (1120/2048): what SVG's `ex` unit resolves to for this font.
const EX_PER_EM: f64 = 0.547;

impl<B: DrawingBackend> DrawingBackend for CrispText<'_, B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        super::polygon::draw_line(&mut self.inner, from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        super::polygon::draw_path(&mut self.inner, path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let vert: Vec<BackendCoord> = vert.into_iter().collect();
        super::polygon::fill_polygon(&mut self.inner, &vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let em = style.size() / 1.24;
        let font = self.font;
        // PxScale is the ascent-to-descent height; convert from the em size.
        let units_per_em = f64::from(font.units_per_em().unwrap_or(2048.0));
        let scale = PxScale::from((em * f64::from(font.height_unscaled()) / units_per_em) as f32);
        let scaled = font.as_scaled(scale);

        // Pen positions along the baseline, with kerning.
        let mut pen = 0.0f32;
        let mut prev = None;
        let mut glyphs = Vec::with_capacity(text.len());
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                pen += scaled.kern(p, id);
            }
            glyphs.push((id, pen));
            pen += scaled.h_advance(id);
            prev = Some(id);
        }
        let width = f64::from(pen);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let baseline = match anchor.v_pos {
            VPos::Top => 0.76 * em,
            VPos::Center => 0.5 * EX_PER_EM * em,
            VPos::Bottom => -0.5 * EX_PER_EM * em,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        for (id, x) in glyphs {
            let glyph = id.with_scale_and_position(scale, point(x + dx as f32, baseline as f32));
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let mut pixels = Vec::new();
            outline.draw(|gx, gy, coverage| pixels.push((gx, gy, coverage)));
            for (gx, gy, coverage) in pixels {
                if coverage <= 0.0 {
                    continue;
                }
                let lx = bounds.min.x as i32 + gx as i32;
                let ly = bounds.min.y as i32 + gy as i32;
                let (tx, ty) = transform.transform(lx, ly);
                let (px, py) = (pos.0 + tx, pos.1 + ty);
                if px >= 0 && py >= 0 && (px as u32) < w && (py as u32) < h {
                    self.inner.draw_pixel(
                        (px, py),
                        BackendColor {
                            alpha: color.alpha * f64::from(coverage.min(1.0)),
                            rgb: color.rgb,
                        },
                    )?;
                }
            }
        }
        Ok(())
    }
}
