//! Publication figures drawn from a run's CSV files: SVG and PNG at journal print size, each with
//! the data behind it as CSV.
//!
//! Every figure is built from `metrics.csv` and the scenario's `output` settings — never from the
//! in-memory simulation — so `orechain run` and a later `orechain plot DIR` draw the same bytes,
//! and a finished run folder can be redrawn without re-running. Figures come in families (the ids
//! of the scenario's `output.figures`); a family whose metric the run did not record draws nothing,
//! so charts appear by themselves as the model grows. The families are listed in [`FAMILIES`] and
//! documented in `docs/output-format.md`.

pub mod bitmap_text;
pub mod chart;
pub mod data;
pub(crate) mod frame;
mod polygon;
pub mod render;
pub mod style;

pub(crate) mod capacity;
mod concentration;
mod dependence;
mod investment;
mod markets;
pub(crate) mod shares;

use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use rayon::prelude::*;

use self::chart::Figure;
use self::data::{Metrics, Settings};

/// Why figures could not be drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum FigureError {
    /// A missing or malformed input file (exit 2).
    Input(String),
    /// Drawing or encoding failed (exit 1).
    Render(String),
}

impl fmt::Display for FigureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FigureError::Input(m) | FigureError::Render(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for FigureError {}

/// A figure family: an id for `output.figures`, what it shows, and how to build it.
pub struct Family {
    /// Id used in the scenario's `output.figures` and as the file-name prefix.
    pub id: &'static str,
    /// One line on what it shows.
    pub shows: &'static str,
    build: fn(&Metrics, &Settings) -> Vec<Figure>,
}

/// Every figure family, in drawing order.
pub const FAMILIES: &[Family] = &[
    Family {
        id: shares::ID,
        shows: "each nation's share of world mining/refining, by location and by control",
        build: shares::figures,
    },
    Family {
        id: capacity::CAPACITY,
        shows: "capacity by host nation, stacked",
        build: capacity::capacity,
    },
    Family {
        id: capacity::PRODUCTION,
        shows: "production by host nation, stacked",
        build: capacity::production,
    },
    Family {
        id: concentration::ID,
        shows: "Herfindahl–Hirschman index of production by host, one line per mineral",
        build: concentration::figures,
    },
    Family {
        id: markets::PRICE,
        shows: "world and segmented-market prices",
        build: markets::price,
    },
    Family {
        id: markets::UNMET_DEMAND,
        shows: "unmet demand by consumer nation",
        build: markets::unmet_demand,
    },
    Family {
        id: dependence::ID,
        shows: "a consumer's consumption by supplier, by location and by control, stacked",
        build: dependence::figures,
    },
    Family {
        id: markets::DOMESTIC_PROCESSING,
        shows: "share of a nation's ore refined at home",
        build: markets::domestic_processing,
    },
    Family {
        id: markets::VALUE_ADDED,
        shows: "value added by nation",
        build: markets::value_added,
    },
    Family {
        id: investment::BY_HOST,
        shows: "investment per year by host nation, stacked bars",
        build: investment::by_host,
    },
    Family {
        id: investment::BY_SOURCE,
        shows: "investment per year by investor's home nation, stacked bars",
        build: investment::by_source,
    },
    Family {
        id: investment::STATE_FINANCE,
        shows: "state finance per year by financing nation, stacked bars",
        build: investment::state_finance,
    },
    Family {
        id: investment::INCIDENTS,
        shows: "incidents per year by host nation, stacked bars",
        build: investment::incidents,
    },
];

/// Ids of every figure family (valid values of the scenario's `output.figures`).
pub fn figure_ids() -> impl Iterator<Item = &'static str> {
    FAMILIES.iter().map(|f| f.id)
}

/// The figures the settings ask for, built from the metrics (not yet drawn): series that are zero
/// throughout are left out, and line series hidden under another are drawn dashed
/// ([`Figure::drop_zero_series`], [`Figure::mark_overlaps`]).
pub fn build_figures(metrics: &Metrics, settings: &Settings) -> Vec<Figure> {
    build_figures_raw(metrics, settings)
        .into_iter()
        .map(|mut f| {
            f.drop_zero_series();
            f.mark_overlaps();
            f
        })
        .filter(|f| !f.is_empty())
        .collect()
}

/// The figures as the families build them, every series kept (ensemble bands need the series
/// of the quantile figures even where they are zero throughout).
pub fn build_figures_raw(metrics: &Metrics, settings: &Settings) -> Vec<Figure> {
    FAMILIES
        .iter()
        .filter(|f| settings.wants(f.id))
        .flat_map(|f| (f.build)(metrics, settings))
        .collect()
}

/// Register the embedded font once per process.
pub(crate) fn ensure_font() -> Result<(), FigureError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(style::register_font)
        .clone()
        .map_err(FigureError::Render)
}

/// Draw figures: for each, `<stem>.svg`, `<stem>.png` and `<stem>.csv` (names relative to the
/// `figures/` folder), in figure order. Figures are drawn in parallel; the output order and bytes
/// do not depend on it.
pub fn draw_figures(figures: &[Figure]) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    ensure_font()?;
    type Files = [(String, Vec<u8>); 3];
    let drawn: Vec<Result<Files, FigureError>> = figures
        .par_iter()
        .map(|fig| {
            let fail = |e: String| FigureError::Render(format!("figure `{}`: {e}", fig.stem));
            Ok([
                (format!("{}.svg", fig.stem), render::svg(fig).map_err(fail)?),
                (format!("{}.png", fig.stem), render::png(fig).map_err(fail)?),
                (format!("{}.csv", fig.stem), fig.data_csv().into_bytes()),
            ])
        })
        .collect();
    let mut out = Vec::with_capacity(figures.len() * 3);
    for files in drawn {
        out.extend(files?);
    }
    Ok(out)
}

/// Draw line figures with 5–95 % bands (ensemble and comparison figures): for each,
/// `<stem>.svg`, `<stem>.png` and `<stem>.csv` (the data with `p50,p05,p95` columns,
/// [`Figure::banded_data_csv`]), in figure order, drawn in parallel.
pub fn draw_banded(
    figures: &[(Figure, Vec<chart::Band>)],
) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    ensure_font()?;
    type Files = [(String, Vec<u8>); 3];
    let drawn: Vec<Result<Files, FigureError>> = figures
        .par_iter()
        .map(|(fig, bands)| {
            let fail = |e: String| FigureError::Render(format!("figure `{}`: {e}", fig.stem));
            Ok([
                (
                    format!("{}.svg", fig.stem),
                    render::svg_banded(fig, bands).map_err(fail)?,
                ),
                (
                    format!("{}.png", fig.stem),
                    render::png_banded(fig, bands).map_err(fail)?,
                ),
                (
                    format!("{}.csv", fig.stem),
                    fig.banded_data_csv(bands).into_bytes(),
                ),
            ])
        })
        .collect();
    let mut out = Vec::with_capacity(figures.len() * 3);
    for files in drawn {
        out.extend(files?);
    }
    Ok(out)
}

/// All figures of a run from the text of its `metrics.csv` and its output settings.
pub fn render_run_csv(
    metrics_csv: &str,
    settings: &Settings,
) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    let metrics = Metrics::parse(metrics_csv, "metrics.csv")?;
    draw_figures(&build_figures(&metrics, settings))
}

/// All figures of a run from its `metrics.csv` file (streamed: only the steps the figures draw
/// are held) and its output settings. `orechain run` draws its figures with this from the file
/// it just wrote, and `plot` from the folder, so both give the same bytes.
pub fn render_run_file(
    metrics_path: &Path,
    settings: &Settings,
) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    let file = crate::output::input::open_regular(metrics_path).map_err(|e| {
        FigureError::Input(format!("cannot read `{}`: {e}", metrics_path.display()))
    })?;
    let metrics = Metrics::read(
        std::io::BufReader::new(file),
        &metrics_path.display().to_string(),
        settings.horizon,
    )?;
    draw_figures(&build_figures(&metrics, settings))
}

/// All figures of a finished run folder: reads `metrics.csv` (required) and `scenario.ron` (for the
/// output settings, mineral units and calendar; defaults when absent).
pub fn render_run(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    let metrics_path = dir.join("metrics.csv");
    let scenario_path = dir.join("scenario.ron");
    let settings = if scenario_path.exists() {
        let loaded = crate::scenario::load_file(&scenario_path, &[]).map_err(|e| {
            FigureError::Input(format!(
                "cannot read the output settings from `{}`:\n{e}",
                scenario_path.display()
            ))
        })?;
        Settings::from_scenario(loaded.scenario.scenario())
    } else {
        Settings::default()
    };
    render_run_file(&metrics_path, &settings)
}
