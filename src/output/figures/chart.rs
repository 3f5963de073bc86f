//! A figure as data, before any drawing: panels of series with labels, colours and the axis scale.
//! Chart families build these from the metrics; [`super::render`] draws them; [`Figure::data_csv`]
//! writes the numbers behind them. Keeping the description separate from the drawing is what makes
//! the SVG, the PNG and the CSV of a figure agree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use plotters::style::RGBColor;

use super::style::{self, Scale, Width};
use crate::output::tables::push_field;

/// How a panel's series are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One line per series.
    Lines,
    /// Series stacked on top of each other as filled bands (the first at the bottom).
    StackedArea,
    /// One stacked bar per calendar year (x values are whole years).
    StackedBars,
}

/// One series of a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Stable key (nation code, mineral id, stage) written to the data CSV.
    pub key: String,
    /// Colour.
    pub colour: RGBColor,
    /// Dashed line (ore prices, for instance).
    pub dashed: bool,
    /// Drawn thicker (China, the world price).
    pub emphasis: bool,
    /// (year, value in the metric's unit, before scaling).
    pub points: Vec<(f64, f64)>,
}

/// One panel (a set of axes). Figures have one or two panels side by side sharing the y axis scale.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// Small label above the panel (`By location`); `None` for single-panel figures.
    pub label: Option<String>,
    /// Series, bottom of the stack first.
    pub series: Vec<Series>,
}

/// A figure ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Figure family id (as in the scenario's `output.figures`).
    pub id: &'static str,
    /// File name without extension.
    pub stem: String,
    /// Print width.
    pub width: Width,
    /// How series are drawn.
    pub kind: Kind,
    /// What the y axis shows, without the unit (`Share of world refining`).
    pub y_what: String,
    /// Scaling and unit of the y axis.
    pub scale: Scale,
    /// Fixed top of the y axis in raw units (1.0 for shares); `None` = fit the data.
    pub y_max: Option<f64>,
    /// Unit of the raw values written to the data CSV (`share`, `t/yr`, `USD`).
    pub raw_unit: String,
    /// Panels, left to right.
    pub panels: Vec<Panel>,
}

/// The 5–95 % band drawn around one line series of an ensemble figure (median line): which panel,
/// the series' key, and `(year, low, high)` in raw units.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// Panel index (0 = leftmost).
    pub panel: usize,
    /// Key of the series the band belongs to (its colour).
    pub key: String,
    /// `(year, p05, p95)` in raw metric units.
    pub points: Vec<(f64, f64, f64)>,
}

/// A legend entry: label, colour, and the series' line style.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendEntry {
    /// Text.
    pub label: String,
    /// Colour.
    pub colour: RGBColor,
    /// Dashed line.
    pub dashed: bool,
    /// Thick line.
    pub emphasis: bool,
    /// A shaded swatch: the 5–95 % band of ensemble figures.
    pub band: bool,
}

impl Figure {
    /// The y-axis label with unit.
    pub fn y_label(&self) -> String {
        self.scale.label(&self.y_what)
    }

    /// Legend entries: every series label once, in order of first appearance.
    pub fn legend(&self) -> Vec<LegendEntry> {
        let mut out: Vec<LegendEntry> = Vec::new();
        for s in self.panels.iter().flat_map(|p| &p.series) {
            if !out.iter().any(|e| e.label == s.label) {
                out.push(LegendEntry {
                    label: s.label.clone(),
                    colour: s.colour,
                    dashed: s.dashed,
                    emphasis: s.emphasis,
                    band: false,
                });
            }
        }
        out
    }

    /// The numbers behind the figure: `panel,series,key,year,value,unit`, one row per point, in
    /// raw metric units (the axis shows them divided by the scale's divisor).
    pub fn data_csv(&self) -> String {
        let mut out = String::from("panel,series,key,year,value,unit\n");
        for p in &self.panels {
            for s in &p.series {
                for (x, v) in &s.points {
                    push_field(&mut out, p.label.as_deref().unwrap_or(""));
                    out.push(',');
                    push_field(&mut out, &s.label);
                    out.push(',');
                    push_field(&mut out, &s.key);
                    let _ = write!(out, ",{x},{v},");
                    push_field(&mut out, &self.raw_unit);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// The numbers behind an ensemble figure: `panel,series,key,year,p50,p05,p95,unit`, one row per
    /// point of each median line with its band (`p05`, `p95` empty where the series has no band).
    pub fn banded_data_csv(&self, bands: &[Band]) -> String {
        let mut out = String::from("panel,series,key,year,p50,p05,p95,unit\n");
        for (i, p) in self.panels.iter().enumerate() {
            for s in &p.series {
                let band = bands.iter().find(|b| b.panel == i && b.key == s.key);
                for (x, v) in &s.points {
                    push_field(&mut out, p.label.as_deref().unwrap_or(""));
                    out.push(',');
                    push_field(&mut out, &s.label);
                    out.push(',');
                    push_field(&mut out, &s.key);
                    let _ = write!(out, ",{x},{v},");
                    match band.and_then(|b| b.points.iter().find(|(bx, _, _)| bx == x)) {
                        Some((_, lo, hi)) => {
                            let _ = write!(out, "{lo},{hi},");
                        }
                        None => out.push_str(",,"),
                    }
                    push_field(&mut out, &self.raw_unit);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Largest value the y axis must show, in raw units (the top of the stack for stacked kinds).
    pub fn data_max(&self) -> f64 {
        let mut max = 0.0f64;
        for p in &self.panels {
            match self.kind {
                Kind::Lines => {
                    for s in &p.series {
                        for (_, v) in &s.points {
                            max = max.max(*v);
                        }
                    }
                }
                Kind::StackedArea | Kind::StackedBars => {
                    let mut totals: BTreeMap<i64, f64> = BTreeMap::new();
                    for s in &p.series {
                        for (x, v) in &s.points {
                            *totals.entry((x * 1e6).round() as i64).or_default() += v.max(0.0);
                        }
                    }
                    max = totals.values().fold(max, |m, v| m.max(*v));
                }
            }
        }
        max
    }

    /// Leave out series that are zero at every point (they would only add a legend entry for a
    /// line lying on the axis).
    pub fn drop_zero_series(&mut self) {
        for p in &mut self.panels {
            p.series.retain(|s| s.points.iter().any(|(_, v)| *v != 0.0));
        }
    }

    /// Line charts: a series that coincides with a series drawn before it (within 0.5 % of the
    /// largest value) at half or more of its points is drawn dashed, so the line under it shows
    /// through the gaps (e.g. JPN's price exactly under the USA's, CHL under CHN at 100 %).
    /// Drawing order is that of the renderer: "Other" first, emphasised series (China, world
    /// prices) last.
    pub fn mark_overlaps(&mut self) {
        if self.kind != Kind::Lines {
            return;
        }
        let scale = self
            .panels
            .iter()
            .flat_map(|p| &p.series)
            .flat_map(|s| &s.points)
            .fold(0.0f64, |m, (_, v)| m.max(v.abs()));
        let tol = 0.005 * if scale > 0.0 { scale } else { 1.0 };
        for p in &mut self.panels {
            let mut order: Vec<usize> = (0..p.series.len()).collect();
            order.sort_by_key(|&i| (p.series[i].key != "other", p.series[i].emphasis));
            for (k, &i) in order.iter().enumerate() {
                let own = &p.series[i];
                if own.dashed || own.points.is_empty() {
                    continue;
                }
                let covered = order[..k].iter().any(|&j| {
                    let under = &p.series[j];
                    let same = own
                        .points
                        .iter()
                        .filter(|(x, v)| {
                            under
                                .points
                                .iter()
                                .any(|(ux, uv)| ux == x && (uv - v).abs() <= tol)
                        })
                        .count();
                    2 * same >= own.points.len()
                });
                if covered {
                    p.series[i].dashed = true;
                }
            }
        }
    }

    /// Whether there is nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.panels
            .iter()
            .all(|p| p.series.iter().all(|s| s.points.is_empty()))
    }
}

/// How many nations a chart shows on their own before grouping the rest as "Other".
pub const MAX_NATIONS: usize = 6;

/// The nations a chart shows on their own, in drawing order.
///
/// With `highlight` set (the scenario's `output.highlight_nations`): China first when it appears in
/// the data, then the highlighted nations that appear, in the order given. Without it: the
/// [`MAX_NATIONS`] nations with the largest `weights` (ties by code), China always among them
/// when it appears. China comes first, then the others largest first, so stacked charts have
/// China at the bottom, where its share is easiest to read.
pub fn pick_nations(weights: &BTreeMap<String, f64>, highlight: &[String]) -> Vec<String> {
    if !highlight.is_empty() {
        let mut out: Vec<String> = Vec::new();
        for code in std::iter::once("CHN").chain(highlight.iter().map(String::as_str)) {
            if weights.contains_key(code) && !out.iter().any(|c| c == code) {
                out.push(code.to_string());
            }
        }
        return out;
    }
    let mut ranked: Vec<(&String, f64)> = weights.iter().map(|(k, v)| (k, *v)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut out: Vec<String> = ranked
        .iter()
        .take(MAX_NATIONS)
        .map(|(k, _)| (*k).clone())
        .collect();
    if weights.contains_key("CHN") {
        // China first (the bottom of a stack, the first legend entry), whatever its rank.
        if let Some(i) = out.iter().position(|c| c == "CHN") {
            out.remove(i);
        } else {
            out.pop();
        }
        out.insert(0, "CHN".into());
    }
    out
}

/// Labelled panels of nation series that share one choice of nations: the nations are picked
/// ([`pick_nations`]) by their total over every panel, so a nation keeps its colour and legend entry
/// across panels (e.g. location and control side by side).
pub fn nation_panels(
    grids: &[(&str, super::data::Grid)],
    highlight: &[String],
    years: &[f64],
    kind: Kind,
) -> Vec<Panel> {
    let mut weights: BTreeMap<String, f64> = BTreeMap::new();
    for (_, g) in grids {
        for (nation, values) in g {
            *weights.entry(nation.clone()).or_default() += total(values);
        }
    }
    let chosen = pick_nations(&weights, highlight);
    grids
        .iter()
        .map(|(label, g)| Panel {
            label: Some((*label).to_string()),
            series: nation_series(g, &chosen, years, kind),
        })
        .collect()
}

/// Sum of the present values of a grid series (a weight for [`pick_nations`]).
pub fn total(values: &[Option<f64>]) -> f64 {
    values.iter().flatten().map(|v| v.abs()).sum()
}

/// Series for the chosen nations of a grid, plus an "Other" series summing the rest (only if it is
/// ever non-zero). Lines keep gaps where a value is missing; stacked series treat missing as 0.
pub fn nation_series(
    grid: &BTreeMap<String, Vec<Option<f64>>>,
    chosen: &[String],
    years: &[f64],
    kind: Kind,
) -> Vec<Series> {
    let points = |values: &[Option<f64>]| -> Vec<(f64, f64)> {
        years
            .iter()
            .zip(values)
            .filter_map(|(y, v)| match (kind, v) {
                (Kind::Lines, None) => None,
                (_, v) => Some((*y, v.unwrap_or(0.0))),
            })
            .collect()
    };
    let drawn: Vec<String> = chosen
        .iter()
        .filter(|code| grid.contains_key(*code))
        .cloned()
        .collect();
    let colours = style::nation_colours(&drawn);
    let mut out: Vec<Series> = drawn
        .iter()
        .zip(colours)
        .filter_map(|(code, colour)| grid.get(code).map(|v| (code, v, colour)))
        .map(|(code, values, colour)| Series {
            label: code.clone(),
            key: code.clone(),
            colour,
            dashed: false,
            emphasis: code == "CHN",
            points: points(values),
        })
        .collect();
    let mut other = vec![None; years.len()];
    for (code, values) in grid {
        if chosen.contains(code) {
            continue;
        }
        for (o, v) in other.iter_mut().zip(values) {
            if let Some(v) = v {
                *o = Some(o.unwrap_or(0.0) + v);
            }
        }
    }
    if other.iter().flatten().any(|v| *v != 0.0) {
        out.push(Series {
            label: "Other".into(),
            key: "other".into(),
            colour: style::OTHER,
            dashed: false,
            emphasis: false,
            points: points(&other),
        });
    }
    out
}

/// Calendar-year totals of a grid series (for amounts recorded per step, such as investment):
/// `(year, sum over the steps of that year)`.
pub fn annual_sums(years: &[f64], values: &[Option<f64>]) -> Vec<(f64, f64)> {
    let mut sums: BTreeMap<i64, f64> = BTreeMap::new();
    for (y, v) in years.iter().zip(values) {
        *sums.entry(y.floor() as i64).or_default() += v.unwrap_or(0.0);
    }
    sums.into_iter().map(|(y, v)| (y as f64, v)).collect()
}

/// File-name part of an id: keeps letters, digits, `-` and `_`.
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `family_part_part`, skipping empty parts.
pub fn stem(family: &str, parts: &[&str]) -> String {
    let mut s = family.to_string();
    for p in parts.iter().filter(|p| !p.is_empty()) {
        s.push('_');
        s.push_str(&slug(p));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_is_always_picked_and_the_rest_grouped() {
        let weights: BTreeMap<String, f64> = ["A", "B", "C", "D", "E", "F", "G", "CHN"]
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), 10.0 - i as f64))
            .collect();
        let picked = pick_nations(&weights, &[]);
        assert_eq!(picked.len(), MAX_NATIONS);
        assert!(picked.contains(&"CHN".to_string()));
        let picked = pick_nations(&weights, &["B".into(), "ZZZ".into()]);
        assert_eq!(picked, vec!["CHN".to_string(), "B".to_string()]);
    }

    fn line(key: &str, points: &[(f64, f64)]) -> Series {
        Series {
            label: key.into(),
            key: key.into(),
            colour: style::WORLD,
            dashed: false,
            emphasis: false,
            points: points.to_vec(),
        }
    }

    #[test]
    fn hidden_lines_are_dashed_and_zero_series_dropped() {
        let mut fig = Figure {
            id: "test",
            stem: "test".into(),
            width: Width::Single,
            kind: Kind::Lines,
            y_what: "y".into(),
            scale: Scale::plain("u"),
            y_max: None,
            raw_unit: "u".into(),
            panels: vec![Panel {
                label: None,
                series: vec![
                    line("USA", &[(0.0, 5.0), (1.0, 6.0), (2.0, 7.0)]),
                    line("JPN", &[(0.0, 5.0), (1.0, 6.0), (2.0, 9.0)]),
                    line("KOR", &[(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]),
                    line("ZER", &[(0.0, 0.0), (1.0, 0.0)]),
                ],
            }],
        };
        fig.drop_zero_series();
        fig.mark_overlaps();
        let s = &fig.panels[0].series;
        assert_eq!(s.len(), 3, "the all-zero series is gone");
        // JPN lies on USA at 2 of its 3 points: drawn dashed over it; the others stay solid.
        assert_eq!(
            s.iter().map(|x| x.dashed).collect::<Vec<_>>(),
            vec![false, true, false]
        );
    }

    #[test]
    fn annual_sums_add_the_steps_of_a_year() {
        let years = [2024.0, 2024.5, 2025.0];
        assert_eq!(
            annual_sums(&years, &[Some(1.0), Some(2.0), None]),
            vec![(2024.0, 3.0), (2025.0, 0.0)]
        );
    }
}
