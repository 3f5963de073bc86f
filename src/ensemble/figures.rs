//! Ensemble figures: the run figures redrawn as the median over replicates with a 5–95 % band.
//!
//! The run figure families ([`crate::output::figures::FAMILIES`]) are built three times, from the
//! per-row median, 5th and 95th percentiles of `metrics_summary.csv`; the median figure is drawn
//! with lines (stacked charts become one line per series, since quantiles do not stack) and each of
//! its series gets the band between the same series of the 5th- and 95th-percentile figures. The
//! quantile figures are built with the nations and consumers the median figure chose, so a series
//! finds its band. Two exceptions: an "Other" series is a sum over nations, and a quantile of a sum
//! is not a sum of quantiles, so it is drawn without a band; the bar families (investment, state
//! finance, incidents: calendar-year sums) are not drawn for ensembles — their annual values over
//! replicates are in `metrics_annual.csv`.

use std::collections::BTreeSet;

use super::table::{Table, Time};
use crate::output::figures::chart::{Band, Figure, Kind};
use crate::output::figures::data::{Metrics, Row, Settings};
use crate::output::figures::{self, FigureError};

/// Metrics whose value is the given quantile (0.05, 0.5, 0.95) of each row over replicates.
pub fn quantile_metrics(table: &Table, p: f64) -> Metrics {
    let mut rows = Vec::with_capacity(table.len());
    for i in table.ordered() {
        let (time, series) = table.key(i);
        let Time::Step(step, year) = time else {
            continue;
        };
        let mut v: Vec<f64> = table.slots(i).into_iter().flatten().collect();
        if v.is_empty() {
            continue;
        }
        v.sort_by(f64::total_cmp);
        rows.push(Row {
            step: *step,
            year: year.parse().unwrap_or(0.0),
            metric: series.metric.clone(),
            mineral: series.mineral.clone(),
            stage: series.stage.clone(),
            nation: series.nation.clone(),
            partner: series.partner.clone(),
            value: super::stats::quantile(&v, p),
        });
    }
    Metrics::from_rows(rows)
}

/// The ensemble figures (built, not drawn): median lines with their bands.
pub fn build(table: &Table, settings: &Settings) -> Vec<(Figure, Vec<Band>)> {
    let median = figures::build_figures_raw(&quantile_metrics(table, 0.5), settings);
    let median: Vec<Figure> = median
        .into_iter()
        .filter(|f| f.kind != Kind::StackedBars)
        .map(|mut f| {
            f.kind = Kind::Lines;
            f
        })
        .collect();
    // The quantile figures draw the nations and consumers the median figures drew.
    let mut nations: BTreeSet<String> = BTreeSet::new();
    let mut consumers: BTreeSet<String> = settings.consumers.iter().cloned().collect();
    for f in &median {
        for s in f.panels.iter().flat_map(|p| &p.series) {
            if s.key.len() == 3 && s.key.chars().all(|c| c.is_ascii_uppercase()) {
                nations.insert(s.key.clone());
            }
        }
        if f.id == "import_dependence"
            && let Some((_, consumer)) = f.stem.rsplit_once('_')
        {
            consumers.insert(consumer.to_string());
        }
    }
    let mut fixed = settings.clone();
    fixed.highlight_nations = if settings.highlight_nations.is_empty() {
        nations.into_iter().collect()
    } else {
        settings.highlight_nations.clone()
    };
    fixed.consumers = consumers.into_iter().collect();
    let lo = figures::build_figures_raw(&quantile_metrics(table, 0.05), &fixed);
    let hi = figures::build_figures_raw(&quantile_metrics(table, 0.95), &fixed);
    median
        .into_iter()
        .filter_map(|mut f| {
            let bands = bands_of(&f, &lo, &hi);
            // Leave out series whose median and band are zero throughout; dash hidden lines.
            for (i, p) in f.panels.iter_mut().enumerate() {
                p.series.retain(|s| {
                    s.points.iter().any(|(_, v)| *v != 0.0)
                        || bands.iter().any(|b| {
                            b.panel == i
                                && b.key == s.key
                                && b.points.iter().any(|(_, lo, hi)| *lo != 0.0 || *hi != 0.0)
                        })
                });
            }
            f.mark_overlaps();
            (!f.is_empty()).then_some((f, bands))
        })
        .collect()
}

fn bands_of(fig: &Figure, lo: &[Figure], hi: &[Figure]) -> Vec<Band> {
    let (Some(flo), Some(fhi)) = (
        lo.iter().find(|f| f.stem == fig.stem),
        hi.iter().find(|f| f.stem == fig.stem),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, panel) in fig.panels.iter().enumerate() {
        for s in panel
            .series
            .iter()
            .filter(|s| s.key != "other" && !s.key.starts_with("ceiling_"))
        {
            let find = |f: &Figure| {
                f.panels
                    .get(i)
                    .and_then(|p| p.series.iter().find(|x| x.key == s.key))
                    .map(|x| x.points.clone())
            };
            let (Some(plo), Some(phi)) = (find(flo), find(fhi)) else {
                continue;
            };
            let points: Vec<(f64, f64, f64)> = s
                .points
                .iter()
                .filter_map(|(x, _)| {
                    let l = plo.iter().find(|(px, _)| px == x)?.1;
                    let h = phi.iter().find(|(px, _)| px == x)?.1;
                    Some((*x, l, h))
                })
                .collect();
            if !points.is_empty() {
                out.push(Band {
                    panel: i,
                    key: s.key.clone(),
                    points,
                });
            }
        }
    }
    out
}

/// Build and draw the ensemble figures: `(file name under figures/, bytes)`.
pub fn render(table: &Table, settings: &Settings) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    figures::draw_banded(&build(table, settings))
}

/// Every figure of a finished ensemble folder, redrawn from its per-seed `metrics.csv` files and
/// `scenario.ron` (what `orechain plot DIR` does): the same bytes the run drew.
pub fn render_folder(dir: &std::path::Path) -> Result<Vec<(String, Vec<u8>)>, FigureError> {
    let input = |e: crate::command::AppError| FigureError::Input(e.to_string());
    let seeds = super::read_replicates(dir).map_err(input)?;
    let tables = super::read_tables(dir, &seeds).map_err(input)?;
    let loaded = crate::scenario::load_file(&dir.join("scenario.ron"), &[]).map_err(|e| {
        FigureError::Input(format!(
            "cannot read the output settings from `{}`:\n{e}",
            dir.join("scenario.ron").display()
        ))
    })?;
    render(
        &tables.steps,
        &Settings::from_scenario(loaded.scenario.scenario()),
    )
}
