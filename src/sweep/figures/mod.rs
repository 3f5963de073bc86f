//! Figures of a parameter sweep, drawn from the tables of a finished sweep folder: a fan chart per
//! outcome ([`fan`]), a heatmap per outcome for two-parameter grids ([`heatmap`]), and a Sobol'
//! sensitivity chart per outcome for Sobol' designs ([`sensitivity`]).
//!
//! They follow the run figures' rules (print size, embedded font, colour-blind-safe colours, no
//! titles, legends outside the data, SVG + PNG + data CSV) and are drawn only from tables whose
//! bytes do not depend on how the sweep ran ([`data`]), so `orechain sweep`, `orechain merge` of
//! its shards and a later `orechain plot DIR` write the same figure bytes.

pub mod axis;
pub mod data;
pub mod fan;
pub mod heatmap;
pub mod sensitivity;

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;

use self::data::SweepData;
use crate::output::figures::FigureError;
use crate::output::figures::render::{self, DrawResult, Drawing};
use crate::output::figures::style::Width;
use crate::sweep::manifest::SweepManifest;

/// One sweep figure, before drawing.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepFigure {
    /// Median and 5–95 % band over time, per design point.
    Fan(fan::FanChart),
    /// Outcome mean over a two-parameter grid.
    Heatmap(heatmap::Heatmap),
    /// First- and total-order Sobol' indices.
    Sensitivity(sensitivity::SensitivityChart),
}

impl SweepFigure {
    /// File name without extension.
    pub fn stem(&self) -> &str {
        match self {
            SweepFigure::Fan(f) => &f.stem,
            SweepFigure::Heatmap(f) => &f.stem,
            SweepFigure::Sensitivity(f) => &f.stem,
        }
    }

    /// The numbers behind the figure, as CSV.
    pub fn data_csv(&self) -> String {
        match self {
            SweepFigure::Fan(f) => f.data_csv(),
            SweepFigure::Heatmap(f) => f.data_csv(),
            SweepFigure::Sensitivity(f) => f.data_csv(),
        }
    }
}

impl Drawing for SweepFigure {
    fn width(&self) -> Width {
        match self {
            SweepFigure::Fan(f) => f.width(),
            SweepFigure::Heatmap(f) => f.width(),
            SweepFigure::Sensitivity(f) => f.width(),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        match self {
            SweepFigure::Fan(f) => f.draw(root),
            SweepFigure::Heatmap(f) => f.draw(root),
            SweepFigure::Sensitivity(f) => f.draw(root),
        }
    }
}

/// Every figure of a sweep: fan charts, then heatmaps, then sensitivity charts, each in outcome
/// order.
pub fn build(d: &SweepData) -> Vec<SweepFigure> {
    let mut out: Vec<SweepFigure> = fan::charts(d).into_iter().map(SweepFigure::Fan).collect();
    out.extend(heatmap::charts(d).into_iter().map(SweepFigure::Heatmap));
    out.extend(
        sensitivity::charts(d)
            .into_iter()
            .map(SweepFigure::Sensitivity),
    );
    out
}

/// Draw sweep figures: `<stem>.svg`, `<stem>.png`, `<stem>.csv` each, in figure order (drawn in
/// parallel; order and bytes do not depend on it).
pub fn draw(figures: &[SweepFigure]) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    crate::output::figures::ensure_font()?;
    type Files = [(String, Vec<u8>); 3];
    let drawn: Vec<Result<Files, FigureError>> = figures
        .par_iter()
        .map(|fig| {
            let fail = |e: String| FigureError::Render(format!("figure `{}`: {e}", fig.stem()));
            Ok([
                (
                    format!("{}.svg", fig.stem()),
                    render::svg_of(fig).map_err(fail)?,
                ),
                (
                    format!("{}.png", fig.stem()),
                    render::png_of(fig).map_err(fail)?,
                ),
                (format!("{}.csv", fig.stem()), fig.data_csv().into_bytes()),
            ])
        })
        .collect();
    let mut out = Vec::with_capacity(figures.len() * 3);
    for files in drawn {
        out.extend(files?);
    }
    Ok(out)
}

/// Every figure of a finished sweep folder whose manifest is `manifest`.
pub fn render_sweep(
    dir: &Path,
    manifest: &SweepManifest,
) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    let data = SweepData::read(dir, manifest)?;
    draw(&build(&data))
}

/// Every figure of a finished sweep folder, reading its `manifest.json`.
pub fn render_sweep_folder(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    let manifest = SweepManifest::read(dir).map_err(FigureError::Input)?;
    if !manifest.complete {
        return Err(FigureError::Input(format!(
            "`{}` holds an unfinished sweep (its manifest says complete: false), so its tables \
             are missing or stale; finish it with `orechain sweep SWEEP_FILE -o {} --resume`, \
             then plot",
            dir.display(),
            dir.display()
        )));
    }
    render_sweep(dir, &manifest)
}
