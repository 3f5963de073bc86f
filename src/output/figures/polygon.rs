//! plotters' polygon scan converter, made cheap without changing a pixel.
//!
//! `plotters_backend::rasterizer::fill_polygon` (0.3.7) fills the stacked areas, the bands and
//! every line wider than one pixel (each segment of a thick line and each thick path is turned
//! into a polygon). It was 30 % of the instructions of drawing a baseline run's figures (issue
//! 19), mostly not in the pixels: it allocates a new vector of active edges on every sweep line,
//! clones edges while pairing them and, when sorting the active edges, recomputes each edge's
//! position (an `f64` division) at every comparison.
//!
//! [`fill_polygon`] is the same algorithm, step for step: the same sweep direction, the same
//! stable orders of edges (by their start on the sweep axis, then by position on each sweep
//! line), the same pairing rule, the same positions computed by the same `f64` expression, and
//! so the same calls to the backend (`draw_line` for each span, `draw_pixel` for each of its two
//! blended end pixels) in the same order, hence the same pixels. It only keeps the active edges
//! in one reused vector, computes each position once per sweep line and pairs edges by index.
//! The test `fill_polygon_matches_plotters` compares the call sequences on random polygons.

use plotters_backend::{BackendCoord, BackendStyle, DrawingBackend, DrawingErrorKind};

/// One edge crossing the sweep line, as plotters' `Edge`: `epoch` steps since it started,
/// `total` steps to its end, the other coordinate from `begin` to `end`.
#[derive(Clone, Copy)]
struct Edge {
    epoch: u32,
    total: u32,
    begin: i32,
    end: i32,
    /// The position on the current sweep line (`slave_pos` in plotters).
    pos: f64,
}

impl Edge {
    /// plotters' `Edge::horizontal_sweep`: `None` for an edge along the sweep line.
    fn new(mut from: BackendCoord, mut to: BackendCoord) -> Option<Edge> {
        if from.0 == to.0 {
            return None;
        }
        if from.0 > to.0 {
            std::mem::swap(&mut from, &mut to);
        }
        let mut e = Edge {
            epoch: 0,
            total: (to.0 - from.0) as u32,
            begin: from.1,
            end: to.1,
            pos: 0.0,
        };
        e.pos = e.slave_pos();
        Some(e)
    }

    /// Steps left (plotters' `get_master_pos`).
    fn left(&self) -> i32 {
        (self.total - self.epoch) as i32
    }

    /// The same expression as plotters' `get_slave_pos`.
    fn slave_pos(&self) -> f64 {
        f64::from(self.begin)
            + (i64::from(self.end - self.begin) * i64::from(self.epoch)) as f64
                / f64::from(self.total)
    }
}

/// Fill a polygon exactly as `plotters_backend::rasterizer::fill_polygon` does (see the module).
pub fn fill_polygon<DB: DrawingBackend, S: BackendStyle>(
    back: &mut DB,
    vertices: &[BackendCoord],
    style: &S,
) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
    let Some(&(x0, y0)) = vertices.first() else {
        return Ok(());
    };
    let (mut x_span, mut y_span) = ((x0, x0), (y0, y0));
    for &(x, y) in vertices {
        x_span = (x_span.0.min(x), x_span.1.max(x));
        y_span = (y_span.0.min(y), y_span.1.max(y));
    }
    if x_span.0 == x_span.1 || y_span.0 == y_span.1 {
        return back.draw_line((x_span.0, y_span.0), (x_span.1, y_span.1), style);
    }
    let horizontal = x_span.1 - x_span.0 > y_span.1 - y_span.0;
    // In sweep coordinates: (along the sweep, across it).
    let sweep = |p: BackendCoord| if horizontal { p } else { (p.1, p.0) };

    let n = vertices.len();
    let mut edges: Vec<(BackendCoord, BackendCoord)> = (0..n)
        .map(|i| (sweep(vertices[i]), sweep(vertices[(i + 1) % n])))
        .collect();
    // Stable, by the smaller sweep coordinate (plotters sorts before orienting; the key is the
    // same either way).
    edges.sort_by_key(|(a, b)| a.0.min(b.0));
    for e in &mut edges {
        if e.0.0 > e.1.0 {
            std::mem::swap(&mut e.0, &mut e.1);
        }
    }

    let (low, high) = if horizontal { x_span } else { y_span };
    let color = style.color();
    let mut idx = 0;
    let mut active: Vec<Edge> = Vec::new();
    for line in low..=high {
        active.retain_mut(|e| {
            if e.left() > 0 {
                e.epoch += 1;
                e.pos = e.slave_pos();
                true
            } else {
                false
            }
        });
        while idx < edges.len() && edges[idx].0.0 <= line {
            if let Some(e) = Edge::new(edges[idx].0, edges[idx].1) {
                active.push(e);
            }
            idx += 1;
        }
        // Stable, as plotters' `active_edge.sort()` (positions are never NaN: total > 0).
        active.sort_by(|a, b| a.pos.partial_cmp(&b.pos).expect("finite edge positions"));

        let mut first: Option<usize> = None;
        let mut second: Option<usize> = None;
        for i in 0..active.len() {
            if first.is_none() {
                first = Some(i);
            } else if second.is_none() {
                second = Some(i);
            }
            let (Some(ai), Some(bi)) = (first, second) else {
                continue;
            };
            let (a, b) = (&active[ai], &active[bi]);
            if a.left() == 0 && b.left() != 0 {
                first = Some(bi);
                second = None;
                continue;
            }
            if a.left() != 0 && b.left() == 0 {
                second = None;
                continue;
            }
            let (from, to) = (a.pos, b.pos);
            if a.left() == 0 && b.left() == 0 && to - from > 1.0 {
                first = None;
                second = None;
                continue;
            }
            if horizontal {
                back.draw_line(
                    (line, from.ceil() as i32),
                    (line, to.floor() as i32),
                    &color,
                )?;
                back.draw_pixel((line, from.floor() as i32), color.mix(from.ceil() - from))?;
                back.draw_pixel((line, to.ceil() as i32), color.mix(to - to.floor()))?;
            } else {
                back.draw_line(
                    (from.ceil() as i32, line),
                    (to.floor() as i32, line),
                    &color,
                )?;
                back.draw_pixel((from.floor() as i32, line), color.mix(from.ceil() - from))?;
                back.draw_pixel((to.ceil() as i32, line), color.mix(to.floor() - to))?;
            }
            first = None;
            second = None;
        }
    }
    Ok(())
}

/// A line of any width, as `plotters_backend::rasterizer::draw_line` draws one wider than a
/// pixel (a quadrilateral), filled with [`fill_polygon`]. Lines one pixel wide go to `back`.
pub fn draw_line<DB: DrawingBackend, S: BackendStyle>(
    back: &mut DB,
    from: BackendCoord,
    to: BackendCoord,
    style: &S,
) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
    if style.stroke_width() == 1 {
        return back.draw_line(from, to, style);
    }
    if style.color().alpha == 0.0 || style.stroke_width() == 0 {
        return Ok(());
    }
    let v = (i64::from(to.0 - from.0), i64::from(to.1 - from.1));
    let l = ((v.0 * v.0 + v.1 * v.1) as f64).sqrt();
    if l < 1e-5 {
        return Ok(());
    }
    let v = (v.0 as f64 / l, v.1 as f64 / l);
    let r = f64::from(style.stroke_width()) / 2.0;
    let mut trans = [(v.1 * r, -v.0 * r), (-v.1 * r, v.0 * r)];
    let mut vertices = [(0, 0); 4];
    let mut k = 0;
    for point in [from, to] {
        for t in trans {
            vertices[k] = (
                (f64::from(point.0) + t.0) as i32,
                (f64::from(point.1) + t.1) as i32,
            );
            k += 1;
        }
        trans.swap(0, 1);
    }
    fill_polygon(back, &vertices, style)
}

/// A path of any width, as `DrawingBackend::draw_path`'s default: one-pixel paths segment by
/// segment on `back`, wider ones polygonised by plotters and filled with [`fill_polygon`].
pub fn draw_path<DB: DrawingBackend, S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
    back: &mut DB,
    path: I,
    style: &S,
) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
    if style.color().alpha == 0.0 {
        return Ok(());
    }
    if style.stroke_width() == 1 {
        return back.draw_path(path, style);
    }
    let p: Vec<_> = path.into_iter().collect();
    let v = plotters_backend::rasterizer::polygonize(&p, style.stroke_width());
    fill_polygon(back, &v, &style.color())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters_backend::{BackendColor, BackendTextStyle};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A backend that records every call.
    #[derive(Default)]
    struct Log(Vec<String>);

    #[derive(Debug)]
    struct NoError;
    impl std::fmt::Display for NoError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("none")
        }
    }
    impl std::error::Error for NoError {}

    impl DrawingBackend for Log {
        type ErrorType = NoError;
        fn get_size(&self) -> (u32, u32) {
            (400, 300)
        }
        fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<NoError>> {
            Ok(())
        }
        fn present(&mut self) -> Result<(), DrawingErrorKind<NoError>> {
            Ok(())
        }
        fn draw_pixel(
            &mut self,
            p: BackendCoord,
            c: BackendColor,
        ) -> Result<(), DrawingErrorKind<NoError>> {
            self.0
                .push(format!("px {p:?} {:?} {}", c.rgb, c.alpha.to_bits()));
            Ok(())
        }
        fn draw_line<S: BackendStyle>(
            &mut self,
            a: BackendCoord,
            b: BackendCoord,
            s: &S,
        ) -> Result<(), DrawingErrorKind<NoError>> {
            let c = s.color();
            self.0.push(format!(
                "line {a:?} {b:?} {:?} {} {}",
                c.rgb,
                c.alpha.to_bits(),
                s.stroke_width()
            ));
            Ok(())
        }
        fn draw_text<S: BackendTextStyle>(
            &mut self,
            _: &str,
            _: &S,
            _: BackendCoord,
        ) -> Result<(), DrawingErrorKind<NoError>> {
            Ok(())
        }
    }

    /// The same backend, whose thick lines and paths go through plotters' own rasterizer (the
    /// default methods) while `draw_line` of one pixel is logged.
    #[derive(Default)]
    struct Reference(Log);

    impl DrawingBackend for Reference {
        type ErrorType = NoError;
        fn get_size(&self) -> (u32, u32) {
            self.0.get_size()
        }
        fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<NoError>> {
            Ok(())
        }
        fn present(&mut self) -> Result<(), DrawingErrorKind<NoError>> {
            Ok(())
        }
        fn draw_pixel(
            &mut self,
            p: BackendCoord,
            c: BackendColor,
        ) -> Result<(), DrawingErrorKind<NoError>> {
            self.0.draw_pixel(p, c)
        }
        fn draw_line<S: BackendStyle>(
            &mut self,
            a: BackendCoord,
            b: BackendCoord,
            s: &S,
        ) -> Result<(), DrawingErrorKind<NoError>> {
            if s.stroke_width() == 1 {
                self.0.draw_line(a, b, s)
            } else {
                plotters_backend::rasterizer::draw_line(self, a, b, s)
            }
        }
        fn draw_text<S: BackendTextStyle>(
            &mut self,
            _: &str,
            _: &S,
            _: BackendCoord,
        ) -> Result<(), DrawingErrorKind<NoError>> {
            Ok(())
        }
    }

    /// A style of a given width and colour.
    struct Pen(u32, BackendColor);
    impl BackendStyle for Pen {
        fn color(&self) -> BackendColor {
            self.1
        }
        fn stroke_width(&self) -> u32 {
            self.0
        }
    }

    fn random_points(rng: &mut impl RngExt, n: usize, spread: i32) -> Vec<BackendCoord> {
        let (cx, cy) = (rng.random_range(-20..420), rng.random_range(-20..320));
        (0..n)
            .map(|_| {
                (
                    cx + rng.random_range(-spread..=spread),
                    cy + rng.random_range(-spread / 2..=spread / 2),
                )
            })
            .collect()
    }

    #[test]
    fn fill_polygon_matches_plotters() {
        let mut rng = ChaCha8Rng::seed_from_u64(19);
        let mut calls = 0;
        for case in 0..3000 {
            let n = rng.random_range(0..12);
            let spread = [2, 10, 60, 250][case % 4];
            let mut vertices = random_points(&mut rng, n, spread);
            if case % 5 == 0 {
                // Axis-aligned, repeated and collinear vertices, as stacked areas have.
                for v in vertices.iter_mut() {
                    v.1 = v.1 / 8 * 8;
                }
            }
            if case % 2 == 1 {
                vertices.iter_mut().for_each(|v| *v = (v.1, v.0));
            }
            let alpha = [1.0, 0.18, 0.35][case % 3];
            let pen = Pen(
                1,
                BackendColor {
                    alpha,
                    rgb: (200, 30, 90),
                },
            );
            let mut mine = Log::default();
            fill_polygon(&mut mine, &vertices, &pen).expect("draws");
            let mut theirs = Log::default();
            plotters_backend::rasterizer::fill_polygon(&mut theirs, &vertices, &pen)
                .expect("draws");
            assert_eq!(mine.0, theirs.0, "polygon {vertices:?}");
            calls += mine.0.len();
        }
        assert!(calls > 100_000, "the polygons drew too little: {calls}");
    }

    #[test]
    fn thick_lines_and_paths_match_plotters() {
        let mut rng = ChaCha8Rng::seed_from_u64(20);
        for case in 0..2000 {
            let width = [0, 1, 2, 3, 5, 8][case % 6];
            let pen = Pen(
                width,
                BackendColor {
                    alpha: 1.0,
                    rgb: (0, 114, 178),
                },
            );
            let pts = random_points(&mut rng, 2 + case % 7, [3, 40, 200][case % 3]);

            let mut mine = Log::default();
            draw_line(&mut mine, pts[0], pts[1], &pen).expect("draws");
            let mut theirs = Reference::default();
            theirs.draw_line(pts[0], pts[1], &pen).expect("draws");
            assert_eq!(mine.0, theirs.0.0, "line {:?} width {width}", &pts[..2]);

            let mut mine = Log::default();
            draw_path(&mut mine, pts.iter().copied(), &pen).expect("draws");
            let mut theirs = Reference::default();
            theirs.draw_path(pts.iter().copied(), &pen).expect("draws");
            assert_eq!(mine.0, theirs.0.0, "path {pts:?} width {width}");
        }
    }
}
