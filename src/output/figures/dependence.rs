//! Whom a consumer depends on: for each chosen consumer nation and mineral, the share of its
//! consumption supplied from each partner, stacked, by location (where the material was produced)
//! and by control (the home of the producing firms). This answers the project's core question —
//! how dependent are the US and Japan on China, and does a policy change it.

use std::collections::{BTreeMap, BTreeSet};

use super::chart::{self, Figure, Kind};
use super::data::{Grid, Metrics, Row, Settings};
use super::shares::mineral_name;
use super::style::{Scale, Width};

/// Figure family id.
pub const ID: &str = "import_dependence";

/// How many consumers are drawn when the scenario does not name them.
pub const AUTO_CONSUMERS: usize = 4;

/// The consumers drawn for a mineral: the scenario's `output.consumers` that appear in the data,
/// else the [`AUTO_CONSUMERS`] largest by total `consumption` of the mineral (by `demand` when the
/// run has no consumption rows; alphabetical when neither exists).
pub fn consumers(
    m: &Metrics,
    s: &Settings,
    mineral: &str,
    present: &BTreeSet<String>,
) -> Vec<String> {
    if !s.consumers.is_empty() {
        return s
            .consumers
            .iter()
            .filter(|c| present.contains(*c))
            .cloned()
            .collect();
    }
    let size_metric = if m.has("consumption") {
        "consumption"
    } else {
        "demand"
    };
    let mut size: BTreeMap<&String, f64> = present.iter().map(|c| (c, 0.0)).collect();
    for r in m.rows(size_metric).filter(|r| r.mineral == mineral) {
        if let Some(v) = size.get_mut(&r.nation) {
            *v += r.value;
        }
    }
    let mut ranked: Vec<(&String, f64)> = size.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(AUTO_CONSUMERS)
        .map(|(c, _)| c.clone())
        .collect()
}

/// One figure per mineral, stage and consumer: stacked supplier shares, location and control.
pub fn figures(m: &Metrics, s: &Settings) -> Vec<Figure> {
    let panels_spec = [
        ("import_dependence", "By location (supplier nation)"),
        (
            "import_dependence_control",
            "By control (owners' home nation)",
        ),
    ];
    let years = m.years();
    let commodities: BTreeSet<(String, String)> = panels_spec
        .iter()
        .flat_map(|(metric, _)| m.commodities(metric))
        .collect();
    let mut out = Vec::new();
    for (mineral, stage) in commodities {
        let present: BTreeSet<String> = panels_spec
            .iter()
            .flat_map(|(metric, _)| m.rows(metric))
            .filter(|r| r.mineral == mineral && r.stage == stage)
            .map(|r| r.nation.clone())
            .collect();
        for consumer in consumers(m, s, &mineral, &present) {
            let keep = |r: &Row| r.mineral == mineral && r.stage == stage && r.nation == consumer;
            let grids: Vec<(&str, Grid)> = panels_spec
                .iter()
                .map(|(metric, label)| (*label, m.grid(metric, keep, |r| r.partner.clone())))
                .filter(|(_, g)| !g.is_empty())
                .collect();
            let panels =
                chart::nation_panels(&grids, &s.highlight_nations, &years, Kind::StackedArea);
            let fig = Figure {
                id: ID,
                stem: chart::stem(ID, &[&mineral, &stage, &consumer]),
                width: if panels.len() > 1 {
                    Width::Double
                } else {
                    Width::Single
                },
                kind: Kind::StackedArea,
                y_what: format!("Share of {consumer} {} consumption", mineral_name(&mineral)),
                scale: Scale::percent(),
                y_max: Some(1.0),
                raw_unit: "share".into(),
                panels,
            };
            if !fig.is_empty() {
                out.push(fig);
            }
        }
    }
    out
}
